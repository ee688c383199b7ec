// What the gateway tests share: the test network's MACs and addresses, settings
// for a small gateway, and frame builders addressed to each port.
#pragma once

#include <ostream>

#include "../net/packet_builder.hpp"
#include "gateway/packet_result.hpp"
#include "gateway/settings.hpp"

namespace egress::gateway {

// gtest prints a result as its verdict, with its reason and reply length
// when dropped, its front adjustment when forwarded.
inline void PrintTo(const packet_result& r, std::ostream* os) {
    *os << name_of(r.kind);
    if (r.dropped()) *os << " (" << stats::name_of(r.reason) << ")";
    if (r.kind == verdict::reply) *os << " reply_len=" << r.reply_len;
    if (r.kind == verdict::forward && r.front_adjust != 0) *os << " front_adjust=" << int{r.front_adjust};
    if (r.share_with_peers) *os << " shared";
}

// What a test expects of a frame, as a value: forwarded, consumed, or dropped
// for a reason (with or without a reply), so that sequences of results compare
// as vectors.
struct outcome {
    verdict kind = verdict::forward;
    stats::drop_reason reason = stats::no_drop;
    outcome(verdict v) : kind(v) {} // NOLINT(google-explicit-constructor): written as expectations
    // no_drop (the parsers' "nothing refused") reads as forwarded.
    outcome(stats::drop_reason why) // NOLINT
        : kind(why == stats::no_drop ? verdict::forward : verdict::drop), reason(why) {}
    outcome(const packet_result& r) // NOLINT
        : kind(r.dropped() ? verdict::drop : r.kind), reason(r.dropped() ? r.reason : stats::no_drop) {}
    bool operator==(const outcome&) const = default;
};
inline void PrintTo(const outcome& o, std::ostream* os) {
    *os << name_of(o.kind);
    if (o.kind == verdict::drop) *os << " (" << stats::name_of(o.reason) << ")";
}

} // namespace egress::gateway

namespace egress::gateway::testing_network {

inline const auto inside_mac = test::mac("02:00:00:00:01:fe");
inline const auto outside_mac = test::mac("02:00:00:00:02:fe");
inline const auto inside_hop = test::mac("02:00:00:00:01:01");
inline const auto outside_hop = test::mac("02:00:00:00:02:01");

// Gateway 10.0.0.1 / fd00:0:0:1::1 inside, 192.0.2.1 / 2001:db8::1 outside,
// one public address 203.0.113.10.
inline settings make_settings(uint32_t max_flows = 1024, uint16_t port_min = 1024, uint16_t port_max = 65535) {
    settings s;
    s.inside.mac = inside_mac;
    s.inside.next_hop_mac = inside_hop;
    s.inside.addresses = {test::ip("10.0.0.1"), test::ip("fd00:0:0:1::1")};
    s.outside.mac = outside_mac;
    s.outside.next_hop_mac = outside_hop;
    s.outside.addresses = {test::ip("192.0.2.1"), test::ip("2001:db8::1")};
    s.pool = {{test::ip("203.0.113.10")}, port_min, port_max};
    s.max_flows = max_flows;
    return s;
}

inline test::frame_builder from_inside() { return std::move(test::frame_builder().eth(inside_hop, inside_mac)); }
inline test::frame_builder from_outside() { return std::move(test::frame_builder().eth(outside_hop, outside_mac)); }

} // namespace egress::gateway::testing_network
