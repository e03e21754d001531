// SPDX-License-Identifier: MIT
// Chaos: producers send sequenced, checksummed messages point to point, a
// publisher publishes them to a topic with several subscribers, and the
// test SIGKILLs random processes at random moments and restarts them.
//
// After every kill and reap, nothing in the region names the dead process
// any more (no owner word or reference held by it, no endpoint of it). All
// along, every message a receiver got was intact, point-to-point ones in
// per-sender order and never twice, topic ones in per-publisher order,
// never twice and never torn; a shared buffer a subscriber holds stays
// intact until it lets it go (no one got it from a pool meanwhile). In the
// end every process still makes progress and every receiver still receives
// (no wedged inbox); with all of them paused, every buffer is free, held by
// exactly the processes that say they hold it, or queued in an open inbox
// (the inbox holding exactly as many); and once they detach — one
// subscriber without releasing what it holds — every buffer is back in its
// pool and every name is free. No process ever hung.
//
// HSIPC_CHAOS_SECONDS sets the duration (default 4; the long setting is 60).
#include <sys/mman.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "os.h"
#include "pool.h"
#include "region.h"
#include "test_util.h"

namespace {

using hsipc_test::ScopedName;

// The children, in this order: producers (send to the consumers), the
// publisher, then the receivers: consumers (c0, c1), then subscribers.
constexpr int kProducers = 3;
constexpr int kPublisher = kProducers;
constexpr int kConsumers = 2;
constexpr int kSubscribers = 3;
constexpr int kReceivers = kConsumers + kSubscribers;
constexpr int kFirstReceiver = kPublisher + 1;
constexpr int kChildren = kFirstReceiver + kReceivers;
constexpr uint32_t kMagic = 0xc4a05eed;
constexpr uint32_t kTopicMagic = 0x70b1c5ed;
constexpr const char* kTopic = "chaos";
constexpr int kMaxHeld = 32;  // per receiver, reported at the end

// How each receiver behaves. c1 also subscribes, so point-to-point and
// shared messages mix in its inbox. Some take batches and some keep what
// they received for a while, so kills also land while they hold several
// (shared) buffers; s1 leaves with hsipc_detach still holding them.
struct Receiver {
    const char* name;
    bool subscribes;
    bool batches;
    size_t keep;  // messages held before the oldest is released
    bool detach_holding;
};
constexpr Receiver kReceiverSpec[kReceivers] = {
    {"c0", false, false, 0, false}, {"c1", true, true, 3, false},  {"s0", true, false, 0, false},
    {"s1", true, false, 6, true},   {"s2", true, true, 16, false},
};
constexpr uint32_t kTopicSubscribers = 4;

struct Header {
    uint32_t magic;        // kMagic (point to point) or kTopicMagic
    uint32_t producer;     // index
    uint32_t incarnation;  // of the producer
    uint32_t consumer_id;  // the consumer endpoint id it was meant for (0: published)
    uint64_t seq;          // per producer incarnation (and consumer endpoint, point to point)
    uint64_t checksum;     // FNV-1a of the payload after the header
};

uint64_t fnv(const uint8_t* p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

enum Phase : int { kStarting, kAttached, kOpened, kRunning, kReported };
const char* const kPhaseNames[] = {"attaching", "opening its endpoint", "subscribing", "running", "stopped"};

// What a paused child says it holds.
struct Holding {
    uint64_t held_word;  // its owner word (hsipc::Region::held_word)
    uint32_t count;
    uint64_t offs[kMaxHeld];
};

// Shared between the test and its children (an anonymous shared mapping).
struct Shared {
    std::atomic<int> stop;    // leave the loop, report, and wait for finish
    std::atomic<int> finish;  // let everything go and detach
    std::atomic<int> reported[kChildren];
    Holding holding[kChildren];
    std::atomic<uint64_t> heartbeat[kChildren];
    std::atomic<int> phase[kChildren];  // a Phase: where a child that hangs hangs
    std::atomic<uint64_t> received[kReceivers];
    std::atomic<uint64_t> shared_received[kReceivers];
    std::atomic<uint64_t> violations[kChildren];
    std::atomic<uint64_t> sent[kProducers];
    std::atomic<uint64_t> published, delivered, skipped;
    char first_violation[256];
};

void note_violation(Shared* s, int child, const std::string& what) {
    if (s->violations[child].fetch_add(1) == 0) {
        std::snprintf(s->first_violation, sizeof s->first_violation, "child %d: %s", child, what.c_str());
    }
}

// After stop: says what it holds, then waits (bounded) to be let go.
void report_and_wait(Shared* s, hsipc_region* r, int child, const std::vector<hsipc_off>& held) {
    Holding& h = s->holding[child];
    h.held_word = reinterpret_cast<hsipc::Region*>(r)->held_word;
    h.count = uint32_t(held.size());
    for (size_t i = 0; i < held.size() && i < kMaxHeld; i++) h.offs[i] = held[i];
    s->reported[child].store(1);
    s->phase[child].store(kReported);
    for (int i = 0; i < 20000 && !s->finish.load(); i++) usleep(1000);
}

// Opens `name`, waiting for the reap that frees a killed predecessor's.
hsipc_endpoint* open_when_free(Shared* s, hsipc_region* r, const char* name) {
    hsipc_endpoint* ep;
    while (hsipc_endpoint_open(r, name, &ep) != HSIPC_OK) {
        if (s->stop.load()) return nullptr;
        usleep(1000);
    }
    return ep;
}

// Fills a buffer of `len` bytes with a header and random payload.
void fill(uint8_t* p, size_t len, Header h, std::mt19937_64& rng) {
    for (size_t i = sizeof(Header); i < len; i++) p[i] = uint8_t(rng());
    h.checksum = fnv(p + sizeof(Header), len - sizeof(Header));
    std::memcpy(p, &h, sizeof h);
}

int run_producer(Shared* s, const std::string& region, int index, uint32_t incarnation) {
    hsipc_region* r;
    hsipc_endpoint* self;
    if (hsipc_attach(region.c_str(), nullptr, &r)) return 1;
    s->phase[index].store(kAttached);
    if (hsipc_endpoint_open(r, ("p" + std::to_string(index)).c_str(), &self)) return 2;
    s->phase[index].store(kRunning);
    std::mt19937_64 rng(incarnation * 7919 + index);
    hsipc_id to[kConsumers] = {};
    uint64_t seq[kConsumers] = {};
    for (uint64_t n = 0; !s->stop.load(); n++) {
        s->heartbeat[index].fetch_add(1);
        int c = int(n % kConsumers);
        if (to[c] == 0) {
            hsipc_id id;
            if (hsipc_lookup(r, kReceiverSpec[c].name, &id) != HSIPC_OK) continue;
            to[c] = id;
            seq[c] = 0;  // a new consumer endpoint: a new sequence
        }
        const size_t len = sizeof(Header) + rng() % 2000;
        hsipc_off off;
        if (hsipc_alloc(r, len, &off) != HSIPC_OK) continue;
        fill(static_cast<uint8_t*>(hsipc_ptr(r, off)), len, Header{kMagic, uint32_t(index), incarnation, to[c], seq[c], 0},
             rng);
        int rc = hsipc_send_offset(self, to[c], off, len);
        if (rc == HSIPC_OK) {
            seq[c]++;
            s->sent[index].fetch_add(1);
            continue;
        }
        hsipc_release(r, off);
        if (rc == HSIPC_EPEER) to[c] = 0;  // the consumer died: find its successor
    }
    report_and_wait(s, r, index, {});
    hsipc_detach(r);
    return 0;
}

int run_publisher(Shared* s, const std::string& region, uint32_t incarnation) {
    hsipc_region* r;
    hsipc_id topic;
    if (hsipc_attach(region.c_str(), nullptr, &r) || hsipc_topic_open(r, kTopic, &topic)) return 1;
    s->phase[kPublisher].store(kAttached);
    hsipc_endpoint* self = open_when_free(s, r, "pub");
    s->phase[kPublisher].store(kRunning);
    std::mt19937_64 rng(incarnation * 104729);
    for (uint64_t seq = 0; self && !s->stop.load();) {
        s->heartbeat[kPublisher].fetch_add(1);
        // Both pools: small messages as well as large.
        const size_t len = sizeof(Header) + rng() % (rng() % 2 ? 32 : 2000);
        hsipc_off off;
        if (hsipc_alloc(r, len, &off) != HSIPC_OK) continue;
        fill(static_cast<uint8_t*>(hsipc_ptr(r, off)), len, Header{kTopicMagic, 0, incarnation, 0, seq, 0}, rng);
        uint32_t delivered = 0, skipped = 0;
        const int rc = hsipc_publish(self, topic, off, len, &delivered, &skipped);
        if (rc != HSIPC_OK) {
            note_violation(s, kPublisher, std::string("publish: ") + hsipc_strerror(rc));
            hsipc_release(r, off);
            continue;
        }
        // A killed subscriber's endpoint is closed by the reap before its
        // successor can open the name: never more subscribers than these.
        if (delivered + skipped > kTopicSubscribers) {
            note_violation(s, kPublisher, std::to_string(delivered) + " delivered and " + std::to_string(skipped) +
                                              " skipped of at most " + std::to_string(kTopicSubscribers) +
                                              " subscribers");
        }
        seq++;
        s->published.fetch_add(1);
        // Subscribers behind: give them the CPU rather than skip them again.
        if (skipped > 0) usleep(100);
        s->delivered.fetch_add(delivered);
        s->skipped.fetch_add(skipped);
    }
    report_and_wait(s, r, kPublisher, {});
    hsipc_detach(r);
    return 0;
}

// A message a receiver keeps for a while: what it was when received.
struct Kept {
    hsipc_msg msg;
    Header header;
};

int run_receiver(Shared* s, const std::string& region, int index) {
    const Receiver& spec = kReceiverSpec[index];
    const int child = kFirstReceiver + index;
    hsipc_region* r;
    if (hsipc_attach(region.c_str(), nullptr, &r)) return 1;
    s->phase[child].store(kAttached);
    hsipc_endpoint* self = open_when_free(s, r, spec.name);
    s->phase[child].store(kOpened);
    if (!self) {  // stopped before our predecessor's name was free
        report_and_wait(s, r, child, {});
        hsipc_detach(r);
        return 0;
    }
    if (spec.subscribes) {
        const int rc = hsipc_subscribe(self, kTopic);
        if (rc != HSIPC_OK) note_violation(s, child, std::string("subscribe: ") + hsipc_strerror(rc));
    }
    s->phase[child].store(kRunning);
    const hsipc_id me = hsipc_endpoint_id(self);
    std::map<std::pair<uint32_t, uint32_t>, uint64_t> next;  // (producer, incarnation) -> seq
    std::map<uint32_t, uint64_t> next_published;              // publisher incarnation -> lowest seq allowed
    std::deque<Kept> kept;
    auto verify = [&](const hsipc_msg& msg, Header* out) {
        const auto* p = static_cast<const uint8_t*>(msg.data);
        if (msg.length < sizeof(Header)) return std::string("short message");
        std::memcpy(out, p, sizeof(Header));
        if (fnv(p + sizeof(Header), msg.length - sizeof(Header)) != out->checksum) return std::string("checksum mismatch");
        return std::string();
    };
    auto let_go = [&](const Kept& k) {
        // Still ours, still what it was: no one took it from a pool since.
        Header now;
        std::string bad = hsipc_ptr(r, k.msg.off) == k.msg.data ? verify(k.msg, &now) : "no longer readable";
        if (bad.empty() && std::memcmp(&now, &k.header, sizeof now) != 0) bad = "header changed";
        if (!bad.empty()) note_violation(s, child, "a message kept " + bad);
        const int rc = hsipc_release(r, k.msg.off);
        if (rc != HSIPC_OK) note_violation(s, child, std::string("release: ") + hsipc_strerror(rc));
    };
    hsipc_msg batch[8];
    while (!s->stop.load()) {
        s->heartbeat[child].fetch_add(1);
        size_t taken = 0;
        int rc = spec.batches ? hsipc_poll_batch(self, batch, 8, 1'000'000, 50'000, &taken)
                              : hsipc_poll(self, &batch[0], 1'000'000);
        if (rc == HSIPC_EAGAIN) {
            // Nothing came: perhaps the pools are empty because of what we keep.
            if (!kept.empty()) {
                let_go(kept.front());
                kept.pop_front();
            }
            continue;
        }
        if (rc != HSIPC_OK) {
            note_violation(s, child, std::string("poll: ") + hsipc_strerror(rc));
            continue;
        }
        if (!spec.batches) taken = 1;
        for (size_t m = 0; m < taken; m++) {
            const hsipc_msg& msg = batch[m];
            Header h{};
            std::string bad = verify(msg, &h);
            const bool shared = msg.flags == HSIPC_MSG_SHARED;
            if (bad.empty() && shared != (h.magic == kTopicMagic)) bad = "flags or header wrong";
            if (bad.empty() && !shared && (h.magic != kMagic || h.consumer_id != me)) bad = "foreign header";
            if (bad.empty() && shared && !spec.subscribes) bad = "published message to a non-subscriber";
            if (bad.empty() && !shared) {
                uint64_t& expected = next[{h.producer, h.incarnation}];
                if (h.seq != expected) {
                    bad = "producer " + std::to_string(h.producer) + " seq " + std::to_string(h.seq) + ", expected " +
                          std::to_string(expected);
                }
                expected = h.seq + 1;
            }
            if (bad.empty() && shared) {
                // Gaps are allowed (a full inbox skips us), repeats never.
                uint64_t& lowest = next_published[h.incarnation];
                if (h.seq < lowest) {
                    bad = "published seq " + std::to_string(h.seq) + " again or out of order, expected at least " +
                          std::to_string(lowest);
                }
                lowest = h.seq + 1;
                s->shared_received[index].fetch_add(1);
            }
            if (!bad.empty()) {
                note_violation(s, child, bad);
                hsipc_release(r, msg.off);
                continue;
            }
            s->received[index].fetch_add(1);
            kept.push_back(Kept{msg, h});
            while (kept.size() > spec.keep) {
                let_go(kept.front());
                kept.pop_front();
            }
        }
    }
    std::vector<hsipc_off> held;
    for (const Kept& k : kept) held.push_back(k.msg.off);
    report_and_wait(s, r, child, held);
    if (!spec.detach_holding) {
        for (const Kept& k : kept) let_go(k);
    }
    hsipc_detach(r);
    return 0;
}

// The (slot, gen) owner word of the live process with `pid`, or 0.
uint64_t held_word_of(const hsipc::Region& c, pid_t pid) {
    for (uint32_t i = 0; i < c.process_slots(); i++) {
        const hsipc::ProcessSlot& p = c.process_slot(i);
        if (p.state.load() == hsipc::kProcessLive && p.pid.load() == pid) {
            return hsipc::owner_word(hsipc::kOwnerHeld, i, p.gen.load());
        }
    }
    return 0;
}

// After the reap of a dead process: nothing names it. Read while the others
// run: no one but the dead writes its own words, so none may be left.
void expect_nothing_names(const hsipc::Region& c, uint64_t dead, int victim) {
    for (uint32_t b = 0; b < c.layout.total_buffers; b++) {
        ASSERT_NE(dead, c.buffer(b).owner.load()) << "victim " << victim << ": buffer " << b << " still held by it";
        for (uint32_t i = 0; i < c.max_subscribers(); i++) {
            ASSERT_NE(dead, c.share_ref(b, i).load())
                << "victim " << victim << ": reference " << i << " of buffer " << b << " still held by it";
        }
    }
    for (uint32_t e = 0; e < c.max_endpoints(); e++) {
        const hsipc::EndpointSlot& slot = c.endpoint_slot(e);
        if (slot.state.load() != hsipc::kEndpointOpen) continue;
        ASSERT_FALSE(slot.owner_slot.load() == hsipc::owner_index(dead) && slot.owner_gen.load() == hsipc::owner_gen(dead))
            << "victim " << victim << ": endpoint " << slot.name << " still open";
    }
}

// With every child paused after reporting: each buffer is free, held by the
// processes that say they hold it (each reference by one of them), or queued
// to an open endpoint whose inbox holds exactly that many messages.
void expect_region_matches_reports(hsipc_region* r, const Shared* s) {
    const hsipc::Region& c = *reinterpret_cast<hsipc::Region*>(r);
    std::map<std::pair<uint64_t, hsipc_off>, int> claimed;  // (held word, off) -> count
    for (int i = 0; i < kChildren; i++) {
        const Holding& h = s->holding[i];
        ASSERT_LE(h.count, uint32_t(kMaxHeld));
        for (uint32_t k = 0; k < h.count; k++) claimed[{h.held_word, h.offs[k]}]++;
    }
    std::map<hsipc_id, uint32_t> queued_to;
    auto holder = [&](uint64_t w, hsipc_off off, uint32_t b, const char* what) {
        switch (hsipc::owner_kind(w)) {
            case hsipc::kOwnerFree:
                return;
            case hsipc::kOwnerHeld:
                EXPECT_GT((claimed[{w, off}]--), 0) << what << " of buffer " << b << " held by " << std::hex << w
                                                  << ", which does not say it holds it";
                return;
            case hsipc::kOwnerQueued:
                queued_to[hsipc::queued_destination(w)]++;
                return;
            default:
                ADD_FAILURE() << what << " of buffer " << b << " is " << std::hex << w;
        }
    };
    for (uint32_t b = 0; b < c.layout.total_buffers; b++) {
        const hsipc_off off = hsipc::buffer_offset(c.layout, b);
        const uint64_t w = c.buffer(b).owner.load();
        if (hsipc::owner_kind(w) != hsipc::kOwnerShared) {
            holder(w, off, b, "owner word");
            continue;
        }
        uint32_t refs = 0;
        for (uint32_t i = 0; i < c.max_subscribers(); i++) {
            const uint64_t v = c.share_ref(b, i).load();
            refs += v != 0;
            holder(v, off, b, "reference");
        }
        EXPECT_GT(refs, 0u) << "buffer " << b << " is shared by no one: it never returns to its pool";
    }
    for (const auto& [key, count] : claimed) {
        EXPECT_EQ(0, count) << "process " << std::hex << key.first << " says it holds " << std::dec << key.second
                            << " but the region disagrees";
    }
    for (uint32_t slot = 0; slot < c.max_endpoints(); slot++) {
        hsipc_endpoint_info info;
        info.struct_size = sizeof info;
        if (hsipc_region_endpoint_info(r, slot, &info) != HSIPC_OK) continue;
        EXPECT_EQ(info.queued, queued_to[info.id]) << info.name << ": entries in its inbox vs buffers queued to it";
        queued_to.erase(info.id);
    }
    for (const auto& [id, count] : queued_to) {
        EXPECT_EQ(0u, count) << count << " buffers queued to " << std::hex << id << ", which is not open";
    }
}

TEST(Chaos, RandomKillsCostNothingButTheVictimsWork) {
    const char* env = std::getenv("HSIPC_CHAOS_SECONDS");
    const double seconds = env ? std::atof(env) : 4.0;
    ScopedName name("chaos");
    hsipc_config cfg = hsipc_test::small_config(256, 128, 64, 32);
    hsipc_region* r;
    ASSERT_OK(hsipc_attach(name.c_str(), &cfg, &r));
    const hsipc::Region& core = *reinterpret_cast<hsipc::Region*>(r);
    const std::string region = name.c_str();
    auto* s = static_cast<Shared*>(
        mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    ASSERT_NE(MAP_FAILED, static_cast<void*>(s));
    new (s) Shared();

    uint32_t incarnations[kChildren] = {};
    auto start = [&](int i) {
        uint32_t incarnation = ++incarnations[i];
        s->phase[i].store(kStarting);
        return hsipc_test::fork_child([&, i, incarnation] {
            if (i < kProducers) return run_producer(s, region, i, incarnation);
            if (i == kPublisher) return run_publisher(s, region, incarnation);
            return run_receiver(s, region, i - kFirstReceiver);
        });
    };
    std::vector<pid_t> pids(kChildren);
    for (int i = 0; i < kChildren; i++) pids[i] = start(i);

    std::mt19937 rng(42);
    int kills = 0;
    long reclaimed = 0;
    const int64_t end = hsipc::os::monotonic_ns() + int64_t(seconds * 1e9);
    while (hsipc::os::monotonic_ns() < end) {
        usleep(1000 + rng() % 30000);
        int victim = int(rng() % kChildren);
        kill(pids[victim], SIGKILL);
        int status;
        ASSERT_EQ(pids[victim], waitpid(pids[victim], &status, 0));
        ASSERT_TRUE(WIFSIGNALED(status)) << "child " << victim << " exited by itself with " << WEXITSTATUS(status);
        kills++;
        // Before the reap marks its slot free (0: killed before it attached).
        const uint64_t dead = held_word_of(core, pids[victim]);
        int n = hsipc_reap(r);
        ASSERT_GE(n, 0) << hsipc_strerror(n);
        reclaimed += n;
        if (dead != 0) expect_nothing_names(core, dead, victim);
        if (::testing::Test::HasFatalFailure()) break;
        pids[victim] = start(victim);
    }
    // Every process must get going again (attached, endpoint open), then
    // still make progress, and every receiver still receive (the
    // subscribers from the publisher). Bounded waits, not a fixed window:
    // under perturbation or on a loaded machine a restarted child may take
    // a while to attach, and that is not a hang.
    for (int t = 0; t < 10000; t++) {
        bool all = true;
        for (int i = 0; i < kChildren; i++) all = all && s->phase[i].load() == kRunning;
        if (all) break;
        usleep(1000);
    }
    for (int i = 0; i < kChildren; i++) {
        EXPECT_EQ(kRunning, s->phase[i].load()) << "child " << i << " is still " << kPhaseNames[s->phase[i].load()];
    }
    uint64_t beats[kChildren], got[kReceivers];
    for (int i = 0; i < kChildren; i++) beats[i] = s->heartbeat[i].load();
    for (int i = 0; i < kReceivers; i++) got[i] = s->received[i].load();
    auto moved = [&] {
        for (int i = 0; i < kChildren; i++) {
            if (beats[i] == s->heartbeat[i].load()) return false;
        }
        for (int i = 0; i < kReceivers; i++) {
            if (got[i] == s->received[i].load()) return false;
        }
        return true;
    };
    for (int t = 0; t < 400 && !moved(); t++) usleep(5000);
    for (int i = 0; i < kChildren; i++) {
        EXPECT_NE(beats[i], s->heartbeat[i].load()) << "child " << i << " hung " << kPhaseNames[s->phase[i].load()];
    }
    for (int i = 0; i < kReceivers; i++) {
        EXPECT_NE(got[i], s->received[i].load()) << kReceiverSpec[i].name << " received nothing in 2 s: a wedged inbox?";
    }
    // ...must stop when asked and say what they hold, which the region must
    // agree with...
    s->stop.store(1);
    for (int i = 0; i < kChildren; i++) {
        for (int t = 0; t < 20000 && !s->reported[i].load(); t++) usleep(1000);
        EXPECT_EQ(1, s->reported[i].load()) << "child " << i << " did not stop";
    }
    int n = hsipc_reap(r);
    EXPECT_GE(n, 0) << hsipc_strerror(n);
    reclaimed += n > 0 ? n : 0;
    expect_region_matches_reports(r, s);
    // ...and leave, giving everything back.
    s->finish.store(1);
    for (int i = 0; i < kChildren; i++) EXPECT_EQ(0, hsipc_test::wait_child(pids[i], 20)) << "child " << i;

    n = hsipc_reap(r);
    EXPECT_GE(n, 0);
    reclaimed += n > 0 ? n : 0;
    uint64_t received = 0, shared_received = 0, violations = 0, sent = 0;
    for (int c = 0; c < kReceivers; c++) {
        received += s->received[c].load();
        shared_received += s->shared_received[c].load();
    }
    for (int c = 0; c < kChildren; c++) violations += s->violations[c].load();
    for (int p = 0; p < kProducers; p++) sent += s->sent[p].load();
    std::printf("chaos: %.0f s, %d kills, %llu messages sent, %llu published to %llu inboxes (%llu full), "
                "%llu received intact and in order (%llu of them shared), %llu violations, "
                "%ld buffers and endpoints reclaimed\n",
                seconds, kills, (unsigned long long)sent, (unsigned long long)s->published.load(),
                (unsigned long long)s->delivered.load(), (unsigned long long)s->skipped.load(),
                (unsigned long long)received, (unsigned long long)shared_received, (unsigned long long)violations,
                reclaimed);
    EXPECT_EQ(0u, violations) << s->first_violation;
    EXPECT_GT(received, 0u);
    EXPECT_GT(shared_received, 0u);
    EXPECT_LE(shared_received, s->delivered.load());
    for (uint32_t p = 0; p < 2; p++) {
        hsipc_pool_stats st;
        st.struct_size = sizeof st;
        ASSERT_OK(hsipc_region_pool_stats(r, p, &st));
        EXPECT_EQ(st.buffer_count, st.free_count) << "pool " << p << ": " << st.held_count << " held, "
                                                  << st.queued_count << " queued, " << st.shared_count << " shared";
    }
    for (uint32_t slot = 0; slot < 32; slot++) {
        hsipc_endpoint_info info;
        info.struct_size = sizeof info;
        EXPECT_STATUS(HSIPC_ENOENT, hsipc_region_endpoint_info(r, slot, &info)) << "slot " << slot << ": " << info.name;
    }
    munmap(s, sizeof(Shared));
    EXPECT_OK(hsipc_detach(r));
}

}  // namespace
