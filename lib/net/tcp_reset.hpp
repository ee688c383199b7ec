// Turns a TCP segment, in place, into the RST a peer would send back to its
// sender: addresses and ports swapped, RST|ACK acknowledging what the segment
// carried, no options and no payload. Used to cut a connection the policy now
// denies, so the inside host learns at once instead of timing out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "net/ip_address.hpp"
#include "net/packet_view.hpp"

namespace egress::net {

// Rewrites frame (parsed as view, a TCP segment) into the reset reply, sent from
// src_mac to dst_mac. Returns the new frame length (shorter or equal), or 0
// when the frame is not TCP or too short to hold the reply (nothing written).
std::size_t make_tcp_reset_reply(std::span<uint8_t> frame, const packet_view& view, const mac_address& src_mac,
                                 const mac_address& dst_mac) noexcept;

// Writes into out the reset the sender of frame (parsed as view, a TCP segment)
// would send its peer: same addresses and ports, seq = the segment's sequence,
// ack = its ack, RST+ACK, no payload, the segment's MACs and TTL (the caller
// translates and emits it like the segment). Returns its length and describes it
// in out_view, or 0 when frame is not TCP or out is too small.
std::size_t make_tcp_reset_forward(std::span<const uint8_t> frame, const packet_view& view, std::span<uint8_t> out,
                                   packet_view& out_view) noexcept;

} // namespace egress::net
