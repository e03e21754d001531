// SPDX-License-Identifier: MIT
#include "stats_page.h"

#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace hsipc_bridge {

namespace {

using namespace stats_layout;

static_assert(std::atomic<uint64_t>::is_always_lock_free, "atomics in a shared page must not need a lock");
static_assert(sizeof(std::atomic<uint64_t>) == sizeof(uint64_t), "the page is read word by word");

constexpr const char* kShmDir = "/dev/shm";
// How long a reader waits for a running bridge that is starting or in the
// middle of a snapshot (one loop turn's stores), and a starting bridge for
// `hsipc rm`, which holds a stopped bridge's lock while it removes the file.
constexpr int64_t kPatienceNs = 100000000;

int64_t clock_ns(clockid_t clock) {
    timespec ts;
    clock_gettime(clock, &ts);
    return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

std::string errno_text(int err) { return std::strerror(err); }

// An OFD lock: it belongs to the open file description, so it is released
// when the bridge's descriptor closes, by exit or by SIGKILL alike, and no
// other descriptor of the same process can lose it by closing (as it could
// a classic POSIX lock). l_pid must be 0 for OFD locks.
struct flock whole_file_lock(short type) {
    struct flock fl;
    std::memset(&fl, 0, sizeof fl);
    fl.l_type = type;
    fl.l_whence = SEEK_SET;
    return fl;
}

// 0 when taken, EAGAIN when another holds it for longer than kPatienceNs,
// else an errno.
int take_lock(int fd) {
    const int64_t deadline = clock_ns(CLOCK_MONOTONIC) + kPatienceNs;
    for (;;) {
        struct flock fl = whole_file_lock(F_WRLCK);
        if (fcntl(fd, F_OFD_SETLK, &fl) == 0) return 0;
        if (errno != EAGAIN && errno != EACCES) return errno;
        if (clock_ns(CLOCK_MONOTONIC) > deadline) return EAGAIN;
        usleep(2000);
    }
}

// 1 where some process holds a lock on the file (a bridge runs), 0 where
// none does, -1 with errno. Takes nothing.
int lock_held(int fd) {
    struct flock fl = whole_file_lock(F_WRLCK);
    if (fcntl(fd, F_OFD_GETLK, &fl) != 0) return -1;
    return fl.l_type != F_UNLCK ? 1 : 0;
}

bool copy_name(const std::string& from, char* to, size_t size) {
    if (from.size() >= size) return false;
    std::memset(to, 0, size);
    std::memcpy(to, from.data(), from.size());
    return true;
}

// ---- Reading ----------------------------------------------------------------

// The page may shrink under a reader (anyone with write access may truncate
// it): a load past the new end raises SIGBUS, which this turns into a
// refusal. Only the copy loop runs under it, and it has no objects with
// destructors to skip.
thread_local sigjmp_buf* t_bus_error_jump = nullptr;

void on_bus_error(int) { siglongjmp(*t_bus_error_jump, 1); }

enum class Copy { stable, torn, unsettled, shrank };

enum class Try { stable, odd, changed };

// One try of a seqlock's reader side: copies words [first, first + n) of
// the page into the same words of out, and says whether the sequence in
// `seq_word` was even and the same before and after (*seen: before).
//
// Orders: the first load of the sequence acquires, pairing with the
// writer's release store that ended a write, so a copy that starts at an
// even sequence sees everything written before it. The words are loaded
// with acquire, pairing with the writer's release stores of them, which
// follow its odd store: if any word we loaded was written after that odd
// store, the odd (or a later) sequence is visible to the second load,
// which then differs from the first. The acquire loads also order every
// load after them (the second, and the caller's of the header's sequence).
// No fences: ThreadSanitizer does not model them, and on x86 an acquire
// load and a release store are plain moves anyway.
Try try_copy(const std::atomic<uint64_t>* page, size_t seq_word, size_t first, size_t n, uint64_t* out,
             uint64_t* seen) {
    const uint64_t before = page[seq_word].load(std::memory_order_acquire);
    for (size_t i = first; i < first + n; i++) out[i] = page[i].load(std::memory_order_acquire);
    const uint64_t after = page[seq_word].load(std::memory_order_acquire);
    *seen = before;
    if (before != after) return Try::changed;
    return before & 1 ? Try::odd : Try::stable;
}

// Copies the first `words` words of the page into out: the header under
// its seqlock, then the values under theirs, retried (the values alone)
// until both hold, and the header's sequence unchanged after the values (a
// new bridge did not take the page over in between). Where no bridge runs,
// an odd sequence that does not change is what a killed bridge left
// half-written (torn).
Copy copy_words(const std::atomic<uint64_t>* page, size_t words, bool running, uint64_t* out) {
    const int64_t deadline = clock_ns(CLOCK_MONOTONIC) + kPatienceNs;
    int attempt = 0;
    // A snapshot takes the writer well under a microsecond: yield first,
    // then sleep a little (it may be descheduled mid-write).
    auto wait = [&] {
        if (clock_ns(CLOCK_MONOTONIC) > deadline) return false;
        if (attempt++ < 100) {
            sched_yield();
        } else {
            usleep(100);
        }
        return true;
    };
    for (;;) {
        uint64_t header_seq;
        const Try header = try_copy(page, kHeaderSeqWord, 0, std::min(words, kValuesWord), out, &header_seq);
        if (header == Try::changed || (header == Try::odd && running)) {
            if (!wait()) return Copy::unsettled;
            continue;
        }
        if (words <= kValuesWord) return Copy::stable;  // truncated: validation refuses it
        uint32_t count;
        std::memcpy(&count, reinterpret_cast<const char*>(out) + offsetof(Page, stat_count), sizeof count);
        const size_t n = std::min({size_t(count), kMaxStats, words - kValuesWord});
        for (;;) {
            uint64_t values_seq;
            const Try values = try_copy(page, kValuesSeqWord, kValuesWord, n, out, &values_seq);
            if (page[kHeaderSeqWord].load(std::memory_order_relaxed) != header_seq) break;  // copy the header again
            if (values == Try::stable || (values == Try::odd && !running)) {
                return header == Try::odd || values == Try::odd ? Copy::torn : Copy::stable;
            }
            if (!wait()) return Copy::unsettled;
        }
        if (!wait()) return Copy::unsettled;
    }
}

Copy guarded_copy(const std::atomic<uint64_t>* page, size_t words, bool running, uint64_t* out) {
    struct sigaction guard, previous;
    std::memset(&guard, 0, sizeof guard);
    guard.sa_handler = on_bus_error;
    sigemptyset(&guard.sa_mask);
    if (sigaction(SIGBUS, &guard, &previous) != 0) return copy_words(page, words, running, out);
    sigjmp_buf jump;
    t_bus_error_jump = &jump;
    volatile Copy result = Copy::shrank;
    if (sigsetjmp(jump, 1) == 0) result = copy_words(page, words, running, out);
    t_bus_error_jump = nullptr;
    sigaction(SIGBUS, &previous, nullptr);
    return result;
}

bool valid_stat_name(const char* name, size_t size) {
    const size_t n = strnlen(name, size);
    if (n == 0 || n == size) return false;
    for (size_t i = 0; i < n; i++) {
        const char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
    }
    return true;
}

// A NUL-terminated string of exactly the expected value.
bool names_the(const char* field, size_t size, const std::string& expected) {
    return strnlen(field, size) < size && expected == field;
}

// Every field of a stable copy of the file's first page (file_size bytes
// long), as anyone could have written it. On success, fills *out.
bool validate(const Page& p, uint64_t file_size, const std::string& region, const std::string& host,
              StatsSnapshot* out, std::string* why) {
    if (std::memcmp(p.magic, kMagic, sizeof kMagic) != 0) {
        *why = "not an hsipc-bridge stats file (bad magic)";
        return false;
    }
    if (p.version != kVersion) {
        *why = "stats layout version " + std::to_string(p.version) + ", this hsipc-bridge reads version " +
               std::to_string(kVersion) + " (another version of hsipc-bridge wrote it)";
        return false;
    }
    if (file_size < kPageSize) {
        *why = "truncated: " + std::to_string(file_size) + " bytes of " + std::to_string(kPageSize);
        return false;
    }
    if (p.stat_count == 0 || p.stat_count > kMaxStats) {
        *why = "damaged: " + std::to_string(p.stat_count) + " values (1 to " + std::to_string(kMaxStats) + ")";
        return false;
    }
    if (!names_the(p.region, sizeof p.region, region) || !names_the(p.host, sizeof p.host, host)) {
        *why = "damaged: it does not name region " + region + " and host " + host;
        return false;
    }
    if (p.pid <= 0 || p.pid > INT32_MAX) {
        *why = "damaged: pid " + std::to_string(p.pid);
        return false;
    }
    out->region = region;
    out->host = host;
    out->pid = p.pid;
    out->started_unix_ns = p.started_unix_ns;
    out->stats.clear();
    for (uint32_t i = 0; i < p.stat_count; i++) {
        if (!valid_stat_name(p.names[i], sizeof p.names[i]) || p.sparse[i] > 1) {
            *why = "damaged: the name of value " + std::to_string(i) + " is not 1-31 of [a-z0-9_]";
            return false;
        }
        out->stats.push_back({p.names[i], p.values[i], p.sparse[i] == 1});
    }
    return true;
}

// One look at the file. False with *why; *running says whether a bridge
// held the lock then.
bool read_once(const std::string& path, const std::string& region, const std::string& host, bool* running,
               StatsReading* out, std::string* why) {
    *running = false;
    // O_NONBLOCK: a FIFO put at the name must not hang the reader.
    const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        const int err = errno;
        if (err == ENOENT) {
            *why = "no hsipc-bridge with host name " + host + " has run for region " + region +
                   " on this machine since the region was last removed (no " + path + ")";
        } else if (err == ELOOP) {
            *why = path + " is a symbolic link, not a stats file";
        } else {
            *why = path + ": " + errno_text(err);
        }
        return false;
    }
    struct stat st;
    const int held = fstat(fd, &st) == 0 ? lock_held(fd) : -1;
    if (held < 0) {
        *why = path + ": " + errno_text(errno);
        ::close(fd);
        return false;
    }
    *running = held == 1;
    if (!S_ISREG(st.st_mode)) {
        *why = path + ": not a regular file";
        ::close(fd);
        return false;
    }
    const size_t bytes = size_t(std::min<off_t>(std::max<off_t>(st.st_size, 0), off_t(kPageSize))) / 8 * 8;
    if (bytes < (kValuesSeqWord + 1) * 8) {
        *why = path + ": truncated: " + std::to_string(st.st_size) + " bytes of " + std::to_string(kPageSize);
        ::close(fd);
        return false;
    }
    void* map = mmap(nullptr, bytes, PROT_READ, MAP_SHARED, fd, 0);
    ::close(fd);  // the mapping needs no descriptor
    if (map == MAP_FAILED) {
        *why = path + ": " + errno_text(errno);
        return false;
    }
    Page copy;
    std::memset(&copy, 0, sizeof copy);
    uint64_t words[kWords] = {};
    const Copy result = guarded_copy(static_cast<const std::atomic<uint64_t>*>(map), bytes / 8, *running, words);
    munmap(map, bytes);
    switch (result) {
        case Copy::shrank:
            *why = path + ": truncated while being read";
            return false;
        case Copy::unsettled:
            *why = path + ": the bridge did not finish a snapshot within 100 ms (is it stopped?)";
            return false;
        case Copy::torn:
            out->torn = true;
            break;
        case Copy::stable:
            out->torn = false;
            break;
    }
    std::memcpy(static_cast<void*>(&copy), words, sizeof copy);
    if (!validate(copy, uint64_t(st.st_size), region, host, &out->snapshot, why)) {
        *why = path + ": " + *why;
        return false;
    }
    out->running = *running;
    return true;
}

}  // namespace

