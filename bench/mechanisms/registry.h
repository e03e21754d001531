// SPDX-License-Identifier: MIT
// One factory per mechanism file; mechanisms.cc lists them in table order.
#pragma once

#include <memory>

#include "../mechanism.h"

namespace bench {

std::unique_ptr<Mechanism> make_raw();
std::unique_ptr<Mechanism> make_hsipc(bool blocking);
std::unique_ptr<Mechanism> make_pipe();
std::unique_ptr<Mechanism> make_unix_socket();
std::unique_ptr<Mechanism> make_posix_mq();
std::unique_ptr<Mechanism> make_sysv_msg();
std::unique_ptr<Mechanism> make_iceoryx();   // a "not installed" stand-in without iceoryx
std::unique_ptr<Mechanism> make_boost_mq();  // a "not installed" stand-in without Boost

// A mechanism this build cannot run: every case is "n/a" with `reason`.
std::unique_ptr<Mechanism> make_missing(const char* name, const char* description, const char* reason);

}  // namespace bench
