// SPDX-License-Identifier: MIT
// hsipc through its public C API, two ways:
//
//   hsipc-publish  the topics API: the publisher allocates one buffer per
//                  frame, writes it once and hsipc_publish-es it to topic
//                  "frames"; every subscriber receives the same buffer
//                  (HSIPC_MSG_SHARED), reads it in place and releases it.
//   hsipc-send     today's way without topics, for context: one buffer per
//                  subscriber, each allocated, written in full and sent with
//                  hsipc_send_offset: n allocations, n writes, n sends.
//
// Every process attaches to the case's region itself after fork and opens
// its endpoint; subscribers subscribe before the first barrier, so every
// frame reaches all of them. Subscribers take messages with hsipc_poll(…, 0)
// in a loop that yields (frames) or spins (small) when the inbox is empty.
//
// The small workload (64-byte messages, the publish cost) is here too: the
// publisher allocates and writes a batch of messages, then times handing
// the whole batch over (batch publishes, or batch x n sends).
#include <hsipc.h>

#include <algorithm>
#include <string>
#include <vector>

#include "../message.h"
#include "../util.h"
#include "loops.h"
#include "pubsub.h"

namespace bench::pubsub {
namespace {

constexpr const char* kTopic = "frames";
constexpr const char* kPublisher = "publisher";
// How long hsipc_poll_batch may wait for a full batch once a message is there.
constexpr int64_t kLingerNs = 50'000;

[[noreturn]] void fail(const char* what, int rc) { throw Error(std::string(what) + ": " + hsipc_strerror(rc)); }

std::string subscriber_name(int index) { return "subscriber-" + std::to_string(index + 1); }

uint32_t round_up_pow2(uint32_t n) {
    uint32_t p = 1;
    while (p < n) p *= 2;
    return p;
}

// Messages that may be in flight at once: the flow control's depth, plus a
// batch the small workload's publisher holds before it times handing it over.
uint32_t in_flight(const Spec& s) { return s.depth + (s.workload == Workload::Small ? s.batch : 1); }

// One pool of message-sized buffers, just large enough that an allocation
// never fails under the flow control (and so never reaps), and inboxes that
// never fill.
hsipc_config region_config(const Spec& s, bool per_subscriber_copies) {
    hsipc_config cfg;
    hsipc_config_init(&cfg);
    cfg.max_endpoints = uint32_t(s.subscribers) + 1;
    cfg.inbox_capacity = round_up_pow2(in_flight(s));
    cfg.pool_count = 1;
    cfg.pools[0].buffer_size = s.size;
    cfg.pools[0].buffer_count = in_flight(s) * (per_subscriber_copies ? uint32_t(s.subscribers) : 1u) + 2;
    return cfg;
}

// One process's attachment and endpoint.
class Attachment {
public:
    Attachment(const Spec& s, bool copies, const std::string& endpoint) : name_(s.tag) {
        const hsipc_config cfg = region_config(s, copies);
        int rc = hsipc_attach(name_.c_str(), &cfg, &region_);
        if (rc != HSIPC_OK) fail("hsipc_attach", rc);
        rc = hsipc_endpoint_open(region_, endpoint.c_str(), &ep_);
        if (rc != HSIPC_OK) fail("hsipc_endpoint_open", rc);
    }
    ~Attachment() {
        if (region_) hsipc_detach(region_);  // error path only; close() reports errors
    }
    Attachment(const Attachment&) = delete;
    Attachment& operator=(const Attachment&) = delete;

    hsipc_region* region() const { return region_; }
    hsipc_endpoint* endpoint() const { return ep_; }

    void close() {
        int rc = hsipc_endpoint_close(ep_);
        if (rc != HSIPC_OK) fail("hsipc_endpoint_close", rc);
        hsipc_region* r = region_;
        region_ = nullptr;
        rc = hsipc_detach(r);
        if (rc != HSIPC_OK) fail("hsipc_detach", rc);
    }

protected:
    std::string name_;
    hsipc_region* region_ = nullptr;
    hsipc_endpoint* ep_ = nullptr;
};

class HsipcPublisher : public Attachment {
public:
    HsipcPublisher(const Spec& s, bool send) : Attachment(s, send, kPublisher), s_(s), send_(send) {}
    int copies() const { return send_ ? s_.subscribers : 1; }

