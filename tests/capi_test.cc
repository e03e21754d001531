// SPDX-License-Identifier: MIT
// The C ABI as a contract: argument checks, status codes and sentences,
// versions, the public structs' layout, and "no out-parameter is written
// on failure".
#include <climits>
#include <cstddef>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "test_util.h"

namespace {

using hsipc_test::ScopedName;

// A region with two endpoints, detached at scope exit.
class Fixture {
public:
    explicit Fixture(const char* tag, hsipc_config cfg = hsipc_test::small_config()) : name_(tag) {
        status_ = hsipc_attach(name_.c_str(), &cfg, &r);
        if (status_ == HSIPC_OK) status_ = hsipc_endpoint_open(r, "a", &a);
        if (status_ == HSIPC_OK) status_ = hsipc_endpoint_open(r, "b", &b);
    }
    ~Fixture() {
        if (r) hsipc_detach(r);
    }
    int status() const { return status_; }
    const char* name() const { return name_.c_str(); }

    hsipc_region* r = nullptr;
    hsipc_endpoint* a = nullptr;
    hsipc_endpoint* b = nullptr;

private:
    ScopedName name_;
    int status_;
};

// ---- NULL arguments ---------------------------------------------------------------

TEST(CApiNull, EveryFunctionRefusesNull) {
    Fixture f("capinull");
    ASSERT_OK(f.status());
    hsipc_config cfg = hsipc_test::small_config();
    hsipc_region* r = nullptr;
    hsipc_endpoint* ep = nullptr;
    hsipc_id id = 0;
    hsipc_off off = 0;
    hsipc_msg msg;

    // Configuration.
    hsipc_config_init(nullptr);
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_config_load(nullptr, "/nonexistent"));
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_config_load(&cfg, nullptr));

    // Regions.
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_attach(nullptr, &cfg, &r));
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_attach(nullptr, nullptr, &r));
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_attach(f.name(), &cfg, nullptr));
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_attach(f.name(), nullptr, nullptr));
    {
        // NULL out for a region that does not exist yet: nothing is created.
        ScopedName fresh("capinullout");
        EXPECT_STATUS(HSIPC_EINVAL, hsipc_attach(fresh.c_str(), &cfg, nullptr));
        EXPECT_NE(0, access(fresh.path().c_str(), F_OK));
    }
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_detach(nullptr));
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_unlink(nullptr));
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_region_config(nullptr, &cfg));
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_region_config(f.r, nullptr));

    // Endpoints.
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_endpoint_open(nullptr, "x", &ep));
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_endpoint_open(f.r, nullptr, &ep));
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_endpoint_open(f.r, "x", nullptr));
    EXPECT_STATUS(HSIPC_ENOENT, hsipc_lookup(f.r, "x", &id));  // no endpoint "x" was left behind
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_endpoint_close(nullptr));
    EXPECT_EQ(0u, hsipc_endpoint_id(nullptr));
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_lookup(nullptr, "a", &id));
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_lookup(f.r, nullptr, &id));
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_lookup(f.r, "a", nullptr));

    // Buffers and messages.
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_alloc(nullptr, 8, &off));
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_alloc(f.r, 8, nullptr));
    ASSERT_OK(hsipc_alloc(f.r, 8, &off));
    EXPECT_EQ(nullptr, hsipc_ptr(nullptr, off));
    EXPECT_EQ(0u, hsipc_capacity(nullptr, off));
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_send_offset(nullptr, hsipc_endpoint_id(f.b), off, 8));
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_poll(nullptr, &msg, 0));
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_poll(f.b, nullptr, 0));
    EXPECT_STATUS(HSIPC_EAGAIN, hsipc_poll(f.b, &msg, 0));  // the refused send sent nothing
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_release(nullptr, off));
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_reap(nullptr));
    // Nothing above took the buffer away.
    EXPECT_NE(nullptr, hsipc_ptr(f.r, off));
    EXPECT_LE(8u, hsipc_capacity(f.r, off));
    EXPECT_OK(hsipc_release(f.r, off));
}

