// SPDX-License-Identifier: MIT
// Round-trip p50 against message size, log-log, one line per mechanism:
// a gnuplot script generated here and fed to gnuplot (Debian: gnuplot-nox).
#pragma once

#include <string>

#include "results.h"

namespace bench {

// Writes the PNG. Returns "" on success, or why there is no plot (gnuplot
// missing, nothing to plot, gnuplot failed).
std::string plot_latency(const std::string& png, const Results& r, const std::string& title);

}  // namespace bench
