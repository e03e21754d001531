// SPDX-License-Identifier: MIT
// What every process of a case uses: the barrier, waiting, the clocks.
#include <sched.h>
#include <time.h>

#include <string>

#include "../util.h"
#include "pubsub.h"

namespace bench::pubsub {

void Barrier::wait(uint32_t phase) {
    // acq_rel: what a process set up before arriving (the raw ring's
    // mapping, an endpoint) is visible to the others once they see the count.
    arrived_->fetch_add(1, std::memory_order_acq_rel);
    const int64_t deadline = now_ns() + 30'000'000'000;
    while (arrived_->load(std::memory_order_acquire) < processes_ * phase) {
        if (now_ns() > deadline) throw Error("a peer did not reach phase " + std::to_string(phase) + " within 30 s");
        // Not a hot path: sleep rather than take a peer's CPU.
        timespec ts = {0, 20'000};
        nanosleep(&ts, nullptr);
    }
}

void idle(const Spec& s) {
    if (s.yield_when_idle) {
        sched_yield();
    } else {
        spin_pause();
    }
}

int64_t thread_cpu_ns() {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

void CpuSeen::sample() {
    // The vDSO's getcpu (or the kernel's rseq area): no system call.
    const int cpu = sched_getcpu();
    if (cpu >= 0 && cpu < kMaxCpus) count[cpu]++;
}

}  // namespace bench::pubsub
