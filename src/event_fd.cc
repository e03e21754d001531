// SPDX-License-Identifier: MIT
#include "event_fd.h"

#include <cerrno>

#include "message.h"
#include "os.h"
#include "step.h"
#include "wait.h"

namespace hsipc {
namespace {

// sun_path holds 107 bytes and a NUL. The longest name: "/dev/shm/hsipc."
// (15) + a 63-byte region name + "@" + 16 hex digits of inode + "." (96),
// then index and gen, whose bits add up to 32 (an id), so 9 hex digits
// and a "." at most: 106.
constexpr size_t kWakePathMax = 108;

// v in hex, without leading zeros; returns the digits written (<= 16).
size_t format_hex(uint64_t v, char (&out)[16]) {
    char reversed[16];
    size_t n = 0;
    do {
        reversed[n++] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v != 0);
    for (size_t i = 0; i < n; i++) out[i] = reversed[n - 1 - i];
    return n;
}

// The name of slot `index`'s socket in incarnation `gen`: a new incarnation
// never finds an old one's socket. False where it would not fit (a
// scribbled gen with an unusually long prefix).
bool wake_path(const Region& r, uint32_t index, uint32_t gen, char (&out)[kWakePathMax]) {
    const std::string& prefix = r.wake_path_prefix;
    char index_hex[16], gen_hex[16];
    const size_t index_len = format_hex(index, index_hex);
    const size_t gen_len = format_hex(gen, gen_hex);
    if (prefix.empty() || prefix.size() + index_len + 1 + gen_len >= kWakePathMax) return false;
    char* p = out;
    for (char c : prefix) *p++ = c;
    for (size_t i = 0; i < index_len; i++) *p++ = index_hex[i];
    *p++ = '.';
    for (size_t i = 0; i < gen_len; i++) *p++ = gen_hex[i];
    *p = '\0';
    return true;
}

// The handle's sending socket, made at the first wake-up it sends; -1
// where none can be made (then no wake goes out: the armed receiver finds
// the message at its next look, or the reap after our death wakes it).
int wake_sender(Region& r) {
    int fd = r.wake_sender.load(std::memory_order_acquire);
    if (fd >= 0) return fd;
    int made;
    if (os::open_wake_sender(&made) != 0) return -1;
    int expected = -1;
    if (r.wake_sender.compare_exchange_strong(expected, made, std::memory_order_acq_rel)) return made;
    os::close_fd(made);  // another thread made one first
    return expected;
}

// The slot's state word, the receiver's own view of which is authoritative.
std::atomic<uint32_t>& socket_state(Endpoint& ep) { return ep.region->endpoint_slot(ep.index).wake_socket; }

}  // namespace

std::string wake_path_prefix(const char* region_name, uint64_t object_ino) {
    char ino[16];
    const std::string ino_hex(ino, format_hex(object_ino, ino));
    return os::shm_path((std::string("hsipc.") + region_name + "@" + ino_hex + ".").c_str());
}

int endpoint_fd(Endpoint& ep, int* fd) {
    int existing = ep.wake_fd.load(std::memory_order_acquire);
    if (existing >= 0) {
        *fd = existing;
        return HSIPC_OK;
    }
    Region& r = *ep.region;
    std::lock_guard<std::mutex> guard(r.endpoints_mutex);
    existing = ep.wake_fd.load(std::memory_order_relaxed);
    if (existing >= 0) {
        *fd = existing;
        return HSIPC_OK;
    }
    char path[kWakePathMax];
    if (!wake_path(r, ep.index, ep.gen, path)) return HSIPC_EINVAL;
    // Marked before the socket has a name, so a reaper that finds us dead
    // at any point after removes the name (where there is none, nothing).
    socket_state(ep).store(kWakeSocketBound, std::memory_order_seq_cst);
    // Private directories in the region's name, so hsipc_unlink finds one a
    // process died in.
    const std::string dir_template = r.wake_path_prefix.substr(0, r.wake_path_prefix.rfind('@') + 1) + "XXXXXX";
    // Only the permission bits that matter for a socket: write to send.
    const uint32_t mode = r.object_mode & 0666;
    int made;
    int err = os::bind_wake_socket(path, dir_template, mode, r.object_gid, &made);
    if (err != 0) {
        switch (err) {
            case EACCES: case EPERM: return HSIPC_EPERM;
            case EMFILE: case ENFILE: case ENOBUFS: case ENOMEM: case ENOSPC: return HSIPC_ENOMEM;
            default:
                errno = err;
                return HSIPC_ESYS;
        }
    }
    ep.wake_fd.store(made, std::memory_order_release);
    *fd = made;
    return HSIPC_OK;
}

int endpoint_arm(Endpoint& ep) {
    int fd;
    int rc = endpoint_fd(ep, &fd);
    if (rc != HSIPC_OK) return rc;
    // Readiness left from earlier wake-ups goes first: a level-triggered
    // fd that stays readable would turn the caller's loop into a spin.
    os::drain_wake_socket(fd);
    if (message_waiting(ep)) return 1;
    EndpointSlot& slot = ep.region->endpoint_slot(ep.index);
    socket_state(ep).store(kWakeSocketBound | kWakeSocketArmed, std::memory_order_seq_cst);
    ep.armed = true;
    // As a poll's sleep (wait.h): announce, then look once more. A sender
    // publishes, then reads `sleeping`; with both seq_cst one of us sees the
    // other's write, so a message cannot slip in unseen.
    slot.sleeping.store(kReceiverArmed, std::memory_order_seq_cst);
    step(Step::kSleepAnnounced);
    if (message_waiting(ep)) {
        endpoint_disarm(ep);
        return 1;
    }
    return HSIPC_OK;
}

void endpoint_disarm(Endpoint& ep) {
    ep.armed = false;
    EndpointSlot& slot = ep.region->endpoint_slot(ep.index);
    socket_state(ep).store(kWakeSocketBound, std::memory_order_relaxed);
    uint32_t expected = kReceiverArmed;
    if (slot.sleeping.compare_exchange_strong(expected, kReceiverAwake, std::memory_order_seq_cst)) return;
    // A sender found us armed: its datagram is here or on its way. Take
    // what is here, so the poll that brought us leaves the fd unreadable; a
    // datagram that arrives later makes one spurious wake-up, which the
    // next arm clears.
    const int fd = ep.wake_fd.load(std::memory_order_relaxed);
    if (fd >= 0) os::drain_wake_socket(fd);
}

void signal_wake_socket(Region& r, uint32_t index) {
    // The incarnation that armed, not the one the sender sent to: a sender
    // whose message went to an endpoint closed since (swept, or withdrawn)
    // may take the flag of the receiver that reopened it, and must then
    // wake that one, or no one would. It read the flag with an exchange,
    // which acquired the arming store, made after the new gen was stored.
    const uint32_t gen = r.endpoint_slot(index).gen.load(std::memory_order_relaxed);
    char path[kWakePathMax];
    const int fd = wake_sender(r);
    if (fd < 0 || !wake_path(r, index, gen, path)) return;
    // Errors change nothing for the sender: the message is delivered. A
    // full queue means the fd is readable already; a refused or missing
    // socket, that its receiver closed or died.
    (void)os::send_wake(fd, path);
}

void close_endpoint_fd(Endpoint& ep) {
    const int fd = ep.wake_fd.exchange(-1, std::memory_order_acq_rel);
    os::close_fd(fd);
}

void remove_wake_socket_locked(Region& r, uint32_t index, uint32_t gen) {
    EndpointSlot& slot = r.endpoint_slot(index);
    if ((slot.wake_socket.exchange(0, std::memory_order_relaxed) & kWakeSocketBound) == 0) return;
    char path[kWakePathMax];
    if (wake_path(r, index, gen, path)) (void)os::unlink_object(path);
}

void wake_waiting_receivers(Region& r) {
    for (uint32_t i = 0; i < r.max_endpoints(); i++) {
        EndpointSlot& slot = r.endpoint_slot(i);
        if (slot.state.load(std::memory_order_acquire) != kEndpointOpen) continue;
        // A dead sender may have taken `sleeping` and died before its
        // wake: the armed bit, which only the receiver clears, says who waits.
        if (wake_if_sleeping(slot.sleeping) == kReceiverArmed ||
            (slot.wake_socket.load(std::memory_order_seq_cst) & kWakeSocketArmed) != 0) {
            signal_wake_socket(r, i);
        }
    }
}

void close_wake_sender(Region& r) { os::close_fd(r.wake_sender.exchange(-1, std::memory_order_acq_rel)); }

void remove_abandoned_wake_sockets(const char* region_name) {
    std::vector<os::ShmEntry> entries;
    const std::string prefix = std::string("hsipc.") + region_name + "@";
    if (os::list_shm_names(prefix, &entries) != 0) return;
    for (const os::ShmEntry& e : entries) {
        if (e.socket && os::socket_abandoned(e.path)) {
            os::remove_path(e.path, false);
        } else if (e.directory) {
            // A private directory (endpoint_fd) its maker died in: empty, or
            // holding an abandoned socket. A live maker's socket accepts.
            const std::string inner = e.path + "/s";
            if (os::socket_abandoned(inner)) os::remove_path(inner, false);
            os::remove_path(e.path, true);  // fails where it is not empty
        }
    }
}

}  // namespace hsipc
