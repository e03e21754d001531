// SPDX-License-Identifier: MIT
// Kills a process at every instruction of an operation (creating a region
// counts as one). A child stops just
// before the operation; the test single-steps it k instructions with
// ptrace and kills it, for every k across the operation (with a stride
// where an operation has thousands). After each kill: a message being sent
// arrived whole or not at all, one hsipc_reap returns every buffer, the
// dead endpoint's name is free, and the inbox still delivers in order.
#include <sys/epoll.h>
#include <sys/ptrace.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "region.h"
#include "test_util.h"

namespace {

using hsipc_test::ScopedName;

constexpr uint64_t kPattern = 0x5eedf00dcafe0000ull;
constexpr size_t kMessageWords = 8;

// kSendToSleeper: a send whose receiver sleeps in hsipc_poll(HSIPC_FOREVER);
// kSendToArmed: one whose receiver armed its fd and waits in epoll_wait.
// The topic operations run beside three subscribers of topic "t" (the
// test's endpoints s0, s1, s2); the child's own endpoint subscribes too for
// the poll and release of a shared message, and unsubscribes.
enum class Op {
    kCreate,
    kAttach,
    kEndpointOpen,
    kAlloc,
    kSend,
    kSendToSleeper,
    kSendToArmed,
    kPoll,
    kRelease,
    kPublish,
    kPollShared,
    kReleaseShared,
    kSubscribe,
    kUnsubscribe,
};

bool topic_op(Op op) { return op >= Op::kPublish; }

const char* op_name(Op op) {
    switch (op) {
        case Op::kCreate: return "hsipc_attach_create";
        case Op::kAttach: return "hsipc_attach";
        case Op::kEndpointOpen: return "hsipc_endpoint_open";
        case Op::kAlloc: return "hsipc_alloc";
        case Op::kSend: return "hsipc_send_offset";
        case Op::kSendToSleeper: return "hsipc_send_to_sleeper";
        case Op::kSendToArmed: return "hsipc_send_to_armed";
        case Op::kPoll: return "hsipc_poll";
        case Op::kRelease: return "hsipc_release";
        case Op::kPublish: return "hsipc_publish";
        case Op::kPollShared: return "hsipc_poll_shared";
        case Op::kReleaseShared: return "hsipc_release_shared";
        case Op::kSubscribe: return "hsipc_subscribe";
        case Op::kUnsubscribe: return "hsipc_unsubscribe";
    }
    return "?";
}

// The child: sets up what the operation needs, stops, runs it, stops again.
// The region a creating child makes: the test's own name plus "-new".
std::string created_name(const std::string& region) { return region + "-new"; }

[[noreturn]] void child_main(Op op, const std::string& region) {
    if (ptrace(PTRACE_TRACEME, 0, nullptr, nullptr) != 0) _exit(90);
    hsipc_region* r = nullptr;
    const hsipc_config small = hsipc_test::small_config(16, 4, 8, 8);
    hsipc_endpoint* ep = nullptr;
    hsipc_off off = 0;
    hsipc_id rx = 0;
    hsipc_id topic = 0;
    uint32_t delivered = 0;
    hsipc_msg msg;
    if (op != Op::kAttach && op != Op::kCreate) {
        if (hsipc_attach(region.c_str(), nullptr, &r)) _exit(91);
        if (op != Op::kEndpointOpen) {
            const char* to = op == Op::kSendToSleeper || op == Op::kSendToArmed ? "sleeper" : "rx";
            if (hsipc_endpoint_open(r, "tx", &ep) || hsipc_lookup(r, to, &rx)) _exit(92);
            for (int i = 0; i < 2; i++) {
                if (hsipc_alloc(r, 64, &off)) _exit(93);  // held when it dies
            }
            auto* words = static_cast<uint64_t*>(hsipc_ptr(r, off));
            for (size_t i = 0; i < kMessageWords; i++) words[i] = kPattern + i;
        }
        if (op == Op::kPoll) {
            // Something in our inbox to take: sent to ourselves.
            if (hsipc_send_offset(ep, hsipc_endpoint_id(ep), off, kMessageWords * 8)) _exit(94);
        }
        if (topic_op(op) && hsipc_topic_open(r, "t", &topic)) _exit(96);
        if ((op == Op::kPollShared || op == Op::kReleaseShared || op == Op::kUnsubscribe) &&
            hsipc_subscribe(ep, "t")) {
            _exit(97);
        }
        if (op == Op::kPollShared || op == Op::kReleaseShared) {
            // A shared message in our inbox (and in s0..s2's), and for the
            // release, taken.
            if (hsipc_publish(ep, topic, off, kMessageWords * 8, &delivered, nullptr) || delivered != 4) _exit(98);
            if (op == Op::kReleaseShared && hsipc_poll(ep, &msg, 0)) _exit(99);
        }
    }
    raise(SIGSTOP);  // the test single-steps from here
    int rc = 0;
    switch (op) {
        case Op::kCreate: rc = hsipc_attach(created_name(region).c_str(), &small, &r); break;
        case Op::kAttach: rc = hsipc_attach(region.c_str(), nullptr, &r); break;
        case Op::kEndpointOpen: rc = hsipc_endpoint_open(r, "tx", &ep); break;
        case Op::kAlloc: rc = hsipc_alloc(r, 64, &off); break;
        case Op::kSend:
        case Op::kSendToSleeper:
        case Op::kSendToArmed: rc = hsipc_send_offset(ep, rx, off, kMessageWords * 8); break;
        case Op::kPoll: rc = hsipc_poll(ep, &msg, 0); break;
        case Op::kRelease: rc = hsipc_release(r, off); break;
        case Op::kPublish: rc = hsipc_publish(ep, topic, off, kMessageWords * 8, &delivered, nullptr); break;
        case Op::kPollShared: rc = hsipc_poll(ep, &msg, 0); break;
        case Op::kReleaseShared: rc = hsipc_release(r, msg.off); break;
        case Op::kSubscribe: rc = hsipc_subscribe(ep, "t"); break;
        case Op::kUnsubscribe: rc = hsipc_unsubscribe(ep, "t"); break;
    }
    raise(SIGSTOP);  // the end of the operation
    _exit(rc == HSIPC_OK ? 0 : 95);
}

// Starts a child stopped just before the operation.
pid_t start_child(Op op, const std::string& region) {
    pid_t pid = fork();
    if (pid == 0) child_main(op, region);
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFSTOPPED(status) || WSTOPSIG(status) != SIGSTOP) {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
        return -1;
    }
    return pid;
}

