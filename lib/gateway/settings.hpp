// Everything the packet path needs to know about the deployment, independent of
// DPDK: addresses, next hops, the SNAT pool, table size and timeouts. The config
// loader (controlplane/) fills it; the worker (dataplane/) hands it to gateway_core.
#pragma once

#include <cstdint>
#include <vector>

#include "flow/timeouts.hpp"
#include "gateway/fragment_tracker.hpp"
#include "gateway/inspector.hpp"
#include "net/ip_address.hpp"

namespace egress::gateway {

struct side_settings {
    net::mac_address mac;              // this port's own MAC (frames are sent from it)
    net::mac_address next_hop_mac;     // static next hop on this side
    std::vector<net::ip_address> addresses; // the gateway's own addresses on this side
    uint16_t mtu = 1500;               // IP MTU of this side's link: larger packets do not leave by it
};

// The gateway's own ICMP errors (time exceeded, fragmentation needed, packet too
// big): a token bucket per worker.
struct icmp_settings {
    uint32_t errors_per_second = 100; // 0: never send one
    uint32_t burst = 50;
};

struct nat_pool_settings {
    std::vector<net::ip_address> addresses; // public IPv4 addresses
    uint16_t port_min = 1024;
    uint16_t port_max = 65535;
};

// What the packet path reports for flow export (IPFIX, JSON flow log).
struct export_settings {
    bool enabled = false;                 // build flow events at all
    uint32_t active_timeout_ms = 60'000;  // report long flows this often (deltas)
    uint32_t denied_flush_ms = 1'000;     // aggregation interval of refused attempts
    bool nat_session_events = false;      // RFC 8158 NAT44 session create/delete events
};

struct settings {
    side_settings inside;
    side_settings outside;
    nat_pool_settings pool;
    uint32_t max_flows = 1u << 20;
    flow::timeouts timeouts;
    bool accept_any_dst_mac = false; // promiscuous: do not drop frames for other MACs
    export_settings flow_export;
    inspect_settings inspect;        // hostname inspection (TLS SNI, HTTP Host) bounds
    icmp_settings icmp;
    uint16_t mss_clamp = 0;          // TCP MSS limit on SYNs (IPv4; IPv6 gets 20 less); 0: off
    fragment_settings fragments;     // fragments of tracked flows (fragment_tracker.hpp)
};

} // namespace egress::gateway
