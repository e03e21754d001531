// SPDX-License-Identifier: MIT
// Fuzz target: attaching to a region whose header (and size) a peer wrote.
//
// Set up once: a small region, left as a crashed process leaves it (a live
// process slot whose process is gone, an open endpoint with queued
// messages, held buffers), and a pristine copy of all of it.
//
// Input: up to 256 bytes written over the start of the object — the
// RegionHeader: magic, version, fingerprint, total size, stored
// configuration, lock_dirty; a shorter input leaves the rest pristine. Byte
// 256 onwards, where present, picks the object's size (see pick_size).
//
// Check: hsipc_attach returns one of its documented statuses and never
// crashes. Where it accepts the region, the handle works: its config
// validates, and alloc/ptr/capacity/release, endpoint open/lookup/send/
// poll/close, introspection, reap and detach return documented statuses,
// with every pointer inside the mapping. Then the pristine object is put
// back (size and bytes).
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "config.h"
#include "fuzz_util.h"
#include "layout.h"

namespace {

constexpr size_t kHeaderBytes = 256;
constexpr uint64_t kMaxObjectSize = 16ull << 20;  // keeps what a fuzzed layout touches small

struct State {
    std::string name;
    hsipc_config cfg;
    fuzz::Mapping object;  // our own mapping of the object, at its pristine size
    std::vector<uint8_t> pristine;
};
State* g_state;

hsipc_config header_config() {
    hsipc_config cfg;
    hsipc_config_init(&cfg);
    cfg.max_endpoints = 4;
    cfg.inbox_capacity = 4;
    cfg.pool_count = 2;
    cfg.pools[0] = {64, 6, 0};
    cfg.pools[1] = {1024, 2, 0};
    return cfg;
}

int leave_dead_peer(const std::string& name) {
    hsipc_region* r;
    hsipc_endpoint* ep;
    hsipc_off off;
    if (hsipc_attach(name.c_str(), nullptr, &r) != HSIPC_OK) return 1;
    if (hsipc_endpoint_open(r, "peer", &ep) != HSIPC_OK) return 2;
    for (size_t size : {10, 1000}) {
        if (hsipc_alloc(r, size, &off) != HSIPC_OK) return 3;
        if (hsipc_send_offset(ep, hsipc_endpoint_id(ep), off, size) != HSIPC_OK) return 4;
    }
    if (hsipc_alloc(r, 64, &off) != HSIPC_OK) return 5;  // held when it dies
    return 0;
}

// The object's size: byte 0 of `ctl` picks how, the rest is the argument.
uint64_t pick_size(fuzz::Input ctl, uint64_t pristine, uint64_t header_total_size) {
    switch (ctl.u8() % 4) {
        case 0:
            return pristine;
        case 1:  // what the (fuzzed) header claims, so a consistent pair is one step away
            return header_total_size <= kMaxObjectSize ? header_total_size : pristine;
        case 2: {  // near the real size, in steps of 8 bytes
            int64_t s = int64_t(pristine) + int64_t(int16_t(ctl.u16())) * 8;
            return uint64_t(std::clamp<int64_t>(s, 0, int64_t(kMaxObjectSize)));
        }
        default:
            return ctl.u32() % (kMaxObjectSize + 1);
    }
}

void check_pointer(hsipc_region* r, hsipc_off off, size_t min_capacity, const char* what) {
    void* p = hsipc_ptr(r, off);
    size_t cap = hsipc_capacity(r, off);
    FUZZ_CHECK(p && cap >= min_capacity, "%s: ptr %p capacity %zu for a held buffer", what, p, cap);
    FUZZ_CHECK(fuzz::in_mapping(r, p, cap), "%s: buffer %p + %zu outside the mapping", what, p, cap);
    std::memset(p, 0xab, cap);
}

// Uses a handle attached to a fuzzed region: every call must return one of
// its statuses, and whatever it returns must lie inside the mapping.
void exercise(hsipc_region* r) {
    const hsipc::Region& c = *fuzz::core(r);
    FUZZ_CHECK(c.size == c.layout.total_size, "mapped %llu bytes of a %llu-byte layout",
               static_cast<unsigned long long>(c.size), static_cast<unsigned long long>(c.layout.total_size));

    hsipc_config cfg;
    hsipc_config_init(&cfg);
    fuzz::expect_status(hsipc_region_config(r, &cfg), {HSIPC_OK}, "hsipc_region_config");
    hsipc::StoredConfig stored;
    FUZZ_CHECK(hsipc::config_to_stored(cfg, &stored) == HSIPC_OK, "an attached region's configuration is invalid");

    uint32_t buffers = 0;
    for (uint32_t p = 0; p < cfg.pool_count; p++) {
        hsipc_pool_stats st{};
        st.struct_size = sizeof st;
        fuzz::expect_status(hsipc_region_pool_stats(r, p, &st), {HSIPC_OK}, "hsipc_region_pool_stats");
        FUZZ_CHECK(st.free_count + st.held_count + st.queued_count == st.buffer_count, "pool %u counts", p);
        buffers += st.buffer_count;
    }
    FUZZ_CHECK(buffers == c.layout.total_buffers, "pools hold %u buffers, the layout %u", buffers, c.layout.total_buffers);
    for (uint32_t slot = 0; slot < cfg.max_endpoints && slot < 8; slot++) {
        hsipc_endpoint_info info{};
        info.struct_size = sizeof info;
        int rc = hsipc_region_endpoint_info(r, slot, &info);
        fuzz::expect_status(rc, {HSIPC_OK, HSIPC_ENOENT, HSIPC_ESYS}, "hsipc_region_endpoint_info");
        if (rc == HSIPC_OK) FUZZ_CHECK(info.name[HSIPC_NAME_MAX] == '\0', "endpoint name not terminated");
    }

    std::vector<hsipc_off> held;
    const uint64_t largest = cfg.pools[cfg.pool_count - 1].buffer_size;
    for (uint32_t p = 0; p < cfg.pool_count && held.size() < 16; p++) {
        hsipc_off off;
        size_t size = size_t(cfg.pools[p].buffer_size);
        int rc = hsipc_alloc(r, size, &off);
        fuzz::expect_status(rc, {HSIPC_OK, HSIPC_ENOMEM}, "hsipc_alloc");
        if (rc != HSIPC_OK) continue;
        check_pointer(r, off, size, "hsipc_alloc");
        held.push_back(off);
    }
    hsipc_off off;
    fuzz::expect_status(hsipc_alloc(r, 0, &off), {HSIPC_EINVAL}, "hsipc_alloc(0)");
    fuzz::expect_status(hsipc_alloc(r, size_t(largest) + 1, &off), {HSIPC_ETOOBIG}, "hsipc_alloc(largest + 1)");

    hsipc_endpoint* ep = nullptr;
    int rc = hsipc_endpoint_open(r, "fz", &ep);
    fuzz::expect_status(rc, {HSIPC_OK, HSIPC_ENOMEM, HSIPC_ESYS}, "hsipc_endpoint_open");
    if (rc == HSIPC_OK) {
        hsipc_id id;
        fuzz::expect_status(hsipc_lookup(r, "fz", &id), {HSIPC_OK}, "hsipc_lookup of an open endpoint");
        FUZZ_CHECK(id == hsipc_endpoint_id(ep), "lookup id %u, endpoint id %u", id, hsipc_endpoint_id(ep));
        if (!held.empty()) {
            hsipc_off sent = held.back();
            rc = hsipc_send_offset(ep, id, sent, hsipc_capacity(r, sent));
            fuzz::expect_status(rc, {HSIPC_OK}, "hsipc_send_offset to an empty inbox");
            held.pop_back();
            hsipc_msg msg;
            rc = hsipc_poll(ep, &msg, 0);
            fuzz::expect_status(rc, {HSIPC_OK}, "hsipc_poll after a send");
            FUZZ_CHECK(msg.off == sent && msg.from == id, "received %llu from %u, sent %llu from %u",
                       static_cast<unsigned long long>(msg.off), msg.from, static_cast<unsigned long long>(sent), id);
            check_pointer(r, msg.off, size_t(msg.length), "hsipc_poll");
            held.push_back(msg.off);
        }
        hsipc_msg msg;
        fuzz::expect_status(hsipc_poll(ep, &msg, 0), {HSIPC_EAGAIN}, "hsipc_poll of an empty inbox");
        fuzz::expect_status(hsipc_endpoint_close(ep), {HSIPC_OK}, "hsipc_endpoint_close");
    }
    hsipc_id id;
    fuzz::expect_status(hsipc_lookup(r, "peer", &id), {HSIPC_OK, HSIPC_ENOENT, HSIPC_ESYS}, "hsipc_lookup");
    rc = hsipc_reap(r);
    if (rc < 0) fuzz::expect_status(rc, {HSIPC_ECORRUPT, HSIPC_ESYS}, "hsipc_reap");
    for (hsipc_off h : held) fuzz::expect_status(hsipc_release(r, h), {HSIPC_OK}, "hsipc_release");
    for (hsipc_off h : held) fuzz::expect_status(hsipc_release(r, h), {HSIPC_EBADOFF}, "hsipc_release again");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    auto* s = new State();
    s->name = fuzz::unique_region_name("header");
    s->cfg = header_config();
    hsipc_detach(fuzz::attach_or_die(s->name, s->cfg));  // creates it
    fuzz::run_dead_peer([&] { return leave_dead_peer(s->name); });
    s->object = fuzz::map_object(s->name);
    s->pristine.assign(s->object.base, s->object.base + s->object.size);
    g_state = s;

    if (const char* dir = fuzz::seed_dir()) {
        const uint8_t* h = s->pristine.data();
        auto header = [&] { return std::vector<uint8_t>(h, h + kHeaderBytes); };
        fuzz::write_seed(dir, "empty", {});
        fuzz::write_seed(dir, "pristine", header());
        std::vector<uint8_t> dirty = header();  // a lock holder died inside
        dirty[offsetof(hsipc::RegionHeader, lock_dirty)] = 1;
        fuzz::write_seed(dir, "lock_dirty", dirty);
        // The same header at other sizes: shrunk by a page, grown by a
        // page, and a size from the header's total_size field. The seed is
        // made at its full length at once: growing the 256-byte header
        // vector instead trips a GCC 12 -Warray-bounds false positive at -O3
        // in the inlined reallocation.
        auto sized = [&](const char* file, const std::vector<uint8_t>& head, const fuzz::Seed& ctl) {
            const std::vector<uint8_t>& tail = ctl.bytes();
            std::vector<uint8_t> bytes(head.size() + tail.size());
            std::copy(head.begin(), head.end(), bytes.begin());
            std::copy(tail.begin(), tail.end(), bytes.begin() + ptrdiff_t(head.size()));
            fuzz::write_seed(dir, file, bytes);
        };
        sized("shrunk", header(), fuzz::Seed().u8(2).u16(uint16_t(-512)));
        sized("grown", header(), fuzz::Seed().u8(2).u16(512));
        sized("tiny", header(), fuzz::Seed().u8(3).u32(100));
        // Another valid configuration, its total size in the header, and
        // the object sized to match: attach succeeds with a layout that
        // reads the crashed peer's tables as something else.
        const std::pair<const char*, hsipc_config> others[] = {
            {"other_layout_endpoints", [] { auto c = header_config(); c.max_endpoints = 70; return c; }()},
            {"other_layout_pools", [] { auto c = header_config(); c.pools[0] = {8, 40, 0}; return c; }()},
            {"other_layout_inbox", [] { auto c = header_config(); c.inbox_capacity = 64; return c; }()},
            {"other_layout_quota", [] { auto c = header_config(); c.max_buffers_per_process = 1; return c; }()},
        };
        for (const auto& [file, cfg] : others) {
            hsipc::StoredConfig stored;
            hsipc::Layout layout;
            if (hsipc::config_to_stored(cfg, &stored) != HSIPC_OK || !hsipc::compute_layout(stored, &layout)) {
                fuzz::fail("seed configuration %s invalid", file);
            }
            std::vector<uint8_t> bytes = header();
            std::memcpy(bytes.data() + offsetof(hsipc::RegionHeader, total_size), &layout.total_size,
                        sizeof layout.total_size);
            std::memcpy(bytes.data() + offsetof(hsipc::RegionHeader, config), &stored, sizeof stored);
            sized(file, bytes, fuzz::Seed().u8(1));
        }
        std::exit(0);
    }
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    State& s = *g_state;
    const uint64_t pristine_size = s.pristine.size();
    if (size > 0) std::memcpy(s.object.base, data, std::min(size, kHeaderBytes));
    uint64_t object_size = pristine_size;
    if (size > kHeaderBytes) {
        uint64_t claimed;
        std::memcpy(&claimed, s.object.base + offsetof(hsipc::RegionHeader, total_size), sizeof claimed);
        object_size = pick_size(fuzz::Input(data + kHeaderBytes, size - kHeaderBytes), pristine_size, claimed);
    }
    const bool resized = object_size != pristine_size;
    if (resized && ftruncate(s.object.fd, off_t(object_size)) != 0) fuzz::fail("ftruncate failed");

    hsipc_region* r = nullptr;
    int rc = hsipc_attach(s.name.c_str(), &s.cfg, &r);
    fuzz::expect_status(rc,
                        {HSIPC_OK, HSIPC_EINVAL, HSIPC_EPERM, HSIPC_EVERSION, HSIPC_ECORRUPT, HSIPC_ENOMEM,
                         HSIPC_ESYS},
                        "hsipc_attach");
    if (rc == HSIPC_OK) {
        exercise(r);
        fuzz::expect_status(hsipc_detach(r), {HSIPC_OK}, "hsipc_detach");
    }

    // Back to the pristine object. A failed attach wrote nothing (it checks
    // a copy of the header), so only the header needs restoring then.
    if (resized && ftruncate(s.object.fd, off_t(pristine_size)) != 0) fuzz::fail("ftruncate back failed");
    std::memcpy(s.object.base, s.pristine.data(), rc == HSIPC_OK || resized ? pristine_size : kHeaderBytes);
    return 0;
}
