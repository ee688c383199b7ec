#include "policy/compiled_policy.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace egress::policy {

namespace {

bool protocol_matches(protocol p, uint8_t ip_proto) noexcept {
    switch (p) {
    case protocol::any: return true;
    case protocol::tcp: return ip_proto == 6;
    case protocol::udp: return ip_proto == 17;
    case protocol::icmp: return ip_proto == 1 || ip_proto == 58;
    }
    return false;
}

bool ports_match(std::span<const port_range> ports, uint16_t port) noexcept {
    if (ports.empty()) return true;
    return std::any_of(ports.begin(), ports.end(), [&](const port_range& r) { return r.contains(port); });
}

} // namespace

std::string_view to_string(verdict v) noexcept { return v == verdict::allow ? "allow" : "deny"; }

std::string_view to_string(rule_mode m) noexcept { return m == rule_mode::enforce ? "enforce" : "report"; }

std::string_view to_string(verify_mode v) noexcept {
    return v == verify_mode::observed ? "observed" : v == verify_mode::resolve ? "resolve" : "off";
}

std::string_view to_string(rule_skip s) noexcept {
    switch (s) {
    case rule_skip::not_reached: return "not reached (an earlier rule decided)";
    case rule_skip::destination: return "destination not in its destinations";
    case rule_skip::protocol: return "other protocol";
    case rule_skip::port: return "port not listed";
    case rule_skip::source: return "source not in its source groups";
    case rule_skip::name_absent: return "hostname rule; the flow has no name";
    case rule_skip::name_unread: return "hostname rule; no name is read on this protocol and port";
    case rule_skip::quic_allowed: return "hostname rule; QUIC (inspection.quic = allow) passes over it";
    case rule_skip::hostname: return "hostname not among its hostnames";
    }
    return "?";
}

std::string_view to_string(protocol p) noexcept {
    switch (p) {
    case protocol::any: return "any";
    case protocol::tcp: return "tcp";
    case protocol::udp: return "udp";
    case protocol::icmp: return "icmp";
    }
    return "?";
}

bool rule_matches(const policy_spec& spec, const rule_spec& r, const query& q) noexcept {
    if (!protocol_matches(r.proto, q.proto)) return false;
    if (!ports_match(r.ports, q.dst_port)) return false;
    if (std::none_of(r.destinations.begin(), r.destinations.end(), [&](const cidr& c) { return c.contains(q.dst); })) {
        return false;
    }
    if (r.any_source) return true;
    return std::any_of(r.source_groups.begin(), r.source_groups.end(), [&](uint32_t g) {
        const auto& cidrs = spec.groups[g].cidrs;
        return std::any_of(cidrs.begin(), cidrs.end(), [&](const cidr& c) { return c.contains(q.src); });
    });
}

// rule_info::definition.
static std::string rule_definition(const policy_spec& spec, const rule_spec& r) {
    std::vector<std::string> sources;
    if (r.any_source) sources.push_back("any");
    for (const uint32_t g : r.source_groups)
        if (g < spec.groups.size()) sources.push_back(fmt::format("{}({})", spec.groups[g].name, fmt::join(spec.groups[g].cidrs, " ")));
    std::vector<std::string> ports;
    for (const port_range& pr : r.ports) ports.push_back(pr.lo == pr.hi ? fmt::format("{}", pr.lo) : fmt::format("{}-{}", pr.lo, pr.hi));
    return fmt::format("sources={} destinations={} protocol={} ports={} hostnames={} action={} mode={}",
                       fmt::join(sources, ","), fmt::join(r.destinations, ","), to_string(r.proto),
                       ports.empty() ? "any" : fmt::format("{}", fmt::join(ports, ",")),
                       r.hostnames.empty() ? "-" : fmt::format("{}", fmt::join(r.hostnames, ",")), to_string(r.action),
                       to_string(r.mode)) +
           (!r.hostnames.empty() && r.verify.value_or(spec.verify) != verify_mode::off
                ? fmt::format(" verify={}", to_string(r.verify.value_or(spec.verify)))
                : std::string());
}

