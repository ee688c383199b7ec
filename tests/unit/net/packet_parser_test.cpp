// Table-driven parser fixtures: {description, frame, drop reason, expected view}.
#include "net/packet_parser.hpp"

#include <functional>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include <cstddef>
#include <cstring>

#include <gtest/gtest.h>

#include "fragmenter.hpp"
#include "packet_builder.hpp"

namespace egress::test {
namespace {

using net::packet_view;
using stats::drop_reason;

struct parse_case {
    std::string description;
    bytes frame;
    drop_reason expected;
    std::optional<packet_view> view; // every field, for accepted frames
};

// gtest names a failing case by its description instead of dumping its bytes.
void PrintTo(const parse_case& c, std::ostream* os) { *os << c.description; }

void expect_view_eq(const packet_view& actual, const packet_view& expected) {
    EXPECT_EQ(actual.l3_offset, expected.l3_offset);
    EXPECT_EQ(actual.l4_offset, expected.l4_offset);
    EXPECT_EQ(actual.l3_length, expected.l3_length);
    EXPECT_EQ(actual.l4_length, expected.l4_length);
    EXPECT_EQ(actual.vlan_tci, expected.vlan_tci);
    EXPECT_EQ(actual.has_vlan, expected.has_vlan);
    EXPECT_EQ(actual.family, expected.family);
    EXPECT_EQ(actual.proto, expected.proto);
    EXPECT_EQ(actual.ttl, expected.ttl);
    EXPECT_EQ(actual.tcp_flags, expected.tcp_flags);
    EXPECT_EQ(actual.icmp_type, expected.icmp_type);
    EXPECT_EQ(actual.src.to_string(), expected.src.to_string());
    EXPECT_EQ(actual.dst.to_string(), expected.dst.to_string());
    EXPECT_EQ(actual.src_port, expected.src_port);
    EXPECT_EQ(actual.dst_port, expected.dst_port);
    EXPECT_EQ(actual.fragment, expected.fragment);
    EXPECT_EQ(actual.frag_offset, expected.frag_offset);
    EXPECT_EQ(actual.frag_length, expected.frag_length);
    EXPECT_EQ(actual.frag_id, expected.frag_id);
}

// A copy of `frame` changed by `edit`.
bytes with(bytes frame, const std::function<void(bytes&)>& edit) {
    edit(frame);
    return frame;
}
bytes prefix(const bytes& frame, std::size_t n) { return bytes(frame.begin(), frame.begin() + n); }

constexpr std::size_t l3 = 14; // untagged frames

frame_builder v4() { return frame_builder().ipv4("10.0.0.1", "198.51.100.7"); }
frame_builder v4_from(std::string_view src, std::string_view dst = "198.51.100.7") {
    return frame_builder().ipv4(src, dst);
}
frame_builder v6() { return frame_builder().ipv6("2001:db8::1", "2001:db8:1::7"); }
frame_builder v6_from(std::string_view src, std::string_view dst = "2001:db8:1::7") {
    return frame_builder().ipv6(src, dst);
}
bytes tcp4() { return v4().tcp(40000, 443).build(); }

// Edits an IPv4 header field and re-seals its checksum.
bytes v4_edit(bytes frame, const std::function<void(bytes&)>& edit, std::size_t l3_offset = l3) {
    edit(frame);
    fix_ipv4_checksum(frame, l3_offset);
    return frame;
}

const net::ip_address v4_src = ip("10.0.0.1");
const net::ip_address v4_dst = ip("198.51.100.7");
const net::ip_address v6_src = ip("2001:db8::1");
const net::ip_address v6_dst = ip("2001:db8:1::7");
constexpr auto v6_family = net::ip_family::v6;

std::vector<parse_case> accepted_cases() {
    return {
        {"ipv4_tcp_syn", tcp4(), stats::no_drop,
         packet_view{.l3_offset = 14, .l4_offset = 34, .l3_length = 40, .l4_length = 20, .proto = 6, .ttl = 64,
                     .tcp_flags = net::tcp_syn, .src = v4_src, .dst = v4_dst, .src_port = 40000, .dst_port = 443}},
        {"ipv4_tcp_options_and_payload",
         v4().tcp(40000, 443, net::tcp_syn | net::tcp_ack).tcp_options({2, 4, 5, 0xb4, 1, 1, 4, 2}).payload("hello").build(),
         stats::no_drop,
         packet_view{.l3_offset = 14, .l4_offset = 34, .l3_length = 53, .l4_length = 33, .proto = 6, .ttl = 64,
                     .tcp_flags = 0x12, .src = v4_src, .dst = v4_dst, .src_port = 40000, .dst_port = 443}},
        {"ipv4_udp", v4().udp(5353, 53).payload_size(12).ttl(9).build(), stats::no_drop,
         packet_view{.l3_offset = 14, .l4_offset = 34, .l3_length = 40, .l4_length = 20, .proto = 17, .ttl = 9,
                     .src = v4_src, .dst = v4_dst, .src_port = 5353, .dst_port = 53}},
        {"ipv4_udp_zero_checksum", v4().udp(1, 2).udp_zero_checksum().build(), stats::no_drop,
         packet_view{.l3_offset = 14, .l4_offset = 34, .l3_length = 28, .l4_length = 8, .proto = 17, .ttl = 64,
                     .src = v4_src, .dst = v4_dst, .src_port = 1, .dst_port = 2}},
        {"ipv4_udp_ethernet_padding_excluded", v4().udp(1000, 2000).payload("hi").pad_to(60).build(), stats::no_drop,
         packet_view{.l3_offset = 14, .l4_offset = 34, .l3_length = 30, .l4_length = 10, .proto = 17, .ttl = 64,
                     .src = v4_src, .dst = v4_dst, .src_port = 1000, .dst_port = 2000}},
        {"ipv4_udp_length_shorter_than_datagram",
         with(v4().udp(1000, 2000).payload_size(4).build(), [](bytes& f) { put16(f, l3 + 20 + 4, 8); }), stats::no_drop,
         packet_view{.l3_offset = 14, .l4_offset = 34, .l3_length = 32, .l4_length = 12, .proto = 17, .ttl = 64,
                     .src = v4_src, .dst = v4_dst, .src_port = 1000, .dst_port = 2000}},
        {"ipv4_icmp_echo_request_id_on_source_side", v4().echo_request(0x4242, 7).payload_size(16).build(),
         stats::no_drop,
         packet_view{.l3_offset = 14, .l4_offset = 34, .l3_length = 44, .l4_length = 24, .proto = 1, .ttl = 64,
                     .icmp_type = 8, .src = v4_src, .dst = v4_dst, .src_port = 0x4242, .dst_port = 0}},
        {"ipv4_icmp_echo_reply_id_on_destination_side", v4().echo_reply(0x4242, 7).build(), stats::no_drop,
         packet_view{.l3_offset = 14, .l4_offset = 34, .l3_length = 28, .l4_length = 8, .proto = 1, .ttl = 64,
                     .icmp_type = 0, .src = v4_src, .dst = v4_dst, .src_port = 0, .dst_port = 0x4242}},
        {"ipv4_options_nop_router_alert_eol", v4().ipv4_options({1, 1, 0x94, 4, 0, 0, 0, 0}).udp(7, 8).build(),
         stats::no_drop,
         packet_view{.l3_offset = 14, .l4_offset = 42, .l3_length = 36, .l4_length = 8, .proto = 17, .ttl = 64,
                     .src = v4_src, .dst = v4_dst, .src_port = 7, .dst_port = 8}},
        {"ipv4_options_full_40_bytes", v4().ipv4_options([] {
             bytes o(40, 0);
             o[0] = 0x44; // timestamp, length 40
             o[1] = 40;
             o[2] = 5;
             return o;
         }()).tcp(1, 2, net::tcp_ack).build(),
         stats::no_drop,
         packet_view{.l3_offset = 14, .l4_offset = 74, .l3_length = 80, .l4_length = 20, .proto = 6, .ttl = 64,
                     .tcp_flags = net::tcp_ack, .src = v4_src, .dst = v4_dst, .src_port = 1, .dst_port = 2}},
        {"ipv4_no_df_flag", v4().ipv4_fragment_field(0).udp(7, 8).build(), stats::no_drop,
         packet_view{.l3_offset = 14, .l4_offset = 34, .l3_length = 28, .l4_length = 8, .proto = 17, .ttl = 64,
                     .src = v4_src, .dst = v4_dst, .src_port = 7, .dst_port = 8}},
        {"vlan_8021q", v4().vlan(0x2064).udp(7, 8).build(), stats::no_drop,
         packet_view{.l3_offset = 18, .l4_offset = 38, .l3_length = 28, .l4_length = 8, .vlan_tci = 0x2064,
                     .has_vlan = true, .proto = 17, .ttl = 64, .src = v4_src, .dst = v4_dst, .src_port = 7,
                     .dst_port = 8}},
        {"vlan_qinq_88a8_records_inner_tci", v4().vlan(10, net::ethertype_qinq).vlan(20).udp(7, 8).build(),
         stats::no_drop,
         packet_view{.l3_offset = 22, .l4_offset = 42, .l3_length = 28, .l4_length = 8, .vlan_tci = 20,
                     .has_vlan = true, .proto = 17, .ttl = 64, .src = v4_src, .dst = v4_dst, .src_port = 7,
                     .dst_port = 8}},
        {"vlan_double_8100", v6().vlan(1).vlan(2).udp(7, 8).build(), stats::no_drop,
         packet_view{.l3_offset = 22, .l4_offset = 62, .l3_length = 48, .l4_length = 8, .vlan_tci = 2,
                     .has_vlan = true, .family = v6_family, .proto = 17, .ttl = 64, .src = v6_src, .dst = v6_dst,
                     .src_port = 7, .dst_port = 8}},
        {"ipv6_tcp", v6().ttl(3).tcp(50000, 80, net::tcp_fin | net::tcp_ack).payload_size(100).build(), stats::no_drop,
         packet_view{.l3_offset = 14, .l4_offset = 54, .l3_length = 160, .l4_length = 120, .family = v6_family,
                     .proto = 6, .ttl = 3, .tcp_flags = 0x11, .src = v6_src, .dst = v6_dst, .src_port = 50000,
                     .dst_port = 80}},
        {"ipv6_udp_trailing_bytes_excluded", v6().udp(53, 5353).payload_size(3).pad_to(128).build(), stats::no_drop,
         packet_view{.l3_offset = 14, .l4_offset = 54, .l3_length = 51, .l4_length = 11, .family = v6_family,
                     .proto = 17, .ttl = 64, .src = v6_src, .dst = v6_dst, .src_port = 53, .dst_port = 5353}},
        {"ipv6_icmpv6_echo_request", v6().echo_request(0x0102).build(), stats::no_drop,
         packet_view{.l3_offset = 14, .l4_offset = 54, .l3_length = 48, .l4_length = 8, .family = v6_family,
                     .proto = 58, .ttl = 64, .icmp_type = 128, .src = v6_src, .dst = v6_dst, .src_port = 0x0102}},
        {"ipv6_icmpv6_echo_reply", v6().echo_reply(0x0102).build(), stats::no_drop,
         packet_view{.l3_offset = 14, .l4_offset = 54, .l3_length = 48, .l4_length = 8, .family = v6_family,
                     .proto = 58, .ttl = 64, .icmp_type = 129, .src = v6_src, .dst = v6_dst, .dst_port = 0x0102}},
        {"ipv6_ext_chain_hbh_dst_routing_dst_tcp",
         v6().ipv6_ext(ipv6_hop_by_hop).ipv6_ext(ipv6_destination_options, 1).ipv6_ext(ipv6_routing)
             .ipv6_ext(ipv6_destination_options).tcp(1, 2).build(),
         stats::no_drop,
         packet_view{.l3_offset = 14, .l4_offset = 94, .l3_length = 100, .l4_length = 20, .family = v6_family,
                     .proto = 6, .ttl = 64, .tcp_flags = net::tcp_syn, .src = v6_src, .dst = v6_dst, .src_port = 1,
                     .dst_port = 2}},
        {"ipv6_eight_ext_headers_is_the_limit", [] {
             auto b = v6().ipv6_ext(ipv6_hop_by_hop);
             for (int i = 0; i < 7; ++i) b.ipv6_ext(i % 2 ? ipv6_routing : ipv6_destination_options);
             return b.udp(7, 8).build();
         }(),
         stats::no_drop,
         packet_view{.l3_offset = 14, .l4_offset = 118, .l3_length = 112, .l4_length = 8, .family = v6_family,
                     .proto = 17, .ttl = 64, .src = v6_src, .dst = v6_dst, .src_port = 7, .dst_port = 8}},
        // Fragments: 48 bytes of UDP split 16 + 32.
        {"ipv4_first_fragment", fragment_ipv4(v4().udp(7, 8).payload_size(40).build(), {16}, 0x77)[0], stats::no_drop,
         packet_view{.l3_offset = 14, .l4_offset = 34, .l3_length = 36, .l4_length = 16, .proto = 17, .ttl = 64,
                     .src = v4_src, .dst = v4_dst, .src_port = 7, .dst_port = 8,
                     .fragment = net::fragment_present | net::fragment_more, .frag_offset = 0, .frag_length = 16,
                     .frag_id = 0x77}},
        {"ipv4_later_fragment_has_no_ports", fragment_ipv4(v4().udp(7, 8).payload_size(40).build(), {16}, 0x77)[1],
         stats::no_drop,
         packet_view{.l3_offset = 14, .l4_offset = 34, .l3_length = 52, .l4_length = 32, .proto = 17, .ttl = 64,
                     .src = v4_src, .dst = v4_dst, .fragment = net::fragment_present, .frag_offset = 16,
                     .frag_length = 32, .frag_id = 0x77}},
        {"ipv4_tcp_first_fragment_with_whole_header",
         fragment_ipv4(v4().tcp(1, 2, net::tcp_ack).payload_size(40).build(), {24}, 9)[0], stats::no_drop,
         packet_view{.l3_offset = 14, .l4_offset = 34, .l3_length = 44, .l4_length = 24, .proto = 6, .ttl = 64,
                     .tcp_flags = net::tcp_ack, .src = v4_src, .dst = v4_dst, .src_port = 1, .dst_port = 2,
                     .fragment = net::fragment_present | net::fragment_more, .frag_length = 24, .frag_id = 9}},
        {"ipv6_first_fragment", fragment_ipv6(v6().udp(7, 8).payload_size(40).build(), {16}, 0x01020304)[0],
         stats::no_drop,
         packet_view{.l3_offset = 14, .l4_offset = 62, .l3_length = 64, .l4_length = 16, .family = v6_family,
                     .proto = 17, .ttl = 64, .src = v6_src, .dst = v6_dst, .src_port = 7, .dst_port = 8,
                     .fragment = net::fragment_present | net::fragment_more, .frag_offset = 0, .frag_length = 16,
                     .frag_id = 0x01020304}},
        {"ipv6_later_fragment_has_no_ports", fragment_ipv6(v6().udp(7, 8).payload_size(40).build(), {16}, 0x01020304)[1],
         stats::no_drop,
         packet_view{.l3_offset = 14, .l4_offset = 62, .l3_length = 80, .l4_length = 32, .family = v6_family,
                     .proto = 17, .ttl = 64, .src = v6_src, .dst = v6_dst, .fragment = net::fragment_present,
                     .frag_offset = 16, .frag_length = 32, .frag_id = 0x01020304}},
        {"ipv6_first_fragment_chain_after_fragment_header",
         fragment_ipv6(v6().ipv6_ext(ipv6_destination_options).udp(7, 8).payload_size(40).build(), {24}, 5)[0],
         stats::no_drop,
         packet_view{.l3_offset = 14, .l4_offset = 70, .l3_length = 72, .l4_length = 16, .family = v6_family,
                     .proto = 17, .ttl = 64, .src = v6_src, .dst = v6_dst, .src_port = 7, .dst_port = 8,
                     .fragment = net::fragment_present | net::fragment_more, .frag_length = 24, .frag_id = 5}},
        {"ipv6_atomic_fragment_is_a_whole_datagram", v6().ipv6_ext(ipv6_fragment).udp(7, 8).build(), stats::no_drop,
         packet_view{.l3_offset = 14, .l4_offset = 62, .l3_length = 56, .l4_length = 8, .family = v6_family,
                     .proto = 17, .ttl = 64, .src = v6_src, .dst = v6_dst, .src_port = 7, .dst_port = 8}},
    };
}

parse_case drop(std::string description, bytes frame, drop_reason expected) {
    return {std::move(description), std::move(frame), expected, std::nullopt};
}

std::vector<parse_case> dropped_cases() {
    const bytes tcp = tcp4();
    const bytes udp6 = v6().udp(7, 8).build();
    const bytes nine_ext = [] {
        auto b = v6().ipv6_ext(ipv6_hop_by_hop);
        for (int i = 0; i < 8; ++i) b.ipv6_ext(ipv6_destination_options);
        return b.udp(7, 8).build();
    }();
    return {
        drop("l2_empty_frame", {}, drop_reason::l2_truncated),
        drop("l2_13_bytes", prefix(tcp, 13), drop_reason::l2_truncated),
        drop("vlan_tag_cut_short", prefix(v4().vlan(5).udp(1, 2).build(), 16), drop_reason::vlan_truncated),
        drop("vlan_inner_tag_cut_short", prefix(v4().vlan(5, net::ethertype_qinq).vlan(6).udp(1, 2).build(), 20),
             drop_reason::vlan_truncated),
        drop("ethertype_arp", frame_builder().ethertype(0x0806).payload_size(28).build(),
             drop_reason::ethertype_unsupported),
        drop("ethertype_three_vlan_tags", v4().vlan(1).vlan(2).vlan(3).udp(1, 2).build(),
             drop_reason::ethertype_unsupported),
        drop("ethertype_88a8_as_inner_tag", v4().vlan(1).vlan(2, net::ethertype_qinq).udp(1, 2).build(),
             drop_reason::ethertype_unsupported),
        drop("ipv4_header_cut_at_19_bytes", prefix(tcp, l3 + 19), drop_reason::ipv4_truncated),
        drop("ipv4_options_cut_short", prefix(v4().ipv4_options(bytes(40, 1)).build(), l3 + 50),
             drop_reason::ipv4_truncated),
        drop("ipv4_version_5", v4_edit(tcp, [](bytes& f) { f[l3] = 0x55; }), drop_reason::ipv4_bad_header),
        drop("ipv4_ihl_4", v4_edit(tcp, [](bytes& f) { f[l3] = 0x44; }), drop_reason::ipv4_bad_header),
        drop("ipv6_header_under_ipv4_ethertype", v6().ethertype(net::ethertype_ipv4).udp(1, 2).build(),
             drop_reason::ipv4_bad_header),
        drop("ipv4_bad_checksum", with(tcp, [](bytes& f) { f[l3 + 10] ^= 0x5a; }), drop_reason::ipv4_bad_checksum),
        drop("ipv4_bad_checksum_after_ttl_change", with(tcp, [](bytes& f) { f[l3 + 8] -= 1; }),
             drop_reason::ipv4_bad_checksum),
        drop("ipv4_total_length_below_header", v4_edit(tcp, [](bytes& f) { put16(f, l3 + 2, 19); }),
             drop_reason::ipv4_bad_length),
        drop("ipv4_total_length_past_frame", v4_edit(tcp, [](bytes& f) { put16(f, l3 + 2, 41); }),
             drop_reason::ipv4_bad_length),
        drop("ipv4_datagram_cut_short", prefix(v4().udp(1, 2).payload_size(10).build(), l3 + 37),
             drop_reason::ipv4_bad_length),
        drop("ipv4_option_length_1", v4().ipv4_options({0x94, 1, 0, 0}).udp(1, 2).build(),
             drop_reason::ipv4_bad_options),
        drop("ipv4_option_length_0", v4().ipv4_options({7, 0, 0, 0}).udp(1, 2).build(), drop_reason::ipv4_bad_options),
        drop("ipv4_option_overruns_header", v4().ipv4_options({1, 0x94, 8, 0}).udp(1, 2).build(),
             drop_reason::ipv4_bad_options),
        drop("ipv4_option_missing_length", v4().ipv4_options({1, 1, 1, 0x94}).udp(1, 2).build(),
             drop_reason::ipv4_bad_options),
        drop("ipv4_fragment_not_multiple_of_8", fragment_ipv4(v4().udp(7, 8).payload_size(40).build(), {12}, 1)[0],
             drop_reason::ipv4_bad_fragment),
        drop("ipv4_fragment_empty", v4().ipv4_fragment_field(0x2001).l4_raw(17, {}).build(),
             drop_reason::ipv4_bad_fragment),
        drop("ipv4_fragment_past_65535",
             v4_edit(fragment_ipv4(v4().udp(7, 8).payload_size(40).build(), {16}, 1)[1],
                     [](bytes& f) { put16(f, l3 + 6, 0x1fff); }),
             drop_reason::ipv4_bad_fragment),
        drop("ipv4_tiny_first_fragment_tcp", fragment_ipv4(v4().tcp(1, 2).payload_size(40).build(), {8}, 1)[0],
             drop_reason::fragment_tiny_first),
        drop("ipv4_tiny_first_fragment_tcp_options",
             fragment_ipv4(v4().tcp(1, 2).tcp_options(bytes(12, 1)).payload_size(40).build(), {24}, 1)[0],
             drop_reason::fragment_tiny_first),
        drop("ipv4_first_fragment_udp_length_within_it",
             with(fragment_ipv4(v4().udp(7, 8).payload_size(40).build(), {16}, 1)[0],
                  [](bytes& f) { put16(f, l3 + 24, 16); }),
             drop_reason::udp_bad_length),
        drop("ipv4_gre_unsupported", v4().l4_raw(47, bytes(8, 0)).build(), drop_reason::l4_proto_unsupported),
        drop("ipv4_icmpv6_proto_unsupported", v4().l4_raw(58, {128, 0, 0, 0, 0, 1, 0, 1}).build(),
             drop_reason::l4_proto_unsupported),
        drop("ipv6_header_cut_at_39_bytes", prefix(udp6, l3 + 39), drop_reason::ipv6_truncated),
        drop("ipv6_version_4", with(udp6, [](bytes& f) { f[l3] = 0x40; }), drop_reason::ipv6_bad_header),
        drop("ipv4_header_under_ipv6_ethertype", v4().ethertype(net::ethertype_ipv6).tcp(1, 2).build(),
             drop_reason::ipv6_bad_header),
        drop("ipv6_payload_length_past_frame", with(udp6, [](bytes& f) { put16(f, l3 + 4, 9); }),
             drop_reason::ipv6_bad_length),
        drop("ipv6_ext_length_past_payload",
             with(v6().ipv6_ext(ipv6_hop_by_hop, 1).udp(7, 8).build(), [](bytes& f) { f[l3 + 41] = 5; }),
             drop_reason::ipv6_ext_header_malformed),
        drop("ipv6_ext_one_byte_payload", v6().l4_raw(ipv6_hop_by_hop, {17}).build(),
             drop_reason::ipv6_ext_header_malformed),
        drop("ipv6_hop_by_hop_not_first", v6().ipv6_ext(ipv6_destination_options).ipv6_ext(ipv6_hop_by_hop).udp(7, 8).build(),
             drop_reason::ipv6_ext_header_malformed),
        drop("ipv6_nine_ext_headers", nine_ext, drop_reason::ipv6_ext_chain_too_long),
        // Routing headers (the builder's is type 253, no segments left, at l3 + 40).
        drop("ipv6_routing_type0_no_segments_left",
             with(v6().ipv6_ext(ipv6_routing).tcp(1, 2).build(), [](bytes& f) { f[l3 + 42] = 0; }),
             drop_reason::ipv6_routing_type0),
        drop("ipv6_routing_type0_two_segments_left",
             with(v6().ipv6_ext(ipv6_routing, 4).tcp(1, 2).build(), [](bytes& f) { f[l3 + 42] = 0, f[l3 + 43] = 2; }),
             drop_reason::ipv6_routing_type0),
        drop("ipv6_routing_type0_after_hop_by_hop",
             with(v6().ipv6_ext(ipv6_hop_by_hop).ipv6_ext(ipv6_routing).udp(7, 8).build(),
                  [](bytes& f) { f[l3 + 50] = 0; }),
             drop_reason::ipv6_routing_type0),
        drop("ipv6_routing_type2_one_segment_left",
             with(v6().ipv6_ext(ipv6_routing, 2).udp(7, 8).build(), [](bytes& f) { f[l3 + 42] = 2, f[l3 + 43] = 1; }),
             drop_reason::ipv6_source_routed),
        drop("ipv6_routing_srh_segments_left",
             with(v6().ipv6_ext(ipv6_routing, 4).tcp(1, 2).build(), [](bytes& f) { f[l3 + 42] = 4, f[l3 + 43] = 1; }),
             drop_reason::ipv6_source_routed),
        drop("ipv6_routing_header_cut_short", v6().l4_raw(ipv6_routing, {17, 0, 0}).build(),
             drop_reason::ipv6_ext_header_malformed),
        drop("ipv6_l4_hidden_behind_a_routing_header_past_the_payload",
             with(v6().ipv6_ext(ipv6_routing).tcp(1, 2).build(), [](bytes& f) { f[l3 + 41] = 200; }),
             drop_reason::ipv6_ext_header_malformed),
        drop("ipv6_fragment_header_cut_short", v6().l4_raw(44, {17, 0, 0, 1}).build(), drop_reason::ipv6_bad_fragment),
        drop("ipv6_two_fragment_headers", v6().ipv6_ext(ipv6_fragment).ipv6_ext(ipv6_fragment).udp(7, 8).build(),
             drop_reason::ipv6_bad_fragment),
        drop("ipv6_fragment_not_multiple_of_8", fragment_ipv6(v6().udp(7, 8).payload_size(40).build(), {12}, 1)[0],
             drop_reason::ipv6_bad_fragment),
        drop("ipv6_tiny_first_fragment_chain_cut",
             fragment_ipv6(v6().ipv6_ext(ipv6_destination_options, 2).udp(7, 8).payload_size(16).build(), {16}, 1)[0],
             drop_reason::fragment_tiny_first),
        drop("ipv6_tiny_first_fragment_tcp", fragment_ipv6(v6().tcp(1, 2).payload_size(40).build(), {16}, 1)[0],
             drop_reason::fragment_tiny_first),
        drop("ipv6_no_next_header", v6().payload_size(8).build(), drop_reason::l4_proto_unsupported),
        drop("ipv6_esp_unsupported", v6().l4_raw(50, bytes(16, 0)).build(), drop_reason::l4_proto_unsupported),
        drop("ipv6_ext_then_esp_unsupported", v6().ipv6_ext(ipv6_destination_options).l4_raw(50, bytes(16, 0)).build(),
             drop_reason::l4_proto_unsupported),
        drop("ipv6_icmpv4_proto_unsupported", v6().l4_raw(1, {8, 0, 0, 0, 0, 1, 0, 1}).build(),
             drop_reason::l4_proto_unsupported),
        drop("tcp_19_bytes", v4().l4_raw(6, bytes(19, 0)).build(), drop_reason::tcp_truncated),
        drop("tcp_empty", v6().l4_raw(6, {}).build(), drop_reason::tcp_truncated),
        drop("tcp_data_offset_4", with(tcp, [](bytes& f) { f[l3 + 20 + 12] = 0x40; }), drop_reason::tcp_bad_offset),
        drop("tcp_data_offset_past_segment",
             with(v4().tcp(1, 2).payload_size(10).build(), [](bytes& f) { f[l3 + 20 + 12] = 0x80; }),
             drop_reason::tcp_bad_offset),
        drop("udp_7_bytes", v4().l4_raw(17, bytes(7, 0)).build(), drop_reason::udp_truncated),
        drop("udp_length_7", with(v4().udp(1, 2).build(), [](bytes& f) { put16(f, l3 + 24, 7); }),
             drop_reason::udp_bad_length),
        drop("udp_length_past_datagram",
             with(v6().udp(1, 2).payload_size(4).pad_to(100).build(), [](bytes& f) { put16(f, l3 + 44, 13); }),
             drop_reason::udp_bad_length),
        drop("icmp_7_bytes", v4().l4_raw(1, {8, 0, 0, 0, 0, 1, 0}).build(), drop_reason::icmp_truncated),
        drop("icmpv6_7_bytes", v6().l4_raw(58, {128, 0, 0, 0, 0, 1, 0}).build(), drop_reason::icmp_truncated),
        drop("icmp_destination_unreachable_quoting_no_ip_header", v4().icmp(3, 1).payload_size(28).build(),
             drop_reason::icmp_quote_malformed),
        drop("icmp_time_exceeded_quoting_no_ip_header", v4().icmp(11, 0).payload_size(28).build(),
             drop_reason::icmp_quote_malformed),
        drop("icmp_timestamp", v4().icmp(13, 0).payload_size(12).build(), drop_reason::icmp_type_unsupported),
        drop("icmpv6_neighbor_solicitation", v6().icmp(135, 0).payload_size(16).build(),
             drop_reason::icmp_type_unsupported),
        drop("icmpv6_with_icmpv4_echo_type", v6().icmp(8, 0).build(), drop_reason::icmp_type_unsupported),
        drop("ipv4_source_multicast", v4_from("224.0.0.1").udp(1, 2).build(), drop_reason::bad_address),
        drop("ipv4_source_multicast_top", v4_from("239.255.255.255").udp(1, 2).build(), drop_reason::bad_address),
        drop("ipv4_source_broadcast", v4_from("255.255.255.255").udp(1, 2).build(), drop_reason::bad_address),
        drop("ipv4_source_unspecified", v4_from("0.0.0.0").udp(1, 2).build(), drop_reason::bad_address),
        drop("ipv4_destination_unspecified", v4_from("10.0.0.1", "0.0.0.0").udp(1, 2).build(),
             drop_reason::bad_address),
        drop("ipv6_source_multicast", v6_from("ff02::1").udp(1, 2).build(), drop_reason::bad_address),
        drop("ipv6_source_unspecified", v6_from("::").udp(1, 2).build(), drop_reason::bad_address),
        drop("ipv6_source_ipv4_mapped", v6_from("::ffff:10.0.0.1").udp(1, 2).build(), drop_reason::bad_address),
        drop("ipv6_destination_unspecified", v6_from("2001:db8::1", "::").udp(1, 2).build(),
             drop_reason::bad_address),
    };
}

std::vector<parse_case> all_cases() {
    auto cases = accepted_cases();
    auto dropped = dropped_cases();
    cases.insert(cases.end(), dropped.begin(), dropped.end());
    return cases;
}

class parser_fixture : public ::testing::TestWithParam<parse_case> {};

TEST_P(parser_fixture, verdict_and_view) {
    const parse_case& c = GetParam();
    packet_view view;
    EXPECT_EQ(stats::name_of(net::parse_frame(c.frame, view)), stats::name_of(c.expected));
    if (c.view) expect_view_eq(view, *c.view);
    // The general parse (no fast path) gives the same verdict and view.
    packet_view general;
    EXPECT_EQ(stats::name_of(net::parse_frame_general(c.frame, general)), stats::name_of(c.expected));
    if (c.view) expect_view_eq(general, *c.view);
}

INSTANTIATE_TEST_SUITE_P(table, parser_fixture, ::testing::ValuesIn(all_cases()),
                         [](const ::testing::TestParamInfo<parse_case>& info) { return info.param.description; });

TEST(parser_table, covers_every_parser_drop_reason) {
    const std::set<drop_reason> parser_reasons{
        drop_reason::l2_truncated,          drop_reason::vlan_truncated,
        drop_reason::ethertype_unsupported, drop_reason::ipv4_truncated,
        drop_reason::ipv4_bad_header,       drop_reason::ipv4_bad_checksum,
        drop_reason::ipv4_bad_length,       drop_reason::ipv4_bad_options,
        drop_reason::ipv4_bad_fragment,     drop_reason::ipv6_truncated,
        drop_reason::ipv6_bad_header,       drop_reason::ipv6_bad_length,
        drop_reason::ipv6_ext_header_malformed, drop_reason::ipv6_ext_chain_too_long,
        drop_reason::ipv6_bad_fragment,     drop_reason::l4_proto_unsupported,
        drop_reason::fragment_tiny_first,
        drop_reason::tcp_truncated,         drop_reason::tcp_bad_offset,
        drop_reason::udp_truncated,         drop_reason::udp_bad_length,
        drop_reason::icmp_truncated,        drop_reason::icmp_type_unsupported,
        drop_reason::bad_address,           drop_reason::icmp_quote_malformed,
    };
    std::set<drop_reason> covered;
    for (const auto& c : dropped_cases()) covered.insert(c.expected);
    for (const auto r : parser_reasons) EXPECT_TRUE(covered.count(r)) << stats::name_of(r);
}

TEST(parser, resets_the_view_between_frames) {
    packet_view view;
    ASSERT_EQ(net::parse_frame(v4().vlan(7).tcp(1, 2, net::tcp_rst).build(), view), stats::no_drop);
    ASSERT_EQ(net::parse_frame(v6().echo_reply(9).build(), view), stats::no_drop);
    EXPECT_FALSE(view.has_vlan);
    EXPECT_EQ(view.vlan_tci, 0);
    EXPECT_EQ(view.tcp_flags, 0);
    EXPECT_EQ(view.src_port, 0);
    EXPECT_EQ(view.dst_port, 9);
}

// A view full of junk comes out of a parse exactly like a fresh one: every
// member before the quote is reset (the quote is reset by an ICMP error's parse).
TEST(parser, a_reused_view_parses_like_a_fresh_one) {
    for (const bytes& frame : {v4().vlan(7).tcp(1, 2, net::tcp_syn).build(), v6().echo_reply(9).build(),
                               v4().udp(5, 6).build()}) {
        packet_view fresh;
        packet_view reused;
        std::memset(static_cast<void*>(&reused), 0xAB, sizeof reused);
        ASSERT_EQ(net::parse_frame(frame, fresh), stats::no_drop);
        ASSERT_EQ(net::parse_frame(frame, reused), stats::no_drop);
        EXPECT_EQ(std::memcmp(&fresh, &reused, offsetof(packet_view, quoted)), 0);
        EXPECT_FALSE(reused.icmp_error);
    }
}

// Every proper prefix of a valid frame is dropped with the reason of the layer the
// cut falls in (the IP header declares more bytes than are present beyond it).
TEST(parser_truncation, every_prefix_of_a_tagged_ipv4_tcp_frame) {
    const bytes frame =
        v4().vlan(5).ipv4_options({1, 1, 0x94, 4, 0, 0}).tcp(1, 2).tcp_options({2, 4, 5, 0xb4}).payload("x").build();
    const std::size_t ip_start = 18;
    const std::size_t ip_header_end = ip_start + 28;
    for (std::size_t n = 0; n < frame.size(); ++n) {
        packet_view view;
        const auto r = net::parse_frame(prefix(frame, n), view);
        const auto expected = n < 14                ? drop_reason::l2_truncated
                              : n < ip_start        ? drop_reason::vlan_truncated
                              : n < ip_header_end   ? drop_reason::ipv4_truncated
                                                    : drop_reason::ipv4_bad_length;
        EXPECT_EQ(stats::name_of(r), stats::name_of(expected)) << "prefix " << n;
    }
}

TEST(parser_truncation, every_prefix_of_an_ipv6_ext_header_frame) {
    const bytes frame =
        v6().ipv6_ext(ipv6_hop_by_hop).ipv6_ext(ipv6_routing, 2).tcp(1, 2).payload("xyz").build();
    for (std::size_t n = 0; n < frame.size(); ++n) {
        packet_view view;
        const auto r = net::parse_frame(prefix(frame, n), view);
        const auto expected = n < 14        ? drop_reason::l2_truncated
                              : n < l3 + 40 ? drop_reason::ipv6_truncated
                                            : drop_reason::ipv6_bad_length;
        EXPECT_EQ(stats::name_of(r), stats::name_of(expected)) << "prefix " << n;
    }
}

// The same frames, but with the IP length fields shrunk to match each cut, so the
// inner layers see every possible short length.
bytes shrink_ipv4(const bytes& frame, std::size_t l4_bytes, std::size_t header_length) {
    bytes f = prefix(frame, l3 + header_length + l4_bytes);
    put16(f, l3 + 2, static_cast<uint16_t>(header_length + l4_bytes));
    fix_ipv4_checksum(f, l3);
    return f;
}

TEST(parser_truncation, every_short_ipv4_tcp_segment) {
    const bytes frame = v4().tcp(1, 2).tcp_options({2, 4, 5, 0xb4, 1, 1, 1, 0}).payload("ab").build();
    const std::size_t full = frame.size() - l3 - 20;
    for (std::size_t k = 0; k <= full; ++k) {
        packet_view view;
        const auto r = net::parse_frame(shrink_ipv4(frame, k, 20), view);
        const auto expected = k < 20 ? drop_reason::tcp_truncated : k < 28 ? drop_reason::tcp_bad_offset : stats::no_drop;
        EXPECT_EQ(stats::name_of(r), stats::name_of(expected)) << "l4 bytes " << k;
    }
}

TEST(parser_truncation, every_short_ipv4_udp_and_icmp_datagram) {
    const bytes udp = v4().udp(1, 2).payload("abcd").build();
    const bytes icmp = v4().echo_request(3).payload("abcd").build();
    for (std::size_t k = 0; k < 12; ++k) {
        packet_view view;
        const auto r = net::parse_frame(shrink_ipv4(udp, k, 20), view);
        const auto expected = k < 8 ? drop_reason::udp_truncated : drop_reason::udp_bad_length;
        EXPECT_EQ(stats::name_of(r), stats::name_of(expected)) << "udp bytes " << k;
        const auto r_icmp = net::parse_frame(shrink_ipv4(icmp, k, 20), view);
        EXPECT_EQ(stats::name_of(r_icmp), stats::name_of(k < 8 ? drop_reason::icmp_truncated : stats::no_drop))
            << "icmp bytes " << k;
    }
}

TEST(parser_truncation, every_short_ipv6_payload_through_the_ext_chain) {
    const bytes frame = v6().ipv6_ext(ipv6_hop_by_hop).ipv6_ext(ipv6_destination_options, 1).tcp(1, 2).payload("ab").build();
    const std::size_t ext = 8 + 16;
    const std::size_t full = frame.size() - l3 - 40;
    for (std::size_t k = 0; k <= full; ++k) {
        bytes f = prefix(frame, l3 + 40 + k);
        put16(f, l3 + 4, static_cast<uint16_t>(k));
        packet_view view;
        const auto r = net::parse_frame(f, view);
        const auto expected = k < ext        ? drop_reason::ipv6_ext_header_malformed
                              : k < ext + 20 ? drop_reason::tcp_truncated
                                             : stats::no_drop;
        EXPECT_EQ(stats::name_of(r), stats::name_of(expected)) << "payload bytes " << k;
    }
}

// The device's IPv4 checksum verdict (net::l3_checksum): a frame it verified
// as good is not summed again; without that verdict a bad header is dropped,
// and the verdict changes nothing else (a bad header length still is).
TEST(parser_device_checksum, only_a_device_verified_header_skips_the_software_check) {
    const bytes bad_sum = with(tcp4(), [](bytes& f) { f[l3 + 10] ^= 0x5a; });
    packet_view view;
    EXPECT_EQ(stats::name_of(net::parse_frame(bad_sum, view)), stats::name_of(drop_reason::ipv4_bad_checksum));
    EXPECT_EQ(stats::name_of(net::parse_frame(bad_sum, view, net::l3_checksum::unchecked)),
              stats::name_of(drop_reason::ipv4_bad_checksum));
    EXPECT_EQ(stats::name_of(net::parse_frame(bad_sum, view, net::l3_checksum::device_good)),
              stats::name_of(stats::no_drop));
    EXPECT_EQ(view.src_port, 40000);
    const bytes bad_ihl = with(tcp4(), [](bytes& f) { f[l3] = 0x44; });
    EXPECT_EQ(stats::name_of(net::parse_frame(bad_ihl, view, net::l3_checksum::device_good)),
              stats::name_of(drop_reason::ipv4_bad_header));
}

} // namespace
} // namespace egress::test
