// SPDX-License-Identifier: MIT
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
    uint64_t w = owner_word(kOwnerHeld, 4095, 0xfffffffe);
    EXPECT_EQ(kOwnerHeld, owner_kind(w));
    EXPECT_EQ(4095u, owner_index(w));
    EXPECT_EQ(0xfffffffeu, owner_gen(w));
    // A queued word keeps the whole destination id, the sender's slot and
    // the low 17 bits of its gen.
    w = queued_word(0xfedcba98, kMaxEndpoints - 1, 0xabcdef12);
    EXPECT_EQ(kOwnerQueued, owner_kind(w));
    EXPECT_TRUE(queued_to(w, 0xfedcba98));
    EXPECT_FALSE(queued_to(w, 0xfedcba99));
    EXPECT_EQ(0xfedcba98u, queued_destination(w));
    EXPECT_EQ(kMaxEndpoints - 1, queued_sender_slot(w));
    EXPECT_EQ(0xabcdef12u & kQueuedSenderGenMask, queued_sender_gen(w));
    // The same buffer re-sent to the same endpoint by another process is
    // another word: what lets a reaper's CAS for a dead sender fail.
    EXPECT_NE(w, queued_word(0xfedcba98, 0, 0xabcdef12));
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
    // The largest buffer index + 1 must stay below the markers.
    EXPECT_LT(kMaxTotalBuffers, uint64_t(kEntrySkip));
    EXPECT_TRUE(entry_names_buffer(uint32_t(kMaxTotalBuffers)));
    EXPECT_FALSE(entry_names_buffer(0));
    EXPECT_FALSE(entry_names_buffer(kEntrySkip));
    EXPECT_FALSE(entry_names_buffer(kEntryClosed));
}

TEST(Layout, EndpointIdsAreNeverZeroAndCarryGen) {
    // The index field is just wide enough for max_endpoints: the gen gets
    // the rest of the 32 bits.
    EXPECT_EQ(1u, id_index_bits_for(1));
    EXPECT_EQ(7u, id_index_bits_for(64));
    EXPECT_EQ(7u, id_index_bits_for(127));
    EXPECT_EQ(8u, id_index_bits_for(128));
    EXPECT_EQ(13u, id_index_bits_for(kMaxEndpoints));
    for (uint32_t max : {1u, 64u, 100u, kMaxEndpoints}) {
        const uint32_t bits = id_index_bits_for(max);
        EXPECT_NE(0u, make_endpoint_id(bits, 0, 1));
        const hsipc_id a = make_endpoint_id(bits, max - 1, endpoint_gen_max(bits));
        EXPECT_EQ(max, a & ((1u << bits) - 1));
        EXPECT_EQ(endpoint_gen_max(bits), a >> bits);
        EXPECT_NE(make_endpoint_id(bits, 3, 1), make_endpoint_id(bits, 3, 2));
    }
    EXPECT_EQ((1u << 24) - 1, endpoint_gen_max(7));
    for (uint32_t max : {1u, 64u, kMaxEndpoints}) {
        const uint32_t bits = id_index_bits_for(max);
        EXPECT_EQ(0u, make_endpoint_id(bits, max - 1, endpoint_gen_max(bits)) & kTopicIdBit)
            << "bit 31 marks topic ids; no endpoint id may have it";
    }
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
