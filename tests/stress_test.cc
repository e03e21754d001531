// SPDX-License-Identifier: MIT
// Honest stress: several processes doing what users do for months —
// restarting endpoints under live senders, reaping while others re-send,
// many senders on a small inbox — with natural timing, and checking that
// no message is lost, duplicated, reordered or wedged, and no buffer
// leaks. Run with HSIPC_PERTURB=1 in a build with HSIPC_STEP_HOOKS they
// also explore the schedules natural timing rarely produces.
//
// HSIPC_STRESS_SECONDS sets each test's duration (default 2; for minutes
// on demand, say 120).
#include <sys/epoll.h>
#include <sys/mman.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "os.h"
#include "test_util.h"

namespace {

using hsipc_test::ScopedName;

constexpr uint32_t kMagic = 0x57e55ed5;

double stress_seconds() {
    const char* v = std::getenv("HSIPC_STRESS_SECONDS");
    const double s = v ? std::atof(v) : 0;
    return s > 0 ? s : 2.0;
}

double now_s() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
}

struct Message {
    uint32_t magic;
    uint32_t sender;
    uint64_t seq;
};

// State shared with the children (an anonymous shared mapping).
struct Shared {
    std::atomic<int> stop;
    std::atomic<uint64_t> sent[8];
    std::atomic<uint64_t> corrupt;  // HSIPC_ECORRUPT seen by a child
    std::atomic<uint64_t> reaps;
};

Shared* map_shared() {
    void* p = mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return nullptr;
    return new (p) Shared{};
}

uint32_t free_buffers(hsipc_region* r, uint32_t pools) {
    uint32_t total = 0;
    for (uint32_t p = 0; p < pools; p++) {
        hsipc_pool_stats s;
        s.struct_size = sizeof s;
        if (hsipc_region_pool_stats(r, p, &s) == HSIPC_OK) total += s.free_count;
    }
    return total;
}

// Messages queued in the inbox of the endpoint named `name`, by
// introspection (not by polling).
uint32_t queued_in(hsipc_region* r, const char* name) {
    hsipc_config cfg;
    hsipc_config_init(&cfg);
    hsipc_region_config(r, &cfg);
    for (uint32_t slot = 0; slot < cfg.max_endpoints; slot++) {
        hsipc_endpoint_info info;
        info.struct_size = sizeof info;
        if (hsipc_region_endpoint_info(r, slot, &info) == HSIPC_OK && std::strcmp(info.name, name) == 0) {
            return info.queued;
        }
    }
    return 0;
}

// A sender process: sends (sender, seq) to the endpoint called `to` until
// told to stop, finding it again whenever it went away.
int sender_main(const std::string& region, const char* to, uint32_t index, Shared* shared) {
    hsipc_region* r;
    hsipc_endpoint* self;
    const std::string me = "sender" + std::to_string(index);
    if (hsipc_attach(region.c_str(), nullptr, &r) || hsipc_endpoint_open(r, me.c_str(), &self)) return 1;
    hsipc_id dest = 0;
    hsipc_off off = 0;
    uint64_t seq = 0;
    while (!shared->stop.load()) {
        if (dest == 0 && hsipc_lookup(r, to, &dest) != HSIPC_OK) {
            dest = 0;
            usleep(50);
            continue;
        }
        if (off == 0) {
            int rc = hsipc_alloc(r, sizeof(Message), &off);
            if (rc == HSIPC_ENOMEM) {
                sched_yield();
                continue;
            }
            if (rc != HSIPC_OK) return 2;
        }
        Message m{kMagic, index, seq};
        std::memcpy(hsipc_ptr(r, off), &m, sizeof m);
        int rc = hsipc_send_offset(self, dest, off, sizeof m);
        if (rc == HSIPC_OK) {
            off = 0;
            seq++;
            shared->sent[index].store(seq);
        } else if (rc == HSIPC_EPEER) {
            dest = 0;  // closed: find the new one (the buffer is still ours)
        } else if (rc == HSIPC_EFULL) {
            sched_yield();
        } else if (rc == HSIPC_ECORRUPT) {
            shared->corrupt.fetch_add(1);
        } else {
            return 3;
        }
    }
    if (off) hsipc_release(r, off);
    return hsipc_detach(r) == HSIPC_OK ? 0 : 4;
}

