// What the parser learns about one frame: offsets of each layer and the fields
// connection tracking and NAT need. Offsets are from the start of the frame.
#pragma once

#include <cstddef>
#include <cstdint>

#include "net/ip_address.hpp"

namespace egress::net {

inline constexpr uint8_t proto_icmp = 1;
inline constexpr uint8_t proto_tcp = 6;
inline constexpr uint8_t proto_udp = 17;
inline constexpr uint8_t proto_icmpv6 = 58;

inline constexpr uint16_t ethertype_ipv4 = 0x0800;
inline constexpr uint16_t ethertype_ipv6 = 0x86dd;
inline constexpr uint16_t ethertype_vlan = 0x8100;

inline constexpr std::size_t ipv4_min_header = 20;
inline constexpr std::size_t ipv6_header = 40;

inline constexpr uint8_t icmp_echo_reply = 0;
inline constexpr uint8_t icmp_echo_request = 8;
inline constexpr uint8_t icmpv6_echo_request = 128;
inline constexpr uint8_t icmpv6_echo_reply = 129;

// ICMP / ICMPv6 error types the gateway relays (they quote the packet they are about).
inline constexpr uint8_t icmp_dest_unreachable = 3;
inline constexpr uint8_t icmp_time_exceeded = 11;
inline constexpr uint8_t icmp_parameter_problem = 12;
inline constexpr uint8_t icmp_code_fragmentation_needed = 4; // with icmp_dest_unreachable
inline constexpr uint8_t icmpv6_dest_unreachable = 1;
inline constexpr uint8_t icmpv6_packet_too_big = 2;
inline constexpr uint8_t icmpv6_time_exceeded = 3;
inline constexpr uint8_t icmpv6_parameter_problem = 4;
// Communication administratively prohibited (RFC 1812 5.2.7.1; RFC 4443 3.1).
inline constexpr uint8_t icmp_code_admin_prohibited = 13;  // with icmp_dest_unreachable
inline constexpr uint8_t icmpv6_code_admin_prohibited = 1; // with icmpv6_dest_unreachable

// TCP flag bits as on the wire.
inline constexpr uint8_t tcp_fin = 0x01;
inline constexpr uint8_t tcp_syn = 0x02;
inline constexpr uint8_t tcp_rst = 0x04;
inline constexpr uint8_t tcp_psh = 0x08;
inline constexpr uint8_t tcp_ack = 0x10;

// The packet an ICMP / ICMPv6 error quotes: its IP header and at least the first
// 8 bytes of its L4 header (ports, or echo type/code/checksum/identifier). The
// quote may stop anywhere after those 8 bytes. Offsets are from the start of the
// frame; ports follow the packet_view convention (echo identifier on the
// initiator's side).
struct quoted_packet {
    uint16_t l3_offset = 0;  // the quoted IP header
    uint16_t l4_offset = 0;  // the quoted L4 header
    uint16_t l4_present = 0; // quoted L4 bytes actually in the frame (>= 8)
    uint8_t proto = 0;       // TCP, UDP, or ICMP/ICMPv6 (echo request / reply only)
    uint8_t icmp_type = 0;   // the quoted echo's type when proto is ICMP/ICMPv6
    ip_address src;
    ip_address dst;
    uint16_t src_port = 0;
    uint16_t dst_port = 0;
};

// Bits of packet_view::fragment.
inline constexpr uint8_t fragment_present = 0x01; // part of a fragmented datagram (IPv4 MF/offset, IPv6 Fragment header)
inline constexpr uint8_t fragment_more = 0x02;    // more fragments follow (IPv4 MF, IPv6 M)

struct packet_view {
    uint16_t l3_offset = 0;      // IPv4/IPv6 header
    uint16_t l4_offset = 0;      // TCP/UDP/ICMP header (after IPv4 options / IPv6 extension headers)
    uint16_t l3_length = 0;      // the IP datagram's length from its header (trailing padding excluded)
    uint16_t l4_length = 0;      // bytes from l4_offset to the end of the datagram
    uint16_t vlan_tci = 0;       // valid when has_vlan
    bool has_vlan = false;
    ip_family family = ip_family::v4;
    uint8_t proto = 0;           // final upper-layer protocol (after the IPv6 chain)
    uint8_t ttl = 0;             // IPv4 TTL / IPv6 hop limit
    uint8_t tcp_flags = 0;
    uint8_t icmp_type = 0;       // ICMP / ICMPv6 type when proto is ICMP
    ip_address src;
    ip_address dst;
    // Transport identifiers, host order. For ICMP/ICMPv6 echo the identifier is
    // placed on the initiator's side: a request has src_port = id, dst_port = 0;
    // a reply has src_port = 0, dst_port = id. So a reply's ports are the mirror
    // of its request's, exactly as for TCP and UDP.
    uint16_t src_port = 0;
    uint16_t dst_port = 0;
    bool dont_fragment = false;  // IPv4 DF bit (IPv6 is never fragmented on the way)
    uint8_t icmp_code = 0;       // ICMP / ICMPv6 code when proto is ICMP
    // An ICMP / ICMPv6 error (destination unreachable, packet too big, time
    // exceeded, parameter problem): src_port and dst_port are 0 and `quoted`
    // describes the packet it is about. Flow lookup and multi-worker steering use
    // the quoted tuple, mirrored (the quote is a packet going the other way).
    bool icmp_error = false;
    // Fragments (fragment != 0). A first fragment (offset 0) is parsed like a
    // whole datagram: its L4 header is complete (ports, flags), but l4_length
    // covers only the bytes of this fragment. A later fragment has no L4
    // header: ports, tcp_flags and icmp_type are 0, l4_offset/l4_length span
    // its fragment data and, for IPv6, proto is the Fragment header's next
    // header. frag_offset/frag_length are the fragment's byte range in the
    // fragmentable part of the original datagram (IPv4: its payload; IPv6:
    // what follows the Fragment header).
    uint8_t fragment = 0;        // fragment_present | fragment_more
    uint16_t frag_offset = 0;
    uint16_t frag_length = 0;
    uint32_t frag_id = 0;        // IPv4 identification / IPv6 fragment identification

    // Last on purpose: parse_frame resets every member before it, not this one.
    // Only an ICMP error's parse fills it (resetting it first), and nothing
    // reads it unless icmp_error is set.
    quoted_packet quoted{};

    bool is_fragment() const noexcept { return fragment != 0; }
    bool is_later_fragment() const noexcept { return fragment != 0 && frag_offset != 0; }
};

} // namespace egress::net
