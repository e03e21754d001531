// SPDX-License-Identifier: MIT
// hsipc-bridge as real processes: two regions stand for two hosts ("A" and
// "B"), and two hsipc-bridge processes join them over TCP on 127.0.0.1 —
// B listens, A connects. This test process plays the applications on both
// hosts, attached to both regions.
//
// Messages both ways, request/reply across, each bridge killed (SIGKILL)
// mid-stream and restarted while traffic resumes, a peer that vanishes,
// malformed frames from a fake peer, CURVE (matching keys, an unknown key,
// a trusted key claiming another peer's name, plaintext against CURVE);
// topics published on either host reaching subscribers on both, without
// echoes, and surviving each bridge's death; and after every test, with the
// bridges stopped and the regions reaped, every buffer of both regions is
// back in its pool.
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>
#include <zmq.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "keys.h"
#include "stats_page.h"
#include "test_util.h"
#include "wire.h"

namespace {

using hsipc_test::ScopedName;
namespace wire = hsipc_bridge::wire;

constexpr int64_t kSecond = 1000000000;

int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

std::string read_file(const std::string& path) {
    std::ifstream f(path);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}

hsipc_config host_config() {
    hsipc_config cfg;
    hsipc_config_init(&cfg);
    cfg.max_endpoints = 32;
    cfg.inbox_capacity = 64;
    cfg.pool_count = 3;
    cfg.pools[0] = {256, 512, 0};
    cfg.pools[1] = {64 * 1024, 128, 0};
    cfg.pools[2] = {1024 * 1024, 4, 0};
    cfg.spin_ns = 0;
    return cfg;
}

// One hsipc-bridge process, its arguments and its stderr.
struct BridgeProcess {
    std::vector<std::string> args;
    std::string log;
    pid_t pid = -1;

    void start() {
        const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        ASSERT_GE(fd, 0);
        std::vector<std::string> argv_s = {HSIPC_BRIDGE};
        argv_s.insert(argv_s.end(), args.begin(), args.end());
        std::vector<char*> argv;
        for (auto& a : argv_s) argv.push_back(a.data());
        argv.push_back(nullptr);
        fflush(nullptr);
        pid = fork();
        if (pid == 0) {
            dup2(fd, 2);
            const int null = open("/dev/null", O_WRONLY);
            dup2(null, 1);
            execv(HSIPC_BRIDGE, argv.data());
            _exit(127);
        }
        close(fd);
        ASSERT_GT(pid, 0);
    }
    // Stops it with sig and returns its exit status (128 + signal if killed).
    int stop(int sig = SIGTERM) {
        if (pid <= 0) return -1;
        kill(pid, sig);
        const int status = hsipc_test::wait_child(pid, 10);
        pid = -1;
        return status;
    }
    // The counters of a SIGUSR1 stats line printed after this call.
    std::map<std::string, uint64_t> stats() {
        std::map<std::string, uint64_t> out;
        auto count_lines = [&] {
            const std::string text = read_file(log);
            size_t n = 0;
            for (size_t at = text.find(" stats "); at != std::string::npos; at = text.find(" stats ", at + 1)) n++;
            return n;
        };
        const size_t before = count_lines();
        kill(pid, SIGUSR1);
        for (int i = 0; i < 500 && count_lines() == before; i++) usleep(10000);
        const std::string text = read_file(log);
        const size_t at = text.rfind(" stats ");
        if (at == std::string::npos) return out;
        std::istringstream line(text.substr(at + 7, text.find('\n', at) - at - 7));
        for (std::string kv; line >> kv;) {
            const size_t eq = kv.find('=');
            if (eq != std::string::npos) out[kv.substr(0, eq)] = std::stoull(kv.substr(eq + 1));
        }
        return out;
    }
    // The port of "listening on tcp://127.0.0.1:PORT" in its log.
    int listen_port() {
        const std::string marker = "listening on tcp://127.0.0.1:";
        for (int i = 0; i < 500; i++) {
            const std::string text = read_file(log);
            const size_t at = text.rfind(marker);
            if (at != std::string::npos) return std::atoi(text.c_str() + at + marker.size());
            usleep(10000);
        }
        return -1;
    }
};

// Sends `size` bytes of `data` from ep to the endpoint named `to`, as an
// application that outlives bridges does: HSIPC_EFULL is retried, and
// HSIPC_EPEER (the proxy closed: its bridge died or the peer went down)
// looks the name up again. Gives up after timeout_ns.
int send_to(hsipc_region* r, hsipc_endpoint* ep, const char* to, hsipc_id* id, const void* data, size_t size,
            int64_t timeout_ns = 10 * kSecond) {
    hsipc_off off;
    int rc = hsipc_alloc(r, size ? size : 1, &off);
    if (rc != HSIPC_OK) return rc;
    std::memcpy(hsipc_ptr(r, off), data, size);
    const int64_t deadline = now_ns() + timeout_ns;
    for (;;) {
        const int64_t wait = std::min<int64_t>(50000000, std::max<int64_t>(0, deadline - now_ns()));
        if (*id == 0 && hsipc_lookup_wait(r, to, wait, id) != HSIPC_OK) *id = 0;
        rc = *id ? hsipc_send_offset(ep, *id, off, size) : HSIPC_EPEER;
        if (rc == HSIPC_OK) return rc;
        if (rc == HSIPC_EPEER) *id = 0;
        if ((rc != HSIPC_EFULL && rc != HSIPC_EPEER) || now_ns() > deadline) {
            hsipc_release(r, off);
            return rc;
        }
        usleep(200);
    }
}

// The payload of message `seq` of `size` bytes: the number, then a pattern.
std::vector<uint8_t> payload(uint32_t seq, size_t size) {
    std::vector<uint8_t> p(std::max<size_t>(size, 4));
    std::memcpy(p.data(), &seq, 4);
    for (size_t i = 4; i < p.size(); i++) p[i] = uint8_t(seq * 7 + i);
    return p;
}

bool payload_ok(const hsipc_msg& m, uint32_t* seq) {
    if (m.length < 4) return false;
    std::memcpy(seq, m.data, 4);
    const std::vector<uint8_t> want = payload(*seq, m.length);
    return std::memcmp(m.data, want.data(), m.length) == 0;
}

// A process's peak resident memory, KiB.
uint64_t peak_kib(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(status, line);) {
        if (line.compare(0, 6, "VmHWM:") == 0) return std::stoull(line.substr(6));
    }
    return 0;
}

void expect_pools_whole(hsipc_region* r, const char* which) {
    hsipc_config cfg;
    hsipc_config_init(&cfg);
    ASSERT_OK(hsipc_region_config(r, &cfg));
    for (uint32_t p = 0; p < cfg.pool_count; p++) {
        hsipc_pool_stats s;
        s.struct_size = sizeof s;
        ASSERT_OK(hsipc_region_pool_stats(r, p, &s));
        EXPECT_EQ(s.buffer_count, s.free_count)
            << which << " pool " << p << ": held " << s.held_count << ", queued " << s.queued_count;
    }
}

// Waits until a bridge has started: it logged its session, so its
// signals are taken (SIGUSR1 before that would kill it).
void wait_started(BridgeProcess& b) {
    for (int i = 0; i < 500 && read_file(b.log).find(" session ") == std::string::npos; i++) usleep(10000);
}

// Waits until the counter `key` of bridge b reaches at least n; its counters then.
std::map<std::string, uint64_t> wait_count(BridgeProcess& b, const char* key, uint64_t n) {
    std::map<std::string, uint64_t> s;
    const int64_t deadline = now_ns() + 10 * kSecond;
    do {
        s = b.stats();
    } while (s[key] < n && now_ns() < deadline);
    return s;
}

class BridgeTest : public ::testing::Test {
protected:
    void SetUp() override {
        hsipc_config cfg = host_config();
        ASSERT_OK(hsipc_attach(a_name_.c_str(), &cfg, &ra_));
        ASSERT_OK(hsipc_attach(b_name_.c_str(), &cfg, &rb_));
        const std::string stem = "/tmp/hsipc-bridge-test-" + std::to_string(getpid()) + "-" + a_name_.c_str();
        a_.log = stem + "-A.log";
        b_.log = stem + "-B.log";
        std::remove(a_.log.c_str());
        std::remove(b_.log.c_str());
    }

    void TearDown() override {
        for (hsipc_endpoint* ep : endpoints_) hsipc_endpoint_close(ep);
        if (a_.pid > 0) {
            EXPECT_EQ(0, a_.stop()) << "bridge A did not stop cleanly";
        }
        if (b_.pid > 0) {
            EXPECT_EQ(0, b_.stop()) << "bridge B did not stop cleanly";
        }
        // Nothing leaked: with the bridges gone and a reap, every buffer of
        // both "hosts" is back in its pool.
        if (ra_ && rb_) {
            EXPECT_GE(hsipc_reap(ra_), 0);
            EXPECT_GE(hsipc_reap(rb_), 0);
            expect_pools_whole(ra_, "region A");
            expect_pools_whole(rb_, "region B");
        }
        if (HasFailure() || getenv("HSIPC_BRIDGE_TEST_LOGS")) {
            std::fprintf(stderr, "---- bridge A log ----\n%s---- bridge B log ----\n%s", read_file(a_.log).c_str(),
                         read_file(b_.log).c_str());
        }
        std::remove(a_.log.c_str());
        std::remove(b_.log.c_str());
        if (!key_dir_.empty()) std::filesystem::remove_all(key_dir_);
        // The bridges' stats files stay after they stop (docs/bridge.md, "Counters").
        std::remove(hsipc_bridge::stats_page_path(a_name_.c_str(), "hostA").c_str());
        std::remove(hsipc_bridge::stats_page_path(b_name_.c_str(), "hostB").c_str());
        if (ra_) hsipc_detach(ra_);
        if (rb_) hsipc_detach(rb_);
    }

    // Short enough for the tests' waits, long enough that a loaded machine
    // (two cores shared with builds and benchmarks) does not starve a
    // bridge into declaring its peer down.
    std::vector<std::string> common_args(const char* host, const ScopedName& region) {
        return {"--region", region.c_str(), "--host", host, "--heartbeat", "100ms", "--peer-timeout", peer_timeout_};
    }

    // B listens on a free loopback port (the same one again on restart);
    // A connects to it. exports_a/exports_b: --export names.
    void start_bridges(const std::vector<std::string>& exports_a, const std::vector<std::string>& exports_b,
                       const std::vector<std::string>& extra_b = {}, const std::vector<std::string>& extra_a = {}) {
        b_.args = common_args("hostB", b_name_);
        b_.args.insert(b_.args.end(), {"--listen", "tcp://127.0.0.1:*", "--peer", "hostA"});
        for (const auto& e : exports_b) b_.args.insert(b_.args.end(), {"--export", e});
        b_.args.insert(b_.args.end(), extra_b.begin(), extra_b.end());
        ASSERT_NO_FATAL_FAILURE(b_.start());
        port_ = b_.listen_port();
        ASSERT_GT(port_, 0) << read_file(b_.log);
        // Restarted, B binds the same port.
        for (auto& arg : b_.args) {
            if (arg == "tcp://127.0.0.1:*") arg = "tcp://127.0.0.1:" + std::to_string(port_);
        }
        a_.args = common_args("hostA", a_name_);
        a_.args.insert(a_.args.end(), {"--peer", "hostB=tcp://127.0.0.1:" + std::to_string(port_)});
        for (const auto& e : exports_a) a_.args.insert(a_.args.end(), {"--export", e});
        a_.args.insert(a_.args.end(), extra_a.begin(), extra_a.end());
        ASSERT_NO_FATAL_FAILURE(a_.start());
    }

