// SPDX-License-Identifier: MIT
// The coordinator's side of a case: fork the two children, pin them, wait
// for them with a deadline, and clean up whatever happens — a child that
// fails or hangs is killed, and Ctrl-C or SIGTERM kills both children and
// removes the case's shared objects before the program exits.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <functional>
#include <string>

#include "mechanism.h"
#include "spec.h"

namespace bench {

struct CaseOutcome {
    enum Status { Ok, Unavailable, Failed } status = Ok;
    std::string note;  // why not Ok
    SideResult ping, pong;
};

// Thrown when SIGINT, SIGTERM or SIGHUP arrived; children are gone by then.
struct Interrupted {
    int signal;
};

class Runner {
public:
    Runner();  // blocks the signals it waits for; maps the shared block
    ~Runner();
    Runner(const Runner&) = delete;
    Runner& operator=(const Runner&) = delete;

    CaseOutcome run(Mechanism& m, const CaseSpec& spec);

    // Runs fn in a child (for availability probes that may hang, such as
    // registering with a RouDi that does not answer). True when it returned
    // within timeout_ns; otherwise *why says what happened.
    bool probe(const std::function<void()>& fn, int64_t timeout_ns, std::string* why, bool exit_handlers = false);

    // "CPU 0 and CPU 1", or why the children are not pinned.
    std::string pinning() const;

private:
    struct Shared;
    struct Child {
        pid_t pid;
        const char* role;
        int status;  // waitpid status once exited
        bool exited;
    };
    // Forks a child that runs body and leaves with its result through
    // _exit, or through exit() when exit_handlers (static destructors run).
    pid_t spawn(const std::function<int()>& body, bool exit_handlers);
    // Waits until every child exited or one failed (then kills the rest),
    // or the deadline passed (kills all). Empty when all exited with 0.
    std::string wait_all(Child* children, int count, int64_t deadline_ns);
    void kill_all(Child* children, int count);

    Shared* shared_;
    sigset_t old_mask_;
    int cpu_[2] = {-1, -1};
};

}  // namespace bench
