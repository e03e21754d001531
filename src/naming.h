// SPDX-License-Identifier: MIT
// The naming service: endpoint names to inboxes, in the region's endpoint
// table. Every change happens under the region lock; senders read an
// endpoint's state and gen without it.
#pragma once

#include "inbox.h"
#include "region.h"

namespace hsipc {

int endpoint_open(Region& r, const char* name, Endpoint** out);
int endpoint_close(Endpoint* ep);  // frees ep
int endpoint_lookup(Region& r, const char* name, hsipc_id* out);
// As endpoint_lookup, sleeping until the name is opened or timeout_ns
// (0, > 0 or HSIPC_FOREVER) passes: then HSIPC_ENOENT.
int endpoint_lookup_wait(Region& r, const char* name, int64_t timeout_ns, hsipc_id* out);

// Under the region lock: closes endpoint slot `index` whoever owns it,
// returning its queued messages' buffers to the pools. Returns how many.
int endpoint_close_locked(Region& r, uint32_t index);

// The two below run on every send and poll: inline.

// The inbox of endpoint slot `index` as made for `gen`.
inline InboxView endpoint_inbox(const Region& r, uint32_t index, uint32_t gen) {
    return InboxView{r.ring(index), r.inbox_capacity(), gen};
}

// The slot index and gen an id names, or false for ids that cannot be valid.
inline bool endpoint_id_decode(const Region& r, hsipc_id id, uint32_t* index, uint32_t* gen) {
    const uint32_t bits = r.layout.id_index_bits;
    uint32_t slot_plus_one = id & ((1u << bits) - 1);
    if (slot_plus_one == 0 || slot_plus_one > r.max_endpoints()) return false;
    *index = slot_plus_one - 1;
    *gen = id >> bits;
    return *gen != 0 && *gen <= endpoint_gen_max(bits);  // a topic id's bit 31 is beyond every gen
}

inline hsipc_id endpoint_id(const Region& r, uint32_t index, uint32_t gen) {
    return make_endpoint_id(r.layout.id_index_bits, index, gen);
}

// Whether `id` names an endpoint open now (exact under the region lock,
// a hint without it).
inline bool endpoint_id_open(const Region& r, hsipc_id id) {
    uint32_t index, gen;
    if (!endpoint_id_decode(r, id, &index, &gen)) return false;
    const EndpointSlot& e = r.endpoint_slot(index);
    return e.state.load(std::memory_order_relaxed) == kEndpointOpen && e.gen.load(std::memory_order_relaxed) == gen;
}

}  // namespace hsipc
