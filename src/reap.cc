#include "reap.h"

#include <cerrno>
#include <vector>

#include "inbox.h"
#include "liveness.h"
#include "naming.h"
#include "os.h"
#include "pool.h"
#include "region_lock.h"

namespace hsipc {
namespace {

struct DeadSet {
    std::vector<uint8_t> dead;
    std::vector<uint32_t> gen;
    bool contains(uint32_t slot, uint32_t g) const { return slot < dead.size() && dead[slot] && gen[slot] == g; }
};

// Slots marked live whose kernel lock nobody holds.
int find_dead(Region& r, DeadSet* out, bool* any) {
    const uint32_t n = r.process_slots();
    out->dead.assign(n, 0);
    out->gen.assign(n, 0);
    *any = false;
    for (uint32_t i = 0; i < n; i++) {
        if (i == r.process->slot) continue;
        ProcessSlot& s = r.process_slot(i);
        if (s.state.load(std::memory_order_acquire) != kProcessLive) continue;
        bool held;
        int err = os::byte_locked_elsewhere(r.process->lock_fd, kProcessLockByte0 + i, &held);
        if (err != 0) {
            errno = err;
            return HSIPC_ESYS;
        }
        if (!held) {
            out->dead[i] = 1;
            out->gen[i] = s.gen.load(std::memory_order_relaxed);
            *any = true;
        }
    }
    return HSIPC_OK;
}

bool endpoint_owner_gone(Region& r, const EndpointSlot& e, const DeadSet& dead) {
    uint32_t slot = e.owner_slot.load(std::memory_order_relaxed);
    uint32_t gen = e.owner_gen.load(std::memory_order_relaxed);
    if (dead.contains(slot, gen)) return true;
    // An owner whose slot is free or reused can only come from a scribbled
    // table; such an endpoint has no one to serve it either.
    if (slot >= r.process_slots()) return true;
    ProcessSlot& s = r.process_slot(slot);
    return s.state.load(std::memory_order_relaxed) != kProcessLive || s.gen.load(std::memory_order_relaxed) != gen;
}

// A buffer a dead sender had marked queued but maybe never published: free
// it unless it sits in its endpoint's inbox. A receiver takes the buffer
// (stores its owner word) before it frees the inbox slot (release), so "not
// in the inbox" means never published or already taken, and in the latter
// case our CAS fails.
bool reclaim_unpublished(Region& r, uint32_t b, uint64_t w) {
    uint32_t ep = owner_index(w);
    uint32_t gen = owner_gen(w);
    if (ep < r.max_endpoints()) {
        EndpointSlot& e = r.endpoint_slot(ep);
        if (e.state.load(std::memory_order_acquire) == kEndpointOpen && e.gen.load(std::memory_order_relaxed) == gen &&
            inbox_contains(endpoint_inbox(r, ep, gen), b + 1)) {
            return false;
        }
    }
    return buffer_free_if(r, b, w);
}

}  // namespace

int reap_locked(Region& r) {
    DeadSet dead;
    bool any;
    int rc = find_dead(r, &dead, &any);
    if (rc != HSIPC_OK) return rc;
    int reclaimed = 0;
    // Endpoints first, then buffers, then the slots: a reaper that dies
    // half-way leaves the slots marked live, so the next reap redoes it all.
    for (uint32_t i = 0; i < r.max_endpoints(); i++) {
        EndpointSlot& e = r.endpoint_slot(i);
        if (e.state.load(std::memory_order_acquire) == kEndpointFree) continue;
        if (!endpoint_owner_gone(r, e, dead)) continue;
        reclaimed += endpoint_close_locked(r, i) + 1;
    }
    if (!any) return reclaimed;
    for (uint32_t b = 0; b < r.layout.total_buffers; b++) {
        BufferHeader& h = r.buffer(b);
        // acquire: a sender's sender_slot/gen stores precede its queued CAS.
        uint64_t w = h.owner.load(std::memory_order_acquire);
        switch (owner_kind(w)) {
            case kOwnerHeld:
                if (dead.contains(owner_index(w), owner_gen(w)) && buffer_free_if(r, b, w)) reclaimed++;
                break;
            case kOwnerQueued:
                if (dead.contains(h.sender_slot.load(std::memory_order_relaxed),
                                  h.sender_gen.load(std::memory_order_relaxed)) &&
                    reclaim_unpublished(r, b, w)) {
                    reclaimed++;
                }
                break;
            default:
                break;
        }
    }
    for (uint32_t i = 0; i < r.process_slots(); i++) {
        if (dead.dead[i]) r.process_slot(i).state.store(kProcessFree, std::memory_order_release);
    }
    return reclaimed;
}

int reap(Region& r) {
    RegionLock lock(r);
    if (lock.status() != HSIPC_OK) return lock.status();
    return reap_locked(r);
}

}  // namespace hsipc
