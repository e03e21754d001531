// SPDX-License-Identifier: MIT
// A buggy or hostile peer writes random values into the tables of a live
// region — process and endpoint tables, inbox rings, buffer headers (owner
// words, shared ones too, and share epochs), the topic table, subscriber
// lists and share records (reference words) — while another process, the
// keeper, holds buffers: allocated, received point to point, and received
// from a topic (shared). After every round of writes the peer drives every
// call, topics included. Every call must still return a status: no crash,
// no hang, no pointer outside the mapping.
//
// And the library must never hand out a buffer the keeper holds. What
// "holds" rests on is a few words, which no library can protect from a
// writer: a buffer's owner word says held(keeper), or it says shared and
// one of its reference words says held(keeper). Those words the scribbler
// leaves alone (it can free the keeper's buffers by writing them, and the
// security doc says so); everything else, the buffer's other references
// and its share epoch included, it scribbles. The keeper keeps a pattern in
// every buffer it holds and checks it all along, and the scribbling
// process fills every buffer it allocates or receives point to point: a
// buffer of the keeper's handed out is a pattern overwritten. (Payloads are
// not scribbled: a writer can change any payload, and the library never
// reads one.)
//
// Runs in children so that a crash shows as a failure, not the end of the
// test program. HSIPC_SCRIBBLE_SEED and HSIPC_SCRIBBLE_ROUNDS change the
// scribbler's seed and its number of rounds (default 3000), to search
// further than the ordinary run does.
#include <fcntl.h>
#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "pool.h"
#include "region.h"
#include "test_util.h"

