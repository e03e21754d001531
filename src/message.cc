// SPDX-License-Identifier: MIT
#include "message.h"

#include "event_fd.h"
#include "inbox.h"
#include "naming.h"
#include "os.h"
#include "pool.h"
#include "share.h"
#include "step.h"
#include "topic.h"
#include "wait.h"

namespace hsipc {
namespace {

// More than a few dozen outstanding prefetches only evict each other.
constexpr size_t kMaxPrefetch = 32;

// Whether owner word w is a message sent to an earlier incarnation of
// endpoint slot `index`: a sender that checked the endpoint before it was
// closed and published after it was reopened (a "stale landing", see
// message_send). Its sender withdraws it; it is not ours to take.
bool sent_to_earlier_incarnation(const Endpoint& ep, uint64_t w) {
    if (owner_kind(w) != kOwnerQueued) return false;
    const hsipc_id to = queued_destination(w);
    return to != ep.id && (to & ((1u << ep.region->layout.id_index_bits) - 1)) == ep.index + 1;
}

// Whether buffer b, shared, was published to an earlier incarnation of
// our endpoint slot (a publisher's stale landing, withdrawn as a send's is).
bool shared_to_earlier_incarnation(const Endpoint& ep, uint32_t b) {
    const Region& r = *ep.region;
    for (uint32_t i = 0; i < r.max_subscribers(); i++) {
        if (sent_to_earlier_incarnation(ep, r.share_ref(b, i).load(std::memory_order_relaxed))) return true;
    }
    return false;
}

// A message at the head of an inbox: its buffer, where it lies, and for a
// buffer shared by a topic the reference queued to us (else -1) and the
// buffer's owner word as read.
struct Found {
    uint32_t buffer;
    BufferPlace place;
    int ref;
    uint64_t owner;
};

// Passes over the entries at the head that carry no message for us
// (withdrawn, or sent to an earlier incarnation) and stops at one that
// does: HSIPC_OK with *found set, its owner word (or a reference of its
// share record) queued to us. Drops entries a faulty peer made that do not
// name a buffer queued to us, reporting HSIPC_ECORRUPT for each.
// HSIPC_EAGAIN where the inbox is empty.
int seek_message(Endpoint& ep, Found* found) {
    Region& r = *ep.region;
    const InboxView& inbox = ep.inbox;
    // Each pass consumes an entry; a capacity's worth of entries without a
    // message is as far as one look goes.
    for (uint32_t passed = 0; passed < inbox.capacity; passed++) {
        uint32_t content;
        int rc = inbox_peek(inbox, ep.head, &content);
        if (rc == HSIPC_EAGAIN) return rc;
        if (rc != HSIPC_OK) {
            if (inbox_skip_damaged(inbox, ep.head)) ep.head++;
            return HSIPC_ECORRUPT;
        }
        if (content == kEntrySkip) {
            inbox_consume(inbox, ep.head++);
            continue;
        }
        const uint32_t b = content - 1;
        if (b >= r.layout.total_buffers) {
            inbox_consume(inbox, ep.head++);
            return HSIPC_ECORRUPT;
        }
        BufferHeader& h = r.buffer(b);
        // Both lines are likely in the sender's cache: ask for them at once,
        // so the two transfers overlap instead of following each other.
        // Exclusive, not shared: we write the header next, and this process
        // most likely writes the payload too when it reuses the buffer
        // (alloc prefers the buffer it freed last).
        os::prefetch_for_write(&h);
        found->place = buffer_place(r.layout, b);  // a pool holds every b < total_buffers
        os::prefetch_for_write(r.base + found->place.off);
        step(Step::kTakeLook);
        const uint64_t w = h.owner.load(std::memory_order_relaxed);
        found->buffer = b;
        found->owner = w;
        if (queued_to(w, ep.id)) {
            found->ref = -1;
            return HSIPC_OK;
        }
        const bool shared = owner_kind(w) == kOwnerShared;
        if (shared && (found->ref = share_find_queued_to(r, b, ep.id)) >= 0) return HSIPC_OK;
        if (!sent_to_earlier_incarnation(ep, w) && !(shared && shared_to_earlier_incarnation(ep, b))) {
            // Its sender may have withdrawn it and taken the buffer (or
            // dropped its reference) back since we read the entry. acquire:
            // where the word is now that take-back (or later), the
            // withdrawal before it is visible to the second look.
            (void)h.owner.load(std::memory_order_acquire);
            rc = inbox_peek(inbox, ep.head, &content);
            if (rc != HSIPC_OK || content != kEntrySkip) {
                inbox_consume(inbox, ep.head++);
                return HSIPC_ECORRUPT;
            }
        }
        inbox_consume(inbox, ep.head++);
    }
    return HSIPC_EAGAIN;
}

// One look at the inbox: takes the message at the head, if there is one.
int take_one(Endpoint& ep, hsipc_msg* msg) {
    Found found;
    int rc = seek_message(ep, &found);
    if (rc != HSIPC_OK) return rc;
    Region& r = *ep.region;
    const uint32_t b = found.buffer;
    BufferHeader& h = r.buffer(b);
    uint32_t flags = 0;
    if (found.ref < 0) {
        // Take the buffer before freeing the slot: the reaper relies on "in
        // no inbox" meaning "never published or already taken". A plain
        // store suffices: while the buffer sits in our inbox no one else may
        // change its owner word (a reaper frees a queued buffer only once it
        // is in no inbox, and then sees our store through the slot's
        // release/acquire; its sender takes it back only after our endpoint
        // closed), and only this thread polls it. (The sender's header and
        // payload writes were acquired with the slot.)
        h.owner.store(r.held_word, std::memory_order_relaxed);
    } else {
        // The same for our reference; a CAS, as others' references share
        // the line and a scribbled word must not become ours.
        std::atomic<uint64_t>& ref = r.share_ref(b, uint32_t(found.ref));
        uint64_t queued = ref.load(std::memory_order_relaxed);
        if (!queued_to(queued, ep.id) ||
            !ref.compare_exchange_strong(queued, r.held_word, std::memory_order_relaxed)) {
            inbox_consume(ep.inbox, ep.head++);
            return HSIPC_ECORRUPT;
        }
        flags = HSIPC_MSG_SHARED;
    }
    const uint64_t length = h.length.load(std::memory_order_relaxed);
    const hsipc_id from = h.from.load(std::memory_order_relaxed);
    inbox_consume(ep.inbox, ep.head++);
    if (length > found.place.capacity) {  // a length no sender could declare
        if (found.ref < 0) {
            buffer_free_if(r, b, r.held_word);
        } else {
            share_drop(r, b, uint32_t(found.ref), r.held_word, found.owner);
        }
        return HSIPC_ECORRUPT;
    }
    count_held(r, 1);
    *msg = hsipc_msg{found.place.off, length, from, flags, r.base + found.place.off};
    return HSIPC_OK;
}

// Starts fetching the buffer headers and payloads of up to `max` messages
// queued from the head on, so their cache-line transfers overlap.
void prefetch_queued(Endpoint& ep, size_t max) {
    Region& r = *ep.region;
    const InboxView& inbox = ep.inbox;
    const uint32_t ahead = uint32_t(max < kMaxPrefetch ? max : kMaxPrefetch);
    for (uint32_t k = 0; k < ahead; k++) {
        uint32_t content;
        if (inbox_peek(inbox, ep.head + k, &content) != HSIPC_OK || content - 1 >= r.layout.total_buffers) return;
        os::prefetch_for_write(&r.buffer(content - 1));
        os::prefetch_for_write(r.base + buffer_offset(r.layout, content - 1));
    }
}

// Whether the entry `ahead` positions past the head is a message (not
// empty, not damaged).
bool message_at(Endpoint& ep, uint32_t ahead) {
    uint32_t content;
    return inbox_peek(ep.inbox, ep.head + ahead, &content) == HSIPC_OK;
}

bool message_at_head(Endpoint& ep) { return message_at(ep, 0); }

// HSIPC_OK when the head entry is a message, HSIPC_EAGAIN when it is empty,
// HSIPC_ECORRUPT when it is damaged. Takes nothing.
int head_state(Endpoint& ep) {
    uint32_t content;
    return inbox_peek(ep.inbox, ep.head, &content);
}

// Publishes buffer b, whose owner word or share reference `ref` says
// `queued` (to endpoint slot `index` in incarnation `gen`, seen open with
// that gen), into that inbox, and wakes the receiver where it waits. HSIPC_OK: delivered.
// Otherwise the word is `take_back` again (held by us, or a dropped
// reference) and the buffer in no inbox: HSIPC_EPEER (closed or reopened),
// HSIPC_EFULL, or HSIPC_ECORRUPT.
int push_reference(Region& r, uint32_t index, uint32_t gen, uint32_t b, std::atomic<uint64_t>& ref,
                   uint64_t queued, uint64_t take_back) {
    EndpointSlot& dest = r.endpoint_slot(index);
    const InboxView inbox = endpoint_inbox(r, index, gen);
    uint32_t position;
    int rc = inbox_push(inbox, dest.tail_hint, b + 1, &position);
    if (rc == HSIPC_OK && dest.gen.load(std::memory_order_relaxed) != gen) {
        // The endpoint closed after our check. Its gen changes only once
        // the close has swept its inbox, and a reopened inbox's entries were
        // written after that (inbox_reset's release stores; our CAS acquired
        // one), so this load cannot miss the change when it matters. Either
        // our message was in the swept inbox — then the sweep or the
        // receiver has the buffer, and it is as delivered — or it landed in
        // a later incarnation that must not get it: there it still says
        // queued by us to the old id, and no one else takes such a buffer.
        // Withdraw the entry (the new receiver passes over it either way)
        // and take the buffer back where the word says so.
        inbox_withdraw(inbox, position, b + 1);
        uint64_t expected = queued;
        // acq_rel: release publishes the withdrawal to a receiver that
        // reads this word (take_one's second look); seq_cst for a shared
        // reference (share.cc).
        if (ref.compare_exchange_strong(expected, take_back, std::memory_order_seq_cst)) return HSIPC_EPEER;
    } else if (rc != HSIPC_OK) {
        // Not published: take it back. Only a scribbled word can make this
        // fail (a reaper frees an unpublished buffer only for a dead sender,
        // and we are alive).
        uint64_t expected = queued;
        if (!ref.compare_exchange_strong(expected, take_back, std::memory_order_seq_cst)) return HSIPC_ECORRUPT;
        return rc;
    }
    step(Step::kSendPublished);
    if (wake_if_sleeping(dest.sleeping) == kReceiverArmed) {
        step(Step::kSendWaking);
        signal_wake_socket(r, index);
    }
    return HSIPC_OK;
}

// Whether `id` names an endpoint open now, and which (acquire: its reset
// inbox is visible).
bool endpoint_open_as(const Region& r, hsipc_id id, uint32_t* index, uint32_t* gen) {
    if (!endpoint_id_decode(r, id, index, gen)) return false;
    const EndpointSlot& dest = r.endpoint_slot(*index);
    return dest.state.load(std::memory_order_acquire) == kEndpointOpen &&
           dest.gen.load(std::memory_order_relaxed) == *gen;
}

}  // namespace

int message_send(Endpoint& from, hsipc_id to, hsipc_off off, size_t length) {
    Region& r = *from.region;
    uint32_t b;
    uint64_t capacity;
    if (held_buffer(r, off, &b, &capacity) != HSIPC_OK) return HSIPC_EBADOFF;
    if (length > capacity) return HSIPC_EINVAL;
    uint32_t index, gen;
    if (!endpoint_open_as(r, to, &index, &gen)) return HSIPC_EPEER;
    step(Step::kSendChecked);
    BufferHeader& h = r.buffer(b);
    h.length.store(length, std::memory_order_relaxed);
    h.from.store(from.id, std::memory_order_relaxed);
    // Mark it queued before publishing it: from here a reaper that finds us
    // dead frees it unless it sits in an inbox. release: the fields above
    // reach whoever acquires the owner word.
    uint64_t held = r.held_word;
    const uint64_t queued = queued_word(to, owner_index(r.held_word), owner_gen(r.held_word));
    if (!h.owner.compare_exchange_strong(held, queued, std::memory_order_release, std::memory_order_relaxed)) {
        return HSIPC_EBADOFF;  // another thread of ours sent or released it meanwhile
    }
    step(Step::kSendQueued);
    const int rc = push_reference(r, index, gen, b, h.owner, queued, r.held_word);
    if (rc == HSIPC_OK) count_held(r, -1);
    return rc;
}

int message_publish(Endpoint& from, hsipc_id topic, hsipc_off off, size_t length, uint32_t* delivered,
                    uint32_t* skipped) {
    Region& r = *from.region;
    uint32_t t;
    if (!topic_id_decode(r, topic, &t)) return HSIPC_EINVAL;
    uint32_t b;
    uint64_t capacity;
    if (held_buffer(r, off, &b, &capacity) != HSIPC_OK) return HSIPC_EBADOFF;
    if (length > capacity) return HSIPC_EINVAL;
    hsipc_id subscribers[kMaxSubscribers];
    const uint32_t count = topic_subscribers(r, t, subscribers);
    BufferHeader& h = r.buffer(b);
    h.length.store(length, std::memory_order_relaxed);
    h.from.store(from.id, std::memory_order_relaxed);
    uint32_t sent = 0, full = 0;
    if (count == 0) {
        // No one to give it to: it goes back to its pool, as promised.
        if (!buffer_free_if(r, b, r.held_word)) return HSIPC_EBADOFF;
    } else {
        // One reference per subscriber, all recorded before the first is
        // published: the buffer cannot go while we still deliver it.
        uint64_t shared;
        if (!share_begin(r, b, subscribers, count, &shared)) return HSIPC_EBADOFF;
        step(Step::kPublishShared);
        for (uint32_t i = 0; i < count; i++) {
            std::atomic<uint64_t>& ref = r.share_ref(b, i);
            const uint64_t queued = ref.load(std::memory_order_relaxed);
            uint32_t index, gen;
            int rc = HSIPC_EPEER;
            if (endpoint_open_as(r, subscribers[i], &index, &gen)) {
                rc = push_reference(r, index, gen, b, ref, queued, 0);
            } else {
                // Closed since it subscribed (or an id no endpoint can have,
                // in a scribbled list): not a subscriber; let it go.
                uint64_t expected = queued;
                ref.compare_exchange_strong(expected, 0, std::memory_order_seq_cst);
            }
            sent += rc == HSIPC_OK;
            full += rc == HSIPC_EFULL;
        }
        // References let go above (full, gone) may have been the last.
        share_free_if_unreferenced(r, b, shared);
    }
    count_held(r, -1);
    *delivered = sent;
    if (skipped) *skipped = full;
    return HSIPC_OK;
}

bool message_waiting(Endpoint& ep) {
    Found found;
    return seek_message(ep, &found) != HSIPC_EAGAIN;
}

int message_poll(Endpoint& ep, hsipc_msg* msg, int64_t timeout_ns) {
    if (timeout_ns < 0 && timeout_ns != HSIPC_FOREVER) return HSIPC_EINVAL;
    if (ep.armed) endpoint_disarm(ep);
    int rc = take_one(ep, msg);
    if (rc != HSIPC_EAGAIN || timeout_ns == 0) return rc;
    EndpointSlot& slot = ep.region->endpoint_slot(ep.index);
    return wait_until(slot.sleeping, timeout_ns, ep.spin_ns.load(std::memory_order_relaxed),
                      [&] { return take_one(ep, msg); });
}

int message_poll_many(Endpoint& ep, hsipc_msg* msgs, size_t max, int64_t timeout_ns, size_t* count) {
    if (timeout_ns < 0 && timeout_ns != HSIPC_FOREVER) return HSIPC_EINVAL;
    if (ep.armed) endpoint_disarm(ep);
    size_t taken = 0;
    auto take_batch = [&]() -> int {
        prefetch_queued(ep, max);
        int rc = take_one(ep, &msgs[0]);
        if (rc != HSIPC_OK) return rc;
        taken = 1;
        while (taken < max && message_at_head(ep) && take_one(ep, &msgs[taken]) == HSIPC_OK) taken++;
        return HSIPC_OK;
    };
    int rc = take_batch();
    if (rc == HSIPC_EAGAIN && timeout_ns != 0) {
        rc = wait_until(ep.region->endpoint_slot(ep.index).sleeping, timeout_ns,
                        ep.spin_ns.load(std::memory_order_relaxed), take_batch);
    }
    if (rc == HSIPC_OK) *count = taken;
    return rc;
}

int message_poll_batch(Endpoint& ep, hsipc_msg* msgs, size_t max, int64_t timeout_ns, int64_t linger_ns,
                       size_t* count) {
    if (linger_ns < 0 || (timeout_ns < 0 && timeout_ns != HSIPC_FOREVER)) return HSIPC_EINVAL;
    if (ep.armed) endpoint_disarm(ep);
    // On one CPU the senders cannot add to the batch while we spin.
    if (linger_ns > 0 && max > 1 && os::online_cpus() > 1) {
        int rc = head_state(ep);
        if (rc == HSIPC_EAGAIN && timeout_ns != 0) {
            rc = wait_until(ep.region->endpoint_slot(ep.index).sleeping, timeout_ns,
                            ep.spin_ns.load(std::memory_order_relaxed), [&] { return head_state(ep); });
        }
        // A damaged head (ECORRUPT) goes straight on: the take reports it.
        if (rc != HSIPC_OK && rc != HSIPC_ECORRUPT) return rc;
        if (rc == HSIPC_OK) {
            // A full batch is there once its last position is: every
            // position below a filled one is filled (inbox.h). An inbox
            // never holds more than its capacity. The look-ahead reads a
            // line the senders have left or not reached yet, unlike the
            // head, which they are writing.
            const uint32_t last = uint32_t(max < ep.inbox.capacity ? max : ep.inbox.capacity) - 1;
            const int64_t now = os::monotonic_ns();
            const int64_t until = linger_ns < INT64_MAX - now ? now + linger_ns : INT64_MAX;
            spin_until(until, [&] { return message_at(ep, last); });
        }
    }
    return message_poll_many(ep, msgs, max, timeout_ns, count);
}

}  // namespace hsipc
