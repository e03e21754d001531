// SPDX-License-Identifier: MIT
// Waiting: polls that time out, polls woken by a sender, the
// announce-then-recheck protocol of wait_until, waits a signal handler
// interrupts, the spin setting, and waiting for a name.
#include "wait.h"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <functional>
#include <thread>

#include "region.h"
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
    int rc = hsipc::wait_until(sleeping, HSIPC_FOREVER, hsipc::kDefaultSpinNs,
                               [&] { return ready.load() ? HSIPC_OK : HSIPC_EAGAIN; });
    waker.join();
    EXPECT_OK(rc);
    EXPECT_EQ(0u, sleeping.load());
}

TEST(WaitUntil, ResultOtherThanEagainEndsTheWait) {
    std::atomic<uint32_t> sleeping{0};
    int calls = 0;
    int rc = hsipc::wait_until(sleeping, 1000000000, hsipc::kDefaultSpinNs,
                               [&] { return ++calls == 3 ? HSIPC_ECORRUPT : HSIPC_EAGAIN; });
    EXPECT_STATUS(HSIPC_ECORRUPT, rc);
    EXPECT_EQ(3, calls);
}

TEST(WaitUntil, NoWakeCallWhenNobodySleeps) {
    std::atomic<uint32_t> sleeping{0};
    hsipc::wake_if_sleeping(sleeping);  // must not block or change anything
    EXPECT_EQ(0u, sleeping.load());
}

// ---- Signals, the spin setting, waiting for a name ---------------------

std::atomic<int> g_handled{0};
void note_signal(int) { g_handled.fetch_add(1); }

// Installs a SIGUSR1 handler (with or without SA_RESTART) for the scope.
class SignalHandler {
public:
    explicit SignalHandler(int flags) {
        struct sigaction sa = {};
        sa.sa_handler = note_signal;
        sa.sa_flags = flags;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGUSR1, &sa, &old_);
    }
    ~SignalHandler() { sigaction(SIGUSR1, &old_, nullptr); }

private:
    struct sigaction old_;
};

