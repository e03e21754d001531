// SPDX-License-Identifier: MIT
#include "topics.h"

#include <cstdio>
#include <cstring>

namespace hsipc_bridge {

int Topics::open(hsipc_region* r, const std::string& host, const std::vector<std::string>& names,
                 std::string* failed) {
    region_ = r;
    host_ = host;
    for (const std::string& name : names) {
        auto t = std::make_unique<Topic>();
        t->name = name;
        const std::string sub_name = host + "." + name;
        int rc = hsipc_topic_open(r, name.c_str(), &t->id);
        if (rc == HSIPC_OK) rc = hsipc_endpoint_open(r, sub_name.c_str(), &t->sub);
        if (rc == HSIPC_OK) {
            rc = hsipc_endpoint_fd(t->sub, &t->fd);
            if (rc == HSIPC_OK) rc = hsipc_subscribe(t->sub, name.c_str());
            if (rc != HSIPC_OK) hsipc_endpoint_close(t->sub);
        }
        if (rc != HSIPC_OK) {
            *failed = name;
            return rc;
        }
        topics_.push_back(std::move(t));
    }
    return HSIPC_OK;
}

void Topics::close(uint64_t* drop) {
    for (auto& t : topics_) {
        hsipc_msg msg;
        while (drop && hsipc_poll(t->sub, &msg, 0) == HSIPC_OK) {
            hsipc_release(region_, msg.off);
            (*drop)++;
        }
        hsipc_endpoint_close(t->sub);  // lets go what it still holds
    }
    topics_.clear();
}

Topic* Topics::find(std::string_view name) {
    for (auto& t : topics_) {
        if (t->name == name) return t.get();
    }
    return nullptr;
}

void Topics::publish(Topic& t, hsipc_endpoint* from, const uint8_t* payload, uint32_t size) {
    hsipc_off off;
    if (hsipc_alloc(region_, size ? size : 1, &off) != HSIPC_OK) {
        counters_->topic_dropped_no_buffer++;
        return;
    }
    if (size) std::memcpy(hsipc_ptr(region_, off), payload, size);
    uint32_t delivered = 0, skipped = 0;
    const int rc = hsipc_publish(from, t.id, off, size, &delivered, &skipped);
    if (rc != HSIPC_OK) {
        // Not expected (the buffer is ours, the topic open): said once, counted.
        if (!publish_failure_logged_) {
            std::fprintf(stderr, "hsipc-bridge[%s]: cannot publish to topic %s: %s\n", host_.c_str(),
                         t.name.c_str(), hsipc_strerror(rc));
            publish_failure_logged_ = true;
        }
        hsipc_release(region_, off);
        counters_->topic_dropped_no_buffer++;
        return;
    }
    counters_->topic_published++;
    counters_->topic_skipped += skipped;
}

}  // namespace hsipc_bridge
