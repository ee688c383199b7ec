#include "net/arp.hpp"

#include <cstring>

#include "net/byte_cursor.hpp"
#include "net/l2.hpp"

namespace egress::net {

namespace {

constexpr uint16_t hardware_ethernet = 1;
constexpr uint8_t ethernet_address_length = 6;
constexpr uint8_t ipv4_address_length = 4;

void put16(std::span<uint8_t> b, std::size_t at, uint16_t v) noexcept {
    b[at] = static_cast<uint8_t>(v >> 8);
    b[at + 1] = static_cast<uint8_t>(v);
}
void put32(std::span<uint8_t> b, std::size_t at, uint32_t v) noexcept {
    put16(b, at, static_cast<uint16_t>(v >> 16));
    put16(b, at + 2, static_cast<uint16_t>(v));
}
bool read_mac(byte_cursor& c, mac_address& out) noexcept {
    const auto b = c.take(6);
    if (b.empty()) return false;
    std::memcpy(out.bytes.data(), b.data(), 6);
    return true;
}

} // namespace

stats::drop_reason parse_arp(std::span<const uint8_t> frame, std::size_t l3_offset, arp_message& out) noexcept {
    out = arp_message{};
    if (l3_offset > frame.size()) return stats::drop_reason::arp_truncated;
    byte_cursor c(frame.subspan(l3_offset));
    uint16_t hardware = 0, protocol = 0;
    uint8_t hlen = 0, plen = 0;
    if (!c.read_be16(hardware) || !c.read_be16(protocol) || !c.read_u8(hlen) || !c.read_u8(plen) ||
        !c.read_be16(out.op))
        return stats::drop_reason::arp_truncated;
    if (hardware != hardware_ethernet || protocol != 0x0800 || hlen != ethernet_address_length ||
        plen != ipv4_address_length || (out.op != arp_request && out.op != arp_reply))
        return stats::drop_reason::arp_unsupported;
    if (!read_mac(c, out.sender_mac) || !c.read_be32(out.sender_ip) || !read_mac(c, out.target_mac) ||
        !c.read_be32(out.target_ip))
        return stats::drop_reason::arp_truncated;
    if (out.sender_mac.is_multicast() || out.sender_mac == mac_address{} || out.sender_ip == 0xffffffffu ||
        (out.sender_ip >> 28) == 0xe)
        return stats::drop_reason::arp_bad_sender;
    return stats::no_drop;
}

std::size_t build_arp(std::span<uint8_t> out, const mac_address& eth_src, const mac_address& eth_dst, uint16_t vid,
                      const arp_message& m) noexcept {
    const std::size_t header = ethernet_header + (vid != 0 ? vlan_tag : 0);
    const std::size_t length = std::max(header + arp_length, min_frame);
    if (out.size() < length) return 0;
    put_l2_header(out, eth_src, eth_dst, vid, ethertype_arp);
    const std::size_t a = header;
    put16(out, a, hardware_ethernet);
    put16(out, a + 2, 0x0800);
    out[a + 4] = ethernet_address_length;
    out[a + 5] = ipv4_address_length;
    put16(out, a + 6, m.op);
    std::memcpy(&out[a + 8], m.sender_mac.bytes.data(), 6);
    put32(out, a + 14, m.sender_ip);
    std::memcpy(&out[a + 18], m.target_mac.bytes.data(), 6);
    put32(out, a + 24, m.target_ip);
    std::memset(&out[a + arp_length], 0, length - a - arp_length);
    return length;
}

} // namespace egress::net
