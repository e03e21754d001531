// SPDX-License-Identifier: MIT
// Built only with HSIPC_STEP_HOOKS (CMakeLists.txt): nothing here ships.
#include "step.h"

#include <cstdlib>

#include "os.h"

namespace hsipc {
namespace {

// xorshift64*, one state per thread, seeded from the thread's address
// space position and the clock so processes and threads differ.
uint64_t next_random() {
    thread_local uint64_t state = 0;
    if (state == 0) {
        state = uint64_t(os::monotonic_ns()) ^ (uint64_t(os::current_pid()) << 32) ^
                reinterpret_cast<uintptr_t>(&state);
        if (state == 0) state = 1;
    }
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return state * 0x2545f4914f6cdd1dull;
}

}  // namespace

void perturb_randomly(Step) {
    const uint64_t r = next_random();
    // Mostly nothing, so the protocols still run at speed and collide
    // often; now and then give the CPU away or stall for long enough that
    // every other process runs several steps meanwhile.
    switch (r % 64) {
        case 0: case 1: case 2: case 3: os::yield_cpu(); break;
        case 4: os::sleep_ns(int64_t((r >> 8) % 50'000)); break;
        case 5:
            for (uint64_t i = (r >> 8) % 2000; i > 0; i--) os::cpu_relax();
            break;
        default: break;
    }
}

namespace {
StepHook hook_from_environment() {
    const char* v = std::getenv("HSIPC_PERTURB");
    return v && *v && *v != '0' ? &perturb_randomly : nullptr;
}
}  // namespace

std::atomic<StepHook> g_step_hook{hook_from_environment()};

}  // namespace hsipc
