// SPDX-License-Identifier: MIT
#include "report.h"

#include <sys/stat.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <set>
#include <utility>

#include "util.h"

namespace bench {
namespace {

// mechanism / reference, as "×" text; "" when either is missing.
std::string ratio_text(double mine, double reference) {
    if (mine <= 0 || reference <= 0) return "";
    return times(mine / reference);
}

std::string cell_for_failure(const CaseRecord& c) {
    return c.outcome.status == CaseOutcome::Unavailable ? "n/a" : "**FAILED**";
}

void print_round_trips(FILE* out, const Results& r) {
    std::fprintf(out,
                 "### Round trip latency (ns)\n\n"
                 "Ping writes n bytes and sends them; pong reads the n bytes and replies with n bytes it "
                 "wrote; ping reads them. \"vs raw\" and \"vs hsipc\" are p50 divided by raw's and "
                 "hsipc-polling's p50 (1.00× = as fast; higher = slower).\n\n"
                 "| size | mechanism | p50 | p99 | p99.9 | p50 vs raw | p50 vs hsipc | round trips |\n"
                 "|---:|---|---:|---:|---:|---:|---:|---:|\n");
    for (size_t size : r.sizes) {
        for (const std::string& m : r.mechanisms) {
            const CaseRecord* c = r.find(m, Mode::RoundTrip, size);
            if (!c) continue;
            const std::string label = format_size(size);
            if (!c->ok()) {
                const std::string x = cell_for_failure(*c);
                std::fprintf(out, "| %s | %s | %s | | | | | |\n", label.c_str(), m.c_str(), x.c_str());
                continue;
            }
            const LatencySummary& l = c->latency();
            const double p50 = double(l.p50);
            std::fprintf(out, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", label.c_str(), m.c_str(),
                         grouped(l.p50).c_str(), grouped(l.p99).c_str(), grouped(l.p999).c_str(),
                         ratio_text(p50, r.figure(kRaw, Mode::RoundTrip, size)).c_str(),
                         ratio_text(p50, r.figure(kHsipc, Mode::RoundTrip, size)).c_str(),
                         grouped(c->samples()).c_str());
        }
    }
    std::fputc('\n', out);
}

void print_streams(FILE* out, const Results& r) {
    std::fprintf(out,
                 "### One-way streaming throughput\n\n"
                 "The producer writes and sends n-byte messages as fast as the mechanism takes them; the "
                 "consumer reads every byte; nothing is acknowledged. MB = 10^6 bytes. \"vs raw\" and "
                 "\"vs hsipc\" are messages/s divided by raw's and hsipc-polling's (1.00× = as fast; "
                 "lower = slower).\n\n"
                 "| size | mechanism | messages/s | MB/s | vs raw | vs hsipc | messages |\n"
                 "|---:|---|---:|---:|---:|---:|---:|\n");
    for (size_t size : r.sizes) {
        for (const std::string& m : r.mechanisms) {
            const CaseRecord* c = r.find(m, Mode::Stream, size);
            if (!c) continue;
            const std::string label = format_size(size);
            if (!c->ok()) {
                const std::string x = cell_for_failure(*c);
                std::fprintf(out, "| %s | %s | %s | | | | |\n", label.c_str(), m.c_str(), x.c_str());
                continue;
            }
            const double rate = c->msgs_per_s();
            std::fprintf(out, "| %s | %s | %s | %s | %s | %s | %s |\n", label.c_str(), m.c_str(),
                         grouped(uint64_t(std::llround(rate))).c_str(),
                         grouped(uint64_t(std::llround(c->mb_per_s()))).c_str(),
                         ratio_text(rate, r.figure(kRaw, Mode::Stream, size)).c_str(),
                         ratio_text(rate, r.figure(kHsipc, Mode::Stream, size)).c_str(),
                         grouped(c->samples()).c_str());
        }
    }
    std::fputc('\n', out);
}

// One line per distinct reason, so a mechanism missing everywhere takes one line.
void print_notes(FILE* out, const Results& r) {
    std::set<std::pair<std::string, std::string>> seen;
    bool header = false;
    for (const CaseRecord& c : r.cases) {
        if (c.ok()) continue;
        const bool failed = c.outcome.status == CaseOutcome::Failed;
        // Failures name their case; unavailability is usually the mechanism's.
        const std::string who =
            failed ? c.mechanism + " " + mode_name(c.mode) + " " + format_size(c.size) : c.mechanism;
        if (!seen.insert({who, c.outcome.note}).second) continue;
        if (!header) std::fprintf(out, "Not measured:\n\n");
        header = true;
        std::fprintf(out, "- %s%s: %s\n", who.c_str(), failed ? " FAILED" : " n/a", c.outcome.note.c_str());
    }
    if (header) std::fputc('\n', out);
}

std::string csv_quote(const std::string& s) {
    std::string q = "\"";
    for (char ch : s) {
        if (ch == '"') q += '"';
        q += ch;
    }
    return q + "\"";
}

// Empty where the reference did not run.
std::string csv_ratio(double mine, double reference) {
    if (mine <= 0 || reference <= 0) return "";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4f", mine / reference);
    return buf;
}

const char* status_name(CaseOutcome::Status s) {
    switch (s) {
        case CaseOutcome::Ok: return "ok";
        case CaseOutcome::Unavailable: return "n/a";
        default: return "failed";
    }
}

}  // namespace

std::string grouped(uint64_t v) {
    std::string digits = std::to_string(v), out;
    for (size_t i = 0; i < digits.size(); i++) {
        if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return out;
}

std::string times(double ratio) {
    char buf[32];
    const char* fmt = ratio >= 100 ? "%.0f×" : ratio >= 10 ? "%.1f×" : ratio >= 0.1 ? "%.2f×" : "%.3f×";
    std::snprintf(buf, sizeof buf, fmt, ratio);
    return buf;
}

void print_tables(FILE* out, const Results& r) {
    for (Mode m : r.modes) {
        if (m == Mode::RoundTrip) print_round_trips(out, r);
        else print_streams(out, r);
    }
    print_notes(out, r);
}

bool make_parent_dirs(const std::string& path, std::string* error) {
    for (size_t slash = path.find('/', 1); slash != std::string::npos; slash = path.find('/', slash + 1)) {
        const std::string dir = path.substr(0, slash);
        if (mkdir(dir.c_str(), 0777) != 0 && errno != EEXIST) {
            *error = "mkdir " + dir + ": " + std::strerror(errno);
            return false;
        }
    }
    return true;
}

bool write_csv(const std::string& path, const Results& r, std::string* error) {
    if (!make_parent_dirs(path, error)) return false;
    FILE* f = std::fopen(path.c_str(), "w");
    if (!f) {
        *error = path + ": " + std::strerror(errno);
        return false;
    }
    std::fprintf(f,
                 "mechanism,mode,size_bytes,status,rounds,count,p50_ns,p99_ns,p999_ns,min_ns,max_ns,mean_ns,"
                 "msgs_per_s,mb_per_s,vs_raw,vs_hsipc_polling,note\n");
    for (const CaseRecord& c : r.cases) {
        std::fprintf(f, "%s,%s,%zu,%s,%d,", c.mechanism.c_str(), mode_name(c.mode), c.size,
                     status_name(c.outcome.status), c.rounds);
        if (c.ok() && c.mode == Mode::RoundTrip) {
            const LatencySummary& l = c.latency();
            std::fprintf(f, "%llu,%llu,%llu,%llu,%llu,%llu,%.1f,,,%s,%s,", (unsigned long long)c.samples(),
                         (unsigned long long)l.p50, (unsigned long long)l.p99, (unsigned long long)l.p999,
                         (unsigned long long)l.min, (unsigned long long)l.max, l.mean,
                         csv_ratio(double(l.p50), r.figure(kRaw, c.mode, c.size)).c_str(),
                         csv_ratio(double(l.p50), r.figure(kHsipc, c.mode, c.size)).c_str());
        } else if (c.ok()) {
            std::fprintf(f, "%llu,,,,,,,%.1f,%.2f,%s,%s,", (unsigned long long)c.samples(), c.msgs_per_s(),
                         c.mb_per_s(), csv_ratio(c.msgs_per_s(), r.figure(kRaw, c.mode, c.size)).c_str(),
                         csv_ratio(c.msgs_per_s(), r.figure(kHsipc, c.mode, c.size)).c_str());
        } else {
            std::fprintf(f, ",,,,,,,,,,,");
        }
        std::fprintf(f, "%s\n", csv_quote(c.outcome.note).c_str());
    }
    if (std::fclose(f) != 0) {
        *error = path + ": " + std::strerror(errno);
        return false;
    }
    return true;
}

}  // namespace bench
