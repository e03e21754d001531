// SPDX-License-Identifier: MIT
#include "naming.h"

#include <cerrno>
#include <cstring>

#include "event_fd.h"
#include "inbox.h"
#include "liveness.h"
#include "os.h"
#include "pool.h"
#include "reap.h"
#include "share.h"
#include "region_lock.h"
#include "step.h"
#include "topic.h"
#include "wait.h"

namespace hsipc {
namespace {

bool name_matches(const EndpointSlot& e, const char* name, size_t len) {
    // The stored name may be scribbled: compare bytes, never trust a NUL.
    return std::memcmp(e.name, name, len) == 0 && e.name[len] == '\0';
}

bool owner_alive(Region& r, const EndpointSlot& e) {
    return process_alive(r, e.owner_slot.load(std::memory_order_relaxed), e.owner_gen.load(std::memory_order_relaxed));
}

// Under the lock: the index of the open endpoint called `name`, reaping it
// first where its process is dead. -1 where there is none (after reaping).
int find_open_endpoint(Region& r, const char* name, size_t len, int* reap_status) {
    *reap_status = HSIPC_OK;
    for (uint32_t i = 0; i < r.max_endpoints(); i++) {
        EndpointSlot& e = r.endpoint_slot(i);
        if (e.state.load(std::memory_order_acquire) != kEndpointOpen || !name_matches(e, name, len)) continue;
        if (owner_alive(r, e)) return int(i);
        int reaped = reap_locked(r);
        if (reaped < 0) {
            *reap_status = reaped;
            return -1;
        }
        // Reaping closes it unless its owner is attached in a way reap_locked
        // cannot prove dead (a scribbled owner): close it ourselves then.
        if (e.state.load(std::memory_order_acquire) == kEndpointOpen) endpoint_close_locked(r, i);
    }
    return -1;
}

int free_endpoint_slot(Region& r) {
    for (uint32_t i = 0; i < r.max_endpoints(); i++) {
        if (r.endpoint_slot(i).state.load(std::memory_order_relaxed) == kEndpointFree) return int(i);
    }
    return -1;
}

}  // namespace

int endpoint_open(Region& r, const char* name, Endpoint** out) {
    if (!valid_name(name)) return HSIPC_EINVAL;
    size_t len = std::strlen(name);
    auto* ep = new (std::nothrow) Endpoint{};
    if (!ep) return HSIPC_ENOMEM;
    {
        std::lock_guard<std::mutex> handle_guard(r.endpoints_mutex);
        try {
            r.endpoints.reserve(r.endpoints.size() + 1);
        } catch (...) {
            delete ep;
            return HSIPC_ENOMEM;
        }
        RegionLock lock(r);
        if (lock.status() != HSIPC_OK) {
            delete ep;
            return lock.status();
        }
        int reap_status;
        if (find_open_endpoint(r, name, len, &reap_status) >= 0 || reap_status != HSIPC_OK) {
            delete ep;
            return reap_status != HSIPC_OK ? reap_status : HSIPC_EEXIST;
        }
        int index = free_endpoint_slot(r);
        if (index < 0 && reap_locked(r) > 0) index = free_endpoint_slot(r);
        if (index < 0) {
            delete ep;
            return HSIPC_ENOMEM;
        }
        EndpointSlot& e = r.endpoint_slot(uint32_t(index));
        // A gen outside 1..max can only be scribbled; any in-range value
        // keeps ids decodable, and the slot retires at the top as usual.
        uint32_t gen = e.gen.load(std::memory_order_relaxed);
        if (gen == 0 || gen > endpoint_gen_max(r.layout.id_index_bits)) gen = 1;
        // Opening -> open: a holder that dies between leaves "opening",
        // which repair_after_owner_death frees.
        e.state.store(kEndpointOpening, std::memory_order_relaxed);
        e.gen.store(gen, std::memory_order_relaxed);
        e.owner_slot.store(r.process->slot, std::memory_order_relaxed);
        e.owner_gen.store(r.process->gen, std::memory_order_relaxed);
        std::memset(e.name, 0, sizeof e.name);
        std::memcpy(e.name, name, len);
        e.sleeping.store(kReceiverAwake, std::memory_order_relaxed);
        e.wake_socket.store(0, std::memory_order_relaxed);
        e.tail_hint.store(tail_hint_word(gen, 0), std::memory_order_relaxed);
        inbox_reset(endpoint_inbox(r, uint32_t(index), gen));
        step();
        // release: senders that see "open" (acquire) see the reset inbox.
        e.state.store(kEndpointOpen, std::memory_order_release);
        ep->region = &r;
        ep->index = uint32_t(index);
        ep->gen = gen;
        ep->id = endpoint_id(r, uint32_t(index), gen);
        ep->head = 0;
        ep->inbox = endpoint_inbox(r, uint32_t(index), gen);
        // The region's default (validated at attach, so 0 .. kMaxSpinNs).
        ep->spin_ns.store(r.layout.config.spin_ns, std::memory_order_relaxed);
        // Someone may wait for this name (hsipc_lookup_wait). release: with
        // the endpoint's state, a woken lookup finds it open.
        r.header().names_changed.fetch_add(1, std::memory_order_release);
        os::futex_wake_all(reinterpret_cast<uint32_t*>(&r.header().names_changed));
        r.endpoints.push_back(ep);
    }
    *out = ep;
    return HSIPC_OK;
}

int endpoint_close_locked(Region& r, uint32_t index) {
    EndpointSlot& e = r.endpoint_slot(index);
    const uint32_t gen = e.gen.load(std::memory_order_relaxed);
    const hsipc_id id = endpoint_id(r, index, gen);
    e.state.store(kEndpointClosing, std::memory_order_relaxed);
    int freed = 0;
    inbox_close(endpoint_inbox(r, index, gen), [&](uint32_t content) {
        const uint32_t b = content - 1;
        if (b >= r.layout.total_buffers) return;
        // Whoever sent it: a queued word names the sender too.
        uint64_t w = r.buffer(b).owner.load(std::memory_order_relaxed);
        if (queued_to(w, id) && buffer_free_if(r, b, w)) freed++;
        // Published to a topic: only our reference goes.
        if (owner_kind(w) == kOwnerShared) freed += share_drop_queued_to(r, b, id, w);
    });
    topic_forget_endpoint_locked(r, id);
    // A new gen makes every id of the closed endpoint stale. Where none is
    // left the slot retires rather than wrap to a gen an old id carries.
    // (The gen is bumped after the sweep: a sender that sees the new gen
    // knows the sweep of the old inbox is complete; message.cc relies on it.)
    remove_wake_socket_locked(r, index, gen);
    step();
    const bool last_gen = gen >= endpoint_gen_max(r.layout.id_index_bits);
    if (!last_gen) e.gen.store(gen + 1, std::memory_order_relaxed);
    std::memset(e.name, 0, sizeof e.name);
    e.state.store(last_gen ? kEndpointRetired : kEndpointFree, std::memory_order_release);
    return freed;
}

int endpoint_close(Endpoint* ep) {
    Region& r = *ep->region;
    int rc = HSIPC_OK;
    {
        std::lock_guard<std::mutex> handle_guard(r.endpoints_mutex);
        RegionLock lock(r);
        rc = lock.status();
        EndpointSlot& e = r.endpoint_slot(ep->index);
        // Only while it is still ours: a reaper may have closed it already.
        if (rc == HSIPC_OK && e.state.load(std::memory_order_relaxed) == kEndpointOpen &&
            e.gen.load(std::memory_order_relaxed) == ep->gen) {
            endpoint_close_locked(r, ep->index);
        }
        for (size_t i = 0; i < r.endpoints.size(); i++) {
            if (r.endpoints[i] == ep) {
                r.endpoints[i] = r.endpoints.back();
                r.endpoints.pop_back();
                break;
            }
        }
    }
    close_endpoint_fd(*ep);
    delete ep;
    return rc;
}

int endpoint_lookup(Region& r, const char* name, hsipc_id* out) {
    if (!valid_name(name)) return HSIPC_EINVAL;
    RegionLock lock(r);
    if (lock.status() != HSIPC_OK) return lock.status();
    int reap_status;
    int index = find_open_endpoint(r, name, std::strlen(name), &reap_status);
    if (reap_status != HSIPC_OK) return reap_status;
    if (index < 0) return HSIPC_ENOENT;
    // Masked to the gen field: a scribbled gen still yields an id that
    // send refuses cleanly rather than one with stray bits.
    *out = endpoint_id(r, uint32_t(index),
                       r.endpoint_slot(uint32_t(index)).gen.load(std::memory_order_relaxed) &
                           endpoint_gen_max(r.layout.id_index_bits));
    return HSIPC_OK;
}

}  // namespace hsipc

