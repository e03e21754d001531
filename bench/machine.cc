// SPDX-License-Identifier: MIT
#include "machine.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <fstream>

namespace bench {

std::string cpu_model() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("model name", 0) == 0) {
            const size_t colon = line.find(':');
            if (colon != std::string::npos) return line.substr(line.find_first_not_of(" \t", colon + 1));
        }
    }
    return "unknown CPU";
}

std::string kernel() {
    utsname u;
    return uname(&u) == 0 ? std::string(u.sysname) + " " + u.release : "unknown kernel";
}

std::string load_average() {
    std::ifstream in("/proc/loadavg");
    std::string one;
    return in >> one ? one : "?";
}

int online_cpus() {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? int(n) : 1;
}

}  // namespace bench
