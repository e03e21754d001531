// SPDX-License-Identifier: MIT
// hsipc_reap_bench: what reaping costs when it matters.
//
//   reap      a sender dies with N messages queued in a live inbox; how long
//             the hsipc_reap that finds it takes (it holds the region lock,
//             which attach and endpoint_open wait for)
//   pressure  a live process holds every buffer; how fast hsipc_alloc fails
//             (each failure used to reap: the region lock and a system call
//             per process), and how long after the holder dies an alloc
//             loop gets a buffer
//
// Usage: hsipc_reap_bench [N...]   (default 65536 262144)
// Only the public API, as a user would measure it.
#include <hsipc.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

double now_s() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
}

[[noreturn]] void die(const char* what, int rc) {
    std::fprintf(stderr, "hsipc_reap_bench: %s: %s\n", what, hsipc_strerror(rc));
    std::exit(1);
}

void check(const char* what, int rc) {
    if (rc != HSIPC_OK) die(what, rc);
}

uint32_t round_up_pow2(uint32_t n) {
    uint32_t p = 1;
    while (p < n) p *= 2;
    return p;
}

std::string region_name(const char* what) { return std::string("reap-bench-") + what + "-" + std::to_string(getpid()); }

// A region with one pool of `buffers` 64-byte buffers and inboxes of `capacity`.
hsipc_region* make_region(const std::string& name, uint32_t buffers, uint32_t capacity) {
    hsipc_config cfg;
    hsipc_config_init(&cfg);
    cfg.max_endpoints = 8;
    cfg.inbox_capacity = capacity;
    cfg.pool_count = 1;
    cfg.pools[0].buffer_size = 64;
    cfg.pools[0].buffer_count = buffers;
    hsipc_unlink(name.c_str());
    hsipc_region* r;
    check("attach", hsipc_attach(name.c_str(), &cfg, &r));
    return r;
}

void bench_reap(uint32_t queued) {
    const std::string name = region_name("reap");
    hsipc_region* r = make_region(name, queued + 16, round_up_pow2(queued));
    hsipc_endpoint* inbox;
    check("endpoint_open", hsipc_endpoint_open(r, "inbox", &inbox));
    pid_t sender = fork();
    if (sender == 0) {
        hsipc_region* c;
        hsipc_endpoint* self;
        hsipc_id to;
        if (hsipc_attach(name.c_str(), nullptr, &c) || hsipc_endpoint_open(c, "sender", &self) ||
            hsipc_lookup(c, "inbox", &to)) {
            _exit(1);
        }
        for (uint32_t i = 0; i < queued; i++) {
            hsipc_off off;
            if (hsipc_alloc(c, 64, &off) || hsipc_send_offset(self, to, off, 64)) _exit(2);
        }
        _exit(0);  // dies attached, its messages queued
    }
    int status;
    waitpid(sender, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) die("sender", HSIPC_ESYS);
    const double start = now_s();
    const int reaped = hsipc_reap(r);
    const double took = now_s() - start;
    if (reaped < 0) die("reap", reaped);
    // The messages stay for their receiver: all of them still arrive.
    uint32_t got = 0;
    hsipc_msg msg;
    while (hsipc_poll(inbox, &msg, 0) == HSIPC_OK) {
        hsipc_release(r, msg.off);
        got++;
    }
    std::printf("reap: %7u messages queued by a dead sender: reaped in %8.3f ms (%d reclaimed, %u still delivered)\n",
                queued, took * 1e3, reaped, got);
    hsipc_detach(r);
    hsipc_unlink(name.c_str());
}

void bench_pressure() {
    const std::string name = region_name("pressure");
    // The default configuration's pools: a failed 64-byte alloc scans all three.
    hsipc_unlink(name.c_str());
    hsipc_region* r;
    check("attach", hsipc_attach(name.c_str(), nullptr, &r));
    int ready[2];
    if (pipe(ready) != 0) die("pipe", HSIPC_ESYS);
    pid_t holder = fork();
    if (holder == 0) {
        hsipc_region* c;
        if (hsipc_attach(name.c_str(), nullptr, &c)) _exit(1);
        hsipc_off off;
        while (hsipc_alloc(c, 1, &off) == HSIPC_OK) {
        }
        (void)!write(ready[1], "r", 1);
        pause();
        _exit(0);
    }
    char c;
    if (read(ready[0], &c, 1) != 1) die("holder", HSIPC_ESYS);
    hsipc_off off;
    long failures = 0;
    const double start = now_s();
    while (now_s() - start < 1.0) {
        if (hsipc_alloc(r, 64, &off) != HSIPC_ENOMEM) die("alloc while a live process holds everything", HSIPC_EINVAL);
        failures++;
    }
    const double took = now_s() - start;
    std::printf("pressure: %ld failed allocs in %.2f s (%.2f us each) while a live process holds every buffer\n",
                failures, took, took / double(failures) * 1e6);
    // Now the holder dies; a producer spinning on ENOMEM gets a buffer.
    kill(holder, SIGKILL);
    waitpid(holder, nullptr, 0);
    const double died = now_s();
    long more = 0;
    while (hsipc_alloc(r, 64, &off) == HSIPC_ENOMEM) more++;
    std::printf("pressure: an alloc loop got a buffer %.3f ms after the holder died (%ld more failures)\n",
                (now_s() - died) * 1e3, more);
    hsipc_detach(r);
    hsipc_unlink(name.c_str());
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<uint32_t> sizes;
    for (int i = 1; i < argc; i++) sizes.push_back(uint32_t(std::strtoul(argv[i], nullptr, 10)));
    if (sizes.empty()) sizes = {65536, 262144};
    for (uint32_t n : sizes) bench_reap(n);
    bench_pressure();
    return 0;
}
