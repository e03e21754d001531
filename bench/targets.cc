// SPDX-License-Identifier: MIT
#include "targets.h"

#include <cstdio>
#include <string>
#include <vector>

#include "report.h"
#include "util.h"

namespace bench {
namespace {

constexpr size_t k64 = 64;
constexpr size_t k1M = 1 << 20;

struct Check {
    std::string target;
    std::string measured;  // empty: not measured
    bool met = false;
};

std::string ns(double v) { return grouped(uint64_t(v)) + " ns"; }

// Three decimals: a ratio next to its limit must not round onto it.
std::string ratio(double r) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f×", r);
    return buf;
}

// hsipc's p50 over a reference's, where lower is better for hsipc.
Check latency_ratio(const Results& r, size_t size, const char* other, double limit, const std::string& target) {
    Check c{target, "", false};
    const double mine = r.figure(kHsipc, Mode::RoundTrip, size), theirs = r.figure(other, Mode::RoundTrip, size);
    if (mine <= 0 || theirs <= 0) return c;
    c.measured = ratio(mine / theirs) + " (" + ns(mine) + " vs " + ns(theirs) + ")";
    c.met = mine / theirs <= limit;
    return c;
}

// How many times faster than `other` hsipc is.
Check speedup(const Results& r, size_t size, const char* other, double at_least, const std::string& target) {
    Check c{target, "", false};
    const double mine = r.figure(kHsipc, Mode::RoundTrip, size), theirs = r.figure(other, Mode::RoundTrip, size);
    if (mine <= 0 || theirs <= 0) return c;
    char text[32];
    std::snprintf(text, sizeof text, "%.2f× faster", theirs / mine);  // 99.96 must not read 100
    c.measured = text + std::string(" (") + ns(mine) + " vs " + ns(theirs) + ")";
    c.met = theirs / mine >= at_least;
    return c;
}

Check stream_ratio(const Results& r, size_t size, double at_least, bool bytes, const std::string& target) {
    Check c{target, "", false};
    const double mine = r.figure(kHsipc, Mode::Stream, size), raw = r.figure(kRaw, Mode::Stream, size);
    if (mine <= 0 || raw <= 0) return c;
    const double scale = bytes ? double(size) / 1e6 : 1e-6;
    const char* unit = bytes ? " MB/s" : " M msgs/s";
    char text[96];
    std::snprintf(text, sizeof text, " (%.1f%s vs %.1f%s)", mine * scale, unit, raw * scale, unit);
    c.measured = ratio(mine / raw) + text;
    c.met = mine / raw >= at_least;
    return c;
}

Check stream_rate(const Results& r, double at_least, const std::string& target) {
    Check c{target, "", false};
    const double mine = r.figure(kHsipc, Mode::Stream, k64);
    if (mine <= 0) return c;
    char text[64];
    std::snprintf(text, sizeof text, "%.1f M msgs/s", mine / 1e6);
    c.measured = text;
    c.met = mine >= at_least;
    return c;
}

// hsipc-blocking against a pipe at every size both ran.
Check blocking_vs_pipe(const Results& r) {
    Check c{"blocking round trip no slower than a pipe (p50, every size)", "", true};
    double worst = 0;
    size_t worst_size = 0;
    for (size_t size : r.sizes) {
        const double mine = r.figure("hsipc-blocking", Mode::RoundTrip, size);
        const double pipe = r.figure("pipe", Mode::RoundTrip, size);
        if (mine <= 0 || pipe <= 0) continue;
        if (mine / pipe > worst) worst = mine / pipe, worst_size = size;
    }
    if (worst_size == 0) return c;
    c.measured = "worst " + ratio(worst) + " of pipe's p50, at " + format_size(worst_size);
    c.met = worst <= 1.0;
    return c;
}

Check tail(const Results& r) {
    Check c{"64 B round trip, polling: p99 ≤ 2× p50", "", false};
    const CaseRecord* rec = r.find(kHsipc, Mode::RoundTrip, k64);
    if (!rec || !rec->ok() || rec->latency().p50 == 0) return c;
    const double tail_ratio = double(rec->latency().p99) / double(rec->latency().p50);
    c.measured = bench::ratio(tail_ratio) + " (p99 " + ns(double(rec->latency().p99)) + ", p50 " +
                 ns(double(rec->latency().p50)) + ")";
    c.met = tail_ratio <= 2.0;
    return c;
}

}  // namespace

void print_targets(FILE* out, const Results& r) {
    const std::vector<Check> checks = {
        latency_ratio(r, k64, kRaw, 2.0, "64 B round trip, polling: p50 ≤ 2.0× raw"),
        latency_ratio(r, k64, "iceoryx", 1.0 / 3, "64 B round trip, polling: p50 ≤ 1/3 of iceoryx"),
        speedup(r, k64, "pipe", 100, "64 B round trip, polling: ≥ 100× faster than a pipe"),
        speedup(r, k64, "unix-socket", 100, "64 B round trip, polling: ≥ 100× faster than a Unix socket"),
        stream_rate(r, 10e6, "64 B streaming: ≥ 10 M msgs/s"),
        stream_ratio(r, k64, 0.25, false, "64 B streaming: ≥ 0.25× raw"),
        latency_ratio(r, k1M, kRaw, 1.1, "1 MiB round trip, polling: p50 ≤ 1.1× raw"),
        stream_ratio(r, k1M, 0.8, true, "1 MiB streaming: ≥ 0.8× raw MB/s"),
        blocking_vs_pipe(r),
        tail(r),
    };
    std::fprintf(out,
                 "### Targets\n\n"
                 "hsipc means hsipc-polling unless the target says blocking.\n\n"
                 "| target | measured | |\n|---|---|---|\n");
    int met = 0, missed = 0;
    for (const Check& c : checks) {
        const char* verdict = c.measured.empty() ? "n/a (not measured)" : c.met ? "met" : "**not met**";
        if (!c.measured.empty()) (c.met ? met : missed)++;
        std::fprintf(out, "| %s | %s | %s |\n", c.target.c_str(), c.measured.empty() ? "—" : c.measured.c_str(),
                     verdict);
    }
    std::fprintf(out, "\n%d met, %d not met, %d not measured.\n", met, missed, int(checks.size()) - met - missed);
}

}  // namespace bench
