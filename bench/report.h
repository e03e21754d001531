// SPDX-License-Identifier: MIT
// The results as Markdown tables (stdout) and as CSV.
#pragma once

#include <cstdio>
#include <string>

#include "results.h"

namespace bench {

void print_tables(FILE* out, const Results& r);

// Writes the CSV, creating its directory. False with *error on failure.
bool write_csv(const std::string& path, const Results& r, std::string* error);

// Makes the directory that will hold `path` (like mkdir -p).
bool make_parent_dirs(const std::string& path, std::string* error);

// "1,234,567"
std::string grouped(uint64_t v);
// "1.53×"
std::string times(double ratio);

}  // namespace bench
