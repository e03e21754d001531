// SPDX-License-Identifier: MIT
// hsipc_bridge_bench: hsipc-bridge against plain ZeroMQ on the same link in
// the same run (issue 14).
//
//   stream     a process on host A sends to an endpoint on host B through
//              the two bridges (hsipc_send_offset to the proxy hostB.sink),
//              beside a plain ZeroMQ PUSH/PULL pair between the same hosts:
//              messages/s at 64 B and 1 MiB.
//   round trip request/reply through the two bridges (the reply to
//              msg.from) beside plain ZeroMQ REQ/REP between the same hosts,
//              and hsipc's local round trip (both processes on host A): p50.
//
// The hosts are two network namespaces joined by a veth pair, each with its
// own /dev/shm, where we are root and the kernel allows it; else loopback
// (bridge/hosts.h). Every case runs in several short rounds spread over the
// run (rounds outermost); each figure is the median over rounds, each ratio
// the median of the ratios within a round. Beside each figure, the CPU time
// each process spent per message, which says where the time goes.
//
// Usage: hsipc_bridge_bench [--smoke | --quick] [options]   (--help)
#include <hsipc.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "bridge/bridges.h"
#include "bridge/hosts.h"
#include "bridge/workers.h"
#include "machine.h"
#include "util.h"

namespace bench::bridge {
namespace {

const char kUsage[] =
    "usage: hsipc_bridge_bench [--smoke | --quick] [options]\n"
    "\n"
    "hsipc-bridge against plain ZeroMQ on the same link, in one run: a stream from\n"
    "host A to an endpoint on host B through two bridges beside ZeroMQ PUSH/PULL\n"
    "(64 B and 1 MiB), and request/reply through the bridges beside ZeroMQ REQ/REP\n"
    "and hsipc's local round trip (64 B). As root the hosts are two network\n"
    "namespaces joined by a veth pair, each with its own /dev/shm; otherwise two\n"
    "regions over loopback. Prints Markdown tables and the targets check.\n"
    "\n"
    "  (default)        5 rounds of 0.5 s per case (0.1 s warm-up): under a minute\n"
    "  --quick          3 rounds of 0.2 s per case\n"
    "  --smoke          one round of a few dozen checked messages per case: exit\n"
    "                   status 1 if a case fails, a message is lost, or a bridge\n"
    "                   dropped or refused one\n"
    "  --rounds N       rounds per case\n"
    "  --time SECONDS   measured time per case and round\n"
    "  --warmup SECONDS unmeasured traffic before it\n"
    "  --bridge PATH    the hsipc-bridge program (default: ../bridge/hsipc-bridge\n"
    "                   next to this program in the build tree)\n"
    "  --loopback       two regions over loopback even as root\n"
    "  --cases LIST     some of stream-64,stream-1M,rt (all by default)\n"
    "  --spin           the hsipc ends of a stream wait by spinning rather than\n"
    "                   sleeping (ZeroMQ's ends always sleep)\n"
    "  --help\n";

enum class Path { zmq, bridged, local };

struct CaseDef {
    bool stream;
    size_t size;
    Path path;
    const char* group;  // --cases selects groups
};

const char* path_name(Path p) {
    return p == Path::zmq ? "plain ZeroMQ" : p == Path::bridged ? "hsipc through 2 bridges" : "hsipc local";
}

// In a round, in this order: each bridged case right after its ZeroMQ one.
const CaseDef kCases[] = {
    {true, 64, Path::zmq, "stream-64"},       {true, 64, Path::bridged, "stream-64"},
    {true, 1 << 20, Path::zmq, "stream-1M"},  {true, 1 << 20, Path::bridged, "stream-1M"},
    {false, 64, Path::zmq, "rt"},             {false, 64, Path::bridged, "rt"},
    {false, 64, Path::local, "rt"},
};
constexpr size_t kCaseCount = sizeof kCases / sizeof kCases[0];

struct Config {
    bool smoke = false;
    int rounds = 5;
    double time_s = 0.5, warmup_s = 0.1;
    std::string bridge;
    bool loopback = false;
    std::string cases = "stream-64,stream-1M,rt";
    bool spin = false;
};

bool selected(const Config& cfg, const CaseDef& c) {
    return ("," + cfg.cases + ",").find(std::string(",") + c.group + ",") != std::string::npos;
}

// The per-process CPU columns: the sending side, bridge A, bridge B, the
// receiving side.
constexpr int kProcesses = 4;

struct CaseResult {
    bool ok = false;
    std::string error;
    Outcome out[2];
    double cpu_ns[kProcesses] = {-1, -1, -1, -1};  // per message (round trip)
    double wakeups = -1;                            // of all four (two) processes, per message
    double faults = -1;                             // minor page faults, the same way
};

volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int64_t rusage_ns(const rusage& ru) {
    return (int64_t(ru.ru_utime.tv_sec) + ru.ru_stime.tv_sec) * 1000000000 +
           (int64_t(ru.ru_utime.tv_usec) + ru.ru_stime.tv_usec) * 1000;
}

pid_t fork_worker(const Host& host, Work work, const Plan& plan, Shared* shared, int side) {
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid != 0) return pid;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    if (!Hosts::enter(host)) {
        std::snprintf(shared->side[side].error, sizeof shared->side[side].error, "cannot enter host %s: %s",
                      host.name.c_str(), std::strerror(errno));
        _exit(1);
    }
    run_work(work, plan, shared, &shared->side[side]);
    _exit(shared->side[side].done ? 0 : 1);
}

class Runner {
public:
    Runner(const Config& cfg, const Hosts& hosts, const Bridges& bridges)
        : cfg_(cfg), hosts_(hosts), bridges_(bridges) {}

