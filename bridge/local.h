// SPDX-License-Identifier: MIT
// The bridge's side of the local region: proxy endpoints that stand for
// remote endpoints, the names of local senders, and delivery into local
// inboxes with a bounded retry queue per destination. Only the public hsipc
// API; no ZeroMQ.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "counters.h"
#include "hsipc.h"

namespace hsipc_bridge {

// An endpoint of ours in the local region named PEER.REMOTE (or PEER for
// the host proxy): local processes send to it to reach REMOTE on PEER, and
// messages from REMOTE arrive from it.
struct Proxy {
    std::string name;    // in the local region
    std::string peer;    // the peer's host name
    std::string remote;  // the endpoint on the peer; empty for the host proxy
    hsipc_endpoint* ep = nullptr;
    int fd = -1;
    bool armed = false;     // its fd will become readable on the next message
    bool exported = false;  // the peer advertises `remote`
    bool sender = false;    // made because `remote` sent to us
    int64_t last_used_ns = 0;
};

class Local {
public:
    // retry_queue and stall_ns: docs/bridge.md, "Back-pressure".
    Local(Counters* counters, uint32_t retry_queue, int64_t stall_ns)
        : counters_(counters), retry_queue_(retry_queue), stall_ns_(stall_ns) {}
    ~Local();
    Local(const Local&) = delete;
    Local& operator=(const Local&) = delete;

    // Attaches to the region (creating it as hsipc_attach does); an hsipc status.
    int attach(const std::string& region);
    void detach();
    hsipc_region* region() const { return region_; }
    uint64_t largest_buffer() const { return largest_buffer_; }

    // Opens proxy PEER.REMOTE (PEER where remote is empty) with its fd; an
    // hsipc status (HSIPC_EINVAL where the name would be too long).
    int open_proxy(Proxy* p);
    // Drops (and counts under `drop`) what is queued to it and what our
    // retry queues hold from it, then closes it.
    void close_proxy(Proxy* p, uint64_t* drop);

    // Whether `id` is (or was, among the last 4,096 closed) one
    // of our proxies: what they publish came from a peer and must not be
    // forwarded back (docs/bridge.md, "Topics").
    bool is_proxy(hsipc_id id) const { return proxy_ids_.count(id) != 0; }

    // The name of the local endpoint `id`, or "" where it has none now
    // (closed before we looked). Cached: ids are never reused.
    std::string sender_name(hsipc_id id);

    // Copies a remote message into a buffer and sends it from `from` to the
    // local endpoint `dst`, or queues it behind the messages already waiting
    // for `dst`. Counts the outcome. A destination whose queue is full
    // takes more only from the frame being delivered, and none once it has
    // been full for the stall.
    void deliver(Proxy* from, std::string_view dst, const uint8_t* payload, uint32_t size, int64_t now_ns);
    // Sends what the retry queues hold, in order, until a destination is
    // full again; true while something stays queued.
    bool retry();
    size_t queued() const { return queued_; }
    // Whether the bridge should take no frame from its links now: some
    // destination's queue is full, for less than the stall; *until is when
    // the first of them will have stalled.
    bool holding_back(int64_t now_ns, int64_t* until) const;

private:
    struct Item {
        Proxy* from;
        hsipc_off off;
        uint32_t size;
    };
    struct Destination {
        hsipc_id id = 0;  // 0: look it up before sending
        std::deque<Item> items;
        int64_t full_since_ns = 0;  // when items last reached retry_queue; 0: not full
    };
    bool stalled(const Destination& d, int64_t now_ns) const {
        return d.full_since_ns != 0 && now_ns - d.full_since_ns >= stall_ns_;
    }
    void enqueue(Destination& d, const Item& item, int64_t now_ns);
    void dequeue(Destination& d);
    void clear_full_if_room(Destination& d);
    int send(const std::string& name, Destination& d, const Item& item);
    void drop_items(Destination& d, uint64_t* drop, const Proxy* from);

    Counters* counters_;
    uint32_t retry_queue_;
    int64_t stall_ns_;
    hsipc_region* region_ = nullptr;
    uint64_t largest_buffer_ = 0;
    uint32_t max_endpoints_ = 0;
    std::unordered_map<hsipc_id, std::string> names_;
    // Open proxies' ids, and closed ones' for a while: a publication of a
    // proxy may still wait in a subscription when the proxy closes.
    std::unordered_set<hsipc_id> proxy_ids_;
    std::deque<hsipc_id> closed_proxy_ids_;
    std::map<std::string, Destination, std::less<>> destinations_;
    size_t queued_ = 0;
    size_t full_ = 0;  // destinations with full_since_ns set
};

}  // namespace hsipc_bridge
