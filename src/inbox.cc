// SPDX-License-Identifier: MIT
#include "inbox.h"

#include "layout.h"
#include "step.h"

namespace hsipc {
namespace {

// Sequence numbers wrap at 2^32; compare them as distances.
int32_t seq_diff(uint32_t a, uint32_t b) { return int32_t(a - b); }

// An upper bound on one push, whatever others do: only a peer writing the
// ring could keep an honest sender looping this long.
constexpr uint32_t kMaxPushSteps = 1u << 24;

// Whether position p is taken: its slot holds a message (or skip marker)
// for p, or has moved past p (consumed). A slot still showing an earlier
// lap, or "empty for p", is not. Closed or another gen's counts as taken:
// the caller's next look at a slot reports that.
bool taken(const InboxView& inbox, uint32_t p) {
    step(Step::kPushLook);
    const uint64_t e = inbox.slots[p & (inbox.capacity - 1)].load(std::memory_order_acquire);
    if (entry_gen(e) != (inbox.gen & 0xff) || entry_content(e) == kEntryClosed) return true;
    const int32_t d = seq_diff(entry_seq(e), p);
    return d > 0 || (d == 0 && entry_content(e) != 0);
}

}  // namespace

void inbox_reset(const InboxView& inbox) {
    for (uint32_t i = 0; i < inbox.capacity; i++) {
        // release: a sender whose CAS reads this entry also sees what the
        // opener wrote before (the endpoint's new gen), which is how a
        // sender of an older incarnation finds out where its message went.
        inbox.slots[i].store(entry_word(i, inbox.gen, 0), std::memory_order_release);
    }
    // The endpoint's state store (release) publishes these to new senders.
}

int inbox_push(const InboxView& inbox, std::atomic<uint64_t>& tail_hint, uint32_t content, uint32_t* position) {
    const uint32_t mask = inbox.capacity - 1;
    const uint32_t gen = inbox.gen & 0xff;
    // Invariant: every position below a taken one is taken. A sender claims
    // position p only where p - 1 is taken, so each sender's next message
    // lands after its last (per-sender FIFO) and never beyond a hole the
    // receiver waits at. Every position we walk to below has a predecessor
    // we saw taken, except where we start: a hint stored by a sender of this
    // incarnation is at or below the tail (it stores p + 1 after taking p),
    // but one stored late by a sender of a closed incarnation may lie ahead.
    // Only then is the slot below a start checked: one read, on the rare
    // path, not on every send.
    const uint64_t hint = tail_hint.load(std::memory_order_relaxed);
    uint32_t pos = uint32_t(hint);
    bool below_unknown = uint32_t(hint >> 32) != inbox.gen;
    // Steps in which we saw no other sender progress are bounded, so a ring
    // no protocol makes is reported; a CAS lost to another sender's message
    // is progress and never counts against us (however many senders win).
    const uint32_t max_idle_steps = 4 * inbox.capacity + 4;
    uint32_t idle_steps = 0;
    for (uint32_t steps = 0; steps < kMaxPushSteps; steps++) {
        if (idle_steps++ > max_idle_steps) break;
        step(Step::kPushLook);
        std::atomic<uint64_t>& slot = inbox.slots[pos & mask];
        uint64_t e = slot.load(std::memory_order_acquire);
        const uint32_t c = entry_content(e);
        const uint32_t seq = entry_seq(e);
        if (entry_gen(e) != gen || c == kEntryClosed) return HSIPC_EPEER;
        const int32_t d = seq_diff(seq, pos);
        if (c != 0) {
            // The message of the lap before ours is still there: full, with
            // exactly `capacity` messages queued — if pos - 1 is taken. If
            // not, our start was ahead of the free tail, and the tail is
            // below. (A rare path: one more read.)
            if (d == -int32_t(inbox.capacity)) {
                if (taken(inbox, pos - 1)) return HSIPC_EFULL;
                pos--;
                below_unknown = true;
                continue;
            }
            // seq is taken, so is everything below it: go past it. (Below
            // a lap behind, the hint was scribbled ahead; this recovers too.)
            pos = seq + 1;
            below_unknown = false;
            continue;
        }
        if (d == 0) {
            // Empty for pos: ours, if pos - 1 is taken. (For a capacity of
            // 1, pos - 1 has this very slot, which says "pos": taken.)
            if (below_unknown && !taken(inbox, pos - 1)) {
                pos--;  // our start was ahead of the free tail
                continue;
            }
            // The one store that both claims and publishes. seq_cst so the
            // `sleeping` flag the caller reads next cannot be read before it
            // (pairs with the receiver's store-then-recheck in wait.h).
            if (slot.compare_exchange_strong(e, entry_word(pos, gen, content), std::memory_order_seq_cst,
                                             std::memory_order_acquire)) {
                step(Step::kPushClaimed);
                // A hint only: a racing sender may store an older value
                // after ours, which costs a later sender a jump or two. Stored
                // unconditionally, so a hint of another incarnation's heals
                // at once.
                tail_hint.store(tail_hint_word(inbox.gen, pos + 1), std::memory_order_relaxed);
                *position = pos;
                return HSIPC_OK;
            }
            if (entry_content(e) != 0 && entry_seq(e) == pos) {
                // Another sender's message took pos: progress, not ours.
                pos++;
                below_unknown = false;
                idle_steps = 0;
            }
            continue;
        }
        // Empty, waiting for position seq: seq - capacity was consumed, so
        // it and everything below it are taken. Ahead of us (our start was
        // stale) or behind us (the hint was scribbled ahead), the free tail
        // is at most `capacity` positions past seq - capacity; and either
        // way the position we go to has a taken one below it.
        const uint32_t floor = seq - inbox.capacity + 1;
        pos = d > 0 && seq_diff(floor, pos + 1) < 0 ? pos + 1 : floor;
        below_unknown = false;
    }
    return HSIPC_ECORRUPT;
}

bool inbox_withdraw(const InboxView& inbox, uint32_t position, uint32_t content) {
    step();
    uint64_t expected = entry_word(position, inbox.gen, content);
    // Still a "taken" entry for the position, so the ring keeps its
    // invariant; the receiver consumes it without a word. acq_rel: ordered
    // after our push, and before the owner word CAS that follows it.
    return inbox.slots[position & (inbox.capacity - 1)].compare_exchange_strong(
        expected, entry_word(position, inbox.gen, kEntrySkip), std::memory_order_acq_rel, std::memory_order_relaxed);
}

bool inbox_skip_damaged(const InboxView& inbox, uint32_t head) {
    std::atomic<uint64_t>& slot = inbox.slots[head & (inbox.capacity - 1)];
    uint64_t e = slot.load(std::memory_order_relaxed);
    // A closed or foreign-gen inbox is not ours to reopen.
    if (entry_gen(e) != (inbox.gen & 0xff) || entry_content(e) == kEntryClosed) return false;
    // Marking the slot consumed moves senders and receiver past it alike.
    return slot.compare_exchange_strong(e, entry_word(head + inbox.capacity, inbox.gen, 0), std::memory_order_release,
                                        std::memory_order_relaxed);
}

uint32_t inbox_count(const InboxView& inbox) {
    uint32_t n = 0;
    for (uint32_t i = 0; i < inbox.capacity; i++) {
        n += entry_names_buffer(entry_content(inbox.slots[i].load(std::memory_order_relaxed)));
    }
    return n;
}

}  // namespace hsipc
