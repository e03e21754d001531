// SPDX-License-Identifier: MIT
// Eclipse iceoryx through its C binding, as bench/mechanisms/iceoryx.cc
// uses it, with one publisher and n subscribers on one service: the
// publisher loans a chunk, writes the frame in it once and publishes it;
// every subscriber takes the same chunk (take_chunk, in a loop that yields
// while the queue is empty), reads it in place and releases it. RouDi
// (iox-roudi) must be running with a mempool for the frame size
// (bench/roudi.toml; scripts/bench.sh starts it). Each process registers
// its own runtime after fork; the coordinator never does.
#include "pubsub.h"

#ifdef HSIPC_BENCH_HAVE_ICEORYX

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <string>

#include "../util.h"
#include "group.h"
#include "loops.h"
// The binding's headers declare C functions without extern "C" of their own.
extern "C" {
#include "iceoryx_binding_c/log.h"
#include "iceoryx_binding_c/publisher.h"
#include "iceoryx_binding_c/runtime.h"
#include "iceoryx_binding_c/subscriber.h"
}

namespace bench::pubsub {
namespace {

constexpr const char* kRoudiSocket = "/tmp/roudi";  // where iceoryx 2.x's RouDi listens
constexpr uint64_t kMaxQueue = 256;                 // iceoryx's MAX_SUBSCRIBER_QUEUE_CAPACITY
constexpr int64_t kConnectTimeoutNs = 10'000'000'000;
constexpr const char* kService = "hsipc_pubsub";

void init_runtime(const std::string& what) {
    iox_set_loglevel(Iceoryx_LogLevel_Warn);
    const std::string name = "hsipc_pubsub_" + what + "_" + std::to_string(getpid());
    iox_runtime_init(name.c_str());
}

class IoxPublisher {
public:
    explicit IoxPublisher(const Spec& s) : s_(s) {
        init_runtime("pub");
        iox_pub_options_t o;
        iox_pub_options_init(&o);
        o.historyCapacity = 0;
        o.subscriberTooSlowPolicy = ConsumerTooSlowPolicy_WAIT_FOR_CONSUMER;
        pub_ = iox_pub_init(&storage_, kService, s.tag.c_str(), "frames", &o);
        if (!pub_) throw Error("iox_pub_init failed");
    }
    ~IoxPublisher() { close(); }
    IoxPublisher(const IoxPublisher&) = delete;
    IoxPublisher& operator=(const IoxPublisher&) = delete;

    int copies() const { return 1; }
    void connect() {}  // the subscribers wait until RouDi has matched them
    void* begin(size_t n, int) {
        for (;;) {
            const auto rc = iox_pub_loan_chunk(pub_, &loaned_, uint32_t(n));
            if (rc == AllocationResult_SUCCESS) return loaned_;
            if (rc == AllocationResult_NO_MEMPOOLS_AVAILABLE) {
                throw Unavailable("RouDi has no mempool for " + format_size(n) +
                                  " chunks (start iox-roudi -c bench/roudi.toml)");
            }
            if (rc != AllocationResult_RUNNING_OUT_OF_CHUNKS) {
                throw Error("iox_pub_loan_chunk: result " + std::to_string(int(rc)));
            }
            idle(s_);
        }
    }
    void end(size_t, int) { iox_pub_publish_chunk(pub_, loaned_); }
    void close() {
        if (pub_) iox_pub_deinit(pub_);
        pub_ = nullptr;
        // The runtime goes with the process (child_runs_exit_handlers).
    }

private:
    const Spec& s_;
    iox_pub_storage_t storage_{};
    iox_pub_t pub_ = nullptr;
    void* loaned_ = nullptr;
};

class IoxSubscriber {
public:
    IoxSubscriber(const Spec& s, int index) : s_(s) {
        init_runtime("sub" + std::to_string(index + 1));
        iox_sub_options_t o;
        iox_sub_options_init(&o);
        // Deep enough never to fill under the flow control.
        o.queueCapacity = std::min<uint64_t>(s.depth + 1, kMaxQueue);
        o.historyRequest = 0;
        o.queueFullPolicy = QueueFullPolicy_BLOCK_PRODUCER;
        sub_ = iox_sub_init(&storage_, kService, s.tag.c_str(), "frames", &o);
        if (!sub_) throw Error("iox_sub_init failed");
    }
    ~IoxSubscriber() { close(); }
    IoxSubscriber(const IoxSubscriber&) = delete;
    IoxSubscriber& operator=(const IoxSubscriber&) = delete;

