// SPDX-License-Identifier: MIT
#include "options.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <algorithm>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "wire.h"

namespace hsipc_bridge {

const char kUsage[] =
    "usage: hsipc-bridge --region NAME --host NAME --peer NAME[=tcp://HOST:PORT]... [OPTIONS]\n"
    "  Carries messages between the endpoints of the local hsipc region and\n"
    "  those of peer bridges' regions on other hosts, over ZeroMQ. A local\n"
    "  process sends to PEER.NAME (a proxy endpoint) to reach endpoint NAME\n"
    "  exported by PEER; replies to msg.from find their way back.\n"
    "\n"
    "  --config FILE        read `key = value` settings first (keys: the flags' names\n"
    "                       with _ for -, e.g. peer_timeout; `peer = NAME [ADDRESS]`)\n"
    "  --region NAME        the local region (attached, created if missing)\n"
    "  --host NAME          this bridge's name as peers know it: 1-31 of [A-Za-z0-9_-]\n"
    "  --listen ADDRESS     bind tcp://HOST:PORT for peers that connect to us\n"
    "                       (PORT may be * for any free port; nothing is bound by default)\n"
    "  --allow-remote       allow --listen on a non-loopback address\n"
    "  --peer NAME=ADDRESS  a peer bridge to connect to (repeatable)\n"
    "  --peer NAME          a peer bridge that connects to our --listen address\n"
    "  --export NAME        a local endpoint peers may send to (repeatable)\n"
    "  --export-topic NAME  a topic shared with peers: local publications go to the\n"
    "                       peers that export it too, theirs are published here (repeatable)\n"
    "  --hwm N              ZeroMQ high-water mark per connection, messages (1000)\n"
    "  --retry-queue N      messages held for one full local inbox before the links\n"
    "                       are held back (64)\n"
    "  --stall DURATION     how long a full local inbox may hold the links back; then\n"
    "                       what it cannot take is dropped; 0: drop at once (1s, at\n"
    "                       most half of --peer-timeout)\n"
    "  --max-proxies N      proxy endpoints for remote senders, per peer (64)\n"
    "  --max-message SIZE   largest payload accepted, K/M/G allowed (the region's\n"
    "                       largest buffer)\n"
    "  --heartbeat DURATION HELLO interval, unit ns/us/ms/s after the number (500ms)\n"
    "  --peer-timeout DURATION  a peer silent this long is down (3s)\n"
    "  --secret-key FILE    CURVE: this bridge's key pair, a file of mode 0600 written\n"
    "                       by --keygen; then only peers with a --peer-key are let in,\n"
    "                       and every connection is authenticated and encrypted\n"
    "  --peer-key NAME=FILE CURVE: peer NAME's public key file (its FILE.pub);\n"
    "                       one for every peer when --secret-key is given\n"
    "  --check              validate, print the effective configuration and exit\n"
    "  --stats              print the counters of the bridge of --region and --host\n"
    "                       (or those of --config FILE) on stdout, the line SIGUSR1\n"
    "                       prints, and exit; a stopped bridge's last counts, exit 3\n"
    "  --json               with --stats: one JSON object instead of the line\n"
    "  --keygen FILE        write a new CURVE key pair to FILE (mode 0600) and its\n"
    "                       public key to FILE.pub, print the public key and exit\n"
    "  --version            print the version and exit\n"
    "  --help               print this and exit\n"
    "\n"
    "  SIGUSR1 prints a line of counters to stderr; SIGTERM or SIGINT stops it.\n"
    "  Exit status: 0 stopped by a signal (--stats: the bridge runs), 1 failure,\n"
    "  2 bad usage or configuration, 3 --stats of a bridge that is not running.\n";

namespace {

std::string trim(const std::string& s) {
    const char* ws = " \t\r";
    size_t b = s.find_first_not_of(ws);
    if (b == std::string::npos) return "";
    size_t e = s.find_last_not_of(ws);
    return s.substr(b, e - b + 1);
}

bool parse_u64(const std::string& s, uint64_t* out) {
    if (s.empty() || s.size() > 20) return false;
    uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        uint64_t d = uint64_t(c - '0');
        if (v > (UINT64_MAX - d) / 10) return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

bool parse_u32(const std::string& s, uint32_t* out) {
    uint64_t v;
    if (!parse_u64(s, &v) || v > UINT32_MAX) return false;
    *out = uint32_t(v);
    return true;
}

// The library's duration syntax: nanoseconds, or ns/us/ms/s right after.
bool parse_duration(const std::string& s, int64_t* out) {
    size_t digits = 0;
    while (digits < s.size() && s[digits] >= '0' && s[digits] <= '9') digits++;
    uint64_t v;
    if (!parse_u64(s.substr(0, digits), &v)) return false;
    const std::string unit = s.substr(digits);
    uint64_t scale;
    if (unit.empty() || unit == "ns") {
        scale = 1;
    } else if (unit == "us") {
        scale = 1000;
    } else if (unit == "ms") {
        scale = 1000000;
    } else if (unit == "s") {
        scale = 1000000000;
    } else {
        return false;
    }
    if (v > uint64_t(INT64_MAX) / scale) return false;
    *out = int64_t(v * scale);
    return true;
}

// The library's size syntax: bytes, or K, M or G right after.
bool parse_size(const std::string& s, uint64_t* out) {
    if (s.empty()) return false;
    uint64_t scale = 1;
    std::string digits = s;
    switch (s.back()) {
    case 'K': scale = uint64_t(1) << 10; break;
    case 'M': scale = uint64_t(1) << 20; break;
    case 'G': scale = uint64_t(1) << 30; break;
    default: break;
    }
    if (scale != 1) digits.pop_back();
    uint64_t v;
    if (!parse_u64(digits, &v) || v > UINT64_MAX / scale) return false;
    *out = v * scale;
    return true;
}

bool parse_bool(const std::string& s, bool* out) {
    if (s == "yes" || s == "true" || s == "1") {
        *out = true;
    } else if (s == "no" || s == "false" || s == "0") {
        *out = false;
    } else {
        return false;
    }
    return true;
}

std::string duration_text(int64_t ns) {
    if (ns % 1000000000 == 0) return std::to_string(ns / 1000000000) + "s";
    if (ns % 1000000 == 0) return std::to_string(ns / 1000000) + "ms";
    if (ns % 1000 == 0) return std::to_string(ns / 1000) + "us";
    return std::to_string(ns) + "ns";
}

// One setting, from a flag (--peer-timeout) or a key (peer_timeout), whose
// names differ only in - and _. `value` is what follows; for peer, the
// file's "NAME ADDRESS" and the flag's "NAME=ADDRESS" both arrive here.
bool apply_setting(const std::string& key, const std::string& value, Options* opt, std::string* error) {
    auto bad = [&](const char* what) {
        *error = std::string(what) + " `" + value + "`";
        return false;
    };
    if (key == "region") {
        opt->region = value;
    } else if (key == "host") {
        opt->host = value;
    } else if (key == "listen") {
        opt->listen = value;
    } else if (key == "peer") {
        size_t sep = value.find_first_of(" \t=");
        PeerConfig p;
        p.name = value.substr(0, sep);
        if (sep != std::string::npos) p.address = trim(value.substr(sep + 1));
        if (p.name.empty() || (sep != std::string::npos && p.address.empty())) return bad("expects NAME [ADDRESS], got");
        opt->peers.push_back(p);
    } else if (key == "export") {
        opt->exports.push_back(value);
    } else if (key == "export_topic") {
        opt->export_topics.push_back(value);
    } else if (key == "allow_remote") {
        if (!parse_bool(value, &opt->allow_remote)) return bad("expects yes or no, got");
    } else if (key == "hwm") {
        if (!parse_u32(value, &opt->hwm)) return bad("expects a number, got");
    } else if (key == "retry_queue") {
        if (!parse_u32(value, &opt->retry_queue)) return bad("expects a number, got");
    } else if (key == "max_proxies") {
        if (!parse_u32(value, &opt->max_proxies)) return bad("expects a number, got");
    } else if (key == "max_message") {
        if (!parse_size(value, &opt->max_message)) return bad("expects a size (K, M or G allowed), got");
    } else if (key == "heartbeat") {
        if (!parse_duration(value, &opt->heartbeat_ns)) return bad("expects a duration (ns, us, ms or s), got");
    } else if (key == "peer_timeout") {
        if (!parse_duration(value, &opt->peer_timeout_ns)) return bad("expects a duration (ns, us, ms or s), got");
    } else if (key == "stall") {
        if (!parse_duration(value, &opt->stall_ns)) return bad("expects a duration (ns, us, ms or s), got");
    } else if (key == "secret_key") {
        opt->secret_key = value;
    } else if (key == "peer_key") {
        size_t sep = value.find_first_of(" \t=");
        PeerKeyConfig k;
        k.peer = value.substr(0, sep);
        if (sep != std::string::npos) k.file = trim(value.substr(sep + 1));
        if (k.peer.empty() || k.file.empty()) return bad("expects NAME FILE, got");
        opt->peer_keys.push_back(k);
    } else {
        *error = "unknown setting";
        return false;
    }
    return true;
}

bool split_address(const std::string& address, std::string* host, std::string* port) {
    const std::string scheme = "tcp://";
    if (address.compare(0, scheme.size(), scheme) != 0) return false;
    const std::string rest = address.substr(scheme.size());
    const size_t colon = rest.rfind(':');
    if (colon == std::string::npos || colon == 0) return false;
    *host = rest.substr(0, colon);
    *port = rest.substr(colon + 1);
    return true;
}

bool valid_ipv4(const std::string& s, unsigned* first_octet) {
    unsigned octets = 0;
    size_t i = 0;
    while (octets < 4) {
        size_t start = i;
        unsigned v = 0;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9' && i - start < 3) v = v * 10 + unsigned(s[i++] - '0');
        if (i == start || v > 255) return false;
        if (octets == 0) *first_octet = v;
        octets++;
        if (octets < 4) {
            if (i >= s.size() || s[i] != '.') return false;
            i++;
        }
    }
    return i == s.size();
}

}  // namespace

bool valid_address(const std::string& address, bool for_listen) {
    std::string host, port;
    if (!split_address(address, &host, &port)) return false;
    if (port == "*") {
        if (!for_listen) return false;
    } else {
        uint32_t p;
        if (!parse_u32(port, &p) || p < 1 || p > 65535) return false;
    }
    if (host == "*") return for_listen;
    if (host.size() > 255) return false;
    if (host.front() == '[') {
        if (host.back() != ']' || host.size() < 3) return false;
        for (size_t i = 1; i + 1 < host.size(); i++) {
            char c = host[i];
            bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' ||
                      c == '.';
            if (!ok) return false;
        }
        return true;
    }
    // A DNS name, an IPv4 literal or (to bind) an interface name. No `;`:
    // ZeroMQ would read tcp://SOURCE;DESTINATION.
    for (char c : host) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
                  c == '_';
        if (!ok) return false;
    }
    return true;
}

bool is_loopback_address(const std::string& address) {
    std::string host, port;
    if (!split_address(address, &host, &port)) return false;
    unsigned first;
    return host == "localhost" || host == "[::1]" || (valid_ipv4(host, &first) && first == 127);
}

std::string bind_address(const std::string& listen) {
    std::string host, port;
    if (split_address(listen, &host, &port) && host == "localhost") return "tcp://127.0.0.1:" + port;
    return listen;
}

bool apply_config_text(const std::string& text, Options* opt, std::string* error) {
    Options merged = *opt;
    std::istringstream in(text);
    std::string line;
    for (int number = 1; std::getline(in, line); number++) {
        const std::string where = "line " + std::to_string(number) + ": ";
        if (line.find('\0') != std::string::npos) {
            *error = where + "a NUL byte";
            return false;
        }
        size_t hash = line.find('#');
        if (hash != std::string::npos) line.resize(hash);
        line = trim(line);
        if (line.empty()) continue;
        size_t eq = line.find('=');
        if (eq == std::string::npos) {
            *error = where + "expected `key = value`";
            return false;
        }
        const std::string key = trim(line.substr(0, eq));
        std::string e;
        if (!apply_setting(key, trim(line.substr(eq + 1)), &merged, &e)) {
            *error = where + key + ": " + e;
            return false;
        }
    }
    *opt = merged;
    return true;
}

bool load_config_file(const std::string& path, Options* opt, std::string* error) {
    struct stat st;
    if (stat(path.c_str(), &st) != 0) {
        *error = path + ": " + std::strerror(errno);
        return false;
    }
    if (!S_ISREG(st.st_mode) || st.st_size > (1 << 20)) {
        *error = path + ": not a regular file of at most 1 MiB";
        return false;
    }
    std::ifstream f(path, std::ios::binary);
    if (!f) {
        *error = path + ": cannot be read";
        return false;
    }
    std::stringstream text;
    text << f.rdbuf();
    std::string e;
    if (!apply_config_text(text.str(), opt, &e)) {
        *error = path + ": " + e;
        return false;
    }
    return true;
}

bool parse_command_line(int argc, char** argv, Options* out, Action* action, std::string* error) {
    *action = Action::run;
    // Flags as (flag, key, value), so that --config can be read first.
    struct Setting {
        std::string flag, key, value;
    };
    std::vector<Setting> settings;
    std::string config_path;
    for (int i = 1; i < argc; i++) {
        std::string arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            *action = Action::help;
            return true;
        }
        if (arg == "--version") {
            *action = Action::version;
            continue;
        }
        if (arg == "--check") {
            *action = Action::check;
            continue;
        }
        if (arg == "--stats") {
            *action = Action::stats;
            continue;
        }
        if (arg == "--json") {
            out->json = true;
            continue;
        }
        if (arg == "--allow-remote") {
            settings.push_back({arg, "allow_remote", "yes"});
            continue;
        }
        if (arg.compare(0, 2, "--") != 0) {
            *error = "unexpected argument `" + arg + "`";
            return false;
        }
        std::string name = arg.substr(2), value;
        size_t eq = name.find('=');
        if (eq != std::string::npos) {
            value = name.substr(eq + 1);
            name.resize(eq);
        } else {
            if (i + 1 == argc) {
                *error = arg + " needs a value";
                return false;
            }
            value = argv[++i];
        }
        std::string key = name;
        for (char& c : key) {
            if (c == '-') c = '_';
        }
        if (name.find('_') != std::string::npos) {
            *error = "unknown option `--" + name + "`";  // flags are spelled with -, keys with _
            return false;
        }
        if (key == "config") {
            config_path = value;
        } else if (key == "keygen") {
            *action = Action::keygen;
            out->keygen = value;
        } else {
            settings.push_back({"--" + name, key, value});
        }
    }
    Options opt = *out;
    if (!config_path.empty() && !load_config_file(config_path, &opt, error)) return false;
    for (const Setting& s : settings) {
        std::string e;
        if (!apply_setting(s.key, s.value, &opt, &e)) {
            *error = e == "unknown setting" ? "unknown option `" + s.flag + "`" : s.flag + ": " + e;
            return false;
        }
    }
    if (opt.json && *action != Action::stats) {
        *error = "--json goes with --stats";
        return false;
    }
    *out = opt;
    return true;
}

