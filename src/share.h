// SPDX-License-Identifier: MIT
// Shared buffers (topics): one buffer, many holders.
//
// A buffer published to a topic has one reference per subscriber it goes
// to, and each reference is a word of its own in the buffer's share record,
// with exactly the meaning and the transitions of an owner word (layout.h):
// queued(to, sender) while it waits in a subscriber's inbox, held(process)
// once taken, free once let go. Every change is one compare-and-swap of one
// reference word, so a process killed at any instruction leaves each
// reference with exactly one holder, and a reaper finds every reference
// where it finds owner words. The buffer's owner word meanwhile says
// shared(epoch); it becomes free when every reference is free, set by
// whoever sees that last, with a CAS from the very shared(epoch) word it
// read before its own reference went, so a look that comes too late (the
// buffer freed and shared again since) changes nothing.
// See docs/region-format.md, "Topics".
#pragma once

#include <cstdint>

#include "hsipc.h"
#include "region.h"

namespace hsipc {

// Publisher, holding buffer b: makes reference i queued(ids[i], us) for
// i < count (<= max_subscribers) and the others free, then turns the owner
// word from held by us to shared, in *shared. False where the owner word
// was not ours (another thread of ours sent or released the buffer).
bool share_begin(Region& r, uint32_t b, const hsipc_id* ids, uint32_t count, uint64_t* shared);

// The reference of buffer b whose word is exactly `word`, or -1.
int share_find(const Region& r, uint32_t b, uint64_t word);

// The reference of buffer b queued to endpoint `to` (by anyone), or -1.
int share_find_queued_to(const Region& r, uint32_t b, hsipc_id to);

// A close's sweep: lets go the reference of buffer b queued to endpoint
// `to`, exactly the queued word found, then frees the buffer where that was
// the last one. Whether it dropped one.
bool share_drop_queued_to(Region& r, uint32_t b, hsipc_id to, uint64_t shared);

// Lets reference i of buffer b go where it is still `expected`, then frees
// the buffer where that was the last one (`shared`: its owner word, read
// before). Whether the reference was dropped.
bool share_drop(Region& r, uint32_t b, uint32_t i, uint64_t expected, uint64_t shared);

// Frees buffer b where its owner word is still `shared` and no reference
// is held or queued. Whether it did.
bool share_free_if_unreferenced(Region& r, uint32_t b, uint64_t shared);

// Lets go every reference this process holds, freeing each buffer where
// its reference was the last: a detaching process's share of the topics'
// buffers, as its own buffers go with it. Its slot is free afterwards, so
// no reap would ever find these.
void share_drop_all_held(Region& r);

// Whether this process holds a reference to buffer b (its owner word being
// `w`, of kind shared).
inline bool share_held_here(const Region& r, uint32_t b) { return share_find(r, b, r.held_word) >= 0; }

}  // namespace hsipc