// Why a rule cannot be compiled (empty: it can).
static std::string rule_error(const policy_spec& spec, const rule_spec& r) {
    if (r.destinations.empty()) return fmt::format("rule \"{}\": no destinations", r.name);
    if (!r.ports.empty() && r.proto != protocol::tcp && r.proto != protocol::udp) {
        return fmt::format("rule \"{}\": ports need protocol tcp or udp", r.name);
    }
    if (r.ports.size() > 65535) return fmt::format("rule \"{}\": too many port ranges", r.name);
    for (const port_range& pr : r.ports) {
        if (pr.lo > pr.hi) return fmt::format("rule \"{}\": port range {}-{} is empty", r.name, pr.lo, pr.hi);
    }
    if (!r.any_source && r.source_groups.empty()) return fmt::format("rule \"{}\": no sources", r.name);
    for (const uint32_t g : r.source_groups) {
        if (g >= spec.groups.size()) return fmt::format("rule \"{}\": no group {}", r.name, g);
        if (spec.groups[g].cidrs.empty()) return fmt::format("group \"{}\": no CIDRs", spec.groups[g].name);
    }
    if (!r.hostnames.empty() && r.proto != protocol::tcp && r.proto != protocol::any)
        return fmt::format("rule \"{}\": hostnames need protocol tcp or any", r.name);
    if (r.verify && r.hostnames.empty()) return fmt::format("rule \"{}\": verify needs hostnames", r.name);
    return {};
}

compile_result compiled_policy::compile(const policy_spec& spec, std::size_t max_class_entries) {
    compile_result result;
    auto fail = [&](std::string why) {
        result.error = std::move(why);
        return std::move(result);
    };
    if (spec.rules.size() >= std::size_t{1} << 31) return fail("too many rules");
    std::unique_ptr<compiled_policy> p(new compiled_policy());
    p->version_ = spec.version;
    p->default_action_ = spec.default_action;
    p->rules_.reserve(spec.rules.size());
    p->infos_.reserve(spec.rules.size());
    if (spec.inspection.tls_ports.empty() || spec.inspection.http_ports.empty())
        return fail("tls_ports and http_ports need at least one port each");
    p->inspection_ = spec.inspection;
    std::vector<address_classifier::entry> destinations;
    std::vector<address_classifier::entry> sources;
    std::vector<hostname_matcher::pattern> hostname_patterns;
    uint32_t hostname_sets = 0;
    for (std::size_t i = 0; i < spec.rules.size(); ++i) {
        const rule_spec& r = spec.rules[i];
        const auto index = static_cast<uint32_t>(i);
        if (std::string why = rule_error(spec, r); !why.empty()) return fail(std::move(why));
        compiled_rule c;
        c.ports_begin = static_cast<uint32_t>(p->ports_.size());
        c.ports_count = static_cast<uint16_t>(r.ports.size());
        c.proto = r.proto;
        c.any_source = r.any_source;
        c.action = r.action;
        c.mode = r.mode;
        if (!r.hostnames.empty()) {
            c.hostname_set = hostname_sets++;
            for (const std::string& h : r.hostnames) hostname_patterns.push_back({c.hostname_set, h});
            c.verify = r.verify.value_or(spec.verify);
            p->verifies_observed_ = p->verifies_observed_ || c.verify == verify_mode::observed;
        }
        p->ports_.insert(p->ports_.end(), r.ports.begin(), r.ports.end());
        p->rules_.push_back(c);
        p->infos_.push_back(rule_info{r.name, r.action, r.mode, r.line, rule_definition(spec, r)});
        for (const cidr& d : r.destinations) destinations.push_back({d, index});
        if (!r.any_source) {
            for (const uint32_t g : r.source_groups) {
                for (const cidr& s : spec.groups[g].cidrs) sources.push_back({s, index});
            }
        }
    }
    if (!p->destinations_.build(destinations, max_class_entries)) {
        return fail(fmt::format("the destination lists would exceed {} entries (too many nested destinations)",
                                max_class_entries));
    }
    if (!p->sources_.build(sources, max_class_entries)) {
        return fail(fmt::format("the source lists would exceed {} entries (too many nested source groups)",
                                max_class_entries));
    }
    if (!p->build_group_limits(spec, max_class_entries)) {
        return fail(fmt::format("the group limit lists would exceed {} entries (too many nested groups)",
                                max_class_entries));
    }
    if (!spec.dlp.patterns.empty()) {
        dlp::dlp_build_result built = dlp::dlp_database::build(spec.dlp.patterns);
        if (!built.database) {
            result.dlp_pattern = built.pattern;
            return fail(built.error);
        }
        p->dlp_ = std::move(built.database);
    }
    p->dlp_depth_ = spec.dlp.depth;
    p->dlp_fail_closed_ = spec.dlp.fail_closed;
    if (!hostname_patterns.empty()) {
        try {
            p->matcher_ = std::make_unique<const hostname_matcher>(hostname_patterns, spec.workers);
        } catch (const std::exception& e) {
            return fail(e.what());
        }
    }
    result.policy = std::move(p);
    return result;
}

