// SPDX-License-Identifier: MIT
// A buggy peer writes random bytes anywhere past the header of a live
// region, while another process holds buffers and has messages queued.
// Every call must still return a status: no crash, no hang, and no pointer
// outside the mapping. Runs in a child so a crash shows as a failure, not
// the end of the test program.
#include <fcntl.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <random>

#include "region.h"
#include "test_util.h"

namespace {

using hsipc_test::ScopedName;

constexpr int kRounds = 3000;

bool valid_status(int rc) { return rc <= 0 && rc >= HSIPC_ESYS; }

// Drives every call once; returns the number of contract violations.
int drive_every_call(hsipc_region* r, std::mt19937& rng) {
    const auto& region = *reinterpret_cast<hsipc::Region*>(r);
    const uint8_t* lo = region.base;
    const uint8_t* hi = region.base + region.size;
    auto inside = [&](const void* p, uint64_t n) {
        auto* b = static_cast<const uint8_t*>(p);
        return b >= lo && b + n <= hi;
    };
    int bad = 0;
    hsipc_endpoint* ep = nullptr;
    int rc = hsipc_endpoint_open(r, "scribbled", &ep);
    bad += !valid_status(rc);
    hsipc_off off = 0;
    rc = hsipc_alloc(r, 1 + rng() % 5000, &off);
    bad += !valid_status(rc);
    if (rc == HSIPC_OK) {
        void* p = hsipc_ptr(r, off);
        size_t cap = hsipc_capacity(r, off);
        bad += p != nullptr && !inside(p, cap);
        if (ep) {
            hsipc_id to = 0;
            if (hsipc_lookup(r, "victim", &to) != HSIPC_OK) to = rng();
            rc = hsipc_send_offset(ep, to, off, 1);
            bad += !valid_status(rc);
            if (rc != HSIPC_OK) bad += !valid_status(hsipc_release(r, off));
        } else {
            bad += !valid_status(hsipc_release(r, off));
        }
    }
    bad += !valid_status(hsipc_release(r, rng() % region.size));
    if (ep) {
        for (int i = 0; i < 8; i++) {
            hsipc_msg msg;
            rc = hsipc_poll(ep, &msg, 0);
            bad += !valid_status(rc);
            if (rc == HSIPC_OK) {
                bad += !inside(msg.data, msg.length);
                hsipc_release(r, msg.off);
            }
        }
        hsipc_msg batch[4];
        size_t taken = 0;
        rc = hsipc_poll_batch(ep, batch, 4, 0, 10'000, &taken);
        bad += !valid_status(rc);
        if (rc == HSIPC_OK) {
            bad += taken < 1 || taken > 4;
            for (size_t i = 0; i < taken && i < 4; i++) {
                bad += !inside(batch[i].data, batch[i].length);
                hsipc_release(r, batch[i].off);
            }
        }
        bad += !valid_status(hsipc_endpoint_close(ep));
    }
    hsipc_id id;
    bad += !valid_status(hsipc_lookup(r, "victim", &id));
    int reaped = hsipc_reap(r);
    bad += reaped < HSIPC_ESYS;
    hsipc_pool_stats ps;
    ps.struct_size = sizeof ps;
    bad += !valid_status(hsipc_region_pool_stats(r, 0, &ps));
    for (uint32_t slot = 0; slot < 8; slot++) {
        hsipc_endpoint_info info;
        info.struct_size = sizeof info;
        rc = hsipc_region_endpoint_info(r, slot, &info);
        bad += !valid_status(rc);
        if (rc == HSIPC_OK) bad += info.name[HSIPC_NAME_MAX] != '\0';
    }
    return bad;
}

TEST(Scribble, RandomWritesPastTheHeaderNeverCrashHangOrEscape) {
    ScopedName name("scribble");
    hsipc_config cfg = hsipc_test::small_config(16, 4, 8, 8);
    hsipc_region* r;
    ASSERT_OK(hsipc_attach(name.c_str(), &cfg, &r));
    std::string region_name = name.c_str();
    int ready[2];
    ASSERT_EQ(0, pipe(ready));
    // The other process: holds buffers, has messages queued to it and
    // queued by it, and stays alive throughout.
    pid_t victim = hsipc_test::fork_child([&] {
        hsipc_region* c;
        hsipc_endpoint* ep;
        if (hsipc_attach(region_name.c_str(), nullptr, &c) || hsipc_endpoint_open(c, "victim", &ep)) return 1;
        hsipc_off off;
        for (int i = 0; i < 3; i++) {
            if (hsipc_alloc(c, 8, &off)) return 2;
        }
        for (int i = 0; i < 3; i++) {
            if (hsipc_alloc(c, 8, &off) || hsipc_send_offset(ep, hsipc_endpoint_id(ep), off, 8)) return 3;
        }
        (void)!write(ready[1], "r", 1);
        pause();
        return 0;
    });
    char byte;
    ASSERT_EQ(1, read(ready[0], &byte, 1));
    const size_t size = reinterpret_cast<hsipc::Region*>(r)->size;

    pid_t scribbler = hsipc_test::fork_child([&] {
        hsipc_region* s;
        if (hsipc_attach(region_name.c_str(), nullptr, &s)) return 100;
        int fd = open(name.path().c_str(), O_RDWR);
        auto* raw = static_cast<uint8_t*>(mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
        if (raw == MAP_FAILED) return 101;
        std::mt19937 rng(20261126);
        int violations = 0;
        for (int round = 0; round < kRounds; round++) {
            const int writes = 1 + rng() % 32;
            for (int w = 0; w < writes; w++) {
                // Past the header page; often into the tables and rings,
                // where the damage matters, sometimes anywhere.
                size_t at = 4096 + (rng() % 4 ? rng() % 65536 : rng() % (size - 4096 - 8));
                at = std::min(at, size - 8);
                uint64_t value = rng() % 3 ? uint64_t(rng()) << 32 | rng() : rng() % 64;
                std::memcpy(raw + at, &value, 1 + rng() % 8);
            }
            violations += drive_every_call(s, rng);
        }
        munmap(raw, size);
        close(fd);
        hsipc_detach(s);
        std::fprintf(stderr, "scribble: %d rounds, %d violations\n", kRounds, violations);
        return violations == 0 ? 0 : 1;
    });
    EXPECT_EQ(0, hsipc_test::wait_child(scribbler, 120)) << "1: a call broke the contract; 128+n: signal n; -1: hang";
    kill(victim, SIGKILL);
    waitpid(victim, nullptr, 0);
    close(ready[0]);
    close(ready[1]);
    hsipc_detach(r);
}

}  // namespace
