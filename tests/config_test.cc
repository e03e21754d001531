// SPDX-License-Identifier: MIT
// Configurations: hsipc_config_init defaults, the stored configuration file
// (hsipc_config_load), HSIPC_CONFIG for hsipc_attach(name, NULL, ...), and
// the internal validation in src/config.h.
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "config.h"
#include "region.h"
#include "test_util.h"

namespace {

using hsipc_test::ScopedName;

constexpr uint64_t KiB = 1024;
constexpr uint64_t MiB = 1024 * KiB;
constexpr uint64_t GiB = 1024 * MiB;

// A private directory under /tmp for configuration files, removed at scope exit.
class TempDir {
public:
    TempDir() {
        char tmpl[] = "/tmp/hsipc-config-test-XXXXXX";
        char* d = mkdtemp(tmpl);
        if (d) path_ = d;
    }
    ~TempDir() {
        if (!path_.empty()) {
            std::error_code ec;
            std::filesystem::remove_all(path_, ec);
        }
    }
    bool ok() const { return !path_.empty(); }
    const std::string& path() const { return path_; }

    // Writes `text` to a file `name` in the directory; returns its path.
    std::string write(const std::string& name, const std::string& text) {
        std::string p = path_ + "/" + name;
        FILE* f = std::fopen(p.c_str(), "w");
        if (!f) return "";
        bool good = std::fwrite(text.data(), 1, text.size(), f) == text.size();
        good = std::fclose(f) == 0 && good;
        return good ? p : "";
    }

private:
    std::string path_;
};

// Sets or clears HSIPC_CONFIG for a scope and restores the previous value.
class ScopedEnv {
public:
    explicit ScopedEnv(const char* value) {
        const char* old = getenv("HSIPC_CONFIG");
        had_old_ = old != nullptr;
        if (old) old_ = old;
        if (value) {
            setenv("HSIPC_CONFIG", value, 1);
        } else {
            unsetenv("HSIPC_CONFIG");
        }
    }
    ~ScopedEnv() {
        if (had_old_) {
            setenv("HSIPC_CONFIG", old_.c_str(), 1);
        } else {
            unsetenv("HSIPC_CONFIG");
        }
    }

private:
    bool had_old_ = false;
    std::string old_;
};

bool exists(const std::string& path) {
    struct stat st;
    return lstat(path.c_str(), &st) == 0;
}

void expect_defaults(const hsipc_config& c) {
    EXPECT_EQ(sizeof(hsipc_config), c.struct_size);
    EXPECT_EQ(64u, c.max_endpoints);
    EXPECT_EQ(1024u, c.inbox_capacity);
    EXPECT_EQ(3u, c.pool_count);
    EXPECT_EQ(256u, c.pools[0].buffer_size);
    EXPECT_EQ(4096u, c.pools[0].buffer_count);
    EXPECT_EQ(65536u, c.pools[1].buffer_size);
    EXPECT_EQ(256u, c.pools[1].buffer_count);
    EXPECT_EQ(4194304u, c.pools[2].buffer_size);
    EXPECT_EQ(8u, c.pools[2].buffer_count);
    for (int p = 0; p < 3; p++) EXPECT_EQ(0u, c.pools[p].reserved) << "pool " << p;
    for (int p = 3; p < HSIPC_MAX_POOLS; p++) {
        EXPECT_EQ(0u, c.pools[p].buffer_size) << "pool " << p;
        EXPECT_EQ(0u, c.pools[p].buffer_count) << "pool " << p;
        EXPECT_EQ(0u, c.pools[p].reserved) << "pool " << p;
    }
    EXPECT_EQ(0600u, c.mode);
    EXPECT_EQ(0u, c.max_buffers_per_process);
    EXPECT_EQ(50000, c.spin_ns);
    EXPECT_EQ(64u, c.max_topics);
    EXPECT_EQ(16u, c.max_subscribers);
}

// A valid configuration that differs from the defaults in every field, so
// that "keeps cfg's values" and "unchanged" are distinguishable from
// "reset to defaults".
hsipc_config nondefault_config() {
    hsipc_config c;
    hsipc_config_init(&c);
    c.max_endpoints = 7;
    c.inbox_capacity = 33;
    c.mode = 0640;
    c.pool_count = 6;
    for (uint32_t p = 0; p < 6; p++) c.pools[p] = {128u << p, 3 + p, 0};
    c.spin_ns = 1234;
    c.max_topics = 5;
    c.max_subscribers = 3;
    return c;
}

// ---- Defaults ----------------------------------------------------------------

TEST(ConfigInit, FillsDefaults) {
    hsipc_config c;
    std::memset(&c, 0xA5, sizeof c);
    hsipc_config_init(&c);
    expect_defaults(c);
}

TEST(ConfigInit, NullIsIgnored) {
    hsipc_config_init(nullptr);  // must not crash
    hsipc_config c;
    hsipc_config_init(&c);
    expect_defaults(c);
}

TEST(ConfigInit, DefaultsAreValid) {
    hsipc_config c;
    hsipc_config_init(&c);
    hsipc::StoredConfig stored;
    ASSERT_OK(hsipc::config_to_stored(c, &stored));
    EXPECT_EQ(1024u, stored.inbox_capacity);
    EXPECT_EQ(3u, stored.pool_count);
}

// ---- Loading a valid file ----------------------------------------------------------

TEST(ConfigLoad, ParsesEverySyntax) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    std::string path = dir.write("full.conf",
                                 "# a whole-line comment\n"
                                 "   # an indented comment line\n"
                                 "\n"
                                 "   \n"
                                 "max_endpoints=12   # trailing comment\n"
                                 "inbox_capacity   =    100\n"
                                 "\tmode = 0660\n"
                                 "pool = 100 x 5\n"
                                 "pool = 1K x 10  # one KiB\n"
                                 "pool = 2M x 3\n"
                                 "pool=1G x 1\n"
                                 "# the end, no newline after the last line\n"
                                 "max_endpoints = 13");
    ASSERT_FALSE(path.empty());
    hsipc_config c = nondefault_config();
    ASSERT_OK(hsipc_config_load(&c, path.c_str()));
    EXPECT_EQ(sizeof(hsipc_config), c.struct_size);
    EXPECT_EQ(13u, c.max_endpoints);  // the later line wins; the last line needs no newline
    EXPECT_EQ(100u, c.inbox_capacity);  // stored as given, not rounded
    EXPECT_EQ(0660u, c.mode);
    ASSERT_EQ(4u, c.pool_count);
    EXPECT_EQ(100u, c.pools[0].buffer_size);
    EXPECT_EQ(5u, c.pools[0].buffer_count);
    EXPECT_EQ(1 * KiB, c.pools[1].buffer_size);
    EXPECT_EQ(10u, c.pools[1].buffer_count);
    EXPECT_EQ(2 * MiB, c.pools[2].buffer_size);
    EXPECT_EQ(3u, c.pools[2].buffer_count);
    EXPECT_EQ(1 * GiB, c.pools[3].buffer_size);
    EXPECT_EQ(1u, c.pools[3].buffer_count);
    // The old list had six pools: the entries past the new ones are zeroed.
    for (int p = 0; p < HSIPC_MAX_POOLS; p++) EXPECT_EQ(0u, c.pools[p].reserved) << "pool " << p;
    for (int p = 4; p < HSIPC_MAX_POOLS; p++) {
        EXPECT_EQ(0u, c.pools[p].buffer_size) << "pool " << p;
        EXPECT_EQ(0u, c.pools[p].buffer_count) << "pool " << p;
    }
}

