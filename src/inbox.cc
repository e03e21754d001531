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
    uint32_t pos = tail_hint.load(std::memory_order_relaxed);
    // Every position below a correct hint is taken, so a correct hint needs
    // at most `capacity` steps; more means a scribbled ring or hint.
    for (uint32_t steps = 0; steps <= 2 * inbox.capacity + 2; steps++) {
        std::atomic<uint64_t>& slot = inbox.slots[pos & mask];
        uint64_t e = slot.load(std::memory_order_acquire);
        uint32_t c = entry_content(e);
        if (entry_gen(e) != gen || c == kEntryClosed) return HSIPC_EPEER;
        int32_t d = seq_diff(entry_seq(e), pos);
        if (c == 0) {
            if (d == 0) {
                // The one store that both claims and publishes. seq_cst so
                // the sleeping flag the caller reads next cannot be read
                // before it (pairs with the receiver's store-then-recheck).
                if (slot.compare_exchange_strong(e, entry_word(pos, gen, content), std::memory_order_seq_cst,
                                                 std::memory_order_acquire)) {
                    uint32_t next = pos + 1;
                    if (seq_diff(next, tail_hint.load(std::memory_order_relaxed)) > 0) {
                        tail_hint.store(next, std::memory_order_relaxed);
                    }
                    return HSIPC_OK;
                }
                continue;  // another sender took it; look again at the same slot
            }
            // Empty for a later lap: pos was consumed already. Empty for an
            // earlier position s: the hint ran ahead (scribbled). Position
            // s - capacity was consumed, so the receiver is past it and the
            // free tail lies in the capacity positions after it.
            pos = d > 0 ? pos + 1 : entry_seq(e) - inbox.capacity + 1;
            continue;
        }
        if (d >= 0) {
            pos++;  // taken at pos (or later); try the next position
            continue;
        }
        if (d == -int32_t(inbox.capacity)) return HSIPC_EFULL;  // last lap's message not yet taken
        return HSIPC_ECORRUPT;
    }
    return HSIPC_ECORRUPT;
}

int inbox_peek(const InboxView& inbox, uint32_t head, uint32_t* content) {
    // acquire: the sender's buffer header and payload writes happen-before.
    uint64_t e = inbox.slots[head & (inbox.capacity - 1)].load(std::memory_order_acquire);
    uint32_t c = entry_content(e);
    // The protocol leaves only "empty for head" or "message at head" here.
    if (entry_gen(e) != (inbox.gen & 0xff) || c == kEntryClosed || entry_seq(e) != head) return HSIPC_ECORRUPT;
    if (c == 0) return HSIPC_EAGAIN;
    *content = c;
    return HSIPC_OK;
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

void inbox_consume(const InboxView& inbox, uint32_t head) {
    // release: our reads of the message are done before a sender reuses the
    // slot; the buffer itself was already taken by its owner word.
    inbox.slots[head & (inbox.capacity - 1)].store(entry_word(head + inbox.capacity, inbox.gen, 0),
                                                    std::memory_order_release);
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
