// SPDX-License-Identifier: MIT
// hsipc-bridge's flags and configuration file (bridge/options.h), and the
// program's --help, --check and exit statuses as a user meets them.
#include "options.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace {

using namespace hsipc_bridge;

bool parse(std::vector<std::string> args, Options* opt, Action* action, std::string* error) {
    args.insert(args.begin(), "hsipc-bridge");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    return parse_command_line(int(args.size()), argv.data(), opt, action, error);
}

Options minimal() {
    Options o;
    o.region = "hostA";
    o.host = "hostA";
    o.peers.push_back({"hostB", "tcp://127.0.0.1:5552"});
    return o;
}

std::string invalid(const Options& o) {
    std::string e;
    return validate(o, &e) ? "" : e;
}

TEST(BridgeOptions, FlagsSetEverySetting) {
    Options o;
    Action a;
    std::string e;
    ASSERT_TRUE(parse({"--region", "r1", "--host=hA", "--listen", "tcp://127.0.0.1:*", "--peer", "hB=tcp://h:1",
                       "--peer", "hC", "--export", "srv", "--export=log", "--hwm", "10", "--retry-queue", "0",
                       "--max-proxies", "3", "--max-message", "64K", "--heartbeat", "50ms", "--peer-timeout", "1s",
                       "--allow-remote"},
                      &o, &a, &e))
        << e;
    EXPECT_EQ(Action::run, a);
    EXPECT_EQ("r1", o.region);
    EXPECT_EQ("hA", o.host);
    EXPECT_EQ("tcp://127.0.0.1:*", o.listen);
    ASSERT_EQ(2u, o.peers.size());
    EXPECT_EQ("hB", o.peers[0].name);
    EXPECT_EQ("tcp://h:1", o.peers[0].address);
    EXPECT_EQ("hC", o.peers[1].name);
    EXPECT_EQ("", o.peers[1].address);
    EXPECT_EQ((std::vector<std::string>{"srv", "log"}), o.exports);
    EXPECT_EQ(10u, o.hwm);
    EXPECT_EQ(0u, o.retry_queue);
    EXPECT_EQ(3u, o.max_proxies);
    EXPECT_EQ(65536u, o.max_message);
    EXPECT_EQ(50000000, o.heartbeat_ns);
    EXPECT_EQ(1000000000, o.peer_timeout_ns);
    EXPECT_TRUE(o.allow_remote);
    EXPECT_EQ("", invalid(o));
}

TEST(BridgeOptions, BadFlagsAreUsageErrors) {
    Options o;
    Action a;
    std::string e;
    EXPECT_FALSE(parse({"--nope", "1"}, &o, &a, &e));
    EXPECT_NE(std::string::npos, e.find("--nope")) << e;
    EXPECT_FALSE(parse({"--peer_timeout", "1s"}, &o, &a, &e));  // keys are spelled with _, flags with -
    EXPECT_FALSE(parse({"--region"}, &o, &a, &e));
    EXPECT_FALSE(parse({"stray"}, &o, &a, &e));
    EXPECT_FALSE(parse({"--hwm", "ten"}, &o, &a, &e));
    EXPECT_NE(std::string::npos, e.find("--hwm")) << e;
    EXPECT_FALSE(parse({"--heartbeat", "5 ms"}, &o, &a, &e));
    EXPECT_FALSE(parse({"--heartbeat", "5m"}, &o, &a, &e));
    EXPECT_FALSE(parse({"--max-message", "1T"}, &o, &a, &e));
    EXPECT_FALSE(parse({"--peer", "=tcp://h:1"}, &o, &a, &e));
    EXPECT_FALSE(parse({"--config", "/nonexistent/bridge.conf"}, &o, &a, &e));
    EXPECT_TRUE(parse({"--region", "x", "--help", "--bogus"}, &o, &a, &e));  // help wins, as soon as seen
    EXPECT_EQ(Action::help, a);
}

