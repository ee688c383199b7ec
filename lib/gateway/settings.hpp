// Everything the packet path needs to know about the deployment, independent of
// DPDK: addresses, next hops, the SNAT pool, table size and timeouts. The config
// loader (controlplane/) fills it; the worker (dataplane/) hands it to gateway_core.
#pragma once

#include <cstdint>
#include <vector>

#include "flow/timeouts.hpp"
#include "gateway/inspector.hpp"
#include "net/ip_address.hpp"

namespace egress::gateway {

class steering;

struct side_settings {
    net::mac_address mac;              // this port's own MAC (frames are sent from it)
    net::mac_address next_hop_mac;     // static next hop on this side
    std::vector<net::ip_address> addresses; // the gateway's own addresses on this side
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
    // Several workers (steering.hpp): this worker's index (picks its Hyperscan
    // scratch and DLP scanner in the policy) and the steering every worker shares
    // (null: one worker). Without RSS, pool.port_min/max are already this worker's
    // slice; with RSS the whole range, and steering->accepts() filters the ports.
    uint16_t worker = 0;
    const steering* steer = nullptr;
};

} // namespace egress::gateway
