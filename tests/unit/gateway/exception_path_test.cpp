// The exception path (lib/gateway/exception_path.hpp, local_stage): which
// frames to the gateway's own addresses go to the kernel interface, as rows
// through gateway_core; the token buckets' exact counts; the copies of
// neighbour answers; the check of what the kernel sends back.
#include <gtest/gtest.h>

#include <string_view>
#include <vector>

#include "gateway/exception_path.hpp"
#include "gateway/gateway_core.hpp"
#include "gateway/steering_stage.hpp"
#include "gateway_fixture.hpp"
#include "net/arp.hpp"
#include "net/packet_parser.hpp"

namespace egress::gateway {
namespace {

using stats::drop_reason;
using stats::side;
using test::bytes;

using namespace testing_network;

const auto router_mac = test::mac("02:00:00:00:02:54");

// The outside side has an exception interface with tcp/22 and udp/161 listed;
// the inside has none.
settings exception_settings_for_test(uint32_t rate = 100, uint32_t burst = 5) {
    settings s = make_settings();
    s.outside.exception.enabled = true;
    s.outside.exception.ports = {{net::proto_tcp, 22}, {net::proto_udp, 161}};
    s.outside.exception.rate = rate;
    s.outside.exception.burst = burst;
    return s;
}

bytes tcp_to(std::string_view dst, uint16_t sport, uint16_t dport) {
    return from_outside().ipv4("192.0.2.254", dst).tcp(sport, dport).build();
}
bytes udp_to(std::string_view dst, uint16_t sport, uint16_t dport) {
    return from_outside().ipv4("192.0.2.254", dst).udp(sport, dport).payload("bfd").build();
}

bytes arp(const net::mac_address& eth_src, const net::mac_address& eth_dst, uint16_t op,
          const net::mac_address& sha, std::string_view spa, const net::mac_address& tha, std::string_view tpa) {
    bytes body = {0, 1, 8, 0, 6, 4, 0, static_cast<uint8_t>(op)};
    body.insert(body.end(), sha.bytes.begin(), sha.bytes.end());
    const auto s = test::ip(spa);
    body.insert(body.end(), s.bytes.begin() + 12, s.bytes.end());
    body.insert(body.end(), tha.bytes.begin(), tha.bytes.end());
    const auto t = test::ip(tpa);
    body.insert(body.end(), t.bytes.begin() + 12, t.bytes.end());
    test::frame_builder b;
    b.eth(eth_src, eth_dst);
    return b.ethertype(net::ethertype_arp).payload(body).pad_to(60).build();
}

struct row {
    const char* description;
    side from;
    bytes frame;
    outcome expected;
};

TEST(exception_path, what_goes_to_the_kernel) {
    const std::vector<row> rows = {
        {"BGP to the outside address (the router connects)", side::outside, tcp_to("192.0.2.1", 40000, 179),
         verdict::to_kernel},
        {"BGP answer to the outside address (the gateway connected)", side::outside, tcp_to("192.0.2.1", 179, 40000),
         verdict::to_kernel},
        {"BFD single hop", side::outside, udp_to("192.0.2.1", 49152, 3784), verdict::to_kernel},
        {"BFD echo", side::outside, udp_to("192.0.2.1", 49152, 3785), verdict::to_kernel},
        {"BFD multihop", side::outside, udp_to("192.0.2.1", 49152, 4784), verdict::to_kernel},
        {"a listed TCP port", side::outside, tcp_to("192.0.2.1", 50000, 22), verdict::to_kernel},
        {"a listed UDP port", side::outside, udp_to("192.0.2.1", 50000, 161), verdict::to_kernel},
        {"BGP over IPv6 to the outside address", side::outside,
         from_outside().ipv6("2001:db8::fe", "2001:db8::1").tcp(40000, 179).build(), verdict::to_kernel},
        {"a port not listed: dropped as before", side::outside, tcp_to("192.0.2.1", 40000, 23),
         drop_reason::local_delivery_unsupported},
        {"a listed TCP port as source only: not for the kernel", side::outside, tcp_to("192.0.2.1", 22, 40000),
         drop_reason::local_delivery_unsupported},
        {"the listed TCP port over UDP: not listed", side::outside, udp_to("192.0.2.1", 40000, 22),
         drop_reason::local_delivery_unsupported},
        {"BFD's port over TCP: not BFD", side::outside, tcp_to("192.0.2.1", 40000, 3784),
         drop_reason::local_delivery_unsupported},
        {"BGP to the inside address arriving outside: not that side's own", side::outside,
         tcp_to("10.0.0.1", 40000, 179), drop_reason::local_delivery_unsupported},
        {"BGP to the inside address on the inside, which has no exception interface", side::inside,
         from_inside().ipv4("10.0.0.5", "10.0.0.1").tcp(40000, 179).build(), drop_reason::local_delivery_unsupported},
        {"an echo request is still answered by egressd", side::outside,
         from_outside().ipv4("192.0.2.254", "192.0.2.1").echo_request(7).build(), verdict::consumed},
        {"BGP through the gateway (not to it) is transit", side::outside, tcp_to("203.0.113.10", 40000, 179),
         drop_reason::inbound_unsolicited},
    };
    for (const row& r : rows) {
        gateway_core core(exception_settings_for_test());
        bytes frame = r.frame;
        const bytes before = frame;
        const packet_result got = core.process(r.from, frame, 1000);
        EXPECT_EQ(outcome(got), r.expected) << r.description;
        EXPECT_FALSE(got.copy_to_kernel) << r.description;
        if (got == verdict::to_kernel) {
            EXPECT_EQ(frame, before) << r.description << ": the kernel gets it unchanged";
        }
        if (got.dropped()) {
            EXPECT_EQ(core.counters().drops[static_cast<std::size_t>(got.reason)], 1u) << r.description;
        }
    }
}

TEST(exception_path, without_an_exception_interface_nothing_changes) {
    gateway_core core(make_settings());
    bytes bgp = tcp_to("192.0.2.1", 40000, 179);
    EXPECT_EQ(outcome(core.process(side::outside, bgp, 0)), outcome(drop_reason::local_delivery_unsupported));
    bytes bfd = udp_to("192.0.2.1", 49152, 3784);
    EXPECT_EQ(outcome(core.process(side::outside, bfd, 0)), outcome(drop_reason::local_delivery_unsupported));
}

// Several workers: the steering stage of any other worker hands a frame for
// the kernel to worker 0 (the only one with the exception interfaces), whose
// gateway_core sends it to the kernel unchanged; a ring without room drops it
// as exception_handoff_full.
TEST(exception_path, another_worker_hands_the_kernels_frames_to_worker0) {
    steering_settings two;
    two.workers = 2;
    const steering st(two);
    const settings s0 = exception_settings_for_test(100, 5);
    steering_stage_settings ss;
    ss.self = 1;
    ss.inside = s0.inside;
    ss.outside = s0.outside;
    stats::worker_counters counters;
    steering_stage worker1(st, ss, counters);
    gateway_core worker0(s0);
    for (bytes frame : {tcp_to("192.0.2.1", 40000, 179), tcp_to("192.0.2.1", 179, 40000),
                        udp_to("192.0.2.1", 49152, 3784), tcp_to("192.0.2.1", 50000, 22)}) {
        net::packet_view view;
        const packet_result r = worker1.run(side::outside, view, net::parse_frame(frame, view), nullptr, 0);
        EXPECT_EQ(r.kind, verdict::hand_off);
        EXPECT_EQ(r.owner, 0);
        EXPECT_EQ(r.reason, drop_reason::exception_handoff_full);
        const bytes before = frame;
        EXPECT_EQ(outcome(worker0.process(side::outside, frame, 1000)), outcome(verdict::to_kernel));
        EXPECT_EQ(frame, before);
    }
    EXPECT_EQ(counters.exception_handed_to_worker0, 4u);
}

// Burst 5, 100 per second: 5 pass at once, then one per 10 ms; BFD has a
// bucket of its own, so a BGP flood leaves it whole.
TEST(exception_path, rate_limit_exact_counts) {
    gateway_core core(exception_settings_for_test(100, 5));
    const auto bgp = [&](uint16_t sport, uint32_t now) {
        bytes f = tcp_to("192.0.2.1", sport, 179);
        return outcome(core.process(side::outside, f, now));
    };
    std::vector<outcome> got;
    for (uint16_t i = 0; i < 20; ++i) got.push_back(bgp(static_cast<uint16_t>(30000 + i), 1000));
    std::vector<outcome> want(5, verdict::to_kernel);
    want.resize(20, drop_reason::exception_rate_limited);
    EXPECT_EQ(got, want);
    // BFD while BGP's bucket is empty: its own 5.
    for (uint16_t i = 0; i < 5; ++i) {
        bytes f = udp_to("192.0.2.1", 49152, 3784);
        EXPECT_EQ(outcome(core.process(side::outside, f, 1000)), outcome(verdict::to_kernel)) << i;
    }
    bytes sixth = udp_to("192.0.2.1", 49152, 3784);
    EXPECT_EQ(outcome(core.process(side::outside, sixth, 1000)), outcome(drop_reason::exception_rate_limited));
    // 9 ms later: still nothing; 10 ms: one; 35 ms: two more and a half kept.
    EXPECT_EQ(bgp(31000, 1009), outcome(drop_reason::exception_rate_limited));
    EXPECT_EQ(bgp(31001, 1010), outcome(verdict::to_kernel));
    EXPECT_EQ(bgp(31002, 1010), outcome(drop_reason::exception_rate_limited));
    EXPECT_EQ(bgp(31003, 1035), outcome(verdict::to_kernel));
    EXPECT_EQ(bgp(31004, 1035), outcome(verdict::to_kernel));
    EXPECT_EQ(bgp(31005, 1035), outcome(drop_reason::exception_rate_limited));
    EXPECT_EQ(bgp(31006, 1040), outcome(verdict::to_kernel)); // the half from before, and a half
    // A long pause refills to the burst, not beyond.
    got.clear();
    for (uint16_t i = 0; i < 7; ++i) got.push_back(bgp(static_cast<uint16_t>(32000 + i), 60'000));
    want.assign(5, verdict::to_kernel);
    want.resize(7, drop_reason::exception_rate_limited);
    EXPECT_EQ(got, want);
    EXPECT_EQ(core.counters().drops[static_cast<std::size_t>(drop_reason::exception_rate_limited)], 1u + 15 + 1 + 1 + 1 + 2);
}

// ARP replies and neighbour advertisements to the gateway on the exception
// side: handled by egressd as before, and a copy for the kernel.
TEST(exception_path, neighbor_answers_are_copied_to_the_kernel) {
    gateway_core core(exception_settings_for_test(100, 2));
    bytes reply = arp(router_mac, outside_mac, net::arp_reply, router_mac, "192.0.2.254", outside_mac, "192.0.2.1");
    const packet_result r = core.process(side::outside, reply, 0);
    EXPECT_TRUE(r.copy_to_kernel);
    bytes request = arp(router_mac, net::broadcast_mac, net::arp_request, router_mac, "192.0.2.254",
                        net::mac_address{}, "192.0.2.1");
    const packet_result q = core.process(side::outside, request, 0);
    EXPECT_FALSE(q.copy_to_kernel); // egressd answers requests; the kernel needs only the answers
    EXPECT_EQ(q.kind, verdict::consumed);
    // The inside has no exception interface: no copy.
    bytes inside_reply = arp(inside_hop, inside_mac, net::arp_reply, inside_hop, "10.0.0.5", inside_mac, "10.0.0.1");
    EXPECT_FALSE(core.process(side::inside, inside_reply, 0).copy_to_kernel);
    // The same budget as BGP (burst 2): the third copy is not made, and counted.
    bytes again = reply;
    EXPECT_TRUE(core.process(side::outside, again, 0).copy_to_kernel);
    bytes third = reply;
    EXPECT_FALSE(core.process(side::outside, third, 0).copy_to_kernel);
    EXPECT_EQ(core.counters().drops[static_cast<std::size_t>(drop_reason::exception_rate_limited)], 1u);
    // A copy another worker shared (learn_from_peer) is copied too.
    EXPECT_TRUE(core.learn_from_peer(side::outside, reply, 1000).copy_to_kernel);
}

// What the kernel sends from the tap: only from the side's MAC and one of its
// addresses.
TEST(exception_path, from_kernel_source_check) {
    const settings s = exception_settings_for_test();
    const auto check = [&](const bytes& f) { return from_kernel_check(s.outside, f); };
    const auto out = [](const net::mac_address& src) {
        return std::move(test::frame_builder().eth(src, router_mac));
    };
    EXPECT_EQ(check(out(outside_mac).ipv4("192.0.2.1", "192.0.2.254").tcp(179, 40000).build()), stats::no_drop);
    EXPECT_EQ(check(out(outside_mac).ipv6("2001:db8::1", "2001:db8::fe").tcp(179, 40000).build()), stats::no_drop);
    EXPECT_EQ(check(arp(outside_mac, net::broadcast_mac, net::arp_request, outside_mac, "192.0.2.1",
                        net::mac_address{}, "192.0.2.254")),
              stats::no_drop);
    const drop_reason refused = drop_reason::exception_source_refused;
    // Another source MAC; another source address (the inside's, the pool's, a stranger's).
    EXPECT_EQ(check(out(router_mac).ipv4("192.0.2.1", "192.0.2.254").tcp(179, 40000).build()), refused);
    EXPECT_EQ(check(out(outside_mac).ipv4("10.0.0.1", "192.0.2.254").tcp(179, 40000).build()), refused);
    EXPECT_EQ(check(out(outside_mac).ipv4("203.0.113.10", "192.0.2.254").tcp(179, 40000).build()), refused);
    EXPECT_EQ(check(out(outside_mac).ipv4("192.0.2.99", "192.0.2.254").udp(1, 2).build()), refused);
    // IPv6 from the interface's link-local address (not one of the side's).
    EXPECT_EQ(check(out(outside_mac).ipv6("fe80::1", "ff02::2").udp(1, 2).build()), refused);
    // ARP whose sender MAC or address is not the gateway's.
    EXPECT_EQ(check(arp(outside_mac, net::broadcast_mac, net::arp_request, router_mac, "192.0.2.1",
                        net::mac_address{}, "192.0.2.254")),
              refused);
    EXPECT_EQ(check(arp(outside_mac, net::broadcast_mac, net::arp_request, outside_mac, "192.0.2.7",
                        net::mac_address{}, "192.0.2.254")),
              refused);
    // Tagged, another ethertype, truncated.
    EXPECT_EQ(check(out(outside_mac).vlan(5).ipv4("192.0.2.1", "192.0.2.254").udp(1, 2).build()), refused);
    EXPECT_EQ(check(out(outside_mac).ethertype(0x88cc).payload("lldp").build()), refused);
    bytes truncated = out(outside_mac).ipv4("192.0.2.1", "192.0.2.254").udp(1, 2).build();
    truncated.resize(20);
    EXPECT_EQ(check(truncated), refused);
}

} // namespace
} // namespace egress::gateway
