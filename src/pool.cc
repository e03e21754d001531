// SPDX-License-Identifier: MIT
#include "pool.h"

#include "os.h"
#include "reap.h"
#include "share.h"
#include "step.h"

namespace hsipc {
namespace {

// One pass over pool p from this handle's cursor; false when it is empty.
bool claim_from_pool(Region& r, uint32_t p, uint64_t held, hsipc_off* off) {
    const PoolLayout& pool = r.layout.pools[p];
    uint32_t start = r.alloc_cursor[p].load(std::memory_order_relaxed);
    if (start >= pool.count) start = 0;
    for (uint32_t k = 0; k < pool.count; k++) {
        uint32_t i = start + k < pool.count ? start + k : start + k - pool.count;
        std::atomic<uint64_t>& owner = r.buffer(pool.first + i).owner;
        uint64_t expected = kOwnerFree;
        // Plain load first so a scan over held buffers does not write their
        // lines. acquire on success: the previous holder's writes to the
        // buffer (released with it) happen-before ours.
        if (owner.load(std::memory_order_relaxed) == kOwnerFree && (step(), true) &&
            owner.compare_exchange_strong(expected, held, std::memory_order_acquire, std::memory_order_relaxed)) {
            const uint32_t next = i + 1 < pool.count ? i + 1 : 0;
            r.alloc_cursor[p].store(next, std::memory_order_relaxed);
            // The next allocation most likely takes the next buffer: start
            // moving its header and first payload line here while the
            // caller fills this one (streaming allocates in sequence).
            os::prefetch_for_write(&r.buffer(pool.first + next));
            os::prefetch_for_write(r.base + pool.payload_off + uint64_t(next) * pool.stride);
            *off = pool.payload_off + uint64_t(i) * pool.stride;
            return true;
        }
    }
    return false;
}

bool claim(Region& r, size_t size, hsipc_off* off) {
    const uint64_t held = r.held_word;
    for (uint32_t p = 0; p < r.layout.config.pool_count; p++) {
        if (r.layout.pools[p].buffer_size >= size && claim_from_pool(r, p, held, off)) return true;
    }
    return false;
}

// A producer that meets an empty pool usually retries at once, and the
// pool is usually empty because a live consumer is behind, not because a
// holder died. Reaping on every failure would cost the region lock and a
// system call per process slot each time, exactly when the system is
// loaded. So a handle looks for the dead (without the lock) on each of the
// first kEagerReaps failures in a row (a caller that fails, sees a holder
// die and asks again finds its buffers at once), then at most every
// kAllocReapIntervalNs (a caller spinning on HSIPC_ENOMEM finds them that
// much later), and takes the lock to reap only when someone died.
constexpr uint32_t kEagerReaps = 8;
constexpr int64_t kAllocReapIntervalNs = 5'000'000;

bool reap_due(Region& r) {
    // relaxed: a counter and a time stamp that only pace the reaps; the CAS
    // keeps racing threads from reaping twice for one due time.
    const uint32_t failures = r.failed_allocs.fetch_add(1, std::memory_order_relaxed) + 1;
    const int64_t now = os::monotonic_ns();
    int64_t next = r.next_alloc_reap_ns.load(std::memory_order_relaxed);
    if (failures > kEagerReaps && now < next) return false;
    return r.next_alloc_reap_ns.compare_exchange_strong(next, now + kAllocReapIntervalNs, std::memory_order_relaxed) ||
           failures <= kEagerReaps;
}

}  // namespace

int pool_alloc(Region& r, size_t size, hsipc_off* out) {
    if (size == 0) return HSIPC_EINVAL;
    if (size > r.layout.pools[r.layout.config.pool_count - 1].buffer_size) return HSIPC_ETOOBIG;
    // Reserve our share first, so racing threads cannot overshoot it.
    if (r.quota != 0 && r.held_count->fetch_add(1, std::memory_order_relaxed) >= r.quota) {
        r.held_count->fetch_sub(1, std::memory_order_relaxed);
        return HSIPC_ENOMEM;  // reaping others would not help
    }
    if (!claim(r, size, out) && !(reap_due(r) && anyone_dead(r) && reap(r) > 0 && claim(r, size, out))) {
        count_held(r, -1);
        return HSIPC_ENOMEM;
    }
    // Read first: a producer that never fails never writes the line.
    if (r.failed_allocs.load(std::memory_order_relaxed) != 0) r.failed_allocs.store(0, std::memory_order_relaxed);
    return HSIPC_OK;
}

int pool_release(Region& r, uint64_t off) {
    uint32_t i, p;
    if (!buffer_at_offset(r.layout, off, &i, &p)) return HSIPC_EBADOFF;
    if (!buffer_free_if(r, i, r.held_word)) {
        // A buffer received from a topic: let our reference go; the buffer
        // goes back to its pool with the last one (share.h).
        const uint64_t w = r.buffer(i).owner.load(std::memory_order_acquire);
        const int ref = owner_kind(w) == kOwnerShared ? share_find(r, i, r.held_word) : -1;
        if (ref < 0 || !share_drop(r, i, uint32_t(ref), r.held_word, w)) return HSIPC_EBADOFF;
        count_held(r, -1);
        return HSIPC_OK;
    }
    count_held(r, -1);
    // Our next allocation from this pool starts at the buffer just freed:
    // its lines are still in our cache, where a round robin would hand out
    // the coldest buffer of the pool.
    r.alloc_cursor[p].store(i - r.layout.pools[p].first, std::memory_order_relaxed);
    return HSIPC_OK;
}

int readable_buffer(Region& r, uint64_t off, uint32_t* index, uint64_t* capacity) {
    if (held_buffer(r, off, index, capacity) == HSIPC_OK) return HSIPC_OK;
    uint32_t i, p;
    if (!buffer_at_offset(r.layout, off, &i, &p)) return HSIPC_EBADOFF;
    if (owner_kind(r.buffer(i).owner.load(std::memory_order_relaxed)) != kOwnerShared || !share_held_here(r, i)) {
        return HSIPC_EBADOFF;
    }
    *index = i;
    if (capacity) *capacity = r.layout.pools[p].buffer_size;
    return HSIPC_OK;
}

bool buffer_free_if(Region& r, uint32_t index, uint64_t expected) {
    step();
    // release: everything the holder wrote to the buffer happens-before the
    // next holder's claim (acquire).
    return r.buffer(index).owner.compare_exchange_strong(expected, kOwnerFree, std::memory_order_release,
                                                          std::memory_order_relaxed);
}

}  // namespace hsipc
