// SPDX-License-Identifier: MIT
#include "util.h"

#include <sched.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace bench {

void throw_errno(const std::string& what) { throw Error(what + ": " + std::strerror(errno)); }

int64_t now_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

namespace {
const bool kSingleCpu = sysconf(_SC_NPROCESSORS_ONLN) < 2;
}

void spin_pause() {
    if (kSingleCpu) {
        sched_yield();
        return;
    }
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield" ::: "memory");
#endif
}

std::string format_size(uint64_t bytes) {
    static const char* const units[] = {"B", "KiB", "MiB", "GiB"};
    int u = 0;
    while (u < 3 && bytes >= 1024 && bytes % 1024 == 0) {
        bytes /= 1024;
        u++;
    }
    return std::to_string(bytes) + " " + units[u];
}

bool parse_size(const std::string& text, uint64_t* out) {
    size_t used = 0;
    unsigned long long v;
    try {
        v = std::stoull(text, &used);
    } catch (const std::exception&) {
        return false;
    }
    std::string unit = text.substr(used);
    uint64_t scale = 1;
    if (unit == "" || unit == "B") scale = 1;
    else if (unit == "K" || unit == "KiB" || unit == "k") scale = 1024;
    else if (unit == "M" || unit == "MiB") scale = 1024 * 1024;
    else return false;
    *out = uint64_t(v) * scale;
    return true;
}

}  // namespace bench
