// SPDX-License-Identifier: MIT
// Topics: one buffer, many receivers. Names and ids, subscriptions, the
// shared delivery (same bytes, read-only contract, the last release frees),
// full and closed subscribers, and what a dead publisher or subscriber
// leaves after a reap.
#include <cstring>
#include <set>
#include <thread>
#include <vector>

#include "region.h"
#include "step.h"
#include "test_util.h"

namespace {

using hsipc_test::ScopedName;

class Topics : public ::testing::Test {
protected:
    void SetUp() override {
        hsipc_config cfg = hsipc_test::small_config(32, 4, 4, 16);
        ASSERT_OK(hsipc_attach(name_.c_str(), &cfg, &r_));
        ASSERT_OK(hsipc_endpoint_open(r_, "pub", &pub_));
        for (int i = 0; i < 3; i++) {
            ASSERT_OK(hsipc_endpoint_open(r_, ("sub" + std::to_string(i)).c_str(), &sub_[i]));
            ASSERT_OK(hsipc_subscribe(sub_[i], "frames"));
        }
        ASSERT_OK(hsipc_topic_open(r_, "frames", &topic_));
        all_free_ = hsipc_test::count_free_buffers(r_, 64);
    }
    void TearDown() override { hsipc_detach(r_); }

    // Allocates a 64-byte buffer holding `word` repeated.
    hsipc_off filled(uint64_t word) {
        hsipc_off off;
        EXPECT_OK(hsipc_alloc(r_, 64, &off));
        auto* words = static_cast<uint64_t*>(hsipc_ptr(r_, off));
        for (int i = 0; i < 8; i++) words[i] = word;
        return off;
    }
    int publish(uint64_t word, uint32_t* delivered, uint32_t* skipped = nullptr) {
        return hsipc_publish(pub_, topic_, filled(word), 64, delivered, skipped);
    }

    ScopedName name_{"topics"};
    hsipc_region* r_ = nullptr;
    hsipc_endpoint* pub_ = nullptr;
    hsipc_endpoint* sub_[3] = {};
    hsipc_id topic_ = 0;
    int all_free_ = 0;
};

TEST_F(Topics, OpenFindsTheSameTopicByName) {
    hsipc_id again, other;
    ASSERT_OK(hsipc_topic_open(r_, "frames", &again));
    EXPECT_EQ(topic_, again);
    ASSERT_OK(hsipc_topic_open(r_, "ticks", &other));
    EXPECT_NE(topic_, other);
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_topic_open(r_, "no/slash", &other));
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_topic_open(r_, "", &other));
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_topic_open(nullptr, "x", &other));
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_topic_open(r_, "x", nullptr));
}

// Both kinds of id are hsipc_id values; the header promises a topic id is
// never an endpoint's, so neither can be taken for the other by mistake:
// a send to a topic id is refused as to a closed endpoint, a publish to an
// endpoint id as a bad topic, and nothing moves.
TEST_F(Topics, TopicIdsAreNeverEndpointIds) {
    std::set<hsipc_id> endpoints = {hsipc_endpoint_id(pub_)};
    for (auto* s : sub_) endpoints.insert(hsipc_endpoint_id(s));
    std::set<hsipc_id> topics = {topic_};
    for (int t = 0; t < 8; t++) {
        hsipc_id id;
        ASSERT_OK(hsipc_topic_open(r_, ("t" + std::to_string(t)).c_str(), &id));
        topics.insert(id);
    }
    // Endpoint slots reopened many times (each reopening a new gen).
    for (int i = 0; i < 300; i++) {
        hsipc_endpoint* ep;
        ASSERT_OK(hsipc_endpoint_open(r_, "churn", &ep));
        endpoints.insert(hsipc_endpoint_id(ep));
        ASSERT_OK(hsipc_endpoint_close(ep));
    }
    for (hsipc_id t : topics) EXPECT_EQ(0u, endpoints.count(t)) << std::hex << t;

    hsipc_off off = filled(7);
    uint32_t delivered = 99;
    EXPECT_STATUS(HSIPC_EPEER, hsipc_send_offset(pub_, topic_, off, 64));
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_publish(pub_, hsipc_endpoint_id(sub_[0]), off, 64, &delivered, nullptr));
    EXPECT_EQ(99u, delivered);
    hsipc_msg msg;
    for (auto* s : sub_) EXPECT_STATUS(HSIPC_EAGAIN, hsipc_poll(s, &msg, 0));
    ASSERT_OK(hsipc_release(r_, off));
    EXPECT_EQ(all_free_, hsipc_test::count_free_buffers(r_, 64));
}