// Single-steps up to `steps` instructions; returns how many it did before
// the child reached its closing stop (so `steps` if it did not).
long step(pid_t pid, long steps) {
    for (long done = 0; done < steps; done++) {
        if (ptrace(PTRACE_SINGLESTEP, pid, nullptr, nullptr) != 0) return done;
        int status;
        if (waitpid(pid, &status, 0) != pid || !WIFSTOPPED(status)) return done;
        if (WSTOPSIG(status) == SIGSTOP) return done;  // the closing raise
    }
    return steps;
}

void kill_child(pid_t pid) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
}

struct Figures {
    long instructions = 0;
    int kills = 0;
    int failures = 0;
};

uint32_t free_buffers(hsipc_region* r) {
    uint32_t total = 0;
    for (uint32_t p = 0; p < 2; p++) {
        hsipc_pool_stats s;
        s.struct_size = sizeof s;
        if (hsipc_region_pool_stats(r, p, &s) == HSIPC_OK) total += s.free_count;
    }
    return total;
}

// After a creator was killed: the name holds a whole region or nothing, so
// the next attacher gets a working region either way.
std::string check_created(const std::string& region) {
    const std::string name = created_name(region);
    hsipc_region* r;
    hsipc_config cfg = hsipc_test::small_config(16, 4, 8, 8);
    int rc = hsipc_attach(name.c_str(), &cfg, &r);
    if (rc != HSIPC_OK) return std::string("attaching after the creator died: ") + hsipc_strerror(rc);
    hsipc_endpoint* ep;
    hsipc_off off;
    hsipc_msg msg;
    std::string problem;
    if (hsipc_endpoint_open(r, "after", &ep) || hsipc_alloc(r, 8, &off) ||
        hsipc_send_offset(ep, hsipc_endpoint_id(ep), off, 8) || hsipc_poll(ep, &msg, 0) ||
        hsipc_release(r, msg.off)) {
        problem = "the region left by a dead creator does not work";
    }
    hsipc_detach(r);
    hsipc_unlink(name.c_str());
    return problem;
}