int64_t stall_ns(const Options& opt) {
    return opt.stall_ns >= 0 ? opt.stall_ns : std::min<int64_t>(1000000000, opt.peer_timeout_ns / 2);
}

bool validate_stats_target(const Options& opt, std::string* error) {
    auto fail = [&](const std::string& what) {
        *error = what;
        return false;
    };
    if (opt.region.empty()) return fail("no region (--region NAME)");
    if (!wire::valid_name(opt.region)) return fail("region `" + opt.region + "`: 1-63 of [A-Za-z0-9._-]");
    if (opt.host.empty()) return fail("no host name (--host NAME)");
    if (!wire::valid_host(opt.host)) return fail("host `" + opt.host + "`: 1-31 of [A-Za-z0-9_-] (no dot)");
    return true;
}

bool validate(const Options& opt, std::string* error) {
    auto fail = [&](const std::string& what) {
        *error = what;
        return false;
    };
    if (!validate_stats_target(opt, error)) return false;
    if (opt.peers.empty()) return fail("no peer (--peer NAME=ADDRESS or --peer NAME)");
    if (opt.peers.size() > kMaxPeers) return fail("more than 64 peers");
    std::set<std::string> names;
    bool accepts = false;
    for (const PeerConfig& p : opt.peers) {
        if (!wire::valid_host(p.name)) return fail("peer `" + p.name + "`: 1-31 of [A-Za-z0-9_-] (no dot)");
        if (p.name == opt.host) return fail("peer `" + p.name + "` has this bridge's own host name");
        if (!names.insert(p.name).second) return fail("peer `" + p.name + "` given twice");
        if (p.address.empty()) {
            accepts = true;
        } else if (!valid_address(p.address, false)) {
            return fail("peer " + p.name + ": address `" + p.address + "` is not tcp://HOST:PORT");
        }
    }
    if (accepts && opt.listen.empty()) return fail("a peer without an address connects to us: --listen is needed");
    if (!opt.listen.empty()) {
        if (!valid_address(opt.listen, true)) return fail("listen address `" + opt.listen + "` is not tcp://HOST:PORT");
        if (!opt.allow_remote && !is_loopback_address(opt.listen)) {
            return fail("listen address `" + opt.listen +
                        "` is not loopback (127.0.0.0/8, [::1], localhost): add --allow-remote to bind it");
        }
    }
    if (opt.exports.size() > wire::kMaxExports) return fail("more than 256 exports");
    std::set<std::string> exports;
    for (const std::string& e : opt.exports) {
        if (!wire::valid_name(e)) return fail("export `" + e + "`: 1-63 of [A-Za-z0-9._-]");
        if (!exports.insert(e).second) return fail("export `" + e + "` given twice");
    }
    if (opt.export_topics.size() > wire::kMaxTopics) return fail("more than 256 export_topic");
    std::set<std::string> topics;
    for (const std::string& t : opt.export_topics) {
        if (!wire::valid_name(t)) return fail("export_topic `" + t + "`: 1-63 of [A-Za-z0-9._-]");
        if (!topics.insert(t).second) return fail("export_topic `" + t + "` given twice");
        // The bridge's subscription to it is the local endpoint HOST.NAME.
        if (opt.host.size() + 1 + t.size() > wire::kNameMax) {
            return fail("export_topic `" + t + "`: " + opt.host + "." + t + " is longer than 63 bytes");
        }
    }
    if (opt.hwm < 1 || opt.hwm > kHwmMax) return fail("hwm: 1 .. 1000000");
    if (opt.retry_queue > kRetryQueueMax) return fail("retry_queue: 0 .. 65536");
    if (opt.max_proxies < 1 || opt.max_proxies > kMaxProxiesMax) return fail("max_proxies: 1 .. 4096");
    if (opt.max_message > kMaxMessageMax) return fail("max_message: 0 (the region's largest buffer) .. 1G");
    if (opt.heartbeat_ns < kHeartbeatMin || opt.heartbeat_ns > kHeartbeatMax) return fail("heartbeat: 10ms .. 60s");
    if (opt.peer_timeout_ns < 2 * opt.heartbeat_ns || opt.peer_timeout_ns > kPeerTimeoutMax) {
        return fail("peer_timeout: twice the heartbeat .. 1h");
    }
    // While it holds the links back the bridge hears no HELLO: a longer
    // stall would take its peers for gone.
    if (opt.stall_ns > opt.peer_timeout_ns / 2) return fail("stall: 0 .. half of peer_timeout");
    if (opt.secret_key.empty() && !opt.peer_keys.empty()) {
        return fail("peer_key without secret_key: CURVE needs this bridge's own key pair too (--secret-key FILE)");
    }
    std::set<std::string> keyed;
    for (const PeerKeyConfig& k : opt.peer_keys) {
        if (names.count(k.peer) == 0) return fail("peer_key for `" + k.peer + "`, which is not a configured peer");
        if (!keyed.insert(k.peer).second) return fail("peer_key for `" + k.peer + "` given twice");
    }
    if (!opt.secret_key.empty()) {
        for (const PeerConfig& p : opt.peers) {
            if (keyed.count(p.name) == 0) {
                return fail("peer `" + p.name + "` has no peer_key: with secret_key (CURVE) every peer needs one");
            }
        }
    }
    return true;
}

