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

#include <cstdint>
#include <string_view>

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

namespace detail {

inline special_address classify_v4(uint32_t a) noexcept {
    const uint32_t first = a >> 24;
    if (first == 0) return special_address::unspecified;
    if (first == 127) return special_address::loopback;
    if ((a >> 16) == 0xa9fe) return special_address::link_local; // 169.254/16
    if (first >= 224 && first < 240) return special_address::multicast;
    if (a == 0xffffffffu) return special_address::broadcast;
    if (first >= 240) return special_address::reserved;
    return special_address::none;
}

inline special_address classify_v6(const ip_address& a) noexcept {
    const auto& b = a.bytes;
    if (b[0] == 0xff) return special_address::multicast;
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return special_address::link_local;
    if (a.is_v4()) return special_address::v4_mapped;
    for (std::size_t i = 0; i < 15; ++i)
        if (b[i] != 0) return special_address::none;
    if (b[15] == 0) return special_address::unspecified;
    if (b[15] == 1) return special_address::loopback;
    return special_address::none;
}

} // namespace detail

// The class of `a` as found in a packet of family `f` (an IPv4-mapped value in
// an IPv6 header is special, the same value as an IPv4 address is not).
// Inline: the admit stage asks it twice per packet.
inline special_address classify_special(const ip_address& a, ip_family f) noexcept {
    return f == ip_family::v4 ? detail::classify_v4(a.v4()) : detail::classify_v6(a);
}

std::string_view to_string(special_address s) noexcept;

// The class that every address of the prefix `a`/`length` belongs to (a's own
// family), or none when some address of it is not special-purpose: what an
// operator may list as an exception ([outside] allow_special) must name
// addresses that are refused without it.
special_address classify_special_prefix(const ip_address& a, uint8_t length) noexcept;

// Whether an exception may name the class: never loopback, unspecified,
// broadcast (limited or a subnet's) or IPv4-mapped (no router forwards them,
// RFC 1812 §5.3.5, §5.3.7, RFC 4291 §2.5.5.2).
constexpr bool special_exceptable(special_address s) noexcept {
    return s == special_address::link_local || s == special_address::multicast || s == special_address::reserved;
}

} // namespace egress::net