TEST(BridgeOptions, ConfigFileInTheLibrarysStyleAndFlagsOverIt) {
    const std::string path = "/tmp/hsipc-bridge-options-" + std::to_string(getpid()) + ".conf";
    {
        std::ofstream f(path);
        f << "# a bridge\n"
             "region = hostA\n"
             "host = hostA   # trailing comment\n"
             "listen = tcp://127.0.0.1:5551\n"
             "peer = hostB tcp://127.0.0.1:5552\n"
             "peer = hostC\n"
             "export = server\n"
             "heartbeat = 100ms\n"
             "peer_timeout = 2s\n"
             "allow_remote = no\n";
    }
    Options o;
    Action a;
    std::string e;
    ASSERT_TRUE(parse({"--heartbeat", "200ms", "--config", path, "--export", "log"}, &o, &a, &e)) << e;
    std::remove(path.c_str());
    EXPECT_EQ("hostA", o.region);
    ASSERT_EQ(2u, o.peers.size());
    EXPECT_EQ("tcp://127.0.0.1:5552", o.peers[0].address);
    EXPECT_EQ("", o.peers[1].address);
    EXPECT_EQ((std::vector<std::string>{"server", "log"}), o.exports);  // flags add to the file's lists
    EXPECT_EQ(200000000, o.heartbeat_ns);                                // and override its values
    EXPECT_EQ(2000000000, o.peer_timeout_ns);
    EXPECT_EQ("", invalid(o));
    // What --check prints reads back to the same options.
    Options back;
    ASSERT_TRUE(apply_config_text(to_config_text(o), &back, &e)) << e;
    EXPECT_EQ(to_config_text(o), to_config_text(back));
}

// --stats names a bridge by its region and host name, from flags or from
// the bridge's own configuration file; nothing else is needed or checked.
TEST(BridgeOptions, StatsNeedsOnlyTheRegionAndHostFromFlagsOrTheConfigFile) {
    Options o;
    Action a;
    std::string e;
    ASSERT_TRUE(parse({"--stats", "--region", "r.1", "--host", "hA"}, &o, &a, &e)) << e;
    EXPECT_EQ(Action::stats, a);
    EXPECT_FALSE(o.json);
    EXPECT_TRUE(validate_stats_target(o, &e)) << e;
    EXPECT_NE("", invalid(o)) << "no peer: the bridge itself would not start";

    const std::string path = "/tmp/hsipc-bridge-stats-" + std::to_string(getpid()) + ".conf";
    {
        std::ofstream f(path);
        f << "region = hostB\nhost = hostB\nlisten = tcp://127.0.0.1:5552\npeer = hostA\n";
    }
    Options from_file;
    ASSERT_TRUE(parse({"--config", path, "--stats", "--json"}, &from_file, &a, &e)) << e;
    std::remove(path.c_str());
    EXPECT_EQ(Action::stats, a);
    EXPECT_TRUE(from_file.json);
    EXPECT_EQ("hostB", from_file.region);
    EXPECT_EQ("hostB", from_file.host);
    EXPECT_TRUE(validate_stats_target(from_file, &e)) << e;

    Options bad;
    EXPECT_FALSE(parse({"--json", "--region", "r", "--host", "h"}, &bad, &a, &e));
    EXPECT_NE(std::string::npos, e.find("--json goes with --stats")) << e;
    bad = Options();
    bad.region = "r";
    EXPECT_FALSE(validate_stats_target(bad, &e));
    EXPECT_NE(std::string::npos, e.find("no host name")) << e;
    bad.host = "h.x";  // a dot would make the stats file's name ambiguous
    EXPECT_FALSE(validate_stats_target(bad, &e));
    bad.host = "h";
    bad.region = "../etc";
    EXPECT_FALSE(validate_stats_target(bad, &e));
}

