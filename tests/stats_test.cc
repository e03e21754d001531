// SPDX-License-Identifier: MIT
// Introspection: pool counts, endpoint and topic info, and attaching without creating.
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
    EXPECT_EQ(0u, s.shared_count);
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

// A published buffer is one buffer, counted as shared from the publish
// until the last subscriber lets go, whether its references are queued or
// received; never as queued or held (which would count it once per
// subscriber, or hide that it is out).
TEST(Stats, PublishedBuffersCountAsSharedUntilTheLastRelease) {
    ScopedName name("stats-shared");
    hsipc_config cfg = hsipc_test::small_config(6, 2);
    hsipc_region* r;
    ASSERT_OK(hsipc_attach(name.c_str(), &cfg, &r));
    hsipc_endpoint *pub, *a, *b;
    ASSERT_OK(hsipc_endpoint_open(r, "pub", &pub));
    ASSERT_OK(hsipc_endpoint_open(r, "a", &a));
    ASSERT_OK(hsipc_endpoint_open(r, "b", &b));
    ASSERT_OK(hsipc_subscribe(a, "t"));
    ASSERT_OK(hsipc_subscribe(b, "t"));
    hsipc_id topic;
    ASSERT_OK(hsipc_topic_open(r, "t", &topic));
    hsipc_off off;
    ASSERT_OK(hsipc_alloc(r, 1, &off));
    uint32_t delivered;
    ASSERT_OK(hsipc_publish(pub, topic, off, 1, &delivered, nullptr));
    ASSERT_EQ(2u, delivered);
    hsipc_pool_stats s = pool_stats(r, 0);
    EXPECT_EQ(5u, s.free_count);
    EXPECT_EQ(0u, s.held_count);
    EXPECT_EQ(0u, s.queued_count);
    EXPECT_EQ(1u, s.shared_count);
    hsipc_msg msg;
    ASSERT_OK(hsipc_poll(a, &msg, 0));  // one reference received, one queued
    EXPECT_EQ(1u, pool_stats(r, 0).shared_count);
    EXPECT_OK(hsipc_release(r, msg.off));
    EXPECT_EQ(1u, pool_stats(r, 0).shared_count);
    ASSERT_OK(hsipc_endpoint_close(b));  // the last reference, dropped by the close
    s = pool_stats(r, 0);
    EXPECT_EQ(6u, s.free_count);
    EXPECT_EQ(0u, s.shared_count);
    EXPECT_OK(hsipc_detach(r));
}

TEST(Stats, TopicInfoListsOpenSubscribers) {
    ScopedName name("stats-topics");
    hsipc_config cfg = hsipc_test::small_config();
    cfg.max_topics = 3;
    cfg.max_subscribers = 4;
    hsipc_region* r;
    ASSERT_OK(hsipc_attach(name.c_str(), &cfg, &r));
    hsipc_endpoint *a, *b, *c;
    ASSERT_OK(hsipc_endpoint_open(r, "a", &a));
    ASSERT_OK(hsipc_endpoint_open(r, "b", &b));
    ASSERT_OK(hsipc_endpoint_open(r, "c", &c));
    hsipc_id empty, frames;
    ASSERT_OK(hsipc_topic_open(r, "empty", &empty));
    for (hsipc_endpoint* ep : {a, b, c}) ASSERT_OK(hsipc_subscribe(ep, "frames"));
    ASSERT_OK(hsipc_topic_open(r, "frames", &frames));
    ASSERT_OK(hsipc_unsubscribe(b, "frames"));

    hsipc_topic_info info;
    std::memset(&info, 0xee, sizeof info);
    info.struct_size = sizeof info;
    ASSERT_OK(hsipc_region_topic_info(r, 0, &info));
    EXPECT_EQ(empty, info.id);
    EXPECT_STREQ("empty", info.name);
    EXPECT_EQ(0u, info.subscriber_count);
    ASSERT_OK(hsipc_region_topic_info(r, 1, &info));
    EXPECT_EQ(frames, info.id);
    EXPECT_STREQ("frames", info.name);
    ASSERT_EQ(2u, info.subscriber_count);
    EXPECT_EQ(hsipc_endpoint_id(a), info.subscribers[0]);
    EXPECT_EQ(hsipc_endpoint_id(c), info.subscribers[1]);
    EXPECT_EQ(0u, info.subscribers[2]) << "entries past the count are zero";
    ASSERT_OK(hsipc_endpoint_close(a));
    ASSERT_OK(hsipc_region_topic_info(r, 1, &info));
    ASSERT_EQ(1u, info.subscriber_count);
    EXPECT_EQ(hsipc_endpoint_id(c), info.subscribers[0]);

    const hsipc_topic_info before = info;
    EXPECT_STATUS(HSIPC_ENOENT, hsipc_region_topic_info(r, 2, &info));
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_region_topic_info(r, 3, &info));  // max_topics 3
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_region_topic_info(nullptr, 0, &info));
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_region_topic_info(r, 0, nullptr));
    info.struct_size = 8;
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_region_topic_info(r, 0, &info));
    info.struct_size = sizeof info;
    EXPECT_EQ(0, std::memcmp(&before, &info, sizeof info)) << "failures leave *out alone";
    EXPECT_OK(hsipc_detach(r));

    // A region without topics has no slot to ask about.
    ScopedName none("stats-notopics");
    cfg.max_topics = 0;
    ASSERT_OK(hsipc_attach(none.c_str(), &cfg, &r));
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_region_topic_info(r, 0, &info));
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
