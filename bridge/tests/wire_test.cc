// SPDX-License-Identifier: MIT
// The wire format (bridge/wire.h): what the encoders write decodes to the
// same fields, byte offsets are those docs/bridge.md gives, and every
// malformed frame is refused for its own reason.
#include "wire.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using namespace hsipc_bridge::wire;

constexpr uint64_t kSession = 0x1122334455667788ull;

Refusal decode_one(const std::vector<uint8_t>& header, Frame* f, uint64_t max_payload = 1024) {
    Part part{header.data(), header.size()};
    return decode(&part, 1, max_payload, f);
}

std::vector<uint8_t> msg_header(uint64_t seq, const std::string& src, const std::string& dst, uint32_t size) {
    std::vector<uint8_t> out(kMsgHeaderMax);
    out.resize(encode_msg(kSession, "hostA", seq, src, dst, size, out.data()));
    return out;
}

Refusal decode_msg(const std::vector<uint8_t>& header, const std::vector<uint8_t>& payload, Frame* f,
                   uint64_t max_payload = 1024) {
    Part parts[2] = {{header.data(), header.size()}, {payload.data(), payload.size()}};
    return decode(parts, 2, max_payload, f);
}

TEST(Wire, HelloRoundTripsAndHasTheDocumentedLayout) {
    std::vector<uint8_t> h;
    ASSERT_TRUE(encode_hello(kSession, "hostA", {"server", "log.v2"}, {"ticks"}, &h));
    // magic, version, kind, session (little-endian), host length, host
    const std::vector<uint8_t> head = {0x68, 0x42, 1, 1, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 5};
    ASSERT_GE(h.size(), head.size());
    EXPECT_EQ(head, std::vector<uint8_t>(h.begin(), h.begin() + 13));
    EXPECT_EQ("hostA", std::string(h.begin() + 13, h.begin() + 18));
    EXPECT_EQ(2, h[18] | h[19] << 8);  // export count
    EXPECT_EQ(1, h[34] | h[35] << 8);  // topic count, after the exports
    EXPECT_EQ(13u + 5 + 2 + 1 + 6 + 1 + 6 + 2 + 1 + 5, h.size());
    Frame f;
    ASSERT_EQ(Refusal::none, decode_one(h, &f));
    EXPECT_EQ(Kind::hello, f.kind);
    EXPECT_EQ(kSession, f.session);
    EXPECT_EQ("hostA", f.host);
    ASSERT_EQ(2u, f.export_count);
    EXPECT_EQ("server", f.exports[0]);
    EXPECT_EQ("log.v2", f.exports[1]);
    ASSERT_EQ(1u, f.topic_count);
    EXPECT_EQ("ticks", f.topics[0]);
    // Without topics, the list is there and empty.
    std::vector<uint8_t> none;
    ASSERT_TRUE(encode_hello(kSession, "hostA", {"server"}, &none));
    EXPECT_EQ(13u + 5 + 2 + 1 + 6 + 2, none.size());
    ASSERT_EQ(Refusal::none, decode_one(none, &f));
    EXPECT_EQ(0u, f.topic_count);
}

TEST(Wire, MsgRoundTripsAndHasTheDocumentedLayout) {
    std::vector<uint8_t> h = msg_header(7, "client", "server", 3);
    ASSERT_EQ(13u + 5 + 8 + 1 + 6 + 1 + 6 + 4, h.size());
    EXPECT_EQ(2, h[3]);
    EXPECT_EQ(7, h[18]);  // seq, little-endian, right after the host
    EXPECT_EQ(3, h[h.size() - 4]);
    const std::vector<uint8_t> payload = {1, 2, 3};
    Frame f;
    ASSERT_EQ(Refusal::none, decode_msg(h, payload, &f));
    EXPECT_EQ(Kind::msg, f.kind);
    EXPECT_EQ(7u, f.seq);
    EXPECT_EQ("client", f.src);
    EXPECT_EQ("server", f.dst);
    EXPECT_EQ(3u, f.payload_size);
    EXPECT_EQ(payload.data(), f.payload);
}

