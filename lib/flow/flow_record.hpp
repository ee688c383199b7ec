// One tracked flow (TCP connection, UDP exchange or ICMP echo session) in exactly
// one cache line. The flow table stores one record per flow and indexes it under
// both directions' keys (see flow_table.hpp).
//
// Layout (64 bytes, one cache line; all integers host order):
//   offset  size  field
//        0    16  inside          inside host address (IPv4 as v4-mapped)
//       16    16  remote          outside peer address
//       32     2  inside_port     TCP/UDP port, or ICMP echo identifier
//       34     2  remote_port     TCP/UDP port, 0 for ICMP echo
//       36     4  public_addr     SNAT public IPv4 (v4 flows; unused for v6)
//       40     2  public_port     SNAT public port / echo id (v4 flows; unused for v6)
//       42     1  proto           IP protocol number
//       43     1  family          net::ip_family
//       44     1  tcp_state       flow::tcp_state (TCP only)
//       45     1  flags           flow_flags bits
//       46     1  tcp_flags_seen  OR of the TCP flags of every packet since the last report
//       47     1  policy_gen      generation of the policy that admitted (or last re-checked) the flow
//       48     4  expires_at_ms   gateway clock in ms, wrapping (serial arithmetic)
//       52     4  report_start_ms gateway clock in ms at creation or at the last report
//       56     4  packets_out     packets inside -> outside since the last report
//       60     4  packets_in      packets outside -> inside since the last report
//
// A TCP flow's window state (24 bytes, tcp_window.hpp) does not fit here: it
// lives in the flow table's side entry with the byte counts (flow_table.hpp).
//
// The key fields (inside, remote, ports, public_addr/public_port, proto, family)
// must not change while the record is in a flow_table: the table finds the index
// slots of a record by hashing them again.
#pragma once

#include <cstddef>
#include <cstdint>

#include "net/ip_address.hpp"

namespace egress::flow {

// outbound: a packet from the inside host; inbound: a reply from outside.
enum class direction : uint8_t { outbound = 0, inbound = 1 };

constexpr direction reverse(direction d) noexcept {
    return d == direction::outbound ? direction::inbound : direction::outbound;
}

// Bits of flow_record::flags.
namespace flow_flags {
inline constexpr uint8_t fin_out = 0x01;          // FIN seen from the inside host
inline constexpr uint8_t fin_in = 0x02;           // FIN seen from the remote peer
inline constexpr uint8_t live = 0x04;             // record is in use (set by flow_table::insert)
inline constexpr uint8_t last_fin_inbound = 0x08; // the second FIN came from outside (TCP closing)
inline constexpr uint8_t tcp_mask = fin_out | fin_in | last_fin_inbound; // owned by tcp_advance
inline constexpr uint8_t cut = 0x10; // a newer policy denied the flow: its packets are dropped (TCP: reset)
inline constexpr uint8_t awaits_hostname = 0x20; // the policy waits for the flow's hostname (gateway::hostname_reassembly)
inline constexpr uint8_t inspection_slot = 0x40; // the flow holds a slot in hostname_reassembly (hostname, DLP state)
inline constexpr uint8_t source_counted = 0x80; // the flow counts against its source's limits (flow::source_limits): release when it ends
} // namespace flow_flags

struct alignas(64) flow_record {
    net::ip_address inside;
    net::ip_address remote;
    uint16_t inside_port = 0;
    uint16_t remote_port = 0;
    uint32_t public_addr = 0;
    uint16_t public_port = 0;
    uint8_t proto = 0;
    uint8_t family = static_cast<uint8_t>(net::ip_family::v4);
    uint8_t tcp_state = 0;
    uint8_t flags = 0;
    uint8_t tcp_flags_seen = 0;
    uint8_t policy_gen = 0;
    uint32_t expires_at_ms = 0;
    uint32_t report_start_ms = 0;
    uint32_t packets_out = 0;
    uint32_t packets_in = 0;

    bool is_v4() const noexcept { return family == static_cast<uint8_t>(net::ip_family::v4); }
    bool is_live() const noexcept { return (flags & flow_flags::live) != 0; }
};

static_assert(sizeof(flow_record) == 64, "flow_record must be one cache line");
static_assert(alignof(flow_record) == 64);
static_assert(offsetof(flow_record, inside_port) == 32);
static_assert(offsetof(flow_record, public_addr) == 36);
static_assert(offsetof(flow_record, proto) == 42);
static_assert(offsetof(flow_record, expires_at_ms) == 48);
static_assert(offsetof(flow_record, packets_in) == 60);

// Serial (RFC 1982 style) comparison of wrapping 32-bit millisecond clocks: true
// when a is at or after b, valid while the two are less than 2^31 ms (24.8 days)
// apart.
constexpr bool time_reached(uint32_t a, uint32_t b) noexcept {
    return static_cast<int32_t>(a - b) >= 0;
}

// A record has expired once the clock reaches its expires_at_ms.
constexpr bool is_expired(const flow_record& r, uint32_t now_ms) noexcept {
    return time_reached(now_ms, r.expires_at_ms);
}

} // namespace egress::flow
