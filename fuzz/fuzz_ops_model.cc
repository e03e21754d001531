// SPDX-License-Identifier: MIT
// Fuzz target: random operation sequences on one region in one process,
// each result checked against a simple model.
//
// Two regions are set up once (byte 0 of the input picks one): A with three
// small pools and no per-process limit, B with two pools and
// max_buffers_per_process 3. Both are put back as they were before each
// input (bytes, allocation cursors, the private held count).
//
// Input: byte 0 picks the region, then a program of operations, each an
// opcode byte and its arguments: alloc(size), release(a held buffer or a
// bogus offset), send(held buffer, from endpoint, to id, length), poll,
// endpoint open/close, lookup, reap, check (ptr/capacity, pool stats,
// endpoint info), and attaching or detaching a second handle to the same
// region (buffers belong to the process, endpoints to the handle).
//
// The model knows which buffers the process holds (and their capacity),
// which are free in each pool, the FIFO of each open endpoint's inbox and
// its capacity, and which names are open under which ids. It requires:
//  - alloc: EINVAL for 0, ETOOBIG above the largest pool, ENOMEM at the
//    per-process limit, else a free buffer of the smallest pool with one,
//    or ENOMEM when there is none;
//  - release: OK exactly for a held buffer, else EBADOFF (double release,
//    queued, free, made-up offsets);
//  - send: EBADOFF for a buffer not held, EINVAL for a length past its
//    capacity, EPEER for an id not open (closed, stale, made up) — where
//    several apply, any of them — else EFULL at the inbox's capacity, else
//    OK, the buffer then queued;
//  - poll (timeout 0): EAGAIN when empty, else the oldest message, with
//    its offset, length, sender id, data pointer and content (a pattern
//    written before the send);
//  - open: EINVAL for a bad name, EEXIST for an open one, ENOMEM when all
//    endpoint slots are used, else OK with an id never issued before;
//    close returns its queued buffers to the pools and makes its id stale;
//  - lookup: the open endpoint's id, ENOENT otherwise; reap: 0;
//  - pool stats, endpoint info and every owner word in the region agree.
// Any difference aborts with the operation and both results on stderr.
#include <unistd.h>

#include <cstdarg>
#include <cstring>
#include <deque>
#include <map>
#include <set>
#include <vector>

#include "fuzz_util.h"
#include "layout.h"
#include "liveness.h"
#include "pool.h"

namespace {

enum Op : uint8_t {
    kAlloc,    // handle, size
    kRelease,  // handle, offset
    kSend,     // from endpoint, to id, offset, length
    kPoll,     // endpoint
    kOpen,     // handle, name
    kClose,    // endpoint
    kLookup,   // handle, name
    kReap,     // handle
    kCheck,    // handle, offset
    kAttach2,
    kDetach2,
    kPollBatch,  // endpoint, max and linger
    kOpCount
};
const char* const kOpNames[] = {"alloc", "release", "send",    "poll",    "open",      "close",
                                "lookup", "reap",   "check",   "attach2", "detach2", "poll_batch"};

constexpr const char* kNames[] = {"n0", "n1", "n2", "n3", "n4", "n5", "bad name"};
constexpr size_t kNameCount = sizeof kNames / sizeof kNames[0];
constexpr size_t kValidNames = kNameCount - 1;
constexpr size_t kMaxOps = 1024;

struct RegionUnderTest {
    std::string name;
    hsipc_region* r = nullptr;
    hsipc_config cfg{};  // effective, from hsipc_region_config
    std::vector<uint8_t> snapshot;
};
RegionUnderTest* g_regions[2];

hsipc_config config_a() {
    hsipc_config cfg;
    hsipc_config_init(&cfg);
    cfg.max_endpoints = 3;
    cfg.inbox_capacity = 3;  // rounded up to 4
    cfg.pool_count = 3;
    cfg.pools[0] = {16, 3, 0};
    cfg.pools[1] = {64, 2, 0};
    cfg.pools[2] = {256, 2, 0};
    return cfg;
}

hsipc_config config_b() {
    hsipc_config cfg;
    hsipc_config_init(&cfg);
    cfg.max_endpoints = 4;
    cfg.inbox_capacity = 2;
    cfg.pool_count = 2;
    cfg.pools[0] = {8, 4, 0};
    cfg.pools[1] = {4096, 1, 0};
    cfg.max_buffers_per_process = 3;
    return cfg;
}

enum class Where { kFree, kHeld, kQueued };

struct Buf {
    uint32_t pool;
    uint64_t capacity;
    Where where;
    hsipc_id queued_to;
};

struct Msg {
    hsipc_off off;
    uint64_t length;
    hsipc_id from;
    uint8_t seed;
};

struct Ep {
    hsipc_endpoint* h;
    int handle;
    size_t name;
    hsipc_id id;
    std::deque<Msg> queue;
};

uint8_t pattern(uint8_t seed, uint64_t i) { return uint8_t(seed + i * 7 + (i >> 8)); }

unsigned long long ull(uint64_t v) { return v; }

class Model {
public:
    Model(RegionUnderTest& t, const uint8_t* data, size_t size) : t_(t), in_(data, size) {
        handles_.push_back(t.r);
        const hsipc::Layout& l = fuzz::core(t.r)->layout;
        for (uint32_t p = 0; p < l.config.pool_count; p++) {
            for (uint32_t i = 0; i < l.pools[p].count; i++) {
                bufs_[hsipc::buffer_offset(l, l.pools[p].first + i)] = Buf{p, l.pools[p].buffer_size, Where::kFree, 0};
            }
        }
    }

