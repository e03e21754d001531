// SPDX-License-Identifier: MIT
// Two simulated hosts on one machine for hsipc_bridge_bench: as root, two
// network namespaces joined by a veth pair, each with a private /dev/shm
// (so each host has its own hsipc regions and wake-up sockets); otherwise,
// or where the kernel or `ip` refuses, loopback in this namespace, the hosts
// then being two regions of distinct names in the one /dev/shm.
//
// A host's namespaces are held by a child that sleeps in them; every process
// of the benchmark that runs "on" a host is forked and enters them with
// setns. The holders die with the coordinator (PR_SET_PDEATHSIG), and with
// them the namespaces, the veth pair and the tmpfs: nothing is left behind.
#pragma once

#include <sys/types.h>

#include <string>

namespace bench::bridge {

struct Host {
    std::string name;     // "A", "B"
    std::string address = "127.0.0.1";  // its IPv4 address on the link
    pid_t holder = 0;     // sleeps in its namespaces; 0: none (loopback)
    int net_fd = -1;      // /proc/HOLDER/ns/net, mnt
    int mnt_fd = -1;
};

class Hosts {
public:
    Hosts() {
        a_.name = "A";
        b_.name = "B";
    }
    ~Hosts();
    Hosts(const Hosts&) = delete;
    Hosts& operator=(const Hosts&) = delete;

    // Namespaces and veth where allowed (and not `loopback_only`), else
    // loopback; never fails. link() then says which, and why.
    void setup(bool loopback_only);
    const std::string& link() const { return link_; }
    bool separate() const { return a_.holder != 0; }
    const Host& a() const { return a_; }
    const Host& b() const { return b_; }

    // In a child just forked: enters the host's namespaces. False with errno.
    static bool enter(const Host& h);

private:
    bool try_namespaces(std::string* why);
    void teardown();

    Host a_, b_;
    std::string link_;
};

// Runs argv (argv[0] looked up in PATH) on host h, its output discarded;
// its exit status, or -1 where it could not be run.
int run_command_on(const Host& h, const char* const* argv);

}  // namespace bench::bridge