inspection_kind compiled_policy::inspection_for(uint8_t proto, uint16_t dst_port) const noexcept {
    if (proto == 6) {
        // The loader never leaves these lists empty (ports_match's "every port").
        if (ports_match(inspection_.tls_ports, dst_port)) return inspection_kind::tls;
        if (ports_match(inspection_.http_ports, dst_port)) return inspection_kind::http;
    } else if (proto == 17 && ports_match(inspection_.tls_ports, dst_port)) {
        return inspection_kind::quic;
    }
    return inspection_kind::none;
}

decision compiled_policy::evaluate(const query& q) const noexcept { return walk<false>(q, nullptr, nullptr); }

decision compiled_policy::evaluate(const query& q, std::span<rule_skip> skipped, uint32_t& stopped_at) const noexcept {
    return walk<true>(q, skipped.data(), &stopped_at);
}

unsigned compiled_policy::control_worker() const noexcept { return matcher_ ? matcher_->control_scratch() : 0; }

// evaluate(); with traced, each rule passed over is written to skipped[r] and
// the rule the walk stops at to *stopped_at (compiled out of the packet path).
template <bool traced>
decision compiled_policy::walk(const query& q, rule_skip* skipped, uint32_t* stopped_at) const noexcept {
    const auto skip = [&](uint32_t r, rule_skip why) {
        if constexpr (traced) skipped[r] = why;
    };
    const auto stop = [&](uint32_t r, decision d) {
        if constexpr (traced) *stopped_at = r;
        return d;
    };
    const std::span<const uint32_t> dst = destinations_.lookup(q.dst);
    const std::span<const uint32_t> src = sources_.lookup(q.src);
    const uint32_t* s = src.data();
    const uint32_t* const s_end = s + src.size();
    uint32_t host_sets[hostname_matcher::max_sets_per_match];
    std::size_t host_sets_n = 0;
    bool host_matched = false;
    bool host_overflow = false;
    for (const uint32_t r : dst) {
        const compiled_rule& c = rules_[r];
        if (!protocol_matches(c.proto, q.proto)) {
            skip(r, rule_skip::protocol);
            continue;
        }
        if (!ports_match({ports_.data() + c.ports_begin, c.ports_count}, q.dst_port)) {
            skip(r, rule_skip::port);
            continue;
        }
        if (!c.any_source) {
            // Both lists ascend: move the source cursor forward to r. A binary
            // search, not a step at a time: the source list of a big group can be
            // long while the destination candidates are few.
            s = std::lower_bound(s, s_end, r);
            if (s == s_end || *s != r) {
                skip(r, rule_skip::source);
                continue;
            }
        }
        if (c.hostname_set != no_hostname_set) {
            if (q.host == host_state::absent) {
                skip(r, rule_skip::name_absent);
                continue;
            }
            if (q.host == host_state::unknown) {
                switch (inspection_for(q.proto, q.dst_port)) {
                case inspection_kind::tls:
                case inspection_kind::http: return stop(r, decision{verdict::allow, false, no_rule, no_rule, true, false});
                case inspection_kind::quic:
                    if (inspection_.quic == quic_action::deny) return stop(r, decision{verdict::deny, false, r, no_rule, false, true});
                    if (inspection_.quic == quic_action::inspect)
                        return stop(r, decision{verdict::allow, false, no_rule, no_rule, true, false});
                    skip(r, rule_skip::quic_allowed);
                    continue;
                case inspection_kind::none: skip(r, rule_skip::name_unread); continue;
                }
            }
            // The name is matched once, on the first hostname rule reached.
            if (!host_matched) {
                host_sets_n = matcher_->match(q.hostname, host_sets, host_overflow, q.worker);
                host_matched = true;
            }
            const bool hit = std::binary_search(host_sets, host_sets + host_sets_n, c.hostname_set);
            if (!hit) {
                skip(r, rule_skip::hostname);
                continue;
            }
        }
        decision d{c.mode == rule_mode::report ? verdict::allow : c.action,
                   c.mode == rule_mode::report && c.action == verdict::deny, r};
        // Only a name that allows is checked against DNS: a deny needs no proof.
        if (c.verify != verify_mode::off && c.action == verdict::allow && q.host == host_state::known) {
            d.verify = c.mode == rule_mode::report ? verify_check::report : verify_check::enforce;
            d.resolve = c.verify == verify_mode::resolve;
        }
        return stop(r, d);
    }
    return stop(no_rule, decision{default_action_, false, no_rule});
}

