// SPDX-License-Identifier: MIT
// A process's attachment to a named region: create, validate, map, detach.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "hsipc.h"
#include "inbox.h"
#include "layout.h"

namespace hsipc {

struct ProcessAttachment;  // liveness.h
struct Endpoint;

struct Region {
    uint8_t* base = nullptr;
    uint64_t size = 0;
    Layout layout{};  // validated at attach; never re-read from the region
    ProcessAttachment* process = nullptr;
    uint64_t held_word = 0;  // owner word of the buffers this process holds
    // max_buffers_per_process (0: none), and where this process counts the
    // buffers it holds when there is a limit (shared by its handles). The
    // count is private: the limit protects a region from a greedy but
    // honest process, not from one that writes owner words itself.
    uint32_t quota = 0;
    std::atomic<int64_t>* held_count = nullptr;
    // Where this handle's next allocation scan starts, per pool. Relaxed
    // atomics: only a hint, but several threads may share the handle.
    std::atomic<uint32_t> alloc_cursor[HSIPC_MAX_POOLS] = {};
    // Allocations failed in a row, and when a failed one may next reap
    // (CLOCK_MONOTONIC ns): see reap_due in pool.cc.
    std::atomic<uint32_t> failed_allocs{0};
    std::atomic<int64_t> next_alloc_reap_ns{0};
    std::mutex endpoints_mutex;
    std::vector<Endpoint*> endpoints;  // opened through this handle
    // Names endpoints' wake sockets after the object as attached:
    // "/dev/shm/hsipc.NAME@INODE." (event_fd.cc), with its mode and group.
    std::string wake_path_prefix;
    uint32_t object_mode = 0;
    uint32_t object_gid = 0;
    // The socket this handle sends wake-ups from, made at the first one.
    std::atomic<int> wake_sender{-1};

    RegionHeader& header() const { return *reinterpret_cast<RegionHeader*>(base); }
    ProcessSlot& process_slot(uint32_t i) const {
        return reinterpret_cast<ProcessSlot*>(base + layout.process_table_off)[i];
    }
    EndpointSlot& endpoint_slot(uint32_t i) const {
        return reinterpret_cast<EndpointSlot*>(base + layout.endpoint_table_off)[i];
    }
    std::atomic<uint64_t>* ring(uint32_t i) const {
        return reinterpret_cast<std::atomic<uint64_t>*>(base + layout.rings_off + uint64_t(i) * layout.ring_bytes);
    }
    BufferHeader& buffer(uint32_t b) const {
        return reinterpret_cast<BufferHeader*>(base + layout.buffer_headers_off)[b];
    }
    TopicSlot& topic_slot(uint32_t t) const {
        return reinterpret_cast<TopicSlot*>(base + layout.topic_table_off)[t];
    }
    std::atomic<uint32_t>& subscriber(uint32_t t, uint32_t i) const {
        return reinterpret_cast<std::atomic<uint32_t>*>(base + layout.subscribers_off)[uint64_t(t) * max_subscribers() + i];
    }
    // Reference i of buffer b's share record (share.h).
    std::atomic<uint64_t>& share_ref(uint32_t b, uint32_t i) const {
        return reinterpret_cast<std::atomic<uint64_t>*>(base + layout.share_records_off)[uint64_t(b) * max_subscribers() + i];
    }
    uint32_t max_topics() const { return layout.config.max_topics; }
    // 0 where the region has no topics: no share record has a reference.
    uint32_t max_subscribers() const { return layout.config.max_topics == 0 ? 0 : layout.config.max_subscribers; }
    uint32_t process_slots() const { return layout.config.process_slots; }
    uint32_t max_endpoints() const { return layout.config.max_endpoints; }
    uint32_t inbox_capacity() const { return layout.config.inbox_capacity; }
};

// An atomic that copies by value (relaxed), so an Endpoint stays copyable
// (the state fuzzer restores endpoints from snapshots) while any thread may
// read or change these fields.
template <class T>
struct CopyableAtomic : std::atomic<T> {
    using std::atomic<T>::atomic;
    CopyableAtomic(const CopyableAtomic& o) : std::atomic<T>(o.load(std::memory_order_relaxed)) {}
    CopyableAtomic& operator=(const CopyableAtomic& o) {
        this->store(o.load(std::memory_order_relaxed), std::memory_order_relaxed);
        return *this;
    }
};

// One open endpoint: the receiver's private view of its inbox.
struct Endpoint {
    Region* region;
    uint32_t index;
    uint32_t gen;
    hsipc_id id;
    uint32_t head;  // next position to take; private, since one thread polls
    // Worked out once at open, not on every poll:
    InboxView inbox;  // endpoint_inbox(*region, index, gen)
    // How long a waiting poll spins before it sleeps: the region's spin_ns
    // from endpoint_open, then whatever hsipc_endpoint_set_spin sets;
    // relaxed, as the poll that reads it next uses it.
    CopyableAtomic<int64_t> spin_ns{kDefaultSpinNs};
    // The endpoint's wake socket (hsipc_endpoint_fd), -1 until asked for;
    // made once, under the handle's endpoints_mutex, read by any thread.
    CopyableAtomic<int> wake_fd{-1};
    // Whether the receiver armed the fd and has not polled since; private,
    // like head.
    bool armed = false;
};

bool valid_name(const char* name);

// Counts a change in the buffers this process holds, where there is a limit.
inline void count_held(Region& r, int64_t delta) {
    if (r.quota != 0) r.held_count->fetch_add(delta, std::memory_order_relaxed);
}

enum class AttachMode { kCreateIfMissing, kExistingOnly };
int region_attach(const char* name, const hsipc_config* cfg, AttachMode mode, Region** out);
int region_detach(Region* r);
int region_unlink(const char* name);

}  // namespace hsipc