    hsipc_endpoint* open(hsipc_region* r, const char* name) {
        hsipc_endpoint* ep = nullptr;
        EXPECT_OK(hsipc_endpoint_open(r, name, &ep));
        if (ep) endpoints_.push_back(ep);
        return ep;
    }

    // An endpoint `name` of r subscribed to `topic`.
    hsipc_endpoint* subscribe(hsipc_region* r, const char* name, const char* topic) {
        hsipc_endpoint* ep = open(r, name);
        if (ep) {
            EXPECT_OK(hsipc_subscribe(ep, topic));
        }
        return ep;
    }

    void close(hsipc_endpoint* ep) {
        endpoints_.erase(std::find(endpoints_.begin(), endpoints_.end(), ep));
        EXPECT_OK(hsipc_endpoint_close(ep));
    }

    // A key pair from `hsipc-bridge --keygen`, as an operator makes one:
    // KEYDIR/NAME.key (secret) and KEYDIR/NAME.key.pub.
    std::string keygen(const std::string& name) {
        if (key_dir_.empty()) {
            char tmpl[] = "/tmp/hsipc-bridge-test-keys-XXXXXX";
            EXPECT_NE(nullptr, mkdtemp(tmpl));
            key_dir_ = tmpl;
        }
        const std::string path = key_dir_ + "/" + name + ".key";
        const std::string command = std::string(HSIPC_BRIDGE) + " --keygen " + path + " >/dev/null 2>&1";
        EXPECT_EQ(0, std::system(command.c_str())) << command;
        return path;
    }
    // The keys of a file keygen() wrote, as ZeroMQ's Z85 text.
    std::string public_key_text(const std::string& path) {
        hsipc_bridge::Key k;
        std::string e;
        EXPECT_TRUE(hsipc_bridge::read_public_key_file(path + ".pub", &k, &e)) << e;
        return hsipc_bridge::z85_encode_key(k);
    }
    std::string secret_key_text(const std::string& path) {
        hsipc_bridge::Key secret, pub;
        bool has_public;
        std::string e;
        EXPECT_TRUE(hsipc_bridge::read_secret_key_file(path, &secret, &pub, &has_public, &e)) << e;
        return hsipc_bridge::z85_encode_key(secret);
    }

    hsipc_id wait_for(hsipc_region* r, const char* name) {
        hsipc_id id = 0;
        EXPECT_OK(hsipc_lookup_wait(r, name, 5 * kSecond, &id)) << name;
        return id;
    }

    ScopedName a_name_{"brA"}, b_name_{"brB"};
    hsipc_region* ra_ = nullptr;
    hsipc_region* rb_ = nullptr;
    BridgeProcess a_, b_;
    int port_ = -1;
    std::string peer_timeout_ = "2s";
    std::vector<hsipc_endpoint*> endpoints_;
    std::string key_dir_;
};

// One side of a two-way exchange: sends n messages (sizes cycling through
// 100 B, 50 KiB and, once, 1 MiB) to `to` while it takes the n coming the
// other way, in order, each from the proxy named `from_name`.
void exchange(hsipc_region* r, hsipc_endpoint* ep, const char* to, const char* from_name, uint32_t n,
              std::string* failure) {
    hsipc_id to_id = 0, from_id = 0;
    uint32_t sent = 0, received = 0;
    const int64_t deadline = now_ns() + 20 * kSecond;
    while ((sent < n || received < n) && now_ns() < deadline) {
        if (sent < n) {
            const size_t size = sent == n / 2 ? 1024 * 1024 : sent % 10 == 3 ? 50000 : 100;
            const std::vector<uint8_t> p = payload(sent, size);
            const int rc = send_to(r, ep, to, &to_id, p.data(), size, 0);
            if (rc == HSIPC_OK) {
                sent++;
            } else if (rc != HSIPC_EFULL && rc != HSIPC_EPEER && rc != HSIPC_ENOMEM) {
                *failure = std::string("send: ") + hsipc_strerror(rc);
                return;
            }
        }
        hsipc_msg m;
        while (hsipc_poll(ep, &m, sent < n ? 100000 : 1000000) == HSIPC_OK) {
            uint32_t seq;
            if (from_id == 0) hsipc_lookup(r, from_name, &from_id);
            const bool ok = payload_ok(m, &seq) && seq == received && m.from == from_id;
            hsipc_release(r, m.off);
            if (!ok) {
                *failure = "message " + std::to_string(received) + " out of order, damaged or not from " + from_name;
                return;
            }
            received++;
        }
    }
    if (sent < n || received < n) {
        *failure = "timed out: sent " + std::to_string(sent) + ", received " + std::to_string(received);
    }
}

TEST_F(BridgeTest, MessagesBothWaysInOrderFromProxiesThatStandForTheSenders) {
    hsipc_endpoint* alice = open(ra_, "alice");
    hsipc_endpoint* bob = open(rb_, "bob");
    // Retry queues deep enough for the whole exchange: however slowly a
    // receiving thread runs (sanitizers, a loaded machine), nothing is
    // dropped, so every message must arrive. (Drops at a full inbox are the
    // next test's.)
    const std::vector<std::string> deep = {"--retry-queue", "400"};
    ASSERT_NO_FATAL_FAILURE(start_bridges({"alice"}, {"bob"}, deep, deep));
    wait_for(ra_, "hostB.bob");  // B advertised bob: A opened its proxy
    wait_for(rb_, "hostA.alice");
    std::string fail_a, fail_b;
    std::thread on_b([&] { exchange(rb_, bob, "hostA.alice", "hostA.alice", 300, &fail_b); });
    exchange(ra_, alice, "hostB.bob", "hostB.bob", 300, &fail_a);
    on_b.join();
    EXPECT_EQ("", fail_a) << "on host A";
    EXPECT_EQ("", fail_b) << "on host B";
    auto sa = a_.stats(), sb = b_.stats();
    EXPECT_EQ(300u, sa["forwarded"]);
    EXPECT_EQ(300u, sa["delivered"]);
    EXPECT_EQ(300u, sb["forwarded"]);
    EXPECT_EQ(300u, sb["delivered"]);
    for (auto* s : {&sa, &sb}) {
        EXPECT_EQ(0u, (*s)["dropped"]);
        EXPECT_EQ(0u, (*s)["refused"]);
        EXPECT_EQ(0u, (*s)["lost"]);
        EXPECT_EQ(1u, (*s)["peers_up"]);
    }
}

TEST_F(BridgeTest, RequestReplyAcrossToAnUnexportedClient) {
    hsipc_endpoint* client = open(ra_, "client");  // not exported: replies reach it as a reply route
    hsipc_endpoint* server = open(rb_, "server");
    ASSERT_NO_FATAL_FAILURE(start_bridges({}, {"server"}));
    const hsipc_id server_proxy = wait_for(ra_, "hostB.server");
    std::atomic<bool> done{false};
    std::thread serve([&] {
        hsipc_msg m;
        while (!done) {
            if (hsipc_poll(server, &m, 10000000) != HSIPC_OK) continue;
            static_cast<uint8_t*>(m.data)[4] ^= 0xff;  // the reply: the request, one byte changed
            if (hsipc_send_offset(server, m.from, m.off, m.length) != HSIPC_OK) hsipc_release(rb_, m.off);
        }
    });
    hsipc_id to = server_proxy;
    for (uint32_t i = 0; i < 200; i++) {
        std::vector<uint8_t> req = payload(i, i % 50 == 7 ? 40000 : 64);
        ASSERT_OK(send_to(ra_, client, "hostB.server", &to, req.data(), req.size()));
        hsipc_msg m;
        ASSERT_OK(hsipc_poll(client, &m, 5 * kSecond)) << "no reply to request " << i;
        EXPECT_EQ(server_proxy, m.from);  // from the proxy that stands for the server
        EXPECT_EQ(req.size(), m.length);
        req[4] ^= 0xff;
        EXPECT_EQ(0, std::memcmp(req.data(), m.data, req.size())) << "reply " << i;
        hsipc_release(ra_, m.off);
    }
    done = true;
    serve.join();
    hsipc_id id;
    EXPECT_OK(hsipc_lookup(rb_, "hostA.client", &id));  // B's proxy for the remote client
    auto sb = b_.stats();
    EXPECT_EQ(200u, sb["delivered"]);
    EXPECT_EQ(200u, sb["forwarded"]);
    EXPECT_EQ(0u, sb["dropped"] + sb["refused"]);
}

// Back-pressure at the receiving end: bob does not poll yet. His inbox
// fills (64), then B's retry queue for him (16, or more: the frame being
// delivered is queued whole), then B holds the link back and the rest
// waits in ZeroMQ. Bob polls within the stall and gets every message, in
// order: nothing was dropped.
TEST_F(BridgeTest, AFullRemoteInboxHoldsTheLinkBackWithoutALoss) {
    hsipc_endpoint* alice = open(ra_, "alice");
    hsipc_endpoint* bob = open(rb_, "bob");
    peer_timeout_ = "20s";  // a stall of 10 s: far longer than this test needs
    ASSERT_NO_FATAL_FAILURE(start_bridges({}, {"bob"}, {"--retry-queue", "16", "--stall", "10s"}));
    hsipc_id to = wait_for(ra_, "hostB.bob");
    const uint32_t n = 64 + 16 + 400;
    for (uint32_t i = 0; i < n; i++) {
        const std::vector<uint8_t> p = payload(i, 100);
        ASSERT_OK(send_to(ra_, alice, "hostB.bob", &to, p.data(), p.size()));
    }
    std::map<std::string, uint64_t> sb = wait_count(b_, "delivered", 64);
    const int64_t settle = now_ns() + kSecond / 5;
    while (now_ns() < settle) sb = b_.stats();  // B holds back: the counts stay
    EXPECT_EQ(64u, sb["delivered"]);
    EXPECT_GE(sb["queued"], 16u);
    EXPECT_LT(sb["queued"], uint64_t(n - 64)) << "B took everything: nothing held back in ZeroMQ";
    EXPECT_EQ(0u, sb["dropped"]);
    hsipc_msg m;
    for (uint32_t i = 0; i < n; i++) {
        ASSERT_OK(hsipc_poll(bob, &m, 5 * kSecond)) << "message " << i;
        uint32_t seq;
        EXPECT_TRUE(payload_ok(m, &seq));
        EXPECT_EQ(i, seq);
        hsipc_release(rb_, m.off);
    }
    EXPECT_STATUS(HSIPC_EAGAIN, hsipc_poll(bob, &m, 100000000));
    sb = b_.stats();
    EXPECT_EQ(uint64_t(n), sb["delivered"]);
    EXPECT_EQ(0u, sb["queued"]);
    EXPECT_EQ(0u, sb["dropped"]);
}

