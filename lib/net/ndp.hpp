// IPv6 neighbour discovery (RFC 4861) for address resolution: parsing neighbour
// solicitations and advertisements, building them. Router discovery and
// redirects are not handled (egressd is configured with its next hops).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "net/ip_address.hpp"
#include "stats/drop_reason.hpp"

namespace egress::net {

inline constexpr uint8_t icmpv6_neighbor_solicitation = 135;
inline constexpr uint8_t icmpv6_neighbor_advertisement = 136;
inline constexpr uint8_t nd_hop_limit = 255;
inline constexpr std::size_t nd_frame_body = 40 + 24 + 8; // IPv6 header, NS/NA, one link-layer option

// NA flags as on the wire (first byte after the checksum).
inline constexpr uint8_t na_router = 0x80;
inline constexpr uint8_t na_solicited = 0x40;
inline constexpr uint8_t na_override = 0x20;

struct nd_message {
    uint8_t type = 0;        // icmpv6_neighbor_solicitation or icmpv6_neighbor_advertisement
    uint8_t flags = 0;       // NA: na_router | na_solicited | na_override
    ip_address src;
    ip_address dst;
    ip_address target;
    bool has_lladdr = false; // NS: source link-layer option; NA: target link-layer option
    mac_address lladdr;
};

// The IPv6 packet at frame[l3_offset] as an NS or NA. icmp_type_unsupported
// when it is something else (another next header straight after the fixed
// header, another ICMPv6 type): the caller counts it as before. Otherwise
// ndp_bad_hop_limit (hop limit != 255), ndp_bad_checksum (the ICMPv6 checksum
// is not exact), ndp_malformed (truncated, code != 0, multicast target, an
// option of length 0 or past the end, a multicast-addressed solicited NA, an
// NS from the unspecified address carrying a source link-layer option).
stats::drop_reason parse_nd(std::span<const uint8_t> frame, std::size_t l3_offset, nd_message& out) noexcept;

// ff02::1:ffXX:XXXX for `a`, and the Ethernet multicast MAC 33:33:xx:xx:xx:xx
// of any IPv6 multicast group.
ip_address solicited_node(const ip_address& a) noexcept;
mac_address ipv6_multicast_mac(const ip_address& group) noexcept;
bool is_ipv6_multicast(const ip_address& a) noexcept;
inline const ip_address all_nodes = ip_address{{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}};

// A whole frame (Ethernet header, a tag when vid != 0, IPv6 with hop limit
// 255, the NS/NA, one link-layer address option carrying eth_src) from eth_src
// to eth_dst. NS: source link-layer option; NA: target link-layer option and
// `flags`. Returns the length, 0 when out is too small.
std::size_t build_ns(std::span<uint8_t> out, const mac_address& eth_src, const mac_address& eth_dst, uint16_t vid,
                     const ip_address& src, const ip_address& dst, const ip_address& target) noexcept;
std::size_t build_na(std::span<uint8_t> out, const mac_address& eth_src, const mac_address& eth_dst, uint16_t vid,
                     const ip_address& src, const ip_address& dst, const ip_address& target, uint8_t flags) noexcept;

// The ICMPv6 checksum of `icmp` (checksum field taken as zero) under the IPv6
// pseudo-header of src and dst.
uint16_t icmpv6_checksum(const ip_address& src, const ip_address& dst, std::span<const uint8_t> icmp) noexcept;

} // namespace egress::net
