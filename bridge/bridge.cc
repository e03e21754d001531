// SPDX-License-Identifier: MIT
#include "bridge.h"

#include <sys/random.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>

namespace hsipc_bridge {

// One configured peer bridge and everything we keep about it.
struct Peer {
    PeerConfig cfg;
    void* dealer = nullptr;  // our connection to it, where it has an address
    std::string route;       // else its connection to our ROUTER, once it spoke
    bool up = false;         // heard from within peer_timeout
    int64_t last_heard_ns = 0;
    uint64_t hello_session = 0;
    wire::Sequence seq_in;
    uint64_t seq_out = 0;  // the last MSG number we gave it
    // Topics it accepts, as its last HELLO listed them (kept while it is
    // down: what it misses meanwhile is counted).
    std::set<std::string, std::less<>> topics;
    wire::Sequence topic_seq_in;
    uint64_t topic_seq_out = 0;  // the last TOPIC number we gave it
    bool need_hello = true;
    // PEER.REMOTE proxies by REMOTE; "" is the host proxy PEER.
    std::map<std::string, std::unique_ptr<Proxy>, std::less<>> proxies;
    std::set<std::string> open_failures_logged;
    // Local senders that sent to this peer: it may send to them (replies).
    std::set<std::string, std::less<>> reply_routes;
    std::deque<std::string> reply_order;
    // Frames numbered and built that ZeroMQ would not take yet (high-water
    // mark, no connection), oldest first: at most a BATCH and a MSG.
    // A deque, since a zmq_msg_t must not move once initialised.
    struct Outgoing {
        zmq_msg_t header;
        zmq_msg_t payload;
        uint32_t messages;  // 1, or a BATCH's count
    };
    std::deque<Outgoing> outgoing;
    int64_t pending_since_ns = 0;  // when the oldest of them was first refused
    bool pending() const { return !outgoing.empty(); }
    // Small messages copied out of their buffers, to go in one BATCH frame
    // (not yet numbered): one ZeroMQ message for many, docs/bridge.md
    // "Wire format". kBatchBytes of malloc's, made at the first, handed to
    // ZeroMQ where that saves a copy.
    uint8_t* batch = nullptr;
    size_t batch_used = 0;
    uint32_t batch_count = 0;
    // The last local sender forwarded from, and its name (ids are never reused).
    hsipc_id last_from = 0;
    std::string last_src;