    void connect() {
        int rc;
        if (send_) {
            for (int i = 0; i < s_.subscribers; i++) {
                rc = hsipc_lookup(region_, subscriber_name(i).c_str(), &to_[i]);
                if (rc != HSIPC_OK) fail("hsipc_lookup", rc);
            }
        } else {
            rc = hsipc_topic_open(region_, kTopic, &topic_);
            if (rc != HSIPC_OK) fail("hsipc_topic_open", rc);
        }
        // Everyone is attached (the first barrier): the name can go, so
        // that nothing is left in /dev/shm even if the benchmark is killed.
        rc = hsipc_unlink(name_.c_str());
        if (rc != HSIPC_OK) fail("hsipc_unlink", rc);
    }
    void* begin(size_t n, int copy) {
        int rc;
        while ((rc = hsipc_alloc(region_, n, &out_[copy])) == HSIPC_ENOMEM) idle(s_);
        if (rc != HSIPC_OK) fail("hsipc_alloc", rc);
        void* p = hsipc_ptr(region_, out_[copy]);
        if (!p) throw Error("hsipc_ptr: NULL for a buffer just allocated");
        return p;
    }
    void end(size_t n, int copy) { hand_over(out_[copy], n, copy); }
    hsipc_off last_allocated(int copy) const { return out_[copy]; }

    // Hands buffer `off` over: publishes it, or sends it to subscriber `copy`.
    void hand_over(hsipc_off off, size_t n, int copy) {
        int rc;
        if (send_) {
            while ((rc = hsipc_send_offset(ep_, to_[copy], off, n)) == HSIPC_EFULL) idle(s_);
            if (rc != HSIPC_OK) fail("hsipc_send_offset", rc);
            return;
        }
        uint32_t delivered = 0, skipped = 0;
        rc = hsipc_publish(ep_, topic_, off, n, &delivered, &skipped);
        if (rc != HSIPC_OK) fail("hsipc_publish", rc);
        if (delivered != uint32_t(s_.subscribers)) {
            // The flow control keeps every inbox from filling: a skip is a bug.
            throw Error("hsipc_publish delivered to " + std::to_string(delivered) + " of " +
                        std::to_string(s_.subscribers) + " subscribers (" + std::to_string(skipped) + " skipped)");
        }
    }

private:
    const Spec& s_;
    bool send_;
    hsipc_id topic_ = 0;
    hsipc_id to_[kMaxSubscribers] = {};
    hsipc_off out_[kMaxSubscribers] = {};
};

class HsipcSubscriber : public Attachment {
public:
    HsipcSubscriber(const Spec& s, bool send, int index)
        : Attachment(s, send, subscriber_name(index)), s_(s), send_(send), batch_(std::max<uint32_t>(s.take, 1)) {
        if (!send_) {
            const int rc = hsipc_subscribe(ep_, kTopic);
            if (rc != HSIPC_OK) fail("hsipc_subscribe", rc);
        }
    }
    void connect() {}
    const void* receive(size_t n) {
        if (next_ == taken_) take();
        const hsipc_msg& m = batch_[next_];
        if (m.length != n) throw Error("hsipc: message of " + std::to_string(m.length) + " bytes");
        if (!send_ && !(m.flags & HSIPC_MSG_SHARED)) throw Error("hsipc: published message not flagged shared");
        return m.data;
    }
    void end_receive() {
        const int rc = hsipc_release(region_, batch_[next_++].off);
        if (rc != HSIPC_OK) fail("hsipc_release", rc);
    }

private:
    // Never waits in the library (timeout 0): polling, with idle() between looks.
    void take() {
        int rc;
        if (batch_.size() == 1) {
            while ((rc = hsipc_poll(ep_, &batch_[0], 0)) == HSIPC_EAGAIN) idle(s_);
            taken_ = 1;
        } else {
            while ((rc = hsipc_poll_batch(ep_, batch_.data(), batch_.size(), 0, kLingerNs, &taken_)) == HSIPC_EAGAIN) {
                idle(s_);
            }
        }
        if (rc != HSIPC_OK) fail(batch_.size() == 1 ? "hsipc_poll" : "hsipc_poll_batch", rc);
        next_ = 0;
    }