    void run() {
        for (size_t n = 0; n < kMaxOps && !in_.empty(); n++) {
            op_ = n;
            const Op op = Op(in_.u8() % kOpCount);
            op_name_ = kOpNames[op];
            step(op);
        }
        op_name_ = "final check";
        check_region(false);
        cleanup();
    }

private:
    // ---- the operations ----------------------------------------------------
    void step(Op op) {
        switch (op) {
            case kAlloc: {
                hsipc_region* r = pick_handle();
                const size_t size = pick_size();
                hsipc_off off = 0;
                const int rc = hsipc_alloc(r, size, &off);
                const int pool = expected_pool(size);
                const int expected = size == 0                     ? HSIPC_EINVAL
                                     : size > largest()            ? HSIPC_ETOOBIG
                                     : quota_reached() || pool < 0 ? HSIPC_ENOMEM
                                                                   : HSIPC_OK;
                expect(rc, expected, "alloc(%zu)", size);
                if (rc != HSIPC_OK) break;
                auto it = bufs_.find(off);
                if (it == bufs_.end() || it->second.where != Where::kFree || int(it->second.pool) != pool) {
                    mismatch("alloc(%zu) returned offset %llu, expected a free buffer of pool %d", size, ull(off), pool);
                }
                it->second.where = Where::kHeld;
                held_.push_back(off);
                check_held(r, off, "alloc");
                break;
            }
            case kRelease: {
                hsipc_region* r = pick_handle();
                const hsipc_off off = pick_offset();
                const int rc = hsipc_release(r, off);
                expect(rc, is_held(off) ? HSIPC_OK : HSIPC_EBADOFF, "release(%llu)", ull(off));
                if (rc == HSIPC_OK) {
                    bufs_[off].where = Where::kFree;
                    forget_held(off);
                }
                break;
            }
            case kSend: {
                if (eps_.empty()) break;
                Ep& from = eps_[in_.u8() % eps_.size()];
                const hsipc_id to = pick_id();
                const hsipc_off off = pick_offset();
                auto it = bufs_.find(off);
                const uint64_t cap = it == bufs_.end() ? 0 : it->second.capacity;
                const uint8_t sel = in_.u8();
                const uint64_t lengths[] = {0, 1, cap, cap + 1, sel % (cap + 1)};
                const uint64_t length = sel % 6 < 5 ? lengths[sel % 6] : in_.u64();
                const bool held = is_held(off);
                Ep* dest = find_ep(to);
                std::set<int> errors;
                if (!held) errors.insert(HSIPC_EBADOFF);
                if (it != bufs_.end() && length > cap) errors.insert(HSIPC_EINVAL);
                if (!dest) errors.insert(HSIPC_EPEER);
                const uint8_t seed = uint8_t(op_);
                if (held) {
                    auto* p = static_cast<uint8_t*>(hsipc_ptr(handles_[size_t(from.handle)], off));
                    if (!p) mismatch("hsipc_ptr(%llu) is NULL for a held buffer", ull(off));
                    for (uint64_t i = 0; i < length && i < cap; i++) p[i] = pattern(seed, i);
                }
                const int rc = hsipc_send_offset(from.h, to, off, size_t(length));
                if (!errors.empty()) {
                    if (!errors.count(rc)) {
                        std::string list;
                        for (int e : errors) list += " " + fuzz::status_name(e);
                        mismatch("send(off %llu, from %#x, to %#x, length %llu) returned %s, expected one of:%s",
                                 ull(off), from.id, to, ull(length), fuzz::status_name(rc).c_str(), list.c_str());
                    }
                    break;
                }
                const int expected = dest->queue.size() >= inbox_capacity() ? HSIPC_EFULL : HSIPC_OK;
                expect(rc, expected, "send(off %llu, from %#x, to %#x, length %llu)", ull(off), from.id, to, ull(length));
                if (rc != HSIPC_OK) break;
                dest->queue.push_back(Msg{off, length, from.id, seed});
                it->second.where = Where::kQueued;
                it->second.queued_to = to;
                forget_held(off);
                break;
            }
            case kPoll: {
                if (eps_.empty()) break;
                Ep& ep = eps_[in_.u8() % eps_.size()];
                hsipc_msg msg{};
                const int rc = hsipc_poll(ep.h, &msg, 0);
                expect(rc, ep.queue.empty() ? HSIPC_EAGAIN : HSIPC_OK, "poll(%#x)", ep.id);
                if (rc == HSIPC_OK) received(ep, msg, "poll");
                break;
            }
            case kPollBatch: {
                if (eps_.empty()) break;
                Ep& ep = eps_[in_.u8() % eps_.size()];
                const uint8_t arg = in_.u8();
                const size_t max = 1 + arg % 8;
                // One thread: everything queued is there, so lingering
                // (1 us) only waits for more that cannot come.
                const int64_t linger = arg & 0x80 ? 1000 : 0;
                hsipc_msg msgs[8];
                size_t count = 0;
                const int rc = hsipc_poll_batch(ep.h, msgs, max, 0, linger, &count);
                expect(rc, ep.queue.empty() ? HSIPC_EAGAIN : HSIPC_OK, "poll_batch(%#x, %zu)", ep.id, max);
                if (rc != HSIPC_OK) break;
                const size_t want = ep.queue.size() < max ? ep.queue.size() : max;
                if (count != want) mismatch("poll_batch(%#x, %zu) took %zu of %zu", ep.id, max, count, ep.queue.size());
                for (size_t i = 0; i < count; i++) received(ep, msgs[i], "poll_batch");
                break;
            }
            case kOpen: {
                const size_t handle = pick_handle_index();
                const size_t name = in_.u8() % kNameCount;
                hsipc_endpoint* h = nullptr;
                const int rc = hsipc_endpoint_open(handles_[handle], kNames[name], &h);
                const int expected = name >= kValidNames              ? HSIPC_EINVAL
                                     : find_name(name)                ? HSIPC_EEXIST
                                     : eps_.size() >= max_endpoints() ? HSIPC_ENOMEM
                                                                      : HSIPC_OK;
                expect(rc, expected, "open(%s)", kNames[name]);
                if (rc != HSIPC_OK) break;
                const hsipc_id id = hsipc_endpoint_id(h);
                if (id == 0 || !issued_.insert(id).second) mismatch("open(%s) gave id %#x, issued before", kNames[name], id);
                eps_.push_back(Ep{h, int(handle), name, id, {}});
                break;
            }
            case kClose: {
                if (eps_.empty()) break;
                const size_t i = in_.u8() % eps_.size();
                close_endpoint(i);
                break;
            }
            case kLookup: {
                hsipc_region* r = pick_handle();
                const size_t name = in_.u8() % kNameCount;
                hsipc_id id = 0;
                const int rc = hsipc_lookup(r, kNames[name], &id);
                const Ep* ep = find_name(name);
                expect(rc, name >= kValidNames ? HSIPC_EINVAL : ep ? HSIPC_OK : HSIPC_ENOENT, "lookup(%s)", kNames[name]);
                if (rc == HSIPC_OK && id != ep->id) mismatch("lookup(%s) gave %#x, expected %#x", kNames[name], id, ep->id);
                break;
            }
            case kReap:
                expect(hsipc_reap(pick_handle()), 0, "reap");
                break;
            case kCheck: {
                hsipc_region* r = pick_handle();
                const hsipc_off off = pick_offset();
                void* p = hsipc_ptr(r, off);
                const size_t cap = hsipc_capacity(r, off);
                if (is_held(off)) {
                    if (p != fuzz::core(r)->base + off || cap != bufs_[off].capacity) {
                        mismatch("held %llu: ptr %p capacity %zu, expected capacity %llu", ull(off), p, cap,
                                 ull(bufs_[off].capacity));
                    }
                } else if (p || cap) {
                    mismatch("not held %llu: ptr %p capacity %zu", ull(off), p, cap);
                }
                check_region(true);
                break;
            }
            case kAttach2: {
                if (handles_.size() > 1) break;
                hsipc_region* r2 = nullptr;
                expect(hsipc_attach(t_.name.c_str(), nullptr, &r2), HSIPC_OK, "attach of a second handle");
                handles_.push_back(r2);
                break;
            }
            case kDetach2:
                detach_second();
                break;
            case kOpCount:
                break;
        }
    }

