#include "gateway/flow_stage.hpp"

#include "flow/tcp_state.hpp"

namespace egress::gateway {

using stats::drop_reason;
using stats::no_drop;

namespace {

constexpr stats::flow_proto proto_class(uint8_t proto) noexcept {
    switch (proto) {
    case net::proto_tcp: return stats::flow_proto::tcp;
    case net::proto_udp: return stats::flow_proto::udp;
    default: return stats::flow_proto::icmp;
    }
}

constexpr bool is_echo_request(const net::packet_view& v) noexcept {
    return (v.proto == net::proto_icmp && v.icmp_type == net::icmp_echo_request) ||
           (v.proto == net::proto_icmpv6 && v.icmp_type == net::icmpv6_echo_request);
}

// A source count admit() took for a flow that create() then fails to make
// (NAT, table, inspection slot) is given back.
struct source_hold {
    flow::source_limits& limits;
    const net::packet_view& view;
    bool counted;
    void keep() noexcept { counted = false; }
    ~source_hold() {
        if (counted) limits.release(view.src, view.dst);
    }
};

} // namespace

flow_stage::flow_stage(const settings& s, stats::worker_counters& counters, flow_reporter& reporter, nat_stage& nat,
                       flow_policy_stage& policy, hostname_reassembly& reassembly)
    : settings_(s),
      counters_(counters),
      reporter_(reporter),
      nat_(nat),
      policy_(policy),
      reassembly_(reassembly),
      table_(s.max_flows, s.table_memory != nullptr ? s.table_memory : std::pmr::new_delete_resource()),
      limits_(s.limits) {
    policy_.attach_table(&table_);
}

// [limits], or the host's [[policy.group]] limits: a new flow of a host over
// one of its limits is refused, with one security event per host per interval
// (a flood costs one event, not one per packet). Flows already open are never
// touched. `counted`: release() is due when the flow ends (or is not created
// after all).
drop_reason flow_stage::admit_source(const net::packet_view& view, uint32_t now, bool& counted) noexcept {
    counted = false;
    if (!limits_.enabled()) return no_drop;
    flow::source_limit_values v = limits_.defaults();
    if (const policy::group_limits* g = policy_.group_limits_for(view.src)) {
        using f = policy::group_limits;
        const auto pick = [&](f::field k, uint32_t inherited) {
            return g->has(k) ? limits_.share(g->value[k]) : inherited;
        };
        v = {pick(f::max_flows, v.max_flows), pick(f::new_flows_per_s, v.new_flows_per_s),
             pick(f::new_flow_burst, v.new_flow_burst), pick(f::max_per_destination, v.max_per_destination)};
    }
    drop_reason refused = no_drop;
    switch (limits_.admit(view.src, view.dst, now, v)) {
    case flow::source_verdict::admitted: counted = true; return no_drop;
    case flow::source_verdict::untracked: ++counters_.source_untracked; return no_drop;
    case flow::source_verdict::flow_limit: refused = drop_reason::source_flow_limit; break;
    case flow::source_verdict::rate_limit: refused = drop_reason::source_rate_limit; break;
    case flow::source_verdict::port_limit: refused = drop_reason::source_port_limit; break;
    }
    if (limits_.report_due(view.src, now)) policy_.source_refused(view, refused, now);
    return refused;
}

// [tcp] pickup, as conntrack's loose mode picks up: only a segment with ACK and
// none of SYN, FIN, RST (those would start, end or reset a connection the
// gateway never saw open).
bool flow_stage::picks_up(const net::packet_view& view) const noexcept {
    constexpr uint8_t opens_or_ends = net::tcp_syn | net::tcp_fin | net::tcp_rst;
    return settings_.tcp.pickup && (view.tcp_flags & net::tcp_ack) && !(view.tcp_flags & opens_or_ends);
}

// Slow path: a packet from inside that belongs to no flow. Only connection
// openers create flows; the policy decides; IPv4 flows get their public
// address:port from NAT.
[[gnu::noinline]] drop_reason flow_stage::create(std::span<const uint8_t> frame, const net::packet_view& view,
                                                 uint32_t now, uint32_t& idx) noexcept {
    bool pickup = false; // [tcp] pickup: a connection met mid-stream
    if (view.proto == net::proto_tcp && !flow::tcp_opens_flow(flow::direction::outbound, view.tcp_flags)) {
        if (!picks_up(view)) return drop_reason::tcp_new_not_syn;
        pickup = true;
    }
    if ((view.proto == net::proto_icmp || view.proto == net::proto_icmpv6) && !is_echo_request(view))
        return drop_reason::icmp_new_not_request;
    bool inspect = false;
    if (const drop_reason r = policy_.decide_new(view, now, inspect); r != no_drop) return r;
    // Its hostname went by before the gateway saw it: the policy cannot decide.
    if (pickup && inspect) return drop_reason::tcp_new_not_syn;
    if (table_.size() == table_.capacity()) return drop_reason::flow_table_full;
    bool counted = false;
    if (const drop_reason r = admit_source(view, now, counted); r != no_drop) return r;
    source_hold hold{limits_, view, counted}; // released below unless the flow is made

    flow::flow_record rec;
    if (counted) rec.flags = flow::flow_flags::source_counted;
    rec.inside = view.src;
    rec.remote = view.dst;
    rec.inside_port = view.src_port;
    rec.remote_port = view.dst_port;
    rec.proto = view.proto;
    rec.family = static_cast<uint8_t>(view.family);
    rec.tcp_state = static_cast<uint8_t>(pickup ? flow::tcp_state::established : flow::tcp_state::syn_sent);
    rec.report_start_ms = now;
    rec.policy_gen = policy_.generation();
    uint32_t pool = 0;
    if (const drop_reason r = nat_.map(rec, view, table_, now, pool); r != no_drop) return r;
    idx = table_.insert(rec);
    if (idx == npos) return drop_reason::flow_table_full;
    if (const drop_reason r = policy_.start_inspection(table_.at(idx), idx, frame, view, inspect); r != no_drop) {
        table_.erase(idx);
        ++erasures_;
        return r;
    }
    if (view.family == net::ip_family::v4) {
        nat_.mapped(table_.at(idx), pool);
        if (reporter_.enabled() && settings_.flow_export.nat_session_events)
            reporter_.nat_session(table_.at(idx), true, now);
    }
    ++counters_.flows_created[static_cast<std::size_t>(proto_class(view.proto))];
    hold.keep();
    return no_drop;
}

// Advances the flow's state by one packet and refreshes its idle timeout.
// TCP: the segment's sequence numbers are checked against the flow's windows
// (table_.window(idx), in the side entry prefetched with the byte counts);
// tcp_track names the drop (tcp_out_of_window, tcp_rst_out_of_window,
// tcp_invalid_transition) and leaves state and windows untouched when it drops.
// track() for TCP: the segment through the state machine and the window.
drop_reason flow_stage::track_tcp(flow::flow_record& rec, uint32_t idx, flow::direction dir,
                                  std::span<const uint8_t> frame, const net::packet_view& view, uint32_t now) noexcept {
    const auto before = static_cast<flow::tcp_state>(rec.tcp_state);
    // A brand-new flow is in syn_sent with a zero window: its SYN starts the window.
    const flow::tcp_verdict step = flow::tcp_track(before, dir, flow::read_tcp_segment(frame, view), rec.flags,
                                                   table_.window(idx), settings_.tcp);
    if (step.drop != no_drop) return step.drop;
    if (step.next == flow::tcp_state::syn_sent &&
        (before == flow::tcp_state::time_wait || before == flow::tcp_state::closed))
        ++counters_.tcp_reopened;
    rec.tcp_state = static_cast<uint8_t>(step.next);
    rec.expires_at_ms = now + idle_timeout(rec, settings_.timeouts);
    return no_drop;
}

// Why a flow that reached its idle timeout ended: TCP that closed (FIN both ways
// or RST) ended by itself; anything else went idle.
flow::end_reason flow_stage::natural_end(const flow::flow_record& rec) noexcept {
    const auto state = static_cast<flow::tcp_state>(rec.tcp_state);
    const bool closed = rec.proto == net::proto_tcp &&
                        (state == flow::tcp_state::time_wait || state == flow::tcp_state::closed);
    return closed ? flow::end_reason::end_of_flow : flow::end_reason::idle_timeout;
}

uint32_t flow_stage::last_packet_time(const flow::flow_record& rec) const noexcept {
    return rec.expires_at_ms - idle_timeout(rec, settings_.timeouts);
}

flow_names flow_stage::names_of(uint32_t idx) const noexcept {
    flow_names n;
    if ((table_.at(idx).flags & flow::flow_flags::inspection_slot) == 0) return n;
    const std::string_view host = reassembly_.hostname(idx);
    (reassembly_.kind(idx) == policy::inspection_kind::http ? n.http_host : n.server_name) = host;
    return n;
}

// The flow's one record. A flow the gateway cut (denied once its name was
// known, by a reload, a block, DLP) says so: firewallEvent flow_denied, why
// and by which rule, its packets that did not leave and the resets sent; its
// end is the gateway's doing (forced_end).
void flow_stage::report_end(uint32_t idx, const flow::flow_record& rec, flow::end_reason why) noexcept {
    if ((rec.flags & flow::flow_flags::cut) == 0)
        return reporter_.flow_end(rec, table_.volume(idx), why, last_packet_time(rec), names_of(idx), nullptr,
                                  policy_.allow_rule(rec, idx));
    const flow::cut_tally t = table_.tally(idx);
    reporter_.flow_end(rec, table_.volume(idx), flow::end_reason::forced_end, last_packet_time(rec), names_of(idx), &t,
                       policy_.cut_rule(t));
}

// A long flow's record so far (active timeout, or counters about to wrap): its
// name and rule as its last record will say them.
void flow_stage::report_update(uint32_t idx, flow::flow_record& rec, uint32_t now) noexcept {
    const std::string_view rule =
        (rec.flags & flow::flow_flags::cut) ? policy_.cut_rule(table_.tally(idx)) : policy_.allow_rule(rec, idx);
    reporter_.flow_update(rec, table_.volume(idx), now, names_of(idx), rule);
}

void flow_stage::on_expired(uint32_t idx, const flow::flow_record& rec) noexcept {
    nat_.released(rec);
    if (rec.flags & flow::flow_flags::source_counted) limits_.release(rec.inside, rec.remote);
    ++counters_.flows_expired[static_cast<std::size_t>(proto_class(rec.proto))];
    if (reporter_.enabled()) {
        report_end(idx, rec, natural_end(rec));
        if (rec.is_v4() && settings_.flow_export.nat_session_events)
            reporter_.nat_session(rec, false, rec.expires_at_ms);
    }
    if (rec.flags & flow::flow_flags::inspection_slot) reassembly_.finish(idx);
}

void flow_stage::retire(uint32_t idx) noexcept {
    on_expired(idx, table_.at(idx));
    table_.erase(idx);
    ++erasures_;
}

// The sweep also re-checks idle flows against a newer policy snapshot, so a flow
// is cut by a reload or a block even before its next packet (and a flow stays
// idle through at most one sweep round, not 255 publications, before it is
// re-checked: the generation byte cannot wrap around unseen).
void flow_stage::expire(uint32_t now, uint32_t budget) noexcept {
    const auto on_expired_cb = [this](uint32_t idx, const flow::flow_record& rec) { on_expired(idx, rec); };
    const bool reporting = reporter_.enabled();
    const uint32_t n = table_.sweep(now, budget, on_expired_cb, [this, now, reporting](uint32_t idx, flow::flow_record& rec) {
        policy_.recheck_if_stale(rec, idx, now);
        if (reporting && reporter_.is_due(rec, now)) report_update(idx, rec, now);
    });
    if (reporting) reporter_.tick(now);
    erasures_ += n;
    limits_.sweep(now, budget);
}

void flow_stage::report_remaining(uint32_t now) noexcept {
    if (!reporter_.enabled()) return;
    reporter_.set_patient(true);
    // Flows already past their timeout (not yet swept) and TCP connections that
    // closed (waiting out TIME_WAIT) end for their own reason; the others are
    // cut by the shutdown.
    table_.for_each_live([this, now](uint32_t idx, const flow::flow_record& rec) {
        const flow::end_reason natural = natural_end(rec);
        const flow::end_reason why = flow::is_expired(rec, now) || natural == flow::end_reason::end_of_flow
                                         ? natural
                                         : flow::end_reason::forced_end;
        report_end(idx, rec, why);
    });
    reporter_.flush_all(now);
    reporter_.set_patient(false);
}

} // namespace egress::gateway
