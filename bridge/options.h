// SPDX-License-Identifier: MIT
// hsipc-bridge's configuration: command-line flags and the configuration
// file (`key = value` lines, as the library's stored configuration), their
// limits, and the rule that nothing binds to a non-loopback address unless
// allow_remote says so. No ZeroMQ, no hsipc: tested alone
// (bridge/tests/options_test.cc).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hsipc_bridge {

struct PeerConfig {
    std::string name;     // the peer bridge's host name
    std::string address;  // tcp://HOST:PORT to connect to; empty: it connects to our listen address
};

// CURVE: the file holding a peer's public key (keys.h reads it).
struct PeerKeyConfig {
    std::string peer;  // a configured peer's name
    std::string file;  // its public key file, as --keygen writes FILE.pub
};

struct Options {
    std::string region;  // the local region
    std::string host;    // this bridge's host name, as peers know it
    std::string listen;  // tcp://HOST:PORT to bind; empty: bind nothing
    std::vector<PeerConfig> peers;
    std::vector<std::string> exports;  // local endpoints peers may send to
    std::vector<std::string> export_topics;  // local topics shared with peers, both ways
    bool allow_remote = false;         // may listen be a non-loopback address
    uint32_t hwm = 1000;               // ZeroMQ high-water mark, messages, each way per connection
    uint32_t retry_queue = 64;         // messages held for one full local inbox
    uint32_t max_proxies = 64;         // proxies for remote senders, per peer
    uint64_t max_message = 0;          // largest payload accepted; 0: the region's largest buffer
    int64_t heartbeat_ns = 500000000;     // HELLO every ...
    int64_t peer_timeout_ns = 3000000000; // a peer silent this long is down
    // How long a full local inbox may hold the links back before what it
    // cannot take is dropped (docs/bridge.md, "Back-pressure"); -1: the
    // default, 1 s or half of peer_timeout where that is shorter.
    int64_t stall_ns = -1;
    // CURVE, on when secret_key is set: our key pair's file (never the key
    // itself, as argv is readable by every user) and every peer's public key.
    std::string secret_key;
    std::vector<PeerKeyConfig> peer_keys;
    std::string keygen;  // --keygen FILE: the key pair file to write
    bool json = false;   // --stats --json
};

enum class Action { run, help, version, check, keygen, stats };

// The limits, as the usage text and docs/bridge.md give them.
constexpr uint32_t kMaxPeers = 64;
constexpr uint32_t kHwmMax = 1000000;
constexpr uint32_t kRetryQueueMax = 65536;
constexpr uint32_t kMaxProxiesMax = 4096;
constexpr uint64_t kMaxMessageMax = uint64_t(1) << 30;
constexpr int64_t kHeartbeatMin = 10000000;          // 10 ms
constexpr int64_t kHeartbeatMax = 60000000000;       // 60 s
constexpr int64_t kPeerTimeoutMax = 3600000000000;   // 1 h

extern const char kUsage[];

// Parses argv (argv[0] is the program). --config FILE is read first,
// wherever it stands; the other flags then override its keys (peer,
// export and export_topic add to its lists). False with *error on a usage or file error.
bool parse_command_line(int argc, char** argv, Options* out, Action* action, std::string* error);

// Applies configuration text over *opt; false with *error naming the line.
bool apply_config_text(const std::string& text, Options* opt, std::string* error);
bool load_config_file(const std::string& path, Options* opt, std::string* error);

// Checks every limit and rule; false with *error saying which.
bool validate(const Options& opt, std::string* error);
// The stall in effect: opt.stall_ns, or its default.
int64_t stall_ns(const Options& opt);
// What --stats needs: the region and the host name that name a bridge.
bool validate_stats_target(const Options& opt, std::string* error);

// The options as configuration text that apply_config_text reads back.
std::string to_config_text(const Options& opt);

// tcp://HOST:PORT; for a listen address HOST may be `*` and PORT `*`.
bool valid_address(const std::string& address, bool for_listen);
// 127.0.0.0/8, [::1] or localhost.
bool is_loopback_address(const std::string& address);
// The listen address as ZeroMQ binds it: ZeroMQ reads a name there as a
// network interface, so localhost becomes 127.0.0.1.
std::string bind_address(const std::string& listen);

}  // namespace hsipc_bridge
