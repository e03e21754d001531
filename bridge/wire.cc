// SPDX-License-Identifier: MIT
#include "wire.h"

#include <cstring>

namespace hsipc_bridge {
namespace wire {
namespace {

// Reads a frame front to back; every read is checked against the end, and
// a failed read leaves the reader failed, so a decode can test once.
class Reader {
public:
    Reader(const uint8_t* data, size_t size) : p_(data), end_(data + size) {}
    bool ok() const { return ok_; }
    bool at_end() const { return p_ == end_; }
    const uint8_t* position() const { return p_; }
    uint64_t le(unsigned bytes) {
        const uint8_t* at = p_;
        if (!take(bytes)) return 0;
        uint64_t v = 0;
        for (unsigned i = 0; i < bytes; i++) v |= uint64_t(at[i]) << (8 * i);
        return v;
    }
    std::string_view text(size_t n) {
        const uint8_t* at = p_;
        if (!take(n)) return {};
        return std::string_view(reinterpret_cast<const char*>(at), n);
    }

private:
    bool take(size_t n) {
        if (!ok_ || size_t(end_ - p_) < n) {
            ok_ = false;
            return false;
        }
        p_ += n;
        return true;
    }
    const uint8_t* p_;
    const uint8_t* end_;
    bool ok_ = true;
};

void put_le(std::vector<uint8_t>* out, uint64_t v, unsigned bytes) {
    for (unsigned i = 0; i < bytes; i++) out->push_back(uint8_t(v >> (8 * i)));
}

uint8_t* put_le(uint8_t* p, uint64_t v, unsigned bytes) {
    for (unsigned i = 0; i < bytes; i++) *p++ = uint8_t(v >> (8 * i));
    return p;
}

bool name_byte(char c, bool dot_allowed) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           (dot_allowed && c == '.');
}

bool valid_chars(std::string_view s, size_t max, bool dot_allowed) {
    if (s.empty() || s.size() > max) return false;
    for (char c : s) {
        if (!name_byte(c, dot_allowed)) return false;
    }
    return true;
}

void put_header(std::vector<uint8_t>* out, Kind kind, uint64_t session, std::string_view host) {
    out->push_back(kMagic0);
    out->push_back(kMagic1);
    out->push_back(kVersion);
    out->push_back(uint8_t(kind));
    put_le(out, session, 8);
    out->push_back(uint8_t(host.size()));
    out->insert(out->end(), host.begin(), host.end());
}

// A HELLO's list: u16 count (at most max), then count x (u8 length, name).
Refusal read_names(Reader& in, size_t max, uint32_t* count, std::string_view* names) {
    const uint64_t n = in.le(2);
    if (!in.ok()) return Refusal::truncated;
    if (n > max) return Refusal::bad_count;
    *count = uint32_t(n);
    for (uint32_t i = 0; i < *count; i++) {
        const size_t len = size_t(in.le(1));
        names[i] = in.text(len);
        if (!in.ok()) return Refusal::truncated;
        if (!valid_name(names[i])) return Refusal::bad_name;
    }
    return Refusal::none;
}

// What MSG, TOPIC and a BATCH record share: u8 src length, src, u8 dst
// length, dst, u32 payload length. Read, then checked apart, since MSG
// checks its seq between the two.
void read_addresses(Reader& in, std::string_view* src, std::string_view* dst, uint32_t* payload_size) {
    const size_t src_size = size_t(in.le(1));
    *src = in.text(src_size);
    const size_t dst_size = size_t(in.le(1));
    *dst = in.text(dst_size);
    *payload_size = uint32_t(in.le(4));
}

Refusal check_addresses(std::string_view src, std::string_view dst, uint32_t payload_size, uint64_t max_payload) {
    if ((!src.empty() && !valid_name(src)) || !valid_name(dst)) return Refusal::bad_name;
    if (payload_size > max_payload) return Refusal::too_big;
    return Refusal::none;
}

// One BATCH record: checked the same way whether decode() validates a
// batch or Records walks one it accepted.
Refusal read_record(Reader& in, uint64_t max_payload, Record* out) {
    read_addresses(in, &out->src, &out->dst, &out->payload_size);
    if (!in.ok()) return Refusal::truncated;
    const Refusal r = check_addresses(out->src, out->dst, out->payload_size, max_payload);
    if (r != Refusal::none) return r;
    const std::string_view bytes = in.text(out->payload_size);
    if (!in.ok()) return Refusal::truncated;
    out->payload = reinterpret_cast<const uint8_t*>(bytes.data());
    return Refusal::none;
}

void put_names(std::vector<uint8_t>* out, const std::vector<std::string>& names) {
    put_le(out, names.size(), 2);
    for (const std::string& n : names) {
        out->push_back(uint8_t(n.size()));
        out->insert(out->end(), n.begin(), n.end());
    }
}

// The header's common fields into a caller's buffer; past their end.
uint8_t* put_fixed_header(uint8_t* p, Kind kind, uint64_t session, std::string_view host) {
    *p++ = kMagic0;
    *p++ = kMagic1;
    *p++ = kVersion;
    *p++ = uint8_t(kind);
    p = put_le(p, session, 8);
    *p++ = uint8_t(host.size());
    std::memcpy(p, host.data(), host.size());
    return p + host.size();
}

// MSG and TOPIC share their layout; only the kind and what dst names differ.
size_t encode_numbered(Kind kind, uint64_t session, std::string_view host, uint64_t seq, std::string_view src,
                       std::string_view dst, uint32_t payload_size, uint8_t* out) {
    if (session == 0 || seq == 0 || !valid_host(host) || (!src.empty() && !valid_name(src)) || !valid_name(dst)) {
        return 0;
    }
    uint8_t* p = put_fixed_header(out, kind, session, host);
    p = put_le(p, seq, 8);
    *p++ = uint8_t(src.size());
    if (!src.empty()) std::memcpy(p, src.data(), src.size());
    p += src.size();
    *p++ = uint8_t(dst.size());
    std::memcpy(p, dst.data(), dst.size());
    p += dst.size();
    p = put_le(p, payload_size, 4);
    return size_t(p - out);
}

#define HSIPC_BRIDGE_REFUSAL_NAME_(name, sentence) #name,
#define HSIPC_BRIDGE_REFUSAL_SENTENCE_(name, sentence) sentence,
const char* const kRefusalNames[] = {HSIPC_BRIDGE_REFUSALS(HSIPC_BRIDGE_REFUSAL_NAME_)};
const char* const kRefusalSentences[] = {HSIPC_BRIDGE_REFUSALS(HSIPC_BRIDGE_REFUSAL_SENTENCE_)};
#undef HSIPC_BRIDGE_REFUSAL_NAME_
#undef HSIPC_BRIDGE_REFUSAL_SENTENCE_

}  // namespace

const char* refusal_name(Refusal r) {
    return size_t(r) < size_t(Refusal::count_) ? kRefusalNames[size_t(r)] : "unknown";
}

const char* refusal_sentence(Refusal r) {
    return size_t(r) < size_t(Refusal::count_) ? kRefusalSentences[size_t(r)] : "unknown refusal";
}

bool valid_host(std::string_view s) { return valid_chars(s, kHostMax, false); }
bool valid_name(std::string_view s) { return valid_chars(s, kNameMax, true); }

Refusal decode(const Part* parts, size_t count, uint64_t max_payload, Frame* out) {
    if (count == 0) return Refusal::bad_parts;
    Reader in(parts[0].data, parts[0].size);
    const uint64_t magic0 = in.le(1), magic1 = in.le(1), version = in.le(1), kind = in.le(1);
    if (!in.ok()) return Refusal::truncated;
    if (magic0 != kMagic0 || magic1 != kMagic1) return Refusal::bad_magic;
    // Checked before anything else a later version may change, so an old
    // bridge says "version" to a new one rather than something misleading.
    if (version != kVersion) return Refusal::bad_version;
    if (kind < uint8_t(Kind::hello) || kind > uint8_t(Kind::batch)) return Refusal::bad_kind;
    out->kind = Kind(kind);
    out->session = in.le(8);
    const size_t host_size = size_t(in.le(1));
    out->host = in.text(host_size);
    if (!in.ok()) return Refusal::truncated;
    if (out->session == 0) return Refusal::bad_session;
    if (!valid_host(out->host)) return Refusal::bad_host;

    switch (out->kind) {
    case Kind::hello: {
        if (count != 1) return Refusal::bad_parts;
        const Refusal r = read_names(in, kMaxExports, &out->export_count, out->exports.data());
        if (r != Refusal::none) return r;
        const Refusal t = read_names(in, kMaxTopics, &out->topic_count, out->topics.data());
        if (t != Refusal::none) return t;
        break;
    }
    case Kind::msg:
    case Kind::topic: {
        out->seq = in.le(8);
        read_addresses(in, &out->src, &out->dst, &out->payload_size);
        if (!in.ok()) return Refusal::truncated;
        if (out->seq == 0) return Refusal::bad_seq;
        const Refusal r = check_addresses(out->src, out->dst, out->payload_size, max_payload);
        if (r != Refusal::none) return r;
        if (!in.at_end()) return Refusal::trailing;
        if (count != 2) return Refusal::bad_parts;
        if (parts[1].size != out->payload_size) return Refusal::bad_length;
        out->payload = parts[1].data;
        return Refusal::none;
    }
    case Kind::batch: {
        out->seq = in.le(8);
        out->batch_count = uint32_t(in.le(2));
        if (!in.ok()) return Refusal::truncated;
        if (out->batch_count == 0 || out->batch_count > kBatchCountMax) return Refusal::bad_count;
        // Nor may its last number wrap: a peer could otherwise make every
        // later frame of its session look stale.
        if (out->seq == 0 || out->seq + out->batch_count - 1 < out->seq) return Refusal::bad_seq;
        if (!in.at_end()) return Refusal::trailing;
        if (count != 2) return Refusal::bad_parts;
        if (parts[1].size > kBatchBytes) return Refusal::too_big;
        Reader records(parts[1].data, parts[1].size);
        for (uint32_t i = 0; i < out->batch_count; i++) {
            Record r;
            const Refusal refusal = read_record(records, max_payload, &r);
            if (refusal != Refusal::none) return refusal;
        }
        if (!records.at_end()) return Refusal::trailing;
        out->payload = parts[1].data;
        out->payload_size = uint32_t(parts[1].size);
        return Refusal::none;
    }
    case Kind::bye:
        if (count != 1) return Refusal::bad_parts;
        break;
    }
    return in.at_end() ? Refusal::none : Refusal::trailing;
}

bool encode_hello(uint64_t session, std::string_view host, const std::vector<std::string>& exports,
                  const std::vector<std::string>& topics, std::vector<uint8_t>* out) {
    if (session == 0 || !valid_host(host) || exports.size() > kMaxExports || topics.size() > kMaxTopics) return false;
    for (const std::string& e : exports) {
        if (!valid_name(e)) return false;
    }
    for (const std::string& t : topics) {
        if (!valid_name(t)) return false;
    }
    put_header(out, Kind::hello, session, host);
    put_names(out, exports);
    put_names(out, topics);
    return true;
}

bool encode_bye(uint64_t session, std::string_view host, std::vector<uint8_t>* out) {
    if (session == 0 || !valid_host(host)) return false;
    put_header(out, Kind::bye, session, host);
    return true;
}

size_t encode_msg(uint64_t session, std::string_view host, uint64_t seq, std::string_view src, std::string_view dst,
                  uint32_t payload_size, uint8_t* out) {
    return encode_numbered(Kind::msg, session, host, seq, src, dst, payload_size, out);
}

size_t encode_topic(uint64_t session, std::string_view host, uint64_t seq, std::string_view src,
                    std::string_view topic, uint32_t payload_size, uint8_t* out) {
    return encode_numbered(Kind::topic, session, host, seq, src, topic, payload_size, out);
}

bool Records::next(Record* out) {
    if (left_ == 0) return false;
    Reader in(at_, size_t(end_ - at_));
    // UINT64_MAX: decode() already held each payload to max_message.
    if (read_record(in, UINT64_MAX, out) != Refusal::none) {
        left_ = 0;  // not a batch decode() accepted
        return false;
    }
    at_ = in.position();
    left_--;
    return true;
}

size_t put_record(std::string_view src, std::string_view dst, const uint8_t* payload, uint32_t payload_size,
                  uint8_t* at, size_t room) {
    const size_t size = record_size(src, dst, payload_size);
    if (size > room || (!src.empty() && !valid_name(src)) || !valid_name(dst)) return 0;
    uint8_t* p = at;
    *p++ = uint8_t(src.size());
    std::memcpy(p, src.data(), src.size());
    p += src.size();
    *p++ = uint8_t(dst.size());
    std::memcpy(p, dst.data(), dst.size());
    p += dst.size();
    p = put_le(p, payload_size, 4);
    if (payload_size) std::memcpy(p, payload, payload_size);
    return size;
}

bool append_record(std::string_view src, std::string_view dst, const uint8_t* payload, uint32_t payload_size,
                   std::vector<uint8_t>* records) {
    const size_t used = records->size();
    if (used >= kBatchBytes) return false;
    records->resize(kBatchBytes);
    const size_t size = put_record(src, dst, payload, payload_size, records->data() + used, kBatchBytes - used);
    records->resize(used + size);
    return size != 0;
}

size_t encode_batch(uint64_t session, std::string_view host, uint64_t first_seq, uint32_t count, uint8_t* out) {
    if (session == 0 || first_seq == 0 || first_seq + count - 1 < first_seq || count == 0 ||
        count > kBatchCountMax || !valid_host(host)) {
        return 0;
    }
    uint8_t* p = put_fixed_header(out, Kind::batch, session, host);
    p = put_le(p, first_seq, 8);
    p = put_le(p, count, 2);
    return size_t(p - out);
}

Sequence::Verdict Sequence::accept(uint64_t session, uint64_t seq, uint64_t* lost, uint64_t count) {
    *lost = 0;
    if (!started_ || session != session_) {
        started_ = true;
        session_ = session;
        last_ = seq + count - 1;
        return Verdict::new_session;
    }
    if (seq <= last_) return Verdict::stale;
    *lost = seq - last_ - 1;
    last_ = seq + count - 1;
    return *lost == 0 ? Verdict::in_order : Verdict::gap;
}

}  // namespace wire
}  // namespace hsipc_bridge
