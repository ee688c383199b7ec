// The steering stage (lib/gateway/steering_stage.hpp): one packet_result per
// received frame, as rows: this worker's (forward), another worker's
// (hand_off to its owner, with the drop reason for a full ring), a fragment
// held until its first fragment (consumed, then released behind it), and the
// exception path's frames, which are worker 0's on every worker.
#include <gtest/gtest.h>

#include <string_view>
#include <vector>

#include "../net/fragmenter.hpp"
#include "gateway/steering_stage.hpp"
#include "gateway_fixture.hpp"
#include "net/packet_parser.hpp"

namespace egress::gateway {
namespace {

using namespace testing_network;
using stats::drop_reason;
using stats::side;
using test::bytes;

// Two workers without RSS: replies go to the slice of their public port,
// [1024, 33279] worker 0, [33280, 65535] worker 1.
steering two_workers() {
    steering_settings s;
    s.workers = 2;
    s.port_min = 1024;
    s.port_max = 65535;
    return steering(s);
}

// The outside side has an exception interface with tcp/22 listed; the inside
// has none.
steering_stage_settings stage_settings(uint16_t self, bool fragments = false) {
    const settings g = make_settings();
    steering_stage_settings s;
    s.self = self;
    s.inside = g.inside;
    s.outside = g.outside;
    s.outside.exception.enabled = true;
    s.outside.exception.ports = {{net::proto_tcp, 22}};
    if (fragments) {
        fragment_steering_settings f;
        f.entries = 64;
        f.hold_slots = 4;
        s.fragments = f;
    }
    return s;
}

packet_result run(steering_stage& stage, side from, const bytes& frame, void* handle = nullptr, uint32_t now = 0) {
    net::packet_view view;
    const drop_reason parsed = net::parse_frame(frame, view);
    return stage.run(from, view, parsed, handle, now);
}

// A hand-off as a test expects it: owner and the reason of a full ring.
packet_result to(uint16_t owner, drop_reason if_full = drop_reason::handoff_full) {
    return packet_result::hand_off(owner, if_full);
}

bool same(const packet_result& a, const packet_result& b) {
    return a.kind == b.kind && a.reason == b.reason && a.owner == b.owner && a.front_adjust == b.front_adjust &&
           a.reply_len == b.reply_len && a.share_with_peers == b.share_with_peers;
}

std::string shown(const packet_result& r) {
    std::string s(name_of(r.kind));
    if (r.kind == verdict::hand_off) s += " to " + std::to_string(r.owner) + " (" + std::string(stats::name_of(r.reason)) + ")";
    return s;
}

bytes truncated(bytes f, std::size_t n) {
    f.resize(n);
    return f;
}

struct row {
    const char* description;
    side from;
    bytes frame;
    packet_result on_worker0;
    packet_result on_worker1;
};

TEST(steering_stage, one_result_per_frame) {
    const steering st = two_workers();
    stats::worker_counters c0, c1;
    steering_stage w0(st, stage_settings(0), c0);
    steering_stage w1(st, stage_settings(1), c1);
    const packet_result mine = packet_result::forward();
    const packet_result kernel = to(0, drop_reason::exception_handoff_full);
    const bytes inside_bgp = from_inside().ipv4("10.0.0.2", "10.0.0.1").tcp(179, 40000).build();
    const uint16_t inside_owner = st.owner(side::inside, inside_bgp);
    const std::vector<row> rows = {
        {"a reply to a public port of worker 0's slice", side::outside,
         from_outside().ipv4("198.51.100.7", "203.0.113.10").udp(53, 2000).build(), mine, to(0)},
        {"a reply to a public port of worker 1's slice", side::outside,
         from_outside().ipv4("198.51.100.7", "203.0.113.10").udp(53, 40000).build(), to(1), mine},
        {"a port outside the range: any, the receiving worker's", side::outside,
         from_outside().ipv4("198.51.100.7", "203.0.113.10").udp(53, 80).build(), mine, mine},
        {"ARP: any", side::outside,
         test::frame_builder().eth(outside_hop, test::mac("ff:ff:ff:ff:ff:ff")).ethertype(net::ethertype_arp)
             .payload(bytes(28, 0)).pad_to(60).build(),
         mine, mine},
        {"a frame the parser refuses: any", side::outside,
         truncated(from_outside().ipv4("198.51.100.7", "203.0.113.10").udp(53, 40000).build(), 20), mine, mine},
        // The exception path: worker 0's, on both workers.
        {"BGP to the gateway's outside address", side::outside,
         from_outside().ipv4("192.0.2.254", "192.0.2.1").tcp(40000, 179).build(), mine, kernel},
        {"BGP answering the gateway's connect (destination port in worker 1's slice)", side::outside,
         from_outside().ipv4("192.0.2.254", "192.0.2.1").tcp(179, 40000).build(), mine, kernel},
        {"BGP over IPv6", side::outside, from_outside().ipv6("2001:db8::fe", "2001:db8::1").tcp(50000, 179).build(),
         mine, kernel},
        {"BFD single hop", side::outside,
         from_outside().ipv4("192.0.2.254", "192.0.2.1").udp(49152, 3784).payload("bfd").build(), mine, kernel},
        {"BFD multihop", side::outside,
         from_outside().ipv4("192.0.2.254", "192.0.2.1").udp(49152, 4784).payload("bfd").build(), mine, kernel},
        {"the listed port tcp/22", side::outside,
         from_outside().ipv4("192.0.2.254", "192.0.2.1").tcp(50000, 22).build(), mine, kernel},
        {"an unlisted port to the gateway: steered as any frame", side::outside,
         from_outside().ipv4("192.0.2.254", "192.0.2.1").tcp(50000, 23).build(), mine, mine},
        {"BGP to an address that is not the gateway's: steered as any frame", side::outside,
         from_outside().ipv4("192.0.2.254", "203.0.113.10").tcp(179, 40000).build(), to(1), mine},
        {"BGP to the inside address: that side has no exception interface", side::inside, inside_bgp,
         inside_owner == 0 ? mine : to(1), inside_owner == 1 ? mine : to(0)},
    };
    for (const row& r : rows) {
        const packet_result got0 = run(w0, r.from, r.frame), got1 = run(w1, r.from, r.frame);
        EXPECT_TRUE(same(got0, r.on_worker0)) << r.description << ": worker 0 got " << shown(got0);
        EXPECT_TRUE(same(got1, r.on_worker1)) << r.description << ": worker 1 got " << shown(got1);
    }
    // Each frame worker 1 handed to worker 0 for the kernel, counted there.
    EXPECT_EQ(c1.exception_handed_to_worker0, 6u);
    EXPECT_EQ(c0.exception_handed_to_worker0, 0u);
}

// By tuple the stage says what steering says: its own worker's frames (and
// `any`) go on, the others are handed to their owner.
TEST(steering_stage, hands_off_what_steering_gives_another_worker) {
    const steering st = two_workers();
    stats::worker_counters c0, c1;
    steering_stage w0(st, stage_settings(0), c0);
    steering_stage w1(st, stage_settings(1), c1);
    unsigned handed[2] = {0, 0};
    for (uint16_t port = 40000; port < 40064; ++port) {
        const bytes f = from_inside().ipv4("10.0.0.2", "198.51.100.7").tcp(port, 443).build();
        const uint16_t o = st.owner(side::inside, f);
        ASSERT_LT(o, 2);
        const packet_result r0 = run(w0, side::inside, f), r1 = run(w1, side::inside, f);
        EXPECT_TRUE(same(r0, o == 0 ? packet_result::forward() : to(1))) << port << ": " << shown(r0);
        EXPECT_TRUE(same(r1, o == 1 ? packet_result::forward() : to(0))) << port << ": " << shown(r1);
        ++handed[o];
    }
    EXPECT_GT(handed[0], 0u);
    EXPECT_GT(handed[1], 0u);
}

// Later fragments that come before their first: held (consumed), given back
// behind the first fragment, in arrival order; a later fragment after its
// first follows it at once.
TEST(steering_stage, holds_later_fragments_until_their_first_names_the_owner) {
    const steering st = two_workers();
    stats::worker_counters c0, c1;
    steering_stage w0(st, stage_settings(0, true), c0);
    const bytes whole = from_outside().ipv4("198.51.100.7", "203.0.113.10").udp(53, 40000).payload_size(100).build();
    const std::vector<bytes> frags = test::fragment_ipv4(whole, {48, 32}, 0x0203);
    ASSERT_EQ(frags.size(), 3u);
    int handles[3];
    std::vector<void*> released;
    const auto collect = [&](void* h) { released.push_back(h); };
    EXPECT_TRUE(same(run(w0, side::outside, frags[2], &handles[2], 10), packet_result::consumed()));
    w0.release_held(collect);
    EXPECT_TRUE(same(run(w0, side::outside, frags[1], &handles[1], 11), packet_result::consumed()));
    w0.release_held(collect);
    EXPECT_TRUE(released.empty());
    EXPECT_EQ(w0.held(), 2u);
    const packet_result first = run(w0, side::outside, frags[0], &handles[0], 12);
    EXPECT_TRUE(same(first, to(1))) << shown(first); // public port 40000: worker 1's slice
    w0.release_held(collect);
    EXPECT_EQ(released, (std::vector<void*>{&handles[2], &handles[1]}));
    EXPECT_EQ(w0.held(), 0u);
    w0.release_held(collect); // once only
    EXPECT_EQ(released.size(), 2u);
    // A retransmitted later fragment now follows at once.
    EXPECT_TRUE(same(run(w0, side::outside, frags[1], &handles[1], 13), to(1)));
}

TEST(steering_stage, a_held_fragment_whose_first_does_not_come_is_given_back_to_expire) {
    const steering st = two_workers();
    stats::worker_counters c0, c1;
    steering_stage w1(st, stage_settings(1, true), c1);
    const bytes whole = from_inside().ipv4("10.0.0.5", "198.51.100.7").udp(40000, 53).payload_size(100).build();
    const std::vector<bytes> frags = test::fragment_ipv4(whole, {48}, 0x0404);
    int handle = 0;
    EXPECT_TRUE(same(run(w1, side::inside, frags[1], &handle, 100), packet_result::consumed()));
    std::vector<void*> expired;
    w1.expire_held(100 + 1999, 64, [&](void* h) { expired.push_back(h); });
    EXPECT_TRUE(expired.empty()); // within the fragment lifetime (2 s)
    w1.expire_held(100 + 2000, 64, [&](void* h) { expired.push_back(h); });
    EXPECT_EQ(expired, std::vector<void*>{&handle});
    EXPECT_EQ(w1.held(), 0u);
}

// Without fragment steering (fragments refused by the gateway) a later
// fragment is `any`: it stays on the worker that received it.
TEST(steering_stage, without_fragment_steering_a_later_fragment_stays) {
    const steering st = two_workers();
    stats::worker_counters c0, c1;
    steering_stage w0(st, stage_settings(0), c0);
    const bytes whole = from_outside().ipv4("198.51.100.7", "203.0.113.10").udp(53, 40000).payload_size(100).build();
    const std::vector<bytes> frags = test::fragment_ipv4(whole, {48}, 0x0505);
    int handle = 0;
    EXPECT_TRUE(same(run(w0, side::outside, frags[1], &handle), packet_result::forward()));
    EXPECT_TRUE(same(run(w0, side::outside, frags[0], &handle), to(1)));
    EXPECT_EQ(w0.held(), 0u);
}

TEST(packet_result, a_hand_off_names_its_owner_and_the_reason_of_a_full_ring) {
    const packet_result r = packet_result::hand_off(5, drop_reason::exception_handoff_full);
    EXPECT_EQ(r.kind, verdict::hand_off);
    EXPECT_EQ(r.owner, 5);
    EXPECT_EQ(r.reason, drop_reason::exception_handoff_full);
    EXPECT_FALSE(r.dropped());
    EXPECT_FALSE(r.goes_on());
    EXPECT_EQ(name_of(r.kind), "hand_off");
    EXPECT_EQ(sizeof(packet_result), 8u);
}

} // namespace
} // namespace egress::gateway