std::string to_config_text(const Options& opt) {
    std::ostringstream s;
    s << "region = " << opt.region << "\n";
    s << "host = " << opt.host << "\n";
    if (!opt.listen.empty()) s << "listen = " << opt.listen << "\n";
    for (const PeerConfig& p : opt.peers) s << "peer = " << p.name << (p.address.empty() ? "" : " ") << p.address << "\n";
    for (const std::string& e : opt.exports) s << "export = " << e << "\n";
    for (const std::string& t : opt.export_topics) s << "export_topic = " << t << "\n";
    s << "allow_remote = " << (opt.allow_remote ? "yes" : "no") << "\n";
    s << "hwm = " << opt.hwm << "\n";
    s << "retry_queue = " << opt.retry_queue << "\n";
    s << "max_proxies = " << opt.max_proxies << "\n";
    s << "max_message = " << opt.max_message << "\n";
    s << "heartbeat = " << duration_text(opt.heartbeat_ns) << "\n";
    s << "peer_timeout = " << duration_text(opt.peer_timeout_ns) << "\n";
    if (opt.stall_ns >= 0) s << "stall = " << duration_text(opt.stall_ns) << "\n";
    if (!opt.secret_key.empty()) s << "secret_key = " << opt.secret_key << "\n";
    for (const PeerKeyConfig& k : opt.peer_keys) s << "peer_key = " << k.peer << " " << k.file << "\n";
    return s.str();
}

}  // namespace hsipc_bridge
