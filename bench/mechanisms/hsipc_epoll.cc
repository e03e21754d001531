// SPDX-License-Identifier: MIT
// hsipc with the receiver in epoll_wait on its endpoint's fd, as an event
// loop waits (include/hsipc.h, hsipc_endpoint_fd): take what the inbox
// holds with hsipc_poll(…, 0), arm with hsipc_endpoint_arm (1: a message
// came meanwhile, take it), then epoll_wait. A sender that finds the
// receiver armed makes its fd readable with one datagram, so every message
// of a round trip costs a wake-up, as it does over a pipe or a socket.
//
// hsipc-futex, for reference, is the same with the receiver asleep in
// hsipc_poll with a timeout and no spin (hsipc_endpoint_set_spin 0): every
// message also costs a wake-up, through the futex in the region. The two
// apart say what the fd adds to the cost of sleeping itself.
//
// Otherwise as hsipc-polling (mechanisms/hsipc.cc): each child attaches
// after fork, the sender writes the message in place in a buffer from
// hsipc_alloc and sends its offset, the receiver reads it in place and
// releases it, and the echo allocates a new buffer for its reply.
#include <hsipc.h>

#include <algorithm>
#include <string>
#include <vector>

#include "../driver.h"
#include "epoll.h"

namespace bench {
namespace {

[[noreturn]] void fail(const char* what, int rc) { throw Error(std::string(what) + ": " + hsipc_strerror(rc)); }

const char* endpoint_name(Role r) { return r == Role::Ping ? "ping" : "pong"; }

// Pools for every size of the run, as hsipc-polling's.
hsipc_config region_config(const std::vector<size_t>& sizes) {
    hsipc_config cfg;
    hsipc_config_init(&cfg);
    cfg.inbox_capacity = kInboxCapacity;
    std::vector<size_t> sorted(sizes);
    std::sort(sorted.begin(), sorted.end());
    sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
    if (sorted.size() > HSIPC_MAX_POOLS) throw Error("hsipc: more sizes than HSIPC_MAX_POOLS pools");
    cfg.pool_count = uint32_t(sorted.size());
    for (size_t i = 0; i < sorted.size(); i++) cfg.pools[i] = hsipc_pool_config{sorted[i], pool_buffers(sorted[i]), 0};
    return cfg;
}

constexpr int64_t kFutexTimeoutNs = 10'000'000'000;

class Channel {
public:
    Channel(const CaseSpec& s, Role role, bool epoll) : name_(s.tag), role_(role), epoll_wait_(epoll) {
        const hsipc_config cfg = region_config(s.run_sizes);
        int rc = hsipc_attach(name_.c_str(), &cfg, &region_);
        if (rc != HSIPC_OK) fail("hsipc_attach", rc);
        rc = hsipc_endpoint_open(region_, endpoint_name(role), &ep_);
        if (rc != HSIPC_OK) fail("hsipc_endpoint_open", rc);
        if (!epoll_wait_) {
            rc = hsipc_endpoint_set_spin(ep_, 0);
            if (rc != HSIPC_OK) fail("hsipc_endpoint_set_spin", rc);
            return;
        }
        int fd;
        rc = hsipc_endpoint_fd(ep_, &fd);
        if (rc != HSIPC_OK) fail("hsipc_endpoint_fd", rc);
        epoll_.add(fd, EPOLLIN);
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
        // Both are attached: the name can go, so nothing is left behind even
        // if the whole benchmark is killed (the wake sockets go with it).
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
    // The loop of include/hsipc.h, one message at a time.
    const void* receive(size_t n) {
        if (!epoll_wait_) {
            const int rc = hsipc_poll(ep_, &msg_, kFutexTimeoutNs);
            if (rc != HSIPC_OK) fail("hsipc_poll", rc);
        }
        while (epoll_wait_) {
            int rc = hsipc_poll(ep_, &msg_, 0);
            if (rc == HSIPC_OK) break;
            if (rc != HSIPC_EAGAIN) fail("hsipc_poll", rc);
            rc = hsipc_endpoint_arm(ep_);
            if (rc == 1) continue;
            if (rc != HSIPC_OK) fail("hsipc_endpoint_arm", rc);
            epoll_.wait();
        }
        if (msg_.length != n) throw Error("hsipc: message of " + std::to_string(msg_.length) + " bytes");
        return msg_.data;
    }
    void end_receive() {
        int rc = hsipc_release(region_, msg_.off);
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
    std::string name_;
    Role role_;
    bool epoll_wait_;  // else hsipc-futex
    hsipc_region* region_ = nullptr;
    hsipc_endpoint* ep_ = nullptr;
    hsipc_id peer_ = 0;
    hsipc_off out_ = 0;
    hsipc_msg msg_ = {};
    EpollSet epoll_;
};

class HsipcEpoll final : public Mechanism {
public:
    explicit HsipcEpoll(bool epoll) : epoll_(epoll) {}
    const char* name() const override { return epoll_ ? "hsipc-epoll" : "hsipc-futex"; }
    const char* description() const override {
        return epoll_ ? "hsipc, receiver drains with hsipc_poll(timeout 0), arms (hsipc_endpoint_arm) and sleeps "
                        "in epoll_wait on hsipc_endpoint_fd"
                      : "hsipc, receiver asleep in hsipc_poll(10 s timeout) with spin 0: a futex wake-up per message";
    }
    SideResult run(Role role, const CaseSpec& s, Rendezvous& rv) override {
        Channel ch(s, role, epoll_);
        return drive(ch, role, s, rv);
    }
    void prepare(const CaseSpec& s) override {
        tag_ = s.tag;
        hsipc_unlink(tag_.c_str());  // a leftover of that name would bring its own configuration
    }
    void cleanup() noexcept override {
        if (!tag_.empty()) hsipc_unlink(tag_.c_str());  // normally gone already (see connect)
        tag_.clear();
    }

private:
    bool epoll_;
    std::string tag_;
};

}  // namespace

std::unique_ptr<Mechanism> make_hsipc_epoll() { return std::make_unique<HsipcEpoll>(true); }
std::unique_ptr<Mechanism> make_hsipc_futex() { return std::make_unique<HsipcEpoll>(false); }

}  // namespace bench
