// SPDX-License-Identifier: MIT
// Shared by the fuzz targets: reading an input piece by piece, region names
// that vanish from /dev/shm even when a target crashes, regions and dead
// peers to fuzz, and failing loudly.
//
// The targets reach into the core (hsipc::Region, hsipc::Endpoint) to find
// the tables they scribble on and to reset private state between inputs, so
// that every input starts from the same region and a crash reproduces.
#pragma once

#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <vector>

#include "hsipc.h"
#include "region.h"

namespace fuzz {

// The fuzz input, consumed front to back; past its end every read is 0, so
// a truncated input is still a valid (shorter) program.
class Input {
public:
    Input(const uint8_t* data, size_t size) : data_(data), size_(size) {}
    bool empty() const { return size_ == 0; }
    uint8_t u8() {
        if (size_ == 0) return 0;
        size_--;
        return *data_++;
    }
    uint64_t le(unsigned bytes) {  // little-endian, `bytes` <= 8
        uint64_t v = 0;
        for (unsigned i = 0; i < bytes; i++) v |= uint64_t(u8()) << (8 * i);
        return v;
    }
    uint16_t u16() { return uint16_t(le(2)); }
    uint32_t u32() { return uint32_t(le(4)); }
    uint64_t u64() { return le(8); }

private:
    const uint8_t* data_;
    size_t size_;
};

// Builds inputs for the seed corpus, in the layout Input reads.
class Seed {
public:
    Seed& u8(uint64_t v) { return le(v, 1); }
    Seed& u16(uint64_t v) { return le(v, 2); }
    Seed& u32(uint64_t v) { return le(v, 4); }
    Seed& u64(uint64_t v) { return le(v, 8); }
    Seed& le(uint64_t v, unsigned bytes) {
        for (unsigned i = 0; i < bytes; i++) bytes_.push_back(uint8_t(v >> (8 * i)));
        return *this;
    }
    Seed& raw(const void* p, size_t n) {
        const auto* b = static_cast<const uint8_t*>(p);
        bytes_.insert(bytes_.end(), b, b + n);
        return *this;
    }
    const std::vector<uint8_t>& bytes() const { return bytes_; }

private:
    std::vector<uint8_t> bytes_;
};

// Prints "fuzz: <message>" to stderr and aborts, so libFuzzer saves the
// input; region names registered below are removed by the watchdog.
[[noreturn]] void fail(const char* format, ...) __attribute__((format(printf, 1, 2)));

#define FUZZ_CHECK(cond, ...)                                                   \
    do {                                                                        \
        if (!(cond)) ::fuzz::fail("%s:%d: check failed: %s: %s", __FILE__, __LINE__, #cond, \
                                  ::fuzz::format(__VA_ARGS__).c_str());         \
    } while (0)

std::string format(const char* format, ...) __attribute__((format(printf, 1, 2)));
std::string vformat(const char* format, va_list ap);

// "HSIPC_EINVAL" and so on; "status 42" for anything else.
std::string status_name(int status);

// Fails unless `rc` is one of `allowed` (the "Errors:" list of the call).
void expect_status(int rc, std::initializer_list<int> allowed, const char* call);

// A region name no other process uses ("fz-<pid>-<n>-<tag>"), registered
// for removal: at exit, and by a watchdog process (started on first use)
// when this process dies any other way — a sanitizer report, abort(), a
// libFuzzer timeout or a signal. Start the watchdog before any thread.
std::string unique_region_name(const char* tag);

// Attaches, creating the region from cfg; fails on any error.
hsipc_region* attach_or_die(const std::string& name, const hsipc_config& cfg);

// A second, independent mapping of the object /dev/shm/hsipc.NAME, as a
// peer process has. fd stays open (for ftruncate) unless closed.
struct Mapping {
    int fd = -1;
    uint8_t* base = nullptr;
    uint64_t size = 0;
};
Mapping map_object(const std::string& name);

// Runs body in a forked child that then leaves with _exit and without
// detaching, so the region keeps what a crashed process leaves: a live
// process slot whose kernel lock is gone, its endpoints and buffers. body
// returns 0 on success; anything else fails the setup.
void run_dead_peer(const std::function<int()>& body);

inline hsipc::Region* core(hsipc_region* r) { return reinterpret_cast<hsipc::Region*>(r); }
inline hsipc::Endpoint* core(hsipc_endpoint* ep) { return reinterpret_cast<hsipc::Endpoint*>(ep); }

// Whether [p, p + len) lies inside r's mapping.
bool in_mapping(hsipc_region* r, const void* p, uint64_t len);

// Where HSIPC_FUZZ_WRITE_SEEDS is set, LLVMFuzzerInitialize writes the
// crafted seed inputs there (see README.md) and exits.
const char* seed_dir();
void write_seed(const char* dir, const std::string& file, const std::vector<uint8_t>& bytes);

}  // namespace fuzz