TEST(ConfigLoad, OctalModeWithoutLeadingZero) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    std::string path = dir.write("mode.conf", "mode = 660\n");
    hsipc_config c = nondefault_config();
    ASSERT_OK(hsipc_config_load(&c, path.c_str()));
    EXPECT_EQ(0660u, c.mode);
}

TEST(ConfigLoad, MaxBuffersPerProcess) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    hsipc_config c;
    hsipc_config_init(&c);
    EXPECT_EQ(0u, c.max_buffers_per_process);  // no limit by default
    ASSERT_OK(hsipc_config_load(&c, dir.write("quota.conf", "max_buffers_per_process = 7\n").c_str()));
    EXPECT_EQ(7u, c.max_buffers_per_process);
    const hsipc_config before = c;
    // More than the 4360 buffers of the default pools, or not a number.
    for (const char* bad : {"max_buffers_per_process = 4361\n", "max_buffers_per_process = -1\n"}) {
        EXPECT_STATUS(HSIPC_EINVAL, hsipc_config_load(&c, dir.write("bad.conf", bad).c_str())) << bad;
        EXPECT_EQ(0, std::memcmp(&before, &c, sizeof c));
    }
}

TEST(ConfigLoad, SpinNsWithAndWithoutUnits) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    struct {
        const char* value;
        int64_t ns;
    } cases[] = {{"0", 0},          {"1", 1},          {"50000", 50000},     {"250ns", 250},
                 {"7us", 7000},     {"3ms", 3000000},  {"1s", 1000000000},   {"0s", 0},
                 {"1000ms", 1000000000}, {"1000000000", 1000000000}, {"000020us", 20000}};
    for (const auto& k : cases) {
        hsipc_config c = nondefault_config();
        std::string path = dir.write("spin.conf", std::string("spin_ns = ") + k.value + "  # a comment\n");
        ASSERT_OK(hsipc_config_load(&c, path.c_str())) << k.value;
        EXPECT_EQ(k.ns, c.spin_ns) << k.value;
        hsipc_config expected = nondefault_config();
        expected.spin_ns = k.ns;
        EXPECT_EQ(0, std::memcmp(&expected, &c, sizeof c)) << k.value << ": only spin_ns may change";
    }
    // Absent from the file: cfg's value stays.
    hsipc_config c = nondefault_config();
    ASSERT_OK(hsipc_config_load(&c, dir.write("none.conf", "max_endpoints = 9\n").c_str()));
    EXPECT_EQ(1234, c.spin_ns);
}

TEST(ConfigLoad, SpinNsParserAcceptsWhatValidationRefuses) {
    // config_apply_text parses; the limit is config_to_stored's, as for
    // every key (the fuzzer relies on the split).
    hsipc_config c;
    hsipc::config_defaults(&c);
    ASSERT_OK(hsipc::config_apply_text("spin_ns = 2s\n", &c));
    EXPECT_EQ(2000000000, c.spin_ns);
    hsipc::StoredConfig s;
    EXPECT_STATUS(HSIPC_EINVAL, hsipc::config_to_stored(c, &s));
    ASSERT_OK(hsipc::config_apply_text("spin_ns = 9223372036854775807\n", &c));
    EXPECT_EQ(INT64_MAX, c.spin_ns);
    EXPECT_STATUS(HSIPC_EINVAL, hsipc::config_apply_text("spin_ns = 9223372036854775808\n", &c));
}

TEST(ConfigLoad, AbsentKeysKeepPriorValues) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    std::string path = dir.write("inbox.conf", "inbox_capacity = 32\n");
    const hsipc_config before = nondefault_config();
    hsipc_config c = before;
    ASSERT_OK(hsipc_config_load(&c, path.c_str()));
    EXPECT_EQ(32u, c.inbox_capacity);
    hsipc_config expected = before;
    expected.inbox_capacity = 32;
    EXPECT_EQ(0, std::memcmp(&expected, &c, sizeof c)) << "only inbox_capacity may change";
    EXPECT_EQ(7u, c.max_endpoints);
    EXPECT_EQ(0640u, c.mode);
    EXPECT_EQ(6u, c.pool_count);  // no pool lines: the pool list stays
}

TEST(ConfigLoad, FileWithoutPoolLinesKeepsPools) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    std::string path = dir.write("nopools.conf", "max_endpoints = 100\nmode = 0600\n");
    const hsipc_config before = nondefault_config();
    hsipc_config c = before;
    ASSERT_OK(hsipc_config_load(&c, path.c_str()));
    EXPECT_EQ(100u, c.max_endpoints);
    EXPECT_EQ(0600u, c.mode);
    EXPECT_EQ(before.inbox_capacity, c.inbox_capacity);
    ASSERT_EQ(before.pool_count, c.pool_count);
    EXPECT_EQ(0, std::memcmp(before.pools, c.pools, sizeof c.pools));
}

TEST(ConfigLoad, CommentsAndBlankLinesOnlyChangeNothing) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    std::string path = dir.write("empty.conf", "# nothing here\n\n   \n# max_endpoints = 1\n");
    const hsipc_config before = nondefault_config();
    hsipc_config c = before;
    ASSERT_OK(hsipc_config_load(&c, path.c_str()));
    EXPECT_EQ(0, std::memcmp(&before, &c, sizeof c));
    std::string empty = dir.write("zero.conf", "");
    ASSERT_OK(hsipc_config_load(&c, empty.c_str()));
    EXPECT_EQ(0, std::memcmp(&before, &c, sizeof c));
}

TEST(ConfigLoad, SinglePoolLineReplacesWholeList) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    std::string path = dir.write("one.conf", "pool = 4K x 2\n");
    hsipc_config c = nondefault_config();
    ASSERT_OK(hsipc_config_load(&c, path.c_str()));
    ASSERT_EQ(1u, c.pool_count);
    EXPECT_EQ(4 * KiB, c.pools[0].buffer_size);
    EXPECT_EQ(2u, c.pools[0].buffer_count);
    for (int p = 1; p < HSIPC_MAX_POOLS; p++) {
        EXPECT_EQ(0u, c.pools[p].buffer_size) << "pool " << p;
        EXPECT_EQ(0u, c.pools[p].buffer_count) << "pool " << p;
    }
}

TEST(ConfigLoad, LimitsAreInclusive) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    struct Case {
        const char* text;
        uint32_t max_endpoints, inbox_capacity, mode;
    } cases[] = {
        {"max_endpoints = 1\ninbox_capacity = 1\nmode = 0600\n", 1, 1, 0600},
        {"max_endpoints = 4096\ninbox_capacity = 1048576\nmode = 0777\n", 4096, 1048576, 0777},
    };
    int i = 0;
    for (const Case& k : cases) {
        std::string path = dir.write("limit" + std::to_string(i++) + ".conf", k.text);
        hsipc_config c;
        hsipc_config_init(&c);
        ASSERT_OK(hsipc_config_load(&c, path.c_str())) << k.text;
        EXPECT_EQ(k.max_endpoints, c.max_endpoints) << k.text;
        EXPECT_EQ(k.inbox_capacity, c.inbox_capacity) << k.text;
        EXPECT_EQ(k.mode, c.mode) << k.text;
    }
    // Eight pool lines, the largest exactly 1 GiB.
    std::string path = dir.write("eight.conf", "pool = 1 x 1\npool = 2 x 1\npool = 3 x 1\npool = 4 x 1\n"
                                               "pool = 5 x 1\npool = 6 x 1\npool = 7 x 1\npool = 1G x 1\n");
    hsipc_config c;
    hsipc_config_init(&c);
    ASSERT_OK(hsipc_config_load(&c, path.c_str()));
    EXPECT_EQ(8u, c.pool_count);
    EXPECT_EQ(1 * GiB, c.pools[7].buffer_size);
}

