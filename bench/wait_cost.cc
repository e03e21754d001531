// SPDX-License-Identifier: MIT
// hsipc_wait_cost: what each way of waiting for a message costs when
// nothing comes, and how many wake-ups a burst of messages costs.
//
// Idle: a receiver waits one second for a message that never comes, in
// each of the three ways (docs/concepts.md, "Three ways to wait"):
//   spin   hsipc_poll(ep, &msg, 0) in a loop
//   block  hsipc_poll(ep, &msg, 1 s), the endpoint's default spin first
//   epoll  hsipc_endpoint_arm, then epoll_wait on hsipc_endpoint_fd
// and we report its CPU time and how often it was woken (voluntary context
// switches) over that second.
//
// Burst: another process sends COUNT 64-byte messages back to back (taking
// EFULL as "retry") to a receiver that waits in epoll_wait (or in a
// blocking hsipc_poll), and we report wake-ups per message: the receiver's
// epoll_wait returns (or voluntary context switches) over the messages it
// took. A sender only signals a receiver that is armed or asleep, and a
// woken receiver drains its whole inbox before it arms again, so the ratio
// falls far below 1 as soon as messages come faster than a wake-up.
//
// Usage: hsipc_wait_cost [--count N] [--smoke]   (default 200000 messages;
//        --smoke: 0.2 s idle and 5000 messages, for CTest)
#include <errno.h>
#include <hsipc.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

struct Usage {
    double cpu_s;
    long wakeups;  // voluntary context switches: the times the process slept and was woken
};

Usage usage_now() {
    rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return {double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6,
            ru.ru_nvcsw};
}

double now_s() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
}

enum class Style { kSpin, kBlock, kEpoll };
const char* style_name(Style s) { return s == Style::kSpin ? "spin" : s == Style::kBlock ? "block" : "epoll"; }

// A region for one receiver "rx" and one sender.
class Region {
public:
    explicit Region(const char* what) : name_(std::string("wait-cost-") + what + "-" + std::to_string(getpid())) {
        hsipc_unlink(name_.c_str());
        hsipc_config cfg;
        hsipc_config_init(&cfg);
        cfg.max_endpoints = 4;
        cfg.inbox_capacity = 1024;
        cfg.pool_count = 1;
        cfg.pools[0].buffer_size = 64;
        cfg.pools[0].buffer_count = 2048;
        cfg.max_topics = 0;
        ok_ = hsipc_attach(name_.c_str(), &cfg, &r_) == HSIPC_OK && hsipc_endpoint_open(r_, "rx", &rx_) == HSIPC_OK;
    }
    ~Region() {
        if (r_) hsipc_detach(r_);
        hsipc_unlink(name_.c_str());
    }
    bool ok() const { return ok_; }
    const std::string& name() const { return name_; }
    hsipc_region* region() const { return r_; }
    hsipc_endpoint* rx() const { return rx_; }

private:
    std::string name_;
    hsipc_region* r_ = nullptr;
    hsipc_endpoint* rx_ = nullptr;
    bool ok_ = false;
};

