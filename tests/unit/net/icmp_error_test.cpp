// ICMP errors: parsing the quoted packet, translating it (exact bytes against
// frames the builder computed from scratch), the gateway's own errors, MSS
// clamping and the token bucket.
#include "net/icmp_error.hpp"

#include <gtest/gtest.h>

#include "base/token_bucket.hpp"
#include "net/checksum.hpp"
#include "net/packet_parser.hpp"
#include "net/rewrite.hpp"
#include "net/tcp_mss.hpp"
#include "packet_builder.hpp"

namespace egress::test {
namespace {

using net::packet_view;
using stats::drop_reason;
using stats::no_drop;

constexpr std::size_t eth = 14;

// The IP datagram of a built frame (Ethernet header dropped), cut to `keep` bytes.
bytes datagram(const bytes& frame, std::size_t keep = SIZE_MAX) {
    const std::size_t n = std::min(keep, frame.size() - eth);
    return bytes(frame.begin() + eth, frame.begin() + static_cast<std::ptrdiff_t>(eth + n));
}

// What a host sent from inside, as translated on its way out, and as it was
// before translation.
bytes outbound_tcp(std::string_view src, uint16_t sport, std::size_t payload = 1000) {
    return frame_builder().ipv4(src, "198.51.100.7").ttl(63).tcp(sport, 443, net::tcp_ack).tcp_seq(7777, 8888)
        .payload_size(payload).build();
}

packet_view parsed(const bytes& frame) {
    packet_view v;
    EXPECT_EQ(stats::name_of(net::parse_frame(frame, v)), "none");
    return v;
}

// ---------------------------------------------------------------------------
// Parsing the quote

TEST(icmp_quote, ipv4_frag_needed_quoting_tcp) {
    const bytes inner = datagram(outbound_tcp("203.0.113.10", 40000), 548);
    const bytes f = frame_builder().ipv4("192.0.2.254", "203.0.113.10").icmp(3, 4, 1400).payload(inner).build();
    const packet_view v = parsed(f);
    EXPECT_TRUE(v.icmp_error);
    EXPECT_EQ(v.icmp_type, 3);
    EXPECT_EQ(v.icmp_code, 4);
    EXPECT_EQ(v.src_port, 0);
    EXPECT_EQ(v.dst_port, 0);
    EXPECT_EQ(v.quoted.l3_offset, 14 + 20 + 8);
    EXPECT_EQ(v.quoted.l4_offset, 14 + 20 + 8 + 20);
    EXPECT_EQ(v.quoted.l4_present, 548 - 20);
    EXPECT_EQ(v.quoted.proto, net::proto_tcp);
    EXPECT_EQ(v.quoted.src, ip("203.0.113.10"));
    EXPECT_EQ(v.quoted.dst, ip("198.51.100.7"));
    EXPECT_EQ(v.quoted.src_port, 40000);
    EXPECT_EQ(v.quoted.dst_port, 443);
}

TEST(icmp_quote, ipv4_time_exceeded_quoting_udp_and_echo_with_8_bytes) {
    const bytes udp = datagram(frame_builder().ipv4("203.0.113.10", "198.51.100.7").udp(5000, 33434).payload_size(32).build(), 28);
    packet_view v = parsed(frame_builder().ipv4("192.0.2.254", "203.0.113.10").icmp(11, 0).payload(udp).build());
    EXPECT_EQ(v.quoted.proto, net::proto_udp);
    EXPECT_EQ(v.quoted.l4_present, 8);
    EXPECT_EQ(v.quoted.src_port, 5000);
    EXPECT_EQ(v.quoted.dst_port, 33434);

    const bytes echo = datagram(frame_builder().ipv4("203.0.113.10", "198.51.100.7").echo_request(77).build());
    v = parsed(frame_builder().ipv4("192.0.2.254", "203.0.113.10").icmp(3, 1).payload(echo).build());
    EXPECT_EQ(v.quoted.proto, net::proto_icmp);
    EXPECT_EQ(v.quoted.icmp_type, net::icmp_echo_request);
    EXPECT_EQ(v.quoted.src_port, 77); // the identifier on the initiator's side
    EXPECT_EQ(v.quoted.dst_port, 0);
}

TEST(icmp_quote, ipv6_packet_too_big_with_extension_headers) {
    const bytes inner = datagram(frame_builder().ipv6("fd00::5", "2001:db8:1::7").ipv6_ext(test::ipv6_destination_options)
                                     .ipv6_ext(test::ipv6_fragment).tcp(40000, 443, net::tcp_ack).payload_size(1300).build(),
                                 1232);
    const packet_view v = parsed(frame_builder().ipv6("2001:db8::fe", "fd00::5").icmp(2, 0, 1280).payload(inner).build());
    EXPECT_TRUE(v.icmp_error);
    EXPECT_EQ(v.quoted.proto, net::proto_tcp);
    EXPECT_EQ(v.quoted.src, ip("fd00::5"));
    EXPECT_EQ(v.quoted.dst, ip("2001:db8:1::7"));
    EXPECT_EQ(v.quoted.l4_offset, 14 + 40 + 8 + 40 + 8 + 8);
    EXPECT_EQ(v.quoted.l4_present, 1232 - 56);
    EXPECT_EQ(v.quoted.src_port, 40000);
}

TEST(icmp_quote, every_relayed_error_type_and_code_parses) {
    const bytes udp4 = datagram(frame_builder().ipv4("203.0.113.10", "198.51.100.7").udp(5000, 53).build());
    const bytes udp6 = datagram(frame_builder().ipv6("fd00::5", "2001:db8:1::7").udp(5000, 53).build());
    std::vector<std::pair<uint8_t, uint8_t>> v4 = {{11, 0}, {11, 1}, {12, 0}, {12, 2}};
    for (uint8_t code = 0; code <= 15; ++code) v4.emplace_back(3, code);
    for (const auto& [type, code] : v4) {
        const packet_view v = parsed(frame_builder().ipv4("192.0.2.254", "203.0.113.10").icmp(type, code).payload(udp4).build());
        EXPECT_TRUE(v.icmp_error) << int(type) << "/" << int(code);
        EXPECT_EQ(v.icmp_code, code);
        EXPECT_EQ(v.quoted.dst_port, 53);
    }
    for (const uint8_t type : {1, 2, 3, 4}) {
        const packet_view v = parsed(frame_builder().ipv6("2001:db8::fe", "fd00::5").icmp(type, 0).payload(udp6).build());
        EXPECT_TRUE(v.icmp_error) << int(type);
        EXPECT_EQ(v.quoted.src, ip("fd00::5"));
    }
}

struct bad_quote {
    std::string description;
    bytes frame;
    drop_reason expected;
};
void PrintTo(const bad_quote& c, std::ostream* os) { *os << c.description; }

std::vector<bad_quote> bad_quotes() {
    const auto err4 = [](const bytes& inner) {
        return frame_builder().ipv4("192.0.2.254", "203.0.113.10").icmp(3, 3).payload(inner).build();
    };
    const auto err6 = [](const bytes& inner) {
        return frame_builder().ipv6("2001:db8::fe", "fd00::5").icmp(1, 4).payload(inner).build();
    };
    const bytes tcp = datagram(outbound_tcp("203.0.113.10", 40000, 0));
    const bytes tcp6 = datagram(frame_builder().ipv6("fd00::5", "2001:db8:1::7").tcp(1, 2).build());
    const auto edit = [](bytes b, std::size_t at, uint8_t value) {
        b.at(at) = value;
        return b;
    };
    const auto edit16 = [](bytes b, std::size_t at, uint16_t value) {
        put16(b, at, value);
        return b;
    };
    const bytes v4_echo_error = datagram(frame_builder().ipv4("203.0.113.10", "198.51.100.7").icmp(3, 1).payload(tcp).build());
    return {
        {"quote_of_7_l4_bytes", err4(bytes(tcp.begin(), tcp.begin() + 27)), drop_reason::icmp_quote_malformed},
        {"quote_header_cut", err4(bytes(tcp.begin(), tcp.begin() + 19)), drop_reason::icmp_quote_malformed},
        {"no_quote", err4({}), drop_reason::icmp_quote_malformed},
        {"icmp_header_cut", frame_builder().ipv4("192.0.2.254", "203.0.113.10").l4_raw(1, {3, 3, 0, 0, 0, 0, 0}).build(),
         drop_reason::icmp_truncated},
        {"quote_ihl_4", err4(edit(tcp, 0, 0x44)), drop_reason::icmp_quote_malformed},
        {"quote_ihl_past_the_quote", err4(edit(bytes(tcp.begin(), tcp.begin() + 28), 0, 0x4f)),
         drop_reason::icmp_quote_malformed},
        {"quote_version_6_in_icmpv4", err4(tcp6), drop_reason::icmp_quote_malformed},
        {"quote_version_4_in_icmpv6", err6(tcp), drop_reason::icmp_quote_malformed},
        {"quote_total_length_below_header", err4(edit16(tcp, 2, 19)), drop_reason::icmp_quote_malformed},
        {"quote_total_length_leaves_7_l4_bytes", err4(edit16(tcp, 2, 27)), drop_reason::icmp_quote_malformed},
        {"quote_later_fragment", err4(edit16(tcp, 6, 0x2001)), drop_reason::icmp_quote_malformed},
        {"quote_bad_option_length", err4([&] {
             bytes b = datagram(frame_builder().ipv4("203.0.113.10", "198.51.100.7").ipv4_options({7, 9, 0, 0}).tcp(1, 2).build());
             return b;
         }()),
         drop_reason::icmp_quote_malformed},
        {"quote_is_an_error", err4(v4_echo_error), drop_reason::icmp_quote_malformed},
        {"quote_is_gre", err4(datagram(frame_builder().ipv4("203.0.113.10", "198.51.100.7").l4_raw(47, bytes(8, 0)).build())),
         drop_reason::icmp_quote_malformed},
        {"quote_icmp_other_than_echo",
         err4(datagram(frame_builder().ipv4("203.0.113.10", "198.51.100.7").icmp(13, 0).payload_size(12).build())),
         drop_reason::icmp_quote_malformed},
        {"ipv6_quote_payload_length_leaves_4_bytes", err6(edit16(tcp6, 4, 4)), drop_reason::icmp_quote_malformed},
        {"ipv6_quote_later_fragment",
         err6(edit16(datagram(frame_builder().ipv6("fd00::5", "2001:db8:1::7").ipv6_ext(test::ipv6_fragment).tcp(1, 2).build()),
                     40 + 2, 0x0008)),
         drop_reason::icmp_quote_malformed},
        {"ipv6_quote_extension_past_the_quote",
         err6(edit(datagram(frame_builder().ipv6("fd00::5", "2001:db8:1::7").ipv6_ext(test::ipv6_destination_options).tcp(1, 2).build()),
                   40 + 1, 200)),
         drop_reason::icmp_quote_malformed},
        {"ipv6_quote_nine_extension_headers", err6([] {
             frame_builder b;
             b.ipv6("fd00::5", "2001:db8:1::7");
             for (int i = 0; i < 9; ++i) b.ipv6_ext(test::ipv6_destination_options);
             return datagram(b.tcp(1, 2).build());
         }()),
         drop_reason::icmp_quote_malformed},
        {"icmpv6_redirect_unsupported", frame_builder().ipv6("fe80::1", "fd00::5").icmp(137, 0).payload_size(40).build(),
         drop_reason::icmp_type_unsupported},
    };
}

class bad_quote_fixture : public ::testing::TestWithParam<bad_quote> {};
TEST_P(bad_quote_fixture, is_dropped) {
    packet_view v;
    EXPECT_EQ(stats::name_of(net::parse_frame(GetParam().frame, v)), stats::name_of(GetParam().expected));
}
INSTANTIATE_TEST_SUITE_P(table, bad_quote_fixture, ::testing::ValuesIn(bad_quotes()),
                         [](const ::testing::TestParamInfo<bad_quote>& info) { return info.param.description; });

// Split reads: every prefix of a valid error either parses as that error or is
// refused with a reason, never read past (ASan would see it).
TEST(icmp_quote, every_prefix_is_refused_or_parsed) {
    const bytes inner = datagram(outbound_tcp("203.0.113.10", 40000, 0));
    const bytes f = frame_builder().ipv4("192.0.2.254", "203.0.113.10").icmp(3, 4, 1400).payload(inner).build();
    for (std::size_t n = 0; n < f.size(); ++n) {
        packet_view v;
        EXPECT_NE(net::parse_frame(std::span<const uint8_t>(f.data(), n), v), no_drop) << n;
    }
}

// ---------------------------------------------------------------------------
// Translating the quote

// The error a router sends about the translated packet, and the one the inside
// host must get: everything computed from scratch by the builder.
struct error_pair {
    bytes from_router;
    bytes expected;
};

error_pair tcp_error(std::size_t quote_bytes) {
    const auto quoted = [&](std::string_view src, uint16_t sport) { return datagram(outbound_tcp(src, sport), quote_bytes); };
    return {frame_builder().ipv4("192.0.2.254", "203.0.113.10").icmp(3, 4, 1400).payload(quoted("203.0.113.10", 61000)).build(),
            frame_builder().ipv4("192.0.2.254", "10.0.0.5").icmp(3, 4, 1400).payload(quoted("10.0.0.5", 40000)).build()};
}

void translate_in(bytes& frame) {
    packet_view v = parsed(frame);
    net::set_ipv4_destination(frame, v, ip("10.0.0.5"), 0);
    net::set_quoted_endpoint(frame, v, net::quoted_side::source, ip("10.0.0.5"), 40000);
    EXPECT_EQ(v.quoted.src, ip("10.0.0.5"));
    EXPECT_EQ(v.quoted.src_port, 40000);
}

TEST(icmp_translate, tcp_quote_with_its_checksum_is_exact) {
    for (const std::size_t quote : {std::size_t{548}, std::size_t{40}, std::size_t{38}}) {
        error_pair p = tcp_error(quote);
        translate_in(p.from_router);
        EXPECT_EQ(p.from_router, p.expected) << quote;
    }
}

TEST(icmp_translate, tcp_quote_without_its_checksum_leaves_the_rest) {
    // 8 bytes of TCP: ports and sequence number only; the checksum is not quoted.
    error_pair p = tcp_error(28);
    translate_in(p.from_router);
    EXPECT_EQ(p.from_router, p.expected);
    EXPECT_EQ(p.from_router.size(), 14u + 20 + 8 + 28);
}

TEST(icmp_translate, udp_quote_and_udp_without_checksum) {
    for (const bool zero : {false, true}) {
        const auto quoted = [&](std::string_view src, uint16_t sport) {
            frame_builder b;
            b.ipv4(src, "198.51.100.7").udp(sport, 33434).payload_size(20);
            if (zero) b.udp_zero_checksum();
            return datagram(b.build());
        };
        bytes f = frame_builder().ipv4("192.0.2.254", "203.0.113.10").icmp(11, 0).payload(quoted("203.0.113.10", 61000)).build();
        const bytes expected = frame_builder().ipv4("192.0.2.254", "10.0.0.5").icmp(11, 0).payload(quoted("10.0.0.5", 40000)).build();
        translate_in(f);
        EXPECT_EQ(f, expected) << zero;
    }
}

TEST(icmp_translate, echo_quote_changes_the_identifier) {
    const auto quoted = [](std::string_view src, uint16_t id) {
        return datagram(frame_builder().ipv4(src, "198.51.100.7").echo_request(id, 3).payload("ping").build());
    };
    bytes f = frame_builder().ipv4("192.0.2.254", "203.0.113.10").icmp(3, 1).payload(quoted("203.0.113.10", 61000)).build();
    const bytes expected = frame_builder().ipv4("192.0.2.254", "10.0.0.5").icmp(3, 1).payload(quoted("10.0.0.5", 40000)).build();
    translate_in(f);
    EXPECT_EQ(f, expected);
}

TEST(icmp_translate, inside_error_about_an_inbound_reply) {
    // The inside host says port unreachable about a reply it was delivered
    // (remote -> 10.0.0.5:40000); outside it must read public -> 203.0.113.10:61000.
    const auto quoted = [](std::string_view dst, uint16_t dport) {
        return datagram(frame_builder().ipv4("198.51.100.7", dst).ttl(60).udp(53, dport).payload_size(40).build());
    };
    bytes f = frame_builder().ipv4("10.0.0.5", "198.51.100.7").icmp(3, 3).payload(quoted("10.0.0.5", 40000)).build();
    const bytes expected =
        frame_builder().ipv4("203.0.113.10", "198.51.100.7").icmp(3, 3).payload(quoted("203.0.113.10", 61000)).build();
    packet_view v = parsed(f);
    net::set_ipv4_source(f, v, ip("203.0.113.10"), 0);
    net::set_quoted_endpoint(f, v, net::quoted_side::destination, ip("203.0.113.10"), 61000);
    EXPECT_EQ(f, expected);
}

TEST(icmp_translate, ipv6_and_non_errors_are_left_alone) {
    bytes f6 = frame_builder().ipv6("2001:db8::fe", "fd00::5").icmp(2, 0, 1280)
                   .payload(datagram(frame_builder().ipv6("fd00::5", "2001:db8:1::7").tcp(1, 2).build())).build();
    const bytes before6 = f6;
    packet_view v = parsed(f6);
    net::set_quoted_endpoint(f6, v, net::quoted_side::source, ip("10.0.0.5"), 9);
    EXPECT_EQ(f6, before6);
    bytes echo = frame_builder().ipv4("10.0.0.5", "198.51.100.7").echo_request(5).build();
    const bytes before = echo;
    v = parsed(echo);
    net::set_quoted_endpoint(echo, v, net::quoted_side::source, ip("10.0.0.6"), 9);
    EXPECT_EQ(echo, before);
}

// ---------------------------------------------------------------------------
// The gateway's own errors

const net::mac_address gw_mac = mac("02:00:00:00:01:fe");
const net::mac_address host_mac = mac("02:00:00:00:01:01");

net::icmp_error_spec spec_of(uint8_t type, uint8_t code, uint32_t rest, std::string_view source) {
    net::icmp_error_spec s;
    s.type = type;
    s.code = code;
    s.rest = rest;
    s.source = ip(source);
    s.src_mac = gw_mac;
    s.dst_mac = host_mac;
    return s;
}

TEST(icmp_build, ipv4_time_exceeded_quotes_the_whole_small_datagram) {
    const bytes offending = frame_builder().eth(host_mac, gw_mac).vlan(42).ipv4("10.0.0.5", "198.51.100.7").ttl(1)
                                .udp(50000, 33434).payload_size(12).build();
    bytes out(2000);
    const std::size_t n = net::build_icmp_error(out, offending, parsed(offending), spec_of(11, 0, 0, "10.0.0.1"));
    // The L2 header comes back with its VLAN tag; the quote is the datagram after it.
    const bytes quote(offending.begin() + 18, offending.end());
    const bytes expected_tagged = frame_builder().eth(gw_mac, host_mac).vlan(42).ipv4("10.0.0.1", "10.0.0.5").tos(0xc0)
                                      .ip_id(0).ipv4_fragment_field(0).ttl(64).icmp(11, 0).payload(quote).build();
    EXPECT_EQ(bytes(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n)), expected_tagged);
}

TEST(icmp_build, ipv4_frag_needed_is_cut_at_576_bytes) {
    const bytes offending = frame_builder().eth(host_mac, gw_mac).ipv4("10.0.0.5", "198.51.100.7").tcp(40000, 443, net::tcp_ack)
                                .payload_size(1400).build();
    bytes out(2000);
    const std::size_t n = net::build_icmp_error(out, offending, parsed(offending), spec_of(3, 4, 1400, "10.0.0.1"));
    ASSERT_EQ(n, 14u + 576);
    const bytes expected = frame_builder().eth(gw_mac, host_mac).ipv4("10.0.0.1", "10.0.0.5").tos(0xc0).ip_id(0)
                               .ipv4_fragment_field(0).ttl(64).icmp(3, 4, 1400).payload(datagram(offending, 548)).build();
    EXPECT_EQ(bytes(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n)), expected);
    EXPECT_EQ(be16(out, 14 + 20 + 6), 1400); // next-hop MTU
}

