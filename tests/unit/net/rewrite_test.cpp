// In-place rewrites: fields, views and incrementally updated checksums.
#include "net/rewrite.hpp"

#include <random>

#include <gtest/gtest.h>

#include "net/checksum.hpp"
#include "net/packet_parser.hpp"
#include "fragmenter.hpp"
#include "packet_builder.hpp"

namespace egress::test {
namespace {

using net::packet_view;

struct parsed {
    bytes frame;
    packet_view view;
};

parsed parse(bytes frame) {
    parsed p{std::move(frame), {}};
    EXPECT_EQ(stats::name_of(net::parse_frame(p.frame, p.view)), stats::name_of(stats::no_drop));
    return p;
}

// Re-parsing the rewritten frame gives the view the rewrite left behind.
void expect_view_consistent(const parsed& p) {
    packet_view again;
    ASSERT_EQ(stats::name_of(net::parse_frame(p.frame, again)), stats::name_of(stats::no_drop));
    EXPECT_EQ(again.src, p.view.src);
    EXPECT_EQ(again.dst, p.view.dst);
    EXPECT_EQ(again.src_port, p.view.src_port);
    EXPECT_EQ(again.dst_port, p.view.dst_port);
    EXPECT_EQ(again.ttl, p.view.ttl);
}

// A datagram translated fragment by fragment equals the translated datagram
// fragmented: the first fragment carries the whole L4 checksum update, the
// later ones only change the address (and their header checksum).
TEST(rewrite, fragments_translate_like_their_datagram) {
    const auto original = fragment_ipv4(
        frame_builder().ipv4("10.0.0.5", "198.51.100.7").udp(40000, 53).payload_size(100).build(), {48, 32}, 0x4242);
    const auto expected = fragment_ipv4(
        frame_builder().ipv4("203.0.113.10", "198.51.100.7").udp(1025, 53).payload_size(100).build(), {48, 32}, 0x4242);
    ASSERT_EQ(original.size(), 3u);
    for (std::size_t k = 0; k < original.size(); ++k) {
        bytes f = original[k];
        packet_view view;
        ASSERT_EQ(net::parse_frame(f, view), stats::no_drop);
        net::set_ipv4_source(f, view, ip("203.0.113.10"), 1025);
        EXPECT_EQ(f, expected[k]) << "fragment " << k;
        EXPECT_EQ(view.src_port, k == 0 ? 1025 : 0);
    }
    EXPECT_TRUE(reassemble(expected).checksum_ok());
}

TEST(rewrite, tcp_source_translation_matches_a_frame_built_that_way) {
    auto p = parse(frame_builder().ipv4("10.0.0.5", "198.51.100.1").tcp(40000, 443).payload("abc").build());
    net::set_ipv4_source(p.frame, p.view, ip("203.0.113.9"), 61000);
    EXPECT_EQ(p.frame, frame_builder().ipv4("203.0.113.9", "198.51.100.1").tcp(61000, 443).payload("abc").build());
    EXPECT_EQ(p.view.src, ip("203.0.113.9"));
    EXPECT_EQ(p.view.src_port, 61000);
    expect_view_consistent(p);
}

TEST(rewrite, udp_destination_translation_matches_a_frame_built_that_way) {
    auto p = parse(frame_builder().ipv4("198.51.100.1", "203.0.113.9").udp(53, 61000).payload_size(40).build());
    net::set_ipv4_destination(p.frame, p.view, ip("10.0.0.5"), 40000);
    EXPECT_EQ(p.frame, frame_builder().ipv4("198.51.100.1", "10.0.0.5").udp(53, 40000).payload_size(40).build());
    EXPECT_EQ(p.view.dst, ip("10.0.0.5"));
    EXPECT_EQ(p.view.dst_port, 40000);
    expect_view_consistent(p);
}

TEST(rewrite, icmp_echo_request_source_translation_rewrites_the_identifier) {
    auto p = parse(frame_builder().ipv4("10.0.0.5", "198.51.100.1").echo_request(0x1111, 3).payload_size(8).build());
    net::set_ipv4_source(p.frame, p.view, ip("203.0.113.9"), 0x2222);
    EXPECT_EQ(p.frame,
              frame_builder().ipv4("203.0.113.9", "198.51.100.1").echo_request(0x2222, 3).payload_size(8).build());
    EXPECT_EQ(p.view.src_port, 0x2222);
    EXPECT_EQ(p.view.dst_port, 0);
    expect_view_consistent(p);
}

TEST(rewrite, icmp_echo_reply_destination_translation_rewrites_the_identifier) {
    auto p = parse(frame_builder().ipv4("198.51.100.1", "203.0.113.9").echo_reply(0x2222, 3).build());
    net::set_ipv4_destination(p.frame, p.view, ip("10.0.0.5"), 0x1111);
    EXPECT_EQ(p.frame, frame_builder().ipv4("198.51.100.1", "10.0.0.5").echo_reply(0x1111, 3).build());
    EXPECT_EQ(p.view.dst_port, 0x1111);
    expect_view_consistent(p);
}

TEST(rewrite, icmp_identifier_on_the_other_side_is_left_alone) {
    auto request = parse(frame_builder().ipv4("10.0.0.5", "198.51.100.1").echo_request(0x1111).build());
    net::set_ipv4_destination(request.frame, request.view, ip("198.51.100.2"), 0x9999);
    EXPECT_EQ(request.frame, frame_builder().ipv4("10.0.0.5", "198.51.100.2").echo_request(0x1111).build());
    EXPECT_EQ(request.view.dst_port, 0);

    auto reply = parse(frame_builder().ipv4("198.51.100.1", "203.0.113.9").echo_reply(0x2222).build());
    net::set_ipv4_source(reply.frame, reply.view, ip("198.51.100.3"), 0x9999);
    EXPECT_EQ(reply.frame, frame_builder().ipv4("198.51.100.3", "203.0.113.9").echo_reply(0x2222).build());
    EXPECT_EQ(reply.view.src_port, 0);
}

TEST(rewrite, udp_without_checksum_keeps_zero) {
    auto p = parse(frame_builder().ipv4("10.0.0.5", "198.51.100.1").udp(1, 2).udp_zero_checksum().build());
    net::set_ipv4_source(p.frame, p.view, ip("203.0.113.9"), 7);
    net::set_ipv4_destination(p.frame, p.view, ip("192.0.2.1"), 8);
    EXPECT_EQ(p.frame, frame_builder().ipv4("203.0.113.9", "192.0.2.1").udp(7, 8).udp_zero_checksum().build());
}

TEST(rewrite, udp_checksum_that_becomes_zero_is_written_as_ffff_and_back) {
    const auto build = [](uint16_t sport) {
        return frame_builder().ipv4("203.0.113.9", "192.0.2.1").udp(sport, 2).payload("zero").build();
    };
    auto probe = parse(build(0));
    const uint16_t cancelling_port = net::l4_checksum(probe.frame, probe.view);
    // 0x1234 -> cancelling port: the incremental result is 0 and must be sent as 0xffff.
    auto p = parse(build(0x1234));
    net::set_ipv4_source(p.frame, p.view, ip("203.0.113.9"), cancelling_port);
    EXPECT_EQ(be16(p.frame, p.view.l4_offset + 6), 0xffff);
    EXPECT_EQ(p.frame, build(cancelling_port));
    // And from 0xffff onwards the updates stay exact.
    net::set_ipv4_source(p.frame, p.view, ip("203.0.113.10"), 0x1234);
    EXPECT_EQ(be16(p.frame, p.view.l4_offset + 6), net::l4_checksum(p.frame, p.view));
}

TEST(rewrite, decrement_ttl_updates_the_header_checksum) {
    auto p = parse(frame_builder().ipv4("10.0.0.5", "198.51.100.1").ttl(64).tcp(1, 2).build());
    EXPECT_EQ(net::decrement_hop_limit(p.frame, p.view), stats::no_drop);
    EXPECT_EQ(p.frame, frame_builder().ipv4("10.0.0.5", "198.51.100.1").ttl(63).tcp(1, 2).build());
    EXPECT_EQ(p.view.ttl, 63);
    expect_view_consistent(p);
}

TEST(rewrite, ttl_of_one_or_zero_expires_and_leaves_the_frame) {
    for (const uint8_t ttl : {uint8_t{0}, uint8_t{1}}) {
        const bytes v4 = frame_builder().ipv4("10.0.0.5", "198.51.100.1").ttl(ttl).udp(1, 2).build();
        auto p = parse(v4);
        EXPECT_EQ(net::decrement_hop_limit(p.frame, p.view), stats::drop_reason::ttl_expired);
        EXPECT_EQ(p.frame, v4);
        const bytes v6 = frame_builder().ipv6("2001:db8::1", "2001:db8::2").ttl(ttl).udp(1, 2).build();
        auto q = parse(v6);
        EXPECT_EQ(net::decrement_hop_limit(q.frame, q.view), stats::drop_reason::ttl_expired);
        EXPECT_EQ(q.frame, v6);
    }
}

TEST(rewrite, decrement_ipv6_hop_limit) {
    auto p = parse(frame_builder().ipv6("2001:db8::1", "2001:db8::2").ttl(2).tcp(1, 2).build());
    EXPECT_EQ(net::decrement_hop_limit(p.frame, p.view), stats::no_drop);
    EXPECT_EQ(p.frame, frame_builder().ipv6("2001:db8::1", "2001:db8::2").ttl(1).tcp(1, 2).build());
    EXPECT_EQ(p.view.ttl, 1);
}

TEST(rewrite, set_macs) {
    auto p = parse(frame_builder().ipv4("10.0.0.5", "198.51.100.1").tcp(1, 2).build());
    net::set_macs(p.frame, mac("aa:bb:cc:dd:ee:01"), mac("aa:bb:cc:dd:ee:02"));
    EXPECT_EQ(p.frame, frame_builder()
                           .eth(mac("aa:bb:cc:dd:ee:01"), mac("aa:bb:cc:dd:ee:02"))
                           .ipv4("10.0.0.5", "198.51.100.1")
                           .tcp(1, 2)
                           .build());
}

TEST(rewrite, views_that_do_not_fit_leave_the_frame_alone) {
    const bytes v6 = frame_builder().ipv6("2001:db8::1", "2001:db8::2").tcp(1, 2).build();
    auto p = parse(v6);
    net::set_ipv4_source(p.frame, p.view, ip("10.0.0.1"), 5); // not an IPv4 view
    EXPECT_EQ(p.frame, v6);
    const bytes v4 = frame_builder().ipv4("10.0.0.5", "198.51.100.1").tcp(1, 2).build();
    auto q = parse(v4);
    net::set_ipv4_source(std::span<uint8_t>(q.frame).first(40), q.view, ip("10.0.0.1"), 5);
    net::set_ipv4_destination(q.frame, q.view, ip("2001:db8::9"), 5); // not an IPv4 address
    EXPECT_EQ(q.frame, v4);
    EXPECT_EQ(net::decrement_hop_limit(std::span<uint8_t>(q.frame).first(20), q.view),
              stats::drop_reason::ipv4_truncated);
}

// ---------------------------------------------------------------------------
// Randomised: 10,000+ packets per protocol family member, each rewritten on both
// sides and TTL-decremented; every checksum must equal a full recomputation, and
// the whole frame must equal the frame the builder makes with the new values.

enum class kind { tcp, udp, udp_no_checksum, echo_request, echo_reply };

struct spec {
    kind k = kind::tcp;
    net::ip_address src, dst;
    uint16_t sport = 0, dport = 0; // packet_view semantics (echo id on one side)
    uint8_t ttl = 64;
    bytes ip_options;
    bytes payload;
    bool vlan = false;
};

bytes build(const spec& s) {
    frame_builder b;
    if (s.vlan) b.vlan(42);
    b.ipv4(s.src, s.dst).ttl(s.ttl).ipv4_options(s.ip_options).payload(s.payload);
    switch (s.k) {
    case kind::tcp: b.tcp(s.sport, s.dport, net::tcp_ack); break;
    case kind::udp: b.udp(s.sport, s.dport); break;
    case kind::udp_no_checksum: b.udp(s.sport, s.dport).udp_zero_checksum(); break;
    case kind::echo_request: b.echo_request(s.sport, 5); break;
    case kind::echo_reply: b.echo_reply(s.dport, 5); break;
    }
    return b.build();
}

net::ip_address random_source(std::mt19937& rng) {
    for (;;) {
        const uint32_t a = static_cast<uint32_t>(rng());
        if (a != 0 && a != 0xffffffffu && (a >> 28) != 0xe) return net::ip_address::from_v4(a);
    }
}

net::ip_address random_destination(std::mt19937& rng) {
    for (;;) {
        const uint32_t a = static_cast<uint32_t>(rng());
        if (a != 0) return net::ip_address::from_v4(a);
    }
}

spec random_spec(std::mt19937& rng, kind k) {
    spec s;
    s.k = k;
    s.src = random_source(rng);
    s.dst = random_destination(rng);
    const bool echo = k == kind::echo_request || k == kind::echo_reply;
    s.sport = k == kind::echo_reply ? 0 : static_cast<uint16_t>(rng());
    s.dport = k == kind::echo_request ? 0 : static_cast<uint16_t>(rng());
    if (!echo && rng() % 8 == 0) s.sport = 0;
    s.ttl = static_cast<uint8_t>(2 + rng() % 254);
    if (rng() % 4 == 0) s.ip_options = {1, 1, 0x94, 4, 0, 0};
    s.payload.resize(rng() % 80);
    for (auto& b : s.payload) b = static_cast<uint8_t>(rng());
    s.vlan = rng() % 3 == 0;
    return s;
}

void check_checksums(const parsed& p, kind k) {
    const auto& v = p.view;
    ASSERT_EQ(be16(p.frame, v.l3_offset + 10), net::ipv4_header_checksum(p.frame, v));
    const std::size_t at = v.l4_offset + (v.proto == net::proto_tcp ? 16u : v.proto == net::proto_udp ? 6u : 2u);
    if (k == kind::udp_no_checksum) {
        ASSERT_EQ(be16(p.frame, at), 0);
    } else {
        ASSERT_EQ(be16(p.frame, at), net::l4_checksum(p.frame, v));
    }
}

TEST(rewrite_random, incremental_checksums_equal_full_recomputation) {
    std::mt19937 rng(20240601);
    const kind kinds[] = {kind::tcp, kind::udp, kind::udp_no_checksum, kind::echo_request, kind::echo_reply};
    int checked = 0;
    for (int i = 0; i < 12000; ++i) {
        const kind k = kinds[i % 5];
        spec s = random_spec(rng, k);
        auto p = parse(build(s));

        // Source translation (outbound) or destination translation (inbound), then
        // the other side too, then a TTL decrement: each step checked.
        const auto new_src = random_source(rng);
        const auto new_sport = static_cast<uint16_t>(rng());
        net::set_ipv4_source(p.frame, p.view, new_src, new_sport);
        s.src = new_src;
        if (k != kind::echo_reply) s.sport = new_sport;
        check_checksums(p, k);

        const auto new_dst = random_destination(rng);
        const auto new_dport = static_cast<uint16_t>(rng());
        net::set_ipv4_destination(p.frame, p.view, new_dst, new_dport);
        s.dst = new_dst;
        if (k != kind::echo_request) s.dport = new_dport;
        check_checksums(p, k);

        ASSERT_EQ(net::decrement_hop_limit(p.frame, p.view), stats::no_drop);
        s.ttl = static_cast<uint8_t>(s.ttl - 1);
        check_checksums(p, k);

        ASSERT_EQ(p.frame, build(s)) << "packet " << i;
        expect_view_consistent(p);
        ++checked;
    }
    EXPECT_EQ(checked, 12000);
}

} // namespace
} // namespace egress::test
