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
// endpoint info), attaching or detaching a second handle to the same
// region (buffers belong to the process, endpoints to the handle), topic
// open, subscribe, unsubscribe, publish(held buffer, from endpoint, topic
// id, length), and detaching every handle (the process leaves the region)
// and attaching again.
//
// The model knows which buffers the process holds (and their capacity),
// which are free in each pool, the FIFO of each open endpoint's inbox and
// its capacity, which names are open under which ids, the topic table and
// every subscriber list word by word, and for each shared buffer its
// share epoch and every reference word (queued to a subscriber, held by us
// once polled, free once let go). It requires:
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
//  - topic open: EINVAL for a bad name, ENOMEM without topics or with the
//    table full, else the id of the named topic's slot (the first free
//    one for a new name); subscribe: EINVAL, ENOMEM (no topics, table or
//    list full), else OK, stored in the first free word of the list (OK
//    and nothing changes where already there); unsubscribe: EINVAL, ENOENT
//    (no such topic, not subscribed), else that word cleared;
//  - publish: EINVAL for an id that names no open topic, else EBADOFF for
//    a buffer not held (shared ones included), else EINVAL for a length
//    past its capacity, else OK with *delivered the subscribers with room
//    and *skipped those with full inboxes; the buffer is free where no one
//    took it, else shared with a new epoch, one reference per subscriber;
//  - a poll of a shared message: flagged HSIPC_MSG_SHARED, its reference
//    held by us; release lets one reference go, and the buffer is free
//    with the last; a close lets go the references queued to the endpoint
//    and takes it out of every list; detaching every handle gives back
//    every buffer and reference, and the next attach finds them free;
//  - pool stats, endpoint info, every owner word, share epoch, reference
//    word, topic slot and subscriber word in the region agree.
// Any difference aborts with the operation and both results on stderr.
#include <unistd.h>

#include <algorithm>
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
    // Appended, so that older inputs keep their meaning.
    kTopicOpen,    // handle, name
    kSubscribe,    // endpoint, name
    kUnsubscribe,  // endpoint, name
    kPublish,      // from endpoint, topic id, offset, length, whether skipped is asked for
    kDetachAll,    // every handle, then attach again
    kOpCount
};
const char* const kOpNames[] = {"alloc",      "release",   "send",      "poll",        "open",
                                "close",      "lookup",    "reap",      "check",       "attach2",
                                "detach2",    "poll_batch", "topic_open", "subscribe", "unsubscribe",
                                "publish",    "detach_all"};
static_assert(sizeof kOpNames / sizeof kOpNames[0] == kOpCount);

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
    // Small enough that both the table and a list fill up.
    cfg.max_topics = 2;
    cfg.max_subscribers = 2;
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
    cfg.max_topics = 1;
    cfg.max_subscribers = 3;
    return cfg;
}

enum class Where { kFree, kHeld, kQueued, kShared };

struct Buf {
    uint32_t pool;
    uint64_t capacity;
    Where where;
    hsipc_id queued_to;
    // Its share_epoch (kept through frees), and where shared its reference
    // words as the region should have them (max_subscribers of them).
    uint32_t epoch;
    std::vector<uint64_t> refs;
};

struct Msg {
    hsipc_off off;
    uint64_t length;
    hsipc_id from;
    uint8_t seed;
    bool shared;
};

