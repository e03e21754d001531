// SPDX-License-Identifier: MIT
// Inline and template part of inbox.h.
#pragma once

#include "hsipc.h"
#include "layout.h"
#include "step.h"

namespace hsipc {

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

void inbox_consume(const InboxView& inbox, uint32_t head) {
    step();
    // release: our reads of the message are done before a sender reuses the
    // slot, and the owner word we stored to take the buffer reaches a
    // reaper that reads this slot (message.cc, take_one).
    inbox.slots[head & (inbox.capacity - 1)].store(entry_word(head + inbox.capacity, inbox.gen, 0),
                                                    std::memory_order_release);
}

template <class OnContent>
void inbox_close(const InboxView& inbox, OnContent on_content) {
    for (uint32_t i = 0; i < inbox.capacity; i++) {
        step();
        // acq_rel: acquire the buffer header a sender published with the
        // entry; release so the reaper's later frees happen after.
        uint64_t old = inbox.slots[i].exchange(entry_word(0, inbox.gen, kEntryClosed), std::memory_order_acq_rel);
        uint32_t content = entry_content(old);
        if (entry_names_buffer(content) && entry_gen(old) == (inbox.gen & 0xff)) on_content(content);
    }
}

template <class OnContent>
void inbox_for_each_buffer(const InboxView& inbox, OnContent on_content) {
    for (uint32_t i = 0; i < inbox.capacity; i++) {
        // acquire: a receiver stores its owner word before it frees the slot
        // (release), so a reader that sees the slot freed sees the take.
        const uint32_t content = entry_content(inbox.slots[i].load(std::memory_order_acquire));
        if (entry_names_buffer(content)) on_content(content);
    }
}

}  // namespace hsipc
