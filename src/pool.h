// SPDX-License-Identifier: MIT
// Buffer pools: fixed-size buffers whose holder is one owner word each.
//
// Allocation claims a free buffer with one compare-and-swap of its owner
// word (free -> held by this process); release is the reverse CAS. There is
// no free list whose links a dying process could leave half-updated, no
// lock and no system call, and nothing to confuse by ABA: the word itself
// says who holds the buffer, and every change of holder is a single CAS.
#pragma once

#include <cstddef>
#include <cstdint>

#include "hsipc.h"
#include "region.h"

namespace hsipc {

// The lookups below run several times per message: inline, so the hot path
// is not a chain of calls across files.

// The global buffer index whose payload starts at `off` (and, where asked,
// its pool); false unless off is exactly the start of some buffer's payload.
inline bool buffer_at_offset(const Layout& l, uint64_t off, uint32_t* index, uint32_t* pool_out = nullptr) {
    for (uint32_t p = 0; p < l.config.pool_count; p++) {
        const PoolLayout& pool = l.pools[p];
        if (off < pool.payload_off) continue;
        const uint64_t rel = off - pool.payload_off;
        // Every send, poll and release decodes an offset: shift where the
        // stride allows (the default pools' all do), divide only otherwise.
        const uint64_t i = pool.stride_shift != 0 ? rel >> pool.stride_shift : rel / pool.stride;
        if (i >= pool.count) continue;
        if (rel != i * pool.stride) return false;
        *index = pool.first + uint32_t(i);
        if (pool_out) *pool_out = p;
        return true;
    }
    return false;
}

// The pool holding global buffer `index`; pool_count where none does.
inline uint32_t pool_of_buffer(const Layout& l, uint32_t index) {
    uint32_t p = 0;
    while (p < l.config.pool_count && index - l.pools[p].first >= l.pools[p].count) p++;
    return p;
}

// Where global buffer `index` lies: its payload's offset and its capacity
// in one lookup; both 0 where no pool holds it.
struct BufferPlace {
    uint64_t off;
    uint64_t capacity;
};

inline BufferPlace buffer_place(const Layout& l, uint32_t index) {
    const uint32_t p = pool_of_buffer(l, index);
    if (p == l.config.pool_count) return BufferPlace{0, 0};
    const PoolLayout& pool = l.pools[p];
    return BufferPlace{pool.payload_off + uint64_t(index - pool.first) * pool.stride, pool.buffer_size};
}

inline uint64_t buffer_offset(const Layout& l, uint32_t index) { return buffer_place(l, index).off; }
inline uint64_t buffer_capacity(const Layout& l, uint32_t index) { return buffer_place(l, index).capacity; }

// Claims a buffer of at least `size` bytes for this process from the
// smallest pool that fits and has one free; reaps dead processes (at most
// every few milliseconds per handle: see pool.cc) and tries
// once more before HSIPC_ENOMEM.
int pool_alloc(Region& r, size_t size, hsipc_off* out);

// The index of `off` (and, where asked, its capacity) where this process
// holds it; HSIPC_EBADOFF otherwise.
inline int held_buffer(Region& r, uint64_t off, uint32_t* index, uint64_t* capacity = nullptr) {
    uint32_t i, p;
    if (!buffer_at_offset(r.layout, off, &i, &p)) return HSIPC_EBADOFF;
    if (r.buffer(i).owner.load(std::memory_order_relaxed) != r.held_word) return HSIPC_EBADOFF;
    *index = i;
    if (capacity) *capacity = r.layout.pools[p].buffer_size;
    return HSIPC_OK;
}

// Where this process holds buffer `off`, or a reference to it (received
// from a topic): its index and capacity, for reading it. HSIPC_EBADOFF
// otherwise.
int readable_buffer(Region& r, uint64_t off, uint32_t* index, uint64_t* capacity = nullptr);

// Lets `off` go: the buffer back to its pool, or this process's reference
// to a shared one (the buffer goes with the last).
int pool_release(Region& r, uint64_t off);

// Returns a buffer to its pool where its owner word is still `expected`.
bool buffer_free_if(Region& r, uint32_t index, uint64_t expected);

}  // namespace hsipc
