// SPDX-License-Identifier: MIT
// Introspection: pool counts, endpoint info, and attaching without creating.
#include "stats.h"

#include <sys/stat.h>

#include <cstring>

#include "test_util.h"

namespace {

using hsipc_test::ScopedName;

hsipc_pool_stats pool_stats(hsipc_region* r, uint32_t pool) {
    hsipc_pool_stats s;
    std::memset(&s, 0xee, sizeof s);
    s.struct_size = sizeof s;
    EXPECT_OK(hsipc_region_pool_stats(r, pool, &s));
    return s;
}

TEST(Stats, PoolCountsFollowHoldersQueuesAndFrees) {
    ScopedName name("stats-pools");
    hsipc_config cfg = hsipc_test::small_config(6, 2);
    hsipc_region* r;
    ASSERT_OK(hsipc_attach(name.c_str(), &cfg, &r));
    hsipc_endpoint* ep;
    ASSERT_OK(hsipc_endpoint_open(r, "rx", &ep));
    hsipc_off a, b;
    ASSERT_OK(hsipc_alloc(r, 1, &a));
    ASSERT_OK(hsipc_alloc(r, 1, &b));
    ASSERT_OK(hsipc_send_offset(ep, hsipc_endpoint_id(ep), b, 1));
    hsipc_pool_stats s = pool_stats(r, 0);
    EXPECT_EQ(64u, s.buffer_size);
    EXPECT_EQ(6u, s.buffer_count);
    EXPECT_EQ(4u, s.free_count);
    EXPECT_EQ(1u, s.held_count);
    EXPECT_EQ(1u, s.queued_count);
    EXPECT_EQ(0u, s.reserved);
    hsipc_pool_stats big = pool_stats(r, 1);
    EXPECT_EQ(4096u, big.buffer_size);
    EXPECT_EQ(2u, big.free_count);
    EXPECT_OK(hsipc_release(r, a));
    hsipc_msg msg;
    ASSERT_OK(hsipc_poll(ep, &msg, 0));
    s = pool_stats(r, 0);
    EXPECT_EQ(5u, s.free_count);
    EXPECT_EQ(1u, s.held_count);
    EXPECT_EQ(0u, s.queued_count);
    EXPECT_OK(hsipc_detach(r));
}

TEST(Stats, PoolStatsRejectsBadArguments) {
    ScopedName name("stats-args");
    hsipc_config cfg = hsipc_test::small_config();
    hsipc_region* r;
    ASSERT_OK(hsipc_attach(name.c_str(), &cfg, &r));
    hsipc_pool_stats s;
    s.struct_size = sizeof s;
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_region_pool_stats(r, 2, &s));  // only two pools
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_region_pool_stats(nullptr, 0, &s));
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_region_pool_stats(r, 0, nullptr));
    s.struct_size = 8;
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_region_pool_stats(r, 0, &s));
    hsipc_endpoint_info info;
    info.struct_size = sizeof info;
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_region_endpoint_info(r, 8, &info));  // max_endpoints 8
    EXPECT_STATUS(HSIPC_ENOENT, hsipc_region_endpoint_info(r, 0, &info));
    info.struct_size = 0;
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_region_endpoint_info(r, 0, &info));
    EXPECT_OK(hsipc_detach(r));
}

TEST(Stats, EndpointInfoNamesOwnerLivenessAndQueue) {
    ScopedName name("stats-endpoints");
    hsipc_config cfg = hsipc_test::small_config();
    hsipc_region* r;
    ASSERT_OK(hsipc_attach(name.c_str(), &cfg, &r));
    hsipc_endpoint* mine;
    ASSERT_OK(hsipc_endpoint_open(r, "mine", &mine));
    int ready[2];
    ASSERT_EQ(0, pipe(ready));
    std::string region = name.c_str();
    pid_t child = hsipc_test::fork_child([&] {
        hsipc_region* c;
        hsipc_endpoint* ep;
        if (hsipc_attach(region.c_str(), nullptr, &c) || hsipc_endpoint_open(c, "theirs", &ep)) return 1;
        (void)!write(ready[1], "r", 1);
        pause();
        return 0;
    });
    char byte;
    ASSERT_EQ(1, read(ready[0], &byte, 1));
    hsipc_id theirs;
    ASSERT_OK(hsipc_lookup(r, "theirs", &theirs));
    for (int i = 0; i < 3; i++) {
        hsipc_off off;
        ASSERT_OK(hsipc_alloc(r, 1, &off));
        ASSERT_OK(hsipc_send_offset(mine, theirs, off, 1));
    }
    int found = 0;
    for (uint32_t slot = 0; slot < 8; slot++) {
        hsipc_endpoint_info info;
        info.struct_size = sizeof info;
        int rc = hsipc_region_endpoint_info(r, slot, &info);
        if (rc == HSIPC_ENOENT) continue;
        ASSERT_OK(rc);
        found++;
        EXPECT_EQ(1u, info.owner_alive);
        if (std::strcmp(info.name, "theirs") == 0) {
            EXPECT_EQ(theirs, info.id);
            EXPECT_EQ(child, info.owner_pid);
            EXPECT_EQ(3u, info.queued);
        } else {
            EXPECT_STREQ("mine", info.name);
            EXPECT_EQ(hsipc_endpoint_id(mine), info.id);
            EXPECT_EQ(getpid(), info.owner_pid);
            EXPECT_EQ(0u, info.queued);
        }
    }
    EXPECT_EQ(2, found);
    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
    // Dead but not yet reaped: reported as not alive.
    hsipc_endpoint_info info;
    info.struct_size = sizeof info;
    bool saw_dead = false;
    for (uint32_t slot = 0; slot < 8; slot++) {
        if (hsipc_region_endpoint_info(r, slot, &info) == HSIPC_OK && std::strcmp(info.name, "theirs") == 0) {
            EXPECT_EQ(0u, info.owner_alive);
            saw_dead = true;
        }
    }
    EXPECT_TRUE(saw_dead);
    close(ready[0]);
    close(ready[1]);
    EXPECT_OK(hsipc_detach(r));
}

TEST(Stats, AttachExistingNeverCreates) {
    ScopedName name("stats-existing");
    hsipc_region* r = nullptr;
    EXPECT_STATUS(HSIPC_ENOENT, hsipc_attach_existing(name.c_str(), &r));
    EXPECT_EQ(nullptr, r);
    struct stat st;
    EXPECT_NE(0, stat(name.path().c_str(), &st));
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_attach_existing("bad/name", &r));
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_attach_existing(name.c_str(), nullptr));
    hsipc_config cfg = hsipc_test::small_config();
    hsipc_region* creator;
    ASSERT_OK(hsipc_attach(name.c_str(), &cfg, &creator));
    ASSERT_OK(hsipc_attach_existing(name.c_str(), &r));
    hsipc_config got;
    hsipc_config_init(&got);
    ASSERT_OK(hsipc_region_config(r, &got));
    EXPECT_EQ(cfg.pools[0].buffer_count, got.pools[0].buffer_count);
    EXPECT_OK(hsipc_detach(r));
    EXPECT_OK(hsipc_detach(creator));
}

}  // namespace
