// The hsipc command, run as a shell user would: output, --json, exit codes.
#include <sys/stat.h>

#include <cstdio>
#include <cstring>
#include <string>

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
    for (const char* command : {"ls", "stat", "rm", "reap", "bench"}) {
        r = cli(std::string(command) + " --help");
        EXPECT_EQ(0, r.status) << command;
        EXPECT_TRUE(contains(r.out, std::string("usage: hsipc ") + command)) << r.out;
    }
    EXPECT_EQ(2, cli("").status);
    EXPECT_EQ(2, cli("frobnicate").status);
    EXPECT_EQ(2, cli("stat").status);
    EXPECT_EQ(2, cli("ls --bogus").status);
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
    EXPECT_TRUE(contains(js.out, "{\"buffer_size\":64,\"buffers\":8,\"free\":5,\"held\":2,\"queued\":1}")) << js.out;
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

}  // namespace
