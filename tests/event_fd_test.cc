// SPDX-License-Identifier: MIT
// The endpoint's fd for event loops: readiness exactly when a message may
// wait, one wake-up per burst, cleanup with the endpoint, its process or
// its region, the region's permissions, and the reap that wakes a receiver
// whose sender died between its message and its wake-up.
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "region.h"
#include "step.h"
#include "test_util.h"

namespace {

using hsipc_test::ScopedName;

// The wake socket files of region `name` in /dev/shm.
std::vector<std::string> wake_sockets(const char* name) {
    std::vector<std::string> found;
    const std::string prefix = std::string("hsipc.") + name + "@";
    DIR* dir = opendir("/dev/shm");
    if (!dir) return found;
    while (struct dirent* d = readdir(dir)) {
        if (std::strncmp(d->d_name, prefix.c_str(), prefix.size()) == 0) found.push_back(std::string("/dev/shm/") + d->d_name);
    }
    closedir(dir);
    return found;
}

bool readable(int fd, int timeout_ms = 0) {
    struct pollfd p = {fd, POLLIN, 0};
    return poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN) != 0;
}

int send_word(hsipc_region* r, hsipc_endpoint* from, hsipc_id to, uint64_t word) {
    hsipc_off off;
    int rc = hsipc_alloc(r, sizeof word, &off);
    if (rc != HSIPC_OK) return rc;
    std::memcpy(hsipc_ptr(r, off), &word, sizeof word);
    rc = hsipc_send_offset(from, to, off, sizeof word);
    if (rc != HSIPC_OK) hsipc_release(r, off);
    return rc;
}

class EventFd : public ::testing::Test {
protected:
    void SetUp() override {
        hsipc_config cfg = hsipc_test::small_config(32, 4, 16, 8);
        ASSERT_OK(hsipc_attach(name_.c_str(), &cfg, &r_));
        ASSERT_OK(hsipc_endpoint_open(r_, "rx", &rx_));
        ASSERT_OK(hsipc_endpoint_open(r_, "tx", &tx_));
        ASSERT_OK(hsipc_endpoint_fd(rx_, &fd_));
    }
    void TearDown() override { hsipc_detach(r_); }
    int send(uint64_t word) { return send_word(r_, tx_, hsipc_endpoint_id(rx_), word); }
    uint64_t take() {
        hsipc_msg msg;
        if (hsipc_poll(rx_, &msg, 0) != HSIPC_OK) return ~0ull;
        uint64_t word;
        std::memcpy(&word, msg.data, sizeof word);
        hsipc_release(r_, msg.off);
        return word;
    }
    ScopedName name_{"eventfd"};
    hsipc_region* r_ = nullptr;
    hsipc_endpoint* rx_ = nullptr;
    hsipc_endpoint* tx_ = nullptr;
    int fd_ = -1;
};

TEST_F(EventFd, NullArgumentsAreInvalid) {
    int fd;
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_endpoint_fd(nullptr, &fd));
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_endpoint_fd(rx_, nullptr));
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_endpoint_arm(nullptr));
}

TEST_F(EventFd, TheSameFdEveryCallOwnedByTheEndpoint) {
    int again;
    ASSERT_OK(hsipc_endpoint_fd(rx_, &again));
    EXPECT_EQ(fd_, again);
    EXPECT_GE(fcntl(fd_, F_GETFD), 0);
    EXPECT_NE(0, fcntl(fd_, F_GETFD) & FD_CLOEXEC);
    ASSERT_EQ(1u, wake_sockets(name_.c_str()).size());
    ASSERT_OK(hsipc_endpoint_close(rx_));
    EXPECT_TRUE(wake_sockets(name_.c_str()).empty()) << "the socket's name outlived its endpoint";
    EXPECT_EQ(-1, fcntl(fd_, F_GETFD)) << "the fd outlived its endpoint";
}

