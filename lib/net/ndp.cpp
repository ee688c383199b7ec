#include "net/ndp.hpp"

#include <cstring>

#include "net/byte_cursor.hpp"
#include "net/checksum.hpp"
#include "net/l2.hpp"
#include "net/packet_view.hpp"

namespace egress::net {

namespace {

constexpr std::size_t nd_header = 24; // type, code, checksum, flags/reserved, target
constexpr uint8_t option_source_lladdr = 1;
constexpr uint8_t option_target_lladdr = 2;

void put16(std::span<uint8_t> b, std::size_t at, uint16_t v) noexcept {
    b[at] = static_cast<uint8_t>(v >> 8);
    b[at + 1] = static_cast<uint8_t>(v);
}

std::size_t build_nd(std::span<uint8_t> out, const mac_address& eth_src, const mac_address& eth_dst, uint16_t vid,
                     const ip_address& src, const ip_address& dst, const ip_address& target, uint8_t type,
                     uint8_t flags) noexcept {
    const std::size_t header = ethernet_header + (vid != 0 ? vlan_tag : 0);
    const std::size_t length = header + nd_frame_body;
    if (out.size() < length) return 0;
    put_l2_header(out, eth_src, eth_dst, vid, ethertype_ipv6);
    const std::span<uint8_t> ip = out.subspan(header, nd_frame_body);
    std::memset(ip.data(), 0, ip.size());
    ip[0] = 0x60;
    put16(ip, 4, static_cast<uint16_t>(nd_header + 8));
    ip[6] = proto_icmpv6;
    ip[7] = nd_hop_limit;
    std::memcpy(&ip[8], src.bytes.data(), 16);
    std::memcpy(&ip[24], dst.bytes.data(), 16);
    const std::span<uint8_t> icmp = ip.subspan(ipv6_header);
    icmp[0] = type;
    icmp[4] = flags;
    std::memcpy(&icmp[8], target.bytes.data(), 16);
    icmp[24] = type == icmpv6_neighbor_solicitation ? option_source_lladdr : option_target_lladdr;
    icmp[25] = 1; // in units of 8 bytes
    std::memcpy(&icmp[26], eth_src.bytes.data(), 6);
    put16(icmp, 2, icmpv6_checksum(src, dst, icmp));
    return length;
}

} // namespace

bool is_ipv6_multicast(const ip_address& a) noexcept { return a.bytes[0] == 0xff; }

ip_address solicited_node(const ip_address& a) noexcept {
    ip_address g{{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 0}};
    g.bytes[13] = a.bytes[13];
    g.bytes[14] = a.bytes[14];
    g.bytes[15] = a.bytes[15];
    return g;
}

mac_address ipv6_multicast_mac(const ip_address& group) noexcept {
    return mac_address{{0x33, 0x33, group.bytes[12], group.bytes[13], group.bytes[14], group.bytes[15]}};
}

uint16_t icmpv6_checksum(const ip_address& src, const ip_address& dst, std::span<const uint8_t> icmp) noexcept {
    uint32_t sum = ones_sum(src.bytes);
    sum = ones_sum(dst.bytes, sum);
    const auto length = static_cast<uint32_t>(icmp.size());
    sum += (length >> 16) + (length & 0xffffu) + proto_icmpv6;
    if (icmp.size() >= 4) {
        sum = ones_sum(icmp.first(2), sum);
        sum = ones_sum(icmp.subspan(4), sum);
    } else {
        sum = ones_sum(icmp, sum);
    }
    return static_cast<uint16_t>(~fold(sum));
}

stats::drop_reason parse_nd(std::span<const uint8_t> frame, std::size_t l3_offset, nd_message& out) noexcept {
    using stats::drop_reason;
    out = nd_message{};
    if (l3_offset > frame.size()) return drop_reason::ipv6_truncated;
    byte_cursor c(frame.subspan(l3_offset));
    uint32_t version_class_flow = 0;
    uint16_t payload_length = 0;
    uint8_t next_header = 0, hop_limit = 0;
    if (!c.read_be32(version_class_flow) || !c.read_be16(payload_length) || !c.read_u8(next_header) ||
        !c.read_u8(hop_limit))
        return drop_reason::ipv6_truncated;
    const auto src = c.take(16);
    const auto dst = c.take(16);
    if (src.empty() || dst.empty()) return drop_reason::ipv6_truncated;
    if ((version_class_flow >> 28) != 6) return drop_reason::ipv6_bad_header;
    if (!c.has(payload_length)) return drop_reason::ipv6_bad_length;
    if (next_header != proto_icmpv6) return drop_reason::icmp_type_unsupported;
    const std::span<const uint8_t> icmp = c.peek(payload_length);
    if (icmp.empty() || (icmp[0] != icmpv6_neighbor_solicitation && icmp[0] != icmpv6_neighbor_advertisement))
        return drop_reason::icmp_type_unsupported;
    out.type = icmp[0];
    out.src = ip_address::from_v6_bytes(src.data());
    out.dst = ip_address::from_v6_bytes(dst.data());
    if (hop_limit != nd_hop_limit) return drop_reason::ndp_bad_hop_limit;
    if (icmp.size() < nd_header || icmp[1] != 0) return drop_reason::ndp_malformed;
    if (icmpv6_checksum(out.src, out.dst, icmp) != static_cast<uint16_t>((icmp[2] << 8) | icmp[3]))
        return drop_reason::ndp_bad_checksum;
    out.flags = out.type == icmpv6_neighbor_advertisement ? static_cast<uint8_t>(icmp[4] & 0xe0) : 0;
    out.target = ip_address::from_v6_bytes(&icmp[8]);
    if (is_ipv6_multicast(out.target) || is_ipv6_multicast(out.src)) return drop_reason::ndp_malformed;
    if (out.type == icmpv6_neighbor_advertisement && is_ipv6_multicast(out.dst) && (out.flags & na_solicited))
        return drop_reason::ndp_malformed;
    const uint8_t wanted = out.type == icmpv6_neighbor_solicitation ? option_source_lladdr : option_target_lladdr;
    byte_cursor options(icmp.subspan(nd_header));
    while (options.remaining() > 0) {
        uint8_t type = 0, units = 0;
        if (!options.read_u8(type) || !options.read_u8(units) || units == 0) return drop_reason::ndp_malformed;
        const auto body = options.take(std::size_t{units} * 8 - 2);
        if (body.empty()) return drop_reason::ndp_malformed;
        if (type == wanted && units == 1) { // an Ethernet address; other link layers are ignored
            out.has_lladdr = true;
            std::memcpy(out.lladdr.bytes.data(), body.data(), 6);
        }
    }
    const bool unspecified_source = out.src == ip_address{};
    if (unspecified_source && (out.type != icmpv6_neighbor_solicitation || out.has_lladdr))
        return drop_reason::ndp_malformed;
    if (out.has_lladdr && (out.lladdr.is_multicast() || out.lladdr == mac_address{})) return drop_reason::ndp_malformed;
    return stats::no_drop;
}

std::size_t build_ns(std::span<uint8_t> out, const mac_address& eth_src, const mac_address& eth_dst, uint16_t vid,
                     const ip_address& src, const ip_address& dst, const ip_address& target) noexcept {
    return build_nd(out, eth_src, eth_dst, vid, src, dst, target, icmpv6_neighbor_solicitation, 0);
}

std::size_t build_na(std::span<uint8_t> out, const mac_address& eth_src, const mac_address& eth_dst, uint16_t vid,
                     const ip_address& src, const ip_address& dst, const ip_address& target, uint8_t flags) noexcept {
    return build_nd(out, eth_src, eth_dst, vid, src, dst, target, icmpv6_neighbor_advertisement, flags);
}

} // namespace egress::net