TEST(Wire, TopicRoundTripsWithTheMsgLayoutAndItsOwnKind) {
    std::vector<uint8_t> h(kMsgHeaderMax);
    h.resize(encode_topic(kSession, "hostA", 9, "camera", "frames.raw", 4, h.data()));
    ASSERT_EQ(13u + 5 + 8 + 1 + 6 + 1 + 10 + 4, h.size());
    EXPECT_EQ(4, h[3]);  // kind TOPIC
    EXPECT_EQ(9, h[18]);
    // The same bytes as a MSG but for the kind.
    std::vector<uint8_t> m(kMsgHeaderMax);
    m.resize(encode_msg(kSession, "hostA", 9, "camera", "frames.raw", 4, m.data()));
    m[3] = 4;
    EXPECT_EQ(m, h);
    const std::vector<uint8_t> payload = {9, 8, 7, 6};
    Frame f;
    ASSERT_EQ(Refusal::none, decode_msg(h, payload, &f));
    EXPECT_EQ(Kind::topic, f.kind);
    EXPECT_EQ(9u, f.seq);
    EXPECT_EQ("camera", f.src);
    EXPECT_EQ("frames.raw", f.dst);
    EXPECT_EQ(4u, f.payload_size);
    EXPECT_EQ(payload.data(), f.payload);
    // An unnamed publisher (closed before the bridge read its message) and
    // an empty payload.
    h.resize(kMsgHeaderMax);
    h.resize(encode_topic(kSession, "hostA", 1, "", "t", 0, h.data()));
    ASSERT_EQ(Refusal::none, decode_msg(h, {}, &f));
    EXPECT_TRUE(f.src.empty());
    EXPECT_EQ(0u, f.payload_size);
}

TEST(Wire, MalformedTopicFramesAreRefused) {
    auto topic = [](uint64_t seq, const std::string& src, const std::string& name, uint32_t size) {
        std::vector<uint8_t> out(kMsgHeaderMax);
        out.resize(encode_topic(kSession, "hostA", seq, src, name, size, out.data()));
        return out;
    };
    uint8_t buf[kMsgHeaderMax];
    EXPECT_EQ(0u, encode_topic(kSession, "hostA", 0, "a", "t", 0, buf));  // seq 0
    EXPECT_EQ(0u, encode_topic(kSession, "hostA", 1, "a", "", 0, buf));   // no topic
    EXPECT_EQ(0u, encode_topic(kSession, "hostA", 1, "a", "t/x", 0, buf));
    EXPECT_EQ(kMsgHeaderMax, encode_topic(kSession, std::string(31, 'h'), 1, std::string(63, 's'),
                                          std::string(63, 't'), 1, buf));
    Frame f;
    const std::vector<uint8_t> payload(10, 0xcd);
    EXPECT_EQ(Refusal::too_big, decode_msg(topic(1, "a", "t", 10), payload, &f, 9));
    EXPECT_EQ(Refusal::bad_length, decode_msg(topic(1, "a", "t", 11), payload, &f));
    std::vector<uint8_t> h = topic(1, "a", "t", 10);
    EXPECT_EQ(Refusal::bad_parts, decode_one(h, &f));
    Part three[3] = {{h.data(), h.size()}, {payload.data(), payload.size()}, {payload.data(), 0}};
    EXPECT_EQ(Refusal::bad_parts, decode(three, 3, 1024, &f));
    std::vector<uint8_t> seq0 = h;
    seq0[18] = 0;
    EXPECT_EQ(Refusal::bad_seq, decode_msg(seq0, payload, &f));
    std::vector<uint8_t> bad_topic = h;
    bad_topic[13 + 5 + 8 + 1 + 1 + 1] = '*';
    EXPECT_EQ(Refusal::bad_name, decode_msg(bad_topic, payload, &f));
    std::vector<uint8_t> longer = h;
    longer.push_back(0);
    EXPECT_EQ(Refusal::trailing, decode_msg(longer, payload, &f));
    for (size_t n = 0; n < h.size(); n++) {
        std::vector<uint8_t> cut(h.begin(), h.begin() + n);
        EXPECT_EQ(Refusal::truncated, decode_msg(cut, payload, &f)) << "cut at " << n;
    }
}

