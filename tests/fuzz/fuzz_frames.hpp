// Frames the fuzz targets derive from an input frame (the other direction of
// its flow, a later fragment of its datagram) or build around it (ICMP errors
// quoting it), on top of the unit tests' frame_builder (its checksums are
// computed independently of lib/net). Each returns an empty vector when the
// frame cannot be derived; a derived frame that the packet parser refuses is
// returned empty too, so a target only checks frames that are valid input.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "../unit/net/packet_builder.hpp"
#include "net/packet_parser.hpp"
#include "net/packet_view.hpp"

namespace egress::fuzz {

using test::bytes;

inline bytes if_parses(bytes frame) {
    net::packet_view v;
    if (net::parse_frame(frame, v) != stats::no_drop) frame.clear();
    return frame;
}

// An IPv4 echo request / reply from src to dst with identifier id.
inline bytes echo_v4(uint32_t src, uint32_t dst, uint8_t type, uint16_t id) {
    test::frame_builder b;
    b.ipv4(net::ip_address::from_v4(src), net::ip_address::from_v4(dst));
    if (type == net::icmp_echo_request) {
        b.echo_request(id);
    } else {
        b.echo_reply(id);
    }
    return b.payload_size(8).build();
}

// The IPv4 packet (no Ethernet header) an error quotes: its header and the
// first 8 bytes of its TCP / UDP header.
inline bytes quoted_v4(uint8_t proto, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport) {
    test::frame_builder b;
    b.ipv4(net::ip_address::from_v4(src), net::ip_address::from_v4(dst));
    if (proto == net::proto_tcp) {
        b.tcp(sport, dport);
    } else {
        b.udp(sport, dport);
    }
    const bytes whole = b.build();
    return bytes(whole.begin() + 14, whole.begin() + 14 + 28);
}

// A destination unreachable (port) from src to dst quoting a packet.
inline bytes error_v4(uint32_t src, uint32_t dst, uint8_t proto, uint32_t q_src, uint32_t q_dst, uint16_t q_sport,
                      uint16_t q_dport) {
    return test::frame_builder()
        .ipv4(net::ip_address::from_v4(src), net::ip_address::from_v4(dst))
        .icmp(net::icmp_dest_unreachable, 3)
        .payload(quoted_v4(proto, q_src, q_dst, q_sport, q_dport))
        .build();
}

// A copy of an IPv4 TCP / UDP frame with its addresses and ports replaced.
inline bytes transport_v4(std::span<const uint8_t> frame, const net::packet_view& v, uint32_t src, uint32_t dst,
                          uint16_t sport, uint16_t dport) {
    bytes out(frame.begin(), frame.end());
    test::put32(out, v.l3_offset + 12, src);
    test::put32(out, v.l3_offset + 16, dst);
    test::put16(out, v.l4_offset, sport);
    test::put16(out, v.l4_offset + 2, dport);
    test::fix_ipv4_checksum(out, v.l3_offset);
    return if_parses(std::move(out));
}

// The other direction of an IPv6 frame: addresses swapped, TCP / UDP ports
// swapped, an echo request turned into its reply.
inline bytes mirror_v6(std::span<const uint8_t> frame, const net::packet_view& v) {
    bytes out(frame.begin(), frame.end());
    for (std::size_t i = 0; i < 16; ++i) std::swap(out[v.l3_offset + 8 + i], out[v.l3_offset + 24 + i]);
    if (v.proto == net::proto_tcp || v.proto == net::proto_udp) {
        test::put16(out, v.l4_offset, v.dst_port);
        test::put16(out, v.l4_offset + 2, v.src_port);
    } else if (v.proto == net::proto_icmpv6 && v.icmp_type == net::icmpv6_echo_request) {
        out[v.l4_offset] = net::icmpv6_echo_reply;
    }
    return if_parses(std::move(out));
}

// A later fragment (offset `units` * 8) of the datagram whose first fragment
// `frame` is: IPv4, or IPv6 with the Fragment header right after the fixed one.
inline bytes later_fragment(std::span<const uint8_t> frame, const net::packet_view& v, uint16_t units) {
    bytes out(frame.begin(), frame.end());
    units &= 0x1fff;
    if (v.family == net::ip_family::v4) {
        test::put16(out, v.l3_offset + 6, static_cast<uint16_t>((test::be16(out, v.l3_offset + 6) & 0xe000) | units));
        test::fix_ipv4_checksum(out, v.l3_offset);
    } else {
        if (out[v.l3_offset + 6] != test::ipv6_fragment) return {};
        const std::size_t at = v.l3_offset + 40 + 2;
        test::put16(out, at, static_cast<uint16_t>((test::be16(out, at) & 7) | units << 3));
    }
    return if_parses(std::move(out));
}

} // namespace egress::fuzz
