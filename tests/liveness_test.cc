// SPDX-License-Identifier: MIT
// Processes that die: reaping what they held, reclaiming their slots and
// names, and surviving a death inside the region lock.
#include "liveness.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

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

// The mapping holds a reference to the open file description it was made
// from, so a child that keeps it (and never calls hsipc) would keep a lock
// taken through that description: its dead parent would look alive.
TEST_F(Liveness, ChildKeepingTheMappingDoesNotKeepItsDeadParentAlive) {
    // Orphans come to us, so the grandchild can be checked and waited for.
    struct Subreaper {
        Subreaper() { EXPECT_EQ(0, prctl(PR_SET_CHILD_SUBREAPER, 1)); }
        ~Subreaper() { prctl(PR_SET_CHILD_SUBREAPER, 0); }
    } subreaper;
    int to_test[2], go[2];
    ASSERT_EQ(0, pipe(to_test));
    ASSERT_EQ(0, pipe(go));
    pid_t parent = fork_child([&] {
        alarm(10);  // gone soon even if the test stops half-way
        hsipc_region* c;
        hsipc_endpoint* ep;
        hsipc_off off;
        if (hsipc_attach(name_.c_str(), nullptr, &c) || hsipc_endpoint_open(c, "mortal", &ep) ||
            hsipc_alloc(c, 1, &off)) {
            return 1;
        }
        pid_t grandchild = fork();
        if (grandchild < 0) return 2;
        if (grandchild == 0) {
            // Says so itself: only now has its fork handler run.
            pid_t self = getpid();
            if (write(to_test[1], &self, sizeof self) != ssize_t(sizeof self)) _exit(3);
            alarm(10);  // fork() does not pass the parent's on
            for (;;) pause();
        }
        char c1;
        if (read(go[0], &c1, 1) != 1) return 4;
        return 0;  // dies attached, holding a buffer and an endpoint
    });
    pid_t grandchild = 0;
    ASSERT_EQ(ssize_t(sizeof grandchild), read(to_test[0], &grandchild, sizeof grandchild));
    hsipc_id mortal;
    EXPECT_OK(hsipc_lookup(r_, "mortal", &mortal));
    EXPECT_EQ(0, hsipc_reap(r_));  // alive: nothing to reclaim
    ASSERT_EQ(1, write(go[1], "g", 1));
    EXPECT_EQ(0, wait_child(parent));
    ASSERT_EQ(0, kill(grandchild, 0)) << "the grandchild must still live, mapping and all";
    // The buffer it held and its endpoint.
    EXPECT_EQ(2, hsipc_reap(r_));
    hsipc_off off;
    ASSERT_OK(hsipc_alloc(r_, 1, &off));
    EXPECT_STATUS(HSIPC_EPEER, hsipc_send_offset(ep_, mortal, off, 1));
    EXPECT_OK(hsipc_release(r_, off));
    hsipc_id id;
    EXPECT_STATUS(HSIPC_ENOENT, hsipc_lookup(r_, "mortal", &id));
    kill(grandchild, SIGKILL);
    EXPECT_EQ(128 + SIGKILL, wait_child(grandchild));
    for (int fd : {to_test[0], to_test[1], go[0], go[1]}) close(fd);
    EXPECT_EQ(total_, hsipc_test::count_free_buffers(r_, 1));
}

