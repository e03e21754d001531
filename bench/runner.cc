// SPDX-License-Identifier: MIT
#include "runner.h"

#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

#include "util.h"

namespace bench {

// Memory shared by the coordinator and the children of one case.
struct Runner::Shared {
    std::atomic<uint32_t> arrived{0};
    SideResult side[2];
    char error[2][200] = {};
};

namespace {

const int kStopSignals[] = {SIGINT, SIGTERM, SIGHUP};

void copy_text(char* dst, size_t cap, const char* text) {
    std::snprintf(dst, cap, "%s", text);
}

std::string describe_status(int status) {
    if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) return std::string("killed by signal ") + strsignal(WTERMSIG(status));
    return "stopped";
}

}  // namespace

Runner::Runner() {
    sigset_t set;
    sigemptyset(&set);
    for (int s : kStopSignals) sigaddset(&set, s);
    sigaddset(&set, SIGCHLD);
    // Blocked here and taken with sigtimedwait while waiting for children,
    // so an interrupt is handled where cleanup is simple and safe.
    check_sys(sigprocmask(SIG_BLOCK, &set, &old_mask_), "sigprocmask");
    void* p = mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw_errno("mmap");
    shared_ = new (p) Shared;

    // Producer and consumer on two different CPUs when we may use two: the
    // two processes are meant to run truly in parallel, as in production.
    cpu_set_t allowed;
    if (sched_getaffinity(0, sizeof allowed, &allowed) == 0 && CPU_COUNT(&allowed) >= 2) {
        int found = 0;
        for (int c = 0; c < CPU_SETSIZE && found < 2; c++) {
            if (CPU_ISSET(c, &allowed)) cpu_[found++] = c;
        }
    }
}

Runner::~Runner() {
    munmap(shared_, sizeof(Shared));
    sigprocmask(SIG_SETMASK, &old_mask_, nullptr);
}

std::string Runner::pinning() const {
    if (cpu_[1] < 0) return "not pinned (fewer than two CPUs available)";
    return "producer/ping on CPU " + std::to_string(cpu_[0]) + ", consumer/pong on CPU " + std::to_string(cpu_[1]);
}

pid_t Runner::spawn(const std::function<int()>& body, bool exit_handlers) {
    // Output still buffered would be copied into the child and could come
    // out twice.
    std::fflush(stdout);
    std::fflush(stderr);
    const pid_t coordinator = getpid();
    pid_t pid = fork();
    if (pid < 0) throw_errno("fork");
    if (pid > 0) return pid;
    int code = 1;
    try {
        sigprocmask(SIG_SETMASK, &old_mask_, nullptr);
        signal(SIGPIPE, SIG_IGN);  // a dead peer is an EPIPE to report, not a silent death
        // Never outlive the coordinator, whatever kills it.
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != coordinator) _exit(1);
        code = body();
    } catch (...) {
        code = 1;
    }
    // Normally not the coordinator's exit handlers; its stdio was flushed
    // before fork, so where a library needs them they do no harm.
    if (exit_handlers) std::exit(code);
    _exit(code);
}

void Runner::kill_all(Child* children, int count) {
    for (int i = 0; i < count; i++) {
        if (children[i].exited) continue;
        kill(children[i].pid, SIGKILL);
        waitpid(children[i].pid, &children[i].status, 0);
        children[i].exited = true;
    }
}

