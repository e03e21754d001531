// SPDX-License-Identifier: MIT
// The inbox ring on its own, in private memory, plus full/FIFO behaviour
// through the C API.
#include "inbox.h"

#include <chrono>
#include <thread>
#include <vector>

#include "layout.h"
#include "os.h"
#include "region.h"
#include "test_util.h"

namespace hsipc {
namespace {

class Ring {
public:
    explicit Ring(uint32_t capacity, uint32_t gen = 5) : slots_(capacity), view_{slots_.data(), capacity, gen} {
        inbox_reset(view_);
        set_hint(0);
    }
    const InboxView& view() const { return view_; }
    std::atomic<uint64_t>& slot(uint32_t i) { return slots_[i]; }
    std::atomic<uint64_t> tail{0};
    // A hint at `pos`, stored by a sender of this incarnation or (as a late
    // store can leave it) of an earlier one.
    void set_hint(uint32_t pos, bool this_incarnation = true) {
        tail.store(tail_hint_word(this_incarnation ? view_.gen : view_.gen - 1, pos));
    }
    uint32_t hint() const { return uint32_t(tail.load()); }
    uint32_t head = 0;

    int push(uint32_t content) {
        uint32_t position;
        return inbox_push(view_, tail, content, &position);
    }
    bool contains(uint32_t content) {
        bool found = false;
        inbox_for_each_buffer(view_, [&](uint32_t c) { found |= c == content; });
        return found;
    }

