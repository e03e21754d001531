// SPDX-License-Identifier: MIT
#include "liveness.h"

#include <pthread.h>

#include <cerrno>
#include <vector>

#include "pool.h"
#include "reap.h"
#include "region_lock.h"
#include "share.h"

namespace hsipc {
namespace {

// This process's attachments, one per region object, so that all handles to
// one region share one process slot.
std::mutex g_registry_mutex;
std::vector<ProcessAttachment*>* g_registry = new std::vector<ProcessAttachment*>();  // never freed: used at exit
std::once_flag g_atfork_once;

// A forked child must not keep its parent's slots alive (the inherited
// descriptor shares the parent's lock) nor reuse them: it starts afresh.
// Its copies of the parent's handles must not be used (see hsipc.h). Every
// descriptor that holds a lock is opened and closed under the registry
// mutex and is in the registry while the mutex is free, so holding the
// mutex across fork() means the child finds them all here.
void atfork_prepare() { g_registry_mutex.lock(); }
void atfork_parent() { g_registry_mutex.unlock(); }
void atfork_child() {
    for (ProcessAttachment* a : *g_registry) {
        os::close_fd(a->lock_fd);
        a->lock_fd = -1;
    }
    g_registry->clear();  // the records leak in the child, deliberately
    g_registry_mutex.unlock();
}

// Claims a free process slot: the kernel lock on its byte decides which
// process gets it; the region lock orders the bookkeeping.
int claim_process_slot(Region& r, ProcessAttachment& a) {
    // Pass 0 prefers free slots, so attaching (say, `hsipc stat`) does not
    // reclaim a dead process's slot while free ones remain; pass 1 takes
    // any slot whose process died; pass 2 follows a reap.
    for (int pass = 0; pass < 3; pass++) {
        for (uint32_t i = 0; i < r.process_slots(); i++) {
            if (pass == 0 && r.process_slot(i).state.load(std::memory_order_relaxed) != kProcessFree) continue;
            int err = os::try_lock_byte(a.lock_fd, kProcessLockByte0 + i);
            if (err == EAGAIN) continue;
            if (err != 0) {
                errno = err;
                return HSIPC_ESYS;
            }
            RegionLock lock(r);
            if (lock.status() != HSIPC_OK) {
                os::unlock_byte(a.lock_fd, kProcessLockByte0 + i);
                return lock.status();
            }
            ProcessSlot& s = r.process_slot(i);
            // Still marked live: its process died unreaped. Our lock on its
            // byte makes it look dead to reap_locked, which reclaims it.
            if (s.state.load(std::memory_order_relaxed) != kProcessFree) reap_locked(r);
            uint32_t gen = s.gen.load(std::memory_order_relaxed) + 1;
            if (gen == 0) gen = 1;
            s.gen.store(gen, std::memory_order_relaxed);
            s.pid.store(os::current_pid(), std::memory_order_relaxed);
            s.state.store(kProcessLive, std::memory_order_release);
            a.slot = i;
            a.gen = gen;
            return HSIPC_OK;
        }
        // Every slot is locked: only reaping can free one, and only if a
        // slot's process died; the kernel then already dropped its lock,
        // so one more pass is all that can help.
        if (pass == 1) (void)reap(r);
    }
    return HSIPC_ENOMEM;
}

void join(Region& r, ProcessAttachment* a) {
    r.process = a;
    r.held_word = owner_word(kOwnerHeld, a->slot, a->gen);
    r.quota = r.layout.config.max_buffers_per_process;
    r.held_count = &a->held_count;
}

}  // namespace

int attach_process(Region& r, const std::string& path, const os::FileInfo& mapped) {
    std::call_once(g_atfork_once, [] { pthread_atfork(atfork_prepare, atfork_parent, atfork_child); });
    std::lock_guard<std::mutex> guard(g_registry_mutex);
    for (ProcessAttachment* a : *g_registry) {
        // Our lock descriptor keeps this inode alive, so its number cannot
        // have been reused: the same numbers are the same object.
        if (a->dev == mapped.dev && a->ino == mapped.ino) {
            a->handles++;
            join(r, a);
            return HSIPC_OK;
        }
    }
    // The lock descriptor is a new open file description, opened under the
    // mutex atfork_prepare takes, so that no fork() falls between its open
    // and its registration. It is opened by name, so it must be checked to
    // be the object the caller validated and mapped.
    int fd;
    int err = os::open_object(path, &fd);
    if (err == ENOENT || err == ELOOP) return kObjectReplaced;
    os::FileInfo info;
    if (err == 0) {
        err = os::stat_fd(fd, &info);
        if (err != 0) os::close_fd(fd);
    }
    if (err != 0) {
        errno = err;
        return err == EACCES || err == EPERM ? HSIPC_EPERM : HSIPC_ESYS;
    }
    if (info.dev != mapped.dev || info.ino != mapped.ino) {
        os::close_fd(fd);
        return kObjectReplaced;
    }
    auto* a = new (std::nothrow) ProcessAttachment();
    if (!a) {
        os::close_fd(fd);
        return HSIPC_ENOMEM;
    }
    a->dev = info.dev;
    a->ino = info.ino;
    a->lock_fd = fd;
    r.process = a;
    int rc;
    try {
        g_registry->reserve(g_registry->size() + 1);
        rc = claim_process_slot(r, *a);
    } catch (...) {
        rc = HSIPC_ENOMEM;
    }
    if (rc != HSIPC_OK) {
        int saved = errno;
        os::close_fd(fd);  // drops any byte lock taken
        delete a;
        r.process = nullptr;
        errno = saved;
        return rc;
    }
    a->handles = 1;
    join(r, a);
    g_registry->push_back(a);
    return HSIPC_OK;
}

void detach_process(Region& r) {
    ProcessAttachment* a = r.process;
    if (!a) return;
    std::lock_guard<std::mutex> guard(g_registry_mutex);
    if (--a->handles > 0) return;
    // The last handle: give back what the process still holds, then the
    // slot. Were we to die half-way, the reaper would finish this.
    for (uint32_t b = 0; b < r.layout.total_buffers; b++) buffer_free_if(r, b, r.held_word);
    // And our references to shared buffers: once the slot is free below,
    // no reap finds a held word of ours, so one left here would leak the
    // buffer for the region's life (the detach test in topic_test.cc).
    share_drop_all_held(r);
    {
        RegionLock lock(r);
        ProcessSlot& s = r.process_slot(a->slot);
        if (lock.status() == HSIPC_OK && s.gen.load(std::memory_order_relaxed) == a->gen) {
            s.state.store(kProcessFree, std::memory_order_release);
        }
    }
    for (size_t i = 0; i < g_registry->size(); i++) {
        if ((*g_registry)[i] == a) {
            (*g_registry)[i] = g_registry->back();
            g_registry->pop_back();
            break;
        }
    }
    os::close_fd(a->lock_fd);  // releases the slot's kernel lock
    delete a;
    r.process = nullptr;
}

bool process_alive(Region& r, uint32_t slot, uint32_t gen) {
    if (slot >= r.process_slots()) return false;
    ProcessSlot& s = r.process_slot(slot);
    if (s.state.load(std::memory_order_acquire) != kProcessLive || s.gen.load(std::memory_order_relaxed) != gen) {
        return false;
    }
    if (slot == r.process->slot) return gen == r.process->gen;
    bool held = true;  // on error, assume alive: never reclaim from the living
    os::byte_locked_elsewhere(r.process->lock_fd, kProcessLockByte0 + slot, &held);
    return held;
}

}  // namespace hsipc