TEST(BridgeOptions, ConfigErrorsNameTheLine) {
    Options o;
    std::string e;
    EXPECT_FALSE(apply_config_text("region = a\nbogus = 1\n", &o, &e));
    EXPECT_EQ("line 2: bogus: unknown setting", e);
    EXPECT_FALSE(apply_config_text("\n\nregion\n", &o, &e));
    EXPECT_EQ(0u, e.find("line 3:")) << e;
    EXPECT_FALSE(apply_config_text("hwm = -1\n", &o, &e));
    EXPECT_FALSE(apply_config_text("hwm = 99999999999\n", &o, &e));
    EXPECT_FALSE(apply_config_text("allow_remote = maybe\n", &o, &e));
    EXPECT_FALSE(apply_config_text(std::string("region = a\0b\n", 13), &o, &e));
    EXPECT_EQ("", o.region);  // nothing applied from a file with an error
}

TEST(BridgeOptions, ValidationLimits) {
    EXPECT_EQ("", invalid(minimal()));
    Options o = minimal();
    o.region = "";
    EXPECT_NE("", invalid(o));
    o = minimal();
    o.host = "host.A";  // HOST.NAME must split at the first dot
    EXPECT_NE("", invalid(o));
    o.host = std::string(32, 'h');
    EXPECT_NE("", invalid(o));
    o = minimal();
    o.peers.clear();
    EXPECT_NE("", invalid(o));
    o = minimal();
    o.peers.push_back(o.peers[0]);
    EXPECT_NE("", invalid(o));
    o = minimal();
    o.peers.push_back({"hostA", ""});  // ourselves
    EXPECT_NE("", invalid(o));
    o = minimal();
    o.peers.push_back({"hostC", ""});  // connects to us: needs a listen address
    EXPECT_NE(std::string::npos, invalid(o).find("--listen"));
    o.listen = "tcp://127.0.0.1:5551";
    EXPECT_EQ("", invalid(o));
    o = minimal();
    o.exports = {"a", "a"};
    EXPECT_NE("", invalid(o));
    o.exports = std::vector<std::string>(257, "x");
    EXPECT_NE("", invalid(o));
    o = minimal();
    o.hwm = 0;
    EXPECT_NE("", invalid(o));
    o = minimal();
    o.max_message = (uint64_t(1) << 30) + 1;
    EXPECT_NE("", invalid(o));
    o = minimal();
    o.heartbeat_ns = 1000000;
    EXPECT_NE("", invalid(o));
    o = minimal();
    o.peer_timeout_ns = o.heartbeat_ns;  // at least two heartbeats
    EXPECT_NE("", invalid(o));
}

// The stall: 1 s by default, never past half of peer_timeout (the bridge
// hears no HELLO while it holds its links back); 0 drops at once.
TEST(BridgeOptions, StallDefaultsAndLimits) {
    Options o = minimal();
    EXPECT_EQ(1000000000, stall_ns(o));  // peer_timeout 3 s
    o.peer_timeout_ns = 1000000000;
    EXPECT_EQ(500000000, stall_ns(o));
    EXPECT_EQ("", invalid(o));
    o.stall_ns = 0;
    EXPECT_EQ(0, stall_ns(o));
    EXPECT_EQ("", invalid(o));
    o.stall_ns = 500000001;
    EXPECT_NE(std::string::npos, invalid(o).find("stall"));
    Action a;
    std::string e;
    o = Options();
    ASSERT_TRUE(parse({"--region", "r", "--host", "h", "--peer", "p=tcp://127.0.0.1:1", "--stall", "250ms"}, &o, &a, &e))
        << e;
    EXPECT_EQ(250000000, stall_ns(o));
    EXPECT_NE(std::string::npos, to_config_text(o).find("stall = 250ms"));
}

