#include "gateway/outbox.hpp"

#include <gtest/gtest.h>

namespace {

using egress::gateway::outbox;
using egress::stats::side;

TEST(outbox, queues_frames_in_order_until_full) {
    outbox box(2);
    auto a = box.prepare();
    ASSERT_EQ(a.size(), outbox::max_frame);
    a[0] = 0xAA;
    box.commit(side::outside, 60);
    auto b = box.prepare();
    ASSERT_FALSE(b.empty());
    b[0] = 0xBB;
    box.commit(side::inside, 42);
    EXPECT_TRUE(box.prepare().empty()); // full: the caller counts outbox_full
    ASSERT_EQ(box.size(), 2u);
    EXPECT_EQ(box[0].to, side::outside);
    EXPECT_EQ(box[0].bytes.size(), 60u);
    EXPECT_EQ(box[0].bytes[0], 0xAA);
    EXPECT_EQ(box[1].to, side::inside);
    EXPECT_EQ(box[1].bytes.size(), 42u);
    EXPECT_EQ(box[1].bytes[0], 0xBB);
    box.clear();
    EXPECT_EQ(box.size(), 0u);
    EXPECT_FALSE(box.prepare().empty());
}

TEST(outbox, a_prepared_frame_is_not_queued_without_commit) {
    outbox box(1);
    (void)box.prepare();
    EXPECT_EQ(box.size(), 0u);
    EXPECT_FALSE(box.prepare().empty());
}

} // namespace
