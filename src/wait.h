// SPDX-License-Identifier: MIT
// Waiting for a message: spin briefly, then sleep on the endpoint's futex
// word in the region. The sender pays a system call only when it sees the
// receiver announced that it sleeps.
#pragma once

#include <atomic>
#include <cerrno>
#include <cstdint>

#include "hsipc.h"
#include "os.h"
#include "step.h"

namespace hsipc {

// How a receiver waits, in its endpoint slot's `sleeping` word. One thread
// receives per endpoint, and it waits one way at a time: a poll disarms the
// fd before it might sleep (event_fd.h).
enum ReceiverWait : uint32_t {
    kReceiverAwake = 0,
    kReceiverSleeps = 1,  // in FUTEX_WAIT on the word, or about to be
    kReceiverArmed = 2,   // waiting on its fd (hsipc_endpoint_arm), or about to
};

// A waiting receiver spins up to its endpoint's spin_ns (kDefaultSpinNs,
// region.h) before it sleeps. After the first few microseconds it yields the
// CPU between looks, in case the sender is waiting for this very CPU (both
// pinned to one, or a busy machine).
constexpr int64_t kBusySpinNs = 5'000;

// A sender that dies between publishing and waking leaves us asleep with a
// message queued, and nothing in the kernel tells us of its death. So a
// sleep is cut into slices, and we look again after each: the first after
// 1 ms (a sender killed mid-send is most likely just then), doubling to
// kMaxSleepSliceNs, which bounds how long such a message waits and costs an
// idle receiver a few wake-ups a second. Live senders wake us at once, so
// the slices cost nothing while messages flow.
constexpr int64_t kFirstSleepSliceNs = 1'000'000;
constexpr int64_t kMaxSleepSliceNs = 64'000'000;

// Calls try_once() until it returns other than HSIPC_EAGAIN or timeout_ns
// (> 0, or HSIPC_FOREVER) passes, spinning up to spin_ns before it sleeps.
// try_once() must be cheap and must not block. Returns its last result,
// HSIPC_EINTR where a signal handler ran while it slept (as read and poll
// do, so a daemon's stop flag is seen), or HSIPC_ESYS for a failed futex
// call.
template <class TryOnce>
int wait_until(std::atomic<uint32_t>& sleeping, int64_t timeout_ns, int64_t spin_ns, TryOnce try_once) {
    const int64_t start = os::monotonic_ns();
    const int64_t deadline = timeout_ns == HSIPC_FOREVER ? -1 : start + timeout_ns;
    // On one CPU the sender cannot run while we spin: go straight to sleep.
    if (os::online_cpus() <= 1) spin_ns = 0;
    const int64_t spin_until =
        deadline >= 0 && deadline - start < spin_ns ? deadline : (spin_ns < INT64_MAX - start ? start + spin_ns : INT64_MAX);
    const int64_t busy_until = start + kBusySpinNs;
    int rc;
    for (uint32_t i = 1; spin_ns > 0; i++) {
        rc = try_once();
        if (rc != HSIPC_EAGAIN) return rc;
        if ((i & 63) != 0) {
            os::cpu_relax();
            continue;
        }
        const int64_t now = os::monotonic_ns();
        if (now >= spin_until) break;
        if (now >= busy_until) os::yield_cpu();
    }
    int64_t slice_ns = kFirstSleepSliceNs;
    for (;;) {
        // Announce the sleep, then look once more: a sender publishes then
        // reads `sleeping`, we store `sleeping` then read the inbox; with
        // both seq_cst at least one of us sees the other's write, so a
        // message cannot slip by unseen.
        sleeping.store(kReceiverSleeps, std::memory_order_seq_cst);
        step(Step::kSleepAnnounced);
        rc = try_once();
        if (rc != HSIPC_EAGAIN) break;
        const int64_t now = os::monotonic_ns();
        if (deadline >= 0 && now >= deadline) break;
        const int64_t slice_end = deadline >= 0 && deadline - now < slice_ns ? deadline : now + slice_ns;
        if (slice_ns < kMaxSleepSliceNs) slice_ns *= 2;
        int err = os::futex_wait(reinterpret_cast<const uint32_t*>(&sleeping), kReceiverSleeps, slice_end);
        if (err == EINTR) {
            // A handler ran (a wait with a timeout is never restarted, with
            // or without SA_RESTART). A message that came meanwhile wins.
            rc = try_once();
            if (rc == HSIPC_EAGAIN) rc = HSIPC_EINTR;
            break;
        }
        if (err != 0 && err != ETIMEDOUT && err != EAGAIN) {
            sleeping.store(kReceiverAwake, std::memory_order_relaxed);
            errno = err;
            return HSIPC_ESYS;
        }
    }
    sleeping.store(kReceiverAwake, std::memory_order_relaxed);
    return rc;
}

// Calls ready() until it returns true or the CLOCK_MONOTONIC deadline (ns)
// passes, pausing the CPU between looks: no system call, no sleep. Returns
// ready()'s last result.
template <class Ready>
bool spin_until(int64_t deadline_ns, Ready ready) {
    for (uint32_t i = 1;; i++) {
        if (ready()) return true;
        if ((i & 63) == 0 && os::monotonic_ns() >= deadline_ns) return false;
        os::cpu_relax();
    }
}

// Sender side, right after a successful publish: wakes a receiver asleep
// in a poll, and returns kReceiverArmed where it waits on its fd instead
// (the caller signals that: event_fd.h).
inline uint32_t wake_if_sleeping(std::atomic<uint32_t>& sleeping) {
    // Reading first keeps the line shared while the receiver is awake; the
    // exchange makes only one of many senders pay for the wake (a burst to
    // an armed receiver costs one wake-up, not one per message).
    if (sleeping.load(std::memory_order_seq_cst) == kReceiverAwake) return kReceiverAwake;
    const uint32_t was = sleeping.exchange(kReceiverAwake, std::memory_order_seq_cst);
    if (was == kReceiverSleeps) os::futex_wake_one(reinterpret_cast<uint32_t*>(&sleeping));
    return was;
}

}  // namespace hsipc
