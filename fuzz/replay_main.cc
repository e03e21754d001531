// SPDX-License-Identifier: MIT
// The regression driver: a main() for a fuzz target built without libFuzzer
// (any compiler), which feeds it every file of the directories (or the
// files) named on the command line, in name order, once each.
//
//   fuzz_replay_X [--optional=DIR] PATH...
//
// A PATH that does not exist is an error; an --optional one is skipped, so
// CTest can name fuzz/regressions/X/ before it has any files. A failing
// input ends the run the way it ends a fuzzer: abort() or a sanitizer
// report, after the "replaying FILE" line that names it.
#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);

namespace {

bool is_directory(const std::string& path, bool* exists) {
    struct stat st;
    *exists = stat(path.c_str(), &st) == 0;
    return *exists && S_ISDIR(st.st_mode);
}

// The regular files directly in `dir`, sorted; false if it cannot be read.
bool list_files(const std::string& dir, std::vector<std::string>* out) {
    DIR* d = opendir(dir.c_str());
    if (!d) return false;
    std::vector<std::string> files;
    while (const dirent* e = readdir(d)) {
        if (e->d_name[0] == '.') continue;  // ., .., and hidden files such as .gitkeep
        std::string path = dir + "/" + e->d_name;
        bool exists;
        if (!is_directory(path, &exists) && exists) files.push_back(path);
    }
    closedir(d);
    std::sort(files.begin(), files.end());
    out->insert(out->end(), files.begin(), files.end());
    return true;
}

bool read_file(const std::string& path, std::vector<uint8_t>* out) {
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) return false;
    out->clear();
    uint8_t chunk[65536];
    size_t n;
    while ((n = std::fread(chunk, 1, sizeof chunk, f)) > 0) out->insert(out->end(), chunk, chunk + n);
    bool ok = !std::ferror(f);
    std::fclose(f);
    return ok;
}

}  // namespace

int main(int argc, char** argv) {
    if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
    std::vector<std::string> inputs;
    for (int i = 1; i < argc; i++) {
        std::string arg = argv[i];
        const std::string optional_flag = "--optional=";
        const bool optional = arg.compare(0, optional_flag.size(), optional_flag) == 0;
        if (optional) arg = arg.substr(optional_flag.size());
        bool exists;
        if (is_directory(arg, &exists)) {
            if (!list_files(arg, &inputs)) {
                std::fprintf(stderr, "%s: cannot read directory %s\n", argv[0], arg.c_str());
                return 2;
            }
        } else if (exists) {
            inputs.push_back(arg);
        } else if (!optional) {
            std::fprintf(stderr, "%s: no such file or directory: %s\n", argv[0], arg.c_str());
            return 2;
        }
    }
    std::vector<uint8_t> data;
    for (const std::string& path : inputs) {
        if (!read_file(path, &data)) {
            std::fprintf(stderr, "%s: cannot read %s\n", argv[0], path.c_str());
            return 2;
        }
        std::fprintf(stderr, "replaying %s (%zu bytes)\n", path.c_str(), data.size());
        // A copy of exactly the input's size, so reading past its end is
        // caught by AddressSanitizer as it is under libFuzzer; never NULL,
        // as libFuzzer never passes NULL either.
        std::unique_ptr<uint8_t[]> exact(new uint8_t[data.size() + (data.empty() ? 1 : 0)]);
        if (!data.empty()) std::memcpy(exact.get(), data.data(), data.size());
        LLVMFuzzerTestOneInput(exact.get(), data.size());
    }
    std::printf("%s: replayed %zu inputs\n", argv[0], inputs.size());
    return 0;
}
