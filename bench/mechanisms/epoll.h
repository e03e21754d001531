// SPDX-License-Identifier: MIT
// Mechanisms whose receivers wait the way an event loop does: in
// epoll_wait, on a descriptor, with nothing spinning. hsipc_epoll_bench
// (bench/epoll_bench.cc) compares them; hsipc_bench does not list them.
//
//   hsipc-epoll        hsipc_poll(…, 0) until empty, hsipc_endpoint_arm,
//                      epoll_wait on hsipc_endpoint_fd (include/hsipc.h)
//   hsipc-futex        reference: asleep in hsipc_poll with spin 0 (a futex)
//   pipe-epoll         two non-blocking pipes; read/write until EAGAIN, then
//   unix-socket-epoll  a non-blocking socketpair   epoll_wait for EPOLLIN/OUT
#pragma once

#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <memory>

#include "../mechanism.h"
#include "../util.h"

namespace bench {

std::unique_ptr<Mechanism> make_hsipc_epoll();
std::unique_ptr<Mechanism> make_hsipc_futex();  // reference: sleeps in hsipc_poll, spin 0
std::unique_ptr<Mechanism> make_pipe_epoll();
std::unique_ptr<Mechanism> make_unix_socket_epoll();

// One process's epoll set. Level-triggered, as most loops use it.
class EpollSet {
public:
    EpollSet() : fd_(epoll_create1(EPOLL_CLOEXEC)) {
        if (fd_ < 0) throw_errno("epoll_create1");
    }
    ~EpollSet() { ::close(fd_); }
    EpollSet(const EpollSet&) = delete;
    EpollSet& operator=(const EpollSet&) = delete;

    void add(int fd, uint32_t events) { ctl(EPOLL_CTL_ADD, fd, events, "epoll_ctl(ADD)"); }
    void modify(int fd, uint32_t events) { ctl(EPOLL_CTL_MOD, fd, events, "epoll_ctl(MOD)"); }
    // Sleeps until some descriptor of the set is ready; the caller retries
    // what it was doing, so which one does not matter here.
    void wait() {
        epoll_event ev[4];
        for (;;) {
            const int n = epoll_wait(fd_, ev, 4, -1);
            if (n > 0) return;
            if (n < 0 && errno != EINTR) throw_errno("epoll_wait");
        }
    }

private:
    void ctl(int op, int fd, uint32_t events, const char* what) {
        epoll_event ev = {};
        ev.events = events;
        ev.data.fd = fd;
        if (epoll_ctl(fd_, op, fd, &ev) != 0) throw_errno(what);
    }
    int fd_;
};

}  // namespace bench
