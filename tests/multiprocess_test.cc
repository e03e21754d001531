// SPDX-License-Identifier: MIT
// Real traffic between processes, each attaching on its own: re-executed
// children (fresh processes, as users run them) and forked ones.
#include <cstring>
#include <set>
#include <thread>

#include "os.h"
#include "region.h"
#include "test_util.h"

namespace {

using hsipc_test::ScopedName;
using hsipc_test::spawn_child;
using hsipc_test::wait_child;

// Message body: sender number, sequence, then bytes derived from both, of a
// length that varies with the sequence, so order and content are checked.
struct Body {
    uint32_t sender;
    uint32_t seq;
};
size_t body_length(uint32_t seq) { return sizeof(Body) + seq % 200; }
uint8_t body_byte(uint32_t sender, uint32_t seq, size_t i) { return uint8_t(sender * 31 + seq * 7 + i); }

// --child=producer NAME SENDER COUNT: sends COUNT messages to "consumer".
HSIPC_CHILD(producer) {
    if (args.size() != 3) return 100;
    const char* name = args[0].c_str();
    uint32_t sender = uint32_t(std::stoul(args[1]));
    uint32_t count = uint32_t(std::stoul(args[2]));
    hsipc_region* r;
    hsipc_endpoint* self;
    hsipc_id to;
    if (hsipc_attach(name, nullptr, &r) != HSIPC_OK) return 1;
    if (hsipc_endpoint_open(r, ("producer" + args[1]).c_str(), &self) != HSIPC_OK) return 2;
    if (hsipc_test::lookup_wait(r, "consumer", &to) != HSIPC_OK) return 3;
    for (uint32_t seq = 0; seq < count;) {
        hsipc_off off;
        int rc = hsipc_alloc(r, 256, &off);
        if (rc == HSIPC_ENOMEM) {
            std::this_thread::yield();
            continue;
        }
        if (rc != HSIPC_OK) return 4;
        auto* p = static_cast<uint8_t*>(hsipc_ptr(r, off));
        Body b{sender, seq};
        std::memcpy(p, &b, sizeof b);
        size_t len = body_length(seq);
        for (size_t i = sizeof b; i < len; i++) p[i] = body_byte(sender, seq, i);
        for (;;) {
            rc = hsipc_send_offset(self, to, off, len);
            if (rc != HSIPC_EFULL) break;
            std::this_thread::yield();
        }
        if (rc != HSIPC_OK) return 5;
        seq++;
    }
    // Stay until the consumer has everything: detaching would not take back
    // queued messages, but the endpoint must outlive them for `from`.
    hsipc_msg done;
    if (hsipc_poll(self, &done, 60'000'000'000) != HSIPC_OK) return 6;
    hsipc_release(r, done.off);
    return hsipc_detach(r) == HSIPC_OK ? 0 : 7;
}

// How the consumer takes its messages.
enum class Receive { kOneByOne, kBatches };

// Receives producers * count messages and checks content and per-sender order.
void consume(hsipc_region* r, hsipc_endpoint* ep, uint32_t producers, uint32_t count, Receive how) {
    std::vector<uint32_t> next(producers, 0);
    std::set<hsipc_id> senders;
    hsipc_msg batch[32];
    size_t taken = 0, used = 0;
    for (uint64_t received = 0; received < uint64_t(producers) * count; received++) {
        if (used == taken) {
            used = 0;
            if (how == Receive::kBatches) {
                ASSERT_OK(hsipc_poll_batch(ep, batch, 32, 30'000'000'000, 100'000, &taken)) << "after " << received;
                ASSERT_GE(taken, 1u);
                ASSERT_LE(taken, 32u);
            } else {
                ASSERT_OK(hsipc_poll(ep, &batch[0], 30'000'000'000)) << "after " << received;
                taken = 1;
            }
        }
        const hsipc_msg& msg = batch[used++];
        Body b;
        std::memcpy(&b, msg.data, sizeof b);
        ASSERT_LT(b.sender, producers);
        ASSERT_EQ(next[b.sender], b.seq) << "sender " << b.sender;
        ASSERT_EQ(body_length(b.seq), msg.length);
        auto* p = static_cast<const uint8_t*>(msg.data);
        for (size_t i = sizeof b; i < msg.length; i++) ASSERT_EQ(body_byte(b.sender, b.seq, i), p[i]);
        next[b.sender]++;
        senders.insert(msg.from);
        ASSERT_OK(hsipc_release(r, msg.off));
    }
    EXPECT_EQ(producers, senders.size());
    // Tell each producer it may go.
    for (hsipc_id id : senders) {
        hsipc_off off;
        ASSERT_OK(hsipc_alloc(r, 1, &off));
        ASSERT_OK(hsipc_send_offset(ep, id, off, 1));
    }
}

void run_producers_to_one_consumer(uint32_t producers, uint32_t count, Receive how = Receive::kOneByOne) {
    ScopedName name("mp");
    hsipc_config cfg = hsipc_test::small_config(256, 8, 128, 16);
    hsipc_region* r;
    ASSERT_OK(hsipc_attach(name.c_str(), &cfg, &r));
    hsipc_endpoint* ep;
    ASSERT_OK(hsipc_endpoint_open(r, "consumer", &ep));
    std::vector<pid_t> pids;
    for (uint32_t s = 0; s < producers; s++) {
        pids.push_back(spawn_child("producer", {name.c_str(), std::to_string(s), std::to_string(count)}));
    }
    consume(r, ep, producers, count, how);
    for (pid_t pid : pids) EXPECT_EQ(0, wait_child(pid));
    EXPECT_EQ(264, hsipc_test::count_free_buffers(r, 1));
    EXPECT_OK(hsipc_detach(r));
}

TEST(MultiProcess, OneProducerToOneConsumer200k) { run_producers_to_one_consumer(1, 200000); }

TEST(MultiProcess, ThreeProducersToOneConsumerKeepPerSenderOrder) { run_producers_to_one_consumer(3, 50000); }

TEST(MultiProcess, ThreeProducersToABatchingConsumerKeepPerSenderOrder) {
    run_producers_to_one_consumer(3, 50000, Receive::kBatches);
}

// --child=racer NAME START_NS MAX_ENDPOINTS: attaches at START_NS with its own
// configuration and exits with the max_endpoints the region really has.
HSIPC_CHILD(racer) {
    if (args.size() != 3) return 100;
    int64_t start = std::stoll(args[1]);
    hsipc_config cfg = hsipc_test::small_config(8, 2, 8, uint32_t(std::stoul(args[2])));
    while (hsipc::os::monotonic_ns() < start) {
    }
    hsipc_region* r;
    if (hsipc_attach(args[0].c_str(), &cfg, &r) != HSIPC_OK) return 101;
    hsipc_config got;
    hsipc_config_init(&got);
    hsipc_region_config(r, &got);
    hsipc_off off;
    int rc = hsipc_alloc(r, 1, &off) == HSIPC_OK ? int(got.max_endpoints) : 102;
    hsipc_detach(r);
    return rc;
}

TEST(MultiProcess, EightProcessesRacingToCreateAgreeOnOneRegion) {
    for (int round = 0; round < 5; round++) {
        ScopedName name("race");
        int64_t start = hsipc::os::monotonic_ns() + 200'000'000;
        std::vector<pid_t> pids;
        for (int i = 0; i < 8; i++) {
            pids.push_back(spawn_child("racer", {name.c_str(), std::to_string(start), std::to_string(10 + i)}));
        }
        std::set<int> seen;
        for (pid_t pid : pids) {
            int rc = wait_child(pid);
            EXPECT_GE(rc, 10);
            EXPECT_LE(rc, 17);
            seen.insert(rc);
        }
        // Exactly one creator's configuration stands, and everyone saw it.
        EXPECT_EQ(1u, seen.size()) << "round " << round;
    }
}

TEST(MultiProcess, BlockingPollIsWokenByAnotherProcess) {
    ScopedName name("wake");
    hsipc_config cfg = hsipc_test::small_config();
    hsipc_region* r;
    ASSERT_OK(hsipc_attach(name.c_str(), &cfg, &r));
    hsipc_endpoint* ep;
    ASSERT_OK(hsipc_endpoint_open(r, "sleeper", &ep));
    std::string region_name = name.c_str();
    pid_t child = hsipc_test::fork_child([&] {
        hsipc_region* c;
        hsipc_endpoint* self;
        hsipc_id to;
        if (hsipc_attach(region_name.c_str(), nullptr, &c) || hsipc_endpoint_open(c, "waker", &self) ||
            hsipc_lookup(c, "sleeper", &to)) {
            return 1;
        }
        // Wait until the receiver has announced that it sleeps, so the wake
        // path (not the spin) is what this test exercises.
        const auto& region = *reinterpret_cast<hsipc::Region*>(c);
        auto& sleeping = region.endpoint_slot((to & ((1u << region.layout.id_index_bits) - 1)) - 1).sleeping;
        for (int i = 0; i < 10000 && sleeping.load() == 0; i++) usleep(1000);
        if (sleeping.load() == 0) return 5;
        hsipc_off off;
        if (hsipc_alloc(c, 4, &off)) return 2;
        std::memcpy(hsipc_ptr(c, off), "zzz", 4);
        if (hsipc_send_offset(self, to, off, 4)) return 3;
        return hsipc_detach(c) ? 4 : 0;
    });
    hsipc_msg msg;
    ASSERT_OK(hsipc_poll(ep, &msg, 60'000'000'000));
    EXPECT_STREQ("zzz", static_cast<char*>(msg.data));
    EXPECT_OK(hsipc_release(r, msg.off));
    EXPECT_EQ(0, wait_child(child));
    EXPECT_OK(hsipc_detach(r));
}

}  // namespace