// ---- Status codes ------------------------------------------------------------------

TEST(CApiStatus, ValuesMatchContract) {
    EXPECT_EQ(0, HSIPC_OK);
    EXPECT_EQ(-1, HSIPC_EINVAL);
    EXPECT_EQ(-2, HSIPC_ENOENT);
    EXPECT_EQ(-3, HSIPC_EEXIST);
    EXPECT_EQ(-4, HSIPC_ENOMEM);
    EXPECT_EQ(-5, HSIPC_EFULL);
    EXPECT_EQ(-6, HSIPC_EAGAIN);
    EXPECT_EQ(-7, HSIPC_EBADOFF);
    EXPECT_EQ(-8, HSIPC_EPEER);
    EXPECT_EQ(-9, HSIPC_EVERSION);
    EXPECT_EQ(-10, HSIPC_ECORRUPT);
    EXPECT_EQ(-11, HSIPC_EPERM);
    EXPECT_EQ(-12, HSIPC_ETOOBIG);
    EXPECT_EQ(-13, HSIPC_ESYS);
    EXPECT_EQ(-14, HSIPC_EINTR);
}

TEST(CApiStatus, MapListsEveryCodeOnceInOrder) {
    struct Row {
        int code;
        int value;
        const char* name;
        const char* sentence;
    };
#define CAPI_TEST_ROW(name, value, sentence) {name, value, #name, sentence},
    const Row rows[] = {HSIPC_STATUS_MAP(CAPI_TEST_ROW)};
#undef CAPI_TEST_ROW
    ASSERT_EQ(15u, sizeof rows / sizeof rows[0]);
    for (size_t i = 0; i < 15; i++) {
        EXPECT_EQ(-int(i), rows[i].code) << rows[i].name;
        EXPECT_EQ(rows[i].code, rows[i].value) << rows[i].name;
        EXPECT_STREQ(rows[i].sentence, hsipc_strerror(rows[i].code)) << rows[i].name;
    }
}

TEST(CApiStatus, StrerrorDistinctForEveryCode) {
    std::set<std::string> sentences;
    for (int code = HSIPC_OK; code >= HSIPC_EINTR; code--) {
        const char* s = hsipc_strerror(code);
        ASSERT_NE(nullptr, s) << code;
        EXPECT_GT(std::strlen(s), 0u) << code;
        EXPECT_TRUE(sentences.insert(s).second) << "duplicate sentence for " << code << ": " << s;
        EXPECT_EQ(s, hsipc_strerror(code)) << "not a static string for " << code;
    }
    EXPECT_EQ(15u, sentences.size());
}

TEST(CApiStatus, StrerrorOfUnknownValues) {
    std::set<std::string> known;
    for (int code = HSIPC_OK; code >= HSIPC_EINTR; code--) known.insert(hsipc_strerror(code));
    for (int code : {1, 2, -15, -100, 1000, INT_MIN, INT_MAX, INT_MIN + 1}) {
        const char* s = hsipc_strerror(code);
        ASSERT_NE(nullptr, s) << code;
        EXPECT_GT(std::strlen(s), 0u) << code;
        EXPECT_EQ(0u, known.count(s)) << code << " reads as a known status: " << s;
    }
}

TEST(CApiStatus, SpecificSentences) {
    // The sentences are part of the header; spot-check a few.
    EXPECT_STREQ("success", hsipc_strerror(HSIPC_OK));
    EXPECT_STREQ("invalid argument", hsipc_strerror(HSIPC_EINVAL));
    EXPECT_STREQ("nothing arrived within the timeout", hsipc_strerror(HSIPC_EAGAIN));
}

// ---- Constants and version -------------------------------------------------------------

