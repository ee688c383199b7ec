// The Ethernet header and 802.1Q tags: reading them on their own (for frames
// the IP parser does not take, such as ARP) and rewriting them in front of an
// unchanged L3 header (pushing, popping or rewriting a tag).
//
// A frame's L2 header always ends right before its L3 header, and its last
// two bytes are the ethertype of the L3 protocol. write_l2_header keeps those
// two bytes where they are and writes the rest (MACs and any tag) in front of
// them, so pushing a tag moves the start of the frame 4 bytes earlier (into
// headroom the caller provides) and popping one moves it 4 bytes later; the
// L3 header and payload never move.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "net/ip_address.hpp"

namespace egress::net {

inline constexpr uint16_t ethertype_arp = 0x0806;
inline constexpr std::size_t ethernet_header = 14;
inline constexpr std::size_t vlan_tag = 4;
inline constexpr uint16_t vlan_vid_mask = 0x0fff;
inline constexpr std::size_t min_frame = 60; // Ethernet minimum without the FCS

struct l2_header {
    uint16_t ethertype = 0;   // of the L3 protocol (after the tags)
    uint16_t l3_offset = 0;   // ethernet_header + 4 per tag
    uint8_t tags = 0;         // 0..2 (0x8100, or 0x88a8 followed by 0x8100)
    uint16_t outer_tci = 0;   // the first tag's TCI when tags > 0
    mac_address dst;
    mac_address src;
};

// Reads the Ethernet header and up to two tags (the same rules as parse_frame).
// False when the frame is shorter than its header or has more tags.
bool read_l2_header(std::span<const uint8_t> frame, l2_header& out) noexcept;

// The frame occupies buffer[frame_at ..]; its L3 header starts at l3_offset
// within the frame. Writes an Ethernet header from src to dst, with one 802.1Q
// tag carrying `vid` (PCP and DEI 0) when vid != 0, untagged when vid == 0,
// ending right before the L3 header. Returns where the frame now starts in
// buffer, or npos (nothing written) when the header would start before
// buffer[0] or l3_offset < 14 or the frame is shorter than l3_offset.
inline constexpr std::size_t npos_l2 = static_cast<std::size_t>(-1);
std::size_t write_l2_header(std::span<uint8_t> buffer, std::size_t frame_at, std::size_t frame_length,
                            std::size_t l3_offset, const mac_address& src, const mac_address& dst,
                            uint16_t vid) noexcept;

// Writes the Ethernet header (and a tag when vid != 0) of a frame the gateway
// builds at out[0]; returns the header length (14 or 18), 0 when out is too small.
std::size_t put_l2_header(std::span<uint8_t> out, const mac_address& src, const mac_address& dst, uint16_t vid,
                          uint16_t ethertype) noexcept;

} // namespace egress::net
