// SPDX-License-Identifier: MIT
// The limit of the frames workload on this machine: a ring of `depth` frame
// slots in a MAP_SHARED | MAP_ANONYMOUS mapping made before fork, written
// once by the publisher and read in place by every subscriber, with nothing
// else in between. Frame k goes to slot (k - 1) mod depth; its own word 0
// (the sequence word, stored last with release: message.h) is the "it is
// there" flag the subscribers wait on, and each subscriber's consumed
// counter (the flow control of pubsub.h, the same for every mechanism) is
// the "done with it" flag that lets the publisher reuse the slot.
#include <sys/mman.h>

#include "../message.h"
#include "../util.h"
#include "loops.h"
#include "pubsub.h"

namespace bench::pubsub {
namespace {

constexpr size_t kLine = 64;

size_t stride_for(size_t n) { return (n + kLine - 1) / kLine * kLine; }

class RawPublisher {
public:
    RawPublisher(uint8_t* base, const Spec& s) : base_(base), stride_(stride_for(s.size)), depth_(s.depth) {}
    int copies() const { return 1; }
    void connect() {}
    // The flow control has made sure every subscriber is done with the slot.
    void* begin(size_t, int) { return base_ + (sent_++ % depth_) * stride_; }
    void end(size_t, int) {}  // fill_message's release store of word 0 published it
    void close() {}

private:
    uint8_t* base_;
    size_t stride_;
    uint64_t depth_;
    uint64_t sent_ = 0;
};

class RawSubscriber {
public:
    RawSubscriber(uint8_t* base, const Spec& s) : base_(base), stride_(stride_for(s.size)), depth_(s.depth), s_(s) {}
    void connect() {}
    const void* receive(size_t) {
        const uint8_t* p = base_ + (received_ % depth_) * stride_;
        received_++;
        while ((load_seq_word(p) & ~kFlagBits) != received_) idle(s_);
        return p;
    }
    void end_receive() {}
    void close() {}

private:
    const uint8_t* base_;
    size_t stride_;
    uint64_t depth_;
    const Spec& s_;
    uint64_t received_ = 0;
};

class Raw final : public Mechanism {
public:
    const char* name() const override { return "raw"; }
    const char* description() const override {
        return "baseline: a ring of depth frame slots in a MAP_SHARED|MAP_ANONYMOUS mapping, each frame written "
               "once and read in place by every subscriber; its sequence word says it is there, the consumed "
               "counters that its slot is free";
    }
    void prepare(const Spec& s) override {
        bytes_ = size_t(s.depth) * stride_for(s.size);
        void* p = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) throw_errno("mmap");
        base_ = static_cast<uint8_t*>(p);
    }
    void publish(const Spec& s, Control& c, Barrier& b) override {
        RawPublisher ch(base_, s);
        run_frame_publisher(ch, s, c, b);
    }
    void subscribe(int index, const Spec& s, Control& c, Barrier& b) override {
        RawSubscriber ch(base_, s);
        run_frame_subscriber(ch, index, s, c, b);
    }
    void cleanup() noexcept override {
        if (base_) munmap(base_, bytes_);
        base_ = nullptr;
    }

private:
    uint8_t* base_ = nullptr;
    size_t bytes_ = 0;
};

}  // namespace

std::unique_ptr<Mechanism> make_raw() { return std::make_unique<Raw>(); }

}  // namespace bench::pubsub
