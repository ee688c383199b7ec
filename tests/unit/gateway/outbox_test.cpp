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

TEST(outbox, a_frame_may_grow_into_the_headroom_or_start_later) {
    outbox box(2);
    auto a = box.prepare();
    // A header grown by 4 bytes: written from 4 bytes before the span.
    std::span<uint8_t> grown(a.data() - 4, 64);
    for (std::size_t i = 0; i < grown.size(); ++i) grown[i] = static_cast<uint8_t>(i);
    box.commit(side::inside, 64, 4);
    auto b = box.prepare();
    for (std::size_t i = 0; i < 64; ++i) b[i] = static_cast<uint8_t>(100 + i);
    box.commit(side::outside, 60, -4); // a header shrunk by 4: starts 4 bytes in
    ASSERT_EQ(box.size(), 2u);
    EXPECT_EQ(box[0].bytes.data(), a.data() - 4);
    EXPECT_EQ(box[0].bytes.size(), 64u);
    EXPECT_EQ(box[0].bytes[0], 0);
    EXPECT_EQ(box[0].bytes[63], 63);
    EXPECT_EQ(box[1].bytes.data(), b.data() + 4);
    EXPECT_EQ(box[1].bytes.size(), 60u);
    EXPECT_EQ(box[1].bytes[0], 104);
    EXPECT_EQ(outbox::headroom, 8u);
}

} // namespace