// An epoll set watching ep's fd, or -1.
int epoll_on(hsipc_endpoint* ep) {
    int fd;
    if (hsipc_endpoint_fd(ep, &fd) != HSIPC_OK) return -1;
    int epfd = epoll_create1(EPOLL_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    if (epfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0) return -1;
    return epfd;
}

// `seconds` of waiting in `style` for nothing; false on an error.
bool idle(Style style, double seconds) {
    Region region("idle");
    if (!region.ok()) return false;
    hsipc_msg msg;
    int epfd = style == Style::kEpoll ? epoll_on(region.rx()) : -1;
    if (style == Style::kEpoll && epfd < 0) return false;
    const Usage before = usage_now();
    const double start = now_s();
    switch (style) {
        case Style::kSpin:
            while (now_s() - start < seconds) {
                if (hsipc_poll(region.rx(), &msg, 0) != HSIPC_EAGAIN) return false;
            }
            break;
        case Style::kBlock:
            if (hsipc_poll(region.rx(), &msg, int64_t(seconds * 1e9)) != HSIPC_EAGAIN) return false;
            break;
        case Style::kEpoll: {
            if (hsipc_endpoint_arm(region.rx()) != HSIPC_OK) return false;
            epoll_event ev;
            if (epoll_wait(epfd, &ev, 1, int(seconds * 1e3)) != 0) return false;
            break;
        }
    }
    const double wall = now_s() - start;
    const Usage after = usage_now();
    if (epfd >= 0) close(epfd);
    std::printf("| %s | %.1f ms | %ld |\n", style_name(style), 1e3 * (after.cpu_s - before.cpu_s) / wall,
                long(double(after.wakeups - before.wakeups) / wall + 0.5));
    return true;
}

// COUNT messages sent back to back to a receiver waiting in `style`
// (block or epoll); false on an error.
bool burst(Style style, long count) {
    Region region("burst");
    if (!region.ok()) return false;
    if (style == Style::kBlock && hsipc_endpoint_set_spin(region.rx(), 0) != HSIPC_OK) return false;
    int epfd = style == Style::kEpoll ? epoll_on(region.rx()) : -1;
    if (style == Style::kEpoll && epfd < 0) return false;
    std::fflush(stdout);
    const pid_t sender = fork();
    if (sender < 0) return false;
    if (sender == 0) {
        hsipc_region* r;
        hsipc_endpoint* tx;
        hsipc_id to;
        if (hsipc_attach(region.name().c_str(), nullptr, &r) || hsipc_endpoint_open(r, "tx", &tx) ||
            hsipc_lookup(r, "rx", &to)) {
            _exit(1);
        }
        for (long i = 0; i < count; i++) {
            hsipc_off off;
            int rc;
            while ((rc = hsipc_alloc(r, 64, &off)) == HSIPC_ENOMEM) sched_yield();  // the receiver holds them all
            if (rc != HSIPC_OK) _exit(2);
            std::memcpy(hsipc_ptr(r, off), &i, sizeof i);
            while ((rc = hsipc_send_offset(tx, to, off, 64)) == HSIPC_EFULL) sched_yield();
            if (rc != HSIPC_OK) _exit(3);
        }
        _exit(0);
    }
    const Usage before = usage_now();
    const double start = now_s();
    long taken = 0, waits = 0;
    bool in_order = true;
    hsipc_msg msg;
    while (taken < count) {
        if (style == Style::kEpoll) {
            int rc;
            while ((rc = hsipc_poll(region.rx(), &msg, 0)) == HSIPC_OK) {
                long seq;
                std::memcpy(&seq, msg.data, sizeof seq);
                in_order &= seq == taken;
                taken++;
                hsipc_release(region.region(), msg.off);
            }
            if (rc != HSIPC_EAGAIN || taken == count) continue;
            rc = hsipc_endpoint_arm(region.rx());
            if (rc == 1) continue;  // one arrived meanwhile
            if (rc != HSIPC_OK) break;
            epoll_event ev;
            int n = epoll_wait(epfd, &ev, 1, 10'000);
            if (n < 0 && errno == EINTR) continue;
            if (n != 1) break;  // nothing for 10 s: the sender died
            waits++;
        } else {
            if (hsipc_poll(region.rx(), &msg, 10'000'000'000) != HSIPC_OK) break;
            long seq;
            std::memcpy(&seq, msg.data, sizeof seq);
            in_order &= seq == taken;
            taken++;
            hsipc_release(region.region(), msg.off);
        }
    }
    const double wall = now_s() - start;
    const Usage after = usage_now();
    int status = 0;
    waitpid(sender, &status, 0);
    if (epfd >= 0) close(epfd);
    if (taken != count || !in_order || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        std::fprintf(stderr, "hsipc_wait_cost: burst (%s) took %ld of %ld messages%s, sender status %d\n",
                     style_name(style), taken, count, in_order ? "" : " out of order", status);
        return false;
    }
    const long wakeups = style == Style::kEpoll ? waits : after.wakeups - before.wakeups;
    std::printf("| %s%s | %ld | %ld | %.4f | %.0f |\n", style_name(style), style == Style::kBlock ? " (spin 0)" : "",
                count, wakeups, double(wakeups) / double(count), double(count) / wall);
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    long count = 200'000;
    double idle_seconds = 1.0;
    for (int i = 1; i < argc; i++) {
        if (std::strcmp(argv[i], "--smoke") == 0) {
            count = 5'000;
            idle_seconds = 0.2;
        } else if (std::strcmp(argv[i], "--count") == 0 && i + 1 < argc) {
            count = std::atol(argv[++i]);
            if (count < 1) return std::fprintf(stderr, "hsipc_wait_cost: bad --count\n"), 2;
        } else {
            std::fprintf(stderr, "usage: hsipc_wait_cost [--count N] [--smoke]\n");
            return std::strcmp(argv[i], "--help") == 0 ? 0 : 2;
        }
    }
    std::printf("Idle: %g s waiting for a message that never comes\n\n"
                "| waiting in | CPU time per second | wake-ups per second |\n|---|---:|---:|\n",
                idle_seconds);
    for (Style s : {Style::kSpin, Style::kBlock, Style::kEpoll}) {
        if (!idle(s, idle_seconds)) return std::fprintf(stderr, "hsipc_wait_cost: idle (%s) failed\n", style_name(s)), 1;
    }
    std::printf("\nBurst: %ld messages of 64 B sent back to back\n\n"
                "| receiver waiting in | messages | wake-ups | wake-ups per message | messages/s |\n"
                "|---|---:|---:|---:|---:|\n",
                count);
    for (Style s : {Style::kEpoll, Style::kBlock}) {
        if (!burst(s, count)) return 1;
    }
    return 0;
}