TEST_F(Topics, EverySubscriberReadsTheSameBytesInPlace) {
    uint32_t delivered = 99, skipped = 99;
    ASSERT_OK(publish(0x1111, &delivered, &skipped));
    EXPECT_EQ(3u, delivered);
    EXPECT_EQ(0u, skipped);
    std::set<hsipc_off> offsets;
    for (hsipc_endpoint* sub : sub_) {
        hsipc_msg msg;
        ASSERT_OK(hsipc_poll(sub, &msg, 0));
        EXPECT_EQ(HSIPC_MSG_SHARED, msg.flags);
        EXPECT_EQ(64u, msg.length);
        EXPECT_EQ(hsipc_endpoint_id(pub_), msg.from);
        EXPECT_EQ(0x1111u, static_cast<uint64_t*>(msg.data)[7]);
        EXPECT_EQ(msg.data, hsipc_ptr(r_, msg.off));
        EXPECT_LE(64u, hsipc_capacity(r_, msg.off));
        offsets.insert(msg.off);
    }
    EXPECT_EQ(1u, offsets.size()) << "one buffer, written once, not a copy per subscriber";
    // Each release lets one reference go; the buffer returns with the last.
    const hsipc_off off = *offsets.begin();
    EXPECT_OK(hsipc_release(r_, off));
    EXPECT_OK(hsipc_release(r_, off));
    EXPECT_NE(nullptr, hsipc_ptr(r_, off)) << "the third reference still holds it";
    EXPECT_OK(hsipc_release(r_, off));
    EXPECT_STATUS(HSIPC_EBADOFF, hsipc_release(r_, off));
    EXPECT_EQ(nullptr, hsipc_ptr(r_, off));
    EXPECT_EQ(all_free_, hsipc_test::count_free_buffers(r_, 64));
}

TEST_F(Topics, PointToPointMessagesOfASharedBufferAreRefused) {
    uint32_t delivered;
    ASSERT_OK(publish(7, &delivered));
    hsipc_msg msg;
    ASSERT_OK(hsipc_poll(sub_[0], &msg, 0));
    EXPECT_STATUS(HSIPC_EBADOFF, hsipc_send_offset(sub_[0], hsipc_endpoint_id(pub_), msg.off, 8));
    EXPECT_STATUS(HSIPC_EBADOFF, hsipc_publish(sub_[0], topic_, msg.off, 8, &delivered, nullptr));
    hsipc_msg none;
    EXPECT_STATUS(HSIPC_EAGAIN, hsipc_poll(pub_, &none, 0));
    EXPECT_OK(hsipc_release(r_, msg.off));  // still ours to release: nothing changed
    for (int i = 1; i < 3; i++) {
        ASSERT_OK(hsipc_poll(sub_[i], &msg, 0));
        EXPECT_OK(hsipc_release(r_, msg.off));
    }
    EXPECT_EQ(all_free_, hsipc_test::count_free_buffers(r_, 64));
}

