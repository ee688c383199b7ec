// Internet (one's-complement) checksums, RFC 1071 and RFC 1624.
//
// Two kinds of helper live here:
//  * full computation over bytes or over a parsed frame, for tests and slow paths
//    (ICMP error generation, verification);
//  * incremental updates for one changed 16- or 32-bit field, for the fast path.
//
// Conventions: a "sum" is an unfolded one's-complement accumulator; fold() reduces
// it to 16 bits (the one's-complement sum, not yet complemented); a "checksum" is
// the value stored on the wire, ~fold(sum). Values are host order.
#pragma once

#include <cstdint>
#include <span>

#include "net/packet_view.hpp"

namespace egress::net {

// One's-complement sum of `bytes` read as big-endian 16-bit words, added to
// `initial`. An odd trailing byte is padded with a zero low byte, so only the last
// span of a chained computation may have odd length. Never overflows: the result
// is congruent (mod 0xffff) to the true sum and can be passed on as `initial`.
uint32_t ones_sum(std::span<const uint8_t> bytes, uint32_t initial = 0) noexcept;

// Folds the carries of a sum into 16 bits (end-around carry).
constexpr uint16_t fold(uint32_t sum) noexcept {
    sum = (sum & 0xffffu) + (sum >> 16);
    sum = (sum & 0xffffu) + (sum >> 16);
    return static_cast<uint16_t>(sum);
}

// RFC 1624 eqn. 3: the checksum after one 16-bit field of the covered data changed
// from `old_value` to `new_value`: HC' = ~(~HC + ~m + m').
constexpr uint16_t checksum_update16(uint16_t checksum, uint16_t old_value, uint16_t new_value) noexcept {
    const uint32_t sum = uint32_t{static_cast<uint16_t>(~checksum)} + uint32_t{static_cast<uint16_t>(~old_value)} +
                         uint32_t{new_value};
    return static_cast<uint16_t>(~fold(sum));
}

// The same for an aligned 32-bit field (an IPv4 address), as two 16-bit words.
constexpr uint16_t checksum_update32(uint16_t checksum, uint32_t old_value, uint32_t new_value) noexcept {
    const uint32_t sum = uint32_t{static_cast<uint16_t>(~checksum)} +
                         uint32_t{static_cast<uint16_t>(~(old_value >> 16))} +
                         uint32_t{static_cast<uint16_t>(~old_value)} + (new_value >> 16) + (new_value & 0xffffu);
    return static_cast<uint16_t>(~fold(sum));
}

// Full computations over a frame that parse_frame accepted with `view`. Each
// returns the value that belongs in the checksum field, computed as if that field
// were zero; 0 when the view does not fit the frame.
//
// IPv4 header checksum (the header is l3_offset .. l4_offset).
uint16_t ipv4_header_checksum(std::span<const uint8_t> frame, const packet_view& view) noexcept;

// TCP / UDP / ICMPv6 (with the IPv4 or IPv6 pseudo-header) or ICMPv4 (without).
// TCP, ICMP and ICMPv6 cover l4_length bytes; UDP covers its own length field.
// A UDP result of 0 is returned as 0xffff (RFC 768 / RFC 8200), since 0 on the
// wire means "no checksum" on IPv4. The IPv6 pseudo-header uses the destination
// in the IPv6 header (correct unless a routing header still has segments left).
uint16_t l4_checksum(std::span<const uint8_t> frame, const packet_view& view) noexcept;

// Writes both full checksums into the frame (IPv4 header, then L4). A UDP-over-IPv4
// datagram whose checksum field is 0 ("no checksum") keeps 0.
void recompute_checksums(std::span<uint8_t> frame, const packet_view& view) noexcept;

} // namespace egress::net