TEST(Wire, AHellosTopicListIsCheckedLikeItsExports) {
    std::vector<uint8_t> out;
    EXPECT_FALSE(encode_hello(kSession, "hostA", {}, {"bad name"}, &out));
    EXPECT_FALSE(encode_hello(kSession, "hostA", {}, std::vector<std::string>(257, "t"), &out));
    EXPECT_TRUE(out.empty());
    std::vector<uint8_t> hello;
    ASSERT_TRUE(encode_hello(kSession, "hostA", {}, {"tick"}, &hello));
    // host at 13..17, export count 18-19, topic count 20-21, then "\x04tick".
    Frame f;
    auto with = [&](size_t at, uint8_t byte) {
        std::vector<uint8_t> v = hello;
        v[at] = byte;
        return decode_one(v, &f);
    };
    EXPECT_EQ(Refusal::bad_count, with(21, 2));  // 513 topics
    EXPECT_EQ(Refusal::truncated, with(20, 2));  // 2 announced, 1 there
    EXPECT_EQ(Refusal::bad_name, with(22, 0));
    EXPECT_EQ(Refusal::bad_name, with(23, '/'));
    for (size_t n = 0; n < hello.size(); n++) {
        std::vector<uint8_t> cut(hello.begin(), hello.begin() + n);
        EXPECT_EQ(Refusal::truncated, decode_one(cut, &f)) << "cut at " << n;
    }
}

TEST(Wire, AnUnnamedSenderAndAnEmptyPayloadAreValid) {
    Frame f;
    ASSERT_EQ(Refusal::none, decode_msg(msg_header(1, "", "server", 0), {}, &f));
    EXPECT_TRUE(f.src.empty());
    EXPECT_EQ(0u, f.payload_size);
}

TEST(Wire, ByeRoundTrips) {
    std::vector<uint8_t> b;
    ASSERT_TRUE(encode_bye(kSession, "h-1_x", &b));
    EXPECT_EQ(13u + 5, b.size());
    Frame f;
    ASSERT_EQ(Refusal::none, decode_one(b, &f));
    EXPECT_EQ(Kind::bye, f.kind);
    EXPECT_EQ("h-1_x", f.host);
}

TEST(Wire, EncodersRefuseWhatTheDecoderWould) {
    std::vector<uint8_t> out;
    EXPECT_FALSE(encode_hello(0, "hostA", {}, &out));                    // session 0
    EXPECT_FALSE(encode_hello(kSession, "host.A", {}, &out));            // dot in a host
    EXPECT_FALSE(encode_hello(kSession, std::string(32, 'h'), {}, &out));  // host too long
    EXPECT_FALSE(encode_hello(kSession, "hostA", {"bad/name"}, &out));
    EXPECT_FALSE(encode_hello(kSession, "hostA", std::vector<std::string>(257, "x"), &out));
    EXPECT_TRUE(out.empty());
    uint8_t buf[kMsgHeaderMax];
    EXPECT_EQ(0u, encode_msg(kSession, "hostA", 0, "a", "b", 0, buf));  // seq 0
    EXPECT_EQ(0u, encode_msg(kSession, "hostA", 1, "a", "", 0, buf));   // no destination
    EXPECT_EQ(0u, encode_msg(kSession, "hostA", 1, std::string(64, 'a'), "b", 0, buf));
    // The longest header fits kMsgHeaderMax exactly.
    EXPECT_EQ(kMsgHeaderMax, encode_msg(kSession, std::string(31, 'h'), 1, std::string(63, 's'),
                                        std::string(63, 'd'), 1, buf));
    std::vector<uint8_t> longest;
    ASSERT_TRUE(encode_hello(kSession, std::string(31, 'h'), std::vector<std::string>(256, std::string(63, 'e')),
                             std::vector<std::string>(256, std::string(63, 't')), &longest));
    EXPECT_EQ(kHelloMax, longest.size());
    Frame f;
    EXPECT_EQ(Refusal::none, decode_one(longest, &f));
}

