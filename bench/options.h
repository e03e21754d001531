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
    double seconds = 0;                   // measured time per case
    uint64_t iterations = 0;              // most measured messages per case
    uint64_t min_iterations = 0;          // fewest, even past `seconds`
    double warmup_seconds = 0;
    int64_t warmup = -1;  // fixed unmeasured messages; -1: twice the pool (every buffer touched)
    std::string out_dir = "bench-results";
    std::string csv, plot;  // default: in out_dir, except with --smoke
    bool no_plot = false;
    bool list = false;
};

// Parses argv into *o. Returns 0 to go on, or an exit status (after --help
// or an error, which it has printed).
int parse_options(int argc, char** argv, Options* o);

// The case description for one mechanism-independent case.
CaseSpec make_spec(const Options& o, Mode mode, size_t size);

}  // namespace bench
