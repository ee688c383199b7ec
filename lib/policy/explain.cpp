#include "policy/explain.hpp"

namespace egress::policy {

namespace {

// active_policy::evaluate (blocks first, then the rules), traced.
explain_step evaluate_traced(const active_policy& p, const query& q) {
    explain_step s;
    s.host = q.host;
    if (p.blocks) {
        if (const uint32_t b = p.blocks->match(q.dst); b != block_list::none) {
            s.result = decision{verdict::deny, false, no_rule, b};
            s.skipped.assign(p.compiled ? p.compiled->rules().size() : 0, rule_skip::not_reached);
            return s;
        }
    }
    if (!p.compiled) {
        s.result = decision{verdict::allow, false, no_rule, no_rule};
        return s;
    }
    s.skipped.assign(p.compiled->rules().size(), rule_skip::destination);
    s.result = p.compiled->evaluate(q, s.skipped, s.stopped_at);
    // The walk looks only at rules whose destinations hold the address, in
    // order, up to where it stops: the rest after that point were not reached.
    if (s.stopped_at != no_rule)
        for (std::size_t r = s.stopped_at + 1; r < s.skipped.size(); ++r) s.skipped[r] = rule_skip::not_reached;
    return s;
}

} // namespace

std::string_view to_string(decided_by d) noexcept {
    switch (d) {
    case decided_by::rule: return "rule";
    case decided_by::default_action: return "default";
    case decided_by::emergency_block: return "emergency_block";
    case decided_by::inspection: return "inspection";
    case decided_by::name_needed: return "name_needed";
    }
    return "?";
}

std::string_view to_string(inspection_kind k) noexcept {
    switch (k) {
    case inspection_kind::none: return "none";
    case inspection_kind::tls: return "tls";
    case inspection_kind::http: return "http";
    case inspection_kind::quic: return "quic";
    }
    return "?";
}

explanation explain(const active_policy& p, const explain_query& eq) {
    explanation x;
    query q{eq.src, eq.dst, eq.proto, eq.dst_port, host_state::unknown, {},
            p.compiled ? p.compiled->control_worker() : 0};
    // A name is read only when some rule has hostnames.
    if (p.compiled && p.compiled->has_hostname_rules()) x.inspection = p.compiled->inspection_for(eq.proto, eq.dst_port);
    // The first packet: nothing of the name is known yet (gateway: decide()).
    x.steps.push_back(evaluate_traced(p, q));
    x.result = x.steps.back().result;
    if (x.result.pending) {
        if (!eq.name) {
            x.by = decided_by::name_needed;
            return x;
        }
        if (eq.name->empty()) {
            // No name sent: the gateway applies its inspection action for that
            // case without asking the rules (gateway_policy: inspect_segment).
            const inspection_spec& spec = p.compiled->inspection();
            x.result = decision{x.inspection == inspection_kind::http ? spec.http_no_host : spec.no_sni};
            x.by = decided_by::inspection;
            return x;
        }
        // The name is read: evaluated again with it (gateway: query_of, decide()).
        q.host = host_state::known;
        q.hostname = trim_hostname(*eq.name);
        x.steps.push_back(evaluate_traced(p, q));
        x.result = x.steps.back().result;
    }
    x.by = x.result.block != no_rule  ? decided_by::emergency_block
           : x.result.rule != no_rule ? decided_by::rule
                                      : decided_by::default_action;
    return x;
}

} // namespace egress::policy
