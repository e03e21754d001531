// SPDX-License-Identifier: MIT
// POSIX message queues (mq_open), one per direction, within the limits an
// unprivileged user gets: at most msgsize_max bytes per message
// (/proc/sys/fs/mqueue/msgsize_max, 8 KiB by default) and msg_max messages
// per queue (10 by default). A larger message travels as consecutive chunks
// of msgsize_max bytes; the receiver reassembles them in its buffer. The
// queues are unlinked as soon as they are made: the descriptors, inherited
// across fork, keep them alive, and nothing is left behind.
#include <fcntl.h>
#include <mqueue.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "../driver.h"
#include "copying.h"
#include "registry.h"

namespace bench {
namespace {

class MqTransport {
public:
    MqTransport(mqd_t in, mqd_t out, size_t chunk) : in_(in), out_(out), chunk_(chunk) {}
    void connect() {}
    // mq_receive wants room for a whole queue message even for a last,
    // shorter chunk.
    size_t tailroom() const { return chunk_; }
    void send(uint8_t* p, size_t n) {
        for_each_chunk(p, n, chunk_, [&](uint8_t* c, size_t len) {
            while (mq_send(out_, reinterpret_cast<const char*>(c), len, 0) != 0) {
                if (errno != EINTR) throw_errno("mq_send");
            }
        });
    }
    void receive(uint8_t* p, size_t n) {
        for_each_chunk(p, n, chunk_, [&](uint8_t* c, size_t len) {
            ssize_t r;
            while ((r = mq_receive(in_, reinterpret_cast<char*>(c), chunk_, nullptr)) < 0) {
                if (errno != EINTR) throw_errno("mq_receive");
            }
            if (size_t(r) != len) throw Error("mq_receive: a chunk of " + std::to_string(r) + " bytes");
        });
    }
    void close() {
        if (mq_close(in_) != 0 || mq_close(out_) != 0) throw_errno("mq_close");
    }

private:
    mqd_t in_, out_;
    size_t chunk_;
};

class PosixMq final : public Mechanism {
public:
    const char* name() const override { return "posix-mq"; }
    const char* description() const override {
        return "POSIX message queues, one per direction; messages above msgsize_max sent in chunks";
    }
    void prepare(const CaseSpec& s) override {
        const long max_size = read_proc_long("/proc/sys/fs/mqueue/msgsize_max", 8192);
        const long max_msgs = read_proc_long("/proc/sys/fs/mqueue/msg_max", 10);
        chunk_ = std::min<size_t>(s.size, size_t(max_size) / 8 * 8);
        mq_attr attr{};
        attr.mq_maxmsg = max_msgs;
        attr.mq_msgsize = long(chunk_);
        for (int i = 0; i < 2; i++) {
            const std::string name = "/" + s.tag + (i == 0 ? ".a" : ".b");
            q_[i] = mq_open(name.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600, &attr);
            if (q_[i] == mqd_t(-1)) {
                if (errno == ENOSYS) throw Unavailable("POSIX message queues not supported by this kernel");
                throw_errno("mq_open " + name);
            }
            mq_unlink(name.c_str());
        }
    }
    SideResult run(Role role, const CaseSpec& s, Rendezvous& rv) override {
        // q_[0] carries ping -> pong, q_[1] pong -> ping.
        const bool ping = role == Role::Ping;
        CopyingChannel<MqTransport> ch(MqTransport(ping ? q_[1] : q_[0], ping ? q_[0] : q_[1], chunk_), s.size);
        return drive(ch, role, s, rv);
    }
    void cleanup() noexcept override {
        for (mqd_t& q : q_) {
            if (q != mqd_t(-1)) mq_close(q);
            q = mqd_t(-1);
        }
    }

private:
    mqd_t q_[2] = {mqd_t(-1), mqd_t(-1)};
    size_t chunk_ = 0;
};

}  // namespace

std::unique_ptr<Mechanism> make_posix_mq() { return std::make_unique<PosixMq>(); }

}  // namespace bench
