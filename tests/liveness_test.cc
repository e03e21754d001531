// Processes that die: reaping what they held, reclaiming their slots and
// names, and surviving a death inside the region lock.
#include "liveness.h"

#include <cstring>
#include <random>

#include "region_lock.h"
#include "test_util.h"

namespace {

using hsipc_test::fork_child;
using hsipc_test::ScopedName;
using hsipc_test::small_config;
using hsipc_test::wait_child;

// A pipe a child writes one byte to when it is ready to be killed.
struct ReadySignal {
    int fds[2];
    ReadySignal() { EXPECT_EQ(0, pipe(fds)); }
    ~ReadySignal() {
        close(fds[0]);
        close(fds[1]);
    }
    void signal() { (void)!write(fds[1], "r", 1); }
    bool wait() {
        char c;
        return read(fds[0], &c, 1) == 1;
    }
};

void kill_and_wait(pid_t pid) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
}

class Liveness : public ::testing::Test {
protected:
    void SetUp() override {
        hsipc_config cfg = small_config(16, 4, 8, 8);
        ASSERT_OK(hsipc_attach(name_.c_str(), &cfg, &r_));
        ASSERT_OK(hsipc_endpoint_open(r_, "parent", &ep_));
        total_ = hsipc_test::count_free_buffers(r_, 1);
    }
    void TearDown() override { hsipc_detach(r_); }
    ScopedName name_{"live"};
    hsipc_region* r_ = nullptr;
    hsipc_endpoint* ep_ = nullptr;
    int total_ = 0;
};

TEST_F(Liveness, KilledChildsBuffersAndInboxReturnButItsSentMessagesStay) {
    ReadySignal ready;
    pid_t child = fork_child([&] {
        hsipc_region* c;
        hsipc_endpoint* victim;
        hsipc_id parent;
        hsipc_off off;
        if (hsipc_attach(name_.c_str(), nullptr, &c) || hsipc_endpoint_open(c, "victim", &victim) ||
            hsipc_lookup(c, "parent", &parent)) {
            return 1;
        }
        for (int i = 0; i < 3; i++) {
            if (hsipc_alloc(c, 1, &off)) return 2;  // held when it dies
        }
        if (hsipc_alloc(c, 1, &off)) return 3;
        std::strcpy(static_cast<char*>(hsipc_ptr(c, off)), "last words");
        if (hsipc_send_offset(victim, parent, off, 11)) return 4;
        ready.signal();
        pause();
        return 0;
    });
    ASSERT_TRUE(ready.wait());
    hsipc_id victim;
    ASSERT_OK(hsipc_lookup(r_, "victim", &victim));
    for (int i = 0; i < 2; i++) {
        hsipc_off off;
        ASSERT_OK(hsipc_alloc(r_, 1, &off));
        ASSERT_OK(hsipc_send_offset(ep_, victim, off, 1));  // queued to the victim
    }
    EXPECT_EQ(0, hsipc_reap(r_));  // alive: nothing to reclaim
    kill_and_wait(child);
    // 3 held + 2 queued to it + its endpoint.
    EXPECT_EQ(6, hsipc_reap(r_));
    EXPECT_EQ(0, hsipc_reap(r_));
    hsipc_id id;
    EXPECT_STATUS(HSIPC_ENOENT, hsipc_lookup(r_, "victim", &id));
    hsipc_off off;
    ASSERT_OK(hsipc_alloc(r_, 1, &off));
    EXPECT_STATUS(HSIPC_EPEER, hsipc_send_offset(ep_, victim, off, 1));
    EXPECT_OK(hsipc_release(r_, off));
    // What it sent before dying is still here, intact.
    hsipc_msg msg;
    ASSERT_OK(hsipc_poll(ep_, &msg, 0));
    EXPECT_STREQ("last words", static_cast<char*>(msg.data));
    EXPECT_OK(hsipc_release(r_, msg.off));
    EXPECT_EQ(total_, hsipc_test::count_free_buffers(r_, 1));
    // And its name is free for anyone.
    hsipc_endpoint* again;
    EXPECT_OK(hsipc_endpoint_open(r_, "victim", &again));
}

TEST_F(Liveness, AllocReapsTheDeadOnItsOwn) {
    ReadySignal ready;
    pid_t child = fork_child([&] {
        hsipc_region* c;
        if (hsipc_attach(name_.c_str(), nullptr, &c)) return 1;
        hsipc_off off;
        while (hsipc_alloc(c, 1, &off) == HSIPC_OK) {
        }
        ready.signal();
        pause();
        return 0;
    });
    ASSERT_TRUE(ready.wait());
    hsipc_off off;
    EXPECT_STATUS(HSIPC_ENOMEM, hsipc_alloc(r_, 1, &off));  // the child is alive and holds all
    kill_and_wait(child);
    ASSERT_OK(hsipc_alloc(r_, 1, &off));
    EXPECT_OK(hsipc_release(r_, off));
    EXPECT_EQ(total_, hsipc_test::count_free_buffers(r_, 1));
}

