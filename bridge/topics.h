// SPDX-License-Identifier: MIT
// The bridge's exported topics in the local region (docs/bridge.md,
// "Topics"): for each, the topic's id, to publish what peers forward, and an
// endpoint of the bridge's own subscribed to it, named HOST.NAME, through
// which it takes what local processes publish. Only the public hsipc API; no
// ZeroMQ.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "counters.h"
#include "hsipc.h"

namespace hsipc_bridge {

struct Topic {
    std::string name;
    hsipc_id id = 0;              // for hsipc_publish
    hsipc_endpoint* sub = nullptr;  // subscribed to it
    int fd = -1;
    bool armed = false;  // its fd will become readable on the next message
};

class Topics {
public:
    explicit Topics(Counters* counters) : counters_(counters) {}
    ~Topics() { close(); }
    Topics(const Topics&) = delete;
    Topics& operator=(const Topics&) = delete;

    // Opens (or finds) each topic and subscribes an endpoint HOST.NAME to
    // it; an hsipc status, with *failed naming the topic that failed.
    int open(hsipc_region* r, const std::string& host, const std::vector<std::string>& names, std::string* failed);
    // Lets go what the subscriptions still hold (counted under `drop`)
    // and closes them.
    void close(uint64_t* drop = nullptr);

    Topic* find(std::string_view name);
    const std::vector<std::unique_ptr<Topic>>& all() const { return topics_; }

    // Copies a peer's publication into a buffer and publishes it to t from
    // `from` (the proxy standing for the remote publisher). Counts the
    // outcome; subscribers with a full inbox miss it (topic_skipped), as
    // they would miss a local publication.
    void publish(Topic& t, hsipc_endpoint* from, const uint8_t* payload, uint32_t size);

private:
    Counters* counters_;
    hsipc_region* region_ = nullptr;
    std::string host_;
    std::vector<std::unique_ptr<Topic>> topics_;
    bool publish_failure_logged_ = false;
};

}  // namespace hsipc_bridge
