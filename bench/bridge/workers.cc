// SPDX-License-Identifier: MIT
#include "workers.h"

#include <hsipc.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>
#include <zmq.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <vector>

#include "../message.h"
#include "../stats.h"
#include "../util.h"

namespace bench::bridge {
namespace {

// Past its planned time, a side gives up this much later: a lost message or
// a dead peer then fails the case instead of hanging it.
constexpr int64_t kSlackNs = 20000000000;
constexpr int64_t kWaitStepNs = 200000000;  // a receive waits this long before looking at the deadline
constexpr int kWaitStepMs = 200;
constexpr size_t kBatch = 64;           // as hsipc_bench's streaming consumer
constexpr int64_t kBatchLingerNs = 50000;
constexpr useconds_t kRetrySleepUs = 20;
constexpr size_t kTouchFrom = 64 * 1024;  // message sizes whose buffers are touched before measuring
constexpr size_t kTouchMax = 4096;  // a sender's nap before retrying a full inbox or pool
constexpr int64_t kLookupNs = 10000000000;  // the proxies appear once the bridges have said HELLO
// A streaming receiver still waiting this long after the sender sent its
// last message takes the rest as lost (a bridge drops what a full inbox
// cannot take: docs/bridge.md, "Back-pressure").
constexpr int64_t kQuietNs = 1000000000;

class Deadline {
public:
    explicit Deadline(const Plan& p) : at_(now_ns() + p.warmup_ns + p.time_ns + kSlackNs) {}
    void check(const char* waiting_for) const {
        if (now_ns() > at_) throw Error(std::string("timed out waiting for ") + waiting_for);
    }

private:
    int64_t at_;
};

// What this process uses from its construction to stop(): its setup (an
// attach, a ZeroMQ connection, touching the region's pages) left out.
class Meter {
public:
    Meter() { getrusage(RUSAGE_SELF, &start_); }
    void stop(Outcome* out) const {
        rusage end;
        getrusage(RUSAGE_SELF, &end);
        out->cpu_ns = ns(end) - ns(start_);
        out->wakeups = end.ru_nvcsw - start_.ru_nvcsw;
        out->faults = end.ru_minflt - start_.ru_minflt;
    }

private:
    static int64_t ns(const rusage& ru) {
        return (int64_t(ru.ru_utime.tv_sec) + ru.ru_stime.tv_sec) * 1000000000 +
               (int64_t(ru.ru_utime.tv_usec) + ru.ru_stime.tv_usec) * 1000;
    }
    rusage start_;
};

void wait_ready(const Shared* s, const Deadline& d) {
    // acquire: the receiver's endpoint string, written before it said ready
    while (!s->ready.load(std::memory_order_acquire)) {
        d.check("the receiving side to start");
        usleep(1000);
    }
}

// The sending side's sequence words: warm-up, then the first measured
// message (kStartBit), then measured ones until the time or count is up,
// the final one with kLastBit.
class Sequence {
public:
    Sequence(const Plan& p, Shared* s) : plan_(p), shared_(s), start_ns_(now_ns()) {}
    bool next(uint64_t* word) {
        if (finished_) return false;
        const uint64_t n = sent_++;
        if (!measuring_) {
            if (plan_.count == 0 && now_ns() - start_ns_ < plan_.warmup_ns) {
                *word = n;
                return true;
            }
            measuring_ = true;
            measured_ = 1;
            measure_start_ns_ = now_ns();
            shared_->start_number.store(n, std::memory_order_relaxed);  // read only after a later message
            *word = n | kStartBit;
            return true;
        }
        measured_++;
        // The clock is read every 16th message: once a message would be a
        // visible share of what a 64-byte send costs.
        const bool last = plan_.count ? measured_ >= plan_.count
                                      : (measured_ % 16 == 0 && now_ns() - measure_start_ns_ >= plan_.time_ns);
        finished_ = last;
        *word = last ? n | kLastBit : n;
        return true;
    }
    // After the last message is out.
    uint64_t finish() {
        shared_->sent.store(sent_, std::memory_order_relaxed);
        shared_->sent_all_ns.store(now_ns(), std::memory_order_release);  // publishes sent
        return sent_;
    }

private:
    const Plan& plan_;
    Shared* shared_;
    int64_t start_ns_, measure_start_ns_ = 0;
    uint64_t sent_ = 0, measured_ = 0;
    bool measuring_ = false, finished_ = false;
};

// The streaming receiver's check of every message: numbers only grow (a
// gap is a lost message, counted), contents whole.
class Tally {
public:
    Tally(const Plan& p, Shared* s, Outcome* out) : size_(p.size), shared_(s), out_(out) {}
    // True for the final message.
    bool take(const void* data, size_t length) {
        if (length != size_) throw Error("a message of " + std::to_string(length) + " bytes, not " + std::to_string(size_));
        const uint64_t word = load_seq_word(data);
        const uint64_t number = word & ~kFlagBits;
        if (number < expected_) {
            throw Error("message " + std::to_string(number) + " after " + std::to_string(expected_ - 1) +
                        ": reordered or duplicated");
        }
        out_->lost += number - expected_;
        expected_ = number + 1;
        check_message(data, size_, number);
        out_->total++;
        const int64_t now = now_ns();
        if (!started_ && number >= shared_->start_number.load(std::memory_order_relaxed)) {
            started_ = true;
            start_ns_ = now;
        }
        if (started_) {
            out_->count++;
            out_->elapsed_ns = now - start_ns_;
        }
        if (!(word & kLastBit)) return false;
        if (!started_) throw Error("the last message came before the first measured one");
        return true;
    }
    // Called when nothing arrives: true where the sender finished long
    // enough ago that what has not arrived is lost (counted).
    bool gave_up() {
        const int64_t sent_all = shared_->sent_all_ns.load(std::memory_order_acquire);
        if (sent_all == 0 || now_ns() - sent_all < kQuietNs) return false;
        out_->lost += shared_->sent.load(std::memory_order_relaxed) - expected_;
        if (!started_) throw Error("no measured message arrived");
        return true;
    }

private:
    size_t size_;
    Shared* shared_;
    Outcome* out_;
    uint64_t expected_ = 0;
    bool started_ = false;
    int64_t start_ns_ = 0;
};

// ---- ZeroMQ ---------------------------------------------------------------

void zmq_check(int rc, const char* what) {
    if (rc < 0) throw Error(std::string(what) + ": " + zmq_strerror(zmq_errno()));
}

class ZmqSocket {
public:
    explicit ZmqSocket(int type) {
        ctx_ = zmq_ctx_new();
        if (!ctx_) zmq_check(-1, "zmq_ctx_new");
        socket_ = zmq_socket(ctx_, type);
        if (!socket_) zmq_check(-1, "zmq_socket");
        const int timeout = kWaitStepMs;
        zmq_check(zmq_setsockopt(socket_, ZMQ_RCVTIMEO, &timeout, sizeof timeout), "ZMQ_RCVTIMEO");
        zmq_check(zmq_setsockopt(socket_, ZMQ_SNDTIMEO, &timeout, sizeof timeout), "ZMQ_SNDTIMEO");
    }
    ~ZmqSocket() {
        // The default linger: the context's end waits until the last frame is out.
        if (socket_) zmq_close(socket_);
        if (ctx_) zmq_ctx_term(ctx_);
    }
    ZmqSocket(const ZmqSocket&) = delete;
    ZmqSocket& operator=(const ZmqSocket&) = delete;
    void* get() const { return socket_; }

