// SPDX-License-Identifier: MIT
// The two processes of each case of hsipc_bridge_bench, one on each
// simulated host: streaming over plain ZeroMQ (PUSH/PULL) or through the
// bridges (an hsipc sender on A, an hsipc receiver on B), and round trips
// over plain ZeroMQ (REQ/REP) or hsipc (through the bridges, or local).
// Every message is the workload of message.h: the sender writes all its
// bytes, the receiver reads and checks all of them.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

namespace bench::bridge {

// What one side reports, in memory shared with the coordinator.
struct Outcome {
    int done = 0;        // 1: finished without an error
    char error[256] = {};
    uint64_t total = 0;  // messages (round trips) sent or received, warm-up included
    uint64_t count = 0;  // measured: streaming, received from the first measured through the last; else round trips
    int64_t elapsed_ns = 0;  // streaming receiver: from the first measured message to the last
    uint64_t lost = 0;       // streaming receiver: gaps in the numbers
    uint64_t p50_ns = 0, p99_ns = 0;  // round trips
    // From the first message to the end, all threads: CPU time and
    // voluntary context switches (sleeps), setup left out.
    int64_t cpu_ns = -1;
    int64_t wakeups = 0;
    int64_t faults = 0;  // minor page faults
};

// One case's shared state: a MAP_SHARED anonymous mapping made before the fork.
struct Shared {
    std::atomic<int> ready{0};  // the receiving side listens (bound, or its endpoint open)
    char endpoint[128] = {};    // ZeroMQ: where it bound
    // Streaming, from the sender: the number of its first measured message
    // (the receiver starts counting at it or the first after it, should it
    // be lost) and, once it has sent the last, how many it sent and when, so
    // that a receiver whose last message was dropped ends too.
    std::atomic<uint64_t> start_number{UINT64_MAX};
    std::atomic<uint64_t> sent{0};
    std::atomic<int64_t> sent_all_ns{0};
    Outcome side[2];            // 0: the sending side (host A), 1: the receiving side
};

struct Plan {
    size_t size = 64;         // bytes per message, a multiple of 8
    int64_t warmup_ns = 0;    // unmeasured traffic first
    int64_t time_ns = 0;      // then measured traffic for this long ...
    uint64_t count = 0;       // ... or exactly this many messages (round trips) where not 0
    std::string region;       // hsipc: the region on this side's host
    std::string target;       // hsipc: the name the sender looks up ("hostB.sink", "server")
    std::string address;      // ZeroMQ: the receiving host's address, to bind
    // hsipc streaming: how its two processes wait. false (the default): by
    // sleeping, as ZeroMQ's do (a sender 20 us between retries, a receiver
    // with spin 0 and no linger); true: by spinning (sched_yield between
    // retries, the region's spin, hsipc_poll_batch's 50 us linger).
    bool spin = false;
};

enum class Work { zmq_push, zmq_pull, zmq_req, zmq_rep, hsipc_source, hsipc_sink, hsipc_client, hsipc_server };

// Endpoint names on host B that the bridge there exports.
constexpr const char* kSinkName = "sink";
constexpr const char* kServerName = "server";

// Runs `work` in this (forked) process and fills *out; throws nothing.
void run_work(Work work, const Plan& plan, Shared* shared, Outcome* out);

}  // namespace bench::bridge
