// SPDX-License-Identifier: MIT
// The physical limit: two processes passing the message through memory they
// share, with nothing in between — no allocator, no queue bookkeeping, no
// system call. The message's own word 0 (its sequence word, stored last
// with release) is the "it is there" flag.
//
// Round trip: one buffer. Ping writes the request in it; pong reads it and
// writes its reply over it in place; ping reads the reply. At 64 B that is
// one cache line bouncing between the two cores. (Of the layouts tried on
// the development machine, one buffer per direction and rotating buffers
// were slower at every size; see docs/performance.md.)
//
// Streaming: a ring of `depth` message slots (as many messages in flight as
// hsipc allows for that size) and a consumer counter, which the consumer
// publishes every depth/16 messages and the producer reads only when the
// ring looks full: the usual single-producer ring, at its cheapest.
//
// The mapping is MAP_SHARED | MAP_ANONYMOUS, made before fork.
#include <sys/mman.h>

#include <atomic>

#include "../driver.h"
#include "registry.h"

namespace bench {
namespace {

constexpr size_t kLine = 64;

size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

// Spins until word 0 of the message at p, without the first/last flags,
// is `want`.
void wait_for(const void* p, uint64_t want) {
    while ((load_seq_word(p) & ~(kLastBit | kStartBit)) != want) spin_pause();
}

class PingPongChannel {
public:
    PingPongChannel(uint8_t* buffer, Role role) : buffer_(buffer), reply_bit_(role == Role::Ping ? kReplyBit : 0) {}
    void connect() {}
    void* begin_send(size_t) { return buffer_; }  // strict alternation: the peer is done with it
    void end_send(size_t) {}                       // fill_message's release store published it
    const void* receive(size_t) {
        // Ping waits for reply number i, pong for request number i.
        wait_for(buffer_, ++received_ | reply_bit_);
        return buffer_;
    }
    void end_receive() {}
    void close() {}

private:
    uint8_t* buffer_;
    uint64_t reply_bit_;
    uint64_t received_ = 0;
};

// Ring layout: one line with the consumer's counter, then the slots.
class StreamChannel {
public:
    StreamChannel(uint8_t* base, size_t n, uint32_t depth)
        : consumed_(reinterpret_cast<std::atomic<uint64_t>*>(base)),
          slots_(base + kLine),
          stride_(round_up(n, kLine)),
          depth_(depth),
          batch_(depth >= 16 ? depth / 16 : 1) {}
    void connect() {}
    void* begin_send(size_t) {
        // Message number `sent_ + 1` goes to slot sent_ % depth, free once
        // the consumer took message sent_ + 1 - depth.
        if (sent_ - consumed_cache_ >= depth_) {
            // acquire: the consumer's reads of the slot are done.
            while (sent_ - (consumed_cache_ = consumed_->load(std::memory_order_acquire)) >= depth_) spin_pause();
        }
        return slot(sent_++);
    }
    void end_send(size_t) {}
    const void* receive(size_t) {
        const void* p = slot(received_);
        wait_for(p, received_ + 1);
        return p;
    }
    void end_receive() {
        // release: our reads of the slots happen before the producer reuses
        // them. Cannot deadlock: the consumer waits only when it has taken
        // all that was sent, and then the producer sees at most batch - 1 <
        // depth slots in use.
        if (++received_ % batch_ == 0) consumed_->store(received_, std::memory_order_release);
    }
    void close() {}

private:
    uint8_t* slot(uint64_t i) const { return slots_ + (i % depth_) * stride_; }
    std::atomic<uint64_t>* consumed_;
    uint8_t* slots_;
    size_t stride_;
    uint64_t depth_;
    uint64_t batch_;
    uint64_t sent_ = 0, consumed_cache_ = 0, received_ = 0;
};

class Raw final : public Mechanism {
public:
    const char* name() const override { return "raw"; }
    const char* description() const override {
        return "baseline: the message written and read in place in a MAP_SHARED|MAP_ANONYMOUS mapping, "
               "busy-waiting on its sequence word (no allocator, no queue)";
    }
    void prepare(const CaseSpec& s) override {
        const size_t slots = s.mode == Mode::RoundTrip ? 1 : s.depth;
        bytes_ = kLine + slots * round_up(s.size, kLine);
        void* p = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) throw_errno("mmap");
        base_ = static_cast<uint8_t*>(p);
    }
    SideResult run(Role role, const CaseSpec& s, Rendezvous& rv) override {
        if (s.mode == Mode::RoundTrip) {
            PingPongChannel ch(base_ + kLine, role);
            return drive(ch, role, s, rv);
        }
        StreamChannel ch(base_, s.size, s.depth);
        return drive(ch, role, s, rv);
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

}  // namespace bench