    int pop(uint32_t* content) {
        int rc = inbox_peek(view_, head, content);
        if (rc == HSIPC_OK) inbox_consume(view_, head++);
        return rc;
    }

private:
    std::vector<std::atomic<uint64_t>> slots_;
    InboxView view_;
};

TEST(Inbox, HoldsExactlyCapacityInOrder) {
    Ring ring(8);
    for (uint32_t i = 1; i <= 8; i++) ASSERT_OK(ring.push(i));
    EXPECT_STATUS(HSIPC_EFULL, ring.push(9));
    EXPECT_EQ(8u, inbox_count(ring.view()));
    uint32_t c;
    for (uint32_t i = 1; i <= 8; i++) {
        ASSERT_OK(ring.pop(&c));
        EXPECT_EQ(i, c);
    }
    EXPECT_STATUS(HSIPC_EAGAIN, ring.pop(&c));
}

TEST(Inbox, WrapsAroundManyLaps) {
    Ring ring(4);
    uint32_t c;
    for (uint32_t i = 1; i < 1000; i++) {
        ASSERT_OK(ring.push(i));
        if (i % 3 == 0) {
            while (ring.pop(&c) == HSIPC_OK) {
            }
        }
        if (inbox_count(ring.view()) == 4) {
            EXPECT_STATUS(HSIPC_EFULL, ring.push(1));
            ASSERT_OK(ring.pop(&c));
        }
    }
}

TEST(Inbox, StaleTailHintOnlyCostsSteps) {
    Ring ring(8);
    for (uint32_t i = 1; i <= 5; i++) ASSERT_OK(ring.push(i));
    ring.set_hint(0);  // as if another sender wrote an older hint last
    ASSERT_OK(ring.push(6));
    uint32_t c;
    for (uint32_t i = 1; i <= 6; i++) {
        ASSERT_OK(ring.pop(&c));
        EXPECT_EQ(i, c);  // the late hint did not let 6 overtake
    }
}

TEST(Inbox, ScribbledTailHintAheadIsRecovered) {
    Ring ring(8);
    ASSERT_OK(ring.push(1));
    ring.set_hint(1000003);
    ASSERT_OK(ring.push(2));
    uint32_t c;
    ASSERT_OK(ring.pop(&c));
    EXPECT_EQ(1u, c);
    ASSERT_OK(ring.pop(&c));
    EXPECT_EQ(2u, c);
}

TEST(Inbox, ClosedInboxRefusesAndReturnsWhatWasQueued) {
    Ring ring(4);
    ASSERT_OK(ring.push(7));
    ASSERT_OK(ring.push(9));
    std::vector<uint32_t> drained;
    inbox_close(ring.view(), [&](uint32_t c) { drained.push_back(c); });
    EXPECT_EQ((std::vector<uint32_t>{7, 9}), drained);
    EXPECT_STATUS(HSIPC_EPEER, ring.push(1));
    EXPECT_FALSE(ring.contains(7));
}

TEST(Inbox, OtherGenerationIsAnotherEndpoint) {
    Ring ring(4, 5);
    InboxView stale = ring.view();
    stale.gen = 4;  // a sender holding an id from before a reopen
    uint32_t position;
    EXPECT_STATUS(HSIPC_EPEER, inbox_push(stale, ring.tail, 1, &position));
    EXPECT_EQ(0u, inbox_count(ring.view()));
}

TEST(Inbox, DamagedEntryIsReportedThenSkipped) {
    Ring ring(4);
    ASSERT_OK(ring.push(1));
    ring.slot(1).store(entry_word(77, 5, 3));  // a wrong position: scribbled
    // A sender cannot get past an entry no protocol step makes...
    EXPECT_STATUS(HSIPC_ECORRUPT, ring.push(2));
    uint32_t c;
    ASSERT_OK(ring.pop(&c));
    EXPECT_EQ(1u, c);
    // ...the receiver reports it, drops it, and the inbox works again.
    EXPECT_STATUS(HSIPC_ECORRUPT, ring.pop(&c));
    ASSERT_TRUE(inbox_skip_damaged(ring.view(), ring.head));
    ring.head++;
    ASSERT_OK(ring.push(2));
    ASSERT_OK(ring.pop(&c));
    EXPECT_EQ(2u, c);
}

TEST(Inbox, HintManyLapsStaleJumpsToTheTail) {
    Ring ring(4);
    uint32_t c;
    for (uint32_t i = 1; i <= 40; i++) {
        ASSERT_OK(ring.push(i));
        ASSERT_OK(ring.pop(&c));
    }
    ASSERT_OK(ring.push(41));
    ring.set_hint(3);  // ten laps behind, as a long-preempted sender leaves it
    ASSERT_OK(ring.push(42));
    ASSERT_OK(ring.pop(&c));
    EXPECT_EQ(41u, c);
    ASSERT_OK(ring.pop(&c));
    EXPECT_EQ(42u, c);
}

TEST(Inbox, ContainsFindsQueuedContentOnly) {
    Ring ring(4);
    ASSERT_OK(ring.push(42));
    EXPECT_TRUE(ring.contains(42));
    uint32_t c;
    ASSERT_OK(ring.pop(&c));
    EXPECT_FALSE(ring.contains(42));
}

// A hint left ahead of the tail (stored late by a sender of a closed
// incarnation) must neither let a sender publish past a hole nor make an
// inbox with room look full.
TEST(Inbox, HintAheadOfTheTailSendsSendersBack) {
    Ring ring(8);
    uint32_t c;
    for (uint32_t i = 1; i <= 3; i++) ASSERT_OK(ring.push(i));
    for (uint32_t ahead : {1u, 4u, 8u, 9u, 13u}) {
        ring.set_hint(ring.hint() + ahead, false);
        ASSERT_OK(ring.push(10 + ahead)) << "hint " << ahead << " ahead";
        ASSERT_OK(ring.pop(&c));  // keep 3 queued
    }
    // In order, no hole: what is queued is what the receiver finds.
    std::vector<uint32_t> got;
    while (ring.pop(&c) == HSIPC_OK) got.push_back(c);
    EXPECT_EQ((std::vector<uint32_t>{18, 19, 23}), got);  // 1, 2, 3, 11, 14 were popped
    EXPECT_EQ(0u, inbox_count(ring.view()));
}

// Positions are 32 bits and compared as distances: a ring whose positions
// cross 2^32 keeps its order, its fullness and the "below is taken" check
// (docs/region-format.md, "Counters that wrap").
TEST(Inbox, PositionsWrapAround2To32) {
    Ring ring(8);
    const uint32_t base = 0u - 4 * 8;  // 32 positions before the wrap
    for (uint32_t i = 0; i < 8; i++) ring.slot(i).store(entry_word(base + i, 5, 0));
    ring.head = base;
    ring.set_hint(base);
    uint32_t c;
    for (uint32_t i = 1; i <= 100; i++) {
        ASSERT_OK(ring.push(i)) << "message " << i << ", head " << ring.head - base << ", hint " << ring.hint() - base;
        if (i % 3 == 0) ring.set_hint(ring.hint() + 5, false);  // a late hint of an earlier incarnation
        if (i % 7 == 0) {
            while (ring.pop(&c) == HSIPC_OK) {
            }
        }
    }
    while (ring.pop(&c) == HSIPC_OK) {
    }
    EXPECT_EQ(100u, c);  // in order to the last
    EXPECT_LT(ring.head, base);  // past the wrap
    for (uint32_t i = 1; i <= 8; i++) ASSERT_OK(ring.push(i));
    EXPECT_STATUS(HSIPC_EFULL, ring.push(9));
    for (uint32_t i = 1; i <= 8; i++) {
        ASSERT_OK(ring.pop(&c));
        EXPECT_EQ(i, c);
    }
}

TEST(Inbox, ConcurrentSendersKeepTheirOwnOrder) {
    constexpr uint32_t kSenders = 3, kPerSender = 30000;
    Ring ring(64);
    std::vector<std::thread> senders;
    for (uint32_t s = 0; s < kSenders; s++) {
        senders.emplace_back([&, s] {
            for (uint32_t i = 0; i < kPerSender;) {
                // content: sender in the top bits, sequence below (+1: never 0)
                int rc = ring.push((s << 20 | i) + 1);
                if (rc == HSIPC_OK) {
                    i++;
                } else {
                    ASSERT_STATUS(HSIPC_EFULL, rc);
                    std::this_thread::yield();
                }
            }
        });
    }
    std::vector<uint32_t> next(kSenders, 0);
    uint32_t received = 0, c;
    while (received < kSenders * kPerSender) {
        if (ring.pop(&c) != HSIPC_OK) continue;
        uint32_t s = (c - 1) >> 20, i = (c - 1) & 0xfffff;
        ASSERT_LT(s, kSenders);
        ASSERT_EQ(next[s], i) << "sender " << s;
        next[s]++;
        received++;
    }
    for (auto& t : senders) t.join();
}

TEST(InboxApi, FullInboxLeavesTheBufferWithTheSender) {
    hsipc_test::ScopedName name("inbox-full");
    hsipc_config cfg = hsipc_test::small_config(16, 2, 4);
    hsipc_region* r;
    ASSERT_OK(hsipc_attach(name.c_str(), &cfg, &r));
    hsipc_endpoint* ep;
    ASSERT_OK(hsipc_endpoint_open(r, "rx", &ep));
    hsipc_id me = hsipc_endpoint_id(ep);
    hsipc_off off;
    for (int i = 0; i < 4; i++) {
        ASSERT_OK(hsipc_alloc(r, 8, &off));
        *static_cast<int*>(hsipc_ptr(r, off)) = i;
        ASSERT_OK(hsipc_send_offset(ep, me, off, sizeof(int)));
    }
    ASSERT_OK(hsipc_alloc(r, 8, &off));
    EXPECT_STATUS(HSIPC_EFULL, hsipc_send_offset(ep, me, off, 8));
    EXPECT_NE(nullptr, hsipc_ptr(r, off));  // still ours
    hsipc_msg msg;
    ASSERT_OK(hsipc_poll(ep, &msg, 0));
    EXPECT_EQ(0, *static_cast<int*>(msg.data));
    EXPECT_OK(hsipc_release(r, msg.off));
    EXPECT_OK(hsipc_send_offset(ep, me, off, 8));  // room again
    for (int i = 1; i < 4; i++) {
        ASSERT_OK(hsipc_poll(ep, &msg, 0));
        EXPECT_EQ(i, *static_cast<int*>(msg.data));
        EXPECT_EQ(sizeof(int), msg.length);
        EXPECT_OK(hsipc_release(r, msg.off));
    }
    ASSERT_OK(hsipc_poll(ep, &msg, 0));
    EXPECT_OK(hsipc_release(r, msg.off));
    EXPECT_STATUS(HSIPC_EAGAIN, hsipc_poll(ep, &msg, 0));
    EXPECT_OK(hsipc_detach(r));
}

TEST(InboxApi, SendingABufferWeDoNotHoldIsRefused) {
    hsipc_test::ScopedName name("inbox-badoff");
    hsipc_config cfg = hsipc_test::small_config();
    hsipc_region* r;
    ASSERT_OK(hsipc_attach(name.c_str(), &cfg, &r));
    hsipc_endpoint* ep;
    ASSERT_OK(hsipc_endpoint_open(r, "rx", &ep));
    hsipc_off off;
    ASSERT_OK(hsipc_alloc(r, 8, &off));
    ASSERT_OK(hsipc_release(r, off));
    EXPECT_STATUS(HSIPC_EBADOFF, hsipc_send_offset(ep, hsipc_endpoint_id(ep), off, 8));
    EXPECT_STATUS(HSIPC_EBADOFF, hsipc_send_offset(ep, hsipc_endpoint_id(ep), 12345, 8));
    ASSERT_OK(hsipc_alloc(r, 8, &off));
    ASSERT_OK(hsipc_send_offset(ep, hsipc_endpoint_id(ep), off, 8));
    // Sent: the receiver (us, here) holds it only once it is polled.
    EXPECT_STATUS(HSIPC_EBADOFF, hsipc_send_offset(ep, hsipc_endpoint_id(ep), off, 8));
    EXPECT_STATUS(HSIPC_EBADOFF, hsipc_release(r, off));
    EXPECT_EQ(nullptr, hsipc_ptr(r, off));
    hsipc_msg msg;
    ASSERT_OK(hsipc_poll(ep, &msg, 0));
    EXPECT_OK(hsipc_send_offset(ep, hsipc_endpoint_id(ep), msg.off, 8));  // forward as received
    ASSERT_OK(hsipc_poll(ep, &msg, 0));
    EXPECT_OK(hsipc_release(r, msg.off));
    EXPECT_OK(hsipc_detach(r));
}

}  // namespace
}  // namespace hsipc

