// SPDX-License-Identifier: MIT
// Computes where each part of a region lies from its configuration.
#include "layout.h"

#include <cstring>

namespace hsipc {
namespace {

// Adds n to *acc; false on passing kMaxRegionSize (keeps every later sum far
// from 64-bit overflow).
bool add_checked(uint64_t* acc, uint64_t n) {
    if (n > kMaxRegionSize || *acc > kMaxRegionSize - n) return false;
    *acc += n;
    return true;
}

uint64_t round_up(uint64_t n, uint64_t to) { return (n + to - 1) / to * to; }

// FNV-1a over 64-bit values.
struct Fnv {
    uint64_t h = 0xcbf29ce484222325ull;
    void mix(uint64_t v) {
        for (int i = 0; i < 8; i++) {
            h ^= (v >> (8 * i)) & 0xff;
            h *= 0x100000001b3ull;
        }
    }
};

}  // namespace

uint32_t process_slots_for(uint32_t max_endpoints) {
    return max_endpoints < kMinProcessSlots ? kMinProcessSlots : max_endpoints;
}

bool compute_layout(const StoredConfig& cfg, Layout* out) {
    Layout l{};
    l.config = cfg;
    uint64_t at = kPage;  // page 0 is the header
    l.process_table_off = at;
    if (!add_checked(&at, uint64_t(cfg.process_slots) * sizeof(ProcessSlot))) return false;
    l.endpoint_table_off = at;
    if (!add_checked(&at, uint64_t(cfg.max_endpoints) * sizeof(EndpointSlot))) return false;
    l.rings_off = at;
    l.ring_bytes = round_up(uint64_t(cfg.inbox_capacity) * sizeof(uint64_t), kCacheLine);
    if (!add_checked(&at, uint64_t(cfg.max_endpoints) * l.ring_bytes)) return false;

    uint64_t buffers = 0;
    for (uint32_t p = 0; p < cfg.pool_count && p < HSIPC_MAX_POOLS; p++) buffers += cfg.pools[p].buffer_count;
    if (buffers > kMaxTotalBuffers) return false;
    l.total_buffers = uint32_t(buffers);
    l.id_index_bits = id_index_bits_for(cfg.max_endpoints);
    l.buffer_headers_off = at;
    if (!add_checked(&at, buffers * sizeof(BufferHeader))) return false;
    const uint64_t subscribers = cfg.max_topics == 0 ? 0 : cfg.max_subscribers;
    l.topic_table_off = at;
    if (!add_checked(&at, uint64_t(cfg.max_topics) * sizeof(TopicSlot))) return false;
    l.subscribers_off = at;
    if (!add_checked(&at, round_up(uint64_t(cfg.max_topics) * subscribers * sizeof(uint32_t), kCacheLine))) return false;
    l.share_records_off = at;
    if (!add_checked(&at, buffers * subscribers * sizeof(uint64_t))) return false;

    uint32_t first = 0;
    for (uint32_t p = 0; p < cfg.pool_count && p < HSIPC_MAX_POOLS; p++) {
        PoolLayout& pool = l.pools[p];
        // Validated configurations never have empty buffers; refuse them
        // here too, since a zero stride would divide by zero later.
        if (cfg.pools[p].buffer_size == 0 || cfg.pools[p].buffer_size > kMaxBufferSize) return false;
        pool.buffer_size = cfg.pools[p].buffer_size;
        pool.stride = round_up(pool.buffer_size, kCacheLine);
        if ((pool.stride & (pool.stride - 1)) == 0) pool.stride_shift = uint32_t(__builtin_ctzll(pool.stride));
        pool.count = cfg.pools[p].buffer_count;
        pool.first = first;
        first += pool.count;
        at = round_up(at, kPage);  // large payloads start on a page
        pool.payload_off = at;
        if (!add_checked(&at, pool.stride * pool.count)) return false;
    }
    at = round_up(at, kPage);
    if (at > kMaxRegionSize) return false;
    l.total_size = at;
    *out = l;
    return true;
}

uint64_t layout_fingerprint() {
    Fnv f;
    f.mix(sizeof(void*));
    f.mix(kCacheLine);
    const uint16_t probe = 1;
    unsigned char first_byte;
    std::memcpy(&first_byte, &probe, 1);
    f.mix(first_byte);  // byte order
    f.mix(sizeof(RegionHeader));
    f.mix(offsetof(RegionHeader, config));
    f.mix(offsetof(RegionHeader, creator_pid));
    f.mix(offsetof(RegionHeader, lock_dirty));
    f.mix(offsetof(RegionHeader, names_changed));
    f.mix(sizeof(StoredConfig));
    f.mix(offsetof(StoredConfig, pools));
    f.mix(offsetof(StoredConfig, spin_ns));
    f.mix(sizeof(ProcessSlot));
    f.mix(sizeof(EndpointSlot));
    f.mix(offsetof(EndpointSlot, name));
    f.mix(offsetof(EndpointSlot, sleeping));
    f.mix(offsetof(EndpointSlot, wake_socket));
    f.mix(offsetof(EndpointSlot, tail_hint));
    f.mix(sizeof(BufferHeader));
    f.mix(offsetof(BufferHeader, from));
    f.mix(offsetof(BufferHeader, share_epoch));
    f.mix(sizeof(TopicSlot));
    return f.h;
}

}  // namespace hsipc