std::string stats_page_path(const std::string& region, const std::string& host) {
    return std::string(kShmDir) + "/hsipc-bridge." + region + "." + host;
}

// ---- Writing ----------------------------------------------------------------

bool StatsPage::open(const std::string& region, const std::string& host, const Counters& c, const Gauges& g,
                     std::string* warning, std::string* error) {
    close();
    warning->clear();
    const std::string path = stats_page_path(region, host);
    auto fail = [&](const std::string& what, int err) {
        *error = "stats file " + path + ": " + what + (err ? std::string(": ") + errno_text(err) : "");
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
        return false;
    };
    // The region's permissions, as the library gives its endpoints' wake
    // sockets (src/event_fd.cc): whoever may open the region may read the
    // counters, and no one else.
    const std::string region_object = std::string(kShmDir) + "/hsipc." + region;
    struct stat region_st;
    if (stat(region_object.c_str(), &region_st) != 0) return fail("cannot stat " + region_object, errno);
    mode_t mode = region_st.st_mode & 0666;

    struct stat st;
    for (int attempt = 0;; attempt++) {
        fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0600);
        if (fd_ < 0) return fail("cannot open it", errno);
        if (fstat(fd_, &st) != 0) return fail("fstat", errno);
        if (!S_ISREG(st.st_mode)) return fail("not a regular file", 0);
        const int err = take_lock(fd_);
        if (err == EAGAIN) {
            *error = "another hsipc-bridge with host name " + host + " is running for region " + region +
                     " on this machine (it holds " + path + "); two bridges of one name would confuse their peers";
            ::close(fd_);
            fd_ = -1;
            return false;
        }
        if (err != 0) return fail("cannot lock it", err);
        // `hsipc rm` may have removed the name between our open and our
        // lock: then the lock is on a file no one else will find.
        struct stat named;
        if (fstat(fd_, &st) != 0) return fail("fstat", errno);
        if (stat(path.c_str(), &named) == 0 && named.st_dev == st.st_dev && named.st_ino == st.st_ino) break;
        ::close(fd_);
        fd_ = -1;
        if (attempt == 3) return fail("removed again and again while opening it", 0);
    }
    if (st.st_gid != region_st.st_gid && fchown(fd_, uid_t(-1), region_st.st_gid) != 0) {
        // Not in the region's group: then the group gets nothing, rather
        // than the region's group bits going to a group the region did not
        // grant them to.
        const int err = errno;
        mode &= ~mode_t(0070);
        *warning = "stats file " + path + " cannot have the region's group " + std::to_string(region_st.st_gid) +
                   " (" + errno_text(err) + "): only its owner and others as the region's mode allows can read it";
    }
    if (fchmod(fd_, mode) != 0) return fail("cannot set its mode", errno);

    // Go on from a previous bridge's sequences, so that a reader that began
    // a copy of its page never sees the same sequence around ours.
    uint64_t old_seqs[2] = {0, 0};
    static_assert(kValuesSeqWord == kHeaderSeqWord + 1, "read together");
    if (st.st_size < off_t((kValuesSeqWord + 1) * 8) ||
        pread(fd_, old_seqs, sizeof old_seqs, off_t(kHeaderSeqWord * 8)) != ssize_t(sizeof old_seqs)) {
        old_seqs[0] = old_seqs[1] = 0;
    }
    if (st.st_size != off_t(kPageSize) && ftruncate(fd_, off_t(kPageSize)) != 0) return fail("cannot size it", errno);
    void* map = mmap(nullptr, kPageSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
    if (map == MAP_FAILED) return fail("cannot map it", errno);
    words_ = static_cast<std::atomic<uint64_t>*>(map);
    header_seq_ = old_seqs[0] + (old_seqs[0] & 1);
    values_seq_ = old_seqs[1] + (old_seqs[1] & 1);

    Page page;
    std::memset(&page, 0, sizeof page);
    std::memcpy(page.magic, kMagic, sizeof kMagic);
    page.version = kVersion;
    page.pid = getpid();
    page.started_unix_ns = clock_ns(CLOCK_REALTIME);
    bool fits = copy_name(region, page.region, sizeof page.region) && copy_name(host, page.host, sizeof page.host);
    uint32_t n = 0;
    visit_stats(c, g, [&](const char* name, uint64_t value, bool sparse) {
        if (n < kMaxStats && copy_name(name, page.names[n], kStatNameSize)) {
            page.sparse[n] = sparse ? 1 : 0;
            page.values[n] = value;
        } else {
            fits = false;
        }
        n++;
    });
    if (!fits) {
        close();
        *error = "stats file " + path + ": the names do not fit its layout";  // a test guards against this
        return false;
    }
    page.stat_count = n;
    count_ = n;
    uint64_t words[kWords];
    std::memcpy(words, &page, sizeof words);
    // Both sequences odd: the whole page changes (a reader may be part way
    // through the values of the bridge before us).
    begin_write(kHeaderSeqWord, header_seq_);
    begin_write(kValuesSeqWord, values_seq_);
    for (size_t i = 0; i < kWords; i++) {
        if (i != kHeaderSeqWord && i != kValuesSeqWord) words_[i].store(words[i], std::memory_order_release);
    }
    end_write(kValuesSeqWord, &values_seq_);
    end_write(kHeaderSeqWord, &header_seq_);
    return true;
}

