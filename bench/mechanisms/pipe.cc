// SPDX-License-Identifier: MIT
// Two pipes, one per direction, with the kernel's default capacity (64 KiB
// on Linux): the message is copied into the kernel by write() and out by read().
#include <fcntl.h>
#include <unistd.h>

#include "fd_stream.h"
#include "registry.h"

#include "../util.h"

namespace bench {
namespace {

class Pipe final : public FdStreamMechanism {
public:
    const char* name() const override { return "pipe"; }
    const char* description() const override { return "two pipes (one per direction), blocking write/read"; }

protected:
    void make_fds(int fds[4]) override {
        int a[2], b[2];  // a: ping -> pong, b: pong -> ping
        check_sys(pipe2(a, O_CLOEXEC), "pipe2");
        if (pipe2(b, O_CLOEXEC) != 0) {
            close(a[0]);
            close(a[1]);
            throw_errno("pipe2");
        }
        fds[0] = b[0];  // ping reads replies
        fds[1] = a[1];  // ping writes requests
        fds[2] = a[0];  // pong reads requests
        fds[3] = b[1];  // pong writes replies
    }
};

}  // namespace

std::unique_ptr<Mechanism> make_pipe() { return std::make_unique<Pipe>(); }

}  // namespace bench