    // Closing a handle closes its endpoints; the process keeps its buffers.
    void detach_second() {
        if (handles_.size() < 2) return;
        for (size_t i = eps_.size(); i-- > 0;) {
            if (eps_[i].handle == 1) drop_endpoint(i);
        }
        expect(hsipc_detach(handles_[1]), HSIPC_OK, "detach of the second handle");
        handles_.pop_back();
    }

    void close_endpoint(size_t i) {
        const hsipc_id id = eps_[i].id;
        expect(hsipc_endpoint_close(eps_[i].h), HSIPC_OK, "close(%#x)", id);
        drop_endpoint(i);
    }

    // The model's side of a close: queued buffers return to their pools.
    void drop_endpoint(size_t i) {
        for (const Msg& m : eps_[i].queue) bufs_[m.off].where = Where::kFree;
        closed_.push_back(eps_[i].id);
        eps_.erase(eps_.begin() + long(i));
    }

    void cleanup() {
        op_name_ = "cleanup";
        detach_second();
        while (!eps_.empty()) close_endpoint(eps_.size() - 1);
        for (hsipc_off off : held_) {
            expect(hsipc_release(t_.r, off), HSIPC_OK, "release(%llu)", ull(off));
            bufs_[off].where = Where::kFree;
        }
        held_.clear();
        check_region(false);
    }