    CaseResult run(const CaseDef& c) {
        CaseResult r;
        Plan plan;
        plan.size = c.size;
        if (cfg_.smoke) {
            plan.count = c.stream ? (c.size > 4096 ? 20 : 500) : 50;
        } else {
            plan.warmup_ns = int64_t(cfg_.warmup_s * 1e9);
            plan.time_ns = int64_t(cfg_.time_s * 1e9);
        }
        plan.address = hosts_.b().address;
        plan.spin = cfg_.spin;
        Work work[2] = {Work::zmq_push, Work::zmq_pull};
        const Host* host[2] = {&hosts_.a(), &hosts_.b()};
        Plan plans[2] = {plan, plan};
        switch (c.path) {
            case Path::zmq:
                work[0] = c.stream ? Work::zmq_push : Work::zmq_req;
                work[1] = c.stream ? Work::zmq_pull : Work::zmq_rep;
                break;
            case Path::bridged:
            case Path::local:
                work[0] = c.stream ? Work::hsipc_source : Work::hsipc_client;
                work[1] = c.stream ? Work::hsipc_sink : Work::hsipc_server;
                plans[0].region = bridges_.region_a();
                plans[1].region = c.path == Path::local ? bridges_.region_a() : bridges_.region_b();
                plans[0].target = std::string(c.path == Path::bridged ? "hostB." : "") +
                                  (c.stream ? kSinkName : kServerName);
                if (c.path == Path::local) host[1] = &hosts_.a();
                break;
        }
        void* mem = mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (mem == MAP_FAILED) {
            r.error = "mmap failed";
            return r;
        }
        Shared* shared = new (mem) Shared;
        const bool bridged = c.path == Path::bridged;
        const Usage bridge_before[2] = {process_usage(bridges_.pid_a()), process_usage(bridges_.pid_b())};
        std::fflush(stdout);
        pid_t pids[2];
        pids[1] = fork_worker(*host[1], work[1], plans[1], shared, 1);
        pids[0] = pids[1] > 0 ? fork_worker(*host[0], work[0], plans[0], shared, 0) : -1;
        Usage used[2];
        r.error = wait_both(pids, used, plan, bridged);
        const Usage bridge_after[2] = {process_usage(bridges_.pid_a()), process_usage(bridges_.pid_b())};
        // The side that says why it failed first: the other may only have
        // been killed for it.
        for (int side = 0; side < 2; side++) r.out[side] = shared->side[side];
        for (const bool with_text : {true, false}) {
            for (int side = 0; side < 2 && r.error.empty(); side++) {
                const Outcome& o = r.out[side];
                if (o.done || (with_text && !o.error[0])) continue;
                r.error = std::string(side ? "receiving" : "sending") + " side: " + (o.error[0] ? o.error : "killed");
            }
        }
        munmap(mem, sizeof(Shared));
        r.ok = r.error.empty();
        const double messages = double(std::max<uint64_t>(r.out[0].total, 1));
        // The workers' own figures, without their setup, where they got that far.
        for (int side = 0; side < 2; side++) {
            if (r.out[side].cpu_ns >= 0) used[side] = Usage{r.out[side].cpu_ns, r.out[side].wakeups, r.out[side].faults};
        }
        r.cpu_ns[0] = double(used[0].cpu_ns) / messages;
        r.cpu_ns[3] = double(used[1].cpu_ns) / messages;
        int64_t wakeups = used[0].wakeups + used[1].wakeups;
        int64_t faults = used[0].faults + used[1].faults;
        if (bridged) {
            for (int b = 0; b < 2; b++) {
                if (bridge_before[b].cpu_ns < 0 || bridge_after[b].cpu_ns < 0) continue;
                r.cpu_ns[1 + b] = double(bridge_after[b].cpu_ns - bridge_before[b].cpu_ns) / messages;
                wakeups += bridge_after[b].wakeups - bridge_before[b].wakeups;
                faults += bridge_after[b].faults - bridge_before[b].faults;
            }
        }
        r.wakeups = double(wakeups) / messages;
        r.faults = double(faults) / messages;
        return r;
    }

private:
    // Waits for both workers, with their CPU times; "" when both finished,
    // else why not (the one left is killed).
    std::string wait_both(pid_t pids[2], Usage used[2], const Plan& plan, bool bridged) {
        std::string error;
        if (pids[0] < 0 || pids[1] < 0) error = "fork failed";
        const int64_t until = now_ns() + plan.warmup_ns + plan.time_ns + 40000000000;
        int left = (pids[0] > 0) + (pids[1] > 0);
        while (left > 0) {
            for (int side = 0; side < 2; side++) {
                if (pids[side] <= 0) continue;
                int status = 0;
                rusage ru;
                if (wait4(pids[side], &status, WNOHANG, &ru) != pids[side]) continue;
                used[side].cpu_ns = rusage_ns(ru);
                used[side].wakeups = ru.ru_nvcsw;
                pids[side] = 0;
                left--;
                if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0) && error.empty()) error = " ";
            }
            if (left == 0) break;
            if (error.empty() && g_stop) error = "interrupted";
            if (error.empty() && now_ns() > until) error = "timed out";
            if (error.empty() && bridged && !bridges_.alive()) error = "a bridge died";
            if (!error.empty()) {
                for (int side = 0; side < 2; side++) {
                    if (pids[side] > 0) kill(pids[side], SIGKILL);
                }
            }
            usleep(10000);
        }
        return error == " " ? "" : error;  // " ": a worker failed; its own text says why
    }

    const Config& cfg_;
    const Hosts& hosts_;
    const Bridges& bridges_;
};

