// local_stage: the gateway's own traffic (see local_stage.hpp).
#include "gateway/local_stage.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

#include "gateway/emit_stage.hpp"
#include "net/arp.hpp"
#include "net/checksum.hpp"
#include "net/l2.hpp"
#include "net/ndp.hpp"
#include "net/rewrite.hpp"

namespace egress::gateway {

using stats::drop_reason;
using stats::side;

packet_result local_stage::learn_from_peer(side from, std::span<const uint8_t> frame, uint32_t now) noexcept {
    net::l2_header l2;
    if (!net::read_l2_header(frame, l2)) return packet_result::drop(drop_reason::l2_truncated);
    if (l2.ethertype != net::ethertype_arp && l2.ethertype != net::ethertype_ipv6)
        return packet_result::drop(drop_reason::ethertype_unsupported);
    const side_settings& port = from == side::inside ? settings_.inside : settings_.outside;
    if (!port.accepts_vlan(l2.l3_offset, l2.outer_tci)) return packet_result::drop(drop_reason::vlan_mismatch);
    packet_result r = resolver_.learn_copy(from, frame, l2, now);
    copy_neighbor_answer(from, frame, r, now);
    return r;
}

// Slow path: a frame for the gateway itself (admit said so): an IP packet to
// one of its addresses, or ARP / neighbour discovery.
[[gnu::noinline]] packet_result local_stage::run(side from, std::span<uint8_t> frame, const net::packet_view& view,
                                                 destination to, uint32_t now) noexcept {
    if (to == destination::gateway_ip) {
        const side_settings& own = from == side::inside ? settings_.inside : settings_.outside;
        if (const exception_class c = classify_for_kernel(own, view); c != exception_class::none)
            return to_kernel(from, c, now);
        return echo_reply(from, frame, view, now);
    }
    net::l2_header l2;
    net::read_l2_header(frame, l2); // it was read once already: admit classified the frame by it
    const side_settings& port = from == side::inside ? settings_.inside : settings_.outside;
    if (!port.accepts_vlan(l2.l3_offset, l2.outer_tci)) return packet_result::drop(drop_reason::vlan_mismatch);
    packet_result r = to == destination::gateway_arp ? resolver_.on_arp(from, frame, l2, now)
                                                     : resolver_.on_nd(from, frame, l2, now);
    r.share_with_peers = r.share_with_peers && settings_.steer != nullptr; // nobody to share with otherwise
    copy_neighbor_answer(from, frame, r, now);
    return r;
}

// BGP, BFD or a listed port to this side's own address: to the kernel, within
// the side's budget. Such frames reach worker 0's gateway_core only (the
// exception interfaces' only user): other workers' steering_stage hands them
// over.
packet_result local_stage::to_kernel(side from, exception_class c, uint32_t now) noexcept {
    if (!exception_budget_[static_cast<std::size_t>(from)][c == exception_class::bfd ? 0 : 1].try_take(now))
        return packet_result::drop(drop_reason::exception_rate_limited);
    return packet_result::to_kernel();
}

// The kernel resolves the routers its daemon talks to with its own ARP
// requests and neighbour solicitations (which leave through the port); the
// answers come to the gateway's MAC, so egressd hands the kernel a copy. A
// copy over the budget is not made, counted as exception_rate_limited (like
// neighbor_copy_lost, a copy's loss, not the frame's).
void local_stage::copy_neighbor_answer(side from, std::span<const uint8_t> frame, packet_result& r,
                                       uint32_t now) noexcept {
    const side_settings& own = from == side::inside ? settings_.inside : settings_.outside;
    if (!own.exception.enabled || settings_.worker != 0 || !is_neighbor_answer(frame)) return;
    if (!exception_budget_[static_cast<std::size_t>(from)][1].try_take(now)) {
        counters_.count_drop(drop_reason::exception_rate_limited);
        return;
    }
    r.copy_to_kernel = true;
}

// An ICMP / ICMPv6 echo request to one of the gateway's addresses: answered
// (from that address, back to the MAC it came from, on the side it came in),
// at most echo_replies_per_s per second. Anything else to the gateway is
// dropped as local_delivery_unsupported.
packet_result local_stage::echo_reply(side from, std::span<const uint8_t> frame, const net::packet_view& view,
                                       uint32_t now) noexcept {
    const bool v4 = view.family == net::ip_family::v4;
    if (view.icmp_type != (v4 ? net::icmp_echo_request : net::icmpv6_echo_request) ||
        view.proto != (v4 ? net::proto_icmp : net::proto_icmpv6))
        return packet_result::drop(drop_reason::local_delivery_unsupported);
    if (now / 1000 != echo_second_ || echo_tokens_ == 0) {
        if (now / 1000 == echo_second_) return packet_result::drop(drop_reason::echo_rate_limited);
        echo_second_ = now / 1000;
        echo_tokens_ = settings_.echo_replies_per_s;
        if (echo_tokens_ == 0) return packet_result::drop(drop_reason::echo_rate_limited);
    }
    const std::span<uint8_t> out = outbox_.prepare();
    if (out.empty()) return packet_result::drop(drop_reason::outbox_full);
    const std::size_t end = std::size_t{view.l3_offset} + view.l3_length;
    if (end > out.size() || end > frame.size()) // too big to answer
        return packet_result::drop(drop_reason::local_delivery_unsupported);
    std::memcpy(out.data(), frame.data(), end);
    const std::span<uint8_t> reply = out.first(end);
    const side_settings& port = from == side::inside ? settings_.inside : settings_.outside;
    const net::mac_address back = reply_mac(port, frame);
    net::set_macs(reply, port.mac, back);
    const std::size_t l3 = view.l3_offset;
    // Swap the addresses (neither pseudo-header sum nor the IPv4 header sum
    // changes), fresh TTL, echo reply type; checksums computed in full.
    const std::size_t at = v4 ? l3 + 12 : l3 + 8;
    const std::size_t len = v4 ? 4 : 16;
    uint8_t tmp[16];
    std::memcpy(tmp, &reply[at], len);
    std::memcpy(&reply[at], &reply[at + len], len);
    std::memcpy(&reply[at + len], tmp, len);
    reply[v4 ? l3 + 8 : l3 + 7] = 64;
    reply[view.l4_offset] = v4 ? net::icmp_echo_reply : net::icmpv6_echo_reply;
    net::packet_view rv = view;
    std::swap(rv.src, rv.dst);
    net::recompute_checksums(reply, rv);
    --echo_tokens_;
    outbox_.commit(from, end);
    ++counters_.echo_replies_sent;
    return packet_result::consumed();
}

} // namespace egress::gateway
