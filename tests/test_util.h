// SPDX-License-Identifier: MIT
// Shared helpers for the tests: status-aware assertions, unique region
// names, configurations, and children (forked or re-executed).
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <string>
#include <vector>

#include "hsipc.h"

// Compares statuses and prints both as sentences on failure; streamable
// like any GoogleTest assertion.
#define EXPECT_STATUS(expected, actual) EXPECT_PRED_FORMAT2(::hsipc_test::status_equal, expected, actual)
#define ASSERT_STATUS(expected, actual) ASSERT_PRED_FORMAT2(::hsipc_test::status_equal, expected, actual)
#define ASSERT_OK(actual) ASSERT_STATUS(HSIPC_OK, actual)
#define EXPECT_OK(actual) EXPECT_STATUS(HSIPC_OK, actual)

namespace hsipc_test {

inline ::testing::AssertionResult status_equal(const char* expected_text, const char* actual_text, int expected,
                                               int actual) {
    if (expected == actual) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << actual_text << " returned " << actual << " (" << hsipc_strerror(actual)
                                         << "), expected " << expected_text << " = " << expected << " ("
                                         << hsipc_strerror(expected) << ")";
}

// A region name no other test (or concurrent test run) uses.
std::string unique_name(const char* tag);

// A small configuration: pools of 64 B x small_count and 4 KiB x large_count.
hsipc_config small_config(uint32_t small_count = 16, uint32_t large_count = 4, uint32_t inbox_capacity = 8,
                          uint32_t max_endpoints = 8);

// Unlinks the region at scope exit, so a failing test leaves nothing in /dev/shm.
class ScopedName {
public:
    explicit ScopedName(const char* tag) : name_(unique_name(tag)) { hsipc_unlink(name_.c_str()); }
    ~ScopedName() { hsipc_unlink(name_.c_str()); }
    const char* c_str() const { return name_.c_str(); }
    std::string path() const { return "/dev/shm/hsipc." + name_; }

private:
    std::string name_;
};

// Forks a child that runs body() and _exits with its return value.
pid_t fork_child(const std::function<int()>& body);
// Starts this test binary again as `--child=NAME args...` (see test_main.cc).
pid_t spawn_child(const std::string& name, const std::vector<std::string>& args);
// Waits for pid; returns its exit status, or 128 + signal, or -1 after
// timeout_s (the child is then killed).
int wait_child(pid_t pid, int timeout_s = 60);

// Retries hsipc_lookup until the endpoint exists (or ~10 s pass).
int lookup_wait(hsipc_region* r, const char* name, hsipc_id* id);

// Children run by spawn_child register themselves with this macro:
// HSIPC_CHILD(name) { ... return exit_code; }  (argv holds the extra args)
using ChildMain = int (*)(const std::vector<std::string>& args);
bool register_child(const char* name, ChildMain fn);
#define HSIPC_CHILD(name)                                                          \
    static int child_##name(const std::vector<std::string>& args);                 \
    static const bool child_registered_##name = ::hsipc_test::register_child(#name, child_##name); \
    static int child_##name(const std::vector<std::string>& args)

// Count of buffers free right now, found by allocating until ENOMEM and
// releasing them all again.
int count_free_buffers(hsipc_region* r, size_t size);

}  // namespace hsipc_test