// ---- Report -------------------------------------------------------------------

std::string fmt(const char* f, double v) {
    char text[64];
    std::snprintf(text, sizeof text, f, v);
    return text;
}

std::string us(double ns) { return ns < 0 ? "n/a" : fmt("%.2f µs", ns / 1e3); }

double rate(const CaseResult& r) {
    const Outcome& o = r.out[1];
    return o.elapsed_ns > 0 && o.count > 1 ? double(o.count - 1) * 1e9 / double(o.elapsed_ns) : 0;
}

struct Report {
    const Config& cfg;
    std::vector<std::vector<CaseResult>> results;  // [case][round]

    bool all_ok(size_t c) const {
        for (const CaseResult& r : results[c]) {
            if (!r.ok) return false;
        }
        return true;
    }
    bool ran(size_t c) const { return !results[c].empty(); }
    std::vector<double> per_round(size_t c, double (*f)(const CaseResult&)) const {
        std::vector<double> v;
        for (const CaseResult& r : results[c]) {
            if (r.ok) v.push_back(f(r));
        }
        return v;
    }
    // f(case a's result, case b's result) for the rounds where both succeeded.
    template <class F>
    std::vector<double> paired(size_t a, size_t b, F f) const {
        std::vector<double> v;
        for (size_t i = 0; i < results[a].size() && i < results[b].size(); i++) {
            if (results[a][i].ok && results[b][i].ok) v.push_back(f(results[a][i], results[b][i]));
        }
        return v;
    }
    std::string cpu_cells(size_t c) const {
        std::string s;
        for (int p = 0; p < kProcesses; p++) {
            std::vector<double> v;
            for (const CaseResult& r : results[c]) {
                if (r.ok && r.cpu_ns[p] >= 0) v.push_back(r.cpu_ns[p]);
            }
            s += " | " + (v.empty() ? std::string("–") : us(median(v)));
        }
        std::vector<double> w, f;
        for (const CaseResult& r : results[c]) {
            if (r.ok && r.wakeups >= 0) w.push_back(r.wakeups);
            if (r.ok && r.faults >= 0) f.push_back(r.faults);
        }
        return s + " | " + (w.empty() ? std::string("–") : fmt("%.2f", median(w))) + " | " +
               (f.empty() ? std::string("–") : fmt("%.1f", median(f)));
    }
    uint64_t lost(size_t c) const {
        uint64_t n = 0;
        for (const CaseResult& r : results[c]) n += r.out[1].lost;
        return n;
    }
    // "0", or "N (x% of those sent)" over all rounds.
    std::string lost_cell(size_t c) const {
        uint64_t sent = 0;
        for (const CaseResult& r : results[c]) sent += r.out[0].total;
        const uint64_t n = lost(c);
        return n == 0 ? "0" : std::to_string(n) + fmt(" (%.1f%%)", 100.0 * double(n) / double(std::max<uint64_t>(sent, 1)));
    }