TEST(BridgeOptions, ExportTopicFromFlagsAndFileWithItsLimits) {
    Options o;
    Action a;
    std::string e;
    const std::string path = "/tmp/hsipc-bridge-options-topics-" + std::to_string(getpid()) + ".conf";
    {
        std::ofstream f(path);
        f << "region = r\nhost = hA\npeer = hB tcp://127.0.0.1:5552\nexport_topic = ticks\n";
    }
    ASSERT_TRUE(parse({"--config", path, "--export-topic", "frames.raw"}, &o, &a, &e)) << e;
    std::remove(path.c_str());
    EXPECT_EQ((std::vector<std::string>{"ticks", "frames.raw"}), o.export_topics);  // flags add to the file's
    EXPECT_EQ("", invalid(o));
    EXPECT_NE(std::string::npos, to_config_text(o).find("export_topic = ticks\nexport_topic = frames.raw\n"));
    Options back;
    ASSERT_TRUE(apply_config_text(to_config_text(o), &back, &e)) << e;
    EXPECT_EQ(o.export_topics, back.export_topics);

    o = minimal();
    o.export_topics = {"t", "t"};
    EXPECT_NE("", invalid(o));
    o.export_topics = {"bad/name"};
    EXPECT_NE("", invalid(o));
    o.export_topics = std::vector<std::string>(257, "x");
    EXPECT_NE("", invalid(o));
    // The bridge subscribes as HOST.NAME, which must fit 63 bytes.
    o.export_topics = {std::string(63 - o.host.size() - 1, 't')};
    EXPECT_EQ("", invalid(o));
    o.export_topics = {std::string(63 - o.host.size(), 't')};
    EXPECT_NE(std::string::npos, invalid(o).find("longer than 63"));
}

TEST(BridgeOptions, NothingBindsBeyondLoopbackWithoutAllowRemote) {
    for (const char* loopback : {"tcp://127.0.0.1:5551", "tcp://127.1.2.3:1", "tcp://localhost:*", "tcp://[::1]:9"}) {
        Options o = minimal();
        o.listen = loopback;
        EXPECT_EQ("", invalid(o)) << loopback;
    }
    for (const char* remote : {"tcp://*:5551", "tcp://0.0.0.0:5551", "tcp://192.168.1.2:5551", "tcp://eth0:5551",
                               "tcp://[::]:5551", "tcp://127.0.0.1.evil.example:1", "tcp://1270.0.0.1:1"}) {
        Options o = minimal();
        o.listen = remote;
        std::string e = invalid(o);
        EXPECT_NE("", e) << remote;
        o.allow_remote = true;
        EXPECT_EQ("", invalid(o)) << remote;
    }
    for (const char* bad : {"udp://127.0.0.1:1", "tcp://127.0.0.1", "tcp://127.0.0.1:0", "tcp://127.0.0.1:65536",
                            "tcp://a;b:1", "ipc:///tmp/x", "tcp://[::1:1"}) {
        EXPECT_FALSE(valid_address(bad, true)) << bad;
    }
    EXPECT_FALSE(valid_address("tcp://127.0.0.1:*", false));  // a peer's port is a number
    EXPECT_FALSE(valid_address("tcp://*:1", false));
    // ZeroMQ would take localhost for an interface's name.
    EXPECT_EQ("tcp://127.0.0.1:*", bind_address("tcp://localhost:*"));
    EXPECT_EQ("tcp://[::1]:5", bind_address("tcp://[::1]:5"));
}

