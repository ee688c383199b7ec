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

namespace {

// The reset of the segment in `in` (parsed as view) written to `out` (which may
// be `in` itself): headers up to the IP header kept (IPv6: the fixed header
// only), a bare 20-byte TCP header. reply: addressed back to the sender (seq =
// its ack, ack = its sequence + length, fresh TTL); otherwise in the sender's
// name towards its peer (seq = its sequence, ack = its ack, TTL kept).
std::size_t write_reset(std::span<const uint8_t> in, std::span<uint8_t> out, const packet_view& view, bool reply,
                        packet_view& out_view) noexcept {
    if (view.proto != proto_tcp) return 0;
    const bool v4 = view.family == ip_family::v4;
    const std::size_t l3 = view.l3_offset;
    const std::size_t ip_header = v4 ? std::size_t{view.l4_offset} - l3 : ipv6_header; // IPv6: extension headers dropped
    const std::size_t l4_in = view.l4_offset;
    if (l4_in + tcp_header > in.size() || view.l4_length < tcp_header) return 0;
    const std::size_t l4 = l3 + ip_header;
    if (l4 + tcp_header > out.size()) return 0;

    const uint8_t data_offset = static_cast<uint8_t>((in[l4_in + 12] >> 4) * 4);
    const uint32_t seq = get32(in, l4_in + 4);
    const uint32_t ack = get32(in, l4_in + 8);
    const std::size_t payload = view.l4_length >= data_offset ? view.l4_length - data_offset : 0;
    const uint8_t flags = view.tcp_flags;
    uint32_t acknowledged = seq + static_cast<uint32_t>(payload);
    if (flags & tcp_syn) ++acknowledged;
    if (flags & tcp_fin) ++acknowledged;
    const uint16_t sport = view.src_port;
    const uint16_t dport = view.dst_port;

    if (out.data() != in.data()) std::memcpy(out.data(), in.data(), l4);
    // TCP header at its new place (right after the fixed IPv6 header, or after
    // the IPv4 header with its options).
    std::memset(out.data() + l4, 0, tcp_header);
    put16(out, l4, reply ? dport : sport);
    put16(out, l4 + 2, reply ? sport : dport);
    if (reply) {
        put32(out, l4 + 4, (flags & tcp_ack) ? ack : 0);
        put32(out, l4 + 8, acknowledged);
    } else {
        put32(out, l4 + 4, seq);
        put32(out, l4 + 8, ack);
    }
    out[l4 + 12] = 5 << 4;
    out[l4 + 13] = tcp_rst | tcp_ack;

    // IP header: exact length; a reply also goes the other way with a fresh TTL.
    if (v4) {
        if (reply) {
            uint8_t addr[4];
            std::memcpy(addr, out.data() + l3 + 12, 4);
            std::memmove(out.data() + l3 + 12, out.data() + l3 + 16, 4);
            std::memcpy(out.data() + l3 + 16, addr, 4);
            out[l3 + 8] = 64;
        }
        put16(out, l3 + 2, static_cast<uint16_t>(ip_header + tcp_header));
        put16(out, l3 + 6, 0x4000); // DF, no fragment
    } else {
        if (reply) {
            uint8_t addr[16];
            std::memcpy(addr, out.data() + l3 + 8, 16);
            std::memmove(out.data() + l3 + 8, out.data() + l3 + 24, 16);
            std::memcpy(out.data() + l3 + 24, addr, 16);
            out[l3 + 7] = 64;
        }
        put16(out, l3 + 4, static_cast<uint16_t>(tcp_header));
        out[l3 + 6] = proto_tcp;
    }

    const std::size_t length = l4 + tcp_header;
    out_view = view;
    out_view.l4_offset = static_cast<uint16_t>(l4);
    out_view.l3_length = static_cast<uint16_t>(ip_header + tcp_header);
    out_view.l4_length = static_cast<uint16_t>(tcp_header);
    out_view.tcp_flags = tcp_rst | tcp_ack;
    if (reply) {
        std::swap(out_view.src, out_view.dst);
        std::swap(out_view.src_port, out_view.dst_port);
    }
    recompute_checksums(out.first(length), out_view);
    return length;
}

} // namespace

std::size_t make_tcp_reset_reply(std::span<uint8_t> frame, const packet_view& view, const mac_address& src_mac,
                                 const mac_address& dst_mac) noexcept {
    packet_view reply;
    const std::size_t length = write_reset(frame, frame, view, true, reply);
    if (length == 0) return 0;
    set_macs(frame, src_mac, dst_mac);
    return length;
}

std::size_t make_tcp_reset_forward(std::span<const uint8_t> frame, const packet_view& view, std::span<uint8_t> out,
                                   packet_view& out_view) noexcept {
    return write_reset(frame, out, view, false, out_view);
}

} // namespace egress::net
