// ICMP / ICMPv6 errors: translating the packet an error quotes (NAT44), and
// building the gateway's own errors (time exceeded, fragmentation needed,
// packet too big). DPDK-free, no allocation; every write is bounds-checked
// against the frame.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "net/ip_address.hpp"
#include "net/packet_view.hpp"

namespace egress::net {

enum class quoted_side : uint8_t { source, destination };

// Rewrites one endpoint of the packet an IPv4 ICMP error quotes (view.icmp_error,
// from parse_frame): the quoted address and the quoted TCP/UDP port or echo
// identifier (only where the identifier sits on that side), keeping every
// checksum right with RFC 1624 incremental updates: the quoted IP header
// checksum, the quoted L4 checksum when the quote holds it (TCP: only when at
// least 18 bytes of the segment are quoted; UDP: not when 0, "none"; echo: no
// pseudo-header) and the ICMP checksum, which covers all of those bytes. Nothing
// is ever recomputed over the quote: it is usually truncated. The outer header is
// left alone (see set_ipv4_source / set_ipv4_destination). No effect on IPv6 or
// on a view that does not fit the frame.
void set_quoted_endpoint(std::span<uint8_t> frame, packet_view& view, quoted_side which,
                         const ip_address& new_address, uint16_t new_port) noexcept;

// The limits on how much of the offending datagram an error carries: the whole
// error stays within 576 bytes of IPv4 (RFC 1812 4.3.2.3) or 1280 of IPv6
// (RFC 4443 2.4 (c)).
inline constexpr std::size_t icmp_error_max_ipv4 = 576;
inline constexpr std::size_t icmp_error_max_ipv6 = 1280;

struct icmp_error_spec {
    uint8_t type = 0;
    uint8_t code = 0;
    uint32_t rest = 0;       // the 4 bytes after the checksum: next-hop MTU (low 16 bits, v4) or MTU (v6)
    ip_address source;       // the gateway's own address, same family as the offending packet
    mac_address src_mac;     // this port
    mac_address dst_mac;     // the next hop the offending frame came from
    uint8_t hop_limit = 64;  // TTL / hop limit of the error
};

// Writes into `out` the error about the datagram in `frame` (parsed as `view`),
// sent back to its source: the frame's own L2 header (VLAN tags kept, MACs from
// spec), a fresh IPv4 (DSCP CS6, no DF) or IPv6 header, the ICMP header and as
// much of the datagram as the limit above allows, with all checksums. Returns
// the frame length, or 0 when `out` is too small, the families differ, or the
// view does not fit the frame.
std::size_t build_icmp_error(std::span<uint8_t> out, std::span<const uint8_t> frame, const packet_view& view,
                             const icmp_error_spec& spec) noexcept;

// True when the gateway must not answer `view` with an error: it is itself an
// ICMP error, or it was sent to a broadcast / multicast MAC or IP address.
bool icmp_error_forbidden(std::span<const uint8_t> frame, const packet_view& view) noexcept;

} // namespace egress::net