TEST(CApiConstants, Values) {
    EXPECT_EQ(-1, HSIPC_FOREVER);
    EXPECT_EQ(8, HSIPC_MAX_POOLS);
    EXPECT_EQ(63, HSIPC_NAME_MAX);
    EXPECT_EQ(8u, sizeof(hsipc_off));
    EXPECT_EQ(4u, sizeof(hsipc_id));
    EXPECT_TRUE(hsipc_off(-1) > 0) << "hsipc_off is unsigned";
    EXPECT_TRUE(hsipc_id(-1) > 0) << "hsipc_id is unsigned";
}

TEST(CApiVersion, MatchesHeader) {
    const uint32_t composed =
        (uint32_t(HSIPC_VERSION_MAJOR) << 16) | (uint32_t(HSIPC_VERSION_MINOR) << 8) | uint32_t(HSIPC_VERSION_PATCH);
    EXPECT_EQ(composed, uint32_t(HSIPC_VERSION));
    EXPECT_EQ(uint32_t(HSIPC_VERSION), hsipc_version());
    EXPECT_EQ(uint32_t(HSIPC_VERSION_MAJOR), hsipc_version() >> 16);
    EXPECT_EQ(uint32_t(HSIPC_VERSION_MINOR), (hsipc_version() >> 8) & 0xff);
    EXPECT_EQ(uint32_t(HSIPC_VERSION_PATCH), hsipc_version() & 0xff);
    EXPECT_LT(HSIPC_VERSION_MINOR, 256);
    EXPECT_LT(HSIPC_VERSION_PATCH, 256);
}

// ---- Struct layout (x86-64 LP64 ABI) -------------------------------------------------------

TEST(CApiLayout, IntrospectionStructsArePinned) {
    EXPECT_EQ(32u, sizeof(hsipc_pool_stats));
    EXPECT_EQ(0u, offsetof(hsipc_pool_stats, struct_size));
    EXPECT_EQ(4u, offsetof(hsipc_pool_stats, buffer_count));
    EXPECT_EQ(8u, offsetof(hsipc_pool_stats, buffer_size));
    EXPECT_EQ(16u, offsetof(hsipc_pool_stats, free_count));
    EXPECT_EQ(20u, offsetof(hsipc_pool_stats, held_count));
    EXPECT_EQ(24u, offsetof(hsipc_pool_stats, queued_count));
    EXPECT_EQ(88u, sizeof(hsipc_endpoint_info));
    EXPECT_EQ(0u, offsetof(hsipc_endpoint_info, struct_size));
    EXPECT_EQ(4u, offsetof(hsipc_endpoint_info, id));
    EXPECT_EQ(8u, offsetof(hsipc_endpoint_info, name));
    EXPECT_EQ(72u, offsetof(hsipc_endpoint_info, owner_pid));
    EXPECT_EQ(76u, offsetof(hsipc_endpoint_info, owner_alive));
    EXPECT_EQ(80u, offsetof(hsipc_endpoint_info, queued));
}

TEST(CApiLayout, PoolConfig) {
    EXPECT_EQ(16u, sizeof(hsipc_pool_config));
    EXPECT_EQ(0u, offsetof(hsipc_pool_config, buffer_size));
    EXPECT_EQ(8u, offsetof(hsipc_pool_config, buffer_count));
    EXPECT_EQ(12u, offsetof(hsipc_pool_config, reserved));
    EXPECT_EQ(8u, sizeof(hsipc_pool_config::buffer_size));
    EXPECT_EQ(4u, sizeof(hsipc_pool_config::buffer_count));
    EXPECT_EQ(4u, sizeof(hsipc_pool_config::reserved));
}

