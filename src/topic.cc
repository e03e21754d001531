// SPDX-License-Identifier: MIT
#include "topic.h"

#include <cstring>

#include "naming.h"
#include "region_lock.h"
#include "step.h"

namespace hsipc {
namespace {

bool topic_name_matches(const TopicSlot& t, const char* name, size_t len) {
    // The stored name may be scribbled: compare bytes, never trust a NUL.
    return std::memcmp(t.name, name, len) == 0 && t.name[len] == '\0';
}

// Under the lock: the index of topic `name`, made where need be; -1 where
// the table is full.
int find_or_create_locked(Region& r, const char* name) {
    const size_t len = std::strlen(name);
    int free_index = -1;
    for (uint32_t t = 0; t < r.max_topics(); t++) {
        TopicSlot& slot = r.topic_slot(t);
        const uint32_t state = slot.state.load(std::memory_order_relaxed);
        if (state == kTopicOpen && topic_name_matches(slot, name, len)) return int(t);
        if (state != kTopicOpen && free_index < 0) free_index = int(t);
    }
    if (free_index < 0) return -1;
    TopicSlot& slot = r.topic_slot(uint32_t(free_index));
    std::memset(slot.name, 0, sizeof slot.name);
    std::memcpy(slot.name, name, len);
    for (uint32_t i = 0; i < r.max_subscribers(); i++) r.subscriber(uint32_t(free_index), i).store(0, std::memory_order_relaxed);
    step();
    // release: a publisher that finds the topic open finds its list empty.
    slot.state.store(kTopicOpen, std::memory_order_release);
    return free_index;
}

// Under the lock: whether ep is still the open endpoint it was opened as.
bool endpoint_still_ours(const Endpoint& ep) { return endpoint_id_open(*ep.region, ep.id); }

}  // namespace

bool topic_id_decode(const Region& r, hsipc_id topic, uint32_t* index) {
    if ((topic & kTopicIdBit) == 0) return false;
    const uint32_t slot_plus_one = topic & ~kTopicIdBit;
    if (slot_plus_one == 0 || slot_plus_one > r.max_topics()) return false;
    *index = slot_plus_one - 1;
    return r.topic_slot(*index).state.load(std::memory_order_acquire) == kTopicOpen;
}

int topic_open(Region& r, const char* name, hsipc_id* out) {
    if (!valid_name(name)) return HSIPC_EINVAL;
    if (r.max_topics() == 0) return HSIPC_ENOMEM;
    RegionLock lock(r);
    if (lock.status() != HSIPC_OK) return lock.status();
    const int t = find_or_create_locked(r, name);
    if (t < 0) return HSIPC_ENOMEM;
    *out = topic_id(uint32_t(t));
    return HSIPC_OK;
}

int topic_subscribe(Endpoint& ep, const char* name) {
    Region& r = *ep.region;
    if (!valid_name(name)) return HSIPC_EINVAL;
    if (r.max_topics() == 0) return HSIPC_ENOMEM;
    RegionLock lock(r);
    if (lock.status() != HSIPC_OK) return lock.status();
    if (!endpoint_still_ours(ep)) return HSIPC_EPEER;  // closed by a reaper that thought us dead
    const int t = find_or_create_locked(r, name);
    if (t < 0) return HSIPC_ENOMEM;
    int free_index = -1;
    for (uint32_t i = 0; i < r.max_subscribers(); i++) {
        const hsipc_id id = r.subscriber(uint32_t(t), i).load(std::memory_order_relaxed);
        if (id == ep.id) return HSIPC_OK;
        // A word naming no open endpoint is free: its endpoint closed without
        // leaving (a scribble, or a close that died half-way, can leave that).
        if (free_index < 0 && (id == 0 || !endpoint_id_open(r, id))) free_index = int(i);
    }
    if (free_index < 0) return HSIPC_ENOMEM;
    // One store: a publisher sees the subscriber or not, and from the next
    // publish on it does (release: it reads an open endpoint's id).
    r.subscriber(uint32_t(t), uint32_t(free_index)).store(ep.id, std::memory_order_release);
    return HSIPC_OK;
}

int topic_unsubscribe(Endpoint& ep, const char* name) {
    Region& r = *ep.region;
    if (!valid_name(name)) return HSIPC_EINVAL;
    RegionLock lock(r);
    if (lock.status() != HSIPC_OK) return lock.status();
    const size_t len = std::strlen(name);
    for (uint32_t t = 0; t < r.max_topics(); t++) {
        TopicSlot& slot = r.topic_slot(t);
        if (slot.state.load(std::memory_order_relaxed) != kTopicOpen || !topic_name_matches(slot, name, len)) continue;
        for (uint32_t i = 0; i < r.max_subscribers(); i++) {
            std::atomic<uint32_t>& word = r.subscriber(t, i);
            if (word.load(std::memory_order_relaxed) != ep.id) continue;
            word.store(0, std::memory_order_relaxed);
            return HSIPC_OK;
        }
        return HSIPC_ENOENT;
    }
    return HSIPC_ENOENT;
}

void topic_forget_endpoint_locked(Region& r, hsipc_id id) {
    for (uint32_t t = 0; t < r.max_topics(); t++) {
        if (r.topic_slot(t).state.load(std::memory_order_relaxed) != kTopicOpen) continue;
        for (uint32_t i = 0; i < r.max_subscribers(); i++) {
            std::atomic<uint32_t>& word = r.subscriber(t, i);
            if (word.load(std::memory_order_relaxed) == id) word.store(0, std::memory_order_relaxed);
        }
    }
}

uint32_t topic_subscribers(const Region& r, uint32_t index, hsipc_id* out) {
    uint32_t n = 0;
    for (uint32_t i = 0; i < r.max_subscribers(); i++) {
        // acquire: pairs with topic_subscribe's store of an open endpoint's id.
        const hsipc_id id = r.subscriber(index, i).load(std::memory_order_acquire);
        if (id != 0) out[n++] = id;
    }
    return n;
}

}  // namespace hsipc
