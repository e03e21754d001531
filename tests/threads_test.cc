// SPDX-License-Identifier: MIT
// Threads sharing one attachment: every call is thread-safe (one poller per
// endpoint). These are the tests ThreadSanitizer runs, since it cannot see
// between processes or between two mappings.
#include <atomic>
#include <thread>
#include <vector>

#include "test_util.h"

namespace {

using hsipc_test::ScopedName;

// How the receiving thread takes its messages.
enum class Receive { kOneByOne, kBatches };

void senders_and_a_blocking_receiver(Receive how) {
    constexpr int kSenders = 3, kPerSender = 20000;
    ScopedName name("threads-traffic");
    hsipc_config cfg = hsipc_test::small_config(64, 4, 16, 8);
    hsipc_region* r;
    ASSERT_OK(hsipc_attach(name.c_str(), &cfg, &r));
    hsipc_endpoint* rx;
    ASSERT_OK(hsipc_endpoint_open(r, "rx", &rx));
    const hsipc_id to = hsipc_endpoint_id(rx);
    std::atomic<int> failures{0};
    std::vector<std::thread> senders;
    for (int s = 0; s < kSenders; s++) {
        senders.emplace_back([&, s] {
            hsipc_endpoint* tx;
            if (hsipc_endpoint_open(r, ("tx" + std::to_string(s)).c_str(), &tx) != HSIPC_OK) {
                failures++;
                return;
            }
            for (int seq = 0; seq < kPerSender;) {
                hsipc_off off;
                if (hsipc_alloc(r, 8, &off) != HSIPC_OK) {
                    std::this_thread::yield();
                    continue;
                }
                static_cast<int*>(hsipc_ptr(r, off))[0] = s;
                static_cast<int*>(hsipc_ptr(r, off))[1] = seq;
                int rc;
                while ((rc = hsipc_send_offset(tx, to, off, 8)) == HSIPC_EFULL) std::this_thread::yield();
                if (rc != HSIPC_OK) failures++;
                seq++;
            }
            // The endpoint stays open until the test detaches: `from` must stay valid.
        });
    }
    std::vector<int> next(kSenders, 0);
    hsipc_msg batch[16];
    size_t taken = 0, used = 0;
    for (int received = 0; received < kSenders * kPerSender; received++) {
        if (used == taken) {
            used = 0;
            if (how == Receive::kBatches) {
                ASSERT_OK(hsipc_poll_batch(rx, batch, 16, 10'000'000'000, 50'000, &taken));
            } else {
                ASSERT_OK(hsipc_poll(rx, &batch[0], 10'000'000'000));
                taken = 1;
            }
        }
        const hsipc_msg& msg = batch[used++];
        const int* body = static_cast<const int*>(msg.data);
        ASSERT_GE(body[0], 0);
        ASSERT_LT(body[0], kSenders);
        ASSERT_EQ(next[body[0]], body[1]);
        next[body[0]]++;
        ASSERT_OK(hsipc_release(r, msg.off));
    }
    for (auto& t : senders) t.join();
    EXPECT_EQ(0, failures.load());
    EXPECT_EQ(68, hsipc_test::count_free_buffers(r, 1));
    EXPECT_OK(hsipc_detach(r));
}

TEST(Threads, SendersAndABlockingReceiverShareOneHandle) { senders_and_a_blocking_receiver(Receive::kOneByOne); }

TEST(Threads, SendersAndABatchingReceiverShareOneHandle) { senders_and_a_blocking_receiver(Receive::kBatches); }

TEST(Threads, NamingFromManyThreadsKeepsNamesUnique) {
    ScopedName name("threads-naming");
    hsipc_config cfg = hsipc_test::small_config(8, 2, 4, 16);
    hsipc_region* r;
    ASSERT_OK(hsipc_attach(name.c_str(), &cfg, &r));
    std::atomic<int> opened{0}, failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; t++) {
        threads.emplace_back([&] {
            for (int i = 0; i < 200; i++) {
                hsipc_endpoint* ep;
                int rc = hsipc_endpoint_open(r, "contended", &ep);
                if (rc == HSIPC_OK) {
                    opened++;
                    hsipc_id id;
                    if (hsipc_lookup(r, "contended", &id) != HSIPC_OK || id != hsipc_endpoint_id(ep)) failures++;
                    if (hsipc_endpoint_close(ep) != HSIPC_OK) failures++;
                } else if (rc != HSIPC_EEXIST) {
                    failures++;
                }
                if (hsipc_reap(r) < 0) failures++;
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(0, failures.load());
    EXPECT_GT(opened.load(), 0);
    hsipc_id id;
    EXPECT_STATUS(HSIPC_ENOENT, hsipc_lookup(r, "contended", &id));
    EXPECT_OK(hsipc_detach(r));
}

TEST(Threads, HandlesAttachedAndDetachedConcurrently) {
    ScopedName name("threads-attach");
    hsipc_config cfg = hsipc_test::small_config();
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; t++) {
        threads.emplace_back([&] {
            for (int i = 0; i < 50; i++) {
                hsipc_region* r;
                if (hsipc_attach(name.c_str(), &cfg, &r) != HSIPC_OK) {
                    failures++;
                    continue;
                }
                hsipc_off off;
                if (hsipc_alloc(r, 1, &off) == HSIPC_OK && hsipc_release(r, off) != HSIPC_OK) failures++;
                if (hsipc_detach(r) != HSIPC_OK) failures++;
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(0, failures.load());
}

}  // namespace
