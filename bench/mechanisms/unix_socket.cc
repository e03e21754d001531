// SPDX-License-Identifier: MIT
// A Unix domain stream socket pair with the kernel's default buffer sizes:
// one connection carries both directions.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fd_stream.h"
#include "registry.h"

#include "../util.h"

namespace bench {
namespace {

class UnixSocket final : public FdStreamMechanism {
public:
    const char* name() const override { return "unix-socket"; }
    const char* description() const override {
        return "socketpair(AF_UNIX, SOCK_STREAM), blocking write/read";
    }

protected:
    void make_fds(int fds[4]) override {
        int sv[2];
        check_sys(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), "socketpair");
        // Each side reads and writes one socket; dup it so that every slot
        // is a descriptor of its own to close.
        fds[0] = sv[0];
        fds[2] = sv[1];
        fds[1] = fcntl_dup(sv[0]);
        fds[3] = fcntl_dup(sv[1]);
    }

private:
    static int fcntl_dup(int fd) {
        int d = fcntl(fd, F_DUPFD_CLOEXEC, 0);
        if (d < 0) throw_errno("fcntl(F_DUPFD_CLOEXEC)");
        return d;
    }
};

}  // namespace

std::unique_ptr<Mechanism> make_unix_socket() { return std::make_unique<UnixSocket>(); }

}  // namespace bench
