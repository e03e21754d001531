// SPDX-License-Identifier: MIT
#include "bridges.h"

#include <dirent.h>
#include <fcntl.h>
#include <hsipc.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

#include "workers.h"
#include "../util.h"

namespace bench::bridge {
namespace {

constexpr int64_t kListenWaitNs = 5000000000;
constexpr int64_t kStopWaitNs = 5000000000;

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// The rest of the last line of `text` that contains `marker`, from the marker on.
std::string last_line_with(const std::string& text, const std::string& marker) {
    const size_t at = text.rfind(marker);
    if (at == std::string::npos) return "";
    const size_t end = text.find('\n', at);
    return text.substr(at, end == std::string::npos ? std::string::npos : end - at);
}

// Room for every message the cases keep in flight: 64-byte messages up to
// an inbox, the bridge's ZeroMQ queue (hwm 1,000) and its retry queue deep;
// 1 MiB ones enough for the link to stay busy (96 MiB a region).
hsipc_config region_config() {
    hsipc_config cfg;
    hsipc_config_init(&cfg);
    cfg.max_endpoints = 32;
    cfg.inbox_capacity = 1024;
    cfg.pool_count = 2;
    cfg.pools[0].buffer_size = 64;
    cfg.pools[0].buffer_count = 8192;
    cfg.pools[1].buffer_size = 1 << 20;
    cfg.pools[1].buffer_count = 96;
    cfg.max_topics = 0;
    return cfg;
}

void wait_or_kill(pid_t pid) {
    const int64_t until = now_ns() + kStopWaitNs;
    while (waitpid(pid, nullptr, WNOHANG) == 0) {
        if (now_ns() > until) {
            kill(pid, SIGKILL);
            waitpid(pid, nullptr, 0);
            return;
        }
        usleep(10000);
    }
}

}  // namespace

bool make_region(const Host& h, const std::string& name, std::string* error) {
    const pid_t pid = fork();
    if (pid < 0) {
        *error = "fork failed";
        return false;
    }
    if (pid == 0) {
        if (!Hosts::enter(h)) _exit(100);
        hsipc_unlink(name.c_str());  // left by a run that was killed (loopback only)
        const hsipc_config cfg = region_config();
        hsipc_region* r;
        const int rc = hsipc_attach(name.c_str(), &cfg, &r);
        if (rc == HSIPC_OK) hsipc_detach(r);
        _exit(-rc);  // hsipc's statuses are small negative numbers
    }
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        *error = "cannot make region " + name + " on host " + h.name + ": " +
                 (code == 100 ? std::string("cannot enter its namespaces")
                  : code > 0  ? std::string(hsipc_strerror(-code))
                              : std::string("the child died"));
        return false;
    }
    return true;
}

void unlink_region(const Host& h, const std::string& name) {
    const pid_t pid = fork();
    if (pid == 0) {
        if (Hosts::enter(h)) {
            hsipc_unlink(name.c_str());
            // What host h's bridge left for hsipc-bridge --stats (docs/bridge.md,
            // "Counters"); hsipc rm would take it, hsipc_unlink does not.
            unlink(("/dev/shm/hsipc-bridge." + name + ".host" + h.name).c_str());
        }
        _exit(0);
    }
    if (pid > 0) waitpid(pid, nullptr, 0);
}

Usage process_usage(pid_t pid) {
    const std::string dir = "/proc/" + std::to_string(pid) + "/task";
    Usage u;
    DIR* d = opendir(dir.c_str());
    if (!d) return u;
    u.cpu_ns = 0;
    while (dirent* e = readdir(d)) {
        if (e->d_name[0] == '.') continue;
        const std::string task = dir + "/" + e->d_name;
        std::ifstream sched(task + "/schedstat");
        int64_t run_ns = 0;
        if (sched >> run_ns) u.cpu_ns += run_ns;  // time on a CPU; then time waiting for one, and slices
        std::ifstream status(task + "/status");
        std::string line;
        while (std::getline(status, line)) {
            if (line.rfind("voluntary_ctxt_switches:", 0) == 0) u.wakeups += std::atoll(line.c_str() + 24);
        }
    }
    closedir(d);
    // /proc/PID/stat: minflt is the 10th field, the 8th after "(comm) ".
    const std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
    const size_t paren = stat.rfind(')');
    if (paren != std::string::npos) {
        std::istringstream fields(stat.substr(paren + 2));
        std::string field;
        for (int i = 0; i < 8 && fields >> field; i++) {
        }
        fields >> u.faults;
    }
    return u;
}

