// Next-hop resolution through gateway_core: the neighbour table on its own,
// ARP and neighbour discovery answered and used, frames held until their next
// hop resolves (within bounds), retries and timeouts on the flow clock, static
// neighbours, VLAN push / pop, echo replies. Expected frames come from the
// test frame_builder or from a gateway with the same next hop configured
// statically, never from the code under test.
#include <gtest/gtest.h>

#include "gateway/gateway_core.hpp"
#include "gateway/neighbor_table.hpp"
#include "gateway/steering.hpp"
#include "gateway_fixture.hpp"
#include "net/arp.hpp"
#include "net/ndp.hpp"

namespace egress::gateway {
namespace {

using stats::drop_reason;
using stats::no_drop;
using stats::side;
using test::bytes;
using test::frame_builder;
using test::ip;
using test::mac;

using namespace testing_network;

const auto router_mac = mac("02:00:00:00:02:01");
const auto host_mac = mac("02:00:00:00:01:05");
const auto bcast = net::broadcast_mac;

// ---------------------------------------------------------------------------
// The table

TEST(neighbor_table, insert_find_erase_keep_every_chain_reachable) {
    neighbor_table t(16); // 32 slots
    std::vector<net::ip_address> in;
    for (uint32_t i = 0; i < 16; ++i) {
        const auto a = net::ip_address::from_v4(0x0a000000u + i * 7);
        const uint32_t slot = t.insert(a);
        ASSERT_NE(slot, neighbor_table::npos);
        t.at(slot).state = neighbor_state::reachable;
        in.push_back(a);
    }
    EXPECT_EQ(t.size(), 16u);
    EXPECT_EQ(t.insert(ip("10.9.9.9")), neighbor_table::npos); // max_entries reached
    // Remove every other one; the rest stay findable (backward shift, no tombstones).
    for (std::size_t i = 0; i < in.size(); i += 2) t.erase(t.find(in[i]));
    EXPECT_EQ(t.size(), 8u);
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (i % 2 == 0) {
            EXPECT_EQ(t.find(in[i]), neighbor_table::npos) << i;
        } else {
            ASSERT_NE(t.find(in[i]), neighbor_table::npos) << i;
            EXPECT_EQ(t.at(t.find(in[i])).address, in[i]);
        }
    }
    uint32_t used = 0;
    for (uint32_t s = 0; s < t.slot_count(); ++s) used += t.at(s).state != neighbor_state::free;
    EXPECT_EQ(used, 8u);
}

// ---------------------------------------------------------------------------
// Through the gateway

// Both sides resolve: inside 10.0.0.1/24 and fd00:0:0:1::1/64 (hosts on-link),
// outside 192.0.2.1/24 and 2001:db8::1/64 with routers .254 and ::fe.
settings resolving_settings() {
    settings s = make_settings();
    s.inside.next_hop_mac.reset();
    s.outside.next_hop_mac.reset();
    s.inside.on_link = {{ip("10.0.0.1"), 24}, {ip("fd00:0:0:1::1"), 64}};
    s.outside.on_link = {{ip("192.0.2.1"), 24}, {ip("2001:db8::1"), 64}};
    s.outside.next_hop_v4 = ip("192.0.2.254");
    s.outside.next_hop_v6 = ip("2001:db8::fe");
    s.neighbors.retries = 3;
    s.neighbors.retry_ms = 1000;
    s.neighbors.reachable_ms = 30'000;
    s.neighbors.stale_ms = 600'000;
    s.neighbors.queue_per_entry = 3;
    s.neighbors.queue_total = 4;
    return s;
}

bytes arp(const net::mac_address& eth_src, const net::mac_address& eth_dst, uint16_t op,
          const net::mac_address& sha, std::string_view spa, const net::mac_address& tha, std::string_view tpa,
          uint16_t vid = 0) {
    bytes body = {0, 1, 8, 0, 6, 4, 0, static_cast<uint8_t>(op)};
    body.insert(body.end(), sha.bytes.begin(), sha.bytes.end());
    const auto s = ip(spa);
    body.insert(body.end(), s.bytes.begin() + 12, s.bytes.end());
    body.insert(body.end(), tha.bytes.begin(), tha.bytes.end());
    const auto t = ip(tpa);
    body.insert(body.end(), t.bytes.begin() + 12, t.bytes.end());
    frame_builder b;
    b.eth(eth_src, eth_dst);
    if (vid != 0) b.vlan(vid);
    return b.ethertype(net::ethertype_arp).payload(body).pad_to(60).build();
}

bytes nd(const net::mac_address& eth_src, const net::mac_address& eth_dst, std::string_view src, std::string_view dst,
         uint8_t type, std::string_view target, uint8_t option_type, const net::mac_address& lladdr,
         uint32_t flags = 0, uint8_t hop_limit = 255, uint16_t vid = 0) {
    const auto t = ip(target);
    bytes body(t.bytes.begin(), t.bytes.end());
    if (option_type != 0) {
        body.push_back(option_type);
        body.push_back(1);
        body.insert(body.end(), lladdr.bytes.begin(), lladdr.bytes.end());
    }
    frame_builder b;
    b.eth(eth_src, eth_dst);
    if (vid != 0) b.vlan(vid);
    return b.ipv6(src, dst).ttl(hop_limit).icmp(type, 0, flags).payload(body).build();
}

bytes syn(uint16_t sport) {
    return from_inside().ipv4("10.0.0.5", "198.51.100.7").ttl(64).tcp(sport, 443, net::tcp_syn).build();
}

class neighbor_gateway : public ::testing::Test {
protected:
    void make(settings s) {
        cfg = s;
        core = std::make_unique<gateway_core>(s);
    }
    void SetUp() override { make(resolving_settings()); }