    void bind(const std::string& address, Shared* s) {
        zmq_check(zmq_bind(socket_, ("tcp://" + address + ":*").c_str()), "zmq_bind");
        size_t size = sizeof s->endpoint;
        zmq_check(zmq_getsockopt(socket_, ZMQ_LAST_ENDPOINT, s->endpoint, &size), "ZMQ_LAST_ENDPOINT");
        s->ready.store(1, std::memory_order_release);  // publishes endpoint
    }
    void connect(const Shared* s, const Deadline& d) {
        wait_ready(s, d);
        zmq_check(zmq_connect(socket_, s->endpoint), "zmq_connect");
    }

private:
    void* ctx_ = nullptr;
    void* socket_ = nullptr;
};

class ZmqMessage {
public:
    ZmqMessage() { zmq_msg_init(&m_); }
    explicit ZmqMessage(size_t size) { zmq_check(zmq_msg_init_size(&m_, size), "zmq_msg_init_size"); }
    ~ZmqMessage() { zmq_msg_close(&m_); }
    ZmqMessage(const ZmqMessage&) = delete;
    ZmqMessage& operator=(const ZmqMessage&) = delete;
    void* data() { return zmq_msg_data(&m_); }
    size_t size() { return zmq_msg_size(&m_); }

    void send(void* socket, const Deadline& d) {
        while (zmq_msg_send(&m_, socket, 0) < 0) {
            if (zmq_errno() != EAGAIN && zmq_errno() != EINTR) zmq_check(-1, "zmq_msg_send");
            d.check("the receiver to take a message");
        }
    }
    void receive(void* socket, const Deadline& d) {
        while (!try_receive(socket)) d.check("a message");
    }
    // False where nothing came within the receive timeout.
    bool try_receive(void* socket) {
        if (zmq_msg_recv(&m_, socket, 0) >= 0) return true;
        if (zmq_errno() != EAGAIN && zmq_errno() != EINTR) zmq_check(-1, "zmq_msg_recv");
        return false;
    }
    // ZeroMQ hands small messages out of its receive batch at any offset;
    // message.h reads 8-byte words, so an unaligned one is read from a copy
    // (at most a few hundred bytes: large messages get buffers of their own).
    const void* aligned(std::vector<uint64_t>* scratch) {
        const void* p = data();
        if ((reinterpret_cast<uintptr_t>(p) & 7) == 0) return p;
        scratch->resize((size() + 7) / 8);
        std::memcpy(scratch->data(), p, size());
        return scratch->data();
    }

private:
    zmq_msg_t m_;
};

void zmq_push(const Plan& plan, Shared* s, Outcome* out) {
    const Deadline d(plan);
    ZmqSocket push(ZMQ_PUSH);
    push.connect(s, d);
    const Meter meter;
    Sequence seq(plan, s);
    uint64_t word;
    while (seq.next(&word)) {
        ZmqMessage m(plan.size);
        fill_message(m.data(), plan.size, word);
        m.send(push.get(), d);
    }
    out->total = seq.finish();
    meter.stop(out);
}

void zmq_pull(const Plan& plan, Shared* s, Outcome* out) {
    const Deadline d(plan);
    ZmqSocket pull(ZMQ_PULL);
    pull.bind(plan.address, s);
    const Meter meter;
    Tally tally(plan, s, out);
    std::vector<uint64_t> scratch;
    for (bool last = false; !last;) {
        ZmqMessage m;
        if (!m.try_receive(pull.get())) {
            last = tally.gave_up();
            d.check("a message");
            continue;
        }
        last = tally.take(m.aligned(&scratch), m.size());
    }
    meter.stop(out);
}

// ---- hsipc ----------------------------------------------------------------

void hsipc_check(int rc, const char* what) {
    if (rc != HSIPC_OK) throw Error(std::string(what) + ": " + hsipc_strerror(rc));
}

// The region (made by the coordinator) and one endpoint of ours in it.
class Attached {
public:
    Attached(const std::string& region, const char* endpoint) {
        hsipc_check(hsipc_attach_existing(region.c_str(), &r_), "hsipc_attach_existing");
        hsipc_check(hsipc_endpoint_open(r_, endpoint, &ep_), "hsipc_endpoint_open");
    }
    ~Attached() {
        if (r_) hsipc_detach(r_);
    }
    Attached(const Attached&) = delete;
    Attached& operator=(const Attached&) = delete;
    hsipc_region* region() const { return r_; }
    hsipc_endpoint* endpoint() const { return ep_; }