// The same with a receiver that stays away past the stall: B then takes
// frames again, drops (and counts) what bob's full queue cannot take, and
// bob, polling at last, gets exactly the messages held, the first ones,
// in order.
TEST_F(BridgeTest, PastTheStallAFullRemoteInboxLosesWhatComesAndCountsIt) {
    hsipc_endpoint* alice = open(ra_, "alice");
    hsipc_endpoint* bob = open(rb_, "bob");
    ASSERT_NO_FATAL_FAILURE(start_bridges({}, {"bob"}, {"--retry-queue", "16", "--stall", "100ms"}));
    hsipc_id to = wait_for(ra_, "hostB.bob");
    const uint32_t n = 64 + 16 + 100;
    for (uint32_t i = 0; i < n; i++) {
        const std::vector<uint8_t> p = payload(i, 100);
        ASSERT_OK(send_to(ra_, alice, "hostB.bob", &to, p.data(), p.size()));
    }
    std::map<std::string, uint64_t> sb;
    const int64_t deadline = now_ns() + 10 * kSecond;
    do {
        sb = b_.stats();
    } while (sb["delivered"] + sb["queued"] + sb["dropped_full"] < n && now_ns() < deadline);
    EXPECT_EQ(64u, sb["delivered"]);
    EXPECT_GE(sb["queued"], 16u);
    EXPECT_GT(sb["dropped_full"], 0u);
    EXPECT_EQ(n, sb["delivered"] + sb["queued"] + sb["dropped_full"]);
    EXPECT_EQ(sb["dropped_full"], sb["dropped"]);
    const uint64_t held = 64 + sb["queued"];
    hsipc_msg m;
    for (uint32_t i = 0; i < held; i++) {
        ASSERT_OK(hsipc_poll(bob, &m, 5 * kSecond)) << "message " << i;
        uint32_t seq;
        EXPECT_TRUE(payload_ok(m, &seq));
        EXPECT_EQ(i, seq);  // the first ones sent: the last were the ones dropped
        hsipc_release(rb_, m.off);
    }
    EXPECT_STATUS(HSIPC_EAGAIN, hsipc_poll(bob, &m, 100000000));
    sb = b_.stats();
    EXPECT_EQ(held, sb["delivered"]);
    EXPECT_EQ(0u, sb["queued"]);
}

// A stream from A to B. Each bridge in turn is killed with SIGKILL in the
// middle of it: its region is reapable (its proxies go, its buffers
// return), and, restarted, it carries the stream on while the application
// processes stay as they are. Order is kept throughout; what was in flight
// in the dead bridge may be lost (at most once), nothing arrives twice.
TEST_F(BridgeTest, KillEachBridgeMidStreamThenTrafficResumes) {
    hsipc_endpoint* alice = open(ra_, "alice");
    hsipc_endpoint* bob = open(rb_, "bob");
    ASSERT_NO_FATAL_FAILURE(start_bridges({}, {"bob"}));
    wait_for(ra_, "hostB.bob");

    std::atomic<bool> stop{false}, pause_sender{false}, sender_paused{false}, pause_receiver{false},
        receiver_paused{false};
    std::atomic<uint32_t> sent{0}, received{0}, last_seq{0};
    std::atomic<bool> out_of_order{false};
    std::thread sender([&] {
        hsipc_id to = 0;
        while (!stop) {
            if (pause_sender) {
                sender_paused = true;
                usleep(1000);
                continue;
            }
            sender_paused = false;
            const std::vector<uint8_t> p = payload(sent + 1, 200);
            if (send_to(ra_, alice, "hostB.bob", &to, p.data(), p.size(), 100000000) == HSIPC_OK) sent++;
            usleep(100);
        }
    });
    std::thread receiver([&] {
        hsipc_msg m;
        while (!stop) {
            if (pause_receiver) {
                receiver_paused = true;
                usleep(1000);
                continue;
            }
            receiver_paused = false;
            if (hsipc_poll(bob, &m, 10000000) != HSIPC_OK) continue;
            uint32_t seq = 0;  // payload_ok leaves it unset for a short message
            if (!payload_ok(m, &seq) || seq <= last_seq) out_of_order = true;
            last_seq = seq;
            received++;
            hsipc_release(rb_, m.off);
        }
    });
    auto wait_received = [&](uint32_t more) {
        const uint32_t target = received + more;
        const int64_t deadline = now_ns() + 10 * kSecond;
        while (received < target && now_ns() < deadline) usleep(1000);
        return received >= target;
    };
    auto pause = [&](std::atomic<bool>& flag, std::atomic<bool>& paused) {
        flag = true;
        while (!paused) usleep(1000);
    };

    ASSERT_TRUE(wait_received(200));
    // Kill A, the forwarding side, with the stream flowing; then quiet the
    // sender so the region's pools can be counted exactly.
    EXPECT_EQ(128 + SIGKILL, a_.stop(SIGKILL));
    pause(pause_sender, sender_paused);
    EXPECT_GT(hsipc_reap(ra_), 0);  // its proxies (and whatever they held) return
    hsipc_id gone;
    EXPECT_STATUS(HSIPC_ENOENT, hsipc_lookup(ra_, "hostB.bob", &gone));
    EXPECT_STATUS(HSIPC_ENOENT, hsipc_lookup(ra_, "hostB", &gone));
    expect_pools_whole(ra_, "region A after the bridge's death");
    pause_sender = false;
    ASSERT_NO_FATAL_FAILURE(a_.start());
    EXPECT_TRUE(wait_received(200)) << "no traffic after restarting bridge A";

    // Kill B, the delivering side, mid-stream too; then quiet both.
    EXPECT_EQ(128 + SIGKILL, b_.stop(SIGKILL));
    pause(pause_sender, sender_paused);
    pause(pause_receiver, receiver_paused);
    EXPECT_GE(hsipc_reap(rb_), 1);
    EXPECT_STATUS(HSIPC_ENOENT, hsipc_lookup(rb_, "hostA", &gone));
    EXPECT_STATUS(HSIPC_ENOENT, hsipc_lookup(rb_, "hostA.alice", &gone));
    {
        // Only what waits in bob's inbox is not free.
        hsipc_endpoint_info info;
        info.struct_size = sizeof info;
        uint32_t queued = 0;
        for (uint32_t slot = 0; slot < 32; slot++) {
            if (hsipc_region_endpoint_info(rb_, slot, &info) == HSIPC_OK) queued += info.queued;
        }
        uint32_t not_free = 0;
        for (uint32_t p = 0; p < 3; p++) {
            hsipc_pool_stats s;
            s.struct_size = sizeof s;
            ASSERT_OK(hsipc_region_pool_stats(rb_, p, &s));
            not_free += s.buffer_count - s.free_count;
        }
        EXPECT_EQ(queued, not_free) << "region B holds buffers beyond bob's queued messages";
    }
    pause_receiver = false;
    pause_sender = false;
    ASSERT_NO_FATAL_FAILURE(b_.start());
    EXPECT_TRUE(wait_received(200)) << "no traffic after restarting bridge B";

    // Quiet end: the last message sent arrives.
    pause(pause_sender, sender_paused);
    const uint32_t final_seq = sent;
    const int64_t deadline = now_ns() + 5 * kSecond;
    while (last_seq < final_seq && now_ns() < deadline) usleep(1000);
    stop = true;
    sender.join();
    receiver.join();
    EXPECT_FALSE(out_of_order);
    EXPECT_EQ(final_seq, last_seq.load());
    EXPECT_LE(received.load(), final_seq);
    // At most once: what the dead bridges held is the difference.
    std::fprintf(stderr, "sent %u, received %u across two bridge deaths\n", final_seq, received.load());
}

// B vanishes and stays away: A's senders are never stuck — their sends
// fail with HSIPC_EFULL while A waits out peer_timeout, then HSIPC_EPEER
// once A has closed the proxies; and B's return brings them back.
TEST_F(BridgeTest, APeerThatVanishesNeverWedgesLocalSenders) {
    hsipc_endpoint* alice = open(ra_, "alice");
    hsipc_endpoint* bob = open(rb_, "bob");
    peer_timeout_ = "1s";
    ASSERT_NO_FATAL_FAILURE(start_bridges({}, {"bob"}));
    hsipc_id to = wait_for(ra_, "hostB.bob");
    EXPECT_EQ(128 + SIGKILL, b_.stop(SIGKILL));
    hsipc_reap(rb_);
    const int64_t start = now_ns();
    int rc = HSIPC_OK;
    uint32_t sent = 0;
    while (rc != HSIPC_EPEER && now_ns() - start < 5 * kSecond) {
        hsipc_off off;
        ASSERT_OK(hsipc_alloc(ra_, 64, &off));
        const int64_t t = now_ns();
        rc = hsipc_send_offset(alice, to, off, 64);
        EXPECT_LT(now_ns() - t, kSecond / 10) << "a send took long";
        if (rc == HSIPC_OK) {
            sent++;
        } else {
            EXPECT_TRUE(rc == HSIPC_EFULL || rc == HSIPC_EPEER) << hsipc_strerror(rc);
            hsipc_release(ra_, off);
            usleep(1000);
        }
    }
    EXPECT_STATUS(HSIPC_EPEER, rc);
    const double seconds = double(now_ns() - start) / kSecond;
    EXPECT_GE(seconds, 0.9) << "before peer_timeout (1 s)";
    EXPECT_LT(seconds, 4.0) << "peer_timeout is 1 s";
    auto sa = a_.stats();
    EXPECT_EQ(0u, sa["peers_up"]);
    // What A could not send is counted, not silently gone (but for one
    // message that may land between the last look into a proxy and its
    // close: docs/bridge.md, "What a crash or a peer's loss costs").
    const uint64_t accounted = sa["forwarded"] + sa["dropped_peer_down"] + sa["dropped_link"];
    EXPECT_LE(accounted, sent);
    EXPECT_GE(accounted + 1, sent);
    EXPECT_GT(sa["dropped_peer_down"] + sa["dropped_link"], 0u);
    // B returns: the proxy is back, under a new id, and carries messages again.
    ASSERT_NO_FATAL_FAILURE(b_.start());
    to = 0;
    const std::vector<uint8_t> p = payload(7, 64);
    ASSERT_OK(send_to(ra_, alice, "hostB.bob", &to, p.data(), p.size()));
    hsipc_msg m;
    ASSERT_OK(hsipc_poll(bob, &m, 5 * kSecond));
    uint32_t seq;
    EXPECT_TRUE(payload_ok(m, &seq) && seq == 7);
    hsipc_release(rb_, m.off);
}

