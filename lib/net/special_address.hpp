// Addresses that never cross the gateway (SECURITY-MODEL.md promise 5): as a
// packet's source or destination they mean the host itself, its link, a group,
// or nothing at all (RFC 1122 §3.2.1.3, RFC 1812 §5.3.7, RFC 4291 §2.4–2.7,
// RFC 6890's "forwardable: false"), so a packet carrying one is refused before
// it creates state or is translated.
//
// IPv4: 0.0.0.0/8 ("this network", the unspecified address among them),
// 127.0.0.0/8 (loopback), 169.254.0.0/16 (link-local, cloud metadata services
// among them), 224.0.0.0/4 (multicast), 240.0.0.0/4 (reserved, class E) and
// 255.255.255.255 (limited broadcast, inside class E).
// IPv6: :: (unspecified), ::1 (loopback), fe80::/10 (link-local), ff00::/8
// (multicast) and ::ffff:0:0/96 (IPv4-mapped: never on the wire).
//
// Documentation and private prefixes are not here: they are what a lab or a
// VPC uses, and policy decides on them.
#pragma once

#include "net/ip_address.hpp"

namespace egress::net {

enum class special_address : uint8_t {
    none,
    unspecified, // this network (IPv4 0/8), ::
    loopback,
    link_local,
    multicast,
    broadcast,   // 255.255.255.255 (a subnet's broadcast is a side's setting, not an address class)
    reserved,    // IPv4 class E
    v4_mapped,   // an IPv4-mapped address in an IPv6 header
};

// The class of `a` as found in a packet of family `f` (an IPv4-mapped value in
// an IPv6 header is special, the same value as an IPv4 address is not).
special_address classify_special(const ip_address& a, ip_family f) noexcept;

std::string_view to_string(special_address s) noexcept;

} // namespace egress::net
