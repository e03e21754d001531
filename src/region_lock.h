// SPDX-License-Identifier: MIT
// The region lock: serializes the cold paths (endpoint naming, process
// slots, reaping) across processes. It is a kernel-held lock on byte 0 of the
// region object, so it cannot be corrupted by a peer scribbling on the
// region and is released by the kernel when its holder dies. A flag in the
// header tells the next holder that the previous one died inside.
#pragma once

#include "region.h"

namespace hsipc {

class RegionLock {
public:
    explicit RegionLock(Region& r);  // waits at most kRegionLockTimeoutNs
    ~RegionLock();
    RegionLock(const RegionLock&) = delete;
    RegionLock& operator=(const RegionLock&) = delete;
    // HSIPC_OK where held; HSIPC_ESYS (errno ETIMEDOUT or the fcntl error)
    // where not, and then nothing may be touched.
    int status() const { return status_; }

private:
    Region& region_;
    int status_;
    int saved_errno_ = 0;
};

constexpr int64_t kRegionLockTimeoutNs = 10'000'000'000;

// Brings the naming tables back to a consistent state after a lock holder
// died half-way: finishes half-closed endpoints, frees half-opened ones.
void repair_after_owner_death(Region& r);

}  // namespace hsipc
