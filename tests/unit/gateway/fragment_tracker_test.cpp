// fragment_tracker on its own: datagram entries, byte ranges, held copies,
// timeouts and bounds.
#include "gateway/fragment_tracker.hpp"

#include <gtest/gtest.h>

#include "../net/packet_builder.hpp"

namespace egress::gateway {
namespace {

using stats::drop_reason;
using stats::no_drop;
using test::bytes;
using test::ip;

fragment_key key_v4(uint32_t id, flow::direction dir = flow::direction::outbound) {
    return {ip("10.0.0.5"), ip("198.51.100.7"), id, 17, dir};
}

class tracker_test : public ::testing::Test {
protected:
    void make(fragment_settings s) { tracker = std::make_unique<fragment_tracker>(s, counters); }
    void SetUp() override { make(fragment_settings{8, 1000, 4, 4 * fragment_tracker::hold_slot_bytes}); }
    uint64_t drops(drop_reason r) const { return counters.drops[static_cast<std::size_t>(r)]; }
    drop_reason accept(const fragment_key& k, uint16_t offset, uint16_t length, bool more, uint32_t now = 0) {
        return tracker->accept(k, offset, length, more, now, entry);
    }

    stats::worker_counters counters;
    std::unique_ptr<fragment_tracker> tracker;
    uint32_t entry = fragment_tracker::npos;
};

TEST_F(tracker_test, in_order_datagram_completes_and_frees_its_entry) {
    ASSERT_EQ(accept(key_v4(1), 0, 16, true), no_drop);
    const uint32_t e = entry;
    EXPECT_EQ(tracker->state(e), datagram_state::waiting);
    tracker->forward(e, 42);
    EXPECT_EQ(tracker->state(e), datagram_state::forwarding);
    EXPECT_EQ(tracker->flow(e), 42u);
    ASSERT_EQ(accept(key_v4(1), 16, 16, true), no_drop);
    EXPECT_EQ(entry, e);
    tracker->finish_if_complete(e);
    EXPECT_EQ(tracker->active(), 1u); // no end yet
    ASSERT_EQ(accept(key_v4(1), 32, 5, false), no_drop);
    tracker->finish_if_complete(e);
    EXPECT_EQ(tracker->active(), 0u);
    EXPECT_EQ(counters.fragment_datagrams, 1u);
    EXPECT_EQ(counters.fragment_datagrams_completed, 1u);
}

TEST_F(tracker_test, out_of_order_fragments_are_held_and_released_in_arrival_order) {
    ASSERT_EQ(accept(key_v4(2), 32, 5, false), no_drop);
    const uint32_t e = entry;
    EXPECT_TRUE(tracker->hold(e, bytes{3, 3, 3}));
    ASSERT_EQ(accept(key_v4(2), 16, 16, true), no_drop);
    EXPECT_TRUE(tracker->hold(e, bytes{2, 2}));
    EXPECT_EQ(tracker->held(), 2u);
    EXPECT_EQ(counters.fragments_held, 2u);
    ASSERT_EQ(accept(key_v4(2), 0, 16, true), no_drop);
    tracker->forward(e, 7);
    std::vector<bytes> out;
    tracker->release(e, [&](std::span<const uint8_t> f) { out.emplace_back(f.begin(), f.end()); });
    EXPECT_EQ(out, (std::vector<bytes>{{3, 3, 3}, {2, 2}}));
    EXPECT_EQ(tracker->held(), 0u);
    tracker->finish_if_complete(e);
    EXPECT_EQ(tracker->active(), 0u);
    // The slots are free again: all four can be taken.
    ASSERT_EQ(accept(key_v4(3), 8, 8, true), no_drop);
    for (int i = 0; i < 4; ++i) EXPECT_TRUE(tracker->hold(entry, bytes(64, 1))) << i;
    EXPECT_FALSE(tracker->hold(entry, bytes(64, 1)));
}

TEST_F(tracker_test, duplicate_fragment_is_dropped_alone) {
    ASSERT_EQ(accept(key_v4(4), 0, 16, true), no_drop);
    tracker->forward(entry, 1);
    EXPECT_EQ(accept(key_v4(4), 0, 16, true), drop_reason::fragment_duplicate);
    EXPECT_EQ(tracker->state(entry), datagram_state::forwarding);
    ASSERT_EQ(accept(key_v4(4), 16, 8, false), no_drop);
    tracker->finish_if_complete(entry);
    EXPECT_EQ(counters.fragment_datagrams_completed, 1u);
}

TEST_F(tracker_test, overlap_drops_the_whole_datagram_and_its_held_copies) {
    ASSERT_EQ(accept(key_v4(5), 24, 16, true), no_drop);
    const uint32_t e = entry;
    EXPECT_TRUE(tracker->hold(e, bytes(10, 0)));
    EXPECT_EQ(accept(key_v4(5), 16, 16, true), drop_reason::fragment_overlap); // 16..31 against 24..39
    EXPECT_EQ(tracker->state(e), datagram_state::dropped);
    EXPECT_EQ(tracker->held(), 0u);
    EXPECT_EQ(drops(drop_reason::fragment_datagram_dropped), 1u);
    EXPECT_EQ(accept(key_v4(5), 0, 16, true), drop_reason::fragment_datagram_dropped);
    // Adjacent ranges do not overlap.
    ASSERT_EQ(accept(key_v4(6), 8, 8, true), no_drop);
    EXPECT_EQ(accept(key_v4(6), 0, 8, true), no_drop);
    EXPECT_EQ(accept(key_v4(6), 16, 8, true), no_drop);
}

TEST_F(tracker_test, conflicting_ends_drop_the_datagram) {
    ASSERT_EQ(accept(key_v4(7), 16, 8, false), no_drop);
    EXPECT_EQ(accept(key_v4(7), 0, 8, false), drop_reason::fragment_bad_end); // another end
    ASSERT_EQ(accept(key_v4(8), 16, 8, false), no_drop);
    EXPECT_EQ(accept(key_v4(8), 24, 8, true), drop_reason::fragment_bad_end); // past the end
    ASSERT_EQ(accept(key_v4(9), 32, 8, true), no_drop);
    EXPECT_EQ(accept(key_v4(9), 8, 8, false), drop_reason::fragment_bad_end); // an end before data seen
    EXPECT_EQ(tracker->state(entry), datagram_state::dropped);
}

TEST_F(tracker_test, too_many_fragments_drop_the_datagram) {
    for (uint16_t k = 0; k < 4; ++k) ASSERT_EQ(accept(key_v4(10), static_cast<uint16_t>(k * 8), 8, true), no_drop);
    EXPECT_EQ(accept(key_v4(10), 32, 8, true), drop_reason::fragment_too_many);
    EXPECT_EQ(tracker->state(entry), datagram_state::dropped);
}

TEST_F(tracker_test, full_table_refuses_new_datagrams) {
    for (uint32_t id = 0; id < 8; ++id) ASSERT_EQ(accept(key_v4(100 + id), 8, 8, true), no_drop);
    EXPECT_EQ(accept(key_v4(200), 8, 8, true), drop_reason::fragment_table_full);
    EXPECT_EQ(accept(key_v4(100), 16, 8, true), no_drop); // known datagrams go on
    EXPECT_EQ(tracker->active(), 8u);
}

TEST_F(tracker_test, expiry_frees_entries_and_counts_held_copies) {
    ASSERT_EQ(accept(key_v4(11), 8, 8, true, 100), no_drop);
    EXPECT_TRUE(tracker->hold(entry, bytes(20, 0)));
    EXPECT_TRUE(tracker->hold(entry, bytes(20, 0)));
    tracker->expire(1099, 8); // lives 1000 ms from its first fragment
    EXPECT_EQ(tracker->active(), 1u);
    tracker->expire(1100, 8);
    EXPECT_EQ(tracker->active(), 0u);
    EXPECT_EQ(tracker->held(), 0u);
    EXPECT_EQ(drops(drop_reason::fragment_timeout), 2u);
    EXPECT_EQ(counters.fragment_datagrams_expired, 1u);
    // The same key starts over as a new datagram.
    EXPECT_EQ(accept(key_v4(11), 8, 8, true, 1200), no_drop);
    EXPECT_EQ(tracker->state(entry), datagram_state::waiting);
    EXPECT_EQ(counters.fragment_datagrams, 2u);
}

TEST_F(tracker_test, expired_entry_found_by_a_fragment_starts_over) {
    ASSERT_EQ(accept(key_v4(12), 0, 8, true, 0), no_drop);
    tracker->forward(entry, 3);
    EXPECT_EQ(accept(key_v4(12), 8, 8, false, 5000), no_drop);
    EXPECT_EQ(tracker->state(entry), datagram_state::waiting); // its first fragment belongs to the old one
    EXPECT_EQ(counters.fragment_datagrams_expired, 1u);
}

TEST_F(tracker_test, keys_separate_direction_family_protocol_and_id) {
    ASSERT_EQ(accept(key_v4(13), 0, 8, true), no_drop);
    const uint32_t e = entry;
    ASSERT_EQ(accept(key_v4(13, flow::direction::inbound), 0, 8, true), no_drop);
    EXPECT_NE(entry, e);
    fragment_key other_proto = key_v4(13);
    other_proto.proto = 6;
    ASSERT_EQ(accept(other_proto, 0, 8, true), no_drop);
    EXPECT_NE(entry, e);
    const fragment_key v6{ip("fd00::5"), ip("2001:db8::9"), 13, 0, flow::direction::outbound};
    ASSERT_EQ(accept(v6, 0, 8, true), no_drop);
    const uint32_t e6 = entry;
    EXPECT_NE(e6, e);
    ASSERT_EQ(accept(v6, 8, 8, false), no_drop);
    EXPECT_EQ(entry, e6);
    EXPECT_EQ(tracker->active(), 4u);
}

TEST_F(tracker_test, hold_refuses_frames_larger_than_a_slot) {
    ASSERT_EQ(accept(key_v4(14), 8, 8, true), no_drop);
    EXPECT_FALSE(tracker->hold(entry, bytes(fragment_tracker::hold_slot_bytes + 1, 0)));
    EXPECT_TRUE(tracker->hold(entry, bytes(fragment_tracker::hold_slot_bytes, 0)));
}

TEST_F(tracker_test, disabled_tracker_refuses_everything) {
    make(fragment_settings{0, 1000, 4, 0});
    EXPECT_FALSE(tracker->enabled());
    EXPECT_EQ(accept(key_v4(15), 0, 8, true), drop_reason::fragment_table_full);
}

} // namespace
} // namespace egress::gateway