// A topic slot: its name (an index of kNames) and its subscriber list.
struct Topic {
    size_t name;
    std::vector<hsipc_id> subscribers;
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
                bufs_[hsipc::buffer_offset(l, l.pools[p].first + i)] =
                    Buf{p, l.pools[p].buffer_size, Where::kFree, 0, 0, {}};
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
                expect(rc, is_readable(off) ? HSIPC_OK : HSIPC_EBADOFF, "release(%llu)", ull(off));
                if (rc == HSIPC_OK) model_release(off);
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
                dest->queue.push_back(Msg{off, length, from.id, seed, false});
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
                if (is_readable(off)) {
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
            case kTopicOpen: {
                hsipc_region* r = pick_handle();
                const size_t name = in_.u8() % kNameCount;
                hsipc_id id = 0;
                const int rc = hsipc_topic_open(r, kNames[name], &id);
                int index = -1;
                const int expected = name >= kValidNames ? HSIPC_EINVAL : find_or_create_topic(name, &index);
                expect(rc, expected, "topic_open(%s)", kNames[name]);
                if (rc == HSIPC_OK && id != topic_id(size_t(index))) {
                    mismatch("topic_open(%s) gave %#x, expected %#x", kNames[name], id, topic_id(size_t(index)));
                }
                break;
            }
            case kSubscribe: {
                if (eps_.empty()) break;
                Ep& ep = eps_[in_.u8() % eps_.size()];
                const size_t name = in_.u8() % kNameCount;
                const int rc = hsipc_subscribe(ep.h, kNames[name]);
                int expected = HSIPC_EINVAL, index = -1;
                if (name < kValidNames) expected = find_or_create_topic(name, &index);
                std::vector<hsipc_id>* list = index >= 0 ? &topics_[size_t(index)].subscribers : nullptr;
                size_t word = 0;
                if (list) {
                    // Already there: nothing to do. Else the first free word.
                    word = std::find(list->begin(), list->end(), ep.id) - list->begin();
                    if (word == list->size()) {
                        word = std::find(list->begin(), list->end(), 0u) - list->begin();
                        if (word == list->size()) expected = HSIPC_ENOMEM;
                    }
                }
                expect(rc, expected, "subscribe(%#x, %s)", ep.id, kNames[name]);
                if (rc == HSIPC_OK) (*list)[word] = ep.id;
                break;
            }
            case kUnsubscribe: {
                if (eps_.empty()) break;
                Ep& ep = eps_[in_.u8() % eps_.size()];
                const size_t name = in_.u8() % kNameCount;
                const int rc = hsipc_unsubscribe(ep.h, kNames[name]);
                int expected = name < kValidNames ? HSIPC_ENOENT : HSIPC_EINVAL;
                hsipc_id* word = nullptr;
                for (Topic& t : topics_) {
                    if (t.name != name) continue;
                    auto it = std::find(t.subscribers.begin(), t.subscribers.end(), ep.id);
                    if (it != t.subscribers.end()) {
                        word = &*it;
                        expected = HSIPC_OK;
                    }
                }
                expect(rc, expected, "unsubscribe(%#x, %s)", ep.id, kNames[name]);
                if (rc == HSIPC_OK) *word = 0;
                break;
            }
            case kPublish:
                publish();
                break;
            case kDetachAll:
                detach_all();
                break;
            case kOpCount:
                break;
        }
    }

    void publish() {
        if (eps_.empty()) return;
        Ep& from = eps_[in_.u8() % eps_.size()];
        const hsipc_id topic = pick_topic_id();
        const hsipc_off off = pick_offset();
        auto it = bufs_.find(off);
        const uint64_t cap = it == bufs_.end() ? 0 : it->second.capacity;
        const uint8_t sel = in_.u8();
        const uint64_t lengths[] = {0, 1, cap, cap + 1, sel % (cap + 1)};
        const uint64_t length = sel % 6 < 5 ? lengths[sel % 6] : in_.u64();
        const bool ask_skipped = (sel & 0x80) == 0;
        const int index = topic_index(topic);
        const bool held = is_held(off);
        // In this order: the topic, the buffer, the length.
        const int expected = index < 0 ? HSIPC_EINVAL : !held ? HSIPC_EBADOFF : length > cap ? HSIPC_EINVAL : HSIPC_OK;
        const uint8_t seed = uint8_t(op_);
        if (held) {
            auto* p = static_cast<uint8_t*>(hsipc_ptr(handles_[size_t(from.handle)], off));
            if (!p) mismatch("hsipc_ptr(%llu) is NULL for a held buffer", ull(off));
            for (uint64_t i = 0; i < length && i < cap; i++) p[i] = pattern(seed, i);
        }
        uint32_t delivered = 777, skipped = 777;
        const int rc = hsipc_publish(from.h, topic, off, size_t(length), &delivered, ask_skipped ? &skipped : nullptr);
        expect(rc, expected, "publish(off %llu, from %#x, topic %#x, length %llu)", ull(off), from.id, topic,
               ull(length));
        if (rc != HSIPC_OK) {
            if (delivered != 777 || skipped != 777) mismatch("a failed publish set delivered or skipped");
            return;
        }
        forget_held(off);
        Buf& b = it->second;
        // The list as the publisher reads it: its non-zero words in order.
        std::vector<hsipc_id> subscribers;
        for (hsipc_id id : topics_[size_t(index)].subscribers) {
            if (id != 0) subscribers.push_back(id);
        }
        uint32_t want_delivered = 0, want_skipped = 0;
        if (subscribers.empty()) {
            b.where = Where::kFree;
        } else {
            b.where = Where::kShared;
            b.epoch++;
            b.refs.assign(max_subscribers(), 0);
            for (size_t i = 0; i < subscribers.size(); i++) {
                Ep* dest = find_ep(subscribers[i]);
                if (!dest) mismatch("model: subscriber %#x is not open", subscribers[i]);
                if (dest->queue.size() >= inbox_capacity()) {
                    want_skipped++;
                    continue;
                }
                want_delivered++;
                b.refs[i] = queued_word(dest->id);
                dest->queue.push_back(Msg{off, length, from.id, seed, true});
            }
            free_if_unreferenced(b);
        }
        if (delivered != want_delivered || (ask_skipped && skipped != want_skipped) || (!ask_skipped && skipped != 777)) {
            mismatch("publish(off %llu, topic %#x) delivered %u, skipped %u; expected %u, %u%s", ull(off), topic,
                     delivered, skipped, want_delivered, want_skipped, ask_skipped ? "" : " (not asked: 777)");
        }
    }

    // The process leaves the region (every handle detached: its endpoints
    // close, its buffers and references go back) and attaches again.
    void detach_all() {
        detach_second();
        for (size_t i = eps_.size(); i-- > 0;) drop_endpoint(i);
        while (!held_.empty()) model_release(held_.back());
        expect(hsipc_detach(t_.r), HSIPC_OK, "detach of the last handle");
        t_.r = nullptr;
        handles_.clear();
        hsipc_region* r = nullptr;
        expect(hsipc_attach(t_.name.c_str(), nullptr, &r), HSIPC_OK, "attach after detaching");
        t_.r = r;
        handles_.push_back(r);
        // The next input starts from the snapshot: with our new process slot
        // in it, not the one we left.
        const hsipc::Region& c = *fuzz::core(r);
        const uint64_t table = c.layout.process_table_off, bytes = uint64_t(c.process_slots()) * sizeof(hsipc::ProcessSlot);
        std::memcpy(t_.snapshot.data() + table, c.base + table, bytes);
        check_region(true);
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

    // The model's side of a close: queued buffers return to their pools,
    // queued references go (the buffer with the last), and the endpoint
    // leaves every subscriber list.
    void drop_endpoint(size_t i) {
        const hsipc_id id = eps_[i].id;
        for (const Msg& m : eps_[i].queue) {
            Buf& b = bufs_[m.off];
            if (!m.shared) {
                b.where = Where::kFree;
                continue;
            }
            auto ref = std::find(b.refs.begin(), b.refs.end(), queued_word(id));
            if (ref == b.refs.end()) mismatch("model: no reference of %llu queued to %#x", ull(m.off), id);
            *ref = 0;
            free_if_unreferenced(b);
        }
        for (Topic& t : topics_) std::replace(t.subscribers.begin(), t.subscribers.end(), id, 0u);
        closed_.push_back(id);
        eps_.erase(eps_.begin() + long(i));
    }

    // The model's side of a release of `off`, which we hold or hold a
    // reference to.
    void model_release(hsipc_off off) {
        Buf& b = bufs_[off];
        forget_held(off);
        if (b.where == Where::kHeld) {
            b.where = Where::kFree;
            return;
        }
        // The first reference held by us goes (pool.cc: share_find).
        auto ref = std::find(b.refs.begin(), b.refs.end(), held_word());
        if (b.where != Where::kShared || ref == b.refs.end()) mismatch("model: release of %llu, not held", ull(off));
        *ref = 0;
        free_if_unreferenced(b);
    }

    static void free_if_unreferenced(Buf& b) {
        if (std::all_of(b.refs.begin(), b.refs.end(), [](uint64_t w) { return w == 0; })) b.where = Where::kFree;
    }

    void cleanup() {
        op_name_ = "cleanup";
        detach_second();
        while (!eps_.empty()) close_endpoint(eps_.size() - 1);
        while (!held_.empty()) {
            const hsipc_off off = held_.back();
            expect(hsipc_release(t_.r, off), HSIPC_OK, "release(%llu)", ull(off));
            model_release(off);
        }
        check_region(false);
    }

    // ---- white-box checks ---------------------------------------------------
    // A poll gave msg: it must be the model's next message for ep, intact.
    void received(Ep& ep, const hsipc_msg& msg, const char* how) {
        const Msg m = ep.queue.front();
        ep.queue.pop_front();
        hsipc_region* r = handles_[size_t(ep.handle)];
        const uint8_t* want = fuzz::core(r)->base + m.off;
        const uint32_t flags = m.shared ? HSIPC_MSG_SHARED : 0;
        if (msg.off != m.off || msg.length != m.length || msg.from != m.from || msg.data != want || msg.flags != flags) {
            mismatch("%s(%#x) gave {off %llu, length %llu, from %#x, flags %u, data %p}, expected {%llu, %llu, %#x, "
                     "%u, %p}",
                     how, ep.id, ull(msg.off), ull(msg.length), msg.from, msg.flags, msg.data, ull(m.off),
                     ull(m.length), m.from, flags, static_cast<const void*>(want));
        }
        for (uint64_t i = 0; i < m.length; i++) {
            if (want[i] != pattern(m.seed, i)) {
                mismatch("%s(%#x): byte %llu of the message is %#x, sent %#x", how, ep.id, ull(i), want[i],
                         pattern(m.seed, i));
            }
        }
        Buf& b = bufs_[m.off];
        if (m.shared) {
            // Our reference, queued to us, is now held by us (message.cc:
            // the first queued to this endpoint).
            auto ref = std::find(b.refs.begin(), b.refs.end(), queued_word(ep.id));
            if (ref == b.refs.end()) mismatch("model: no reference of %llu queued to %#x", ull(m.off), ep.id);
            *ref = held_word();
        } else {
            b.where = Where::kHeld;
        }
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
                want = queued_word(b.queued_to);
                expected[b.pool].queued_count++;
            } else if (b.where == Where::kShared) {
                want = hsipc::owner_word(hsipc::kOwnerShared, 0, b.epoch);
                expected[b.pool].shared_count++;
                for (uint32_t i = 0; i < max_subscribers(); i++) {
                    const uint64_t ref = c.share_ref(index, i).load();
                    if (ref != b.refs[i]) {
                        mismatch("buffer %llu: reference %u is %#llx, expected %#llx", ull(off), i, ull(ref),
                                 ull(b.refs[i]));
                    }
                }
            } else {
                expected[b.pool].free_count++;
            }
            const uint64_t got = c.buffer(index).owner.load();
            if (got != want) mismatch("buffer %llu: owner word %#llx, expected %#llx", ull(off), ull(got), ull(want));
            const uint32_t epoch = c.buffer(index).share_epoch.load();
            if (epoch != b.epoch) mismatch("buffer %llu: share epoch %u, expected %u", ull(off), epoch, b.epoch);
        }
        for (uint32_t p = 0; p < l.config.pool_count; p++) {
            hsipc_pool_stats st{};
            st.struct_size = sizeof st;
            expect(hsipc_region_pool_stats(t_.r, p, &st), HSIPC_OK, "pool_stats(%u)", p);
            const hsipc_pool_stats& e = expected[p];
            if (st.free_count != e.free_count || st.held_count != e.held_count || st.queued_count != e.queued_count ||
                st.shared_count != e.shared_count || st.buffer_count != l.pools[p].count) {
                mismatch("pool %u stats free/held/queued/shared %u/%u/%u/%u, expected %u/%u/%u/%u", p, st.free_count,
                         st.held_count, st.queued_count, st.shared_count, e.free_count, e.held_count, e.queued_count,
                         e.shared_count);
            }
        }
        // The topic table and every subscriber word.
        for (uint32_t t = 0; t < c.max_topics(); t++) {
            const hsipc::TopicSlot& slot = c.topic_slot(t);
            const uint32_t state = slot.state.load();
            if (t >= topics_.size()) {
                if (state != hsipc::kTopicFree) mismatch("topic slot %u: state %u, expected free", t, state);
                continue;
            }
            const Topic& topic = topics_[t];
            if (state != hsipc::kTopicOpen || std::strncmp(slot.name, kNames[topic.name], sizeof slot.name) != 0) {
                mismatch("topic slot %u: state %u name %.64s, expected open %s", t, state, slot.name, kNames[topic.name]);
            }
            for (uint32_t i = 0; i < max_subscribers(); i++) {
                const hsipc_id id = c.subscriber(t, i).load();
                if (id != topic.subscribers[i]) {
                    mismatch("topic %s: subscriber word %u is %#x, expected %#x", kNames[topic.name], i, id,
                             topic.subscribers[i]);
                }
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

    // An open topic's id, one of a slot not (yet) open, an endpoint's id, or
    // any number.
    hsipc_id pick_topic_id() {
        const uint8_t sel = in_.u8();
        switch (sel % 6) {
            case 0:
            case 1:
            case 2:
                if (!topics_.empty()) return topic_id((sel / 6) % topics_.size());
                [[fallthrough]];
            case 3:
                return topic_id(topics_.size() + (sel / 6) % 2);  // the next free slot, or past the table
            case 4:
                if (!eps_.empty()) return eps_[(sel / 6) % eps_.size()].id;
                return hsipc::kTopicIdBit;  // index 0: no slot
            default:
                return in_.u32();
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
    uint32_t max_topics() const { return t_.cfg.max_topics; }
    uint32_t max_subscribers() const { return t_.cfg.max_topics == 0 ? 0 : t_.cfg.max_subscribers; }
    uint64_t held_word() const { return fuzz::core(t_.r)->held_word; }
    // A word queued by this process to endpoint `to`.
    uint64_t queued_word(hsipc_id to) const {
        return hsipc::queued_word(to, hsipc::owner_index(held_word()), hsipc::owner_gen(held_word()));
    }
    // Held by us alone: what send and publish take.
    bool is_held(hsipc_off off) const {
        auto it = bufs_.find(off);
        return it != bufs_.end() && it->second.where == Where::kHeld;
    }
    // Held, or shared with a reference held by us: what ptr, capacity and
    // release accept.
    bool is_readable(hsipc_off off) const {
        auto it = bufs_.find(off);
        if (it == bufs_.end()) return false;
        const Buf& b = it->second;
        return b.where == Where::kHeld ||
               (b.where == Where::kShared && std::find(b.refs.begin(), b.refs.end(), held_word()) != b.refs.end());
    }

    static hsipc_id topic_id(size_t index) { return hsipc::kTopicIdBit | hsipc_id(index + 1); }
    // The open topic `id` names, or -1.
    int topic_index(hsipc_id id) const {
        if ((id & hsipc::kTopicIdBit) == 0) return -1;
        const uint32_t plus_one = id & ~hsipc::kTopicIdBit;
        return plus_one >= 1 && plus_one <= topics_.size() ? int(plus_one - 1) : -1;
    }
    // topic_open's lookup: the topic named `name` (a valid name), made in
    // the first free slot where there is none. HSIPC_ENOMEM where it cannot be.
    int find_or_create_topic(size_t name, int* index) {
        for (size_t t = 0; t < topics_.size(); t++) {
            if (topics_[t].name == name) {
                *index = int(t);
                return HSIPC_OK;
            }
        }
        if (topics_.size() >= max_topics()) return HSIPC_ENOMEM;
        topics_.push_back(Topic{name, std::vector<hsipc_id>(max_subscribers(), 0)});
        *index = int(topics_.size() - 1);
        return HSIPC_OK;
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
    std::vector<Topic> topics_;  // by table slot; topics are never removed
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
    // Topics, region A (two topics of two subscribers): fan out to two
    // subscribers (a third refused), each polls, three releases.
    seed("topic_fanout", {0, kOpen, 0, 0, kOpen, 0, 1, kOpen, 0, 2, kSubscribe, 1, 0, kSubscribe, 2, 0, kSubscribe, 0, 0,
                          kSubscribe, 1, 0, kTopicOpen, 0, 0, kAlloc, 0, 1, kPublish, 0, 0, 0, 2, kCheck, 0, 2, kPoll,
                          1, kPoll, 2, kCheck, 0, 0, kRelease, 0, 0, kCheck, 0, 0, kRelease, 0, 0, kRelease, 0, 0,
                          kCheck, 0, 0});
    // A full subscriber is skipped (the buffer goes back at once), then
    // gets the next one among its point-to-point messages.
    seed("topic_full", {0,      kOpen,    0, 0, kSubscribe, 0, 1,     kAlloc, 0,     1,     kSend,    0,     0, 0, 1,
                        kAlloc, 0,        1, kSend,     0, 0, 0,     1,      kAlloc, 0,    1,     kSend,    0, 0, 0,
                        1,      kAlloc,   0, 1,         kSend, 0, 0, 0,      1,      kTopicOpen, 0, 1,   kAlloc, 0, 1,
                        kPublish, 0,      0, 0,         1,     kPoll, 0, kAlloc, 0,     1,     kPublish, 0,  0, 0,
                        0x85,   kPoll,    0, kPoll,     0,     kPoll, 0, kPoll,  0,     kCheck, 0,    0,  kPoll, 0});
    // Closing a subscriber drops its queued reference; the last release or
    // close frees the buffer; subscribe/unsubscribe errors; a full table.
    seed("topic_close", {0, kOpen, 0, 0, kOpen, 0, 1, kOpen, 0, 2, kSubscribe, 1, 0, kSubscribe, 2, 0, kAlloc, 0, 1,
                         kPublish, 0, 0, 0, 2, kPoll, 1, kClose, 2, kRelease, 0, 0, kAlloc, 0, 1, kPublish, 0, 0, 0, 2,
                         kClose, 1, kUnsubscribe, 0, 0, kSubscribe, 0, 0, kUnsubscribe, 0, 0, kUnsubscribe, 0, 0,
                         kUnsubscribe, 0, 6, kSubscribe, 0, 6, kTopicOpen, 0, 3, kTopicOpen, 0, 4, kSubscribe, 0, 5,
                         kCheck, 0, 0});
    // Leaving the region holding references, with more queued, and a
    // buffer of our own: everything comes back; the topic stays.
    seed("topic_detach", {0, kOpen, 0, 0, kOpen, 0, 1, kSubscribe, 0, 2, kSubscribe, 1, 2, kAlloc, 0, 1, kPublish, 0, 0,
                          0, 2, kAlloc, 0, 1, kPublish, 0, 0, 0, 2, kPoll, 0, kPoll, 1, kAlloc, 0, 1, kDetachAll, kOpen,
                          0, 0, kTopicOpen, 0, 2, kAlloc, 0, 1, kPublish, 0, 0, 0, 2, kSubscribe, 0, 2, kAlloc, 0, 1,
                          kPublish, 0, 0, 0, 2, kCheck, 0, 0});
    // Bad topic ids (an endpoint's, a slot not open, a made-up one that
    // happens to be right), and a shared buffer neither sent nor published.
    seed("topic_ids", {0,        kOpen, 0, 0,     kSubscribe, 0, 0,     kAlloc,   0, 1, kPublish, 0,    4, 0, 2,
                       kPublish, 0,     3, 0,     2,          kPublish, 0,      5, 0x01, 0x00, 0x00, 0x80, 0, 2,
                       kPoll,    0,     kSend, 0, 0,          0,        1,      kPublish, 0, 0, 0, 1, kCheck, 0, 0,
                       kPublish, 0,     0, 2,     1,          kRelease, 0,      0, kRelease, 0, 2});
    // A subscriber on a second handle: detaching that handle drops what
    // is queued to it; what it took stays the process's.
    seed("topic_two_handles", {0, kAttach2, kOpen, 1, 0, kOpen, 0, 1, kSubscribe, 0, 3, kSubscribe, 1, 3, kAlloc, 0, 1,
                               kPublish, 1, 0, 0, 2, kAlloc, 0, 1, kPublish, 1, 0, 0, 2, kPoll, 0, kDetach2, kCheck, 0,
                               0, kPoll, 1, kPoll, 1, kRelease, 0, 0, kRelease, 0, 0, kRelease, 0, 0, kCheck, 0, 0});
    // Region B (one topic of three, max_buffers_per_process 3): references
    // received count against the limit.
    seed("topic_quota", {1, kOpen, 0, 0, kOpen, 0, 1, kOpen, 0, 2, kSubscribe, 0, 0, kSubscribe, 1, 0, kSubscribe, 2, 0,
                         kTopicOpen, 0, 1, kSubscribe, 0, 2, kAlloc, 0, 1, kPublish, 0, 0, 0, 2, kPoll, 0, kPoll, 1,
                         kPoll, 2, kAlloc, 0, 1, kRelease, 0, 0, kAlloc, 0, 1, kCheck, 0, 0});
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
