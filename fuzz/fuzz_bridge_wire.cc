// SPDX-License-Identifier: MIT
// Fuzz target: the hsipc-bridge frame decoder (bridge/wire.h), what a
// peer — or anyone who reaches a bridge's listen address — controls.
//
// Input: byte 0 picks the number of parts (bits 0-1: 0..3) and the
// receiver's max_message (bits 2-3: 0, 16, 4096 or 4 MiB); then a u16
// size per part but the last (clamped to what is left), then the parts'
// bytes. Each part is copied to a heap block of exactly its size, so a read
// past it is an AddressSanitizer report.
// Checks:
//  - decode returns a Refusal in range and allocates nothing (counted
//    around the call through the sanitizers' allocation hooks, where built
//    with one);
//  - an accepted frame has valid names, views inside its parts, a payload
//    of exactly the announced size within max_message, and encodes back to
//    the same header bytes;
//  - an accepted BATCH's records walk exactly inside its records part and
//    encode back to it;
//  - the sequence check never takes a number twice within a session.
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "fuzz_util.h"
#include "wire.h"

namespace {

size_t g_allocations = 0;

using namespace hsipc_bridge::wire;

bool inside(std::string_view v, const Part& p) {
    const auto* b = reinterpret_cast<const uint8_t*>(v.data());
    return v.empty() || (b >= p.data && b + v.size() <= p.data + p.size);
}

}  // namespace

// Allocations are counted through the sanitizers' hooks, which see malloc
// and operator new alike; a build without a sanitizer has no hooks and
// skips that check.
extern "C" int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void*, size_t),
                                                         void (*free_hook)(const volatile void*))
    __attribute__((weak));