    packet_result push(side from, bytes& frame, uint32_t now) { return core->process(from, frame, now); }
    // What the last call put into the outbox.
    std::vector<std::pair<side, bytes>> built() const {
        std::vector<std::pair<side, bytes>> out;
        const outbox& box = core->built_frames();
        for (uint32_t i = 0; i < box.size(); ++i) out.emplace_back(box[i].to, bytes(box[i].bytes.begin(), box[i].bytes.end()));
        return out;
    }
    uint64_t drops(drop_reason r) const { return core->counters().drops[static_cast<std::size_t>(r)]; }
    const neighbor_entry* entry(side s, std::string_view a) const {
        const neighbor_table& t = core->neighbors().table(s);
        const uint32_t slot = t.find(ip(a));
        return slot == neighbor_table::npos ? nullptr : &t.at(slot);
    }
    // The frame a gateway with the same router configured statically sends for `frame`.
    bytes statically(side from, bytes frame, const net::mac_address& hop) {
        settings s = cfg;
        (from == side::inside ? s.outside : s.inside).next_hop_mac = hop;
        s.inside.vlan = s.outside.vlan = 0; // untagged frames in and out
        gateway_core other(s);
        EXPECT_EQ(other.process(from, frame, 0), verdict::forward);
        return frame;
    }
    void start() {
        core->expire(0, 0); // the first call sends the announcements
    }

    settings cfg;
    std::unique_ptr<gateway_core> core;
};

TEST_F(neighbor_gateway, announces_every_own_address_once_at_start) {
    core->expire(0, 64);
    const auto a = built();
    ASSERT_EQ(a.size(), 5u);
    // Inside: gratuitous ARP for 10.0.0.1, unsolicited NA for fd00:0:0:1::1.
    EXPECT_EQ(a[0].first, side::inside);
    EXPECT_EQ(a[0].second, arp(inside_mac, bcast, 1, inside_mac, "10.0.0.1", net::mac_address{}, "10.0.0.1"));
    EXPECT_EQ(a[1].first, side::inside);
    EXPECT_EQ(a[1].second, nd(inside_mac, mac("33:33:00:00:00:01"), "fd00:0:0:1::1", "ff02::1",
                              net::icmpv6_neighbor_advertisement, "fd00:0:0:1::1", 2, inside_mac, 0xa0000000u));
    // Outside: its addresses and the NAT pool address.
    EXPECT_EQ(a[2].second, arp(outside_mac, bcast, 1, outside_mac, "192.0.2.1", net::mac_address{}, "192.0.2.1"));
    EXPECT_EQ(a[4].first, side::outside);
    EXPECT_EQ(a[4].second, arp(outside_mac, bcast, 1, outside_mac, "203.0.113.10", net::mac_address{}, "203.0.113.10"));
    EXPECT_EQ(core->counters().neighbor_announcements_sent, 5u);
    core->expire(1, 64);
    EXPECT_TRUE(built().empty());
}

TEST_F(neighbor_gateway, a_side_with_a_static_next_hop_announces_nothing_but_still_answers) {
    make(make_settings());
    core->expire(0, 64);
    EXPECT_TRUE(built().empty());
    bytes req = arp(host_mac, bcast, 1, host_mac, "10.0.0.5", net::mac_address{}, "10.0.0.1");
    EXPECT_EQ(push(side::inside, req, 0), verdict::consumed);
    ASSERT_EQ(built().size(), 1u);
    EXPECT_EQ(built()[0].second, arp(inside_mac, host_mac, 2, inside_mac, "10.0.0.1", host_mac, "10.0.0.5"));
}

TEST_F(neighbor_gateway, arp_requests_for_own_addresses_are_answered_and_the_sender_learned) {
    start();
    bytes req = arp(host_mac, bcast, 1, host_mac, "10.0.0.5", net::mac_address{}, "10.0.0.1");
    EXPECT_EQ(push(side::inside, req, 5), verdict::consumed);
    const auto out = built();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].first, side::inside);
    EXPECT_EQ(out[0].second, arp(inside_mac, host_mac, 2, inside_mac, "10.0.0.1", host_mac, "10.0.0.5"));
    const neighbor_entry* e = entry(side::inside, "10.0.0.5");
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->state, neighbor_state::stale);
    EXPECT_EQ(e->mac, host_mac);
    EXPECT_EQ(core->counters().neighbor_replies_sent, 1u);
    EXPECT_EQ(core->counters().neighbor_learned, 1u);
    // The pool address is answered on the outside, not on the inside.
    bytes pool = arp(router_mac, bcast, 1, router_mac, "192.0.2.254", net::mac_address{}, "203.0.113.10");
    EXPECT_EQ(push(side::outside, pool, 6), verdict::consumed);
    ASSERT_EQ(built().size(), 1u);
    EXPECT_EQ(built()[0].second,
              arp(outside_mac, router_mac, 2, outside_mac, "203.0.113.10", router_mac, "192.0.2.254"));
    // A sender the gateway does not know asking for an address it does not
    // have here (192.0.2.1 is an outside address).
    bytes wrong_side = arp(mac("02:00:00:00:01:07"), bcast, 1, mac("02:00:00:00:01:07"), "10.0.0.7",
                           net::mac_address{}, "192.0.2.1");
    EXPECT_EQ(push(side::inside, wrong_side, 7), drop_reason::arp_not_for_us);
    bytes other = arp(mac("02:00:00:00:01:06"), bcast, 1, mac("02:00:00:00:01:06"), "10.0.0.6",
                      net::mac_address{}, "10.0.0.9");
    EXPECT_EQ(push(side::inside, other, 8), drop_reason::arp_not_for_us);
    EXPECT_EQ(drops(drop_reason::arp_not_for_us), 2u);
    EXPECT_EQ(entry(side::inside, "10.0.0.6"), nullptr);
    bytes unicast_elsewhere = arp(host_mac, mac("02:00:00:00:01:99"), 1, host_mac, "10.0.0.5", net::mac_address{},
                                  "10.0.0.1");
    EXPECT_EQ(push(side::inside, unicast_elsewhere, 9), drop_reason::l2_dst_not_local);
    bytes bad = arp(host_mac, bcast, 1, host_mac, "10.0.0.5", net::mac_address{}, "10.0.0.1");
    bad[14 + 1] = 6; // hardware type 6
    EXPECT_EQ(push(side::inside, bad, 10), drop_reason::arp_unsupported);
    EXPECT_EQ(drops(drop_reason::arp_unsupported), 1u);
}

