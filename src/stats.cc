// SPDX-License-Identifier: MIT
#include "stats.h"

#include <cstring>

#include "inbox.h"
#include "liveness.h"
#include "naming.h"
#include "region_lock.h"

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
            default: s.queued_count++; break;  // queued, or a scribbled word
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

}  // namespace hsipc