// ---- Errors leave cfg unchanged ------------------------------------------------

struct BadFile {
    const char* what;
    const char* text;
};

// Each file sets a valid key first, so a partial application shows.
const BadFile kBadFiles[] = {
    {"unknown key", "max_endpoints = 9\nbogus = 1\n"},
    {"key in wrong case", "max_endpoints = 9\nMAX_ENDPOINTS = 9\n"},
    {"line without =", "max_endpoints = 9\nmax_endpoints 10\n"},
    {"bare word", "max_endpoints = 9\npool\n"},
    {"empty key", "max_endpoints = 9\n= 5\n"},
    {"letters", "max_endpoints = abc\n"},
    {"negative", "inbox_capacity = 9\nmax_endpoints = -1\n"},
    {"fraction", "max_endpoints = 9\ninbox_capacity = 1.5\n"},
    {"empty value", "max_endpoints = 9\ninbox_capacity =\n"},
    {"empty value with comment", "max_endpoints = 9\ninbox_capacity = # nothing\n"},
    {"trailing garbage", "max_endpoints = 9\ninbox_capacity = 12x\n"},
    {"two numbers", "max_endpoints = 9\ninbox_capacity = 12 13\n"},
    {"hex", "max_endpoints = 0x10\n"},
    {"overflowing u32", "max_endpoints = 9\ninbox_capacity = 4294967312\n"},
    {"huge number", "max_endpoints = 99999999999999999999999999999\n"},
    {"count with trailing x", "max_endpoints = 9\npool = 1K x 12x\n"},
    {"count with suffix", "max_endpoints = 9\npool = 1K x 2K\n"},
    {"pool without x", "max_endpoints = 9\npool = 1K 10\n"},
    {"pool without count", "max_endpoints = 9\npool = 1K x\n"},
    {"pool without size", "max_endpoints = 9\npool = x 10\n"},
    {"pool negative count", "max_endpoints = 9\npool = 1K x -1\n"},
    {"pool bad suffix", "max_endpoints = 9\npool = 1T x 1\n"},
    {"pool fractional size", "max_endpoints = 9\npool = 1.5K x 1\n"},
    {"max_endpoints 0", "inbox_capacity = 9\nmax_endpoints = 0\n"},
    {"max_endpoints 4097", "inbox_capacity = 9\nmax_endpoints = 4097\n"},
    {"inbox_capacity 0", "max_endpoints = 9\ninbox_capacity = 0\n"},
    {"inbox_capacity 1048577", "max_endpoints = 9\ninbox_capacity = 1048577\n"},
    {"mode 1777", "max_endpoints = 9\nmode = 1777\n"},
    {"mode 0400", "max_endpoints = 9\nmode = 0400\n"},
    {"mode 0200", "max_endpoints = 9\nmode = 0200\n"},
    {"mode 0 ", "max_endpoints = 9\nmode = 0\n"},
    {"mode not octal", "max_endpoints = 9\nmode = 0680\n"},
    {"mode 04600", "max_endpoints = 9\nmode = 04600\n"},
    {"pools descending", "max_endpoints = 9\npool = 4K x 1\npool = 1K x 1\n"},
    {"pools equal", "max_endpoints = 9\npool = 1K x 1\npool = 1024 x 1\n"},
    {"pool count 0", "max_endpoints = 9\npool = 1K x 0\n"},
    {"pool size 0", "max_endpoints = 9\npool = 0 x 1\n"},
    {"nine pool lines",
     "max_endpoints = 9\npool = 1 x 1\npool = 2 x 1\npool = 3 x 1\npool = 4 x 1\npool = 5 x 1\n"
     "pool = 6 x 1\npool = 7 x 1\npool = 8 x 1\npool = 9 x 1\n"},
    {"buffer size 2G", "max_endpoints = 9\npool = 2G x 1\n"},
    {"buffer size 1G+1", "max_endpoints = 9\npool = 1073741825 x 1\n"},
    {"bad line after pools", "pool = 1K x 1\npool = 2K x 1\nnope\n"},
    {"spin_ns over 1 s", "max_endpoints = 9\nspin_ns = 1000000001\n"},
    {"spin_ns 2s", "max_endpoints = 9\nspin_ns = 2s\n"},
    {"spin_ns 1001ms", "max_endpoints = 9\nspin_ns = 1001ms\n"},
    {"spin_ns negative", "max_endpoints = 9\nspin_ns = -1\n"},
    {"spin_ns fraction", "max_endpoints = 9\nspin_ns = 1.5ms\n"},
    {"spin_ns space before unit", "max_endpoints = 9\nspin_ns = 10 us\n"},
    {"spin_ns unit in capitals", "max_endpoints = 9\nspin_ns = 10US\n"},
    {"spin_ns unknown unit", "max_endpoints = 9\nspin_ns = 10m\n"},
    {"spin_ns size suffix", "max_endpoints = 9\nspin_ns = 10K\n"},
    {"spin_ns unit only", "max_endpoints = 9\nspin_ns = us\n"},
    {"spin_ns empty", "max_endpoints = 9\nspin_ns =\n"},
    {"spin_ns overflowing int64", "max_endpoints = 9\nspin_ns = 9223372036854775808\n"},
    {"spin_ns overflowing in seconds", "max_endpoints = 9\nspin_ns = 9223372037s\n"},
    {"max_topics 4097", "max_endpoints = 9\nmax_topics = 4097\n"},
    {"max_topics negative", "max_endpoints = 9\nmax_topics = -1\n"},
    {"max_subscribers 0", "max_endpoints = 9\nmax_subscribers = 0\n"},
    {"max_subscribers 65", "max_endpoints = 9\nmax_subscribers = 65\n"},
    {"max_subscribers with a unit", "max_endpoints = 9\nmax_subscribers = 8K\n"},
};

// GoogleTest prints a parameter with this rather than as raw bytes.
void PrintTo(const BadFile& bad, std::ostream* os) { *os << bad.what; }

class ConfigLoadError : public testing::TestWithParam<BadFile> {};

TEST_P(ConfigLoadError, InvalidAndUnchanged) {
    const BadFile& bad = GetParam();
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    std::string path = dir.write("bad.conf", bad.text);
    ASSERT_FALSE(path.empty());
    const hsipc_config before = nondefault_config();
    hsipc_config c = before;
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_config_load(&c, path.c_str())) << bad.what << ":\n" << bad.text;
    EXPECT_EQ(0, std::memcmp(&before, &c, sizeof c)) << bad.what << ": cfg changed";
}

INSTANTIATE_TEST_SUITE_P(ConfigFiles, ConfigLoadError, testing::ValuesIn(kBadFiles),
                         [](const testing::TestParamInfo<BadFile>& info) {
                             std::string name;
                             for (const char* c = info.param.what; *c; c++) {
                                 bool alnum = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                                              (*c >= '0' && *c <= '9');
                                 name += alnum ? *c : '_';
                             }
                             return std::to_string(info.index) + "_" + name;
                         });

TEST(ConfigLoadErrors, NullArguments) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    std::string path = dir.write("ok.conf", "max_endpoints = 9\n");
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_config_load(nullptr, path.c_str()));
    const hsipc_config before = nondefault_config();
    hsipc_config c = before;
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_config_load(&c, nullptr));
    EXPECT_EQ(0, std::memcmp(&before, &c, sizeof c));
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_config_load(nullptr, nullptr));
    // The file itself is fine.
    ASSERT_OK(hsipc_config_load(&c, path.c_str()));
    EXPECT_EQ(9u, c.max_endpoints);
}

