// SPDX-License-Identifier: MIT
// The bridge's published counters (bridge/stats_page.h, stats_format.h)
// without a bridge: the line and JSON formats, the page written and read
// back with its permissions and its lock, a second writer refused, the last
// counts of a stopped writer, every kind of damage refused with a reason
// (never a crash, even when the file shrinks mid-read), and readers that
// never see half a snapshot while the writer publishes.
#include "stats_page.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <set>
#include <string>
#include <thread>

namespace {

using namespace hsipc_bridge;
namespace layout = hsipc_bridge::stats_layout;

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// A region name of its own, a stand-in for the region's /dev/shm object
// (only its mode and group matter to the page), and the page's file,
// removed at the end.
class StatsPageTest : public ::testing::Test {
protected:
    void SetUp() override {
        static int n = 0;
        region_ = "stpage" + std::to_string(getpid()) + "-" + std::to_string(n++);
        region_object_ = "/dev/shm/hsipc." + region_;
        const int fd = open(region_object_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        ASSERT_GE(fd, 0) << std::strerror(errno);
        ASSERT_EQ(0, fchmod(fd, 0640));
        close(fd);
        path_ = stats_page_path(region_, host_);
    }
    void TearDown() override {
        unlink(region_object_.c_str());
        unlink(path_.c_str());
    }

    bool open_page(StatsPage* page, const Counters& c = Counters(), const Gauges& g = Gauges()) {
        std::string warning;
        error_.clear();
        const bool ok = page->open(region_, host_, c, g, &warning, &error_);
        EXPECT_EQ("", warning);
        return ok;
    }
    bool read(StatsReading* r) {
        error_.clear();
        return read_stats_page(region_, host_, r, &error_);
    }
    // The value named `name` in what was read, or -1.
    static int64_t value(const StatsReading& r, const std::string& name) {
        for (const Stat& s : r.snapshot.stats) {
            if (s.name == name) return int64_t(s.value);
        }
        return -1;
    }
    // Rewrites the file's page through fn (which sees a copy), as a
    // scribbler with write access would.
    template <class F>
    void scribble(F&& fn) {
        layout::Page p;
        const int fd = open(path_.c_str(), O_RDWR | O_CLOEXEC);
        ASSERT_GE(fd, 0);
        ASSERT_EQ(ssize_t(sizeof p), pread(fd, &p, sizeof p, 0));
        fn(p);
        ASSERT_EQ(ssize_t(sizeof p), pwrite(fd, &p, sizeof p, 0));
        close(fd);
    }
    // A stopped writer's valid page with a few counts.
    void leave_a_stopped_page() {
        StatsPage page;
        Counters c;
        c.forwarded = 11;
        ASSERT_TRUE(open_page(&page, c)) << error_;
    }

    std::string region_, region_object_, path_, error_;
    std::string host_ = "hostS";
};

TEST(StatsFormat, TheLineShowsEveryCounterAndOnlyNonzeroRefusalReasons) {
    Counters c;
    c.forwarded = 3;
    c.dropped_full = 2;
    c.dropped_link = 1;
    c.refused_by[size_t(wire::Refusal::bad_magic)] = 4;
    c.topic_dropped_stopped = 5;
    Gauges g;
    g.peers_up = 1;
    g.queued = 9;
    const std::string line = stats_line("hostS", named_stats(c, g));
    EXPECT_EQ(0u, line.find("hsipc-bridge[hostS]: stats forwarded=3 delivered=0 refused=4 lost=0 dropped=3 "
                            "dropped_full=2 "))
        << line;
    for (const char* kv : {" peers_up=1 proxies=0 queued=9 ", " topic_dropped=5 ", " refused_bad_magic=4"}) {
        EXPECT_TRUE(contains(line, kv)) << kv << " in " << line;
    }
    EXPECT_FALSE(contains(line, "refused_truncated")) << "a zero reason is left out: " << line;
    EXPECT_FALSE(contains(line, "refused_none")) << line;
}

TEST(StatsFormat, JsonHasTheSourceAndEveryValue) {
    StatsSnapshot s;
    s.region = "r.1";
    s.host = "h-1";
    s.pid = 42;
    s.started_unix_ns = 1700000000123456789;
    s.stats = named_stats(Counters(), Gauges());
    const std::string json = stats_json(s, false);
    EXPECT_EQ(0u, json.find("{\"region\":\"r.1\",\"host\":\"h-1\",\"running\":false,\"pid\":42,"
                            "\"started_unix_s\":1700000000,\"stats\":{\"forwarded\":0,"))
        << json;
    EXPECT_TRUE(contains(json, "\"refused_truncated\":0")) << "JSON keeps every key: " << json;
    EXPECT_EQ("}}", json.substr(json.size() - 2));
}

// The page stores what visit_stats yields: it must fit, with names a reader accepts.
TEST(StatsFormat, TheNamesFitThePage) {
    const std::vector<Stat> stats = named_stats(Counters(), Gauges());
    EXPECT_LE(stats.size(), layout::kMaxStats);
    std::set<std::string> names;
    for (const Stat& s : stats) {
        EXPECT_LT(s.name.size(), layout::kStatNameSize) << s.name;
        EXPECT_EQ(std::string::npos, s.name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_")) << s.name;
        EXPECT_TRUE(names.insert(s.name).second) << s.name << " twice";
    }
}

TEST_F(StatsPageTest, WhatIsPublishedIsReadBackWithTheRegionsPermissions) {
    const bool root = geteuid() == 0;
    if (root) {
        ASSERT_EQ(0, chown(region_object_.c_str(), uid_t(-1), 4242));  // a group we are not in, as root may
    }
    StatsPage page;
    ASSERT_TRUE(open_page(&page)) << error_;
    Counters c;
    c.forwarded = 7;
    c.delivered = 5;
    c.refused_by[size_t(wire::Refusal::stale_seq)] = 2;
    Gauges g;
    g.peers_up = 2;
    g.proxies = 3;
    page.publish(c, g);

    StatsReading r;
    ASSERT_TRUE(read(&r)) << error_;
    EXPECT_TRUE(r.running);
    EXPECT_FALSE(r.torn);
    EXPECT_EQ(getpid(), r.snapshot.pid);
    EXPECT_EQ(region_, r.snapshot.region);
    EXPECT_EQ(host_, r.snapshot.host);
    EXPECT_NEAR(double(time(nullptr)), double(r.snapshot.started_unix_ns) / 1e9, 60);
    EXPECT_EQ(stats_line(host_, named_stats(c, g)), stats_line(r.snapshot.host, r.snapshot.stats));
    EXPECT_EQ(7, value(r, "forwarded"));
    EXPECT_EQ(2, value(r, "refused_stale_seq"));
    EXPECT_EQ(3, value(r, "proxies"));

    struct stat st;
    ASSERT_EQ(0, stat(path_.c_str(), &st));
    EXPECT_EQ(0640u, st.st_mode & 07777) << "the region's mode";
    EXPECT_EQ(off_t(layout::kPageSize), st.st_size);
    if (root) {
        EXPECT_EQ(4242u, st.st_gid) << "the region's group";
    }
}

TEST_F(StatsPageTest, ASecondWriterOfTheSameRegionAndHostIsRefused) {
    StatsPage first, second;
    ASSERT_TRUE(open_page(&first)) << error_;
    EXPECT_FALSE(open_page(&second));
    EXPECT_TRUE(contains(error_, "another hsipc-bridge with host name hostS is running for region " + region_))
        << error_;
    // Another host name in the same region is another bridge's page.
    std::string warning;
    StatsPage other;
    EXPECT_TRUE(other.open(region_, "hostT", Counters(), Gauges(), &warning, &error_)) << error_;
    other.close();
    unlink(stats_page_path(region_, "hostT").c_str());
}

TEST_F(StatsPageTest, AStoppedWritersLastCountsReadAsNotRunningAndARestartReusesTheFile) {
    struct stat before, after;
    {
        StatsPage page;
        ASSERT_TRUE(open_page(&page)) << error_;
        Counters c;
        c.delivered = 99;
        page.publish(c, Gauges());
    }
    StatsReading r;
    ASSERT_TRUE(read(&r)) << error_;
    EXPECT_FALSE(r.running);
    EXPECT_FALSE(r.torn);
    EXPECT_EQ(99, value(r, "delivered"));
    ASSERT_EQ(0, stat(path_.c_str(), &before));

    StatsPage again;
    ASSERT_TRUE(open_page(&again)) << error_;
    ASSERT_EQ(0, stat(path_.c_str(), &after));
    EXPECT_EQ(before.st_ino, after.st_ino) << "the same file, taken over";
    ASSERT_TRUE(read(&r)) << error_;
    EXPECT_TRUE(r.running);
    EXPECT_EQ(0, value(r, "delivered")) << "a new bridge starts from zero";
}

TEST_F(StatsPageTest, AWriterKilledMidSnapshotLeavesATornPageThatStillReads) {
    leave_a_stopped_page();
    scribble([](layout::Page& p) { p.values_seq |= 1; });
    StatsReading r;
    ASSERT_TRUE(read(&r)) << error_;
    EXPECT_FALSE(r.running);
    EXPECT_TRUE(r.torn);
    EXPECT_EQ(11, value(r, "forwarded"));
}

TEST_F(StatsPageTest, NoPageSaysNoBridgeHasRun) {
    StatsReading r;
    EXPECT_FALSE(read(&r));
    EXPECT_TRUE(contains(error_, "no hsipc-bridge with host name hostS has run for region " + region_)) << error_;
}

TEST_F(StatsPageTest, DamagedPagesAreRefusedWithAReason) {
    leave_a_stopped_page();
    const struct {
        const char* what;
        void (*scribble)(layout::Page&);
        const char* reason;
    } cases[] = {
        {"magic", [](layout::Page& p) { p.magic[0] = 'X'; }, "bad magic"},
        {"version", [](layout::Page& p) { p.version = 2; }, "layout version 2"},
        {"no values", [](layout::Page& p) { p.stat_count = 0; }, "0 values"},
        {"too many values", [](layout::Page& p) { p.stat_count = 1000; }, "1000 values"},
        {"region", [](layout::Page& p) { p.region[0] ^= 1; }, "does not name region"},
        {"host unterminated", [](layout::Page& p) { std::memset(p.host, 'h', sizeof p.host); },
         "does not name region"},
        {"pid", [](layout::Page& p) { p.pid = -5; }, "pid -5"},
        {"name byte", [](layout::Page& p) { p.names[3][0] = '='; }, "name of value 3"},
        {"name unterminated", [](layout::Page& p) { std::memset(p.names[0], 'a', layout::kStatNameSize); },
         "name of value 0"},
        {"empty name", [](layout::Page& p) { p.names[5][0] = 0; }, "name of value 5"},
        {"sparse flag", [](layout::Page& p) { p.sparse[1] = 7; }, "name of value 1"},
    };
    for (const auto& k : cases) {
        SCOPED_TRACE(k.what);
        leave_a_stopped_page();
        scribble(k.scribble);
        StatsReading r;
        EXPECT_FALSE(read(&r));
        EXPECT_TRUE(contains(error_, path_ + ": ")) << error_;
        EXPECT_TRUE(contains(error_, k.reason)) << error_;
    }
}

TEST_F(StatsPageTest, TruncatedPagesAndOtherFilesAtTheNameAreRefused) {
    for (off_t size : {0, 7, 23, 24, 100, 4095}) {
        SCOPED_TRACE(size);
        leave_a_stopped_page();
        ASSERT_EQ(0, truncate(path_.c_str(), size));
        StatsReading r;
        EXPECT_FALSE(read(&r));
        EXPECT_TRUE(contains(error_, "truncated")) << error_;
    }
    // A page with more after it reads (a later layout may grow).
    leave_a_stopped_page();
    ASSERT_EQ(0, truncate(path_.c_str(), 3 * layout::kPageSize));
    StatsReading r;
    EXPECT_TRUE(read(&r)) << error_;

    ASSERT_EQ(0, unlink(path_.c_str()));
    ASSERT_EQ(0, mkfifo(path_.c_str(), 0600));
    EXPECT_FALSE(read(&r));
    EXPECT_TRUE(contains(error_, "not a regular file")) << error_;
    StatsPage page;
    EXPECT_FALSE(open_page(&page)) << "a writer does not take over what is not a regular file either";
    ASSERT_EQ(0, unlink(path_.c_str()));
    ASSERT_EQ(0, symlink(region_object_.c_str(), path_.c_str()));
    EXPECT_FALSE(read(&r));
    EXPECT_TRUE(contains(error_, "symbolic link")) << error_;
    EXPECT_FALSE(open_page(&page)) << "nor follows a link someone put there";
}

// Random bytes anywhere, the sequences kept even: each read either succeeds
// with names a reader accepts, or refuses. Never a crash.
TEST_F(StatsPageTest, RandomScribblesAreReadOrRefusedNeverACrash) {
    std::mt19937_64 rng(12345);
    for (int i = 0; i < 2000; i++) {
        leave_a_stopped_page();
        scribble([&](layout::Page& p) {
            uint8_t* bytes = reinterpret_cast<uint8_t*>(&p);
            const int n = 1 + int(rng() % 8);
            for (int k = 0; k < n; k++) {
                // Mostly within the header and the names, where damage matters.
                const size_t at = rng() % 4 ? rng() % offsetof(layout::Page, values) : rng() % sizeof p;
                bytes[at] = uint8_t(rng());
            }
            p.header_seq &= ~uint64_t(1);
            p.values_seq &= ~uint64_t(1);
        });
        StatsReading r;
        if (read(&r)) {
            ASSERT_LE(r.snapshot.stats.size(), layout::kMaxStats);
            for (const Stat& s : r.snapshot.stats) ASSERT_LT(s.name.size(), layout::kStatNameSize);
        } else {
            ASSERT_FALSE(error_.empty());
        }
    }
}

// Someone truncates and regrows the file while readers read it: each read
// is refused or valid, and the reader survives its SIGBUS.
TEST_F(StatsPageTest, APageThatShrinksWhileBeingReadIsRefusedNotACrash) {
    leave_a_stopped_page();
    std::atomic<bool> stop{false};
    std::thread saboteur([&] {
        const int fd = open(path_.c_str(), O_RDWR | O_CLOEXEC);
        while (!stop) {
            if (ftruncate(fd, 100) != 0 || ftruncate(fd, layout::kPageSize) != 0) break;
        }
        close(fd);
    });
    int refused = 0;
    for (int i = 0; i < 3000; i++) {
        StatsReading r;
        if (!read(&r)) refused++;
    }
    stop = true;
    saboteur.join();
    EXPECT_GT(refused, 0);
}

// One writer publishing at the pace of a busy bridge's loop (a turn makes
// at least one system call, zmq_poll: a microsecond or more), readers
// copying all the while: every snapshot read is one the writer published
// (its counters move together), never a mix of two.
TEST_F(StatsPageTest, ReadersNeverSeeHalfASnapshot) {
    StatsPage page;
    ASSERT_TRUE(open_page(&page)) << error_;
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> published{0};
    std::thread writer([&] {
        Counters c;
        for (uint64_t k = 1; !stop; k++) {
            c.forwarded = c.delivered = c.topic_forwarded = k;
            c.refused_by[size_t(wire::Refusal::bad_topic)] = k;
            page.publish(c, Gauges{k, k, k});
            published = k;
            const auto turn_end = std::chrono::steady_clock::now() + std::chrono::microseconds(1);
            while (std::chrono::steady_clock::now() < turn_end) {
            }
        }
    });
    int64_t last = 0, reads = 0;
    std::string failure;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
    while (failure.empty() && std::chrono::steady_clock::now() < deadline) {
        StatsReading r;
        if (!read(&r)) {
            failure = error_;
            break;
        }
        const int64_t k = value(r, "forwarded");
        for (const char* name : {"delivered", "topic_forwarded", "refused_bad_topic", "refused", "queued"}) {
            if (value(r, name) != k) failure = std::string(name) + " moved apart from forwarded";
        }
        if (k < last) failure = "went back from " + std::to_string(last) + " to " + std::to_string(k);
        last = k;
        reads++;
    }
    stop = true;
    writer.join();
    EXPECT_EQ("", failure);
    EXPECT_GT(last, 0);
    EXPECT_GT(reads, 10);
    std::printf("%lld reads of %llu snapshots published\n", (long long)reads, (unsigned long long)published.load());
}

}  // namespace
