// SPDX-License-Identifier: MIT
// Boost.Interprocess message_queue, one per direction: a queue of `depth`
// slots of n bytes in a shared memory object, guarded by a process-shared
// mutex and condition variables; send() and receive() copy the message in
// and out and block while the queue is full or empty.
//
// The coordinator creates both queues; each child opens them after fork;
// ping removes the names once both are open, and the coordinator removes
// them again after the case in case a child failed first.
#include "registry.h"

#ifdef HSIPC_BENCH_HAVE_BOOST

#include <boost/interprocess/ipc/message_queue.hpp>
#include <memory>
#include <string>

#include "../driver.h"
#include "copying.h"

namespace bip = boost::interprocess;

namespace bench {
namespace {

class BoostTransport {
public:
    BoostTransport(const std::string& in, const std::string& out, bool remove_names)
        : in_name_(in), out_name_(out), remove_names_(remove_names),
          in_(std::make_unique<bip::message_queue>(bip::open_only, in.c_str())),
          out_(std::make_unique<bip::message_queue>(bip::open_only, out.c_str())) {}
    void connect() {
        // Both children opened both queues (rendezvous 1): names can go.
        if (remove_names_) {
            bip::message_queue::remove(in_name_.c_str());
            bip::message_queue::remove(out_name_.c_str());
        }
    }
    size_t tailroom() const { return 0; }
    void send(uint8_t* p, size_t n) { out_->send(p, n, 0); }
    void receive(uint8_t* p, size_t n) {
        bip::message_queue::size_type got = 0;
        unsigned int priority = 0;
        in_->receive(p, n, got, priority);
        if (got != n) throw Error("message_queue::receive: " + std::to_string(got) + " bytes");
    }
    void close() {
        in_.reset();
        out_.reset();
    }

private:
    std::string in_name_, out_name_;
    bool remove_names_;
    std::unique_ptr<bip::message_queue> in_, out_;
};

class BoostMq final : public Mechanism {
public:
    const char* name() const override { return "boost-mq"; }
    const char* description() const override {
        return "Boost.Interprocess message_queue, one per direction, blocking send/receive";
    }
    void prepare(const CaseSpec& s) override {
        names_[0] = s.tag + ".a";  // ping -> pong
        names_[1] = s.tag + ".b";  // pong -> ping
        for (const std::string& name : names_) {
            bip::message_queue::remove(name.c_str());
            bip::message_queue(bip::create_only, name.c_str(), s.depth, s.size);
        }
    }
    SideResult run(Role role, const CaseSpec& s, Rendezvous& rv) override {
        const bool ping = role == Role::Ping;
        CopyingChannel<BoostTransport> ch(
            BoostTransport(ping ? names_[1] : names_[0], ping ? names_[0] : names_[1], ping), s.size);
        return drive(ch, role, s, rv);
    }
    void cleanup() noexcept override {
        for (std::string& name : names_) {
            if (!name.empty()) bip::message_queue::remove(name.c_str());
            name.clear();
        }
    }

private:
    std::string names_[2];
};

}  // namespace

std::unique_ptr<Mechanism> make_boost_mq() { return std::make_unique<BoostMq>(); }

}  // namespace bench

#else

namespace bench {
std::unique_ptr<Mechanism> make_boost_mq() {
    return make_missing("boost-mq", "Boost.Interprocess message_queue",
                        "not in this build (sudo apt-get install -y libboost-dev, then rebuild)");
}
}  // namespace bench

#endif
