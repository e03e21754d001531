// SPDX-License-Identifier: MIT
#include "region_lock.h"

#include <cerrno>

#include "liveness.h"
#include "naming.h"
#include "os.h"

namespace hsipc {

RegionLock::RegionLock(Region& r) : region_(r), status_(HSIPC_OK) {
    ProcessAttachment& a = *r.process;
    a.region_lock_mutex.lock();
    const int64_t deadline = os::monotonic_ns() + kRegionLockTimeoutNs;
    int64_t backoff_ns = 20'000;
    for (;;) {
        int err = os::try_lock_byte(a.lock_fd, kRegionLockByte);
        if (err == 0) break;
        if (err != EAGAIN || os::monotonic_ns() >= deadline) {
            saved_errno_ = err == EAGAIN ? ETIMEDOUT : err;
            status_ = HSIPC_ESYS;
            a.region_lock_mutex.unlock();
            errno = saved_errno_;
            return;
        }
        // Holders keep the lock for microseconds; polling with a short
        // backoff bounds the wait, which F_OFD_SETLKW cannot.
        os::sleep_ns(backoff_ns);
        if (backoff_ns < 1'000'000) backoff_ns *= 2;
    }
    // acquire: see everything the previous holder wrote before it released.
    if (r.header().lock_dirty.exchange(1, std::memory_order_acq_rel) != 0) repair_after_owner_death(r);
}

RegionLock::~RegionLock() {
    if (status_ != HSIPC_OK) {
        errno = saved_errno_;
        return;
    }
    // release: the next holder sees our writes.
    region_.header().lock_dirty.store(0, std::memory_order_release);
    os::unlock_byte(region_.process->lock_fd, kRegionLockByte);
    region_.process->region_lock_mutex.unlock();
}

void repair_after_owner_death(Region& r) {
    // Every change made under the lock goes through a state the next holder
    // can finish or undo: an endpoint "opening" is freed (its opener never
    // got a handle), one "closing" is closed. Process slots and buffers need
    // nothing here: each of their changes is a single store or CAS, and what
    // a dead reaper left undone the next reap does.
    for (uint32_t i = 0; i < r.max_endpoints(); i++) {
        EndpointSlot& e = r.endpoint_slot(i);
        uint32_t state = e.state.load(std::memory_order_relaxed);
        if (state == kEndpointOpening || state == kEndpointClosing) endpoint_close_locked(r, i);
    }
}

}  // namespace hsipc
