#include "policy_loader.hpp"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "toml_reader.hpp"

namespace egress::policy {

namespace {

using toml_text::closest;
using toml_text::context;
using toml_text::position;
using toml_text::quote;
using toml_text::table_reader;
using toml_text::type_phrase;

// [a-z0-9_-]{1,64}
bool is_name(std::string_view s) {
    return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    });
}

constexpr std::string_view port_expected = R"(a port 1..65535 or a range like "8000-8080")";

// "443" or "8000-8080", each number 1..65535; nullopt when malformed. lo > hi is
// returned as is (the caller words that error).
std::optional<port_range> parse_port_range(std::string_view s) {
    auto number = [](std::string_view t) -> std::optional<uint16_t> {
        if (t.empty() || t.size() > 5) return std::nullopt;
        uint32_t v = 0;
        for (const char c : t) {
            if (c < '0' || c > '9') return std::nullopt;
            v = v * 10 + static_cast<uint32_t>(c - '0');
        }
        if (v < 1 || v > 65535) return std::nullopt;
        return static_cast<uint16_t>(v);
    };
    const std::size_t dash = s.find('-');
    const auto lo = number(s.substr(0, dash));
    const auto hi = dash == std::string_view::npos ? lo : number(s.substr(dash + 1));
    if (!lo || !hi) return std::nullopt;
    return port_range{*lo, *hi};
}

// ---------------------------------------------------------------------------
// The values only the policy has (the rest is read by toml_text::table_reader)

// A name matching [a-z0-9_-]{1,64}.
bool get_name(table_reader& r, std::string_view key, std::string& out) {
    const toml::node* n = r.find(key, true);
    if (n == nullptr) return false;
    static constexpr std::string_view expected = "a name of 1..64 characters a-z, 0-9, '_' or '-'";
    const auto* v = n->as_string();
    if (v == nullptr) {
        r.wrong(*n, r.path(key), expected, type_phrase(*n));
        return false;
    }
    if (!is_name(v->get())) {
        r.wrong(*n, r.path(key), expected, quote(v->get()));
        return false;
    }
    out = v->get();
    return true;
}

// An array of at least one CIDR.
bool get_cidrs(table_reader& r, std::string_view key, std::vector<cidr>& out, bool required) {
    const toml::node* n = r.find(key, required);
    if (n == nullptr) return !required;
    const auto* array = n->as_array();
    if (array == nullptr) {
        r.wrong(*n, r.path(key), "an array of CIDRs", type_phrase(*n));
        return false;
    }
    if (array->empty()) {
        r.wrong(*n, r.path(key), "at least one CIDR", "an empty array");
        return false;
    }
    bool ok = true;
    for (std::size_t i = 0; i < array->size(); ++i) {
        const toml::node& e = *array->get(i);
        const std::string element_key = fmt::format("{}[{}]", r.path(key), i);
        const auto* v = e.as_string();
        if (v == nullptr) {
            r.wrong(e, element_key, R"(a CIDR like "10.0.0.0/8" or "2001:db8::/32")", type_phrase(e));
            ok = false;
            continue;
        }
        std::string why;
        if (const auto c = cidr::parse(v->get(), &why)) {
            out.push_back(*c);
        } else {
            r.ctx().error(e.source().begin, element_key, why);
            ok = false;
        }
    }
    return ok;
}

constexpr std::pair<std::string_view, verdict> verdicts[] = {{"allow", verdict::allow}, {"deny", verdict::deny}};
constexpr std::pair<std::string_view, rule_mode> modes[] = {{"enforce", rule_mode::enforce},
                                                            {"report", rule_mode::report}};
constexpr std::pair<std::string_view, verify_mode> verify_modes[] = {
    {"off", verify_mode::off}, {"observed", verify_mode::observed}, {"resolve", verify_mode::resolve}};
constexpr std::pair<std::string_view, ech_action> ech_actions[] = {{"outer", ech_action::outer},
                                                                  {"deny", ech_action::deny}};
constexpr std::pair<std::string_view, quic_action> quic_actions[] = {
    {"allow", quic_action::allow}, {"deny", quic_action::deny}, {"inspect", quic_action::inspect}};
constexpr std::pair<std::string_view, protocol> protocols[] = {
    {"tcp", protocol::tcp}, {"udp", protocol::udp}, {"icmp", protocol::icmp}, {"any", protocol::any}};

// ---------------------------------------------------------------------------
// [[policy.group]] and [[policy.rule]]