// A seqlock's writer side (there is only one writer, so each sequence is
// ours to keep: *seq is the last, even, value published). The odd store is
// relaxed; every store of the page that follows is a release, which orders
// the odd store before it: a reader whose acquire load sees any of those
// stores also sees the odd sequence. The even store releases the page's
// stores to a reader that acquires it.
void StatsPage::begin_write(size_t seq_word, uint64_t seq) { words_[seq_word].store(seq + 1, std::memory_order_relaxed); }

void StatsPage::end_write(size_t seq_word, uint64_t* seq) {
    *seq += 2;
    words_[seq_word].store(*seq, std::memory_order_release);
}

void StatsPage::publish(const Counters& c, const Gauges& g) {
    if (!words_) return;
    begin_write(kValuesSeqWord, values_seq_);
    size_t i = kValuesWord;
    const size_t end = kValuesWord + count_;
    visit_stats(c, g, [&](const char*, uint64_t value, bool) {
        if (i < end) words_[i++].store(value, std::memory_order_release);  // see begin_write
    });
    end_write(kValuesSeqWord, &values_seq_);
}

void StatsPage::close() {
    if (words_) munmap(static_cast<void*>(words_), kPageSize);
    words_ = nullptr;
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

// ---- Reading ----------------------------------------------------------------

bool read_stats_page(const std::string& region, const std::string& host, StatsReading* out, std::string* error) {
    const std::string path = stats_page_path(region, host);
    const int64_t deadline = clock_ns(CLOCK_MONOTONIC) + kPatienceNs;
    for (;;) {
        bool running;
        if (read_once(path, region, host, &running, out, error)) return true;
        // A running bridge may be between creating the file and its first
        // snapshot: look again for a moment. Where none runs, no one will
        // change what we read.
        if (!running || clock_ns(CLOCK_MONOTONIC) > deadline) return false;
        usleep(2000);
    }
}

}  // namespace hsipc_bridge