// A fake peer connects to B's listen address and sends what no bridge
// would. Every frame is refused and counted by its reason; a part over
// max_message costs its sender the connection before B allocates it; B
// stays up and keeps serving its real peer.
TEST_F(BridgeTest, MalformedFramesFromAFakePeerAreRefusedAndCounted) {
    hsipc_endpoint* alice = open(ra_, "alice");
    hsipc_endpoint* bob = open(rb_, "bob");
    ASSERT_NO_FATAL_FAILURE(start_bridges({}, {"bob"}, {"--max-message", "4K"}));
    wait_for(ra_, "hostB.bob");

    void* ctx = zmq_ctx_new();
    void* fake = zmq_socket(ctx, ZMQ_DEALER);
    const int linger = 1000;
    zmq_setsockopt(fake, ZMQ_LINGER, &linger, sizeof linger);
    const std::string address = "tcp://127.0.0.1:" + std::to_string(port_);
    ASSERT_EQ(0, zmq_connect(fake, address.c_str()));
    auto send = [&](std::vector<std::vector<uint8_t>> parts) {
        for (size_t i = 0; i < parts.size(); i++) {
            ASSERT_EQ(int(parts[i].size()),
                      zmq_send(fake, parts[i].data(), parts[i].size(), i + 1 < parts.size() ? ZMQ_SNDMORE : 0));
        }
    };
    const uint64_t session = 42;
    auto msg = [&](const char* host, uint64_t seq, const char* dst, uint32_t size) {
        std::vector<uint8_t> h(wire::kMsgHeaderMax);
        h.resize(wire::encode_msg(session, host, seq, "mallory", dst, size, h.data()));
        return h;
    };
    std::vector<uint8_t> hello_unknown;
    ASSERT_TRUE(wire::encode_hello(session, "mallory", {}, &hello_unknown));
    std::vector<uint8_t> wrong_version = hello_unknown;
    wrong_version[2] = 9;
    send({{'n', 'o', 'i', 's', 'e'}});                                          // bad_magic
    send({{}});                                                                 // truncated
    send({wrong_version});                                                      // bad_version
    send({hello_unknown});                                                      // unknown_peer
    send({msg("hostA", 1, "bob", 10), std::vector<uint8_t>(9, 'x')});           // bad_length
    send({msg("hostA", 1, "bob", 1), {'x'}, {'y'}});                            // bad_parts
    send({msg("hostA", 1, "bob", 0xffffffffu), {'x'}});                         // too_big
    send({msg("hostA", 1, "secret", 1), {'x'}});                                // bad_destination
    send({msg("hostA", 1, "bob", 5000), std::vector<uint8_t>(5000, 'x')});      // too_big (4K max)
    std::vector<uint8_t> topic(wire::kMsgHeaderMax);
    topic.resize(wire::encode_topic(session, "hostA", 1, "mallory", "nosuch", 1, topic.data()));
    send({topic, {'x'}});                                                       // bad_topic: B exports none
    const uint64_t refused_sent = 10;
    // Over ZeroMQ's per-part limit (max_message): the connection goes.
    const uint64_t peak_before = peak_kib(b_.pid);
    send({std::vector<uint8_t>(8 << 20, 'z')});
    zmq_close(fake);
    zmq_ctx_term(ctx);
    // Not ZeroMQ at all.
    {
        const int s = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_port = htons(uint16_t(port_));
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ASSERT_EQ(0, connect(s, reinterpret_cast<sockaddr*>(&sa), sizeof sa));
        const char junk[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        EXPECT_EQ(ssize_t(sizeof junk), write(s, junk, sizeof junk));
        usleep(100000);
        ::close(s);
    }

    std::map<std::string, uint64_t> sb;
    for (int i = 0; i < 100; i++) {  // the frames and events are taken in the bridge's own time
        sb = b_.stats();
        if (sb["refused"] >= refused_sent && sb["disconnects"] >= 1) break;
        usleep(20000);
    }
    EXPECT_EQ(refused_sent, sb["refused"]);
    EXPECT_EQ(1u, sb["refused_bad_magic"]);
    EXPECT_EQ(1u, sb["refused_truncated"]);
    EXPECT_EQ(1u, sb["refused_bad_version"]);
    EXPECT_EQ(1u, sb["refused_unknown_peer"]);
    EXPECT_EQ(1u, sb["refused_bad_length"]);
    EXPECT_EQ(1u, sb["refused_bad_parts"]);
    EXPECT_EQ(2u, sb["refused_too_big"]);
    EXPECT_EQ(1u, sb["refused_bad_destination"]);
    EXPECT_EQ(1u, sb["refused_bad_topic"]);
    EXPECT_EQ(0u, sb["topic_published"]);
    EXPECT_GE(sb["disconnects"], 1u);
    EXPECT_EQ(0u, sb["delivered"]);
    // The real peer is still served (its sequence is the one B knows; the
    // fake's "hostA" frames were refused before they could disturb it).
    hsipc_id to = 0;
    const std::vector<uint8_t> p = payload(1, 64);
    ASSERT_OK(send_to(ra_, alice, "hostB.bob", &to, p.data(), p.size()));
    hsipc_msg m;
    ASSERT_OK(hsipc_poll(bob, &m, 5 * kSecond));
    hsipc_release(rb_, m.off);
    // The 8 MiB part was never allocated: B's peak memory grew by less.
    EXPECT_LT(peak_kib(b_.pid), peak_before + 4096);
}

// ---- CURVE -------------------------------------------------------------------

// A ZeroMQ DEALER that plays a peer bridge against B: with CURVE keys
// (Z85 text; empty: plaintext), it sends what it is told.
struct FakePeer {
    void* ctx = zmq_ctx_new();
    void* socket = zmq_socket(ctx, ZMQ_DEALER);

    FakePeer(int port, const std::string& server_key, const std::string& public_key, const std::string& secret) {
        const int linger = 0;
        zmq_setsockopt(socket, ZMQ_LINGER, &linger, sizeof linger);
        if (!server_key.empty()) {
            EXPECT_EQ(0, zmq_setsockopt(socket, ZMQ_CURVE_SERVERKEY, server_key.c_str(), server_key.size() + 1));
            EXPECT_EQ(0, zmq_setsockopt(socket, ZMQ_CURVE_PUBLICKEY, public_key.c_str(), public_key.size() + 1));
            EXPECT_EQ(0, zmq_setsockopt(socket, ZMQ_CURVE_SECRETKEY, secret.c_str(), secret.size() + 1));
        }
        const std::string address = "tcp://127.0.0.1:" + std::to_string(port);
        EXPECT_EQ(0, zmq_connect(socket, address.c_str()));
    }
    ~FakePeer() {
        zmq_close(socket);
        zmq_ctx_term(ctx);
    }
    // A HELLO, then a MSG of 4 bytes to bob, claiming to be `host`. The
    // DEALER queues them until its handshake is done (which, refused, it
    // never is).
    void hello_and_msg(const char* host, uint64_t seq) {
        std::vector<uint8_t> hello;
        ASSERT_TRUE(wire::encode_hello(77, host, {}, &hello));
        ASSERT_EQ(int(hello.size()), zmq_send(socket, hello.data(), hello.size(), ZMQ_DONTWAIT));
        std::vector<uint8_t> h(wire::kMsgHeaderMax);
        h.resize(wire::encode_msg(77, host, seq, "mallory", "bob", 4, h.data()));
        const std::vector<uint8_t> p = payload(uint32_t(seq), 4);
        ASSERT_EQ(int(h.size()), zmq_send(socket, h.data(), h.size(), ZMQ_SNDMORE | ZMQ_DONTWAIT));
        ASSERT_EQ(4, zmq_send(socket, p.data(), 4, ZMQ_DONTWAIT));
    }
};

// Small messages travel many to a BATCH frame; a peer's BATCH is taken
// message by message, each checked as a MSG of its own would be.
TEST_F(BridgeTest, ABatchFromAPeerIsDeliveredMessageByMessage) {
    hsipc_endpoint* bob = open(rb_, "bob");
    ASSERT_NO_FATAL_FAILURE(start_bridges({}, {"bob"}));
    wait_for(ra_, "hostB.bob");

    FakePeer fake(port_, "", "", "");  // plaintext, as B expects
    struct Rec {
        std::string src, dst, text;
    };
    auto send_batch = [&](uint64_t seq, const std::vector<Rec>& records, uint32_t count) {
        std::vector<uint8_t> h(wire::kMsgHeaderMax), body;
        h.resize(wire::encode_batch(43, "hostA", seq, count, h.data()));
        for (const Rec& r : records) {
            ASSERT_TRUE(wire::append_record(r.src, r.dst, reinterpret_cast<const uint8_t*>(r.text.data()),
                                            uint32_t(r.text.size()), &body));
        }
        ASSERT_EQ(int(h.size()), zmq_send(fake.socket, h.data(), h.size(), ZMQ_SNDMORE));
        ASSERT_EQ(int(body.size()), zmq_send(fake.socket, body.data(), body.size(), 0));
    };
    // Says 3, holds 2: refused whole, nothing of it delivered.
    send_batch(1, {{"mallory", "bob", "never"}, {"mallory", "bob", "never"}}, 3);
    // One of three for an endpoint B does not export: that one alone is refused.
    send_batch(1, {{"mallory", "bob", "one"}, {"mallory", "secret", "x"}, {"", "bob", "three"}}, 3);

    hsipc_id mallory = wait_for(rb_, "hostA.mallory"), host = wait_for(rb_, "hostA");
    hsipc_msg m;
    ASSERT_OK(hsipc_poll(bob, &m, 5 * kSecond));
    EXPECT_EQ("one", std::string(static_cast<const char*>(m.data), m.length));
    EXPECT_EQ(mallory, m.from);
    hsipc_release(rb_, m.off);
    ASSERT_OK(hsipc_poll(bob, &m, 5 * kSecond));
    EXPECT_EQ("three", std::string(static_cast<const char*>(m.data), m.length));
    EXPECT_EQ(host, m.from);  // no sender's name: from the host proxy
    hsipc_release(rb_, m.off);
    EXPECT_EQ(HSIPC_EAGAIN, hsipc_poll(bob, &m, 0));
    auto sb = wait_count(b_, "refused", 2);
    EXPECT_EQ(1u, sb["refused_truncated"]);
    EXPECT_EQ(1u, sb["refused_bad_destination"]);
    EXPECT_EQ(2u, sb["delivered"]);
    EXPECT_EQ(0u, sb["lost"]);
}

// A stream of small messages with large ones among them, from one sender:
// batched and not, they arrive whole and in the order sent. (At most
// kWindow in flight: more would exhaust host B's small pool, and drops
// for want of a buffer are the back-pressure test's.)
TEST_F(BridgeTest, SmallMessagesBatchedAndLargeOnesAloneKeepTheirOrder) {
    hsipc_endpoint* alice = open(ra_, "alice");
    hsipc_endpoint* bob = open(rb_, "bob");
    ASSERT_NO_FATAL_FAILURE(start_bridges({}, {"bob"}));
    wait_for(ra_, "hostB.bob");
    constexpr uint32_t kMessages = 3000, kWindow = 24;
    std::atomic<uint32_t> received{0};
    std::string failure;
    std::thread receiver([&] {
        hsipc_msg m;
        while (received < kMessages && hsipc_poll(bob, &m, 10 * kSecond) == HSIPC_OK) {
            uint32_t seq = 0;
            const bool ok = payload_ok(m, &seq) && seq == received;
            hsipc_release(rb_, m.off);
            if (!ok) {
                failure = "message " + std::to_string(received) + " damaged or out of order (got " +
                          std::to_string(seq) + ")";
                return;
            }
            received++;
        }
        if (received < kMessages) failure = "only " + std::to_string(received) + " arrived";
    });
    hsipc_id to = 0;
    const int64_t deadline = now_ns() + 30 * kSecond;
    for (uint32_t i = 0; i < kMessages && failure.empty() && now_ns() < deadline;) {
        if (i - received >= kWindow) {
            usleep(50);
            continue;
        }
        // 2048 B is the largest batched size; 2049 B travels alone.
        const size_t size = i % 97 == 5 ? 65536 : i % 31 == 7 ? 2049 : i % 29 == 3 ? 2048 : 64;
        const std::vector<uint8_t> p = payload(i, size);
        ASSERT_OK(send_to(ra_, alice, "hostB.bob", &to, p.data(), size));
        i++;
    }
    receiver.join();
    EXPECT_EQ("", failure);
    auto sa = wait_count(a_, "forwarded", kMessages);
    auto sb = wait_count(b_, "delivered", kMessages);
    EXPECT_EQ(kMessages, sa["forwarded"]);
    EXPECT_EQ(kMessages, sb["delivered"]);
    EXPECT_EQ(0u, sa["dropped"] + sb["dropped"] + sb["refused"] + sb["lost"]);
}

TEST_F(BridgeTest, CurveBridgesWithMatchingKeysExchangeMessages) {
    const std::string ka = keygen("hostA"), kb = keygen("hostB");
    hsipc_endpoint* alice = open(ra_, "alice");
    hsipc_endpoint* bob = open(rb_, "bob");
    ASSERT_NO_FATAL_FAILURE(start_bridges({"alice"}, {"bob"},
                                          {"--secret-key", kb, "--peer-key", "hostA=" + ka + ".pub"},
                                          {"--secret-key", ka, "--peer-key", "hostB=" + kb + ".pub"}));
    wait_for(ra_, "hostB.bob");
    wait_for(rb_, "hostA.alice");
    std::string fail_a, fail_b;
    std::thread on_b([&] { exchange(rb_, bob, "hostA.alice", "hostA.alice", 60, &fail_b); });
    exchange(ra_, alice, "hostB.bob", "hostB.bob", 60, &fail_a);
    on_b.join();
    EXPECT_EQ("", fail_a) << "on host A";
    EXPECT_EQ("", fail_b) << "on host B";
    auto sa = a_.stats(), sb = b_.stats();
    for (auto* s : {&sa, &sb}) {
        EXPECT_EQ(60u, (*s)["forwarded"]);
        EXPECT_EQ(60u, (*s)["delivered"]);
        EXPECT_EQ(0u, (*s)["refused"] + (*s)["unknown_keys"] + (*s)["handshake_failures"]);
    }
    // B told its public key, the one its .pub file holds.
    EXPECT_NE(std::string::npos, read_file(b_.log).find("public key is " + public_key_text(kb)));
}

// B trusts hostA's and hostC's keys. A key it does not know fails the
// handshake, is counted, and delivers nothing; hostC's key is let in but
// speaks only for hostC, not for hostA; the real hostA is served
// throughout.
TEST_F(BridgeTest, CurveLetsInOnlyConfiguredKeysEachForItsOwnPeer) {
    const std::string ka = keygen("hostA"), kb = keygen("hostB"), kc = keygen("hostC");
    hsipc_endpoint* alice = open(ra_, "alice");
    hsipc_endpoint* bob = open(rb_, "bob");
    ASSERT_NO_FATAL_FAILURE(start_bridges(
        {}, {"bob"},
        {"--secret-key", kb, "--peer-key", "hostA=" + ka + ".pub", "--peer", "hostC", "--peer-key",
         "hostC=" + kc + ".pub"},
        {"--secret-key", ka, "--peer-key", "hostB=" + kb + ".pub"}));
    wait_for(ra_, "hostB.bob");
    const std::string b_public = public_key_text(kb);

    {
        char pub[41], secret[41];
        ASSERT_EQ(0, zmq_curve_keypair(pub, secret));
        FakePeer stranger(port_, b_public, pub, secret);
        stranger.hello_and_msg("hostA", 1);
        auto sb = wait_count(b_, "unknown_keys", 1);
        EXPECT_GE(sb["unknown_keys"], 1u);
        EXPECT_EQ(0u, sb["refused"]);  // refused before any frame: nothing of it reached the bridge
        EXPECT_NE(std::string::npos, read_file(b_.log).find(std::string("its key ") + pub))
            << "the refusal names the key";
    }
    {
        FakePeer c(port_, b_public, public_key_text(kc), secret_key_text(kc));
        c.hello_and_msg("hostA", 1);  // C's key, A's name: both frames refused
        c.hello_and_msg("hostC", 1);  // C as itself: delivered
        hsipc_msg m;
        ASSERT_OK(hsipc_poll(bob, &m, 5 * kSecond));
        EXPECT_EQ(wait_for(rb_, "hostC.mallory"), m.from);
        hsipc_release(rb_, m.off);
        // Frames of one connection arrive in order: the two before it were seen.
        auto sb = b_.stats();
        EXPECT_EQ(2u, sb["refused_unknown_peer"]);
        EXPECT_EQ(2u, sb["refused"]);
        EXPECT_EQ(1u, sb["delivered"]);
    }
    // Nothing else reached bob: not the stranger's message, not C's as A.
    hsipc_msg m;
    EXPECT_STATUS(HSIPC_EAGAIN, hsipc_poll(bob, &m, 0));
    // And the real hostA, with its key, is served as before.
    hsipc_id to = 0;
    const std::vector<uint8_t> p = payload(9, 64);
    ASSERT_OK(send_to(ra_, alice, "hostB.bob", &to, p.data(), p.size()));
    ASSERT_OK(hsipc_poll(bob, &m, 5 * kSecond));
    uint32_t seq;
    EXPECT_TRUE(payload_ok(m, &seq) && seq == 9);
    hsipc_release(rb_, m.off);
}

// With CURVE configured nothing in clear text gets in: not a bridge
// without keys, not a fake peer sending well-formed frames.
TEST_F(BridgeTest, PlaintextPeersAreRefusedByACurveBridge) {
    const std::string ka = keygen("hostA"), kb = keygen("hostB");
    hsipc_endpoint* bob = open(rb_, "bob");
    // A runs without keys: its connection speaks plain ZMTP.
    ASSERT_NO_FATAL_FAILURE(
        start_bridges({}, {"bob"}, {"--secret-key", kb, "--peer-key", "hostA=" + ka + ".pub"}, {}));
    wait_started(a_);
    FakePeer plain(port_, "", "", "");
    plain.hello_and_msg("hostA", 1);
    // Both connections fail their handshake (again at every reconnection).
    auto sb = wait_count(b_, "handshake_failures", 2);
    EXPECT_GE(sb["handshake_failures"], 2u);
    EXPECT_EQ(0u, sb["refused"] + sb["delivered"] + sb["peers_up"]);
    EXPECT_EQ(0u, sb["unknown_keys"]);  // not a key refused: no CURVE spoken at all
    hsipc_id id;
    EXPECT_STATUS(HSIPC_ENOENT, hsipc_lookup(ra_, "hostB.bob", &id));  // A never heard B
    EXPECT_STATUS(HSIPC_ENOENT, hsipc_lookup(rb_, "hostA", &id));
    hsipc_msg m;
    EXPECT_STATUS(HSIPC_EAGAIN, hsipc_poll(bob, &m, 0));
}

// A CURVE bridge connects only to the holder of the peer's secret key:
// something else answering at the peer's address (here a CURVE server
// with another key pair) fails the handshake and is never taken for it.
TEST_F(BridgeTest, CurveTalksOnlyToWhoeverHoldsThePeersKey) {
    const std::string ka = keygen("hostA"), kb = keygen("hostB");
    void* ctx = zmq_ctx_new();
    void* impostor = zmq_socket(ctx, ZMQ_ROUTER);
    char pub[41], secret[41];
    ASSERT_EQ(0, zmq_curve_keypair(pub, secret));
    const int server = 1, linger = 0;
    zmq_setsockopt(impostor, ZMQ_LINGER, &linger, sizeof linger);
    ASSERT_EQ(0, zmq_setsockopt(impostor, ZMQ_CURVE_SERVER, &server, sizeof server));
    ASSERT_EQ(0, zmq_setsockopt(impostor, ZMQ_CURVE_SECRETKEY, secret, 41));
    ASSERT_EQ(0, zmq_bind(impostor, "tcp://127.0.0.1:*"));
    char endpoint[256];
    size_t size = sizeof endpoint;
    ASSERT_EQ(0, zmq_getsockopt(impostor, ZMQ_LAST_ENDPOINT, endpoint, &size));
    a_.args = common_args("hostA", a_name_);
    a_.args.insert(a_.args.end(), {"--peer", std::string("hostB=") + endpoint, "--secret-key", ka, "--peer-key",
                                   "hostB=" + kb + ".pub"});
    ASSERT_NO_FATAL_FAILURE(a_.start());
    wait_started(a_);
    auto sa = wait_count(a_, "handshake_failures", 1);
    EXPECT_GE(sa["handshake_failures"], 1u);
    EXPECT_EQ(0u, sa["peers_up"]);
    hsipc_id id;
    EXPECT_STATUS(HSIPC_ENOENT, hsipc_lookup(ra_, "hostB", &id));
    // Nothing of A's reached the impostor either.
    zmq_msg_t m;
    zmq_msg_init(&m);
    EXPECT_EQ(-1, zmq_msg_recv(&m, impostor, ZMQ_DONTWAIT));
    zmq_msg_close(&m);
    zmq_close(impostor);
    zmq_ctx_term(ctx);
}

// ---- Topics -------------------------------------------------------------------

// Publishes message `seq` of `size` bytes from ep to topic; an hsipc status.
int publish(hsipc_region* r, hsipc_endpoint* ep, hsipc_id topic, uint32_t seq, size_t size) {
    hsipc_off off;
    int rc = hsipc_alloc(r, size, &off);
    if (rc != HSIPC_OK) return rc;
    const std::vector<uint8_t> p = payload(seq, size);
    std::memcpy(hsipc_ptr(r, off), p.data(), size);
    uint32_t delivered = 0;
    rc = hsipc_publish(ep, topic, off, size, &delivered, nullptr);
    if (rc != HSIPC_OK) hsipc_release(r, off);
    return rc;
}

uint32_t shared_buffers(hsipc_region* r) {
    hsipc_config cfg;
    hsipc_config_init(&cfg);
    if (hsipc_region_config(r, &cfg) != HSIPC_OK) return UINT32_MAX;
    uint32_t shared = 0;
    for (uint32_t p = 0; p < cfg.pool_count; p++) {
        hsipc_pool_stats s;
        s.struct_size = sizeof s;
        if (hsipc_region_pool_stats(r, p, &s) != HSIPC_OK) return UINT32_MAX;
        shared += s.shared_count;
    }
    return shared;
}

// One subscriber and what it got from each publisher, told apart by
// msg.from: the publishers' names as its own region knows them (a local
// endpoint, or the bridge's proxy PEER.NAME for a remote one).
struct Subscriber {
    Subscriber(hsipc_region* r, hsipc_endpoint* e, std::vector<std::string> names)
        : region(r), ep(e), publishers(std::move(names)) {}
    hsipc_region* region;
    hsipc_endpoint* ep;
    std::vector<std::string> publishers;
    std::vector<hsipc_id> ids;
    std::vector<uint32_t> next;  // the seq expected next from each
    uint32_t total = 0;
    std::string failure;

    // Takes what waits; each publisher's messages must come in order and,
    // as the test never lets an inbox fill, without a gap.
    bool take() {
        ids.resize(publishers.size());
        next.resize(publishers.size());
        bool any = false;
        hsipc_msg m;
        while (hsipc_poll(ep, &m, 0) == HSIPC_OK) {
            any = true;
            size_t src = publishers.size();
            for (size_t i = 0; i < publishers.size() && src == publishers.size(); i++) {
                if (ids[i] == 0) hsipc_lookup(region, publishers[i].c_str(), &ids[i]);
                if (ids[i] == m.from) src = i;
            }
            uint32_t seq = 0;
            const bool intact = (m.flags & HSIPC_MSG_SHARED) && payload_ok(m, &seq);
            hsipc_release(region, m.off);
            if (src == publishers.size() || !intact || seq != next[src]) {
                if (failure.empty()) {
                    failure = src == publishers.size() ? "a message from no expected publisher"
                              : !intact                ? "a damaged or unshared message from " + publishers[src]
                                                       : "from " + publishers[src] + ": seq " + std::to_string(seq) +
                                                             ", expected " + std::to_string(next[src]);
                }
                continue;
            }
            next[src]++;
            total++;
        }
        return any;
    }
};

struct Publisher {
    Publisher(hsipc_region* r, hsipc_endpoint* e, hsipc_id t) : region(r), ep(e), topic(t) {}
    hsipc_region* region;
    hsipc_endpoint* ep;
    hsipc_id topic;
    uint32_t sent = 0;
};

// Each publisher publishes n messages (100 B, every tenth 50 KiB, one of
// 1 MiB) while the subscribers take theirs; a publisher stays at most
// `window` messages ahead of its slowest subscriber, well inside an inbox
// (64), so no subscriber ever misses one. Then nothing more arrives: no
// echo.
void exchange_topic(std::vector<Publisher>& pubs, const std::vector<Subscriber*>& subs, uint32_t n) {
    const uint32_t window = 16;
    const uint32_t want = uint32_t(pubs.size()) * n;
    const int64_t deadline = now_ns() + 30 * kSecond;
    auto done = [&] {
        for (auto* s : subs) {
            if (s->total < want) return false;
        }
        return true;
    };
    while (!done() && now_ns() < deadline) {
        bool progress = false;
        for (size_t k = 0; k < pubs.size(); k++) {
            Publisher& p = pubs[k];
            uint32_t slowest = p.sent;
            for (auto* s : subs) slowest = std::min(slowest, s->next.size() > k ? s->next[k] : 0);
            if (p.sent == n || p.sent - slowest >= window) continue;
            const size_t size = p.sent == n / 2 ? 1024 * 1024 : p.sent % 10 == 3 ? 50000 : 100;
            const int rc = publish(p.region, p.ep, p.topic, p.sent, size);
            if (rc == HSIPC_OK) {
                p.sent++;
                progress = true;
            } else {
                ASSERT_STATUS(HSIPC_ENOMEM, rc);  // a pool momentarily empty: again later
            }
        }
        for (auto* s : subs) progress = s->take() || progress;
        if (!progress) usleep(200);
    }
    for (auto* s : subs) {
        EXPECT_EQ("", s->failure);
        EXPECT_EQ(want, s->total) << "timed out";
    }
    usleep(200000);
    for (auto* s : subs) {
        EXPECT_FALSE(s->take()) << "a subscriber got more than was published";
        EXPECT_EQ(want, s->total);
    }
}

// Topic "ticks" exported by both bridges: two publishers on A, one on B,
// one subscriber on A and two on B. Every subscriber gets every message of
// every publisher, each publisher's in order; the remote ones from the
// proxy that stands for the publisher. Nothing echoes: a bridge forwards
// only what local processes published, so each side forwards exactly its
// own publishers' messages. A topic only A exports never crosses. And a
// subscriber's reply to msg.from reaches the remote publisher.
TEST_F(BridgeTest, ATopicPublishedOnEitherHostReachesSubscribersOnBothWithoutEchoes) {
    Subscriber sub_a{ra_, subscribe(ra_, "subA", "ticks"), {"pubA", "pubA2", "hostB.pubB"}};
    Subscriber sub_b{rb_, subscribe(rb_, "subB", "ticks"), {"hostA.pubA", "hostA.pubA2", "pubB"}};
    Subscriber sub_b2{rb_, subscribe(rb_, "subB2", "ticks"), {"hostA.pubA", "hostA.pubA2", "pubB"}};
    hsipc_id ticks_a, ticks_b, only_a;
    ASSERT_OK(hsipc_topic_open(ra_, "ticks", &ticks_a));
    ASSERT_OK(hsipc_topic_open(rb_, "ticks", &ticks_b));
    ASSERT_OK(hsipc_topic_open(ra_, "onlyA", &only_a));
    std::vector<Publisher> pubs = {{ra_, open(ra_, "pubA"), ticks_a}, {ra_, open(ra_, "pubA2"), ticks_a},
                                   {rb_, open(rb_, "pubB"), ticks_b}};
    ASSERT_NO_FATAL_FAILURE(start_bridges({}, {}, {"--export-topic", "ticks"},
                                          {"--export-topic", "ticks", "--export-topic", "onlyA"}));
    // Up, and each has the other's HELLO (its topics) once its host proxy is open.
    wait_for(ra_, "hostB");
    wait_for(rb_, "hostA");
    for (uint32_t i = 0; i < 5; i++) ASSERT_OK(publish(ra_, pubs[0].ep, only_a, i, 100));

    const uint32_t n = 150;
    ASSERT_NO_FATAL_FAILURE(exchange_topic(pubs, {&sub_a, &sub_b, &sub_b2}, n));
    auto sa = a_.stats(), sb = b_.stats();
    // A subscriber on B replies to msg.from, the proxy for pubA: the reply
    // reaches pubA, from the proxy that stands for the subscriber.
    hsipc_id to = sub_b.ids[0];
    const std::vector<uint8_t> reply = payload(77, 64);
    ASSERT_OK(send_to(rb_, sub_b.ep, "hostA.pubA", &to, reply.data(), reply.size()));
    hsipc_msg m;
    ASSERT_OK(hsipc_poll(pubs[0].ep, &m, 5 * kSecond));
    uint32_t seq = 0;
    EXPECT_TRUE(payload_ok(m, &seq) && seq == 77 && !(m.flags & HSIPC_MSG_SHARED));
    EXPECT_EQ(wait_for(ra_, "hostB.subB"), m.from);
    hsipc_release(ra_, m.off);
    EXPECT_EQ(2 * n, sa["topic_forwarded"]);  // pubA's and pubA2's, none of onlyA's, none of pubB's back
    EXPECT_EQ(n, sa["topic_published"]);
    EXPECT_EQ(n, sb["topic_forwarded"]);
    EXPECT_EQ(2 * n, sb["topic_published"]);
    for (auto* s : {&sa, &sb}) {
        EXPECT_EQ(0u, (*s)["topic_dropped"]);
        EXPECT_EQ(0u, (*s)["topic_skipped"]);
        EXPECT_EQ(0u, (*s)["refused"]);
        EXPECT_EQ(0u, (*s)["lost"]);
    }
}

// Three hosts, fully meshed (A connects to B and C, C to B), each with a
// publisher and a subscriber on topic "ticks", exported everywhere. Each
// subscriber gets each publisher's messages once, in order: no bridge
// forwards what it published for a peer, so nothing goes round the triangle.
TEST_F(BridgeTest, ThreeMeshedHostsShareATopicWithoutEchoes) {
    ScopedName c_name{"brC"};
    hsipc_config cfg = host_config();
    hsipc_region* region_c = nullptr;
    ASSERT_OK(hsipc_attach(c_name.c_str(), &cfg, &region_c));
    BridgeProcess c;
    c.log = a_.log + "-C.log";
    std::remove(c.log.c_str());
    hsipc_endpoint* sub_c_ep = nullptr;
    hsipc_endpoint* pub_c_ep = nullptr;
    // Host C's end, however the test ends: its bridge stopped, and with a
    // reap every buffer of its region free.
    struct HostC {
        BridgeProcess& bridge;
        hsipc_region* region;
        hsipc_endpoint** eps[2];
        const char* region_name;
        ~HostC() {
            for (hsipc_endpoint** ep : eps) {
                if (*ep) hsipc_endpoint_close(*ep);
            }
            if (bridge.pid > 0) {
                EXPECT_EQ(0, bridge.stop()) << "bridge C did not stop cleanly";
            }
            EXPECT_GE(hsipc_reap(region), 0);
            expect_pools_whole(region, "region C");
            if (::testing::Test::HasFailure()) {
                std::fprintf(stderr, "---- bridge C log ----\n%s", read_file(bridge.log).c_str());
            }
            std::remove(bridge.log.c_str());
            std::remove(hsipc_bridge::stats_page_path(region_name, "hostC").c_str());
            hsipc_detach(region);
        }
    } host_c{c, region_c, {&sub_c_ep, &pub_c_ep}, c_name.c_str()};
    ASSERT_OK(hsipc_endpoint_open(region_c, "subC", &sub_c_ep));
    ASSERT_OK(hsipc_subscribe(sub_c_ep, "ticks"));
    ASSERT_OK(hsipc_endpoint_open(region_c, "pubC", &pub_c_ep));
    hsipc_id ticks_a, ticks_b, ticks_c;
    ASSERT_OK(hsipc_topic_open(ra_, "ticks", &ticks_a));
    ASSERT_OK(hsipc_topic_open(rb_, "ticks", &ticks_b));
    ASSERT_OK(hsipc_topic_open(region_c, "ticks", &ticks_c));
    Subscriber sub_a{ra_, subscribe(ra_, "subA", "ticks"), {"pubA", "hostB.pubB", "hostC.pubC"}};
    Subscriber sub_b{rb_, subscribe(rb_, "subB", "ticks"), {"hostA.pubA", "pubB", "hostC.pubC"}};
    Subscriber sub_c{region_c, sub_c_ep, {"hostA.pubA", "hostB.pubB", "pubC"}};
    std::vector<Publisher> pubs = {{ra_, open(ra_, "pubA"), ticks_a}, {rb_, open(rb_, "pubB"), ticks_b},
                                   {region_c, pub_c_ep, ticks_c}};

    // B and C listen; A connects to both, C to B.
    ASSERT_NO_FATAL_FAILURE(start_bridges({}, {}, {"--peer", "hostC", "--export-topic", "ticks"},
                                          {"--export-topic", "ticks"}));
    c.args = common_args("hostC", c_name);
    c.args.insert(c.args.end(), {"--listen", "tcp://127.0.0.1:*", "--peer", "hostA", "--peer",
                                 "hostB=tcp://127.0.0.1:" + std::to_string(port_), "--export-topic", "ticks"});
    ASSERT_NO_FATAL_FAILURE(c.start());
    const int port_c = c.listen_port();
    ASSERT_GT(port_c, 0) << read_file(c.log);
    // A was started knowing only B: start it again with C too, once it
    // runs (a SIGTERM before it blocks the signal would kill it).
    wait_for(rb_, "hostA");
    EXPECT_EQ(0, a_.stop());
    a_.args.insert(a_.args.end(), {"--peer", "hostC=tcp://127.0.0.1:" + std::to_string(port_c)});
    ASSERT_NO_FATAL_FAILURE(a_.start());
    // Each up, with the others' HELLO (their topics), once its host proxies are open.
    for (auto [r, name] : std::vector<std::pair<hsipc_region*, const char*>>{{ra_, "hostB"},
                                                                             {ra_, "hostC"},
                                                                             {rb_, "hostA"},
                                                                             {rb_, "hostC"},
                                                                             {region_c, "hostA"},
                                                                             {region_c, "hostB"}}) {
        wait_for(r, name);
    }

    const uint32_t n = 100;
    ASSERT_NO_FATAL_FAILURE(exchange_topic(pubs, {&sub_a, &sub_b, &sub_c}, n));
    auto sa = a_.stats(), sb = b_.stats(), sc = c.stats();
    for (auto* s : {&sa, &sb, &sc}) {
        EXPECT_EQ(2 * n, (*s)["topic_forwarded"]);  // its own publisher's, to two peers
        EXPECT_EQ(2 * n, (*s)["topic_published"]);  // the two others'
        EXPECT_EQ(0u, (*s)["topic_dropped"] + (*s)["refused"] + (*s)["lost"]);
    }
}

// Topics never wait: what cannot move is dropped and counted. With B's
// pools empty, B drops A's publications for want of a buffer; with B gone,
// A drops them for the link and, once B is down, for the peer. Every
// publication A's bridge took is counted exactly once.
TEST_F(BridgeTest, TopicMessagesThatCannotMoveAreDroppedAndCounted) {
    hsipc_endpoint* pub = open(ra_, "pub");
    hsipc_endpoint* sub = subscribe(rb_, "sub", "ticks");
    hsipc_id ticks;
    ASSERT_OK(hsipc_topic_open(ra_, "ticks", &ticks));
    peer_timeout_ = "1s";
    ASSERT_NO_FATAL_FAILURE(start_bridges({}, {}, {"--export-topic", "ticks"}, {"--export-topic", "ticks"}));
    wait_for(ra_, "hostB");
    wait_for(rb_, "hostA");
    // A's bridge is the topic's only subscriber on A: `delivered` says
    // whether it took the publication.
    uint64_t taken = 0;
    auto publish_counted = [&](uint32_t seq) {
        hsipc_off off;
        ASSERT_OK(hsipc_alloc(ra_, 100, &off));
        const std::vector<uint8_t> p = payload(seq, 100);
        std::memcpy(hsipc_ptr(ra_, off), p.data(), p.size());
        uint32_t delivered = 0;
        ASSERT_OK(hsipc_publish(pub, ticks, off, p.size(), &delivered, nullptr));
        taken += delivered;
    };

    std::vector<hsipc_off> held;  // every buffer of B
    hsipc_off off;
    while (hsipc_alloc(rb_, 1, &off) == HSIPC_OK) held.push_back(off);
    for (uint32_t i = 0; i < 5; i++) ASSERT_NO_FATAL_FAILURE(publish_counted(i));
    std::map<std::string, uint64_t> sb;
    int64_t deadline = now_ns() + 10 * kSecond;
    do {
        sb = b_.stats();
    } while (sb["topic_dropped_no_buffer"] < 5 && now_ns() < deadline);
    EXPECT_EQ(5u, sb["topic_dropped_no_buffer"]);
    EXPECT_EQ(5u, sb["topic_dropped"]);
    EXPECT_EQ(0u, sb["topic_published"]);
    for (hsipc_off o : held) hsipc_release(rb_, o);
    ASSERT_NO_FATAL_FAILURE(publish_counted(5));
    hsipc_msg m;
    ASSERT_OK(hsipc_poll(sub, &m, 5 * kSecond));
    uint32_t seq = 0;
    EXPECT_TRUE(payload_ok(m, &seq) && seq == 5) << seq;
    hsipc_release(rb_, m.off);

    EXPECT_EQ(128 + SIGKILL, b_.stop(SIGKILL));
    hsipc_reap(rb_);
    // Publish until A has found B down (peer_timeout), then ten more.
    std::map<std::string, uint64_t> sa;
    uint32_t next = 6, after_down = 0;
    deadline = now_ns() + 10 * kSecond;
    while (after_down < 10 && now_ns() < deadline) {
        ASSERT_NO_FATAL_FAILURE(publish_counted(next++));
        if (after_down > 0 || (next % 20 == 0 && a_.stats()["peers_up"] == 0)) after_down++;
        usleep(2000);
    }
    EXPECT_EQ(10u, after_down) << "A never found B down";
    deadline = now_ns() + 10 * kSecond;
    uint64_t accounted = 0;
    do {
        sa = a_.stats();
        accounted = sa["topic_forwarded"] + sa["topic_dropped_link"] + sa["topic_dropped_peer_down"];
    } while (accounted < taken && now_ns() < deadline);
    EXPECT_EQ(taken, accounted);
    EXPECT_GE(sa["topic_dropped_peer_down"], 10u);
    EXPECT_EQ(sa["topic_dropped_link"] + sa["topic_dropped_peer_down"], sa["topic_dropped"]);
    std::fprintf(stderr, "A took %llu publications: forwarded %llu, dropped for the link %llu, for the peer %llu\n",
                 (unsigned long long)taken, (unsigned long long)sa["topic_forwarded"],
                 (unsigned long long)sa["topic_dropped_link"], (unsigned long long)sa["topic_dropped_peer_down"]);
}

// A burst of 1 MiB TOPIC frames (from a fake peer, so they come back to
// back) into a region of four 1 MiB buffers and no local subscriber: the
// bridge's own subscription gets each publication too, and must let go of
// it at once, not after the whole burst — else the pool runs dry and the
// burst is dropped for want of a buffer.
TEST_F(BridgeTest, ABurstOfLargeTopicFramesNeedsNoBufferHeldByTheBridge) {
    ASSERT_NO_FATAL_FAILURE(start_bridges({}, {}, {"--export-topic", "big"}));
    wait_for(rb_, "hostA");
    EXPECT_EQ(0, a_.stop());  // the fake takes its place
    void* ctx = zmq_ctx_new();
    void* fake = zmq_socket(ctx, ZMQ_DEALER);
    const int linger = 5000;
    zmq_setsockopt(fake, ZMQ_LINGER, &linger, sizeof linger);
    const std::string address = "tcp://127.0.0.1:" + std::to_string(port_);
    ASSERT_EQ(0, zmq_connect(fake, address.c_str()));
    const uint64_t session = 43;
    const uint32_t n = 16;
    const std::vector<uint8_t> body(1024 * 1024, 'b');
    for (uint32_t i = 1; i <= n; i++) {
        std::vector<uint8_t> h(wire::kMsgHeaderMax);
        h.resize(wire::encode_topic(session, "hostA", i, "pub", "big", uint32_t(body.size()), h.data()));
        ASSERT_EQ(int(h.size()), zmq_send(fake, h.data(), h.size(), ZMQ_SNDMORE));
        ASSERT_EQ(int(body.size()), zmq_send(fake, body.data(), body.size(), 0));
    }
    std::map<std::string, uint64_t> sb;
    const int64_t deadline = now_ns() + 10 * kSecond;
    do {
        sb = b_.stats();
    } while (sb["topic_published"] + sb["topic_dropped"] < n && now_ns() < deadline);
    zmq_close(fake);
    zmq_ctx_term(ctx);
    EXPECT_EQ(n, sb["topic_published"]);
    EXPECT_EQ(0u, sb["topic_dropped_no_buffer"]);
}

// A region without room for the topic: the bridge says so and exits 1
// rather than run without it.
TEST_F(BridgeTest, ATopicTheRegionHasNoRoomForStopsTheBridgeAtStart) {
    ScopedName name{"brT"};
    hsipc_config cfg = host_config();
    cfg.max_topics = 0;
    hsipc_region* r = nullptr;
    ASSERT_OK(hsipc_attach(name.c_str(), &cfg, &r));
    BridgeProcess bridge;
    bridge.log = a_.log + "-T.log";
    bridge.args = common_args("hostT", name);
    bridge.args.insert(bridge.args.end(), {"--peer", "hostB=tcp://127.0.0.1:1", "--export-topic", "ticks"});
    ASSERT_NO_FATAL_FAILURE(bridge.start());
    EXPECT_EQ(1, hsipc_test::wait_child(bridge.pid, 10));
    const std::string log = read_file(bridge.log);
    EXPECT_NE(std::string::npos, log.find("cannot export topic ticks")) << log;
    std::remove(bridge.log.c_str());
    std::remove(hsipc_bridge::stats_page_path(name.c_str(), "hostT").c_str());
    EXPECT_GE(hsipc_reap(r), 0);
    expect_pools_whole(r, "region T");
    hsipc_detach(r);
}

// A stream published on A, subscribed on B. Each bridge in turn is killed
// with SIGKILL mid-stream: its region is reapable and then holds no shared
// buffer beyond what subscribers queued; restarted, it forwards again while
// the publisher and the subscriber stay as they are. Each publisher's order
// holds throughout (what the dead bridge held is missing, nothing comes
// twice or out of order).
TEST_F(BridgeTest, KillEachBridgeMidTopicStreamThenForwardingResumes) {
    hsipc_endpoint* pub = open(ra_, "pub");
    hsipc_endpoint* sub = subscribe(rb_, "sub", "ticks");
    hsipc_id ticks;
    ASSERT_OK(hsipc_topic_open(ra_, "ticks", &ticks));
    ASSERT_NO_FATAL_FAILURE(start_bridges({}, {}, {"--export-topic", "ticks"}, {"--export-topic", "ticks"}));
    wait_for(ra_, "hostB");
    wait_for(rb_, "hostA");

    std::atomic<bool> stop{false}, pause_pub{false}, pub_paused{false}, pause_sub{false}, sub_paused{false};
    std::atomic<uint32_t> published{0}, received{0}, last_seq{0};
    std::atomic<bool> out_of_order{false};
    std::thread publisher([&] {
        while (!stop) {
            if (pause_pub) {
                pub_paused = true;
                usleep(1000);
                continue;
            }
            pub_paused = false;
            if (publish(ra_, pub, ticks, published + 1, 200) == HSIPC_OK) published++;
            usleep(200);
        }
    });
    std::thread subscriber([&] {
        hsipc_msg m;
        while (!stop) {
            if (pause_sub) {
                sub_paused = true;
                usleep(1000);
                continue;
            }
            sub_paused = false;
            if (hsipc_poll(sub, &m, 10000000) != HSIPC_OK) continue;
            uint32_t seq = 0;
            if (!(m.flags & HSIPC_MSG_SHARED) || !payload_ok(m, &seq) || seq <= last_seq) out_of_order = true;
            last_seq = seq;
            received++;
            hsipc_release(rb_, m.off);
        }
    });
    auto wait_received = [&](uint32_t more) {
        const uint32_t target = received + more;
        const int64_t deadline = now_ns() + 10 * kSecond;
        while (received < target && now_ns() < deadline) usleep(1000);
        return received >= target;
    };
    auto pause = [&](std::atomic<bool>& flag, std::atomic<bool>& paused) {
        flag = true;
        while (!paused) usleep(1000);
    };

    ASSERT_TRUE(wait_received(200));
    EXPECT_EQ(128 + SIGKILL, a_.stop(SIGKILL));
    pause(pause_pub, pub_paused);
    EXPECT_GT(hsipc_reap(ra_), 0);  // its subscription and the buffers ZeroMQ held return
    EXPECT_EQ(0u, shared_buffers(ra_));
    expect_pools_whole(ra_, "region A after the bridge's death");
    pause_pub = false;
    ASSERT_NO_FATAL_FAILURE(a_.start());
    EXPECT_TRUE(wait_received(200)) << "no publications after restarting bridge A";

    EXPECT_EQ(128 + SIGKILL, b_.stop(SIGKILL));
    pause(pause_pub, pub_paused);
    pause(pause_sub, sub_paused);
    EXPECT_GE(hsipc_reap(rb_), 1);
    hsipc_id gone;
    EXPECT_STATUS(HSIPC_ENOENT, hsipc_lookup(rb_, "hostA.pub", &gone));
    {
        // Only what waits in sub's inbox is not free, and it is shared.
        hsipc_endpoint_info info;
        info.struct_size = sizeof info;
        uint32_t queued = 0;
        for (uint32_t slot = 0; slot < 32; slot++) {
            if (hsipc_region_endpoint_info(rb_, slot, &info) == HSIPC_OK) queued += info.queued;
        }
        EXPECT_EQ(queued, shared_buffers(rb_));
        uint32_t not_free = 0;
        for (uint32_t p = 0; p < 3; p++) {
            hsipc_pool_stats s;
            s.struct_size = sizeof s;
            ASSERT_OK(hsipc_region_pool_stats(rb_, p, &s));
            not_free += s.buffer_count - s.free_count;
        }
        EXPECT_EQ(queued, not_free) << "region B holds buffers beyond sub's queued messages";
    }
    pause_sub = false;
    pause_pub = false;
    ASSERT_NO_FATAL_FAILURE(b_.start());
    EXPECT_TRUE(wait_received(200)) << "no publications after restarting bridge B";

    // Quiet end: once the stream has settled (nothing arrives for 200 ms),
    // one more publication finds an empty inbox and arrives.
    pause(pause_pub, pub_paused);
    for (uint32_t before = received + 1; before != received;) {
        before = received;
        usleep(200000);
    }
    const uint32_t final_seq = published + 1;
    ASSERT_OK(publish(ra_, pub, ticks, final_seq, 200));
    const int64_t deadline = now_ns() + 5 * kSecond;
    while (last_seq < final_seq && now_ns() < deadline) usleep(1000);
    stop = true;
    publisher.join();
    subscriber.join();
    EXPECT_FALSE(out_of_order);
    EXPECT_EQ(final_seq, last_seq.load()) << "the last publication did not arrive";
    auto sa = a_.stats(), sb = b_.stats();
    EXPECT_EQ(0u, sa["refused"] + sb["refused"]);
    std::fprintf(stderr, "published %u, received %u across two bridge deaths\n", final_seq, received.load());
}

// ---- hsipc-bridge --stats ---------------------------------------------------

// `hsipc-bridge --stats ARGS` as an operator's shell runs it.
struct StatsRun {
    int status = -1;  // 128 + signal where it was killed: a crash
    std::string out, err;
};

StatsRun run_stats(const std::string& args) {
    StatsRun r;
    char err_path[] = "/tmp/hsipc-bridge-test-stats-XXXXXX";
    const int fd = mkstemp(err_path);
    if (fd < 0) return r;
    close(fd);
    const std::string command = std::string(HSIPC_BRIDGE) + " --stats " + args + " 2>" + err_path;
    FILE* p = popen(command.c_str(), "r");
    if (p) {
        char buf[4096];
        for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) r.out.append(buf, n);
        const int st = pclose(p);
        r.status = WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1;
    }
    r.err = read_file(err_path);
    std::remove(err_path);
    return r;
}

