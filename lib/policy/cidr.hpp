// A CIDR prefix over net::ip_address. IPv4 is held the way ip_address holds it,
// v4-mapped: "10.0.0.0/8" is the IPv6 prefix ::ffff:10.0.0.0/104 (96 + 8).
//
// Families never mix: an IPv4 CIDR matches only IPv4 addresses and an IPv6 CIDR
// only IPv6 addresses. "0.0.0.0/0" is every IPv4 address, "::/0" every IPv6
// address but no IPv4 one (write both to mean "everything"). IPv6 text that
// names a prefix inside ::ffff:0:0/96 is refused: write the IPv4 form.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "net/ip_address.hpp"

namespace egress::policy {

struct cidr {
    net::ip_address base; // host bits zero
    uint8_t prefix_len = 0; // v6 terms: 96..128 for IPv4 (96 + n), 0..128 for IPv6

    // "10.0.0.0/8", "2001:db8::/32". The prefix length is required; host bits must
    // be zero. On failure *why (when given) holds the whole message, e.g.
    //   expected a CIDR like "10.0.0.0/8" or "2001:db8::/32", got "10.0.0.1/33"
    //   expected a network address (host bits zero), got "10.0.0.1/8" (did you mean "10.0.0.0/8"?)
    static std::optional<cidr> parse(std::string_view text, std::string* why = nullptr);

    // An IPv4 CIDR (the base is v4-mapped and the prefix covers the mapping).
    bool is_v4() const noexcept { return prefix_len >= 96 && base.is_v4(); }
    net::ip_family family() const noexcept { return is_v4() ? net::ip_family::v4 : net::ip_family::v6; }
    // The length as written: 0..32 for IPv4, 0..128 for IPv6.
    uint8_t family_prefix_len() const noexcept { return is_v4() ? static_cast<uint8_t>(prefix_len - 96) : prefix_len; }

    // Same family and the first prefix_len bits equal.
    bool contains(const net::ip_address& a) const noexcept;
    // Every address of `inner` is in this CIDR.
    bool covers(const cidr& inner) const noexcept;

    std::string to_string() const;
    friend bool operator==(const cidr&, const cidr&) = default;
};

// True when the first `bits` bits of a and b are equal.
bool same_prefix(const net::ip_address& a, const net::ip_address& b, unsigned bits) noexcept;

} // namespace egress::policy

template <>
struct fmt::formatter<egress::policy::cidr> : fmt::formatter<std::string_view> {
    template <typename Ctx>
    auto format(const egress::policy::cidr& c, Ctx& ctx) const {
        return fmt::formatter<std::string_view>::format(c.to_string(), ctx);
    }
};
