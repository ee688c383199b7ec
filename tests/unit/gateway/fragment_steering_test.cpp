// The dispatching worker's memory of where each fragmented datagram went:
// later fragments follow their first fragment's owner, fragments that come
// first are held (bounded) and released behind it, entries and held fragments
// live a fixed time.
#include <gtest/gtest.h>

#include <vector>

#include "gateway/fragment_steering.hpp"
#include "gateway_fixture.hpp"

namespace egress::gateway {
namespace {

using decision = fragment_steering::decision;

fragment_info frag(uint32_t id, bool first, std::string_view src = "10.0.0.5",
                   flow::direction dir = flow::direction::outbound) {
    fragment_info f;
    f.fragment = true;
    f.first = first;
    f.key = fragment_key{test::ip(src), test::ip("198.51.100.7"), id, 17, dir};
    return f;
}

fragment_steering_settings config(uint32_t entries = 64, uint32_t hold = 8, uint16_t per_datagram = 3) {
    fragment_steering_settings s;
    s.self = 1;
    s.entries = entries;
    s.lifetime_ms = 2000;
    s.hold_slots = hold;
    s.hold_per_datagram = per_datagram;
    return s;
}

// Handles are just distinct addresses here.
int frames[64];
void* h(int i) { return &frames[i]; }

std::vector<void*> released(fragment_steering& fs, const decision& d) {
    std::vector<void*> out;
    if (d.release != fragment_steering::npos) fs.release(d.release, [&](void* p) { out.push_back(p); });
    return out;
}

TEST(fragment_steering, later_fragments_follow_the_owner_of_their_first) {
    fragment_steering fs(config());
    decision d = fs.place(frag(7, true), 3, h(0), 100);
    EXPECT_EQ(d.owner, 3);
    EXPECT_EQ(d.release, fragment_steering::npos);
    EXPECT_EQ(fs.place(frag(7, false), steering::any, h(1), 101).owner, 3);
    EXPECT_EQ(fs.place(frag(7, false), steering::any, h(2), 2099).owner, 3); // still within 2 s
    // Another datagram (identification, source, direction) is another entry.
    EXPECT_EQ(fs.place(frag(8, true), 0, h(3), 102).owner, 0);
    EXPECT_EQ(fs.place(frag(8, false), steering::any, h(4), 103).owner, 0);
    EXPECT_EQ(fs.place(frag(7, true, "10.0.0.6"), 2, h(5), 104).owner, 2);
    EXPECT_EQ(fs.place(frag(7, false, "10.0.0.6"), steering::any, h(6), 105).owner, 2);
    EXPECT_EQ(fs.place(frag(7, true, "10.0.0.5", flow::direction::inbound), 0, h(7), 106).owner, 0);
    EXPECT_EQ(fs.place(frag(7, false, "10.0.0.5", flow::direction::inbound), steering::any, h(8), 107).owner, 0);
    EXPECT_EQ(fs.place(frag(7, false), steering::any, h(9), 108).owner, 3);
    EXPECT_EQ(fs.held(), 0u);
    // A first fragment steering could not place stays with the dispatcher, and so do its followers.
    EXPECT_EQ(fs.place(frag(9, true), steering::any, h(10), 109).owner, 1);
    EXPECT_EQ(fs.place(frag(9, false), steering::any, h(11), 110).owner, 1);
}

TEST(fragment_steering, fragments_before_their_first_are_held_and_follow_it_in_order) {
    fragment_steering fs(config());
    EXPECT_EQ(fs.place(frag(7, false), steering::any, h(1), 100).owner, steering::any);
    EXPECT_EQ(fs.place(frag(7, false), steering::any, h(2), 101).owner, steering::any);
    EXPECT_EQ(fs.place(frag(8, false), steering::any, h(9), 101).owner, steering::any);
    EXPECT_EQ(fs.held(), 3u);
    const decision d = fs.place(frag(7, true), 2, h(0), 102);
    EXPECT_EQ(d.owner, 2);
    EXPECT_EQ(released(fs, d), (std::vector<void*>{h(1), h(2)}));
    EXPECT_EQ(fs.held(), 1u);
    // Once the first came, later ones go straight to its owner.
    EXPECT_EQ(fs.place(frag(7, false), steering::any, h(3), 103).owner, 2);
    // Datagram 8's first fragment belongs to the dispatcher itself: released all the same.
    const decision d8 = fs.place(frag(8, true), 1, h(8), 104);
    EXPECT_EQ(d8.owner, 1);
    EXPECT_EQ(released(fs, d8), (std::vector<void*>{h(9)}));
    EXPECT_EQ(fs.held(), 0u);
    // A duplicate first fragment releases nothing more.
    EXPECT_EQ(fs.place(frag(7, true), 2, h(4), 105).release, fragment_steering::npos);
}

TEST(fragment_steering, holding_is_bounded_per_datagram_and_in_all) {
    fragment_steering fs(config(64, 4, 2));
    EXPECT_EQ(fs.place(frag(1, false), steering::any, h(1), 0).owner, steering::any);
    EXPECT_EQ(fs.place(frag(1, false), steering::any, h(2), 0).owner, steering::any);
    // A third for the same datagram stays with the dispatcher.
    EXPECT_EQ(fs.place(frag(1, false), steering::any, h(3), 0).owner, 1);
    EXPECT_EQ(fs.place(frag(2, false), steering::any, h(4), 0).owner, steering::any);
    EXPECT_EQ(fs.place(frag(3, false), steering::any, h(5), 0).owner, steering::any);
    EXPECT_EQ(fs.held(), 4u);
    EXPECT_EQ(fs.place(frag(4, false), steering::any, h(6), 0).owner, 1); // no slot left
    // Releasing frees slots for others.
    EXPECT_EQ(released(fs, fs.place(frag(1, true), 0, h(0), 1)), (std::vector<void*>{h(1), h(2)}));
    EXPECT_EQ(fs.place(frag(4, false), steering::any, h(6), 2).owner, steering::any);
    EXPECT_EQ(fs.held(), 3u);
}

TEST(fragment_steering, entries_and_held_fragments_live_their_lifetime) {
    fragment_steering fs(config());
    EXPECT_EQ(fs.place(frag(7, true), 3, h(0), 1000).owner, 3);
    // 2 s after the first fragment the datagram is forgotten: a later fragment is held.
    EXPECT_EQ(fs.place(frag(7, false), steering::any, h(1), 3000).owner, steering::any);
    EXPECT_EQ(fs.place(frag(8, false), steering::any, h(2), 3500).owner, steering::any);
    std::vector<void*> expired;
    const auto collect = [&](void* p) { expired.push_back(p); };
    fs.expire(4999, 64, collect);
    EXPECT_TRUE(expired.empty());
    fs.expire(5000, 64, collect); // datagram 7's held fragment: 2 s since its entry was made
    EXPECT_EQ(expired, (std::vector<void*>{h(1)}));
    EXPECT_EQ(fs.held(), 1u);
    // Its first fragment now comes too late to release anything.
    EXPECT_EQ(fs.place(frag(7, true), 3, h(3), 5001).release, fragment_steering::npos);
    fs.expire(5500, 64, collect);
    EXPECT_EQ(expired, (std::vector<void*>{h(1), h(2)}));
    EXPECT_EQ(fs.held(), 0u);
    // The clock wraps: serial comparison.
    EXPECT_EQ(fs.place(frag(9, true), 2, h(4), 0xffffff00u).owner, 2);
    EXPECT_EQ(fs.place(frag(9, false), steering::any, h(5), 0x00000100u).owner, 2);
}

TEST(fragment_steering, a_full_set_replaces_the_entry_that_expires_first_among_those_holding_nothing) {
    fragment_steering fs(config(3, 64, 4)); // rounded up to 4: one set of 4 ways
    EXPECT_EQ(fs.capacity(), 4u);
    const auto key = [](uint32_t id) { return frag(id, true).key; };
    for (uint32_t id = 1; id <= 4; ++id) EXPECT_EQ(fs.place(frag(id, true), 2, h(0), id * 10).owner, 2);
    for (uint32_t id = 1; id <= 4; ++id) EXPECT_EQ(fs.remembered(key(id), 45), 2) << id;
    EXPECT_EQ(fs.place(frag(5, true), 3, h(0), 50).owner, 3); // replaces datagram 1 (made first)
    EXPECT_EQ(fs.remembered(key(1), 50), steering::any);
    EXPECT_EQ(fs.remembered(key(5), 50), 3);
    // Datagrams waiting for their first fragment take the ways 2..5 had, in that order.
    for (uint32_t id = 6; id <= 9; ++id)
        EXPECT_EQ(fs.place(frag(id, false), steering::any, h(static_cast<int>(id)), 60 + id).owner, steering::any);
    for (uint32_t id = 2; id <= 5; ++id) EXPECT_EQ(fs.remembered(key(id), 70), steering::any) << id;
    EXPECT_EQ(fs.held(), 4u);
    // Every way holds fragments: a new datagram is not remembered, its
    // fragments stay with the dispatcher.
    EXPECT_EQ(fs.place(frag(10, false), steering::any, h(10), 80).owner, 1);
    EXPECT_EQ(fs.place(frag(11, true), 2, h(11), 81).owner, 2);
    EXPECT_EQ(fs.remembered(key(11), 81), steering::any);
    EXPECT_EQ(fs.place(frag(11, false), steering::any, h(12), 82).owner, 1);
    // Shutdown: every held fragment comes back.
    std::vector<void*> all;
    fs.release_all([&](void* p) { all.push_back(p); });
    EXPECT_EQ(all.size(), 4u);
    EXPECT_EQ(fs.held(), 0u);
}

} // namespace
} // namespace egress::gateway