std::string Runner::wait_all(Child* children, int count, int64_t deadline_ns) {
    sigset_t set;
    sigemptyset(&set);
    for (int s : kStopSignals) sigaddset(&set, s);
    sigaddset(&set, SIGCHLD);
    for (;;) {
        int running = 0;
        for (int i = 0; i < count; i++) {
            Child& c = children[i];
            if (c.exited) continue;
            pid_t r = waitpid(c.pid, &c.status, WNOHANG);
            if (r == c.pid) {
                c.exited = true;
                // The peer of a failed child may wait for it forever.
                if (!WIFEXITED(c.status) || WEXITSTATUS(c.status) != 0) {
                    kill_all(children, count);
                    return std::string(c.role) + " " + describe_status(c.status);
                }
            } else {
                running++;
            }
        }
        if (running == 0) return "";
        const int64_t left = deadline_ns - now_ns();
        if (left <= 0) {
            kill_all(children, count);
            return "timed out";
        }
        const int64_t slice = std::min<int64_t>(left, 100'000'000);
        timespec ts = {time_t(slice / 1'000'000'000), long(slice % 1'000'000'000)};
        int sig = sigtimedwait(&set, nullptr, &ts);
        if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP) {
            kill_all(children, count);
            throw Interrupted{sig};
        }
    }
}

CaseOutcome Runner::run(Mechanism& m, const CaseSpec& spec) {
    CaseOutcome out;
    // cleanup() runs on every way out of here, interrupt included.
    struct Guard {
        Mechanism& m;
        ~Guard() { m.cleanup(); }
    } guard{m};
    try {
        m.prepare(spec);
    } catch (const Unavailable& e) {
        out.status = CaseOutcome::Unavailable;
        out.note = e.what();
        return out;
    } catch (const std::exception& e) {
        out.status = CaseOutcome::Failed;
        out.note = std::string("prepare: ") + e.what();
        return out;
    }
    Shared* sh = new (shared_) Shared;
    Child children[2] = {{-1, "ping", 0, true}, {-1, "pong", 0, true}};
    for (int r = 0; r < 2; r++) {
        const Role role = Role(r);
        const int cpu = cpu_[r];
        auto body = [&, role, cpu]() -> int {
            const int i = int(role);
            try {
                if (cpu >= 0) {
                    cpu_set_t one;
                    CPU_ZERO(&one);
                    CPU_SET(cpu, &one);
                    check_sys(sched_setaffinity(0, sizeof one, &one), "sched_setaffinity");
                }
                Rendezvous rv(&sh->arrived);
                sh->side[i] = m.run(role, spec, rv);
                return 0;
            } catch (const bench::Unavailable& e) {
                copy_text(sh->error[i], sizeof sh->error[i], e.what());
                return kExitUnavailable;
            } catch (const std::exception& e) {
                copy_text(sh->error[i], sizeof sh->error[i], e.what());
                return 1;
            }
        };
        try {
            children[r] = Child{spawn(body, m.child_runs_exit_handlers()), r == 0 ? "ping" : "pong", 0, false};
        } catch (...) {
            kill_all(children, 2);
            throw;
        }
    }
    const int64_t timeout = 30'000'000'000 + 4 * (spec.warmup_ns + spec.budget_ns);
    std::string failure = wait_all(children, 2, now_ns() + timeout);
    for (int r = 0; r < 2; r++) {
        if (sh->error[r][0] == 0) continue;
        const bool unavailable = WIFEXITED(children[r].status) && WEXITSTATUS(children[r].status) == kExitUnavailable;
        out.status = unavailable ? CaseOutcome::Unavailable : CaseOutcome::Failed;
        out.note = unavailable ? sh->error[r] : std::string(children[r].role) + ": " + sh->error[r];
        return out;
    }
    if (!failure.empty()) {
        out.status = CaseOutcome::Failed;
        out.note = failure;
        return out;
    }
    out.ping = sh->side[0];
    out.pong = sh->side[1];
    return out;
}

bool Runner::probe(const std::function<void()>& fn, int64_t timeout_ns, std::string* why, bool exit_handlers) {
    Child c{spawn(
                [&]() -> int {
                    fn();
                    return 0;
                },
                exit_handlers),
            "probe", 0, false};
    std::string failure = wait_all(&c, 1, now_ns() + timeout_ns);
    if (failure.empty()) return true;
    *why = failure;
    return false;
}

}  // namespace bench