TEST(ConfigLoadErrors, WrongStructSize) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    std::string path = dir.write("ok.conf", "max_endpoints = 9\n");
    for (uint32_t size : {0u, uint32_t(sizeof(hsipc_config) - 4), uint32_t(sizeof(hsipc_config) + 8), 0xFFFFFFFFu}) {
        hsipc_config before = nondefault_config();
        before.struct_size = size;
        hsipc_config c = before;
        EXPECT_STATUS(HSIPC_EINVAL, hsipc_config_load(&c, path.c_str())) << "struct_size " << size;
        EXPECT_EQ(0, std::memcmp(&before, &c, sizeof c)) << "struct_size " << size;
    }
}

TEST(ConfigLoadErrors, InvalidPriorValuesAreRefused) {
    // "The merged result is validated": a cfg that was invalid before and
    // that the file does not fix is refused.
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    std::string path = dir.write("ok.conf", "max_endpoints = 9\n");
    hsipc_config before = nondefault_config();
    before.inbox_capacity = 0;
    hsipc_config c = before;
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_config_load(&c, path.c_str()));
    EXPECT_EQ(0, std::memcmp(&before, &c, sizeof c));
    // A file that sets the bad field fixes it.
    std::string fix = dir.write("fix.conf", "inbox_capacity = 16\n");
    ASSERT_OK(hsipc_config_load(&c, fix.c_str()));
    EXPECT_EQ(16u, c.inbox_capacity);
}

TEST(ConfigLoadErrors, MissingFile) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const hsipc_config before = nondefault_config();
    hsipc_config c = before;
    std::string path = dir.path() + "/does-not-exist.conf";
    EXPECT_STATUS(HSIPC_ENOENT, hsipc_config_load(&c, path.c_str()));
    EXPECT_EQ(0, std::memcmp(&before, &c, sizeof c));
    std::string nested = dir.path() + "/no-such-dir/x.conf";
    EXPECT_STATUS(HSIPC_ENOENT, hsipc_config_load(&c, nested.c_str()));
    EXPECT_EQ(0, std::memcmp(&before, &c, sizeof c));
}

TEST(ConfigLoadErrors, UnreadableFile) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    std::string path = dir.write("secret.conf", "max_endpoints = 9\n");
    ASSERT_FALSE(path.empty());
    ASSERT_EQ(0, chmod(dir.path().c_str(), 0755));
    ASSERT_EQ(0, chmod(path.c_str(), 0));
    // Root reads anything: the child gives up its privileges first.
    pid_t pid = hsipc_test::fork_child([&]() -> int {
        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) return 10;
        hsipc_config before = nondefault_config();
        hsipc_config c = before;
        int rc = hsipc_config_load(&c, path.c_str());
        if (std::memcmp(&before, &c, sizeof c) != 0) return 11;
        if (rc == HSIPC_EPERM) return 0;
        return 20 - rc;  // 20 + |status|: tells which status came back
    });
    int status = hsipc_test::wait_child(pid);
    EXPECT_EQ(0, status) << (status >= 20 ? "status " + std::to_string(20 - status) + " (" +
                                               hsipc_strerror(20 - status) + ") instead of HSIPC_EPERM"
                                         : std::string("child could not run the check"));
}

TEST(ConfigLoadErrors, DirectoryPath) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const hsipc_config before = nondefault_config();
    hsipc_config c = before;
    int rc = hsipc_config_load(&c, dir.path().c_str());
    EXPECT_TRUE(rc == HSIPC_EINVAL || rc == HSIPC_ESYS) << "got " << rc << " " << hsipc_strerror(rc);
    EXPECT_EQ(0, std::memcmp(&before, &c, sizeof c));
}

// ---- Loaded configurations at attach ---------------------------------------------

TEST(ConfigAttach, InboxCapacityIsRoundedAtAttach) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    std::string path = dir.write("inbox.conf", "inbox_capacity = 100\n");
    hsipc_config c = hsipc_test::small_config();
    ASSERT_OK(hsipc_config_load(&c, path.c_str()));
    EXPECT_EQ(100u, c.inbox_capacity);
    ScopedName name("cfground");
    hsipc_region* r = nullptr;
    ASSERT_OK(hsipc_attach(name.c_str(), &c, &r));
    hsipc_config got;
    hsipc_config_init(&got);
    EXPECT_OK(hsipc_region_config(r, &got));
    EXPECT_EQ(128u, got.inbox_capacity);
    EXPECT_EQ(c.max_endpoints, got.max_endpoints);
    EXPECT_EQ(c.pool_count, got.pool_count);
    EXPECT_OK(hsipc_detach(r));
}

TEST(ConfigAttach, LoadedConfigurationIsUsed) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    std::string path = dir.write("region.conf", "max_endpoints = 3\nmode = 0660\npool = 128 x 2\npool = 1K x 1\n");
    hsipc_config c;
    hsipc_config_init(&c);
    ASSERT_OK(hsipc_config_load(&c, path.c_str()));
    ScopedName name("cfgload");
    hsipc_region* r = nullptr;
    ASSERT_OK(hsipc_attach(name.c_str(), &c, &r));
    hsipc_config got;
    hsipc_config_init(&got);
    EXPECT_OK(hsipc_region_config(r, &got));
    EXPECT_EQ(3u, got.max_endpoints);
    EXPECT_EQ(1024u, got.inbox_capacity);
    EXPECT_EQ(0660u, got.mode);
    ASSERT_EQ(2u, got.pool_count);
    EXPECT_EQ(128u, got.pools[0].buffer_size);
    EXPECT_EQ(2u, got.pools[0].buffer_count);
    EXPECT_EQ(1024u, got.pools[1].buffer_size);
    EXPECT_EQ(1u, got.pools[1].buffer_count);
    struct stat st;
    ASSERT_EQ(0, stat(name.path().c_str(), &st));
    EXPECT_EQ(0660u, st.st_mode & 07777);
    EXPECT_OK(hsipc_detach(r));
}

TEST(ConfigEnv, NullConfigUsesHsipcConfigFile) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    std::string path = dir.write("env.conf", "# from HSIPC_CONFIG\nmax_endpoints = 5\npool = 512 x 4\n");
    ScopedEnv env(path.c_str());
    ScopedName name("cfgenv");
    hsipc_region* r = nullptr;
    ASSERT_OK(hsipc_attach(name.c_str(), nullptr, &r));
    hsipc_config got;
    hsipc_config_init(&got);
    EXPECT_OK(hsipc_region_config(r, &got));
    EXPECT_EQ(5u, got.max_endpoints);
    EXPECT_EQ(1024u, got.inbox_capacity);  // default: absent from the file
    EXPECT_EQ(0600u, got.mode);
    ASSERT_EQ(1u, got.pool_count);
    EXPECT_EQ(512u, got.pools[0].buffer_size);
    EXPECT_EQ(4u, got.pools[0].buffer_count);
    for (int p = 1; p < HSIPC_MAX_POOLS; p++) EXPECT_EQ(0u, got.pools[p].buffer_size) << "pool " << p;
    EXPECT_EQ(4, hsipc_test::count_free_buffers(r, 1));
    EXPECT_OK(hsipc_detach(r));
}

TEST(ConfigEnv, MalformedHsipcConfigFailsAndLeavesNoObject) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    std::string path = dir.write("bad.conf", "max_endpoints = 5\nthis is not a setting\n");
    ScopedEnv env(path.c_str());
    ScopedName name("cfgbad");
    hsipc_region* r = reinterpret_cast<hsipc_region*>(uintptr_t(0x1234));
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_attach(name.c_str(), nullptr, &r));
    EXPECT_EQ(reinterpret_cast<hsipc_region*>(uintptr_t(0x1234)), r);
    EXPECT_FALSE(exists(name.path())) << name.path() << " was left behind";
}