// The key=value pairs of a stats line ("hsipc-bridge[HOST]: stats k=v ...").
std::map<std::string, uint64_t> parse_stats_line(const std::string& line) {
    std::map<std::string, uint64_t> out;
    const size_t at = line.find(": stats ");
    if (at == std::string::npos) return out;
    std::istringstream in(line.substr(at + 8));
    for (std::string kv; in >> kv;) {
        const size_t eq = kv.find('=');
        if (eq != std::string::npos) out[kv.substr(0, eq)] = std::stoull(kv.substr(eq + 1));
    }
    return out;
}

// JSON parsed by Python's json module (strict: any syntax error fails),
// flattened to KEY=VALUE and stats.KEY=VALUE with values as JSON text.
std::map<std::string, std::string> parse_json(const std::string& json) {
    std::map<std::string, std::string> out;
    char path[] = "/tmp/hsipc-bridge-test-json-XXXXXX";
    const int fd = mkstemp(path);
    if (fd < 0 || write(fd, json.data(), json.size()) != ssize_t(json.size())) return out;
    close(fd);
    const std::string command =
        std::string("python3 -c 'import json, sys\n"
                    "d = json.load(sys.stdin)\n"
                    "for k, v in d.items():\n"
                    "    for kk, vv in (v.items() if k == \"stats\" else [(None, v)]):\n"
                    "        print((k + \".\" + kk if kk else k) + \"=\" + json.dumps(vv))' <") +
        path;
    FILE* p = popen(command.c_str(), "r");
    std::string text;
    if (p) {
        char buf[4096];
        for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) text.append(buf, n);
        if (pclose(p) != 0) text.clear();
    }
    std::remove(path);
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        const size_t eq = line.find('=');
        if (eq != std::string::npos) out[line.substr(0, eq)] = line.substr(eq + 1);
    }
    return out;
}

