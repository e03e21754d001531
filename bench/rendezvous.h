// SPDX-License-Identifier: MIT
// A two-process barrier in memory shared by the children of one case: the
// phases of driver.h (both ends open, both connected, both done) must not
// overlap between the two processes.
#pragma once

#include <atomic>
#include <cstdint>

namespace bench {

class Rendezvous {
public:
    explicit Rendezvous(std::atomic<uint32_t>* arrived) : arrived_(arrived) {}
    // Returns once both processes called wait(phase) (phases 1, 2, 3, ...).
    // Throws Error after 30 s: the peer is stuck or gone.
    void wait(uint32_t phase);

private:
    std::atomic<uint32_t>* arrived_;
};

}  // namespace bench