TEST(icmp_build, ipv6_packet_too_big_is_cut_at_1280_bytes) {
    const bytes offending = frame_builder().eth(host_mac, gw_mac).ipv6("fd00::5", "2001:db8:1::7").tcp(40000, 443, net::tcp_ack)
                                .payload_size(1400).build();
    bytes out(2000);
    const std::size_t n = net::build_icmp_error(out, offending, parsed(offending), spec_of(2, 0, 1280, "fd00:0:0:1::1"));
    ASSERT_EQ(n, 14u + 1280);
    const bytes expected = frame_builder().eth(gw_mac, host_mac).ipv6("fd00:0:0:1::1", "fd00::5").ttl(64).icmp(2, 0, 1280)
                               .payload(datagram(offending, 1232)).build();
    EXPECT_EQ(bytes(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n)), expected);
}

TEST(icmp_build, refuses_small_buffers_and_family_mismatch) {
    const bytes offending = frame_builder().ipv4("10.0.0.5", "198.51.100.7").udp(1, 2).payload_size(100).build();
    bytes out(14 + 20 + 8 + 127);
    EXPECT_EQ(net::build_icmp_error(out, offending, parsed(offending), spec_of(11, 0, 0, "10.0.0.1")), 0u);
    out.resize(14 + 20 + 8 + 128);
    EXPECT_EQ(net::build_icmp_error(out, offending, parsed(offending), spec_of(11, 0, 0, "fd00::1")), 0u);
    EXPECT_EQ(net::build_icmp_error(out, offending, parsed(offending), spec_of(11, 0, 0, "10.0.0.1")), out.size());
}