TEST(Wire, EachMalformedHeaderIsRefusedForItsReason) {
    std::vector<uint8_t> hello;
    ASSERT_TRUE(encode_hello(kSession, "hostA", {"server"}, &hello));
    Frame f;
    auto with = [&](size_t at, uint8_t byte) {
        std::vector<uint8_t> v = hello;
        v[at] = byte;
        return decode_one(v, &f);
    };
    EXPECT_EQ(Refusal::bad_magic, with(0, 'x'));
    EXPECT_EQ(Refusal::bad_magic, with(1, 'x'));
    EXPECT_EQ(Refusal::bad_version, with(2, 2));
    EXPECT_EQ(Refusal::bad_kind, with(3, 0));
    EXPECT_EQ(Refusal::bad_kind, with(3, 6));
    EXPECT_EQ(Refusal::bad_host, with(12, 0));                   // empty host
    EXPECT_EQ(Refusal::bad_host, with(13, '.'));                 // a dot in it
    EXPECT_EQ(Refusal::truncated, with(12, 200));                // longer than the frame
    EXPECT_EQ(Refusal::bad_count, with(19, 2));                  // 513 exports
    EXPECT_EQ(Refusal::bad_name, with(18, 2));                   // 2 announced: the topic count read as one
    EXPECT_EQ(Refusal::bad_name, with(20, 0));                   // empty export name
    EXPECT_EQ(Refusal::bad_name, with(21, '/'));
    std::vector<uint8_t> zero_session = hello;
    for (size_t i = 4; i < 12; i++) zero_session[i] = 0;
    EXPECT_EQ(Refusal::bad_session, decode_one(zero_session, &f));
    std::vector<uint8_t> longer = hello;
    longer.push_back(0);
    EXPECT_EQ(Refusal::trailing, decode_one(longer, &f));
    for (size_t n = 0; n < hello.size(); n++) {
        std::vector<uint8_t> cut(hello.begin(), hello.begin() + n);
        EXPECT_EQ(Refusal::truncated, decode_one(cut, &f)) << "cut at " << n;
    }
    EXPECT_EQ(Refusal::bad_parts, decode(nullptr, 0, 1024, &f));
}

TEST(Wire, MalformedMsgFramesAreRefused) {
    Frame f;
    const std::vector<uint8_t> payload(10, 0xab);
    EXPECT_EQ(Refusal::none, decode_msg(msg_header(1, "a", "b", 10), payload, &f));
    EXPECT_EQ(Refusal::too_big, decode_msg(msg_header(1, "a", "b", 10), payload, &f, 9));
    EXPECT_EQ(Refusal::too_big, decode_msg(msg_header(1, "a", "b", 0xffffffffu), payload, &f));
    EXPECT_EQ(Refusal::bad_length, decode_msg(msg_header(1, "a", "b", 11), payload, &f));
    EXPECT_EQ(Refusal::bad_length, decode_msg(msg_header(1, "a", "b", 9), payload, &f));
    std::vector<uint8_t> h = msg_header(1, "a", "b", 10);
    EXPECT_EQ(Refusal::bad_parts, decode_one(h, &f));  // no payload part
    Part three[3] = {{h.data(), h.size()}, {payload.data(), payload.size()}, {payload.data(), 0}};
    EXPECT_EQ(Refusal::bad_parts, decode(three, 3, 1024, &f));
    std::vector<uint8_t> seq0 = h;
    seq0[18] = 0;
    EXPECT_EQ(Refusal::bad_seq, decode_msg(seq0, payload, &f));
    std::vector<uint8_t> bad_dst = h;
    bad_dst[13 + 5 + 8 + 1 + 1 + 1] = ' ';
    EXPECT_EQ(Refusal::bad_name, decode_msg(bad_dst, payload, &f));
    std::vector<uint8_t> no_dst = msg_header(1, "a", "b", 10);
    no_dst[13 + 5 + 8 + 1 + 1] = 0;  // dst length 0, so the frame is a byte too long
    EXPECT_NE(Refusal::none, decode_msg(no_dst, payload, &f));
    // A HELLO or BYE with a second part.
    std::vector<uint8_t> bye;
    ASSERT_TRUE(encode_bye(kSession, "hostA", &bye));
    Part two[2] = {{bye.data(), bye.size()}, {payload.data(), payload.size()}};
    EXPECT_EQ(Refusal::bad_parts, decode(two, 2, 1024, &f));
}

struct TestRecord {
    std::string src, dst, payload;
};

// A BATCH of `records` numbered from `seq`: header and records part.
std::pair<std::vector<uint8_t>, std::vector<uint8_t>> batch(uint64_t seq, const std::vector<TestRecord>& records) {
    std::vector<uint8_t> header(kMsgHeaderMax), body;
    header.resize(encode_batch(kSession, "hostA", seq, uint32_t(records.size()), header.data()));
    for (const TestRecord& r : records) {
        EXPECT_TRUE(append_record(r.src, r.dst, reinterpret_cast<const uint8_t*>(r.payload.data()),
                                  uint32_t(r.payload.size()), &body));
    }
    return {header, body};
}

