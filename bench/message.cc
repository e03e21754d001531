// SPDX-License-Identifier: MIT
#include "message.h"

#include <string>

#include "util.h"

namespace bench {

void fill_message(void* p, size_t n, uint64_t seq_word) {
    uint64_t* w = static_cast<uint64_t*>(p);
    const size_t words = n / 8;
    for (size_t k = 1; k < words; k++) w[k] = seq_word + k;
    __atomic_store_n(&w[0], seq_word, __ATOMIC_RELEASE);
}

uint64_t check_message(const void* p, size_t n, uint64_t number) {
    const uint64_t* w = static_cast<const uint64_t*>(p);
    const size_t words = n / 8;
    const uint64_t seq_word = load_seq_word(p);
    uint64_t sum = seq_word;
    for (size_t k = 1; k < words; k++) sum += w[k];
    // sum over k of (seq_word + k), k = 0 .. words-1, modulo 2^64
    const uint64_t want = uint64_t(words) * seq_word + uint64_t(words) * (words - 1) / 2;
    if ((seq_word & ~kFlagBits) != number) {
        throw Error("message " + std::to_string(number) + " arrived as number " +
                    std::to_string(seq_word & ~kFlagBits));
    }
    if (sum != want) throw Error("message " + std::to_string(number) + ": content does not match (torn or stale)");
    return seq_word;
}

}  // namespace bench
