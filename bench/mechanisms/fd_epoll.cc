// SPDX-License-Identifier: MIT
// A pipe pair and a Unix socket pair as an event loop uses them: every
// descriptor non-blocking, each process sleeping in epoll_wait whenever it
// cannot go on. The receiver waits for EPOLLIN, then reads until it has
// the message's n bytes (a large message takes several reads and wake-ups
// as the sender's writes come in); the sender writes until all n bytes are
// in, and where the kernel's buffer is full it waits for EPOLLOUT (switched
// on for the descriptor only then, as libuv does). The bytes are copied
// into the kernel and out again, as with pipe and unix-socket
// (mechanisms/pipe.cc, mechanisms/unix_socket.cc), whose descriptors these
// are; only the waiting differs.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../driver.h"
#include "copying.h"
#include "epoll.h"

namespace bench {
namespace {

void set_nonblocking(int fd) {
    const int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) throw_errno("fcntl(O_NONBLOCK)");
}

class EpollTransport {
public:
    EpollTransport(int in, int out) : in_(in), out_(out) {
        set_nonblocking(in_);
        set_nonblocking(out_);
        epoll_ = std::make_unique<EpollSet>();
        epoll_->add(in_, EPOLLIN);
        epoll_->add(out_, 0);  // EPOLLOUT only while a write waits for room
    }
    void connect() {}
    size_t tailroom() const { return 0; }
    void send(uint8_t* p, size_t n) {
        bool watching = false;
        while (n > 0) {
            const ssize_t w = write(out_, p, n);
            if (w > 0) {
                p += w;
                n -= size_t(w);
                continue;
            }
            if (w < 0 && errno == EINTR) continue;
            if (w < 0 && errno != EAGAIN) throw_errno("write");
            if (!watching) epoll_->modify(out_, EPOLLOUT);
            watching = true;
            epoll_->wait();
        }
        if (watching) epoll_->modify(out_, 0);
    }
    // Waits first: in a round trip the bytes are not there yet when we
    // start, so reading first would only add a failed read.
    void receive(uint8_t* p, size_t n) {
        while (n > 0) {
            epoll_->wait();
            for (;;) {
                const ssize_t r = read(in_, p, n);
                if (r < 0 && errno == EINTR) continue;
                if (r < 0 && errno == EAGAIN) break;
                if (r < 0) throw_errno("read");
                if (r == 0) throw Error("read: the peer closed its end");
                p += r;
                n -= size_t(r);
                if (n == 0) return;
            }
        }
    }
    void close() {
        epoll_.reset();
        if (::close(in_) != 0 || ::close(out_) != 0) throw_errno("close");
    }

private:
    int in_, out_;
    std::unique_ptr<EpollSet> epoll_;  // movable transport (CopyingChannel takes it by value)
};

// As FdStreamMechanism (fd_stream.h): fds[0], fds[1] ping reads, ping
// writes; fds[2], fds[3] pong reads, pong writes.
class FdEpollMechanism : public Mechanism {
public:
    SideResult run(Role role, const CaseSpec& s, Rendezvous& rv) override {
        const int mine = role == Role::Ping ? 0 : 2;
        const int theirs = 2 - mine;
        if (::close(fds_[theirs]) != 0 || ::close(fds_[theirs + 1]) != 0) throw_errno("close");
        CopyingChannel<EpollTransport> ch(EpollTransport(fds_[mine], fds_[mine + 1]), s.size);
        return drive(ch, role, s, rv);
    }
    void prepare(const CaseSpec&) override { make_fds(fds_); }
    void cleanup() noexcept override {
        for (int& fd : fds_) {
            if (fd >= 0) ::close(fd);
            fd = -1;
        }
    }

protected:
    virtual void make_fds(int fds[4]) = 0;

private:
    int fds_[4] = {-1, -1, -1, -1};
};

class PipeEpoll final : public FdEpollMechanism {
public:
    const char* name() const override { return "pipe-epoll"; }
    const char* description() const override {
        return "two non-blocking pipes (one per direction), read/write, epoll_wait for EPOLLIN/EPOLLOUT";
    }

protected:
    void make_fds(int fds[4]) override {
        int a[2], b[2];  // a: ping -> pong, b: pong -> ping
        check_sys(pipe2(a, O_CLOEXEC), "pipe2");
        if (pipe2(b, O_CLOEXEC) != 0) {
            ::close(a[0]);
            ::close(a[1]);
            throw_errno("pipe2");
        }
        fds[0] = b[0];
        fds[1] = a[1];
        fds[2] = a[0];
        fds[3] = b[1];
    }
};

class UnixSocketEpoll final : public FdEpollMechanism {
public:
    const char* name() const override { return "unix-socket-epoll"; }
    const char* description() const override {
        return "non-blocking socketpair(AF_UNIX, SOCK_STREAM), read/write, epoll_wait for EPOLLIN/EPOLLOUT";
    }

protected:
    void make_fds(int fds[4]) override {
        int sv[2];
        check_sys(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), "socketpair");
        // One socket per side, duplicated so that reading and writing are
        // two descriptors: epoll watches them apart (EPOLLIN always,
        // EPOLLOUT only while a write waits).
        fds[0] = sv[0];
        fds[2] = sv[1];
        fds[1] = fcntl(sv[0], F_DUPFD_CLOEXEC, 0);
        fds[3] = fcntl(sv[1], F_DUPFD_CLOEXEC, 0);
        if (fds[1] < 0 || fds[3] < 0) throw_errno("fcntl(F_DUPFD_CLOEXEC)");
    }
};

}  // namespace

std::unique_ptr<Mechanism> make_pipe_epoll() { return std::make_unique<PipeEpoll>(); }
std::unique_ptr<Mechanism> make_unix_socket_epoll() { return std::make_unique<UnixSocketEpoll>(); }

}  // namespace bench
