// SPDX-License-Identifier: MIT
// What the results came from, printed above them.
#pragma once

#include <string>

namespace bench {

std::string cpu_model();  // "model name" from /proc/cpuinfo
std::string kernel();     // uname -r
int online_cpus();
std::string load_average();  // the 1-minute figure of /proc/loadavg

}  // namespace bench