TEST_F(Topics, ThePublisherGivesTheBufferUpEvenToNoOne) {
    hsipc_id empty;
    ASSERT_OK(hsipc_topic_open(r_, "nobody-listens", &empty));
    const hsipc_off off = filled(1);
    uint32_t delivered = 99, skipped = 99;
    ASSERT_OK(hsipc_publish(pub_, empty, off, 64, &delivered, &skipped));
    EXPECT_EQ(0u, delivered);
    EXPECT_EQ(0u, skipped);
    EXPECT_EQ(nullptr, hsipc_ptr(r_, off));
    EXPECT_EQ(all_free_, hsipc_test::count_free_buffers(r_, 64));
    // After a publish to subscribers too, the publisher holds nothing.
    const hsipc_off shared = filled(2);
    ASSERT_OK(hsipc_publish(pub_, topic_, shared, 64, &delivered, nullptr));
    EXPECT_STATUS(HSIPC_EBADOFF, hsipc_release(r_, shared)) << "the publisher's release must not drop a subscriber's reference";
}

TEST_F(Topics, BadArgumentsChangeNothing) {
    const hsipc_off off = filled(3);
    uint32_t delivered;
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_publish(pub_, topic_, off, 64, nullptr, nullptr));
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_publish(nullptr, topic_, off, 64, &delivered, nullptr));
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_publish(pub_, 0, off, 64, &delivered, nullptr));
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_publish(pub_, hsipc_endpoint_id(sub_[0]) + 12345, off, 64, &delivered, nullptr));
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_publish(pub_, topic_, off, 1 << 20, &delivered, nullptr));
    EXPECT_STATUS(HSIPC_EBADOFF, hsipc_publish(pub_, topic_, off + 1, 8, &delivered, nullptr));
    EXPECT_NE(nullptr, hsipc_ptr(r_, off)) << "a refused publish leaves the buffer with its holder";
    EXPECT_OK(hsipc_release(r_, off));
}

TEST_F(Topics, AFullSubscriberMissesTheMessageAndSlowsNoOne) {
    uint32_t delivered, skipped;
    for (int i = 0; i < 4; i++) {  // sub0's inbox of 4 fills; the others drain as they go
        ASSERT_OK(publish(uint64_t(i), &delivered, &skipped));
        EXPECT_EQ(3u, delivered);
        for (int s = 1; s < 3; s++) {
            hsipc_msg msg;
            ASSERT_OK(hsipc_poll(sub_[s], &msg, 0));
            EXPECT_OK(hsipc_release(r_, msg.off));
        }
    }
    ASSERT_OK(publish(4, &delivered, &skipped));
    EXPECT_EQ(2u, delivered);
    EXPECT_EQ(1u, skipped);
    for (int s = 1; s < 3; s++) {
        hsipc_msg msg;
        ASSERT_OK(hsipc_poll(sub_[s], &msg, 0));
        EXPECT_EQ(4u, static_cast<uint64_t*>(msg.data)[0]);
        EXPECT_OK(hsipc_release(r_, msg.off));
    }
    for (uint64_t i = 0; i < 4; i++) {  // sub0 has 0..3 in order, then nothing
        hsipc_msg msg;
        ASSERT_OK(hsipc_poll(sub_[0], &msg, 0));
        EXPECT_EQ(i, static_cast<uint64_t*>(msg.data)[0]);
        EXPECT_OK(hsipc_release(r_, msg.off));
    }
    hsipc_msg none;
    EXPECT_STATUS(HSIPC_EAGAIN, hsipc_poll(sub_[0], &none, 0));
    EXPECT_EQ(all_free_, hsipc_test::count_free_buffers(r_, 64));
}

TEST_F(Topics, SubscribeIsIdempotentAndUnsubscribeStopsDelivery) {
    EXPECT_OK(hsipc_subscribe(sub_[0], "frames"));
    uint32_t delivered;
    ASSERT_OK(publish(5, &delivered));
    EXPECT_EQ(3u, delivered) << "subscribing twice must not deliver twice";
    ASSERT_OK(hsipc_unsubscribe(sub_[1], "frames"));
    EXPECT_STATUS(HSIPC_ENOENT, hsipc_unsubscribe(sub_[1], "frames"));
    EXPECT_STATUS(HSIPC_ENOENT, hsipc_unsubscribe(sub_[1], "never-made"));
    ASSERT_OK(publish(6, &delivered));
    EXPECT_EQ(2u, delivered);
    hsipc_msg msg;
    ASSERT_OK(hsipc_poll(sub_[1], &msg, 0));  // the one queued before it left stays
    EXPECT_EQ(5u, static_cast<uint64_t*>(msg.data)[0]);
    EXPECT_OK(hsipc_release(r_, msg.off));
    EXPECT_STATUS(HSIPC_EAGAIN, hsipc_poll(sub_[1], &msg, 0));
    for (int s : {0, 2}) {
        for (int k = 0; k < 2; k++) {
            ASSERT_OK(hsipc_poll(sub_[s], &msg, 0));
            EXPECT_OK(hsipc_release(r_, msg.off));
        }
    }
    EXPECT_EQ(all_free_, hsipc_test::count_free_buffers(r_, 64));
}

