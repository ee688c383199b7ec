// held_segment: see held_segment.hpp.
#include "gateway/held_segment.hpp"

#include <algorithm>
#include <cstring>

#include "net/checksum.hpp"
#include "net/packet_parser.hpp"

namespace egress::gateway {

namespace {

void put16(uint8_t* p, std::size_t v) noexcept {
    p[0] = static_cast<uint8_t>(v >> 8);
    p[1] = static_cast<uint8_t>(v);
}

std::size_t tcp_header_length(std::span<const uint8_t> frame, const net::packet_view& view) noexcept {
    return static_cast<std::size_t>(frame[view.l4_offset + 12] >> 4) * 4;
}

} // namespace

std::size_t held_segment_room(std::span<const uint8_t> tmpl, const net::packet_view& view, uint16_t mtu) noexcept {
    const std::size_t headers = view.l4_offset - view.l3_offset + tcp_header_length(tmpl, view);
    const std::size_t ip_room = std::min<std::size_t>(mtu, 1500); // the outbox holds 1500 bytes of IP
    return ip_room > headers ? ip_room - headers : 0;
}

std::size_t build_held_segment(std::span<const uint8_t> tmpl, const net::packet_view& view, uint32_t seq,
                               std::span<const uint8_t> payload, std::span<uint8_t> out,
                               net::packet_view& out_view) noexcept {
    const std::size_t head = view.l4_offset + tcp_header_length(tmpl, view);
    const std::size_t n = head + payload.size();
    if (n > out.size() || head > tmpl.size()) return 0;
    std::memcpy(out.data(), tmpl.data(), head);
    std::memcpy(out.data() + head, payload.data(), payload.size());
    uint8_t* l3 = out.data() + view.l3_offset;
    if (view.family == net::ip_family::v4) put16(l3 + 2, n - view.l3_offset);
    else put16(l3 + 4, n - view.l3_offset - net::ipv6_header);
    uint8_t* tcp = out.data() + view.l4_offset;
    tcp[4] = static_cast<uint8_t>(seq >> 24), tcp[5] = static_cast<uint8_t>(seq >> 16);
    tcp[6] = static_cast<uint8_t>(seq >> 8), tcp[7] = static_cast<uint8_t>(seq);
    tcp[13] = net::tcp_ack | net::tcp_psh; // no SYN / FIN / RST: plain data
    const std::span<uint8_t> f = out.first(n);
    // The parser checks the IPv4 header checksum: it is made right first (the
    // template's offsets are the new frame's).
    if (view.family == net::ip_family::v4) put16(l3 + 10, net::ipv4_header_checksum(f, view));
    if (net::parse_frame(f, out_view) != stats::no_drop) return 0;
    net::recompute_checksums(f, out_view);
    return n;
}

std::size_t build_held_datagram(std::span<const uint8_t> tmpl, const net::packet_view& view,
                                std::span<const uint8_t> payload, std::span<uint8_t> out,
                                net::packet_view& out_view) noexcept {
    const std::size_t head = view.l4_offset + 8;
    const std::size_t n = head + payload.size();
    if (n > out.size() || head > tmpl.size()) return 0;
    std::memcpy(out.data(), tmpl.data(), head);
    std::memcpy(out.data() + head, payload.data(), payload.size());
    uint8_t* l3 = out.data() + view.l3_offset;
    if (view.family == net::ip_family::v4) put16(l3 + 2, n - view.l3_offset);
    else put16(l3 + 4, n - view.l3_offset - net::ipv6_header);
    put16(out.data() + view.l4_offset + 4, 8 + payload.size());
    const std::span<uint8_t> f = out.first(n);
    if (view.family == net::ip_family::v4) put16(l3 + 10, net::ipv4_header_checksum(f, view));
    if (net::parse_frame(f, out_view) != stats::no_drop) return 0;
    net::recompute_checksums(f, out_view);
    return n;
}

} // namespace egress::gateway
