// gateway_core's ICMP side: errors that quote a tracked flow are relayed
// (translated for IPv4), the gateway's own errors (time exceeded, fragmentation
// needed, packet too big) are built into the outbox under a rate limit, and
// TCP MSS clamping. All of it is off the common path: only ICMP errors, TTL
// expiry, oversize packets and SYNs get here.
#include "gateway/gateway_core.hpp"

#include "net/icmp_error.hpp"
#include "net/rewrite.hpp"
#include "net/tcp_mss.hpp"

namespace egress::gateway {

using stats::drop_reason;
using stats::no_drop;
using stats::side;

// An ICMP error whose quoted packet was looked up as `idx` (the mirrored quoted
// tuple in the arrival direction: see process_chunk). Errors never create flows
// and do not refresh a flow's idle timeout or TCP state: an error says the path
// is in trouble, not that the peer is alive, and a stream of errors must not
// keep a dead mapping open. From outside the quote is the translated outbound
// packet: the outer destination and the quote's source go back to the inside
// host. From inside the quote is an inbound packet as delivered: the outer
// source (whichever inside node reports it) and the quote's destination become
// the public address:port. IPv6 errors are forwarded unchanged.
packet_result gateway_core::relay_icmp_error(side from, std::span<uint8_t> frame, net::packet_view& view,
                                             uint32_t idx, uint32_t now) noexcept {
    // An error goes to the sender of the packet it quotes; one addressed
    // elsewhere is about no flow of its addressee.
    if (idx == flow::flow_table::npos || view.dst != view.quoted.src || flow::is_expired(table_.at(idx), now))
        return packet_result::drop(drop_reason::icmp_error_no_flow);
    const flow::flow_record& rec = table_.at(idx);
    if (rec.flags & flow::flow_flags::cut) return packet_result::drop(drop_reason::policy_cut);
    const bool from_outside = from == side::outside;
    if (rec.is_v4()) {
        const net::ip_address public_addr = net::ip_address::from_v4(rec.public_addr);
        if (from_outside) {
            net::set_ipv4_destination(frame, view, rec.inside, 0); // an error type: no identifier to change
            net::set_quoted_endpoint(frame, view, net::quoted_side::source, rec.inside, rec.inside_port);
        } else {
            net::set_ipv4_source(frame, view, public_addr, 0);
            net::set_quoted_endpoint(frame, view, net::quoted_side::destination, public_addr, rec.public_port);
        }
    }
    const packet_result r = emit(from_outside ? side::inside : side::outside, frame, view, now, frame_headroom_);
    if (r.goes_on()) ++(from_outside ? counters_.icmp_errors_relayed_in : counters_.icmp_errors_relayed_out);
    return r;
}

// A packet larger than the MTU of the side it would leave by. IPv4 with DF and
// IPv6 get fragmentation needed / packet too big back (the sender lowers its
// path MTU); IPv4 without DF is dropped: the gateway does not fragment (see
// ARCHITECTURE.md).
drop_reason gateway_core::check_mtu(side from, std::span<const uint8_t> frame, const net::packet_view& view,
                                    uint32_t now) noexcept {
    if (view.family == net::ip_family::v4 && !view.dont_fragment) return drop_reason::mtu_exceeded_no_df;
    const side_settings& out = from == side::inside ? settings_.outside : settings_.inside;
    send_icmp_error(from, frame, view, own_error::too_big, out.mtu, now);
    return drop_reason::mtu_exceeded;
}

// Builds the gateway's own error about `frame` into the outbox, back out of the
// side it came from, from the gateway's first address of the packet's family on
// that side. Never about an error or a broadcast / multicast packet; without an
// address or over the rate limit nothing is sent (counted).
[[gnu::noinline]] void gateway_core::send_icmp_error(side back, std::span<const uint8_t> frame,
                                                     const net::packet_view& view, own_error kind, uint16_t mtu,
                                                     uint32_t now) noexcept {
    if (net::icmp_error_forbidden(frame, view)) return;
    const side_settings& port = back == side::inside ? settings_.inside : settings_.outside;
    const bool v4 = view.family == net::ip_family::v4;
    const net::ip_address* source = nullptr;
    for (const auto& a : port.addresses) {
        if (a.is_v4() == v4) {
            source = &a;
            break;
        }
    }
    if (source == nullptr) {
        ++counters_.icmp_errors_no_source;
        return;
    }
    if (!icmp_budget_.try_take(now)) {
        ++counters_.icmp_errors_rate_limited;
        return;
    }
    net::icmp_error_spec spec;
    if (kind == own_error::time_exceeded) {
        spec.type = v4 ? net::icmp_time_exceeded : net::icmpv6_time_exceeded;
    } else if (v4) {
        spec.type = net::icmp_dest_unreachable;
        spec.code = net::icmp_code_fragmentation_needed;
        spec.rest = mtu; // next-hop MTU in the low 16 bits (RFC 1191)
    } else {
        spec.type = net::icmpv6_packet_too_big;
        spec.rest = mtu;
    }
    spec.source = *source;
    spec.src_mac = port.mac;
    spec.dst_mac = reply_mac(back, frame);
    const std::span<uint8_t> out = outbox_.prepare();
    if (out.empty()) {
        counters_.count_drop(drop_reason::outbox_full);
        return;
    }
    const std::size_t n = net::build_icmp_error(out, frame, view, spec);
    if (n == 0) return;
    outbox_.commit(back, n);
    ++counters_.icmp_errors_sent;
}

// IPv6 headers are 20 bytes longer than IPv4's: the same path MTU leaves 20
// bytes less for the segment.
[[gnu::noinline]] void gateway_core::clamp_mss(std::span<uint8_t> frame, const net::packet_view& view) noexcept {
    constexpr uint16_t ipv6_extra = 20;
    const uint16_t limit = view.family == net::ip_family::v4 ? settings_.mss_clamp
                                                             : static_cast<uint16_t>(settings_.mss_clamp - ipv6_extra);
    switch (net::clamp_tcp_mss(frame, view, limit)) {
    case net::mss_clamp_result::clamped: ++counters_.mss_clamped; break;
    case net::mss_clamp_result::malformed: ++counters_.mss_options_malformed; break;
    case net::mss_clamp_result::untouched: break;
    }
}

} // namespace egress::gateway