TEST(ConfigEnv, OutOfRangeHsipcConfigFailsAndLeavesNoObject) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    std::string path = dir.write("range.conf", "max_endpoints = 4097\n");
    ScopedEnv env(path.c_str());
    ScopedName name("cfgrange");
    hsipc_region* r = nullptr;
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_attach(name.c_str(), nullptr, &r));
    EXPECT_FALSE(exists(name.path())) << name.path() << " was left behind";
}

TEST(ConfigEnv, MissingHsipcConfigFileIsReported) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    std::string path = dir.path() + "/missing.conf";
    ScopedEnv env(path.c_str());
    ScopedName name("cfgmiss");
    hsipc_region* r = nullptr;
    EXPECT_STATUS(HSIPC_ENOENT, hsipc_attach(name.c_str(), nullptr, &r));
    EXPECT_FALSE(exists(name.path())) << name.path() << " was left behind";
}

TEST(ConfigEnv, EmptyHsipcConfigMeansDefaults) {
    ScopedEnv env("");
    ScopedName name("cfgempty");
    hsipc_region* r = nullptr;
    ASSERT_OK(hsipc_attach(name.c_str(), nullptr, &r));
    hsipc_config got;
    hsipc_config_init(&got);
    EXPECT_OK(hsipc_region_config(r, &got));
    expect_defaults(got);
    EXPECT_OK(hsipc_detach(r));
}

TEST(ConfigEnv, UnsetHsipcConfigMeansDefaults) {
    ScopedEnv env(nullptr);
    ScopedName name("cfgunset");
    hsipc_region* r = nullptr;
    ASSERT_OK(hsipc_attach(name.c_str(), nullptr, &r));
    hsipc_config got;
    hsipc_config_init(&got);
    EXPECT_OK(hsipc_region_config(r, &got));
    expect_defaults(got);
    EXPECT_OK(hsipc_detach(r));
}

TEST(ConfigEnv, ExplicitConfigIgnoresHsipcConfig) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    std::string path = dir.write("bad.conf", "garbage\n");
    ScopedEnv env(path.c_str());
    ScopedName name("cfgexpl");
    hsipc_config c = hsipc_test::small_config();
    hsipc_region* r = nullptr;
    ASSERT_OK(hsipc_attach(name.c_str(), &c, &r));
    hsipc_config got;
    hsipc_config_init(&got);
    EXPECT_OK(hsipc_region_config(r, &got));
    EXPECT_EQ(c.max_endpoints, got.max_endpoints);
    EXPECT_EQ(2u, got.pool_count);
    EXPECT_OK(hsipc_detach(r));
}

// ---- spin_ns: the region's default spin ------------------------------------------------

hsipc::Endpoint* core(hsipc_endpoint* ep) { return reinterpret_cast<hsipc::Endpoint*>(ep); }
int64_t endpoint_spin(hsipc_endpoint* ep) { return core(ep)->spin_ns.load(std::memory_order_relaxed); }
// What the attaching process validated and keeps (never re-read from the region).
int64_t region_spin(hsipc_region* r) { return reinterpret_cast<hsipc::Region*>(r)->layout.config.spin_ns; }

TEST(ConfigSpin, FileRoundTripIntoTheRegion) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    std::string path = dir.write("spin.conf", "spin_ns = 20us\n");
    hsipc_config c = hsipc_test::small_config();
    ASSERT_OK(hsipc_config_load(&c, path.c_str()));
    EXPECT_EQ(20000, c.spin_ns);
    ScopedName name("cfgspinfile");
    hsipc_region* r = nullptr;
    ASSERT_OK(hsipc_attach(name.c_str(), &c, &r));
    hsipc_config got;
    hsipc_config_init(&got);
    ASSERT_OK(hsipc_region_config(r, &got));
    EXPECT_EQ(20000, got.spin_ns);
    EXPECT_EQ(20000, region_spin(r));
    EXPECT_OK(hsipc_detach(r));
}

TEST(ConfigSpin, HsipcConfigSetsIt) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    std::string path = dir.write("env.conf", "max_endpoints = 4\npool = 64 x 8\nspin_ns = 0\n");
    ScopedEnv env(path.c_str());
    ScopedName name("cfgspinenv");
    hsipc_region* r = nullptr;
    ASSERT_OK(hsipc_attach(name.c_str(), nullptr, &r));
    hsipc_config got;
    hsipc_config_init(&got);
    ASSERT_OK(hsipc_region_config(r, &got));
    EXPECT_EQ(0, got.spin_ns);
    hsipc_endpoint* ep = nullptr;
    ASSERT_OK(hsipc_endpoint_open(r, "e", &ep));
    EXPECT_EQ(0, endpoint_spin(ep));
    EXPECT_OK(hsipc_detach(r));
}

TEST(ConfigSpin, AttachChecksTheLimits) {
    ScopedName name("cfgspinlim");
    hsipc_region* r = nullptr;
    for (int64_t bad : {int64_t(-1), int64_t(1000000001), INT64_MIN, INT64_MAX}) {
        hsipc_config c = hsipc_test::small_config();
        c.spin_ns = bad;
        EXPECT_STATUS(HSIPC_EINVAL, hsipc_attach(name.c_str(), &c, &r)) << bad;
        EXPECT_FALSE(exists(name.path())) << bad;
    }
    for (int64_t good : {int64_t(0), int64_t(1000000000)}) {
        hsipc_config c = hsipc_test::small_config();
        c.spin_ns = good;
        ASSERT_OK(hsipc_attach(name.c_str(), &c, &r)) << good;
        hsipc_config got;
        hsipc_config_init(&got);
        ASSERT_OK(hsipc_region_config(r, &got));
        EXPECT_EQ(good, got.spin_ns);
        EXPECT_OK(hsipc_detach(r));
        EXPECT_OK(hsipc_unlink(name.c_str()));
    }
}

TEST(ConfigSpin, EndpointsStartWithTheRegionsSpinAndSetSpinOverrides) {
    ScopedName name("cfgspinep");
    hsipc_config c = hsipc_test::small_config();
    c.spin_ns = 3000;
    hsipc_region* r = nullptr;
    ASSERT_OK(hsipc_attach(name.c_str(), &c, &r));
    hsipc_endpoint* a = nullptr;
    ASSERT_OK(hsipc_endpoint_open(r, "a", &a));
    EXPECT_EQ(3000, endpoint_spin(a));
    ASSERT_OK(hsipc_endpoint_set_spin(a, 0));
    EXPECT_EQ(0, endpoint_spin(a));
    ASSERT_OK(hsipc_endpoint_set_spin(a, 5000000000));  // the per-endpoint setting has no upper limit
    EXPECT_EQ(5000000000, endpoint_spin(a));
    // Another endpoint, and one reopened under a's name, start from the region's again.
    hsipc_endpoint* b = nullptr;
    ASSERT_OK(hsipc_endpoint_open(r, "b", &b));
    EXPECT_EQ(3000, endpoint_spin(b));
    ASSERT_OK(hsipc_endpoint_close(a));
    ASSERT_OK(hsipc_endpoint_open(r, "a", &a));
    EXPECT_EQ(3000, endpoint_spin(a));

    // Another process attaching later (its cfg ignored) gets the creator's spin.
    pid_t pid = hsipc_test::fork_child([&]() -> int {
        hsipc_config other = hsipc_test::small_config();
        other.spin_ns = 777;
        hsipc_region* rc = nullptr;
        if (hsipc_attach(name.c_str(), &other, &rc) != HSIPC_OK) return 1;
        hsipc_config g;
        hsipc_config_init(&g);
        if (hsipc_region_config(rc, &g) != HSIPC_OK || g.spin_ns != 3000) return 2;
        hsipc_endpoint* ep = nullptr;
        if (hsipc_endpoint_open(rc, "child", &ep) != HSIPC_OK) return 3;
        if (endpoint_spin(ep) != 3000) return 4;
        hsipc_detach(rc);
        return 0;
    });
    EXPECT_EQ(0, hsipc_test::wait_child(pid));
    EXPECT_OK(hsipc_detach(r));
}

