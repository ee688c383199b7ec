// The segments the hold point releases: a flow allowed once its hostname is
// known gets its held client bytes sent on as new segments, each a copy of
// the allowing segment's headers (addresses, ports, options, ack, window) with
// the held bytes' own sequence number and payload. They enter the flow stages
// after the policy check like any client segment (tracked, DLP, translated).
// A QUIC flow's held datagrams go out whole, each rebuilt on the allowing
// datagram's headers (build_held_datagram).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "net/packet_view.hpp"

namespace egress::gateway {

// Payload bytes per released segment: what fits the outside MTU (and the
// outbox) behind the template's IP and TCP headers.
std::size_t held_segment_room(std::span<const uint8_t> tmpl, const net::packet_view& view, uint16_t mtu) noexcept;

// Writes into out the segment carrying `payload` at sequence `seq`, built on
// tmpl (a parsed client TCP segment, untranslated): flags ACK (+PSH), checksums
// recomputed. Returns its length and describes it in out_view, or 0 when it
// does not fit out.
std::size_t build_held_segment(std::span<const uint8_t> tmpl, const net::packet_view& view, uint32_t seq,
                               std::span<const uint8_t> payload, std::span<uint8_t> out,
                               net::packet_view& out_view) noexcept;

// QUIC: writes into out the datagram carrying `payload`, built on tmpl (a
// parsed client UDP datagram of the same flow, untranslated): IP and UDP
// lengths and checksums made right. Returns its length (0: does not fit out).
std::size_t build_held_datagram(std::span<const uint8_t> tmpl, const net::packet_view& view,
                                std::span<const uint8_t> payload, std::span<uint8_t> out,
                                net::packet_view& out_view) noexcept;

} // namespace egress::gateway
