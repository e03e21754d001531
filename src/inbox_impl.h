// Template part of inbox.h.
#pragma once

#include "layout.h"

namespace hsipc {

template <class OnContent>
void inbox_close(const InboxView& inbox, OnContent on_content) {
    for (uint32_t i = 0; i < inbox.capacity; i++) {
        // acq_rel: acquire the buffer header a sender published with the
        // entry; release so the reaper's later frees happen after.
        uint64_t old = inbox.slots[i].exchange(entry_word(0, inbox.gen, kEntryClosed), std::memory_order_acq_rel);
        uint32_t content = entry_content(old);
        if (content != 0 && content != kEntryClosed && entry_gen(old) == (inbox.gen & 0xff)) on_content(content);
    }
}

}  // namespace hsipc