    // ---- white-box checks ---------------------------------------------------
    // A poll gave msg: it must be the model's next message for ep, intact.
    void received(Ep& ep, const hsipc_msg& msg, const char* how) {
        const Msg m = ep.queue.front();
        ep.queue.pop_front();
        hsipc_region* r = handles_[size_t(ep.handle)];
        const uint8_t* want = fuzz::core(r)->base + m.off;
        if (msg.off != m.off || msg.length != m.length || msg.from != m.from || msg.data != want) {
            mismatch("%s(%#x) gave {off %llu, length %llu, from %#x, data %p}, expected {%llu, %llu, %#x, %p}", how,
                     ep.id, ull(msg.off), ull(msg.length), msg.from, msg.data, ull(m.off), ull(m.length), m.from,
                     static_cast<const void*>(want));
        }
        for (uint64_t i = 0; i < m.length; i++) {
            if (want[i] != pattern(m.seed, i)) {
                mismatch("%s(%#x): byte %llu of the message is %#x, sent %#x", how, ep.id, ull(i), want[i],
                         pattern(m.seed, i));
            }
        }
        bufs_[m.off].where = Where::kHeld;
        held_.push_back(m.off);
        check_held(r, m.off, how);
    }

    void check_held(hsipc_region* r, hsipc_off off, const char* how) {
        void* p = hsipc_ptr(r, off);
        const size_t cap = hsipc_capacity(r, off);
        if (p != fuzz::core(r)->base + off || cap != bufs_[off].capacity) {
            mismatch("after %s, %llu: ptr %p capacity %zu, expected capacity %llu", how, ull(off), p, cap,
                     ull(bufs_[off].capacity));
        }
    }

