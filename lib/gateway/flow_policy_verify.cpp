// flow_policy_stage, DNS-verified names (issue 16): verify = "observed" checks
// the flow's destination against the DNS answers the gateway saw, verify =
// "resolve" against what egressd's own resolvers say (gateway/dns_observer.hpp).
// At the hold point a lookup under way keeps the flow held: a copy of the
// segment is replayed once the answer is in (waiting_segments.hpp; or the
// client's next segment, its retransmission of the held bytes or a QUIC
// Initial, asks again), and the verdict is taken then. A reload re-checks a
// live flow whose name was not yet checked the way the new policy asks.
#include "gateway/flow_policy_stage.hpp"

namespace egress::gateway {

using stats::drop_reason;
using stats::no_drop;

namespace {

// What a flow's name was checked with (hostname_reassembly::name_check).
constexpr uint8_t check_observed = 1;
constexpr uint8_t check_resolve = 2;
constexpr uint8_t check_mode = check_observed | check_resolve;
constexpr uint8_t check_passed = 4;

constexpr uint8_t mode_of(const policy::decision& d) noexcept { return d.resolve ? check_resolve : check_observed; }

// The reason a check's outcome refuses the name; no_drop when the flow may
// pass (verified, or no verdict under [dns] on_resolve_failure = "allow").
drop_reason refusal(resolve_result r, bool allow_on_failure) noexcept {
    switch (r) {
    case resolve_result::verified: return no_drop;
    case resolve_result::unverified: return drop_reason::sni_unverified;
    case resolve_result::timed_out: return allow_on_failure ? no_drop : drop_reason::resolve_timeout;
    case resolve_result::failed: return allow_on_failure ? no_drop : drop_reason::resolve_failed;
    case resolve_result::waiting: break;
    }
    return no_drop;
}

} // namespace

resolve_result flow_policy_stage::check_name(const flow::flow_record& rec, const policy::decision& d,
                                             std::string_view name, uint32_t now) noexcept {
    if (dns_ == nullptr) return resolve_result::unverified;
    if (d.resolve) return dns_->resolve(name, rec.remote, now);
    return dns_->verified(rec.inside, name, rec.remote, now) ? resolve_result::verified : resolve_result::unverified;
}

// The event of a refused (or, in report mode, would-be refused) name: the
// name, the destination, and what DNS said for it.
void flow_policy_stage::name_event(policy::security_event_kind kind, const flow::flow_record& rec,
                                   const policy::decision& d, std::string_view name, drop_reason why, bool existing,
                                   uint32_t now) noexcept {
    policy::security_event e = make_event(kind, d, rec.inside, rec.inside_port, rec.remote, rec.remote_port,
                                          rec.proto, existing, now, name, nullptr, why);
    if (dns_ != nullptr)
        e.dns_said_count = static_cast<uint8_t>(d.resolve ? dns_->resolved(name, now, e.dns_said)
                                                          : dns_->said(rec.inside, name, now, e.dns_said));
    push_event(e);
}

// At the hold point, the policy allowed the name under a verifying rule. It
// passes only if DNS gave it the flow's destination. A lookup under way: the
// flow stays held, its segment kept to be replayed when the answer is in (or
// its client's next segment asks again; the hold's own timeout still bounds
// it). A refusal (sni_unverified, resolve_timeout, resolve_failed) is denied
// like a refused name (held bytes discarded, resets both ways) with an event;
// under a report-mode rule it is reported (would_deny) and the flow passes.
// Counted once, as what happened: the rule's hit when the flow passes, else
// the refusal's setting.
[[gnu::noinline]] packet_result flow_policy_stage::verify_name(flow::flow_record& rec, uint32_t idx,
                                                               std::span<uint8_t> frame, const net::packet_view& view,
                                                               const policy::decision& d, std::string_view name,
                                                               bool stored, uint32_t now) noexcept {
    const resolve_result r = check_name(rec, d, name, now);
    // A replayed segment reads as a retransmission (its bytes are no news to
    // the hold): whether they are held is what was known when it was kept.
    const bool held = replay_held_.value_or(stored);
    if (r == resolve_result::waiting) {
        rec.flags |= flow::flow_flags::awaits_hostname;
        if (!replay_held_) reassembly_.note_consumed(idx, view.l3_length);
        // Replayed once the answer is in, or when the lookup has timed out
        // (waiting_segments.hpp); without room, the client's retransmission asks.
        waiting_.keep(idx, frame, now + settings_.dns.resolve.timeout_ms + 1, held);
        return packet_result::consumed();
    }
    const drop_reason why = refusal(r, settings_.dns.resolve.allow_on_failure);
    reassembly_.set_name_check(idx, static_cast<uint8_t>(mode_of(d) | (r == resolve_result::verified ? check_passed : 0)));
    if (why == no_drop) {
        if (r != resolve_result::verified) ++counters_.resolve_failure_allowed;
        policy_->count(d);
        return release(idx, held);
    }
    if (d.verify == policy::verify_check::report) {
        name_event(policy::security_event_kind::would_deny, rec, d, name, why, false, now);
        ++counters_.policy_would_deny;
        policy_->count(d);
        return release(idx, held);
    }
    name_event(policy::security_event_kind::deny, rec, d, name, why, false, now);
    ++counters_.setting_denials[static_cast<std::size_t>(why)];
    return cut_inspected(rec, idx, frame, view, d, why, now);
}

// A reload: a live flow allowed by a verifying rule whose name was not
// checked that way yet (verification turned on, its mode changed, or report
// mode turned to enforce on a name that failed) is checked now, as a new flow
// would be. A lookup under way leaves the flow's policy generation stale, so
// its next packet (or the sweep) checks again; its packets pass meanwhile (it
// was allowed). A refusal cuts the flow (resets, event kind cut); in report
// mode it is reported once.
[[gnu::noinline]] void flow_policy_stage::recheck_name(flow::flow_record& rec, uint32_t idx, const policy::decision& d,
                                                       std::string_view name, uint32_t now) noexcept {
    const uint8_t mark = reassembly_.name_check(idx);
    if ((mark & check_mode) == mode_of(d) && ((mark & check_passed) || d.verify == policy::verify_check::report))
        return;
    const resolve_result r = check_name(rec, d, name, now);
    if (r == resolve_result::waiting) {
        rec.policy_gen = 0; // no snapshot's generation: re-checked at the next packet
        return;
    }
    const drop_reason why = refusal(r, settings_.dns.resolve.allow_on_failure);
    reassembly_.set_name_check(idx, static_cast<uint8_t>(mode_of(d) | (r == resolve_result::verified ? check_passed : 0)));
    if (why == no_drop) {
        if (r != resolve_result::verified) ++counters_.resolve_failure_allowed;
        return;
    }
    if (d.verify == policy::verify_check::report) {
        ++counters_.policy_would_deny;
        return name_event(policy::security_event_kind::would_deny, rec, d, name, why, true, now);
    }
    cut(rec, idx, now, why, d.rule);
    ++counters_.policy_flows_cut;
    name_event(policy::security_event_kind::cut, rec, d, name, why, true, now);
}

} // namespace egress::gateway
