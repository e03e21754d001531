// SPDX-License-Identifier: MIT
// examples/eventloop, run as a user would: it answers hsipc messages and
// echoes on its Unix socket from one epoll loop, costs no CPU and is never
// woken while idle (an fd wait has no periodic wake-ups, where hsipc_poll
// with a timeout wakes ~16 times a second), and SIGTERM ends it cleanly.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "test_util.h"

namespace {

using hsipc_test::ScopedName;

constexpr int kWaitMs = 10000;  // for anything the example should do at once

// The example, started with its stdout on a pipe we read.
struct Example {
    pid_t pid = -1;
    int out = -1;  // its stdout
    std::string output;

    bool start(const std::string& region, const std::string& endpoint, const std::string& socket_path) {
        int p[2];
        if (pipe2(p, O_CLOEXEC) != 0) return false;
        fflush(nullptr);
        pid = fork();
        if (pid == 0) {
            dup2(p[1], STDOUT_FILENO);
            execl(HSIPC_EVENTLOOP, HSIPC_EVENTLOOP, region.c_str(), endpoint.c_str(), socket_path.c_str(),
                  static_cast<char*>(nullptr));
            _exit(127);
        }
        close(p[1]);
        out = p[0];
        return pid > 0;
    }
    // Reads its stdout until `text` appears, its stdout closes or kWaitMs pass.
    bool wait_for(const std::string& text) {
        for (int waited = 0; output.find(text) == std::string::npos && waited < kWaitMs; waited += 100) {
            struct pollfd p = {out, POLLIN, 0};
            if (poll(&p, 1, 100) != 1) continue;
            char buf[256];
            ssize_t n = read(out, buf, sizeof buf);
            if (n <= 0) break;
            output.append(buf, size_t(n));
        }
        return output.find(text) != std::string::npos;
    }
    ~Example() {
        if (pid > 0) {
            kill(pid, SIGKILL);
            hsipc_test::wait_child(pid, 5);
        }
        if (out >= 0) close(out);
    }
};

// utime + stime of a process, in clock ticks (fields 14 and 15 of
// /proc/PID/stat, counted after the command name's closing parenthesis,
// which may itself hold spaces); -1 where it cannot be read.
long cpu_ticks(pid_t pid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    const size_t paren = stat.rfind(')');
    if (paren == std::string::npos) return -1;
    std::istringstream fields(stat.substr(paren + 2));  // field 3 onwards
    std::string field;
    long utime = -1, stime = -1;
    for (int i = 3; i <= 15 && fields >> field; i++) {
        if (i == 14) utime = std::atol(field.c_str());
        if (i == 15) stime = std::atol(field.c_str());
    }
    return utime < 0 || stime < 0 ? -1 : utime + stime;
}

// Times the process was switched out, voluntarily (it slept) or not, from
// /proc/PID/status; -1 where it cannot be read.
long context_switches(pid_t pid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    long total = 0;
    int found = 0;
    while (std::getline(f, line)) {
        if (line.rfind("voluntary_ctxt_switches:", 0) == 0 || line.rfind("nonvoluntary_ctxt_switches:", 0) == 0) {
            total += std::atol(line.c_str() + line.find(':') + 1);
            found++;
        }
    }
    return found == 2 ? total : -1;
}

// Sends `text` to endpoint `to` and returns the reply's bytes ("" on any failure).
std::string hsipc_round_trip(hsipc_region* r, hsipc_endpoint* me, hsipc_id to, const std::string& text) {
    hsipc_off off;
    if (hsipc_alloc(r, text.size(), &off) != HSIPC_OK) return "";
    std::memcpy(hsipc_ptr(r, off), text.data(), text.size());
    if (hsipc_send_offset(me, to, off, text.size()) != HSIPC_OK) {
        hsipc_release(r, off);
        return "";
    }
    hsipc_msg msg;
    int rc = hsipc_poll(me, &msg, int64_t(kWaitMs) * 1000000);
    if (rc != HSIPC_OK) {
        ADD_FAILURE() << "no reply: " << hsipc_strerror(rc);
        return "";
    }
    EXPECT_EQ(to, msg.from);
    std::string reply(static_cast<const char*>(msg.data), size_t(msg.length));
    hsipc_release(r, msg.off);
    return reply;
}

int connect_to(const std::string& path) {
    struct sockaddr_un addr = {};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

// Writes `line` on the connection and reads as many bytes back.
std::string socket_round_trip(int fd, const std::string& line) {
    if (write(fd, line.data(), line.size()) != ssize_t(line.size())) return "";
    std::string back;
    while (back.size() < line.size()) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, kWaitMs) != 1) break;
        char buf[256];
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0) break;
        back.append(buf, size_t(n));
    }
    return back;
}

