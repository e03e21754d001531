// SPDX-License-Identifier: MIT
// GoogleTest's main, plus the entry point of re-executed children:
// `test-binary --child=NAME args...` runs the function registered as NAME
// (HSIPC_CHILD) in a fresh process and exits with its result.
#include <cstring>

#include "test_util.h"

namespace hsipc_test {
int run_registered_child(const std::string& name, const std::vector<std::string>& args);
}

int main(int argc, char** argv) {
    if (argc >= 2 && std::strncmp(argv[1], "--child=", 8) == 0) {
        std::vector<std::string> args(argv + 2, argv + argc);
        _exit(hsipc_test::run_registered_child(argv[1] + 8, args));
    }
    testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
