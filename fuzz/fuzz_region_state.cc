// SPDX-License-Identifier: MIT
// Fuzz target: every call on a region whose tables a peer scribbles on.
//
// Set up once: a small region with two endpoints of ours ("a", "b") and one
// of a dead peer ("peer"), messages queued in all three, buffers held by us
// and by the dead peer; a second mapping of the object plays the scribbling
// peer. Before each input the whole region and our handles' private state
// (read positions, allocation cursors, endpoints closed by the last input)
// are put back, so every input starts from the same state.
//
// Input: a program of operations, each an opcode byte and its arguments.
// Patches write a byte, word or double word anywhere in the process table,
// endpoint table, inbox rings or buffer headers (not the header page), or a
// chosen owner word or inbox entry. Calls: hsipc_poll with timeout 0,
// alloc, release, send, lookup, reap, endpoint open and close, ptr and
// capacity, pool stats and endpoint info, on offsets and ids both real and
// made up.
//
// Check: every call returns one of its documented statuses and none blocks
// (a poll with timeout 0 makes no system call); every pointer returned lies
// inside the mapping together with its buffer's capacity; a received
// message's length is at most its buffer's capacity; a buffer we were just
// given (alloc, poll) is ours according to hsipc_ptr.
#include <unistd.h>

#include <cstring>
#include <vector>

#include "fuzz_util.h"
#include "layout.h"
#include "pool.h"

namespace {

enum Op : uint8_t {
    kPatch,       // area, offset, width, value
    kPatchOwner,  // buffer, owner word (chosen or raw)
    kPatchEntry,  // endpoint, ring slot, seq, gen, content
    kPoll,        // endpoint
    kAlloc,       // size
    kRelease,     // offset
    kSend,        // from endpoint, to id, offset, length
    kLookup,      // name
    kReap,
    kOpen,   // name
    kClose,  // endpoint
    kPtr,    // offset
    kInfo,   // pool, endpoint slot
    kOpCount
};

constexpr const char* kNames[] = {"a", "b", "peer", "x", "y", "bad/name"};
constexpr size_t kNameCount = sizeof kNames / sizeof kNames[0];
constexpr int kBase = 2;  // "a" and "b", open across inputs
constexpr unsigned kWidths[] = {1, 4, 8};
constexpr size_t kSizes[] = {0, 1, 32, 33, 128, 129, 1024, 1025};
constexpr size_t kMaxOps = 512;

// Areas a patch may hit, by number: process table, endpoint table, inbox
// rings, buffer headers.
struct Area {
    uint64_t off, len;
};

struct State {
    hsipc_region* r = nullptr;
    fuzz::Mapping peer;  // the scribbler's mapping of the same object
    std::vector<uint8_t> snapshot;
    hsipc_endpoint* base[kBase] = {};  // nullptr once the last input closed it
    hsipc::Endpoint saved[kBase] = {};
    std::vector<hsipc_off> held_at_start;
    hsipc_id peer_id = 0;
    uint32_t peer_slot = 0, peer_gen = 0;
    Area areas[4] = {};
    std::vector<uint64_t> owner_words;  // owner words worth writing
};
State* g_state;

hsipc_config state_config() {
    hsipc_config cfg;
    hsipc_config_init(&cfg);
    cfg.max_endpoints = 5;
    cfg.inbox_capacity = 4;
    cfg.pool_count = 3;
    cfg.pools[0] = {32, 6, 0};
    cfg.pools[1] = {128, 4, 0};
    cfg.pools[2] = {1024, 2, 0};
    return cfg;
}

struct Handle {
    hsipc_endpoint* ep;
    int base;  // index into State::base, or -1 for one opened by this input
};

class Run {
public:
    Run(State& s, const uint8_t* data, size_t size)
        : s_(s), r_(s.r), c_(*fuzz::core(s.r)), in_(data, size), held_(s.held_at_start) {
        for (int k = 0; k < kBase; k++) eps_.push_back({s.base[k], k});
        ids_.push_back(s.peer_id);
    }