// `n` messages from alice on A to bob on B, all received.
void send_across(hsipc_region* ra, hsipc_endpoint* alice, hsipc_region* rb, hsipc_endpoint* bob, uint32_t n) {
    hsipc_id to = 0;
    for (uint32_t i = 0; i < n; i++) {
        const std::vector<uint8_t> p = payload(i, 100);
        ASSERT_OK(send_to(ra, alice, "hostB.bob", &to, p.data(), p.size()));
        hsipc_msg m;
        ASSERT_OK(hsipc_poll(bob, &m, 5 * kSecond)) << "message " << i;
        hsipc_release(rb, m.off);
    }
}

// Asks until the bridge runs and the --stats counter `key` reaches n (the
// page follows the bridge's loop: a turn after the traffic at most); the
// last answer.
StatsRun wait_stats(const std::string& args, const char* key, uint64_t n) {
    StatsRun r;
    const int64_t deadline = now_ns() + 10 * kSecond;
    for (;;) {
        r = run_stats(args);
        if ((r.status == 0 && parse_stats_line(r.out)[key] >= n) || now_ns() > deadline) return r;
        usleep(10000);
    }
}

TEST_F(BridgeTest, StatsOfARunningBridgeCountWhatWasSentAndMatchItsSignalLine) {
    hsipc_endpoint* alice = open(ra_, "alice");
    hsipc_endpoint* bob = open(rb_, "bob");
    ASSERT_NO_FATAL_FAILURE(start_bridges({}, {"bob"}));
    wait_for(ra_, "hostB.bob");
    ASSERT_NO_FATAL_FAILURE(send_across(ra_, alice, rb_, bob, 50));

    const std::string a_args = std::string("--region ") + a_name_.c_str() + " --host hostA";
    const std::string b_args = std::string("--region ") + b_name_.c_str() + " --host hostB";
    StatsRun ra = wait_stats(a_args, "forwarded", 50), rb = wait_stats(b_args, "delivered", 50);
    ASSERT_EQ(0, ra.status) << ra.out << ra.err;
    ASSERT_EQ(0, rb.status) << rb.out << rb.err;
    EXPECT_EQ("", ra.err);
    EXPECT_EQ(0u, ra.out.find("hsipc-bridge[hostA]: stats forwarded=50 delivered=0 ")) << ra.out;
    EXPECT_EQ('\n', ra.out.back());
    auto sa = parse_stats_line(ra.out), sb = parse_stats_line(rb.out);
    EXPECT_EQ(50u, sa["forwarded"]);
    EXPECT_EQ(50u, sb["delivered"]);
    EXPECT_EQ(1u, sa["peers_up"]);
    EXPECT_EQ(2u, sa["proxies"]) << "the host proxy hostB and hostB.bob";
    // Quiet now: the signal line and --stats say the same, key for key.
    EXPECT_EQ(b_.stats(), parse_stats_line(run_stats(b_args).out));
    EXPECT_EQ(a_.stats(), parse_stats_line(run_stats(a_args).out));

    // --json, and the bridge's own configuration file naming it.
    const std::string config = b_.log + ".conf";
    {
        std::ofstream f(config);
        f << "region = " << b_name_.c_str() << "\nhost = hostB\nlisten = tcp://127.0.0.1:1\npeer = hostA\n";
    }
    const StatsRun rj = run_stats("--json --config " + config);
    std::remove(config.c_str());
    ASSERT_EQ(0, rj.status) << rj.out << rj.err;
    const auto j = parse_json(rj.out);
    ASSERT_FALSE(j.empty()) << "not JSON: " << rj.out;
    EXPECT_EQ("\"" + std::string(b_name_.c_str()) + "\"", j.at("region"));
    EXPECT_EQ("\"hostB\"", j.at("host"));
    EXPECT_EQ("true", j.at("running"));
    EXPECT_EQ(std::to_string(b_.pid), j.at("pid"));
    EXPECT_NEAR(double(time(nullptr)), std::stod(j.at("started_unix_s")), 120);
    EXPECT_EQ("50", j.at("stats.delivered"));
    EXPECT_EQ("0", j.at("stats.dropped"));
    EXPECT_EQ("0", j.at("stats.refused_bad_magic")) << "JSON has every refusal reason, zero or not";
    for (const auto& kv : parse_stats_line(rb.out)) EXPECT_EQ(1u, j.count("stats." + kv.first)) << kv.first;
}

