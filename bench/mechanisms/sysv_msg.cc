// SPDX-License-Identifier: MIT
// System V message queues (msgget), one per direction, within the default
// limits: at most MSGMAX bytes per message (/proc/sys/kernel/msgmax, 8 KiB
// by default), so a larger message travels as consecutive chunks. The queues
// are private (IPC_PRIVATE) and removed by the coordinator after the case,
// whatever happened.
//
// msgsnd/msgrcv want a `long mtype` right before the text. Rather than copy
// every chunk into a staging struct (a third copy no careful user would
// make), the 8 bytes before the chunk are saved, used for mtype, and put back.
#include <sys/ipc.h>
#include <sys/msg.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "../driver.h"
#include "copying.h"
#include "registry.h"

namespace bench {
namespace {

constexpr long kType = 1;

class MsgTransport {
public:
    MsgTransport(int in, int out, size_t chunk) : in_(in), out_(out), chunk_(chunk) {}
    void connect() {}
    size_t tailroom() const { return 0; }
    void send(uint8_t* p, size_t n) {
        for_each_chunk(p, n, chunk_, [&](uint8_t* c, size_t len) {
            uint8_t* header = c - sizeof(long);
            long saved;
            std::memcpy(&saved, header, sizeof saved);
            std::memcpy(header, &kType, sizeof kType);
            int rc;
            while ((rc = msgsnd(out_, header, len, 0)) != 0 && errno == EINTR) {
            }
            std::memcpy(header, &saved, sizeof saved);
            if (rc != 0) throw_errno("msgsnd");
        });
    }
    void receive(uint8_t* p, size_t n) {
        for_each_chunk(p, n, chunk_, [&](uint8_t* c, size_t len) {
            uint8_t* header = c - sizeof(long);
            long saved;
            std::memcpy(&saved, header, sizeof saved);
            ssize_t r;
            while ((r = msgrcv(in_, header, len, 0, 0)) < 0 && errno == EINTR) {
            }
            const int err = errno;
            std::memcpy(header, &saved, sizeof saved);
            errno = err;
            if (r < 0) throw_errno("msgrcv");
            if (size_t(r) != len) throw Error("msgrcv: a chunk of " + std::to_string(r) + " bytes");
        });
    }
    void close() {}  // the coordinator removes the queues

private:
    int in_, out_;
    size_t chunk_;
};

class SysvMsg final : public Mechanism {
public:
    const char* name() const override { return "sysv-msg"; }
    const char* description() const override {
        return "System V message queues, one per direction; messages above MSGMAX sent in chunks";
    }
    void prepare(const CaseSpec& s) override {
        chunk_ = std::min<size_t>(s.size, size_t(read_proc_long("/proc/sys/kernel/msgmax", 8192)) / 8 * 8);
        for (int& q : q_) {
            q = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
            if (q < 0) {
                if (errno == ENOSYS) throw Unavailable("System V IPC not supported by this kernel");
                throw_errno("msgget");
            }
        }
    }
    SideResult run(Role role, const CaseSpec& s, Rendezvous& rv) override {
        // q_[0] carries ping -> pong, q_[1] pong -> ping.
        const bool ping = role == Role::Ping;
        CopyingChannel<MsgTransport> ch(MsgTransport(ping ? q_[1] : q_[0], ping ? q_[0] : q_[1], chunk_), s.size);
        return drive(ch, role, s, rv);
    }
    void cleanup() noexcept override {
        for (int& q : q_) {
            if (q >= 0) msgctl(q, IPC_RMID, nullptr);
            q = -1;
        }
    }

private:
    int q_[2] = {-1, -1};
    size_t chunk_ = 0;
};

}  // namespace

std::unique_ptr<Mechanism> make_sysv_msg() { return std::make_unique<SysvMsg>(); }

}  // namespace bench