pid_t Bridges::spawn(const Host& h, const std::string& log, const char* const* argv) {
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid != 0) return pid < 0 ? 0 : pid;
    // SIGTERM, not SIGKILL: a bridge that stops says BYE and returns its buffers.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(1);
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    const int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (fd < 0 || null < 0 || dup2(fd, 2) < 0 || dup2(null, 1) < 0 || !Hosts::enter(h)) _exit(126);
    execv(argv[0], const_cast<char* const*>(argv));
    _exit(127);
}

bool Bridges::alive() const {
    for (pid_t pid : {pid_a_, pid_b_}) {
        siginfo_t info{};
        if (pid && (waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid == pid)) {
            return false;
        }
    }
    return true;
}

bool Bridges::start(std::string* error) {
    const std::string tag = std::to_string(getpid());
    region_a_ = "hsbbA-" + tag;
    region_b_ = "hsbbB-" + tag;
    log_a_ = "/tmp/hsipc_bridge_bench-" + tag + "-A.log";
    log_b_ = "/tmp/hsipc_bridge_bench-" + tag + "-B.log";
    if (!make_region(hosts_.a(), region_a_, error) || !make_region(hosts_.b(), region_b_, error)) return false;
    regions_made_ = true;

    const std::string listen = "tcp://" + hosts_.b().address + ":*";
    std::vector<const char*> b = {program_.c_str(), "--region", region_b_.c_str(), "--host", "hostB",
                                  "--listen", listen.c_str(), "--peer", "hostA", "--export", kSinkName,
                                  "--export", kServerName};
    if (hosts_.separate()) b.push_back("--allow-remote");  // the veth address is not loopback
    b.push_back(nullptr);
    pid_b_ = spawn(hosts_.b(), log_b_, b.data());
    std::string address;
    for (const int64_t until = now_ns() + kListenWaitNs; pid_b_ && address.empty() && alive() && now_ns() < until;) {
        usleep(10000);
        const std::string line = last_line_with(read_file(log_b_), "listening on ");
        address = line.empty() ? "" : line.substr(std::string("listening on ").size());
    }
    if (address.empty()) {
        *error = "bridge B did not start listening; its log:\n" + read_file(log_b_);
        return false;
    }
    const std::string peer = "hostB=" + address;
    const char* a[] = {program_.c_str(), "--region", region_a_.c_str(), "--host", "hostA", "--peer", peer.c_str(),
                       nullptr};
    pid_a_ = spawn(hosts_.a(), log_a_, a);
    usleep(100000);
    if (!pid_a_ || !alive()) {
        *error = "bridge A did not start; its log:\n" + read_file(log_a_);
        return false;
    }
    return true;
}

void Bridges::stop() {
    for (pid_t* pid : {&pid_a_, &pid_b_}) {
        if (*pid) kill(*pid, SIGTERM);
    }
    for (pid_t* pid : {&pid_a_, &pid_b_}) {
        if (*pid) wait_or_kill(*pid);
        *pid = 0;
    }
    for (auto [log, stats] : {std::pair{&log_a_, &stats_a_}, std::pair{&log_b_, &stats_b_}}) {
        if (log->empty()) continue;
        *stats = last_line_with(read_file(*log), "stats ");
        unlink(log->c_str());
        log->clear();
    }
}

void Bridges::unlink_regions() {
    if (!regions_made_) return;
    unlink_region(hosts_.a(), region_a_);
    unlink_region(hosts_.b(), region_b_);
    regions_made_ = false;
}

}  // namespace bench::bridge