// Runs `wait` (a call that blocks) on a thread, signals that thread once it
// sleeps in the kernel, and returns what the call returned; `unstick` ends
// the wait should the signal not.
int interrupted(const std::function<int()>& wait, const std::function<void()>& unstick) {
    std::atomic<int> rc{1};
    std::atomic<bool> started{false};
    std::thread waiter([&] {
        started.store(true);
        rc.store(wait());
    });
    while (!started.load()) std::this_thread::yield();
    usleep(100'000);  // past any spin, asleep
    pthread_kill(waiter.native_handle(), SIGUSR1);
    for (int i = 0; i < 2000 && rc.load() == 1; i++) usleep(1000);
    if (rc.load() == 1) unstick();
    waiter.join();
    return rc.load();
}

// A daemon's SIGTERM handler sets a stop flag; its wait must return so the
// flag is seen, whether the handler was installed with SA_RESTART or not.
TEST_F(Wait, SignalHandlerInterruptsAWaitingPoll) {
    // Should the signal not end a wait, a message does (and the test fails).
    auto send_one = [&] {
        hsipc_off off;
        ASSERT_OK(hsipc_alloc(r_, 8, &off));
        ASSERT_OK(hsipc_send_offset(rx_, hsipc_endpoint_id(rx_), off, 8));
    };
    for (int flags : {0, SA_RESTART}) {
        SignalHandler handler(flags);
        for (int64_t timeout : {int64_t(HSIPC_FOREVER), int64_t(3'000'000'000)}) {
            const int before = g_handled.load();
            hsipc_msg msg;
            const int rc = interrupted([&] { return hsipc_poll(rx_, &msg, timeout); }, send_one);
            EXPECT_STATUS(HSIPC_EINTR, rc) << "flags " << flags << ", timeout " << timeout;
            EXPECT_EQ(before + 1, g_handled.load());
            if (rc == HSIPC_OK) hsipc_release(r_, msg.off);
        }
        // poll_many and poll_batch wait the same way.
        hsipc_msg msgs[4];
        size_t count = 0;
        int rc = interrupted([&] { return hsipc_poll_many(rx_, msgs, 4, HSIPC_FOREVER, &count); }, send_one);
        EXPECT_STATUS(HSIPC_EINTR, rc);
        if (rc == HSIPC_OK) hsipc_release(r_, msgs[0].off);
        rc = interrupted([&] { return hsipc_poll_batch(rx_, msgs, 4, HSIPC_FOREVER, 1000, &count); }, send_one);
        EXPECT_STATUS(HSIPC_EINTR, rc);
        if (rc == HSIPC_OK) hsipc_release(r_, msgs[0].off);
    }
    // After all that, the endpoint still works.
    hsipc_off off;
    ASSERT_OK(hsipc_alloc(r_, 8, &off));
    ASSERT_OK(hsipc_send_offset(rx_, hsipc_endpoint_id(rx_), off, 8));
    hsipc_msg msg;
    ASSERT_OK(hsipc_poll(rx_, &msg, 0));
    EXPECT_OK(hsipc_release(r_, msg.off));
}

TEST_F(Wait, SpinIsASettingAndZeroSleepsAtOnce) {
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_endpoint_set_spin(nullptr, 0));
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_endpoint_set_spin(rx_, -1));
    EXPECT_OK(hsipc_endpoint_set_spin(rx_, 0));
    // A receiver that never spins still gets what is sent while it sleeps.
    std::thread sender([&] {
        usleep(20'000);
        hsipc_off off;
        ASSERT_OK(hsipc_alloc(r_, 8, &off));
        ASSERT_OK(hsipc_send_offset(rx_, hsipc_endpoint_id(rx_), off, 8));
    });
    hsipc_msg msg;
    EXPECT_OK(hsipc_poll(rx_, &msg, HSIPC_FOREVER));
    sender.join();
    EXPECT_OK(hsipc_release(r_, msg.off));
    // Settable from any thread, any time; a huge spin is allowed too.
    EXPECT_OK(hsipc_endpoint_set_spin(rx_, INT64_MAX));
    EXPECT_STATUS(HSIPC_EAGAIN, hsipc_poll(rx_, &msg, 1000));
    EXPECT_OK(hsipc_endpoint_set_spin(rx_, 50'000));
}

TEST_F(Wait, LookupWaitSleepsUntilTheNameIsOpened) {
    hsipc_id id = 0;
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_lookup_wait(nullptr, "x", 0, &id));
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_lookup_wait(r_, nullptr, 0, &id));
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_lookup_wait(r_, "x", 0, nullptr));
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_lookup_wait(r_, "bad/name", 0, &id));
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_lookup_wait(r_, "x", -5, &id));
    // There already, or not there with no time to wait.
    ASSERT_OK(hsipc_lookup_wait(r_, "rx", 0, &id));
    EXPECT_EQ(hsipc_endpoint_id(rx_), id);
    EXPECT_STATUS(HSIPC_ENOENT, hsipc_lookup_wait(r_, "later", 0, &id));
    EXPECT_STATUS(HSIPC_ENOENT, hsipc_lookup_wait(r_, "later", 20'000'000, &id));
    // Opened by another thread (as another process would) while we wait.
    hsipc_endpoint* later = nullptr;
    std::thread opener([&] {
        usleep(50'000);
        ASSERT_OK(hsipc_endpoint_open(r_, "later", &later));
    });
    ASSERT_OK(hsipc_lookup_wait(r_, "later", HSIPC_FOREVER, &id));
    opener.join();
    ASSERT_NE(nullptr, later);
    EXPECT_EQ(hsipc_endpoint_id(later), id);
    EXPECT_OK(hsipc_endpoint_close(later));
    // A signal handler interrupts it as it does a poll.
    SignalHandler handler(SA_RESTART);
    hsipc_endpoint* never = nullptr;
    EXPECT_STATUS(HSIPC_EINTR, interrupted([&] { return hsipc_lookup_wait(r_, "never", HSIPC_FOREVER, &id); },
                                           [&] { hsipc_endpoint_open(r_, "never", &never); }));
    if (never) hsipc_endpoint_close(never);
}

}  // namespace