TEST(CApiLayout, Config) {
    EXPECT_EQ(168u, sizeof(hsipc_config));
    EXPECT_EQ(0u, offsetof(hsipc_config, struct_size));
    EXPECT_EQ(4u, offsetof(hsipc_config, max_endpoints));
    EXPECT_EQ(8u, offsetof(hsipc_config, inbox_capacity));
    EXPECT_EQ(12u, offsetof(hsipc_config, pool_count));
    EXPECT_EQ(16u, offsetof(hsipc_config, pools));
    EXPECT_EQ(144u, offsetof(hsipc_config, mode));
    EXPECT_EQ(148u, offsetof(hsipc_config, max_buffers_per_process));
    EXPECT_EQ(152u, offsetof(hsipc_config, spin_ns));  // 152: the size before it, which old callers pass
    EXPECT_EQ(8u, sizeof(hsipc_config::spin_ns));
    EXPECT_EQ(160u, offsetof(hsipc_config, max_topics));
    EXPECT_EQ(164u, offsetof(hsipc_config, max_subscribers));
    EXPECT_EQ(128u, sizeof(hsipc_config::pools));
    EXPECT_EQ(4u, sizeof(hsipc_config::mode));
    EXPECT_EQ(8u, alignof(hsipc_config));
    hsipc_config c;
    hsipc_config_init(&c);
    EXPECT_EQ(168u, c.struct_size);
    EXPECT_EQ(64u, c.max_topics);
    EXPECT_EQ(16u, c.max_subscribers);
}

TEST(CApiLayout, Msg) {
    EXPECT_EQ(32u, sizeof(hsipc_msg));
    EXPECT_EQ(0u, offsetof(hsipc_msg, off));
    EXPECT_EQ(8u, offsetof(hsipc_msg, length));
    EXPECT_EQ(16u, offsetof(hsipc_msg, from));
    EXPECT_EQ(24u, offsetof(hsipc_msg, data));
}

// ---- Argument checks ------------------------------------------------------------------------

TEST(CApiArgs, RegionConfigNeedsStructSize) {
    Fixture f("capicfgsize");
    ASSERT_OK(f.status());
    for (uint32_t size : {0u, uint32_t(sizeof(hsipc_config) - 4), uint32_t(sizeof(hsipc_config) + 8), 0xFFFFFFFFu}) {
        hsipc_config out;
        std::memset(&out, 0x5A, sizeof out);
        out.struct_size = size;
        hsipc_config before;
        std::memcpy(&before, &out, sizeof out);
        EXPECT_STATUS(HSIPC_EINVAL, hsipc_region_config(f.r, &out)) << "struct_size " << size;
        EXPECT_EQ(0, std::memcmp(&before, &out, sizeof out)) << "struct_size " << size;
    }
    hsipc_config out;
    std::memset(&out, 0x5A, sizeof out);
    out.struct_size = sizeof(hsipc_config);
    ASSERT_OK(hsipc_region_config(f.r, &out));
    EXPECT_EQ(8u, out.max_endpoints);
    EXPECT_EQ(2u, out.pool_count);
    // The whole struct is written, unused pools included.
    for (int p = 2; p < HSIPC_MAX_POOLS; p++) {
        EXPECT_EQ(0u, out.pools[p].buffer_size) << p;
        EXPECT_EQ(0u, out.pools[p].buffer_count) << p;
        EXPECT_EQ(0u, out.pools[p].reserved) << p;
    }
}

TEST(CApiArgs, AttachRefusesBadStructSize) {
    ScopedName name("capiattsize");
    hsipc_config cfg = hsipc_test::small_config();
    cfg.struct_size = sizeof(hsipc_config) + 4;
    hsipc_region* r = nullptr;
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_attach(name.c_str(), &cfg, &r));
    EXPECT_EQ(nullptr, r);
    EXPECT_NE(0, access(name.path().c_str(), F_OK));
}

TEST(CApiArgs, PollTimeouts) {
    Fixture f("capipoll");
    ASSERT_OK(f.status());
    hsipc_msg msg;
    for (int64_t t : {int64_t(-2), int64_t(-3), int64_t(-1000000000), INT64_MIN}) {
        EXPECT_STATUS(HSIPC_EINVAL, hsipc_poll(f.b, &msg, t)) << "timeout " << t;
    }
    EXPECT_STATUS(HSIPC_EAGAIN, hsipc_poll(f.b, &msg, 0));
    EXPECT_STATUS(HSIPC_EAGAIN, hsipc_poll(f.b, &msg, 1000));  // 1 us
    // A queued message is returned by every accepted timeout, FOREVER included.
    for (int64_t t : {int64_t(0), int64_t(1000), int64_t(HSIPC_FOREVER)}) {
        hsipc_off off;
        ASSERT_OK(hsipc_alloc(f.r, 4, &off));
        ASSERT_OK(hsipc_send_offset(f.a, hsipc_endpoint_id(f.b), off, 4));
        // Even a refused timeout must not consume it.
        EXPECT_STATUS(HSIPC_EINVAL, hsipc_poll(f.b, &msg, -2));
        ASSERT_OK(hsipc_poll(f.b, &msg, t)) << "timeout " << t;
        EXPECT_EQ(off, msg.off);
        EXPECT_OK(hsipc_release(f.r, msg.off));
    }
}