struct named {
    std::string name;
    uint32_t line = 0;
};

struct read_group {
    group_spec spec;
    bool usable = false; // its CIDRs are all valid
};

struct read_rule {
    rule_spec spec;
    std::vector<std::string> source_names; // resolved against the groups
    std::vector<std::size_t> source_elements; // each name's index in sources
    bool usable = false;                   // its conditions and action are all valid
    position at;
    std::size_t element = 0; // its index in policy.rule
};

// A name already used: "duplicate group name "x" (first at line N)".
bool check_unique(context& ctx, std::vector<named>& seen, std::string_view what, const std::string& name,
                  const toml::table& tbl, std::string key) {
    const auto first = std::find_if(seen.begin(), seen.end(), [&](const named& s) { return s.name == name; });
    if (first != seen.end()) {
        ctx.error(tbl.get("name")->source().begin, std::move(key),
                  fmt::format("duplicate {} name {} (first at line {})", what, quote(name), first->line));
        return false;
    }
    seen.push_back(named{name, tbl.source().begin.line});
    return true;
}

// `limits = { max_flows_per_source = N, ... }`: the [limits] keys, for the
// hosts of this group; a key left out inherits the [limits] value.
void read_group_limits(table_reader& group, group_limits& out) {
    const toml::table* tbl = group.get_table("limits", false);
    if (tbl == nullptr) return;
    table_reader r(group.ctx(), group.path("limits"), tbl);
    const auto one = [&r, &out](std::string_view key, group_limits::field f, uint64_t max) {
        uint32_t v = 0;
        if (r.find(key, false) != nullptr && r.get_uint(key, v, 0, max)) out.assign(f, v);
    };
    one("max_flows_per_source", group_limits::max_flows, 16'777'216);
    one("new_flows_per_second", group_limits::new_flows_per_s, 1'000'000);
    one("new_flow_burst", group_limits::new_flow_burst, 1'000'000);
    one("max_flows_per_destination", group_limits::max_per_destination, 65'536);
    r.finish();
}

read_group read_group_table(context& ctx, std::size_t i, const toml::table& tbl, std::vector<named>& seen) {
    read_group g;
    table_reader r(ctx, fmt::format("policy.group[{}]", i), &tbl);
    if (get_name(r, "name", g.spec.name)) {
        if (g.spec.name == "any") {
            ctx.wrong(*tbl.get("name"), r.path("name"), R"(a name other than "any" (it means every source))",
                      quote(g.spec.name));
        } else {
            check_unique(ctx, seen, "group", g.spec.name, tbl, r.path("name"));
        }
    }
    g.usable = get_cidrs(r, "cidrs", g.spec.cidrs, true);
    read_group_limits(r, g.spec.limits);
    r.finish();
    return g;
}

bool read_sources(table_reader& r, read_rule& rule) {
    const toml::node* n = r.find("sources", false);
    if (n == nullptr) return true; // default: any
    static constexpr std::string_view expected = R"(an array of group names or ["any"])";
    const auto* array = n->as_array();
    if (array == nullptr) {
        r.wrong(*n, r.path("sources"), expected, type_phrase(*n));
        return false;
    }
    if (array->empty()) {
        r.wrong(*n, r.path("sources"), R"(at least one group name or "any")", "an empty array");
        return false;
    }
    bool ok = true;
    for (std::size_t i = 0; i < array->size(); ++i) {
        const toml::node& e = *array->get(i);
        const std::string key = fmt::format("{}[{}]", r.path("sources"), i);
        const auto* v = e.as_string();
        if (v == nullptr) {
            r.wrong(e, key, R"(a group name or "any")", type_phrase(e));
            ok = false;
        } else if (v->get() == "any" && array->size() > 1) {
            r.wrong(e, key, R"("any" alone (it already means every source))",
                          fmt::format(R"("any" among {} sources)", array->size()));
            ok = false;
        } else {
            rule.source_names.push_back(v->get());
            rule.source_elements.push_back(i);
        }
    }
    rule.spec.any_source = ok && rule.source_names.size() == 1 && rule.source_names[0] == "any";
    return ok;
}

// An array of ports (1..65535) and "lo-hi" ranges, at least one.
bool read_port_array(table_reader& r, const toml::node& n, const std::string& path, std::vector<port_range>& out) {
    const auto* array = n.as_array();
    if (array == nullptr) {
        r.wrong(n, path, "an array of ports and port ranges", type_phrase(n));
        return false;
    }
    if (array->empty()) {
        r.wrong(n, path, "at least one port or port range (leave ports out for every port)", "an empty array");
        return false;
    }
    bool ok = true;
    for (std::size_t i = 0; i < array->size(); ++i) {
        const toml::node& e = *array->get(i);
        const std::string key = fmt::format("{}[{}]", path, i);
        if (const auto* v = e.as_integer()) {
            if (v->get() < 1 || v->get() > 65535) {
                r.wrong(e, key, port_expected, std::to_string(v->get()));
                ok = false;
            } else {
                const auto p = static_cast<uint16_t>(v->get());
                out.push_back(port_range{p, p});
            }
        } else if (const auto* str = e.as_string()) {
            const auto range = parse_port_range(str->get());
            if (!range) {
                r.wrong(e, key, port_expected, quote(str->get()));
                ok = false;
            } else if (range->lo > range->hi) {
                r.wrong(e, key, "a port range with low <= high", quote(str->get()));
                ok = false;
            } else {
                out.push_back(*range);
            }
        } else {
            r.wrong(e, key, port_expected, type_phrase(e));
            ok = false;
        }
    }
    return ok;
}

// hostnames = ["api.example.com", "*.example.com"]: TCP (or any) rules only.
bool read_hostnames(table_reader& r, read_rule& rule, bool protocol_given) {
    const toml::node* n = r.find("hostnames", false);
    if (n == nullptr) return true;
    if (rule.spec.proto != protocol::tcp && rule.spec.proto != protocol::any) {
        r.ctx().error(n->source().begin, r.path("hostnames"),
                      fmt::format(R"(hostnames need protocol "tcp" or "any", got protocol {}{})",
                                  quote(to_string(rule.spec.proto)), protocol_given ? "" : " (the default)"));
        return false;
    }
    const auto* array = n->as_array();
    if (array == nullptr || array->empty()) {
        r.wrong(*n, r.path("hostnames"), "an array of at least one hostname",
                      array == nullptr ? type_phrase(*n) : std::string("an empty array"));
        return false;
    }
    bool ok = true;
    for (std::size_t i = 0; i < array->size(); ++i) {
        const toml::node& e = *array->get(i);
        const std::string key = fmt::format("{}[{}]", r.path("hostnames"), i);
        const auto* v = e.as_string();
        std::string why;
        if (v == nullptr) {
            r.wrong(e, key, R"(a hostname like "api.example.com" or "*.example.com")", type_phrase(e));
            ok = false;
        } else if (auto h = normalize_hostname_pattern(v->get(), &why)) {
            rule.spec.hostnames.push_back(std::move(*h));
        } else {
            r.ctx().error(e.source().begin, key, why);
            ok = false;
        }
    }
    return ok;
}

bool read_ports(table_reader& r, read_rule& rule, bool protocol_given) {
    const toml::node* n = r.find("ports", false);
    if (n == nullptr) return true; // every port
    if (rule.spec.proto != protocol::tcp && rule.spec.proto != protocol::udp) {
        r.ctx().error(n->source().begin, r.path("ports"),
                      fmt::format(R"(ports need protocol "tcp" or "udp", got protocol {}{})",
                                  quote(to_string(rule.spec.proto)), protocol_given ? "" : " (the default)"));
        return false;
    }
    return read_port_array(r, *n, r.path("ports"), rule.spec.ports);
}

// verify = "off" | "observed" | "resolve": only on a rule with hostnames (the name it checks).
bool read_verify(table_reader& r, read_rule& rule) {
    const toml::node* n = r.find("verify", false);
    if (n == nullptr) return true;
    verify_mode v = verify_mode::off;
    if (!r.get_enum("verify", v, verify_modes, false)) return false;
    if (rule.spec.hostnames.empty()) {
        r.ctx().error(n->source().begin, r.path("verify"), "verify needs hostnames (the names it checks against DNS)");
        return false;
    }
    rule.spec.verify = v;
    return true;
}

read_rule read_rule_table(context& ctx, std::size_t i, const toml::table& tbl, std::vector<named>& seen) {
    read_rule rule;
    rule.element = i;
    rule.at = tbl.source().begin;
    rule.spec.line = rule.at.line;
    table_reader r(ctx, fmt::format("policy.rule[{}]", i), &tbl);
    if (get_name(r, "name", rule.spec.name)) check_unique(ctx, seen, "rule", rule.spec.name, tbl, r.path("name"));
    bool ok = read_sources(r, rule);
    ok = get_cidrs(r, "destinations", rule.spec.destinations, true) && ok;
    const bool protocol_ok = r.get_enum("protocol", rule.spec.proto, protocols, false);
    ok = protocol_ok && ok;
    if (protocol_ok) {
        ok = read_ports(r, rule, tbl.get("protocol") != nullptr) && ok;
        ok = read_hostnames(r, rule, tbl.get("protocol") != nullptr) && ok;
    } else { // known keys; judged once the protocol is valid
        r.find("ports", false);
        r.find("hostnames", false);
    }
    ok = r.get_enum("action", rule.spec.action, verdicts, true) && ok;
    ok = r.get_enum("mode", rule.spec.mode, modes, false) && ok;
    ok = read_verify(r, rule) && ok;
    r.finish();
    rule.usable = ok;
    return rule;
}

// The inspection keys of [policy]: which ports carry names, and what happens
// to a flow whose name cannot be matched.
void read_inspection(table_reader& top, inspection_spec& spec) {
    for (auto [key, ports] : {std::pair{"tls_ports", &spec.tls_ports}, std::pair{"http_ports", &spec.http_ports}}) {
        if (const toml::node* n = top.find(key, false)) {
            std::vector<port_range> read;
            if (read_port_array(top, *n, top.path(key), read)) *ports = std::move(read);
        }
    }
    top.get_enum("no_sni", spec.no_sni, verdicts, false);
    top.get_enum("ech", spec.ech, ech_actions, false);
    top.get_enum("oversize", spec.oversize, verdicts, false);
    top.get_enum("not_tls", spec.not_tls, verdicts, false);
    top.get_enum("not_http", spec.not_http, verdicts, false);
    top.get_enum("http_no_host", spec.http_no_host, verdicts, false);
    top.get_enum("quic", spec.quic, quic_actions, false);
}

// ---------------------------------------------------------------------------
// [dlp] and its [[dlp.pattern]] entries

constexpr std::pair<std::string_view, dlp::dlp_severity> severities[] = {
    {"low", dlp::dlp_severity::low}, {"medium", dlp::dlp_severity::medium},
    {"high", dlp::dlp_severity::high}, {"critical", dlp::dlp_severity::critical}};
constexpr std::pair<std::string_view, dlp::dlp_action> dlp_actions[] = {{"alert", dlp::dlp_action::alert},
                                                                            {"block", dlp::dlp_action::block}};
constexpr std::pair<std::string_view, dlp::dlp_validator> validators[] = {
    {"none", dlp::dlp_validator::none}, {"luhn", dlp::dlp_validator::luhn}};
constexpr std::pair<std::string_view, dlp::dlp_pattern_direction> directions[] = {
    {"outbound", dlp::dlp_pattern_direction::outbound},
    {"inbound", dlp::dlp_pattern_direction::inbound},
    {"both", dlp::dlp_pattern_direction::both}};
constexpr std::pair<std::string_view, bool> exhaustion[] = {{"fail_open", false}, {"fail_closed", true}};

struct read_pattern {
    position regex_at; // where compile errors of this pattern point
    std::size_t element = 0;
};

// flags = ["caseless", "dotall", "multiline"]: any of them, each at most once.
bool read_dlp_flags(table_reader& r, dlp::dlp_pattern& p) {
    const toml::node* flags = r.find("flags", false);
    if (flags == nullptr) return true;
    const auto* array = flags->as_array();
    if (array == nullptr) {
        r.wrong(*flags, r.path("flags"), R"(an array of "caseless", "dotall", "multiline")", type_phrase(*flags));
        return false;
    }
    bool ok = true;
    for (std::size_t f = 0; f < array->size(); ++f) {
        const toml::node& e = *array->get(f);
        const auto* v = e.as_string();
        const std::string_view flag = v != nullptr ? std::string_view(v->get()) : std::string_view();
        if (flag == "caseless") p.caseless = true;
        else if (flag == "dotall") p.dotall = true;
        else if (flag == "multiline") p.multiline = true;
        else {
            r.wrong(e, fmt::format("{}[{}]", r.path("flags"), f), R"("caseless", "dotall" or "multiline")",
                    v != nullptr ? quote(v->get()) : type_phrase(e));
            ok = false;
        }
    }
    return ok;
}

// One [[dlp.pattern]]; added to spec.patterns (its position to `where`) when valid.
void read_dlp_pattern(context& ctx, std::size_t i, const toml::table& t, std::vector<named>& names, dlp_spec& spec,
                      std::vector<read_pattern>& where) {
    table_reader r(ctx, fmt::format("dlp.pattern[{}]", i), &t);
    dlp::dlp_pattern p;
    bool ok = get_name(r, "name", p.name);
    if (ok) ok = check_unique(ctx, names, "pattern", p.name, t, r.path("name"));
    const toml::node* regex = r.find("regex", true);
    if (regex != nullptr && regex->as_string() == nullptr) {
        r.wrong(*regex, r.path("regex"), "a regular expression (string)", type_phrase(*regex));
        ok = false;
    } else if (regex != nullptr) {
        p.regex = regex->as_string()->get();
    } else {
        ok = false;
    }
    if (!read_dlp_flags(r, p)) ok = false;
    ok = r.get_enum("severity", p.severity, severities, false) && ok;
    ok = r.get_enum("action", p.action, dlp_actions, false) && ok;
    ok = r.get_enum("validator", p.validator, validators, false) && ok;
    ok = r.get_enum("direction", p.direction, directions, false) && ok;
    r.finish();
    if (!ok) return;
    where.push_back(read_pattern{regex->source().begin, i});
    spec.patterns.push_back(std::move(p));
}

// Reads [dlp]; the patterns go to spec.patterns, their positions to `where`.
void read_dlp(context& ctx, const toml::table& dlp, dlp_spec& spec, std::vector<read_pattern>& where) {
    table_reader top(ctx, "dlp", &dlp);
    top.get_uint("depth", spec.depth, 0, uint64_t{1} << 40);
    top.get_enum("on_exhaustion", spec.fail_closed, exhaustion, false);
    top.find("pattern", false);
    top.finish();
    std::vector<named> names;
    for (const auto& [i, t] : top.get_tables("pattern")) read_dlp_pattern(ctx, i, *t, names, spec, where);
}

// ---------------------------------------------------------------------------
// The whole [policy] table

// [policy] and [dlp] as read, before compiling.
struct read_policy_tables {
    policy_spec spec;
    const toml::table* policy = nullptr;
    std::vector<read_pattern> dlp_where;
    std::vector<read_group> groups;
    std::vector<read_rule> rules;
    bool resolvers = false; // [dns] resolvers lists at least one: verify = "resolve" can ask them
};

// verify = "resolve" (a rule's or the policy's) needs [dns] resolvers: else every lookup would fail.
void check_resolvers(context& ctx, const read_policy_tables& read, const toml::table& tbl, std::string key) {
    if (!read.resolvers)
        ctx.error(tbl.get("verify")->source().begin, std::move(key),
                  R"(verify = "resolve" needs [dns] resolvers (the servers egressd asks))");
}

// A rule's source group names against the groups: each must name a usable group.
void resolve_sources(context& ctx, const toml::table& tbl, const std::vector<read_group>& groups, read_rule& rule) {
    if (rule.spec.any_source) return;
    std::vector<std::string_view> known;
    for (const auto& g : groups) known.push_back(g.spec.name);
    const auto* sources = tbl.get("sources")->as_array();
    for (std::size_t s = 0; s < rule.source_names.size(); ++s) {
        const auto g = std::find_if(groups.begin(), groups.end(),
                                    [&](const read_group& rg) { return rg.spec.name == rule.source_names[s]; });
        if (g == groups.end()) {
            const std::string_view near = closest(rule.source_names[s], known);
            const std::size_t e = rule.source_elements[s];
            ctx.error(sources->get(e)->source().begin, fmt::format("policy.rule[{}].sources[{}]", rule.element, e),
                      fmt::format("unknown group {}{}", quote(rule.source_names[s]),
                                  near.empty() ? std::string() : fmt::format(" (did you mean {}?)", quote(near))));
            rule.usable = false;
        } else if (!g->usable) {
            rule.usable = false; // the group's own error is reported
        } else {
            rule.spec.source_groups.push_back(static_cast<uint32_t>(g - groups.begin()));
        }
    }
}

void read_policy_table(context& ctx, const toml::table& policy, read_policy_tables& read) {
    table_reader top(ctx, "policy", &policy);
    top.get_enum("default", read.spec.default_action, verdicts, false);
    read_inspection(top, read.spec.inspection);
    top.get_enum("verify", read.spec.verify, verify_modes, false);
    if (read.spec.verify == verify_mode::resolve) check_resolvers(ctx, read, policy, "policy.verify");
    top.find("group", false);
    top.find("rule", false);
    top.finish();
    std::vector<named> group_names;
    for (const auto& [i, t] : top.get_tables("group")) read.groups.push_back(read_group_table(ctx, i, *t, group_names));
    std::vector<named> rule_names;
    for (const auto& [i, t] : top.get_tables("rule")) {
        read_rule rule = read_rule_table(ctx, i, *t, rule_names);
        if (rule.spec.verify == verify_mode::resolve)
            check_resolvers(ctx, read, *t, fmt::format("policy.rule[{}].verify", i));
        resolve_sources(ctx, *t, read.groups, rule);
        read.rules.push_back(std::move(rule));
    }
}

// Compiles what is usable (so that shadowing is found even while other rules
// have errors), then reports the rules that can never match.
policy_load_result compile_usable(context& ctx, const read_policy_tables& read) {
    policy_spec usable = read.spec;
    std::vector<uint32_t> group_index(read.groups.size(), 0);
    for (std::size_t g = 0; g < read.groups.size(); ++g) {
        if (!read.groups[g].usable) continue;
        group_index[g] = static_cast<uint32_t>(usable.groups.size());
        usable.groups.push_back(read.groups[g].spec);
    }
    std::vector<std::size_t> rule_index;
    for (std::size_t r = 0; r < read.rules.size(); ++r) {
        if (!read.rules[r].usable) continue;
        rule_spec s = read.rules[r].spec;
        for (uint32_t& g : s.source_groups) g = group_index[g];
        usable.rules.push_back(std::move(s));
        rule_index.push_back(r);
    }
    compile_result compiled = compiled_policy::compile(usable);
    if (!compiled.policy && compiled.dlp_pattern < read.dlp_where.size()) {
        const read_pattern& w = read.dlp_where[compiled.dlp_pattern];
        ctx.error(w.regex_at, fmt::format("dlp.pattern[{}].regex", w.element), compiled.error);
    } else if (!compiled.policy) {
        ctx.error(read.policy != nullptr ? read.policy->source().begin : position{1, 1}, "policy", compiled.error);
    } else {
        for (const shadowed_rule& s : find_shadowed_rules(usable, *compiled.policy)) {
            const read_rule& b = read.rules[rule_index[s.rule]];
            const read_rule& a = read.rules[rule_index[s.shadowed_by]];
            ctx.error(b.at, fmt::format("policy.rule[{}]", b.element),
                      fmt::format("rule {} can never match: shadowed by rule {} (line {})", quote(b.spec.name),
                                  quote(a.spec.name), a.spec.line));
        }
    }
    policy_load_result result;
    if (ctx.errors.empty()) {
        result.spec = std::move(usable);
        result.policy = std::move(compiled.policy);
    }
    return result;
}

} // namespace

