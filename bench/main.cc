// SPDX-License-Identifier: MIT
// hsipc_bench: one run measures hsipc and the usual IPC mechanisms under the
// same two-process workload, and reports tables, a CSV file, a plot and the
// performance targets. See docs/performance.md.
#include <hsipc.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "machine.h"
#include "mechanism.h"
#include "options.h"
#include "plot.h"
#include "report.h"
#include "results.h"
#include "runner.h"
#include "targets.h"
#include "util.h"

using namespace bench;

namespace {

// Other work on the machine is the main source of noise: say how busy it was.
void print_header(const Options& o, const Runner& runner, const std::string& load_before) {
    const uint32_t v = hsipc_version();
    std::printf("## hsipc benchmark\n\n");
    std::printf("- machine: %s, %d CPUs online, %s\n", cpu_model().c_str(), online_cpus(), kernel().c_str());
    std::printf("- hsipc %u.%u.%u; processes: %s\n", v >> 16, (v >> 8) & 0xff, v & 0xff, runner.pinning().c_str());
    std::printf("- profile: %s: %d round%s of %.2f s measured per case (at most %llu messages), each after a "
                "%.2f s warm-up; each case's best round is shown\n",
                o.profile == Profile::Full ? "full" : o.profile == Profile::Quick ? "quick" : "smoke", o.rounds,
                o.rounds == 1 ? "" : "s", o.seconds, (unsigned long long)o.iterations, o.warmup_seconds);
    std::printf("- load average (1 min) before / after the run: %s / %s\n\n", load_before.c_str(),
                load_average().c_str());
}

// Progress on stderr, so that stdout is the report alone.
void print_progress(int round, int rounds, size_t index, size_t total, const std::string& mechanism, Mode mode,
                    size_t size, const CaseOutcome& outcome) {
    std::string what;
    if (outcome.status == CaseOutcome::Unavailable) {
        what = "n/a";
    } else if (outcome.status == CaseOutcome::Failed) {
        what = "FAILED: " + outcome.note;
    } else if (mode == Mode::RoundTrip) {
        what = "p50 " + grouped(outcome.ping.latency.p50) + " ns";
    } else {
        CaseRecord one{mechanism, mode, size, outcome};
        what = grouped(uint64_t(one.msgs_per_s())) + " msgs/s";
    }
    std::fprintf(stderr, "[round %d/%d, %3zu/%zu] %-15s %-6s %7s  %s\n", round, rounds, index, total,
                 mechanism.c_str(), mode_name(mode), format_size(size).c_str(), what.c_str());
}

// The mechanisms named by --mechanisms (all by default), in table order.
// False (after saying why) for a name no mechanism has.
bool select_mechanisms(const Options& o, std::vector<std::unique_ptr<Mechanism>>* out) {
    for (auto& m : all_mechanisms()) {
        bool wanted = o.mechanisms.empty();
        for (const std::string& name : o.mechanisms) wanted |= name == m->name();
        if (wanted) out->push_back(std::move(m));
    }
    for (const std::string& name : o.mechanisms) {
        bool known = false;
        for (auto& m : *out) known |= name == m->name();
        if (!known) {
            std::fprintf(stderr, "hsipc_bench: unknown mechanism '%s' (see --list)\n", name.c_str());
            return false;
        }
    }
    return true;
}

// Every case, o.rounds times. Rounds outermost: each case's rounds are
// spread over the whole run, so that a stretch of interference (or the
// hypervisor moving a CPU) does not hit every round of one case.
void run_cases(const Options& o, Runner& runner, const std::vector<std::unique_ptr<Mechanism>>& mechanisms,
               Results* results) {
    std::vector<std::string> unavailable;
    for (const auto& m : mechanisms) {
        results->mechanisms.push_back(m->name());
        unavailable.push_back(m->unavailable_reason(runner));
        if (!unavailable.back().empty()) {
            std::fprintf(stderr, "hsipc_bench: %s skipped: %s\n", m->name(), unavailable.back().c_str());
        }
    }
    for (size_t size : o.sizes) {
        for (Mode mode : o.modes) {
            for (const auto& m : mechanisms) results->cases.push_back(CaseRecord{m->name(), mode, size, {}});
        }
    }
    const size_t total = results->cases.size();
    for (int round = 1; round <= o.rounds; round++) {
        for (size_t index = 0; index < total; index++) {
            CaseRecord& rec = results->cases[index];
            const size_t i = index % mechanisms.size();
            CaseOutcome outcome;
            if (!unavailable[i].empty()) {
                outcome.status = CaseOutcome::Unavailable;
                outcome.note = unavailable[i];
            } else {
                CaseSpec spec = make_spec(o, rec.mode, rec.size);
                spec.tag = "hsipc_bench." + std::to_string(getpid()) + "." + std::to_string(index) + "." +
                           std::to_string(round);
                outcome = runner.run(*mechanisms[i], spec);
            }
            rec.add_round(outcome);
            print_progress(round, o.rounds, index + 1, total, rec.mechanism, rec.mode, rec.size, outcome);
        }
    }
}

// CSV and plot where asked for. False if the CSV could not be written (a
// missing plot is only a note).
bool write_files(const Options& o, const Results& results) {
    std::string error;
    if (!o.csv.empty()) {
        if (!write_csv(o.csv, results, &error)) {
            std::fprintf(stderr, "hsipc_bench: %s\n", error.c_str());
            return false;
        }
        std::fprintf(stderr, "hsipc_bench: wrote %s\n", o.csv.c_str());
    }
    if (!o.plot.empty()) {
        const std::string title = "hsipc round-trip latency, " + cpu_model() + ", " + kernel();
        const std::string why = plot_latency(o.plot, results, title);
        if (why.empty()) std::fprintf(stderr, "hsipc_bench: wrote %s\n", o.plot.c_str());
        else std::fprintf(stderr, "hsipc_bench: no plot: %s\n", why.c_str());
    }
    return true;
}

int run(const Options& o) {
    std::vector<std::unique_ptr<Mechanism>> mechanisms;
    if (!select_mechanisms(o, &mechanisms)) return 2;
    const std::string load_before = load_average();
    Runner runner;
    Results results;
    results.sizes = o.sizes;
    results.modes = o.modes;
    run_cases(o, runner, mechanisms, &results);

    print_header(o, runner, load_before);
    print_tables(stdout, results);
    if (o.profile != Profile::Smoke) print_targets(stdout, results);
    std::fflush(stdout);
    if (!write_files(o, results)) return 1;
    if (results.any_failed()) {
        std::fprintf(stderr, "hsipc_bench: some cases FAILED (see above)\n");
        return 1;
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    const int status = parse_options(argc, argv, &o);
    if (status >= 0) return status;
    if (o.list) {
        for (auto& m : all_mechanisms()) std::printf("%-15s %s\n", m->name(), m->description());
        return 0;
    }
    signal(SIGPIPE, SIG_IGN);  // a failed write is an error to report, not a death
    try {
        return run(o);
    } catch (const Interrupted& i) {
        std::fprintf(stderr, "hsipc_bench: interrupted by %s; children stopped, shared objects removed\n",
                     strsignal(i.signal));
        return 128 + i.signal;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "hsipc_bench: %s\n", e.what());
        return 1;
    }
}
