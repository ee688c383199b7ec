// In-place header rewrites for the fast path. Every function takes the frame and
// the packet_view that parse_frame produced for it (stats::no_drop), keeps every
// checksum valid with RFC 1624 incremental updates (never a full recomputation),
// and updates the view to match. None allocates, throws or logs.
//
// A view that does not describe the frame (offsets past its end, wrong family) is
// a caller bug; the functions then leave the frame untouched instead of writing
// out of bounds.
#pragma once

#include <cstdint>
#include <span>

#include "net/ip_address.hpp"
#include "net/packet_view.hpp"
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
// does not fit the frame.
stats::drop_reason decrement_hop_limit(std::span<uint8_t> frame, packet_view& view) noexcept;

// Writes the Ethernet source and destination MAC addresses.
void set_macs(std::span<uint8_t> frame, const mac_address& src, const mac_address& dst) noexcept;

} // namespace egress::net