    const Spec& s_;
    bool send_;
    std::vector<hsipc_msg> batch_;  // taken, then read and released in order
    size_t next_ = 0, taken_ = 0;
};

double median(std::vector<double>& v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// The small workload's publisher: batches of `batch` messages, each
// allocated and written (once, or once per subscriber) before the batch is
// timed; then the time to hand the whole batch over, over batch, is one
// sample. No system call anywhere in the loop (now_ns is the vDSO's).
void run_small_publisher(HsipcPublisher& ch, const Spec& s, Control& c, Barrier& b) {
    c.stage[0] = kOpened;
    b.wait(1);
    ch.connect();
    c.stage[0] = kConnected;
    b.wait(2);
    c.stage[0] = kRunning;
    Flow flow(c, s);
    PublisherResult r;
    const uint32_t batch = s.batch;
    const int copies = ch.copies();
    std::vector<hsipc_off> offs(size_t(batch) * size_t(copies));
    std::vector<double> samples;
    samples.reserve(size_t(s.max_count / batch + 1));
    const int64_t warm_from = now_ns();
    int64_t t_start = 0;
    bool measuring = false;
    for (uint64_t k = 1;; k += batch) {
        flow.wait_for_room(k + batch - 1);
        const int64_t t = now_ns();
        uint64_t first_flags = 0, last_flags = 0;
        if (!measuring && warm_enough(s, k, t - warm_from)) {
            measuring = true;
            t_start = t;
            first_flags = kStartBit;  // the subscribers time from here
        } else if (measuring && enough(s, r.count + batch, t - t_start)) {
            last_flags = kLastBit;
        }
        for (uint32_t j = 0; j < batch; j++) {
            const uint64_t word = (k + j) | (j == 0 ? first_flags : 0) | (j + 1 == batch ? last_flags : 0);
            for (int copy = 0; copy < copies; copy++) {
                fill_message(ch.begin(s.size, copy), s.size, word);
                offs[size_t(j) * size_t(copies) + size_t(copy)] = ch.last_allocated(copy);
            }
        }
        const int64_t t0 = now_ns();
        for (uint32_t j = 0; j < batch; j++) {
            for (int copy = 0; copy < copies; copy++) {
                ch.hand_over(offs[size_t(j) * size_t(copies) + size_t(copy)], s.size, copy);
            }
        }
        const int64_t t1 = now_ns();
        if (measuring && first_flags == 0) {
            samples.push_back(double(t1 - t0) / batch);
            r.count += batch;
        }
        r.cpus.sample();
        if (last_flags) break;
    }
    r.ns_per_message = median(samples);
    c.publisher = r;
    c.stage[0] = kDone;
    b.wait(3);
    ch.close();
}

class Hsipc final : public Mechanism {
public:
    explicit Hsipc(bool send) : send_(send) {}
    const char* name() const override { return send_ ? "hsipc-send" : "hsipc-publish"; }
    const char* description() const override {
        return send_ ? "today's way without topics: per frame and subscriber hsipc_alloc, write it in full, "
                       "hsipc_send_offset (n allocations, n writes, n sends); receivers hsipc_poll(…, 0)"
                     : "topics: hsipc_alloc, write the frame once, hsipc_publish to every subscriber; each "
                       "hsipc_poll(…, 0)-s the shared buffer, reads it in place, hsipc_release";
    }
    bool runs(Workload) const override { return true; }
    void prepare(const Spec& s) override {
        tag_ = s.tag;
        hsipc_unlink(tag_.c_str());  // a leftover of that name would bring its own configuration
    }
    void publish(const Spec& s, Control& c, Barrier& b) override {
        HsipcPublisher ch(s, send_);
        if (s.workload == Workload::Small) {
            run_small_publisher(ch, s, c, b);
        } else {
            run_frame_publisher(ch, s, c, b);
        }
    }
    void subscribe(int index, const Spec& s, Control& c, Barrier& b) override {
        HsipcSubscriber ch(s, send_, index);
        run_frame_subscriber(ch, index, s, c, b);  // frames or small alike
    }
    void cleanup() noexcept override {
        if (!tag_.empty()) hsipc_unlink(tag_.c_str());  // normally gone already (connect)
        tag_.clear();
    }

private:
    bool send_;
    std::string tag_;
};

}  // namespace

std::unique_ptr<Mechanism> make_hsipc_publish() { return std::make_unique<Hsipc>(false); }
std::unique_ptr<Mechanism> make_hsipc_send() { return std::make_unique<Hsipc>(true); }

}  // namespace bench::pubsub
