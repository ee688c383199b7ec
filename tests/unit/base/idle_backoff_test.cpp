#include "base/idle_backoff.hpp"

#include <gtest/gtest.h>

namespace egress::base {
namespace {

using action = idle_backoff::action;

idle_settings adaptive(uint32_t spin, uint32_t pause, uint32_t min_us, uint32_t max_us) {
    return {idle_mode::adaptive, spin, pause, min_us, max_us};
}

TEST(idle_backoff, poll_mode_never_backs_off) {
    idle_backoff b;
    for (int i = 0; i < 100000; ++i) ASSERT_EQ(b.next(false), action::poll);
    EXPECT_EQ(b.sleep_us(), 0u);
}

TEST(idle_backoff, spins_then_pauses_then_sleeps_doubling_up_to_the_maximum) {
    idle_backoff b(adaptive(3, 2, 10, 70));
    const action expected[] = {action::poll,  action::poll,  action::poll,  action::pause,
                               action::pause, action::sleep, action::sleep, action::sleep,
                               action::sleep, action::sleep};
    const uint32_t sleeps[] = {0, 0, 0, 0, 0, 10, 20, 40, 70, 70};
    for (int i = 0; i < 10; ++i) {
        EXPECT_EQ(b.next(false), expected[i]) << "empty loop " << i + 1;
        EXPECT_EQ(b.sleep_us(), sleeps[i]) << "empty loop " << i + 1;
    }
    for (int i = 0; i < 1000; ++i) ASSERT_EQ(b.next(false), action::sleep);
    EXPECT_EQ(b.sleep_us(), 70u);
}

TEST(idle_backoff, a_packet_returns_to_full_polling_at_once) {
    idle_backoff b(adaptive(2, 1, 5, 200));
    for (int i = 0; i < 20; ++i) b.next(false);
    ASSERT_EQ(b.sleep_us(), 200u);
    EXPECT_EQ(b.next(true), action::poll);
    EXPECT_EQ(b.sleep_us(), 0u);
    EXPECT_EQ(b.next(false), action::poll);
    EXPECT_EQ(b.next(false), action::poll);
    EXPECT_EQ(b.next(false), action::pause);
    EXPECT_EQ(b.next(false), action::sleep);
    EXPECT_EQ(b.sleep_us(), 5u);
}

TEST(idle_backoff, a_minimum_above_the_maximum_sleeps_the_maximum) {
    idle_backoff b(adaptive(0, 0, 500, 100));
    EXPECT_EQ(b.next(false), action::sleep);
    EXPECT_EQ(b.sleep_us(), 100u);
}

} // namespace
} // namespace egress::base
