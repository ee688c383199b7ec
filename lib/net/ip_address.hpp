// An IPv4 or IPv6 address in 16 bytes, network byte order. IPv4 is held in the
// IPv4-mapped form (::ffff:a.b.c.d) so one type and one comparison serve both.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace egress::net {

enum class ip_family : uint8_t { v4 = 4, v6 = 6 };

struct ip_address {
    std::array<uint8_t, 16> bytes{};

    static ip_address from_v4_bytes(const uint8_t* p) noexcept {
        ip_address a;
        a.bytes[10] = 0xff;
        a.bytes[11] = 0xff;
        std::memcpy(&a.bytes[12], p, 4);
        return a;
    }
    static ip_address from_v4(uint32_t host_order) noexcept {
        const uint8_t b[4] = {static_cast<uint8_t>(host_order >> 24), static_cast<uint8_t>(host_order >> 16),
                              static_cast<uint8_t>(host_order >> 8), static_cast<uint8_t>(host_order)};
        return from_v4_bytes(b);
    }
    static ip_address from_v6_bytes(const uint8_t* p) noexcept {
        ip_address a;
        std::memcpy(a.bytes.data(), p, 16);
        return a;
    }
    // Parses dotted-quad IPv4 or RFC 4291 IPv6 text; nullopt when it is neither.
    static std::optional<ip_address> parse(std::string_view text);

    bool is_v4() const noexcept {
        static constexpr uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        return std::memcmp(bytes.data(), mapped, 12) == 0;
    }
    ip_family family() const noexcept { return is_v4() ? ip_family::v4 : ip_family::v6; }
    uint32_t v4() const noexcept {
        return (uint32_t{bytes[12]} << 24) | (uint32_t{bytes[13]} << 16) | (uint32_t{bytes[14]} << 8) | bytes[15];
    }
    const uint8_t* v4_bytes() const noexcept { return &bytes[12]; }

    std::string to_string() const;

    // Two 8-byte compares (the defaulted one compared byte by byte: it runs
    // several times per packet, e.g. against the gateway's own addresses).
    friend bool operator==(const ip_address& a, const ip_address& b) noexcept {
        uint64_t x[2];
        uint64_t y[2];
        std::memcpy(x, a.bytes.data(), sizeof x);
        std::memcpy(y, b.bytes.data(), sizeof y);
        return ((x[0] ^ y[0]) | (x[1] ^ y[1])) == 0;
    }
    friend auto operator<=>(const ip_address&, const ip_address&) = default; // byte order: IPv4 (mapped) before most IPv6
};

// A MAC address, network order.
struct mac_address {
    std::array<uint8_t, 6> bytes{};
    static std::optional<mac_address> parse(std::string_view text);
    bool is_multicast() const noexcept { return (bytes[0] & 1) != 0; }
    std::string to_string() const;
    friend bool operator==(const mac_address&, const mac_address&) = default;
};

// An address and UDP/TCP port, written "192.0.2.9:4739" or "[2001:db8::9]:4739".
struct endpoint {
    ip_address address;
    uint16_t port = 0;
    static std::optional<endpoint> parse(std::string_view text);
};

} // namespace egress::net

template <>
struct fmt::formatter<egress::net::ip_address> : fmt::formatter<std::string_view> {
    template <typename Ctx>
    auto format(const egress::net::ip_address& a, Ctx& ctx) const {
        return fmt::formatter<std::string_view>::format(a.to_string(), ctx);
    }
};

template <>
struct fmt::formatter<egress::net::mac_address> : fmt::formatter<std::string_view> {
    template <typename Ctx>
    auto format(const egress::net::mac_address& a, Ctx& ctx) const {
        return fmt::formatter<std::string_view>::format(a.to_string(), ctx);
    }
};
