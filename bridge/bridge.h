// SPDX-License-Identifier: MIT
// The bridge: one per host, attached to the local region, linked to peer
// bridges over ZeroMQ. It forwards what local processes send to proxy
// endpoints (local.h) to the peer that owns the real endpoint, and delivers
// what peers forward into local inboxes. docs/bridge.md describes the
// behaviour; wire.h the frames.
//
// Single-threaded: one loop polls the ZeroMQ sockets (with CURVE, the ZAP
// handler's too: curve.h), the proxies' fds and a signalfd. ZeroMQ's own I/O thread only releases buffers whose bytes it
// has sent (hsipc_release is thread-safe).
#pragma once

#include <zmq.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "counters.h"
#include "curve.h"
#include "keys.h"
#include "local.h"
#include "options.h"
#include "stats_format.h"
#include "stats_page.h"
#include "topics.h"

namespace hsipc_bridge {

struct Peer;

class Bridge {
public:
    // keys: CURVE, where keys.enabled (curve_complete has filled them in).
    explicit Bridge(const Options& opt, const CurveKeys& keys = CurveKeys());
    ~Bridge();
    Bridge(const Bridge&) = delete;
    Bridge& operator=(const Bridge&) = delete;

    // Attaches to the region, binds and connects; false with *error.
    bool start(std::string* error);
    // Serves until SIGTERM or SIGINT arrives on signal_fd (a signalfd that
    // also carries SIGUSR1: print the counters); false with *error on a
    // failure that stops it.
    bool run(int signal_fd, std::string* error);
    // Says BYE to the peers, lets ZeroMQ flush for up to half a second,
    // and detaches; the destructor does it where the caller did not.
    void stop();
    // The counters as one line (docs/bridge.md, "Counters").
    std::string stats_line() const;

private:
    struct Monitor;
    void log(const char* fmt, ...) const __attribute__((format(printf, 2, 3)));
    Gauges gauges() const;
    bool setup_socket(void* socket, const std::string& address, std::string* error);
    bool add_monitor(void* socket, std::string* error);
    bool authenticated_as(zmq_msg_t& first_part, const Peer& p) const;
    void answer_zap();

    // Links.
    bool connected(const Peer& p) const;
    int send_frame(Peer& p, zmq_msg_t* header, zmq_msg_t* payload);
    void send_control(Peer& p, const std::vector<uint8_t>& frame);
    void send_hello(Peer& p);
    bool send_pending(Peer& p);
    void drop_pending(Peer& p, uint64_t* drop);
    void queue_frame(Peer& p, zmq_msg_t* header, zmq_msg_t* payload, uint32_t messages);
    void flush_batch(Peer& p);
    bool receive(void* socket, bool router, Peer* dealer_peer);
    void on_frame(zmq_msg_t* parts, size_t count, const std::string* route, Peer* dealer_peer);
    void on_hello(Peer& p, const wire::Frame& f);
    bool routable(const Peer& p, std::string_view dst) const;
    void on_msg(Peer& p, std::string_view src, std::string_view dst, const uint8_t* payload, uint32_t size);
    void on_batch(Peer& p, const wire::Frame& f, const Peer* dealer_peer);
    void refuse(wire::Refusal reason, const Peer* dealer_peer);
    void read_monitor(Monitor& m);
    Peer* find_peer(std::string_view host);
    void peer_up(Peer& p);
    void peer_down(Peer& p, const char* why);

    // Proxies.
    Proxy* sender_proxy(Peer& p, std::string_view src);
    bool drain(Peer& p);
    void forward(Peer& p, Proxy& px, const hsipc_msg& msg);
    void add_reply_route(Peer& p, const std::string& name);

    // Topics (docs/bridge.md, "Topics").
    void on_topic(Peer& p, const wire::Frame& f);
    bool drain_topic(Topic& t);
    bool drain_topics();
    void forward_topic(const Topic& t, const hsipc_msg& msg);

    Options opt_;
    CurveKeys keys_;
    ZapHandler zap_;
    uint64_t unknown_keys_logged_ = 0;
    Counters counters_;
    StatsPage stats_page_;  // counters_ for hsipc-bridge --stats, and this bridge's lock on its name
    Local local_;
    Topics topics_;  // after local_: closed before the region is detached
    uint64_t session_ = 0;
    uint64_t max_payload_ = 0;
    std::vector<uint8_t> hello_, bye_;
    std::set<std::string, std::less<>> exports_;
    void* ctx_ = nullptr;
    void* router_ = nullptr;
    std::vector<std::unique_ptr<Peer>> peers_;
    std::vector<std::unique_ptr<Monitor>> monitors_;
    int64_t now_ns_ = 0;
    int64_t next_hello_ns_ = 0;
    uint64_t refusals_logged_[size_t(wire::Refusal::count_)] = {};
    wire::Frame frame_;  // 4 KiB of views: kept here rather than on the stack
};

}  // namespace hsipc_bridge
