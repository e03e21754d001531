// SPDX-License-Identifier: MIT
// The bridge's wire format, version 1 (docs/bridge.md, "Wire format"):
// encoding and decoding of the frames two hsipc-bridge processes exchange
// over ZeroMQ, and the per-link sequence check. Pure functions over bytes:
// no ZeroMQ, no hsipc, no allocation while decoding, so the decoder can be
// fuzzed alone (fuzz/fuzz_bridge_wire.cc).
//
// Every frame is one ZeroMQ message. Its first part, the header:
//
//   off  size  field
//   0    2     magic 0x68 0x42 ("hB")
//   2    1     version, 1
//   3    1     kind: 1 HELLO, 2 MSG, 3 BYE, 4 TOPIC, 5 BATCH
//   4    8     session: the sending bridge's random id for this run, not 0
//   12   1     host length h, 1 .. 31
//   13   h     the sending bridge's host name, [A-Za-z0-9_-]
//
// then, by kind (integers little-endian):
//
//   HELLO  u16 export count n (0 .. 256), then n x (u8 length 1 .. 63, name),
//          u16 topic count m (0 .. 256), then m x (u8 length 1 .. 63, name)
//   MSG    u64 seq (1, 2, ... per session and receiving peer),
//          u8 src length (0 .. 63; 0: the sender's name was not found), src,
//          u8 dst length (1 .. 63), dst, u32 payload length L
//   BYE    nothing
//   TOPIC  as MSG, with the topic's name for dst and a seq of its own
//          (TOPIC frames are numbered apart from MSG frames)
//   BATCH  u64 seq of its first message, u16 message count n (1 .. 4096):
//          n small messages numbered seq .. seq+n-1 in MSG's numbering
//
// The header ends exactly there. HELLO and BYE are one part; MSG and TOPIC
// are two: the header and the payload of exactly L bytes (L <= the
// receiver's max_message). BATCH is two: the header and its records, at
// most kBatchBytes, exactly n of them back to back, each
//   u8 src length (0 .. 63), src, u8 dst length (1 .. 63), dst,
//   u32 payload length L (<= the receiver's max_message), L bytes.
// Names follow hsipc's endpoint rules ([A-Za-z0-9._-]). TOPIC, BATCH and
// the HELLO's topic list came before version 1 was first released: every
// version 1 bridge speaks them.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hsipc_bridge {
namespace wire {

constexpr uint8_t kMagic0 = 0x68;  // 'h'
constexpr uint8_t kMagic1 = 0x42;  // 'B'
constexpr uint8_t kVersion = 1;
constexpr size_t kHostMax = 31;     // so that HOST.NAME fits hsipc's 63 bytes for names up to 31
constexpr size_t kNameMax = 63;     // HSIPC_NAME_MAX
constexpr size_t kMaxExports = 256;
constexpr size_t kMaxTopics = 256;
constexpr size_t kFixedHeader = 13;  // magic, version, kind, session, host length
constexpr size_t kMsgHeaderMax = kFixedHeader + kHostMax + 8 + 1 + kNameMax + 1 + kNameMax + 4;
constexpr size_t kHelloMax =
    kFixedHeader + kHostMax + 2 + kMaxExports * (1 + kNameMax) + 2 + kMaxTopics * (1 + kNameMax);
constexpr size_t kHeaderMax = kHelloMax;  // the longest first part of any frame
constexpr size_t kMaxParts = 2;
// A BATCH's records part: at most the longest header, so that it fits
// every receiver's limit on a part (max(max_message, kHeaderMax)).
constexpr size_t kBatchBytes = 32768;
constexpr size_t kBatchCountMax = 4096;
constexpr size_t kRecordHeaderMax = 1 + kNameMax + 1 + kNameMax + 4;

enum class Kind : uint8_t { hello = 1, msg = 2, bye = 3, topic = 4, batch = 5 };

// Why a frame was refused. X(name, sentence); none is success.
#define HSIPC_BRIDGE_REFUSALS(X)                                        \
    X(none, "accepted")                                                 \
    X(truncated, "shorter than its header says")                        \
    X(bad_magic, "not an hsipc-bridge frame (magic)")                   \
    X(bad_version, "wire format version not 1")                         \
    X(bad_kind, "unknown frame kind")                                   \
    X(bad_session, "session 0")                                         \
    X(bad_host, "host name empty, too long or with a bad byte")         \
    X(bad_count, "more than 256 exports or topics, or a bad batch count") \
    X(bad_name, "endpoint name empty, too long or with a bad byte")     \
    X(bad_seq, "sequence number 0")                                     \
    X(too_big, "payload longer than max_message")                       \
    X(trailing, "bytes after the header's last field")                  \
    X(bad_parts, "wrong number of parts for its kind")                  \
    X(bad_length, "payload part not the length the header says")        \
    X(unknown_peer, "host name of no configured peer")                  \
    X(stale_seq, "sequence number already seen in this session")        \
    X(bad_destination, "destination neither exported nor a reply route") \
    X(bad_topic, "topic not exported here")

#define HSIPC_BRIDGE_REFUSAL_ENUM_(name, sentence) name,
enum class Refusal : uint8_t { HSIPC_BRIDGE_REFUSALS(HSIPC_BRIDGE_REFUSAL_ENUM_) count_ };
#undef HSIPC_BRIDGE_REFUSAL_ENUM_

const char* refusal_name(Refusal r);
const char* refusal_sentence(Refusal r);

struct Part {
    const uint8_t* data;
    size_t size;
};

// A decoded frame: views into the parts it was decoded from.
struct Frame {
    Kind kind = Kind::bye;
    uint64_t session = 0;
    std::string_view host;
    // HELLO
    uint32_t export_count = 0;
    std::array<std::string_view, kMaxExports> exports;
    uint32_t topic_count = 0;
    std::array<std::string_view, kMaxTopics> topics;
    // MSG, TOPIC and BATCH (its first message's)
    uint64_t seq = 0;
    uint32_t batch_count = 0;  // BATCH: its records are in payload, payload_size bytes
    std::string_view src;  // empty: unnamed sender
    std::string_view dst;  // MSG: the destination endpoint; TOPIC: the topic
    uint32_t payload_size = 0;
    const uint8_t* payload = nullptr;
};

bool valid_host(std::string_view s);
bool valid_name(std::string_view s);  // hsipc's endpoint-name rules

// Decodes a received frame of `count` parts (a caller that got more than
// kMaxParts passes kMaxParts + 1 and need not keep the rest). Bounded work,
// no allocation; on a refusal *out is unspecified.
Refusal decode(const Part* parts, size_t count, uint64_t max_payload, Frame* out);

// Encoders: append the header (first part) to *out. False, *out unchanged,
// where an argument breaks the rules above.
bool encode_hello(uint64_t session, std::string_view host, const std::vector<std::string>& exports,
                  const std::vector<std::string>& topics, std::vector<uint8_t>* out);
// A HELLO that lists no topics.
inline bool encode_hello(uint64_t session, std::string_view host, const std::vector<std::string>& exports,
                         std::vector<uint8_t>* out) {
    return encode_hello(session, host, exports, {}, out);
}
bool encode_bye(uint64_t session, std::string_view host, std::vector<uint8_t>* out);
// The MSG header into `out` (at least kMsgHeaderMax bytes); its size, or 0.
size_t encode_msg(uint64_t session, std::string_view host, uint64_t seq, std::string_view src, std::string_view dst,
                  uint32_t payload_size, uint8_t* out);
// The TOPIC header, the same way: `topic` in place of dst.
size_t encode_topic(uint64_t session, std::string_view host, uint64_t seq, std::string_view src,
                    std::string_view topic, uint32_t payload_size, uint8_t* out);

// One message of a BATCH.
struct Record {
    std::string_view src;  // empty: unnamed sender
    std::string_view dst;
    uint32_t payload_size = 0;
    const uint8_t* payload = nullptr;
};

// Walks the records of a BATCH that decode() accepted, in order.
class Records {
public:
    explicit Records(const Frame& f) : at_(f.payload), end_(f.payload + f.payload_size), left_(f.batch_count) {}
    bool next(Record* out);  // false after the last

private:
    const uint8_t* at_;
    const uint8_t* end_;
    uint32_t left_;
};

// Writes one record of a BATCH at `at`, where `room` bytes are free; its
// size, or 0 where a name breaks the rules or it needs more room.
size_t put_record(std::string_view src, std::string_view dst, const uint8_t* payload, uint32_t payload_size,
                  uint8_t* at, size_t room);
// The same, appended to *records; false, *records unchanged, where a name
// breaks the rules or the records would pass kBatchBytes.
bool append_record(std::string_view src, std::string_view dst, const uint8_t* payload, uint32_t payload_size,
                   std::vector<uint8_t>* records);
// A record's size on the wire.
inline size_t record_size(std::string_view src, std::string_view dst, uint32_t payload_size) {
    return 1 + src.size() + 1 + dst.size() + 4 + payload_size;
}
// The BATCH header into `out` (at least kMsgHeaderMax bytes); its size, or 0.
size_t encode_batch(uint64_t session, std::string_view host, uint64_t first_seq, uint32_t count, uint8_t* out);

// The receiving side's check of one peer's MSG (or TOPIC) sequence. A new session (the
// peer restarted) starts afresh; within a session, numbers must grow, and a
// jump counts the frames that never arrived.
class Sequence {
public:
    enum class Verdict { new_session, in_order, gap, stale };
    // `count` frames numbered seq .. seq+count-1 (a BATCH), the caller
    // having checked that this does not wrap.
    Verdict accept(uint64_t session, uint64_t seq, uint64_t* lost, uint64_t count = 1);
    uint64_t session() const { return session_; }

private:
    bool started_ = false;
    uint64_t session_ = 0;
    uint64_t last_ = 0;
};

}  // namespace wire
}  // namespace hsipc_bridge
