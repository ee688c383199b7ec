// Offsets of the header fields the gateway reads and rewrites in place, and
// big-endian loads and stores at an offset of a frame: one definition for the
// code that edits frames (rewrite, checksum, ICMP errors, MSS clamping).
// Callers have checked that the offsets lie inside the frame.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace egress::net::wire {

// Within the IPv4 / IPv6 header.
inline constexpr std::size_t ipv4_ttl_offset = 8;
inline constexpr std::size_t ipv4_checksum_offset = 10;
inline constexpr std::size_t ipv4_src_offset = 12;
inline constexpr std::size_t ipv4_dst_offset = 16;
inline constexpr std::size_t ipv6_hop_limit_offset = 7;
inline constexpr std::size_t ipv6_src_offset = 8;
// Within the L4 header.
inline constexpr std::size_t tcp_checksum_offset = 16;
inline constexpr std::size_t udp_length_offset = 4;
inline constexpr std::size_t udp_checksum_offset = 6;
inline constexpr std::size_t icmp_checksum_offset = 2;
inline constexpr std::size_t icmp_identifier_offset = 4;

inline uint16_t load_be16(std::span<const uint8_t> f, std::size_t at) noexcept {
    return static_cast<uint16_t>((f[at] << 8) | f[at + 1]);
}
inline uint32_t load_be32(std::span<const uint8_t> f, std::size_t at) noexcept {
    return (uint32_t{f[at]} << 24) | (uint32_t{f[at + 1]} << 16) | (uint32_t{f[at + 2]} << 8) | f[at + 3];
}
inline void store_be16(std::span<uint8_t> f, std::size_t at, uint16_t v) noexcept {
    f[at] = static_cast<uint8_t>(v >> 8);
    f[at + 1] = static_cast<uint8_t>(v);
}
inline void store_be32(std::span<uint8_t> f, std::size_t at, uint32_t v) noexcept {
    store_be16(f, at, static_cast<uint16_t>(v >> 16));
    store_be16(f, at + 2, static_cast<uint16_t>(v));
}

} // namespace egress::net::wire
