// SPDX-License-Identifier: MIT
#include "group.h"

#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <new>

#include "../runner.h"  // Interrupted
#include "../util.h"

namespace bench::pubsub {
namespace {

const int kStopSignals[] = {SIGINT, SIGTERM, SIGHUP};

std::string describe_status(int status) {
    if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) return std::string("killed by signal ") + strsignal(WTERMSIG(status));
    return "stopped";
}

std::string role_name(int process) {
    return process == 0 ? "publisher" : "subscriber " + std::to_string(process);
}

}  // namespace

Group::Group() {
    sigset_t set;
    sigemptyset(&set);
    for (int s : kStopSignals) sigaddset(&set, s);
    sigaddset(&set, SIGCHLD);
    // Blocked here and taken with sigtimedwait while waiting for children,
    // so an interrupt is handled where cleanup is simple and safe.
    check_sys(sigprocmask(SIG_BLOCK, &set, &old_mask_), "sigprocmask");
    void* p = mmap(nullptr, sizeof(Control), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw_errno("mmap");
    control_ = new (p) Control;
    cpu_set_t allowed;
    if (sched_getaffinity(0, sizeof allowed, &allowed) == 0) {
        for (int c = 0; c < CPU_SETSIZE; c++) {
            if (CPU_ISSET(c, &allowed)) cpus_.push_back(c);
        }
    }
}

Group::~Group() {
    munmap(control_, sizeof(Control));
    sigprocmask(SIG_SETMASK, &old_mask_, nullptr);
}

int Group::cpu_of(int process, Placement p) const {
    if (p == Placement::None || cpus_.size() < 2) return -1;
    if (p == Placement::Split) return cpus_[process == 0 ? 0 : 1];
    return cpus_[size_t(process) % cpus_.size()];
}

std::string Group::describe(int subscribers, Placement p) const {
    if (cpu_of(0, p) < 0) {
        return cpus_.size() < 2 ? "not pinned (fewer than two CPUs available)"
                                : "not pinned (the scheduler places them)";
    }
    std::string s = "publisher on CPU " + std::to_string(cpu_of(0, p)) + ", subscriber" + (subscribers > 1 ? "s" : "") +
                    " on CPU" + (subscribers > 1 ? "s " : " ");
    for (int i = 1; i <= subscribers; i++) s += (i > 1 ? ", " : "") + std::to_string(cpu_of(i, p));
    return s;
}

pid_t Group::spawn(const std::function<int()>& body, bool exit_handlers) {
    // Output still buffered would be copied into the child.
    std::fflush(stdout);
    std::fflush(stderr);
    const pid_t coordinator = getpid();
    const pid_t pid = fork();
    if (pid < 0) throw_errno("fork");
    if (pid > 0) return pid;
    int code = 1;
    try {
        sigprocmask(SIG_SETMASK, &old_mask_, nullptr);
        signal(SIGPIPE, SIG_IGN);
        prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the coordinator
        if (getppid() != coordinator) _exit(1);
        code = body();
    } catch (...) {
        code = 1;
    }
    if (exit_handlers) std::exit(code);
    _exit(code);
}

void Group::kill_all(std::vector<Child>& children) {
    for (Child& c : children) {
        if (!c.exited) kill(c.pid, SIGKILL);
    }
    for (Child& c : children) {
        if (c.exited) continue;
        waitpid(c.pid, &c.status, 0);
        c.exited = true;
    }
}

std::string Group::wait_all(std::vector<Child>& children, int64_t deadline_ns) {
    sigset_t set;
    sigemptyset(&set);
    for (int s : kStopSignals) sigaddset(&set, s);
    sigaddset(&set, SIGCHLD);
    for (;;) {
        int running = 0;
        for (size_t i = 0; i < children.size(); i++) {
            Child& c = children[i];
            if (c.exited) continue;
            if (waitpid(c.pid, &c.status, WNOHANG) == c.pid) {
                c.exited = true;
                // The others may wait for it forever.
                if (!WIFEXITED(c.status) || WEXITSTATUS(c.status) != 0) {
                    kill_all(children);
                    return role_name(int(i)) + " " + describe_status(c.status);
                }
            } else {
                running++;
            }
        }
        if (running == 0) return "";
        const int64_t left = deadline_ns - now_ns();
        if (left <= 0) {
            static const char* const stages[] = {"opening its end", "at the first barrier or connecting",
                                                 "at the second barrier", "running", "closing"};
            std::string which;
            for (size_t i = 0; i < children.size(); i++) {
                if (children[i].exited) continue;
                const uint32_t at = control_->stage[i].load();
                which += (which.empty() ? "" : ", ") + role_name(int(i)) + " " + (at <= kDone ? stages[at] : "?");
            }
            kill_all(children);
            return "timed out (still running: " + which + ")";
        }
        const int64_t slice = std::min<int64_t>(left, 100'000'000);
        timespec ts = {time_t(slice / 1'000'000'000), long(slice % 1'000'000'000)};
        const int sig = sigtimedwait(&set, nullptr, &ts);
        if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP) {
            kill_all(children);
            throw Interrupted{sig};
        }
    }
}

