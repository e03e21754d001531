// SPDX-License-Identifier: MIT
// What a bridge counts, printed as one `key=value` line on SIGUSR1 and at
// exit (docs/bridge.md, "Counters"). Every message the bridge takes from an
// inbox or a peer ends in exactly one of forwarded, delivered, dropped_* or
// refused; lost counts what a peer sent that never arrived. Topics are
// counted apart (topic_*): one local publication may go to several peers,
// so its outcomes are counted per peer.
#pragma once

#include <array>
#include <cstdint>

#include "wire.h"

namespace hsipc_bridge {

struct Counters {
    uint64_t forwarded = 0;  // local messages handed to ZeroMQ for a peer
    uint64_t delivered = 0;  // remote messages put into a local inbox
    uint64_t lost = 0;       // MSG frames a peer numbered but that never arrived
    // Refused frames, by reason (wire::Refusal); refused() is their sum.
    std::array<uint64_t, size_t(wire::Refusal::count_)> refused_by{};
    // Messages dropped after they were accepted, by why:
    uint64_t dropped_full = 0;         // the local inbox stayed full and its retry queue was full
    uint64_t dropped_no_endpoint = 0;  // the local destination is not open
    uint64_t dropped_no_buffer = 0;    // no local buffer large enough was free
    uint64_t dropped_no_proxy = 0;     // no proxy endpoint could stand for the remote sender
    uint64_t dropped_peer_down = 0;    // queued for or from a peer that went down
    uint64_t dropped_link = 0;         // ZeroMQ would not take it within peer_timeout
    uint64_t dropped_unroutable = 0;   // sent to a host proxy, or shared (published)
    uint64_t dropped_stopped = 0;      // still in the bridge when it was stopped
    // Topics (docs/bridge.md, "Topics"). Each local publication taken, for
    // each peer that accepts its topic, ends in topic_forwarded,
    // topic_dropped_link or topic_dropped_peer_down (or, taken at the
    // stop, topic_dropped_stopped once); each TOPIC frame accepted in
    // topic_published, topic_dropped_no_buffer or topic_dropped_no_proxy.
    uint64_t topic_forwarded = 0;          // handed to ZeroMQ for a peer
    uint64_t topic_published = 0;          // from a peer, published locally
    uint64_t topic_skipped = 0;            // local subscribers that missed one of those: inbox full
    uint64_t topic_dropped_link = 0;       // ZeroMQ would not take it (high-water mark, not connected)
    uint64_t topic_dropped_peer_down = 0;  // its peer was down
    uint64_t topic_dropped_no_buffer = 0;  // no local buffer large enough was free (or the publish failed)
    uint64_t topic_dropped_no_proxy = 0;   // no proxy endpoint could stand for the remote publisher
    uint64_t topic_dropped_stopped = 0;    // still in the bridge's subscription when it was stopped
    // Connections, from ZeroMQ's socket monitor:
    uint64_t disconnects = 0;         // includes a peer cut off for a frame over max_message
    uint64_t handshake_failures = 0;  // something that does not speak ZMTP connected
    uint64_t unknown_keys = 0;        // CURVE clients whose public key is no configured peer's (ZAP)

    uint64_t refused() const {
        uint64_t sum = 0;
        for (uint64_t n : refused_by) sum += n;
        return sum;
    }
    uint64_t dropped() const {
        return dropped_full + dropped_no_endpoint + dropped_no_buffer + dropped_no_proxy + dropped_peer_down +
               dropped_link + dropped_unroutable + dropped_stopped;
    }
    uint64_t topic_dropped() const {
        return topic_dropped_link + topic_dropped_peer_down + topic_dropped_no_buffer + topic_dropped_no_proxy +
               topic_dropped_stopped;
    }
};

}  // namespace hsipc_bridge