TEST(TopicLimits, ATopicHasAtMostMaxSubscribers) {
    ScopedName name("topics-limit");
    hsipc_config cfg = hsipc_test::small_config(32, 4, 4, 64);
    hsipc_region* r;
    ASSERT_OK(hsipc_attach(name.c_str(), &cfg, &r));
    std::vector<hsipc_endpoint*> subscribers;
    int rc = HSIPC_OK;
    for (int i = 0; rc == HSIPC_OK && i < 64; i++) {
        hsipc_endpoint* ep;
        ASSERT_OK(hsipc_endpoint_open(r, ("sub" + std::to_string(i)).c_str(), &ep));
        subscribers.push_back(ep);
        rc = hsipc_subscribe(ep, "crowded");
    }
    EXPECT_STATUS(HSIPC_ENOMEM, rc);
    EXPECT_EQ(17u, subscribers.size()) << "the 17th subscriber is refused, with max_subscribers 16";
    // Closing a subscriber frees its place.
    ASSERT_OK(hsipc_endpoint_close(subscribers[0]));
    EXPECT_OK(hsipc_subscribe(subscribers.back(), "crowded"));
    hsipc_detach(r);
}

TEST_F(Topics, ClosingASubscriberDropsOnlyItsReferences) {
    uint32_t delivered;
    ASSERT_OK(publish(8, &delivered));
    ASSERT_OK(publish(9, &delivered));
    hsipc_msg held;
    ASSERT_OK(hsipc_poll(sub_[0], &held, 0));  // sub0 holds one, has one queued
    ASSERT_OK(hsipc_endpoint_close(sub_[0]));  // its queued reference goes with it
    hsipc_msg msg;
    for (int s = 1; s < 3; s++) {
        for (uint64_t word : {8u, 9u}) {
            ASSERT_OK(hsipc_poll(sub_[s], &msg, 0));
            EXPECT_EQ(word, static_cast<uint64_t*>(msg.data)[0]);
            EXPECT_OK(hsipc_release(r_, msg.off));
        }
    }
    EXPECT_EQ(8u, static_cast<uint64_t*>(held.data)[0]) << "a held reference outlives its endpoint's close";
    EXPECT_OK(hsipc_release(r_, held.off));
    EXPECT_EQ(all_free_, hsipc_test::count_free_buffers(r_, 64));
    ASSERT_OK(publish(10, &delivered));
    EXPECT_EQ(2u, delivered) << "a closed endpoint is no subscriber";
}

TEST_F(Topics, SharedAndPointToPointMessagesMixInOrder) {
    uint32_t delivered;
    for (uint64_t i = 0; i < 3; i++) {
        if (i == 1) {
            ASSERT_OK(hsipc_send_offset(pub_, hsipc_endpoint_id(sub_[0]), filled(100), 64));
        } else {
            ASSERT_OK(publish(i, &delivered));
        }
    }
    hsipc_msg msg;
    const uint64_t expected[] = {0, 100, 2};
    const uint32_t flags[] = {HSIPC_MSG_SHARED, 0, HSIPC_MSG_SHARED};
    for (int k = 0; k < 3; k++) {
        ASSERT_OK(hsipc_poll(sub_[0], &msg, 0));
        EXPECT_EQ(expected[k], static_cast<uint64_t*>(msg.data)[0]);
        EXPECT_EQ(flags[k], msg.flags);
        EXPECT_OK(hsipc_release(r_, msg.off));
    }
}