TEST(icmp_build, never_about_errors_broadcast_or_multicast) {
    const bytes udp = frame_builder().ipv4("10.0.0.5", "198.51.100.7").udp(1, 2).build();
    EXPECT_FALSE(net::icmp_error_forbidden(udp, parsed(udp)));
    const bytes bcast_mac = frame_builder().eth(host_mac, mac("ff:ff:ff:ff:ff:ff")).ipv4("10.0.0.5", "198.51.100.7").udp(1, 2).build();
    EXPECT_TRUE(net::icmp_error_forbidden(bcast_mac, parsed(bcast_mac)));
    const bytes bcast = frame_builder().ipv4("10.0.0.5", "255.255.255.255").udp(1, 2).build();
    EXPECT_TRUE(net::icmp_error_forbidden(bcast, parsed(bcast)));
    const bytes mcast = frame_builder().ipv4("10.0.0.5", "239.1.2.3").udp(1, 2).build();
    EXPECT_TRUE(net::icmp_error_forbidden(mcast, parsed(mcast)));
    const bytes mcast6 = frame_builder().ipv6("fd00::5", "ff02::1").udp(1, 2).build();
    EXPECT_TRUE(net::icmp_error_forbidden(mcast6, parsed(mcast6)));
    const bytes error = tcp_error(40).from_router;
    EXPECT_TRUE(net::icmp_error_forbidden(error, parsed(error)));
}

