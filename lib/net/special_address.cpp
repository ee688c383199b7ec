#include "net/special_address.hpp"

namespace egress::net {

namespace {

special_address classify_v4(uint32_t a) noexcept {
    const uint32_t first = a >> 24;
    if (first == 0) return special_address::unspecified;
    if (first == 127) return special_address::loopback;
    if ((a >> 16) == 0xa9fe) return special_address::link_local; // 169.254/16
    if (first >= 224 && first < 240) return special_address::multicast;
    if (a == 0xffffffffu) return special_address::broadcast;
    if (first >= 240) return special_address::reserved;
    return special_address::none;
}

special_address classify_v6(const ip_address& a) noexcept {
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

} // namespace

special_address classify_special(const ip_address& a, ip_family f) noexcept {
    return f == ip_family::v4 ? classify_v4(a.v4()) : classify_v6(a);
}

std::string_view to_string(special_address s) noexcept {
    switch (s) {
    case special_address::none: return "none";
    case special_address::unspecified: return "unspecified";
    case special_address::loopback: return "loopback";
    case special_address::link_local: return "link_local";
    case special_address::multicast: return "multicast";
    case special_address::broadcast: return "broadcast";
    case special_address::reserved: return "reserved";
    case special_address::v4_mapped: return "v4_mapped";
    }
    return "unknown";
}

} // namespace egress::net
