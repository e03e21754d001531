// SPDX-License-Identifier: MIT
// hsipc through its public C API only, as an application would use it.
//
// Each child attaches to the case's region itself after fork (the region is
// created by whichever attaches first) and opens its endpoint, "ping" or
// "pong". The sender allocates a buffer (hsipc_alloc), writes the message in
// place (hsipc_ptr), and sends the offset; the receiver reads the message in
// place (msg.data) and releases the buffer. The echo side releases the
// request and allocates a new buffer for the reply, like every other
// mechanism's echo writes a new message.
//
// Round trip, for latency: hsipc_poll, with timeout 0 in a spin loop
// (polling) or a 10 s timeout (blocking: the library spins briefly, then
// sleeps on a futex). Streaming, for throughput: hsipc_poll_batch, which
// takes a batch of up to a quarter of the queue depth (at most 256) once
// that many are queued or 50 us have passed since the first, with the same
// timeouts; the messages are then read and released one by one. A full
// inbox (HSIPC_EFULL) or an exhausted pool (HSIPC_ENOMEM) makes the sender
// retry: hsipc has no blocking send.
#include <hsipc.h>

#include <algorithm>
#include <string>
#include <vector>

#include "../driver.h"
#include "registry.h"

namespace bench {
namespace {

constexpr int64_t kBlockingTimeoutNs = 10'000'000'000;
constexpr int64_t kBatchLingerNs = 50'000;
constexpr size_t kMaxBatch = 256;

// Streaming batches: big enough that the consumer stays lines behind the
// producer, small enough that the producer never waits for free buffers.
size_t batch_size(const CaseSpec& s) {
    return s.mode == Mode::Stream ? std::clamp<size_t>(s.depth / 4, 1, kMaxBatch) : 1;
}

[[noreturn]] void fail(const char* what, int rc) { throw Error(std::string(what) + ": " + hsipc_strerror(rc)); }

const char* endpoint_name(Role r) { return r == Role::Ping ? "ping" : "pong"; }

// Pools for every size of the run, in ascending order.
hsipc_config region_config(const std::vector<size_t>& sizes) {
    hsipc_config cfg;
    hsipc_config_init(&cfg);
    cfg.inbox_capacity = kInboxCapacity;
    std::vector<size_t> sorted(sizes);
    std::sort(sorted.begin(), sorted.end());
    sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
    if (sorted.size() > HSIPC_MAX_POOLS) throw Error("hsipc: more sizes than HSIPC_MAX_POOLS pools");
    cfg.pool_count = uint32_t(sorted.size());
    for (size_t i = 0; i < sorted.size(); i++) {
        cfg.pools[i] = hsipc_pool_config{sorted[i], pool_buffers(sorted[i]), 0};
    }
    return cfg;
}

class Channel {
public:
    Channel(const CaseSpec& s, Role role, bool blocking)
        : name_(s.tag), role_(role), timeout_(blocking ? kBlockingTimeoutNs : 0), batch_(batch_size(s)) {
        const hsipc_config cfg = region_config(s.run_sizes);
        int rc = hsipc_attach(name_.c_str(), &cfg, &region_);
        if (rc != HSIPC_OK) fail("hsipc_attach", rc);
        rc = hsipc_endpoint_open(region_, endpoint_name(role), &ep_);
        if (rc != HSIPC_OK) fail("hsipc_endpoint_open", rc);
    }
    ~Channel() {
        if (region_) hsipc_detach(region_);  // error path only; close() reports errors
    }
    Channel(const Channel&) = delete;
    Channel& operator=(const Channel&) = delete;