namespace {

TEST(PollMany, TakesWhatIsQueuedInOrderUpToMax) {
    hsipc_test::ScopedName name("poll-many");
    hsipc_config cfg = hsipc_test::small_config(16, 2, 16);
    hsipc_region* r;
    ASSERT_OK(hsipc_attach(name.c_str(), &cfg, &r));
    hsipc_endpoint* ep;
    ASSERT_OK(hsipc_endpoint_open(r, "rx", &ep));
    hsipc_msg msgs[8];
    size_t count = 99;
    EXPECT_STATUS(HSIPC_EAGAIN, hsipc_poll_many(ep, msgs, 8, 0, &count));
    EXPECT_EQ(99u, count);  // untouched on failure
    for (int i = 0; i < 11; i++) {
        hsipc_off off;
        ASSERT_OK(hsipc_alloc(r, 4, &off));
        *static_cast<int*>(hsipc_ptr(r, off)) = i;
        ASSERT_OK(hsipc_send_offset(ep, hsipc_endpoint_id(ep), off, 4));
    }
    int expected = 0;
    for (size_t want : {8u, 3u}) {
        ASSERT_OK(hsipc_poll_many(ep, msgs, 8, 1'000'000'000, &count));
        ASSERT_EQ(want, count);
        for (size_t i = 0; i < count; i++) {
            EXPECT_EQ(expected++, *static_cast<int*>(msgs[i].data));
            EXPECT_EQ(4u, msgs[i].length);
            EXPECT_EQ(hsipc_endpoint_id(ep), msgs[i].from);
            EXPECT_OK(hsipc_release(r, msgs[i].off));
        }
    }
    EXPECT_STATUS(HSIPC_EAGAIN, hsipc_poll_many(ep, msgs, 8, 1000, &count));
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_poll_many(ep, msgs, 0, 0, &count));
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_poll_many(ep, msgs, 8, -5, &count));
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_poll_many(ep, nullptr, 8, 0, &count));
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_poll_many(ep, msgs, 8, 0, nullptr));
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_poll_many(nullptr, msgs, 8, 0, &count));
    EXPECT_OK(hsipc_detach(r));
}