    void run() {
        for (size_t n = 0; n < kMaxOps && !in_.empty(); n++) step(Op(in_.u8() % kOpCount));
        for (const Handle& h : eps_) {
            if (h.base < 0) fuzz::expect_status(hsipc_endpoint_close(h.ep), {HSIPC_OK, HSIPC_ESYS}, "hsipc_endpoint_close");
        }
    }

private:
    void step(Op op) {
        switch (op) {
            case kPatch: {
                const Area& a = s_.areas[in_.u8() % 4];
                const unsigned width = kWidths[in_.u8() % 3];
                const uint64_t off = a.off + in_.u16() % (a.len - width + 1);
                const uint64_t v = in_.le(width);
                std::memcpy(s_.peer.base + off, &v, width);  // little-endian: the low bytes
                break;
            }
            case kPatchOwner: {
                const uint32_t b = in_.u8() % c_.layout.total_buffers;
                const uint8_t sel = in_.u8();
                const size_t n = s_.owner_words.size();
                const uint64_t w = sel % (n + 1) < n ? s_.owner_words[sel % (n + 1)] : in_.u64();
                poke(c_.layout.buffer_headers_off + uint64_t(b) * sizeof(hsipc::BufferHeader), w);
                break;
            }
            case kPatchEntry: {
                const uint32_t e = in_.u8() % c_.max_endpoints();
                const uint32_t cap = c_.inbox_capacity();
                const uint32_t i = in_.u8() % cap;
                const uint8_t seq_sel = in_.u8(), gen_sel = in_.u8(), content_sel = in_.u8();
                const uint32_t seqs[] = {i, i + cap, i - cap, i + 2 * cap};
                const uint32_t seq = seq_sel % 5 < 4 ? seqs[seq_sel % 5] : in_.u32();
                uint32_t slot_gen;
                std::memcpy(&slot_gen, s_.peer.base + c_.layout.endpoint_table_off + uint64_t(e) * 256 +
                                           offsetof(hsipc::EndpointSlot, gen),
                            sizeof slot_gen);
                const uint32_t gen = gen_sel % 3 == 0 ? slot_gen : gen_sel % 3 == 1 ? slot_gen + 1 : in_.u8();
                uint32_t content;
                switch (content_sel % 4) {
                    case 0: content = 0; break;
                    case 1: content = hsipc::kEntryClosed; break;
                    case 2: content = (content_sel / 4) % c_.layout.total_buffers + 1; break;
                    default: content = in_.u32(); break;
                }
                poke(c_.layout.rings_off + uint64_t(e) * c_.layout.ring_bytes + uint64_t(i) * 8,
                     hsipc::entry_word(seq, gen, content));
                break;
            }
            case kPoll: {
                if (eps_.empty()) break;
                hsipc_endpoint* ep = eps_[in_.u8() % eps_.size()].ep;
                hsipc_msg msg;
                int rc = hsipc_poll(ep, &msg, 0);
                fuzz::expect_status(rc, {HSIPC_OK, HSIPC_EAGAIN, HSIPC_ECORRUPT}, "hsipc_poll(timeout 0)");
                if (rc != HSIPC_OK) break;
                void* p = hsipc_ptr(r_, msg.off);
                const size_t cap = hsipc_capacity(r_, msg.off);
                FUZZ_CHECK(p && p == msg.data, "received offset %llu: data %p, hsipc_ptr %p", ull(msg.off), msg.data, p);
                FUZZ_CHECK(msg.length <= cap, "received length %llu > capacity %zu", ull(msg.length), cap);
                FUZZ_CHECK(fuzz::in_mapping(r_, p, cap), "received buffer %p + %zu outside the mapping", p, cap);
                std::memset(p, 0x5a, cap);  // a receiver may write its reply in place
                held_.push_back(msg.off);
                break;
            }
            case kAlloc: {
                const uint8_t sel = in_.u8();
                const size_t n = sizeof kSizes / sizeof kSizes[0];
                const size_t size = sel % (n + 1) < n ? kSizes[sel % (n + 1)] : size_t(in_.u64());
                hsipc_off off;
                int rc = hsipc_alloc(r_, size, &off);
                const uint64_t largest = c_.layout.pools[c_.layout.config.pool_count - 1].buffer_size;
                if (size == 0) {
                    fuzz::expect_status(rc, {HSIPC_EINVAL}, "hsipc_alloc(0)");
                } else if (size > largest) {
                    fuzz::expect_status(rc, {HSIPC_ETOOBIG}, "hsipc_alloc(too big)");
                } else {
                    fuzz::expect_status(rc, {HSIPC_OK, HSIPC_ENOMEM}, "hsipc_alloc");
                }
                if (rc != HSIPC_OK) break;
                void* p = hsipc_ptr(r_, off);
                const size_t cap = hsipc_capacity(r_, off);
                FUZZ_CHECK(p && cap >= size, "allocated offset %llu: ptr %p capacity %zu", ull(off), p, cap);
                FUZZ_CHECK(fuzz::in_mapping(r_, p, cap), "allocated buffer %p + %zu outside the mapping", p, cap);
                std::memset(p, 0xa5, cap);
                held_.push_back(off);
                break;
            }
            case kRelease: {
                const hsipc_off off = pick_offset();
                int rc = hsipc_release(r_, off);
                fuzz::expect_status(rc, {HSIPC_OK, HSIPC_EBADOFF}, "hsipc_release");
                if (rc == HSIPC_OK) forget(off);
                break;
            }
            case kSend: {
                if (eps_.empty()) break;
                hsipc_endpoint* from = eps_[in_.u8() % eps_.size()].ep;
                const hsipc_id to = pick_id();
                const hsipc_off off = pick_offset();
                const size_t cap = hsipc_capacity(r_, off);
                const uint8_t sel = in_.u8();
                const size_t lengths[] = {0, 1, cap, cap + 1, sel % (cap + 1)};
                const size_t length = sel % 6 < 5 ? lengths[sel % 6] : size_t(in_.u64());
                int rc = hsipc_send_offset(from, to, off, length);
                fuzz::expect_status(rc, {HSIPC_OK, HSIPC_EINVAL, HSIPC_EBADOFF, HSIPC_EPEER, HSIPC_EFULL, HSIPC_ECORRUPT},
                                    "hsipc_send_offset");
                if (rc == HSIPC_OK) forget(off);
                break;
            }
            case kLookup: {
                const char* name = kNames[in_.u8() % kNameCount];
                hsipc_id id = 0;
                int rc = hsipc_lookup(r_, name, &id);
                fuzz::expect_status(rc, {HSIPC_OK, HSIPC_EINVAL, HSIPC_ENOENT, HSIPC_ESYS}, "hsipc_lookup");
                if (rc != HSIPC_OK) break;
                // The slot must be real; the gen is whatever the table holds
                // (a scribbled 0 gives an id no send accepts, which is safe).
                const uint32_t slot_plus_one = id & ((1u << c_.layout.id_index_bits) - 1);
                FUZZ_CHECK(slot_plus_one >= 1 && slot_plus_one <= c_.max_endpoints(), "lookup(%s) returned id %#x", name,
                           id);
                ids_.push_back(id);
                break;
            }
            case kReap: {
                int rc = hsipc_reap(r_);
                if (rc < 0) fuzz::expect_status(rc, {HSIPC_ECORRUPT, HSIPC_ESYS}, "hsipc_reap");
                break;
            }
            case kOpen: {
                const char* name = kNames[in_.u8() % kNameCount];
                hsipc_endpoint* ep = nullptr;
                int rc = hsipc_endpoint_open(r_, name, &ep);
                fuzz::expect_status(rc, {HSIPC_OK, HSIPC_EINVAL, HSIPC_EEXIST, HSIPC_ENOMEM, HSIPC_ESYS},
                                    "hsipc_endpoint_open");
                if (rc != HSIPC_OK) break;
                eps_.push_back({ep, -1});
                ids_.push_back(hsipc_endpoint_id(ep));
                break;
            }
            case kClose: {
                if (eps_.empty()) break;
                const size_t i = in_.u8() % eps_.size();
                const Handle h = eps_[i];
                ids_.push_back(hsipc_endpoint_id(h.ep));  // stale from now on
                fuzz::expect_status(hsipc_endpoint_close(h.ep), {HSIPC_OK, HSIPC_ESYS}, "hsipc_endpoint_close");
                if (h.base >= 0) s_.base[h.base] = nullptr;
                eps_.erase(eps_.begin() + long(i));
                break;
            }
            case kPtr: {
                const hsipc_off off = pick_offset();
                void* p = hsipc_ptr(r_, off);
                const size_t cap = hsipc_capacity(r_, off);
                FUZZ_CHECK((p != nullptr) == (cap != 0), "offset %llu: ptr %p but capacity %zu", ull(off), p, cap);
                if (p) {
                    FUZZ_CHECK(p == c_.base + off, "offset %llu: ptr %p, base %p", ull(off), p, static_cast<void*>(c_.base));
                    FUZZ_CHECK(fuzz::in_mapping(r_, p, cap), "buffer %p + %zu outside the mapping", p, cap);
                }
                break;
            }
            case kInfo: {
                const uint32_t pool = in_.u8() % c_.layout.config.pool_count;
                hsipc_pool_stats st{};
                st.struct_size = sizeof st;
                fuzz::expect_status(hsipc_region_pool_stats(r_, pool, &st), {HSIPC_OK}, "hsipc_region_pool_stats");
                FUZZ_CHECK(st.free_count + st.held_count + st.queued_count + st.shared_count == st.buffer_count,
                           "pool %u counts", pool);
                const uint32_t slot = in_.u8() % c_.max_endpoints();
                hsipc_endpoint_info info{};
                info.struct_size = sizeof info;
                int rc = hsipc_region_endpoint_info(r_, slot, &info);
                fuzz::expect_status(rc, {HSIPC_OK, HSIPC_ENOENT, HSIPC_ESYS}, "hsipc_region_endpoint_info");
                if (rc == HSIPC_OK) {
                    FUZZ_CHECK(info.name[HSIPC_NAME_MAX] == '\0', "endpoint %u name not terminated", slot);
                    FUZZ_CHECK(info.queued <= c_.inbox_capacity(), "endpoint %u: %u queued", slot, info.queued);
                }
                break;
            }
            case kOpCount:
                break;
        }
    }

