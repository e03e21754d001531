// SPDX-License-Identifier: MIT
// Waiting: polls that time out, polls woken by a sender, and the
// announce-then-recheck protocol of wait_until.
#include "wait.h"

#include <thread>

#include "test_util.h"

namespace {

using hsipc_test::ScopedName;

class Wait : public ::testing::Test {
protected:
    void SetUp() override {
        hsipc_config cfg = hsipc_test::small_config();
        ASSERT_OK(hsipc_attach(name_.c_str(), &cfg, &r_));
        ASSERT_OK(hsipc_endpoint_open(r_, "rx", &rx_));
    }
    void TearDown() override { hsipc_detach(r_); }
    ScopedName name_{"wait"};
    hsipc_region* r_ = nullptr;
    hsipc_endpoint* rx_ = nullptr;
};

TEST_F(Wait, TimeoutExpiresWithEagainAndNotBefore) {
    hsipc_msg msg;
    for (int64_t timeout : {int64_t(1), int64_t(1000), int64_t(200000), int64_t(20000000)}) {
        int64_t start = hsipc::os::monotonic_ns();
        EXPECT_STATUS(HSIPC_EAGAIN, hsipc_poll(rx_, &msg, timeout));
        EXPECT_GE(hsipc::os::monotonic_ns() - start, timeout);  // a lower bound only: never flaky
    }
}

TEST_F(Wait, NegativeTimeoutsOtherThanForeverAreInvalid) {
    hsipc_msg msg;
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_poll(rx_, &msg, -2));
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_poll(rx_, &msg, INT64_MIN));
}

TEST_F(Wait, SleepingReceiverIsWokenByAThread) {
    hsipc_id to = hsipc_endpoint_id(rx_);
    hsipc_endpoint* tx;
    ASSERT_OK(hsipc_endpoint_open(r_, "tx", &tx));
    std::thread sender([&] {
        // Long enough for the receiver to be asleep, usually; correct either way.
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        hsipc_off off;
        if (hsipc_alloc(r_, 4, &off) != HSIPC_OK) return;
        *static_cast<int*>(hsipc_ptr(r_, off)) = 31337;
        hsipc_send_offset(tx, to, off, 4);
    });
    hsipc_msg msg;
    ASSERT_OK(hsipc_poll(rx_, &msg, HSIPC_FOREVER));
    EXPECT_EQ(31337, *static_cast<int*>(msg.data));
    EXPECT_OK(hsipc_release(r_, msg.off));
    sender.join();
}

TEST(WaitUntil, SenderSeesTheSleepFlagAndClearsIt) {
    std::atomic<uint32_t> sleeping{0};
    std::atomic<bool> ready{false};
    std::thread waker([&] {
        while (sleeping.load() == 0) std::this_thread::yield();
        ready.store(true);
        hsipc::wake_if_sleeping(sleeping);
    });
    int rc = hsipc::wait_until(sleeping, HSIPC_FOREVER, [&] { return ready.load() ? HSIPC_OK : HSIPC_EAGAIN; });
    waker.join();
    EXPECT_OK(rc);
    EXPECT_EQ(0u, sleeping.load());
}

TEST(WaitUntil, ResultOtherThanEagainEndsTheWait) {
    std::atomic<uint32_t> sleeping{0};
    int calls = 0;
    int rc = hsipc::wait_until(sleeping, 1000000000, [&] { return ++calls == 3 ? HSIPC_ECORRUPT : HSIPC_EAGAIN; });
    EXPECT_STATUS(HSIPC_ECORRUPT, rc);
    EXPECT_EQ(3, calls);
}

TEST(WaitUntil, NoWakeCallWhenNobodySleeps) {
    std::atomic<uint32_t> sleeping{0};
    hsipc::wake_if_sleeping(sleeping);  // must not block or change anything
    EXPECT_EQ(0u, sleeping.load());
}

}  // namespace