TEST(PollMany, BatchStopsBeforeADamagedEntry) {
    hsipc_test::ScopedName name("poll-many-damage");
    hsipc_config cfg = hsipc_test::small_config(16, 2, 8);
    hsipc_region* r;
    ASSERT_OK(hsipc_attach(name.c_str(), &cfg, &r));
    hsipc_endpoint* ep;
    ASSERT_OK(hsipc_endpoint_open(r, "rx", &ep));
    for (int i = 0; i < 3; i++) {
        hsipc_off off;
        ASSERT_OK(hsipc_alloc(r, 4, &off));
        ASSERT_OK(hsipc_send_offset(ep, hsipc_endpoint_id(ep), off, 4));
    }
    auto& region = *reinterpret_cast<hsipc::Region*>(r);
    const uint32_t bits = region.layout.id_index_bits;
    const uint32_t index = (hsipc_endpoint_id(ep) & ((1u << bits) - 1)) - 1;
    region.ring(index)[1].store(hsipc::entry_word(999, hsipc_endpoint_id(ep) >> bits, 1));  // scribbled
    hsipc_msg msgs[8];
    size_t count;
    ASSERT_OK(hsipc_poll_many(ep, msgs, 8, 0, &count));
    EXPECT_EQ(1u, count);
    hsipc_release(r, msgs[0].off);
    EXPECT_STATUS(HSIPC_ECORRUPT, hsipc_poll_many(ep, msgs, 8, 0, &count));
    ASSERT_OK(hsipc_poll_many(ep, msgs, 8, 0, &count));
    EXPECT_EQ(1u, count);
    hsipc_release(r, msgs[0].off);
    EXPECT_OK(hsipc_detach(r));
}

}  // namespace