policy_load_result read_policy(const toml::table& root, toml_text::context& ctx, uint64_t version, unsigned workers) {
    read_policy_tables read;
    read.spec.version = version;
    read.spec.workers = workers;
    // The config loader reports the other top-level tables; this reader only
    // names the two it reads.
    table_reader top(ctx, "", &root);
    read.policy = top.get_table("policy", false);
    if (const toml::table* dns = root.get_as<toml::table>("dns"))
        if (const toml::array* resolvers = dns->get_as<toml::array>("resolvers")) read.resolvers = !resolvers->empty();
    const bool present = root.get("policy") != nullptr || root.get("dlp") != nullptr;
    if (const toml::table* dlp = top.get_table("dlp", false)) read_dlp(ctx, *dlp, read.spec.dlp, read.dlp_where);
    if (read.policy != nullptr) read_policy_table(ctx, *read.policy, read);
    policy_load_result result = compile_usable(ctx, read);
    result.present = present;
    return result;
}

policy_load_result load_policy(const toml_text::document& doc, uint64_t version, unsigned workers) {
    if (!doc.parsed()) {
        policy_load_result result;
        result.errors = doc.errors;
        return result;
    }
    context ctx{doc.file, {}};
    policy_load_result result = read_policy(doc.root, ctx, version, workers);
    toml_text::sort_by_position(ctx.errors);
    result.errors = std::move(ctx.errors);
    return result;
}

policy_load_result load_policy_string(std::string_view text, std::string_view source_name, uint64_t version,
                                      unsigned workers) {
    return load_policy(toml_text::parse_document(text, source_name), version, workers);
}

policy_load_result load_policy_file(const std::string& path, uint64_t version, unsigned workers) {
    return load_policy(toml_text::read_document(path), version, workers);
}

} // namespace egress::policy
