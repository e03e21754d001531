// SPDX-License-Identifier: MIT
// The bridge's counters as named values, and the two ways they are shown:
// the `key=value` line (SIGUSR1, the exit, `--stats`) and `--stats --json`
// (docs/bridge.md, "Counters"). visit_stats is the only list of names: the
// stats page (stats_page.h) stores the names it yields beside the values,
// so a reader of a running bridge needs no list of its own, and one built
// from other sources still reads it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "counters.h"
#include "wire.h"

namespace hsipc_bridge {

// What the bridge holds now, beside what it has counted.
struct Gauges {
    uint64_t peers_up = 0;  // peers heard from within peer_timeout
    uint64_t proxies = 0;   // open proxies
    uint64_t queued = 0;    // messages in the retry queues
};

// One named value. A sparse one (a refusal reason) is left out of the line
// while it is zero, so the line stays short; JSON shows it always.
struct Stat {
    std::string name;
    uint64_t value = 0;
    bool sparse = false;
};

// Where a snapshot of the counters came from, for --stats.
struct StatsSnapshot {
    std::string region, host;
    int64_t pid = 0;
    int64_t started_unix_ns = 0;  // when that bridge started (CLOCK_REALTIME)
    std::vector<Stat> stats;
};

#define HSIPC_BRIDGE_REFUSED_STAT_(name, sentence) "refused_" #name,
inline constexpr const char* kRefusedStatNames[] = {HSIPC_BRIDGE_REFUSALS(HSIPC_BRIDGE_REFUSED_STAT_)};
#undef HSIPC_BRIDGE_REFUSED_STAT_
static_assert(sizeof kRefusedStatNames / sizeof *kRefusedStatNames == size_t(wire::Refusal::count_));

// Calls f(const char* name, uint64_t value, bool sparse) for every value,
// always the same names in the same order (the line's): the stats page
// relies on that to store only values once a bridge runs. A template, so
// the bridge's loop pays no call per value.
template <class F>
void visit_stats(const Counters& c, const Gauges& g, F&& f) {
    f("forwarded", c.forwarded, false);
    f("delivered", c.delivered, false);
    f("refused", c.refused(), false);
    f("lost", c.lost, false);
    f("dropped", c.dropped(), false);
    f("dropped_full", c.dropped_full, false);
    f("dropped_no_endpoint", c.dropped_no_endpoint, false);
    f("dropped_no_buffer", c.dropped_no_buffer, false);
    f("dropped_no_proxy", c.dropped_no_proxy, false);
    f("dropped_peer_down", c.dropped_peer_down, false);
    f("dropped_link", c.dropped_link, false);
    f("dropped_unroutable", c.dropped_unroutable, false);
    f("dropped_stopped", c.dropped_stopped, false);
    f("disconnects", c.disconnects, false);
    f("handshake_failures", c.handshake_failures, false);
    f("unknown_keys", c.unknown_keys, false);
    f("peers_up", g.peers_up, false);
    f("proxies", g.proxies, false);
    f("queued", g.queued, false);
    f("topic_forwarded", c.topic_forwarded, false);
    f("topic_published", c.topic_published, false);
    f("topic_skipped", c.topic_skipped, false);
    f("topic_dropped", c.topic_dropped(), false);
    f("topic_dropped_link", c.topic_dropped_link, false);
    f("topic_dropped_peer_down", c.topic_dropped_peer_down, false);
    f("topic_dropped_no_buffer", c.topic_dropped_no_buffer, false);
    f("topic_dropped_no_proxy", c.topic_dropped_no_proxy, false);
    f("topic_dropped_stopped", c.topic_dropped_stopped, false);
    // Reason 0 is "none" (accepted): never counted.
    for (size_t r = 1; r < c.refused_by.size(); r++) f(kRefusedStatNames[r], c.refused_by[r], true);
}

std::vector<Stat> named_stats(const Counters& c, const Gauges& g);

// "hsipc-bridge[HOST]: stats forwarded=N ...", as SIGUSR1 prints it.
std::string stats_line(const std::string& host, const std::vector<Stat>& stats);

// One JSON object: {"region":…,"host":…,"running":…,"pid":…,
// "started_unix_s":…,"stats":{"forwarded":N,…}}, every value in "stats"
// whether zero or not.
std::string stats_json(const StatsSnapshot& snapshot, bool running);

}  // namespace hsipc_bridge
