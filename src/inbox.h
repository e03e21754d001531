// SPDX-License-Identifier: MIT
// An inbox: a ring of 64-bit entries, many senders, one receiver.
//
// A sender's claim of a slot *is* its publication: one compare-and-swap of
// the entry from "empty, for position p" to "buffer b, position p". There is
// no reserved-but-unwritten state, so a sender that dies at any instruction
// leaves every slot either empty or holding a whole message, and no other
// sender can be blocked by it. Positions (sequence numbers) in each entry
// keep laps apart; the endpoint's gen in each entry keeps a stale sender out
// of a reopened endpoint. See docs/region-format.md.
#pragma once

#include <atomic>
#include <cstdint>

namespace hsipc {

struct InboxView {
    std::atomic<uint64_t>* slots;
    uint32_t capacity;  // a power of two
    uint32_t gen;       // endpoint gen this inbox belongs to
};

// Makes every slot empty for its first position. Region lock held, endpoint
// not yet visible.
void inbox_reset(const InboxView& inbox);

// Appends `content` (global buffer index + 1) and sets *position to where
// it went. tail_hint (a tail_hint_word) is read and advanced. HSIPC_OK,
// HSIPC_EFULL, HSIPC_EPEER (closed or reopened), or HSIPC_ECORRUPT.
int inbox_push(const InboxView& inbox, std::atomic<uint64_t>& tail_hint, uint32_t content, uint32_t* position);

// Replaces the entry a sender pushed at `position` with a skip marker, if
// it is still there untaken. For a sender whose message landed in a later
// incarnation of the endpoint (message.cc).
bool inbox_withdraw(const InboxView& inbox, uint32_t position, uint32_t content);

// The content at position `head`: HSIPC_OK with *content set (a buffer
// index + 1, or kEntrySkip), HSIPC_EAGAIN when empty, HSIPC_ECORRUPT when
// the entry is not one the protocol makes.
// (Inline, like inbox_consume: both run on every poll.)
inline int inbox_peek(const InboxView& inbox, uint32_t head, uint32_t* content);

// After HSIPC_ECORRUPT from inbox_peek: drops the damaged entry so the
// inbox goes on working. False where it cannot (closed, or another gen's).
bool inbox_skip_damaged(const InboxView& inbox, uint32_t head);

// Frees the slot of position `head` for the next lap.
inline void inbox_consume(const InboxView& inbox, uint32_t head);

// Closes every slot, so no sender can publish any more, and calls
// on_content(content) for each message that was queued.
template <class OnContent>
void inbox_close(const InboxView& inbox, OnContent on_content);

// Calls on_content(content) for every entry naming a buffer, whatever its
// position or gen (the reaper's scan: one pass over the ring).
template <class OnContent>
void inbox_for_each_buffer(const InboxView& inbox, OnContent on_content);

// Messages queued now (a snapshot; for introspection).
uint32_t inbox_count(const InboxView& inbox);

}  // namespace hsipc

#include "inbox_impl.h"
