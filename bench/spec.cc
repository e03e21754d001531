// SPDX-License-Identifier: MIT
#include "spec.h"

#include <algorithm>

namespace bench {

const char* mode_name(Mode m) { return m == Mode::RoundTrip ? "rt" : "stream"; }

uint32_t pool_buffers(size_t n) {
    const uint64_t by_memory = (64ull << 20) / (n ? n : 1);
    return uint32_t(std::clamp<uint64_t>(by_memory, 16, 4096));
}

uint32_t queue_depth(size_t n) { return std::min(kInboxCapacity, pool_buffers(n)); }

}  // namespace bench