// Checks the region after a kill; returns a description of what is wrong.
std::string check_after_kill(hsipc_region* r, hsipc_endpoint* rx, hsipc_endpoint* control, uint32_t all_buffers) {
    // A message being sent arrived whole or not at all.
    hsipc_msg msg;
    int rc = hsipc_poll(rx, &msg, 0);
    if (rc == HSIPC_OK) {
        const auto* words = static_cast<const uint64_t*>(msg.data);
        if (msg.length != kMessageWords * 8) return "a partial message arrived";
        for (size_t i = 0; i < kMessageWords; i++) {
            if (words[i] != kPattern + i) return "a message arrived with wrong content";
        }
        hsipc_release(r, msg.off);
        if (hsipc_poll(rx, &msg, 0) != HSIPC_EAGAIN) return "more than one message arrived";
    } else if (rc != HSIPC_EAGAIN) {
        return std::string("poll after the kill: ") + hsipc_strerror(rc);
    }
    // One reap returns everything (statistics, not allocation, which would reap by itself).
    rc = hsipc_reap(r);
    if (rc < 0) return std::string("reap: ") + hsipc_strerror(rc);
    if (free_buffers(r) != all_buffers) {
        return "after one reap " + std::to_string(all_buffers - free_buffers(r)) + " buffers are still out";
    }
    hsipc_id id;
    if (hsipc_lookup(r, "tx", &id) != HSIPC_ENOENT) return "the dead endpoint's name is still taken";
    // The inbox still delivers new messages, in order.
    for (uint64_t i = 0; i < 3; i++) {
        hsipc_off off;
        if (hsipc_alloc(r, 8, &off) != HSIPC_OK) return "alloc after the kill failed";
        *static_cast<uint64_t*>(hsipc_ptr(r, off)) = i;
        if (hsipc_send_offset(control, hsipc_endpoint_id(rx), off, 8) != HSIPC_OK) return "send after the kill failed";
    }
    for (uint64_t i = 0; i < 3; i++) {
        if (hsipc_poll(rx, &msg, 0) != HSIPC_OK) return "the inbox stopped delivering";
        if (*static_cast<uint64_t*>(msg.data) != i) return "the inbox delivered out of order";
        hsipc_release(r, msg.off);
    }
    return "";
}

// After a kill during a topic operation, before check_after_kill: each of
// the subscribers s0..s2 has the child's message whole, or nothing; after
// one reap a publish reaches exactly those three (a dead subscriber is
// gone from the list) and the buffers all come back once they release.
std::string check_topic_after_kill(hsipc_region* r, hsipc_endpoint* const* subscribers, hsipc_endpoint* control,
                                   uint32_t all_buffers) {
    hsipc_msg msg;
    for (int s = 0; s < 3; s++) {
        int rc = hsipc_poll(subscribers[s], &msg, 0);
        if (rc == HSIPC_EAGAIN) continue;
        if (rc != HSIPC_OK) return std::string("a subscriber's poll after the kill: ") + hsipc_strerror(rc);
        const auto* words = static_cast<const uint64_t*>(msg.data);
        if (msg.length != kMessageWords * 8 || msg.flags != HSIPC_MSG_SHARED) return "a partial message was published";
        for (size_t i = 0; i < kMessageWords; i++) {
            if (words[i] != kPattern + i) return "a published message arrived with wrong content";
        }
        if (hsipc_release(r, msg.off) != HSIPC_OK) return "a subscriber could not release its reference";
        if (hsipc_poll(subscribers[s], &msg, 0) != HSIPC_EAGAIN) return "a subscriber got the message twice";
    }
    int rc = hsipc_reap(r);
    if (rc < 0) return std::string("reap: ") + hsipc_strerror(rc);
    if (free_buffers(r) != all_buffers) {
        return "after one reap " + std::to_string(all_buffers - free_buffers(r)) + " buffers are still out";
    }
    hsipc_id topic;
    hsipc_off off;
    uint32_t delivered = 0;
    if (hsipc_topic_open(r, "t", &topic) || hsipc_alloc(r, 8, &off) ||
        hsipc_publish(control, topic, off, 8, &delivered, nullptr)) {
        return "publishing after the kill failed";
    }
    if (delivered != 3) return "a publish after the kill reached " + std::to_string(delivered) + " subscribers, not 3";
    for (int s = 0; s < 3; s++) {
        if (hsipc_poll(subscribers[s], &msg, 0) != HSIPC_OK || hsipc_release(r, msg.off) != HSIPC_OK) {
            return "a subscriber stopped receiving";
        }
    }
    return free_buffers(r) == all_buffers ? "" : "the last release did not return the shared buffer";
}