TEST(Wire, BatchRoundTripsAndHasTheDocumentedLayout) {
    const auto [h, body] = batch(41, {{"client", "server", "abc"}, {"", "log", ""}, {"c2", "server", "xy"}});
    ASSERT_EQ(13u + 5 + 8 + 2, h.size());
    EXPECT_EQ(5, h[3]);                      // kind BATCH
    EXPECT_EQ(41, h[18]);                    // first seq, little-endian
    EXPECT_EQ(3, h[26]);                     // count
    EXPECT_EQ(0, h[27]);
    ASSERT_EQ((1 + 6 + 1 + 6 + 4 + 3) + (1 + 0 + 1 + 3 + 4 + 0) + (1 + 2 + 1 + 6 + 4 + 2), body.size());
    EXPECT_EQ(6, body[0]);                   // src length, then src
    EXPECT_EQ(3, body[14]);                  // payload length after dst
    Frame f;
    ASSERT_EQ(Refusal::none, decode_msg(h, body, &f));
    EXPECT_EQ(Kind::batch, f.kind);
    EXPECT_EQ(41u, f.seq);
    EXPECT_EQ(3u, f.batch_count);
    Records records(f);
    Record r;
    ASSERT_TRUE(records.next(&r));
    EXPECT_EQ("client", r.src);
    EXPECT_EQ("server", r.dst);
    EXPECT_EQ("abc", std::string(reinterpret_cast<const char*>(r.payload), r.payload_size));
    ASSERT_TRUE(records.next(&r));
    EXPECT_EQ("", r.src);
    EXPECT_EQ("log", r.dst);
    EXPECT_EQ(0u, r.payload_size);
    ASSERT_TRUE(records.next(&r));
    EXPECT_EQ("c2", r.src);
    EXPECT_EQ("xy", std::string(reinterpret_cast<const char*>(r.payload), r.payload_size));
    EXPECT_FALSE(records.next(&r));
}

TEST(Wire, MalformedBatchFramesAreRefused) {
    Frame f;
    auto [h, body] = batch(1, {{"a", "b", "0123456789"}, {"a", "b", "x"}});
    ASSERT_EQ(Refusal::none, decode_msg(h, body, &f));
    // A record's payload over max_message, as a MSG's would be.
    EXPECT_EQ(Refusal::too_big, decode_msg(h, body, &f, 9));
    // Count and records disagree, either way.
    std::vector<uint8_t> one_more = h;
    one_more[26] = 3;
    EXPECT_EQ(Refusal::truncated, decode_msg(one_more, body, &f));
    std::vector<uint8_t> one_less = h;
    one_less[26] = 1;
    EXPECT_EQ(Refusal::trailing, decode_msg(one_less, body, &f));
    std::vector<uint8_t> none = h;
    none[26] = 0;
    EXPECT_EQ(Refusal::bad_count, decode_msg(none, body, &f));
    std::vector<uint8_t> too_many = h;
    too_many[26] = 0x01;
    too_many[27] = 0x10;  // 4097
    EXPECT_EQ(Refusal::bad_count, decode_msg(too_many, body, &f));
    // Numbers that would wrap, or start at 0.
    auto wrapping = batch(UINT64_MAX, {{"a", "b", ""}});
    EXPECT_TRUE(wrapping.first.size() > 0);
    EXPECT_EQ(Refusal::none, decode_msg(wrapping.first, wrapping.second, &f));  // one message: UINT64_MAX itself
    std::vector<uint8_t> wraps = wrapping.first;
    wraps[26] = 2;
    std::vector<uint8_t> two = wrapping.second;
    two.insert(two.end(), wrapping.second.begin(), wrapping.second.end());
    EXPECT_EQ(Refusal::bad_seq, decode_msg(wraps, two, &f));
    std::vector<uint8_t> seq0 = h;
    seq0[18] = 0;
    EXPECT_EQ(Refusal::bad_seq, decode_msg(seq0, body, &f));
    // A bad name inside, a missing part, a header with more after it.
    std::vector<uint8_t> bad_dst = body;
    bad_dst[3] = '/';
    EXPECT_EQ(Refusal::bad_name, decode_msg(h, bad_dst, &f));
    EXPECT_EQ(Refusal::bad_parts, decode_one(h, &f));
    std::vector<uint8_t> longer = h;
    longer.push_back(0);
    EXPECT_EQ(Refusal::trailing, decode_msg(longer, body, &f));
    // Records past kBatchBytes, even where max_message allows each.
    std::vector<uint8_t> big(kBatchBytes + 1, 0);
    EXPECT_EQ(Refusal::too_big, decode_msg(h, big, &f, 1 << 20));
    for (size_t n = 0; n < body.size(); n++) {
        std::vector<uint8_t> cut(body.begin(), body.begin() + n);
        EXPECT_EQ(Refusal::truncated, decode_msg(h, cut, &f)) << "cut at " << n;
    }
}