    // Every owner word, the pool stats, the private held count and (where
    // asked: it takes the region lock per slot) the endpoint table agree
    // with the model.
    void check_region(bool endpoints) {
        const hsipc::Region& c = *fuzz::core(t_.r);
        const hsipc::Layout& l = c.layout;
        std::vector<hsipc_pool_stats> expected(l.config.pool_count);
        for (const auto& [off, b] : bufs_) {
            uint32_t index = 0;
            if (!hsipc::buffer_at_offset(l, off, &index)) mismatch("model offset %llu is no buffer", ull(off));
            uint64_t want = 0;
            if (b.where == Where::kHeld) {
                want = c.held_word;
                expected[b.pool].held_count++;
            } else if (b.where == Where::kQueued) {
                // Sent by this process: the word names it as the sender.
                want = hsipc::queued_word(b.queued_to, hsipc::owner_index(c.held_word), hsipc::owner_gen(c.held_word));
                expected[b.pool].queued_count++;
            } else {
                expected[b.pool].free_count++;
            }
            const uint64_t got = c.buffer(index).owner.load();
            if (got != want) mismatch("buffer %llu: owner word %#llx, expected %#llx", ull(off), ull(got), ull(want));
        }
        for (uint32_t p = 0; p < l.config.pool_count; p++) {
            hsipc_pool_stats st{};
            st.struct_size = sizeof st;
            expect(hsipc_region_pool_stats(t_.r, p, &st), HSIPC_OK, "pool_stats(%u)", p);
            if (st.free_count != expected[p].free_count || st.held_count != expected[p].held_count ||
                st.queued_count != expected[p].queued_count || st.buffer_count != l.pools[p].count) {
                mismatch("pool %u stats free/held/queued %u/%u/%u, expected %u/%u/%u", p, st.free_count, st.held_count,
                         st.queued_count, expected[p].free_count, expected[p].held_count, expected[p].queued_count);
            }
        }
        for (uint32_t slot = 0; endpoints && slot < max_endpoints(); slot++) {
            hsipc_endpoint_info info{};
            info.struct_size = sizeof info;
            const int rc = hsipc_region_endpoint_info(t_.r, slot, &info);
            const Ep* ep = nullptr;
            for (const Ep& e : eps_) {
                if ((e.id & ((1u << fuzz::core(t_.r)->layout.id_index_bits) - 1)) == slot + 1) ep = &e;
            }
            expect(rc, ep ? HSIPC_OK : HSIPC_ENOENT, "endpoint_info(%u)", slot);
            if (ep && (info.id != ep->id || std::string(info.name) != kNames[ep->name] || info.owner_alive != 1 ||
                       info.queued != ep->queue.size() || info.owner_pid != getpid())) {
                mismatch("endpoint_info(%u): id %#x name %s alive %u queued %u pid %d, expected %#x %s 1 %zu %d", slot,
                         info.id, info.name, info.owner_alive, info.queued, info.owner_pid, ep->id, kNames[ep->name],
                         ep->queue.size(), int(getpid()));
            }
        }
        if (quota() != 0 && c.held_count->load() != int64_t(held_.size())) {
            mismatch("held count %lld, the model holds %zu", static_cast<long long>(c.held_count->load()),
                     held_.size());
        }
    }

    // ---- choosing arguments -------------------------------------------------
    size_t pick_handle_index() { return in_.u8() % handles_.size(); }
    hsipc_region* pick_handle() { return handles_[pick_handle_index()]; }

    size_t pick_size() {
        const uint8_t sel = in_.u8();
        const hsipc_config& c = t_.cfg;
        switch (sel % 6) {
            case 0: return 0;
            case 1: return 1;
            case 2: return size_t(c.pools[(sel / 6) % c.pool_count].buffer_size);
            case 3: return size_t(c.pools[(sel / 6) % c.pool_count].buffer_size + 1);
            case 4: return in_.u16();
            default: return size_t(in_.u64());
        }
    }

    // A held buffer, a buffer in another state, or an offset that is none.
    hsipc_off pick_offset() {
        const uint8_t sel = in_.u8();
        switch (sel % 5) {
            case 0:
            case 1:
                if (!held_.empty()) return held_[(sel / 5) % held_.size()];
                [[fallthrough]];
            case 2: {
                auto it = bufs_.begin();
                std::advance(it, (sel / 5) % bufs_.size());
                return it->first;
            }
            case 3: {
                auto it = bufs_.begin();
                std::advance(it, (sel / 5) % bufs_.size());
                return it->first + 1 + in_.u8() % 64;
            }
            default:
                return in_.u64();
        }
    }

    // An open endpoint's id, a closed one's, or any number.
    hsipc_id pick_id() {
        const uint8_t sel = in_.u8();
        switch (sel % 4) {
            case 0:
            case 1:
                if (!eps_.empty()) return eps_[(sel / 4) % eps_.size()].id;
                [[fallthrough]];
            case 2:
                if (!closed_.empty()) return closed_[(sel / 4) % closed_.size()];
                [[fallthrough]];
            default:
                return in_.u32();
        }
    }