TEST(ConfigSpin, ScribbledSpinIsCorrupt) {
    ScopedName name("cfgspinscrib");
    hsipc_config c = hsipc_test::small_config();
    hsipc_region* r = nullptr;
    ASSERT_OK(hsipc_attach(name.c_str(), &c, &r));
    EXPECT_OK(hsipc_detach(r));
    int fd = open(name.path().c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    const int64_t bad = hsipc::kMaxSpinNs + 1;
    const off_t at = off_t(offsetof(hsipc::RegionHeader, config) + offsetof(hsipc::StoredConfig, spin_ns));
    ASSERT_EQ(ssize_t(sizeof bad), pwrite(fd, &bad, sizeof bad, at));
    close(fd);
    EXPECT_STATUS(HSIPC_ECORRUPT, hsipc_attach(name.c_str(), &c, &r));
}

// ---- Topic limits ---------------------------------------------------------------------

TEST(ConfigTopics, FileRoundTripIntoTheRegion) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    hsipc_config c = hsipc_test::small_config();
    ASSERT_OK(hsipc_config_load(&c, dir.write("t.conf", "max_topics = 3\nmax_subscribers = 2\n").c_str()));
    EXPECT_EQ(3u, c.max_topics);
    EXPECT_EQ(2u, c.max_subscribers);
    ScopedName name("cfgtopics");
    hsipc_region* r = nullptr;
    ASSERT_OK(hsipc_attach(name.c_str(), &c, &r));
    hsipc_config got;
    hsipc_config_init(&got);
    ASSERT_OK(hsipc_region_config(r, &got));
    EXPECT_EQ(3u, got.max_topics);
    EXPECT_EQ(2u, got.max_subscribers);

    // The limits are the ones the region enforces.
    hsipc_id t;
    for (const char* topic : {"a", "b", "c"}) ASSERT_OK(hsipc_topic_open(r, topic, &t));
    EXPECT_STATUS(HSIPC_ENOMEM, hsipc_topic_open(r, "d", &t));
    hsipc_endpoint* eps[3];
    for (int i = 0; i < 3; i++) ASSERT_OK(hsipc_endpoint_open(r, ("e" + std::to_string(i)).c_str(), &eps[i]));
    ASSERT_OK(hsipc_subscribe(eps[0], "a"));
    ASSERT_OK(hsipc_subscribe(eps[1], "a"));
    EXPECT_STATUS(HSIPC_ENOMEM, hsipc_subscribe(eps[2], "a"));
    EXPECT_OK(hsipc_detach(r));
}

TEST(ConfigTopics, AttachChecksTheLimits) {
    ScopedName name("cfgtopiclim");
    hsipc_region* r = nullptr;
    struct Limits {
        uint32_t topics, subscribers;
    };
    for (Limits bad : {Limits{4097, 16}, Limits{UINT32_MAX, 16}, Limits{64, 0}, Limits{64, 65}, Limits{0, 0}}) {
        hsipc_config c = hsipc_test::small_config();
        c.max_topics = bad.topics;
        c.max_subscribers = bad.subscribers;
        EXPECT_STATUS(HSIPC_EINVAL, hsipc_attach(name.c_str(), &c, &r)) << bad.topics << " x " << bad.subscribers;
        EXPECT_FALSE(exists(name.path()));
    }
    for (Limits good : {Limits{0, 1}, Limits{4096, 64}, Limits{1, 1}}) {
        hsipc_config c = hsipc_test::small_config();
        c.max_topics = good.topics;
        c.max_subscribers = good.subscribers;
        ASSERT_OK(hsipc_attach(name.c_str(), &c, &r)) << good.topics << " x " << good.subscribers;
        hsipc_config got;
        hsipc_config_init(&got);
        ASSERT_OK(hsipc_region_config(r, &got));
        EXPECT_EQ(good.topics, got.max_topics);
        EXPECT_EQ(good.subscribers, got.max_subscribers);
        EXPECT_OK(hsipc_detach(r));
        EXPECT_OK(hsipc_unlink(name.c_str()));
    }
}

// No topics: no topic table, no lists, no share records; the topic calls
// say there is no room, and point-to-point works as before.
TEST(ConfigTopics, NoTopicsCostsNoMemory) {
    hsipc_config with = hsipc_test::small_config();
    hsipc_config without = with;
    without.max_topics = 0;
    hsipc::StoredConfig s_with, s_without;
    ASSERT_OK(hsipc::config_to_stored(with, &s_with));
    ASSERT_OK(hsipc::config_to_stored(without, &s_without));
    hsipc::Layout l_with, l_without;
    ASSERT_TRUE(hsipc::compute_layout(s_with, &l_with));
    ASSERT_TRUE(hsipc::compute_layout(s_without, &l_without));
    uint64_t buffers = 0;
    for (uint32_t p = 0; p < with.pool_count; p++) buffers += with.pools[p].buffer_count;
    EXPECT_GE(l_with.total_size - l_without.total_size, buffers * with.max_subscribers * 8)
        << "every buffer's share record goes";

    ScopedName name("cfgnotopics");
    hsipc_region* r = nullptr;
    ASSERT_OK(hsipc_attach(name.c_str(), &without, &r));
    hsipc_id t;
    hsipc_endpoint* ep = nullptr;
    EXPECT_STATUS(HSIPC_ENOMEM, hsipc_topic_open(r, "t", &t));
    ASSERT_OK(hsipc_endpoint_open(r, "e", &ep));
    EXPECT_STATUS(HSIPC_ENOMEM, hsipc_subscribe(ep, "t"));
    hsipc_off off;
    hsipc_msg msg;
    ASSERT_OK(hsipc_alloc(r, 8, &off));
    ASSERT_OK(hsipc_send_offset(ep, hsipc_endpoint_id(ep), off, 8));
    ASSERT_OK(hsipc_poll(ep, &msg, 0));
    EXPECT_OK(hsipc_release(r, msg.off));
    EXPECT_OK(hsipc_detach(r));
}