TEST_F(EventFd, ArmedFdTurnsReadableAtTheFirstSendAndThePollClearsIt) {
    ASSERT_OK(hsipc_endpoint_arm(rx_));
    EXPECT_FALSE(readable(fd_));
    ASSERT_OK(send(1));
    EXPECT_TRUE(readable(fd_, 5000));
    EXPECT_EQ(1u, take());
    EXPECT_FALSE(readable(fd_)) << "a poll that took the message left the fd readable";
    ASSERT_OK(hsipc_endpoint_arm(rx_));
    EXPECT_FALSE(readable(fd_));
}

TEST_F(EventFd, ArmReturnsOneWhileAMessageWaits) {
    ASSERT_OK(send(7));
    EXPECT_EQ(1, hsipc_endpoint_arm(rx_));
    EXPECT_EQ(1, hsipc_endpoint_arm(rx_));  // nothing taken yet: still 1
    EXPECT_EQ(7u, take());
    EXPECT_OK(hsipc_endpoint_arm(rx_));
}

TEST_F(EventFd, UnarmedSendsLeaveTheFdAlone) {
    for (uint64_t i = 0; i < 8; i++) ASSERT_OK(send(i));
    EXPECT_FALSE(readable(fd_)) << "a sender signalled a receiver that was not armed";
    for (uint64_t i = 0; i < 8; i++) EXPECT_EQ(i, take());
}

TEST_F(EventFd, ABurstToAnArmedReceiverCostsOneWakeUp) {
    ASSERT_OK(hsipc_endpoint_arm(rx_));
    for (uint64_t i = 0; i < 10; i++) ASSERT_OK(send(i));
    // Read the socket as the library would, to count what was sent.
    char byte;
    int datagrams = 0;
    while (recv(fd_, &byte, 1, MSG_DONTWAIT) >= 0) datagrams++;
    EXPECT_EQ(1, datagrams);
    for (uint64_t i = 0; i < 10; i++) EXPECT_EQ(i, take());
}

TEST_F(EventFd, ArmingClearsReadinessLeftFromEarlierWakeUps) {
    ASSERT_OK(hsipc_endpoint_arm(rx_));
    ASSERT_OK(send(1));
    ASSERT_TRUE(readable(fd_, 5000));
    // A program that arms again without polling (or a stray datagram).
    EXPECT_EQ(1, hsipc_endpoint_arm(rx_));
    EXPECT_EQ(1u, take());
    ASSERT_OK(hsipc_endpoint_arm(rx_));
    EXPECT_FALSE(readable(fd_)) << "an armed fd was left readable: an event loop would spin";
}

TEST_F(EventFd, MessagesWithdrawnFromTheInboxDoNotCountAsWaiting) {
    // A skip marker at the head (what a withdrawn stale send leaves) is no
    // message: arm must pass over it rather than report 1 for ever.
    hsipc::Region& region = *reinterpret_cast<hsipc::Region*>(r_);
    const uint32_t index = (hsipc_endpoint_id(rx_) & ((1u << region.layout.id_index_bits) - 1)) - 1;
    const uint32_t gen = hsipc_endpoint_id(rx_) >> region.layout.id_index_bits;
    region.ring(index)[0].store(hsipc::entry_word(0, gen, hsipc::kEntrySkip));
    EXPECT_OK(hsipc_endpoint_arm(rx_));
    ASSERT_OK(send(3));
    EXPECT_TRUE(readable(fd_, 5000));
    EXPECT_EQ(3u, take());
}

