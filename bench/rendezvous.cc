// SPDX-License-Identifier: MIT
#include "rendezvous.h"

#include <time.h>

#include <string>

#include "util.h"

namespace bench {

void Rendezvous::wait(uint32_t phase) {
    // acq_rel: what this process set up before arriving is visible to the
    // peer once it sees the count (e.g. the raw baseline's initial words).
    arrived_->fetch_add(1, std::memory_order_acq_rel);
    const int64_t deadline = now_ns() + 30'000'000'000;
    while (arrived_->load(std::memory_order_acquire) < 2 * phase) {
        if (now_ns() > deadline) throw Error("peer did not reach phase " + std::to_string(phase) + " within 30 s");
        // Not a hot path: sleep rather than steal the peer's CPU.
        timespec ts = {0, 20'000};
        nanosleep(&ts, nullptr);
    }
}

}  // namespace bench
