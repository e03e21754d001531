// SPDX-License-Identifier: MIT
// Buffer pools: smallest fit, fall-through, exhaustion, and bad releases.
#include "pool.h"

#include <set>
#include <thread>
#include <vector>

#include "test_util.h"

namespace {

using hsipc_test::ScopedName;
using hsipc_test::small_config;

class Pool : public ::testing::Test {
protected:
    void SetUp() override {
        hsipc_config cfg = small_config(4, 2);
        ASSERT_OK(hsipc_attach(name_.c_str(), &cfg, &r_));
    }
    void TearDown() override { hsipc_detach(r_); }
    ScopedName name_{"pool"};
    hsipc_region* r_ = nullptr;
};

TEST_F(Pool, SmallestPoolThatFitsServesFirst) {
    hsipc_off off;
    ASSERT_OK(hsipc_alloc(r_, 64, &off));
    EXPECT_EQ(64u, hsipc_capacity(r_, off));
    hsipc_off big;
    ASSERT_OK(hsipc_alloc(r_, 65, &big));
    EXPECT_EQ(4096u, hsipc_capacity(r_, big));
    EXPECT_OK(hsipc_release(r_, off));
    EXPECT_OK(hsipc_release(r_, big));
}

TEST_F(Pool, LargerPoolServesWhenSmallerIsExhausted) {
    std::vector<hsipc_off> offs;
    for (int i = 0; i < 6; i++) {
        hsipc_off off;
        ASSERT_OK(hsipc_alloc(r_, 1, &off));
        EXPECT_EQ(i < 4 ? 64u : 4096u, hsipc_capacity(r_, off)) << i;
        offs.push_back(off);
    }
    hsipc_off off = 12345;
    EXPECT_STATUS(HSIPC_ENOMEM, hsipc_alloc(r_, 1, &off));
    EXPECT_EQ(12345u, off);  // unchanged on failure
    EXPECT_OK(hsipc_release(r_, offs[0]));
    ASSERT_OK(hsipc_alloc(r_, 1, &off));
    EXPECT_EQ(offs[0], off);
    for (hsipc_off o : offs) EXPECT_OK(hsipc_release(r_, o));
}

TEST_F(Pool, OffsetsAreDistinctNonZeroAndWritable) {
    std::set<hsipc_off> seen;
    hsipc_off off;
    while (hsipc_alloc(r_, 1, &off) == HSIPC_OK) {
        EXPECT_NE(0u, off);
        EXPECT_TRUE(seen.insert(off).second);
        char* p = static_cast<char*>(hsipc_ptr(r_, off));
        ASSERT_NE(nullptr, p);
        std::fill(p, p + hsipc_capacity(r_, off), char(seen.size()));
    }
    EXPECT_EQ(6u, seen.size());
    for (hsipc_off o : seen) {
        char* p = static_cast<char*>(hsipc_ptr(r_, o));
        EXPECT_EQ(p[0], p[hsipc_capacity(r_, o) - 1]);  // no neighbour wrote over it
        EXPECT_OK(hsipc_release(r_, o));
    }
}

TEST_F(Pool, SizeLimits) {
    hsipc_off off;
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_alloc(r_, 0, &off));
    EXPECT_STATUS(HSIPC_ETOOBIG, hsipc_alloc(r_, 4097, &off));
    ASSERT_OK(hsipc_alloc(r_, 4096, &off));
    EXPECT_OK(hsipc_release(r_, off));
}

TEST_F(Pool, BadReleasesChangeNothing) {
    hsipc_off off;
    ASSERT_OK(hsipc_alloc(r_, 1, &off));
    const int free_now = hsipc_test::count_free_buffers(r_, 1);
    EXPECT_STATUS(HSIPC_EBADOFF, hsipc_release(r_, 0));
    EXPECT_STATUS(HSIPC_EBADOFF, hsipc_release(r_, off + 1));        // inside a buffer
    EXPECT_STATUS(HSIPC_EBADOFF, hsipc_release(r_, off + 64 * 100));  // past the pool
    EXPECT_STATUS(HSIPC_EBADOFF, hsipc_release(r_, ~0ull));
    EXPECT_STATUS(HSIPC_EBADOFF, hsipc_release(r_, 4096));  // the process table
    EXPECT_EQ(free_now, hsipc_test::count_free_buffers(r_, 1));
    EXPECT_OK(hsipc_release(r_, off));
    EXPECT_STATUS(HSIPC_EBADOFF, hsipc_release(r_, off));  // double release
    EXPECT_EQ(free_now + 1, hsipc_test::count_free_buffers(r_, 1));
    EXPECT_EQ(nullptr, hsipc_ptr(r_, off));
    EXPECT_EQ(0u, hsipc_capacity(r_, off));
}

TEST_F(Pool, AnotherProcessCannotReleaseOrTouchOurBuffer) {
    hsipc_off off;
    ASSERT_OK(hsipc_alloc(r_, 1, &off));
    std::string name = name_.c_str();
    pid_t child = hsipc_test::fork_child([&] {
        hsipc_region* c;
        if (hsipc_attach(name.c_str(), nullptr, &c) != HSIPC_OK) return 1;
        int rc = 0;
        if (hsipc_release(c, off) != HSIPC_EBADOFF) rc = 2;
        if (hsipc_ptr(c, off) != nullptr) rc = 3;
        if (hsipc_capacity(c, off) != 0) rc = 4;
        hsipc_detach(c);
        return rc;
    });
    EXPECT_EQ(0, hsipc_test::wait_child(child));
    EXPECT_NE(nullptr, hsipc_ptr(r_, off));
    EXPECT_OK(hsipc_release(r_, off));
}