TEST(BridgeOptions, CurveKeysAreFilesAndEveryPeerNeedsOne) {
    Options o;
    Action a;
    std::string e;
    ASSERT_TRUE(apply_config_text("peer_key = hC /etc/keys/hC.pub   # a comment\n", &o, &e)) << e;
    ASSERT_TRUE(parse({"--region", "r", "--host", "hA", "--listen", "tcp://127.0.0.1:1", "--peer", "hB=tcp://h:1",
                       "--peer", "hC", "--secret-key", "/etc/keys/hA.key", "--peer-key", "hB=/etc/keys/hB.pub"},
                      &o, &a, &e))
        << e;
    EXPECT_EQ("/etc/keys/hA.key", o.secret_key);
    ASSERT_EQ(2u, o.peer_keys.size());
    EXPECT_EQ("hC", o.peer_keys[0].peer);
    EXPECT_EQ("/etc/keys/hC.pub", o.peer_keys[0].file);
    EXPECT_EQ("hB", o.peer_keys[1].peer);
    EXPECT_EQ("/etc/keys/hB.pub", o.peer_keys[1].file);
    EXPECT_EQ("", invalid(o));
    Options back;
    ASSERT_TRUE(apply_config_text(to_config_text(o), &back, &e)) << e;
    EXPECT_EQ(to_config_text(o), to_config_text(back));

    Options bad = o;
    bad.peer_keys.pop_back();  // hB has none: with CURVE every peer needs one
    EXPECT_NE(std::string::npos, invalid(bad).find("`hB` has no peer_key")) << invalid(bad);
    bad = o;
    bad.secret_key.clear();  // peer keys but no key pair of our own
    EXPECT_NE(std::string::npos, invalid(bad).find("secret_key")) << invalid(bad);
    bad = o;
    bad.peer_keys.push_back({"hD", "/k"});  // not a peer
    EXPECT_NE("", invalid(bad));
    bad = o;
    bad.peer_keys.push_back(bad.peer_keys[0]);
    EXPECT_NE(std::string::npos, invalid(bad).find("twice")) << invalid(bad);
    EXPECT_FALSE(parse({"--peer-key", "hB"}, &bad, &a, &e));  // no file
    EXPECT_FALSE(parse({"--peer-key", "=/k"}, &bad, &a, &e));
    ASSERT_TRUE(parse({"--keygen", "/tmp/k", "--region", "r"}, &bad, &a, &e)) << e;
    EXPECT_EQ(Action::keygen, a);
    EXPECT_EQ("/tmp/k", bad.keygen);
    EXPECT_FALSE(parse({"--keygen"}, &bad, &a, &e));
}

// The program itself: exit statuses and what --help and --check print.
struct RunResult {
    int status;
    std::string out;
};

RunResult run(const std::string& args, const std::string& env = "") {
    RunResult r{-1, ""};
    FILE* p = popen((env + " " + HSIPC_BRIDGE + " " + args + " 2>&1").c_str(), "r");
    if (!p) return r;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
    int st = pclose(p);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return r;
}

TEST(BridgeProgram, HelpVersionCheckAndExitStatuses) {
    RunResult r = run("--help");
    EXPECT_EQ(0, r.status);
    EXPECT_EQ(0u, r.out.find("usage: hsipc-bridge")) << r.out;
    r = run("--version");
    EXPECT_EQ(0, r.status);
    EXPECT_NE(std::string::npos, r.out.find("wire format 1")) << r.out;
    r = run("--region r --host hA --peer hB=tcp://127.0.0.1:5552 --export srv --check");
    EXPECT_EQ(0, r.status) << r.out;
    EXPECT_NE(std::string::npos, r.out.find("peer = hB tcp://127.0.0.1:5552\n")) << r.out;
    EXPECT_NE(std::string::npos, r.out.find("export = srv\n")) << r.out;
    r = run("--bogus");
    EXPECT_EQ(2, r.status) << r.out;
    r = run("--region r --host hA");  // no peer
    EXPECT_EQ(2, r.status) << r.out;
    r = run("--region r --host hA --peer hB --listen tcp://0.0.0.0:5551 --check");
    EXPECT_EQ(2, r.status) << r.out;
    EXPECT_NE(std::string::npos, r.out.find("--allow-remote")) << r.out;
    // A region that cannot be attached is a failure, not a usage error.
    r = run("--region bridge-options-" + std::to_string(getpid()) + " --host hA --peer hB=tcp://127.0.0.1:1",
            "HSIPC_CONFIG=/nonexistent");
    EXPECT_EQ(1, r.status) << r.out;
    EXPECT_NE(std::string::npos, r.out.find("cannot attach")) << r.out;
    // --stats: usage errors are 2, a bridge that never ran a failure (1).
    r = run("--help");
    EXPECT_NE(std::string::npos, r.out.find("--stats")) << r.out;
    EXPECT_NE(std::string::npos, r.out.find("3 --stats of a bridge that is not running")) << r.out;
    r = run("--stats --region r");
    EXPECT_EQ(2, r.status) << r.out;
    r = run("--json --region r --host hA");
    EXPECT_EQ(2, r.status) << r.out;
    r = run("--stats --region bridge-options-" + std::to_string(getpid()) + " --host hA");
    EXPECT_EQ(1, r.status) << r.out;
    EXPECT_NE(std::string::npos, r.out.find("no hsipc-bridge with host name hA has run")) << r.out;
}

