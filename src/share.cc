// SPDX-License-Identifier: MIT
#include "share.h"

#include "pool.h"
#include "step.h"

namespace hsipc {

bool share_begin(Region& r, uint32_t b, const hsipc_id* ids, uint32_t count, uint64_t* shared) {
    BufferHeader& h = r.buffer(b);
    // The epoch tells this sharing of the buffer from every earlier one: a
    // late "last reference gone" for an earlier one must not free it now.
    // Ours alone to change while we hold the buffer.
    const uint32_t epoch = h.share_epoch.load(std::memory_order_relaxed) + 1;
    h.share_epoch.store(epoch, std::memory_order_relaxed);
    const uint64_t queued_by_us = queued_word(0, owner_index(r.held_word), owner_gen(r.held_word));
    for (uint32_t i = 0; i < r.max_subscribers(); i++) {
        // Plain stores: no one looks at the record of a buffer held by one
        // process (a reaper that finds us dead frees the buffer by its owner
        // word, and the next publisher writes every reference again).
        r.share_ref(b, i).store(i < count ? queued_by_us | ids[i] : 0, std::memory_order_relaxed);
    }
    step();
    uint64_t held = r.held_word;
    const uint64_t word = owner_word(kOwnerShared, 0, epoch);
    // release: the references and the header's fields reach whoever
    // acquires the owner word or a ring slot we publish to later.
    if (!h.owner.compare_exchange_strong(held, word, std::memory_order_release, std::memory_order_relaxed)) {
        return false;
    }
    *shared = word;
    return true;
}

int share_find(const Region& r, uint32_t b, uint64_t word) {
    for (uint32_t i = 0; i < r.max_subscribers(); i++) {
        if (r.share_ref(b, i).load(std::memory_order_acquire) == word) return int(i);
    }
    return -1;
}

int share_find_queued_to(const Region& r, uint32_t b, hsipc_id to) {
    for (uint32_t i = 0; i < r.max_subscribers(); i++) {
        if (queued_to(r.share_ref(b, i).load(std::memory_order_acquire), to)) return int(i);
    }
    return -1;
}

bool share_drop(Region& r, uint32_t b, uint32_t i, uint64_t expected, uint64_t shared) {
    step();
    // seq_cst, with the loads of share_free_if_unreferenced: of two holders
    // letting go at once, at least one sees the other's reference gone, so
    // the last one out is never missed.
    if (!r.share_ref(b, i).compare_exchange_strong(expected, 0, std::memory_order_seq_cst)) return false;
    step();
    share_free_if_unreferenced(r, b, shared);
    return true;
}

bool share_drop_queued_to(Region& r, uint32_t b, hsipc_id to, uint64_t shared) {
    for (uint32_t i = 0; i < r.max_subscribers(); i++) {
        const uint64_t queued = r.share_ref(b, i).load(std::memory_order_acquire);
        if (!queued_to(queued, to)) continue;
        step();
        // From the word found, never one read again: the endpoint's
        // receiver may take this very reference meanwhile (queued -> held:
        // a reaper closes a live receiver's endpoint where the endpoint
        // table was scribbled), and then the CAS must fail, not drop what
        // it now holds (the race test in topic_test.cc).
        return share_drop(r, b, i, queued, shared);
    }
    return false;
}

bool share_free_if_unreferenced(Region& r, uint32_t b, uint64_t shared) {
    for (uint32_t i = 0; i < r.max_subscribers(); i++) {
        if (r.share_ref(b, i).load(std::memory_order_seq_cst) != 0) return false;
    }
    // Two that both saw the last reference go race here; one CAS wins. One
    // that saw it too late fails: the word has moved on from `shared`.
    return buffer_free_if(r, b, shared);
}

void share_drop_all_held(Region& r) {
    if (r.max_topics() == 0) return;
    for (uint32_t b = 0; b < r.layout.total_buffers; b++) {
        // acquire: the references the publisher stored before sharing.
        const uint64_t shared = r.buffer(b).owner.load(std::memory_order_acquire);
        if (owner_kind(shared) != kOwnerShared) continue;
        // Every one: a process that took the buffer through two endpoints
        // holds two.
        for (uint32_t i = 0; i < r.max_subscribers(); i++) {
            if (r.share_ref(b, i).load(std::memory_order_relaxed) == r.held_word) {
                share_drop(r, b, i, r.held_word, shared);
            }
        }
    }
}

}  // namespace hsipc