// Receives one message and checks it: whole, from a known sender, and
// after that sender's previous one.
::testing::AssertionResult check_message(const hsipc_msg& msg, std::vector<int64_t>* last_seq) {
    Message m;
    if (msg.length != sizeof m) return ::testing::AssertionFailure() << "length " << msg.length;
    std::memcpy(&m, msg.data, sizeof m);
    if (m.magic != kMagic || m.sender >= last_seq->size()) return ::testing::AssertionFailure() << "garbage";
    int64_t& last = (*last_seq)[m.sender];
    if (int64_t(m.seq) <= last) {
        return ::testing::AssertionFailure() << "sender " << m.sender << " seq " << m.seq << " after " << last;
    }
    last = int64_t(m.seq);
    return ::testing::AssertionSuccess();
}

// Four sender processes send (sender, seq) to endpoint "E", owned by the
// test, until told to stop.
class SendersToE : public ::testing::Test {
protected:
    static constexpr uint32_t kSenders = 4;

    void start(const char* tag, uint32_t inbox_capacity) {
        name_ = std::make_unique<ScopedName>(tag);
        hsipc_config cfg = hsipc_test::small_config(1024, 4, inbox_capacity, 16);
        ASSERT_OK(hsipc_attach(name_->c_str(), &cfg, &r_));
        ASSERT_OK(hsipc_endpoint_open(r_, "E", &e_));
        all_free_ = free_buffers(r_, 2);
        shared_ = map_shared();
        ASSERT_NE(nullptr, shared_);
        std::string region = name_->c_str();
        for (uint32_t i = 0; i < kSenders; i++) {
            senders_.push_back(hsipc_test::fork_child([&, i] { return sender_main(region, "E", i, shared_); }));
        }
    }
    // Takes one message and checks it; false when none came in 100 ms.
    bool receive_one() {
        hsipc_msg msg;
        int rc = hsipc_poll(e_, &msg, 100'000'000);
        if (rc == HSIPC_EAGAIN) return false;
        EXPECT_OK(rc);
        if (rc != HSIPC_OK) return false;
        EXPECT_TRUE(check_message(msg, &last_seq_));
        EXPECT_OK(hsipc_release(r_, msg.off));
        received_++;
        return true;
    }
    // Stops the senders, takes what is left, and checks that nothing is
    // queued, nothing leaked, and no sender saw HSIPC_ECORRUPT.
    void stop_and_drain() {
        shared_->stop.store(1);
        for (pid_t pid : senders_) EXPECT_EQ(0, hsipc_test::wait_child(pid));
        EXPECT_EQ(0u, shared_->corrupt.load()) << "senders got HSIPC_ECORRUPT from a healthy inbox";
        hsipc_msg msg;
        while (hsipc_poll(e_, &msg, 0) == HSIPC_OK) {
            EXPECT_TRUE(check_message(msg, &last_seq_));
            EXPECT_OK(hsipc_release(r_, msg.off));
            received_++;
        }
        EXPECT_EQ(0u, queued_in(r_, "E"));
        EXPECT_LE(0, hsipc_reap(r_));
        EXPECT_EQ(all_free_, free_buffers(r_, 2)) << "buffers leaked";
    }
    uint64_t sent() const {
        uint64_t n = 0;
        for (uint32_t i = 0; i < kSenders; i++) n += shared_->sent[i].load();
        return n;
    }
    void TearDown() override {
        if (r_) hsipc_detach(r_);
    }

