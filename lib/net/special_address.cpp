#include "net/special_address.hpp"

namespace egress::net {

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

special_address classify_special_prefix(const ip_address& a, uint8_t length) noexcept {
    struct range {
        unsigned bits; // the class's own prefix length, in bits of the 128-bit form
        special_address cls;
    };
    // Each class as a prefix; 255.255.255.255 is a /32 inside class E.
    const auto within = [&](const ip_address& start, unsigned class_bits, unsigned bits) {
        if (bits < class_bits) return false;
        for (unsigned i = 0; i < class_bits; ++i)
            if (((a.bytes[i / 8] ^ start.bytes[i / 8]) >> (7 - i % 8) & 1) != 0) return false;
        return true;
    };
    if (a.is_v4()) {
        const unsigned bits = 96u + length;
        if (length == 32) return detail::classify_v4(a.v4());
        const std::pair<uint32_t, range> v4[] = {{0x00000000u, {8, special_address::unspecified}},
                                                 {0x7f000000u, {8, special_address::loopback}},
                                                 {0xa9fe0000u, {16, special_address::link_local}},
                                                 {0xe0000000u, {4, special_address::multicast}},
                                                 {0xf0000000u, {4, special_address::reserved}}};
        for (const auto& [start, r] : v4)
            if (within(ip_address::from_v4(start), 96u + r.bits, bits)) return r.cls;
        return special_address::none;
    }
    if (length == 128) return detail::classify_v6(a);
    ip_address multicast, link_local, mapped;
    multicast.bytes[0] = 0xff;
    link_local.bytes[0] = 0xfe, link_local.bytes[1] = 0x80;
    mapped.bytes[10] = mapped.bytes[11] = 0xff;
    if (within(multicast, 8, length)) return special_address::multicast;
    if (within(link_local, 10, length)) return special_address::link_local;
    if (within(mapped, 96, length)) return special_address::v4_mapped;
    return special_address::none;
}

} // namespace egress::net