TEST_F(Liveness, ProcessSlotsOfTheDeadAreReused) {
    // More short-lived processes than the region has process slots (64).
    for (int i = 0; i < 80; i++) {
        pid_t child = fork_child([&] {
            hsipc_region* c;
            hsipc_off off;
            if (hsipc_attach(name_.c_str(), nullptr, &c) || hsipc_alloc(c, 1, &off)) return 1;
            raise(SIGKILL);
            return 0;
        });
        ASSERT_EQ(128 + SIGKILL, wait_child(child)) << "child " << i;
    }
    EXPECT_EQ(total_, hsipc_test::count_free_buffers(r_, 1));
}

TEST_F(Liveness, DeathInsideTheRegionLockIsRepaired) {
    ReadySignal ready;
    pid_t child = fork_child([&] {
        hsipc_region* c;
        if (hsipc_attach(name_.c_str(), nullptr, &c)) return 1;
        auto& region = *reinterpret_cast<hsipc::Region*>(c);
        hsipc::RegionLock lock(region);
        if (lock.status() != HSIPC_OK) return 2;
        // Half-way through opening an endpoint, then death.
        hsipc::EndpointSlot& e = region.endpoint_slot(5);
        e.state.store(hsipc::kEndpointOpening);
        std::strcpy(e.name, "half");
        ready.signal();
        pause();
        return 0;
    });
    ASSERT_TRUE(ready.wait());
    kill_and_wait(child);
    // The kernel dropped the lock; the next holder repairs and carries on.
    hsipc_endpoint* half;
    ASSERT_OK(hsipc_endpoint_open(r_, "half", &half));
    auto& region = *reinterpret_cast<hsipc::Region*>(r_);
    EXPECT_EQ(hsipc::kEndpointFree, region.endpoint_slot(5).state.load());
    EXPECT_EQ(0u, region.header().lock_dirty.load());
    EXPECT_OK(hsipc_endpoint_close(half));
}

TEST_F(Liveness, SendersKilledAtRandomNeverWedgeTheInbox) {
    // Kill senders at random moments while one survivor keeps sending; the
    // receiver must get every message of the survivor, in order, and after
    // a reap every buffer must be back.
    std::mt19937 rng(12345);
    pid_t survivor = fork_child([&] {
        hsipc_region* c;
        hsipc_endpoint* self;
        hsipc_id parent;
        if (hsipc_attach(name_.c_str(), nullptr, &c) || hsipc_endpoint_open(c, "survivor", &self) ||
            hsipc_lookup(c, "parent", &parent)) {
            return 1;
        }
        for (uint32_t seq = 0; seq < 3000;) {
            hsipc_off off;
            if (hsipc_alloc(c, 8, &off) != HSIPC_OK) continue;
            *static_cast<uint32_t*>(hsipc_ptr(c, off)) = seq;
            if (hsipc_send_offset(self, parent, off, 4) == HSIPC_OK) {
                seq++;
            } else {
                hsipc_release(c, off);
            }
        }
        hsipc_detach(c);
        return 0;
    });
    uint32_t expected = 0;
    int kills = 0;
    auto drain = [&] {
        hsipc_msg msg;
        while (hsipc_poll(ep_, &msg, 0) == HSIPC_OK) {
            // Victims send 0xffffffff; only the survivor's are sequenced.
            uint32_t v = *static_cast<uint32_t*>(msg.data);
            if (v != 0xffffffffu) {
                EXPECT_EQ(expected, v);
                expected = v + 1;
            }
            hsipc_release(r_, msg.off);
        }
    };
    for (int round = 0; round < 20; round++) {
        pid_t victim = fork_child([&] {
            hsipc_region* c;
            hsipc_endpoint* self;
            hsipc_id parent;
            std::string ep_name = "victim" + std::to_string(round);
            if (hsipc_attach(name_.c_str(), nullptr, &c) || hsipc_endpoint_open(c, ep_name.c_str(), &self) ||
                hsipc_lookup(c, "parent", &parent)) {
                return 1;
            }
            for (;;) {
                hsipc_off off;
                if (hsipc_alloc(c, 8, &off) != HSIPC_OK) continue;
                *static_cast<uint32_t*>(hsipc_ptr(c, off)) = 0xffffffffu;
                if (hsipc_send_offset(self, parent, off, 4) != HSIPC_OK) hsipc_release(c, off);
            }
        });
        int64_t until = hsipc::os::monotonic_ns() + int64_t(rng() % 3000) * 1000;
        while (hsipc::os::monotonic_ns() < until) drain();
        kill_and_wait(victim);
        kills++;
        drain();
    }
    for (int64_t until = hsipc::os::monotonic_ns() + 30'000'000'000; expected < 3000;) {
        drain();
        ASSERT_LT(hsipc::os::monotonic_ns(), until) << "stalled at " << expected;
    }
    EXPECT_EQ(0, wait_child(survivor));
    drain();
    hsipc_reap(r_);
    EXPECT_EQ(total_, hsipc_test::count_free_buffers(r_, 1)) << "after " << kills << " kills";
}

}  // namespace
