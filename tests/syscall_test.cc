// SPDX-License-Identifier: MIT
// Zero system calls per polled message: strace counts every system call of
// a ping-pong between two processes, for few and for many round trips; the
// count must not grow with the number of messages.
#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <new>
#include <sstream>
#include <string>

#include "test_util.h"

namespace {

// --child=pingpong NAME ROUNDS: a pair of processes bouncing one 64-byte
// message ROUNDS times, both polling with timeout 0.
HSIPC_CHILD(pingpong) {
    if (args.size() != 2) return 100;
    const char* name = args[0].c_str();
    const long rounds = std::stol(args[1]);
    hsipc_config cfg = hsipc_test::small_config(16, 2, 8, 4);
    hsipc_region* r;
    hsipc_endpoint* self;
    if (hsipc_attach(name, &cfg, &r) || hsipc_endpoint_open(r, "ping", &self)) return 1;
    pid_t partner = fork();
    if (partner == 0) {
        hsipc_region* c;
        hsipc_endpoint* pong;
        hsipc_id ping;
        if (hsipc_attach(name, nullptr, &c) || hsipc_endpoint_open(c, "pong", &pong) || hsipc_lookup(c, "ping", &ping)) {
            _exit(1);
        }
        for (long i = 0; i < rounds; i++) {
            hsipc_msg msg;
            while (hsipc_poll(pong, &msg, 0) == HSIPC_EAGAIN) {
            }
            if (hsipc_send_offset(pong, ping, msg.off, msg.length)) _exit(2);
        }
        _exit(hsipc_detach(c) ? 3 : 0);
    }
    hsipc_id pong;
    if (hsipc_test::lookup_wait(r, "pong", &pong)) return 2;
    hsipc_off off;
    if (hsipc_alloc(r, 64, &off)) return 3;
    for (long i = 0; i < rounds; i++) {
        static_cast<long*>(hsipc_ptr(r, off))[0] = i;
        if (hsipc_send_offset(self, pong, off, 64)) return 4;
        hsipc_msg msg;
        while (hsipc_poll(self, &msg, 0) == HSIPC_EAGAIN) {
        }
        if (static_cast<long*>(msg.data)[0] != i) return 5;
        off = msg.off;
    }
    hsipc_release(r, off);
    int status;
    if (waitpid(partner, &status, 0) != partner || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return 6;
    hsipc_detach(r);
    hsipc_unlink(name);
    return 0;
}

// --child=stream NAME COUNT: one process streams COUNT 64-byte messages to
// another, which takes them with hsipc_poll_batch (timeout 0, lingering).
// The inbox (8) plus a batch (4) stay below the pool (16), so the sender
// meets a full inbox, never an empty pool (whose reap makes system calls).
HSIPC_CHILD(stream) {
    if (args.size() != 2) return 100;
    const char* name = args[0].c_str();
    const long count = std::stol(args[1]);
    hsipc_config cfg = hsipc_test::small_config(16, 2, 8, 4);
    hsipc_region* r;
    hsipc_endpoint* self;
    if (hsipc_attach(name, &cfg, &r) || hsipc_endpoint_open(r, "consumer", &self)) return 1;
    pid_t producer = fork();
    if (producer == 0) {
        hsipc_region* c;
        hsipc_endpoint* me;
        hsipc_id to;
        if (hsipc_attach(name, nullptr, &c) || hsipc_endpoint_open(c, "producer", &me) ||
            hsipc_lookup(c, "consumer", &to)) {
            _exit(1);
        }
        for (long i = 0; i < count; i++) {
            hsipc_off off;
            while (hsipc_alloc(c, 64, &off) == HSIPC_ENOMEM) {
            }
            static_cast<long*>(hsipc_ptr(c, off))[0] = i;
            int rc;
            while ((rc = hsipc_send_offset(me, to, off, 64)) == HSIPC_EFULL) {
            }
            if (rc) _exit(2);
        }
        _exit(hsipc_detach(c) ? 3 : 0);
    }
    for (long i = 0; i < count;) {
        hsipc_msg batch[4];
        size_t n;
        int rc = hsipc_poll_batch(self, batch, 4, 0, 20'000, &n);
        if (rc == HSIPC_EAGAIN) continue;
        if (rc) return 4;
        for (size_t k = 0; k < n; k++, i++) {
            if (static_cast<long*>(batch[k].data)[0] != i) return 5;
            if (hsipc_release(r, batch[k].off)) return 6;
        }
    }
    int status;
    if (waitpid(producer, &status, 0) != producer || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return 7;
    hsipc_detach(r);
    hsipc_unlink(name);
    return 0;
}

// --child=publish NAME COUNT: one process publishes COUNT 64-byte messages
// to a topic with three subscriber processes, each spinning on
// hsipc_poll(…, 0), checking every message and releasing it (the last
// release frees the shared buffer). The publisher keeps at most kWindow
// messages in flight, so that no subscriber's inbox fills (a skipped
// message would go unchecked) and the pool never runs dry (an empty pool
// reaps, which makes system calls); it learns how far each subscriber got
// from counters in a shared anonymous mapping, by plain loads.
HSIPC_CHILD(publish) {
    if (args.size() != 2) return 100;
    const char* name = args[0].c_str();
    const long count = std::stol(args[1]);
    constexpr int kSubscribers = 3;
    // Four processes spinning on two CPUs take turns by time slices: a
    // window too small would make most of the run waiting for a turn.
    constexpr long kWindow = 4096;
    hsipc_config cfg = hsipc_test::small_config(2 * kWindow, 1, 2 * kWindow, 8);
    struct alignas(64) Progress {
        std::atomic<long> value;
    };
    void* shared =
        mmap(nullptr, sizeof(Progress) * kSubscribers, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    int subscribed[2];
    if (shared == MAP_FAILED || pipe(subscribed) != 0) return 1;
    Progress* consumed = new (shared) Progress[kSubscribers]();
    hsipc_region* r;
    hsipc_endpoint* self;
    hsipc_id topic;
    if (hsipc_attach(name, &cfg, &r) || hsipc_endpoint_open(r, "publisher", &self) ||
        hsipc_topic_open(r, "ticks", &topic)) {
        return 2;
    }
    pid_t subscribers[kSubscribers];
    for (int s = 0; s < kSubscribers; s++) {
        fflush(nullptr);
        subscribers[s] = fork();
        if (subscribers[s] != 0) continue;
        hsipc_region* c;
        hsipc_endpoint* ep;
        const std::string me = "subscriber-" + std::to_string(s);
        if (hsipc_attach(name, nullptr, &c) || hsipc_endpoint_open(c, me.c_str(), &ep) || hsipc_subscribe(ep, "ticks")) {
            _exit(1);
        }
        if (write(subscribed[1], "s", 1) != 1) _exit(1);
        for (long i = 0; i < count; i++) {
            hsipc_msg msg;
            while (hsipc_poll(ep, &msg, 0) == HSIPC_EAGAIN) {
            }
            if (!(msg.flags & HSIPC_MSG_SHARED) || static_cast<const long*>(msg.data)[0] != i) _exit(2);
            if (hsipc_release(c, msg.off)) _exit(3);
            consumed[s].value.store(i + 1, std::memory_order_release);  // done with message i
        }
        _exit(hsipc_detach(c) ? 4 : 0);
    }
    char ready[kSubscribers];
    for (int got = 0; got < kSubscribers;) {  // a blocking read: as many calls either way
        const ssize_t n = read(subscribed[0], ready, sizeof ready - size_t(got));
        if (n <= 0) return 6;
        got += int(n);
    }
    long slowest = 0;
    for (long i = 0; i < count; i++) {
        while (i - slowest >= kWindow) {
            slowest = count;
            // acquire: pairs with the subscribers' release (plain loads on x86).
            for (int s = 0; s < kSubscribers; s++) {
                slowest = std::min(slowest, consumed[s].value.load(std::memory_order_acquire));
            }
        }
        hsipc_off off;
        if (hsipc_alloc(r, 64, &off)) return 3;
        static_cast<long*>(hsipc_ptr(r, off))[0] = i;
        uint32_t delivered = 0;
        if (hsipc_publish(self, topic, off, 64, &delivered, nullptr) || delivered != kSubscribers) return 4;
    }
    for (pid_t pid : subscribers) {
        int status;
        if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return 5;
    }
    hsipc_detach(r);
    hsipc_unlink(name);
    return 0;
}

// --child=pressure NAME COUNT: a live process holds every buffer (a pool
// of 1,024), and this one fails COUNT allocations; then the holder is
// killed and an alloc loop must get a buffer within a second.
HSIPC_CHILD(pressure) {
    if (args.size() != 2) return 100;
    const char* name = args[0].c_str();
    const long count = std::stol(args[1]);
    hsipc_config cfg = hsipc_test::small_config(1024, 1, 8, 4);
    cfg.pool_count = 1;
    hsipc_region* r;
    if (hsipc_attach(name, &cfg, &r)) return 1;
    int ready[2];
    if (pipe(ready) != 0) return 2;
    pid_t holder = fork();
    if (holder == 0) {
        hsipc_region* c;
        if (hsipc_attach(name, nullptr, &c)) _exit(1);
        hsipc_off off;
        while (hsipc_alloc(c, 1, &off) == HSIPC_OK) {
        }
        (void)!write(ready[1], "r", 1);
        pause();
        _exit(0);
    }
    char c;
    if (read(ready[0], &c, 1) != 1) return 3;
    hsipc_off off;
    for (long i = 0; i < count; i++) {
        if (hsipc_alloc(r, 64, &off) != HSIPC_ENOMEM) return 4;
    }
    kill(holder, SIGKILL);
    waitpid(holder, nullptr, 0);
    int rc = HSIPC_ENOMEM;
    for (int i = 0; i < 1000 && (rc = hsipc_alloc(r, 64, &off)) == HSIPC_ENOMEM; i++) usleep(1000);
    if (rc != HSIPC_OK) return 5;
    hsipc_detach(r);
    hsipc_unlink(name);
    return 0;
}

// Runs `child` (pingpong, stream, publish or pressure) for `messages` under `strace -f -c` and
// returns the total count of system calls, or -1.
long traced_syscalls(const char* child, long messages) {
    hsipc_test::ScopedName name("syscalls");
    std::string out = "/tmp/" + hsipc_test::unique_name("strace") + ".txt";
    std::string cmd = "strace -f -c -o " + out + " /proc/" + std::to_string(getpid()) + "/exe --child=" + child +
                      " " + name.c_str() + " " + std::to_string(messages) + " >/dev/null 2>&1";
    int rc = std::system(cmd.c_str());
    std::ifstream in(out);
    std::string line;
    long total = -1;
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::vector<std::string> f;
        for (std::string w; fields >> w;) f.push_back(w);
        // "100.00  0.001  3  123  4  total": calls is the 4th column.
        if (!f.empty() && f.back() == "total" && f.size() >= 5) total = std::stol(f[3]);
    }
    std::remove(out.c_str());
    return rc == 0 ? total : -1;
}

TEST(Syscalls, PolledRoundTripsMakeNoSystemCalls) {
    if (std::system("strace -V >/dev/null 2>&1") != 0) GTEST_SKIP() << "strace is not installed (apt-get install strace)";
    long few = traced_syscalls("pingpong", 1000);
    long many = traced_syscalls("pingpong", 100000);
    ASSERT_GT(few, 0) << "strace run failed";
    ASSERT_GT(many, 0) << "strace run failed";
    std::printf("system calls: %ld for 1,000 round trips, %ld for 100,000\n", few, many);
    // Start-up and tear-down make the same calls either way (give or take
    // a few sleeps while waiting for the partner); 99,000 more round trips
    // would add at least 198,000 if sends or polls made any.
    EXPECT_LT(many, few + 200) << "system calls grow with the number of messages";
}

TEST(Syscalls, StreamedBatchesMakeNoSystemCalls) {
    if (std::system("strace -V >/dev/null 2>&1") != 0) GTEST_SKIP() << "strace is not installed (apt-get install strace)";
    long few = traced_syscalls("stream", 1000);
    long many = traced_syscalls("stream", 100000);
    ASSERT_GT(few, 0) << "strace run failed";
    ASSERT_GT(many, 0) << "strace run failed";
    std::printf("system calls: %ld streaming 1,000 messages, %ld streaming 100,000\n", few, many);
    EXPECT_LT(many, few + 200) << "system calls grow with the number of messages";
}

// Topics: publishing and polling published messages (shared buffers, each
// subscriber's release, the last one freeing the buffer) make no system
// call either, whatever the number of messages.
TEST(Syscalls, PublishedMessagesPolledMakeNoSystemCalls) {
    if (std::system("strace -V >/dev/null 2>&1") != 0) GTEST_SKIP() << "strace is not installed (apt-get install strace)";
    long few = traced_syscalls("publish", 1000);
    long many = traced_syscalls("publish", 100000);
    ASSERT_GT(few, 0) << "strace run failed";
    ASSERT_GT(many, 0) << "strace run failed";
    std::printf("system calls: %ld publishing 1,000 messages to 3 subscribers, %ld publishing 100,000\n", few, many);
    // 99,000 more messages, each polled by three processes: a system call
    // per publish or per poll would add at least 99,000.
    EXPECT_LT(many, few + 200) << "system calls grow with the number of messages";
}

}  // namespace

namespace {

// Back-pressure: a producer spinning on HSIPC_ENOMEM while a live consumer
// holds the pool must not hammer the kernel (each failure used to reap: the
// region lock and a check per process), and still gets a buffer soon after
// a holder dies.
TEST(Syscalls, FailedAllocsUnderBackPressureMakeFewSystemCalls) {
    if (std::system("strace -V >/dev/null 2>&1") != 0) GTEST_SKIP() << "strace is not installed (apt-get install strace)";
    long few = traced_syscalls("pressure", 1000);
    long many = traced_syscalls("pressure", 100000);
    ASSERT_GT(few, 0) << "strace run failed (or no buffer after the holder died)";
    ASSERT_GT(many, 0) << "strace run failed (or no buffer after the holder died)";
    std::printf("system calls: %ld for 1,000 failed allocs, %ld for 100,000 (%.4f per failure)\n", few, many,
                double(many - few) / 99000.0);
    EXPECT_LT(many - few, 990) << "more than 0.01 system calls per failed alloc";
}

}  // namespace