    // ---- the model's state ----------------------------------------------------
    uint64_t largest() const { return t_.cfg.pools[t_.cfg.pool_count - 1].buffer_size; }
    uint32_t quota() const { return t_.cfg.max_buffers_per_process; }
    uint32_t inbox_capacity() const { return t_.cfg.inbox_capacity; }
    uint32_t max_endpoints() const { return t_.cfg.max_endpoints; }
    bool quota_reached() const { return quota() != 0 && held_.size() >= quota(); }
    bool is_held(hsipc_off off) const {
        auto it = bufs_.find(off);
        return it != bufs_.end() && it->second.where == Where::kHeld;
    }

    // The smallest pool that fits `size` and has a free buffer; -1 if none.
    int expected_pool(size_t size) const {
        for (uint32_t p = 0; p < t_.cfg.pool_count; p++) {
            if (t_.cfg.pools[p].buffer_size < size) continue;
            for (const auto& [off, b] : bufs_) {
                if (b.pool == p && b.where == Where::kFree) return int(p);
            }
        }
        return -1;
    }

    Ep* find_ep(hsipc_id id) {
        for (Ep& e : eps_) {
            if (e.id == id) return &e;
        }
        return nullptr;
    }
    const Ep* find_name(size_t name) const {
        for (const Ep& e : eps_) {
            if (e.name == name) return &e;
        }
        return nullptr;
    }

    void forget_held(hsipc_off off) {
        for (size_t i = 0; i < held_.size(); i++) {
            if (held_[i] == off) {
                held_.erase(held_.begin() + long(i));
                return;
            }
        }
    }

    // ---- reporting ---------------------------------------------------------------
    void expect(int rc, int expected, const char* what, ...) __attribute__((format(printf, 4, 5))) {
        if (rc == expected) return;
        va_list ap;
        va_start(ap, what);
        const std::string call = fuzz::vformat(what, ap);
        va_end(ap);
        mismatch("%s returned %s, the model expects %s", call.c_str(), fuzz::status_name(rc).c_str(),
                 fuzz::status_name(expected).c_str());
    }

    [[noreturn]] void mismatch(const char* format, ...) __attribute__((format(printf, 2, 3))) {
        va_list ap;
        va_start(ap, format);
        const std::string what = fuzz::vformat(format, ap);
        va_end(ap);
        fuzz::fail("model mismatch in region %s at operation %zu (%s): %s\n  model: %zu held, %zu endpoints open",
                   t_.name.c_str(), op_, op_name_, what.c_str(), held_.size(), eps_.size());
    }