TEST(PoolThreads, ConcurrentAllocAndReleaseNeverShareABuffer) {
    ScopedName name("pool-threads");
    hsipc_config cfg = small_config(64, 8);
    hsipc_region* r;
    ASSERT_OK(hsipc_attach(name.c_str(), &cfg, &r));
    std::atomic<int> errors{0};
    auto worker = [&](int id) {
        for (int round = 0; round < 20000; round++) {
            hsipc_off off;
            int rc = hsipc_alloc(r, 8, &off);
            if (rc == HSIPC_ENOMEM) continue;
            if (rc != HSIPC_OK) {
                errors++;
                continue;
            }
            auto* p = static_cast<volatile int*>(hsipc_ptr(r, off));
            *p = id;
            for (int spin = 0; spin < 10; spin++) {
                if (*p != id) errors++;  // someone else got the same buffer
            }
            if (hsipc_release(r, off) != HSIPC_OK) errors++;
        }
    };
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; t++) threads.emplace_back(worker, t);
    for (auto& t : threads) t.join();
    EXPECT_EQ(0, errors.load());
    EXPECT_EQ(72, hsipc_test::count_free_buffers(r, 1));
    EXPECT_OK(hsipc_detach(r));
}

TEST(PoolOffsets, DecodeOnlyExactBufferStarts) {
    ScopedName name("pool-decode");
    hsipc_config cfg = small_config(3, 2);
    hsipc_region* h;
    ASSERT_OK(hsipc_attach(name.c_str(), &cfg, &h));
    const hsipc::Layout& l = reinterpret_cast<hsipc::Region*>(h)->layout;
    for (uint32_t i = 0; i < l.total_buffers; i++) {
        uint32_t back;
        ASSERT_TRUE(hsipc::buffer_at_offset(l, hsipc::buffer_offset(l, i), &back));
        EXPECT_EQ(i, back);
        EXPECT_FALSE(hsipc::buffer_at_offset(l, hsipc::buffer_offset(l, i) + 8, &back));
    }
    uint32_t index;
    EXPECT_FALSE(hsipc::buffer_at_offset(l, l.total_size, &index));
    EXPECT_EQ(0u, hsipc::buffer_capacity(l, l.total_buffers));
    EXPECT_OK(hsipc_detach(h));
}

}  // namespace

namespace {

TEST(PoolQuota, GreedyProcessIsBoundedAndOthersStillAllocate) {
    hsipc_test::ScopedName name("pool-quota");
    hsipc_config cfg = hsipc_test::small_config(8, 2);
    cfg.max_buffers_per_process = 3;
    hsipc_region* r;
    ASSERT_OK(hsipc_attach(name.c_str(), &cfg, &r));
    hsipc_endpoint* ep;
    ASSERT_OK(hsipc_endpoint_open(r, "rx", &ep));
    std::vector<hsipc_off> held(3);
    for (auto& off : held) ASSERT_OK(hsipc_alloc(r, 1, &off));
    hsipc_off extra;
    EXPECT_STATUS(HSIPC_ENOMEM, hsipc_alloc(r, 1, &extra));
    // Sending one away frees a share; receiving it back takes it again.
    ASSERT_OK(hsipc_send_offset(ep, hsipc_endpoint_id(ep), held[0], 1));
    ASSERT_OK(hsipc_alloc(r, 1, &extra));
    hsipc_msg msg;
    ASSERT_OK(hsipc_poll(ep, &msg, 0));  // receiving is never refused
    hsipc_off none;
    EXPECT_STATUS(HSIPC_ENOMEM, hsipc_alloc(r, 1, &none));
    ASSERT_OK(hsipc_release(r, msg.off));
    ASSERT_OK(hsipc_release(r, extra));
    ASSERT_OK(hsipc_alloc(r, 1, &extra));
    // Another process has its own share of what is left.
    std::string region = name.c_str();
    pid_t child = hsipc_test::fork_child([&] {
        hsipc_region* c;
        if (hsipc_attach(region.c_str(), nullptr, &c)) return 1;
        hsipc_off off;
        for (int i = 0; i < 3; i++) {
            if (hsipc_alloc(c, 1, &off)) return 2;
        }
        return hsipc_alloc(c, 1, &off) == HSIPC_ENOMEM ? 0 : 3;
    });
    EXPECT_EQ(0, hsipc_test::wait_child(child));
    hsipc_config got;
    hsipc_config_init(&got);
    ASSERT_OK(hsipc_region_config(r, &got));
    EXPECT_EQ(3u, got.max_buffers_per_process);
    EXPECT_OK(hsipc_detach(r));
}

TEST(PoolQuota, QuotaBeyondTheBufferCountIsInvalid) {
    hsipc_test::ScopedName name("pool-quota-bad");
    hsipc_config cfg = hsipc_test::small_config(8, 2);
    cfg.max_buffers_per_process = 11;
    hsipc_region* r;
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_attach(name.c_str(), &cfg, &r));
    cfg.max_buffers_per_process = 10;
    ASSERT_OK(hsipc_attach(name.c_str(), &cfg, &r));
    EXPECT_OK(hsipc_detach(r));
}

}  // namespace
