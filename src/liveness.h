// SPDX-License-Identifier: MIT
// Who is alive: each attached process holds a kernel lock on its slot's byte
// of the region object, which the kernel drops when it dies, so a reaper
// asks the kernel instead of trusting pids (which are reused).
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

#include "os.h"
#include "region.h"

namespace hsipc {

// This process's one attachment to a region object, shared by all its
// handles to that region (ownership of buffers is per process).
struct ProcessAttachment {
    uint64_t dev = 0, ino = 0;
    // Its open file description holds the locks and is never mapped: a lock
    // lives as long as any reference to its description, and a mapping is
    // one that a forked child keeps (see attach_process).
    int lock_fd = -1;
    uint32_t slot = UINT32_MAX;
    uint32_t gen = 0;
    int handles = 0;
    std::atomic<int64_t> held_count{0};  // see Region::quota
    std::mutex region_lock_mutex;  // OFD locks do not exclude our own threads
};

// Where the name no longer leads to the object the caller mapped (unlinked,
// or replaced by another since): the caller starts over. Not a status.
constexpr int kObjectReplaced = 1;

// Joins r to this process's attachment for the object the caller mapped
// (`mapped`, found at `path`), claiming a process slot for the first handle:
// HSIPC_OK, a status, or kObjectReplaced.
int attach_process(Region& r, const std::string& path, const os::FileInfo& mapped);

// Drops r's share; the last handle returns every buffer the process still
// holds and frees the slot, as if the process had died.
void detach_process(Region& r);

// Under the region lock: is process (slot, gen) attached and alive?
bool process_alive(Region& r, uint32_t slot, uint32_t gen);

}  // namespace hsipc
