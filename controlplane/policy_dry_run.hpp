// reload --dry-run (docs/control-protocol.md): what a reload of the config
// file would change before anything is applied — the rules added, removed and
// changed (by name), the default action, and the live flows the new policy
// would cut, found by asking the workers for their flows (gateway::flow_query,
// the mechanism `egressctl flows` uses) and evaluating each under the candidate
// snapshot exactly as the worker's re-check will (same query, same evaluate).
// `reload` shows the same summary for what it applied.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "control_server.hpp"
#include "gateway/flow_query.hpp"
#include "policy/active_policy.hpp"

namespace egress::controlplane {

struct rule_change {
    std::string name;
    uint32_t line = 0; // in the new file
    std::string before;
    std::string after;
};

struct policy_diff {
    bool present_before = false;
    bool present_after = false;
    std::vector<std::pair<std::string, uint32_t>> added; // name, line in the new file
    std::vector<std::string> removed;
    std::vector<rule_change> changed;
    bool order_changed = false; // rules in both versions, in another order (first match decides)
    std::optional<std::pair<policy::verdict, policy::verdict>> default_changed;
    std::size_t unchanged = 0;
};

// before / after may be null (no [policy]: every flow allowed).
policy_diff diff_policies(const policy::compiled_policy* before, const policy::compiled_policy* after);

struct cut_estimate {
    uint64_t live = 0;      // live flows the workers hold (scanned)
    uint64_t examined = 0;  // flows evaluated: all, or the flow_query::max_top largest
    uint64_t would_cut = 0; // of those, flows the candidate denies (not already cut)
    std::vector<std::pair<std::string, uint64_t>> top_destinations; // remote address, flows; most first, at most 5
    bool complete() const noexcept { return examined >= live; }
};

// The worker's question for a flow (gateway_core::query_of, from the summary):
// its hostname as far as the worker knows it.
policy::query query_of(const gateway::flow_summary& f, unsigned worker);

// Evaluates flows (the answer of a top_flows query over every worker) under next.
cut_estimate estimate_cuts(const policy::active_policy& next, const std::vector<gateway::flow_summary>& flows,
                           uint64_t live);

// egressd --check-config FILE --against SOCKET: asks the egressd serving the
// control socket for reload --dry-run of FILE (its absolute path) and prints the
// answer's lines. Returns the exit code: 0 answered, 1 refused (FILE's errors
// printed), 3 no answer (as egressctl).
int dry_run_against(const std::string& file, const std::string& socket_path);

json diff_json(const policy_diff& d, std::vector<std::string>& lines);
json cuts_json(const cut_estimate& c, std::vector<std::string>& lines);

} // namespace egress::controlplane
