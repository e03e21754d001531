// SPDX-License-Identifier: MIT
// Races the hardware rarely produces, made to happen: a hook at a chosen
// protocol step (src/step.h) does what another process or thread could do
// at that very moment. Each test is one defect an outside review found with
// honest processes: a send paused across 256 reopenings, a late tail hint
// from a closed incarnation, an endpoint slot whose gen runs out, a reaper
// racing a live re-send, a sender killed between publishing and waking.
//
// Needs a build with -DHSIPC_STEP_HOOKS=ON (scripts/test.sh makes one);
// elsewhere the tests skip.
#include <sys/mman.h>

#include <atomic>
#include <cstring>
#include <functional>
#include <thread>

#include "layout.h"
#include "region.h"
#include "step.h"
#include "test_util.h"

namespace hsipc {
namespace {

using hsipc_test::ScopedName;

#define REQUIRE_STEP_HOOKS() \
    if (!kStepHooks) GTEST_SKIP() << "built without HSIPC_STEP_HOOKS"

// The hook is a plain function pointer; the action it runs lives here.
std::function<void(Step)>* g_action = nullptr;

#ifdef HSIPC_STEP_HOOKS
void run_action(Step s) {
    if (g_action) (*g_action)(s);
}
#endif

// Runs `action` at every step until the scope ends (this process only).
class StepAction {
public:
    explicit StepAction(std::function<void(Step)> action) : action_(std::move(action)) {
        g_action = &action_;
#ifdef HSIPC_STEP_HOOKS
        g_step_hook.store(&run_action);
#endif
    }
    ~StepAction() {
#ifdef HSIPC_STEP_HOOKS
        g_step_hook.store(nullptr);
#endif
        g_action = nullptr;
    }

private:
    std::function<void(Step)> action_;
};

Region& core(hsipc_region* r) { return *reinterpret_cast<Region*>(r); }

uint32_t slot_of(hsipc_region* r, hsipc_id id) { return (id & ((1u << core(r).layout.id_index_bits) - 1)) - 1; }

uint32_t free_buffers(hsipc_region* r) {
    uint32_t total = 0;
    for (uint32_t p = 0; p < core(r).layout.config.pool_count; p++) {
        hsipc_pool_stats s;
        s.struct_size = sizeof s;
        if (hsipc_region_pool_stats(r, p, &s) == HSIPC_OK) total += s.free_count;
    }
    return total;
}

uint32_t queued_in(hsipc_region* r, hsipc_endpoint* ep) {
    hsipc_endpoint_info info;
    info.struct_size = sizeof info;
    EXPECT_OK(hsipc_region_endpoint_info(r, slot_of(r, hsipc_endpoint_id(ep)), &info));
    return info.queued;
}

class Races : public ::testing::Test {
protected:
    void SetUp() override {
        cfg_ = hsipc_test::small_config(16, 4, 8, 8);
        ASSERT_OK(hsipc_attach(name_.c_str(), &cfg_, &r_));
        ASSERT_OK(hsipc_endpoint_open(r_, "rx", &rx_));
        ASSERT_OK(hsipc_endpoint_open(r_, "tx", &tx_));
        all_free_ = free_buffers(r_);
    }
    void TearDown() override { hsipc_detach(r_); }

    // Closes and reopens "rx" n times, as an owner that restarts does.
    void reopen_rx(int n) {
        for (int i = 0; i < n; i++) {
            ASSERT_OK(hsipc_endpoint_close(rx_));
            ASSERT_OK(hsipc_endpoint_open(r_, "rx", &rx_));
        }
    }
    hsipc_off alloc_with(uint64_t value) {
        hsipc_off off = 0;
        EXPECT_OK(hsipc_alloc(r_, 8, &off));
        if (off) std::memcpy(hsipc_ptr(r_, off), &value, 8);
        return off;
    }

