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

// The global buffer index whose payload starts at `off`; false unless off
// is exactly the start of some buffer's payload.
bool buffer_at_offset(const Layout& l, uint64_t off, uint32_t* index);
// The pool holding global buffer `index`; pool_count where none does.
uint32_t pool_of_buffer(const Layout& l, uint32_t index);
uint64_t buffer_offset(const Layout& l, uint32_t index);
uint64_t buffer_capacity(const Layout& l, uint32_t index);

// Claims a buffer of at least `size` bytes for this process from the
// smallest pool that fits and has one free; reaps dead processes and tries
// once more before HSIPC_ENOMEM.
int pool_alloc(Region& r, size_t size, hsipc_off* out);

// The index of `off` where this process holds it (HSIPC_EBADOFF otherwise).
int held_buffer(Region& r, uint64_t off, uint32_t* index);

int pool_release(Region& r, uint64_t off);

// Returns a buffer to its pool where its owner word is still `expected`.
bool buffer_free_if(Region& r, uint32_t index, uint64_t expected);

}  // namespace hsipc