namespace {

using hsipc_test::ScopedName;

constexpr int kMaxProtected = 64;
constexpr uint8_t kScribblerFill = 0xee;

bool valid_status(int rc) { return rc <= 0 && rc >= HSIPC_ESYS; }

// Between the test, the keeper and the scribbler (an anonymous shared mapping).
struct Shared {
    std::atomic<int> done;  // the scribbler finished
    // Offsets from the region's base of the 8-byte words the keeper's
    // holding rests on: the scribbler writes none of their bytes.
    uint32_t protected_count;
    uint64_t protected_words[kMaxProtected];
    std::atomic<uint64_t> checks, damage;
    char first_damage[256];
};

uint8_t keeper_pattern(uint32_t buffer, uint64_t i) { return uint8_t(0x5a ^ (buffer * 31 + i)); }

// The keeper: holds buffers of every kind, tells the scribbler which words
// say so, and checks its patterns until the scribbler is done.
int run_keeper(Shared* s, const std::string& region, int ready_fd) {
    hsipc_region* r;
    hsipc_endpoint *victim, *victim2;
    hsipc_id topic;
    if (hsipc_attach(region.c_str(), nullptr, &r) || hsipc_endpoint_open(r, "victim", &victim) ||
        hsipc_endpoint_open(r, "victim2", &victim2) || hsipc_subscribe(victim, "news") ||
        hsipc_subscribe(victim2, "news") || hsipc_topic_open(r, "news", &topic)) {
        return 2;
    }
    const hsipc::Region& c = *reinterpret_cast<hsipc::Region*>(r);
    std::vector<hsipc_off> held;
    auto fill = [&](hsipc_off off) {
        uint32_t b = 0;
        hsipc::buffer_at_offset(c.layout, off, &b);
        auto* p = static_cast<uint8_t*>(hsipc_ptr(r, off));
        for (uint64_t i = 0; i < hsipc_capacity(r, off); i++) p[i] = keeper_pattern(b, i);
    };
    hsipc_off off;
    hsipc_msg msg;
    // Three published to both our endpoints, taken through one: we hold a
    // reference to each, and one more waits queued in victim2.
    for (int i = 0; i < 3; i++) {
        uint32_t delivered;
        if (hsipc_alloc(r, 8, &off)) return 3;
        fill(off);
        if (hsipc_publish(victim, topic, off, 8, &delivered, nullptr) || delivered != 2) return 4;
        if (hsipc_poll(victim, &msg, 0) || msg.flags != HSIPC_MSG_SHARED || msg.off != off) return 5;
        held.push_back(off);
    }
    // Three allocated, one received point to point.
    for (int i = 0; i < 3; i++) {
        if (hsipc_alloc(r, 8, &off)) return 6;
        fill(off);
        held.push_back(off);
    }
    if (hsipc_alloc(r, 8, &off)) return 7;
    fill(off);
    if (hsipc_send_offset(victim, hsipc_endpoint_id(victim), off, 8) || hsipc_poll(victim, &msg, 0) || msg.flags != 0) {
        return 8;
    }
    held.push_back(off);
    // Queued and not held: two sent to ourselves, two more published (in
    // both inboxes). The scribbler may drop any of these.
    for (int i = 0; i < 2; i++) {
        uint32_t delivered;
        if (hsipc_alloc(r, 8, &off) || hsipc_send_offset(victim, hsipc_endpoint_id(victim), off, 8)) return 9;
        if (hsipc_alloc(r, 8, &off) || hsipc_publish(victim, topic, off, 8, &delivered, nullptr)) return 10;
    }
    // The words that say we hold what we hold.
    auto protect = [&](const void* word) {
        if (s->protected_count < kMaxProtected) {
            s->protected_words[s->protected_count++] = uint64_t(static_cast<const uint8_t*>(word) - c.base);
        }
    };
    for (hsipc_off h : held) {
        uint32_t b = 0;
        hsipc::buffer_at_offset(c.layout, h, &b);
        protect(&c.buffer(b).owner);
        for (uint32_t i = 0; i < c.max_subscribers(); i++) {
            if (c.share_ref(b, i).load() == c.held_word) protect(&c.share_ref(b, i));
        }
    }
    (void)!write(ready_fd, "r", 1);

    auto check = [&] {
        for (hsipc_off h : held) {
            uint32_t b = 0;
            hsipc::buffer_at_offset(c.layout, h, &b);
            const auto* p = static_cast<const uint8_t*>(hsipc_ptr(r, h));
            std::string bad;
            if (p != c.base + h) {
                bad = "no longer ours";
            } else {
                for (uint64_t i = 0; i < hsipc_capacity(r, h) && bad.empty(); i++) {
                    if (p[i] != keeper_pattern(b, i)) bad = "byte " + std::to_string(i) + " overwritten";
                }
            }
            if (!bad.empty() && s->damage.fetch_add(1) == 0) {
                std::snprintf(s->first_damage, sizeof s->first_damage, "buffer %u (offset %llu): %s", b,
                              (unsigned long long)h, bad.c_str());
            }
        }
        s->checks.fetch_add(1);
    };
    while (!s->done.load()) {
        check();
        usleep(200);
    }
    check();
    return 0;
}

// What the scribbler writes: often a word that means something (an id, an
// owner word naming a real process or endpoint, a shared word), since
// random bits rarely get past the first check.
class Values {
public:
    Values(const hsipc::Region& c, std::mt19937& rng) : c_(c), rng_(rng) {}