TEST(ConfigTopics, ScribbledLimitsAreCorrupt) {
    ScopedName name("cfgtopicscrib");
    hsipc_config c = hsipc_test::small_config();
    hsipc_region* r = nullptr;
    ASSERT_OK(hsipc_attach(name.c_str(), &c, &r));
    EXPECT_OK(hsipc_detach(r));
    int fd = open(name.path().c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    const uint32_t bad = hsipc::kMaxSubscribers + 1;
    const off_t at = off_t(offsetof(hsipc::RegionHeader, config) + offsetof(hsipc::StoredConfig, max_subscribers));
    ASSERT_EQ(ssize_t(sizeof bad), pwrite(fd, &bad, sizeof bad, at));
    close(fd);
    EXPECT_STATUS(HSIPC_ECORRUPT, hsipc_attach(name.c_str(), &c, &r));
}

// ---- Older callers' struct sizes (the ABI; also tests/abi_compat_test.c) ----------------

TEST(ConfigSizes, KnownSizes) {
    EXPECT_EQ(152u, hsipc::kConfigSizeBeforeSpin);
    EXPECT_EQ(152u, offsetof(hsipc_config, spin_ns));
    EXPECT_TRUE(hsipc::config_size_known(152));
    EXPECT_TRUE(hsipc::config_size_known(sizeof(hsipc_config)));
    EXPECT_EQ(168u, sizeof(hsipc_config));
    // 160 was a development size (spin_ns alone) that never shipped.
    for (uint32_t size : {0u, 4u, 148u, 151u, 153u, 156u, 159u, 160u, 161u, 164u, 176u, 0xFFFFFFFFu}) {
        EXPECT_FALSE(hsipc::config_size_known(size)) << size;
    }
}

// A caller's struct followed by bytes no call may touch.
struct Guarded {
    unsigned char bytes[sizeof(hsipc_config) + 64];
    explicit Guarded(uint32_t struct_size) {
        std::memset(bytes, 0xA5, sizeof bytes);
        hsipc::config_defaults_sized(bytes, struct_size);
    }
    hsipc_config* cfg() { return reinterpret_cast<hsipc_config*>(bytes); }
    bool untouched_from(size_t at) const {
        for (size_t i = at; i < sizeof bytes; i++) {
            if (bytes[i] != 0xA5) return false;
        }
        return true;
    }
};

TEST(ConfigSizes, DefaultsSizedWritesExactlyThatMany) {
    Guarded old(152);
    EXPECT_EQ(152u, old.cfg()->struct_size);
    EXPECT_EQ(64u, old.cfg()->max_endpoints);
    EXPECT_EQ(0600u, old.cfg()->mode);
    EXPECT_TRUE(old.untouched_from(152));
    Guarded now(sizeof(hsipc_config));
    expect_defaults(*now.cfg());
    EXPECT_TRUE(now.untouched_from(sizeof(hsipc_config)));
}

TEST(ConfigSizes, ImportFillsTheMissingFieldsWithDefaults) {
    Guarded old(152);
    old.cfg()->max_endpoints = 9;
    // Bytes past an old caller's struct are not its: import must not read them.
    std::memset(old.bytes + 152, 0x11, sizeof old.bytes - 152);
    hsipc_config full;
    ASSERT_OK(hsipc::config_import(old.bytes, &full));
    EXPECT_EQ(sizeof(hsipc_config), full.struct_size);
    EXPECT_EQ(9u, full.max_endpoints);
    EXPECT_EQ(hsipc::kDefaultSpinNs, full.spin_ns);
    EXPECT_EQ(hsipc::kDefaultTopics, full.max_topics);
    EXPECT_EQ(hsipc::kDefaultSubscribers, full.max_subscribers);
    hsipc::StoredConfig s;
    EXPECT_OK(hsipc::config_to_stored(full, &s));

    hsipc_config now = nondefault_config();
    ASSERT_OK(hsipc::config_import(&now, &full));
    EXPECT_EQ(0, std::memcmp(&now, &full, sizeof now));

    for (uint32_t size : {0u, 156u, 160u, 176u}) {
        hsipc_config bad = nondefault_config();
        bad.struct_size = size;
        hsipc_config untouched = nondefault_config();
        hsipc_config out = untouched;
        EXPECT_STATUS(HSIPC_EINVAL, hsipc::config_import(&bad, &out)) << size;
        EXPECT_EQ(0, std::memcmp(&untouched, &out, sizeof out)) << size;
    }
}

TEST(ConfigSizes, ExportWritesOnlyTheCallersSize) {
    hsipc_config full = nondefault_config();
    Guarded old(152);
    hsipc::config_export(full, old.bytes);
    EXPECT_EQ(152u, old.cfg()->struct_size);
    EXPECT_EQ(7u, old.cfg()->max_endpoints);
    EXPECT_EQ(6u, old.cfg()->pool_count);
    EXPECT_TRUE(old.untouched_from(152));
    Guarded now(sizeof(hsipc_config));
    hsipc::config_export(full, now.bytes);
    EXPECT_EQ(0, std::memcmp(&full, now.bytes, sizeof full));
    EXPECT_TRUE(now.untouched_from(sizeof(hsipc_config)));
}

TEST(ConfigSizes, PublicFunctionsTakeTheOldSize) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    std::string path = dir.write("old.conf", "max_endpoints = 4\npool = 64 x 8\nspin_ns = 9us\n");
    Guarded old(152);
    ASSERT_OK(hsipc_config_load(old.cfg(), path.c_str()));
    EXPECT_EQ(152u, old.cfg()->struct_size);
    EXPECT_EQ(4u, old.cfg()->max_endpoints);
    EXPECT_EQ(1u, old.cfg()->pool_count);
    EXPECT_TRUE(old.untouched_from(152)) << "spin_ns from the file must not land past the old struct";

    ScopedName name("cfgoldsize");
    hsipc_region* r = nullptr;
    ASSERT_OK(hsipc_attach(name.c_str(), old.cfg(), &r));
    EXPECT_EQ(hsipc::kDefaultSpinNs, region_spin(r)) << "an old caller cannot set spin_ns";
    Guarded got(152);
    ASSERT_OK(hsipc_region_config(r, got.cfg()));
    EXPECT_EQ(152u, got.cfg()->struct_size);
    EXPECT_EQ(4u, got.cfg()->max_endpoints);
    EXPECT_TRUE(got.untouched_from(152));
    EXPECT_OK(hsipc_detach(r));
}

TEST(ConfigAttach, ExistingRegionIgnoresCfg) {
    ScopedName name("cfgexist");
    hsipc_config creator = hsipc_test::small_config(16, 4, 8, 8);
    hsipc_region* r1 = nullptr;
    ASSERT_OK(hsipc_attach(name.c_str(), &creator, &r1));

    hsipc_config other;
    hsipc_config_init(&other);
    other.max_endpoints = 20;
    other.inbox_capacity = 64;
    other.mode = 0666;
    other.pool_count = 1;
    other.pools[0] = {1024, 3, 0};
    for (int p = 1; p < HSIPC_MAX_POOLS; p++) other.pools[p] = {};
    hsipc_region* r2 = nullptr;
    ASSERT_OK(hsipc_attach(name.c_str(), &other, &r2));
    hsipc_config got;
    hsipc_config_init(&got);
    EXPECT_OK(hsipc_region_config(r2, &got));
    EXPECT_EQ(8u, got.max_endpoints);
    EXPECT_EQ(8u, got.inbox_capacity);
    EXPECT_EQ(0600u, got.mode);
    ASSERT_EQ(2u, got.pool_count);
    EXPECT_EQ(64u, got.pools[0].buffer_size);
    EXPECT_EQ(16u, got.pools[0].buffer_count);
    EXPECT_EQ(4096u, got.pools[1].buffer_size);
    EXPECT_EQ(4u, got.pools[1].buffer_count);

    // And from another process, which has no handle to it yet.
    pid_t pid = hsipc_test::fork_child([&]() -> int {
        hsipc_region* rc = nullptr;
        if (hsipc_attach(name.c_str(), &other, &rc) != HSIPC_OK) return 1;
        hsipc_config g;
        hsipc_config_init(&g);
        if (hsipc_region_config(rc, &g) != HSIPC_OK) return 2;
        int ok = g.max_endpoints == 8 && g.pool_count == 2 && g.pools[0].buffer_size == 64;
        hsipc_detach(rc);
        return ok ? 0 : 3;
    });
    EXPECT_EQ(0, hsipc_test::wait_child(pid));
    EXPECT_OK(hsipc_detach(r2));
    EXPECT_OK(hsipc_detach(r1));
}

