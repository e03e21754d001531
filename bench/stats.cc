// SPDX-License-Identifier: MIT
#include "stats.h"

#include <algorithm>
#include <cmath>

namespace bench {
namespace {

// Nearest rank: the smallest sample with at least p% of samples at or below it.
uint64_t percentile(const std::vector<uint32_t>& sorted, size_t n, double p) {
    size_t rank = size_t(std::ceil(p / 100.0 * double(n)));
    if (rank < 1) rank = 1;
    return sorted[std::min(rank, n) - 1];
}

}  // namespace

LatencySummary summarize(std::vector<uint32_t>& samples, size_t n) {
    LatencySummary s;
    if (n == 0) return s;
    std::sort(samples.begin(), samples.begin() + long(n));
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += samples[i];
    s.min = samples[0];
    s.max = samples[n - 1];
    s.mean = sum / double(n);
    s.p50 = percentile(samples, n, 50);
    s.p99 = percentile(samples, n, 99);
    s.p999 = percentile(samples, n, 99.9);
    return s;
}

}  // namespace bench
