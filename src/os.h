// SPDX-License-Identifier: MIT
// The operating system behind one interface: shared memory objects, mapping,
// kernel-held byte locks, futexes and clocks. Nothing else in the core
// includes a system header. Functions return 0 or an errno value and leave
// errno alone on success.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace hsipc::os {

// ---- Shared memory objects ----------------------------------------------
std::string shm_path(const char* object_name);  // "/dev/shm/" + name

struct FileInfo {
    bool regular;
    uint64_t size;
    uint32_t uid;
    uint32_t gid;
    uint32_t mode;  // permission bits
    uint64_t dev;
    uint64_t ino;
};

// Opens an existing object read-write without following a symlink (ELOOP).
int open_object(const std::string& path, int* fd);
int stat_fd(int fd, FileInfo* info);
// True where the mode bits of `info` grant this process's effective
// credentials read and write (the owner class where it owns the file).
bool mode_grants_rw(const FileInfo& info);
// An unnamed object in the shm directory with exactly `mode` (umask does not
// apply) and `size` bytes reserved, so touching them cannot SIGBUS later.
int create_unnamed_object(uint32_t mode, uint64_t size, int* fd);
// Gives the unnamed object `fd` the name `path`; EEXIST where it has one.
int publish_object(int fd, const std::string& path);
int unlink_object(const std::string& path);
void close_fd(int fd);

// ---- Mapping ---------------------------------------------------------------
int map_shared(int fd, uint64_t size, void** addr);
void unmap(void* addr, uint64_t size);

// ---- Kernel-held byte locks (open file description locks) ------------------
// Held per open file description, dropped by the kernel when the last
// descriptor of it closes, including at process death.
int try_lock_byte(int fd, uint64_t byte);  // 0, or EAGAIN when held elsewhere
void unlock_byte(int fd, uint64_t byte);
// *held: whether another open file description holds the byte.
int byte_locked_elsewhere(int fd, uint64_t byte, bool* held);

// ---- Futex on a word in shared memory (never FUTEX_PRIVATE_FLAG) -----------
// Sleeps while *word == expected, until woken or the CLOCK_MONOTONIC
// deadline (ns; < 0 means none). Returns 0, ETIMEDOUT, EAGAIN or EINTR.
int futex_wait(const uint32_t* word, uint32_t expected, int64_t deadline_ns);
void futex_wake_one(uint32_t* word);
void futex_wake_all(uint32_t* word);

// ---- Wake sockets (os_socket.cc) ------------------------------------------
// Unix datagram sockets named in the shm directory: a datagram makes the
// bound socket readable, which is how a sender wakes a receiver waiting in
// epoll. Connecting or sending to one needs write permission on its file.

// A non-blocking socket bound at `path`, whose file has exactly `mode` and
// group `gid` from the moment it has that name (it is made in a fresh
// directory from mkdtemp template `private_dir_template`, then moved).
// EEXIST where a live socket has the name.
int bind_wake_socket(const std::string& path, const std::string& private_dir_template, uint32_t mode, uint32_t gid,
                     int* fd);
// An unbound non-blocking socket to send wake-ups from.
int open_wake_sender(int* fd);
// One datagram to the socket bound at `path`; never blocks. 0, or an errno
// value: EAGAIN (its queue is full, so it is readable already),
// ECONNREFUSED or ENOENT (no one bound there), EACCES.
int send_wake(int sender_fd, const char* path);
// Reads and discards what is queued on a bound socket; never blocks.
void drain_wake_socket(int fd);
// Whether `path` is a socket file whose socket has closed: a dead
// process's leftover.
bool socket_abandoned(const std::string& path);

struct ShmEntry {
    std::string path;
    bool socket;
    bool directory;
};
// Entries of the shm directory whose names begin with `prefix`.
int list_shm_names(const std::string& prefix, std::vector<ShmEntry>* out);
void remove_path(const std::string& path, bool is_dir);

// ---- Clocks and small things -------------------------------------------------
int64_t monotonic_ns();  // vDSO: no system call
void sleep_ns(int64_t ns);
void yield_cpu();  // sched_yield
inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
}
// Whether the CPU has PREFETCHW (CPUID 0x80000001, ECX bit 8: every AMD
// x86-64, Intel since Broadwell); read once, when the library loads.
extern const bool kCpuHasPrefetchw;

// Starts moving the cache line at p here in a state we may write (a plain
// prefetch would fetch it shared, and the write or CAS that follows would
// stall again to take it exclusive). GCC emits PREFETCHW for
// __builtin_prefetch(p, 1) only with -mprfchw, which would make the library
// require it; older Intel CPUs get the plain prefetch instead.
inline void prefetch_for_write(const void* p) {
#if defined(__x86_64__)
    if (kCpuHasPrefetchw) {
        asm volatile("prefetchw %0" : : "m"(*static_cast<const char*>(p)));
        return;
    }
#endif
    __builtin_prefetch(p, 1);
}
int current_pid();
// CPUs online, read once: spinning for a peer is pointless on one CPU.
int online_cpus();
uint32_t effective_uid();

}  // namespace hsipc::os