// Found by tests/fuzz/neighbors_fuzz.cpp (corpus/neighbors/regression-arp-off-link-sender.bin):
// a request for an own address from a sender that is not on-link created an
// entry no frame ever uses (off-link destinations go to the router), so anyone
// on the link could fill the table from made-up addresses. Such requests are
// answered and not remembered; on-link senders and the router still are.
TEST_F(neighbor_gateway, requests_from_senders_off_the_link_are_answered_not_remembered) {
    start();
    const auto peer = mac("02:00:00:00:02:77");
    const auto group = mac("33:33:ff:00:00:01");
    struct request_case {
        const char* name;
        bytes frame;
        const char* sender;
        bool remembered;
    };
    const request_case cases[] = {
        // The fuzzer's input: who-has 192.0.2.1 tell 192.50.2.254 (the outside is 192.0.2.0/24).
        {"arp-off-link",
         {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x02, 0x77, 0x08, 0x06, 0x00, 0x01, 0x08,
          0x00, 0x06, 0x04, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x02, 0x77, 0xc0, 0x32, 0x02, 0xfe, 0x00, 0x00,
          0x00, 0x00, 0x00, 0x00, 0xc0, 0x00, 0x02, 0x01},
         "192.50.2.254",
         false},
        {"arp-on-link", arp(peer, bcast, 1, peer, "192.0.2.7", net::mac_address{}, "192.0.2.1"), "192.0.2.7", true},
        {"arp-router", arp(peer, bcast, 1, peer, "192.0.2.254", net::mac_address{}, "192.0.2.1"), "192.0.2.254",
         true},
        {"ns-off-link",
         nd(peer, group, "2001:db8:ffff::5", "ff02::1:ff00:1", net::icmpv6_neighbor_solicitation, "2001:db8::1", 1,
            peer),
         "2001:db8:ffff::5", false},
        {"ns-link-local-off-the-prefix",
         nd(peer, group, "fe80::5", "ff02::1:ff00:1", net::icmpv6_neighbor_solicitation, "2001:db8::1", 1, peer),
         "fe80::5", false},
        {"ns-on-link",
         nd(peer, group, "2001:db8::5", "ff02::1:ff00:1", net::icmpv6_neighbor_solicitation, "2001:db8::1", 1, peer),
         "2001:db8::5", true},
    };
    uint32_t now = 1;
    uint64_t learned = 0;
    for (const request_case& c : cases) {
        SCOPED_TRACE(c.name);
        bytes frame = c.frame;
        EXPECT_EQ(push(side::outside, frame, now++), verdict::consumed);
        const auto out = built();
        ASSERT_EQ(out.size(), 1u); // answered either way
        EXPECT_EQ(out[0].first, side::outside);
        EXPECT_EQ(entry(side::outside, c.sender) != nullptr, c.remembered);
        learned += c.remembered ? 1 : 0;
        EXPECT_EQ(core->counters().neighbor_learned, learned);
    }
}

TEST_F(neighbor_gateway, a_frame_waits_for_its_router_and_leaves_once_resolved) {
    start();
    bytes first = syn(40000);
    const bytes original = first;
    EXPECT_EQ(push(side::inside, first, 100), verdict::consumed);
    auto out = built();
    ASSERT_EQ(out.size(), 1u); // the request, broadcast on the outside
    EXPECT_EQ(out[0].first, side::outside);
    EXPECT_EQ(out[0].second, arp(outside_mac, bcast, 1, outside_mac, "192.0.2.1", net::mac_address{}, "192.0.2.254"));
    EXPECT_EQ(core->counters().neighbor_frames_queued, 1u);
    EXPECT_EQ(core->counters().neighbor_requests_sent, 1u);
    ASSERT_NE(entry(side::outside, "192.0.2.254"), nullptr);
    EXPECT_EQ(entry(side::outside, "192.0.2.254")->state, neighbor_state::incomplete);
    EXPECT_EQ(core->neighbors().frames_held(), 1u);

    // The reply releases the held SYN: exactly what a static next hop gives.
    bytes reply = arp(router_mac, outside_mac, 2, router_mac, "192.0.2.254", outside_mac, "192.0.2.1");
    EXPECT_EQ(push(side::outside, reply, 150), verdict::consumed);
    out = built();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].first, side::outside);
    EXPECT_EQ(out[0].second, statically(side::inside, original, router_mac));
    EXPECT_EQ(entry(side::outside, "192.0.2.254")->state, neighbor_state::reachable);
    EXPECT_EQ(core->counters().neighbor_resolved, 1u);
    EXPECT_EQ(core->counters().neighbor_frames_released, 1u);
    EXPECT_EQ(core->neighbors().frames_held(), 0u);

    // Later frames go straight through, to the router's MAC.
    bytes next = syn(40001);
    EXPECT_EQ(push(side::inside, next, 200), verdict::forward);
    EXPECT_EQ(next, statically(side::inside, syn(40001), router_mac));
    EXPECT_TRUE(built().empty());
}

TEST_F(neighbor_gateway, held_frames_are_bounded_per_entry_and_in_all) {
    start();
    for (uint16_t p = 0; p < 3; ++p) {
        bytes f = syn(static_cast<uint16_t>(41000 + p));
        EXPECT_EQ(push(side::inside, f, 10), verdict::consumed) << p;
    }
    bytes fourth = syn(41003);
    EXPECT_EQ(push(side::inside, fourth, 10), drop_reason::neighbor_queue_full); // queue_per_entry = 3
    // Towards the IPv6 router: one more fits in queue_total = 4, then none.
    bytes v6a = from_inside().ipv6("fd00:0:0:1::5", "2001:db8:9::7").ttl(64).tcp(42000, 443, net::tcp_syn).build();
    EXPECT_EQ(push(side::inside, v6a, 11), verdict::consumed);
    const auto out = built();
    bytes v6b = from_inside().ipv6("fd00:0:0:1::5", "2001:db8:9::7").ttl(64).tcp(42001, 443, net::tcp_syn).build();
    EXPECT_EQ(push(side::inside, v6b, 11), drop_reason::neighbor_queue_full);
    EXPECT_EQ(drops(drop_reason::neighbor_queue_full), 2u);
    EXPECT_EQ(core->counters().neighbor_frames_queued, 4u);
    EXPECT_EQ(core->neighbors().frames_held(), 4u);
    // The NS went to the router's solicited-node group.
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].second, nd(outside_mac, mac("33:33:ff:00:00:fe"), "2001:db8::1", "ff02::1:ff00:fe",
                                net::icmpv6_neighbor_solicitation, "2001:db8::fe", 1, outside_mac));
}

