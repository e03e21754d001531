#include "inbox.h"

#include "layout.h"

namespace hsipc {
namespace {

// Sequence numbers wrap at 2^32; compare them as distances.
int32_t seq_diff(uint32_t a, uint32_t b) { return int32_t(a - b); }

}  // namespace

void inbox_reset(const InboxView& inbox) {
    for (uint32_t i = 0; i < inbox.capacity; i++) {
        inbox.slots[i].store(entry_word(i, inbox.gen, 0), std::memory_order_relaxed);
    }
    // The endpoint's state store (release) publishes these.
}

int inbox_push(const InboxView& inbox, std::atomic<uint32_t>& tail_hint, uint32_t content) {
    const uint32_t mask = inbox.capacity - 1;
    const uint32_t gen = inbox.gen & 0xff;
    // Invariant: every position below a taken one is taken (a sender takes
    // position p only after seeing every position below p taken, directly
    // or through this invariant). So the hint and every jump below stay at
    // or below the free tail, and a sender's next message always lands
    // after its last: per-sender FIFO.
    uint32_t pos = tail_hint.load(std::memory_order_relaxed);
    for (uint32_t steps = 0; steps <= 2 * inbox.capacity + 2; steps++) {
        std::atomic<uint64_t>& slot = inbox.slots[pos & mask];
        uint64_t e = slot.load(std::memory_order_acquire);
        const uint32_t c = entry_content(e);
        const uint32_t seq = entry_seq(e);
        if (entry_gen(e) != gen || c == kEntryClosed) return HSIPC_EPEER;
        const int32_t d = seq_diff(seq, pos);
        if (c != 0) {
            // The message of the lap before ours is still there: full, with
            // exactly `capacity` messages queued.
            if (d == -int32_t(inbox.capacity)) return HSIPC_EFULL;
            // seq is taken, so is everything below it: go past it. (Below
            // a lap behind, the hint was scribbled ahead; this recovers too.)
            pos = seq + 1;
            continue;
        }
        if (d == 0) {
            // The one store that both claims and publishes. seq_cst so the
            // `sleeping` flag the caller reads next cannot be read before it
            // (pairs with the receiver's store-then-recheck in wait.h).
            if (slot.compare_exchange_strong(e, entry_word(pos, gen, content), std::memory_order_seq_cst,
                                             std::memory_order_acquire)) {
                const uint32_t next = pos + 1;
                // A hint only: a racing sender may store an older value
                // after ours, which costs a later sender a jump or two.
                if (seq_diff(next, tail_hint.load(std::memory_order_relaxed)) > 0) {
                    tail_hint.store(next, std::memory_order_relaxed);
                }
                return HSIPC_OK;
            }
            continue;  // another sender took it; look at the same slot again
        }
        // Empty, waiting for position seq: seq - capacity was consumed, so
        // it and everything below it are taken. Ahead of us (our start was
        // stale) or behind us (the hint was scribbled ahead), the free tail
        // is at most `capacity` positions past seq - capacity.
        const uint32_t floor = seq - inbox.capacity + 1;
        pos = d > 0 && seq_diff(floor, pos + 1) < 0 ? pos + 1 : floor;
    }
    return HSIPC_ECORRUPT;
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

bool inbox_contains(const InboxView& inbox, uint32_t content) {
    for (uint32_t i = 0; i < inbox.capacity; i++) {
        uint64_t e = inbox.slots[i].load(std::memory_order_acquire);
        if (entry_content(e) == content && entry_gen(e) == (inbox.gen & 0xff)) return true;
    }
    return false;
}

uint32_t inbox_count(const InboxView& inbox) {
    uint32_t n = 0;
    for (uint32_t i = 0; i < inbox.capacity; i++) {
        uint32_t c = entry_content(inbox.slots[i].load(std::memory_order_relaxed));
        n += c != 0 && c != kEntryClosed;
    }
    return n;
}

}  // namespace hsipc
