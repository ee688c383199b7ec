// In-place header rewrites for the fast path. Every function takes the frame and
// the packet_view that parse_frame produced for it (stats::no_drop), keeps every
// checksum valid with RFC 1624 incremental updates (never a full recomputation),
// and updates the view to match. None allocates, throws or logs.
//
// A view that does not describe the frame (offsets past its end, wrong family) is
// a caller bug; the functions then leave the frame untouched instead of writing
// out of bounds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "net/checksum.hpp"
#include "net/ip_address.hpp"
#include "net/packet_view.hpp"
#include "net/wire.hpp"
#include "stats/drop_reason.hpp"

namespace egress::net {

// Rewrites the IPv4 source address and the source "port" in packet_view terms:
// the TCP/UDP source port, or the ICMP echo identifier when it is on the source
// side (an echo request). For an echo reply the source side has no identifier,
// so only the address changes and `new_src_port` is ignored. Updates the IPv4
// header checksum and the L4 checksum: TCP/UDP include the pseudo-header; a UDP
// checksum of 0 ("none") stays 0 and a computed 0 is written as 0xffff; ICMP has
// no pseudo-header. `new_src` must be an IPv4 (mapped) address.
// On a later fragment (no L4 header: packet_view::is_later_fragment) only the
// address and the IPv4 header checksum change: the L4 checksum, in the first
// fragment, is updated there for the whole datagram.
void set_ipv4_source(std::span<uint8_t> frame, packet_view& view, const ip_address& new_src,
                     uint16_t new_src_port) noexcept;

// The mirror image: destination address and destination port, or the ICMP echo
// identifier of an echo reply (ignored for an echo request).
void set_ipv4_destination(std::span<uint8_t> frame, packet_view& view, const ip_address& new_dst,
                          uint16_t new_dst_port) noexcept;

// Decrements the IPv4 TTL (updating the header checksum) or the IPv6 hop limit.
// Returns ttl_expired, leaving the frame untouched, when the value is 0 or 1: the
// packet must not be forwarded. ipv4_truncated / ipv6_truncated when the view
// does not fit the frame. Inline (as set_macs): every forwarded frame takes it.
inline stats::drop_reason decrement_hop_limit(std::span<uint8_t> frame, packet_view& view) noexcept {
    using namespace wire;
    const std::size_t l3 = view.l3_offset;
    if (view.family == ip_family::v4) {
        if (l3 + ipv4_min_header > frame.size()) return stats::drop_reason::ipv4_truncated;
        const std::size_t ttl_at = l3 + ipv4_ttl_offset;
        const uint8_t ttl = frame[ttl_at];
        if (ttl <= 1) return stats::drop_reason::ttl_expired;
        // TTL shares a checksummed 16-bit word with the protocol byte.
        const uint16_t old_word = load_be16(frame, ttl_at);
        const auto new_word = static_cast<uint16_t>(old_word - 0x0100);
        const std::size_t checksum_at = l3 + ipv4_checksum_offset;
        store_be16(frame, checksum_at, checksum_update16(load_be16(frame, checksum_at), old_word, new_word));
        frame[ttl_at] = static_cast<uint8_t>(ttl - 1);
        view.ttl = static_cast<uint8_t>(ttl - 1);
        return stats::no_drop;
    }
    if (l3 + ipv6_header > frame.size()) return stats::drop_reason::ipv6_truncated;
    const std::size_t hop_limit_at = l3 + ipv6_hop_limit_offset;
    const uint8_t hop_limit = frame[hop_limit_at];
    if (hop_limit <= 1) return stats::drop_reason::ttl_expired;
    frame[hop_limit_at] = static_cast<uint8_t>(hop_limit - 1);
    view.ttl = static_cast<uint8_t>(hop_limit - 1);
    return stats::no_drop;
}

// Writes the Ethernet source and destination MAC addresses.
inline void set_macs(std::span<uint8_t> frame, const mac_address& src, const mac_address& dst) noexcept {
    constexpr std::size_t mac_length = 6;
    if (frame.size() < 2 * mac_length) return;
    std::memcpy(frame.data(), dst.bytes.data(), mac_length);
    std::memcpy(frame.data() + mac_length, src.bytes.data(), mac_length);
}

} // namespace egress::net
