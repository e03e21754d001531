// SPDX-License-Identifier: MIT
// Byte-stream mechanisms over file descriptors (pipe, Unix socket): the
// coordinator makes the descriptors before fork; each child keeps its two
// and closes the peer's, so a peer that dies is an EOF or EPIPE.
#pragma once

#include "../mechanism.h"

namespace bench {

class FdStreamMechanism : public Mechanism {
public:
    SideResult run(Role role, const CaseSpec& s, Rendezvous& rv) override;
    void prepare(const CaseSpec& s) override;
    void cleanup() noexcept override;

protected:
    // fds[0], fds[1]: ping reads, ping writes; fds[2], fds[3]: pong reads,
    // pong writes. Four distinct descriptors (dup one end where a socket
    // carries both directions).
    virtual void make_fds(int fds[4]) = 0;

private:
    int fds_[4] = {-1, -1, -1, -1};
};

}  // namespace bench