    void print_errors() const {
        for (size_t c = 0; c < kCaseCount; c++) {
            for (size_t i = 0; i < results[c].size(); i++) {
                if (!results[c][i].ok) {
                    std::printf("FAILED: %s %s %s, round %zu: %s\n", kCases[c].stream ? "stream" : "round trip",
                                format_size(kCases[c].size).c_str(), path_name(kCases[c].path), i + 1,
                                results[c][i].error.c_str());
                }
            }
        }
    }

    void print() const {
        std::printf("\n### Streaming, host A to host B\n\n");
        std::printf("| size | path | messages/s | MiB/s | vs ZeroMQ, per round | lost | "
                    "CPU per message: sender | bridge A | bridge B | receiver | wake-ups | page faults |\n");
        std::printf("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (size_t c = 0; c < kCaseCount; c++) {
            const CaseDef& d = kCases[c];
            if (!d.stream) continue;
            if (!ran(c) || per_round(c, rate).empty()) {
                std::printf("| %s | %s | %s | | | | | | | | | |\n", format_size(d.size).c_str(), path_name(d.path),
                            ran(c) ? "failed" : "not run");
                continue;
            }
            const double m = median(per_round(c, rate));
            std::string vs = "1.00×";
            if (d.path == Path::bridged) {
                vs = fmt("%.2f×", median(paired(c, c - 1, [](const CaseResult& b, const CaseResult& z) {
                             return rate(b) / rate(z);
                         })));
            }
            std::printf("| %s | %s | %s | %s | %s | %s%s |\n", format_size(d.size).c_str(), path_name(d.path),
                        fmt("%.0f", m).c_str(), fmt("%.1f", m * double(d.size) / (1 << 20)).c_str(), vs.c_str(),
                        lost_cell(c).c_str(), cpu_cells(c).c_str());
        }
        std::printf("\n### Round trips, 64 B\n\n");
        std::printf("| path | p50 | p99 | CPU per round trip: client | bridge A | bridge B | server | wake-ups | page faults |\n");
        std::printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (size_t c = 0; c < kCaseCount; c++) {
            const CaseDef& d = kCases[c];
            if (d.stream) continue;
            const auto p50 = per_round(c, [](const CaseResult& r) { return double(r.out[0].p50_ns); });
            const auto p99 = per_round(c, [](const CaseResult& r) { return double(r.out[0].p99_ns); });
            if (p50.empty()) {
                std::printf("| %s | %s | | | | | | | |\n", path_name(d.path), ran(c) ? "failed" : "not run");
                continue;
            }
            std::printf("| %s | %s | %s%s |\n", path_name(d.path), us(median(p50)).c_str(), us(median(p99)).c_str(),
                        cpu_cells(c).c_str());
        }
        std::printf("\nFigures: medians over rounds (p50, p99: of each round's). CPU: per message or round trip,\n"
                    "warm-up included; a bridge's CPU counts all its threads (ZeroMQ's I/O thread too).\n"
                    "Wake-ups (voluntary context switches) and minor page faults: of all the case's\n"
                    "processes and threads, per message or round trip.\n");
        print_targets();
    }

