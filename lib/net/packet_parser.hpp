// The frame parser: Ethernet II (up to two VLAN tags) -> IPv4 / IPv6 (extension
// header chain) -> TCP / UDP / ICMP(v6) echo or error (with its quoted packet), into
// a packet_view.
//
// Every byte is read through byte_cursor, so no input can make the parser read
// outside `frame`, except on the fast path for the common frame (untagged
// Ethernet, 20-byte IPv4 header, TCP or UDP), which reads fixed offsets after
// one check that the frame holds them all. It never allocates, throws or logs:
// each rejection is a typed stats::drop_reason, and stats::no_drop means the
// whole view is filled in.
//
// What is accepted:
//  * Ethernet II; tags 0x8100 or 0x88a8 (outer) followed by at most one more
//    0x8100 tag. vlan_tci is the innermost tag's TCI.
//  * IPv4: version 4, IHL >= 5, valid header checksum, IHL*4 <= total length <=
//    bytes present, well-formed options (EOL, NOP, or type/length with length >= 2
//    inside the header).
//  * IPv6: version 6, payload length present in the frame (and 40 + payload length
//    <= 65535), up to 8 extension headers among hop-by-hop (first only), routing,
//    destination options and one Fragment header.
//  * Fragments (see packet_view::fragment): the data is non-empty, a multiple of
//    8 bytes unless it is the last fragment, and ends within 65535 bytes
//    (else ipv4_bad_fragment / ipv6_bad_fragment). A first fragment must hold
//    the whole header chain and L4 header (RFC 1858, RFC 7112), else
//    fragment_tiny_first; a UDP first fragment's length field must reach past
//    it. A later fragment is accepted without L4 parsing. An IPv6 atomic
//    fragment (offset 0, M clear) is a whole datagram (RFC 6946).
//  * Addresses: the source is not multicast, limited broadcast, unspecified or (for
//    IPv6) IPv4-mapped; the destination is not unspecified or (for IPv6) IPv4-mapped.
//  * L4: TCP (data offset 5..l4_length/4), UDP (8 <= length field <= l4_length),
//    ICMP over IPv4 and ICMPv6 over IPv6: echo request/reply, and the errors
//    destination unreachable (any code), time exceeded, parameter problem (and
//    ICMPv6 packet too big). An error must quote a packet of its own family: an
//    IP header (IPv4: IHL >= 5 inside the quote, options well-formed, total
//    length >= IHL*4, not a later fragment; IPv6: extension chain as above, a
//    fragment header only with offset 0) and at least 8 bytes of TCP, UDP or an
//    echo request/reply, counting only bytes the quoted length allows; anything
//    else is icmp_quote_malformed. The quote's IP checksum is not checked (routers
//    quote what they received). The tuple goes to packet_view::quoted.
//
// l3_length is the datagram length from the IP header and l4_length runs from
// l4_offset to the end of that datagram, so trailing Ethernet padding is excluded.
// On a drop, `out` holds whatever was parsed so far and must not be relied on.
#pragma once

#include <cstdint>
#include <span>

#include "net/packet_view.hpp"
#include "stats/drop_reason.hpp"

namespace egress::net {

inline constexpr uint16_t ethertype_qinq = 0x88a8;    // 802.1ad service tag
inline constexpr std::size_t max_vlan_tags = 2;
inline constexpr std::size_t max_ipv6_ext_headers = 8;

// What the receiving device said about the frame's IPv4 header checksum (the
// PMD's RX checksum flags). Only a header the device verified as good skips
// the software check; unknown, none and bad leave it to the parser, so a bad
// checksum is dropped as ipv4_bad_checksum whether or not the device looked.
enum class l3_checksum : uint8_t { unchecked, device_good };

stats::drop_reason parse_frame(std::span<const uint8_t> frame, packet_view& out,
                               l3_checksum device = l3_checksum::unchecked) noexcept;

// parse_frame without its fast path for the common frame (untagged Ethernet,
// 20-byte IPv4 header, TCP or UDP): every frame byte by byte. The same result
// and view for every input; the parse fuzz target and the parser's unit tests
// check that the two agree.
stats::drop_reason parse_frame_general(std::span<const uint8_t> frame, packet_view& out,
                                       l3_checksum device = l3_checksum::unchecked) noexcept;

} // namespace egress::net
