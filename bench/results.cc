// SPDX-License-Identifier: MIT
#include "results.h"

namespace bench {

uint64_t CaseRecord::samples() const { return mode == Mode::RoundTrip ? outcome.ping.count : outcome.pong.count; }

double CaseRecord::msgs_per_s() const {
    const SideResult& c = outcome.pong;
    return c.elapsed_ns > 0 ? double(c.count) * 1e9 / double(c.elapsed_ns) : 0;
}

double CaseRecord::mb_per_s() const { return msgs_per_s() * double(size) / 1e6; }

void CaseRecord::add_round(const CaseOutcome& o) {
    const bool first = rounds++ == 0;
    if (first || outcome.status == CaseOutcome::Unavailable) {
        outcome = o;
        return;
    }
    if (outcome.status == CaseOutcome::Failed) return;  // the first failure stays reported
    if (o.status != CaseOutcome::Ok) {
        if (o.status == CaseOutcome::Failed) outcome = o;
        return;
    }
    CaseRecord candidate = *this;
    candidate.outcome = o;
    const bool better = mode == Mode::RoundTrip ? o.ping.latency.p50 < outcome.ping.latency.p50
                                                : candidate.msgs_per_s() > msgs_per_s();
    if (better) outcome = o;
}

const CaseRecord* Results::find(const std::string& mechanism, Mode mode, size_t size) const {
    for (const CaseRecord& c : cases) {
        if (c.mechanism == mechanism && c.mode == mode && c.size == size) return &c;
    }
    return nullptr;
}

double Results::figure(const std::string& mechanism, Mode mode, size_t size) const {
    const CaseRecord* c = find(mechanism, mode, size);
    if (!c || !c->ok()) return 0;
    return mode == Mode::RoundTrip ? double(c->latency().p50) : c->msgs_per_s();
}

bool Results::any_failed() const {
    for (const CaseRecord& c : cases) {
        if (c.outcome.status == CaseOutcome::Failed) return true;
    }
    return false;
}

}  // namespace bench