// ---------------------------------------------------------------------------
// MSS clamping

bytes syn_with(bytes options, bool v6 = false) {
    frame_builder b;
    if (v6) b.ipv6("fd00::5", "2001:db8:1::7");
    else b.ipv4("10.0.0.5", "198.51.100.7");
    return b.tcp(40000, 443, net::tcp_syn).tcp_options(std::move(options)).build();
}

TEST(mss_clamp, lowers_an_aligned_and_an_odd_placed_mss_exactly) {
    // MSS first (aligned), and after one NOP (value at an odd offset).
    const std::vector<std::pair<bytes, bytes>> cases = {
        {{2, 4, 0x05, 0xb4, 1, 3, 3, 7}, {2, 4, 0x05, 0x50, 1, 3, 3, 7}},
        {{1, 2, 4, 0x23, 0x28, 4, 2, 0}, {1, 2, 4, 0x05, 0x50, 4, 2, 0}},
    };
    for (const bool v6 : {false, true}) {
        for (const auto& [before, after] : cases) {
            bytes f = syn_with(before, v6);
            EXPECT_EQ(net::clamp_tcp_mss(f, parsed(f), 1360), net::mss_clamp_result::clamped);
            EXPECT_EQ(f, syn_with(after, v6));
        }
    }
}

TEST(mss_clamp, leaves_small_or_absent_mss_alone) {
    for (const bytes& options : {bytes{2, 4, 0x05, 0x50}, bytes{2, 4, 0x02, 0x18}, bytes{1, 1, 4, 2}, bytes{}}) {
        bytes f = syn_with(options);
        const bytes before = f;
        EXPECT_EQ(net::clamp_tcp_mss(f, parsed(f), 1360), net::mss_clamp_result::untouched);
        EXPECT_EQ(f, before);
    }
    // After EOL nothing is an option.
    bytes f = syn_with({0, 2, 4, 0x05, 0xb4});
    EXPECT_EQ(net::clamp_tcp_mss(f, parsed(f), 1360), net::mss_clamp_result::untouched);
}