    std::unique_ptr<ScopedName> name_;
    hsipc_region* r_ = nullptr;
    hsipc_endpoint* e_ = nullptr;
    uint32_t all_free_ = 0;
    Shared* shared_ = nullptr;
    std::vector<pid_t> senders_;
    std::vector<int64_t> last_seq_ = std::vector<int64_t>(kSenders, -1);
    uint64_t received_ = 0;
};

// Defect 1 (and 2, 9): the owner of endpoint E closes and reopens it every
// ~100 messages while four processes send to it. The reopened inbox must
// keep delivering: never messages queued that poll does not return.
TEST_F(SendersToE, ReopenUnderLiveSenders) {
    start("stress-reopen", 64);
    uint64_t reopens = 0;
    for (const double end = now_s() + stress_seconds(); now_s() < end && !HasFailure();) {
        if (receive_one()) {
            if (received_ % 100 == 0) {
                ASSERT_OK(hsipc_endpoint_close(e_));
                ASSERT_OK(hsipc_endpoint_open(r_, "E", &e_));
                reopens++;
            }
            continue;
        }
        // 100 ms without a message while senders run: wedged if the inbox
        // holds messages that poll does not return.
        hsipc_msg msg;
        if (queued_in(r_, "E") > 0 && hsipc_poll(e_, &msg, 0) == HSIPC_EAGAIN && queued_in(r_, "E") > 0) {
            ADD_FAILURE() << "wedged: " << queued_in(r_, "E") << " messages queued that poll does not return, after "
                          << received_ << " messages and " << reopens << " reopenings";
        }
    }
    stop_and_drain();
    std::printf("%llu messages, %llu reopenings\n", (unsigned long long)received_, (unsigned long long)reopens);
    EXPECT_GT(reopens, 0u);
}

