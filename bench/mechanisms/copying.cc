// SPDX-License-Identifier: MIT
#include "copying.h"

#include <cstdio>

namespace bench {

long read_proc_long(const char* path, long fallback) {
    FILE* f = std::fopen(path, "r");
    if (!f) return fallback;
    long v;
    const bool ok = std::fscanf(f, "%ld", &v) == 1;
    std::fclose(f);
    return ok && v > 0 ? v : fallback;
}

}  // namespace bench