    void connect() {
        const Role other = role_ == Role::Ping ? Role::Pong : Role::Ping;
        int rc = hsipc_lookup(region_, endpoint_name(other), &peer_);
        if (rc != HSIPC_OK) fail("hsipc_lookup", rc);
        // Both processes are attached: the name can go now, so that nothing
        // is left in /dev/shm even if the whole benchmark is killed.
        if (role_ == Role::Ping) {
            rc = hsipc_unlink(name_.c_str());
            if (rc != HSIPC_OK) fail("hsipc_unlink", rc);
        }
    }
    void* begin_send(size_t n) {
        int rc;
        while ((rc = hsipc_alloc(region_, n, &out_)) == HSIPC_ENOMEM) spin_pause();
        if (rc != HSIPC_OK) fail("hsipc_alloc", rc);
        void* p = hsipc_ptr(region_, out_);
        if (!p) throw Error("hsipc_ptr: NULL for a buffer just allocated");
        return p;
    }
    void end_send(size_t n) {
        int rc;
        while ((rc = hsipc_send_offset(ep_, peer_, out_, n)) == HSIPC_EFULL) spin_pause();
        if (rc != HSIPC_OK) fail("hsipc_send_offset", rc);
    }
    const void* receive(size_t n) {
        if (next_ == taken_) {
            if (batch_.size() == 1) {
                poll_one();
            } else {
                poll_batch();
            }
        }
        const hsipc_msg& m = batch_[next_];
        if (m.length != n) throw Error("hsipc: message of " + std::to_string(m.length) + " bytes");
        return m.data;
    }
    void end_receive() {
        int rc = hsipc_release(region_, batch_[next_++].off);
        if (rc != HSIPC_OK) fail("hsipc_release", rc);
    }
    void close() {
        int rc = hsipc_endpoint_close(ep_);
        if (rc != HSIPC_OK) fail("hsipc_endpoint_close", rc);
        hsipc_region* r = region_;
        region_ = nullptr;
        rc = hsipc_detach(r);
        if (rc != HSIPC_OK) fail("hsipc_detach", rc);
    }

private:
    void poll_one() {
        int rc;
        if (timeout_ == 0) {
            while ((rc = hsipc_poll(ep_, &batch_[0], 0)) == HSIPC_EAGAIN) spin_pause();
        } else {
            rc = hsipc_poll(ep_, &batch_[0], timeout_);
        }
        if (rc != HSIPC_OK) fail("hsipc_poll", rc);
        next_ = 0;
        taken_ = 1;
    }
    void poll_batch() {
        int rc;
        while ((rc = hsipc_poll_batch(ep_, batch_.data(), batch_.size(), timeout_, kBatchLingerNs, &taken_)) ==
                   HSIPC_EAGAIN &&
               timeout_ == 0) {
            spin_pause();
        }
        if (rc != HSIPC_OK) fail("hsipc_poll_batch", rc);
        next_ = 0;
    }

    std::string name_;
    Role role_;
    int64_t timeout_;
    hsipc_region* region_ = nullptr;
    hsipc_endpoint* ep_ = nullptr;
    hsipc_id peer_ = 0;
    hsipc_off out_ = 0;
    std::vector<hsipc_msg> batch_;  // taken, read and released in order
    size_t next_ = 0, taken_ = 0;
};

class Hsipc final : public Mechanism {
public:
    explicit Hsipc(bool blocking) : blocking_(blocking) {}
    const char* name() const override { return blocking_ ? "hsipc-blocking" : "hsipc-polling"; }
    const char* description() const override {
        return blocking_ ? "hsipc, receiver in hsipc_poll with a 10 s timeout (spins briefly, then futex); "
                           "streaming: hsipc_poll_batch, same timeout, 50 us linger"
                         : "hsipc, receiver spinning on hsipc_poll(timeout 0); "
                           "streaming: on hsipc_poll_batch(timeout 0, 50 us linger)";
    }
    SideResult run(Role role, const CaseSpec& s, Rendezvous& rv) override {
        Channel ch(s, role, blocking_);
        return drive(ch, role, s, rv);
    }
    void prepare(const CaseSpec& s) override {
        tag_ = s.tag;
        hsipc_unlink(tag_.c_str());  // a leftover of that name would bring its own configuration
    }
    void cleanup() noexcept override {
        // Normally gone already (see connect); this covers failed cases.
        if (!tag_.empty()) hsipc_unlink(tag_.c_str());
        tag_.clear();
    }

private:
    bool blocking_;
    std::string tag_;
};

}  // namespace

std::unique_ptr<Mechanism> make_hsipc(bool blocking) { return std::make_unique<Hsipc>(blocking); }

}  // namespace bench
