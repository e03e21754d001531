// SPDX-License-Identifier: MIT
// The one workload, run over any mechanism's channel: round trip and
// one-way streaming. Every mechanism goes through exactly these loops, so
// they differ only in how a message gets from one process to the other.
//
// A channel is one process's end of a case. It provides:
//   void connect();                 after both ends exist (look the peer up)
//   void* begin_send(size_t n);     where to write the next message: the
//                                   mechanism's own buffer (zero-copy) or a
//                                   local one it then copies
//   void end_send(size_t n);        hand it over (waits while the peer is full)
//   const void* receive(size_t n);  the next message, waiting for it
//   void end_receive();             done reading it (zero-copy: give it back)
//   void close();                   orderly teardown; throws on errors
// Channels are concrete classes and the loops are templates, so no virtual
// call sits on the measured path of any mechanism.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "message.h"
#include "rendezvous.h"
#include "spec.h"
#include "stats.h"
#include "util.h"

namespace bench {

template <class Channel>
void send_message(Channel& ch, size_t n, uint64_t seq_word) {
    fill_message(ch.begin_send(n), n, seq_word);
    ch.end_send(n);
}

template <class Channel>
uint64_t receive_message(Channel& ch, size_t n, uint64_t number) {
    const uint64_t word = check_message(ch.receive(n), n, number);
    ch.end_receive();
    return word;
}

// Whether message i, `elapsed` after the start, is past the warm-up.
inline bool warm_enough(const CaseSpec& s, uint64_t i, int64_t elapsed) {
    return (i > s.warmup_min && elapsed >= s.warmup_ns) || elapsed >= s.warmup_max_ns;
}

// Ping: writes n bytes and sends; waits for the echo and reads its n bytes;
// one sample per round trip. One clock read per round trip (the end of one
// is the start of the next), included in every mechanism's figure alike.
template <class Channel>
SideResult run_ping(Channel& ch, const CaseSpec& s) {
    std::vector<uint32_t> samples(s.max_count);  // value-initialised: touched before timing
    uint64_t measured = 0;
    bool measuring = false;
    int64_t t_prev = now_ns();
    const int64_t warm_from = t_prev;
    int64_t t_start = 0;
    for (uint64_t i = 1;; i++) {
        if (!measuring && warm_enough(s, i, t_prev - warm_from)) {
            measuring = true;
            t_start = t_prev;
        }
        const bool last = measuring && (measured + 1 >= s.max_count ||
                                        (measured + 1 >= s.min_count && t_prev - t_start >= s.budget_ns));
        send_message(ch, s.size, last ? i | kLastBit : i);
        receive_message(ch, s.size, i);
        const int64_t t = now_ns();
        if (measuring) samples[measured++] = uint32_t(std::min<int64_t>(t - t_prev, UINT32_MAX));
        t_prev = t;
        if (last) break;
    }
    SideResult r;
    r.count = measured;
    r.elapsed_ns = t_prev - t_start;
    r.latency = summarize(samples, measured);
    return r;
}

// Pong: reads the n bytes, then writes a reply of n bytes: the request's
// sequence word plus kReplyBit (a new message, not the request sent back).
template <class Channel>
SideResult run_pong(Channel& ch, const CaseSpec& s) {
    for (uint64_t i = 1;; i++) {
        const uint64_t word = receive_message(ch, s.size, i);
        send_message(ch, s.size, word | kReplyBit);
        if (word & kLastBit) return SideResult{};
    }
}

// Producer: writes and sends as fast as the mechanism takes messages. Reads
// the clock only every 64 small messages, so that the clock does not become
// the workload.
template <class Channel>
SideResult run_producer(Channel& ch, const CaseSpec& s) {
    const uint64_t clock_every = s.size >= 65536 ? 1 : 64;
    const int64_t warm_from = now_ns();
    bool measuring = false, over_budget = false;
    int64_t t_start = 0;
    uint64_t measured = 0;
    for (uint64_t i = 1;; i++) {
        uint64_t flags = 0;
        if (i % clock_every == 0) {
            const int64_t t = now_ns();
            if (!measuring && warm_enough(s, i, t - warm_from)) {
                measuring = true;
                t_start = t;
                flags = kStartBit;
            } else if (measuring && t - t_start >= s.budget_ns) {
                over_budget = true;
            }
        }
        const bool last = measuring && flags == 0 &&
                          (measured + 1 >= s.max_count || (over_budget && measured + 1 >= s.min_count));
        if (last) flags = kLastBit;
        send_message(ch, s.size, i | flags);
        if (measuring) measured++;
        if (last) return SideResult{};
    }
}

// Consumer: reads every message; times the stretch from the first measured
// message to the last, in steady state since warm-up messages precede it
// without a pause.
template <class Channel>
SideResult run_consumer(Channel& ch, const CaseSpec& s) {
    int64_t t_start = 0;
    uint64_t start = 0;
    for (uint64_t i = 1;; i++) {
        const uint64_t word = receive_message(ch, s.size, i);
        if (word & kStartBit) {
            t_start = now_ns();
            start = i;
        }
        if (word & kLastBit) {
            if (start == 0) throw Error("the last message came before the first measured one");
            SideResult r;
            r.count = i - start;
            r.elapsed_ns = now_ns() - t_start;
            return r;
        }
    }
}

// One child's whole part in a case, on a channel it has just opened.
template <class Channel>
SideResult drive(Channel& ch, Role role, const CaseSpec& s, Rendezvous& rv) {
    rv.wait(1);  // both ends exist
    ch.connect();
    rv.wait(2);  // both ends connected: the first message has somewhere to go
    SideResult r;
    if (s.mode == Mode::RoundTrip) {
        r = role == Role::Ping ? run_ping(ch, s) : run_pong(ch, s);
    } else {
        r = role == Role::Ping ? run_producer(ch, s) : run_consumer(ch, s);
    }
    rv.wait(3);  // neither end closes while the other may still use it
    ch.close();
    return r;
}

}  // namespace bench
