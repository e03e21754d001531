// SPDX-License-Identifier: MIT
// Small helpers every part of the benchmark uses: errors, clocks, spinning.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace bench {

// Any failure: a system call, a library status, a wrong message. A child
// catches it at the top, hands its text to the coordinator and exits
// non-zero; the coordinator kills the peer and reports the case as failed.
struct Error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// The mechanism cannot run this case here (not installed, a kernel limit, a
// daemon without the right configuration): reported as "n/a" with the reason,
// which is not a failure.
struct Unavailable : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Throws Error("what: strerror(errno)").
[[noreturn]] void throw_errno(const std::string& what);

// For calls that return 0 on success and -1 with errno otherwise.
inline void check_sys(int rc, const char* what) {
    if (rc != 0) throw_errno(what);
}

int64_t now_ns();  // CLOCK_MONOTONIC, comparable across processes

// One step of a busy wait. On a machine with one CPU the peer cannot run
// while we spin, so it yields instead.
void spin_pause();

// "64 B", "4 KiB", "1 MiB".
std::string format_size(uint64_t bytes);

// Parses "64", "4K", "4KiB", "1M"; false on garbage.
bool parse_size(const std::string& text, uint64_t* out);

}  // namespace bench