    hsipc_id look_up(const std::string& name) const {
        hsipc_id id;
        const int rc = hsipc_lookup_wait(r_, name.c_str(), kLookupNs, &id);
        if (rc != HSIPC_OK) throw Error("hsipc_lookup_wait " + name + ": " + hsipc_strerror(rc));
        return id;
    }
    // Waits out a full pool and a full inbox (the bridge's back-pressure)
    // by napping or, with `spin`, by yielding.
    void send(hsipc_id to, size_t size, uint64_t word, const Deadline& d, bool spin = true) const {
        hsipc_off off;
        int rc;
        while ((rc = hsipc_alloc(r_, size, &off)) == HSIPC_ENOMEM) {
            d.check("a free buffer");
            retry_pause(spin);
        }
        hsipc_check(rc, "hsipc_alloc");
        fill_message(hsipc_ptr(r_, off), size, word);
        while ((rc = hsipc_send_offset(ep_, to, off, size)) == HSIPC_EFULL) {
            d.check("room in the receiver's inbox");
            retry_pause(spin);
        }
        if (rc != HSIPC_OK) {
            hsipc_release(r_, off);
            hsipc_check(rc, "hsipc_send_offset");
        }
    }
    void receive(hsipc_msg* msg, const Deadline& d) const {
        int rc;
        while ((rc = hsipc_poll(ep_, msg, kWaitStepNs)) == HSIPC_EAGAIN) d.check("a message");
        hsipc_check(rc, "hsipc_poll");
    }

