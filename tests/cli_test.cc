// SPDX-License-Identifier: MIT
// The hsipc command, run as a shell user would: output, --json, exit codes,
// errors that name their cause, and every `hsipc ...` line of the docs.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "test_util.h"

namespace {

using hsipc_test::ScopedName;

struct CliResult {
    int status;
    std::string out;
};

// Runs the tool with `args` (stderr folded into the output).
CliResult cli(const std::string& args) {
    std::string cmd = std::string(HSIPC_CLI) + " " + args + " 2>&1";
    FILE* p = popen(cmd.c_str(), "r");
    CliResult r{-1, ""};
    if (!p) return r;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
    int st = pclose(p);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return r;
}

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

TEST(Cli, HelpAndUsage) {
    CliResult r = cli("--help");
    EXPECT_EQ(0, r.status);
    EXPECT_TRUE(contains(r.out, "usage: hsipc COMMAND"));
    for (const char* command : {"create", "ls", "stat", "rm", "reap", "bench"}) {
        r = cli(std::string(command) + " --help");
        EXPECT_EQ(0, r.status) << command;
        EXPECT_TRUE(contains(r.out, std::string("usage: hsipc ") + command)) << r.out;
    }
    EXPECT_EQ(2, cli("").status);
    EXPECT_EQ(2, cli("frobnicate").status);
    EXPECT_EQ(2, cli("stat").status);
    EXPECT_EQ(2, cli("ls --bogus").status);
    EXPECT_EQ(2, cli("create").status);
    EXPECT_EQ(2, cli("create x --config").status);
    EXPECT_EQ(2, cli("stat x --config y").status);
    r = cli("--version");
    EXPECT_EQ(0, r.status);
    EXPECT_TRUE(contains(r.out, "hsipc 0."));
}

TEST(Cli, MissingRegionIsAnErrorAndIsNotCreated) {
    ScopedName name("cli-missing");
    for (const char* command : {"stat", "reap", "rm"}) {
        CliResult r = cli(std::string(command) + " " + name.c_str());
        EXPECT_EQ(1, r.status) << command;
        EXPECT_TRUE(contains(r.out, "no region")) << r.out;
    }
    struct stat st;
    EXPECT_NE(0, stat(name.path().c_str(), &st));
    EXPECT_EQ(1, cli("stat bad/name").status);
}

TEST(Cli, LsStatReapRm) {
    ScopedName name("cli");
    hsipc_config cfg = hsipc_test::small_config(8, 2, 8, 4);
    hsipc_region* r;
    ASSERT_OK(hsipc_attach(name.c_str(), &cfg, &r));
    hsipc_endpoint* ep;
    ASSERT_OK(hsipc_endpoint_open(r, "listener", &ep));
    hsipc_off off;
    ASSERT_OK(hsipc_alloc(r, 1, &off));
    ASSERT_OK(hsipc_send_offset(ep, hsipc_endpoint_id(ep), off, 1));
    // A dead process holding two buffers with an endpoint.
    std::string region = name.c_str();
    pid_t child = hsipc_test::fork_child([&] {
        hsipc_region* c;
        hsipc_endpoint* e;
        hsipc_off o;
        if (hsipc_attach(region.c_str(), nullptr, &c) || hsipc_endpoint_open(c, "ghost", &e) ||
            hsipc_alloc(c, 1, &o) || hsipc_alloc(c, 1, &o)) {
            return 1;
        }
        raise(SIGKILL);
        return 0;
    });
    ASSERT_EQ(128 + SIGKILL, hsipc_test::wait_child(child));

    CliResult ls = cli("ls");
    EXPECT_EQ(0, ls.status);
    EXPECT_TRUE(contains(ls.out, name.c_str())) << ls.out;
    CliResult ls_json = cli("ls --json");
    EXPECT_EQ(0, ls_json.status);
    EXPECT_TRUE(contains(ls_json.out, std::string("{\"name\":\"") + name.c_str() + "\"")) << ls_json.out;

    CliResult st = cli(std::string("stat ") + name.c_str());
    EXPECT_EQ(0, st.status) << st.out;
    EXPECT_TRUE(contains(st.out, "listener")) << st.out;
    EXPECT_TRUE(contains(st.out, "ghost")) << st.out;
    CliResult js = cli(std::string("stat --json ") + name.c_str());
    EXPECT_EQ(0, js.status);
    EXPECT_TRUE(contains(js.out, "{\"buffer_size\":64,\"buffers\":8,\"free\":5,\"held\":2,\"queued\":1,\"shared\":0}"))
        << js.out;
    EXPECT_TRUE(contains(js.out, "\"name\":\"listener\",")) << js.out;
    EXPECT_TRUE(contains(js.out, std::string("\"owner_pid\":") + std::to_string(getpid()) + ",\"alive\":true,\"queued\":1"))
        << js.out;
    EXPECT_TRUE(contains(js.out, "\"name\":\"ghost\",")) << js.out;
    EXPECT_TRUE(contains(js.out, "\"alive\":false,\"queued\":0")) << js.out;

    CliResult reap = cli(std::string("reap ") + name.c_str());
    EXPECT_EQ(0, reap.status);
    EXPECT_TRUE(contains(reap.out, "reclaimed 3")) << reap.out;  // two buffers and an endpoint
    js = cli(std::string("stat --json ") + name.c_str());
    EXPECT_FALSE(contains(js.out, "ghost")) << js.out;

    EXPECT_EQ(0, cli(std::string("rm ") + name.c_str()).status);
    EXPECT_FALSE(contains(cli("ls").out, name.c_str()));
    hsipc_msg msg;  // still works for those attached
    EXPECT_OK(hsipc_poll(ep, &msg, 0));
    EXPECT_OK(hsipc_detach(r));
}

// hsipc-bridge leaves its counters at /dev/shm/hsipc-bridge.REGION.HOST
// when it stops (bridge/stats_page.h); rm takes them with the region, but
// not a running bridge's (it holds an OFD lock on its file, as this test
// does for "running"), nor those of another region whose name begins alike.
TEST(Cli, RmRemovesWhatStoppedBridgesLeftButNotARunningOnes) {
    ScopedName name("clibr");
    hsipc_config cfg = hsipc_test::small_config();
    hsipc_region* r = nullptr;
    ASSERT_OK(hsipc_attach(name.c_str(), &cfg, &r));
    ASSERT_OK(hsipc_detach(r));
    const std::string stem = std::string("/dev/shm/hsipc-bridge.") + name.c_str();
    const std::string stopped = stem + ".stopped", running = stem + ".running", other = stem + ".x.other";
    for (const std::string& path : {stopped, running, other}) {
        std::ofstream(path) << std::string(4096, '\0');
    }
    const int held = open(running.c_str(), O_RDWR | O_CLOEXEC);
    ASSERT_GE(held, 0);
    struct flock lock;
    std::memset(&lock, 0, sizeof lock);
    lock.l_type = F_WRLCK;
    lock.l_whence = SEEK_SET;
    ASSERT_EQ(0, fcntl(held, F_OFD_SETLK, &lock));

    const CliResult rm = cli(std::string("rm ") + name.c_str());
    EXPECT_EQ(0, rm.status) << rm.out;
    struct stat st;
    EXPECT_NE(0, stat(stopped.c_str(), &st)) << "a stopped bridge's counters go with the region";
    EXPECT_EQ(0, stat(running.c_str(), &st)) << "a running bridge's stay";
    EXPECT_TRUE(contains(rm.out, "hsipc-bridge running is running")) << rm.out;
    EXPECT_EQ(0, stat(other.c_str(), &st)) << "region " << name.c_str() << ".x's are not this region's";

    close(held);  // the bridge stops: now rm removes them, even with the region gone
    EXPECT_EQ(1, cli(std::string("rm ") + name.c_str()).status);
    EXPECT_NE(0, stat(running.c_str(), &st));
    unlink(other.c_str());
}

TEST(Cli, StatShowsTopicsWithTheirSubscribers) {
    ScopedName name("cli-topics");
    hsipc_config cfg = hsipc_test::small_config(8, 1, 8, 8);
    cfg.max_topics = 4;
    cfg.max_subscribers = 3;
    hsipc_region* r;
    ASSERT_OK(hsipc_attach(name.c_str(), &cfg, &r));
    hsipc_endpoint *pub, *cam, *log;
    ASSERT_OK(hsipc_endpoint_open(r, "pub", &pub));
    ASSERT_OK(hsipc_endpoint_open(r, "viewer", &cam));
    ASSERT_OK(hsipc_endpoint_open(r, "recorder", &log));
    ASSERT_OK(hsipc_subscribe(cam, "frames"));
    ASSERT_OK(hsipc_subscribe(log, "frames"));
    hsipc_id frames, idle;
    ASSERT_OK(hsipc_topic_open(r, "frames", &frames));
    ASSERT_OK(hsipc_topic_open(r, "idle", &idle));
    hsipc_off off;
    uint32_t delivered;
    ASSERT_OK(hsipc_alloc(r, 1, &off));
    ASSERT_OK(hsipc_publish(pub, frames, off, 1, &delivered, nullptr));

    CliResult text = cli(std::string("stat ") + name.c_str());
    EXPECT_EQ(0, text.status) << text.out;
    EXPECT_TRUE(contains(text.out, "max_topics 4, max_subscribers 3")) << text.out;
    EXPECT_TRUE(contains(text.out, "SHARED")) << text.out;
    EXPECT_TRUE(contains(text.out, "viewer, recorder")) << text.out;
    EXPECT_TRUE(contains(text.out, "(none)")) << text.out;
    CliResult js = cli(std::string("stat --json ") + name.c_str());
    EXPECT_EQ(0, js.status);
    EXPECT_TRUE(contains(js.out, "\"max_topics\":4,\"max_subscribers\":3,")) << js.out;
    EXPECT_TRUE(contains(js.out, "\"free\":7,\"held\":0,\"queued\":0,\"shared\":1}")) << js.out;
    EXPECT_TRUE(contains(js.out, "{\"name\":\"frames\",\"id\":" + std::to_string(frames) + ",\"subscribers\":[{\"id\":" +
                                     std::to_string(hsipc_endpoint_id(cam)) + ",\"name\":\"viewer\"},{\"id\":" +
                                     std::to_string(hsipc_endpoint_id(log)) + ",\"name\":\"recorder\"}]}"))
        << js.out;
    EXPECT_TRUE(contains(js.out, "{\"name\":\"idle\",\"id\":" + std::to_string(idle) + ",\"subscribers\":[]}")) << js.out;
    EXPECT_OK(hsipc_detach(r));
}

TEST(Cli, CreateFromAConfigFile) {
    ScopedName name("cli-create");
    std::string conf = "/tmp/hsipc-cli-create-" + std::to_string(getpid()) + ".conf";
    {
        std::ofstream f(conf);
        f << "max_endpoints = 4\npool = 64 x 8\nspin_ns = 20us\n";
    }
    CliResult r = cli(std::string("create ") + name.c_str() + " --config " + conf);
    EXPECT_EQ(0, r.status) << r.out;
    CliResult js = cli(std::string("stat --json ") + name.c_str());
    EXPECT_TRUE(contains(js.out, "\"max_endpoints\":4,")) << js.out;
    EXPECT_TRUE(contains(js.out, "\"spin_ns\":20000,")) << js.out;
    CliResult text = cli(std::string("stat ") + name.c_str());
    EXPECT_TRUE(contains(text.out, "spin_ns 20000 (20 us spin before a waiting receiver sleeps)")) << text.out;
    EXPECT_TRUE(contains(js.out, "{\"buffer_size\":64,\"buffers\":8,")) << js.out;
    r = cli(std::string("create ") + name.c_str());  // exists: its configuration cannot change
    EXPECT_EQ(1, r.status);
    EXPECT_TRUE(contains(r.out, "exists already")) << r.out;
    r = cli(std::string("create ") + name.c_str() + "-2 --config /nonexistent/hsipc.conf");
    EXPECT_EQ(1, r.status);
    EXPECT_TRUE(contains(r.out, "/nonexistent/hsipc.conf")) << r.out;
    std::remove(conf.c_str());
}

// A full /dev/shm is HSIPC_ESYS with errno ENOSPC: the command must say
// so, and how big the region is, not "operating-system error". A region of
// nearly 1 TiB (the limit) cannot fit; tmpfs refuses the reservation at once.
TEST(Cli, FullDevShmSaysNoSpaceAndTheSize) {
    struct statvfs vfs;
    ASSERT_EQ(0, statvfs("/dev/shm", &vfs));
    const uint64_t bytes = 1000ull << 30;
    if (uint64_t(vfs.f_bavail) * vfs.f_frsize >= bytes) GTEST_SKIP() << "/dev/shm could hold 1000 GiB";
    ScopedName name("cli-nospace");
    std::string conf = "/tmp/hsipc-cli-nospace-" + std::to_string(getpid()) + ".conf";
    {
        std::ofstream f(conf);
        f << "pool = 1G x 1000\n";
    }
    CliResult r = cli(std::string("create ") + name.c_str() + " --config " + conf);
    std::remove(conf.c_str());
    EXPECT_EQ(1, r.status) << r.out;
    EXPECT_TRUE(contains(r.out, "No space left on device")) << r.out;
    EXPECT_TRUE(contains(r.out, "needs more than 1000.0 GiB")) << r.out;
    EXPECT_TRUE(contains(r.out, "/dev/shm has ")) << r.out;
    EXPECT_FALSE(contains(r.out, "errno holds it")) << r.out;
    struct stat st;
    EXPECT_NE(0, stat(name.path().c_str(), &st));
}

// ---- every `hsipc ...` command line in the docs --------------------------

std::string read_file(const std::string& path) {
    std::ifstream f(path);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::stringstream s(text);
    for (std::string line; std::getline(s, line);) out.push_back(line);
    return out;
}

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

// Markdown: `hsipc ...` code spans, and lines of fenced blocks that start
// with "hsipc " or "$ hsipc " (a trailing # comment dropped).
void markdown_commands(const std::string& path, std::vector<std::string>* out) {
    bool fenced = false;
    for (std::string line : lines_of(read_file(path))) {
        if (starts_with(line, "```")) {
            fenced = !fenced;
            continue;
        }
        if (fenced) {
            if (starts_with(line, "$ ")) line.erase(0, 2);
            if (!starts_with(line, "hsipc ")) continue;
            size_t hash = line.find(" #");
            out->push_back(line.substr(0, hash));
            continue;
        }
        for (size_t open = line.find('`'); open != std::string::npos;) {
            size_t close = line.find('`', open + 1);
            if (close == std::string::npos) break;
            std::string span = line.substr(open + 1, close - open - 1);
            if (starts_with(span, "hsipc ")) out->push_back(span);
            open = line.find('`', close + 1);
        }
    }
}

// The manual page's SYNOPSIS, one command per .br, with the font macros
// and escapes taken out; and "hsipc ..." quoted in macro lines elsewhere.
void manpage_commands(const std::string& path, std::vector<std::string>* out) {
    bool synopsis = false;
    std::string current;
    for (std::string line : lines_of(read_file(path))) {
        for (size_t at; (at = line.find("\\-")) != std::string::npos;) line.replace(at, 2, "-");
        if (starts_with(line, ".SH")) synopsis = line == ".SH SYNOPSIS";
        if (synopsis && (line == ".br" || starts_with(line, ".SH"))) {
            if (starts_with(current, "hsipc ")) out->push_back(current);
            current.clear();
            continue;
        }
        if (line.empty() || line[0] != '.' || starts_with(line, ".TH")) continue;  // .TH: "hsipc 0.1"
        size_t space = line.find(' ');
        std::string text = space == std::string::npos ? "" : line.substr(space + 1);
        if (synopsis) {
            for (char c : text) {
                if (c != '"') current += c;
            }
            current += ' ';
        } else {
            size_t q = text.find("\"hsipc ");
            if (q != std::string::npos) out->push_back(text.substr(q + 1, text.find('"', q + 1) - q - 1));
        }
    }
}

// The documented command lines: README.md, docs/*.md and tools/hsipc.1.
std::vector<std::string> documented_commands() {
    std::vector<std::string> out;
    const std::string root = HSIPC_SOURCE_DIR;
    markdown_commands(root + "/README.md", &out);
    FILE* ls = popen(("ls " + root + "/docs/*.md").c_str(), "r");
    char path[4096];
    while (ls && std::fgets(path, sizeof path, ls)) {
        std::string p(path);
        p.erase(p.find_last_not_of("\n") + 1);
        markdown_commands(p, &out);
    }
    if (ls) pclose(ls);
    manpage_commands(root + "/tools/hsipc.1", &out);
    return out;
}

// Each documented line is run twice. With --help appended, which the tool
// honours only after it has accepted the command and every option before
// it: a subcommand or option the tool lacks fails (exit 2). And, where its
// only arguments are the placeholders NAME and FILE (not bench: it runs for
// a minute), for real against a scratch region and configuration file:
// the documented line must succeed.
TEST(Cli, EveryCommandLineInTheDocsParses) {
    ScopedName scratch("cli-docs");
    std::string conf = "/tmp/hsipc-cli-docs-" + std::to_string(getpid()) + ".conf";
    {
        std::ofstream f(conf);
        f << "pool = 64 x 8\n";
    }
    std::vector<std::string> commands = documented_commands();
    std::vector<std::string> seen;
    for (const std::string& line : commands) {
        std::stringstream words(line);
        std::string word, args;
        bool placeholders_only = true;
        words >> word;  // hsipc
        std::string command;
        while (words >> word) {
            std::string w;
            for (char c : word) {
                if (c != '[' && c != ']') w += c;
            }
            if (w.size() > 3 && w.compare(w.size() - 3, 3, "...") == 0) w.erase(w.size() - 3);
            if (w.empty() || w == "ARGS") continue;
            if (w == "COMMAND") w = "ls";
            if (command.empty()) {
                command = w;
            } else if (w == "NAME") {
                w = scratch.c_str();
            } else if (w == "FILE") {
                w = conf;
            } else if (w[0] != '-') {
                placeholders_only = false;  // a real name from an example: parse only
            }
            args += " " + w;
        }
        seen.push_back(command);
        CliResult r = cli(args + " --help");
        EXPECT_EQ(0, r.status) << "documented `" << line << "` does not parse: hsipc" << args << "\n" << r.out;
        // "hsipc rm" in prose names a command, it is not a line to run.
        bool runnable = line.find("NAME") != std::string::npos || command == "ls";
        if (!placeholders_only || !runnable || command == "bench") continue;
        hsipc_unlink(scratch.c_str());
        if (command != "create") {
            hsipc_config cfg = hsipc_test::small_config(8, 2, 8, 4);
            hsipc_region* r0;
            ASSERT_OK(hsipc_attach(scratch.c_str(), &cfg, &r0));
            ASSERT_OK(hsipc_detach(r0));
        }
        r = cli(args);
        EXPECT_EQ(0, r.status) << "documented `" << line << "` fails: hsipc" << args << "\n" << r.out;
    }
    std::remove(conf.c_str());
    // The extraction itself works: the synopsis alone names every command.
    for (const char* command : {"create", "ls", "stat", "rm", "reap", "bench"}) {
        EXPECT_NE(seen.end(), std::find(seen.begin(), seen.end(), command)) << command << " is in no doc";
    }
}

}  // namespace