    Peer() = default;
    Peer(const Peer&) = delete;
    Peer& operator=(const Peer&) = delete;
    ~Peer() { std::free(batch); }
};

struct Bridge::Monitor {
    void* pair = nullptr;
    void* watched = nullptr;
};

namespace {

constexpr size_t kDrainBatch = 256;        // messages from one proxy per turn
constexpr size_t kTopicDrainBatch = 64;    // publications from one subscription per turn
constexpr uint32_t kBatchedMax = 2048;     // larger messages travel alone, without a copy
constexpr size_t kBatchCopiedMax = 4096;   // larger batches are handed to ZeroMQ, not copied
constexpr size_t kReceiveBatch = 256;      // frames from one socket per turn
constexpr size_t kMaxReplyRoutes = 1024;   // per peer
constexpr uint64_t kRefusalsLogged = 10;   // per reason; after that only counted
constexpr int64_t kRetryNs = 2000000;      // full local inboxes and ROUTER back-pressure: look again
constexpr long kHoldRetryNs = 50000;       // the same while holding the links back (Local::holding_back)
constexpr int kLingerMs = 500;             // at exit, for BYE and frames in flight

int64_t monotonic_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// ZeroMQ frees a forwarded payload (a buffer in the region, sent without a
// copy) from its I/O thread once the bytes are out, or when it drops the
// frame. One bridge per process, so one region.
hsipc_region* g_release_region = nullptr;
static_assert(sizeof(void*) >= sizeof(hsipc_off), "the buffer's offset travels as ZeroMQ's hint");

void release_payload(void*, void* hint) { hsipc_release(g_release_region, hsipc_off(uintptr_t(hint))); }

void free_batch(void* data, void*) { std::free(data); }

int ms_ceil(int64_t ns) { return ns <= 0 ? 0 : int(std::min<int64_t>((ns + 999999) / 1000000, 1 << 30)); }

}  // namespace

Bridge::Bridge(const Options& opt, const CurveKeys& keys)
    : opt_(opt), keys_(keys), local_(&counters_, opt.retry_queue, stall_ns(opt)), topics_(&counters_) {
    for (const std::string& e : opt_.exports) exports_.insert(e);
}

Bridge::~Bridge() { stop(); }

void Bridge::log(const char* fmt, ...) const {
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    std::vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    std::fprintf(stderr, "hsipc-bridge[%s]: %s\n", opt_.host.c_str(), text);
}

bool Bridge::setup_socket(void* socket, const std::string& address, std::string* error) {
    const int hwm = int(opt_.hwm);
    const int64_t max_part =
        int64_t(std::max<uint64_t>(max_payload_, wire::kHeaderMax)) + (keys_.enabled ? kCurvePartOverhead : 0);
    const int heartbeat_ms = ms_ceil(opt_.heartbeat_ns), timeout_ms = ms_ceil(opt_.peer_timeout_ns);
    // Reconnecting backs off from reconnect_ms up to half a peer_timeout
    // (at most 1 s), so a peer that returns is found within about that.
    const int linger = 0, reconnect_ms = std::min(100, heartbeat_ms);
    const int reconnect_max_ms = std::max(reconnect_ms, std::min(1000, timeout_ms / 2));
    // IPv6 only for an IPv6 address: otherwise an IPv4 listener would be
    // a dual-stack one, and name itself tcp://[::ffff:127.0.0.1]:PORT.
    const int ipv6 = address.find('[') != std::string::npos ? 1 : 0;
    // max_part bounds what ZeroMQ allocates for any one part a peer sends;
    // a longer one ends that connection (counted in disconnects).
    if (zmq_setsockopt(socket, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0 ||
        zmq_setsockopt(socket, ZMQ_RCVHWM, &hwm, sizeof hwm) != 0 ||
        zmq_setsockopt(socket, ZMQ_MAXMSGSIZE, &max_part, sizeof max_part) != 0 ||
        zmq_setsockopt(socket, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(socket, ZMQ_HEARTBEAT_IVL, &heartbeat_ms, sizeof heartbeat_ms) != 0 ||
        zmq_setsockopt(socket, ZMQ_HEARTBEAT_TIMEOUT, &timeout_ms, sizeof timeout_ms) != 0 ||
        zmq_setsockopt(socket, ZMQ_RECONNECT_IVL, &reconnect_ms, sizeof reconnect_ms) != 0 ||
        zmq_setsockopt(socket, ZMQ_RECONNECT_IVL_MAX, &reconnect_max_ms, sizeof reconnect_max_ms) != 0 ||
        zmq_setsockopt(socket, ZMQ_IPV6, &ipv6, sizeof ipv6) != 0) {
        *error = std::string("ZeroMQ socket options: ") + zmq_strerror(zmq_errno());
        return false;
    }
    return true;
}

bool Bridge::add_monitor(void* socket, std::string* error) {
    const std::string address = "inproc://monitor-" + std::to_string(monitors_.size());
    const int events = ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                       ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
    auto m = std::make_unique<Monitor>();
    m->watched = socket;
    m->pair = zmq_socket(ctx_, ZMQ_PAIR);
    if (!m->pair || zmq_socket_monitor(socket, address.c_str(), events) != 0 ||
        zmq_connect(m->pair, address.c_str()) != 0) {
        if (m->pair) zmq_close(m->pair);
        *error = std::string("ZeroMQ socket monitor: ") + zmq_strerror(zmq_errno());
        return false;
    }
    monitors_.push_back(std::move(m));
    return true;
}

// The ZAP handler put the admitted peer's host name on its connection.
bool Bridge::authenticated_as(zmq_msg_t& first_part, const Peer& p) const {
    const char* user = zmq_msg_gets(&first_part, "User-Id");
    return user && p.cfg.name == user;
}

void Bridge::answer_zap() {
    zap_.answer(&counters_.unknown_keys, [this](const std::string& address, const std::string& key) {
        if (unknown_keys_logged_++ < kRefusalsLogged) {
            log("refused a connection from %s: its key %s is no configured peer's%s", address.c_str(), key.c_str(),
                unknown_keys_logged_ == kRefusalsLogged ? " (no more of these are logged, only counted)" : "");
        }
    });
}

bool Bridge::start(std::string* error) {
    int rc = local_.attach(opt_.region);
    if (rc != HSIPC_OK) {
        *error = "cannot attach to region " + opt_.region + ": " + hsipc_strerror(rc);
        return false;
    }
    g_release_region = local_.region();
    // Before anything that a second bridge of this name would disturb
    // (its topics' subscriptions, its listener): it stops here.
    std::string warning;
    if (!stats_page_.open(opt_.region, opt_.host, counters_, gauges(), &warning, error)) return false;
    if (!warning.empty()) log("%s", warning.c_str());
    std::string topic;
    rc = topics_.open(local_.region(), opt_.host, opt_.export_topics, &topic);
    if (rc != HSIPC_OK) {
        *error = "cannot export topic " + topic + ": " + hsipc_strerror(rc);
        return false;
    }
    max_payload_ = opt_.max_message ? opt_.max_message : local_.largest_buffer();
    while (session_ == 0) {
        if (getrandom(&session_, sizeof session_, 0) != ssize_t(sizeof session_)) session_ = uint64_t(monotonic_ns());
    }
    if (!wire::encode_hello(session_, opt_.host, opt_.exports, opt_.export_topics, &hello_) ||
        !wire::encode_bye(session_, opt_.host, &bye_)) {
        *error = "cannot encode HELLO";  // validate() rules this out
        return false;
    }
    ctx_ = zmq_ctx_new();
    if (!ctx_) {
        *error = std::string("ZeroMQ: ") + zmq_strerror(zmq_errno());
        return false;
    }
    // The ZAP handler first: a CURVE listener without one would let every key in.
    if (keys_.enabled) {
        if (!zap_.bind(ctx_, keys_.peers, error)) return false;
        log("CURVE on; this bridge's public key is %s", z85_encode_key(keys_.public_key).c_str());
    }
    if (!opt_.listen.empty()) {
        router_ = zmq_socket(ctx_, ZMQ_ROUTER);
        const int mandatory = 1;  // EAGAIN at the high-water mark and EHOSTUNREACH, never a silent drop
        if (!router_ || !setup_socket(router_, opt_.listen, error) ||
            zmq_setsockopt(router_, ZMQ_ROUTER_MANDATORY, &mandatory, sizeof mandatory) != 0 ||
            (keys_.enabled && !curve_server(router_, keys_, error)) || !add_monitor(router_, error)) {
            if (error->empty()) *error = std::string("ZeroMQ: ") + zmq_strerror(zmq_errno());
            return false;
        }
        if (zmq_bind(router_, bind_address(opt_.listen).c_str()) != 0) {
            *error = "cannot listen on " + opt_.listen + ": " + zmq_strerror(zmq_errno());
            return false;
        }
        char bound[256];
        size_t size = sizeof bound;
        if (zmq_getsockopt(router_, ZMQ_LAST_ENDPOINT, bound, &size) == 0) log("listening on %s", bound);
        if (!keys_.enabled && !is_loopback_address(opt_.listen)) {
            log("warning: listening beyond loopback without CURVE: whoever reaches %s can pass for a peer "
                "(docs/security.md, \"hsipc-bridge\")", opt_.listen.c_str());
        }
    }
    for (const PeerConfig& cfg : opt_.peers) {
        auto p = std::make_unique<Peer>();
        p->cfg = cfg;
        if (!cfg.address.empty()) {
            p->dealer = zmq_socket(ctx_, ZMQ_DEALER);
            const int immediate = 1;  // no queueing for a connection not yet made: EAGAIN instead
            if (!p->dealer || !setup_socket(p->dealer, cfg.address, error) ||
                zmq_setsockopt(p->dealer, ZMQ_IMMEDIATE, &immediate, sizeof immediate) != 0 ||
                (keys_.enabled && !curve_client(p->dealer, keys_, keys_.peers[cfg.name], error)) ||
                !add_monitor(p->dealer, error)) {
                if (error->empty()) *error = std::string("ZeroMQ: ") + zmq_strerror(zmq_errno());
                return false;
            }
            if (zmq_connect(p->dealer, cfg.address.c_str()) != 0) {
                *error = "cannot connect to " + cfg.name + " at " + cfg.address + ": " + zmq_strerror(zmq_errno());
                return false;
            }
        }
        peers_.push_back(std::move(p));
    }
    log("region %s, session %016llx, %zu peer(s), %zu export(s), %zu topic(s), max_message %llu",
        opt_.region.c_str(), (unsigned long long)session_, peers_.size(), opt_.exports.size(),
        opt_.export_topics.size(), (unsigned long long)max_payload_);
    return true;
}

void Bridge::stop() {
    if (ctx_) {
        const int linger = kLingerMs;
        // Proxies close first, so local senders get HSIPC_EPEER at once;
        // what they and the retry queues still hold is counted.
        for (auto& p : peers_) {
            for (auto& entry : p->proxies) local_.close_proxy(entry.second.get(), &counters_.dropped_stopped);
            p->proxies.clear();
            drop_pending(*p, &counters_.dropped_stopped);
            if (connected(*p)) send_control(*p, bye_);
        }
        counters_.dropped_stopped += local_.queued();
        for (auto& m : monitors_) {
            zmq_socket_monitor(m->watched, nullptr, 0);
            zmq_close(m->pair);
        }
        monitors_.clear();
        if (router_) {
            zmq_setsockopt(router_, ZMQ_LINGER, &linger, sizeof linger);
            zmq_close(router_);
            router_ = nullptr;
        }
        for (auto& p : peers_) {
            if (!p->dealer) continue;
            zmq_setsockopt(p->dealer, ZMQ_LINGER, &linger, sizeof linger);
            zmq_close(p->dealer);
            p->dealer = nullptr;
        }
        zap_.close();
        // Returns once every frame is sent or dropped, so every payload
        // ZeroMQ held is released before the region goes, and before the
        // subscriptions whose references those payloads may be close.
        zmq_ctx_term(ctx_);
        ctx_ = nullptr;
    }
    topics_.close(&counters_.topic_dropped_stopped);
    peers_.clear();
    local_.detach();
    g_release_region = nullptr;
    stats_page_.finish(counters_, gauges());
}

// ---- Links ------------------------------------------------------------------

bool Bridge::connected(const Peer& p) const { return p.dealer || (router_ && !p.route.empty()); }

// 0 when ZeroMQ took the frame (and the messages), else an errno with the
// messages still ours: EAGAIN for "not now" (high-water mark, no
// connection yet), which the caller retries.
int Bridge::send_frame(Peer& p, zmq_msg_t* header, zmq_msg_t* payload) {
    void* socket = p.dealer;
    if (!socket) {
        if (!router_ || p.route.empty()) return EAGAIN;
        socket = router_;
        zmq_msg_t route;
        zmq_msg_init_size(&route, p.route.size());
        std::memcpy(zmq_msg_data(&route), p.route.data(), p.route.size());
        if (zmq_msg_send(&route, socket, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
            const int e = zmq_errno();
            zmq_msg_close(&route);
            // EHOSTUNREACH: that connection is gone; the peer reconnects
            // and its next frame names the new one.
            return e == EHOSTUNREACH ? EAGAIN : e;
        }
    } else if (zmq_msg_send(header, socket, (payload ? ZMQ_SNDMORE : 0) | ZMQ_DONTWAIT) < 0) {
        return zmq_errno();
    } else {
        header = nullptr;
    }
    // Past the first part a message is committed: ZeroMQ checks the
    // high-water mark only there, so the rest does not block.
    if (header && zmq_msg_send(header, socket, payload ? ZMQ_SNDMORE : 0) < 0) return zmq_errno();
    if (payload && zmq_msg_send(payload, socket, 0) < 0) return zmq_errno();
    return 0;
}

void Bridge::send_control(Peer& p, const std::vector<uint8_t>& frame) {
    zmq_msg_t m;
    zmq_msg_init_size(&m, frame.size());
    std::memcpy(zmq_msg_data(&m), frame.data(), frame.size());
    const int rc = send_frame(p, &m, nullptr);
    zmq_msg_close(&m);
    if (&frame == &hello_) p.need_hello = rc != 0;
}

void Bridge::send_hello(Peer& p) {
    if (connected(p)) send_control(p, hello_);
}

// Hands ZeroMQ the peer's outgoing frames, oldest first; false while
// some stay (EAGAIN).
bool Bridge::send_pending(Peer& p) {
    while (p.pending()) {
        Peer::Outgoing& o = p.outgoing.front();
        const int rc = send_frame(p, &o.header, &o.payload);
        if (rc == EAGAIN) return false;
        if (rc == 0) {
            counters_.forwarded += o.messages;
        } else {
            counters_.dropped_link += o.messages;
            // The last numbered gives its numbers back; one before others
            // leaves a gap the peer counts as lost.
            if (p.outgoing.size() == 1) p.seq_out -= o.messages;
        }
        zmq_msg_close(&o.header);
        zmq_msg_close(&o.payload);  // where not sent, releases the buffer
        p.outgoing.pop_front();
        p.pending_since_ns = now_ns_;  // the next one's wait starts now
    }
    return true;
}

// Lets go of everything the bridge holds for the peer, counted under
// `drop`: the outgoing frames and the batch being filled.
void Bridge::drop_pending(Peer& p, uint64_t* drop) {
    for (Peer::Outgoing& o : p.outgoing) {
        zmq_msg_close(&o.header);
        zmq_msg_close(&o.payload);  // releases the buffer
        // They are the last numbered: the next frame takes their numbers.
        p.seq_out -= o.messages;
        *drop += o.messages;
    }
    p.outgoing.clear();
    *drop += p.batch_count;
    p.batch_used = 0;
    p.batch_count = 0;
}

// Numbers a built frame (`messages` numbers from seq_out + 1, already in
// its header), queues it behind the peer's outgoing ones and sends what
// ZeroMQ takes. Takes the messages.
void Bridge::queue_frame(Peer& p, zmq_msg_t* header, zmq_msg_t* payload, uint32_t messages) {
    if (!p.pending()) p.pending_since_ns = now_ns_;
    p.outgoing.emplace_back();
    Peer::Outgoing& o = p.outgoing.back();
    zmq_msg_init(&o.header);
    zmq_msg_init(&o.payload);
    zmq_msg_move(&o.header, header);
    zmq_msg_move(&o.payload, payload);
    o.messages = messages;
    p.seq_out += messages;
    if (p.need_hello) send_hello(p);
    send_pending(p);
}

// Sends the batch being filled as one BATCH frame.
void Bridge::flush_batch(Peer& p) {
    if (p.batch_count == 0) return;
    uint8_t header[wire::kMsgHeaderMax];
    const size_t size = wire::encode_batch(session_, opt_.host, p.seq_out + 1, p.batch_count, header);
    zmq_msg_t h, records;
    // A full batch's buffer goes to ZeroMQ, which frees it once sent; a
    // small one is copied, and its buffer kept for the next.
    const bool hand_over = p.batch_used > kBatchCopiedMax;
    if (size == 0 || zmq_msg_init_size(&h, size) != 0) {
        counters_.dropped_link += p.batch_count;  // encode_batch refuses nothing the batch can hold
    } else if (hand_over ? zmq_msg_init_data(&records, p.batch, p.batch_used, free_batch, nullptr) != 0
                         : zmq_msg_init_size(&records, p.batch_used) != 0) {
        zmq_msg_close(&h);
        counters_.dropped_link += p.batch_count;
    } else {
        std::memcpy(zmq_msg_data(&h), header, size);
        if (hand_over) {
            p.batch = nullptr;
        } else {
            std::memcpy(zmq_msg_data(&records), p.batch, p.batch_used);
        }
        queue_frame(p, &h, &records, p.batch_count);
        zmq_msg_close(&h);
        zmq_msg_close(&records);
    }
    p.batch_used = 0;
    p.batch_count = 0;
}

Peer* Bridge::find_peer(std::string_view host) {
    for (auto& p : peers_) {
        if (p->cfg.name == host) return p.get();
    }
    return nullptr;
}

void Bridge::refuse(wire::Refusal reason, const Peer* dealer_peer) {
    const size_t r = size_t(reason);
    counters_.refused_by[r]++;
    if (refusals_logged_[r]++ < kRefusalsLogged) {
        const std::string from =
            dealer_peer ? "our connection to " + dealer_peer->cfg.name : "a connection to our listener";
        log("refused a frame from %s: %s%s", from.c_str(), wire::refusal_sentence(reason),
            refusals_logged_[r] == kRefusalsLogged ? " (no more of these are logged, only counted)" : "");
    }
}

// Frames from one socket, at most kReceiveBatch, and none once a local
// inbox holds the links back; false when it may have more.
bool Bridge::receive(void* socket, bool router, Peer* dealer_peer) {
    for (size_t n = 0; n < kReceiveBatch; n++) {
        int64_t until;
        if (n > 0 && local_.holding_back(now_ns_, &until)) return true;  // the loop polls it again after
        std::string route;
        if (router) {
            zmq_msg_t id;
            zmq_msg_init(&id);
            if (zmq_msg_recv(&id, socket, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&id);
                return true;
            }
            route.assign(static_cast<const char*>(zmq_msg_data(&id)), zmq_msg_size(&id));
            const bool more = zmq_msg_more(&id);
            zmq_msg_close(&id);
            if (!more) continue;
        }
        // Up to kMaxParts + 1 parts are kept; the rest of a longer message
        // is read and let go (ZeroMQ holds a message whole before we see it).
        zmq_msg_t parts[wire::kMaxParts + 1];
        for (zmq_msg_t& m : parts) zmq_msg_init(&m);
        size_t count = 0;
        bool more = true;
        while (more) {
            zmq_msg_t spare;
            zmq_msg_init(&spare);
            zmq_msg_t* into = count < wire::kMaxParts + 1 ? &parts[count] : &spare;
            const int flags = (count == 0 && !router) ? ZMQ_DONTWAIT : 0;
            if (zmq_msg_recv(into, socket, flags) < 0) {
                zmq_msg_close(&spare);
                break;
            }
            more = zmq_msg_more(into);
            if (into == &spare) {
                zmq_msg_close(&spare);
            } else {
                count++;
            }
        }
        if (count > 0) on_frame(parts, count, router ? &route : nullptr, dealer_peer);
        for (zmq_msg_t& m : parts) zmq_msg_close(&m);
        if (count == 0) return true;
    }
    return false;
}

void Bridge::on_frame(zmq_msg_t* parts, size_t count, const std::string* route, Peer* dealer_peer) {
    wire::Part wp[wire::kMaxParts + 1];
    for (size_t i = 0; i < count; i++) {
        wp[i] = {static_cast<const uint8_t*>(zmq_msg_data(&parts[i])), zmq_msg_size(&parts[i])};
    }
    wire::Frame& f = frame_;
    const wire::Refusal r = wire::decode(wp, count, max_payload_, &f);
    if (r != wire::Refusal::none) return refuse(r, dealer_peer);
    Peer* p = find_peer(f.host);
    // The peer we connected to must be the one that answers on that connection.
    if (!p || (dealer_peer && p != dealer_peer)) return refuse(wire::Refusal::unknown_peer, dealer_peer);
    // With CURVE, a listener's connection speaks for the peer whose key it proved.
    if (route && keys_.enabled && !authenticated_as(parts[0], *p)) {
        return refuse(wire::Refusal::unknown_peer, dealer_peer);
    }
    if (f.kind == wire::Kind::msg || f.kind == wire::Kind::batch) {
        uint64_t lost = 0;
        const uint64_t numbers = f.kind == wire::Kind::batch ? f.batch_count : 1;
        if (p->seq_in.accept(f.session, f.seq, &lost, numbers) == wire::Sequence::Verdict::stale) {
            return refuse(wire::Refusal::stale_seq, dealer_peer);
        }
        counters_.lost += lost;
        // A BATCH's destinations are checked one by one (on_batch).
        if (f.kind == wire::Kind::msg && !routable(*p, f.dst)) {
            return refuse(wire::Refusal::bad_destination, dealer_peer);
        }
    } else if (f.kind == wire::Kind::topic) {
        uint64_t lost = 0;
        if (p->topic_seq_in.accept(f.session, f.seq, &lost) == wire::Sequence::Verdict::stale) {
            return refuse(wire::Refusal::stale_seq, dealer_peer);
        }
        counters_.lost += lost;
        // Only topics this bridge exports too: a peer cannot fill the
        // region's topic table (topics live as long as the region).
        if (!topics_.find(f.dst)) return refuse(wire::Refusal::bad_topic, dealer_peer);
    }
    // Only a frame that passed every check moves the peer's state.
    if (route && p->cfg.address.empty() && p->route != *route) {
        p->route = *route;
        log("peer %s connected to us", p->cfg.name.c_str());
        send_hello(*p);
    }
    p->last_heard_ns = now_ns_;
    if (f.kind == wire::Kind::bye) return peer_down(*p, "it said goodbye");
    if (!p->up) peer_up(*p);
    if (f.kind == wire::Kind::hello) return on_hello(*p, f);
    if (f.kind == wire::Kind::topic) return on_topic(*p, f);
    if (f.kind == wire::Kind::batch) return on_batch(*p, f, dealer_peer);
    on_msg(*p, f.src, f.dst, f.payload, f.payload_size);
}

// What a peer may send to: our exports, and the local senders that sent to it.
bool Bridge::routable(const Peer& p, std::string_view dst) const {
    return exports_.count(dst) != 0 || p.reply_routes.count(dst) != 0;
}

void Bridge::on_hello(Peer& p, const wire::Frame& f) {
    if (f.session != p.hello_session) {
        if (p.hello_session) log("peer %s restarted (session %016llx)", p.cfg.name.c_str(), (unsigned long long)f.session);
        p.hello_session = f.session;
    }
    p.topics.clear();
    for (uint32_t i = 0; i < f.topic_count; i++) p.topics.emplace(f.topics[i]);
    std::set<std::string, std::less<>> advertised;
    for (uint32_t i = 0; i < f.export_count; i++) advertised.emplace(f.exports[i]);
    for (const std::string& name : advertised) {
        auto it = p.proxies.find(name);
        if (it != p.proxies.end()) {
            it->second->exported = true;
            continue;
        }
        auto px = std::make_unique<Proxy>();
        px->peer = p.cfg.name;
        px->remote = name;
        px->exported = true;
        const int rc = local_.open_proxy(px.get());
        if (rc != HSIPC_OK) {
            // Tried again at its next HELLO; said once.
            if (p.open_failures_logged.insert(name).second) {
                log("cannot open proxy %s.%s: %s", p.cfg.name.c_str(), name.c_str(),
                    rc == HSIPC_EINVAL ? "name longer than 63 bytes" : hsipc_strerror(rc));
            }
            continue;
        }
        p.proxies.emplace(name, std::move(px));
    }
    for (auto it = p.proxies.begin(); it != p.proxies.end();) {
        Proxy& px = *it->second;
        if (px.exported && advertised.count(px.remote) == 0) px.exported = false;
        if (!px.remote.empty() && !px.exported && !px.sender) {
            local_.close_proxy(&px, &counters_.dropped_unroutable);
            it = p.proxies.erase(it);
        } else {
            ++it;
        }
    }
}

void Bridge::on_msg(Peer& p, std::string_view src, std::string_view dst, const uint8_t* payload, uint32_t size) {
    Proxy* from = sender_proxy(p, src);
    if (!from) {
        counters_.dropped_no_proxy++;
        return;
    }
    from->last_used_ns = now_ns_;
    local_.deliver(from, dst, payload, size, now_ns_);
}

// Each message of a BATCH as if it had come in a MSG of its own; one with
// a destination we do not serve is refused alone.
void Bridge::on_batch(Peer& p, const wire::Frame& f, const Peer* dealer_peer) {
    wire::Records records(f);
    wire::Record r;
    // A batch mostly holds one sender's stream to one destination: the
    // checks and the proxy of the record before hold for the next alike.
    std::string_view last_src, last_dst;
    Proxy* last_from = nullptr;
    while (records.next(&r)) {
        if (!last_from || r.src != last_src || r.dst != last_dst) {
            last_from = nullptr;
            if (!routable(p, r.dst)) {
                refuse(wire::Refusal::bad_destination, dealer_peer);
                continue;
            }
            last_from = sender_proxy(p, r.src);
            if (!last_from) {
                counters_.dropped_no_proxy++;
                continue;
            }
            last_src = r.src;
            last_dst = r.dst;
            last_from->last_used_ns = now_ns_;
        }
        local_.deliver(last_from, r.dst, r.payload, r.payload_size, now_ns_);
    }
}

// A peer's publication: published here from the proxy that stands for its
// publisher, so local subscribers get an ordinary shared message whose
// msg.from a reply can go to.
void Bridge::on_topic(Peer& p, const wire::Frame& f) {
    Proxy* from = sender_proxy(p, f.src);
    if (!from) {
        counters_.topic_dropped_no_proxy++;
        return;
    }
    from->last_used_ns = now_ns_;
    Topic& t = *topics_.find(f.dst);
    topics_.publish(t, from->ep, f.payload, f.payload_size);
    // Our own subscription got it too, and holds the buffer until we let
    // go: at once, not after a whole batch of frames, which could hold a
    // pool's worth of buffers.
    drain_topic(t);
}

void Bridge::read_monitor(Monitor& m) {
    for (;;) {
        zmq_msg_t event, address;
        zmq_msg_init(&event);
        if (zmq_msg_recv(&event, m.pair, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&event);
            return;
        }
        uint16_t id = 0;
        if (zmq_msg_size(&event) >= sizeof id) std::memcpy(&id, zmq_msg_data(&event), sizeof id);
        const bool more = zmq_msg_more(&event);
        zmq_msg_close(&event);
        if (more) {
            zmq_msg_init(&address);
            zmq_msg_recv(&address, m.pair, 0);
            zmq_msg_close(&address);
        }
        if (id == ZMQ_EVENT_DISCONNECTED) {
            counters_.disconnects++;
        } else if (id & (ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                         ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)) {
            counters_.handshake_failures++;
        }
    }
}

void Bridge::peer_up(Peer& p) {
    p.up = true;
    log("peer %s up", p.cfg.name.c_str());
    if (p.need_hello) send_hello(p);
    if (p.proxies.count("") == 0) {
        auto px = std::make_unique<Proxy>();
        px->peer = p.cfg.name;
        const int rc = local_.open_proxy(px.get());
        if (rc == HSIPC_OK) {
            p.proxies.emplace("", std::move(px));
        } else {
            log("cannot open host proxy %s: %s", p.cfg.name.c_str(), hsipc_strerror(rc));
        }
    }
}

void Bridge::peer_down(Peer& p, const char* why) {
    if (!p.up) return;
    p.up = false;
    drop_pending(p, &counters_.dropped_peer_down);
    const size_t proxies = p.proxies.size();
    for (auto& entry : p.proxies) local_.close_proxy(entry.second.get(), &counters_.dropped_peer_down);
    p.proxies.clear();
    p.open_failures_logged.clear();
    if (!p.cfg.address.empty()) p.need_hello = true;
    p.route.clear();
    log("peer %s down: %s; closed its %zu prox%s", p.cfg.name.c_str(), why, proxies, proxies == 1 ? "y" : "ies");
}

// ---- Proxies ----------------------------------------------------------------

Proxy* Bridge::sender_proxy(Peer& p, std::string_view src) {
    auto it = p.proxies.find(src);
    if (it != p.proxies.end()) {
        if (!src.empty()) it->second->sender = true;
        return it->second->ep ? it->second.get() : nullptr;
    }
    if (src.empty()) return nullptr;  // the host proxy could not be opened
    size_t senders = 0;
    Proxy* idlest = nullptr;
    for (auto& entry : p.proxies) {
        Proxy& px = *entry.second;
        if (!px.sender || px.exported) continue;
        senders++;
        if (!idlest || px.last_used_ns < idlest->last_used_ns) idlest = &px;
    }
    if (senders >= opt_.max_proxies) {
        // Room for the new sender by closing the longest-idle one, if it
        // was idle for a peer_timeout; else the message goes.
        if (!idlest || now_ns_ - idlest->last_used_ns < opt_.peer_timeout_ns) return nullptr;
        log("closing idle proxy %s to make room", idlest->name.c_str());
        local_.close_proxy(idlest, &counters_.dropped_unroutable);
        p.proxies.erase(idlest->remote);
    }
    auto px = std::make_unique<Proxy>();
    px->peer = p.cfg.name;
    px->remote = std::string(src);
    px->sender = true;
    const int rc = local_.open_proxy(px.get());
    if (rc != HSIPC_OK) {
        if (p.open_failures_logged.insert(px->remote).second) {
            log("cannot open proxy %s.%s: %s", p.cfg.name.c_str(), px->remote.c_str(),
                rc == HSIPC_EINVAL ? "name longer than 63 bytes" : hsipc_strerror(rc));
        }
        return nullptr;
    }
    Proxy* out = px.get();
    p.proxies.emplace(px->remote, std::move(px));
    return out;
}

void Bridge::add_reply_route(Peer& p, const std::string& name) {
    if (!p.reply_routes.insert(name).second) return;
    p.reply_order.push_back(name);
    if (p.reply_order.size() > kMaxReplyRoutes) {
        p.reply_routes.erase(p.reply_order.front());
        p.reply_order.pop_front();
        p.last_from = 0;  // forward() adds its sender's route again
    }
}

void Bridge::forward(Peer& p, Proxy& px, const hsipc_msg& msg) {
    px.last_used_ns = now_ns_;
    // A published (shared) buffer is not ours to hand on; a host proxy
    // stands for no endpoint.
    if ((msg.flags & HSIPC_MSG_SHARED) || px.remote.empty()) {
        hsipc_release(local_.region(), msg.off);
        counters_.dropped_unroutable++;
        return;
    }
    // A stream comes from few senders: their names and reply routes are
    // looked up once per change of sender, not per message.
    if (msg.from != p.last_from) {
        p.last_from = msg.from;
        p.last_src = local_.sender_name(msg.from);
        if (!p.last_src.empty()) add_reply_route(p, p.last_src);
    }
    const std::string& src = p.last_src;
    const uint32_t length = uint32_t(msg.length);
    // A small message is copied into the peer's batch: one ZeroMQ message
    // for many costs far less than one each (docs/performance.md).
    if (length <= kBatchedMax) {
        if (p.batch_count == wire::kBatchCountMax ||
            p.batch_used + wire::record_size(src, px.remote, length) > wire::kBatchBytes) {
            flush_batch(p);
        }
        if (!p.batch) p.batch = static_cast<uint8_t*>(std::malloc(wire::kBatchBytes));
        const size_t put = p.batch ? wire::put_record(src, px.remote, static_cast<const uint8_t*>(msg.data), length,
                                                      p.batch + p.batch_used, wire::kBatchBytes - p.batch_used)
                                   : 0;
        if (put) {
            p.batch_used += put;
            p.batch_count++;
        } else {
            counters_.dropped_link++;  // no memory (put_record refuses no name hsipc gives)
        }
        hsipc_release(local_.region(), msg.off);
        return;
    }
    // A larger one goes alone, from the region without a copy; what was
    // batched before it goes first.
    flush_batch(p);
    uint8_t header[wire::kMsgHeaderMax];
    const size_t size = wire::encode_msg(session_, opt_.host, p.seq_out + 1, src, px.remote, length, header);
    zmq_msg_t h, payload;
    if (size == 0 || zmq_msg_init_size(&h, size) != 0) {
        hsipc_release(local_.region(), msg.off);
        counters_.dropped_unroutable++;
        return;
    }
    std::memcpy(zmq_msg_data(&h), header, size);
    // ZeroMQ releases the buffer when it is done with it (release_payload).
    if (zmq_msg_init_data(&payload, msg.data, length, release_payload, reinterpret_cast<void*>(uintptr_t(msg.off))) !=
        0) {
        zmq_msg_close(&h);
        hsipc_release(local_.region(), msg.off);
        counters_.dropped_link++;
        return;
    }
    queue_frame(p, &h, &payload, 1);
    zmq_msg_close(&h);
    zmq_msg_close(&payload);
}

// Forwards what the peer's proxies hold, kDrainBatch per proxy, then the
// batch of small ones; true where some proxy may hold more (so the loop
// should not sleep).
bool Bridge::drain(Peer& p) {
    bool more = false;
    for (auto& entry : p.proxies) {
        Proxy& px = *entry.second;
        if (px.armed || !px.ep) continue;
        size_t n = 0;
        hsipc_msg msg;
        while (n < kDrainBatch && !p.pending() && hsipc_poll(px.ep, &msg, 0) == HSIPC_OK) {
            n++;
            forward(p, px, msg);
        }
        // Back-pressure: what the link will not take stays in the proxies'
        // inboxes, and senders get HSIPC_EFULL once they fill. (The batch
        // waits too: it goes once the outgoing frames have.)
        if (p.pending()) return false;
        if (n == kDrainBatch) {
            more = true;
            continue;
        }
        const int rc = hsipc_endpoint_arm(px.ep);
        if (rc == HSIPC_OK) {
            px.armed = true;
        } else if (rc == 1) {
            more = true;  // a message came meanwhile
        }
        // On an error it stays unarmed: the next turn, at most a heartbeat
        // away, looks into it again.
    }
    // Without waiting for more: a batch costs no latency.
    flush_batch(p);
    return more;
}

// ---- Topics -----------------------------------------------------------------

// One local publication to every peer that accepts its topic, each in a
// TOPIC frame of its own whose payload is the shared buffer itself: one
// ZeroMQ message, copied by reference per peer, releases our reference once
// the last peer's copy is sent or dropped. Never waits: a link that will not
// take it now misses it, as a full local subscriber would.
void Bridge::forward_topic(const Topic& t, const hsipc_msg& msg) {
    // Published by one of our proxies: it came from a peer, and goes back
    // to none (this is what keeps topics exported on several hosts from
    // echoing).
    if (local_.is_proxy(msg.from)) {
        hsipc_release(local_.region(), msg.off);
        return;
    }
    zmq_msg_t payload;
    if (msg.length == 0) {
        hsipc_release(local_.region(), msg.off);
        zmq_msg_init(&payload);
    } else if (zmq_msg_init_data(&payload, msg.data, msg.length, release_payload,
                                 reinterpret_cast<void*>(uintptr_t(msg.off))) != 0) {
        hsipc_release(local_.region(), msg.off);
        for (auto& p : peers_) {
            if (p->topics.count(t.name)) counters_.topic_dropped_link++;
        }
        return;
    }
    const std::string src = local_.sender_name(msg.from);
    for (auto& pp : peers_) {
        Peer& p = *pp;
        if (p.topics.count(t.name) == 0) continue;
        if (!p.up) {
            counters_.topic_dropped_peer_down++;
            continue;
        }
        uint8_t header[wire::kMsgHeaderMax];
        const size_t size = wire::encode_topic(session_, opt_.host, p.topic_seq_out + 1, src, t.name,
                                               uint32_t(msg.length), header);
        zmq_msg_t h, copy;
        zmq_msg_init_size(&h, size);
        std::memcpy(zmq_msg_data(&h), header, size);
        zmq_msg_init(&copy);
        int rc = zmq_msg_copy(&copy, &payload);
        if (rc == 0) {
            if (p.need_hello) send_hello(p);
            rc = send_frame(p, &h, &copy);
        }
        if (rc == 0) {
            p.topic_seq_out++;
            counters_.topic_forwarded++;
            // A subscriber there may reply to msg.from: the publisher.
            if (!src.empty()) add_reply_route(p, src);
        } else {
            counters_.topic_dropped_link++;
        }
        zmq_msg_close(&h);
        zmq_msg_close(&copy);
    }
    zmq_msg_close(&payload);  // where no peer took it, releases the buffer now
}

// Takes what waits in one subscription, at most kDrainBatch; true where it
// may hold more. A poll disarms the endpoint, so it is left unarmed: the
// next drain_topics arms it again.
bool Bridge::drain_topic(Topic& t) {
    t.armed = false;
    size_t n = 0;
    hsipc_msg msg;
    while (n < kTopicDrainBatch && hsipc_poll(t.sub, &msg, 0) == HSIPC_OK) {
        n++;
        forward_topic(t, msg);
    }
    return n == kTopicDrainBatch;
}

// Takes what local processes published to the exported topics, kDrainBatch
// per topic per turn; true where some subscription may hold more.
bool Bridge::drain_topics() {
    bool more = false;
    for (const auto& tp : topics_.all()) {
        Topic& t = *tp;
        if (t.armed) continue;
        if (drain_topic(t)) {
            more = true;
            continue;
        }
        const int rc = hsipc_endpoint_arm(t.sub);
        if (rc == HSIPC_OK) {
            t.armed = true;
        } else if (rc == 1) {
            more = true;
        }
    }
    return more;
}

// ---- The loop -----------------------------------------------------------------

bool Bridge::run(int signal_fd, std::string* error) {
    std::vector<zmq_pollitem_t> items;
    std::vector<Proxy*> item_proxy;  // the proxy behind each item, or null
    std::vector<Peer*> item_peer;    // the peer whose dealer it is, or null
    std::vector<Monitor*> item_monitor;
    std::vector<Topic*> item_topic;  // the subscription behind each item, or null
    bool more = false;
    now_ns_ = monotonic_ns();
    next_hello_ns_ = now_ns_;
    for (;;) {
        now_ns_ = monotonic_ns();
        if (now_ns_ >= next_hello_ns_) {
            for (auto& p : peers_) send_hello(*p);
            next_hello_ns_ = now_ns_ + opt_.heartbeat_ns;
        }
        int64_t deadline = next_hello_ns_;
        bool router_pending = false;
        for (auto& pp : peers_) {
            Peer& p = *pp;
            if (p.up && now_ns_ - p.last_heard_ns > opt_.peer_timeout_ns) peer_down(p, "silent for peer_timeout");
            if (p.pending() && now_ns_ - p.pending_since_ns > opt_.peer_timeout_ns) {
                drop_pending(p, &counters_.dropped_link);
            }
            if (p.pending() && !p.dealer) router_pending = !send_pending(p) || router_pending;
            if (p.up) deadline = std::min(deadline, p.last_heard_ns + opt_.peer_timeout_ns + 1);
            if (p.pending()) deadline = std::min(deadline, p.pending_since_ns + opt_.peer_timeout_ns + 1);
        }
        if (local_.retry() || router_pending) deadline = std::min(deadline, now_ns_ + kRetryNs);
        // Back-pressure: while a local inbox and its retry queue are full,
        // frames stay in ZeroMQ (and, once its queue is full, in the
        // peer's), up to the stall.
        int64_t hold_until = 0;
        const bool hold = local_.holding_back(now_ns_, &hold_until);
        if (hold) deadline = std::min(deadline, hold_until);
        const short link_in = hold ? 0 : ZMQ_POLLIN;
        for (auto& p : peers_) {
            if (p->up && !p->pending()) more = drain(*p) || more;
        }
        more = drain_topics() || more;

        items.clear();
        item_proxy.clear();
        item_peer.clear();
        item_monitor.clear();
        item_topic.clear();
        auto add = [&](void* socket, int fd, short events, Proxy* px, Peer* peer, Monitor* mon,
                       Topic* topic = nullptr) {
            items.push_back(zmq_pollitem_t{socket, fd, events, 0});
            item_proxy.push_back(px);
            item_peer.push_back(peer);
            item_monitor.push_back(mon);
            item_topic.push_back(topic);
        };
        add(nullptr, signal_fd, ZMQ_POLLIN, nullptr, nullptr, nullptr);
        if (router_) add(router_, 0, link_in, nullptr, nullptr, nullptr);
        if (zap_.socket()) add(zap_.socket(), 0, ZMQ_POLLIN, nullptr, nullptr, nullptr);
        for (auto& p : peers_) {
            if (p->dealer) add(p->dealer, 0, short(link_in | (p->pending() ? ZMQ_POLLOUT : 0)), nullptr, p.get(), nullptr);
            // A peer with a frame pending is not drained: its proxies' fds
            // would only wake us for messages we cannot send yet.
            if (!p->up || p->pending()) continue;
            for (auto& entry : p->proxies) {
                if (entry.second->armed) add(nullptr, entry.second->fd, ZMQ_POLLIN, entry.second.get(), nullptr, nullptr);
            }
        }
        for (auto& m : monitors_) add(m->pair, 0, ZMQ_POLLIN, nullptr, nullptr, m.get());
        for (const auto& t : topics_.all()) {
            if (t->armed) add(nullptr, t->fd, ZMQ_POLLIN, nullptr, nullptr, nullptr, t.get());
        }

        stats_page_.publish(counters_, gauges());  // once a turn, before the poll may sleep
        // Holding back, the bridge looks for room every kHoldRetryNs:
        // zmq_poll counts in milliseconds, in which a receiver empties its
        // inbox many times over, and nothing tells us when it has.
        const long timeout = more || hold ? 0 : ms_ceil(deadline - now_ns_);
        more = false;
        const int ready = zmq_poll(items.data(), int(items.size()), timeout);
        if (ready < 0) {
            if (zmq_errno() == EINTR) continue;
            *error = std::string("zmq_poll: ") + zmq_strerror(zmq_errno());
            return false;
        }
        if (ready == 0 && hold) {
            const timespec nap{0, kHoldRetryNs};
            nanosleep(&nap, nullptr);
        }
        now_ns_ = monotonic_ns();
        // Proxies first: a frame taken below may close them (its peer said
        // goodbye), and their items would then point at nothing.
        for (size_t i = 0; i < items.size(); i++) {
            if (items[i].revents && item_proxy[i]) item_proxy[i]->armed = false;  // the next drain polls it
            if (items[i].revents && item_topic[i]) item_topic[i]->armed = false;
        }
        for (size_t i = 0; i < items.size(); i++) {
            const zmq_pollitem_t& it = items[i];
            if (it.revents == 0 || item_proxy[i] || item_topic[i]) continue;
            if (i == 0) {
                signalfd_siginfo si;
                while (read(signal_fd, &si, sizeof si) == ssize_t(sizeof si)) {
                    if (si.ssi_signo == SIGUSR1) {
                        std::fprintf(stderr, "%s\n", stats_line().c_str());
                        std::fflush(stderr);
                    } else {
                        log("stopping on signal %u", si.ssi_signo);
                        return true;
                    }
                }
            } else if (item_monitor[i]) {
                read_monitor(*item_monitor[i]);
            } else if (it.socket == router_) {
                more = !receive(router_, true, nullptr) || more;
            } else if (zap_.socket() && it.socket == zap_.socket()) {
                answer_zap();
            } else if (Peer* p = item_peer[i]) {
                if (it.revents & ZMQ_POLLIN) more = !receive(p->dealer, false, p) || more;
                if ((it.revents & ZMQ_POLLOUT) && p->pending()) send_pending(*p);
            }
        }
    }
}

Gauges Bridge::gauges() const {
    Gauges g;
    for (auto& p : peers_) {
        g.peers_up += p->up ? 1 : 0;
        g.proxies += p->proxies.size();
    }
    g.queued = local_.queued();
    return g;
}

std::string Bridge::stats_line() const { return hsipc_bridge::stats_line(opt_.host, named_stats(counters_, gauges())); }

}  // namespace hsipc_bridge