TEST(CApiArgs, AllocSizes) {
    Fixture f("capialloc");
    ASSERT_OK(f.status());
    hsipc_off off = 99;
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_alloc(f.r, 0, &off));
    EXPECT_EQ(99u, off);
    EXPECT_STATUS(HSIPC_ETOOBIG, hsipc_alloc(f.r, 4097, &off));
    EXPECT_STATUS(HSIPC_ETOOBIG, hsipc_alloc(f.r, SIZE_MAX, &off));
    EXPECT_EQ(99u, off);
    ASSERT_OK(hsipc_alloc(f.r, 1, &off));
    EXPECT_NE(0u, off);
    EXPECT_EQ(64u, hsipc_capacity(f.r, off));  // smallest pool that fits
    EXPECT_OK(hsipc_release(f.r, off));
    ASSERT_OK(hsipc_alloc(f.r, 65, &off));
    EXPECT_EQ(4096u, hsipc_capacity(f.r, off));
    EXPECT_OK(hsipc_release(f.r, off));
    ASSERT_OK(hsipc_alloc(f.r, 4096, &off));
    EXPECT_EQ(4096u, hsipc_capacity(f.r, off));
    EXPECT_OK(hsipc_release(f.r, off));
    // After release the offset is no longer ours.
    EXPECT_EQ(nullptr, hsipc_ptr(f.r, off));
    EXPECT_EQ(0u, hsipc_capacity(f.r, off));
    EXPECT_STATUS(HSIPC_EBADOFF, hsipc_release(f.r, off));
    // Offsets from nowhere.
    EXPECT_EQ(nullptr, hsipc_ptr(f.r, 0));
    EXPECT_EQ(0u, hsipc_capacity(f.r, 0));
    EXPECT_EQ(nullptr, hsipc_ptr(f.r, off + 1));
    EXPECT_EQ(nullptr, hsipc_ptr(f.r, UINT64_MAX));
    EXPECT_STATUS(HSIPC_EBADOFF, hsipc_release(f.r, 0));
    EXPECT_STATUS(HSIPC_EBADOFF, hsipc_release(f.r, UINT64_MAX));
}

TEST(CApiArgs, SendLengthBeyondCapacity) {
    Fixture f("capisendlen");
    ASSERT_OK(f.status());
    const hsipc_id to = hsipc_endpoint_id(f.b);
    hsipc_off off;
    ASSERT_OK(hsipc_alloc(f.r, 10, &off));
    const size_t cap = hsipc_capacity(f.r, off);
    ASSERT_EQ(64u, cap);
    void* p = hsipc_ptr(f.r, off);
    ASSERT_NE(nullptr, p);
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_send_offset(f.a, to, off, cap + 1));
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_send_offset(f.a, to, off, SIZE_MAX));
    // The sender still owns it, and nothing arrived.
    EXPECT_EQ(p, hsipc_ptr(f.r, off));
    EXPECT_EQ(cap, hsipc_capacity(f.r, off));
    hsipc_msg msg;
    EXPECT_STATUS(HSIPC_EAGAIN, hsipc_poll(f.b, &msg, 0));
    // The full capacity is allowed; 0 bytes too.
    ASSERT_OK(hsipc_send_offset(f.a, to, off, cap));
    ASSERT_OK(hsipc_poll(f.b, &msg, 0));
    EXPECT_EQ(cap, msg.length);
    ASSERT_OK(hsipc_send_offset(f.b, hsipc_endpoint_id(f.a), msg.off, 0));
    ASSERT_OK(hsipc_poll(f.a, &msg, 0));
    EXPECT_EQ(0u, msg.length);
    EXPECT_OK(hsipc_release(f.r, msg.off));
}

