// Kills a process at every instruction of an operation (creating a region
// counts as one). A child stops just
// before the operation; the test single-steps it k instructions with
// ptrace and kills it, for every k across the operation (with a stride
// where an operation has thousands). After each kill: a message being sent
// arrived whole or not at all, one hsipc_reap returns every buffer, the
// dead endpoint's name is free, and the inbox still delivers in order.
#include <sys/ptrace.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "test_util.h"

namespace {

using hsipc_test::ScopedName;

constexpr uint64_t kPattern = 0x5eedf00dcafe0000ull;
constexpr size_t kMessageWords = 8;

enum class Op { kCreate, kAttach, kEndpointOpen, kAlloc, kSend, kPoll, kRelease };

const char* op_name(Op op) {
    switch (op) {
        case Op::kCreate: return "hsipc_attach_create";
        case Op::kAttach: return "hsipc_attach";
        case Op::kEndpointOpen: return "hsipc_endpoint_open";
        case Op::kAlloc: return "hsipc_alloc";
        case Op::kSend: return "hsipc_send_offset";
        case Op::kPoll: return "hsipc_poll";
        case Op::kRelease: return "hsipc_release";
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
    hsipc_msg msg;
    if (op != Op::kAttach && op != Op::kCreate) {
        if (hsipc_attach(region.c_str(), nullptr, &r)) _exit(91);
        if (op != Op::kEndpointOpen) {
            if (hsipc_endpoint_open(r, "tx", &ep) || hsipc_lookup(r, "rx", &rx)) _exit(92);
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
    }
    raise(SIGSTOP);  // the test single-steps from here
    int rc = 0;
    switch (op) {
        case Op::kCreate: rc = hsipc_attach(created_name(region).c_str(), &small, &r); break;
        case Op::kAttach: rc = hsipc_attach(region.c_str(), nullptr, &r); break;
        case Op::kEndpointOpen: rc = hsipc_endpoint_open(r, "tx", &ep); break;
        case Op::kAlloc: rc = hsipc_alloc(r, 64, &off); break;
        case Op::kSend: rc = hsipc_send_offset(ep, rx, off, kMessageWords * 8); break;
        case Op::kPoll: rc = hsipc_poll(ep, &msg, 0); break;
        case Op::kRelease: rc = hsipc_release(r, off); break;
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
    hsipc_endpoint *rx, *control;
    if (hsipc_attach(name.c_str(), &cfg, &r) || hsipc_endpoint_open(r, "rx", &rx) ||
        hsipc_endpoint_open(r, "control", &control)) {
        ADD_FAILURE() << "setup";
        return f;
    }
    const uint32_t all_buffers = free_buffers(r);
    // How many instructions the whole operation takes.
    pid_t pid = start_child(op, name.c_str());
    if (pid < 0) {
        ADD_FAILURE() << "child did not stop";
        return f;
    }
    f.instructions = step(pid, 10'000'000);
    kill_child(pid);
    auto check = [&] {
        std::string problem = op == Op::kCreate ? check_created(name.c_str()) : "";
        return problem.empty() ? check_after_kill(r, rx, control, all_buffers) : problem;
    };
    std::string problem = check();
    if (!problem.empty()) ADD_FAILURE() << op_name(op) << " completed, then: " << problem;
    const long stride = stride_for(f.instructions);
    for (long k = 0; k <= f.instructions; k += stride) {
        pid = start_child(op, name.c_str());
        if (pid < 0) {
            ADD_FAILURE() << "child did not stop";
            break;
        }
        step(pid, k);
        kill_child(pid);
        f.kills++;
        problem = check();
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
                         ::testing::Values(Op::kCreate, Op::kAttach, Op::kEndpointOpen, Op::kAlloc, Op::kSend, Op::kPoll,
                                           Op::kRelease),
                         [](const ::testing::TestParamInfo<Op>& info) {
                             std::string n = op_name(info.param);
                             return n.substr(6);  // without "hsipc_"
                         });

}  // namespace
