// Fragments through gateway_core: exact bytes of every forwarded fragment (the
// expected ones are the translated datagram, built whole and fragmented by the
// test oracle), and the reassembled upper layer's checksum.
#include <gtest/gtest.h>

#include "../net/fragmenter.hpp"
#include "gateway/gateway_core.hpp"
#include "gateway_fixture.hpp"

namespace egress::gateway {
namespace {

using stats::drop_reason;
using stats::no_drop;
using stats::side;
using test::bytes;
using test::fragment_ipv4;
using test::fragment_ipv6;
using test::reassemble;

using namespace testing_network;

constexpr uint16_t id4 = 0x5151;
// Outbound, the datagram leaves with its public address's next identification
// (RFC 6864 / 7857 section 10, ip_id_test.cpp): the first on a fresh gateway.
constexpr uint16_t public_id4 = 0;
constexpr uint32_t id6 = 0xabcdef01;

// A 100-byte UDP payload (108 bytes of UDP) in fragments of 48, 32 and 28 bytes.
const std::vector<std::size_t> sizes{48, 32};

class fragment_test : public ::testing::Test {
protected:
    // One frame in; what left: the frame itself (when forwarded) and the outbox.
    struct result {
        packet_result verdict;
        std::vector<bytes> out; // the frame if forwarded, then the outbox frames
        std::vector<side> to;
    };
    result pass(side from, bytes frame, uint32_t now = 0) {
        result r;
        r.verdict = core->process(from, frame, now);
        if (r.verdict == gateway::verdict::forward) {
            r.out.push_back(frame);
            r.to.push_back(from == side::inside ? side::outside : side::inside);
        }
        const outbox& box = core->built_frames();
        for (uint32_t i = 0; i < box.size(); ++i) {
            r.out.emplace_back(box[i].bytes.begin(), box[i].bytes.end());
            r.to.push_back(box[i].to);
        }
        return r;
    }
    uint64_t drops(drop_reason r) const { return core->counters().drops[static_cast<std::size_t>(r)]; }
    const stats::worker_counters& c() const { return core->counters(); }
    void make(settings s) { core = std::make_unique<gateway_core>(s); }
    void SetUp() override { make(make_settings()); }

    // The outbound datagram 10.0.0.5:40000 -> 198.51.100.7:53 and its
    // translation (203.0.113.10, port kept), as the outside sees it.
    static bytes udp_out(uint8_t ttl = 64) {
        return from_inside().ipv4("10.0.0.5", "198.51.100.7").ttl(ttl).udp(40000, 53).payload_size(100).build();
    }
    static bytes udp_out_translated() {
        return test::frame_builder().eth(outside_mac, outside_hop).ipv4("203.0.113.10", "198.51.100.7").ttl(63)
            .udp(40000, 53).payload_size(100).build();
    }
    static bytes udp_reply() {
        return from_outside().ipv4("198.51.100.7", "203.0.113.10").udp(53, 40000).payload_size(100).build();
    }
    static bytes udp_reply_translated() {
        return test::frame_builder().eth(inside_mac, inside_hop).ipv4("198.51.100.7", "10.0.0.5").ttl(63)
            .udp(53, 40000).payload_size(100).build();
    }