TEST(CApiArgs, SendOfBufferNotHeld) {
    Fixture f("capisendbad");
    ASSERT_OK(f.status());
    const hsipc_id to = hsipc_endpoint_id(f.b);
    hsipc_off off;
    ASSERT_OK(hsipc_alloc(f.r, 10, &off));
    ASSERT_OK(hsipc_release(f.r, off));
    EXPECT_STATUS(HSIPC_EBADOFF, hsipc_send_offset(f.a, to, off, 1));
    EXPECT_STATUS(HSIPC_EBADOFF, hsipc_send_offset(f.a, to, 0, 1));
    EXPECT_STATUS(HSIPC_EBADOFF, hsipc_send_offset(f.a, to, off + 8, 1));
    hsipc_msg msg;
    EXPECT_STATUS(HSIPC_EAGAIN, hsipc_poll(f.b, &msg, 0));
    // Once sent, it is no longer the sender's to send again.
    ASSERT_OK(hsipc_alloc(f.r, 10, &off));
    ASSERT_OK(hsipc_send_offset(f.a, to, off, 1));
    EXPECT_STATUS(HSIPC_EBADOFF, hsipc_send_offset(f.a, to, off, 1));
    ASSERT_OK(hsipc_poll(f.b, &msg, 0));
    EXPECT_STATUS(HSIPC_EAGAIN, hsipc_poll(f.b, &msg, 0));
    EXPECT_OK(hsipc_release(f.r, msg.off));
}

TEST(CApiArgs, UnlinkStatuses) {
    ScopedName name("capiunlink");
    EXPECT_STATUS(HSIPC_ENOENT, hsipc_unlink(name.c_str()));
    hsipc_config cfg = hsipc_test::small_config();
    hsipc_region* r = nullptr;
    ASSERT_OK(hsipc_attach(name.c_str(), &cfg, &r));
    EXPECT_OK(hsipc_unlink(name.c_str()));
    EXPECT_STATUS(HSIPC_ENOENT, hsipc_unlink(name.c_str()));
    // The attached handle keeps working after the name is gone.
    hsipc_off off;
    ASSERT_OK(hsipc_alloc(r, 8, &off));
    EXPECT_OK(hsipc_release(r, off));
    EXPECT_OK(hsipc_detach(r));
}

// ---- Out-parameters untouched on failure -------------------------------------------------------

TEST(CApiOutParams, AttachFailureLeavesOut) {
    hsipc_region* const sentinel = reinterpret_cast<hsipc_region*>(uintptr_t(0xDEAD0001));
    hsipc_region* r = sentinel;
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_attach("bad/name", nullptr, &r));
    EXPECT_EQ(sentinel, r);
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_attach("", nullptr, &r));
    EXPECT_EQ(sentinel, r);
    ScopedName name("capioutatt");
    hsipc_config cfg = hsipc_test::small_config();
    cfg.pool_count = 0;
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_attach(name.c_str(), &cfg, &r));
    EXPECT_EQ(sentinel, r);
    cfg = hsipc_test::small_config();
    cfg.max_endpoints = 0;
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_attach(name.c_str(), &cfg, &r));
    EXPECT_EQ(sentinel, r);
    EXPECT_NE(0, access(name.path().c_str(), F_OK)) << "a failed create left an object";
}