    // RouDi matches publisher and subscribers asynchronously: the first
    // frame must not go before every subscriber is connected.
    void connect() {
        const int64_t deadline = now_ns() + kConnectTimeoutNs;
        while (iox_sub_get_subscription_state(sub_) != SubscribeState_SUBSCRIBED) {
            if (now_ns() > deadline) throw Error("iceoryx: subscriber not matched with the publisher within 10 s");
            usleep(1000);
        }
    }
    const void* receive(size_t) {
        for (;;) {
            const auto rc = iox_sub_take_chunk(sub_, &in_);
            if (rc == ChunkReceiveResult_SUCCESS) return in_;
            if (rc != ChunkReceiveResult_NO_CHUNK_AVAILABLE) {
                throw Error("iox_sub_take_chunk: result " + std::to_string(int(rc)));
            }
            idle(s_);
        }
    }
    void end_receive() { iox_sub_release_chunk(sub_, in_); }
    void close() {
        if (sub_) iox_sub_deinit(sub_);
        sub_ = nullptr;
    }

private:
    const Spec& s_;
    iox_sub_storage_t storage_{};
    iox_sub_t sub_ = nullptr;
    const void* in_ = nullptr;
};

class Iceoryx final : public Mechanism {
public:
    const char* name() const override { return "iceoryx"; }
    const char* description() const override {
        return "Eclipse iceoryx 2 (C binding), one publisher and n subscribers on one service: loan, write once, "
               "publish; each subscriber take_chunk-s the same chunk, reads it in place, releases it";
    }
    std::string unavailable_reason(Group& group, bool smoke) override {
        struct stat st;
        if (stat(kRoudiSocket, &st) != 0) return "iox-roudi is not running (scripts/bench.sh --pubsub starts it)";
        // A stale socket, or a RouDi that does not answer, would make
        // registering wait for a minute: try in a child, with a deadline.
        std::string why;
        if (!group.probe([] { init_runtime("probe"); }, smoke ? 2'000'000'000 : 5'000'000'000, &why, true)) {
            return "iox-roudi does not answer (" + why + ")";
        }
        return "";
    }
    void publish(const Spec& s, Control& c, Barrier& b) override {
        IoxPublisher ch(s);
        run_frame_publisher(ch, s, c, b);
    }
    void subscribe(int index, const Spec& s, Control& c, Barrier& b) override {
        IoxSubscriber ch(s, index);
        run_frame_subscriber(ch, index, s, c, b);
    }
    // The runtime unregisters from RouDi in its static destructor only
    // (bench/mechanisms/iceoryx.cc says why that matters).
    bool child_runs_exit_handlers() const override { return true; }
};

}  // namespace

std::unique_ptr<Mechanism> make_iceoryx() { return std::make_unique<Iceoryx>(); }

}  // namespace bench::pubsub

#else

namespace bench::pubsub {
namespace {

class Missing final : public Mechanism {
public:
    const char* name() const override { return "iceoryx"; }
    const char* description() const override { return "Eclipse iceoryx 2 (C binding): not in this build"; }
    std::string unavailable_reason(Group&, bool) override {
        return "not in this build (sudo apt-get install -y iceoryx libiceoryx-binding-c-dev, then rebuild)";
    }
    void publish(const Spec&, Control&, Barrier&) override {}
    void subscribe(int, const Spec&, Control&, Barrier&) override {}
};

}  // namespace

std::unique_ptr<Mechanism> make_iceoryx() { return std::make_unique<Missing>(); }

}  // namespace bench::pubsub

#endif
