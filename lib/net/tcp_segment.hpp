// Reading a parsed TCP segment (net::parse_frame has checked that the header,
// including its data offset, lies inside the datagram).
#pragma once

#include <cstdint>
#include <span>

#include "net/packet_view.hpp"

namespace egress::net {

inline uint32_t tcp_seq(std::span<const uint8_t> frame, const packet_view& v) noexcept {
    const uint8_t* p = frame.data() + v.l4_offset + 4;
    return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}

// The sequence number of the segment's first payload byte: a SYN takes the
// segment's own number, so data on a SYN or SYN-ACK (TCP Fast Open, RFC 7413)
// starts one after it.
inline uint32_t tcp_payload_seq(std::span<const uint8_t> frame, const packet_view& v) noexcept {
    return tcp_seq(frame, v) + ((v.tcp_flags & tcp_syn) != 0 ? 1u : 0u);
}

inline uint32_t tcp_ack_number(std::span<const uint8_t> frame, const packet_view& v) noexcept {
    const uint8_t* p = frame.data() + v.l4_offset + 8;
    return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}

// The segment's payload (empty when the header fills the datagram).
inline std::span<const uint8_t> tcp_payload(std::span<const uint8_t> frame, const packet_view& v) noexcept {
    const std::size_t header = static_cast<std::size_t>(frame[v.l4_offset + 12] >> 4) * 4;
    if (header >= v.l4_length) return {};
    return frame.subspan(v.l4_offset + header, v.l4_length - header);
}

} // namespace egress::net