namespace {

void count_allocation(const volatile void*, size_t) { g_allocations++; }
void ignore_free(const volatile void*) {}

void install_hooks() {
    static bool installed = false;
    if (installed) return;
    installed = true;
    // Both hooks are needed: a null one makes the install fail.
    if (__sanitizer_install_malloc_and_free_hooks &&
        __sanitizer_install_malloc_and_free_hooks(count_allocation, ignore_free) == 0) {
        fuzz::fail("cannot install the allocation hooks");
    }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    if (const char* dir = fuzz::seed_dir()) {
        const uint64_t session = 0x0123456789abcdefull;
        // Seeds in the input layout above: parts, then sizes, then bytes.
        auto seed = [&](const char* file, uint8_t max_choice, const std::vector<std::vector<uint8_t>>& parts) {
            fuzz::Seed s;
            s.u8(uint8_t(parts.size() | max_choice << 2));
            for (size_t i = 0; i + 1 < parts.size(); i++) s.u16(parts[i].size());
            for (const auto& p : parts) s.raw(p.data(), p.size());
            fuzz::write_seed(dir, file, s.bytes());
        };
        std::vector<uint8_t> hello, hello_none, hello_topics, bye, longest;
        encode_hello(session, "hostA", {"server", "log.v2", "a"}, &hello);
        encode_hello(session, "hostB", {"server"}, {"ticks", "frames.raw"}, &hello_topics);
        encode_hello(session, "b", {}, &hello_none);
        encode_bye(session, "hostB", &bye);
        encode_hello(session, std::string(31, 'h'), std::vector<std::string>(256, std::string(63, 'n')),
                     std::vector<std::string>(256, std::string(63, 't')), &longest);
        auto msg = [&](uint64_t seq, const std::string& src, const std::string& dst, uint32_t size) {
            std::vector<uint8_t> h(kMsgHeaderMax);
            h.resize(encode_msg(session, "hostA", seq, src, dst, size, h.data()));
            return h;
        };
        auto topic = [&](uint64_t seq, const std::string& src, const std::string& name, uint32_t size) {
            std::vector<uint8_t> h(kMsgHeaderMax);
            h.resize(encode_topic(session, "hostA", seq, src, name, size, h.data()));
            return h;
        };
        seed("hello", 2, {hello});
        seed("hello_no_exports", 2, {hello_none});
        seed("hello_longest", 2, {longest});
        seed("bye", 2, {bye});
        seed("msg", 2, {msg(1, "client", "server", 5), {'h', 'e', 'l', 'l', 'o'}});
        seed("msg_unnamed_empty", 0, {msg(2, "", "server", 0), {}});
        seed("msg_too_big", 1, {msg(3, "c", "s", 17), std::vector<uint8_t>(17, 'x')});
        seed("msg_length_mismatch", 2, {msg(4, "c", "s", 9), std::vector<uint8_t>(8, 'x')});
        seed("msg_three_parts", 2, {msg(5, "c", "s", 1), {'x'}, {'y'}});
        seed("msg_no_payload", 2, {msg(6, "c", "s", 1)});
        seed("hello_topics", 2, {hello_topics});
        seed("topic", 2, {topic(1, "camera", "frames.raw", 3), {'a', 'b', 'c'}});
        seed("topic_unnamed_empty", 0, {topic(2, "", "ticks", 0), {}});
        seed("topic_too_big", 1, {topic(3, "p", "t", 17), std::vector<uint8_t>(17, 'x')});
        auto batch = [&](uint64_t seq, uint32_t count, const std::vector<std::pair<std::string, std::string>>& to,
                         size_t payload) {
            std::vector<uint8_t> h(kMsgHeaderMax), records;
            h.resize(encode_batch(session, "hostA", seq, count, h.data()));
            const std::vector<uint8_t> bytes(payload, 'p');
            for (const auto& [src, dst] : to) append_record(src, dst, bytes.data(), uint32_t(payload), &records);
            return std::vector<std::vector<uint8_t>>{h, records};
        };
        seed("batch", 2, batch(7, 3, {{"client", "server"}, {"", "log"}, {"c2", "server"}}, 5));
        seed("batch_one_empty", 0, batch(1, 1, {{"c", "s"}}, 0));
        seed("batch_count_mismatch", 2, batch(9, 2, {{"c", "s"}}, 3));
        seed("batch_record_too_big", 1, batch(2, 2, {{"c", "s"}, {"c", "s"}}, 17));
        seed("batch_wraps", 2, batch(UINT64_MAX, 1, {{"c", "s"}}, 1));
        seed("garbage", 2, {{0x68, 0x42, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 255, 'h'}});
        std::exit(0);
    }
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    install_hooks();
    fuzz::Input in(data, size);
    const uint8_t control = in.u8();
    const size_t count = control & 3;
    static const uint64_t kMaxChoices[] = {0, 16, 4096, 4u << 20};
    const uint64_t max_payload = kMaxChoices[(control >> 2) & 3];
    size_t sizes[3] = {0, 0, 0};
    for (size_t i = 0; i + 1 < count; i++) sizes[i] = in.u16();
    // The bytes left, cut into the parts.
    const size_t control_bytes = 1 + 2 * (count ? count - 1 : 0);
    const size_t header = size < control_bytes ? size : control_bytes;
    const uint8_t* rest = data + header;
    size_t left = size - header;
    std::vector<std::unique_ptr<uint8_t[]>> blocks;
    Part parts[3];
    for (size_t i = 0; i < count; i++) {
        const size_t n = i + 1 == count ? left : (sizes[i] < left ? sizes[i] : left);
        blocks.emplace_back(new uint8_t[n ? n : 1]);
        std::memcpy(blocks.back().get(), rest, n);
        parts[i] = {blocks.back().get(), n};
        rest += n;
        left -= n;
    }

    Frame* f = new Frame;
    const size_t before = g_allocations;
    const Refusal r = decode(count ? parts : nullptr, count, max_payload, f);
    FUZZ_CHECK(g_allocations == before, "decode allocated %zu times", g_allocations - before);
    FUZZ_CHECK(size_t(r) < size_t(Refusal::count_), "refusal %d out of range", int(r));
    if (r == Refusal::none) {
        FUZZ_CHECK(valid_host(f->host) && inside(f->host, parts[0]), "host");
        FUZZ_CHECK(f->session != 0, "session 0 accepted");
        std::vector<uint8_t> again;
        switch (f->kind) {
        case Kind::hello: {
            FUZZ_CHECK(count == 1 && f->export_count <= kMaxExports, "hello shape");
            FUZZ_CHECK(f->topic_count <= kMaxTopics, "hello topic count");
            std::vector<std::string> exports, topics;
            for (uint32_t i = 0; i < f->export_count; i++) {
                FUZZ_CHECK(valid_name(f->exports[i]) && inside(f->exports[i], parts[0]), "export %u", i);
                exports.emplace_back(f->exports[i]);
            }
            for (uint32_t i = 0; i < f->topic_count; i++) {
                FUZZ_CHECK(valid_name(f->topics[i]) && inside(f->topics[i], parts[0]), "topic %u", i);
                topics.emplace_back(f->topics[i]);
            }
            FUZZ_CHECK(encode_hello(f->session, f->host, exports, topics, &again), "hello does not encode");
            break;
        }
        case Kind::msg:
        case Kind::topic: {
            FUZZ_CHECK(count == 2 && f->seq != 0, "msg shape");
            FUZZ_CHECK((f->src.empty() || valid_name(f->src)) && valid_name(f->dst), "msg names");
            FUZZ_CHECK(inside(f->src, parts[0]) && inside(f->dst, parts[0]), "msg views");
            FUZZ_CHECK(f->payload_size <= max_payload && f->payload_size == parts[1].size &&
                           f->payload == parts[1].data,
                       "payload %u of %zu, max %llu", f->payload_size, parts[1].size, (unsigned long long)max_payload);
            again.resize(kMsgHeaderMax);
            again.resize(f->kind == Kind::msg
                             ? encode_msg(f->session, f->host, f->seq, f->src, f->dst, f->payload_size, again.data())
                             : encode_topic(f->session, f->host, f->seq, f->src, f->dst, f->payload_size,
                                            again.data()));
            Sequence s;
            uint64_t lost;
            FUZZ_CHECK(s.accept(f->session, f->seq, &lost) == Sequence::Verdict::new_session && lost == 0, "seq");
            FUZZ_CHECK(s.accept(f->session, f->seq, &lost) == Sequence::Verdict::stale, "seq taken twice");
            break;
        }
        case Kind::batch: {
            FUZZ_CHECK(count == 2 && f->seq != 0, "batch shape");
            FUZZ_CHECK(f->batch_count >= 1 && f->batch_count <= kBatchCountMax, "batch count %u", f->batch_count);
            FUZZ_CHECK(f->seq + f->batch_count - 1 >= f->seq, "batch numbers wrap");
            FUZZ_CHECK(f->payload == parts[1].data && f->payload_size == parts[1].size && f->payload_size <= kBatchBytes,
                       "batch records");
            // Every record walks inside the records part, within the
            // limits, and the records encode back to the same bytes.
            std::vector<uint8_t> records;
            Records walk(*f);
            Record rec;
            uint32_t n = 0;
            while (walk.next(&rec)) {
                n++;
                FUZZ_CHECK((rec.src.empty() || valid_name(rec.src)) && valid_name(rec.dst), "record %u names", n);
                FUZZ_CHECK(inside(rec.src, parts[1]) && inside(rec.dst, parts[1]), "record %u views", n);
                FUZZ_CHECK(rec.payload_size <= max_payload, "record %u payload %u", n, rec.payload_size);
                FUZZ_CHECK(inside(std::string_view(reinterpret_cast<const char*>(rec.payload), rec.payload_size),
                                  parts[1]),
                           "record %u payload view", n);
                FUZZ_CHECK(append_record(rec.src, rec.dst, rec.payload, rec.payload_size, &records),
                           "record %u does not encode", n);
            }
            FUZZ_CHECK(n == f->batch_count, "%u records walked, %u announced", n, f->batch_count);
            FUZZ_CHECK(records.size() == parts[1].size &&
                           (records.empty() || std::memcmp(records.data(), parts[1].data, records.size()) == 0),
                       "records do not encode back to their bytes");
            again.resize(kMsgHeaderMax);
            again.resize(encode_batch(f->session, f->host, f->seq, f->batch_count, again.data()));
            Sequence s;
            uint64_t lost;
            FUZZ_CHECK(s.accept(f->session, f->seq, &lost, f->batch_count) == Sequence::Verdict::new_session,
                       "batch seq");
            FUZZ_CHECK(s.accept(f->session, f->seq + f->batch_count - 1, &lost) == Sequence::Verdict::stale,
                       "a batch's last number taken twice");
            break;
        }
        case Kind::bye:
            FUZZ_CHECK(count == 1, "bye shape");
            FUZZ_CHECK(encode_bye(f->session, f->host, &again), "bye does not encode");
            break;
        default:
            FUZZ_CHECK(false, "kind %d accepted", int(f->kind));
        }
        FUZZ_CHECK(again.size() == parts[0].size && std::memcmp(again.data(), parts[0].data, again.size()) == 0,
                   "accepted header does not encode back to its bytes (%zu vs %zu)", again.size(), parts[0].size);
    }
    delete f;
    return 0;
}
