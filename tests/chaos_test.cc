// SPDX-License-Identifier: MIT
// Chaos: producers and consumers exchange sequenced, checksummed messages
// through one region while the test SIGKILLs random processes at random
// moments and restarts them. In the end every message a consumer got was
// intact, in per-sender order and never twice; after a reap every buffer is
// back and every dead endpoint's name is free; no process ever hung.
//
// HSIPC_CHAOS_SECONDS sets the duration (default 4; the long setting is 60).
#include <sys/mman.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "os.h"
#include "test_util.h"

namespace {

using hsipc_test::ScopedName;

constexpr int kProducers = 3;
constexpr int kConsumers = 2;
constexpr int kChildren = kProducers + kConsumers;
constexpr uint32_t kMagic = 0xc4a05eed;

struct Header {
    uint32_t magic;
    uint32_t producer;     // index
    uint32_t incarnation;  // of the producer
    uint32_t consumer_id;  // the consumer endpoint id it was meant for
    uint64_t seq;          // per producer incarnation and consumer endpoint
    uint64_t checksum;     // FNV-1a of the payload after the header
};

uint64_t fnv(const uint8_t* p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

// Shared between the test and its children (an anonymous shared mapping).
struct Shared {
    std::atomic<int> stop;
    std::atomic<uint64_t> heartbeat[kChildren];
    std::atomic<uint64_t> received[kConsumers];
    std::atomic<uint64_t> violations[kConsumers];
    std::atomic<uint64_t> sent[kProducers];
    char first_violation[256];
};

void note_violation(Shared* s, int consumer, const std::string& what) {
    if (s->violations[consumer].fetch_add(1) == 0) {
        std::snprintf(s->first_violation, sizeof s->first_violation, "consumer %d: %s", consumer, what.c_str());
    }
}

int run_producer(Shared* s, const std::string& region, int index, uint32_t incarnation) {
    hsipc_region* r;
    hsipc_endpoint* self;
    if (hsipc_attach(region.c_str(), nullptr, &r)) return 1;
    if (hsipc_endpoint_open(r, ("p" + std::to_string(index)).c_str(), &self)) return 2;
    std::mt19937_64 rng(incarnation * 7919 + index);
    hsipc_id to[kConsumers] = {};
    uint64_t seq[kConsumers] = {};
    for (uint64_t n = 0; !s->stop.load(); n++) {
        s->heartbeat[index].fetch_add(1);
        int c = int(n % kConsumers);
        if (to[c] == 0) {
            hsipc_id id;
            if (hsipc_lookup(r, ("c" + std::to_string(c)).c_str(), &id) != HSIPC_OK) continue;
            to[c] = id;
            seq[c] = 0;  // a new consumer endpoint: a new sequence
        }
        const size_t len = sizeof(Header) + rng() % 2000;
        hsipc_off off;
        if (hsipc_alloc(r, len, &off) != HSIPC_OK) continue;
        auto* p = static_cast<uint8_t*>(hsipc_ptr(r, off));
        for (size_t i = sizeof(Header); i < len; i++) p[i] = uint8_t(rng());
        Header h{kMagic, uint32_t(index), incarnation, to[c], seq[c], fnv(p + sizeof(Header), len - sizeof(Header))};
        std::memcpy(p, &h, sizeof h);
        int rc = hsipc_send_offset(self, to[c], off, len);
        if (rc == HSIPC_OK) {
            seq[c]++;
            s->sent[index].fetch_add(1);
            continue;
        }
        hsipc_release(r, off);
        if (rc == HSIPC_EPEER) to[c] = 0;  // the consumer died: find its successor
    }
    hsipc_detach(r);
    return 0;
}

int run_consumer(Shared* s, const std::string& region, int index) {
    hsipc_region* r;
    hsipc_endpoint* self;
    if (hsipc_attach(region.c_str(), nullptr, &r)) return 1;
    const std::string name = "c" + std::to_string(index);
    // Our predecessor's name is freed by the reap the test runs after each kill.
    while (hsipc_endpoint_open(r, name.c_str(), &self) != HSIPC_OK) {
        if (s->stop.load()) return 0;
        usleep(1000);
    }
    const hsipc_id me = hsipc_endpoint_id(self);
    std::map<std::pair<uint32_t, uint32_t>, uint64_t> next;  // (producer, incarnation) -> seq
    // Odd consumers take batches, so kills also land while one holds several.
    const bool batches = index % 2 == 1;
    hsipc_msg batch[8];
    size_t taken = 0, used = 0;
    while (!s->stop.load()) {
        s->heartbeat[kProducers + index].fetch_add(1);
        if (used == taken) {
            used = taken = 0;
            int rc = batches ? hsipc_poll_batch(self, batch, 8, 1'000'000, 50'000, &taken)
                             : hsipc_poll(self, &batch[0], 1'000'000);
            if (rc == HSIPC_EAGAIN) continue;
            if (rc != HSIPC_OK) {
                note_violation(s, index, std::string("poll: ") + hsipc_strerror(rc));
                continue;
            }
            if (!batches) taken = 1;
        }
        const hsipc_msg& msg = batch[used++];
        Header h;
        const auto* p = static_cast<const uint8_t*>(msg.data);
        if (msg.length < sizeof h) {
            note_violation(s, index, "short message");
        } else {
            std::memcpy(&h, p, sizeof h);
            if (h.magic != kMagic || h.consumer_id != me) {
                note_violation(s, index, "foreign or damaged header");
            } else if (fnv(p + sizeof h, msg.length - sizeof h) != h.checksum) {
                note_violation(s, index, "checksum mismatch");
            } else {
                uint64_t& expected = next[{h.producer, h.incarnation}];
                if (h.seq != expected) {
                    note_violation(s, index, "producer " + std::to_string(h.producer) + " seq " + std::to_string(h.seq) +
                                                 ", expected " + std::to_string(expected));
                }
                expected = h.seq + 1;
                s->received[index].fetch_add(1);
            }
        }
        hsipc_release(r, msg.off);
    }
    hsipc_detach(r);
    return 0;
}

TEST(Chaos, RandomKillsCostNothingButTheVictimsWork) {
    const char* env = std::getenv("HSIPC_CHAOS_SECONDS");
    const double seconds = env ? std::atof(env) : 4.0;
    ScopedName name("chaos");
    hsipc_config cfg = hsipc_test::small_config(256, 32, 64, 32);
    hsipc_region* r;
    ASSERT_OK(hsipc_attach(name.c_str(), &cfg, &r));
    const std::string region = name.c_str();
    auto* s = static_cast<Shared*>(
        mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    ASSERT_NE(MAP_FAILED, static_cast<void*>(s));
    new (s) Shared();

    uint32_t incarnations[kChildren] = {};
    auto start = [&](int i) {
        uint32_t incarnation = ++incarnations[i];
        return hsipc_test::fork_child([&, i, incarnation] {
            return i < kProducers ? run_producer(s, region, i, incarnation) : run_consumer(s, region, i - kProducers);
        });
    };
    std::vector<pid_t> pids(kChildren);
    for (int i = 0; i < kChildren; i++) pids[i] = start(i);

    std::mt19937 rng(42);
    int kills = 0;
    long reclaimed = 0;
    const int64_t end = hsipc::os::monotonic_ns() + int64_t(seconds * 1e9);
    while (hsipc::os::monotonic_ns() < end) {
        usleep(1000 + rng() % 30000);
        int victim = int(rng() % kChildren);
        kill(pids[victim], SIGKILL);
        int status;
        ASSERT_EQ(pids[victim], waitpid(pids[victim], &status, 0));
        ASSERT_TRUE(WIFSIGNALED(status)) << "child " << victim << " exited by itself with " << WEXITSTATUS(status);
        kills++;
        int n = hsipc_reap(r);
        ASSERT_GE(n, 0) << hsipc_strerror(n);
        reclaimed += n;
        pids[victim] = start(victim);
    }
    // Every process must still be making progress...
    uint64_t beats[kChildren];
    for (int i = 0; i < kChildren; i++) beats[i] = s->heartbeat[i].load();
    usleep(200000);
    for (int i = 0; i < kChildren; i++) {
        EXPECT_NE(beats[i], s->heartbeat[i].load()) << "child " << i << " hung";
    }
    // ...and must stop when asked.
    s->stop.store(1);
    for (int i = 0; i < kChildren; i++) EXPECT_EQ(0, hsipc_test::wait_child(pids[i], 20)) << "child " << i;

    int n = hsipc_reap(r);
    EXPECT_GE(n, 0);
    reclaimed += n > 0 ? n : 0;
    uint64_t received = 0, violations = 0, sent = 0;
    for (int c = 0; c < kConsumers; c++) {
        received += s->received[c].load();
        violations += s->violations[c].load();
    }
    for (int p = 0; p < kProducers; p++) sent += s->sent[p].load();
    std::printf("chaos: %.0f s, %d kills, %llu messages sent, %llu received intact and in order, %llu violations, "
                "%ld buffers and endpoints reclaimed\n",
                seconds, kills, (unsigned long long)sent, (unsigned long long)received,
                (unsigned long long)violations, reclaimed);
    EXPECT_EQ(0u, violations) << s->first_violation;
    EXPECT_GT(received, 0u);
    for (uint32_t p = 0; p < 2; p++) {
        hsipc_pool_stats st;
        st.struct_size = sizeof st;
        ASSERT_OK(hsipc_region_pool_stats(r, p, &st));
        EXPECT_EQ(st.buffer_count, st.free_count) << "pool " << p << ": " << st.held_count << " held, "
                                                  << st.queued_count << " queued";
    }
    for (uint32_t slot = 0; slot < 32; slot++) {
        hsipc_endpoint_info info;
        info.struct_size = sizeof info;
        EXPECT_STATUS(HSIPC_ENOENT, hsipc_region_endpoint_info(r, slot, &info)) << "slot " << slot << ": " << info.name;
    }
    munmap(s, sizeof(Shared));
    EXPECT_OK(hsipc_detach(r));
}

}  // namespace