TEST_F(BridgeTest, StatsOfAKilledBridgeSayNotRunningWithItsLastCountsUntilItRestarts) {
    hsipc_endpoint* alice = open(ra_, "alice");
    hsipc_endpoint* bob = open(rb_, "bob");
    ASSERT_NO_FATAL_FAILURE(start_bridges({}, {"bob"}));
    wait_for(ra_, "hostB.bob");
    ASSERT_NO_FATAL_FAILURE(send_across(ra_, alice, rb_, bob, 20));
    const std::string b_args = std::string("--region ") + b_name_.c_str() + " --host hostB";
    ASSERT_EQ(0, wait_stats(b_args, "delivered", 20).status);
    const pid_t killed = b_.pid;
    EXPECT_EQ(128 + SIGKILL, b_.stop(SIGKILL));

    StatsRun r = run_stats(b_args);
    EXPECT_EQ(3, r.status) << r.out << r.err;
    EXPECT_EQ(20u, parse_stats_line(r.out)["delivered"]) << r.out;
    EXPECT_NE(std::string::npos, r.err.find("not running")) << r.err;
    EXPECT_NE(std::string::npos, r.err.find("(pid " + std::to_string(killed) + ",")) << r.err;
    r = run_stats("--json " + b_args);
    EXPECT_EQ(3, r.status);
    EXPECT_EQ("false", parse_json(r.out)["running"]) << r.out;

    // Restarted, it takes the file over and counts from zero.
    hsipc_reap(rb_);
    ASSERT_NO_FATAL_FAILURE(b_.start());
    r = wait_stats(b_args, "peers_up", 1);
    EXPECT_EQ(0, r.status) << r.out << r.err;
    EXPECT_EQ(0u, parse_stats_line(r.out)["delivered"]) << r.out;
}

