// SPDX-License-Identifier: MIT
// hsipc_spin_cost: what a blocking receiver's spin costs in CPU time.
//
// A sender sends RATE 64-byte messages a second (evenly spaced); the
// receiver waits for each in hsipc_poll with a timeout, spinning SPIN_NS
// before it sleeps (hsipc_endpoint_set_spin). Prints the receiver's CPU time
// per second of wall time for each spin setting, and how many of its waits
// ended in a sleep.
//
// Usage: hsipc_spin_cost [RATE [SECONDS]]   (default 10000 messages/s, 2 s)
#include <hsipc.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

double now_s() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
}

double cpu_s() {
    rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

int run(long rate, double seconds, int64_t spin_ns) {
    const std::string name = "spin-cost-" + std::to_string(getpid());
    hsipc_unlink(name.c_str());
    hsipc_config cfg;
    hsipc_config_init(&cfg);
    cfg.max_endpoints = 4;
    cfg.pool_count = 1;
    cfg.pools[0].buffer_size = 64;
    cfg.pools[0].buffer_count = 1024;
    hsipc_region* r;
    hsipc_endpoint* rx;
    if (hsipc_attach(name.c_str(), &cfg, &r) || hsipc_endpoint_open(r, "rx", &rx) ||
        hsipc_endpoint_set_spin(rx, spin_ns)) {
        return 1;
    }
    const long total = long(rate * seconds);
    pid_t sender = fork();
    if (sender == 0) {
        hsipc_region* c;
        hsipc_endpoint* tx;
        hsipc_id to;
        if (hsipc_attach(name.c_str(), nullptr, &c) || hsipc_endpoint_open(c, "tx", &tx) || hsipc_lookup(c, "rx", &to)) {
            _exit(1);
        }
        const double start = now_s();
        for (long i = 0; i < total; i++) {
            while (now_s() < start + double(i) / double(rate)) usleep(20);
            hsipc_off off;
            if (hsipc_alloc(c, 64, &off) || hsipc_send_offset(tx, to, off, 64)) _exit(2);
        }
        _exit(0);
    }
    const double wall0 = now_s(), cpu0 = cpu_s();
    for (long i = 0; i < total; i++) {
        hsipc_msg msg;
        if (hsipc_poll(rx, &msg, 10'000'000'000) != HSIPC_OK) return 3;
        hsipc_release(r, msg.off);
    }
    const double wall = now_s() - wall0, cpu = cpu_s() - cpu0;
    waitpid(sender, nullptr, 0);
    std::printf("%7ld msgs/s, spin %6lld ns: receiver CPU %5.1f%% of a core\n", rate, (long long)spin_ns,
                100.0 * cpu / wall);
    hsipc_detach(r);
    hsipc_unlink(name.c_str());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const long rate = argc > 1 ? std::atol(argv[1]) : 10000;
    const double seconds = argc > 2 ? std::atof(argv[2]) : 2.0;
    for (int64_t spin : {int64_t(0), int64_t(5'000), int64_t(20'000), int64_t(50'000)}) {
        if (run(rate, seconds, spin) != 0) {
            std::fprintf(stderr, "hsipc_spin_cost: run failed\n");
            return 1;
        }
    }
    return 0;
}