// A receiver waiting on its own thread for the duration of one kill, asleep
// in hsipc_poll(HSIPC_FOREVER) or armed in epoll_wait: it must get a
// message whose sender died after publishing it, however far the sender
// got. Asleep in a poll, without anyone's help (its sleep is sliced); in
// epoll, after the one reap that finds the sender dead.
class Sleeper {
public:
    enum class How { kPoll, kEpoll };
    Sleeper(hsipc_region* r, hsipc_endpoint* ep, hsipc_endpoint* control, How how)
        : r_(r), ep_(ep), control_(control), how_(how) {
        thread_ = std::thread([this] { how_ == How::kPoll ? wait_in_poll() : wait_in_epoll(); });
        // Asleep in the futex (not still spinning), or armed, before the
        // send starts.
        const auto& region = *reinterpret_cast<hsipc::Region*>(r);
        const hsipc_id id = hsipc_endpoint_id(ep);
        const auto& sleeping = region.endpoint_slot((id & ((1u << region.layout.id_index_bits) - 1)) - 1).sleeping;
        for (int i = 0; i < 5000 && sleeping.load() == 0; i++) usleep(100);
        usleep(200);
    }
    // After the kill: what is wrong, or "".
    std::string finish() {
        if (how_ == How::kEpoll) hsipc_reap(r_);
        // A published message must reach the sleeper within a bounded time
        // (its poll's sleep is cut into slices of at most 64 ms; the reap
        // makes an armed fd readable).
        for (int i = 0; i < 2000 && queued() > 0; i++) usleep(1000);
        std::string problem;
        if (queued() > 0) problem = "a message waits in the inbox of a receiver that sleeps on";
        hsipc_off off;
        if (hsipc_alloc(r_, 1, &off) != HSIPC_OK ||
            hsipc_send_offset(control_, hsipc_endpoint_id(ep_), off, 1) != HSIPC_OK) {
            problem += "cannot stop the sleeper";
            thread_.detach();
            return problem;
        }
        thread_.join();
        if (received_.load() > 1) problem += "more than one message arrived";
        return problem + problem_;
    }

private:
    // Takes a message; false once it was the stop message.
    bool take(const hsipc_msg& msg) {
        const bool stop = msg.length == 1;
        if (!stop) problem_ += check_message(msg);
        hsipc_release(r_, msg.off);
        if (!stop) received_.fetch_add(1);
        return !stop;
    }
    void wait_in_poll() {
        for (;;) {
            hsipc_msg msg;
            if (hsipc_poll(ep_, &msg, HSIPC_FOREVER) != HSIPC_OK) {
                problem_ = "the sleeper's poll failed";
                return;
            }
            if (!take(msg)) return;
        }
    }
    // The loop of examples/eventloop.c, with no timeout: only a message or
    // the reap can wake it.
    void wait_in_epoll() {
        int fd;
        const int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
        struct epoll_event ev = {};
        ev.events = EPOLLIN;
        if (hsipc_endpoint_fd(ep_, &fd) != HSIPC_OK || epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0) {
            problem_ = "cannot wait on the endpoint's fd";
            close(epoll_fd);
            return;
        }
        for (;;) {
            hsipc_msg msg;
            int rc;
            while ((rc = hsipc_poll(ep_, &msg, 0)) == HSIPC_OK) {
                if (!take(msg)) {
                    close(epoll_fd);
                    return;
                }
            }
            if (rc == HSIPC_EAGAIN) rc = hsipc_endpoint_arm(ep_);
            if (rc == 1) continue;
            if (rc != HSIPC_OK || epoll_wait(epoll_fd, &ev, 1, -1) < 0) {
                problem_ = "the armed receiver's poll, arm or epoll_wait failed";
                close(epoll_fd);
                return;
            }
        }
    }
    static std::string check_message(const hsipc_msg& msg) {
        const auto* words = static_cast<const uint64_t*>(msg.data);
        if (msg.length != kMessageWords * 8) return "a partial message arrived";
        for (size_t i = 0; i < kMessageWords; i++) {
            if (words[i] != kPattern + i) return "a message arrived with wrong content";
        }
        return "";
    }
    uint32_t queued() {
        const hsipc_id id = hsipc_endpoint_id(ep_);
        const auto& region = *reinterpret_cast<hsipc::Region*>(r_);
        hsipc_endpoint_info info;
        info.struct_size = sizeof info;
        if (hsipc_region_endpoint_info(r_, (id & ((1u << region.layout.id_index_bits) - 1)) - 1, &info) != HSIPC_OK) {
            return 0;
        }
        return info.queued;
    }

    hsipc_region* r_;
    hsipc_endpoint* ep_;
    hsipc_endpoint* control_;
    How how_;
    std::thread thread_;
    std::atomic<int> received_{0};
    std::string problem_;
};

// Single-steps one operation may spend in all (ptrace steps cost tens of
// microseconds on a VM); HSIPC_CRASH_STEPS=0 means every instruction of
// every operation, however long that takes.
long step_budget() {
    const char* env = std::getenv("HSIPC_CRASH_STEPS");
    return env ? std::atol(env) : 150000;
}