TEST_F(BridgeTest, ASecondBridgeWithTheSameRegionAndHostNameRefusesToStart) {
    ASSERT_NO_FATAL_FAILURE(start_bridges({}, {}));
    wait_started(a_);
    BridgeProcess twin;
    twin.args = a_.args;
    twin.log = a_.log + "-twin.log";
    ASSERT_NO_FATAL_FAILURE(twin.start());
    EXPECT_EQ(1, hsipc_test::wait_child(twin.pid, 10));
    const std::string log = read_file(twin.log);
    std::remove(twin.log.c_str());
    EXPECT_NE(std::string::npos, log.find("another hsipc-bridge with host name hostA is running for region " +
                                          std::string(a_name_.c_str())))
        << log;
    // The first one is undisturbed, and still the one --stats names.
    const StatsRun r = wait_stats(std::string("--json --region ") + a_name_.c_str() + " --host hostA", "", 0);
    EXPECT_EQ(0, r.status) << r.err;
    EXPECT_EQ(std::to_string(a_.pid), parse_json(r.out)["pid"]);
}

TEST_F(BridgeTest, ADamagedStatsFileIsRefusedWithAReasonNeverACrash) {
    ASSERT_NO_FATAL_FAILURE(start_bridges({}, {}));
    wait_started(a_);
    EXPECT_EQ(0, a_.stop());  // a clean stop leaves its last counts
    const std::string args = std::string("--region ") + a_name_.c_str() + " --host hostA";
    const std::string path = hsipc_bridge::stats_page_path(a_name_.c_str(), "hostA");
    StatsRun r = run_stats(args);
    EXPECT_EQ(3, r.status) << r.err;

    ASSERT_EQ(0, truncate(path.c_str(), 100));
    r = run_stats(args);
    EXPECT_EQ(1, r.status) << r.err;
    EXPECT_EQ("", r.out);
    EXPECT_NE(std::string::npos, r.err.find(path + ": truncated: 100 bytes of 4096")) << r.err;

    {
        std::ofstream scribble(path, std::ios::binary | std::ios::trunc);
        scribble << std::string(4096, 'x');
    }
    r = run_stats("--json " + args);
    EXPECT_EQ(1, r.status) << r.err;
    EXPECT_NE(std::string::npos, r.err.find("not an hsipc-bridge stats file (bad magic)")) << r.err;

    // A bridge starting over the damage takes the file over.
    ASSERT_NO_FATAL_FAILURE(a_.start());
    r = wait_stats(args, "peers_up", 1);
    EXPECT_EQ(0, r.status) << r.err;
}

}  // namespace