    void print_targets() const {
        std::printf("\n### Targets (issue 14)\n\n| target | measured, median of per-round values | |\n|---|---|---|\n");
        for (size_t c = 0; c < kCaseCount; c++) {
            if (!kCases[c].stream || kCases[c].path != Path::bridged || !ran(c)) continue;
            const auto v = paired(c, c - 1, [](const CaseResult& b, const CaseResult& z) { return rate(b) / rate(z); });
            const double ratio = median(v);
            std::printf("| bridged throughput at %s ≥ 0.9× ZeroMQ PUSH/PULL | %s | %s |\n",
                        format_size(kCases[c].size).c_str(), v.empty() ? "n/a" : fmt("%.2f×", ratio).c_str(),
                        v.empty() ? "failed" : ratio >= 0.9 ? "met" : "**not met**");
        }
        // Cases 4, 5, 6: ZeroMQ, bridged, local round trips.
        std::vector<double> added, local, over;
        for (size_t i = 0; i < results[4].size() && i < results[5].size() && i < results[6].size(); i++) {
            const CaseResult &z = results[4][i], &b = results[5][i], &l = results[6][i];
            if (!z.ok || !b.ok || !l.ok) continue;
            const double a = double(b.out[0].p50_ns) - double(z.out[0].p50_ns);
            added.push_back(a);
            local.push_back(double(l.out[0].p50_ns));
            over.push_back(a / double(l.out[0].p50_ns));
        }
        if (!ran(4)) return;
        std::printf("| bridged round trip − ZeroMQ REQ/REP's ≤ 2× hsipc's local round trip | %s |\n",
                    over.empty() ? "n/a | failed"
                                 : (fmt("%.1f×", median(over)) + " (" + us(median(added)) + " added, local " +
                                    us(median(local)) + ") | " + (median(over) <= 2 ? "met" : "**not met**"))
                                       .c_str());
    }
};

bool parse(int argc, char** argv, Config* cfg) {
    for (int i = 1; i < argc; i++) {
        const std::string a = argv[i];
        const bool has_value = i + 1 < argc;
        if (a == "--help" || a == "-h") {
            std::fputs(kUsage, stdout);
            std::exit(0);
        } else if (a == "--smoke") {
            cfg->smoke = true;
            cfg->rounds = 1;
        } else if (a == "--quick") {
            cfg->rounds = 3;
            cfg->time_s = 0.2;
        } else if (a == "--loopback") {
            cfg->loopback = true;
        } else if (a == "--rounds" && has_value) {
            cfg->rounds = std::atoi(argv[++i]);
            if (cfg->rounds < 1 || cfg->rounds > 1000) return false;
        } else if (a == "--time" && has_value) {
            cfg->time_s = std::atof(argv[++i]);
            if (!(cfg->time_s > 0 && cfg->time_s <= 60)) return false;
        } else if (a == "--warmup" && has_value) {
            cfg->warmup_s = std::atof(argv[++i]);
            if (!(cfg->warmup_s >= 0 && cfg->warmup_s <= 60)) return false;
        } else if (a == "--spin") {
            cfg->spin = true;
        } else if (a == "--cases" && has_value) {
            cfg->cases = argv[++i];
        } else if (a == "--bridge" && has_value) {
            cfg->bridge = argv[++i];
        } else {
            return false;
        }
    }
    return true;
}

// The bridge program as an absolute path (the workers change their mount
// namespace, and with it their working directory).
std::string find_bridge(const std::string& given) {
    std::string path = given;
    if (path.empty()) {
        char self[PATH_MAX];
        const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n <= 0) return "";
        self[n] = 0;
        path = std::string(self);
        path = path.substr(0, path.rfind('/')) + "/../bridge/hsipc-bridge";
    }
    char real[PATH_MAX];
    if (!realpath(path.c_str(), real) || access(real, X_OK) != 0) return "";
    return real;
}