namespace {

// hsipc_poll_batch: lingering is measured against generous bounds only (it
// must end long before a minute; it must not end before its own length).
class PollBatch : public ::testing::Test {
protected:
    void SetUp() override {
        hsipc_config cfg = hsipc_test::small_config(32, 2, 8);
        ASSERT_OK(hsipc_attach(name_.c_str(), &cfg, &r_));
        ASSERT_OK(hsipc_endpoint_open(r_, "rx", &ep_));
    }
    void TearDown() override { EXPECT_OK(hsipc_detach(r_)); }

    void send_numbered(int first, int n) {
        for (int i = first; i < first + n; i++) {
            hsipc_off off;
            ASSERT_OK(hsipc_alloc(r_, 4, &off));
            *static_cast<int*>(hsipc_ptr(r_, off)) = i;
            ASSERT_OK(hsipc_send_offset(ep_, hsipc_endpoint_id(ep_), off, 4));
        }
    }
    // Checks msgs_[0..count) carry first, first + 1, ... and releases them.
    void expect_numbered(int first, size_t count) {
        for (size_t i = 0; i < count; i++) {
            EXPECT_EQ(first + int(i), *static_cast<int*>(msgs_[i].data));
            EXPECT_OK(hsipc_release(r_, msgs_[i].off));
        }
    }
    static double seconds_since(std::chrono::steady_clock::time_point t) {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
    }

    static constexpr int64_t kMinute = 60'000'000'000;
    hsipc_test::ScopedName name_{"poll-batch"};
    hsipc_region* r_ = nullptr;
    hsipc_endpoint* ep_ = nullptr;
    hsipc_msg msgs_[16];
    size_t count_ = 99;
};

TEST_F(PollBatch, RejectsBadArguments) {
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_poll_batch(nullptr, msgs_, 8, 0, 0, &count_));
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_poll_batch(ep_, nullptr, 8, 0, 0, &count_));
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_poll_batch(ep_, msgs_, 0, 0, 0, &count_));
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_poll_batch(ep_, msgs_, 8, 0, 0, nullptr));
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_poll_batch(ep_, msgs_, 8, -5, 0, &count_));
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_poll_batch(ep_, msgs_, 8, 0, -1, &count_));
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_poll_batch(ep_, msgs_, 8, 0, HSIPC_FOREVER, &count_));
    EXPECT_EQ(99u, count_);
}

