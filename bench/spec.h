// SPDX-License-Identifier: MIT
// What one benchmark case is, and what each of its two processes reports.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace bench {

enum class Mode { RoundTrip, Stream };

// Ping sends first and times round trips; in streaming it is the producer.
// Pong echoes; in streaming it is the consumer.
enum class Role { Ping = 0, Pong = 1 };

const char* mode_name(Mode m);  // "rt", "stream"

struct CaseSpec {
    Mode mode = Mode::RoundTrip;
    size_t size = 64;
    // Messages a mechanism may hold in flight where it lets us choose (the
    // raw ring, hsipc's pool for this size, Boost's queue, iceoryx's
    // subscriber queue): the same number for all of them. See queue_depth().
    uint32_t depth = 1024;
    uint64_t warmup_min = 100;  // unmeasured messages, at least ...
    int64_t warmup_ns = 0;      // ... and for at least this long,
    int64_t warmup_max_ns = 0;  // ... unless the count takes longer than this
                                // (only the slow mechanisms, which need no more)
    uint64_t min_count = 1;     // measured messages: at least ...
    uint64_t max_count = 1000;  // ... at most ...
    int64_t budget_ns = 0;      // ... stopping once this long has passed
    std::string tag;            // unique in this machine: names of queues, regions, services
    std::vector<size_t> run_sizes;  // every size in this run: hsipc sizes its pools for all of them
};

// hsipc's inbox capacity, which bounds its messages in flight.
constexpr uint32_t kInboxCapacity = 1024;

// Buffers a zero-copy pool holds for messages of n bytes: plenty of small
// ones, about 64 MiB worth of large ones, never fewer than 16.
uint32_t pool_buffers(size_t n);

// Messages in flight for size n: what hsipc allows (its pool or its inbox,
// whichever is smaller), and the same number for every mechanism whose
// depth we choose.
uint32_t queue_depth(size_t n);

// Written by each child into memory shared with the coordinator.
struct LatencySummary {
    uint64_t p50 = 0, p99 = 0, p999 = 0, min = 0, max = 0;
    double mean = 0;
};

struct SideResult {
    uint64_t count = 0;     // measured round trips (ping) or messages received (consumer)
    int64_t elapsed_ns = 0; // consumer: from the first measured message to the last
    LatencySummary latency; // ping, round trip
};

// A child's exit status when the mechanism threw Unavailable.
constexpr int kExitUnavailable = 3;

}  // namespace bench
