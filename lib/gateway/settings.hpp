// Everything the packet path needs to know about the deployment, independent of
// DPDK: addresses, next hops, the SNAT pool, table size and timeouts. The config
// loader (controlplane/) fills it; the worker (dataplane/) hands it to gateway_core.
#pragma once

#include <cstdint>
#include <memory_resource>
#include <optional>
#include <vector>

#include "flow/source_limits.hpp"
#include "flow/timeouts.hpp"
#include "gateway/dns_observer.hpp"
#include "gateway/exception_path.hpp"
#include "gateway/fragment_tracker.hpp"
#include "gateway/hostname_reassembly.hpp"
#include "nat/port_allocator.hpp"
#include "net/ip_address.hpp"
#include "net/l2.hpp"

namespace egress::gateway {

// An address of the gateway with the length of its on-link prefix
// ("10.0.0.1/24": hosts in 10.0.0.0/24 are reached directly on this side).
struct interface_prefix {
    net::ip_address address;
    uint8_t length = 0; // bits of the family: 0..32 for IPv4, 0..128 for IPv6
    bool contains(const net::ip_address& a) const noexcept;
};

struct static_neighbor {
    net::ip_address address;
    net::mac_address mac;
};

class steering;

struct side_settings {
    net::mac_address mac;                       // this port's own MAC (frames are sent from it)
    std::optional<net::mac_address> next_hop_mac; // static next hop: every frame leaving goes to it (no resolution)
    std::vector<net::ip_address> addresses;     // the gateway's own addresses on this side
    // On-link prefixes (one per address; an address without one covers only itself).
    std::vector<interface_prefix> on_link;
    // The router beyond which off-link destinations lie, per family. A family
    // without one treats every destination as on-link (resolved directly).
    std::optional<net::ip_address> next_hop_v4;
    std::optional<net::ip_address> next_hop_v6;
    std::vector<static_neighbor> neighbors;     // fixed entries of the neighbour cache
    uint16_t vlan = 0;                          // 802.1Q VID 1..4094 of this side; 0 = untagged
    uint16_t mtu = 1500;                        // IP MTU of this side's link: larger packets do not leave by it
    exception_settings exception;               // BGP, BFD, listed ports to the kernel (exception_path.hpp)

    // A side accepts untagged frames when it has no VLAN (and priority-tagged
    // ones, VID 0), and frames with exactly its one tag when it has one.
    constexpr bool accepts_vlan(std::size_t l3_offset, uint16_t tci) const noexcept {
        if (l3_offset == net::ethernet_header) return vlan == 0;
        return l3_offset == net::ethernet_header + net::vlan_tag && (tci & net::vlan_vid_mask) == vlan;
    }
};

// The gateway's own ICMP errors (time exceeded, fragmentation needed, packet too
// big): a token bucket per worker.
struct icmp_settings {
    uint32_t errors_per_second = 100; // 0: never send one
    uint32_t burst = 50;
    // RFC 5508 REQ-8 / RFC 6888 REQ-11b: destination unreachable, administratively
    // prohibited (IPv4 type 3 code 13, ICMPv6 type 1 code 1) to the inside sender of
    // a new flow refused by the policy or for want of resources
    // (gateway_core::refuses_flow), from the same bucket. Off by default: see
    // conf/egressd.toml [icmp] prohibited.
    bool prohibited = false;
};

// The neighbour cache (ARP / IPv6 neighbour discovery), per side, per worker.
struct neighbor_settings {
    uint32_t max_entries = 1024;      // dynamic entries per side
    uint32_t reachable_ms = 30'000;   // a confirmation counts this long; then the entry is stale
    uint32_t stale_ms = 600'000;      // a stale entry unused this long is removed
    uint8_t retries = 3;              // requests per resolution (and per probe of a stale entry)
    uint32_t retry_ms = 1'000;        // between them
    uint16_t queue_per_entry = 8;     // frames held per unresolved next hop
    uint32_t queue_total = 256;       // frames held in all
};

struct nat_pool_settings {
    std::vector<net::ip_address> addresses; // public IPv4 addresses
    uint16_t port_min = 1024;
    uint16_t port_max = 65535;
    // RFC 4787 REQ-1 mapping (port_allocator.hpp): endpoint-dependent keeps the
    // whole range per destination; endpoint-independent keeps one public
    // address:port per inside endpoint for every destination (STUN, WebRTC).
    nat::mapping_mode mapping = nat::mapping_mode::endpoint_dependent;
    // Hairpinning (RFC 4787 REQ-9, RFC 5382 REQ-8, RFC 5508 REQ-7): a packet from
    // inside to a pool address:port of an inside flow is turned back inside.
    bool hairpin = true;
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
    flow::tcp_tracking tcp; // window checks (issue 20): liberal mode for asymmetric paths
    bool accept_any_dst_mac = false; // promiscuous: do not drop frames for other MACs
    export_settings flow_export;
    inspect_settings inspect;        // hostname inspection (TLS SNI, HTTP Host) bounds
    icmp_settings icmp;
    uint16_t mss_clamp = 0;          // TCP MSS limit on SYNs (IPv4; IPv6 gets 20 less); 0: off
    fragment_settings fragments;     // fragments of tracked flows (fragment_tracker.hpp)
    neighbor_settings neighbors;     // ARP / neighbour discovery cache bounds and timers
    uint32_t echo_replies_per_s = 100; // ICMP echo replies from the gateway's own addresses; 0 = none
    // Several workers (steering.hpp): this worker's index (picks its Hyperscan
    // scratch and DLP scanner in the policy) and the steering every worker shares
    // (null: one worker). Without RSS, pool.port_min/max are already this worker's
    // slice; with RSS the whole range, and steering->accepts() filters the ports.
    uint16_t worker = 0;
    const steering* steer = nullptr;
    // Where the flow table's arrays come from (base/page_memory.hpp: hugepages);
    // null: new/delete. Owned by whoever builds the gateway, outlives it.
    std::pmr::memory_resource* table_memory = nullptr;
    // Per inside source limits ([limits], this worker's share): all 0 = off.
    flow::source_limit_settings limits;
    // [dns]: the observed-answers table for verify = "observed" (dns_observer.hpp).
    dns_settings dns;
    // Special-purpose prefixes the operator lets cross ([outside] allow_special):
    // each lies inside one refused class that net::special_exceptable allows.
    std::vector<interface_prefix> allow_special;
};

} // namespace egress::gateway
