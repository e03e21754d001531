// SPDX-License-Identifier: MIT
#include "options.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "message.h"
#include "util.h"

namespace bench {
namespace {

const char kUsage[] =
    "usage: hsipc_bench [--quick | --smoke] [options]\n"
    "\n"
    "Measures round-trip latency and one-way streaming throughput between two\n"
    "processes over hsipc and over other IPC mechanisms, beside a raw shared-memory\n"
    "baseline, and prints Markdown tables, a CSV file and a latency plot.\n"
    "\n"
    "profiles:\n"
    "  (default)         all sizes, 3 rounds of 0.5 s per case: a few minutes\n"
    "  --quick           2 rounds of 0.05 s per case: under a minute\n"
    "  --smoke           64 B and 64 KiB, one round of 50 messages per case: checks correctness\n"
    "                    only (exit status 1 if any check fails), writes no files\n"
    "                    unless --csv/--plot are given\n"
    "options:\n"
    "  --sizes LIST      message sizes, e.g. 64,4K,64K,1M,4M (multiples of 8, at most 8)\n"
    "  --modes LIST      rt,stream\n"
    "  --mechanisms LIST names from --list\n"
    "  --rounds N        run every case N times, spread over the run; the tables\n"
    "                    show each case's best round (other work only slows a case)\n"
    "  --time SECONDS    measured time per case and round\n"
    "  --iterations N    at most N measured messages per case\n"
    "  --warmup N        at least N unmeasured messages first (default: twice\n"
    "                    hsipc's pool for the size, so every buffer is touched)\n"
    "                    unless that takes over 0.5 s (--quick: 0.06 s); warm-up\n"
    "                    lasts at least 0.1 s (--quick: 0.02 s)\n"
    "  --out DIR         where results go (default bench-results)\n"
    "  --csv FILE        CSV output (default DIR/results.csv)\n"
    "  --plot FILE       PNG plot of round-trip p50 against size (default\n"
    "                    DIR/latency.png; needs gnuplot)\n"
    "  --no-plot         do not plot\n"
    "  --list            list the mechanisms and exit\n"
    "  --help\n";

std::vector<std::string> split(const std::string& s) {
    std::vector<std::string> out;
    std::stringstream in(s);
    std::string item;
    while (std::getline(in, item, ',')) {
        if (!item.empty()) out.push_back(item);
    }
    return out;
}

bool parse_number(const char* text, double* out) {
    char* end;
    *out = std::strtod(text, &end);
    return end != text && *end == 0 && *out >= 0;
}

}  // namespace

int parse_options(int argc, char** argv, Options* o) {
    bool sizes_given = false;
    double seconds = -1, iterations = -1, rounds = -1;
    for (int i = 1; i < argc; i++) {
        const std::string a = argv[i];
        auto value = [&]() -> const char* {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "hsipc_bench: %s needs a value\n", a.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        double d;
        if (a == "--help" || a == "-h") {
            std::fputs(kUsage, stdout);
            return 0;
        } else if (a == "--quick") {
            o->profile = Profile::Quick;
        } else if (a == "--smoke") {
            o->profile = Profile::Smoke;
        } else if (a == "--sizes") {
            o->sizes.clear();
            for (const std::string& s : split(value())) {
                uint64_t n;
                if (!parse_size(s, &n) || n < kMinMessage || n % 8 != 0 || n > (1u << 30)) {
                    std::fprintf(stderr, "hsipc_bench: bad size '%s' (a multiple of 8 from 8 B to 1 GiB)\n", s.c_str());
                    return 2;
                }
                o->sizes.push_back(size_t(n));
            }
            sizes_given = true;
        } else if (a == "--modes") {
            o->modes.clear();
            for (const std::string& m : split(value())) {
                if (m == "rt") o->modes.push_back(Mode::RoundTrip);
                else if (m == "stream") o->modes.push_back(Mode::Stream);
                else {
                    std::fprintf(stderr, "hsipc_bench: bad mode '%s' (rt or stream)\n", m.c_str());
                    return 2;
                }
            }
        } else if (a == "--mechanisms") {
            o->mechanisms = split(value());
        } else if (a == "--time") {
            if (!parse_number(value(), &seconds)) return std::fprintf(stderr, "hsipc_bench: bad --time\n"), 2;
        } else if (a == "--rounds") {
            if (!parse_number(value(), &rounds) || rounds < 1 || rounds > 100) {
                return std::fprintf(stderr, "hsipc_bench: bad --rounds (1 to 100)\n"), 2;
            }
        } else if (a == "--iterations") {
            if (!parse_number(value(), &iterations) || iterations < 1) {
                return std::fprintf(stderr, "hsipc_bench: bad --iterations\n"), 2;
            }
        } else if (a == "--warmup") {
            if (!parse_number(value(), &d)) return std::fprintf(stderr, "hsipc_bench: bad --warmup\n"), 2;
            o->warmup = int64_t(d);
        } else if (a == "--out") {
            o->out_dir = value();
        } else if (a == "--csv") {
            o->csv = value();
        } else if (a == "--plot") {
            o->plot = value();
        } else if (a == "--no-plot") {
            o->no_plot = true;
        } else if (a == "--list") {
            o->list = true;
        } else {
            std::fprintf(stderr, "hsipc_bench: unknown option '%s'\n%s", a.c_str(), kUsage);
            return 2;
        }
    }
    switch (o->profile) {
        case Profile::Full:
            o->rounds = 3, o->seconds = 0.5, o->iterations = 3'000'000, o->min_iterations = 200;
            o->warmup_seconds = 0.1, o->warmup_max_seconds = 0.5;
            break;
        case Profile::Quick:
            o->rounds = 2, o->seconds = 0.05, o->iterations = 300'000, o->min_iterations = 20;
            o->warmup_seconds = 0.02, o->warmup_max_seconds = 0.06;
            break;
        case Profile::Smoke:
            o->rounds = 1, o->seconds = 0, o->iterations = 50, o->min_iterations = 50;
            o->warmup_seconds = 0, o->warmup_max_seconds = 10;
            if (o->warmup < 0) o->warmup = 4;
            break;
    }
    if (!sizes_given) {
        if (o->profile == Profile::Smoke) o->sizes = {64, 64 << 10};
        else o->sizes = {64, 4 << 10, 64 << 10, 1 << 20, 4 << 20};
    }
    std::sort(o->sizes.begin(), o->sizes.end());
    o->sizes.erase(std::unique(o->sizes.begin(), o->sizes.end()), o->sizes.end());
    if (o->sizes.size() > 8) return std::fprintf(stderr, "hsipc_bench: at most 8 sizes\n"), 2;
    if (seconds >= 0) o->seconds = seconds;
    if (rounds >= 1) o->rounds = int(rounds);
    if (iterations >= 1) o->iterations = uint64_t(iterations);
    o->min_iterations = std::min(o->min_iterations, o->iterations);
    if (o->profile != Profile::Smoke) {
        if (o->csv.empty()) o->csv = o->out_dir + "/results.csv";
        if (o->plot.empty()) o->plot = o->out_dir + "/latency.png";
    }
    if (o->no_plot) o->plot.clear();
    return -1;
}

CaseSpec make_spec(const Options& o, Mode mode, size_t size) {
    CaseSpec s;
    s.mode = mode;
    s.size = size;
    s.depth = queue_depth(size);
    s.warmup_min = o.warmup >= 0 ? uint64_t(o.warmup) : 2ull * pool_buffers(size);
    s.warmup_ns = int64_t(o.warmup_seconds * 1e9);
    s.warmup_max_ns = std::max(s.warmup_ns, int64_t(o.warmup_max_seconds * 1e9));
    s.min_count = o.min_iterations;
    s.max_count = o.iterations;
    s.budget_ns = int64_t(o.seconds * 1e9);
    s.run_sizes = o.sizes;
    return s;
}

}  // namespace bench
