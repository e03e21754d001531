// SPDX-License-Identifier: MIT
#include "os.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

#include <climits>
#include <vector>

namespace hsipc::os {
namespace {

constexpr const char* kShmDir = "/dev/shm";

int errno_or(int fallback) { return errno != 0 ? errno : fallback; }

int lock_op(int fd, int cmd, short type, uint64_t byte, struct flock* out) {
    struct flock fl = {};
    fl.l_type = type;
    fl.l_whence = SEEK_SET;
    fl.l_start = off_t(byte);
    fl.l_len = 1;
    fl.l_pid = 0;  // required for OFD locks
    int rc;
    do {
        rc = fcntl(fd, cmd, &fl);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) return errno_or(EIO);
    if (out) *out = fl;
    return 0;
}

}  // namespace

std::string shm_path(const char* object_name) { return std::string(kShmDir) + "/" + object_name; }

int open_object(const std::string& path, int* fd) {
    int f = open(path.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (f < 0) return errno_or(EIO);
    *fd = f;
    return 0;
}

int stat_fd(int fd, FileInfo* info) {
    struct stat st;
    if (fstat(fd, &st) != 0) return errno_or(EIO);
    info->regular = S_ISREG(st.st_mode);
    info->size = st.st_size < 0 ? 0 : uint64_t(st.st_size);
    info->uid = st.st_uid;
    info->gid = st.st_gid;
    info->mode = st.st_mode & 07777;
    info->dev = st.st_dev;
    info->ino = st.st_ino;
    return 0;
}

bool mode_grants_rw(const FileInfo& info) {
    if (info.uid == geteuid()) return (info.mode & 0600) == 0600;
    bool in_group = info.gid == getegid();
    if (!in_group) {
        int n = getgroups(0, nullptr);
        if (n > 0) {
            std::vector<gid_t> groups(static_cast<size_t>(n));
            n = getgroups(n, groups.data());
            for (int i = 0; i < n; i++) in_group |= groups[size_t(i)] == info.gid;
        }
    }
    // As for file permissions, the group class decides for group members
    // even where "other" would grant more.
    if (in_group) return (info.mode & 0060) == 0060;
    return (info.mode & 0006) == 0006;
}

int create_unnamed_object(uint32_t mode, uint64_t size, int* fd) {
    int f = open(kShmDir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (f < 0) return errno_or(EIO);
    int err = 0;
    if (fchmod(f, mode_t(mode)) != 0) {
        err = errno_or(EIO);
    } else {
        err = posix_fallocate(f, 0, off_t(size));  // returns the error, not errno
    }
    if (err != 0) {
        close(f);
        return err;
    }
    *fd = f;
    return 0;
}

int publish_object(int fd, const std::string& path) {
    // linkat with AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; the /proc link
    // works for everyone.
    std::string self = "/proc/self/fd/" + std::to_string(fd);
    if (linkat(AT_FDCWD, self.c_str(), AT_FDCWD, path.c_str(), AT_SYMLINK_FOLLOW) == 0) return 0;
    int err = errno_or(EIO);
    if (err == ENOENT && linkat(fd, "", AT_FDCWD, path.c_str(), AT_EMPTY_PATH) == 0) return 0;
    return err;
}

int unlink_object(const std::string& path) { return unlink(path.c_str()) == 0 ? 0 : errno_or(EIO); }

void close_fd(int fd) {
    if (fd >= 0) close(fd);
}

int map_shared(int fd, uint64_t size, void** addr) {
    void* p = mmap(nullptr, size_t(size), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) return errno_or(EIO);
    *addr = p;
    return 0;
}

void unmap(void* addr, uint64_t size) {
    if (addr) munmap(addr, size_t(size));
}

int try_lock_byte(int fd, uint64_t byte) {
    int err = lock_op(fd, F_OFD_SETLK, F_WRLCK, byte, nullptr);
    return err == EACCES ? EAGAIN : err;
}

void unlock_byte(int fd, uint64_t byte) { lock_op(fd, F_OFD_SETLK, F_UNLCK, byte, nullptr); }

int byte_locked_elsewhere(int fd, uint64_t byte, bool* held) {
    struct flock fl;
    int err = lock_op(fd, F_OFD_GETLK, F_WRLCK, byte, &fl);
    if (err != 0) return err;
    *held = fl.l_type != F_UNLCK;
    return 0;
}

int futex_wait(const uint32_t* word, uint32_t expected, int64_t deadline_ns) {
    struct timespec ts;
    struct timespec* tsp = nullptr;
    if (deadline_ns >= 0) {
        ts.tv_sec = deadline_ns / 1000000000;
        ts.tv_nsec = deadline_ns % 1000000000;
        tsp = &ts;
    }
    // FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline, so
    // spurious wake-ups do not stretch the wait. No FUTEX_PRIVATE_FLAG: the
    // waker is another process.
    long rc = syscall(SYS_futex, word, FUTEX_WAIT_BITSET, expected, tsp, nullptr, FUTEX_BITSET_MATCH_ANY);
    return rc == 0 ? 0 : errno_or(EIO);
}

void futex_wake_one(uint32_t* word) { syscall(SYS_futex, word, FUTEX_WAKE, 1, nullptr, nullptr, 0); }

void futex_wake_all(uint32_t* word) { syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, nullptr, nullptr, 0); }

int64_t monotonic_ns() {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

void sleep_ns(int64_t ns) {
    struct timespec ts = {time_t(ns / 1000000000), long(ns % 1000000000)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

void yield_cpu() { sched_yield(); }

int current_pid() { return int(getpid()); }

namespace {
bool cpu_has_prefetchw() {
#if defined(__x86_64__)
    unsigned eax, ebx, ecx, edx;
    return __get_cpuid(0x80000001, &eax, &ebx, &ecx, &edx) && (ecx & bit_PRFCHW) != 0;
#else
    return false;
#endif
}
}  // namespace

const bool kCpuHasPrefetchw = cpu_has_prefetchw();

int online_cpus() {
    static const int n = [] {
        long v = sysconf(_SC_NPROCESSORS_ONLN);
        return v > 0 ? int(v) : 1;
    }();
    return n;
}
uint32_t effective_uid() { return uint32_t(geteuid()); }

}  // namespace hsipc::os
