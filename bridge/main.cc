// SPDX-License-Identifier: MIT
// hsipc-bridge: flags, signals and exit statuses around the bridge.
// Exit status: 0 stopped by SIGTERM or SIGINT, 1 failure, 2 bad usage or
// configuration (hsipc-bridge.1); --stats: 0 the bridge runs, 1 no counts
// could be read, 3 the bridge is not running (its last counts printed).
#include <signal.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include <cstdio>

#include "bridge.h"
#include "curve.h"
#include "hsipc.h"
#include "keys.h"
#include "options.h"
#include "stats_format.h"
#include "stats_page.h"
#include "wire.h"

using namespace hsipc_bridge;

namespace {

constexpr int kExitNotRunning = 3;

// --stats: another process's counters, from its stats page (stats_page.h).
// The counts go to stdout whether the bridge runs or not; that it does not
// goes to stderr and the exit status, so a script tells "down" from "fine"
// and from "cannot tell" (1).
int print_stats(const Options& opt) {
    std::string error;
    if (!validate_stats_target(opt, &error)) {
        std::fprintf(stderr, "hsipc-bridge: %s\n(hsipc-bridge --help lists the options)\n", error.c_str());
        return 2;
    }
    StatsReading r;
    if (!read_stats_page(opt.region, opt.host, &r, &error)) {
        std::fprintf(stderr, "hsipc-bridge: %s\n", error.c_str());
        return 1;
    }
    const std::string out =
        opt.json ? stats_json(r.snapshot, r.running) : stats_line(r.snapshot.host, r.snapshot.stats);
    std::printf("%s\n", out.c_str());
    if (std::fflush(stdout) != 0) return 1;
    if (r.running) return 0;
    char started[64] = "?";
    const time_t t = time_t(r.snapshot.started_unix_ns / 1000000000);
    struct tm tm;
    if (localtime_r(&t, &tm)) strftime(started, sizeof started, "%Y-%m-%d %H:%M:%S", &tm);
    std::fprintf(stderr,
                 "hsipc-bridge: not running: the bridge of region %s with host name %s (pid %lld, started %s) has "
                 "stopped; these are its last counts%s\n",
                 opt.region.c_str(), opt.host.c_str(), (long long)r.snapshot.pid, started,
                 r.torn ? " (it died in the middle of a snapshot: some may be one loop turn newer than others)" : "");
    return kExitNotRunning;
}

}  // namespace

int main(int argc, char** argv) {
    Options opt;
    Action action;
    std::string error;
    if (!parse_command_line(argc, argv, &opt, &action, &error)) {
        std::fprintf(stderr, "hsipc-bridge: %s\n(hsipc-bridge --help lists the options)\n", error.c_str());
        return 2;
    }
    if (action == Action::help) {
        std::fputs(kUsage, stdout);
        return 0;
    }
    if (action == Action::version) {
        int major, minor, patch;
        zmq_version(&major, &minor, &patch);
        const uint32_t v = hsipc_version();
        std::printf("hsipc-bridge %u.%u.%u (wire format %u, libzmq %d.%d.%d)\n", v >> 16, (v >> 8) & 0xff, v & 0xff,
                    unsigned(wire::kVersion), major, minor, patch);
        return 0;
    }
    if (action == Action::keygen) {
        Key public_key, secret;
        if (!curve_keypair(&public_key, &secret, &error) ||
            !write_key_files(opt.keygen, public_key, secret, &error)) {
            std::fprintf(stderr, "hsipc-bridge: %s\n", error.c_str());
            return 1;
        }
        std::printf("public-key = %s\n", z85_encode_key(public_key).c_str());
        std::fprintf(stderr, "hsipc-bridge: wrote %s (secret, mode 0600) and %s.pub; give peers the .pub file\n",
                     opt.keygen.c_str(), opt.keygen.c_str());
        return 0;
    }
    if (action == Action::stats) return print_stats(opt);
    CurveKeys keys;
    if (!validate(opt, &error) || !load_curve_keys(opt, &keys, &error)) {
        std::fprintf(stderr, "hsipc-bridge: %s\n", error.c_str());
        return 2;
    }
    if (!curve_complete(&keys, &error)) {
        std::fprintf(stderr, "hsipc-bridge: %s\n", error.c_str());
        return curve_available() ? 2 : 1;  // a libzmq without CURVE is a failure, not bad usage
    }
    if (action == Action::check) {
        std::fputs(to_config_text(opt).c_str(), stdout);
        return 0;
    }
    // Signals arrive on a descriptor the loop polls, never in a handler;
    // blocked before ZeroMQ starts its threads, so they inherit the mask.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGUSR1);
    signal(SIGPIPE, SIG_IGN);
    const int sfd = sigprocmask(SIG_BLOCK, &set, nullptr) == 0 ? signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK) : -1;
    if (sfd < 0) {
        std::perror("hsipc-bridge: signalfd");
        return 1;
    }
    int status = 0;
    {
        Bridge bridge(opt, keys);
        if (!bridge.start(&error)) {
            std::fprintf(stderr, "hsipc-bridge[%s]: %s\n", opt.host.c_str(), error.c_str());
            return 1;
        }
        if (!bridge.run(sfd, &error)) {
            std::fprintf(stderr, "hsipc-bridge[%s]: %s\n", opt.host.c_str(), error.c_str());
            status = 1;
        }
        bridge.stop();
        std::fprintf(stderr, "%s\n", bridge.stats_line().c_str());  // the final counts
    }
    close(sfd);
    return status;
}