    // A new process first touches each page of a region buffer with a page
    // fault; an application that runs for long has long touched them, and
    // ZeroMQ's malloc reuses its heap. So for large messages every buffer
    // of the pool that fits is touched once before the clock starts.
    void touch_pool(size_t size) const {
        if (size <= kTouchFrom) return;
        std::vector<hsipc_off> held;
        hsipc_off off;
        while (held.size() < kTouchMax && hsipc_alloc(r_, size, &off) == HSIPC_OK) held.push_back(off);
        for (hsipc_off o : held) {
            volatile uint8_t* p = static_cast<uint8_t*>(hsipc_ptr(r_, o));
            for (size_t i = 0; i < size; i += 4096) p[i] = 0;
            hsipc_release(r_, o);
        }
    }

private:
    static void retry_pause(bool spin) {
        if (spin) {
            sched_yield();
        } else {
            usleep(kRetrySleepUs);
        }
    }

    hsipc_region* r_ = nullptr;
    hsipc_endpoint* ep_ = nullptr;
};

void hsipc_source(const Plan& plan, Shared* s, Outcome* out) {
    const Deadline d(plan);
    Attached h(plan.region, "source");
    wait_ready(s, d);
    const hsipc_id to = h.look_up(plan.target);
    h.touch_pool(plan.size);
    const Meter meter;
    Sequence seq(plan, s);
    uint64_t word;
    while (seq.next(&word)) h.send(to, plan.size, word, d, plan.spin);
    out->total = seq.finish();
    meter.stop(out);
}

void hsipc_sink(const Plan& plan, Shared* s, Outcome* out) {
    const Deadline d(plan);
    Attached h(plan.region, kSinkName);
    if (!plan.spin) hsipc_check(hsipc_endpoint_set_spin(h.endpoint(), 0), "hsipc_endpoint_set_spin");
    const int64_t linger_ns = plan.spin ? kBatchLingerNs : 0;
    h.touch_pool(plan.size);
    s->ready.store(1, std::memory_order_release);
    const Meter meter;
    Tally tally(plan, s, out);
    hsipc_msg msgs[kBatch];
    for (bool last = false; !last;) {
        size_t taken = 0;
        const int rc = hsipc_poll_batch(h.endpoint(), msgs, kBatch, kWaitStepNs, linger_ns, &taken);
        if (rc == HSIPC_EAGAIN) {
            last = tally.gave_up();
            d.check("a message");
            continue;
        }
        hsipc_check(rc, "hsipc_poll_batch");
        for (size_t i = 0; i < taken; i++) {
            if (!last) last = tally.take(msgs[i].data, msgs[i].length);
            hsipc_release(h.region(), msgs[i].off);
        }
    }
    meter.stop(out);
}

// ---- Round trips ----------------------------------------------------------

// Warm-up, then measured round trips, then one with kLastBit that stops the
// server; `one(word)` makes a round trip and checks its reply.
template <class RoundTrip>
void client_loop(const Plan& plan, Outcome* out, RoundTrip one) {
    const Meter meter;
    uint64_t n = 0;
    const int64_t start = now_ns();
    while (plan.count == 0 && now_ns() - start < plan.warmup_ns) one(n++);
    std::vector<uint32_t> samples;
    samples.reserve(plan.count ? plan.count : 65536);
    const int64_t measure_start = now_ns();
    while (plan.count ? samples.size() < plan.count : now_ns() - measure_start < plan.time_ns) {
        const int64_t t0 = now_ns();
        one(n++);
        samples.push_back(uint32_t(std::min<int64_t>(now_ns() - t0, UINT32_MAX)));
    }
    one(n++ | kLastBit);
    meter.stop(out);
    out->total = n;
    out->count = samples.size();
    const LatencySummary sum = summarize(samples, samples.size());
    out->p50_ns = sum.p50;
    out->p99_ns = sum.p99;
}

void check_reply(const void* data, size_t length, const Plan& plan, uint64_t word) {
    if (length != plan.size) throw Error("a reply of " + std::to_string(length) + " bytes");
    if (!(check_message(data, plan.size, word & ~kFlagBits) & kReplyBit)) throw Error("a request came back unanswered");
}

void zmq_req(const Plan& plan, Shared* s, Outcome* out) {
    const Deadline d(plan);
    ZmqSocket req(ZMQ_REQ);
    req.connect(s, d);
    std::vector<uint64_t> scratch;
    client_loop(plan, out, [&](uint64_t word) {
        ZmqMessage request(plan.size);
        fill_message(request.data(), plan.size, word);
        request.send(req.get(), d);
        ZmqMessage reply;
        reply.receive(req.get(), d);
        check_reply(reply.aligned(&scratch), reply.size(), plan, word);
    });
}

void zmq_rep(const Plan& plan, Shared* s, Outcome* out) {
    const Deadline d(plan);
    ZmqSocket rep(ZMQ_REP);
    rep.bind(plan.address, s);
    const Meter meter;
    std::vector<uint64_t> scratch;
    for (bool last = false; !last;) {
        ZmqMessage request;
        request.receive(rep.get(), d);
        if (request.size() != plan.size) throw Error("a request of " + std::to_string(request.size()) + " bytes");
        const void* data = request.aligned(&scratch);
        const uint64_t word = load_seq_word(data);
        check_message(data, request.size(), word & ~kFlagBits);
        ZmqMessage reply(request.size());
        fill_message(reply.data(), reply.size(), (word & ~kStartBit) | kReplyBit);
        reply.send(rep.get(), d);
        out->total++;
        last = word & kLastBit;
    }
    meter.stop(out);
}

void hsipc_client(const Plan& plan, Shared* s, Outcome* out) {
    const Deadline d(plan);
    Attached h(plan.region, "client");
    wait_ready(s, d);
    const hsipc_id to = h.look_up(plan.target);
    client_loop(plan, out, [&](uint64_t word) {
        h.send(to, plan.size, word, d);
        hsipc_msg reply;
        h.receive(&reply, d);
        check_reply(reply.data, reply.length, plan, word);
        hsipc_release(h.region(), reply.off);
    });
}

// Answers in place, in the request's own buffer, to msg.from: through the
// bridges that is the proxy standing for the client.
void hsipc_server(const Plan& plan, Shared* s, Outcome* out) {
    const Deadline d(plan);
    Attached h(plan.region, kServerName);
    s->ready.store(1, std::memory_order_release);
    const Meter meter;
    for (bool last = false; !last;) {
        hsipc_msg msg;
        h.receive(&msg, d);
        if (msg.length != plan.size) throw Error("a request of " + std::to_string(msg.length) + " bytes");
        const uint64_t word = load_seq_word(msg.data);
        check_message(msg.data, msg.length, word & ~kFlagBits);
        fill_message(msg.data, msg.length, (word & ~kStartBit) | kReplyBit);
        int rc;
        while ((rc = hsipc_send_offset(h.endpoint(), msg.from, msg.off, msg.length)) == HSIPC_EFULL) {
            d.check("room in the client's inbox");
            sched_yield();
        }
        if (rc != HSIPC_OK) {
            hsipc_release(h.region(), msg.off);
            hsipc_check(rc, "hsipc_send_offset (reply)");
        }
        out->total++;
        last = word & kLastBit;
    }
    meter.stop(out);
}

}  // namespace

void run_work(Work work, const Plan& plan, Shared* shared, Outcome* out) {
    try {
        switch (work) {
            case Work::zmq_push: zmq_push(plan, shared, out); break;
            case Work::zmq_pull: zmq_pull(plan, shared, out); break;
            case Work::zmq_req: zmq_req(plan, shared, out); break;
            case Work::zmq_rep: zmq_rep(plan, shared, out); break;
            case Work::hsipc_source: hsipc_source(plan, shared, out); break;
            case Work::hsipc_sink: hsipc_sink(plan, shared, out); break;
            case Work::hsipc_client: hsipc_client(plan, shared, out); break;
            case Work::hsipc_server: hsipc_server(plan, shared, out); break;
        }
        out->done = 1;
    } catch (const std::exception& e) {
        std::snprintf(out->error, sizeof out->error, "%s", e.what());
    }
}

}  // namespace bench::bridge
