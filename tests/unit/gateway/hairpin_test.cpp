// Hairpinning through gateway_core (issue 20; RFC 4787 REQ-9, RFC 5382 REQ-8):
// a packet from inside to a pool address:port that an inside flow owns goes
// back out of the inside port to that host, from the sender's public
// address:port, and is filtered like a packet from outside.
#include <gtest/gtest.h>

#include "gateway/gateway_core.hpp"
#include "gateway_fixture.hpp"
#include "net/packet_parser.hpp"
#include "net/checksum.hpp"

namespace egress::gateway {
namespace {

using namespace testing_network;
using stats::drop_reason;
using stats::side;
using test::bytes;

// 10.0.0.5 ("A") and 10.0.0.6 ("B") keep their own ports: A is 203.0.113.10:5000
// from outside, B 203.0.113.10:6000.
struct hairpin : ::testing::Test {
    struct result {
        outcome verdict;
        bytes frame;         // the received frame as rewritten in place
        std::vector<bytes> built; // the outbox: hairpinned frames leave from it
        std::vector<side> to;
    };
    void make(bool on) {
        settings s = make_settings();
        s.pool.hairpin = on;
        core = std::make_unique<gateway_core>(s);
    }
    void SetUp() override { make(true); }
    result pass(bytes frame, uint32_t now = 0) {
        result r{core->process(side::inside, frame, now), frame, {}, {}};
        const outbox& box = core->built_frames();
        for (uint32_t i = 0; i < box.size(); ++i) {
            r.built.emplace_back(box[i].bytes.begin(), box[i].bytes.end());
            r.to.push_back(box[i].to);
        }
        return r;
    }
    result udp(std::string_view host, uint16_t sport, uint16_t public_dport) {
        return pass(from_inside().ipv4(host, "203.0.113.10").udp(sport, public_dport).payload("hello").build());
    }
    result tcp(std::string_view host, uint16_t sport, uint16_t public_dport, uint8_t flags, uint32_t seq, uint32_t ack) {
        return pass(from_inside().ipv4(host, "203.0.113.10").tcp(sport, public_dport, flags).tcp_seq(seq, ack).build());
    }
    // The one frame a hairpinned packet became, decoded and checked.
    static net::packet_view delivered(result& r) {
        net::packet_view v;
        EXPECT_EQ(r.to, (std::vector<side>{side::inside}));
        if (r.built.size() != 1) return v;
        EXPECT_EQ(net::parse_frame(r.built[0], v), stats::no_drop);
        bytes recomputed = r.built[0];
        net::recompute_checksums(recomputed, v);
        EXPECT_EQ(recomputed, r.built[0]) << "incremental checksums differ from a full recomputation";
        EXPECT_EQ(std::vector<uint8_t>(r.built[0].begin(), r.built[0].begin() + 6),
                  std::vector<uint8_t>(inside_hop.bytes.begin(), inside_hop.bytes.end()));
        return v;
    }
    uint64_t drops(drop_reason r) const { return core->counters().drops[static_cast<std::size_t>(r)]; }