TEST_F(EventFd, ATimedPollMixesWithTheFd) {
    ASSERT_OK(hsipc_endpoint_arm(rx_));
    std::thread sender([&] {
        usleep(20'000);
        send(5);
    });
    hsipc_msg msg;
    ASSERT_OK(hsipc_poll(rx_, &msg, 10'000'000'000));  // disarms, then sleeps on the futex
    sender.join();
    EXPECT_EQ(5u, *static_cast<uint64_t*>(msg.data));
    hsipc_release(r_, msg.off);
    EXPECT_FALSE(readable(fd_)) << "a sender signalled the fd of a receiver that was not armed";
    ASSERT_OK(hsipc_endpoint_arm(rx_));
    ASSERT_OK(send(6));
    EXPECT_TRUE(readable(fd_, 5000));
    EXPECT_EQ(6u, take());
}

TEST_F(EventFd, SocketFileHasTheRegionsModeAndGroup) {
    const std::vector<std::string> sockets = wake_sockets(name_.c_str());
    ASSERT_EQ(1u, sockets.size());
    struct stat sock, region;
    ASSERT_EQ(0, lstat(sockets[0].c_str(), &sock));
    ASSERT_EQ(0, stat(name_.path().c_str(), &region));
    EXPECT_TRUE(S_ISSOCK(sock.st_mode));
    EXPECT_EQ(region.st_mode & 0666, sock.st_mode & 07777);
    EXPECT_EQ(region.st_gid, sock.st_gid);
}

TEST(EventFdModes, GroupModeReachesTheSocketFile) {
    ScopedName name("eventfd-mode");
    hsipc_config cfg = hsipc_test::small_config();
    cfg.mode = 0660;
    hsipc_region* r;
    hsipc_endpoint* ep;
    ASSERT_OK(hsipc_attach(name.c_str(), &cfg, &r));
    ASSERT_OK(hsipc_endpoint_open(r, "rx", &ep));
    int fd;
    ASSERT_OK(hsipc_endpoint_fd(ep, &fd));
    const std::vector<std::string> sockets = wake_sockets(name.c_str());
    ASSERT_EQ(1u, sockets.size());
    struct stat st;
    ASSERT_EQ(0, lstat(sockets[0].c_str(), &st));
    EXPECT_EQ(0660u, st.st_mode & 07777);
    hsipc_detach(r);
    EXPECT_TRUE(wake_sockets(name.c_str()).empty()) << "detach left a socket file";
}

// A socket address holds 107 bytes: the longest names still fit.
TEST(EventFdModes, TheLongestRegionAndEndpointNamesFit) {
    std::string long_name = hsipc_test::unique_name("eventfd-long");
    long_name.resize(HSIPC_NAME_MAX, 'x');
    hsipc_unlink(long_name.c_str());
    hsipc_config cfg = hsipc_test::small_config();
    hsipc_region* r;
    hsipc_endpoint *rx, *tx;
    ASSERT_OK(hsipc_attach(long_name.c_str(), &cfg, &r));
    ASSERT_OK(hsipc_endpoint_open(r, std::string(HSIPC_NAME_MAX, 'e').c_str(), &rx));
    ASSERT_OK(hsipc_endpoint_open(r, "tx", &tx));
    int fd;
    ASSERT_OK(hsipc_endpoint_fd(rx, &fd));
    ASSERT_OK(hsipc_endpoint_arm(rx));
    ASSERT_OK(send_word(r, tx, hsipc_endpoint_id(rx), 9));
    EXPECT_TRUE(readable(fd, 5000));
    hsipc_detach(r);
    hsipc_unlink(long_name.c_str());
    EXPECT_TRUE(wake_sockets(long_name.c_str()).empty());
}

// A receiver in another process, in an epoll loop as examples/eventloop.c
// has it, gets every message of a sender that pauses between them (so the
// receiver is armed and asleep for most of them).
TEST(EventFdProcesses, ReceiverInEpollGetsEveryMessage) {
    ScopedName name("eventfd-epoll");
    hsipc_config cfg = hsipc_test::small_config(32, 4, 16, 8);
    hsipc_region* r;
    ASSERT_OK(hsipc_attach(name.c_str(), &cfg, &r));
    constexpr uint64_t kMessages = 200;
    pid_t child = hsipc_test::fork_child([&]() -> int {
        hsipc_region* cr;
        hsipc_endpoint* ep;
        if (hsipc_attach(name.c_str(), nullptr, &cr) || hsipc_endpoint_open(cr, "epoll-rx", &ep)) return 2;
        int fd;
        if (hsipc_endpoint_fd(ep, &fd) != HSIPC_OK) return 3;
        int ep_fd = epoll_create1(EPOLL_CLOEXEC);
        struct epoll_event ev = {};
        ev.events = EPOLLIN;
        if (epoll_ctl(ep_fd, EPOLL_CTL_ADD, fd, &ev) != 0) return 4;
        uint64_t next = 0;
        while (next < kMessages) {
            hsipc_msg msg;
            while (hsipc_poll(ep, &msg, 0) == HSIPC_OK) {
                if (*static_cast<uint64_t*>(msg.data) != next++) return 5;
                hsipc_release(cr, msg.off);
            }
            if (next == kMessages) break;
            int armed = hsipc_endpoint_arm(ep);
            if (armed == 1) continue;
            if (armed != HSIPC_OK) return 6;
            struct epoll_event out;
            if (epoll_wait(ep_fd, &out, 1, 10'000) != 1) return 7;  // 10 s without a wake-up
        }
        hsipc_detach(cr);
        return 0;
    });
    hsipc_endpoint* tx;
    ASSERT_OK(hsipc_endpoint_open(r, "tx", &tx));
    hsipc_id to;
    ASSERT_OK(hsipc_lookup_wait(r, "epoll-rx", 10'000'000'000, &to));
    for (uint64_t i = 0; i < kMessages; i++) {
        int rc;
        while ((rc = send_word(r, tx, to, i)) == HSIPC_EFULL || rc == HSIPC_ENOMEM) usleep(100);
        ASSERT_OK(rc);
        if (i % 4 == 0) usleep(i % 3 == 0 ? 2000 : 50);
    }
    EXPECT_EQ(0, hsipc_test::wait_child(child));
    hsipc_detach(r);
}

// A receiver whose process died leaves a socket file; the reap that finds
// it dead removes it, and hsipc_unlink removes what no reap did.
TEST(EventFdProcesses, SocketsOfDeadReceiversGoWithTheReapOrTheRegion) {
    ScopedName name("eventfd-dead");
    hsipc_config cfg = hsipc_test::small_config();
    hsipc_region* r;
    ASSERT_OK(hsipc_attach(name.c_str(), &cfg, &r));
    auto die_with_a_socket = [&](const char* endpoint) {
        return hsipc_test::fork_child([&]() -> int {
            hsipc_region* cr;
            hsipc_endpoint* ep;
            int fd;
            if (hsipc_attach(name.c_str(), nullptr, &cr) || hsipc_endpoint_open(cr, endpoint, &ep) ||
                hsipc_endpoint_fd(ep, &fd) || hsipc_endpoint_arm(ep)) {
                return 2;
            }
            raise(SIGKILL);
            return 3;
        });
    };
    ASSERT_EQ(128 + SIGKILL, hsipc_test::wait_child(die_with_a_socket("dead-1")));
    EXPECT_EQ(1u, wake_sockets(name.c_str()).size());
    EXPECT_GT(hsipc_reap(r), 0);
    EXPECT_TRUE(wake_sockets(name.c_str()).empty()) << "the reap left the dead receiver's socket file";

    ASSERT_EQ(128 + SIGKILL, hsipc_test::wait_child(die_with_a_socket("dead-2")));
    hsipc_endpoint* live;
    int fd;
    ASSERT_OK(hsipc_endpoint_open(r, "live", &live));
    ASSERT_OK(hsipc_endpoint_fd(live, &fd));
    hsipc_unlink(name.c_str());
    const std::vector<std::string> left = wake_sockets(name.c_str());
    ASSERT_EQ(1u, left.size()) << "hsipc_unlink must remove the dead receiver's file and keep the live one's";
    // The live one still works for processes attached before the unlink.
    hsipc_endpoint* tx;
    ASSERT_OK(hsipc_endpoint_open(r, "tx", &tx));
    ASSERT_OK(hsipc_endpoint_arm(live));
    ASSERT_OK(send_word(r, tx, hsipc_endpoint_id(live), 1));
    EXPECT_TRUE(readable(fd, 5000));
    hsipc_detach(r);
    EXPECT_TRUE(wake_sockets(name.c_str()).empty());
}

// The sender dies after publishing, before its wake-up (before it looked
// at the receiver's flag, or after it took it): the armed receiver sleeps on
// with a message waiting until a reap finds the sender dead and wakes every
// armed receiver. (tests/crash_points_test.cc kills a send at every k-th
// instruction; these two kill it exactly where it matters.)
class SenderDiesBeforeWaking : public ::testing::TestWithParam<hsipc::Step> {};

TEST_P(SenderDiesBeforeWaking, AReapWakesTheArmedReceiver) {
    if (!hsipc::kStepHooks) GTEST_SKIP() << "needs a build with -DHSIPC_STEP_HOOKS=ON";
    ScopedName name("eventfd-reap");
    hsipc_config cfg = hsipc_test::small_config();
    hsipc_region* r;
    hsipc_endpoint* rx;
    int fd;
    ASSERT_OK(hsipc_attach(name.c_str(), &cfg, &r));
    ASSERT_OK(hsipc_endpoint_open(r, "rx", &rx));
    ASSERT_OK(hsipc_endpoint_fd(rx, &fd));
    ASSERT_OK(hsipc_endpoint_arm(rx));
    const hsipc_id to = hsipc_endpoint_id(rx);
    [[maybe_unused]] static hsipc::Step fatal;
    fatal = GetParam();
    pid_t child = hsipc_test::fork_child([&]() -> int {
        hsipc_region* cr;
        hsipc_endpoint* tx;
        if (hsipc_attach(name.c_str(), nullptr, &cr) || hsipc_endpoint_open(cr, "tx", &tx)) return 2;
#ifdef HSIPC_STEP_HOOKS
        hsipc::g_step_hook.store([](hsipc::Step s) {
            if (s == fatal) raise(SIGKILL);
        });
#endif
        send_word(cr, tx, to, 42);
        return 3;
    });
    ASSERT_EQ(128 + SIGKILL, hsipc_test::wait_child(child));
    EXPECT_FALSE(readable(fd, 100)) << "the sender died before its wake-up, yet the fd is readable";
    EXPECT_GT(hsipc_reap(r), 0);
    EXPECT_TRUE(readable(fd, 5000)) << "the reap did not wake the armed receiver";
    hsipc_msg msg;
    ASSERT_OK(hsipc_poll(rx, &msg, 0));
    EXPECT_EQ(42u, *static_cast<uint64_t*>(msg.data));
    hsipc_release(r, msg.off);
    hsipc_detach(r);
}

INSTANTIATE_TEST_SUITE_P(Steps, SenderDiesBeforeWaking,
                         ::testing::Values(hsipc::Step::kSendPublished, hsipc::Step::kSendWaking),
                         [](const ::testing::TestParamInfo<hsipc::Step>& info) {
                             return info.param == hsipc::Step::kSendPublished ? std::string("AfterPublishing")
                                                                              : std::string("AfterTakingTheFlag");
                         });

// A sender whose message went to an endpoint that closed before its
// wake-up may take the flag of the receiver that reopened the name and
// armed; it must wake that receiver (found with the perturbed stress test:
// it signalled the closed incarnation's socket, and the new receiver slept
// on with messages waiting).
TEST(EventFdReopen, AStaleSendersWakeUpReachesTheReopenedEndpoint) {
    if (!hsipc::kStepHooks) GTEST_SKIP() << "needs a build with -DHSIPC_STEP_HOOKS=ON";
    ScopedName name("eventfd-stale");
    hsipc_config cfg = hsipc_test::small_config();
    hsipc_region* r;
    hsipc_endpoint *rx, *stale_tx, *tx;
    ASSERT_OK(hsipc_attach(name.c_str(), &cfg, &r));
    ASSERT_OK(hsipc_endpoint_open(r, "rx", &rx));
    ASSERT_OK(hsipc_endpoint_open(r, "stale-tx", &stale_tx));
    ASSERT_OK(hsipc_endpoint_open(r, "tx", &tx));
    static std::atomic<int> paused{0};
    static std::atomic<bool> go{false};
    [[maybe_unused]] static thread_local bool pause_here = false;
#ifdef HSIPC_STEP_HOOKS
    hsipc::g_step_hook.store([](hsipc::Step s) {
        if (!pause_here || s != hsipc::Step::kSendPublished) return;
        paused.store(1);
        while (!go.load()) usleep(100);
    });
#endif
    const hsipc_id old_id = hsipc_endpoint_id(rx);
    std::thread stale([&] {
        pause_here = true;
        send_word(r, stale_tx, old_id, 1);  // published, then paused before its wake-up
    });
    while (paused.load() == 0) usleep(100);
    // The receiver closes (the sweep takes the stale message), reopens, arms.
    ASSERT_OK(hsipc_endpoint_close(rx));
    ASSERT_OK(hsipc_endpoint_open(r, "rx", &rx));
    int fd;
    ASSERT_OK(hsipc_endpoint_fd(rx, &fd));
    ASSERT_OK(hsipc_endpoint_arm(rx));
    go.store(true);
    stale.join();
#ifdef HSIPC_STEP_HOOKS
    hsipc::g_step_hook.store(nullptr);
#endif
    // Whatever the stale sender did with the flag, a message now must make
    // the fd readable.
    ASSERT_OK(send_word(r, tx, hsipc_endpoint_id(rx), 2));
    EXPECT_TRUE(readable(fd, 5000)) << "the reopened endpoint's receiver was not woken";
    hsipc_msg msg;
    ASSERT_OK(hsipc_poll(rx, &msg, 0));
    EXPECT_EQ(2u, *static_cast<uint64_t*>(msg.data));
    hsipc_release(r, msg.off);
    hsipc_detach(r);
}

// Someone who may not open the region may not make its fds readable.
TEST(EventFdProcesses, OthersCannotSignalTheSocket) {
    if (geteuid() != 0) GTEST_SKIP() << "needs root, to become another user";
    ScopedName name("eventfd-perm");
    hsipc_config cfg = hsipc_test::small_config();  // mode 0600
    hsipc_region* r;
    hsipc_endpoint* rx;
    int fd;
    ASSERT_OK(hsipc_attach(name.c_str(), &cfg, &r));
    ASSERT_OK(hsipc_endpoint_open(r, "rx", &rx));
    ASSERT_OK(hsipc_endpoint_fd(rx, &fd));
    ASSERT_OK(hsipc_endpoint_arm(rx));
    const std::string path = wake_sockets(name.c_str()).at(0);
    pid_t child = hsipc_test::fork_child([&]() -> int {
        if (setgid(65534) != 0 || setuid(65534) != 0) return 2;
        int s = socket(AF_UNIX, SOCK_DGRAM, 0);
        struct sockaddr_un addr = {};
        addr.sun_family = AF_UNIX;
        std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
        char byte = 0;
        if (sendto(s, &byte, 1, 0, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 1) return 4;
        return errno == EACCES ? 0 : 5;
    });
    EXPECT_EQ(0, hsipc_test::wait_child(child)) << "another user reached the socket (4) or failed oddly (5)";
    EXPECT_FALSE(readable(fd));
    hsipc_detach(r);
}

}  // namespace
