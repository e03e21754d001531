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
//   3    1     kind: 1 HELLO, 2 MSG, 3 BYE, 4 TOPIC
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
//
// The header ends exactly there. HELLO and BYE are one part; MSG and TOPIC
// are two: the header and the payload of exactly L bytes (L <= the
// receiver's max_message). Names follow hsipc's endpoint rules
// ([A-Za-z0-9._-]). TOPIC and the HELLO's topic list came before version 1
// was first released: every version 1 bridge speaks them.
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

enum class Kind : uint8_t { hello = 1, msg = 2, bye = 3, topic = 4 };

// Why a frame was refused. X(name, sentence); none is success.
#define HSIPC_BRIDGE_REFUSALS(X)                                        \
    X(none, "accepted")                                                 \
    X(truncated, "shorter than its header says")                        \
    X(bad_magic, "not an hsipc-bridge frame (magic)")                   \
    X(bad_version, "wire format version not 1")                         \
    X(bad_kind, "unknown frame kind")                                   \
    X(bad_session, "session 0")                                         \
    X(bad_host, "host name empty, too long or with a bad byte")         \
    X(bad_count, "more than 256 exports or topics")                     \
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
    // MSG and TOPIC
    uint64_t seq = 0;
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

// The receiving side's check of one peer's MSG (or TOPIC) sequence. A new session (the
// peer restarted) starts afresh; within a session, numbers must grow, and a
// jump counts the frames that never arrived.
class Sequence {
public:
    enum class Verdict { new_session, in_order, gap, stale };
    Verdict accept(uint64_t session, uint64_t seq, uint64_t* lost);
    uint64_t session() const { return session_; }

private:
    bool started_ = false;
    uint64_t session_ = 0;
    uint64_t last_ = 0;
};

}  // namespace wire
}  // namespace hsipc_bridge
