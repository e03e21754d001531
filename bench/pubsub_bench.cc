// SPDX-License-Identifier: MIT
// hsipc_pubsub_bench: one publisher, 1..3 subscriber processes (issue 12).
//
//   frames  1 MiB frames, each written once by the publisher and read in
//           full (every byte summed and checked) by every subscriber:
//           frames/s and the publisher's CPU time per frame, for
//           hsipc_publish beside a raw shared-memory ring (the limit of the
//           workload here), iceoryx with one publisher and n subscribers,
//           and today's way without topics (n allocations, n writes, n
//           sends).
//   small   64-byte messages to subscribers spinning on hsipc_poll(…, 0):
//           what one hsipc_publish costs the publisher with 1, 2, 3
//           subscribers, beside n point-to-point sends.
//
// Every case runs in several short rounds spread over the run (rounds
// outermost); each figure is the median over rounds, and each ratio the
// median over rounds of the ratio within the round. See docs/performance.md,
// "Publish/subscribe".
//
// Usage: hsipc_pubsub_bench [--smoke | --quick] [options]   (--help)
#include <hsipc.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "machine.h"
#include "pubsub/group.h"
#include "pubsub/pubsub.h"
#include "report.h"
#include "runner.h"  // Interrupted
#include "util.h"

namespace bench::pubsub {
namespace {

const char kUsage[] =
    "usage: hsipc_pubsub_bench [--smoke | --quick] [options]\n"
    "\n"
    "One publisher and 1, 2, 3 subscriber processes. frames: 1 MiB frames written\n"
    "once and read in full by every subscriber (frames/s, publisher CPU per frame)\n"
    "for hsipc_publish, a raw shared-memory ring, iceoryx and n point-to-point sends.\n"
    "small: what one 64-byte hsipc_publish costs with 1, 2, 3 polling subscribers.\n"
    "Prints Markdown tables and the targets check.\n"
    "\n"
    "  (default)          7 rounds of 0.3 s per case: about a minute\n"
    "  --quick            3 rounds of 0.1 s per case\n"
    "  --smoke            one round of a few dozen messages per case, 64 KiB frames:\n"
    "                     checks correctness only (exit status 1 if a case fails)\n"
    "  --rounds N         rounds per case (figures: the median over rounds)\n"
    "  --time SECONDS     measured time per case and round\n"
    "  --size BYTES       frame size (default 1M; a multiple of 8)\n"
    "  --depth N          frames in flight (default 8; the small workload: 1024)\n"
    "  --subscribers LIST e.g. 1,2,3 (the default; at most 8)\n"
    "  --workloads LIST   some of: frames,small\n"
    "  --mechanisms LIST  some of: raw,hsipc-publish,iceoryx,hsipc-send\n"
    "  --take LIST        small: how the subscribers take messages, e.g. 64,1 (the\n"
    "                     default): 1 each with hsipc_poll as it lands, more up to\n"
    "                     that many at once with hsipc_poll_batch (timeout 0)\n"
    "  --placement P      for both workloads: spread (process i on the (i mod m)-th\n"
    "                     usable CPU, the publisher being process 0: the frames'\n"
    "                     default), split (the publisher alone on the first CPU, the\n"
    "                     subscribers on the second: the small messages' default)\n"
    "                     or none (the scheduler places them)\n"
    "  --list             what each mechanism does\n"
    "  --help\n";

constexpr const char* kRaw = "raw";
constexpr uint32_t kBatchTake = 64;  // as hsipc_bench's streaming consumer, at most a quarter of the window
constexpr const char* kPublish = "hsipc-publish";
constexpr const char* kIceoryx = "iceoryx";
constexpr const char* kSend = "hsipc-send";

std::vector<std::unique_ptr<Mechanism>> all_mechanisms() {
    std::vector<std::unique_ptr<Mechanism>> all;
    all.push_back(make_raw());
    all.push_back(make_hsipc_publish());
    all.push_back(make_iceoryx());
    all.push_back(make_hsipc_send());
    return all;
}

enum class Profile { Full, Quick, Smoke };

struct Config {
    Profile profile = Profile::Full;
    int rounds = 7;
    double seconds = 0.3;
    size_t size = 1 << 20;  // --smoke: 64 KiB unless given
    bool size_given = false;
    uint32_t depth = 8, small_depth = 1024;
    std::vector<uint32_t> takes = {kBatchTake, 1};  // small: how hsipc subscribers take messages
    std::vector<int> subscribers = {1, 2, 3};
    std::vector<Workload> workloads = {Workload::Frames, Workload::Small};
    std::vector<std::string> mechanisms;  // empty: all
    Placement frames_placement = Placement::Spread, small_placement = Placement::Split;
    bool list = false;
};

std::vector<std::string> split(const std::string& s) {
    std::vector<std::string> out;
    std::stringstream in(s);
    std::string item;
    while (std::getline(in, item, ',')) {
        if (!item.empty()) out.push_back(item);
    }
    return out;
}

bool positive(const char* text, double* out) {
    char* end;
    *out = std::strtod(text, &end);
    return end != text && *end == 0 && *out > 0;
}

int bad(const char* what) {
    std::fprintf(stderr, "hsipc_pubsub_bench: %s\n", what);
    return 2;
}

// -1 to go on, else the exit status.
int parse(int argc, char** argv, Config* c) {
    double rounds = 0, seconds = 0, depth = 0;
    for (int i = 1; i < argc; i++) {
        const std::string a = argv[i];
        const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
        const bool takes_value = a == "--rounds" || a == "--time" || a == "--size" || a == "--depth" ||
                                 a == "--subscribers" || a == "--workloads" || a == "--mechanisms" ||
                                 a == "--placement" || a == "--take";
        if (takes_value && !v) return std::fprintf(stderr, "hsipc_pubsub_bench: %s needs a value\n", a.c_str()), 2;
        if (takes_value) i++;
        if (a == "--help" || a == "-h") {
            std::fputs(kUsage, stdout);
            return 0;
        } else if (a == "--smoke") {
            c->profile = Profile::Smoke;
        } else if (a == "--quick") {
            c->profile = Profile::Quick;
        } else if (a == "--list") {
            c->list = true;
        } else if (a == "--rounds") {
            if (!positive(v, &rounds) || rounds > 100) return bad("bad --rounds (1 to 100)");
        } else if (a == "--time") {
            if (!positive(v, &seconds)) return bad("bad --time");
        } else if (a == "--size") {
            uint64_t n;
            if (!parse_size(v, &n) || n < 64 || n % 8 != 0 || n > (64u << 20)) {
                return bad("bad --size (a multiple of 8 from 64 B to 64 MiB)");
            }
            c->size = size_t(n);
            c->size_given = true;
        } else if (a == "--depth") {
            if (!positive(v, &depth) || depth > 4096) return bad("bad --depth (1 to 4096)");
        } else if (a == "--subscribers") {
            c->subscribers.clear();
            for (const std::string& s : split(v)) {
                const int n = std::atoi(s.c_str());
                if (n < 1 || n > kMaxSubscribers) return bad("bad --subscribers (each 1 to 8)");
                c->subscribers.push_back(n);
            }
        } else if (a == "--workloads") {
            c->workloads.clear();
            for (const std::string& w : split(v)) {
                if (w == "frames") c->workloads.push_back(Workload::Frames);
                else if (w == "small") c->workloads.push_back(Workload::Small);
                else return bad("bad --workloads (frames, small)");
            }
        } else if (a == "--take") {
            c->takes.clear();
            for (const std::string& t : split(v)) {
                const int n = std::atoi(t.c_str());
                if (n < 1 || n > 1024) return bad("bad --take (each 1 to 1024)");
                c->takes.push_back(uint32_t(n));
            }
        } else if (a == "--mechanisms") {
            c->mechanisms = split(v);
        } else if (a == "--placement") {
            const std::string p = v;
            if (p == "spread") c->frames_placement = Placement::Spread;
            else if (p == "split") c->frames_placement = Placement::Split;
            else if (p == "none") c->frames_placement = Placement::None;
            else return bad("bad --placement (spread, split, none)");
            c->small_placement = c->frames_placement;
        } else {
            std::fprintf(stderr, "hsipc_pubsub_bench: unknown option '%s'\n%s", a.c_str(), kUsage);
            return 2;
        }
    }
    if (c->profile == Profile::Quick) c->rounds = 3, c->seconds = 0.1;
    if (c->profile == Profile::Smoke) c->rounds = 1, c->seconds = 0;
    // A smoke run checks correctness: smaller frames make fewer page faults
    // (every process maps and touches the whole pool), so it takes a second.
    if (c->profile == Profile::Smoke && !c->size_given) c->size = 64 << 10;
    if (rounds > 0) c->rounds = int(rounds);
    if (seconds > 0) c->seconds = seconds;
    if (depth > 0) c->depth = c->small_depth = uint32_t(depth);
    if (c->subscribers.empty() || c->workloads.empty()) return bad("nothing to measure");
    std::sort(c->subscribers.begin(), c->subscribers.end());
    c->subscribers.erase(std::unique(c->subscribers.begin(), c->subscribers.end()), c->subscribers.end());
    return -1;
}

Spec make_spec(const Config& c, Workload w, int subscribers, uint32_t take) {
    Spec s;
    s.workload = w;
    s.subscribers = subscribers;
    s.placement = w == Workload::Frames ? c.frames_placement : c.small_placement;
    if (w == Workload::Frames) {
        s.size = c.size;
        s.depth = c.depth;
        s.yield_when_idle = true;
        s.warmup_min = 2 * (uint64_t(c.depth) * uint64_t(subscribers) + 2);  // every buffer touched
    } else {
        s.size = 64;
        s.depth = c.small_depth;
        s.batch = 16;
        s.yield_when_idle = false;  // polling: no system call
        s.take = take;
        s.warmup_min = 2 * (uint64_t(c.small_depth) + s.batch) * uint64_t(subscribers);
    }
    if (c.profile == Profile::Smoke) {
        s.warmup_min = w == Workload::Frames ? 4 : 64;
        s.warmup_ns = 0;
        s.min_count = s.max_count = w == Workload::Frames ? 16 : 256;
        s.budget_ns = 0;
    } else {
        s.warmup_ns = c.profile == Profile::Quick ? 20'000'000 : 100'000'000;
        s.budget_ns = int64_t(c.seconds * 1e9);
        s.min_count = w == Workload::Frames ? 20 : 2000;
        s.max_count = w == Workload::Frames ? 1'000'000 : 20'000'000;
    }
    return s;
}

const char* workload_name(Workload w) { return w == Workload::Frames ? "frames" : "small"; }

// One case's rounds.
struct Case {
    Workload workload;
    std::string mechanism;
    int subscribers;
    uint32_t take;  // small: Spec::take; frames: 1
    bool failed = false, unavailable = false;
    std::string note;
    std::vector<double> rate;                // frames/s per round (0: not measured)
    std::vector<double> cpu;                 // publisher CPU ns per frame per round
    std::vector<double> cost;                // small: ns per message per round
    std::vector<CpuSeen> seen;               // by process, summed over rounds
};

double median(std::vector<double> v) {
    v.erase(std::remove(v.begin(), v.end(), 0.0), v.end());
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// The median over rounds of a's figure over b's in the same round.
double paired(const std::vector<double>& a, const std::vector<double>& b) {
    std::vector<double> r;
    for (size_t i = 0; i < a.size() && i < b.size(); i++) {
        if (a[i] > 0 && b[i] > 0) r.push_back(a[i] / b[i]);
    }
    return median(r);
}

std::string fixed(double v, int decimals) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

class Bench {
public:
    explicit Bench(const Config& c) : c_(c) {}

    int run() {
        std::vector<std::unique_ptr<Mechanism>> mechanisms;
        if (!select(&mechanisms)) return 2;
        const std::string load_before = load_average();
        std::map<std::string, std::string> unavailable;
        for (auto& m : mechanisms) unavailable[m->name()] = m->unavailable_reason(group_, c_.profile == Profile::Smoke);
        for (Workload w : c_.workloads) {
            const std::vector<uint32_t> takes = w == Workload::Small ? c_.takes : std::vector<uint32_t>{1};
            for (uint32_t take : takes) {
                for (int n : c_.subscribers) {
                    for (auto& m : mechanisms) {
                        if (!m->runs(w)) continue;
                        Case k{w, m->name(), n, take, false, false, unavailable[m->name()], {}, {}, {}, {}};
                        k.unavailable = !k.note.empty();
                        k.seen.resize(size_t(n) + 1);
                        cases_.push_back(std::move(k));
                        owners_.push_back(m.get());
                    }
                }
            }
        }
        for (int round = 1; round <= c_.rounds; round++) {
            for (size_t i = 0; i < cases_.size(); i++) run_case(round, i);
        }
        print_header(load_before);
        for (Workload w : c_.workloads) {
            if (w == Workload::Frames) print_frames();
            else print_small();
        }
        print_placement();
        if (c_.profile != Profile::Smoke) print_targets();
        std::fflush(stdout);
        bool failed = false;
        for (const Case& k : cases_) failed |= k.failed;
        if (failed) std::fprintf(stderr, "hsipc_pubsub_bench: some cases FAILED (see above)\n");
        return failed ? 1 : 0;
    }

private:
    bool select(std::vector<std::unique_ptr<Mechanism>>* out) {
        for (auto& m : all_mechanisms()) {
            bool wanted = c_.mechanisms.empty();
            for (const std::string& name : c_.mechanisms) wanted |= name == m->name();
            if (wanted) out->push_back(std::move(m));
        }
        for (const std::string& name : c_.mechanisms) {
            bool known = false;
            for (auto& m : *out) known |= name == m->name();
            if (!known) {
                std::fprintf(stderr, "hsipc_pubsub_bench: unknown mechanism '%s' (see --list)\n", name.c_str());
                return false;
            }
        }
        return true;
    }

    void run_case(int round, size_t index) {
        Case& k = cases_[index];
        k.rate.push_back(0);
        k.cpu.push_back(0);
        k.cost.push_back(0);
        std::string what;
        const int64_t began = now_ns();
        if (k.unavailable || k.failed) {
            what = k.unavailable ? "skipped: " + k.note : "not run: failed before";
        } else {
            Spec s = make_spec(c_, k.workload, k.subscribers, k.take);
            s.tag = "hsipc_pubsub_bench." + std::to_string(getpid()) + "." + std::to_string(index) + "." +
                    std::to_string(round);
            const Outcome o = group_.run(*owners_[index], s);
            if (o.status == Outcome::Unavailable) {
                k.unavailable = true;
                k.note = o.note;
                what = "skipped: " + o.note;
            } else if (o.status == Outcome::Failed) {
                k.failed = true;
                k.note = o.note;
                what = "FAILED: " + o.note;
            } else {
                record(k, s, o, &what);
            }
        }
        std::fprintf(stderr, "[round %d/%d, %2zu/%zu] %-6s %-13s %d sub%s  %s (%.2f s)\n", round, c_.rounds, index + 1,
                     cases_.size(), workload_name(k.workload), k.mechanism.c_str(), k.subscribers,
                     k.workload == Workload::Small ? (k.take == 1 ? ", each" : ", batches") : "", what.c_str(),
                     double(now_ns() - began) / 1e9);
    }

    void record(Case& k, const Spec& s, const Outcome& o, std::string* what) {
        for (size_t p = 0; p < k.seen.size(); p++) {
            const CpuSeen& from = p == 0 ? o.publisher.cpus : o.subscribers[p - 1].cpus;
            for (int cpu = 0; cpu < kMaxCpus; cpu++) k.seen[p].count[cpu] += from.count[cpu];
        }
        if (s.workload == Workload::Small) {
            k.cost.back() = o.publisher.ns_per_message;
            *what = fixed(o.publisher.ns_per_message, 1) + " ns per message";
            return;
        }
        // From the first subscriber at the start frame to the last one done
        // with the last frame.
        int64_t first = INT64_MAX, last = 0;
        uint64_t frames = 0;
        for (const SubscriberResult& r : o.subscribers) {
            first = std::min(first, r.t_start);
            last = std::max(last, r.t_end);
            frames = r.count;
        }
        if (last > first && frames > 0) k.rate.back() = double(frames) * 1e9 / double(last - first);
        if (o.publisher.count > 0) k.cpu.back() = double(o.publisher.cpu_ns) / double(o.publisher.count);
        *what = grouped(uint64_t(k.rate.back())) + " frames/s, publisher CPU " + fixed(k.cpu.back() / 1e3, 1) +
                " us per frame";
    }

    const Case* find(Workload w, const std::string& m, int n, uint32_t take = 1) const {
        for (const Case& k : cases_) {
            if (k.workload == w && k.mechanism == m && k.subscribers == n && k.take == take) return &k;
        }
        return nullptr;
    }
    static bool measured(const Case* k) { return k && !k->failed && !k->unavailable; }
    Placement placement(Workload w) const { return w == Workload::Frames ? c_.frames_placement : c_.small_placement; }

    void print_header(const std::string& load_before) {
        const uint32_t v = hsipc_version();
        std::printf("## hsipc publish/subscribe\n\n");
        std::printf("- machine: %s, %d CPUs online, %s\n", cpu_model().c_str(), online_cpus(), kernel().c_str());
        std::printf("- hsipc %u.%u.%u\n", v >> 16, (v >> 8) & 0xff, v & 0xff);
        for (Workload w : c_.workloads) {
            std::printf("- placement, %s: ", workload_name(w));
            for (size_t i = 0; i < c_.subscribers.size(); i++) {
                std::printf("%s%d subscriber%s: %s", i ? "; " : "", c_.subscribers[i],
                            c_.subscribers[i] > 1 ? "s" : "", group_.describe(c_.subscribers[i], placement(w)).c_str());
            }
            std::printf("\n");
        }
        if (c_.profile == Profile::Smoke) {
            std::printf("- profile: smoke: one round of a few dozen messages per case, each checked\n");
        } else {
            std::printf("- profile: %d rounds of %.2f s measured per case, after a warm-up of at least %.2f s; "
                        "figures are medians over the rounds, ratios medians of the ratios within each round\n",
                        c_.rounds, c_.seconds, c_.profile == Profile::Quick ? 0.02 : 0.1);
        }
        std::printf("- load average (1 min) before / after the run: %s / %s\n\n", load_before.c_str(),
                    load_average().c_str());
    }

    void print_frames() {
        std::printf("### Frames: %s, written once, read in full by every subscriber\n\n", format_size(c_.size).c_str());
        std::printf(
            "The publisher writes every byte of each frame once (hsipc-send: once per subscriber) and hands it over; "
            "every subscriber reads every byte in place (sums and checks them) and gives the frame back. %u frames in "
            "flight at most, for every mechanism. A process with nothing to do yields its CPU. \"frames/s\": frames "
            "every subscriber got, from the first subscriber at the first measured frame to the last one done with "
            "the last. \"publisher CPU\": the publisher's thread CPU time per frame, writing and handing it over "
            "(allocation or loan included, waits for room excluded). \"GB/s read\": frames/s × subscribers × "
            "size.\n\n",
            c_.depth);
        std::printf("| subscribers | mechanism | frames/s | range over rounds | vs raw | vs iceoryx | GB/s read | "
                    "publisher CPU per frame |\n|---:|---|---:|---:|---:|---:|---:|---:|\n");
        for (int n : c_.subscribers) {
            const Case* raw = find(Workload::Frames, kRaw, n);
            const Case* iox = find(Workload::Frames, kIceoryx, n);
            for (const Case& k : cases_) {
                if (k.workload != Workload::Frames || k.subscribers != n) continue;
                if (!measured(&k)) {
                    std::printf("| %d | %s | %s | | | | | |\n", n, k.mechanism.c_str(),
                                k.failed ? "**FAILED**" : ("skipped: " + k.note).c_str());
                    continue;
                }
                const double rate = median(k.rate);
                std::vector<double> r(k.rate);
                r.erase(std::remove(r.begin(), r.end(), 0.0), r.end());
                const auto [lo, hi] = std::minmax_element(r.begin(), r.end());
                const std::string vs_raw = measured(raw) ? times(paired(k.rate, raw->rate)) : "";
                const std::string vs_iox = measured(iox) ? times(paired(k.rate, iox->rate)) : "";
                std::printf("| %d | %s | %s | %s–%s | %s | %s | %s | %s µs |\n", n, k.mechanism.c_str(),
                            grouped(uint64_t(rate)).c_str(), grouped(uint64_t(*lo)).c_str(),
                            grouped(uint64_t(*hi)).c_str(), vs_raw.c_str(), vs_iox.c_str(),
                            fixed(rate * n * double(c_.size) / 1e9, 1).c_str(), fixed(median(k.cpu) / 1e3, 1).c_str());
            }
        }
        std::printf("\n");
        print_notes(Workload::Frames);
    }

    static std::string take_name(uint32_t take) {
        return take == 1 ? "each (hsipc_poll)" : "batches of ≤ " + std::to_string(take) + " (hsipc_poll_batch)";
    }

    void print_small() {
        std::printf("### Small messages: 64 B, subscribers polling\n\n");
        std::printf(
            "Subscribers poll with timeout 0 and spin between looks (no system call), read and check each message "
            "and release it; they take each message as it lands (hsipc_poll) or batches (hsipc_poll_batch, "
            "lingering up to 50 µs for a full batch, which keeps them a batch behind the publisher). The publisher "
            "allocates and writes %u messages, then times handing all of them over; the median over those batches "
            "is a round's figure. hsipc-publish: one hsipc_publish per message; hsipc-send: one "
            "hsipc_send_offset per subscriber and message (each its own buffer). At most %u messages in flight. "
            "\"vs sends\": hsipc-publish's time over hsipc-send's for as many subscribers.\n\n",
            16u, c_.small_depth);
        std::printf("| subscribers take | subscribers | mechanism | ns per message | range over rounds | added per "
                    "subscriber beyond the first | vs sends |\n|---|---:|---|---:|---:|---:|---:|\n");
        for (const Case& k : cases_) {
            if (k.workload != Workload::Small) continue;
            const std::string take = take_name(k.take);
            if (!measured(&k)) {
                std::printf("| %s | %d | %s | %s | | | |\n", take.c_str(), k.subscribers, k.mechanism.c_str(),
                            k.failed ? "**FAILED**" : ("skipped: " + k.note).c_str());
                continue;
            }
            const double cost = median(k.cost);
            std::vector<double> r(k.cost);
            r.erase(std::remove(r.begin(), r.end(), 0.0), r.end());
            const auto [lo, hi] = std::minmax_element(r.begin(), r.end());
            const Case* one = find(Workload::Small, k.mechanism, 1, k.take);
            std::string added;
            if (k.subscribers > 1 && measured(one)) {
                added = fixed((cost - median(one->cost)) / (k.subscribers - 1), 1) + " ns";
            }
            const Case* sends = find(Workload::Small, kSend, k.subscribers, k.take);
            const std::string vs = k.mechanism == kPublish && measured(sends) ? times(paired(k.cost, sends->cost)) : "";
            std::printf("| %s | %d | %s | %s | %s–%s | %s | %s |\n", take.c_str(), k.subscribers, k.mechanism.c_str(),
                        fixed(cost, 1).c_str(), fixed(*lo, 1).c_str(), fixed(*hi, 1).c_str(), added.c_str(),
                        vs.c_str());
        }
        std::printf("\n");
        print_notes(Workload::Small);
    }

    void print_notes(Workload w) {
        for (const Case& k : cases_) {
            if (k.workload == w && k.failed) {
                std::printf("- %s, %d subscribers: %s\n", k.mechanism.c_str(), k.subscribers, k.note.c_str());
            }
        }
    }

    // Where each process was seen running (sched_getcpu, sampled once per
    // frame or per batch), against where it was pinned.
    void print_placement() {
        std::printf("### CPU placement\n\n");
        std::vector<std::string> odd;
        for (const Case& k : cases_) {
            if (!measured(&k)) continue;
            for (size_t p = 0; p < k.seen.size(); p++) {
                uint64_t total = 0;
                for (uint32_t n : k.seen[p].count) total += n;
                if (total == 0) continue;
                std::string where;
                bool as_pinned = true;
                for (int cpu = 0; cpu < kMaxCpus; cpu++) {
                    const uint32_t n = k.seen[p].count[cpu];
                    if (n == 0) continue;
                    as_pinned &= cpu == group_.cpu_of(int(p), placement(k.workload));
                    where += (where.empty() ? "" : ", ") + ("CPU " + std::to_string(cpu)) + " " +
                             fixed(100.0 * n / double(total), 0) + "%";
                }
                if (!as_pinned) {
                    odd.push_back(std::string(workload_name(k.workload)) + " " + k.mechanism + " " +
                                  std::to_string(k.subscribers) + " sub, " +
                                  (p == 0 ? "publisher" : "subscriber " + std::to_string(p)) + ": " + where);
                }
            }
        }
        if (group_.cpu_of(0, c_.frames_placement) >= 0 || group_.cpu_of(0, c_.small_placement) >= 0) {
            std::printf("Pinned with sched_setaffinity as in the header; every sample of sched_getcpu (each process, "
                        "every frame or batch) %s.\n\n",
                        odd.empty() ? "agreed" : "agreed except");
        } else {
            std::printf("Not pinned; where sched_getcpu found each process (every frame or batch):\n\n");
        }
        for (const std::string& s : odd) std::printf("- %s\n", s.c_str());
        if (!odd.empty()) std::printf("\n");
    }

    void print_targets() {
        std::printf("### Targets\n\n| target | measured | |\n|---|---|---|\n");
        int met = 0, missed = 0, unmeasured = 0;
        auto row = [&](const std::string& target, bool have, bool ok, const std::string& text) {
            if (!have) {
                unmeasured++;
                std::printf("| %s | — | n/a (not measured) |\n", target.c_str());
                return;
            }
            (ok ? met : missed)++;
            std::printf("| %s | %s | %s |\n", target.c_str(), text.c_str(), ok ? "met" : "**not met**");
        };
        const int most = c_.subscribers.back();
        const std::string frames = format_size(c_.size) + " frames, " + std::to_string(most) + " subscribers";
        const Case* pub = find(Workload::Frames, kPublish, most);
        const Case* raw = find(Workload::Frames, kRaw, most);
        const Case* iox = find(Workload::Frames, kIceoryx, most);
        if (measured(pub) && measured(raw)) {
            const double r = paired(pub->rate, raw->rate);
            row(frames + ": hsipc-publish ≥ 0.8× raw frames/s", true, r >= 0.8,
                fixed(r, 3) + "× (" + grouped(uint64_t(median(pub->rate))) + " vs " +
                    grouped(uint64_t(median(raw->rate))) + " frames/s)");
        } else {
            row(frames + ": hsipc-publish ≥ 0.8× raw frames/s", false, false, "");
        }
        if (measured(pub) && measured(iox)) {
            const double r = paired(pub->rate, iox->rate);
            row(frames + ": hsipc-publish ≥ iceoryx frames/s", true, r >= 1.0,
                fixed(r, 3) + "× (" + grouped(uint64_t(median(pub->rate))) + " vs " +
                    grouped(uint64_t(median(iox->rate))) + " frames/s)");
        } else {
            row(frames + ": hsipc-publish ≥ iceoryx frames/s", false, false, iox ? iox->note : "");
        }
        const Case* pub1 = find(Workload::Frames, kPublish, c_.subscribers.front());
        if (measured(pub) && measured(pub1) && pub != pub1) {
            const double r = median(pub->cpu) / median(pub1->cpu);
            row("publisher CPU per frame independent of the subscriber count (" + std::to_string(most) + " vs " +
                    std::to_string(c_.subscribers.front()) + ": within ±10%)",
                true, r <= 1.1 && r >= 0.9,
                fixed(r, 3) + "× (" + fixed(median(pub->cpu) / 1e3, 1) + " vs " + fixed(median(pub1->cpu) / 1e3, 1) +
                    " µs)");
        } else {
            row("publisher CPU per frame independent of the subscriber count", false, false, "");
        }
        // Subscribers taking batches, where there are: the way to receive a
        // stream, and the one where the publisher's figure is its own work
        // rather than whether a subscriber fights it for a cache line.
        const uint32_t take = std::find(c_.takes.begin(), c_.takes.end(), kBatchTake) != c_.takes.end()
                                  ? kBatchTake
                                  : c_.takes.front();
        const Case* small1 = find(Workload::Small, kPublish, c_.subscribers.front(), take);
        const Case* small = find(Workload::Small, kPublish, most, take);
        const Case* send1 = find(Workload::Small, kSend, 1, take);
        const std::string growth = "64 B publish, subscribers taking " + take_name(take) +
                                   ": each added subscriber costs at most one point-to-point send";
        if (measured(small1) && measured(small) && measured(send1) && small != small1) {
            const double added = (median(small->cost) - median(small1->cost)) / (most - c_.subscribers.front());
            const double send = median(send1->cost);
            row(growth, true, added <= send,
                fixed(added, 1) + " ns per added subscriber (publish " + fixed(median(small1->cost), 1) + " → " +
                    fixed(median(small->cost), 1) + " ns); one send " + fixed(send, 1) + " ns");
        } else {
            row(growth, false, false, "");
        }
        std::printf("\n%d met, %d not met, %d not measured. (0 system calls while publishing and polling: "
                    "tests/syscall_test.cc, Syscalls.PublishedMessagesPolledMakeNoSystemCalls.)\n",
                    met, missed, unmeasured);
    }

    const Config& c_;
    Group group_;
    std::vector<Case> cases_;
    std::vector<Mechanism*> owners_;
};

}  // namespace
}  // namespace bench::pubsub

int main(int argc, char** argv) {
    using namespace bench::pubsub;
    Config c;
    const int status = parse(argc, argv, &c);
    if (status >= 0) return status;
    if (c.list) {
        for (auto& m : all_mechanisms()) std::printf("%-14s %s\n", m->name(), m->description());
        return 0;
    }
    signal(SIGPIPE, SIG_IGN);
    try {
        Bench bench(c);
        return bench.run();
    } catch (const bench::Interrupted& i) {
        std::fprintf(stderr, "hsipc_pubsub_bench: interrupted by %s; children stopped, shared objects removed\n",
                     strsignal(i.signal));
        return 128 + i.signal;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "hsipc_pubsub_bench: %s\n", e.what());
        return 1;
    }
}