TEST_F(PollBatch, EmptyInboxDoesNotLinger) {
    const auto start = std::chrono::steady_clock::now();
    EXPECT_STATUS(HSIPC_EAGAIN, hsipc_poll_batch(ep_, msgs_, 8, 0, kMinute, &count_));
    EXPECT_STATUS(HSIPC_EAGAIN, hsipc_poll_batch(ep_, msgs_, 8, 1'000'000, kMinute, &count_));
    EXPECT_LT(seconds_since(start), 30.0);
    EXPECT_EQ(99u, count_);
}

TEST_F(PollBatch, FullBatchIsTakenWithoutLingering) {
    send_numbered(0, 5);
    const auto start = std::chrono::steady_clock::now();
    ASSERT_OK(hsipc_poll_batch(ep_, msgs_, 4, 0, kMinute, &count_));
    ASSERT_EQ(4u, count_);
    expect_numbered(0, 4);
    EXPECT_LT(seconds_since(start), 30.0);
    ASSERT_OK(hsipc_poll_batch(ep_, msgs_, 4, 0, 0, &count_));  // no linger: what is there
    ASSERT_EQ(1u, count_);
    expect_numbered(4, 1);
}

TEST_F(PollBatch, BatchLargerThanTheInboxWaitsForAFullInboxOnly) {
    send_numbered(0, 8);  // the inbox holds 8
    const auto start = std::chrono::steady_clock::now();
    ASSERT_OK(hsipc_poll_batch(ep_, msgs_, 16, 0, kMinute, &count_));
    ASSERT_EQ(8u, count_);
    expect_numbered(0, 8);
    EXPECT_LT(seconds_since(start), 30.0);
}

TEST_F(PollBatch, PartialBatchIsTakenAfterTheLinger) {
    send_numbered(0, 3);
    const auto start = std::chrono::steady_clock::now();
    ASSERT_OK(hsipc_poll_batch(ep_, msgs_, 8, 0, 2'000'000, &count_));
    const double took = seconds_since(start);
    ASSERT_EQ(3u, count_);
    expect_numbered(0, 3);
    if (hsipc::os::online_cpus() > 1) {
        EXPECT_GE(took, 0.002);  // it did wait for more
    }
}

TEST_F(PollBatch, MessagesArrivingWhileItLingersJoinTheBatch) {
    send_numbered(0, 1);
    std::thread sender([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        send_numbered(1, 3);
    });
    const auto start = std::chrono::steady_clock::now();
    ASSERT_OK(hsipc_poll_batch(ep_, msgs_, 4, 0, kMinute, &count_));
    sender.join();
    // On one CPU it does not linger and takes the first alone.
    const size_t want = hsipc::os::online_cpus() > 1 ? 4 : 1;
    ASSERT_EQ(want, count_);
    expect_numbered(0, count_);
    EXPECT_LT(seconds_since(start), 30.0);
}

TEST_F(PollBatch, WaitsForTheFirstMessageLikePollMany) {
    std::thread sender([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        send_numbered(0, 2);
    });
    ASSERT_OK(hsipc_poll_batch(ep_, msgs_, 2, kMinute, 1'000'000, &count_));
    sender.join();
    ASSERT_GE(count_, 1u);
    expect_numbered(0, count_);
}

TEST_F(PollBatch, DamagedHeadIsReportedWithoutLingering) {
    send_numbered(0, 2);
    auto& region = *reinterpret_cast<hsipc::Region*>(r_);
    const uint32_t bits = region.layout.id_index_bits;
    const uint32_t index = (hsipc_endpoint_id(ep_) & ((1u << bits) - 1)) - 1;
    region.ring(index)[0].store(hsipc::entry_word(999, hsipc_endpoint_id(ep_) >> bits, 1));  // scribbled
    const auto start = std::chrono::steady_clock::now();
    EXPECT_STATUS(HSIPC_ECORRUPT, hsipc_poll_batch(ep_, msgs_, 8, 0, kMinute, &count_));
    EXPECT_LT(seconds_since(start), 30.0);
    // The damaged entry was dropped (its buffer stays queued until a reap
    // or close); the message behind it was not.
    ASSERT_OK(hsipc_poll_batch(ep_, msgs_, 8, 0, 0, &count_));
    ASSERT_EQ(1u, count_);
    expect_numbered(1, 1);
}

}  // namespace
