// The exception path (issue 17, item 1): what of the gateway's own traffic
// goes to the kernel, so that a routing daemon on the gateway host (BIRD, FRR)
// can peer with the routers through egressd's ports.
//
// A side with an exception interface (a DPDK net_tap, dataplane/exception_tap)
// hands the kernel, unchanged, the frames to ITS OWN addresses of:
//   - BGP: TCP with destination or source port 179 (either end may open the
//     session: the daemon listens on 179 and also connects to the router's);
//   - BFD: UDP to port 3784 (single hop, RFC 5881), 3785 (echo) or 4784
//     (multihop, RFC 5883);
//   - the operator's list (`exception_ports`, "tcp/22"): TCP or UDP to that
//     destination port (a service of the gateway host);
// and a copy of each ARP reply and neighbour advertisement to the gateway,
// which the kernel needs to resolve the routers it talks to (egressd still
// answers and learns from every ARP and ND message itself). Nothing else
// reaches the kernel: other traffic to the gateway keeps today's handling
// (echo answered, the rest dropped as local_delivery_unsupported).
//
// Bounded: two token buckets per side, each `exception_rate` frames per
// second and `exception_burst` at once, one for BFD and one for the rest
// (BGP, listed ports, neighbour answers); excess is dropped as
// exception_rate_limited. Two, so that a flood at TCP 179 (anyone can send
// one to the outside address) cannot starve BFD and make the routers
// withdraw a gateway that is healthy. The way back (what the kernel sends from the
// interface) leaves through the port only with the side's own MAC as source
// and, for IP and ARP, one of the side's own addresses as sender
// (from_kernel_check); the rest is exception_source_refused.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "net/packet_view.hpp"
#include "stats/drop_reason.hpp"

namespace egress::gateway {

struct side_settings;

// One entry of exception_ports: TCP or UDP, destination port.
struct exception_port {
    uint8_t proto = 0; // net::proto_tcp or net::proto_udp
    uint16_t port = 0;
    friend bool operator==(const exception_port&, const exception_port&) = default;
};

struct exception_settings {
    bool enabled = false;               // the side has an exception interface
    std::vector<exception_port> ports;  // besides BGP and BFD
    uint32_t rate = 1000;               // frames per second to the kernel
    uint32_t burst = 100;               // at most this many at once
};

inline constexpr uint16_t bgp_port = 179;
inline constexpr uint16_t bfd_single_hop_port = 3784;
inline constexpr uint16_t bfd_echo_port = 3785;
inline constexpr uint16_t bfd_multihop_port = 4784;

// Is this IP packet, addressed to one of the gateway's addresses of this side,
// for the kernel, and under which budget? (BGP, BFD or a listed port; never a
// fragment: the kernel would need the whole datagram.)
enum class exception_class : uint8_t { none, bfd, other };
exception_class classify_exception(const exception_settings& s, const net::packet_view& view) noexcept;
// The same for an IP packet that arrived on side `own`: none unless it is
// addressed to one of that side's own addresses. Both local_stage (on worker
// 0: to the kernel) and steering_stage (on another worker: to worker 0) ask.
exception_class classify_for_kernel(const side_settings& own, const net::packet_view& view) noexcept;

// Is this frame (ARP or neighbour discovery to the gateway) an answer the
// kernel needs a copy of: an ARP reply or a neighbour advertisement?
bool is_neighbor_answer(std::span<const uint8_t> frame) noexcept;

// A frame the kernel sent from the exception interface of side `port`: may it
// leave through the port? no_drop if so, else exception_source_refused (not
// the port's MAC as source, an IP / ARP sender that is not one of the side's
// own addresses, a tagged or truncated frame, another ethertype).
stats::drop_reason from_kernel_check(const side_settings& port, std::span<const uint8_t> frame) noexcept;

} // namespace egress::gateway
