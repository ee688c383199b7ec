#include "gateway/emit_stage.hpp"

#include "net/icmp_error.hpp"
#include "net/l2.hpp"
#include "net/rewrite.hpp"
#include "net/tcp_mss.hpp"

namespace egress::gateway {

using stats::drop_reason;
using stats::no_drop;
using stats::side;

emit_stage::emit_stage(const settings& s, outbox& box, stats::worker_counters& counters, neighbor_resolver& resolver)
    : settings_(s), outbox_(box), counters_(counters), resolver_(resolver),
      icmp_budget_(s.icmp.errors_per_second, s.icmp.burst) {}

// IPv4 with DF and IPv6 get fragmentation needed / packet too big back (the
// sender lowers its path MTU); IPv4 without DF is dropped: the gateway does not
// fragment (see ARCHITECTURE.md).
drop_reason emit_stage::too_big(side from, std::span<const uint8_t> frame, const net::packet_view& view,
                                uint32_t now) noexcept {
    if (view.family == net::ip_family::v4 && !view.dont_fragment) return drop_reason::mtu_exceeded_no_df;
    const side_settings& out = from == side::inside ? settings_.outside : settings_.inside;
    send_icmp_error(from, frame, view, own_error::too_big, out.mtu, now);
    return drop_reason::mtu_exceeded;
}

// Time exceeded goes to inside senders only (traceroute from inside); the
// gateway does not answer probes from outside.
void emit_stage::time_exceeded(side from, std::span<const uint8_t> frame, const net::packet_view& view,
                               uint32_t now) noexcept {
    if (from == side::inside) send_icmp_error(from, frame, view, own_error::time_exceeded, 0, now);
}

// Only the inside sender is told (it is the one whose flow was refused), and
// only when the switch is on; the error comes from the same bucket as the
// others, so refusals cannot make the gateway send more than errors_per_second.
[[gnu::noinline]] void emit_stage::prohibited(std::span<const uint8_t> frame, const net::packet_view& view,
                                              uint32_t now) noexcept {
    if (settings_.icmp.prohibited) send_icmp_error(side::inside, frame, view, own_error::prohibited, 0, now);
}

// Builds the gateway's own error about `frame` into the outbox, back out of the
// side it came from, from the gateway's first address of the packet's family on
// that side. Never about an error or a broadcast / multicast packet; without an
// address or over the rate limit nothing is sent (counted).
[[gnu::noinline]] void emit_stage::send_icmp_error(side back, std::span<const uint8_t> frame,
                                                   const net::packet_view& view, own_error kind, uint16_t mtu,
                                                   uint32_t now) noexcept {
    if (net::icmp_error_forbidden(frame, view)) return;
    const side_settings& p = port(back);
    const bool v4 = view.family == net::ip_family::v4;
    const net::ip_address* source = nullptr;
    for (const auto& a : p.addresses) {
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
    } else if (kind == own_error::prohibited) {
        spec.type = v4 ? net::icmp_dest_unreachable : net::icmpv6_dest_unreachable;
        spec.code = v4 ? net::icmp_code_admin_prohibited : net::icmpv6_code_admin_prohibited;
    } else if (v4) {
        spec.type = net::icmp_dest_unreachable;
        spec.code = net::icmp_code_fragmentation_needed;
        spec.rest = mtu; // next-hop MTU in the low 16 bits (RFC 1191)
    } else {
        spec.type = net::icmpv6_packet_too_big;
        spec.rest = mtu;
    }
    spec.source = *source;
    spec.src_mac = p.mac;
    spec.dst_mac = reply_mac(p, frame);
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
[[gnu::noinline]] void emit_stage::clamp_mss(std::span<uint8_t> frame, const net::packet_view& view) noexcept {
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