TEST(CApiOutParams, LookupFailureLeavesOut) {
    Fixture f("capioutlook");
    ASSERT_OK(f.status());
    hsipc_id id = 0xDEADBEEF;
    EXPECT_STATUS(HSIPC_ENOENT, hsipc_lookup(f.r, "nobody", &id));
    EXPECT_EQ(0xDEADBEEFu, id);
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_lookup(f.r, "bad name", &id));
    EXPECT_EQ(0xDEADBEEFu, id);
    ASSERT_OK(hsipc_lookup(f.r, "a", &id));
    EXPECT_EQ(hsipc_endpoint_id(f.a), id);
}

TEST(CApiOutParams, AllocFailureLeavesOut) {
    Fixture f("capioutalloc", hsipc_test::small_config(2, 1));
    ASSERT_OK(f.status());
    hsipc_off off = 0xDEADBEEFCAFEull;
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_alloc(f.r, 0, &off));
    EXPECT_EQ(0xDEADBEEFCAFEull, off);
    EXPECT_STATUS(HSIPC_ETOOBIG, hsipc_alloc(f.r, 5000, &off));
    EXPECT_EQ(0xDEADBEEFCAFEull, off);
    std::vector<hsipc_off> held;
    for (int i = 0; i < 3; i++) {
        hsipc_off o;
        ASSERT_OK(hsipc_alloc(f.r, 1, &o));
        held.push_back(o);
    }
    EXPECT_STATUS(HSIPC_ENOMEM, hsipc_alloc(f.r, 1, &off));
    EXPECT_EQ(0xDEADBEEFCAFEull, off);
    for (hsipc_off o : held) EXPECT_OK(hsipc_release(f.r, o));
    ASSERT_OK(hsipc_alloc(f.r, 1, &off));
    EXPECT_NE(0xDEADBEEFCAFEull, off);
    EXPECT_OK(hsipc_release(f.r, off));
}

TEST(CApiOutParams, PollFailureLeavesOut) {
    Fixture f("capioutpoll");
    ASSERT_OK(f.status());
    hsipc_msg msg, before;
    std::memset(&msg, 0xAB, sizeof msg);
    std::memcpy(&before, &msg, sizeof msg);
    EXPECT_STATUS(HSIPC_EAGAIN, hsipc_poll(f.b, &msg, 0));
    EXPECT_EQ(0, std::memcmp(&before, &msg, sizeof msg));
    EXPECT_STATUS(HSIPC_EAGAIN, hsipc_poll(f.b, &msg, 1000));
    EXPECT_EQ(0, std::memcmp(&before, &msg, sizeof msg));
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_poll(f.b, &msg, -2));
    EXPECT_EQ(0, std::memcmp(&before, &msg, sizeof msg));
}

TEST(CApiOutParams, EndpointOpenFailureLeavesOut) {
    Fixture f("capioutopen", hsipc_test::small_config(16, 4, 8, 3));
    ASSERT_OK(f.status());
    hsipc_endpoint* const sentinel = reinterpret_cast<hsipc_endpoint*>(uintptr_t(0xDEAD0002));
    hsipc_endpoint* ep = sentinel;
    EXPECT_STATUS(HSIPC_EEXIST, hsipc_endpoint_open(f.r, "a", &ep));
    EXPECT_EQ(sentinel, ep);
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_endpoint_open(f.r, "no/slash", &ep));
    EXPECT_EQ(sentinel, ep);
    hsipc_endpoint* third = nullptr;
    ASSERT_OK(hsipc_endpoint_open(f.r, "c", &third));
    EXPECT_STATUS(HSIPC_ENOMEM, hsipc_endpoint_open(f.r, "d", &ep));
    EXPECT_EQ(sentinel, ep);
    EXPECT_OK(hsipc_endpoint_close(third));
}

TEST(CApiOutParams, ConfigLoadFailureLeavesCfg) {
    hsipc_config cfg = hsipc_test::small_config();
    hsipc_config before;
    std::memcpy(&before, &cfg, sizeof cfg);
    EXPECT_STATUS(HSIPC_ENOENT, hsipc_config_load(&cfg, "/nonexistent-hsipc-dir/none.conf"));
    EXPECT_EQ(0, std::memcmp(&before, &cfg, sizeof cfg));
}

}  // namespace