    uint32_t endpoint_id() {
        const uint32_t index = rng_() % c_.max_endpoints();
        const uint32_t gen = c_.endpoint_slot(index).gen.load() + rng_() % 3 - 1;  // this one, or a neighbour
        return (gen << c_.layout.id_index_bits) | (index + 1);
    }
    uint64_t held_word() {
        const uint32_t slot = rng_() % 4;
        return hsipc::owner_word(hsipc::kOwnerHeld, slot, c_.process_slot(slot).gen.load());
    }
    uint64_t queued_word() {
        const uint32_t slot = rng_() % 4;
        return hsipc::queued_word(endpoint_id(), slot, c_.process_slot(slot).gen.load());
    }
    uint64_t shared_word() {
        const uint32_t b = rng_() % c_.layout.total_buffers;
        return hsipc::owner_word(hsipc::kOwnerShared, 0, c_.buffer(b).share_epoch.load() + rng_() % 2);
    }
    uint64_t owner_like() {
        switch (rng_() % 6) {
            case 0: return 0;
            case 1: return held_word();
            case 2: return queued_word();
            case 3: return shared_word();
            case 4: return c_.held_word;  // the scribbler's own
            default: return uint64_t(rng_()) << 32 | rng_();
        }
    }
    uint32_t subscriber_like() {
        switch (rng_() % 4) {
            case 0: return 0;
            case 1: return hsipc::kTopicIdBit | (1 + rng_() % 8);
            case 2: return uint32_t(rng_());
            default: return endpoint_id();
        }
    }

private:
    const hsipc::Region& c_;
    std::mt19937& rng_;
};

// One write of 1..8 bytes: a meaningful word in the topic table, a
// subscriber list, a share record, a buffer header, an inbox ring or the
// endpoint table, or any value anywhere in the tables.
struct Write {
    uint64_t at;
    uint64_t value;
    unsigned bytes;
};

Write pick_write(const hsipc::Region& c, std::mt19937& rng, Values& v) {
    const hsipc::Layout& l = c.layout;
    const uint64_t tables_end = l.pools[0].payload_off;  // everything but the header and the payloads
    switch (rng() % 10) {
        case 0: {  // the topic table: a state, or bytes of a name
            const uint64_t slot = l.topic_table_off + uint64_t(rng() % c.max_topics()) * sizeof(hsipc::TopicSlot);
            if (rng() % 2) return {slot, rng() % 3, 4};
            return {slot + 8 + rng() % (HSIPC_NAME_MAX + 1), rng(), 1 + unsigned(rng() % 8)};
        }
        case 1: {  // a subscriber word
            const uint64_t words = uint64_t(c.max_topics()) * c.max_subscribers();
            return {l.subscribers_off + (rng() % words) * 4, v.subscriber_like(), 4};
        }
        case 2:
        case 3: {  // a reference word
            const uint64_t words = uint64_t(l.total_buffers) * c.max_subscribers();
            return {l.share_records_off + (rng() % words) * 8, v.owner_like(), 8};
        }
        case 4: {  // an owner word, or a share epoch
            const uint64_t header = l.buffer_headers_off + uint64_t(rng() % l.total_buffers) * sizeof(hsipc::BufferHeader);
            if (rng() % 3) return {header, v.owner_like(), 8};
            return {header + offsetof(hsipc::BufferHeader, share_epoch), rng() % 4 ? rng() % 8 : rng(), 4};
        }
        case 5: {  // an inbox entry naming a buffer (or a marker), for a position near the start
            const uint32_t e = rng() % c.max_endpoints();
            const uint64_t slot = l.rings_off + e * l.ring_bytes + (rng() % c.inbox_capacity()) * 8;
            const uint32_t contents[] = {0, 1 + uint32_t(rng() % l.total_buffers), hsipc::kEntrySkip,
                                         hsipc::kEntryClosed, uint32_t(rng())};
            const uint64_t entry =
                hsipc::entry_word(rng() % 16, c.endpoint_slot(e).gen.load() + rng() % 2, contents[rng() % 5]);
            return {slot, entry, 8};
        }
        case 6: {  // an endpoint's state, gen, owner, wait word or tail hint
            const uint64_t slot = l.endpoint_table_off + uint64_t(rng() % c.max_endpoints()) * sizeof(hsipc::EndpointSlot);
            const uint64_t fields[] = {0, 4, 8, 12, 128, 132};
            if (rng() % 4 == 0) return {slot + 192, rng() % 64, 8};
            return {slot + fields[rng() % 6], rng() % 4 ? rng() % 8 : rng(), 4};
        }
        default: {  // anywhere in the tables, any value
            const uint64_t at = 4096 + rng() % (tables_end - 4096 - 8);
            const uint64_t value = rng() % 3 ? uint64_t(rng()) << 32 | rng() : rng() % 64;
            return {at, value, 1 + unsigned(rng() % 8)};
        }
    }
}

// What the calls did, so the output shows the rounds were not all refusals.
struct Tally {
    int allocs, sends, publishes, delivered, received, received_shared, received_keepers, corrupt, reaped;
};
Tally g_tally;

bool touches_protected(const Shared* s, const Write& w) {
    for (uint32_t i = 0; i < s->protected_count; i++) {
        const uint64_t word = s->protected_words[i];
        if (w.at < word + 8 && word < w.at + w.bytes) return true;
    }
    return false;
}

// Forges a delivery to endpoint ep at the head of its inbox: a buffer
// marked queued to it, or a shared buffer (the keeper's, say) with one of
// its reference words queued to it — never a word the keeper's holding
// rests on. A writer can make any process receive any buffer; what must
// not follow is that the buffer goes back to its pool while the keeper
// holds it.
void forge_delivery(const Shared* s, const hsipc::Region& c, uint8_t* raw, hsipc_endpoint* handle,
                    std::mt19937& rng) {
    const hsipc::Endpoint& ep = *reinterpret_cast<hsipc::Endpoint*>(handle);
    const uint32_t b = rng() % c.layout.total_buffers;
    const uint64_t sender = hsipc::queued_word(ep.id, rng() % 4, rng() % 4);
    auto write = [&](const void* word, uint64_t value) {
        const Write w{uint64_t(static_cast<const uint8_t*>(word) - c.base), value, 8};
        if (!touches_protected(s, w)) std::memcpy(raw + w.at, &w.value, 8);
    };
    const uint64_t owner = c.buffer(b).owner.load();
    write(&c.buffer(b).length, 1 + rng() % 8);  // one a sender could declare
    if (hsipc::owner_kind(owner) == hsipc::kOwnerShared) {
        // A reference word the keeper's holding does not rest on.
        const uint32_t start = rng();
        for (uint32_t k = 0; k < c.max_subscribers(); k++) {
            const std::atomic<uint64_t>& ref = c.share_ref(b, (start + k) % c.max_subscribers());
            if (!touches_protected(s, Write{uint64_t(reinterpret_cast<const uint8_t*>(&ref) - c.base), 0, 8})) {
                write(&ref, sender);
                break;
            }
        }
    } else if (rng() % 2) {
        write(&c.buffer(b).owner, sender);
    }
    write(&ep.inbox.slots[ep.head % ep.inbox.capacity], hsipc::entry_word(ep.head, ep.gen, b + 1));
}

// Drives every call once; returns the number of contract violations.
int drive_every_call(hsipc_region* r, std::mt19937& rng, const Shared* s, uint8_t* raw) {
    const auto& region = *reinterpret_cast<hsipc::Region*>(r);
    const uint8_t* lo = region.base;
    const uint8_t* hi = region.base + region.size;
    auto inside = [&](const void* p, uint64_t n) {
        auto* b = static_cast<const uint8_t*>(p);
        return b >= lo && b + n <= hi;
    };
    // A buffer the library says is ours alone: fill it all, so that were
    // it one the keeper holds, the keeper would see it.
    auto claim = [&](hsipc_off off) {
        void* p = hsipc_ptr(r, off);
        const size_t cap = hsipc_capacity(r, off);
        if (p == nullptr || !inside(p, cap)) return 1;
        std::memset(p, kScribblerFill, cap);
        return 0;
    };
    int bad = 0;
    hsipc_endpoint* ep = nullptr;
    int rc = hsipc_endpoint_open(r, "scribbled", &ep);
    bad += !valid_status(rc);
    hsipc_id topic = 0;
    rc = hsipc_topic_open(r, rng() % 2 ? "news" : "scribbled", &topic);
    bad += !valid_status(rc);
    if (rc != HSIPC_OK) topic = rng() % 2 ? hsipc::kTopicIdBit | (1 + rng() % 8) : uint32_t(rng());
    if (ep) {
        bad += !valid_status(hsipc_subscribe(ep, rng() % 2 ? "news" : "scribbled"));
        if (rng() % 4 == 0) bad += !valid_status(hsipc_unsubscribe(ep, "news"));
        if (rng() % 2) forge_delivery(s, region, raw, ep, rng);
    }
    hsipc_off off = 0;
    rc = hsipc_alloc(r, 1 + rng() % 5000, &off);
    bad += !valid_status(rc);
    g_tally.allocs += rc == HSIPC_OK;
    if (rc == HSIPC_OK) {
        bad += claim(off);
        if (ep) {
            hsipc_id to = hsipc_endpoint_id(ep);  // to ourselves, or to the keeper
            if (rng() % 2 && hsipc_lookup(r, "victim", &to) != HSIPC_OK) to = rng();
            rc = hsipc_send_offset(ep, to, off, 1);
            bad += !valid_status(rc);
            g_tally.sends += rc == HSIPC_OK;
            if (rc != HSIPC_OK) bad += !valid_status(hsipc_release(r, off));
        } else {
            bad += !valid_status(hsipc_release(r, off));
        }
    }
    // Publish: to the keeper's topic and to ourselves, through lists and
    // references the scribbler writes.
    rc = hsipc_alloc(r, 1 + rng() % 64, &off);
    bad += !valid_status(rc);
    if (rc == HSIPC_OK) {
        bad += claim(off);
        if (ep) {
            uint32_t delivered = 0, skipped = 0;
            rc = hsipc_publish(ep, topic, off, 1, &delivered, &skipped);
            bad += !valid_status(rc);
            if (rc == HSIPC_OK) bad += delivered + skipped > region.max_subscribers();
            g_tally.publishes += rc == HSIPC_OK;
            g_tally.delivered += rc == HSIPC_OK ? int(delivered) : 0;
            if (rc != HSIPC_OK) bad += !valid_status(hsipc_release(r, off));
        } else {
            bad += !valid_status(hsipc_release(r, off));
        }
    }
    bad += !valid_status(hsipc_release(r, rng() % region.size));
    // A received message: shared ones are only read, the others are ours.
    auto received = [&](const hsipc_msg& msg) {
        g_tally.received++;
        g_tally.received_shared += msg.flags == HSIPC_MSG_SHARED;
        uint32_t b = 0;
        if (hsipc::buffer_at_offset(region.layout, msg.off, &b)) {
            const Write owner{uint64_t(reinterpret_cast<const uint8_t*>(&region.buffer(b).owner) - region.base), 0, 8};
            g_tally.received_keepers += touches_protected(s, owner);
        }
        bad += !inside(msg.data, msg.length);
        bad += msg.flags != 0 && msg.flags != HSIPC_MSG_SHARED;
        if (msg.flags == 0) {
            bad += claim(msg.off);
        } else {
            volatile uint8_t sum = 0;
            for (uint64_t i = 0; i < msg.length; i++) sum = sum + static_cast<const uint8_t*>(msg.data)[i];
        }
        bad += !valid_status(hsipc_release(r, msg.off));
    };
    if (ep) {
        for (int i = 0; i < 8; i++) {
            hsipc_msg msg;
            rc = hsipc_poll(ep, &msg, 0);
            bad += !valid_status(rc);
            if (rc == HSIPC_OK) received(msg);
            g_tally.corrupt += rc == HSIPC_ECORRUPT;
        }
        hsipc_msg batch[4];
        size_t taken = 0;
        rc = hsipc_poll_batch(ep, batch, 4, 0, 10'000, &taken);
        bad += !valid_status(rc);
        if (rc == HSIPC_OK) {
            bad += taken < 1 || taken > 4;
            for (size_t i = 0; i < taken && i < 4; i++) received(batch[i]);
        }
        // Half the time the close sweeps what is queued to us.
        bad += !valid_status(hsipc_endpoint_close(ep));
    }
    hsipc_id id;
    bad += !valid_status(hsipc_lookup(r, "victim", &id));
    int reaped = hsipc_reap(r);
    bad += reaped < HSIPC_ESYS;
    g_tally.reaped += reaped > 0 ? reaped : 0;
    hsipc_pool_stats ps;
    ps.struct_size = sizeof ps;
    bad += !valid_status(hsipc_region_pool_stats(r, 0, &ps));
    for (uint32_t slot = 0; slot < 8; slot++) {
        hsipc_endpoint_info info;
        info.struct_size = sizeof info;
        rc = hsipc_region_endpoint_info(r, slot, &info);
        bad += !valid_status(rc);
        if (rc == HSIPC_OK) bad += info.name[HSIPC_NAME_MAX] != '\0';
    }
    return bad;
}

TEST(Scribble, RandomWritesNeverCrashHangEscapeOrFreeAHeldBuffer) {
    ScopedName name("scribble");
    hsipc_config cfg = hsipc_test::small_config(16, 4, 8, 8);
    cfg.max_topics = 4;  // few, so the writes land on lists in use
    cfg.max_subscribers = 4;
    hsipc_region* r;
    ASSERT_OK(hsipc_attach(name.c_str(), &cfg, &r));
    std::string region_name = name.c_str();
    auto* s = static_cast<Shared*>(
        mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    ASSERT_NE(MAP_FAILED, static_cast<void*>(s));
    new (s) Shared();
    int ready[2];
    ASSERT_EQ(0, pipe(ready));
    pid_t keeper = hsipc_test::fork_child([&] { return run_keeper(s, region_name, ready[1]); });
    close(ready[1]);  // a keeper that fails to set up ends the read below
    char byte;
    ASSERT_EQ(1, read(ready[0], &byte, 1)) << "the keeper failed to set up";
    ASSERT_GT(s->protected_count, 7u) << "the keeper's buffers, and the shared ones' references";
    const size_t size = reinterpret_cast<hsipc::Region*>(r)->size;

    pid_t scribbler = hsipc_test::fork_child([&] {
        hsipc_region* sr;
        if (hsipc_attach(region_name.c_str(), nullptr, &sr)) return 100;
        const hsipc::Region& c = *reinterpret_cast<hsipc::Region*>(sr);
        int fd = open(name.path().c_str(), O_RDWR);
        auto* raw = static_cast<uint8_t*>(mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
        if (raw == MAP_FAILED) return 101;
        const char* seed = std::getenv("HSIPC_SCRIBBLE_SEED");
        const char* rounds_env = std::getenv("HSIPC_SCRIBBLE_ROUNDS");
        const int rounds = rounds_env ? std::atoi(rounds_env) : 3000;
        std::mt19937 rng(seed ? uint32_t(std::strtoul(seed, nullptr, 0)) : 20261126);
        Values values(c, rng);
        int violations = 0, skipped = 0;
        for (int round = 0; round < rounds; round++) {
            const int writes = 1 + rng() % 32;
            for (int w = 0; w < writes; w++) {
                const Write write = pick_write(c, rng, values);
                if (touches_protected(s, write)) {
                    skipped++;
                    continue;
                }
                std::memcpy(raw + write.at, &write.value, write.bytes);
            }
            violations += drive_every_call(sr, rng, s, raw);
        }
        munmap(raw, size);
        close(fd);
        hsipc_detach(sr);
        const Tally& t = g_tally;
        std::fprintf(stderr,
                     "scribble: %d rounds, %d writes spared the keeper's words, %d violations; %d allocs, %d sends, "
                     "%d publishes to %d inboxes, %d messages received (%d shared, %d of them the keeper's), %d polls found "
                     "damage, "
                     "%d buffers and endpoints reaped\n",
                     rounds, skipped, violations, t.allocs, t.sends, t.publishes, t.delivered, t.received,
                     t.received_shared, t.received_keepers, t.corrupt, t.reaped);
        return violations == 0 ? 0 : 1;
    });
    EXPECT_EQ(0, hsipc_test::wait_child(scribbler, 120)) << "1: a call broke the contract; 128+n: signal n; -1: hang";
    s->done.store(1);
    EXPECT_EQ(0, hsipc_test::wait_child(keeper, 20)) << "the keeper: 128+n: signal n; -1: hang";
    EXPECT_EQ(0u, s->damage.load()) << s->first_damage;
    EXPECT_GT(s->checks.load(), 1u);
    std::fprintf(stderr, "scribble: the keeper checked its %u words' buffers %llu times\n", s->protected_count,
                 (unsigned long long)s->checks.load());
    close(ready[0]);
    munmap(s, sizeof(Shared));
    hsipc_detach(r);
}

}  // namespace
