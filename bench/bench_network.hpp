// The test network of the gateway_core benchmarks that build their frames with
// the unit tests' builders (hold_bench, dns_verify_bench): the ports' MACs and
// next hops, one address a side, one pool address, 65,536 flows and 32,768
// inspection slots.
#pragma once

#include <cstdint>

#include "../tests/unit/net/packet_builder.hpp"
#include "gateway/settings.hpp"

namespace egress::bench {

inline const auto inside_mac = test::mac("02:00:00:00:01:fe");
inline const auto outside_mac = test::mac("02:00:00:00:02:fe");
inline const auto inside_hop = test::mac("02:00:00:00:01:01");
inline const auto outside_hop = test::mac("02:00:00:00:02:01");

// `buffers`: flows reassembling their first bytes at once.
inline gateway::settings network_settings(uint32_t buffers) {
    gateway::settings s;
    s.inside.mac = inside_mac;
    s.inside.next_hop_mac = inside_hop;
    s.inside.addresses = {test::ip("10.0.0.1")};
    s.outside.mac = outside_mac;
    s.outside.next_hop_mac = outside_hop;
    s.outside.addresses = {test::ip("192.0.2.1")};
    s.pool = {{test::ip("203.0.113.10")}, 1024, 65535};
    s.max_flows = 1u << 16;
    s.inspect.slots = 1u << 15;
    s.inspect.buffers = buffers;
    return s;
}

} // namespace egress::bench