// --keygen as an operator uses it, and a secret key file that others could
// read refused before the bridge starts (exit status 2, the fix named).
TEST(BridgeProgram, KeygenWritesAPrivateKeyPairAndLooseKeysAreRefused) {
    char tmpl[] = "/tmp/hsipc-bridge-keygen-XXXXXX";
    ASSERT_NE(nullptr, mkdtemp(tmpl));
    const std::string dir = tmpl;
    RunResult r = run("--keygen " + dir + "/hA.key");
    ASSERT_EQ(0, r.status) << r.out;
    EXPECT_NE(std::string::npos, r.out.find("public-key = ")) << r.out;
    struct stat st;
    ASSERT_EQ(0, stat((dir + "/hA.key").c_str(), &st));
    EXPECT_EQ(0600u, st.st_mode & 07777);
    ASSERT_EQ(0, stat((dir + "/hA.key.pub").c_str(), &st));
    std::ifstream pub(dir + "/hA.key.pub");
    std::string text((std::istreambuf_iterator<char>(pub)), std::istreambuf_iterator<char>());
    const size_t at = r.out.find("public-key = ");
    EXPECT_NE(std::string::npos, text.find(r.out.substr(at, 13 + 40))) << "the printed key is the .pub file's";
    r = run("--keygen " + dir + "/hA.key");  // never over an existing key pair
    EXPECT_EQ(1, r.status) << r.out;
    ASSERT_EQ(0, run("--keygen " + dir + "/hB.key").status);

    const std::string base = "--region r --host hA --peer hB=tcp://127.0.0.1:5552 --check ";
    r = run(base + "--secret-key " + dir + "/hA.key --peer-key hB=" + dir + "/hB.key.pub");
    EXPECT_EQ(0, r.status) << r.out;
    EXPECT_NE(std::string::npos, r.out.find("secret_key = " + dir + "/hA.key\n")) << r.out;
    EXPECT_NE(std::string::npos, r.out.find("peer_key = hB " + dir + "/hB.key.pub\n")) << r.out;
    // A peer's secret file where its public one belongs.
    r = run(base + "--secret-key " + dir + "/hA.key --peer-key hB=" + dir + "/hB.key");
    EXPECT_EQ(2, r.status) << r.out;
    // Our own key given as the peer's.
    r = run(base + "--secret-key " + dir + "/hA.key --peer-key hB=" + dir + "/hA.key.pub");
    EXPECT_EQ(2, r.status) << r.out;
    chmod((dir + "/hA.key").c_str(), 0640);
    r = run(base + "--secret-key " + dir + "/hA.key --peer-key hB=" + dir + "/hB.key.pub");
    EXPECT_EQ(2, r.status) << r.out;
    EXPECT_NE(std::string::npos, r.out.find("chmod 600")) << r.out;
    std::filesystem::remove_all(dir);
}

}  // namespace
