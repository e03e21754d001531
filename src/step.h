// SPDX-License-Identifier: MIT
// Schedule perturbation for tests: a hook at each step of the shared-memory
// protocols (each atomic load, store or CAS of a region word that another
// process may race with).
//
// Lock-free protocols break in interleavings the hardware rarely produces.
// Built with -DHSIPC_STEP_HOOKS=ON (test builds only), every step calls a
// hook that a test may set to pause, yield or kill at a chosen step, and
// that HSIPC_PERTURB=1 in the environment sets to a random delay, so the
// stress tests explore schedules natural timing does not. Without the option
// step() is empty and the library is the one that ships.
#pragma once

#include <atomic>
#include <cstdint>

namespace hsipc {

// The steps tests name; the rest are kAny.
enum class Step : uint8_t {
    kAny,
    kSendChecked,    // send: destination open with the expected gen
    kSendQueued,     // send: owner word now queued, not yet published
    kSendPublished,  // send: the entry is in the inbox, the wake not yet done
    kSendWaking,     // send: took an armed receiver's flag, its datagram not yet sent
    kPublishShared,  // publish: references recorded and the buffer shared, none delivered yet
    kPushLook,       // inbox_push: about to read a ring slot
    kPushClaimed,    // inbox_push: the CAS published, the hint not yet stored
    kTakeLook,       // receive: read the entry, about to read the owner word
    kReapCandidates, // reap: candidates found, rings not yet scanned
    kReapScanned,    // reap: rings scanned, about to free unpublished buffers
    kSleepAnnounced, // wait: `sleeping` set, about to look once more
};

#ifdef HSIPC_STEP_HOOKS
// The random perturbation HSIPC_PERTURB=1 installs, for tests that want it
// regardless of the environment.
void perturb_randomly(Step s);

using StepHook = void (*)(Step);
// Set by tests; by the library itself when HSIPC_PERTURB is set at load.
extern std::atomic<StepHook> g_step_hook;
inline void step(Step s = Step::kAny) {
    // relaxed: a test sets the hook before the threads it perturbs start.
    if (StepHook hook = g_step_hook.load(std::memory_order_relaxed)) hook(s);
}
constexpr bool kStepHooks = true;
#else
inline void step(Step = Step::kAny) {}
constexpr bool kStepHooks = false;
#endif

}  // namespace hsipc