TEST(mss_clamp, malformed_options_are_left_untouched) {
    for (const bytes& options : {bytes{2, 3, 0x05, 0xb4}, bytes{2, 5, 0x05, 0xb4, 0}, bytes{8, 0, 1, 1},
                                 bytes{8, 1, 1, 1}, bytes{1, 1, 1, 8}, bytes{8, 12, 0, 0}, bytes{2, 4, 5, 0xb4, 2, 4, 5, 0xb4}}) {
        bytes f = syn_with(options);
        const bytes before = f;
        EXPECT_EQ(net::clamp_tcp_mss(f, parsed(f), 1360), net::mss_clamp_result::malformed);
        EXPECT_EQ(f, before);
    }
}

// ---------------------------------------------------------------------------
// Token bucket

TEST(token_bucket, burst_then_rate_on_a_fake_clock) {
    base::token_bucket b(10, 3); // 10 per second, 3 banked
    uint32_t now = 0xffff'ff00u; // the clock wraps during the test
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(b.try_take(now)) << i;
    EXPECT_FALSE(b.try_take(now));
    now += 99;
    EXPECT_FALSE(b.try_take(now)); // 0.99 tokens earned
    now += 1;
    EXPECT_TRUE(b.try_take(now));  // 1 token
    EXPECT_FALSE(b.try_take(now));
    now += 10'000; // a long pause banks only the burst
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(b.try_take(now)) << i;
    EXPECT_FALSE(b.try_take(now));
    now -= 5; // a clock that steps back earns nothing
    EXPECT_FALSE(b.try_take(now));
}

TEST(token_bucket, rate_zero_never_grants) {
    base::token_bucket b(0, 5);
    EXPECT_FALSE(b.try_take(0));
    EXPECT_FALSE(b.try_take(100'000));
}

} // namespace
} // namespace egress::test