// Smoke: the bridges' own counters must show nothing dropped, refused or lost.
bool counters_clean(const std::string& stats) {
    for (const char* key : {" dropped=", " refused=", " lost="}) {
        const size_t at = stats.find(key);
        if (at == std::string::npos || stats.compare(at + std::strlen(key), 2, "0 ") != 0) return false;
    }
    return true;
}

int main_(int argc, char** argv) {
    Config cfg;
    if (!parse(argc, argv, &cfg)) {
        std::fprintf(stderr, "%s", kUsage);
        return 2;
    }
    const std::string bridge = find_bridge(cfg.bridge);
    if (bridge.empty()) {
        std::fprintf(stderr, "hsipc_bridge_bench: no hsipc-bridge program at %s (build the hsipc_bridge target, or "
                     "give --bridge PATH)\n", cfg.bridge.empty() ? "../bridge/ beside this program" : cfg.bridge.c_str());
        return 1;
    }
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    signal(SIGPIPE, SIG_IGN);

    Hosts hosts;
    hosts.setup(cfg.loopback);
    std::printf("## hsipc_bridge_bench%s\n\n", cfg.smoke ? " --smoke" : "");
    std::printf("- machine: %s, %d CPUs, %s; load average %s at the start\n", cpu_model().c_str(), online_cpus(),
                kernel().c_str(), load_average().c_str());
    std::printf("- link: %s\n", hosts.link().c_str());
    std::printf("- bridge: %s (default settings)\n", bridge.c_str());
    if (cfg.smoke) {
        std::printf("- smoke: one round, a few dozen checked messages per case\n");
    } else {
        std::printf("- %d rounds of %.2g s per case after %.2g s of warm-up; processes not pinned\n", cfg.rounds,
                    cfg.time_s, cfg.warmup_s);
        std::printf("- the hsipc ends of a stream wait by %s\n", cfg.spin ? "spinning (--spin)" : "sleeping");
    }
    std::fflush(stdout);

    Bridges bridges(hosts, bridge);
    std::string error;
    if (!bridges.start(&error)) {
        std::fprintf(stderr, "hsipc_bridge_bench: %s\n", error.c_str());
        bridges.stop();
        bridges.unlink_regions();
        return 1;
    }
    Report report{cfg, std::vector<std::vector<CaseResult>>(kCaseCount)};
    Runner runner(cfg, hosts, bridges);
    for (int round = 0; round < cfg.rounds && !g_stop; round++) {
        for (size_t c = 0; c < kCaseCount && !g_stop; c++) {
            if (selected(cfg, kCases[c])) report.results[c].push_back(runner.run(kCases[c]));
        }
    }
    bridges.stop();
    bridges.unlink_regions();
    if (g_stop) {
        std::fprintf(stderr, "hsipc_bridge_bench: interrupted\n");
        return 130;
    }
    report.print();
    std::printf("\n- load average %s at the end\n- bridge A: %s\n- bridge B: %s\n", load_average().c_str(),
                bridges.stats_a().c_str(), bridges.stats_b().c_str());
    bool ok = true;
    for (size_t c = 0; c < kCaseCount; c++) ok = report.all_ok(c) && ok;
    report.print_errors();
    if (cfg.smoke) {
        for (size_t c = 0; c < kCaseCount; c++) {
            if (report.lost(c)) {
                std::printf("FAILED: %llu message(s) lost in case %zu\n", (unsigned long long)report.lost(c), c + 1);
                ok = false;
            }
        }
        for (const std::string* s : {&bridges.stats_a(), &bridges.stats_b()}) {
            if (!counters_clean(*s)) {
                std::printf("FAILED: a bridge dropped, refused or lost messages (or gave no counters): %s\n",
                            s->c_str());
                ok = false;
            }
        }
        std::printf("%s\n", ok ? "smoke: all cases passed" : "smoke: FAILED");
    }
    return ok ? 0 : 1;
}

}  // namespace
}  // namespace bench::bridge

int main(int argc, char** argv) { return bench::bridge::main_(argc, argv); }
