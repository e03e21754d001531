// SPDX-License-Identifier: MIT
// The workload every mechanism carries, so that all of them move and touch
// the same bytes: the sender writes all n bytes of a message, the receiver
// reads all n bytes and checks them.
//
// A message is n/8 64-bit words. Word 0 is the sequence word (the message's
// number, plus the flag bits below); word k >= 1 holds word0 + k. The
// receiver sums every word and compares with the closed form, so a torn,
// stale or misplaced message is caught.
#pragma once

#include <cstddef>
#include <cstdint>

namespace bench {

constexpr size_t kMinMessage = 8;  // room for the sequence word

// Flags in the sequence word. The driver decides when warm-up ends and when
// to stop; the peer learns it from the message itself, so it needs no other
// channel (and the time-bounded phases need no agreement beforehand).
constexpr uint64_t kLastBit = 1ull << 63;   // the final message of the case
constexpr uint64_t kStartBit = 1ull << 62;  // the first measured message (streaming)
// A round trip's reply carries its request's number and this bit, so that a
// reply written over its request in place (the raw baseline) is told apart.
constexpr uint64_t kReplyBit = 1ull << 61;
constexpr uint64_t kFlagBits = kLastBit | kStartBit | kReplyBit;

// Writes words 1.. and then word 0 with a release store. Word 0 last and
// released: a receiver spinning on word 0 in shared memory (the raw
// baseline) then sees a complete message. For every other mechanism it is an
// ordinary store.
void fill_message(void* p, size_t n, uint64_t seq_word);

// Reads all n bytes. Returns word 0; throws Error unless word 0 without its
// flags equals `number` and the sum of all words is right.
uint64_t check_message(const void* p, size_t n, uint64_t number);

// Word 0 with an acquire load, for receivers that wait on it.
inline uint64_t load_seq_word(const void* p) {
    return __atomic_load_n(static_cast<const uint64_t*>(p), __ATOMIC_ACQUIRE);
}

}  // namespace bench
