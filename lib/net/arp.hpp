// ARP for IPv4 over Ethernet (RFC 826): parsing a received packet and building
// requests, replies and gratuitous announcements. Only hardware type 1
// (Ethernet, 6-byte addresses) with protocol type 0x0800 (4-byte addresses) is
// accepted; anything else is refused with a typed reason.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "net/ip_address.hpp"
#include "stats/drop_reason.hpp"

namespace egress::net {

inline constexpr uint16_t arp_request = 1;
inline constexpr uint16_t arp_reply = 2;
inline constexpr std::size_t arp_length = 28; // Ethernet/IPv4 ARP body

struct arp_message {
    uint16_t op = 0;
    mac_address sender_mac;
    uint32_t sender_ip = 0; // host order
    mac_address target_mac;
    uint32_t target_ip = 0;
};

// The ARP body at frame[l3_offset]. arp_truncated when it is shorter than 28
// bytes; arp_unsupported for another hardware or protocol type or address
// length, or an opcode other than request / reply; arp_bad_sender for a
// multicast or zero sender MAC or a broadcast / multicast sender address.
stats::drop_reason parse_arp(std::span<const uint8_t> frame, std::size_t l3_offset, arp_message& out) noexcept;

// Writes a whole frame (Ethernet header, a tag when vid != 0, the ARP body,
// zero padding up to 60 bytes) from eth_src to eth_dst. Returns its length, 0
// when out is too small.
std::size_t build_arp(std::span<uint8_t> out, const mac_address& eth_src, const mac_address& eth_dst, uint16_t vid,
                      const arp_message& m) noexcept;

inline constexpr mac_address broadcast_mac{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};

} // namespace egress::net
