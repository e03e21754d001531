// SPDX-License-Identifier: MIT
// Eclipse iceoryx through its C binding: zero-copy publish/subscribe in
// shared memory managed by the RouDi daemon (iox-roudi), which must be
// running with mempools for the sizes measured (bench/roudi.toml;
// scripts/bench.sh starts it). Round trip: two topics, ping and pong. The
// sender loans a chunk, writes the message in it and publishes it; the
// receiver spins on take_chunk, reads the message in place and releases the
// chunk. The subscriber queue is `depth` deep (at most iceoryx's 256) and
// blocks the publisher when full, so no message is dropped.
//
// Each child registers its own runtime after fork; the coordinator never
// does (an iceoryx runtime does not survive fork).
#include "registry.h"

#ifdef HSIPC_BENCH_HAVE_ICEORYX

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <string>

#include "../driver.h"
#include "../runner.h"
// The binding's headers declare C functions without extern "C" of their
// own (its sources include them inside one).
extern "C" {
#include "iceoryx_binding_c/log.h"
#include "iceoryx_binding_c/publisher.h"
#include "iceoryx_binding_c/runtime.h"
#include "iceoryx_binding_c/subscriber.h"
}

namespace bench {
namespace {

constexpr const char* kRoudiSocket = "/tmp/roudi";  // where iceoryx 2.x's RouDi listens
constexpr uint64_t kMaxQueue = 256;                 // iceoryx's MAX_SUBSCRIBER_QUEUE_CAPACITY
constexpr int64_t kConnectTimeoutNs = 10'000'000'000;

void init_runtime(const char* what) {
    iox_set_loglevel(Iceoryx_LogLevel_Warn);
    const std::string name = std::string("hsipc_bench_") + what + "_" + std::to_string(getpid());
    iox_runtime_init(name.c_str());
}

class Channel {
public:
    Channel(const CaseSpec& s, Role role) {
        init_runtime(role == Role::Ping ? "ping" : "pong");
        const bool rt = s.mode == Mode::RoundTrip;
        const char* mine = role == Role::Ping ? "ping" : "pong";
        const char* theirs = role == Role::Ping ? "pong" : "ping";
        // Round trip: both publish and subscribe. Streaming: ping publishes,
        // pong subscribes.
        if (rt || role == Role::Ping) {
            iox_pub_options_t o;
            iox_pub_options_init(&o);
            o.historyCapacity = 0;
            o.subscriberTooSlowPolicy = ConsumerTooSlowPolicy_WAIT_FOR_CONSUMER;
            pub_ = iox_pub_init(&pub_storage_, "hsipc_bench", s.tag.c_str(), mine, &o);
            if (!pub_) throw Error("iox_pub_init failed");
        }
        if (rt || role == Role::Pong) {
            iox_sub_options_t o;
            iox_sub_options_init(&o);
            o.queueCapacity = std::min<uint64_t>(s.depth, kMaxQueue);
            o.historyRequest = 0;
            o.queueFullPolicy = QueueFullPolicy_BLOCK_PRODUCER;
            sub_ = iox_sub_init(&sub_storage_, "hsipc_bench", s.tag.c_str(), theirs, &o);
            if (!sub_) throw Error("iox_sub_init failed");
        }
    }
    Channel(const Channel&) = delete;
    Channel& operator=(const Channel&) = delete;

    // Matching is done by RouDi asynchronously: wait until our subscriber is
    // connected and our publisher has one, so no early message is lost.
    void connect() {
        const int64_t deadline = now_ns() + kConnectTimeoutNs;
        while ((sub_ && iox_sub_get_subscription_state(sub_) != SubscribeState_SUBSCRIBED) ||
               (pub_ && !iox_pub_has_subscribers(pub_))) {
            if (now_ns() > deadline) throw Error("iceoryx: publisher and subscriber not matched within 10 s");
            usleep(1000);
        }
    }
    void* begin_send(size_t n) {
        void* chunk = nullptr;
        for (;;) {
            const auto rc = iox_pub_loan_chunk(pub_, &chunk, uint32_t(n));
            if (rc == AllocationResult_SUCCESS) return loaned_ = chunk;
            if (rc == AllocationResult_NO_MEMPOOLS_AVAILABLE) {
                throw Unavailable("RouDi has no mempool for " + format_size(n) +
                                  " chunks (start iox-roudi -c bench/roudi.toml)");
            }
            if (rc != AllocationResult_RUNNING_OUT_OF_CHUNKS) {
                throw Error("iox_pub_loan_chunk: result " + std::to_string(int(rc)));
            }
            spin_pause();
        }
    }
    void end_send(size_t) { iox_pub_publish_chunk(pub_, loaned_); }
    const void* receive(size_t) {
        for (;;) {
            const auto rc = iox_sub_take_chunk(sub_, &in_);
            if (rc == ChunkReceiveResult_SUCCESS) return in_;
            if (rc != ChunkReceiveResult_NO_CHUNK_AVAILABLE) {
                throw Error("iox_sub_take_chunk: result " + std::to_string(int(rc)));
            }
            spin_pause();
        }
    }
    void end_receive() { iox_sub_release_chunk(sub_, in_); }
    void close() {
        if (sub_) iox_sub_deinit(sub_);
        if (pub_) iox_pub_deinit(pub_);
        sub_ = nullptr;
        pub_ = nullptr;
        // The runtime itself goes with the process (see child_runs_exit_handlers).
    }

private:
    iox_pub_storage_t pub_storage_{};
    iox_sub_storage_t sub_storage_{};
    iox_pub_t pub_ = nullptr;
    iox_sub_t sub_ = nullptr;
    void* loaned_ = nullptr;
    const void* in_ = nullptr;
};

class Iceoryx final : public Mechanism {
public:
    const char* name() const override { return "iceoryx"; }
    const char* description() const override {
        return "Eclipse iceoryx 2 (C binding): loan, write in place, publish; spin on take_chunk";
    }
    std::string unavailable_reason(Runner& runner) override {
        struct stat st;
        if (stat(kRoudiSocket, &st) != 0) return "iox-roudi is not running (scripts/bench.sh starts it)";
        // RouDi's socket may be stale, and registering with a RouDi that
        // does not answer waits for a minute: try in a child, for 5 s.
        std::string why;
        if (!runner.probe([] { init_runtime("probe"); }, 5'000'000'000, &why, true)) {
            return "iox-roudi does not answer (" + why + ")";
        }
        return "";
    }
    SideResult run(Role role, const CaseSpec& s, Rendezvous& rv) override {
        Channel ch(s, role);
        return drive(ch, role, s, rv);
    }
    // The runtime unregisters from RouDi in its static destructor only. A
    // process gone without it stays listed until RouDi's monitoring drops
    // it, and iceoryx 2.0.3's RouDi aborts if it stops while listing one.
    bool child_runs_exit_handlers() const override { return true; }
};

}  // namespace

std::unique_ptr<Mechanism> make_iceoryx() { return std::make_unique<Iceoryx>(); }

}  // namespace bench

#else

namespace bench {
std::unique_ptr<Mechanism> make_iceoryx() {
    return make_missing("iceoryx", "Eclipse iceoryx (C binding)",
                        "not in this build (sudo apt-get install -y iceoryx libiceoryx-binding-c-dev, then "
                        "rebuild)");
}
}  // namespace bench

#endif
