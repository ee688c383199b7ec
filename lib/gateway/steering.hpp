// Which worker owns a packet, when several workers share the gateway's ports.
//
// Each worker owns its flows (its own gateway_core); a packet must be handled by
// the worker holding its flow. The rules, for a frame that arrived on `from`:
//   inside, IPv4 TCP/UDP   the RETA entry of the Toeplitz hash of its 4-tuple
//                          (source address, destination, source port,
//                          destination port): what a NIC with RSS and this key
//                          and RETA computes, so such a NIC delivers it to the
//                          owner's queue already;
//   inside, IPv4 ICMP echo the RETA entry of the hash of the address pair (NICs
//                          hash ICMP by addresses only);
//   outside, IPv4 TCP/UDP  with RSS (the worker picked the public port so that the
//                          reply hashes to its own queue): the RETA entry of the
//                          reply's hash, the same thing the NIC computes;
//                          without RSS: the worker whose slice of the port range
//                          holds the destination (public) port;
//   outside, ICMP echo     the worker whose slice holds the identifier (ICMP
//                          identifiers are always drawn from per-worker slices);
//   ICMP errors            the owner of the flow of the packet they quote (the
//                          quoted IPv4/IPv6 header and the first 8 bytes of its
//                          payload): an error arriving from outside quotes a
//                          translated outbound packet (owner as for its reply),
//                          one arriving from inside quotes an inbound packet
//                          (owner as for the reverse, outbound packet);
//   IPv6 (not translated)  a symmetric hash of both endpoints and the protocol,
//                          so both directions land on one worker (ICMPv6 echo:
//                          the identifier in place of both ports);
//   IP fragments           the first fragment (offset 0) carries the transport
//                          header: owner as for the whole datagram; a later
//                          fragment has no ports: `any` here, but owner() also
//                          reports the datagram (fragment_info), and the
//                          dispatching worker's fragment_steering sends it
//                          after its first fragment;
//   anything else          (ARP, frames the packet parser refuses) `any`:
//                          the receiving worker handles it.
//
// Frames are read by the one packet parser (net/packet_parser.hpp), with the
// same rules as the gateway's own parse.
//
// Port slices: [port_min, port_max] is cut into `workers` contiguous slices whose
// sizes differ by at most one; worker i gets slice i. Without RSS a worker's NAT
// allocator is given its slice as its whole range; with RSS every worker uses the
// whole range for TCP/UDP but only accepts a port whose reply hashes to it
// (accepts()), and the slice for ICMP identifiers. Either way no two workers can
// hand out the same inbound key.
//
// The RETA maps (hash & (size - 1)) to a worker; its size is a power of two (the
// device's, with RSS; 128 otherwise). DPDK-free, allocation only at construction.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "gateway/fragment_tracker.hpp"
#include "net/ip_address.hpp"
#include "net/packet_view.hpp"
#include "net/toeplitz.hpp"
#include "stats/counters.hpp"

namespace egress::gateway {

struct port_slice {
    uint16_t min = 0;
    uint16_t max = 0;
};

// Slice `worker` of [min, max] cut into `workers` (workers <= max - min + 1).
port_slice slice_of(uint16_t min, uint16_t max, unsigned worker, unsigned workers) noexcept;
// The worker whose slice holds port; `steering::any` when port is outside [min, max].
uint16_t slice_owner(uint16_t min, uint16_t max, unsigned workers, uint16_t port) noexcept;

struct steering_settings {
    unsigned workers = 1;
    bool rss = false;             // the device steers by Toeplitz hash + RETA (NAT ports chosen to match)
    std::vector<uint8_t> key = std::vector<uint8_t>(net::default_rss_key.begin(), net::default_rss_key.end());
    std::vector<uint16_t> reta;   // entry -> worker; empty: 128 entries, round robin
    uint16_t port_min = 1024;     // the NAT port range, sliced per worker
    uint16_t port_max = 65535;
};

// What owner() saw of an IPv4 / IPv6 fragment.
struct fragment_info {
    bool fragment = false; // the frame is a fragment (the rest is set only then)
    bool first = false;    // offset 0: it holds the transport header
    fragment_key key;      // its datagram, as fragment_tracker keys it (direction from the side)
};

class steering {
public:
    static constexpr uint16_t any = 0xffff;
    static constexpr std::size_t default_reta_size = 128;

    // Preconditions: workers >= 1, key >= 16 bytes, reta size a power of two,
    // every entry < workers.
    explicit steering(steering_settings s);

    unsigned workers() const noexcept { return settings_.workers; }
    bool rss() const noexcept { return settings_.rss; }
    std::span<const uint16_t> reta() const noexcept { return reta_; }
    std::span<const uint8_t> key() const noexcept { return settings_.key; }
    const net::toeplitz_table& hasher() const noexcept { return table_; }

    uint16_t reta_owner(uint32_t hash) const noexcept { return reta_[hash & (reta_.size() - 1)]; }
    port_slice slice(unsigned worker) const noexcept {
        return slice_of(settings_.port_min, settings_.port_max, worker, settings_.workers);
    }
    uint16_t slice_owner(uint16_t port) const noexcept {
        return gateway::slice_owner(settings_.port_min, settings_.port_max, settings_.workers, port);
    }

    // The worker that owns the frame (a full Ethernet frame, VLAN tags allowed), or any.
    uint16_t owner(stats::side from, std::span<const uint8_t> frame) const noexcept { return owner(from, frame, nullptr); }
    // The same; when `frag` is given and the frame is a fragment, also says so.
    uint16_t owner(stats::side from, std::span<const uint8_t> frame, fragment_info* frag) const noexcept;
    // The same from the frame as the packet parser saw it (`parsed`: its
    // verdict; a refused frame is `any`). The dispatching worker parses each
    // frame once, steers by the view, and hands its own frames' views to its
    // gateway_core, which does not parse them again.
    uint16_t owner(stats::side from, const net::packet_view& view, stats::drop_reason parsed,
                   fragment_info* frag) const noexcept;

    // NAT: may `worker` use public_addr:public_port (host order) for a flow of
    // proto towards remote:remote_port? Without RSS always (the worker's range is
    // its slice); with RSS, TCP/UDP: the reply hashes to the worker; ICMP: the
    // identifier is in the worker's slice.
    bool accepts(unsigned worker, uint8_t proto, uint32_t remote, uint16_t remote_port, uint32_t public_addr,
                 uint16_t public_port) const noexcept;

    // The owner of an IPv4 flow given by its inside (outbound) tuple, and of an
    // inbound IPv4 packet given by its own tuple (host order). proto: 6, 17 or 1
    // (ICMP: ports are the identifier, ignored outbound).
    uint16_t outbound_owner_v4(uint8_t proto, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport) const noexcept;
    uint16_t inbound_owner_v4(uint8_t proto, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport) const noexcept;
    // IPv6: the same worker for both directions.
    uint16_t symmetric_owner_v6(uint8_t proto, std::span<const uint8_t, 16> a, uint16_t a_port,
                                std::span<const uint8_t, 16> b, uint16_t b_port) const noexcept;

private:
    steering_settings settings_;
    std::vector<uint16_t> reta_;
    net::toeplitz_table table_;
};

} // namespace egress::gateway