    std::unique_ptr<gateway_core> core;
};

TEST_F(hairpin, udp_goes_back_inside_from_the_senders_public_endpoint_both_ways) {
    // B's first datagram: A has no mapping towards B's public endpoint yet, so
    // it is filtered like an unsolicited packet from outside.
    EXPECT_EQ(udp("10.0.0.6", 6000, 5000).verdict, drop_reason::inbound_unsolicited);
    result a = udp("10.0.0.5", 5000, 6000);
    ASSERT_EQ(a.verdict, verdict::consumed);
    net::packet_view v = delivered(a);
    EXPECT_EQ(v.src, test::ip("203.0.113.10"));
    EXPECT_EQ(v.src_port, 5000);
    EXPECT_EQ(v.dst, test::ip("10.0.0.6"));
    EXPECT_EQ(v.dst_port, 6000);
    result b = udp("10.0.0.6", 6000, 5000);
    ASSERT_EQ(b.verdict, verdict::consumed);
    v = delivered(b);
    EXPECT_EQ(v.src, test::ip("203.0.113.10"));
    EXPECT_EQ(v.src_port, 6000);
    EXPECT_EQ(v.dst, test::ip("10.0.0.5"));
    EXPECT_EQ(v.dst_port, 5000);
    EXPECT_EQ(core->counters().hairpinned, 2u);
    EXPECT_EQ(drops(drop_reason::inbound_unsolicited), 1u);
    // A third inside host that B never sent to is filtered.
    EXPECT_EQ(udp("10.0.0.7", 7000, 6000).verdict, drop_reason::inbound_unsolicited);
}

TEST_F(hairpin, tcp_simultaneous_open_between_two_inside_hosts) {
    EXPECT_EQ(tcp("10.0.0.6", 6000, 5000, net::tcp_syn, 100, 0).verdict, drop_reason::inbound_unsolicited);
    result syn = tcp("10.0.0.5", 5000, 6000, net::tcp_syn, 900, 0);
    ASSERT_EQ(syn.verdict, verdict::consumed);
    net::packet_view v = delivered(syn);
    EXPECT_EQ(v.dst, test::ip("10.0.0.6"));
    EXPECT_EQ(v.dst_port, 6000);
    EXPECT_EQ(v.src_port, 5000);
    result syn_ack = tcp("10.0.0.6", 6000, 5000, net::tcp_syn | net::tcp_ack, 100, 901);
    ASSERT_EQ(syn_ack.verdict, verdict::consumed);
    v = delivered(syn_ack);
    EXPECT_EQ(v.dst, test::ip("10.0.0.5"));
    EXPECT_EQ(v.dst_port, 5000);
    result ack = tcp("10.0.0.5", 5000, 6000, net::tcp_ack, 901, 101);
    ASSERT_EQ(ack.verdict, verdict::consumed);
    EXPECT_EQ(delivered(ack).dst, test::ip("10.0.0.6"));
    EXPECT_EQ(core->counters().hairpinned, 3u);
}

// RFC 5508 REQ-7: an ICMP error about a hairpinned packet is hairpinned too.
// B answers A's hairpinned datagram with port unreachable: it reaches A from
// B's public address, quoting A's datagram as A sent it (both translations
// undone in the quote, every checksum right), and A's flow stays as it was.
TEST_F(hairpin, an_icmp_error_about_a_hairpinned_datagram_goes_back_to_its_sender) {
    EXPECT_EQ(udp("10.0.0.6", 6000, 5000).verdict, drop_reason::inbound_unsolicited);
    result a = udp("10.0.0.5", 5000, 6000);
    ASSERT_EQ(a.verdict, verdict::consumed);
    ASSERT_EQ(a.built.size(), 1u);
    const bytes quote(a.built[0].begin() + 14, a.built[0].end()); // what B received
    result err = pass(from_inside().ipv4("10.0.0.6", "203.0.113.10").icmp(3, 3).payload(quote).build());
    ASSERT_EQ(err.verdict, verdict::consumed);
    ASSERT_EQ(err.to, (std::vector<side>{side::inside}));
    const bytes sent = from_inside().ipv4("10.0.0.5", "203.0.113.10").ttl(63).udp(5000, 6000).payload("hello").build();
    EXPECT_EQ(err.built.at(0), test::frame_builder().eth(inside_mac, inside_hop).ipv4("203.0.113.10", "10.0.0.5").ttl(63)
                                   .icmp(3, 3).payload(bytes(sent.begin() + 14, sent.end())).build());
    EXPECT_EQ(core->counters().icmp_errors_relayed_in, 1u);
    EXPECT_EQ(core->counters().icmp_errors_relayed_out, 0u);
    EXPECT_EQ(core->counters().hairpinned, 2u);
    // An error about a datagram no inside flow sent (A never sent to 7000) is dropped.
    const bytes stray = from_inside().ipv4("203.0.113.10", "10.0.0.6").ttl(63).udp(7000, 6000).payload("x").build();
    result none = pass(from_inside().ipv4("10.0.0.6", "203.0.113.10").icmp(3, 3)
                           .payload(bytes(stray.begin() + 14, stray.end())).build());
    EXPECT_EQ(none.verdict, drop_reason::icmp_error_no_flow);
    EXPECT_TRUE(none.built.empty());
}

// ICMP echo to a pool address (RFC 5508 REQ-7 asks echo hairpinning of Basic
// NAT only): with NAPT a request names no inside host (it has no destination
// identifier), so the pool address answers it as the gateway's own public
// address. The reply comes back through the sender's own flow: from the pool
// address, with the sender's identifier, TTL 64 less one. Another inside host
// using the same identifier has its own mapping and gets its own answer.
TEST_F(hairpin, an_echo_to_a_pool_address_is_answered_by_the_pool_address) {
    result a = pass(from_inside().ipv4("10.0.0.5", "203.0.113.10").echo_request(77, 3).payload("ping").build());
    ASSERT_EQ(a.verdict, verdict::consumed);
    ASSERT_EQ(a.to, (std::vector<side>{side::inside}));
    EXPECT_EQ(a.built.at(0), test::frame_builder().eth(inside_mac, inside_hop).ipv4("203.0.113.10", "10.0.0.5").ttl(63)
                                 .echo_reply(77, 3).payload("ping").build());
    result b = pass(from_inside().ipv4("10.0.0.6", "203.0.113.10").echo_request(77, 9).payload("pong").build());
    ASSERT_EQ(b.verdict, verdict::consumed);
    EXPECT_EQ(b.built.at(0), test::frame_builder().eth(inside_mac, inside_hop).ipv4("203.0.113.10", "10.0.0.6").ttl(63)
                                 .echo_reply(77, 9).payload("pong").build());
    EXPECT_EQ(core->counters().hairpinned, 2u);
    EXPECT_EQ(core->flows_active(), 2u);
    // Switched off, the request leaves by the outside port like any other.
    make(false);
    result off = pass(from_inside().ipv4("10.0.0.5", "203.0.113.10").echo_request(77, 4).build());
    EXPECT_EQ(off.verdict, verdict::forward);
    EXPECT_TRUE(off.built.empty());
}

TEST_F(hairpin, switched_off_the_packet_leaves_by_the_outside_port) {
    make(false);
    EXPECT_EQ(udp("10.0.0.6", 6000, 5000).verdict, verdict::forward);
    result a = udp("10.0.0.5", 5000, 6000);
    ASSERT_EQ(a.verdict, verdict::forward);
    EXPECT_TRUE(a.built.empty());
    net::packet_view v;
    ASSERT_EQ(net::parse_frame(a.frame, v), stats::no_drop);
    EXPECT_EQ(v.src, test::ip("203.0.113.10"));
    EXPECT_EQ(v.dst, test::ip("203.0.113.10"));
    EXPECT_EQ(v.dst_port, 6000);
    EXPECT_EQ(core->counters().hairpinned, 0u);
}

} // namespace
} // namespace egress::gateway