std::size_t compiled_policy::memory_bytes() const noexcept {
    return sizeof(*this) + rules_.size() * sizeof(compiled_rule) + ports_.size() * sizeof(port_range) +
           destinations_.memory_bytes() + sources_.memory_bytes() + limit_sources_.memory_bytes() +
           group_limits_.size() * sizeof(group_limits) + (matcher_ ? matcher_->memory_bytes() : 0);
}

// [[policy.group]] limits: the groups that set any, in file order, and their
// CIDRs classified so that limits_for() is one lookup.
bool compiled_policy::build_group_limits(const policy_spec& spec, std::size_t max_class_entries) {
    std::vector<address_classifier::entry> limit_sources;
    for (const group_spec& g : spec.groups) {
        if (!g.limits.any()) continue;
        const auto index = static_cast<uint32_t>(group_limits_.size());
        group_limits_.push_back(g.limits);
        for (const cidr& c : g.cidrs) limit_sources.push_back({c, index});
    }
    return limit_sources_.build(limit_sources, max_class_entries);
}

bool compiled_policy::group_limits_per_destination() const noexcept {
    return std::any_of(group_limits_.begin(), group_limits_.end(), [](const group_limits& l) {
        return l.has(group_limits::max_per_destination) && l.value[group_limits::max_per_destination] != 0;
    });
}

namespace {

const std::vector<cidr>& any_cidrs() {
    static const std::vector<cidr> all{*cidr::parse("0.0.0.0/0"), *cidr::parse("::/0")};
    return all;
}

std::vector<cidr> source_cidrs(const policy_spec& spec, const rule_spec& r) {
    if (r.any_source) return any_cidrs();
    std::vector<cidr> out;
    for (const uint32_t g : r.source_groups) out.insert(out.end(), spec.groups[g].cidrs.begin(), spec.groups[g].cidrs.end());
    return out;
}

// Every CIDR of inner lies inside one CIDR of outer.
bool cidrs_cover(const std::vector<cidr>& outer, const std::vector<cidr>& inner) {
    return std::all_of(inner.begin(), inner.end(), [&](const cidr& i) {
        return std::any_of(outer.begin(), outer.end(), [&](const cidr& o) { return o.covers(i); });
    });
}

bool ports_cover(const std::vector<port_range>& outer, const std::vector<port_range>& inner) {
    if (outer.empty()) return true;
    const std::vector<port_range> all{port_range{0, 65535}};
    const std::vector<port_range>& in = inner.empty() ? all : inner;
    return std::all_of(in.begin(), in.end(), [&](const port_range& i) {
        return std::any_of(outer.begin(), outer.end(), [&](const port_range& o) { return o.lo <= i.lo && i.hi <= o.hi; });
    });
}

bool shadows(const policy_spec& spec, const rule_spec& a, const rule_spec& b) {
    if (a.mode != rule_mode::enforce || !a.hostnames.empty()) return false;
    if (a.proto != protocol::any && a.proto != b.proto) return false;
    if (!ports_cover(a.ports, b.ports)) return false;
    if (!cidrs_cover(a.destinations, b.destinations)) return false;
    return a.any_source || cidrs_cover(source_cidrs(spec, a), source_cidrs(spec, b));
}

} // namespace

std::vector<shadowed_rule> find_shadowed_rules(const policy_spec& spec, const compiled_policy& compiled) {
    std::vector<shadowed_rule> out;
    for (std::size_t i = 0; i < spec.rules.size(); ++i) {
        const rule_spec& b = spec.rules[i];
        if (b.destinations.empty()) continue;
        // A rule covering all of b's destinations contains the base of b's first one.
        for (const uint32_t a : compiled.destination_candidates(b.destinations.front().base)) {
            if (a >= i) break;
            if (shadows(spec, spec.rules[a], b)) {
                out.push_back(shadowed_rule{static_cast<uint32_t>(i), a});
                break;
            }
        }
    }
    return out;
}

} // namespace egress::policy
