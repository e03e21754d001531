// SPDX-License-Identifier: MIT
// The bridge's published counters: a one-page file a running bridge keeps
// at /dev/shm/hsipc-bridge.REGION.HOST, from which another process
// (`hsipc-bridge --stats`, a monitoring script) reads its counters without
// asking the bridge anything (docs/bridge.md, "Counters").
//
// The page holds a header, the names of the values (stats_format.h's
// visit_stats, stored once at start, so a reader needs no list of its own
// and reads a bridge of another build as well) and the values. Two
// seqlocks with one writer, the bridge: one over the header and names,
// written when a bridge starts, and one over the values alone, written
// every loop turn. So what a reader must copy between two turns of a busy
// bridge is the values (45 words), not the page (512): a slow reader (a
// loaded machine, a sanitizer build) still gets a snapshot. A reader keeps
// a copy only where each sequence was even and unchanged around it, then
// validates every field: anyone with write access may have truncated or
// scribbled on the file, and the reader then refuses it with a reason.
//
// Liveness without trusting pids: the bridge holds an OFD write lock on the
// whole file while it runs, which its death releases with its descriptors.
// A second bridge of the same region and host name cannot take it and does
// not start. A reader only tests for the lock (F_OFD_GETLK, which needs no
// write access) rather than taking one, so it never makes a bridge starting
// at that moment believe another one runs. The file stays when the bridge
// stops, holding its last counts; the next bridge of that name reuses it,
// and `hsipc rm REGION` removes it while no bridge holds it.
//
// No ZeroMQ, no hsipc: tested alone (bridge/tests/stats_page_test.cc).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

#include "counters.h"
#include "stats_format.h"
#include "wire.h"

namespace hsipc_bridge {

// The file's layout, version 1, in the machine's byte order (the reader is
// on the same host). Every field is read from a copy and validated.
namespace stats_layout {

constexpr char kMagic[8] = {'h', 's', 'b', 'r', 's', 't', 'a', 't'};
constexpr uint32_t kVersion = 1;
constexpr size_t kPageSize = 4096;
constexpr size_t kMaxStats = 96;       // visit_stats yields 45 today
constexpr size_t kStatNameSize = 32;   // with its NUL

struct Page {
    char magic[8];
    uint32_t version;
    uint32_t stat_count;     // names and values in use
    uint64_t header_seq;     // seqlock of all but the values: odd while a bridge starts
    uint64_t values_seq;     // seqlock of the values: odd while a snapshot is written
    int64_t pid;             // the bridge's, for people: liveness is the lock
    int64_t started_unix_ns; // CLOCK_REALTIME when it started
    uint64_t reserved[2];
    char region[wire::kNameMax + 1];  // NUL-terminated
    char host[wire::kHostMax + 1];
    char names[kMaxStats][kStatNameSize];
    uint8_t sparse[kMaxStats];  // 1: left out of the line while zero
    uint64_t values[kMaxStats];
};
static_assert(sizeof(Page) == kPageSize, "one page");
static_assert(offsetof(Page, header_seq) == 16 && offsetof(Page, values_seq) == 24 && offsetof(Page, values) % 8 == 0,
              "words where the seqlocks need them");
constexpr size_t kHeaderSeqWord = offsetof(Page, header_seq) / 8;
constexpr size_t kValuesSeqWord = offsetof(Page, values_seq) / 8;
constexpr size_t kValuesWord = offsetof(Page, values) / 8;  // the header is the words before
constexpr size_t kWords = kPageSize / 8;

}  // namespace stats_layout

// /dev/shm/hsipc-bridge.REGION.HOST. Region names may hold dots, host names
// never do, so the name parses back from its last dot; "hsipc-bridge." is
// no prefix of the library's "hsipc.", so hsipc ls never lists it.
std::string stats_page_path(const std::string& region, const std::string& host);

// The writer: the running bridge's side. Single-threaded.
class StatsPage {
public:
    StatsPage() = default;
    ~StatsPage() { close(); }
    StatsPage(const StatsPage&) = delete;
    StatsPage& operator=(const StatsPage&) = delete;

    // Creates the file, or takes over the one a stopped or killed bridge
    // left, with the region's permission bits (less x) and group; takes its
    // lock and publishes the snapshot (c, g). False with *error, which says
    // so where another bridge of this name runs; *warning, where not empty,
    // is worth logging (the file could not be given the region's group).
    bool open(const std::string& region, const std::string& host, const Counters& c, const Gauges& g,
              std::string* warning, std::string* error);
    // Publishes a snapshot: a few hundred bytes of stores, no system call.
    void publish(const Counters& c, const Gauges& g);
    // Unmaps and closes; closing releases the lock. The file stays.
    void close();
    // Publishes the last snapshot, then closes: what --stats shows of a
    // stopped bridge. Nothing where it is not open.
    void finish(const Counters& c, const Gauges& g) {
        publish(c, g);
        close();
    }
    bool is_open() const { return words_ != nullptr; }

private:
    void begin_write(size_t seq_word, uint64_t seq);
    void end_write(size_t seq_word, uint64_t* seq);

    int fd_ = -1;
    std::atomic<uint64_t>* words_ = nullptr;  // the mapped page, word by word
    uint64_t header_seq_ = 0;                 // the last (even) sequences published
    uint64_t values_seq_ = 0;
    uint32_t count_ = 0;
};

// What a reader found.
struct StatsReading {
    bool running = false;  // a bridge holds the lock
    bool torn = false;     // not running, and it died in the middle of a snapshot
    StatsSnapshot snapshot;
};

// Reads the page of the bridge of `region` and `host`: false with *error
// where there is none or it is not a valid page (which never crashes the
// reader, even if the file shrinks while it reads: for that it replaces the
// process's SIGBUS handler while it copies, so one thread at a time). A
// running bridge that is starting, or that does not finish a snapshot, is
// waited for a moment (about 100 ms).
bool read_stats_page(const std::string& region, const std::string& host, StatsReading* out, std::string* error);

}  // namespace hsipc_bridge
