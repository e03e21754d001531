// The region format: encodings and where things lie.
#include "layout.h"

#include "config.h"
#include "test_util.h"

namespace hsipc {
namespace {

StoredConfig stored_defaults() {
    hsipc_config cfg;
    hsipc_config_init(&cfg);
    StoredConfig s;
    EXPECT_OK(config_to_stored(cfg, &s));
    return s;
}

TEST(Layout, OwnerWordsRoundTrip) {
    uint64_t w = owner_word(kOwnerQueued, 4095, 0xfffffffe);
    EXPECT_EQ(kOwnerQueued, owner_kind(w));
    EXPECT_EQ(4095u, owner_index(w));
    EXPECT_EQ(0xfffffffeu, owner_gen(w));
    EXPECT_EQ(kOwnerFree, owner_kind(0));
    // A held word is never the free word, whatever the slot and gen.
    EXPECT_NE(uint64_t(kOwnerFree), owner_word(kOwnerHeld, 0, 0));
}

TEST(Layout, EntriesRoundTrip) {
    uint64_t e = entry_word(0xdeadbeef, 0x1234, 77);
    EXPECT_EQ(0xdeadbeefu, entry_seq(e));
    EXPECT_EQ(0x34u, entry_gen(e));
    EXPECT_EQ(77u, entry_content(e));
    EXPECT_EQ(kEntryClosed, entry_content(entry_word(1, 1, kEntryClosed)));
    // The largest buffer index + 1 must stay below the closed marker.
    EXPECT_LT(kMaxTotalBuffers, uint64_t(kEntryClosed));
}

TEST(Layout, EndpointIdsAreNeverZeroAndCarryGen) {
    EXPECT_NE(0u, make_endpoint_id(0, 1));
    hsipc_id a = make_endpoint_id(kMaxEndpoints - 1, kEndpointGenMask);
    EXPECT_EQ(kMaxEndpoints, a & ((1u << kEndpointIndexBits) - 1));
    EXPECT_EQ(kEndpointGenMask, a >> kEndpointIndexBits);
    EXPECT_NE(make_endpoint_id(3, 1), make_endpoint_id(3, next_endpoint_gen(1)));
    EXPECT_EQ(1u, next_endpoint_gen(kEndpointGenMask));  // wraps past 0
}

TEST(Layout, SectionsAreOrderedAlignedAndInside) {
    StoredConfig s = stored_defaults();
    Layout l;
    ASSERT_TRUE(compute_layout(s, &l));
    EXPECT_EQ(kPage, l.process_table_off);
    EXPECT_EQ(l.process_table_off + s.process_slots * sizeof(ProcessSlot), l.endpoint_table_off);
    EXPECT_EQ(l.endpoint_table_off + s.max_endpoints * sizeof(EndpointSlot), l.rings_off);
    EXPECT_EQ(l.rings_off + s.max_endpoints * l.ring_bytes, l.buffer_headers_off);
    EXPECT_EQ(4096u + 256 + 8, l.total_buffers);
    uint64_t end = l.buffer_headers_off + l.total_buffers * sizeof(BufferHeader);
    for (uint32_t p = 0; p < s.pool_count; p++) {
        EXPECT_EQ(0u, l.pools[p].payload_off % kPage);
        EXPECT_GE(l.pools[p].payload_off, end);
        EXPECT_EQ(0u, l.pools[p].stride % kCacheLine);
        EXPECT_GE(l.pools[p].stride, l.pools[p].buffer_size);
        end = l.pools[p].payload_off + l.pools[p].stride * l.pools[p].count;
    }
    EXPECT_GE(l.total_size, end);
    EXPECT_EQ(0u, l.total_size % kPage);
    EXPECT_EQ(0u, l.pools[0].first);
    EXPECT_EQ(4096u, l.pools[1].first);
    EXPECT_EQ(4096u + 256, l.pools[2].first);
}

TEST(Layout, OversizedConfigurationsAreRefused) {
    StoredConfig s = stored_defaults();
    s.pool_count = 1;
    s.pools[0] = {kMaxBufferSize, 2000, 0};  // 2 TiB of payload
    Layout l;
    EXPECT_FALSE(compute_layout(s, &l));
    s.pools[0] = {64, uint32_t(kMaxTotalBuffers + 1), 0};
    EXPECT_FALSE(compute_layout(s, &l));
}

TEST(Layout, FingerprintIsStableAndNonTrivial) {
    EXPECT_EQ(layout_fingerprint(), layout_fingerprint());
    EXPECT_NE(0u, layout_fingerprint());
}

TEST(Layout, ProcessSlotsFollowEndpoints) {
    EXPECT_EQ(kMinProcessSlots, process_slots_for(1));
    EXPECT_EQ(1000u, process_slots_for(1000));
}

}  // namespace
}  // namespace hsipc
