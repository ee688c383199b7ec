// lib/base: the SPSC ring and the sequence lock under a real second thread.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <thread>

#include "base/seqlock.hpp"
#include "base/spsc_ring.hpp"

namespace egress::base {
namespace {

struct words {
    std::array<uint64_t, 16> w{};
};

TEST(seqlock_box, readers_never_see_a_torn_copy) {
    seqlock_box<words> box;
    std::atomic<bool> done{false};
    std::thread writer([&] {
        words v;
        for (uint64_t k = 1; k <= 200'000; ++k) {
            v.w.fill(k);
            box.publish(v);
        }
        done = true;
    });
    uint64_t last = 0;
    uint64_t reads = 0;
    while (!done || reads < 10) {
        const words got = box.read();
        for (uint64_t x : got.w) ASSERT_EQ(x, got.w[0]);
        ASSERT_GE(got.w[0], last); // never goes back in time
        last = got.w[0];
        ++reads;
    }
    writer.join();
    EXPECT_EQ(box.read().w[5], 200'000u);
    EXPECT_EQ(box.publications(), 200'000u);
}

TEST(spsc_ring, delivers_everything_in_order_across_threads_and_counts_overflow) {
    spsc_ring<uint64_t> ring(1000);
    EXPECT_EQ(ring.capacity(), 1024u);
    constexpr uint64_t n = 500'000;
    std::thread producer([&] {
        for (uint64_t i = 0; i < n; ++i)
            while (!ring.try_push(i)) std::this_thread::yield();
    });
    uint64_t expect = 0;
    uint64_t buf[64];
    while (expect < n) {
        const std::size_t got = ring.pop_burst(buf, 64);
        for (std::size_t i = 0; i < got; ++i) ASSERT_EQ(buf[i], expect++);
    }
    producer.join();

    spsc_ring<uint64_t> small(4);
    for (uint64_t i = 0; i < 4; ++i) EXPECT_TRUE(small.try_push(i));
    EXPECT_FALSE(small.try_push(99));
    small.record_overflow();
    EXPECT_EQ(small.overflows(), 1u);
    EXPECT_EQ(small.pop_burst(buf, 64), 4u);
}

} // namespace
} // namespace egress::base
