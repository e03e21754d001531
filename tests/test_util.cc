// SPDX-License-Identifier: MIT
#include "test_util.h"

#include <poll.h>
#include <time.h>

#include <atomic>
#include <map>

namespace hsipc_test {

std::string unique_name(const char* tag) {
    static std::atomic<int> counter{0};
    return std::string("t-") + std::to_string(getpid()) + "-" + std::to_string(counter++) + "-" + tag;
}

hsipc_config small_config(uint32_t small_count, uint32_t large_count, uint32_t inbox_capacity,
                          uint32_t max_endpoints) {
    hsipc_config cfg;
    hsipc_config_init(&cfg);
    cfg.max_endpoints = max_endpoints;
    cfg.inbox_capacity = inbox_capacity;
    cfg.pool_count = 2;
    cfg.pools[0] = {64, small_count, 0};
    cfg.pools[1] = {4096, large_count, 0};
    return cfg;
}

pid_t fork_child(const std::function<int()>& body) {
    fflush(nullptr);
    pid_t pid = fork();
    if (pid == 0) {
        int rc = 99;
        try {
            rc = body();
        } catch (...) {
        }
        _exit(rc);
    }
    return pid;
}

pid_t spawn_child(const std::string& name, const std::vector<std::string>& args) {
    std::vector<std::string> argv_strings = {"/proc/self/exe", "--child=" + name};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& s : argv_strings) argv.push_back(s.data());
    argv.push_back(nullptr);
    fflush(nullptr);
    pid_t pid = fork();
    if (pid == 0) {
        execv("/proc/self/exe", argv.data());
        _exit(127);
    }
    return pid;
}

int wait_child(pid_t pid, int timeout_s) {
    for (int waited_ms = 0; waited_ms < timeout_s * 1000; waited_ms += 5) {
        int status;
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            if (WIFEXITED(status)) return WEXITSTATUS(status);
            if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
            return -1;
        }
        if (r < 0) return -1;
        usleep(5000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    return -1;
}

int lookup_wait(hsipc_region* r, const char* name, hsipc_id* id) {
    int rc = HSIPC_ENOENT;
    for (int i = 0; i < 10000 && rc == HSIPC_ENOENT; i++) {
        rc = hsipc_lookup(r, name, id);
        if (rc == HSIPC_ENOENT) usleep(1000);
    }
    return rc;
}

static std::map<std::string, ChildMain>& children() {
    static std::map<std::string, ChildMain> m;
    return m;
}

bool register_child(const char* name, ChildMain fn) {
    children()[name] = fn;
    return true;
}

int run_registered_child(const std::string& name, const std::vector<std::string>& args) {
    auto it = children().find(name);
    if (it == children().end()) return 126;
    return it->second(args);
}

int count_free_buffers(hsipc_region* r, size_t size) {
    std::vector<hsipc_off> offs;
    hsipc_off off;
    while (hsipc_alloc(r, size, &off) == HSIPC_OK) offs.push_back(off);
    for (hsipc_off o : offs) hsipc_release(r, o);
    return int(offs.size());
}

}  // namespace hsipc_test