TEST(ConfigAttach, AttachRefusesWhatLoadRefuses) {
    // hsipc_attach validates cfg with the same limits.
    ScopedName name("cfgattbad");
    hsipc_config c = hsipc_test::small_config();
    c.mode = 0400;
    hsipc_region* r = nullptr;
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_attach(name.c_str(), &c, &r));
    c = hsipc_test::small_config();
    c.pools[1].buffer_size = c.pools[0].buffer_size;
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_attach(name.c_str(), &c, &r));
    c = hsipc_test::small_config();
    c.pools[0].reserved = 1;
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_attach(name.c_str(), &c, &r));
    c = hsipc_test::small_config();
    c.struct_size = 0;
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_attach(name.c_str(), &c, &r));
    EXPECT_FALSE(exists(name.path()));
    c = hsipc_test::small_config();
    ASSERT_OK(hsipc_attach(name.c_str(), &c, &r));
    EXPECT_OK(hsipc_detach(r));
}

// ---- Internal validation (src/config.h) ----------------------------------------------

TEST(ConfigStored, InboxCapacityRoundsUpToPowerOfTwo) {
    struct {
        uint32_t in, out;
    } cases[] = {{1, 1}, {2, 2}, {3, 4}, {5, 8}, {100, 128}, {1024, 1024}, {1025, 2048},
                 {1048575, 1048576}, {1048576, 1048576}};
    for (auto k : cases) {
        hsipc_config c = hsipc_test::small_config();
        c.inbox_capacity = k.in;
        hsipc::StoredConfig s;
        ASSERT_OK(hsipc::config_to_stored(c, &s)) << k.in;
        EXPECT_EQ(k.out, s.inbox_capacity) << "inbox_capacity " << k.in;
        EXPECT_EQ(c.max_endpoints, s.max_endpoints);
        EXPECT_EQ(c.pool_count, s.pool_count);
    }
    hsipc_config c = hsipc_test::small_config();
    hsipc::StoredConfig s;
    c.inbox_capacity = 0;
    EXPECT_STATUS(HSIPC_EINVAL, hsipc::config_to_stored(c, &s));
    c.inbox_capacity = 1048577;
    EXPECT_STATUS(HSIPC_EINVAL, hsipc::config_to_stored(c, &s));
}

TEST(ConfigStored, ModeValidation) {
    for (uint32_t mode : {0600u, 0640u, 0660u, 0666u, 0700u, 0777u}) {
        hsipc_config c = hsipc_test::small_config();
        c.mode = mode;
        hsipc::StoredConfig s;
        EXPECT_OK(hsipc::config_to_stored(c, &s)) << std::oct << mode;
        EXPECT_EQ(mode, s.mode);
    }
    for (uint32_t mode : {0u, 0400u, 0200u, 0500u, 0066u, 01600u, 02600u, 04600u, 0777u | 01000u, 010600u}) {
        hsipc_config c = hsipc_test::small_config();
        c.mode = mode;
        hsipc::StoredConfig s;
        EXPECT_STATUS(HSIPC_EINVAL, hsipc::config_to_stored(c, &s)) << std::oct << mode;
    }
}

TEST(ConfigStored, TotalBufferLimit) {
    hsipc::StoredConfig s;
    hsipc_config c = hsipc_test::small_config();
    c.pool_count = 1;
    c.pools[0] = {1, 16000000, 0};
    c.pools[1] = {};
    EXPECT_OK(hsipc::config_to_stored(c, &s));
    c.pools[0].buffer_count = 16000001;
    EXPECT_STATUS(HSIPC_EINVAL, hsipc::config_to_stored(c, &s));
    // The limit is on all pools together.
    c.pool_count = 2;
    c.pools[0] = {1, 8000000, 0};
    c.pools[1] = {2, 8000000, 0};
    EXPECT_OK(hsipc::config_to_stored(c, &s));
    c.pools[1].buffer_count = 8000001;
    EXPECT_STATUS(HSIPC_EINVAL, hsipc::config_to_stored(c, &s));
    // Counts whose 32-bit sum would wrap are refused, not wrapped.
    c.pools[0] = {1, 0xFFFFFFFFu, 0};
    c.pools[1] = {2, 2, 0};
    EXPECT_STATUS(HSIPC_EINVAL, hsipc::config_to_stored(c, &s));
}

TEST(ConfigStored, RegionSizeLimit) {
    hsipc::StoredConfig s;
    hsipc_config c = hsipc_test::small_config();
    c.pool_count = 1;
    c.pools[1] = {};
    c.pools[0] = {1ull << 30, 1000, 0};  // 1000 GiB of payload: under 1 TiB
    EXPECT_OK(hsipc::config_to_stored(c, &s));
    c.pools[0].buffer_count = 1024;  // 1 TiB of payload plus the tables
    EXPECT_STATUS(HSIPC_EINVAL, hsipc::config_to_stored(c, &s));
    c.pools[0].buffer_count = 2048;
    EXPECT_STATUS(HSIPC_EINVAL, hsipc::config_to_stored(c, &s));
    // Spread over pools.
    c.pool_count = 2;
    c.pools[0] = {512ull << 20, 1024, 0};
    c.pools[1] = {1ull << 30, 600, 0};  // 512 GiB + 600 GiB
    EXPECT_STATUS(HSIPC_EINVAL, hsipc::config_to_stored(c, &s));
}

TEST(ConfigStored, OtherLimits) {
    hsipc::StoredConfig s;
    hsipc_config c = hsipc_test::small_config();
    ASSERT_OK(hsipc::config_to_stored(c, &s));
    c.struct_size = sizeof(hsipc_config) - 8;
    EXPECT_STATUS(HSIPC_EINVAL, hsipc::config_to_stored(c, &s));
    c = hsipc_test::small_config();
    c.max_endpoints = 0;
    EXPECT_STATUS(HSIPC_EINVAL, hsipc::config_to_stored(c, &s));
    c.max_endpoints = 4097;
    EXPECT_STATUS(HSIPC_EINVAL, hsipc::config_to_stored(c, &s));
    c.max_endpoints = 4096;
    EXPECT_OK(hsipc::config_to_stored(c, &s));
    c = hsipc_test::small_config();
    c.pool_count = 0;
    EXPECT_STATUS(HSIPC_EINVAL, hsipc::config_to_stored(c, &s));
    c.pool_count = HSIPC_MAX_POOLS + 1;
    EXPECT_STATUS(HSIPC_EINVAL, hsipc::config_to_stored(c, &s));
    c = hsipc_test::small_config();
    c.pools[1].buffer_size = (1ull << 30) + 1;
    EXPECT_STATUS(HSIPC_EINVAL, hsipc::config_to_stored(c, &s));
    c.pools[1].buffer_size = 1ull << 30;
    EXPECT_OK(hsipc::config_to_stored(c, &s));
    c = hsipc_test::small_config();
    c.pools[0].buffer_count = 0;
    EXPECT_STATUS(HSIPC_EINVAL, hsipc::config_to_stored(c, &s));
}

TEST(ConfigStored, RoundTripsThroughPublicStruct) {
    hsipc_config c = hsipc_test::small_config(16, 4, 100, 8);
    c.mode = 0660;
    hsipc::StoredConfig s;
    ASSERT_OK(hsipc::config_to_stored(c, &s));
    hsipc_config back;
    std::memset(&back, 0xEE, sizeof back);
    hsipc::config_from_stored(s, &back);
    EXPECT_EQ(sizeof(hsipc_config), back.struct_size);
    EXPECT_EQ(8u, back.max_endpoints);
    EXPECT_EQ(128u, back.inbox_capacity);
    EXPECT_EQ(0660u, back.mode);
    ASSERT_EQ(2u, back.pool_count);
    EXPECT_EQ(64u, back.pools[0].buffer_size);
    EXPECT_EQ(4096u, back.pools[1].buffer_size);
    for (int p = 2; p < HSIPC_MAX_POOLS; p++) EXPECT_EQ(0u, back.pools[p].buffer_size);
}

}  // namespace
