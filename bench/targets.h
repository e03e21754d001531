// SPDX-License-Identifier: MIT
// The performance targets of hsipc (docs/performance.md, "Targets"),
// checked against this run's results.
#pragma once

#include <cstdio>

#include "results.h"

namespace bench {

// Prints a Markdown table: target, measured, met / not met / n/a.
void print_targets(FILE* out, const Results& r);

}  // namespace bench