// A fork at any moment of another thread's attach or detach (between the
// open and the registration with the fork handler included) must leave the
// child holding no lock: children that never use hsipc would otherwise keep
// process slots taken until none is left.
TEST(LivenessFork, ForksDuringAttachAndDetachLeakNoProcessSlot) {
    ScopedName name("fork-loop");
    hsipc_config cfg = small_config();
    hsipc_region* r;
    ASSERT_OK(hsipc_attach(name.c_str(), &cfg, &r));
    ASSERT_OK(hsipc_detach(r));
    int release[2], started[2];
    ASSERT_EQ(0, pipe2(release, O_CLOEXEC));
    ASSERT_EQ(0, pipe2(started, O_CLOEXEC));
    std::atomic<bool> stop{false};
    std::atomic<int> cycles{0}, failures{0}, last_failure{HSIPC_OK};
    std::thread looper([&] {
        // relaxed: a flag and counters read after join(), which orders them.
        while (!stop.load(std::memory_order_relaxed)) {
            hsipc_region* t;
            int rc = hsipc_attach(name.c_str(), nullptr, &t);
            if (rc != HSIPC_OK) {
                failures.fetch_add(1, std::memory_order_relaxed);
                last_failure.store(rc, std::memory_order_relaxed);
                continue;
            }
            hsipc_detach(t);
            cycles.fetch_add(1, std::memory_order_relaxed);
        }
    });
    std::vector<pid_t> children;
    for (int i = 0; i < 200; i++) {
        pid_t pid = fork_child([&] {
            // Alive until the test lets go (EOF), never touching hsipc.
            close(release[1]);
            if (write(started[1], "s", 1) != 1) return 1;  // past its fork handler
            struct pollfd p = {release[0], POLLIN, 0};
            (void)poll(&p, 1, 10'000);
            return 0;
        });
        if (pid < 0) break;
        children.push_back(pid);
        if (i % 4 == 0) usleep(200);  // let the loop move on between forks
    }
    stop.store(true, std::memory_order_relaxed);  // relaxed: join() below orders the rest
    looper.join();
    EXPECT_EQ(200u, children.size());
    for (size_t i = 0; i < children.size(); i++) {
        char c;
        ASSERT_EQ(1, read(started[0], &c, 1));
    }
    EXPECT_GT(cycles.load(), 0);
    EXPECT_EQ(0, failures.load()) << "last: " << hsipc_strerror(last_failure.load());

    // With every child still alive: no lock on any slot but our own.
    ASSERT_OK(hsipc_attach(name.c_str(), nullptr, &r));
    auto& region = *reinterpret_cast<hsipc::Region*>(r);
    int held_elsewhere = 0;
    for (uint32_t i = 0; i < region.process_slots(); i++) {
        if (i == region.process->slot) continue;
        bool held = true;
        ASSERT_EQ(0, hsipc::os::byte_locked_elsewhere(region.process->lock_fd, hsipc::kProcessLockByte0 + i, &held));
        held_elsewhere += held;
    }
    EXPECT_EQ(0, held_elsewhere) << "process slots locked by children that never attached";
    // A fresh process can attach, and its death is seen.
    pid_t fresh = fork_child([&] {
        hsipc_region* c;
        hsipc_endpoint* ep;
        if (hsipc_attach(name.c_str(), nullptr, &c) || hsipc_endpoint_open(c, "fresh", &ep)) return 1;
        return 0;  // dies attached
    });
    EXPECT_EQ(0, wait_child(fresh));
    EXPECT_EQ(1, hsipc_reap(r));
    hsipc_id id;
    EXPECT_STATUS(HSIPC_ENOENT, hsipc_lookup(r, "fresh", &id));
    EXPECT_OK(hsipc_detach(r));

    close(release[1]);
    for (pid_t pid : children) EXPECT_EQ(0, wait_child(pid, 15));
    for (int fd : {release[0], started[0], started[1]}) close(fd);
}

// The inode a mapping starting at `base` maps, from /proc/self/maps; 0 where
// there is none.
uint64_t mapped_inode(const void* base) {
    FILE* f = fopen("/proc/self/maps", "r");
    if (!f) return 0;
    char line[512];
    uint64_t inode = 0;
    while (inode == 0 && fgets(line, sizeof line, f)) {
        unsigned long start, end, offset, ino;
        char perms[8], dev[16];
        if (sscanf(line, "%lx-%lx %7s %lx %15s %lu", &start, &end, perms, &offset, dev, &ino) == 6 &&
            start == reinterpret_cast<uintptr_t>(base)) {
            inode = ino;
        }
    }
    fclose(f);
    return inode;
}

// The lock descriptor is opened by name after the mapping: an object
// replaced at the name in between must not leave the locks on one object
// and the process table written in another (the living would be reaped).
TEST(LivenessReplace, LocksAreAlwaysTakenOnTheMappedObject) {
    ScopedName name("replaced");
    hsipc_config cfg = small_config();
    const int64_t until = hsipc::os::monotonic_ns() + 1'000'000'000;
    pid_t replacer = fork_child([&] {
        while (hsipc::os::monotonic_ns() < until) {
            hsipc_region* c;
            hsipc_unlink(name.c_str());
            if (hsipc_attach(name.c_str(), &cfg, &c) == HSIPC_OK) hsipc_detach(c);
        }
        return 0;
    });
    int attached = 0, elsewhere = 0;
    while (hsipc::os::monotonic_ns() < until) {
        hsipc_region* r;
        int rc = hsipc_attach(name.c_str(), &cfg, &r);
        ASSERT_OK(rc);
        auto& region = *reinterpret_cast<hsipc::Region*>(r);
        struct stat st;
        ASSERT_EQ(0, fstat(region.process->lock_fd, &st));
        attached++;
        elsewhere += mapped_inode(region.base) != st.st_ino;
        hsipc_detach(r);
    }
    EXPECT_EQ(0, wait_child(replacer));
    EXPECT_GT(attached, 0);
    EXPECT_EQ(0, elsewhere) << "of " << attached << " attachments locked another object than they mapped";
}

}  // namespace
