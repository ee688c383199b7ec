// The denials a policy setting decides rather than a rule: the flow's name
// could not be matched against any rule (no SNI, no Host, not TLS, not HTTP,
// malformed, over the bound, Encrypted ClientHello) or never came (the hold
// timed out). Each is a decision like a rule's: counted in
// egress_policy_decisions_total under the setting that decided it, named
// here, and logged (security event, refused-attempt record) under that name
// with its drop reason. One table, so that the counter, the event log and the
// flow records say the same.
#pragma once

#include <array>
#include <string_view>

#include "stats/drop_reason.hpp"

namespace egress::stats {

struct setting_denial {
    drop_reason reason;
    std::string_view rule; // the deciding setting, as the series' rule label and the event's "rule"
};

// Every denial kind decided by a setting, in the order the metrics list them.
// QUIC first flights that give no ClientHello are decided by inspection.not_tls;
// each kind keeps its own series (the setting's name, then the kind). QUIC
// reaching a hostname rule under inspection.quic = "deny" is that setting's
// decision, not the (allow) rule's.
inline constexpr std::array<setting_denial, 17> setting_denials{{
    {drop_reason::inspect_no_sni, "inspection.no_sni"},
    {drop_reason::inspect_no_host, "inspection.http_no_host"},
    {drop_reason::inspect_not_tls, "inspection.not_tls"},
    {drop_reason::inspect_not_http, "inspection.not_http"},
    {drop_reason::inspect_malformed, "inspection.malformed"},
    {drop_reason::inspect_oversize, "inspection.oversize"},
    {drop_reason::inspect_ech, "inspection.ech"},
    {drop_reason::hold_timeout, "inspect.hold_timeout"},
    {drop_reason::inspect_quic_not_initial, "inspection.not_tls.quic_not_initial"},
    {drop_reason::inspect_quic_unknown_version, "inspection.not_tls.quic_unknown_version"},
    {drop_reason::inspect_quic_version_negotiation, "inspection.not_tls.quic_version_negotiation"},
    {drop_reason::inspect_quic_retry, "inspection.not_tls.quic_retry"},
    {drop_reason::inspect_quic_undecryptable, "inspection.not_tls.quic_undecryptable"},
    // A rule's verify = "observed" / "resolve" refused the name it allowed
    // (the event also names the rule); a lookup that gave no verdict.
    {drop_reason::sni_unverified, "verify"},
    {drop_reason::resolve_timeout, "dns.on_resolve_failure.timeout"},
    {drop_reason::resolve_failed, "dns.on_resolve_failure.failed"},
    {drop_reason::policy_quic, "inspection.quic"},
}};

// The setting that decided a denial under `r`; empty when a rule, the default
// action or a block decides denials under r.
constexpr std::string_view setting_rule_of(drop_reason r) noexcept {
    for (const setting_denial& d : setting_denials)
        if (d.reason == r) return d.rule;
    return {};
}

} // namespace egress::stats
