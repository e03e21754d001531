// SPDX-License-Identifier: MIT
// Command line of hsipc_bench.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "spec.h"

namespace bench {

enum class Profile { Full, Quick, Smoke };

struct Options {
    Profile profile = Profile::Full;
    std::vector<size_t> sizes;
    std::vector<Mode> modes = {Mode::RoundTrip, Mode::Stream};
    std::vector<std::string> mechanisms;  // empty: all
    int rounds = 1;                       // passes over all cases; each case reports its best
    double seconds = 0;                   // measured time per case and round
    uint64_t iterations = 0;              // most measured messages per case
    uint64_t min_iterations = 0;          // fewest, even past `seconds`
    double warmup_seconds = 0;
    double warmup_max_seconds = 0;  // the message count gives up after this
    int64_t warmup = -1;  // fixed unmeasured messages; -1: twice the pool (every buffer touched)
    std::string out_dir = "bench-results";
    std::string csv, plot;  // default: in out_dir, except with --smoke
    bool no_plot = false;
    bool list = false;
};

// Parses argv into *o and fills in the profile's defaults. Returns -1 to go
// on, or the status to exit with (0 after --help, 2 after an error, which it
// has printed).
int parse_options(int argc, char** argv, Options* o);

// The case description for one mechanism-independent case.
CaseSpec make_spec(const Options& o, Mode mode, size_t size);

}  // namespace bench
