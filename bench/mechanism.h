// SPDX-License-Identifier: MIT
// The common interface of everything the benchmark measures.
//
// A mechanism lives in three places: the coordinator prepares what both
// children must inherit (fds, queues, shared mappings) before it forks them;
// each child opens its own end after fork (hsipc attaches there, iceoryx
// registers there: no handle crosses fork) and runs the common driver
// (driver.h) over it; the coordinator cleans up afterwards, also when a
// child failed or the run was interrupted.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "rendezvous.h"
#include "spec.h"

namespace bench {

class Runner;

class Mechanism {
public:
    virtual ~Mechanism() = default;
    // Short name: the table's row label, the CSV key, the --mechanisms word.
    virtual const char* name() const = 0;
    // One line for `--list` and the docs: what exactly is measured.
    virtual const char* description() const = 0;
    // Asked once per run in the coordinator: why it cannot run here, or "".
    // The runner can try something risky in a child with a deadline.
    virtual std::string unavailable_reason(Runner&) { return ""; }
    // Coordinator, before fork. Throws Error or Unavailable.
    virtual void prepare(const CaseSpec&) {}
    // In a child after fork: open this role's end and run the driver.
    virtual SideResult run(Role role, const CaseSpec& spec, Rendezvous& rv) = 0;
    // Coordinator, after both children are gone; whatever happened.
    virtual void cleanup() noexcept {}
    // Whether a child must leave through exit() rather than _exit(): for a
    // library that says goodbye only in a static destructor (iceoryx).
    virtual bool child_runs_exit_handlers() const { return false; }
};

// Every mechanism this build knows, in table order: raw first, then hsipc.
std::vector<std::unique_ptr<Mechanism>> all_mechanisms();

}  // namespace bench
