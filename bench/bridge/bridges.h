// SPDX-License-Identifier: MIT
// The two hsipc-bridge processes of hsipc_bridge_bench, one per simulated
// host, and the regions they serve: B listens and exports the endpoints the
// cases receive on (workers.h), A connects to it. Each bridge's standard
// error goes to a log file, from which we learn B's port and, when the
// bridges stop, their final counters.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "hosts.h"

namespace bench::bridge {

class Bridges {
public:
    Bridges(const Hosts& hosts, std::string program) : hosts_(hosts), program_(std::move(program)) {}
    ~Bridges() { stop(); }
    Bridges(const Bridges&) = delete;
    Bridges& operator=(const Bridges&) = delete;

    // Makes both regions and starts both bridges; false with *error.
    bool start(std::string* error);
    // SIGTERM to both; their final counter lines then in stats_a(), stats_b().
    void stop();
    // Regions gone (in the namespaces the tmpfs goes with them anyway).
    void unlink_regions();

    const std::string& region_a() const { return region_a_; }
    const std::string& region_b() const { return region_b_; }
    pid_t pid_a() const { return pid_a_; }
    pid_t pid_b() const { return pid_b_; }
    const std::string& stats_a() const { return stats_a_; }
    const std::string& stats_b() const { return stats_b_; }
    // Whether either bridge has died.
    bool alive() const;

private:
    pid_t spawn(const Host& h, const std::string& log, const char* const* argv);

    const Hosts& hosts_;
    std::string program_;
    std::string region_a_, region_b_, log_a_, log_b_;
    pid_t pid_a_ = 0, pid_b_ = 0;
    std::string stats_a_, stats_b_;
    bool regions_made_ = false;
};

// What every thread of process pid has used so far: CPU time (schedstat)
// and voluntary context switches, the times a thread went to sleep and was
// woken. cpu_ns -1 where it cannot be read.
struct Usage {
    int64_t cpu_ns = -1;
    int64_t wakeups = 0;
    int64_t faults = 0;  // minor page faults of the whole process
};
Usage process_usage(pid_t pid);

// Makes (or removes) region `name` on host h in a child; false with *error.
bool make_region(const Host& h, const std::string& name, std::string* error);
void unlink_region(const Host& h, const std::string& name);

}  // namespace bench::bridge
