// SPDX-License-Identifier: MIT
// The region as a file format: what lies where in the shared memory object.
// docs/region-format.md describes the same layout for humans; a change here
// that moves or resizes anything bumps kLayoutVersion.
//
// Everything in the region is plain data, atomics and offsets: no pointers,
// so every process can map it at its own address. Nothing read from the
// region is trusted: readers load a value once into a local and check it.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "hsipc.h"

namespace hsipc {

constexpr char kMagic[8] = {'H', 'S', 'I', 'P', 'C', 'R', 'G', 'N'};
constexpr uint32_t kLayoutVersion = 2;
constexpr uint64_t kCacheLine = 64;
constexpr uint64_t kPage = 4096;

// Limits on configurations (also in hsipc.h and docs/configuration).
constexpr uint32_t kMaxEndpoints = 4096;
constexpr uint32_t kMaxInboxCapacity = 1u << 20;
constexpr uint64_t kMaxBufferSize = 1ull << 30;
constexpr uint64_t kMaxTotalBuffers = 16000000;  // fits the 24-bit inbox entry, below its markers
constexpr uint64_t kMaxRegionSize = 1ull << 40;
constexpr uint32_t kMinProcessSlots = 64;
constexpr uint32_t kMaxTopics = 4096;
constexpr uint32_t kMaxSubscribers = HSIPC_MAX_SUBSCRIBERS;  // per topic; a publisher keeps a list on its stack
// How long a waiting poll spins before it sleeps, unless the region's
// configuration or hsipc_endpoint_set_spin says otherwise: long enough to
// catch a reply in a round trip, short enough not to burn a core.
constexpr int64_t kDefaultSpinNs = 50'000;
// A region's spin_ns at most: a longer spin is a busy loop, not a wait.
constexpr int64_t kMaxSpinNs = 1'000'000'000;

// The configuration as stored in the region header: fixed layout, independent
// of the public struct so the public struct may grow.
struct StoredPool {
    uint64_t buffer_size;
    uint32_t buffer_count;
    uint32_t reserved;
};

struct StoredConfig {
    uint32_t max_topics;       // 0: no topics (and no share records)
    uint32_t max_subscribers;  // per topic; 1 .. kMaxSubscribers where max_topics > 0
    uint32_t max_endpoints;
    uint32_t inbox_capacity;  // a power of two
    uint32_t pool_count;
    uint32_t process_slots;
    uint32_t mode;
    uint32_t max_buffers_per_process;  // 0 = no limit
    StoredPool pools[HSIPC_MAX_POOLS];
    int64_t spin_ns;  // every endpoint's initial spin, 0 .. kMaxSpinNs
};

// Page 0 of the region. Written once by the creator before the object gets
// its name, except lock_dirty.
struct RegionHeader {
    char magic[8];
    uint32_t layout_version;
    uint32_t header_size;  // sizeof(RegionHeader)
    uint64_t fingerprint;  // layout_fingerprint() of the creator's build
    uint64_t total_size;   // bytes of the object
    StoredConfig config;
    uint32_t creator_pid;  // informational only
    uint32_t reserved;
    // 1 while some process holds the region lock; finding it set on taking
    // the lock means the previous holder died inside (see region_lock.cc).
    alignas(kCacheLine) std::atomic<uint32_t> lock_dirty;
    // Bumped after every endpoint open, a futex word for hsipc_lookup_wait:
    // waiters sleep on it until a name may have appeared.
    alignas(kCacheLine) std::atomic<uint32_t> names_changed;
};

// One per process that may attach. The process owns slot i while it holds an
// open-file-description lock on byte kProcessLockByte0 + i of the object;
// the kernel drops that lock when the process dies, however it dies.
enum ProcessState : uint32_t { kProcessFree = 0, kProcessLive = 1 };

struct alignas(kCacheLine) ProcessSlot {
    std::atomic<uint32_t> state;
    std::atomic<uint32_t> gen;  // bumped at every claim, so (slot, gen) names one process
    std::atomic<int32_t> pid;   // informational only (pids are reused)
};

constexpr uint64_t kRegionLockByte = 0;
constexpr uint64_t kProcessLockByte0 = 1;

// One per endpoint: a descriptor, the receiver's futex word and the senders'
// tail hint, each on its own cache line so senders and receiver never write
// the same line except through the inbox ring itself.
enum EndpointState : uint32_t {
    kEndpointFree = 0,
    kEndpointOpening = 1,
    kEndpointOpen = 2,
    kEndpointClosing = 3,
    // Every gen this slot's ids can carry has been used: the slot is never
    // opened again, so no id it ever had can become valid again.
    kEndpointRetired = 4,
};

struct alignas(kCacheLine) EndpointSlot {
    // Descriptor: written under the region lock only.
    std::atomic<uint32_t> state;
    std::atomic<uint32_t> gen;  // 1 .. endpoint_gen_max(); changes at every close
    std::atomic<uint32_t> owner_slot;
    std::atomic<uint32_t> owner_gen;
    char name[HSIPC_NAME_MAX + 1];  // NUL-padded
    // How the receiver waits (ReceiverWait, wait.h): set by the receiver
    // before it sleeps in FUTEX_WAIT on this word or arms its fd; a sender
    // that sees it set exchanges it to 0 and wakes the receiver that way.
    alignas(kCacheLine) std::atomic<uint32_t> sleeping;
    // Receiver-written WakeSocketState bits (event_fd.h): whether the
    // endpoint has a wake socket file to remove at close, and whether its
    // receiver is armed, for a reaper to wake after a sender's death.
    std::atomic<uint32_t> wake_socket;
    // Sender-written: where a sender starts looking for the inbox's free
    // tail, as tail_hint_word(gen, position). Only a hint, tagged with the
    // gen of the incarnation whose sender stored it: a sender of a closed
    // incarnation may store it late, after a reopen, and such a hint may lie
    // ahead of the new tail, so senders check below it first (inbox.cc).
    alignas(kCacheLine) std::atomic<uint64_t> tail_hint;
};

// Per-buffer header, one cache line each and apart from the payloads, so a
// sender writing payload never shares a line with someone's header.
struct alignas(kCacheLine) BufferHeader {
    std::atomic<uint64_t> owner;  // see owner word below
    std::atomic<uint64_t> length;
    std::atomic<uint32_t> from;  // sender endpoint id
    // Bumped by each publish of the buffer to a topic (share.h): its shared
    // owner word carries it, so a word of an earlier sharing never matches.
    std::atomic<uint32_t> share_epoch;
};

// One per topic (max_topics of them; share.h, topic.h). Written under the
// region lock only. Its subscriber list lies in a table of its own:
// max_subscribers endpoint ids (0: none) per topic.
enum TopicState : uint32_t { kTopicFree = 0, kTopicOpen = 1 };

struct alignas(kCacheLine) TopicSlot {
    std::atomic<uint32_t> state;
    uint32_t reserved;
    char name[HSIPC_NAME_MAX + 1];  // NUL-padded
};

static_assert(sizeof(ProcessSlot) == 64);
static_assert(sizeof(EndpointSlot) == 256);
static_assert(sizeof(BufferHeader) == 64);
static_assert(sizeof(TopicSlot) == 128);
static_assert(sizeof(RegionHeader) <= kPage);
static_assert(std::atomic<uint64_t>::is_always_lock_free);
static_assert(std::atomic<uint32_t>::is_always_lock_free);

// ---- Owner word: who holds a buffer ---------------------------------------
// bits 62..63 kind, then
//   free                    0
//   held(slot, gen)         bits 32..61 process slot, 0..31 process gen:
//                           allocated or received by that process
//   shared(epoch)           bits 0..31 the buffer's share_epoch: published
//                           to a topic; its holders are the reference words
//                           of its share record (share.h), each an owner
//                           word of kind free, held or queued
//   queued(id, sender)      bits 45..61 the low 17 bits of the sending
//                           process's gen, 32..44 its slot, 0..31 the
//                           destination endpoint id: sent, not yet taken
// Every change of holder is one compare-and-swap of this word, so a process
// that dies at any instruction leaves the buffer with exactly one holder.
// A queued word names its sender so that a reaper's CAS for a dead sender
// fails once a live process has taken and re-sent the buffer (the same
// endpoint, a different sender), and its destination by the full id, which
// is never reused (docs/region-format.md, "Counters that wrap").
enum OwnerKind : uint64_t { kOwnerFree = 0, kOwnerHeld = 1, kOwnerQueued = 2, kOwnerShared = 3 };

constexpr uint64_t owner_word(OwnerKind kind, uint32_t index, uint32_t gen) {
    return (uint64_t(kind) << 62) | (uint64_t(index & 0x3fffffffu) << 32) | gen;
}
constexpr OwnerKind owner_kind(uint64_t w) { return OwnerKind(w >> 62); }
constexpr uint32_t owner_index(uint64_t w) { return uint32_t(w >> 32) & 0x3fffffffu; }
constexpr uint32_t owner_gen(uint64_t w) { return uint32_t(w); }

constexpr uint32_t kQueuedSlotBits = 13;        // process slots < kMaxEndpoints <= 2^13
constexpr uint32_t kQueuedSenderGenMask = 0x1ffff;  // 17 bits
constexpr uint64_t queued_word(hsipc_id to, uint32_t sender_slot, uint32_t sender_gen) {
    return (uint64_t(kOwnerQueued) << 62) | (uint64_t(sender_gen & kQueuedSenderGenMask) << (32 + kQueuedSlotBits)) |
           (uint64_t(sender_slot & ((1u << kQueuedSlotBits) - 1)) << 32) | to;
}
// Whether w is queued to endpoint `to`, whoever sent it.
constexpr bool queued_to(uint64_t w, hsipc_id to) { return owner_kind(w) == kOwnerQueued && owner_gen(w) == to; }
constexpr hsipc_id queued_destination(uint64_t w) { return owner_gen(w); }
constexpr uint32_t queued_sender_slot(uint64_t w) { return owner_index(w) & ((1u << kQueuedSlotBits) - 1); }
constexpr uint32_t queued_sender_gen(uint64_t w) { return owner_index(w) >> kQueuedSlotBits; }
static_assert(kMaxEndpoints <= (1u << kQueuedSlotBits), "every process slot fits a queued word");

// ---- Endpoint and topic ids ---------------------------------------------------
// Endpoint id = gen << index_bits | (index + 1), where index_bits is just
// wide enough for max_endpoints (Layout::id_index_bits), so small tables
// leave more bits to the gen; bit 31 is never set. Never 0. A closed
// endpoint's id goes stale because its slot's gen changes; a slot whose gen
// has no value left retires instead of wrapping, so no id is ever valid
// twice in the life of a region.
// Topic id = kTopicIdBit | (index + 1): topics are never removed, so an id
// needs no gen, and bit 31 keeps the two spaces apart (a topic id passed as
// a destination, or an endpoint id as a topic, is refused, never misread).
constexpr hsipc_id kTopicIdBit = 1u << 31;
constexpr uint32_t id_index_bits_for(uint32_t max_endpoints) {
    return max_endpoints == 0 ? 1 : 32 - uint32_t(__builtin_clz(max_endpoints));
}
constexpr uint32_t endpoint_gen_max(uint32_t index_bits) { return (1u << (31 - index_bits)) - 1; }
static_assert(id_index_bits_for(kMaxEndpoints) < 31, "an endpoint id leaves gen bits below kTopicIdBit");
constexpr hsipc_id make_endpoint_id(uint32_t index_bits, uint32_t index, uint32_t gen) {
    return (gen << index_bits) | (index + 1);
}

constexpr uint64_t tail_hint_word(uint32_t gen, uint32_t position) { return (uint64_t(gen) << 32) | position; }

// ---- Inbox entries ----------------------------------------------------------
// A slot of an inbox ring: bits 32..63 the position (sequence) the slot is
// for, 24..31 the low bits of the endpoint gen it was made for, 0..23 the
// content: 0 empty, kEntryClosed closed, kEntrySkip a message its sender
// withdrew (see message.cc, "stale landing"), else global buffer index + 1.
constexpr uint32_t kEntryClosed = 0xffffff;
constexpr uint32_t kEntrySkip = 0xfffffe;

constexpr uint64_t entry_word(uint32_t seq, uint32_t gen, uint32_t content) {
    return (uint64_t(seq) << 32) | (uint64_t(gen & 0xff) << 24) | (content & 0xffffff);
}
constexpr uint32_t entry_seq(uint64_t e) { return uint32_t(e >> 32); }
constexpr uint32_t entry_gen(uint64_t e) { return uint32_t(e >> 24) & 0xff; }
constexpr uint32_t entry_content(uint64_t e) { return uint32_t(e) & 0xffffff; }
// Contents that name a buffer (global index + 1), as opposed to markers.
constexpr bool entry_names_buffer(uint32_t content) { return content != 0 && content < kEntrySkip; }
static_assert(kMaxTotalBuffers < kEntrySkip, "a buffer index + 1 must never look like a marker");

// ---- Where things lie ---------------------------------------------------------
// Computed from a validated StoredConfig, never read from the region, so a
// peer cannot move anything by scribbling on the header.
struct PoolLayout {
    uint64_t buffer_size;  // usable bytes
    uint64_t stride;       // buffer_size rounded up to a cache line
    uint32_t stride_shift; // log2(stride) where stride is a power of two, else 0
    uint32_t count;
    uint32_t first;        // global index of its first buffer
    uint64_t payload_off;  // offset of its first payload
};

struct Layout {
    StoredConfig config;
    uint32_t total_buffers;
    uint32_t id_index_bits;  // id_index_bits_for(max_endpoints)
    uint64_t process_table_off;
    uint64_t endpoint_table_off;
    uint64_t rings_off;
    uint64_t ring_bytes;  // per endpoint, a multiple of a cache line
    uint64_t buffer_headers_off;
    uint64_t topic_table_off;    // max_topics TopicSlots
    uint64_t subscribers_off;    // max_topics x max_subscribers u32 endpoint ids
    uint64_t share_records_off;  // total_buffers x max_subscribers u64 reference words (where topics exist)
    PoolLayout pools[HSIPC_MAX_POOLS];
    uint64_t total_size;
};

// Fills *out from cfg; false where the sizes overflow kMaxRegionSize.
bool compute_layout(const StoredConfig& cfg, Layout* out);

// Hash of everything that must agree between two builds sharing a region:
// struct sizes and offsets, pointer width, byte order.
uint64_t layout_fingerprint();

// process_slots for a given max_endpoints.
uint32_t process_slots_for(uint32_t max_endpoints);

}  // namespace hsipc