// Every instruction where the budget allows; else an even stride. Killing
// after k steps costs k steps, so n instructions cost about n^2 / 2 / stride.
long stride_for(long instructions) {
    const long budget = step_budget();
    if (budget <= 0) return 1;
    long stride = 1;
    while (instructions * instructions / 2 / stride > budget) stride++;
    return stride;
}

Figures kill_everywhere(Op op) {
    Figures f;
    ScopedName name("crash-points");
    hsipc_config cfg = hsipc_test::small_config(16, 4, 8, 8);
    hsipc_region* r;
    hsipc_endpoint *rx, *control, *sleeper, *subscribers[3];
    if (hsipc_attach(name.c_str(), &cfg, &r) || hsipc_endpoint_open(r, "rx", &rx) ||
        hsipc_endpoint_open(r, "control", &control) || hsipc_endpoint_open(r, "sleeper", &sleeper) ||
        hsipc_endpoint_open(r, "s0", &subscribers[0]) || hsipc_endpoint_open(r, "s1", &subscribers[1]) ||
        hsipc_endpoint_open(r, "s2", &subscribers[2]) || hsipc_subscribe(subscribers[0], "t") ||
        hsipc_subscribe(subscribers[1], "t") || hsipc_subscribe(subscribers[2], "t")) {
        ADD_FAILURE() << "setup";
        return f;
    }
    const uint32_t all_buffers = free_buffers(r);
    // Runs the operation in a child killed after `steps` instructions (and
    // a waiting receiver beside it, for kSendToSleeper and kSendToArmed); how many it ran,
    // and what is wrong afterwards.
    auto kill_after = [&](long steps, std::string* problem) -> long {
        std::unique_ptr<Sleeper> asleep;
        if (op == Op::kSendToSleeper) asleep = std::make_unique<Sleeper>(r, sleeper, control, Sleeper::How::kPoll);
        if (op == Op::kSendToArmed) asleep = std::make_unique<Sleeper>(r, sleeper, control, Sleeper::How::kEpoll);
        pid_t pid = start_child(op, name.c_str());
        if (pid < 0) {
            *problem = "child did not stop";
            if (asleep) asleep->finish();
            return -1;
        }
        const long done = step(pid, steps);
        kill_child(pid);
        *problem = asleep ? asleep->finish() : "";
        if (problem->empty() && op == Op::kCreate) *problem = check_created(name.c_str());
        if (problem->empty() && topic_op(op)) *problem = check_topic_after_kill(r, subscribers, control, all_buffers);
        if (problem->empty()) *problem = check_after_kill(r, rx, control, all_buffers);
        return done;
    };
    // How many instructions the whole operation takes.
    std::string problem;
    f.instructions = kill_after(10'000'000, &problem);
    if (f.instructions < 0) {
        ADD_FAILURE() << problem;
        return f;
    }
    if (!problem.empty()) ADD_FAILURE() << op_name(op) << " completed, then: " << problem;
    const long stride = stride_for(f.instructions);
    for (long k = 0; k <= f.instructions; k += stride) {
        if (kill_after(k, &problem) < 0) {
            ADD_FAILURE() << problem;
            break;
        }
        f.kills++;
        if (!problem.empty()) {
            f.failures++;
            ADD_FAILURE() << op_name(op) << " killed after " << k << " of " << f.instructions
                          << " instructions: " << problem;
        }
    }
    hsipc_detach(r);
    std::printf("%-20s %7ld instructions, %5d kills (every %ld), %d failures\n", op_name(op), f.instructions,
                f.kills, stride, f.failures);
    return f;
}

class CrashPoints : public ::testing::TestWithParam<Op> {};

TEST_P(CrashPoints, KilledAtEveryInstructionCostsNothing) {
    Figures f = kill_everywhere(GetParam());
    EXPECT_GT(f.instructions, 0);
    EXPECT_EQ(0, f.failures);
}

INSTANTIATE_TEST_SUITE_P(Operations, CrashPoints,
                         ::testing::Values(Op::kCreate, Op::kAttach, Op::kEndpointOpen, Op::kAlloc, Op::kSend,
                                           Op::kSendToSleeper, Op::kSendToArmed, Op::kPoll, Op::kRelease,
                                           Op::kPublish, Op::kPollShared, Op::kReleaseShared, Op::kSubscribe,
                                           Op::kUnsubscribe),
                         [](const ::testing::TestParamInfo<Op>& info) {
                             std::string n = op_name(info.param);
                             return n.substr(6);  // without "hsipc_"
                         });

}  // namespace
