// SPDX-License-Identifier: MIT
// Percentiles of round-trip samples.
#pragma once

#include <cstdint>
#include <vector>

#include "spec.h"

namespace bench {

// Nearest-rank percentiles of the first n samples (reorders them).
LatencySummary summarize(std::vector<uint32_t>& samples, size_t n);

}  // namespace bench
