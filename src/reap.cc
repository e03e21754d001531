// SPDX-License-Identifier: MIT
#include "reap.h"

#include <cerrno>
#include <new>
#include <unordered_set>
#include <vector>

#include "event_fd.h"
#include "inbox.h"
#include "liveness.h"
#include "naming.h"
#include "os.h"
#include "pool.h"
#include "region_lock.h"
#include "share.h"
#include "step.h"

namespace hsipc {
namespace {

struct DeadSet {
    std::vector<uint8_t> dead;
    std::vector<uint32_t> gen;
    bool contains(uint32_t slot, uint32_t g) const { return slot < dead.size() && dead[slot] && gen[slot] == g; }
    bool contains_slot(uint32_t slot) const { return slot < dead.size() && dead[slot]; }
};

// Slots marked live whose kernel lock nobody holds.
int find_dead(Region& r, DeadSet* out) {
    const uint32_t n = r.process_slots();
    out->dead.assign(n, 0);
    out->gen.assign(n, 0);
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

// Calls on_entry(endpoint slot, buffer) for every buffer some open inbox
// names, in one pass over the rings.
template <class OnEntry>
void for_each_published(Region& r, OnEntry on_entry) {
    for (uint32_t i = 0; i < r.max_endpoints(); i++) {
        EndpointSlot& e = r.endpoint_slot(i);
        if (e.state.load(std::memory_order_acquire) != kEndpointOpen) continue;
        // Every entry, whatever its gen: a message that landed in a later
        // incarnation than it was sent to still names its buffer here.
        inbox_for_each_buffer(endpoint_inbox(r, i, e.gen.load(std::memory_order_relaxed)), [&](uint32_t content) {
            if (content - 1 < r.layout.total_buffers) on_entry(i, content - 1);
        });
    }
}

// A reference to shared buffer `buffer` queued by a gone publisher to
// endpoint slot `slot`: published only if that slot's inbox names the buffer.
struct SharedCandidate {
    uint32_t buffer;
    uint32_t ref;
    uint32_t slot;
};

uint64_t published_key(uint32_t buffer, uint32_t slot) { return (uint64_t(buffer) << 16) | slot; }

// Whether the process that sent a queued buffer is gone: dead now, or no
// longer the one in its slot (dead and reaped earlier, or detached). A gone
// sender will never take the buffer back; a live one might, mid-send.
// Matching 17 bits of the gen errs towards "not gone" (a leak until that
// slot's occupant goes too), never towards freeing a live sender's buffer.
bool sender_gone(Region& r, const DeadSet& dead, uint64_t w) {
    const uint32_t slot = queued_sender_slot(w);
    if (slot >= r.process_slots() || dead.contains_slot(slot)) return true;
    const uint32_t gen = slot == r.process->slot ? r.process->gen
                                                 : r.process_slot(slot).gen.load(std::memory_order_relaxed);
    if (slot != r.process->slot && r.process_slot(slot).state.load(std::memory_order_relaxed) != kProcessLive) {
        return true;
    }
    return (gen & kQueuedSenderGenMask) != queued_sender_gen(w);
}

// Frees what gone processes hold: buffers they held, and buffers they had
// marked queued that are in no inbox — never published (they died between
// the two CASes of a send), or a message that landed in a later
// incarnation of its endpoint and was passed over there. One pass over the
// buffer headers finds the candidates, one over the open rings finds which
// are published; each then goes with one CAS of the word it was found
// with. Linear in the region's size.
int reclaim_buffers(Region& r, const DeadSet& dead) {
    int reclaimed = 0;
    std::vector<uint32_t> unpublished_candidates;
    std::vector<SharedCandidate> shared_candidates;
    for (uint32_t b = 0; b < r.layout.total_buffers; b++) {
        uint64_t w = r.buffer(b).owner.load(std::memory_order_relaxed);
        switch (owner_kind(w)) {
            case kOwnerHeld:
                if (dead.contains(owner_index(w), owner_gen(w)) && buffer_free_if(r, b, w)) reclaimed++;
                break;
            case kOwnerQueued:
                if (sender_gone(r, dead, w)) unpublished_candidates.push_back(b);
                break;
            case kOwnerShared:
                // Each reference as an owner word of its own.
                for (uint32_t i = 0; i < r.max_subscribers(); i++) {
                    const uint64_t v = r.share_ref(b, i).load(std::memory_order_relaxed);
                    if (owner_kind(v) == kOwnerHeld && dead.contains(owner_index(v), owner_gen(v))) {
                        reclaimed += share_drop(r, b, i, v, w);
                    } else if (owner_kind(v) == kOwnerQueued && sender_gone(r, dead, v)) {
                        const uint32_t slot = (queued_destination(v) & ((1u << r.layout.id_index_bits) - 1)) - 1;
                        shared_candidates.push_back({b, i, slot});
                    }
                }
                // A holder that died between letting its reference go and
                // freeing the buffer left it unreferenced.
                reclaimed += share_free_if_unreferenced(r, b, w);
                break;
            default:
                break;
        }
    }
    if (unpublished_candidates.empty() && shared_candidates.empty()) return reclaimed;
    step(Step::kReapCandidates);
    // Scanned after the candidates were found: a gone sender publishes
    // nothing more, and a receiver takes a buffer (stores its owner word)
    // before it frees its slot (release; the scan acquires), so a candidate
    // in no inbox now was never published or has been taken since, and then
    // its word is no longer the gone sender's: the CAS below fails. A live
    // process that takes such a buffer and sends it again writes its own
    // slot into the word, so that cannot restore the word either.
    // A shared reference is published when its own subscriber's inbox
    // names the buffer: the same buffer sits in the other subscribers'.
    std::vector<bool> published(r.layout.total_buffers, false);
    std::unordered_set<uint64_t> shared_wanted, shared_published;
    for (const SharedCandidate& c : shared_candidates) shared_wanted.insert(published_key(c.buffer, c.slot));
    for_each_published(r, [&](uint32_t slot, uint32_t b) {
        published[b] = true;
        if (!shared_wanted.empty() && shared_wanted.count(published_key(b, slot)) != 0) {
            shared_published.insert(published_key(b, slot));
        }
    });
    step(Step::kReapScanned);
    for (uint32_t b : unpublished_candidates) {
        if (published[b]) continue;  // its receiver will take it
        uint64_t w = r.buffer(b).owner.load(std::memory_order_relaxed);
        if (owner_kind(w) == kOwnerQueued && sender_gone(r, dead, w) && buffer_free_if(r, b, w)) reclaimed++;
    }
    for (const SharedCandidate& c : shared_candidates) {
        if (shared_published.count(published_key(c.buffer, c.slot)) != 0) continue;
        const uint64_t w = r.buffer(c.buffer).owner.load(std::memory_order_relaxed);
        const uint64_t v = r.share_ref(c.buffer, c.ref).load(std::memory_order_relaxed);
        if (owner_kind(w) == kOwnerShared && owner_kind(v) == kOwnerQueued && sender_gone(r, dead, v)) {
            reclaimed += share_drop(r, c.buffer, c.ref, v, w);
        }
    }
    return reclaimed;
}

}  // namespace

int reap_locked(Region& r) {
    try {
        DeadSet dead;
        int rc = find_dead(r, &dead);
        if (rc != HSIPC_OK) return rc;
        int reclaimed = 0;
        // Endpoints first, then buffers, then the slots: a reaper that dies
        // half-way leaves the slots marked live, so the next reap redoes it all.
        for (uint32_t i = 0; i < r.max_endpoints(); i++) {
            EndpointSlot& e = r.endpoint_slot(i);
            const uint32_t state = e.state.load(std::memory_order_acquire);
            if (state == kEndpointFree || state == kEndpointRetired) continue;
            if (!endpoint_owner_gone(r, e, dead)) continue;
            reclaimed += endpoint_close_locked(r, i) + 1;
        }
        // Always, not only when someone died now: a message passed over in
        // a later incarnation may have been left by a sender reaped before.
        reclaimed += reclaim_buffers(r, dead);
        bool anyone = false;
        for (uint32_t i = 0; i < r.process_slots(); i++) {
            if (!dead.dead[i]) continue;
            r.process_slot(i).state.store(kProcessFree, std::memory_order_release);
            anyone = true;
        }
        // A dead sender may have published and died before its wake.
        if (anyone) wake_waiting_receivers(r);
        return reclaimed;
    } catch (const std::bad_alloc&) {
        return HSIPC_ENOMEM;
    }
}

bool anyone_dead(Region& r) {
    for (uint32_t i = 0; i < r.process_slots(); i++) {
        if (i == r.process->slot) continue;
        // A slot being claimed is locked before it is marked live, and one
        // being freed is marked free before its lock goes: a live mark on an
        // unlocked byte is a death (or a scribble, which the reap sorts out).
        if (r.process_slot(i).state.load(std::memory_order_acquire) != kProcessLive) continue;
        bool held;
        if (os::byte_locked_elsewhere(r.process->lock_fd, kProcessLockByte0 + i, &held) != 0 || !held) return true;
    }
    return false;
}

int reap(Region& r) {
    RegionLock lock(r);
    if (lock.status() != HSIPC_OK) return lock.status();
    return reap_locked(r);
}

}  // namespace hsipc