    ScopedName name_{"races"};
    hsipc_config cfg_;
    hsipc_region* r_ = nullptr;
    hsipc_endpoint* rx_ = nullptr;
    hsipc_endpoint* tx_ = nullptr;
    uint32_t all_free_ = 0;
};

// Defect 2. A sender checks the endpoint, then pauses; the endpoint is
// closed and reopened 256 times, so its gen's low 8 bits (all a ring entry
// has room for) match again. The send must not land in the new endpoint:
// EPEER, and the sender still owns its buffer.
TEST_F(Races, SendPausedAcrossReopensIsRefusedAndKeepsItsBuffer) {
    REQUIRE_STEP_HOOKS();
    for (Step pause_at : {Step::kSendChecked, Step::kSendQueued}) {
        const hsipc_id old_id = hsipc_endpoint_id(rx_);
        const hsipc_off off = alloc_with(42);
        {
            bool fired = false;
            StepAction action([&](Step s) {
                if (s != pause_at || fired) return;
                fired = true;
                reopen_rx(256);
            });
            EXPECT_STATUS(HSIPC_EPEER, hsipc_send_offset(tx_, old_id, off, 8));
            ASSERT_TRUE(fired);
        }
        ASSERT_NE(old_id, hsipc_endpoint_id(rx_));
        // Still ours: readable, and released exactly once.
        ASSERT_NE(nullptr, hsipc_ptr(r_, off));
        EXPECT_OK(hsipc_release(r_, off));
        // The new endpoint got nothing, has nothing queued, and works.
        hsipc_msg msg;
        EXPECT_STATUS(HSIPC_EAGAIN, hsipc_poll(rx_, &msg, 0));
        EXPECT_EQ(0u, queued_in(r_, rx_));
        ASSERT_OK(hsipc_send_offset(tx_, hsipc_endpoint_id(rx_), alloc_with(7), 8));
        ASSERT_OK(hsipc_poll(rx_, &msg, 0));
        EXPECT_EQ(7u, *static_cast<uint64_t*>(msg.data));
        EXPECT_OK(hsipc_release(r_, msg.off));
        EXPECT_EQ(all_free_, free_buffers(r_));
    }
}

// Defect 2, the other order: the stale message lands and the new receiver
// passes over it before its sender comes back for it.
TEST_F(Races, StaleLandingPassedOverByTheNewReceiverIsTakenBack) {
    REQUIRE_STEP_HOOKS();
    const hsipc_id old_id = hsipc_endpoint_id(rx_);
    const hsipc_off off = alloc_with(42);
    bool reopened = false, polled = false;
    StepAction action([&](Step s) {
        if (s == Step::kSendQueued && !reopened) {
            reopened = true;
            reopen_rx(256);
        } else if (s == Step::kPushClaimed && reopened && !polled) {
            polled = true;
            hsipc_msg msg;
            EXPECT_STATUS(HSIPC_EAGAIN, hsipc_poll(rx_, &msg, 0));  // passed over, not an error
        }
    });
    EXPECT_STATUS(HSIPC_EPEER, hsipc_send_offset(tx_, old_id, off, 8));
    EXPECT_TRUE(polled);
    EXPECT_OK(hsipc_release(r_, off));
    EXPECT_EQ(all_free_, free_buffers(r_));
}

// Defect 1. A sender's tail hint stored after its endpoint was closed and
// reopened (it was paused between its CAS and the store) points ahead of
// the new, empty inbox. Senders must still publish at the receiver's head.
TEST_F(Races, LateTailHintFromAClosedIncarnationCannotWedgeTheInbox) {
    REQUIRE_STEP_HOOKS();
    hsipc_msg msg;
    for (uint64_t i = 0; i < 5; i++) {
        ASSERT_OK(hsipc_send_offset(tx_, hsipc_endpoint_id(rx_), alloc_with(i), 8));
        ASSERT_OK(hsipc_poll(rx_, &msg, 0));
        ASSERT_OK(hsipc_release(r_, msg.off));
    }
    {
        bool fired = false;
        StepAction action([&](Step s) {
            if (s != Step::kPushClaimed || fired) return;
            fired = true;
            reopen_rx(1);
        });
        // Delivered, then swept by the close: as if sent just before it.
        EXPECT_OK(hsipc_send_offset(tx_, hsipc_endpoint_id(rx_), alloc_with(5), 8));
        ASSERT_TRUE(fired);
    }
    // The late store: position 6, tagged with the closed incarnation's gen.
    const EndpointSlot& slot = core(r_).endpoint_slot(slot_of(r_, hsipc_endpoint_id(rx_)));
    EXPECT_EQ(tail_hint_word(slot.gen.load() - 1, 6), slot.tail_hint.load());
    for (uint64_t i = 100; i < 110; i++) {
        ASSERT_OK(hsipc_send_offset(tx_, hsipc_endpoint_id(rx_), alloc_with(i), 8));
        ASSERT_OK(hsipc_poll(rx_, &msg, 0)) << "message " << i << " queued where the receiver never looks";
        EXPECT_EQ(i, *static_cast<uint64_t*>(msg.data));
        ASSERT_OK(hsipc_release(r_, msg.off));
    }
    EXPECT_EQ(all_free_, free_buffers(r_));
}

// Defect 3. An endpoint slot whose gen runs out retires: none of its ids
// is ever valid again, and new endpoints take other slots.
TEST_F(Races, EndpointIdsAreNeverReused) {
    Region& region = core(r_);
    const uint32_t bits = region.layout.id_index_bits;
    ASSERT_EQ(4u, bits);  // max_endpoints 8
    const uint32_t slot = slot_of(r_, hsipc_endpoint_id(rx_));
    ASSERT_OK(hsipc_endpoint_close(rx_));
    // Drive the slot near the top of its gen range (2^28 - 1 here) instead
    // of opening it 268 million times.
    region.endpoint_slot(slot).gen.store(endpoint_gen_max(bits) - 2);
    std::vector<hsipc_id> ids;
    for (int i = 0; i < 3; i++) {
        ASSERT_OK(hsipc_endpoint_open(r_, "rx", &rx_));
        ASSERT_EQ(slot, slot_of(r_, hsipc_endpoint_id(rx_)));
        ids.push_back(hsipc_endpoint_id(rx_));
        ASSERT_OK(hsipc_endpoint_close(rx_));
    }
    EXPECT_EQ(kEndpointRetired, region.endpoint_slot(slot).state.load());
    ASSERT_OK(hsipc_endpoint_open(r_, "rx", &rx_));
    EXPECT_NE(slot, slot_of(r_, hsipc_endpoint_id(rx_)));
    ids.push_back(hsipc_endpoint_id(rx_));
    for (size_t i = 0; i < ids.size(); i++) {
        for (size_t j = 0; j < i; j++) EXPECT_NE(ids[i], ids[j]);
    }
    const hsipc_off off = alloc_with(1);
    for (size_t i = 0; i + 1 < ids.size(); i++) EXPECT_STATUS(HSIPC_EPEER, hsipc_send_offset(tx_, ids[i], off, 8));
    // A retired slot is not free: with every slot retired or taken, opening
    // more is HSIPC_ENOMEM, and the stale ids stay refused.
    std::vector<hsipc_endpoint*> more;
    hsipc_endpoint* ep;
    for (int i = 0; hsipc_endpoint_open(r_, ("more" + std::to_string(i)).c_str(), &ep) == HSIPC_OK; i++) {
        more.push_back(ep);
    }
    EXPECT_EQ(8u - 3u, more.size());  // 8 slots: rx, tx, the retired one
    EXPECT_STATUS(HSIPC_EPEER, hsipc_send_offset(tx_, ids[2], off, 8));
    for (hsipc_endpoint* e : more) EXPECT_OK(hsipc_endpoint_close(e));
    EXPECT_OK(hsipc_release(r_, off));
}

// Defect 4. A dead sender's message sits in a live inbox; while a reaper
// works, the live receiver takes it and sends it to the same endpoint again.
// The reaper must not free the buffer that is now published again.
TEST_F(Races, ReaperDoesNotFreeABufferALiveProcessSentAgain) {
    REQUIRE_STEP_HOOKS();
    std::string region_name = name_.c_str();
    pid_t dead = hsipc_test::fork_child([&] {
        hsipc_region* c;
        hsipc_endpoint* ep;
        hsipc_id to;
        hsipc_off off;
        if (hsipc_attach(region_name.c_str(), nullptr, &c) || hsipc_endpoint_open(c, "dead", &ep) ||
            hsipc_lookup(c, "rx", &to) || hsipc_alloc(c, 8, &off)) {
            return 1;
        }
        const uint64_t value = 99;
        std::memcpy(hsipc_ptr(c, off), &value, 8);
        if (hsipc_send_offset(ep, to, off, 8)) return 2;
        _exit(0);  // dies attached: its message stays queued in rx
    });
    ASSERT_EQ(0, hsipc_test::wait_child(dead));
    hsipc_msg msg{};
    bool taken = false, resent = false;
    {
        StepAction action([&](Step s) {
            if (s == Step::kReapCandidates && !taken) {
                taken = true;
                EXPECT_OK(hsipc_poll(rx_, &msg, 0));
            } else if (s == Step::kReapScanned && taken && !resent) {
                resent = true;
                EXPECT_OK(hsipc_send_offset(tx_, hsipc_endpoint_id(rx_), msg.off, 8));
            }
        });
        EXPECT_LE(0, hsipc_reap(r_));
    }
    ASSERT_TRUE(resent);
    ASSERT_OK(hsipc_poll(rx_, &msg, 0));
    EXPECT_EQ(99u, *static_cast<uint64_t*>(msg.data));
    EXPECT_EQ(all_free_ - 1, free_buffers(r_));  // the one we hold
    EXPECT_OK(hsipc_release(r_, msg.off));
    EXPECT_EQ(all_free_, free_buffers(r_));
}

// Defect 7. A sender dies after publishing and before waking the receiver
// that sleeps in hsipc_poll(HSIPC_FOREVER). The receiver must still get the
// message, within a bounded time.
TEST_F(Races, SenderKilledBetweenPublishAndWakeStrandsNoSleeper) {
    REQUIRE_STEP_HOOKS();
    std::atomic<int> got{0};
    hsipc_msg msg{};
    std::thread sleeper([&] {
        int rc = hsipc_poll(rx_, &msg, HSIPC_FOREVER);
        got.store(rc == HSIPC_OK ? 1 : 2);
    });
    auto& sleeping = core(r_).endpoint_slot(slot_of(r_, hsipc_endpoint_id(rx_))).sleeping;
    for (int i = 0; i < 10000 && sleeping.load() == 0; i++) usleep(1000);
    ASSERT_EQ(1u, sleeping.load()) << "the receiver never went to sleep";
    usleep(100'000);  // well into its sleep
    std::string region_name = name_.c_str();
    pid_t sender = hsipc_test::fork_child([&] {
        hsipc_region* c;
        hsipc_endpoint* ep;
        hsipc_id to;
        hsipc_off off;
        if (hsipc_attach(region_name.c_str(), nullptr, &c) || hsipc_endpoint_open(c, "dying", &ep) ||
            hsipc_lookup(c, "rx", &to) || hsipc_alloc(c, 8, &off)) {
            return 1;
        }
        const uint64_t value = 77;
        std::memcpy(hsipc_ptr(c, off), &value, 8);
        StepAction action([](Step s) {
            if (s == Step::kSendPublished) _exit(0);  // published, not woken
        });
        hsipc_send_offset(ep, to, off, 8);
        return 3;
    });
    EXPECT_EQ(0, hsipc_test::wait_child(sender));
    for (int i = 0; i < 5000 && got.load() == 0; i++) usleep(1000);
    EXPECT_EQ(1, got.load()) << "the message waits in the inbox and the receiver sleeps on";
    if (got.load() == 0) {
        // Unstick the receiver so the test can end.
        hsipc_send_offset(tx_, hsipc_endpoint_id(rx_), alloc_with(0), 8);
    }
    sleeper.join();
    if (got.load() == 1) {
        EXPECT_EQ(77u, *static_cast<uint64_t*>(msg.data));
        EXPECT_OK(hsipc_release(r_, msg.off));
    }
}

}  // namespace
}  // namespace hsipc

namespace hsipc {
namespace {

// Counters that wrap (docs/region-format.md): process slot gens cross
// 2^32 (and the 17 bits a queued word keeps of them cross 2^17) while dead
// processes leave held and queued buffers behind. Every message still
// arrives, and every buffer comes back.
TEST_F(Races, ProcessSlotGensWrapHarmlessly) {
    Region& region = core(r_);
    for (uint32_t i = 0; i < region.process_slots(); i++) {
        if (region.process_slot(i).state.load() == kProcessFree) region.process_slot(i).gen.store(0xfffffffdu);
    }
    std::string region_name = name_.c_str();
    for (uint64_t round = 0; round < 4; round++) {
        pid_t child = hsipc_test::fork_child([&] {
            hsipc_region* c;
            hsipc_endpoint* ep;
            hsipc_id to;
            hsipc_off held, sent;
            if (hsipc_attach(region_name.c_str(), nullptr, &c) || hsipc_endpoint_open(c, "child", &ep) ||
                hsipc_lookup(c, "rx", &to) || hsipc_alloc(c, 8, &held) || hsipc_alloc(c, 8, &sent)) {
                return 1;
            }
            std::memcpy(hsipc_ptr(c, sent), &round, 8);
            if (hsipc_send_offset(ep, to, sent, 8)) return 2;
            _exit(0);  // dies attached, holding one buffer, one message queued
        });
        ASSERT_EQ(0, hsipc_test::wait_child(child));
        EXPECT_LT(0, hsipc_reap(r_));
        hsipc_msg msg;
        ASSERT_OK(hsipc_poll(rx_, &msg, 0)) << "round " << round;
        EXPECT_EQ(round, *static_cast<uint64_t*>(msg.data));
        EXPECT_OK(hsipc_release(r_, msg.off));
        EXPECT_EQ(all_free_, free_buffers(r_)) << "round " << round;
    }
    // The gens went 0xfffffffe, 0xffffffff, 1 (never 0), 2.
    bool wrapped = false;
    for (uint32_t i = 0; i < region.process_slots(); i++) wrapped |= region.process_slot(i).gen.load() == 2;
    EXPECT_TRUE(wrapped);
}

}  // namespace
}  // namespace hsipc
