// SPDX-License-Identifier: MIT
// Every case's outcome, and the figures derived from it.
#pragma once

#include <string>
#include <vector>

#include "runner.h"
#include "spec.h"

namespace bench {

struct CaseRecord {
    std::string mechanism;
    Mode mode;
    size_t size;
    CaseOutcome outcome;  // the best round so far (see add_round)
    int rounds = 0;

    bool ok() const { return outcome.status == CaseOutcome::Ok; }
    const LatencySummary& latency() const { return outcome.ping.latency; }  // round trip
    uint64_t samples() const;             // round trips timed, or messages counted
    double msgs_per_s() const;            // streaming
    double mb_per_s() const;              // streaming, 10^6 bytes

    // Folds in one more round of this case. Other work on the machine can
    // only slow a case down, so the best round is kept: the lowest p50, or
    // the highest rate. A failure in any round makes the case failed.
    void add_round(const CaseOutcome& o);
};

struct Results {
    std::vector<std::string> mechanisms;  // table order
    std::vector<size_t> sizes;
    std::vector<Mode> modes;
    std::vector<CaseRecord> cases;

    const CaseRecord* find(const std::string& mechanism, Mode mode, size_t size) const;
    // The figure that compares mechanisms: round-trip p50 in ns, or streaming
    // messages per second; 0 when the case did not run successfully.
    double figure(const std::string& mechanism, Mode mode, size_t size) const;
    bool any_failed() const;
};

// The mechanisms everything is compared with.
constexpr const char* kRaw = "raw";
constexpr const char* kHsipc = "hsipc-polling";

}  // namespace bench
