// lib/net: ARP, neighbour discovery and 802.1Q header rewrites, byte for byte.
// The NS/NA oracle is the test frame_builder, which computes the ICMPv6
// checksum on its own (RFC 1071 written out plainly).
#include <gtest/gtest.h>

#include "net/arp.hpp"
#include "net/l2.hpp"
#include "net/ndp.hpp"
#include "packet_builder.hpp"

namespace egress::net {
namespace {

using stats::drop_reason;
using stats::no_drop;
using test::bytes;
using test::frame_builder;
using test::ip;
using test::mac;

const mac_address gw = mac("02:00:00:00:02:fe");
const mac_address host = mac("02:00:00:00:02:01");

bytes address_bytes(const ip_address& a) { return bytes(a.bytes.begin(), a.bytes.end()); }

// ---------------------------------------------------------------------------
// ARP

TEST(arp, request_is_built_byte_for_byte_and_padded_to_60) {
    arp_message m;
    m.op = arp_request;
    m.sender_mac = gw;
    m.sender_ip = ip("192.0.2.1").v4();
    m.target_ip = ip("192.0.2.254").v4();
    bytes out(100, 0xee);
    ASSERT_EQ(build_arp(out, gw, broadcast_mac, 0, m), 60u);
    out.resize(60);
    const bytes expected = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x02, 0xfe, 0x08, 0x06, // Ethernet
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,                                     // htype, ptype, lens, op
        0x02, 0x00, 0x00, 0x00, 0x02, 0xfe, 192,  0,    2,    1,                            // sender
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 192,  0,    2,    254,                          // target
        0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0, 0, 0, 0, // padding
    };
    EXPECT_EQ(out, expected);
}

TEST(arp, tagged_reply_carries_the_vid) {
    arp_message m;
    m.op = arp_reply;
    m.sender_mac = gw;
    m.sender_ip = ip("10.0.0.1").v4();
    m.target_mac = host;
    m.target_ip = ip("10.0.0.5").v4();
    bytes out(100, 0xee);
    ASSERT_EQ(build_arp(out, gw, host, 100, m), 60u);
    const bytes head(out.begin(), out.begin() + 18);
    EXPECT_EQ(head, (bytes{0x02, 0, 0, 0, 0x02, 0x01, 0x02, 0, 0, 0, 0x02, 0xfe, 0x81, 0x00, 0x00, 100, 0x08, 0x06}));
    arp_message back;
    ASSERT_EQ(parse_arp(out, 18, back), no_drop);
    EXPECT_EQ(back.op, arp_reply);
    EXPECT_EQ(back.sender_mac, gw);
    EXPECT_EQ(back.sender_ip, ip("10.0.0.1").v4());
    EXPECT_EQ(back.target_mac, host);
    EXPECT_EQ(back.target_ip, ip("10.0.0.5").v4());
    bytes small(59);
    EXPECT_EQ(build_arp(small, gw, host, 0, m), 0u);
}

bytes arp_frame(uint16_t htype, uint16_t ptype, uint8_t hlen, uint8_t plen, uint16_t op, bytes sender_mac,
                bytes sender_ip) {
    bytes body = {static_cast<uint8_t>(htype >> 8), static_cast<uint8_t>(htype), static_cast<uint8_t>(ptype >> 8),
                  static_cast<uint8_t>(ptype), hlen, plen, static_cast<uint8_t>(op >> 8), static_cast<uint8_t>(op)};
    body.insert(body.end(), sender_mac.begin(), sender_mac.end());
    body.insert(body.end(), sender_ip.begin(), sender_ip.end());
    const bytes tail = {0, 0, 0, 0, 0, 0, 10, 0, 0, 1};
    body.insert(body.end(), tail.begin(), tail.end());
    return frame_builder().eth(host, broadcast_mac).ethertype(ethertype_arp).payload(body).build();
}

TEST(arp, every_field_is_validated) {
    const bytes good_mac = {2, 0, 0, 0, 2, 1};
    const bytes good_ip = {10, 0, 0, 5};
    arp_message m;
    EXPECT_EQ(parse_arp(arp_frame(1, 0x0800, 6, 4, 1, good_mac, good_ip), 14, m), no_drop);
    EXPECT_EQ(m.sender_ip, ip("10.0.0.5").v4());
    EXPECT_EQ(m.target_ip, ip("10.0.0.1").v4());
    EXPECT_EQ(parse_arp(arp_frame(6, 0x0800, 6, 4, 1, good_mac, good_ip), 14, m), drop_reason::arp_unsupported);
    EXPECT_EQ(parse_arp(arp_frame(1, 0x86dd, 6, 4, 1, good_mac, good_ip), 14, m), drop_reason::arp_unsupported);
    EXPECT_EQ(parse_arp(arp_frame(1, 0x0800, 8, 4, 1, good_mac, good_ip), 14, m), drop_reason::arp_unsupported);
    EXPECT_EQ(parse_arp(arp_frame(1, 0x0800, 6, 16, 1, good_mac, good_ip), 14, m), drop_reason::arp_unsupported);
    EXPECT_EQ(parse_arp(arp_frame(1, 0x0800, 6, 4, 3, good_mac, good_ip), 14, m), drop_reason::arp_unsupported);
    EXPECT_EQ(parse_arp(arp_frame(1, 0x0800, 6, 4, 1, {1, 0, 0x5e, 0, 0, 1}, good_ip), 14, m),
              drop_reason::arp_bad_sender);
    EXPECT_EQ(parse_arp(arp_frame(1, 0x0800, 6, 4, 1, {0, 0, 0, 0, 0, 0}, good_ip), 14, m),
              drop_reason::arp_bad_sender);
    EXPECT_EQ(parse_arp(arp_frame(1, 0x0800, 6, 4, 2, good_mac, {255, 255, 255, 255}), 14, m),
              drop_reason::arp_bad_sender);
    EXPECT_EQ(parse_arp(arp_frame(1, 0x0800, 6, 4, 2, good_mac, {224, 0, 0, 1}), 14, m), drop_reason::arp_bad_sender);
    // Every truncation of a good frame: never read past the end.
    const bytes full = arp_frame(1, 0x0800, 6, 4, 1, good_mac, good_ip);
    for (std::size_t n = 0; n < 14 + arp_length; ++n) {
        const bytes cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
        EXPECT_EQ(parse_arp(cut, 14, m), drop_reason::arp_truncated) << n;
    }
}

// ---------------------------------------------------------------------------
// Neighbour discovery

bytes lladdr_option(uint8_t type, const mac_address& m) {
    bytes o = {type, 1};
    o.insert(o.end(), m.bytes.begin(), m.bytes.end());
    return o;
}

bytes nd_body(const ip_address& target, const bytes& options) {
    bytes b = address_bytes(target);
    b.insert(b.end(), options.begin(), options.end());
    return b;
}

TEST(ndp, solicited_node_group_and_multicast_mac) {
    EXPECT_EQ(solicited_node(ip("2001:db8::12:34fe")), ip("ff02::1:ff12:34fe"));
    EXPECT_EQ(ipv6_multicast_mac(ip("ff02::1:ff12:34fe")), mac("33:33:ff:12:34:fe"));
    EXPECT_EQ(ipv6_multicast_mac(all_nodes), mac("33:33:00:00:00:01"));
    EXPECT_TRUE(is_ipv6_multicast(all_nodes));
    EXPECT_FALSE(is_ipv6_multicast(ip("2001:db8::1")));
}

TEST(ndp, solicitation_matches_an_independently_built_frame) {
    const ip_address src = ip("2001:db8::1");
    const ip_address target = ip("2001:db8::fe");
    const ip_address group = solicited_node(target);
    bytes out(200);
    const std::size_t n = build_ns(out, gw, ipv6_multicast_mac(group), 0, src, group, target);
    out.resize(n);
    const bytes expected = frame_builder()
                               .eth(gw, mac("33:33:ff:00:00:fe"))
                               .ipv6(src, group)
                               .ttl(255)
                               .icmp(icmpv6_neighbor_solicitation, 0, 0)
                               .payload(nd_body(target, lladdr_option(1, gw)))
                               .build();
    EXPECT_EQ(out, expected);
    EXPECT_EQ(n, 86u);
    nd_message m;
    ASSERT_EQ(parse_nd(out, 14, m), no_drop);
    EXPECT_EQ(m.type, icmpv6_neighbor_solicitation);
    EXPECT_EQ(m.target, target);
    EXPECT_TRUE(m.has_lladdr);
    EXPECT_EQ(m.lladdr, gw);
}

TEST(ndp, tagged_advertisement_matches_an_independently_built_frame) {
    const ip_address src = ip("fd00:0:0:1::1");
    const ip_address dst = ip("fe80::5");
    bytes out(200);
    const uint8_t flags = na_router | na_solicited | na_override;
    const std::size_t n = build_na(out, gw, host, 100, src, dst, src, flags);
    out.resize(n);
    const bytes expected = frame_builder()
                               .eth(gw, host)
                               .vlan(100)
                               .ipv6(src, dst)
                               .ttl(255)
                               .icmp(icmpv6_neighbor_advertisement, 0, 0xe0000000u)
                               .payload(nd_body(src, lladdr_option(2, gw)))
                               .build();
    EXPECT_EQ(out, expected);
    nd_message m;
    ASSERT_EQ(parse_nd(out, 18, m), no_drop);
    EXPECT_EQ(m.flags, flags);
    EXPECT_EQ(m.lladdr, gw);
}

bytes ns_frame(const bytes& body, uint8_t hop_limit = 255, uint8_t code = 0, const char* src = "fe80::5",
               const char* dst = "ff02::1:ff00:1", uint8_t type = icmpv6_neighbor_solicitation, uint32_t rest = 0) {
    return frame_builder()
        .eth(host, mac("33:33:ff:00:00:01"))
        .ipv6(src, dst)
        .ttl(hop_limit)
        .icmp(type, code, rest)
        .payload(body)
        .build();
}

TEST(ndp, every_rule_of_rfc_4861_is_checked) {
    const ip_address target = ip("fd00:0:0:1::1");
    const bytes good = nd_body(target, lladdr_option(1, host));
    nd_message m;
    ASSERT_EQ(parse_nd(ns_frame(good), 14, m), no_drop);
    EXPECT_EQ(m.src, ip("fe80::5"));
    EXPECT_EQ(m.lladdr, host);
    EXPECT_EQ(parse_nd(ns_frame(good, 64), 14, m), drop_reason::ndp_bad_hop_limit);
    bytes bad_sum = ns_frame(good);
    bad_sum[14 + 40 + 3] ^= 1;
    EXPECT_EQ(parse_nd(bad_sum, 14, m), drop_reason::ndp_bad_checksum);
    EXPECT_EQ(parse_nd(ns_frame(good, 255, 1), 14, m), drop_reason::ndp_malformed);
    EXPECT_EQ(parse_nd(ns_frame(nd_body(target, {1, 0, 0, 0, 0, 0, 0, 0})), 14, m), drop_reason::ndp_malformed);
    EXPECT_EQ(parse_nd(ns_frame(nd_body(target, {1, 2, 0, 0, 0, 0, 0, 0})), 14, m), drop_reason::ndp_malformed);
    EXPECT_EQ(parse_nd(ns_frame(nd_body(ip("ff02::1"), {})), 14, m), drop_reason::ndp_malformed);
    EXPECT_EQ(parse_nd(ns_frame(bytes(12, 0)), 14, m), drop_reason::ndp_malformed); // shorter than 24 bytes
    EXPECT_EQ(parse_nd(ns_frame(good, 255, 0, "::"), 14, m), drop_reason::ndp_malformed); // DAD with an option
    ASSERT_EQ(parse_nd(ns_frame(nd_body(target, {}), 255, 0, "::"), 14, m), no_drop);   // DAD without
    EXPECT_FALSE(m.has_lladdr);
    // A solicited advertisement must not go to a multicast group.
    EXPECT_EQ(parse_nd(ns_frame(nd_body(target, {}), 255, 0, "fd00:0:0:1::5", "ff02::1",
                                icmpv6_neighbor_advertisement, 0x40000000u),
                       14, m),
              drop_reason::ndp_malformed);
    ASSERT_EQ(parse_nd(ns_frame(nd_body(target, lladdr_option(2, host)), 255, 0, "fd00:0:0:1::5", "ff02::1",
                                icmpv6_neighbor_advertisement, 0x20000000u),
                       14, m),
              no_drop);
    EXPECT_EQ(m.flags, na_override);
    // A source link-layer option in an advertisement is not its target's address.
    ASSERT_EQ(parse_nd(ns_frame(nd_body(target, lladdr_option(1, host)), 255, 0, "fd00:0:0:1::5", "ff02::1",
                                icmpv6_neighbor_advertisement, 0),
                       14, m),
              no_drop);
    EXPECT_FALSE(m.has_lladdr);
    // Not neighbour discovery at all: left to the caller.
    const bytes echo = frame_builder().ipv6("fe80::5", "fd00:0:0:1::1").ttl(255).echo_request(1).build();
    EXPECT_EQ(parse_nd(echo, 14, m), drop_reason::icmp_type_unsupported);
    const bytes udp = frame_builder().ipv6("fe80::5", "fd00:0:0:1::1").udp(1, 2).build();
    EXPECT_EQ(parse_nd(udp, 14, m), drop_reason::icmp_type_unsupported);
    // Every truncation of a good frame: never read past the end.
    const bytes full = ns_frame(good);
    for (std::size_t n = 0; n + 1 < full.size(); ++n) {
        const bytes cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
        EXPECT_NE(parse_nd(cut, 14, m), no_drop) << n;
    }
}

// ---------------------------------------------------------------------------
// 802.1Q: push, pop, rewrite in front of an unchanged L3 header

TEST(l2, a_tag_is_pushed_into_headroom_popped_and_rewritten) {
    const bytes untagged = frame_builder().eth(host, gw).ipv4("10.0.0.5", "198.51.100.7").udp(1000, 53).build();
    const bytes tagged =
        frame_builder().eth(gw, mac("02:00:00:00:09:09")).vlan(42).ipv4("10.0.0.5", "198.51.100.7").udp(1000, 53).build();
    // Push: 8 bytes of headroom in front of the untagged frame.
    bytes buffer(8, 0xaa);
    buffer.insert(buffer.end(), untagged.begin(), untagged.end());
    const std::size_t start = write_l2_header(buffer, 8, untagged.size(), 14, gw, mac("02:00:00:00:09:09"), 42);
    ASSERT_EQ(start, 4u);
    EXPECT_EQ(bytes(buffer.begin() + 4, buffer.end()), tagged);
    // Pop: the tagged frame loses its tag, the start moves 4 bytes later.
    bytes popped = tagged;
    const std::size_t later = write_l2_header(popped, 0, popped.size(), 18, host, gw, 0);
    ASSERT_EQ(later, 4u);
    EXPECT_EQ(bytes(popped.begin() + 4, popped.end()), untagged);
    // Rewrite: same length, new VID.
    bytes retagged = tagged;
    ASSERT_EQ(write_l2_header(retagged, 0, retagged.size(), 18, gw, mac("02:00:00:00:09:09"), 7), 0u);
    EXPECT_EQ(retagged,
              frame_builder().eth(gw, mac("02:00:00:00:09:09")).vlan(7).ipv4("10.0.0.5", "198.51.100.7").udp(1000, 53).build());
    // Without headroom nothing is written.
    bytes tight = untagged;
    EXPECT_EQ(write_l2_header(tight, 0, tight.size(), 14, gw, host, 42), npos_l2);
    EXPECT_EQ(tight, untagged);
    // read_l2_header sees what was written.
    l2_header h;
    ASSERT_TRUE(read_l2_header(tagged, h));
    EXPECT_EQ(h.tags, 1);
    EXPECT_EQ(h.outer_tci, 42);
    EXPECT_EQ(h.l3_offset, 18);
    EXPECT_EQ(h.ethertype, ethertype_ipv4);
    EXPECT_EQ(h.src, gw);
    EXPECT_FALSE(read_l2_header(bytes(13, 0), h));
}

} // namespace
} // namespace egress::net
