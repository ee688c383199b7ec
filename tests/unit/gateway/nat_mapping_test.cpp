// Endpoint-independent mapping through gateway_core (issue 20, RFC 4787 REQ-1):
// a STUN-style exchange, with filtering still address-and-port-dependent.
#include <gtest/gtest.h>

#include "gateway/gateway_core.hpp"
#include "gateway_fixture.hpp"
#include "net/packet_parser.hpp"

namespace egress::gateway {
namespace {

using namespace testing_network;
using stats::drop_reason;
using stats::side;
using test::bytes;

struct forwarded {
    outcome result;
    bytes frame; // as it left (the view reads from it)
    net::packet_view view;
};

struct nat_mapping : ::testing::Test {
    void make(nat::mapping_mode mode) {
        settings s = make_settings();
        s.pool.mapping = mode;
        core = std::make_unique<gateway_core>(s);
    }
    forwarded pass(side from, bytes frame, uint32_t now = 0) {
        forwarded f{core->process(from, frame, now), std::move(frame), {}};
        if (f.result == verdict::forward) {
            EXPECT_EQ(net::parse_frame(f.frame, f.view), stats::no_drop);
        }
        return f;
    }
    forwarded udp_out(std::string_view host, uint16_t sport, std::string_view peer, uint16_t dport, uint32_t now = 0) {
        return pass(side::inside, from_inside().ipv4(host, peer).udp(sport, dport).build(), now);
    }
    forwarded udp_in(std::string_view peer, uint16_t sport, uint16_t public_port, uint32_t now = 0) {
        return pass(side::outside, from_outside().ipv4(peer, "203.0.113.10").udp(sport, public_port).build(), now);
    }
    uint64_t drops(drop_reason r) const { return core->counters().drops[static_cast<std::size_t>(r)]; }

    // 10.0.0.6:5000 first takes public port 5000 towards peer B, so 10.0.0.5:5000
    // cannot keep its own port: the test sees which port it gets per peer.
    // Returns 10.0.0.5:5000's public ports towards peer A and peer B (STUN servers).
    std::pair<uint16_t, uint16_t> stun_from_two_peers() {
        const forwarded other = udp_out("10.0.0.6", 5000, "198.51.100.8", 3478);
        EXPECT_EQ(other.result, verdict::forward);
        EXPECT_EQ(other.view.src_port, 5000);
        const forwarded a = udp_out("10.0.0.5", 5000, "198.51.100.7", 3478);
        const forwarded b = udp_out("10.0.0.5", 5000, "198.51.100.8", 3478);
        EXPECT_EQ(a.result, verdict::forward);
        EXPECT_EQ(b.result, verdict::forward);
        EXPECT_EQ(a.view.src, test::ip("203.0.113.10"));
        EXPECT_EQ(b.view.src, test::ip("203.0.113.10"));
        return {a.view.src_port, b.view.src_port};
    }

    std::unique_ptr<gateway_core> core;
};

TEST_F(nat_mapping, endpoint_dependent_gives_the_endpoint_another_port_per_peer) {
    make(nat::mapping_mode::endpoint_dependent);
    const auto [to_a, to_b] = stun_from_two_peers();
    EXPECT_EQ(to_a, 5000); // free towards peer A
    EXPECT_NE(to_b, 5000); // 10.0.0.6 holds it towards peer B
}

TEST_F(nat_mapping, endpoint_independent_gives_one_public_endpoint_for_every_peer_and_still_filters) {
    make(nat::mapping_mode::endpoint_independent);
    const auto [to_a, to_b] = stun_from_two_peers();
    EXPECT_NE(to_a, 5000);     // held by 10.0.0.6:5000
    EXPECT_EQ(to_b, to_a);     // the same public endpoint towards both peers
    EXPECT_EQ(to_a % 2, 0);    // RFC 4787 REQ-3: the inside port's parity kept
    // Both peers' answers reach the one inside socket.
    for (const char* peer : {"198.51.100.7", "198.51.100.8"}) {
        const forwarded r = udp_in(peer, 3478, to_a);
        ASSERT_EQ(r.result, verdict::forward) << peer;
        EXPECT_EQ(r.view.dst, test::ip("10.0.0.5"));
        EXPECT_EQ(r.view.dst_port, 5000);
    }
    // A third peer that learnt the endpoint is still filtered (REQ-8:
    // address-and-port-dependent), as is a known peer from another port.
    EXPECT_EQ(udp_in("198.51.100.9", 3478, to_a).result, drop_reason::inbound_unsolicited);
    EXPECT_EQ(udp_in("198.51.100.7", 3479, to_a).result, drop_reason::inbound_unsolicited);
    EXPECT_EQ(drops(drop_reason::inbound_unsolicited), 2u);
    EXPECT_EQ(core->pool_usage().at(0).mappings_active, 3u);
}

TEST_F(nat_mapping, a_held_port_is_not_given_to_another_endpoint_until_its_flows_are_retired) {
    make(nat::mapping_mode::endpoint_independent);
    const uint16_t held = stun_from_two_peers().first;
    // Towards peer C the port is free in the flow table, but 10.0.0.5:5000 holds it.
    const forwarded c = udp_out("10.0.0.7", held, "198.51.100.9", 53, 1000);
    ASSERT_EQ(c.result, verdict::forward);
    EXPECT_NE(c.view.src_port, held);
    // The first three flows go idle (udp: 120 s); the last one is still live.
    core->expire(120'500, 1024);
    EXPECT_EQ(core->pool_usage().at(0).mappings_active, 1u);
    const forwarded d = udp_out("10.0.0.8", held, "198.51.100.9", 53, 120'500);
    ASSERT_EQ(d.result, verdict::forward);
    EXPECT_EQ(d.view.src_port, held); // released: the new endpoint keeps its own port
}

TEST_F(nat_mapping, endpoint_independent_tcp_and_icmp_echo) {
    make(nat::mapping_mode::endpoint_independent);
    const forwarded first = pass(side::inside, from_inside().ipv4("10.0.0.5", "198.51.100.7").tcp(40000, 443, net::tcp_syn).build());
    const forwarded second = pass(side::inside, from_inside().ipv4("10.0.0.5", "198.51.100.8").tcp(40000, 443, net::tcp_syn).build());
    ASSERT_EQ(first.result, verdict::forward);
    ASSERT_EQ(second.result, verdict::forward);
    EXPECT_EQ(first.view.src_port, 40000);
    EXPECT_EQ(second.view.src_port, 40000);
    // An echo identifier is held like a port: the first host keeps its own for
    // every peer, another host with the same identifier gets another one.
    const forwarded echo = pass(side::inside, from_inside().ipv4("10.0.0.6", "198.51.100.7").echo_request(4242).build());
    const forwarded echo2 = pass(side::inside, from_inside().ipv4("10.0.0.7", "198.51.100.8").echo_request(4242).build());
    ASSERT_EQ(echo.result, verdict::forward);
    ASSERT_EQ(echo2.result, verdict::forward);
    EXPECT_EQ(echo.view.src_port, 4242);
    EXPECT_NE(echo2.view.src_port, 4242); // 10.0.0.6's echo endpoint holds 4242 for every peer
}

} // namespace
} // namespace egress::gateway