    static unsigned long long ull(uint64_t v) { return v; }

    void poke(uint64_t off, uint64_t value) { std::memcpy(s_.peer.base + off, &value, sizeof value); }

    // A buffer we hold, any buffer's start, or any number.
    hsipc_off pick_offset() {
        const uint8_t sel = in_.u8();
        switch (sel % 4) {
            case 0:
            case 1:
                if (!held_.empty()) return held_[(sel / 4) % held_.size()];
                [[fallthrough]];
            case 2:
                return hsipc::buffer_offset(c_.layout, (sel / 4) % c_.layout.total_buffers);
            default:
                return in_.u64();
        }
    }

    // An open endpoint's id, an id seen before (the peer's, stale ones), or any number.
    hsipc_id pick_id() {
        const uint8_t sel = in_.u8();
        switch (sel % 4) {
            case 0:
            case 1:
                if (!eps_.empty()) return hsipc_endpoint_id(eps_[(sel / 4) % eps_.size()].ep);
                [[fallthrough]];
            case 2:
                return ids_[(sel / 4) % ids_.size()];
            default:
                return in_.u32();
        }
    }

    void forget(hsipc_off off) {
        for (size_t i = 0; i < held_.size(); i++) {
            if (held_[i] == off) {
                held_.erase(held_.begin() + long(i));
                return;
            }
        }
    }