TEST(EventLoopExample, ServesBothIdlesAtNoCostAndStopsOnSigterm) {
    ScopedName name("evloop");
    // Made here with small pools, so that the example attaches to it rather
    // than creating one of the default size.
    hsipc_config cfg = hsipc_test::small_config(16, 4, 8, 8);
    hsipc_region* r;
    ASSERT_OK(hsipc_attach(name.c_str(), &cfg, &r));
    char dir[] = "/tmp/hsipc-evloop-XXXXXX";
    ASSERT_NE(nullptr, mkdtemp(dir));
    const std::string socket_path = std::string(dir) + "/sock";

    {
        Example ex;
        ASSERT_TRUE(ex.start(name.c_str(), "evloop", socket_path));
        ASSERT_TRUE(ex.wait_for("eventloop: ready")) << ex.output;

        hsipc_endpoint* me;
        ASSERT_OK(hsipc_endpoint_open(r, "client", &me));
        hsipc_id server;
        ASSERT_OK(hsipc_lookup(r, "evloop", &server));
        int conn = connect_to(socket_path);
        ASSERT_GE(conn, 0) << socket_path << ": " << std::strerror(errno);

        EXPECT_EQ("olleh", hsipc_round_trip(r, me, server, "hello"));
        EXPECT_EQ("one line\n", socket_round_trip(conn, "one line\n"));

        // Idle: nothing sent for a second. A loop that spins (readiness
        // never cleared, a zero timeout) uses about 100 ticks; one asleep
        // in epoll_wait uses none; 2 (20 ms at the usual 100 a second)
        // leave room for a tick that was under way. A loop that wakes
        // periodically costs too little CPU to show in ticks (hsipc_poll's
        // ~16 wake-ups a second took under 2 ms here), but each wake-up is
        // a context switch: an epoll_wait without a timeout makes none.
        const long ticks_before = cpu_ticks(ex.pid), switches_before = context_switches(ex.pid);
        ASSERT_GE(ticks_before, 0);
        ASSERT_GE(switches_before, 0);
        usleep(1000000);
        const long ticks = cpu_ticks(ex.pid) - ticks_before;
        const long switches = context_switches(ex.pid) - switches_before;
        EXPECT_LE(ticks, 2) << "CPU ticks used in one idle second (" << sysconf(_SC_CLK_TCK) << " a second)";
        EXPECT_LE(switches, 1) << "wake-ups in one idle second";

        // Still awake to both after sleeping.
        EXPECT_EQ("dlrow", hsipc_round_trip(r, me, server, "world"));
        EXPECT_EQ("and another\n", socket_round_trip(conn, "and another\n"));
        EXPECT_EQ("ab", hsipc_round_trip(r, me, server, "ba"));

        ASSERT_EQ(0, kill(ex.pid, SIGTERM));
        const int status = hsipc_test::wait_child(ex.pid, 5);
        ex.pid = -1;
        EXPECT_EQ(0, status) << ex.output;
        EXPECT_TRUE(ex.wait_for("shutting down")) << ex.output;

        // Its endpoint is closed, its socket removed, and its client's
        // connection ended.
        EXPECT_STATUS(HSIPC_ENOENT, hsipc_lookup(r, "evloop", &server));
        struct stat st;
        EXPECT_NE(0, lstat(socket_path.c_str(), &st)) << socket_path << " is still there";
        char buf[16];
        EXPECT_EQ(0, read(conn, buf, sizeof buf));
        close(conn);
    }
    unlink(socket_path.c_str());
    rmdir(dir);
    hsipc_detach(r);
}

}  // namespace
