// SPDX-License-Identifier: MIT
#include "stats.h"

#include <cstring>

#include "inbox.h"
#include "liveness.h"
#include "naming.h"
#include "region_lock.h"
#include "topic.h"

namespace hsipc {

void pool_stats(Region& r, uint32_t pool, hsipc_pool_stats* out) {
    const PoolLayout& p = r.layout.pools[pool];
    hsipc_pool_stats s{};
    s.struct_size = sizeof s;
    s.buffer_count = p.count;
    s.buffer_size = p.buffer_size;
    for (uint32_t i = 0; i < p.count; i++) {
        switch (owner_kind(r.buffer(p.first + i).owner.load(std::memory_order_relaxed))) {
            case kOwnerFree: s.free_count++; break;
            case kOwnerHeld: s.held_count++; break;
            case kOwnerQueued: s.queued_count++; break;
            case kOwnerShared: s.shared_count++; break;
        }
    }
    *out = s;
}

int endpoint_info(Region& r, uint32_t slot, hsipc_endpoint_info* out) {
    RegionLock lock(r);
    if (lock.status() != HSIPC_OK) return lock.status();
    EndpointSlot& e = r.endpoint_slot(slot);
    if (e.state.load(std::memory_order_acquire) != kEndpointOpen) return HSIPC_ENOENT;
    hsipc_endpoint_info info{};
    info.struct_size = sizeof info;
    const uint32_t gen = e.gen.load(std::memory_order_relaxed);
    info.id = endpoint_id(r, slot, gen);
    std::memcpy(info.name, e.name, HSIPC_NAME_MAX);  // the last byte stays NUL whatever the region holds
    const uint32_t owner = e.owner_slot.load(std::memory_order_relaxed);
    info.owner_pid = owner < r.process_slots() ? r.process_slot(owner).pid.load(std::memory_order_relaxed) : 0;
    info.owner_alive = process_alive(r, owner, e.owner_gen.load(std::memory_order_relaxed)) ? 1 : 0;
    info.queued = inbox_count(endpoint_inbox(r, slot, gen));
    *out = info;
    return HSIPC_OK;
}

int topic_info(Region& r, uint32_t slot, hsipc_topic_info* out) {
    RegionLock lock(r);  // lists change only under it: one consistent snapshot
    if (lock.status() != HSIPC_OK) return lock.status();
    TopicSlot& t = r.topic_slot(slot);
    if (t.state.load(std::memory_order_relaxed) != kTopicOpen) return HSIPC_ENOENT;
    hsipc_topic_info info{};
    info.struct_size = sizeof info;
    info.id = topic_id(slot);
    std::memcpy(info.name, t.name, HSIPC_NAME_MAX);  // the last byte stays NUL whatever the region holds
    for (uint32_t i = 0; i < r.max_subscribers(); i++) {
        const hsipc_id id = r.subscriber(slot, i).load(std::memory_order_relaxed);
        // Only open endpoints: a word left by one that closed is free.
        if (id != 0 && endpoint_id_open(r, id)) info.subscribers[info.subscriber_count++] = id;
    }
    *out = info;
    return HSIPC_OK;
}

}  // namespace hsipc
