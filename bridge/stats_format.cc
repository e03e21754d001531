// SPDX-License-Identifier: MIT
#include "stats_format.h"

#include <cstdio>

namespace hsipc_bridge {

namespace {

// A JSON string. The names shown are validated ones ([A-Za-z0-9._-]), but
// quoting everything costs nothing and keeps the output JSON whatever
// comes in.
std::string quoted(const std::string& s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += char(c);
        } else if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
        } else {
            out += char(c);
        }
    }
    return out + "\"";
}

}  // namespace

std::vector<Stat> named_stats(const Counters& c, const Gauges& g) {
    std::vector<Stat> out;
    visit_stats(c, g, [&](const char* name, uint64_t value, bool sparse) { out.push_back({name, value, sparse}); });
    return out;
}

std::string stats_line(const std::string& host, const std::vector<Stat>& stats) {
    std::string s = "hsipc-bridge[" + host + "]: stats";
    for (const Stat& st : stats) {
        if (st.sparse && st.value == 0) continue;
        s += " " + st.name + "=" + std::to_string(st.value);
    }
    return s;
}

std::string stats_json(const StatsSnapshot& snapshot, bool running) {
    std::string s = "{\"region\":" + quoted(snapshot.region) + ",\"host\":" + quoted(snapshot.host) +
                    ",\"running\":" + (running ? "true" : "false") + ",\"pid\":" + std::to_string(snapshot.pid) +
                    ",\"started_unix_s\":" + std::to_string(snapshot.started_unix_ns / 1000000000) + ",\"stats\":{";
    for (size_t i = 0; i < snapshot.stats.size(); i++) {
        if (i) s += ",";
        s += quoted(snapshot.stats[i].name) + ":" + std::to_string(snapshot.stats[i].value);
    }
    return s + "}}";
}

}  // namespace hsipc_bridge