Outcome Group::run(Mechanism& m, const Spec& spec) {
    Outcome out;
    struct Guard {
        Mechanism& m;
        ~Guard() { m.cleanup(); }
    } guard{m};
    try {
        m.prepare(spec);
    } catch (const Unavailable& e) {
        out.status = Outcome::Unavailable;
        out.note = e.what();
        return out;
    } catch (const std::exception& e) {
        out.status = Outcome::Failed;
        out.note = std::string("prepare: ") + e.what();
        return out;
    }
    Control* c = new (control_) Control;
    const int processes = 1 + spec.subscribers;
    std::vector<Child> children;
    for (int p = 0; p < processes; p++) {
        const int cpu = cpu_of(p, spec.placement);
        auto body = [&, p, cpu]() -> int {
            try {
                if (cpu >= 0) {
                    cpu_set_t one;
                    CPU_ZERO(&one);
                    CPU_SET(cpu, &one);
                    check_sys(sched_setaffinity(0, sizeof one, &one), "sched_setaffinity");
                }
                Barrier b(&c->arrived, processes);
                if (p == 0) {
                    m.publish(spec, *c, b);
                } else {
                    m.subscribe(p - 1, spec, *c, b);
                }
                return 0;
            } catch (const Unavailable& e) {
                std::snprintf(c->error[p], sizeof c->error[p], "%s", e.what());
                return kExitUnavailable;
            } catch (const std::exception& e) {
                std::snprintf(c->error[p], sizeof c->error[p], "%s", e.what());
                return 1;
            }
        };
        try {
            children.push_back(Child{spawn(body, m.child_runs_exit_handlers()), 0, false});
        } catch (...) {
            kill_all(children);
            throw;
        }
    }
    const int64_t timeout = 30'000'000'000 + 4 * (spec.warmup_ns + spec.budget_ns);
    const std::string failure = wait_all(children, now_ns() + timeout);
    for (int p = 0; p < processes; p++) {
        if (c->error[p][0] == 0) continue;
        const bool unavailable = WIFEXITED(children[size_t(p)].status) &&
                                 WEXITSTATUS(children[size_t(p)].status) == kExitUnavailable;
        out.status = unavailable ? Outcome::Unavailable : Outcome::Failed;
        out.note = unavailable ? c->error[p] : role_name(p) + ": " + c->error[p];
        return out;
    }
    if (!failure.empty()) {
        out.status = Outcome::Failed;
        out.note = failure;
        return out;
    }
    out.publisher = c->publisher;
    out.subscribers.assign(c->subscriber, c->subscriber + spec.subscribers);
    return out;
}

bool Group::probe(const std::function<void()>& fn, int64_t timeout_ns, std::string* why, bool exit_handlers) {
    std::vector<Child> c{Child{spawn(
                                   [&]() -> int {
                                       fn();
                                       return 0;
                                   },
                                   exit_handlers),
                               0, false}};
    const std::string failure = wait_all(c, now_ns() + timeout_ns);
    if (failure.empty()) return true;
    *why = failure;
    return false;
}

}  // namespace bench::pubsub
