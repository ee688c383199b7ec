#include "policy_dry_run.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "flow/flow_record.hpp"

namespace egress::controlplane {

policy_diff diff_policies(const policy::compiled_policy* before, const policy::compiled_policy* after) {
    policy_diff d;
    d.present_before = before != nullptr;
    d.present_after = after != nullptr;
    const auto old_rules = before ? before->rules() : std::span<const policy::rule_info>{};
    const auto new_rules = after ? after->rules() : std::span<const policy::rule_info>{};
    std::map<std::string_view, std::size_t> old_index;
    for (std::size_t i = 0; i < old_rules.size(); ++i) old_index.emplace(old_rules[i].name, i);
    std::map<std::string_view, std::size_t> new_index;
    for (std::size_t i = 0; i < new_rules.size(); ++i) new_index.emplace(new_rules[i].name, i);
    std::vector<std::size_t> kept_old_positions; // old index of each kept rule, in new order
    for (const auto& r : new_rules) {
        const auto o = old_index.find(r.name);
        if (o == old_index.end()) {
            d.added.emplace_back(r.name, r.line);
            continue;
        }
        kept_old_positions.push_back(o->second);
        if (old_rules[o->second].definition != r.definition)
            d.changed.push_back({r.name, r.line, old_rules[o->second].definition, r.definition});
        else
            ++d.unchanged;
    }
    for (const auto& r : old_rules)
        if (!new_index.count(r.name)) d.removed.push_back(r.name);
    d.order_changed = !std::is_sorted(kept_old_positions.begin(), kept_old_positions.end());
    const policy::verdict was = before ? before->default_action() : policy::verdict::allow;
    const policy::verdict will = after ? after->default_action() : policy::verdict::allow;
    if (was != will) d.default_changed = std::pair{was, will};
    return d;
}

policy::query query_of(const gateway::flow_summary& f, unsigned worker) {
    policy::query q{f.inside, f.remote, f.proto, f.remote_port, policy::host_state::unknown, {}, worker};
    namespace ff = flow::flow_flags;
    if ((f.flags & (ff::awaits_hostname | ff::inspection_slot)) == ff::inspection_slot) {
        q.hostname = f.host();
        q.host = q.hostname.empty() ? policy::host_state::absent : policy::host_state::known;
    } else if ((f.flags & ff::awaits_hostname) == 0) {
        q.host = policy::host_state::absent; // admitted without inspection: no name will come
    }
    return q;
}

cut_estimate estimate_cuts(const policy::active_policy& next, const std::vector<gateway::flow_summary>& flows,
                           uint64_t live) {
    cut_estimate c;
    c.live = live;
    c.examined = flows.size();
    const unsigned worker = next.compiled ? next.compiled->control_worker() : 0;
    std::map<std::string, uint64_t> by_remote;
    for (const auto& f : flows) {
        if (f.flags & flow::flow_flags::cut) continue; // already over
        if (next.evaluate(query_of(f, worker)).action != policy::verdict::deny) continue;
        ++c.would_cut;
        ++by_remote[f.remote.to_string()];
    }
    c.top_destinations.assign(by_remote.begin(), by_remote.end());
    std::stable_sort(c.top_destinations.begin(), c.top_destinations.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
    if (c.top_destinations.size() > 5) c.top_destinations.resize(5);
    return c;
}

json diff_json(const policy_diff& d, std::vector<std::string>& lines) {
    json added = json::array();
    for (const auto& [name, line] : d.added) {
        added.push_back({{"name", name}, {"line", line}});
        lines.push_back(fmt::format("added: \"{}\" (line {})", name, line));
    }
    for (const auto& name : d.removed) lines.push_back(fmt::format("removed: \"{}\"", name));
    json changed = json::array();
    for (const auto& c : d.changed) {
        changed.push_back({{"name", c.name}, {"line", c.line}, {"before", c.before}, {"after", c.after}});
        lines.push_back(fmt::format("changed: \"{}\" (line {})", c.name, c.line));
        lines.push_back(fmt::format("  was: {}", c.before));
        lines.push_back(fmt::format("  now: {}", c.after));
    }
    if (d.order_changed) lines.push_back("order: rules kept from the running policy are in another order");
    if (d.default_changed)
        lines.push_back(fmt::format("default: {} -> {}", policy::to_string(d.default_changed->first),
                                    policy::to_string(d.default_changed->second)));
    if (!d.present_after && d.present_before) lines.push_back("no [policy] any more: every flow will be allowed");
    lines.push_back(fmt::format("rules: {} added, {} removed, {} changed, {} unchanged", d.added.size(), d.removed.size(),
                                d.changed.size(), d.unchanged));
    json j;
    j["added"] = std::move(added);
    j["removed"] = d.removed;
    j["changed"] = std::move(changed);
    j["order_changed"] = d.order_changed;
    j["default"] = d.default_changed ? json{{"before", policy::to_string(d.default_changed->first)},
                                            {"after", policy::to_string(d.default_changed->second)}}
                                     : json();
    j["unchanged"] = d.unchanged;
    return j;
}

json cuts_json(const cut_estimate& c, std::vector<std::string>& lines) {
    json top = json::array();
    for (const auto& [remote, n] : c.top_destinations) top.push_back({{"remote", remote}, {"flows", n}});
    lines.push_back(c.complete() ? fmt::format("live flows it would cut: {} of {}", c.would_cut, c.live)
                                 : fmt::format("live flows it would cut: {} of the {} largest (of {} live)", c.would_cut,
                                               c.examined, c.live));
    for (const auto& [remote, n] : c.top_destinations) lines.push_back(fmt::format("  {} {}", remote, n));
    json j;
    j["live"] = c.live;
    j["examined"] = c.examined;
    j["would_cut"] = c.would_cut;
    j["complete"] = c.complete();
    j["top_destinations"] = std::move(top);
    return j;
}

} // namespace egress::controlplane
