// SPDX-License-Identifier: MIT
// hsipc_pubsub_bench: one publisher process and 1..kMaxSubscribers
// subscriber processes. What a case is, the memory its processes share with
// the coordinator, and the interface of the mechanisms measured.
//
// Two workloads:
//   frames  n-byte frames (1 MiB by default); the publisher writes every byte
//           of each frame once (or once per subscriber, for the
//           point-to-point way), every subscriber reads every byte (it sums
//           them and checks the sum). Measured: frames/s, and the
//           publisher's CPU time per frame.
//   small   64-byte messages to subscribers spinning on hsipc_poll(…, 0).
//           Measured: the publisher's time per hsipc_publish (or per
//           message sent point to point), in batches.
//
// Flow control is the benchmark's own and the same for every mechanism:
// each subscriber stores how many messages it has consumed (read, checked,
// given back) in a line of its own, and the publisher starts message k only
// once every subscriber has consumed message k - depth. So no mechanism ever
// meets its own limits (an empty pool, a full queue, a skipped subscriber),
// and all of them have the same number of messages in flight.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace bench::pubsub {

constexpr int kMaxSubscribers = 8;
constexpr int kMaxCpus = 64;  // CPUs the placement sampling tells apart

enum class Workload { Frames, Small };

// Where the processes run. Spread: process i (0 the publisher, 1.. the
// subscribers) on the (i mod m)-th of the m CPUs we may use. Split: the
// publisher alone on the first, every subscriber on the second. None: the
// scheduler decides (each process samples where it runs).
enum class Placement { Spread, Split, None };

struct Spec {
    Workload workload = Workload::Frames;
    size_t size = 1 << 20;
    int subscribers = 3;
    uint32_t depth = 8;   // messages in flight (see above)
    uint32_t batch = 16;  // small: publishes timed together
    // hsipc subscribers: 1 takes each message with hsipc_poll as it lands;
    // more takes up to that many at once with hsipc_poll_batch (timeout 0,
    // lingering 50 us for a full batch), which keeps the subscriber a batch
    // behind the publisher, off the lines it is writing.
    uint32_t take = 1;
    uint64_t warmup_min = 16;  // unmeasured messages, at least ...
    int64_t warmup_ns = 0;     // ... and at least this long
    uint64_t min_count = 1;    // measured messages: at least ...
    uint64_t max_count = 1000; // ... at most, stopping once ...
    int64_t budget_ns = 0;     // ... this long has passed
    // Frames: a process with nothing to do yields its CPU (sched_yield), as
    // four busy processes share fewer CPUs; small: pure spinning, no system
    // call (the claim measured there).
    bool yield_when_idle = true;
    Placement placement = Placement::Spread;
    std::string tag;  // unique on this machine: region, service and shm names
};

// Each process's own line, so that counters never share one.
struct alignas(64) Counter {
    std::atomic<uint64_t> value{0};
};

// How often a process was seen on each CPU (sched_getcpu, sampled).
struct CpuSeen {
    uint32_t count[kMaxCpus] = {};
    void sample();
};

struct PublisherResult {
    uint64_t count = 0;  // measured frames (or small messages)
    int64_t cpu_ns = 0;  // frames: thread CPU time writing and handing over the measured frames
    double ns_per_message = 0;  // small: median over timed batches of their time per message
    CpuSeen cpus;
};

struct SubscriberResult {
    uint64_t count = 0;                 // measured frames received
    int64_t t_start = 0, t_end = 0;     // CLOCK_MONOTONIC at the first and the last measured frame
    CpuSeen cpus;
};

// How far a process got, for the report of a case that hangs.
enum Stage : uint32_t { kForked, kOpened, kConnected, kRunning, kDone };

// In a MAP_SHARED | MAP_ANONYMOUS mapping of the coordinator's, inherited by
// every process of a case; made anew for each case.
struct Control {
    std::atomic<uint32_t> arrived{0};  // Barrier
    std::atomic<uint32_t> stage[1 + kMaxSubscribers] = {};  // by process: 0 the publisher
    Counter consumed[kMaxSubscribers];
    PublisherResult publisher;
    SubscriberResult subscriber[kMaxSubscribers];
    char error[1 + kMaxSubscribers][240] = {};
};

// All processes of a case pass phase p together (phases 1, 2, 3, ...).
class Barrier {
public:
    Barrier(std::atomic<uint32_t>* arrived, int processes) : arrived_(arrived), processes_(uint32_t(processes)) {}
    void wait(uint32_t phase);  // throws Error after 30 s

private:
    std::atomic<uint32_t>* arrived_;
    uint32_t processes_;
};

class Group;

// One way of getting a publisher's messages to its subscribers.
class Mechanism {
public:
    virtual ~Mechanism() = default;
    virtual const char* name() const = 0;         // table row, --mechanisms word
    virtual const char* description() const = 0;  // --list
    // Whether it runs this workload at all (the small one is hsipc's only).
    virtual bool runs(Workload w) const { return w == Workload::Frames; }
    // Asked once per run in the coordinator: why it cannot run here, or "".
    virtual std::string unavailable_reason(Group&, bool /*smoke*/) { return ""; }
    // Coordinator, before fork. Throws Error.
    virtual void prepare(const Spec&) {}
    // In the forked processes: open this end and run the workload's loop.
    virtual void publish(const Spec&, Control&, Barrier&) = 0;
    virtual void subscribe(int index, const Spec&, Control&, Barrier&) = 0;
    // Coordinator, after every process of the case is gone, whatever happened.
    virtual void cleanup() noexcept {}
    // Leave through exit() rather than _exit() (iceoryx unregisters in a
    // static destructor).
    virtual bool child_runs_exit_handlers() const { return false; }
};

// Waits one step: a pause instruction, or the CPU given away.
void idle(const Spec& s);

// This thread's CPU time (CLOCK_THREAD_CPUTIME_ID; a system call).
int64_t thread_cpu_ns();

std::unique_ptr<Mechanism> make_raw();
std::unique_ptr<Mechanism> make_hsipc_publish();
std::unique_ptr<Mechanism> make_hsipc_send();
std::unique_ptr<Mechanism> make_iceoryx();

}  // namespace bench::pubsub
