#include "net/l2.hpp"

#include <cstring>

#include "net/byte_cursor.hpp"
#include "net/packet_parser.hpp"

namespace egress::net {

namespace {

void put16(std::span<uint8_t> b, std::size_t at, uint16_t v) noexcept {
    b[at] = static_cast<uint8_t>(v >> 8);
    b[at + 1] = static_cast<uint8_t>(v);
}

} // namespace

bool read_l2_header(std::span<const uint8_t> frame, l2_header& out) noexcept {
    out = l2_header{};
    byte_cursor c(frame);
    const auto dst = c.take(6);
    const auto src = c.take(6);
    if (dst.empty() || src.empty() || !c.read_be16(out.ethertype)) return false;
    std::memcpy(out.dst.bytes.data(), dst.data(), 6);
    std::memcpy(out.src.bytes.data(), src.data(), 6);
    while (out.ethertype == ethertype_vlan || (out.tags == 0 && out.ethertype == ethertype_qinq)) {
        if (out.tags == max_vlan_tags) return false;
        uint16_t tci = 0;
        if (!c.read_be16(tci) || !c.read_be16(out.ethertype)) return false;
        if (out.tags == 0) out.outer_tci = tci;
        ++out.tags;
    }
    out.l3_offset = static_cast<uint16_t>(c.offset());
    return true;
}

std::size_t write_l2_header(std::span<uint8_t> buffer, std::size_t frame_at, std::size_t frame_length,
                            std::size_t l3_offset, const mac_address& src, const mac_address& dst,
                            uint16_t vid) noexcept {
    const std::size_t header = ethernet_header + (vid != 0 ? vlan_tag : 0);
    if (l3_offset < ethernet_header || l3_offset > frame_length || frame_at > buffer.size() ||
        frame_length > buffer.size() - frame_at || frame_at + l3_offset < header)
        return npos_l2;
    const std::size_t start = frame_at + l3_offset - header;
    std::memcpy(&buffer[start], dst.bytes.data(), 6);
    std::memcpy(&buffer[start + 6], src.bytes.data(), 6);
    if (vid != 0) {
        put16(buffer, start + 12, ethertype_vlan);
        put16(buffer, start + 14, vid & vlan_vid_mask);
    }
    return start;
}

std::size_t put_l2_header(std::span<uint8_t> out, const mac_address& src, const mac_address& dst, uint16_t vid,
                          uint16_t ethertype) noexcept {
    const std::size_t header = ethernet_header + (vid != 0 ? vlan_tag : 0);
    if (out.size() < header) return 0;
    std::memcpy(&out[0], dst.bytes.data(), 6);
    std::memcpy(&out[6], src.bytes.data(), 6);
    if (vid != 0) {
        put16(out, 12, ethertype_vlan);
        put16(out, 14, vid & vlan_vid_mask);
    }
    put16(out, header - 2, ethertype);
    return header;
}

} // namespace egress::net