namespace hsipc {

int endpoint_lookup_wait(Region& r, const char* name, int64_t timeout_ns, hsipc_id* out) {
    if (timeout_ns < 0 && timeout_ns != HSIPC_FOREVER) return HSIPC_EINVAL;
    const int64_t start = os::monotonic_ns();
    const int64_t deadline =
        timeout_ns == HSIPC_FOREVER ? -1 : (timeout_ns < INT64_MAX - start ? start + timeout_ns : INT64_MAX);
    std::atomic<uint32_t>& changed = r.header().names_changed;
    for (;;) {
        // Read before looking, so an open between the look and the sleep
        // changes the word and the sleep does not begin. acquire: pairs with
        // the opener's bump after it marked the endpoint open.
        const uint32_t seen = changed.load(std::memory_order_acquire);
        int rc = endpoint_lookup(r, name, out);
        if (rc != HSIPC_ENOENT) return rc;
        const int64_t now = os::monotonic_ns();
        if (deadline >= 0 && now >= deadline) return HSIPC_ENOENT;
        // No spinning: names appear at the pace of process start-up. Sliced
        // as a poll's sleep is, for an opener that dies between marking its
        // endpoint open and waking us.
        const int64_t slice_end = deadline >= 0 && deadline - now < kMaxSleepSliceNs ? deadline : now + kMaxSleepSliceNs;
        const int err = os::futex_wait(reinterpret_cast<const uint32_t*>(&changed), seen, slice_end);
        if (err == EINTR) {
            rc = endpoint_lookup(r, name, out);
            return rc == HSIPC_ENOENT ? HSIPC_EINTR : rc;
        }
        if (err != 0 && err != ETIMEDOUT && err != EAGAIN) {
            errno = err;
            return HSIPC_ESYS;
        }
    }
}

}  // namespace hsipc
