// The test network of the gateway_core benchmarks: the ports' MACs and next
// hops (every benchmark), and for those that run TLS flows (hold_bench,
// dns_verify_bench) settings with one address a side, one pool address,
// 65,536 flows and 32,768 inspection slots.
#pragma once

#include <cstdint>

#include "gateway/settings.hpp"
#include "net/ip_address.hpp"

namespace egress::bench {

inline const net::mac_address inside_mac{{0x02, 0, 0, 0, 0x01, 0xfe}};
inline const net::mac_address outside_mac{{0x02, 0, 0, 0, 0x02, 0xfe}};
inline const net::mac_address inside_hop{{0x02, 0, 0, 0, 0x01, 0x01}};
inline const net::mac_address outside_hop{{0x02, 0, 0, 0, 0x02, 0x01}};

// `buffers`: flows reassembling their first bytes at once.
inline gateway::settings network_settings(uint32_t buffers) {
    gateway::settings s;
    s.inside.mac = inside_mac;
    s.inside.next_hop_mac = inside_hop;
    s.inside.addresses = {net::ip_address::from_v4(0x0A000001)};  // 10.0.0.1
    s.outside.mac = outside_mac;
    s.outside.next_hop_mac = outside_hop;
    s.outside.addresses = {net::ip_address::from_v4(0xC0000201)}; // 192.0.2.1
    s.pool = {{net::ip_address::from_v4(0xCB00710A)}, 1024, 65535}; // 203.0.113.10
    s.max_flows = 1u << 16;
    s.inspect.slots = 1u << 15;
    s.inspect.buffers = buffers;
    return s;
}

} // namespace egress::bench
