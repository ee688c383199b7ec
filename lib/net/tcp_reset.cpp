#include "net/tcp_reset.hpp"

#include <cstring>

#include "net/byte_cursor.hpp"
#include "net/checksum.hpp"
#include "net/rewrite.hpp"

namespace egress::net {

namespace {

constexpr std::size_t tcp_header = 20;

uint32_t get32(std::span<const uint8_t> f, std::size_t at) noexcept {
    byte_cursor c(f.subspan(at));
    uint32_t v = 0;
    c.read_be32(v);
    return v;
}
void put16(std::span<uint8_t> f, std::size_t at, uint16_t v) noexcept {
    f[at] = static_cast<uint8_t>(v >> 8);
    f[at + 1] = static_cast<uint8_t>(v);
}
void put32(std::span<uint8_t> f, std::size_t at, uint32_t v) noexcept {
    put16(f, at, static_cast<uint16_t>(v >> 16));
    put16(f, at + 2, static_cast<uint16_t>(v));
}

} // namespace

std::size_t make_tcp_reset_reply(std::span<uint8_t> frame, const packet_view& view, const mac_address& src_mac,
                                 const mac_address& dst_mac) noexcept {
    if (view.proto != proto_tcp) return 0;
    const bool v4 = view.family == ip_family::v4;
    const std::size_t l3 = view.l3_offset;
    const std::size_t ip_header = v4 ? std::size_t{view.l4_offset} - l3 : ipv6_header; // IPv6: extension headers dropped
    const std::size_t l4_in = view.l4_offset;
    if (l4_in + tcp_header > frame.size() || view.l4_length < tcp_header) return 0;

    const uint8_t data_offset = static_cast<uint8_t>((frame[l4_in + 12] >> 4) * 4);
    const uint32_t seq = get32(frame, l4_in + 4);
    const uint32_t ack = get32(frame, l4_in + 8);
    const std::size_t payload = view.l4_length >= data_offset ? view.l4_length - data_offset : 0;
    const uint8_t flags = view.tcp_flags;
    uint32_t acknowledged = seq + static_cast<uint32_t>(payload);
    if (flags & tcp_syn) ++acknowledged;
    if (flags & tcp_fin) ++acknowledged;
    const uint16_t sport = view.src_port;
    const uint16_t dport = view.dst_port;

    // TCP header at its new place (right after the fixed IPv6 header, or after
    // the IPv4 header with its options).
    const std::size_t l4 = l3 + ip_header;
    std::memset(frame.data() + l4, 0, tcp_header);
    put16(frame, l4, dport);
    put16(frame, l4 + 2, sport);
    put32(frame, l4 + 4, (flags & tcp_ack) ? ack : 0);
    put32(frame, l4 + 8, acknowledged);
    frame[l4 + 12] = 5 << 4;
    frame[l4 + 13] = tcp_rst | tcp_ack;

    // IP header: reply direction, fresh TTL, exact length.
    if (v4) {
        uint8_t addr[4];
        std::memcpy(addr, frame.data() + l3 + 12, 4);
        std::memmove(frame.data() + l3 + 12, frame.data() + l3 + 16, 4);
        std::memcpy(frame.data() + l3 + 16, addr, 4);
        put16(frame, l3 + 2, static_cast<uint16_t>(ip_header + tcp_header));
        put16(frame, l3 + 6, 0x4000); // DF, no fragment
        frame[l3 + 8] = 64;
    } else {
        uint8_t addr[16];
        std::memcpy(addr, frame.data() + l3 + 8, 16);
        std::memmove(frame.data() + l3 + 8, frame.data() + l3 + 24, 16);
        std::memcpy(frame.data() + l3 + 24, addr, 16);
        put16(frame, l3 + 4, static_cast<uint16_t>(tcp_header));
        frame[l3 + 6] = proto_tcp;
        frame[l3 + 7] = 64;
    }
    set_macs(frame, src_mac, dst_mac);

    const std::size_t length = l4 + tcp_header;
    packet_view reply = view;
    reply.l4_offset = static_cast<uint16_t>(l4);
    reply.l3_length = static_cast<uint16_t>(ip_header + tcp_header);
    reply.l4_length = static_cast<uint16_t>(tcp_header);
    std::swap(reply.src, reply.dst);
    recompute_checksums(frame.first(length), reply);
    return length;
}

} // namespace egress::net
