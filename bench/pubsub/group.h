// SPDX-License-Identifier: MIT
// The coordinator's side of a case: fork the publisher and the subscribers,
// place them on CPUs, wait for them with a deadline, and clean up whatever
// happens — a process that fails or hangs gets every process of the case
// killed, and Ctrl-C or SIGTERM kills them all and removes the case's
// shared objects before the program exits (as bench/runner.h, for 1 + n
// processes).
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "pubsub.h"

namespace bench::pubsub {

struct Outcome {
    enum Status { Ok, Unavailable, Failed } status = Ok;
    std::string note;  // why not Ok
    PublisherResult publisher;
    std::vector<SubscriberResult> subscribers;
};

class Group {
public:
    Group();  // blocks the signals it waits for; maps the shared block
    ~Group();
    Group(const Group&) = delete;
    Group& operator=(const Group&) = delete;

    Outcome run(Mechanism& m, const Spec& spec);

    // Runs fn in a child (availability probes that may hang). True when it
    // returned within timeout_ns; otherwise *why says what happened.
    bool probe(const std::function<void()>& fn, int64_t timeout_ns, std::string* why, bool exit_handlers);

    // The CPU process i (0: the publisher) is pinned to, or -1.
    int cpu_of(int process, Placement p) const;
    // "publisher on CPU 0, subscribers on CPUs 1, 0, 1", or "not pinned".
    std::string describe(int subscribers, Placement p) const;

private:
    struct Child {
        pid_t pid;
        int status;  // waitpid status once exited
        bool exited;
    };
    pid_t spawn(const std::function<int()>& body, bool exit_handlers);
    // Empty when every child exited with 0; else what went wrong (the rest
    // are killed by then).
    std::string wait_all(std::vector<Child>& children, int64_t deadline_ns);
    void kill_all(std::vector<Child>& children);

    std::vector<int> cpus_;  // the CPUs we may use
    Control* control_;
    sigset_t old_mask_;
};

// Exit status of a process whose mechanism threw Unavailable.
constexpr int kExitUnavailable = 3;

}  // namespace bench::pubsub