    State& s_;
    hsipc_region* r_;
    hsipc::Region& c_;
    fuzz::Input in_;
    std::vector<Handle> eps_;
    std::vector<hsipc_off> held_;  // what we believe we hold; patches may make it wrong
    std::vector<hsipc_id> ids_;    // ids seen: the peer's, looked up, opened, closed
};

// Puts the region and our private state back as they were after setup.
void restore(State& s) {
    std::memcpy(s.peer.base, s.snapshot.data(), s.snapshot.size());
    hsipc::Region& c = *fuzz::core(s.r);
    for (int k = 0; k < kBase; k++) {
        if (s.base[k]) {
            *fuzz::core(s.base[k]) = s.saved[k];
            continue;
        }
        // The last input closed it, which freed the handle; the region
        // copy has it open again, so give it a handle again.
        auto* ep = new hsipc::Endpoint(s.saved[k]);
        {
            std::lock_guard<std::mutex> guard(c.endpoints_mutex);
            c.endpoints.push_back(ep);
        }
        s.base[k] = reinterpret_cast<hsipc_endpoint*>(ep);
    }
    for (auto& cursor : c.alloc_cursor) cursor.store(0, std::memory_order_relaxed);
}

hsipc_off alloc_or_die(hsipc_region* r, size_t size) {
    hsipc_off off;
    int rc = hsipc_alloc(r, size, &off);
    if (rc != HSIPC_OK) fuzz::fail("setup: hsipc_alloc(%zu): %s", size, fuzz::status_name(rc).c_str());
    std::memset(hsipc_ptr(r, off), 0x11, size);
    return off;
}

void send_or_die(hsipc_endpoint* from, hsipc_id to, hsipc_off off, size_t length) {
    int rc = hsipc_send_offset(from, to, off, length);
    if (rc != HSIPC_OK) fuzz::fail("setup: hsipc_send_offset: %s", fuzz::status_name(rc).c_str());
}

int leave_dead_peer(const std::string& name) {
    hsipc_region* r;
    hsipc_endpoint* ep;
    hsipc_id a;
    hsipc_off off;
    if (hsipc_attach(name.c_str(), nullptr, &r) != HSIPC_OK) return 1;
    if (hsipc_endpoint_open(r, "peer", &ep) != HSIPC_OK || hsipc_lookup(r, "a", &a) != HSIPC_OK) return 2;
    if (hsipc_alloc(r, 32, &off) != HSIPC_OK || hsipc_send_offset(ep, a, off, 32) != HSIPC_OK) return 3;
    if (hsipc_alloc(r, 20, &off) != HSIPC_OK || hsipc_send_offset(ep, hsipc_endpoint_id(ep), off, 5) != HSIPC_OK) {
        return 4;
    }
    if (hsipc_alloc(r, 128, &off) != HSIPC_OK) return 5;  // held when it dies
    return 0;
}

void setup(State& s) {
    const std::string name = fuzz::unique_region_name("state");
    s.r = fuzz::attach_or_die(name, state_config());
    for (int k = 0; k < kBase; k++) {
        int rc = hsipc_endpoint_open(s.r, kNames[k], &s.base[k]);
        if (rc != HSIPC_OK) fuzz::fail("setup: open %s: %s", kNames[k], fuzz::status_name(rc).c_str());
    }
    const hsipc_id a = hsipc_endpoint_id(s.base[0]), b = hsipc_endpoint_id(s.base[1]);
    send_or_die(s.base[0], b, alloc_or_die(s.r, 32), 10);
    send_or_die(s.base[1], a, alloc_or_die(s.r, 100), 100);
    send_or_die(s.base[0], a, alloc_or_die(s.r, 1024), 1024);
    s.held_at_start = {alloc_or_die(s.r, 32), alloc_or_die(s.r, 128)};
    fuzz::run_dead_peer([&] { return leave_dead_peer(name); });
    s.peer = fuzz::map_object(name);
    close(s.peer.fd);
    s.peer.fd = -1;
    hsipc_unlink(name.c_str());  // the mappings stay; nothing is left in /dev/shm
    s.snapshot.assign(s.peer.base, s.peer.base + s.peer.size);
    for (int k = 0; k < kBase; k++) s.saved[k] = *fuzz::core(s.base[k]);

    const hsipc::Region& c = *fuzz::core(s.r);
    const hsipc::Layout& l = c.layout;
    s.areas[0] = {l.process_table_off, l.endpoint_table_off - l.process_table_off};
    s.areas[1] = {l.endpoint_table_off, l.rings_off - l.endpoint_table_off};
    s.areas[2] = {l.rings_off, l.buffer_headers_off - l.rings_off};
    s.areas[3] = {l.buffer_headers_off, uint64_t(l.total_buffers) * sizeof(hsipc::BufferHeader)};
    for (uint32_t i = 0; i < c.max_endpoints(); i++) {
        const hsipc::EndpointSlot& e = c.endpoint_slot(i);
        if (std::strcmp(e.name, "peer") == 0) s.peer_id = hsipc::make_endpoint_id(l.id_index_bits, i, e.gen.load());
    }
    for (uint32_t i = 0; i < c.process_slots(); i++) {
        const hsipc::ProcessSlot& p = c.process_slot(i);
        if (p.state.load() == hsipc::kProcessLive && hsipc::owner_word(hsipc::kOwnerHeld, i, p.gen.load()) != c.held_word) {
            s.peer_slot = i;
            s.peer_gen = p.gen.load();
        }
    }
    if (s.peer_id == 0 || s.peer_gen == 0) fuzz::fail("setup: no dead peer in the region");
    using hsipc::owner_word;
    // Sent by us, or by the dead peer.
    auto queued = [&](hsipc_id id) {
        return hsipc::queued_word(id, hsipc::owner_index(c.held_word), hsipc::owner_gen(c.held_word));
    };
    auto queued_by_peer = [&](hsipc_id id) { return hsipc::queued_word(id, s.peer_slot, s.peer_gen); };
    s.owner_words = {
        0,
        c.held_word,
        c.held_word + 1,  // our slot, another gen
        owner_word(hsipc::kOwnerHeld, s.peer_slot, s.peer_gen),
        queued(a),
        queued(b),
        queued(s.peer_id),
        queued_by_peer(a),
        queued_by_peer(s.peer_id),
        owner_word(hsipc::kOwnerQueued, 4, 1),  // a free endpoint slot
        3ull << 62,                              // no such kind
    };
}

// Seeds: one program per path worth starting from.
void write_seeds(const char* dir, const State& s) {
    const hsipc::Region& c = *fuzz::core(s.r);
    auto patch = [](fuzz::Seed& p, int area, uint64_t off, int width_index, uint64_t value) {
        p.u8(kPatch).u8(uint64_t(area)).u16(off).u8(uint64_t(width_index)).le(value, kWidths[width_index]);
    };
    const uint64_t our_slot = (c.held_word >> 32) & 0x3fffffff;
    // Polls "a" and "b" until empty (with held buffers at selector 0).
    auto drain = [](fuzz::Seed& p) {
        for (int i = 0; i < 4; i++) p.u8(kPoll).u8(0);
        p.u8(kPoll).u8(1).u8(kPoll).u8(1);
    };

    fuzz::Seed calls;  // every call once, on real offsets and ids
    drain(calls);
    calls.u8(kAlloc).u8(2).u8(kSend).u8(0).u8(1).u8(0).u8(2).u8(kPoll).u8(1);
    calls.u8(kLookup).u8(2).u8(kReap).u8(kOpen).u8(3).u8(kSend).u8(2).u8(0).u8(0).u8(1).u8(kClose).u8(2);
    calls.u8(kPtr).u8(0).u8(kInfo).u8(0).u8(0).u8(kRelease).u8(0).u8(kRelease).u8(2).u8(kLookup).u8(5);
    fuzz::write_seed(dir, "calls", calls.bytes());

    fuzz::Seed full;  // fill "b" to EFULL, then one more
    for (int i = 0; i < 5; i++) full.u8(kAlloc).u8(1).u8(kSend).u8(0).u8(5).u8(0).u8(1);
    fuzz::write_seed(dir, "full", full.bytes());

    fuzz::Seed close_queued;  // close endpoints with messages queued, reopen, exhaust pools
    close_queued.u8(kClose).u8(0).u8(kClose).u8(0).u8(kOpen).u8(0).u8(kOpen).u8(3).u8(kOpen).u8(4).u8(kOpen).u8(1);
    for (int i = 0; i < 8; i++) close_queued.u8(kAlloc).u8(6);
    close_queued.u8(kLookup).u8(2).u8(kAlloc).u8(6);
    fuzz::write_seed(dir, "close_queued", close_queued.bytes());

    // Buffers: ours 0 (queued to "b"), 6, 10 and the peer's 2 (queued to "a"),
    // the peer's 3 (queued to "peer"); held: ours 1 and 7, the peer's 8.
    for (int i = 0; i < 9; i++) {  // each chosen owner word on queued buffers of "a", then poll "a"
        fuzz::Seed p;
        p.u8(kPatchOwner).u8(6).u8(uint64_t(i)).u8(kPatchOwner).u8(2).u8(uint64_t(i));
        drain(p);
        p.u8(kReap).u8(kClose).u8(0).u8(kInfo).u8(0).u8(0);
        fuzz::write_seed(dir, "owner_" + std::to_string(i), p.bytes());
    }
    for (int content = 0; content < 4; content++) {  // damaged inbox entries, then poll and send
        fuzz::Seed p;
        p.u8(kPatchEntry).u8(0).u8(0).u8(0).u8(0).u8(uint64_t(content)).u32(0xfffffe);
        p.u8(kPatchEntry).u8(1).u8(1).u8(1).u8(1).u8(uint64_t(content + 4));
        drain(p);
        p.u8(kAlloc).u8(1).u8(kSend).u8(0).u8(1).u8(0).u8(1).u8(kClose).u8(0);
        fuzz::write_seed(dir, "entry_" + std::to_string(content), p.bytes());
    }
    {
        fuzz::Seed p;  // tail hint of "b" far ahead, and behind
        patch(p, 1, 256 + offsetof(hsipc::EndpointSlot, tail_hint), 1, 1000);
        p.u8(kAlloc).u8(1).u8(kSend).u8(0).u8(5).u8(0).u8(1);
        patch(p, 1, 256 + offsetof(hsipc::EndpointSlot, tail_hint), 1, 0xfffffff0);
        p.u8(kAlloc).u8(1).u8(kSend).u8(0).u8(5).u8(0).u8(1).u8(kPoll).u8(1).u8(kPoll).u8(1);
        fuzz::write_seed(dir, "tail_hint", p.bytes());
    }
    {
        fuzz::Seed p;  // our own process slot marked free, then a lookup reaps
        patch(p, 0, our_slot * 64, 1, 0);
        p.u8(kLookup).u8(0).u8(kOpen).u8(3).u8(kPoll).u8(0).u8(kReap).u8(kAlloc).u8(2);
        fuzz::write_seed(dir, "own_slot_free", p.bytes());
    }
    {
        fuzz::Seed p;  // endpoint states: "a" closing, "b" opening, then lock-taking calls
        patch(p, 1, 0, 1, hsipc::kEndpointClosing);
        patch(p, 1, 256, 1, hsipc::kEndpointOpening);
        p.u8(kLookup).u8(1).u8(kOpen).u8(0).u8(kReap).u8(kPoll).u8(0).u8(kClose).u8(0);
        fuzz::write_seed(dir, "endpoint_states", p.bytes());
    }
    {
        fuzz::Seed p;  // owner slot of "b" out of range, gen of "a" changed
        patch(p, 1, 256 + offsetof(hsipc::EndpointSlot, owner_slot), 1, 0xffffffff);
        patch(p, 1, offsetof(hsipc::EndpointSlot, gen), 1, 77);
        p.u8(kInfo).u8(0).u8(1).u8(kLookup).u8(1).u8(kSend).u8(0).u8(0).u8(0).u8(1).u8(kPoll).u8(0);
        fuzz::write_seed(dir, "owner_slot", p.bytes());
    }
    {
        fuzz::Seed p;  // a queued buffer's length past its capacity
        patch(p, 3, 64 * 2 + offsetof(hsipc::BufferHeader, length), 2, 1ull << 40);
        patch(p, 3, 64 * 6 + offsetof(hsipc::BufferHeader, length), 2, 129);
        drain(p);
        fuzz::write_seed(dir, "length", p.bytes());
    }
    fuzz::write_seed(dir, "empty", {});
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    g_state = new State();
    setup(*g_state);
    if (const char* dir = fuzz::seed_dir()) {
        write_seeds(dir, *g_state);
        std::exit(0);
    }
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    restore(*g_state);
    Run(*g_state, data, size).run();
    return 0;
}