// A subscriber process dies holding one shared buffer and with another
// queued; the reap lets its references go, and the others read on.
TEST_F(Topics, ADeadSubscribersReferencesGoAtTheReap) {
    uint32_t delivered;
    pid_t child = hsipc_test::fork_child([&]() -> int {
        hsipc_region* cr;
        hsipc_endpoint* ep;
        if (hsipc_attach(name_.c_str(), nullptr, &cr) || hsipc_endpoint_open(cr, "doomed", &ep) ||
            hsipc_subscribe(ep, "frames")) {
            return 2;
        }
        hsipc_id ready;
        if (hsipc_lookup_wait(cr, "go", 10'000'000'000, &ready)) return 3;
        hsipc_msg msg;
        if (hsipc_poll(ep, &msg, 10'000'000'000)) return 4;  // held at death
        raise(SIGKILL);
        return 5;
    });
    // Wait until it subscribed: a publish reaches 4.
    for (int i = 0; i < 1000; i++) {
        ASSERT_OK(publish(11, &delivered));
        for (hsipc_endpoint* sub : sub_) {
            hsipc_msg msg;
            ASSERT_OK(hsipc_poll(sub, &msg, 0));
            EXPECT_OK(hsipc_release(r_, msg.off));
        }
        if (delivered == 4) break;
        usleep(10'000);
    }
    ASSERT_EQ(4u, delivered);
    ASSERT_OK(publish(12, &delivered));
    hsipc_endpoint* go;
    ASSERT_OK(hsipc_endpoint_open(r_, "go", &go));
    ASSERT_EQ(128 + SIGKILL, hsipc_test::wait_child(child));
    EXPECT_GT(hsipc_reap(r_), 0);
    for (hsipc_endpoint* sub : sub_) {
        hsipc_msg msg;
        ASSERT_OK(hsipc_poll(sub, &msg, 0));
        EXPECT_EQ(12u, static_cast<uint64_t*>(msg.data)[0]);
        EXPECT_OK(hsipc_release(r_, msg.off));
    }
    EXPECT_EQ(all_free_, hsipc_test::count_free_buffers(r_, 64));
}

// A subscriber process detaches while it holds one shared buffer and has
// another queued: its references go with the detach, as its own buffers
// do, without a reap (its slot is free afterwards: no reap would find it).
TEST_F(Topics, ADetachingSubscriberGivesItsReferencesBack) {
    uint32_t delivered;
    pid_t child = hsipc_test::fork_child([&]() -> int {
        hsipc_region* cr;
        hsipc_endpoint* ep;
        if (hsipc_attach(name_.c_str(), nullptr, &cr) || hsipc_endpoint_open(cr, "leaving", &ep) ||
            hsipc_subscribe(ep, "frames")) {
            return 2;
        }
        hsipc_id ready;
        if (hsipc_lookup_wait(cr, "go", 10'000'000'000, &ready)) return 3;
        hsipc_msg msg;
        if (hsipc_poll(ep, &msg, 10'000'000'000)) return 4;
        if (msg.flags != HSIPC_MSG_SHARED) return 5;
        return hsipc_detach(cr) == HSIPC_OK ? 0 : 6;  // holding msg, one more queued
    });
    hsipc_id leaving;
    ASSERT_OK(hsipc_test::lookup_wait(r_, "leaving", &leaving));
    for (int i = 0; i < 1000; i++) {
        ASSERT_OK(publish(21, &delivered));
        for (hsipc_endpoint* sub : sub_) {
            hsipc_msg msg;
            ASSERT_OK(hsipc_poll(sub, &msg, 0));
            EXPECT_OK(hsipc_release(r_, msg.off));
        }
        if (delivered == 4) break;
        usleep(10'000);
    }
    ASSERT_EQ(4u, delivered);
    ASSERT_OK(publish(22, &delivered));
    ASSERT_EQ(4u, delivered);
    hsipc_endpoint* go;
    ASSERT_OK(hsipc_endpoint_open(r_, "go", &go));
    ASSERT_EQ(0, hsipc_test::wait_child(child));
    for (hsipc_endpoint* sub : sub_) {
        hsipc_msg msg;
        ASSERT_OK(hsipc_poll(sub, &msg, 0));
        EXPECT_OK(hsipc_release(r_, msg.off));
    }
    EXPECT_EQ(all_free_, hsipc_test::count_free_buffers(r_, 64)) << "the detached subscriber's references leaked";
    EXPECT_EQ(0, hsipc_reap(r_));
    EXPECT_EQ(all_free_, hsipc_test::count_free_buffers(r_, 64)) << "not even a reap finds them";
}

// A reaper closes the endpoint of a live subscriber — its owner word in the
// endpoint table scribbled to name a free process slot — while the
// subscriber takes a shared message from it: the close's sweep finds the
// reference queued, the subscriber takes it (queued -> held), then the
// sweep lets it go. It must let go only the queued reference it found,
// never the one the subscriber now holds, or the buffer returns to its
// pool under the subscriber's feet. Two threads of one process, paused at
// chosen steps.
namespace race {
std::atomic<int> taker_looking, taker_go, taker_done, sweeper_armed;
std::atomic<std::atomic<uint64_t>*> watched_slot;
std::thread::id sweeper;

[[maybe_unused]] void hook(hsipc::Step s) {
    auto wait_for = [](std::atomic<int>& flag) {
        for (int i = 0; i < 5'000'000 && !flag.load(); i++) std::this_thread::yield();
    };
    if (s == hsipc::Step::kTakeLook && std::this_thread::get_id() != sweeper) {
        taker_looking.store(1);
        wait_for(taker_go);
    } else if (std::this_thread::get_id() == sweeper && sweeper_armed.load() &&
               hsipc::entry_content(watched_slot.load()->load()) == hsipc::kEntryClosed) {
        // The sweep's first step past the swap of the slot holding our entry.
        sweeper_armed.store(0);
        taker_go.store(1);
        wait_for(taker_done);
    }
}
}  // namespace race

TEST_F(Topics, AReaperClosingALiveSubscriberNeverDropsTheReferenceItTook) {
    if (!hsipc::kStepHooks) GTEST_SKIP() << "needs a build with -DHSIPC_STEP_HOOKS=ON";
    uint32_t delivered;
    ASSERT_OK(hsipc_unsubscribe(sub_[1], "frames"));
    ASSERT_OK(hsipc_unsubscribe(sub_[2], "frames"));
    ASSERT_OK(publish(31, &delivered));
    ASSERT_EQ(1u, delivered);
    const hsipc::Region& c = *reinterpret_cast<hsipc::Region*>(r_);
    const hsipc::Endpoint& e = *reinterpret_cast<hsipc::Endpoint*>(sub_[0]);
    race::watched_slot.store(&e.inbox.slots[0]);
    race::sweeper = std::this_thread::get_id();
#ifdef HSIPC_STEP_HOOKS
    hsipc::g_step_hook.store(race::hook);
#endif
    hsipc_msg msg{};
    int rc = HSIPC_EINVAL;
    std::thread taker([&] {
        rc = hsipc_poll(sub_[0], &msg, 0);
        race::taker_done.store(1);
    });
    for (int i = 0; i < 5'000'000 && !race::taker_looking.load(); i++) std::this_thread::yield();
    // The scribble: the endpoint's owner is a process slot no one uses.
    c.endpoint_slot(e.index).owner_slot.store(c.process_slots() - 1);
    race::sweeper_armed.store(1);
    const int reaped = hsipc_reap(r_);
    taker.join();
#ifdef HSIPC_STEP_HOOKS
    hsipc::g_step_hook.store(nullptr);
#endif
    EXPECT_GT(reaped, 0) << "the reap closed the endpoint";
    ASSERT_OK(rc);
    EXPECT_EQ(HSIPC_MSG_SHARED, msg.flags);
    EXPECT_EQ(msg.data, hsipc_ptr(r_, msg.off)) << "the subscriber no longer holds what it took";
    EXPECT_EQ(all_free_ - 1, hsipc_test::count_free_buffers(r_, 64)) << "the buffer went back to its pool";
    EXPECT_OK(hsipc_release(r_, msg.off));
    EXPECT_EQ(all_free_, hsipc_test::count_free_buffers(r_, 64));
}

// A publisher dies after sharing the buffer, before delivering it to
// anyone: the reap drops every reference and frees the buffer.
TEST_F(Topics, APublisherKilledBeforeDeliveringLeavesNothing) {
    if (!hsipc::kStepHooks) GTEST_SKIP() << "needs a build with -DHSIPC_STEP_HOOKS=ON";
    pid_t child = hsipc_test::fork_child([&]() -> int {
        hsipc_region* cr;
        hsipc_endpoint* ep;
        hsipc_id topic;
        hsipc_off off;
        if (hsipc_attach(name_.c_str(), nullptr, &cr) || hsipc_endpoint_open(cr, "doomed-pub", &ep) ||
            hsipc_topic_open(cr, "frames", &topic) || hsipc_alloc(cr, 64, &off)) {
            return 2;
        }
#ifdef HSIPC_STEP_HOOKS
        hsipc::g_step_hook.store([](hsipc::Step s) {
            if (s == hsipc::Step::kPublishShared) raise(SIGKILL);
        });
#endif
        uint32_t delivered;
        hsipc_publish(ep, topic, off, 8, &delivered, nullptr);
        return 3;
    });
    ASSERT_EQ(128 + SIGKILL, hsipc_test::wait_child(child));
    EXPECT_GT(hsipc_reap(r_), 0);
    for (hsipc_endpoint* sub : sub_) {
        hsipc_msg msg;
        EXPECT_STATUS(HSIPC_EAGAIN, hsipc_poll(sub, &msg, 0));
    }
    EXPECT_EQ(all_free_, hsipc_test::count_free_buffers(r_, 64));
}

// Three subscriber threads take and release while the publisher publishes
// as fast as it can: every message arrives once, in order, and every
// buffer comes back.
TEST_F(Topics, ConcurrentSubscribersLoseAndLeakNothing) {
    constexpr uint64_t kMessages = 20000;
    std::atomic<bool> failed{false}, done{false};
    std::vector<std::thread> readers;
    std::atomic<uint64_t> received[3] = {};
    for (int s = 0; s < 3; s++) {
        readers.emplace_back([&, s] {
            int64_t last = -1;
            for (;;) {
                hsipc_msg msg;
                const bool finished = done.load();
                int rc = hsipc_poll(sub_[s], &msg, 100'000'000);
                if (rc == HSIPC_EAGAIN && finished) return;
                if (rc == HSIPC_EAGAIN) continue;
                if (rc != HSIPC_OK) {
                    failed.store(true);
                    return;
                }
                const int64_t word = int64_t(static_cast<uint64_t*>(msg.data)[0]);
                if (word <= last || msg.flags != HSIPC_MSG_SHARED) failed.store(true);
                last = word;
                received[s].fetch_add(1);
                if (hsipc_release(r_, msg.off) != HSIPC_OK) failed.store(true);
            }
        });
    }
    uint64_t delivered_total = 0;
    for (uint64_t i = 0; i < kMessages; i++) {
        hsipc_off off;
        while (hsipc_alloc(r_, 64, &off) != HSIPC_OK) std::this_thread::yield();
        static_cast<uint64_t*>(hsipc_ptr(r_, off))[0] = i;
        uint32_t delivered;
        ASSERT_OK(hsipc_publish(pub_, topic_, off, 64, &delivered, nullptr));
        delivered_total += delivered;
    }
    done.store(true);
    for (std::thread& t : readers) t.join();
    EXPECT_FALSE(failed.load());
    EXPECT_EQ(delivered_total, received[0] + received[1] + received[2]);
    EXPECT_EQ(all_free_, hsipc_test::count_free_buffers(r_, 64));
}

}  // namespace