    RegionUnderTest& t_;
    fuzz::Input in_;
    std::vector<hsipc_region*> handles_;  // [0] the region's own, [1] a second one if attached
    std::map<hsipc_off, Buf> bufs_;
    std::vector<hsipc_off> held_;
    std::vector<Ep> eps_;
    std::vector<hsipc_id> closed_;
    std::set<hsipc_id> issued_;
    size_t op_ = 0;
    const char* op_name_ = "";
};

void restore(RegionUnderTest& t) {
    hsipc::Region& c = *fuzz::core(t.r);
    std::memcpy(c.base, t.snapshot.data(), t.snapshot.size());
    for (auto& cursor : c.alloc_cursor) cursor.store(0, std::memory_order_relaxed);
    c.held_count->store(0, std::memory_order_relaxed);
}

RegionUnderTest* setup(const char* tag, const hsipc_config& cfg) {
    auto* t = new RegionUnderTest();
    t->name = fuzz::unique_region_name(tag);  // kept: the second handle attaches by name
    t->r = fuzz::attach_or_die(t->name, cfg);
    hsipc_config_init(&t->cfg);
    if (hsipc_region_config(t->r, &t->cfg) != HSIPC_OK) fuzz::fail("setup: hsipc_region_config");
    const hsipc::Region& c = *fuzz::core(t->r);
    t->snapshot.assign(c.base, c.base + c.size);
    return t;
}

void write_seeds(const char* dir) {
    auto seed = [&](const char* file, std::initializer_list<uint8_t> bytes) {
        fuzz::write_seed(dir, file, std::vector<uint8_t>(bytes));
    };
    // Region A: open two endpoints, send one way and back, poll, close.
    seed("ping_pong", {0,     kOpen, 0, 0, kOpen, 0, 1, kAlloc, 0, 1,    kSend,  0, 1, 0, 1, kPoll, 1, kSend, 1, 0,
                       0,     1,     kPoll, 0,  kCheck, 0, 0, kClose, 0, kLookup, 0, 0, kLookup, 0, 1, kRelease, 0, 0});
    // Fill an inbox to EFULL, poll one, send again.
    seed("full", {0, kOpen, 0, 0, kAlloc, 0, 1, kSend, 0, 0, 0, 1, kAlloc, 0, 1, kSend, 0, 0, 0, 1, kAlloc, 0, 1,
                  kSend, 0, 0, 0, 1, kAlloc, 0, 2, kSend, 0, 0, 0, 1, kAlloc, 0, 2, kSend, 0, 0, 0, 1, kPoll, 0,
                  kSend, 0, 0, 0, 1, kCheck, 0, 0});
    // Exhaust every pool, ETOOBIG, EINVAL, release twice.
    seed("exhaust", {0, kAlloc, 0, 1, kAlloc, 0, 1, kAlloc, 0, 1, kAlloc, 0, 1, kAlloc, 0, 1, kAlloc, 0, 1,
                     kAlloc, 0, 1, kAlloc, 0, 1, kAlloc, 0, 0, kAlloc, 0, 9, kRelease, 0, 0, kRelease, 0, 0,
                     kRelease, 0, 3, kReap, 0});
    // Close with messages queued; send to the stale id; reopen the name.
    seed("close_queued", {0, kOpen, 0, 0, kOpen, 0, 1, kAlloc, 0, 1, kSend, 0, 1, 0, 1, kAlloc, 0, 1, kSend, 0, 1, 0,
                          1, kClose, 1, kAlloc, 0, 1, kSend, 0, 2, 0, 1, kOpen, 0, 1, kLookup, 0, 1, kCheck, 0, 0});
    // All endpoint slots used, bad names, EEXIST.
    seed("endpoints", {0, kOpen, 0, 0, kOpen, 0, 1, kOpen, 0, 2, kOpen, 0, 3, kOpen, 0, 0, kOpen, 0, 6, kLookup, 0,
                       6, kLookup, 0, 5, kClose, 2, kOpen, 0, 4});
    // A second handle: endpoints through it, buffers shared by the process.
    seed("two_handles", {0, kAttach2, kOpen, 1, 0, kOpen, 0, 1, kAlloc, 1, 1, kSend, 1, 1, 0, 1, kAlloc, 0, 2,
                         kSend, 0, 0, 0, 1, kRelease, 0, 0, kDetach2, kCheck, 0, 0, kPoll, 0, kAttach2, kOpen, 1, 0});
    // Region B: the per-process limit, and receiving past it.
    seed("quota", {1, kOpen, 0, 0, kAlloc, 0, 1, kAlloc, 0, 1, kAlloc, 0, 1, kAlloc, 0, 1, kSend, 0, 0, 0, 1,
                   kAlloc, 0, 1, kAlloc, 0, 1, kPoll, 0, kAlloc, 0, 1, kRelease, 0, 0, kAlloc, 0, 8, kCheck, 0, 0});
    seed("big_buffer", {1, kOpen, 0, 0, kAlloc, 0, 3, kSend, 0, 0, 0, 2, kPoll, 0, kSend, 0, 0, 0, 3, kCheck, 0, 0});
    // Batched receive: three queued, a batch of up to four (lingering), then
    // an empty inbox.
    seed("poll_batch", {0, kOpen, 0, 0, kAlloc, 0, 1, kSend, 0, 0, 0, 1, kAlloc, 0, 1, kSend, 0, 0, 0, 1, kAlloc, 0, 1,
                        kSend, 0, 0, 0, 1, kPollBatch, 0, 0x83, kPollBatch, 0, 1, kRelease, 0, 0, kCheck, 0, 0});
    seed("empty", {});
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    g_regions[0] = setup("model-a", config_a());
    g_regions[1] = setup("model-b", config_b());
    if (const char* dir = fuzz::seed_dir()) {
        write_seeds(dir);
        std::exit(0);
    }
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    RegionUnderTest& t = *g_regions[data[0] % 2];
    restore(t);
    Model(t, data + 1, size - 1).run();
    return 0;
}
