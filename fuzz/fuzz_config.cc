// SPDX-License-Identifier: MIT
// Fuzz target: the stored configuration file's parser (config_apply_text)
// and the limits check that turns a configuration into the form a region
// header stores (config_to_stored, compute_layout).
//
// The input is the text of a configuration file, applied over the defaults.
// Checks:
//  - the parser returns HSIPC_OK or HSIPC_EINVAL, and never touches
//    struct_size;
//  - what it accepted prints back as text that parses to the same struct;
//  - config_to_stored accepts exactly the configurations within the limits
//    of hsipc.h, recomputed here independently, including the region's size
//    (docs/region-format.md), computed in 128 bits;
//  - an accepted configuration's stored form keeps every value (inbox
//    capacity rounded up to a power of two, process slots derived), its
//    layout has the size computed here and non-overlapping, aligned parts,
//    and it survives config_from_stored/config_to_stored unchanged.
#include <cstdio>
#include <cstring>
#include <string>

#include "config.h"
#include "fuzz_util.h"
#include "layout.h"

namespace {

using u128 = unsigned __int128;

u128 round_up(u128 n, u128 to) { return (n + to - 1) / to * to; }

// The region size docs/region-format.md gives for c, with no overflow.
u128 region_size(const hsipc_config& c, uint32_t inbox_capacity) {
    u128 slots = c.max_endpoints < 64 ? 64 : c.max_endpoints;
    u128 buffers = 0;
    for (uint32_t p = 0; p < c.pool_count; p++) buffers += c.pools[p].buffer_count;
    // Topics: the table, the subscriber lists, a share record per buffer
    // (no lists or records where there are no topics).
    const u128 topics = c.max_topics, subscribers = c.max_topics == 0 ? 0 : c.max_subscribers;
    u128 at = 4096 + slots * 64 + u128(c.max_endpoints) * 256 +
              u128(c.max_endpoints) * round_up(u128(inbox_capacity) * 8, 64) + buffers * 64 + topics * 128 +
              round_up(topics * subscribers * 4, 64) + buffers * subscribers * 8;
    for (uint32_t p = 0; p < c.pool_count; p++) {
        at = round_up(at, 4096);
        at += round_up(c.pools[p].buffer_size, 64) * c.pools[p].buffer_count;
    }
    return round_up(at, 4096);
}

uint32_t round_up_pow2(uint32_t n) {
    uint32_t p = 1;
    while (p < n) p <<= 1;
    return p;
}

// The limits of hsipc.h, independently of config_to_stored. Empty when c
// is within them, else the first one it breaks.
std::string broken_limit(const hsipc_config& c) {
    if (c.struct_size != sizeof(hsipc_config)) return "struct_size";
    if (c.max_endpoints < 1 || c.max_endpoints > 4096) return "max_endpoints";
    if (c.inbox_capacity < 1 || c.inbox_capacity > 1048576) return "inbox_capacity";
    if (c.pool_count < 1 || c.pool_count > HSIPC_MAX_POOLS) return "pool_count";
    uint64_t buffers = 0;
    for (uint32_t p = 0; p < c.pool_count; p++) {
        const hsipc_pool_config& pool = c.pools[p];
        if (pool.buffer_size < 1 || pool.buffer_size > (1u << 30)) return "buffer_size";
        if (p > 0 && pool.buffer_size <= c.pools[p - 1].buffer_size) return "ascending sizes";
        if (pool.buffer_count < 1) return "buffer_count";
        if (pool.reserved != 0) return "reserved";
        buffers += pool.buffer_count;
    }
    if (buffers > 16000000) return "total buffers";
    if (c.mode > 0777 || (c.mode & 0600) != 0600) return "mode";
    if (c.max_buffers_per_process > buffers) return "max_buffers_per_process";
    if (c.spin_ns < 0 || c.spin_ns > 1000000000) return "spin_ns";
    if (c.max_topics > 4096) return "max_topics";
    if (c.max_subscribers < 1 || c.max_subscribers > 64) return "max_subscribers";
    if (region_size(c, round_up_pow2(c.inbox_capacity)) > (u128(1) << 40)) return "region size";
    return "";
}

std::string to_text(const hsipc_config& c) {
    std::string t = fuzz::format("max_endpoints = %u\ninbox_capacity = %u\nmode = 0%o\nmax_buffers_per_process = %u\n"
                                 "spin_ns = %lld\nmax_topics = %u\nmax_subscribers = %u\n",
                                 c.max_endpoints, c.inbox_capacity, c.mode, c.max_buffers_per_process,
                                 static_cast<long long>(c.spin_ns), c.max_topics, c.max_subscribers);
    for (uint32_t p = 0; p < c.pool_count && p < HSIPC_MAX_POOLS; p++) {
        t += fuzz::format("pool = %llu x %u\n", static_cast<unsigned long long>(c.pools[p].buffer_size),
                          c.pools[p].buffer_count);
    }
    return t;
}

void check_stored(const hsipc_config& c, const hsipc::StoredConfig& s) {
    FUZZ_CHECK(s.max_endpoints == c.max_endpoints, "max_endpoints %u stored as %u", c.max_endpoints, s.max_endpoints);
    FUZZ_CHECK(s.inbox_capacity == round_up_pow2(c.inbox_capacity), "inbox_capacity %u stored as %u",
               c.inbox_capacity, s.inbox_capacity);
    FUZZ_CHECK(s.pool_count == c.pool_count, "pool_count");
    FUZZ_CHECK(s.process_slots == (c.max_endpoints < 64 ? 64 : c.max_endpoints), "process_slots %u",
               s.process_slots);
    FUZZ_CHECK(s.mode == c.mode, "mode");
    FUZZ_CHECK(s.max_buffers_per_process == c.max_buffers_per_process, "max_buffers_per_process");
    FUZZ_CHECK(s.spin_ns == c.spin_ns, "spin_ns");
    FUZZ_CHECK(s.max_topics == c.max_topics, "max_topics");
    FUZZ_CHECK(s.max_subscribers == c.max_subscribers, "max_subscribers");
    for (uint32_t p = 0; p < HSIPC_MAX_POOLS; p++) {
        const hsipc::StoredPool& sp = s.pools[p];
        if (p < c.pool_count) {
            FUZZ_CHECK(sp.buffer_size == c.pools[p].buffer_size && sp.buffer_count == c.pools[p].buffer_count &&
                           sp.reserved == 0,
                       "pool %u", p);
        } else {
            FUZZ_CHECK(sp.buffer_size == 0 && sp.buffer_count == 0 && sp.reserved == 0, "unused pool %u not zero", p);
        }
    }

    hsipc::Layout l;
    FUZZ_CHECK(hsipc::compute_layout(s, &l), "compute_layout refuses a stored configuration");
    const u128 expected = region_size(c, s.inbox_capacity);
    FUZZ_CHECK(u128(l.total_size) == expected && l.total_size <= (1ull << 40), "layout size %llu, expected %llu",
               static_cast<unsigned long long>(l.total_size), static_cast<unsigned long long>(expected));
    FUZZ_CHECK(l.process_table_off == 4096 && l.endpoint_table_off == 4096 + uint64_t(s.process_slots) * 64 &&
                   l.rings_off == l.endpoint_table_off + uint64_t(s.max_endpoints) * 256 &&
                   l.ring_bytes % 64 == 0 && l.ring_bytes >= uint64_t(s.inbox_capacity) * 8 &&
                   l.buffer_headers_off == l.rings_off + uint64_t(s.max_endpoints) * l.ring_bytes,
               "table offsets");
    uint64_t end = l.buffer_headers_off + uint64_t(l.total_buffers) * 64;
    uint32_t first = 0;
    for (uint32_t p = 0; p < s.pool_count; p++) {
        const hsipc::PoolLayout& pl = l.pools[p];
        FUZZ_CHECK(pl.payload_off >= end && pl.payload_off % 4096 == 0, "pool %u payload at %llu", p,
                   static_cast<unsigned long long>(pl.payload_off));
        FUZZ_CHECK(pl.stride % 64 == 0 && pl.stride >= pl.buffer_size && pl.stride < pl.buffer_size + 64 &&
                       pl.count == s.pools[p].buffer_count && pl.first == first,
                   "pool %u geometry", p);
        const bool pow2 = (pl.stride & (pl.stride - 1)) == 0;
        FUZZ_CHECK(pow2 ? pl.stride_shift < 64 && (1ull << pl.stride_shift) == pl.stride : pl.stride_shift == 0,
                   "pool %u: stride %llu, shift %u", p, static_cast<unsigned long long>(pl.stride), pl.stride_shift);
        first += pl.count;
        end = pl.payload_off + pl.stride * pl.count;
    }
    FUZZ_CHECK(first == l.total_buffers && end <= l.total_size, "payloads end past the region");

    hsipc_config back;
    hsipc::config_from_stored(s, &back);
    hsipc::StoredConfig again;
    FUZZ_CHECK(hsipc::config_to_stored(back, &again) == HSIPC_OK, "stored configuration does not validate again");
    FUZZ_CHECK(std::memcmp(&again, &s, sizeof s) == 0, "stored configuration changes on a round trip");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    if (const char* dir = fuzz::seed_dir()) {
        auto text = [&](const char* file, const std::string& t) {
            fuzz::write_seed(dir, file, std::vector<uint8_t>(t.begin(), t.end()));
        };
        hsipc_config d;
        hsipc::config_defaults(&d);
        text("defaults", to_text(d));
        text("empty", "");
        text("comments", "# a comment\n\n   # indented comment\nmax_endpoints = 8 # trailing\n");
        text("all_keys",
             "max_endpoints = 16\ninbox_capacity = 100\nmode = 0660\nmax_buffers_per_process = 10\n"
             "pool = 64 x 32\npool = 4K x 8\npool = 1M x 2\n");
        text("eight_pools",
             "pool = 1 x 1\npool = 2 x 1\npool = 3k x 1\npool = 4K x 1\npool = 5m x 1\npool = 6M x 1\n"
             "pool = 7M x 1\npool = 1G x 1\n");
        text("nine_pools", "pool=1x1\npool=2x1\npool=3x1\npool=4x1\npool=5x1\npool=6x1\npool=7x1\npool=8x1\npool=9x1\n");
        text("limits", "max_endpoints = 4096\ninbox_capacity = 1048576\npool = 1G x 1\n");
        text("too_big", "max_endpoints = 4096\ninbox_capacity = 1048576\npool = 1G x 1100\n");
        text("too_many_buffers", "pool = 1 x 16000000\npool = 2 x 1\n");
        text("crlf", "max_endpoints = 3\r\ninbox_capacity = 3\r\n");
        text("descending", "pool = 4K x 1\npool = 64 x 1\n");
        text("bad_mode", "mode = 0644\nmode = 0700\nmode = 1600\n");
        text("overflow", "pool = 18446744073709551615G x 1\ninbox_capacity = 4294967296\n");
        text("quota", "max_buffers_per_process = 4360\n");
        text("spin", "spin_ns = 0\nspin_ns = 20us\nspin_ns = 1s\nspin_ns = 1001ms\nspin_ns = 9223372036854775807\n");
        text("topics", "max_topics = 0\nmax_subscribers = 64\nmax_topics = 4096\nmax_subscribers = 65\n");
        text("no_topics", "max_topics = 0\npool = 64 x 8\n");
        text("topics_at_limits", "max_topics = 4096\nmax_subscribers = 64\npool = 1G x 1\npool = 2G x 1\n");
        std::exit(0);
    }
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    hsipc_config cfg;
    hsipc::config_defaults(&cfg);
    int rc = hsipc::config_apply_text(text, &cfg);
    fuzz::expect_status(rc, {HSIPC_OK, HSIPC_EINVAL}, "config_apply_text");
    if (rc != HSIPC_OK) return 0;
    FUZZ_CHECK(cfg.struct_size == sizeof(hsipc_config), "the parser changed struct_size");
    FUZZ_CHECK(cfg.pool_count >= 1 && cfg.pool_count <= HSIPC_MAX_POOLS, "pool_count %u", cfg.pool_count);

    // What was accepted prints back as text that parses to the same struct.
    hsipc_config reparsed;
    hsipc::config_defaults(&reparsed);
    reparsed.pool_count = 1;  // overwritten: to_text always has pool lines
    const std::string printed = to_text(cfg);
    FUZZ_CHECK(hsipc::config_apply_text(printed, &reparsed) == HSIPC_OK, "printed form refused:\n%s", printed.c_str());
    FUZZ_CHECK(std::memcmp(&reparsed, &cfg, sizeof cfg) == 0, "printed form parses differently:\n%s", printed.c_str());

    hsipc::StoredConfig stored;
    rc = hsipc::config_to_stored(cfg, &stored);
    fuzz::expect_status(rc, {HSIPC_OK, HSIPC_EINVAL}, "config_to_stored");
    const std::string broken = broken_limit(cfg);
    FUZZ_CHECK((rc == HSIPC_OK) == broken.empty(), "config_to_stored returned %s, but the limits say %s:\n%s",
               fuzz::status_name(rc).c_str(), broken.empty() ? "valid" : ("breaks " + broken).c_str(),
               printed.c_str());
    if (rc == HSIPC_OK) check_stored(cfg, stored);
    return 0;
}