TEST_F(neighbor_gateway, unanswered_requests_are_retried_then_the_held_frames_dropped) {
    start();
    bytes f = syn(40000);
    ASSERT_EQ(push(side::inside, f, 0), verdict::consumed);
    core->expire(999, 1u << 20);
    EXPECT_TRUE(built().empty()); // not due yet
    core->expire(1000, 1u << 20);
    ASSERT_EQ(built().size(), 1u); // second request
    core->expire(2000, 1u << 20);
    ASSERT_EQ(built().size(), 1u); // third
    EXPECT_EQ(core->counters().neighbor_requests_sent, 3u);
    EXPECT_EQ(entry(side::outside, "192.0.2.254")->state, neighbor_state::incomplete);
    core->expire(3000, 1u << 20); // retries (3) used up: given up
    EXPECT_TRUE(built().empty());
    EXPECT_EQ(entry(side::outside, "192.0.2.254"), nullptr);
    EXPECT_EQ(drops(drop_reason::neighbor_unresolved), 1u);
    EXPECT_EQ(core->neighbors().frames_held(), 0u);
    // The next frame starts over.
    bytes again = syn(40001);
    EXPECT_EQ(push(side::inside, again, 3001), verdict::consumed);
    EXPECT_EQ(core->counters().neighbor_requests_sent, 4u);
}

