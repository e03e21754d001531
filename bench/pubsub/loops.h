// SPDX-License-Identifier: MIT
// The frames workload, the same loops over every mechanism's channels, so
// that mechanisms differ only in how a frame gets from the publisher to the
// subscribers. Channels are concrete classes and the loops templates: no
// virtual call on the measured path.
//
// A publisher channel provides:
//   int copies() const;           1, or one per subscriber (point to point:
//                                 each subscriber gets a copy of its own)
//   void connect();               after every end exists
//   void* begin(size_t n, int c); where to write copy c of the next frame
//   void end(size_t n, int c);    hand it over (publish, or send to subscriber c)
//   void close();
// A subscriber channel provides:
//   void connect();
//   const void* receive(size_t n); the next frame, waiting for it (idle())
//   void end_receive();            done reading it: give it back
//   void close();
#pragma once

#include <algorithm>
#include <cstdint>

#include "../message.h"
#include "../util.h"
#include "pubsub.h"

namespace bench::pubsub {

// The publisher's side of the flow control (pubsub.h): message k may go once
// every subscriber has consumed message k - depth.
class Flow {
public:
    Flow(Control& c, const Spec& s) : c_(c), s_(s) {}
    // Returns once messages up to `last` (1-based) may be sent.
    void wait_for_room(uint64_t last) {
        while (last > min_ + s_.depth) {
            uint64_t m = UINT64_MAX;
            // acquire: the subscriber is done with every message it counted
            // (for the raw ring: done reading the slot we are about to reuse).
            for (int i = 0; i < s_.subscribers; i++) {
                m = std::min(m, c_.consumed[i].value.load(std::memory_order_acquire));
            }
            min_ = m;
            if (last > min_ + s_.depth) idle(s_);
        }
    }

private:
    Control& c_;
    const Spec& s_;
    uint64_t min_ = 0;  // the slowest subscriber's count, as last read
};

// Whether message k, `elapsed` after the start, is past the warm-up.
inline bool warm_enough(const Spec& s, uint64_t k, int64_t elapsed) {
    return k > s.warmup_min && elapsed >= s.warmup_ns;
}

// Whether `measured` messages (counting those about to go), `elapsed` after
// the first measured one, are enough.
inline bool enough(const Spec& s, uint64_t measured, int64_t elapsed) {
    return measured >= s.max_count || (measured >= s.min_count && elapsed >= s.budget_ns);
}

// Writes and hands over frames as fast as the flow control lets it; frame k
// is message k (sequence word k, message.h), marked kStartBit on the first
// measured frame and kLastBit on the last. The CPU time of each measured
// frame (all its copies written and handed over; never the waits before it)
// is summed.
template <class Channel>
void run_frame_publisher(Channel& ch, const Spec& s, Control& c, Barrier& b) {
    c.stage[0] = kOpened;
    b.wait(1);  // every end exists
    ch.connect();
    c.stage[0] = kConnected;
    b.wait(2);  // every end connected: the first frame reaches everyone
    c.stage[0] = kRunning;
    Flow flow(c, s);
    PublisherResult r;
    const int64_t warm_from = now_ns();
    int64_t t_start = 0;
    bool measuring = false;
    for (uint64_t k = 1;; k++) {
        flow.wait_for_room(k);
        const int64_t t = now_ns();
        uint64_t flags = 0;
        if (!measuring && warm_enough(s, k, t - warm_from)) {
            measuring = true;
            t_start = t;
            flags = kStartBit;
        } else if (measuring && enough(s, r.count + 1, t - t_start)) {
            flags = kLastBit;
        }
        // Timed: the frames after the start frame, as the subscribers count them.
        const bool timed = measuring && flags != kStartBit;
        const int64_t cpu0 = timed ? thread_cpu_ns() : 0;
        for (int copy = 0; copy < ch.copies(); copy++) {
            fill_message(ch.begin(s.size, copy), s.size, k | flags);
            ch.end(s.size, copy);
        }
        if (timed) {
            r.cpu_ns += thread_cpu_ns() - cpu0;
            r.count++;
        }
        r.cpus.sample();
        if (flags == kLastBit) break;
    }
    c.publisher = r;
    c.stage[0] = kDone;
    b.wait(3);  // no end closes while another may still use it
    ch.close();
}

// Reads and checks every frame (every byte summed, message.h), gives it
// back, then counts it consumed. Times the stretch from the start frame to
// the last.
template <class Channel>
void run_frame_subscriber(Channel& ch, int index, const Spec& s, Control& c, Barrier& b) {
    std::atomic<uint32_t>& stage = c.stage[index + 1];
    stage = kOpened;
    b.wait(1);
    ch.connect();
    stage = kConnected;
    b.wait(2);
    stage = kRunning;
    SubscriberResult r;
    uint64_t start = 0;
    for (uint64_t k = 1;; k++) {
        const uint64_t word = check_message(ch.receive(s.size), s.size, k);
        ch.end_receive();
        // release: our reads of the frame happen before the publisher
        // reuses its memory (the raw ring's slot).
        c.consumed[index].value.store(k, std::memory_order_release);
        r.cpus.sample();
        if (word & kStartBit) {
            r.t_start = now_ns();
            start = k;
        }
        if (word & kLastBit) {
            if (start == 0) throw Error("the last frame came before the first measured one");
            r.t_end = now_ns();
            r.count = k - start;
            break;
        }
    }
    c.subscriber[index] = r;
    stage = kDone;
    b.wait(3);
    ch.close();
}

}  // namespace bench::pubsub
