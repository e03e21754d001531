// SPDX-License-Identifier: MIT
#include "fd_stream.h"

#include <unistd.h>

#include <cerrno>

#include "../driver.h"
#include "copying.h"

namespace bench {
namespace {

class FdTransport {
public:
    FdTransport(int in, int out) : in_(in), out_(out) {}
    void connect() {}
    size_t tailroom() const { return 0; }
    void send(uint8_t* p, size_t n) {
        while (n > 0) {
            ssize_t w = write(out_, p, n);
            if (w < 0 && errno == EINTR) continue;
            if (w < 0) throw_errno("write");
            p += w;
            n -= size_t(w);
        }
    }
    void receive(uint8_t* p, size_t n) {
        while (n > 0) {
            ssize_t r = read(in_, p, n);
            if (r < 0 && errno == EINTR) continue;
            if (r < 0) throw_errno("read");
            if (r == 0) throw Error("read: the peer closed its end");
            p += r;
            n -= size_t(r);
        }
    }
    void close() {
        if (::close(in_) != 0 || ::close(out_) != 0) throw_errno("close");
    }

private:
    int in_, out_;
};

}  // namespace

void FdStreamMechanism::prepare(const CaseSpec&) { make_fds(fds_); }

SideResult FdStreamMechanism::run(Role role, const CaseSpec& s, Rendezvous& rv) {
    const int mine = role == Role::Ping ? 0 : 2;
    const int theirs = 2 - mine;
    if (::close(fds_[theirs]) != 0 || ::close(fds_[theirs + 1]) != 0) throw_errno("close");
    CopyingChannel<FdTransport> ch(FdTransport(fds_[mine], fds_[mine + 1]), s.size);
    return drive(ch, role, s, rv);
}

void FdStreamMechanism::cleanup() noexcept {
    for (int& fd : fds_) {
        if (fd >= 0) ::close(fd);
        fd = -1;
    }
}

}  // namespace bench
