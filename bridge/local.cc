// SPDX-License-Identifier: MIT
#include "local.h"

#include <algorithm>
#include <cstring>

#include "wire.h"

namespace hsipc_bridge {
namespace {

// Bounds on what a peer's traffic can make us remember.
constexpr size_t kMaxNames = 4096;
constexpr size_t kMaxDestinations = 4096;
// Closed proxies whose ids are still recognised as ours: what a proxy
// published may still wait in our subscription (an inbox's worth at most)
// when it closes, and must not be forwarded as a local publication.
constexpr size_t kMaxClosedProxies = 4096;

uint32_t bit_width(uint32_t n) {
    uint32_t bits = 0;
    while (n) {
        bits++;
        n >>= 1;
    }
    return bits;
}

}  // namespace

Local::~Local() { detach(); }

int Local::attach(const std::string& region) {
    int rc = hsipc_attach(region.c_str(), nullptr, &region_);
    if (rc != HSIPC_OK) return rc;
    hsipc_config cfg;
    hsipc_config_init(&cfg);
    rc = hsipc_region_config(region_, &cfg);
    if (rc != HSIPC_OK) {
        detach();
        return rc;
    }
    largest_buffer_ = cfg.pools[cfg.pool_count - 1].buffer_size;
    max_endpoints_ = cfg.max_endpoints;
    return HSIPC_OK;
}

void Local::detach() {
    if (!region_) return;
    for (auto& entry : destinations_) {
        for (const Item& item : entry.second.items) hsipc_release(region_, item.off);
    }
    destinations_.clear();
    queued_ = 0;
    full_ = 0;
    hsipc_detach(region_);  // closes the proxies' endpoints too
    region_ = nullptr;
}

int Local::open_proxy(Proxy* p) {
    std::string name = p->remote.empty() ? p->peer : p->peer + "." + p->remote;
    if (name.size() > HSIPC_NAME_MAX) return HSIPC_EINVAL;
    hsipc_endpoint* ep;
    int rc = hsipc_endpoint_open(region_, name.c_str(), &ep);
    if (rc != HSIPC_OK) return rc;
    int fd;
    rc = hsipc_endpoint_fd(ep, &fd);
    if (rc != HSIPC_OK) {
        hsipc_endpoint_close(ep);
        return rc;
    }
    p->name = name;
    p->ep = ep;
    proxy_ids_.insert(hsipc_endpoint_id(ep));
    p->fd = fd;
    p->armed = false;
    return HSIPC_OK;
}

void Local::close_proxy(Proxy* p, uint64_t* drop) {
    if (!p->ep) return;
    for (auto& entry : destinations_) drop_items(entry.second, drop, p);
    hsipc_msg msg;
    while (hsipc_poll(p->ep, &msg, 0) == HSIPC_OK) {
        hsipc_release(region_, msg.off);
        (*drop)++;
    }
    closed_proxy_ids_.push_back(hsipc_endpoint_id(p->ep));
    if (closed_proxy_ids_.size() > kMaxClosedProxies) {
        proxy_ids_.erase(closed_proxy_ids_.front());
        closed_proxy_ids_.pop_front();
    }
    // A message sent between that poll and this close returns to its pool
    // uncounted: the one window where a drop goes unseen.
    hsipc_endpoint_close(p->ep);
    p->ep = nullptr;
    p->fd = -1;
    p->armed = false;
}

std::string Local::sender_name(hsipc_id id) {
    if (id == 0) return "";
    auto cached = names_.find(id);
    if (cached != names_.end()) return cached->second;
    // Ids are gen << index_bits | (index + 1), index_bits the bit width of
    // max_endpoints (docs/region-format.md): try the slot it names, then
    // every slot. An id not found is closed for good (no id is ever valid
    // twice), so the miss is cached as well.
    std::string name;
    hsipc_endpoint_info info;
    info.struct_size = sizeof info;
    const uint32_t mask = (uint32_t(1) << bit_width(max_endpoints_)) - 1;
    const uint32_t guess = (id & mask) - 1;
    bool found = (id & mask) != 0 && guess < max_endpoints_ &&
                 hsipc_region_endpoint_info(region_, guess, &info) == HSIPC_OK && info.id == id;
    for (uint32_t slot = 0; !found && slot < max_endpoints_; slot++) {
        found = hsipc_region_endpoint_info(region_, slot, &info) == HSIPC_OK && info.id == id;
    }
    if (found) name = info.name;
    if (names_.size() >= kMaxNames) names_.clear();
    names_.emplace(id, name);
    return name;
}

int Local::send(const std::string& name, Destination& d, const Item& item) {
    for (int attempt = 0; attempt < 2; attempt++) {
        if (d.id == 0) {
            hsipc_id id;
            int rc = hsipc_lookup(region_, name.c_str(), &id);
            if (rc != HSIPC_OK) return rc;
            d.id = id;
        }
        int rc = hsipc_send_offset(item.from->ep, d.id, item.off, item.size);
        if (rc != HSIPC_EPEER) return rc;
        d.id = 0;  // closed, or opened again under a new id: look it up once more
    }
    return HSIPC_EPEER;
}

void Local::deliver(Proxy* from, std::string_view dst, const uint8_t* payload, uint32_t size, int64_t now_ns) {
    auto it = destinations_.find(dst);
    if (it == destinations_.end()) {
        if (destinations_.size() >= kMaxDestinations) {
            for (auto d = destinations_.begin(); d != destinations_.end();) {
                d = d->second.items.empty() ? destinations_.erase(d) : std::next(d);
            }
        }
        if (destinations_.size() >= kMaxDestinations) {
            counters_->dropped_full++;
            return;
        }
        it = destinations_.emplace(std::string(dst), Destination{}).first;
    }
    Destination& d = it->second;
    // Behind messages already waiting for dst, so one sender's stay in
    // order. A full queue holds the links back (Bridge::run), but the frame
    // being delivered may hold a whole batch: it is queued too, up to one
    // batch more; what comes after the stall is dropped.
    if (!d.items.empty() && d.items.size() >= retry_queue_ &&
        (stalled(d, now_ns) || d.items.size() >= retry_queue_ + wire::kBatchCountMax)) {
        counters_->dropped_full++;
        return;
    }
    hsipc_off off;
    if (hsipc_alloc(region_, size ? size : 1, &off) != HSIPC_OK) {
        counters_->dropped_no_buffer++;
        return;
    }
    if (size) std::memcpy(hsipc_ptr(region_, off), payload, size);
    const Item item{from, off, size};
    if (!d.items.empty()) return enqueue(d, item, now_ns);
    const int rc = send(it->first, d, item);
    if (rc == HSIPC_OK) {
        counters_->delivered++;
    } else if (rc == HSIPC_EFULL && retry_queue_ > 0) {
        enqueue(d, item, now_ns);
    } else {
        hsipc_release(region_, off);
        (rc == HSIPC_EFULL ? counters_->dropped_full : counters_->dropped_no_endpoint)++;
    }
}

bool Local::retry() {
    for (auto& entry : destinations_) {
        Destination& d = entry.second;
        while (!d.items.empty()) {
            const Item item = d.items.front();
            const int rc = send(entry.first, d, item);
            if (rc == HSIPC_EFULL) break;
            if (rc == HSIPC_OK) {
                counters_->delivered++;
            } else {
                hsipc_release(region_, item.off);
                counters_->dropped_no_endpoint++;
            }
            dequeue(d);
        }
    }
    return queued_ > 0;
}

void Local::enqueue(Destination& d, const Item& item, int64_t now_ns) {
    d.items.push_back(item);
    queued_++;
    if (d.items.size() >= retry_queue_ && d.full_since_ns == 0) {
        d.full_since_ns = now_ns;
        full_++;
    }
}

void Local::dequeue(Destination& d) {
    d.items.pop_front();
    queued_--;
    clear_full_if_room(d);
}

void Local::clear_full_if_room(Destination& d) {
    if (d.full_since_ns != 0 && d.items.size() < retry_queue_) {
        d.full_since_ns = 0;
        full_--;
    }
}

bool Local::holding_back(int64_t now_ns, int64_t* until) const {
    if (full_ == 0) return false;
    bool hold = false;
    for (const auto& entry : destinations_) {
        const Destination& d = entry.second;
        if (d.full_since_ns == 0 || stalled(d, now_ns)) continue;
        const int64_t end = d.full_since_ns + stall_ns_;
        *until = hold ? std::min(*until, end) : end;
        hold = true;
    }
    return hold;
}

void Local::drop_items(Destination& d, uint64_t* drop, const Proxy* from) {
    for (auto item = d.items.begin(); item != d.items.end();) {
        if (item->from != from) {
            ++item;
            continue;
        }
        hsipc_release(region_, item->off);
        (*drop)++;
        queued_--;
        item = d.items.erase(item);
        clear_full_if_room(d);
    }
}

}  // namespace hsipc_bridge
