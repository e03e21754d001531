// SPDX-License-Identifier: MIT
#include "hosts.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace bench::bridge {
namespace {

// A private /24 for the veth pair: inside the namespaces only, so it meets
// no address of the machine's own.
constexpr const char* kAddressA = "10.203.0.1";
constexpr const char* kAddressB = "10.203.0.2";
constexpr const char* kVethA = "hsbb-a";
constexpr const char* kVethB = "hsbb-b";

// A child that makes and then holds a network and a mount namespace with
// its own tmpfs on /dev/shm; its pid, or 0 with *error.
pid_t spawn_holder(int* error) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) {
        *error = errno;
        return 0;
    }
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid < 0) {
        *error = errno;
        close(p[0]);
        close(p[1]);
        return 0;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(1);
        int err = 0;
        if (unshare(CLONE_NEWNET | CLONE_NEWNS) != 0) err = errno;
        // Private propagation first, or the tmpfs would appear in the
        // machine's own /dev/shm too.
        else if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) err = errno;
        else if (mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") != 0) err = errno;
        if (write(p[1], &err, sizeof err) != ssize_t(sizeof err) || err) _exit(1);
        for (;;) pause();
    }
    close(p[1]);
    int err = 0;
    const ssize_t n = read(p[0], &err, sizeof err);
    close(p[0]);
    if (n != ssize_t(sizeof err) || err) {
        *error = n == ssize_t(sizeof err) ? err : ECHILD;
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
        return 0;
    }
    return pid;
}

int open_ns(pid_t pid, const char* kind) {
    const std::string path = "/proc/" + std::to_string(pid) + "/ns/" + kind;
    return open(path.c_str(), O_RDONLY | O_CLOEXEC);
}

bool run_all(const Host& h, const std::vector<std::vector<std::string>>& commands, std::string* why) {
    for (const auto& command : commands) {
        std::vector<const char*> argv;
        for (const std::string& a : command) argv.push_back(a.c_str());
        argv.push_back(nullptr);
        const int status = run_command_on(h, argv.data());
        if (status != 0) {
            std::string text;
            for (const std::string& a : command) text += (text.empty() ? "" : " ") + a;
            *why = "`" + text + "` on host " + h.name + " " +
                   (status < 0 ? std::string("could not run") : "exited with " + std::to_string(status));
            return false;
        }
    }
    return true;
}

}  // namespace

int run_command_on(const Host& h, const char* const* argv) {
    const pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        const int null = open("/dev/null", O_WRONLY);
        if (null >= 0) {
            dup2(null, 1);
            dup2(null, 2);
        }
        if (!Hosts::enter(h)) _exit(126);
        execvp(argv[0], const_cast<char* const*>(argv));
        _exit(127);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) != pid) return -1;
    if (!WIFEXITED(status)) return -1;
    return WEXITSTATUS(status) == 127 ? -1 : WEXITSTATUS(status);
}

bool Hosts::enter(const Host& h) {
    if (!h.holder) return true;
    return setns(h.net_fd, CLONE_NEWNET) == 0 && setns(h.mnt_fd, CLONE_NEWNS) == 0;
}

Hosts::~Hosts() { teardown(); }

void Hosts::teardown() {
    for (Host* h : {&a_, &b_}) {
        if (h->net_fd >= 0) close(h->net_fd);
        if (h->mnt_fd >= 0) close(h->mnt_fd);
        h->net_fd = h->mnt_fd = -1;
        if (h->holder) {
            kill(h->holder, SIGKILL);
            waitpid(h->holder, nullptr, 0);
            h->holder = 0;
        }
        h->address = "127.0.0.1";
    }
}

void Hosts::setup(bool loopback_only) {
    std::string why;
    if (loopback_only) {
        why = "--loopback";
    } else if (geteuid() != 0) {
        why = "not root";
    } else if (try_namespaces(&why)) {
        link_ = std::string("veth pair between two network namespaces (") + kAddressA + " - " + kAddressB +
                "), each with its own /dev/shm";
        return;
    }
    teardown();
    link_ = "loopback (127.0.0.1) in one network namespace and one /dev/shm, hosts as two regions (" + why + ")";
}

bool Hosts::try_namespaces(std::string* why) {
    for (Host* h : {&a_, &b_}) {
        int err = 0;
        h->holder = spawn_holder(&err);
        if (!h->holder) {
            *why = std::string("network and mount namespaces refused: ") + std::strerror(err);
            return false;
        }
        h->net_fd = open_ns(h->holder, "net");
        h->mnt_fd = open_ns(h->holder, "mnt");
        if (h->net_fd < 0 || h->mnt_fd < 0) {
            *why = std::string("cannot open a namespace of the holder: ") + std::strerror(errno);
            return false;
        }
    }
    a_.address = kAddressA;
    b_.address = kAddressB;
    const std::string b_pid = std::to_string(b_.holder);
    return run_all(a_,
                   {{"ip", "link", "add", kVethA, "type", "veth", "peer", "name", kVethB},
                    {"ip", "link", "set", kVethB, "netns", b_pid},
                    {"ip", "addr", "add", std::string(kAddressA) + "/24", "dev", kVethA},
                    {"ip", "link", "set", kVethA, "up"},
                    {"ip", "link", "set", "lo", "up"}},
                   why) &&
           run_all(b_,
                   {{"ip", "addr", "add", std::string(kAddressB) + "/24", "dev", kVethB},
                    {"ip", "link", "set", kVethB, "up"},
                    {"ip", "link", "set", "lo", "up"}},
                   why);
}

}  // namespace bench::bridge