TEST_F(neighbor_gateway, a_stale_entry_is_probed_on_use_and_removed_when_silent) {
    start();
    bytes f = syn(40000);
    ASSERT_EQ(push(side::inside, f, 0), verdict::consumed);
    bytes reply = arp(router_mac, outside_mac, 2, router_mac, "192.0.2.254", outside_mac, "192.0.2.1");
    ASSERT_EQ(push(side::outside, reply, 10), verdict::consumed);
    core->expire(30'009, 1u << 20);
    EXPECT_EQ(entry(side::outside, "192.0.2.254")->state, neighbor_state::reachable);
    core->expire(30'010, 1u << 20);
    EXPECT_EQ(entry(side::outside, "192.0.2.254")->state, neighbor_state::stale);
    // Used while stale: forwarded at once, and a unicast probe goes to the old MAC.
    bytes g = syn(40001);
    EXPECT_EQ(push(side::inside, g, 31'000), verdict::forward);
    auto out = built();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].second, arp(outside_mac, router_mac, 1, outside_mac, "192.0.2.1", net::mac_address{}, "192.0.2.254"));
    EXPECT_EQ(entry(side::outside, "192.0.2.254")->state, neighbor_state::probe);
    core->expire(32'000, 1u << 20);
    core->expire(33'000, 1u << 20);
    EXPECT_EQ(core->counters().neighbor_requests_sent, 4u); // 1 resolution + 3 probes
    core->expire(34'000, 1u << 20);
    EXPECT_EQ(entry(side::outside, "192.0.2.254"), nullptr);
    EXPECT_EQ(drops(drop_reason::neighbor_unresolved), 0u); // nothing was held
}

TEST_F(neighbor_gateway, an_answered_probe_makes_the_entry_reachable_again) {
    start();
    bytes f = syn(40000);
    ASSERT_EQ(push(side::inside, f, 0), verdict::consumed);
    bytes reply = arp(router_mac, outside_mac, 2, router_mac, "192.0.2.254", outside_mac, "192.0.2.1");
    ASSERT_EQ(push(side::outside, reply, 0), verdict::consumed);
    bytes g = syn(40001);
    EXPECT_EQ(push(side::inside, g, 40'000), verdict::forward);
    EXPECT_EQ(entry(side::outside, "192.0.2.254")->state, neighbor_state::probe);
    bytes again = arp(router_mac, outside_mac, 2, router_mac, "192.0.2.254", outside_mac, "192.0.2.1");
    ASSERT_EQ(push(side::outside, again, 40'100), verdict::consumed);
    EXPECT_EQ(entry(side::outside, "192.0.2.254")->state, neighbor_state::reachable);
    EXPECT_EQ(entry(side::outside, "192.0.2.254")->confirmed_ms, 40'100u);
}

TEST_F(neighbor_gateway, stale_entries_unused_for_stale_ms_are_removed) {
    start();
    bytes req = arp(host_mac, bcast, 1, host_mac, "10.0.0.5", net::mac_address{}, "10.0.0.1");
    ASSERT_EQ(push(side::inside, req, 0), verdict::consumed);
    core->expire(599'999, 1u << 20);
    EXPECT_NE(entry(side::inside, "10.0.0.5"), nullptr);
    core->expire(600'000, 1u << 20);
    EXPECT_EQ(entry(side::inside, "10.0.0.5"), nullptr);
}

TEST_F(neighbor_gateway, neighbour_solicitations_are_answered_and_advertisements_resolve) {
    start();
    bytes ns = nd(host_mac, mac("33:33:ff:00:00:01"), "fe80::5", "ff02::1:ff00:1", net::icmpv6_neighbor_solicitation,
                  "fd00:0:0:1::1", 1, host_mac);
    EXPECT_EQ(push(side::inside, ns, 0), verdict::consumed);
    auto out = built();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].first, side::inside);
    EXPECT_EQ(out[0].second, nd(inside_mac, host_mac, "fd00:0:0:1::1", "fe80::5", net::icmpv6_neighbor_advertisement,
                                "fd00:0:0:1::1", 2, inside_mac, 0xe0000000u));
    ASSERT_NE(entry(side::inside, "fe80::5"), nullptr);
    EXPECT_EQ(entry(side::inside, "fe80::5")->mac, host_mac);
    // Hop limit other than 255: ignored (RFC 4861 7.1.1), counted.
    bytes forwarded = nd(host_mac, mac("33:33:ff:00:00:01"), "fe80::5", "ff02::1:ff00:1",
                         net::icmpv6_neighbor_solicitation, "fd00:0:0:1::1", 1, host_mac, 0, 254);
    EXPECT_EQ(push(side::inside, forwarded, 1), drop_reason::ndp_bad_hop_limit);
    // A solicitation for an address that is not ours.
    // A solicitation for an address that is not ours: to a group the gateway
    // is not in, or (unusually) to its own MAC.
    bytes other = nd(host_mac, mac("33:33:ff:00:00:09"), "fe80::5", "ff02::1:ff00:9",
                     net::icmpv6_neighbor_solicitation, "fd00:0:0:1::9", 1, host_mac);
    EXPECT_EQ(push(side::inside, other, 2), drop_reason::l2_dst_not_local);
    bytes other_unicast = nd(host_mac, inside_mac, "fe80::5", "fd00:0:0:1::9", net::icmpv6_neighbor_solicitation,
                             "fd00:0:0:1::9", 1, host_mac);
    EXPECT_EQ(push(side::inside, other_unicast, 2), drop_reason::ndp_not_for_us);
    // Resolution of the IPv6 router: NS out, NA in, the held frame leaves.
    bytes v6 = from_inside().ipv6("fd00:0:0:1::5", "2001:db8:9::7").ttl(64).tcp(42000, 443, net::tcp_syn).build();
    const bytes original = v6;
    ASSERT_EQ(push(side::inside, v6, 3), verdict::consumed);
    bytes na = nd(router_mac, outside_mac, "2001:db8::fe", "2001:db8::1", net::icmpv6_neighbor_advertisement,
                  "2001:db8::fe", 2, router_mac, 0xe0000000u);
    EXPECT_EQ(push(side::outside, na, 4), verdict::consumed);
    out = built();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].second, statically(side::inside, original, router_mac));
    EXPECT_EQ(entry(side::outside, "2001:db8::fe")->state, neighbor_state::reachable);
    // An advertisement nobody asked for: dropped, counted.
    bytes stray = nd(router_mac, outside_mac, "2001:db8::77", "2001:db8::1", net::icmpv6_neighbor_advertisement,
                     "2001:db8::77", 2, router_mac, 0x20000000u);
    EXPECT_EQ(push(side::outside, stray, 5), drop_reason::ndp_not_for_us);
}

TEST_F(neighbor_gateway, replies_to_inside_hosts_resolve_the_host_itself) {
    start();
    bytes req = arp(host_mac, bcast, 1, host_mac, "10.0.0.5", net::mac_address{}, "10.0.0.1");
    ASSERT_EQ(push(side::inside, req, 0), verdict::consumed);
    // The inside host was learned from its request; its SYN was forwarded after
    // resolving the router; the SYN-ACK goes to the host's MAC.
    bytes reply = arp(router_mac, outside_mac, 2, router_mac, "192.0.2.254", outside_mac, "192.0.2.1");
    bytes f = syn(40000);
    ASSERT_EQ(push(side::inside, f, 1), verdict::consumed);
    ASSERT_EQ(push(side::outside, reply, 2), verdict::consumed);
    const bytes out_syn = built().at(0).second;
    const uint16_t public_port = test::be16(out_syn, 14 + 20);
    bytes synack = frame_builder()
                       .eth(router_mac, outside_mac)
                       .ipv4("198.51.100.7", "203.0.113.10")
                       .ttl(64)
                       .tcp(443, public_port, net::tcp_syn | net::tcp_ack)
                       .build();
    EXPECT_EQ(push(side::outside, synack, 3), verdict::forward);
    EXPECT_EQ(bytes(synack.begin(), synack.begin() + 12),
              (bytes{0x02, 0, 0, 0, 0x01, 0x05, 0x02, 0, 0, 0, 0x01, 0xfe}));
}

TEST_F(neighbor_gateway, static_neighbors_are_used_without_resolution) {
    settings s = resolving_settings();
    s.outside.neighbors = {{ip("192.0.2.254"), router_mac}};
    make(s);
    start();
    bytes f = syn(40000);
    EXPECT_EQ(push(side::inside, f, 0), verdict::forward);
    EXPECT_EQ(f, statically(side::inside, syn(40000), router_mac));
    EXPECT_TRUE(built().empty());
    EXPECT_EQ(entry(side::outside, "192.0.2.254")->state, neighbor_state::fixed);
    // A reply claiming another MAC does not move a static entry.
    bytes spoof = arp(host_mac, outside_mac, 2, host_mac, "192.0.2.254", outside_mac, "192.0.2.1");
    EXPECT_EQ(push(side::outside, spoof, 1), verdict::consumed);
    EXPECT_EQ(entry(side::outside, "192.0.2.254")->mac, router_mac);
}

TEST_F(neighbor_gateway, a_full_table_refuses_new_next_hops) {
    settings s = resolving_settings();
    s.neighbors.max_entries = 1;
    s.outside.next_hop_v4.reset(); // every destination on-link: one entry each
    make(s);
    start();
    bytes a = syn(40000);
    EXPECT_EQ(push(side::inside, a, 0), verdict::consumed);
    bytes b = from_inside().ipv4("10.0.0.5", "198.51.100.8").ttl(64).tcp(40001, 443, net::tcp_syn).build();
    EXPECT_EQ(push(side::inside, b, 0), drop_reason::neighbor_table_full);
    EXPECT_EQ(drops(drop_reason::neighbor_table_full), 1u);
}

// ---------------------------------------------------------------------------
// Several workers: each has its own cache, the answers reach whichever worker
// receives them, and a copy teaches the others.

class neighbor_workers : public ::testing::Test {
protected:
    void SetUp() override {
        for (uint16_t w = 0; w < 2; ++w) {
            settings s = resolving_settings();
            s.worker = w;
            s.steer = &steer;
            cores[w] = std::make_unique<gateway_core>(s);
            cores[w]->expire(0, 0); // start: announcements (worker 0 only)
        }
    }
    std::vector<std::pair<side, bytes>> built(uint16_t w) const {
        std::vector<std::pair<side, bytes>> out;
        const outbox& box = cores[w]->built_frames();
        for (uint32_t i = 0; i < box.size(); ++i) out.emplace_back(box[i].to, bytes(box[i].bytes.begin(), box[i].bytes.end()));
        return out;
    }
    const neighbor_entry* entry(uint16_t w, side s, std::string_view a) const {
        const neighbor_table& t = cores[w]->neighbors().table(s);
        const uint32_t slot = t.find(ip(a));
        return slot == neighbor_table::npos ? nullptr : &t.at(slot);
    }
    uint64_t drops(uint16_t w) const {
        uint64_t n = 0;
        for (uint64_t d : cores[w]->counters().drops) n += d;
        return n;
    }
    // What a one-worker gateway with the router configured statically sends.
    static bytes statically(bytes frame) {
        settings s = resolving_settings();
        s.outside.next_hop_mac = router_mac;
        gateway_core other(s);
        EXPECT_EQ(other.process(side::inside, frame, 0), verdict::forward);
        return frame;
    }

    static steering_settings two_workers() {
        steering_settings st;
        st.workers = 2;
        return st;
    }
    steering steer{two_workers()};
    std::unique_ptr<gateway_core> cores[2];
};

TEST_F(neighbor_workers, only_worker_0_announces) {
    settings s = resolving_settings();
    s.steer = &steer;
    for (uint16_t w = 0; w < 2; ++w) {
        s.worker = w;
        gateway_core core(s);
        core.expire(0, 64);
        EXPECT_EQ(core.built_frames().size(), w == 0 ? 5u : 0u) << w;
        EXPECT_EQ(core.counters().neighbor_announcements_sent, w == 0 ? 5u : 0u) << w;
    }
}

TEST_F(neighbor_workers, an_arp_reply_received_by_one_worker_resolves_another_workers_next_hop) {
    // Worker 1 owns the flow: it asks for the router and holds the SYN.
    bytes f = syn(40000);
    const bytes original = f;
    ASSERT_EQ(cores[1]->process(side::inside, f, 100), verdict::consumed);
    ASSERT_EQ(built(1).size(), 1u);
    EXPECT_EQ(built(1)[0].second, arp(outside_mac, bcast, 1, outside_mac, "192.0.2.1", net::mac_address{}, "192.0.2.254"));
    // The reply reaches worker 0, which never asked: consumed (no drop), shared.
    bytes reply = arp(router_mac, outside_mac, 2, router_mac, "192.0.2.254", outside_mac, "192.0.2.1");
    const bytes reply_copy = reply;
    {
        const packet_result r = cores[0]->process(side::outside, reply, 150);
        ASSERT_EQ(r, verdict::consumed);
        EXPECT_TRUE(r.share_with_peers);
    }
    EXPECT_TRUE(built(0).empty());
    EXPECT_EQ(entry(0, side::outside, "192.0.2.254"), nullptr); // a reply creates no entry
    // Worker 1 learns from the copy: the router is reachable, the SYN leaves
    // exactly as with a static next hop, nothing is answered or dropped.
    EXPECT_EQ(cores[1]->learn_from_peer(side::outside, reply_copy, 151), verdict::consumed);
    const auto out = built(1);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].first, side::outside);
    EXPECT_EQ(out[0].second, statically(original));
    ASSERT_NE(entry(1, side::outside, "192.0.2.254"), nullptr);
    EXPECT_EQ(entry(1, side::outside, "192.0.2.254")->state, neighbor_state::reachable);
    EXPECT_EQ(entry(1, side::outside, "192.0.2.254")->mac, router_mac);
    EXPECT_EQ(cores[1]->counters().neighbor_resolved, 1u);
    EXPECT_EQ(cores[1]->counters().neighbor_frames_released, 1u);
    EXPECT_EQ(cores[1]->counters().neighbor_replies_sent, 0u);
    EXPECT_EQ(cores[0]->counters().neighbor_resolved, 0u);
    EXPECT_EQ(drops(0), 0u);
    EXPECT_EQ(drops(1), 0u);
    // Learning from a copy counts no received packet.
    EXPECT_EQ(cores[1]->counters().port(side::outside).rx_packets, 0u);
}

TEST_F(neighbor_workers, a_request_copy_creates_the_senders_entry_without_a_second_answer) {
    bytes req = arp(host_mac, bcast, 1, host_mac, "10.0.0.5", net::mac_address{}, "10.0.0.1");
    const bytes copy = req;
    {
        const packet_result r = cores[0]->process(side::inside, req, 5);
        ASSERT_EQ(r, verdict::consumed);
        EXPECT_TRUE(r.share_with_peers);
    }
    ASSERT_EQ(built(0).size(), 1u); // worker 0 answers
    EXPECT_EQ(built(0)[0].second, arp(inside_mac, host_mac, 2, inside_mac, "10.0.0.1", host_mac, "10.0.0.5"));
    EXPECT_EQ(cores[1]->learn_from_peer(side::inside, copy, 6), verdict::consumed);
    EXPECT_TRUE(built(1).empty()); // worker 1 does not
    for (uint16_t w = 0; w < 2; ++w) {
        const neighbor_entry* e = entry(w, side::inside, "10.0.0.5");
        ASSERT_NE(e, nullptr) << w;
        EXPECT_EQ(e->state, neighbor_state::stale);
        EXPECT_EQ(e->mac, host_mac);
        EXPECT_EQ(cores[w]->counters().neighbor_learned, 1u);
    }
    EXPECT_EQ(cores[1]->counters().neighbor_replies_sent, 0u);
    // A copy of an ARP frame for somebody else's address only refreshes what
    // is known (10.0.0.5 moved), creates nothing, and counts no drop.
    const auto moved = mac("02:00:00:00:01:55");
    bytes other = arp(moved, bcast, 1, moved, "10.0.0.5", net::mac_address{}, "10.0.0.9");
    EXPECT_EQ(cores[1]->learn_from_peer(side::inside, other, 7), verdict::consumed);
    EXPECT_EQ(entry(1, side::inside, "10.0.0.5")->mac, moved);
    bytes stranger = arp(moved, bcast, 1, moved, "10.0.0.6", net::mac_address{}, "10.0.0.9");
    EXPECT_EQ(cores[1]->learn_from_peer(side::inside, stranger, 8), verdict::consumed);
    EXPECT_EQ(entry(1, side::inside, "10.0.0.6"), nullptr);
    EXPECT_EQ(drops(1), 0u);
}

TEST_F(neighbor_workers, a_solicited_advertisement_for_another_worker_is_consumed_and_resolves_it) {
    bytes v6 = from_inside().ipv6("fd00:0:0:1::5", "2001:db8:9::7").ttl(64).tcp(42000, 443, net::tcp_syn).build();
    const bytes original = v6;
    ASSERT_EQ(cores[1]->process(side::inside, v6, 3), verdict::consumed);
    bytes na = nd(router_mac, outside_mac, "2001:db8::fe", "2001:db8::1", net::icmpv6_neighbor_advertisement,
                  "2001:db8::fe", 2, router_mac, 0xe0000000u);
    const bytes copy = na;
    {
        const packet_result r = cores[0]->process(side::outside, na, 4); // one worker: ndp_not_for_us
        EXPECT_EQ(r, verdict::consumed);
        EXPECT_TRUE(r.share_with_peers);
    }
    EXPECT_EQ(cores[1]->learn_from_peer(side::outside, copy, 5), verdict::consumed);
    const auto out = built(1);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].second, statically(original));
    EXPECT_EQ(entry(1, side::outside, "2001:db8::fe")->state, neighbor_state::reachable);
    // An unsolicited advertisement nobody knows is still not for us (shared all the same).
    bytes stray = nd(router_mac, outside_mac, "2001:db8::77", "2001:db8::1", net::icmpv6_neighbor_advertisement,
                     "2001:db8::77", 2, router_mac, 0x20000000u);
    {
        const packet_result r = cores[0]->process(side::outside, stray, 6);
        EXPECT_EQ(r, drop_reason::ndp_not_for_us);
        EXPECT_TRUE(r.share_with_peers);
    }
    // A solicitation for our address: answered by the receiving worker only,
    // its sender learned by both.
    bytes ns = nd(host_mac, mac("33:33:ff:00:00:01"), "fe80::5", "ff02::1:ff00:1", net::icmpv6_neighbor_solicitation,
                  "fd00:0:0:1::1", 1, host_mac);
    const bytes ns_copy = ns;
    {
        const packet_result r = cores[0]->process(side::inside, ns, 7);
        EXPECT_EQ(r, verdict::consumed);
        EXPECT_TRUE(r.share_with_peers);
    }
    EXPECT_EQ(built(0).size(), 1u);
    EXPECT_EQ(cores[1]->learn_from_peer(side::inside, ns_copy, 8), verdict::consumed);
    EXPECT_TRUE(built(1).empty());
    EXPECT_EQ(entry(1, side::inside, "fe80::5")->mac, host_mac);
    EXPECT_EQ(cores[1]->counters().neighbor_replies_sent, 0u);
    EXPECT_EQ(drops(1), 0u);
}

TEST_F(neighbor_workers, only_neighbour_messages_that_map_an_address_are_shared) {
    // Forwarded traffic, a malformed ARP, an ARP probe, a solicitation without
    // a link-layer address option: nothing to learn, nothing shared.
    bytes reply = arp(router_mac, outside_mac, 2, router_mac, "192.0.2.254", outside_mac, "192.0.2.1");
    ASSERT_EQ(cores[0]->process(side::outside, reply, 1), verdict::consumed);
    bytes f = syn(40000);
    {
        const packet_result r = cores[0]->process(side::inside, f, 2); // held, request sent
        EXPECT_EQ(r, verdict::consumed);
        EXPECT_FALSE(r.share_with_peers);
    }
    bytes bad = arp(host_mac, bcast, 1, host_mac, "10.0.0.5", net::mac_address{}, "10.0.0.1");
    bad[14 + 1] = 6;
    {
        const packet_result r = cores[0]->process(side::inside, bad, 3);
        EXPECT_EQ(r, drop_reason::arp_unsupported);
        EXPECT_FALSE(r.share_with_peers);
    }
    bytes probe = arp(host_mac, bcast, 1, host_mac, "0.0.0.0", net::mac_address{}, "10.0.0.1");
    {
        const packet_result r = cores[0]->process(side::inside, probe, 4);
        EXPECT_EQ(r, verdict::consumed);
        EXPECT_FALSE(r.share_with_peers);
    }
    bytes bare = nd(host_mac, inside_mac, "fe80::5", "fd00:0:0:1::1", net::icmpv6_neighbor_solicitation,
                    "fd00:0:0:1::1", 0, host_mac);
    {
        const packet_result r = cores[0]->process(side::inside, bare, 5);
        EXPECT_EQ(r, verdict::consumed);
        EXPECT_FALSE(r.share_with_peers);
    }
    // One worker: nothing to share with.
    gateway_core alone(resolving_settings());
    bytes req = arp(host_mac, bcast, 1, host_mac, "10.0.0.5", net::mac_address{}, "10.0.0.1");
    {
        const packet_result r = alone.process(side::inside, req, 0);
        EXPECT_EQ(r, verdict::consumed);
        EXPECT_FALSE(r.share_with_peers);
    }
    // What is not a neighbour message teaches a peer nothing and counts nothing.
    bytes data = syn(40001);
    EXPECT_EQ(cores[1]->learn_from_peer(side::inside, data, 6), drop_reason::ethertype_unsupported);
    EXPECT_EQ(cores[1]->learn_from_peer(side::inside, bytes(10, 0), 6), drop_reason::l2_truncated);
    EXPECT_EQ(drops(1), 0u);
}

// ---------------------------------------------------------------------------
// VLAN

TEST_F(neighbor_gateway, vlan_tags_are_checked_popped_and_pushed) {
    settings s = make_settings(); // static next hops: the VLAN logic alone
    s.inside.vlan = 100;
    make(s);
    core->set_frame_headroom(8);
    // Inside (VLAN 100) -> outside (untagged): the tag is popped.
    bytes in = from_inside().vlan(100).ipv4("10.0.0.5", "198.51.100.7").ttl(64).tcp(40000, 443, net::tcp_syn).build();
    const packet_result popped_result = push(side::inside, in, 0);
    ASSERT_EQ(popped_result, verdict::forward);
    ASSERT_EQ(popped_result.front_adjust, -4);
    const bytes popped(in.begin() + 4, in.end());
    const bytes untagged_expected = statically(side::inside, from_inside().ipv4("10.0.0.5", "198.51.100.7").ttl(64).tcp(40000, 443, net::tcp_syn).build(), outside_hop);
    // (the same translation as a gateway without VLANs gives an untagged SYN)
    EXPECT_EQ(popped, untagged_expected);
    const uint16_t public_port = test::be16(popped, 14 + 20);
    // Outside (untagged) -> inside (VLAN 100): a tag is pushed into the headroom.
    bytes reply = from_outside().ipv4("198.51.100.7", "203.0.113.10").ttl(64).tcp(443, public_port, net::tcp_syn | net::tcp_ack).build();
    bytes buffer(8, 0);
    buffer.insert(buffer.end(), reply.begin(), reply.end());
    std::span<uint8_t> frame(buffer.data() + 8, reply.size());
    packet_result v;
    core->process_burst(side::outside, &frame, 1, 1, &v);
    ASSERT_EQ(v, verdict::forward);
    ASSERT_EQ(v.front_adjust, 4);
    const bytes pushed(buffer.begin() + 4, buffer.end());
    const bytes expected = frame_builder()
                               .eth(inside_mac, inside_hop) // from the inside port to the inside next hop
                               .vlan(100)
                               .ipv4("198.51.100.7", "10.0.0.5")
                               .ttl(63)
                               .tcp(443, 40000, net::tcp_syn | net::tcp_ack)
                               .build();
    EXPECT_EQ(bytes(pushed.begin(), pushed.begin() + 18),
              (bytes{0x02, 0, 0, 0, 0x01, 0x01, 0x02, 0, 0, 0, 0x01, 0xfe, 0x81, 0x00, 0x00, 100, 0x08, 0x00}));
    EXPECT_EQ(pushed, expected);
    // Wrong or missing tags are dropped on either side.
    bytes untagged = from_inside().ipv4("10.0.0.5", "198.51.100.7").ttl(64).udp(1, 2).build();
    EXPECT_EQ(push(side::inside, untagged, 2), drop_reason::vlan_mismatch);
    bytes other_vid = from_inside().vlan(200).ipv4("10.0.0.5", "198.51.100.7").ttl(64).udp(1, 2).build();
    EXPECT_EQ(push(side::inside, other_vid, 2), drop_reason::vlan_mismatch);
    bytes tagged_outside = from_outside().vlan(100).ipv4("198.51.100.7", "203.0.113.10").ttl(64).udp(1, 2).build();
    EXPECT_EQ(push(side::outside, tagged_outside, 2), drop_reason::vlan_mismatch);
    EXPECT_EQ(drops(drop_reason::vlan_mismatch), 3u);
    // A priority tag (VID 0) on the untagged side is accepted (and popped).
    bytes priority = from_outside().vlan(0x6000).ipv4("198.51.100.7", "203.0.113.10").ttl(64).udp(1, 2).build();
    EXPECT_EQ(push(side::outside, priority, 2), drop_reason::inbound_unsolicited);
    // Without headroom a tag cannot be pushed.
    core->set_frame_headroom(0);
    bytes again = from_outside().ipv4("198.51.100.7", "203.0.113.10").ttl(64)
                      .tcp(443, public_port, net::tcp_syn | net::tcp_ack).build(); // a retransmitted SYN-ACK
    EXPECT_EQ(push(side::outside, again, 3), drop_reason::vlan_no_headroom);
}

TEST_F(neighbor_gateway, arp_and_resolution_on_a_vlan_side_are_tagged) {
    settings s = resolving_settings();
    s.outside.vlan = 7;
    make(s);
    core->expire(0, 64);
    const auto a = built();
    ASSERT_EQ(a.size(), 5u);
    EXPECT_EQ(a[2].second,
              arp(outside_mac, bcast, 1, outside_mac, "192.0.2.1", net::mac_address{}, "192.0.2.1", 7));
    const bytes original = syn(40000);
    core->set_frame_headroom(8);
    bytes buffer(8, 0); // the headroom promised: the tag is pushed in front of the frame
    buffer.insert(buffer.end(), original.begin(), original.end());
    ASSERT_EQ(core->process(side::inside, std::span<uint8_t>(buffer.data() + 8, original.size()), 1), verdict::consumed);
    EXPECT_EQ(built().at(0).second,
              arp(outside_mac, bcast, 1, outside_mac, "192.0.2.1", net::mac_address{}, "192.0.2.254", 7));
    bytes untagged_reply = arp(router_mac, outside_mac, 2, router_mac, "192.0.2.254", outside_mac, "192.0.2.1");
    EXPECT_EQ(push(side::outside, untagged_reply, 2), drop_reason::vlan_mismatch);
    bytes reply = arp(router_mac, outside_mac, 2, router_mac, "192.0.2.254", outside_mac, "192.0.2.1", 7);
    EXPECT_EQ(push(side::outside, reply, 2), verdict::consumed);
    const auto out = built();
    ASSERT_EQ(out.size(), 1u);
    // The held SYN leaves tagged: the untagged static translation with a tag inserted.
    const bytes plain = statically(side::inside, original, router_mac);
    bytes tagged(plain.begin(), plain.begin() + 12);
    const bytes tag = {0x81, 0x00, 0x00, 0x07};
    tagged.insert(tagged.end(), tag.begin(), tag.end());
    tagged.insert(tagged.end(), plain.begin() + 12, plain.end());
    EXPECT_EQ(out[0].second, tagged);
}

// ---------------------------------------------------------------------------
// Echo to the gateway's own addresses

TEST_F(neighbor_gateway, echo_requests_to_own_addresses_are_answered_within_the_rate) {
    settings s = resolving_settings();
    s.echo_replies_per_s = 2;
    make(s);
    start();
    const auto ping = [](uint16_t seq) {
        return frame_builder().eth(host_mac, inside_mac).ipv4("10.0.0.5", "10.0.0.1").ttl(64).ip_id(77)
            .echo_request(9, seq).payload("health").build();
    };
    bytes p1 = ping(1);
    EXPECT_EQ(push(side::inside, p1, 1000), verdict::consumed);
    auto out = built();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].first, side::inside);
    EXPECT_EQ(out[0].second, frame_builder().eth(inside_mac, host_mac).ipv4("10.0.0.1", "10.0.0.5").ttl(64).ip_id(77)
                                 .echo_reply(9, 1).payload("health").build());
    bytes p2 = ping(2);
    EXPECT_EQ(push(side::inside, p2, 1500), verdict::consumed);
    bytes p3 = ping(3);
    EXPECT_EQ(push(side::inside, p3, 1999), drop_reason::echo_rate_limited);
    bytes p4 = ping(4);
    EXPECT_EQ(push(side::inside, p4, 2000), verdict::consumed); // a new second
    EXPECT_EQ(core->counters().echo_replies_sent, 3u);
    EXPECT_EQ(drops(drop_reason::echo_rate_limited), 1u);
    // IPv6, and anything that is not an echo request stays unsupported.
    bytes p6 = frame_builder().eth(router_mac, outside_mac).ipv6("2001:db8::fe", "2001:db8::1").ttl(64)
                   .echo_request(5, 1).payload("v6").build();
    EXPECT_EQ(push(side::outside, p6, 2001), verdict::consumed);
    EXPECT_EQ(built().at(0).second, frame_builder().eth(outside_mac, router_mac).ipv6("2001:db8::1", "2001:db8::fe")
                                        .ttl(64).echo_reply(5, 1).payload("v6").build());
    bytes udp = frame_builder().eth(host_mac, inside_mac).ipv4("10.0.0.5", "10.0.0.1").ttl(64).udp(5, 53).build();
    EXPECT_EQ(push(side::inside, udp, 2002), drop_reason::local_delivery_unsupported);
}

} // namespace
} // namespace egress::gateway