// Defect 4: a dead sender's messages sit in E's inbox; E's live owner takes
// each and sends it to E again, while another process reaps. No message may
// be lost: the reaper frees only what is published nowhere.
TEST(Stress, ReapWhileTheReceiverSendsAgain) {
    constexpr uint32_t kMessages = 4096;
    ScopedName name("stress-reap");
    // Room for two laps of the messages, so that a message sent again lands
    // in another slot than the one it was taken from.
    hsipc_config cfg = hsipc_test::small_config(kMessages + 64, 4, 2 * kMessages, 8);
    hsipc_region* r;
    ASSERT_OK(hsipc_attach(name.c_str(), &cfg, &r));
    hsipc_endpoint* e;
    ASSERT_OK(hsipc_endpoint_open(r, "E", &e));
    const uint32_t all_free = free_buffers(r, 2);
    Shared* shared = map_shared();
    ASSERT_NE(nullptr, shared);
    std::string region = name.c_str();
    // The reaper reaps all along, so that its first reap after the death
    // runs while the receiver is sending the dead sender's messages again.
    pid_t reaper = hsipc_test::fork_child([&] {
        hsipc_region* c;
        if (hsipc_attach(region.c_str(), nullptr, &c)) return 1;
        while (!shared->stop.load()) {
            if (hsipc_reap(c) < 0) return 2;
            shared->reaps.fetch_add(1);
        }
        return hsipc_detach(c) ? 3 : 0;
    });
    uint64_t rounds = 0, lost = 0;
    for (const double end = now_s() + stress_seconds(); now_s() < end && !HasFailure(); rounds++) {
        shared->sent[0].store(0);
        shared->sent[1].store(0);
        pid_t dead = hsipc_test::fork_child([&] {
            hsipc_region* c;
            hsipc_id to;
            hsipc_endpoint* self;
            if (hsipc_attach(region.c_str(), nullptr, &c) || hsipc_endpoint_open(c, "dead", &self) ||
                hsipc_lookup(c, "E", &to)) {
                return 1;
            }
            for (uint64_t k = 0; k < kMessages; k++) {
                hsipc_off off;
                if (hsipc_alloc(c, sizeof(Message), &off)) return 2;
                Message m{kMagic, 0, k};
                std::memcpy(hsipc_ptr(c, off), &m, sizeof m);
                if (hsipc_send_offset(self, to, off, sizeof m)) return 3;
            }
            shared->sent[0].store(1);
            while (shared->sent[1].load() == 0) sched_yield();
            _exit(0);  // dies attached: its messages stay queued in E
        });
        while (shared->sent[0].load() == 0) sched_yield();
        shared->sent[1].store(1);  // die now, while we take and send again
        const uint64_t reaps_before = shared->reaps.load();
        uint64_t resent = 0;
        // A pass over the inbox at about the pace of a reap, a few times.
        while (!HasFailure() && (shared->reaps.load() < reaps_before + 20 || resent < 2 * kMessages)) {
            hsipc_msg msg;
            ASSERT_OK(hsipc_poll(e, &msg, 1'000'000'000)) << "after " << resent << " re-sends the inbox is empty";
            ASSERT_OK(hsipc_send_offset(e, hsipc_endpoint_id(e), msg.off, msg.length));
            resent++;
            for (int spin = 0; spin < 200; spin++) hsipc::os::cpu_relax();
        }
        EXPECT_EQ(0, hsipc_test::wait_child(dead));
        std::vector<bool> seen(kMessages, false);
        uint64_t got = 0;
        hsipc_msg msg;
        while (hsipc_poll(e, &msg, 0) == HSIPC_OK) {
            Message m;
            std::memcpy(&m, msg.data, sizeof m);
            EXPECT_EQ(kMagic, m.magic);
            if (m.seq < kMessages) {
                EXPECT_FALSE(seen[m.seq]) << "message " << m.seq << " twice";
                seen[m.seq] = true;
            }
            got++;
            EXPECT_OK(hsipc_release(r, msg.off));
        }
        lost += kMessages - got;
        EXPECT_EQ(kMessages, got) << "messages lost in round " << rounds;
        EXPECT_LE(0, hsipc_reap(r));
        EXPECT_EQ(all_free, free_buffers(r, 2));
    }
    shared->stop.store(1);
    EXPECT_EQ(0, hsipc_test::wait_child(reaper));
    std::printf("%llu rounds of %u messages, %llu lost\n", (unsigned long long)rounds, kMessages,
                (unsigned long long)lost);
    hsipc_detach(r);
}

// Defect 6: many senders on an inbox of 2. A sender that loses the race for
// a slot to another sender lost to progress, not to damage: it must never
// get HSIPC_ECORRUPT, and every message arrives in its sender's order.
TEST_F(SendersToE, ManySendersOnATinyInboxNeverSeeCorruption) {
    start("stress-tiny", 2);
    for (const double end = now_s() + stress_seconds(); now_s() < end && !HasFailure();) receive_one();
    stop_and_drain();
    EXPECT_EQ(sent(), received_);
    std::printf("%llu messages through an inbox of 2\n", (unsigned long long)received_);
}

// The receiver waits in epoll on its fd, as an event loop does, while four
// processes send to its small inbox; every few hundred messages it waits
// in a timed hsipc_poll instead, and sometimes reopens the endpoint (a new
// fd). An armed receiver that epoll never wakes while messages wait is a
// lost wake-up; senders are alive throughout, so no reap is involved.
TEST_F(SendersToE, ArmedReceiverInEpollMissesNoWakeUp) {
    start("stress-armed", 8);
    const int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    ASSERT_GE(epoll_fd, 0);
    int fd = -1;
    uint64_t taken = 0, waits = 0, wakeups = 0, reopens = 0;
    auto watch = [&]() {
        ASSERT_OK(hsipc_endpoint_fd(e_, &fd));
        struct epoll_event ev = {};
        ev.events = EPOLLIN;
        ASSERT_EQ(0, epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev));
    };
    watch();
    for (const double end = now_s() + stress_seconds(); now_s() < end && !HasFailure();) {
        hsipc_msg msg;
        while (hsipc_poll(e_, &msg, 0) == HSIPC_OK) {
            EXPECT_TRUE(check_message(msg, &last_seq_));
            EXPECT_OK(hsipc_release(r_, msg.off));
            received_++;
            if (++taken % 500 == 0) receive_one();  // the other way of waiting, on the same endpoint
            if (taken % 2000 == 0) {
                ASSERT_EQ(0, epoll_ctl(epoll_fd, EPOLL_CTL_DEL, fd, nullptr));
                ASSERT_OK(hsipc_endpoint_close(e_));
                ASSERT_OK(hsipc_endpoint_open(r_, "E", &e_));
                watch();
                reopens++;
            }
        }
        const int armed = hsipc_endpoint_arm(e_);
        if (armed == 1) continue;
        ASSERT_OK(armed);
        waits++;
        struct epoll_event ev;
        const int n = epoll_wait(epoll_fd, &ev, 1, 2000);
        if (n == 1) {
            wakeups++;
            continue;
        }
        ASSERT_EQ(0, n);
        // Two seconds armed, with four live senders: messages waiting now
        // were published without waking us.
        if (queued_in(r_, "E") > 0) {
            ADD_FAILURE() << "lost wake-up: " << queued_in(r_, "E") << " messages wait for an armed receiver, after "
                          << received_ << " messages";
        }
    }
    close(epoll_fd);
    stop_and_drain();
    std::printf("%llu messages, %llu waits in epoll, %llu wake-ups, %llu reopenings\n",
                (unsigned long long)received_, (unsigned long long)waits, (unsigned long long)wakeups,
                (unsigned long long)reopens);
    EXPECT_GT(wakeups, 0u);
}

// Defect 3, with natural timing: one name opened and closed as fast as
// the region lock allows, as a flapping service would. No id may repeat,
// and a send to any earlier one is refused. With the largest table (13
// index bits, 2^19 - 1 gens per slot) a run of a few minutes goes past
// the end of slot 0's ids (about 524,000 opens) and on to the next slot.
TEST(Stress, FlappingEndpointNeverReusesAnId) {
    ScopedName name("stress-ids");
    hsipc_config cfg = hsipc_test::small_config(16, 4, 2, 4096);
    hsipc_region* r;
    ASSERT_OK(hsipc_attach(name.c_str(), &cfg, &r));
    hsipc_endpoint* sender;
    ASSERT_OK(hsipc_endpoint_open(r, "sender", &sender));
    hsipc_off off;
    ASSERT_OK(hsipc_alloc(r, 8, &off));
    // Ids are gen << 13 | (slot + 1) here (docs/region-format.md): unique
    // for good if each slot's gens only ever grow.
    std::vector<uint32_t> last_gen(4097, 0);
    uint64_t opens = 0;
    hsipc_id first = 0;
    for (const double end = now_s() + stress_seconds(); now_s() < end && !HasFailure(); opens++) {
        hsipc_endpoint* ep;
        ASSERT_OK(hsipc_endpoint_open(r, "flapping", &ep));
        const hsipc_id id = hsipc_endpoint_id(ep);
        const uint32_t slot = id & 0x1fff, gen = id >> 13;
        ASSERT_TRUE(slot >= 1 && slot <= 4096) << "id " << id;
        ASSERT_GT(gen, last_gen[slot]) << "id " << id << " after " << opens << " opens";
        last_gen[slot] = gen;
        if (first == 0) first = id;
        ASSERT_OK(hsipc_endpoint_close(ep));
        if (opens % 4096 == 0) {
            ASSERT_STATUS(HSIPC_EPEER, hsipc_send_offset(sender, first, off, 8));
        }
    }
    EXPECT_STATUS(HSIPC_EPEER, hsipc_send_offset(sender, first, off, 8));
    std::printf("%llu opens of one name, no id twice\n", (unsigned long long)opens);
    hsipc_release(r, off);
    hsipc_detach(r);
}

}  // namespace