TEST(Wire, BatchEncodersKeepToTheLimits) {
    uint8_t buf[kMsgHeaderMax];
    EXPECT_EQ(0u, encode_batch(kSession, "hostA", 0, 1, buf));
    EXPECT_EQ(0u, encode_batch(kSession, "hostA", 1, 0, buf));
    EXPECT_EQ(0u, encode_batch(kSession, "hostA", 1, kBatchCountMax + 1, buf));
    EXPECT_EQ(0u, encode_batch(kSession, "hostA", UINT64_MAX, 2, buf));
    EXPECT_NE(0u, encode_batch(kSession, "hostA", 1, kBatchCountMax, buf));
    std::vector<uint8_t> records;
    const std::vector<uint8_t> payload(kBatchBytes, 1);
    EXPECT_FALSE(append_record("a", "b", payload.data(), uint32_t(kBatchBytes), &records));  // with its header: over
    EXPECT_TRUE(records.empty());
    EXPECT_FALSE(append_record("a", "", payload.data(), 1, &records));
    EXPECT_FALSE(append_record("a/", "b", payload.data(), 1, &records));
    const uint32_t fits = uint32_t(kBatchBytes - record_size("a", "b", 0));
    EXPECT_TRUE(append_record("a", "b", payload.data(), fits, &records));
    EXPECT_EQ(kBatchBytes, records.size());
    EXPECT_FALSE(append_record("", "b", payload.data(), 0, &records));
}

TEST(Wire, EveryRefusalHasANameAndASentence) {
    for (size_t r = 0; r < size_t(Refusal::count_); r++) {
        EXPECT_STRNE("unknown", refusal_name(Refusal(r)));
        EXPECT_STRNE("", refusal_sentence(Refusal(r)));
    }
    EXPECT_STREQ("unknown", refusal_name(Refusal::count_));
}

TEST(Wire, SequenceCountsGapsRefusesRepeatsAndRestartsWithASession) {
    Sequence s;
    uint64_t lost;
    EXPECT_EQ(Sequence::Verdict::new_session, s.accept(1, 5, &lost));  // joins mid-stream: nothing lost
    EXPECT_EQ(0u, lost);
    EXPECT_EQ(Sequence::Verdict::in_order, s.accept(1, 6, &lost));
    EXPECT_EQ(Sequence::Verdict::gap, s.accept(1, 9, &lost));
    EXPECT_EQ(2u, lost);
    EXPECT_EQ(Sequence::Verdict::stale, s.accept(1, 9, &lost));
    EXPECT_EQ(Sequence::Verdict::stale, s.accept(1, 3, &lost));
    EXPECT_EQ(Sequence::Verdict::new_session, s.accept(2, 1, &lost));  // the peer restarted
    EXPECT_EQ(Sequence::Verdict::in_order, s.accept(2, 2, &lost));
    EXPECT_EQ(Sequence::Verdict::gap, s.accept(2, UINT64_MAX, &lost));
    EXPECT_EQ(UINT64_MAX - 3, lost);
    EXPECT_EQ(Sequence::Verdict::stale, s.accept(2, UINT64_MAX, &lost));  // no wrap to a fresh start
}

TEST(Wire, ABatchTakesAllItsNumbers) {
    Sequence s;
    uint64_t lost;
    EXPECT_EQ(Sequence::Verdict::new_session, s.accept(1, 1, &lost, 10));  // 1 .. 10
    EXPECT_EQ(Sequence::Verdict::stale, s.accept(1, 10, &lost));
    EXPECT_EQ(Sequence::Verdict::in_order, s.accept(1, 11, &lost, 5));  // 11 .. 15
    EXPECT_EQ(Sequence::Verdict::stale, s.accept(1, 15, &lost, 3));     // overlaps what came
    EXPECT_EQ(Sequence::Verdict::gap, s.accept(1, 20, &lost));
    EXPECT_EQ(4u, lost);  // 16 .. 19
}

}  // namespace