    std::unique_ptr<gateway_core> core;
};

TEST_F(fragment_test, ipv4_outbound_in_order_exact_bytes_and_checksum) {
    const auto in = fragment_ipv4(udp_out(), sizes, id4);
    const auto expected = fragment_ipv4(udp_out_translated(), sizes, public_id4);
    ASSERT_EQ(in.size(), 3u);
    std::vector<bytes> sent;
    for (const auto& f : in) {
        const result r = pass(side::inside, f);
        ASSERT_EQ(r.verdict, verdict::forward);
        ASSERT_EQ(r.out.size(), 1u);
        EXPECT_EQ(r.to[0], side::outside);
        sent.push_back(r.out[0]);
    }
    EXPECT_EQ(sent, expected);
    const auto whole = reassemble(sent);
    ASSERT_TRUE(whole.complete);
    EXPECT_TRUE(whole.checksum_ok());
    EXPECT_EQ(test::be16(whole.upper, 0), 40000);
    EXPECT_EQ(c().fragments_forwarded, 3u);
    EXPECT_EQ(c().fragment_datagrams, 1u);
    EXPECT_EQ(c().fragment_datagrams_completed, 1u);
    EXPECT_EQ(core->fragments().active(), 0u);
    EXPECT_EQ(c().flows_created[static_cast<std::size_t>(stats::flow_proto::udp)], 1u);
    EXPECT_EQ(c().ports[0].rx_packets, 0u); // the worker counts ports, not the core
}

TEST_F(fragment_test, ipv4_translated_port_is_in_the_first_fragment_only) {
    // Another flow holds 40000 towards the same server: the NAT picks another
    // port, which must be in the checksum of the whole datagram.
    ASSERT_EQ(pass(side::inside, from_inside().ipv4("10.0.0.6", "198.51.100.7").udp(40000, 53).payload("a").build())
                  .verdict,
              verdict::forward);
    const auto in = fragment_ipv4(udp_out(), sizes, id4);
    std::vector<bytes> sent;
    for (const auto& f : in) {
        const result r = pass(side::inside, f);
        ASSERT_EQ(r.verdict, verdict::forward);
        sent.push_back(r.out.at(0));
    }
    const auto whole = reassemble(sent);
    ASSERT_TRUE(whole.complete);
    const uint16_t port = test::be16(whole.upper, 0);
    EXPECT_NE(port, 40000);
    EXPECT_TRUE(whole.checksum_ok());
    EXPECT_EQ(sent, fragment_ipv4(test::frame_builder().eth(outside_mac, outside_hop)
                                      .ipv4("203.0.113.10", "198.51.100.7").ttl(63).udp(port, 53).payload_size(100)
                                      .build(),
                                  sizes, public_id4));
}

TEST_F(fragment_test, ipv4_later_fragments_first_are_held_then_released_translated) {
    const auto in = fragment_ipv4(udp_out(), sizes, id4);
    const auto expected = fragment_ipv4(udp_out_translated(), sizes, public_id4);
    result r = pass(side::inside, in[2]);
    EXPECT_EQ(r.verdict, verdict::consumed);
    EXPECT_TRUE(r.out.empty());
    r = pass(side::inside, in[1]);
    EXPECT_EQ(r.verdict, verdict::consumed);
    EXPECT_EQ(core->fragments().held(), 2u);
    r = pass(side::inside, in[0]);
    ASSERT_EQ(r.verdict, verdict::forward);
    EXPECT_EQ(r.out, (std::vector<bytes>{expected[0], expected[2], expected[1]}));
    EXPECT_EQ(r.to, (std::vector<side>{side::outside, side::outside, side::outside}));
    EXPECT_TRUE(reassemble(r.out).checksum_ok());
    EXPECT_EQ(c().fragments_held, 2u);
    EXPECT_EQ(c().fragments_released, 2u);
    EXPECT_EQ(c().fragments_forwarded, 1u);
    EXPECT_EQ(c().fragment_datagrams_completed, 1u);
    EXPECT_EQ(core->fragments().held(), 0u);
    uint64_t dropped = 0;
    for (auto d : c().drops) dropped += d;
    EXPECT_EQ(dropped, 0u); // held is not a drop
}

TEST_F(fragment_test, ipv4_inbound_reply_fragments_follow_the_flow_in_any_order) {
    ASSERT_EQ(pass(side::inside, udp_out()).verdict, verdict::forward); // the flow, unfragmented
    const auto in = fragment_ipv4(udp_reply(), sizes, 0x0707);
    const auto expected = fragment_ipv4(udp_reply_translated(), sizes, 0x0707);
    EXPECT_EQ(pass(side::outside, in[1]).verdict, verdict::consumed);
    result r = pass(side::outside, in[0]);
    ASSERT_EQ(r.verdict, verdict::forward);
    EXPECT_EQ(r.out, (std::vector<bytes>{expected[0], expected[1]}));
    EXPECT_EQ(r.to, (std::vector<side>{side::inside, side::inside}));
    r = pass(side::outside, in[2]);
    ASSERT_EQ(r.verdict, verdict::forward);
    EXPECT_EQ(r.out, (std::vector<bytes>{expected[2]}));
    const auto whole = reassemble({expected[0], expected[1], expected[2]});
    EXPECT_TRUE(whole.checksum_ok());
    EXPECT_EQ(test::be16(whole.upper, 2), 40000);
    EXPECT_EQ(core->flows().at(0).packets_in, 3u);
}

TEST_F(fragment_test, inbound_fragments_of_no_flow_are_dropped_and_create_nothing) {
    const auto in = fragment_ipv4(udp_reply(), sizes, 0x0808);
    EXPECT_EQ(pass(side::outside, in[2]).verdict, verdict::consumed);
    EXPECT_EQ(pass(side::outside, in[0]).verdict, drop_reason::inbound_unsolicited);
    EXPECT_EQ(drops(drop_reason::fragment_datagram_dropped), 1u); // the held one
    EXPECT_EQ(pass(side::outside, in[1]).verdict, drop_reason::fragment_datagram_dropped);
    EXPECT_EQ(drops(drop_reason::fragment_datagram_dropped), 2u);
    EXPECT_EQ(core->flows_active(), 0u);
    EXPECT_EQ(core->fragments().held(), 0u);
}

TEST_F(fragment_test, overlapping_fragment_drops_the_rest_of_the_datagram) {
    const auto in = fragment_ipv4(udp_out(), sizes, id4);
    ASSERT_EQ(pass(side::inside, in[0]).verdict, verdict::forward);
    // A fragment at offset 40 (overlapping the first's 0..47) rewriting its tail.
    bytes evil = fragment_ipv4(udp_out(), {40, 40}, id4)[1];
    EXPECT_EQ(pass(side::inside, evil).verdict, drop_reason::fragment_overlap);
    EXPECT_EQ(pass(side::inside, in[1]).verdict, drop_reason::fragment_datagram_dropped);
    EXPECT_EQ(pass(side::inside, in[2]).verdict, drop_reason::fragment_datagram_dropped);
    EXPECT_EQ(drops(drop_reason::fragment_overlap), 1u);
    EXPECT_EQ(drops(drop_reason::fragment_datagram_dropped), 2u);
}

TEST_F(fragment_test, duplicate_fragment_is_dropped_and_the_datagram_goes_on) {
    const auto in = fragment_ipv4(udp_out(), sizes, id4);
    ASSERT_EQ(pass(side::inside, in[0]).verdict, verdict::forward);
    ASSERT_EQ(pass(side::inside, in[1]).verdict, verdict::forward);
    EXPECT_EQ(pass(side::inside, in[1]).verdict, drop_reason::fragment_duplicate);
    EXPECT_EQ(pass(side::inside, in[2]).verdict, verdict::forward);
    EXPECT_EQ(c().fragment_datagrams_completed, 1u);
}

TEST_F(fragment_test, held_fragments_time_out) {
    const auto in = fragment_ipv4(udp_out(), sizes, id4);
    EXPECT_EQ(pass(side::inside, in[1], 1000).verdict, verdict::consumed);
    EXPECT_EQ(pass(side::inside, in[2], 1500).verdict, verdict::consumed);
    core->expire(2999, 4096); // default timeout 2000 ms from the first fragment seen
    EXPECT_EQ(core->fragments().held(), 2u);
    core->expire(3000, 4096);
    EXPECT_EQ(core->fragments().held(), 0u);
    EXPECT_EQ(core->fragments().active(), 0u);
    EXPECT_EQ(drops(drop_reason::fragment_timeout), 2u);
    EXPECT_EQ(c().fragment_datagrams_expired, 1u);
    // The first fragment, late, still passes on its own (a new datagram entry).
    EXPECT_EQ(pass(side::inside, in[0], 3001).verdict, verdict::forward);
    EXPECT_EQ(c().fragment_datagrams, 2u);
}

TEST_F(fragment_test, tiny_first_fragment_is_dropped) {
    const auto in = fragment_ipv4(
        from_inside().ipv4("10.0.0.5", "198.51.100.7").tcp(40000, 443, net::tcp_syn).payload_size(40).build(), {8},
        id4);
    EXPECT_EQ(pass(side::inside, in[0]).verdict, drop_reason::fragment_tiny_first);
    EXPECT_EQ(drops(drop_reason::fragment_tiny_first), 1u);
    EXPECT_EQ(core->flows_active(), 0u);
}

TEST_F(fragment_test, bounds_table_full_and_hold_full) {
    settings s = make_settings();
    s.fragments.max_datagrams = 1;
    s.fragments.max_held_bytes = fragment_tracker::hold_slot_bytes; // one slot
    make(s);
    const auto a = fragment_ipv4(udp_out(), sizes, 1);
    const auto b = fragment_ipv4(udp_out(), sizes, 2);
    EXPECT_EQ(pass(side::inside, a[1]).verdict, verdict::consumed);
    EXPECT_EQ(pass(side::inside, b[1]).verdict, drop_reason::fragment_table_full);
    EXPECT_EQ(pass(side::inside, a[2]).verdict, drop_reason::fragment_hold_full); // the one slot is taken
    EXPECT_EQ(drops(drop_reason::fragment_datagram_dropped), 1u);                 // a[1], freed with it
    EXPECT_EQ(pass(side::inside, a[0]).verdict, drop_reason::fragment_datagram_dropped);
    EXPECT_EQ(core->fragments().held(), 0u);
}

TEST_F(fragment_test, disabled_fragment_handling_drops_fragments_by_family) {
    settings s = make_settings();
    s.fragments.max_datagrams = 0;
    make(s);
    EXPECT_EQ(pass(side::inside, fragment_ipv4(udp_out(), sizes, id4)[0]).verdict, drop_reason::ipv4_fragment);
    const bytes v6 = from_inside().ipv6("fd00::5", "2001:db8::9").udp(40000, 53).payload_size(100).build();
    EXPECT_EQ(pass(side::inside, fragment_ipv6(v6, sizes, id6)[1]).verdict, drop_reason::ipv6_fragment);
    EXPECT_EQ(pass(side::inside, udp_out()).verdict, verdict::forward); // whole datagrams are not affected
}

TEST_F(fragment_test, ipv6_fragments_both_ways_exact_bytes) {
    const bytes out = from_inside().ipv6("fd00::5", "2001:db8::9").udp(40000, 53).payload_size(100).build();
    const bytes out_seen = test::frame_builder().eth(outside_mac, outside_hop).ipv6("fd00::5", "2001:db8::9").ttl(63)
                               .udp(40000, 53).payload_size(100).build();
    const auto in = fragment_ipv6(out, sizes, id6);
    const auto expected = fragment_ipv6(out_seen, sizes, id6);
    EXPECT_EQ(pass(side::inside, in[2]).verdict, verdict::consumed);
    result r = pass(side::inside, in[0]);
    ASSERT_EQ(r.verdict, verdict::forward);
    EXPECT_EQ(r.out, (std::vector<bytes>{expected[0], expected[2]}));
    r = pass(side::inside, in[1]);
    ASSERT_EQ(r.verdict, verdict::forward);
    EXPECT_EQ(r.out, (std::vector<bytes>{expected[1]}));
    EXPECT_TRUE(reassemble(expected).checksum_ok());

    const bytes reply = from_outside().ipv6("2001:db8::9", "fd00::5").udp(53, 40000).payload_size(100).build();
    const bytes reply_seen = test::frame_builder().eth(inside_mac, inside_hop).ipv6("2001:db8::9", "fd00::5").ttl(63)
                                 .udp(53, 40000).payload_size(100).build();
    const auto back = fragment_ipv6(reply, sizes, 77);
    std::vector<bytes> got;
    for (const auto& f : back) {
        const result rr = pass(side::outside, f);
        ASSERT_EQ(rr.verdict, verdict::forward);
        got.push_back(rr.out.at(0));
    }
    EXPECT_EQ(got, fragment_ipv6(reply_seen, sizes, 77));
    // Unsolicited IPv6 fragments from outside: no flow, nothing created.
    const bytes other = from_outside().ipv6("2001:db8::10", "fd00::5").udp(53, 40000).payload_size(100).build();
    const auto unsolicited = fragment_ipv6(other, sizes, 78);
    EXPECT_EQ(pass(side::outside, unsolicited[0]).verdict, drop_reason::inbound_unsolicited);
    EXPECT_EQ(pass(side::outside, unsolicited[1]).verdict, drop_reason::fragment_datagram_dropped);
    EXPECT_EQ(core->flows_active(), 1u);
}

TEST_F(fragment_test, ipv6_overlap_drops_the_datagram) {
    const bytes out = from_inside().ipv6("fd00::5", "2001:db8::9").udp(40000, 53).payload_size(100).build();
    const auto in = fragment_ipv6(out, sizes, id6);
    ASSERT_EQ(pass(side::inside, in[0]).verdict, verdict::forward);
    EXPECT_EQ(pass(side::inside, fragment_ipv6(out, {40, 40}, id6)[1]).verdict, drop_reason::fragment_overlap);
    EXPECT_EQ(pass(side::inside, in[1]).verdict, drop_reason::fragment_datagram_dropped);
}

TEST_F(fragment_test, icmp_echo_fragments_keep_a_valid_checksum) {
    const bytes ping = from_inside().ipv4("10.0.0.5", "198.51.100.7").echo_request(0x1234, 1).payload_size(200).build();
    std::vector<bytes> sent;
    for (const auto& f : fragment_ipv4(ping, {80, 80}, 9)) {
        const result r = pass(side::inside, f);
        ASSERT_EQ(r.verdict, verdict::forward);
        sent.push_back(r.out.at(0));
    }
    const auto whole = reassemble(sent);
    ASSERT_TRUE(whole.complete);
    EXPECT_TRUE(whole.checksum_ok());
    EXPECT_EQ(whole.src, (bytes{203, 0, 113, 10}));
}

TEST_F(fragment_test, later_fragment_of_an_expired_flow_is_dropped) {
    const auto in = fragment_ipv4(udp_out(), sizes, id4);
    ASSERT_EQ(pass(side::inside, in[0], 0).verdict, verdict::forward);
    // The fragment entry lives 2 s; make the flow expire first (UDP 30 s default is longer,
    // so shorten it).
    settings s = make_settings();
    s.timeouts.udp_ms = 100;
    s.fragments.timeout_ms = 1000;
    make(s);
    ASSERT_EQ(pass(side::inside, in[0], 0).verdict, verdict::forward);
    EXPECT_EQ(pass(side::inside, in[1], 500).verdict, drop_reason::fragment_no_flow);
}

} // namespace
} // namespace egress::gateway
