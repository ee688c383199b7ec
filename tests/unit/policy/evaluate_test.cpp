// lib/policy/compiled_policy: precedence, defaults, report mode, both families,
// ports, icmp, any; and the tries against a brute-force evaluator.
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "policy/compiled_policy.hpp"

namespace {

using namespace egress::policy;
using egress::net::ip_address;

ip_address ip(std::string_view s) { return ip_address::parse(s).value(); }
cidr net(std::string_view s) { return cidr::parse(s).value(); }

// A small fluent builder for policy_spec.
struct spec_builder {
    policy_spec spec;

    spec_builder& group(std::string name, std::initializer_list<std::string_view> cidrs) {
        group_spec g{std::move(name), {}, {}};
        for (const auto c : cidrs) g.cidrs.push_back(net(c));
        spec.groups.push_back(std::move(g));
        return *this;
    }
    // sources: group names; empty = any.
    spec_builder& rule(std::string name, std::initializer_list<std::string_view> sources,
                       std::initializer_list<std::string_view> destinations, protocol proto,
                       std::initializer_list<port_range> ports, verdict action, rule_mode mode = rule_mode::enforce) {
        rule_spec r;
        r.name = std::move(name);
        r.any_source = sources.size() == 0;
        for (const auto s : sources) {
            for (uint32_t g = 0; g < spec.groups.size(); ++g) {
                if (spec.groups[g].name == s) r.source_groups.push_back(g);
            }
        }
        for (const auto d : destinations) r.destinations.push_back(net(d));
        r.proto = proto;
        r.ports = ports;
        r.action = action;
        r.mode = mode;
        r.line = static_cast<uint32_t>(spec.rules.size() + 1);
        spec.rules.push_back(std::move(r));
        return *this;
    }
};

std::unique_ptr<const compiled_policy> compile(const policy_spec& spec) {
    compile_result r = compiled_policy::compile(spec);
    EXPECT_TRUE(r.policy) << r.error;
    return std::move(r.policy);
}

// The brute-force reference: every rule in order.
decision evaluate_linear(const policy_spec& spec, const query& q) {
    for (uint32_t i = 0; i < spec.rules.size(); ++i) {
        const rule_spec& r = spec.rules[i];
        if (!rule_matches(spec, r, q)) continue;
        if (r.mode == rule_mode::report) return decision{verdict::allow, r.action == verdict::deny, i};
        return decision{r.action, false, i};
    }
    return decision{spec.default_action, false, no_rule};
}

constexpr uint8_t icmp = 1, tcp = 6, udp = 17, icmpv6 = 58, gre = 47;

policy_spec example(verdict default_action) {
    spec_builder b;
    b.spec.default_action = default_action;
    b.group("web", {"10.0.1.0/24", "fd00:1::/64"}).group("db", {"10.0.2.0/24"});
    b.rule("block-bad", {}, {"198.51.100.0/24"}, protocol::any, {}, verdict::deny)
        .rule("report-dns", {"web"}, {"0.0.0.0/0"}, protocol::udp, {{53, 53}}, verdict::deny, rule_mode::report)
        .rule("https", {"web"}, {"0.0.0.0/0", "::/0"}, protocol::tcp, {{443, 443}, {8000, 8080}}, verdict::allow)
        .rule("ping", {}, {"0.0.0.0/0", "::/0"}, protocol::icmp, {}, verdict::allow)
        .rule("db-out", {"db"}, {"203.0.113.0/24"}, protocol::any, {}, verdict::allow)
        .rule("deny-web-v6", {"web"}, {"2001:db8::/32"}, protocol::any, {}, verdict::deny)
        .rule("report-allow", {"db"}, {"192.0.2.0/24"}, protocol::tcp, {}, verdict::allow, rule_mode::report)
        .rule("report-stops", {"db"}, {"192.0.2.0/24"}, protocol::udp, {}, verdict::deny, rule_mode::report)
        .rule("after-report", {"db"}, {"192.0.2.0/24"}, protocol::udp, {}, verdict::allow);
    b.spec.version = 7;
    return b.spec;
}

struct row {
    std::string_view description;
    std::string_view src, dst;
    uint8_t proto;
    uint16_t port;
    decision expected;
};

constexpr decision allow(uint32_t rule) { return {verdict::allow, false, rule}; }
constexpr decision deny(uint32_t rule) { return {verdict::deny, false, rule}; }
constexpr decision would_deny(uint32_t rule) { return {verdict::allow, true, rule}; }

const row rows[] = {
    {"web https to the internet", "10.0.1.5", "93.184.216.34", tcp, 443, allow(2)},
    {"web port range low end", "10.0.1.5", "93.184.216.34", tcp, 8000, allow(2)},
    {"web port range high end", "10.0.1.5", "93.184.216.34", tcp, 8080, allow(2)},
    {"web just past the range: default", "10.0.1.5", "93.184.216.34", tcp, 8081, deny(no_rule)},
    {"web https over udp is not https", "10.0.1.5", "93.184.216.34", udp, 443, deny(no_rule)},
    {"an earlier deny wins over a later allow", "10.0.1.5", "198.51.100.7", tcp, 443, deny(0)},
    {"report deny: passes, counted", "10.0.1.5", "8.8.8.8", udp, 53, would_deny(1)},
    {"db dns: no rule, default", "10.0.2.9", "8.8.8.8", udp, 53, deny(no_rule)},
    {"db to its network, any protocol", "10.0.2.9", "203.0.113.5", tcp, 5432, allow(4)},
    {"db to its network, gre", "10.0.2.9", "203.0.113.5", gre, 0, allow(4)},
    {"web to db's network: default", "10.0.1.5", "203.0.113.5", tcp, 5432, deny(no_rule)},
    {"icmp from anyone", "172.16.0.1", "1.1.1.1", icmp, 0, allow(3)},
    {"icmpv6 is icmp", "fd00:9::1", "2001:db8::1", icmpv6, 0, allow(3)},
    {"web v6 https", "fd00:1::5", "2001:db8::1", tcp, 443, allow(2)},
    {"web v6 udp to the denied prefix", "fd00:1::5", "2001:db8::1", udp, 1000, deny(5)},
    {"v6 source outside every group", "fd00:9::1", "2001:db8::1", tcp, 443, deny(no_rule)},
    {"v4 web source, v6 destination only in ::/0", "10.0.1.5", "2001:db8::1", tcp, 443, allow(2)},
    {"report allow is an allow", "10.0.2.9", "192.0.2.1", tcp, 22, allow(6)},
    {"report deny stops evaluation", "10.0.2.9", "192.0.2.1", udp, 1234, would_deny(7)},
    {"0.0.0.0/0 is not IPv6", "10.0.1.5", "2001:db9::1", udp, 53, deny(no_rule)},
};

TEST(evaluate, table_with_default_deny) {
    const policy_spec spec = example(verdict::deny);
    const auto policy = compile(spec);
    ASSERT_TRUE(policy);
    for (const row& r : rows) {
        const query q{ip(r.src), ip(r.dst), r.proto, r.port};
        EXPECT_EQ(policy->evaluate(q), r.expected) << r.description;
        EXPECT_EQ(evaluate_linear(spec, q), r.expected) << r.description;
    }
}

TEST(evaluate, table_with_default_allow) {
    const policy_spec spec = example(verdict::allow);
    const auto policy = compile(spec);
    ASSERT_TRUE(policy);
    for (const row& r : rows) {
        decision expected = r.expected;
        if (expected.rule == no_rule) expected.action = verdict::allow;
        EXPECT_EQ(policy->evaluate(query{ip(r.src), ip(r.dst), r.proto, r.port}), expected) << r.description;
    }
}

TEST(evaluate, empty_policy_takes_the_default) {
    policy_spec spec;
    EXPECT_EQ(compile(spec)->evaluate(query{ip("10.0.0.1"), ip("1.1.1.1"), tcp, 80}), deny(no_rule));
    spec.default_action = verdict::allow;
    EXPECT_EQ(compile(spec)->evaluate(query{ip("fd00::1"), ip("2001:db8::1"), udp, 53}), allow(no_rule));
}

TEST(evaluate, exposes_rules_version_and_default) {
    const auto policy = compile(example(verdict::allow));
    EXPECT_EQ(policy->version(), 7u);
    EXPECT_EQ(policy->default_action(), verdict::allow);
    ASSERT_EQ(policy->rules().size(), 9u);
    EXPECT_EQ(policy->rules()[1].name, "report-dns");
    EXPECT_EQ(policy->rules()[1].mode, rule_mode::report);
    EXPECT_EQ(policy->rules()[1].action, verdict::deny);
    EXPECT_EQ(policy->rules()[1].line, 2u);
}

TEST(evaluate, candidate_lists_are_sorted_rule_indexes) {
    const auto policy = compile(example(verdict::deny));
    const auto d = policy->destination_candidates(ip("198.51.100.1"));
    EXPECT_EQ(std::vector<uint32_t>(d.begin(), d.end()), (std::vector<uint32_t>{0, 1, 2, 3}));
    const auto s = policy->source_candidates(ip("10.0.1.1"));
    EXPECT_EQ(std::vector<uint32_t>(s.begin(), s.end()), (std::vector<uint32_t>{1, 2, 5}));
    EXPECT_TRUE(policy->source_candidates(ip("10.0.3.1")).empty());
}

TEST(evaluate, compile_refuses_inconsistent_specs) {
    spec_builder b;
    b.rule("x", {}, {"10.0.0.0/8"}, protocol::any, {}, verdict::allow);
    b.spec.rules[0].destinations.clear();
    EXPECT_EQ(compiled_policy::compile(b.spec).error, R"(rule "x": no destinations)");
    spec_builder c;
    c.rule("y", {}, {"10.0.0.0/8"}, protocol::icmp, {{1, 2}}, verdict::allow);
    EXPECT_EQ(compiled_policy::compile(c.spec).error, R"(rule "y": ports need protocol tcp or udp)");
    spec_builder d;
    d.rule("z", {}, {"10.0.0.0/8"}, protocol::any, {}, verdict::allow);
    d.spec.rules[0].any_source = false;
    d.spec.rules[0].source_groups = {3};
    EXPECT_EQ(compiled_policy::compile(d.spec).error, R"(rule "z": no group 3)");
}

TEST(evaluate, nested_prefixes_stay_within_the_size_limit) {
    spec_builder b;
    // Classes: 10.0.0.0/8 -> {0..3}, 10.1.0.0/16 -> {0..7}: 12 entries.
    for (int i = 0; i < 8; ++i) {
        b.rule(fmt::format("r{}", i), {}, {i < 4 ? "10.0.0.0/8" : "10.1.0.0/16"}, protocol::any, {}, verdict::allow);
    }
    EXPECT_TRUE(compiled_policy::compile(b.spec, 12).policy);
    const compile_result too_big = compiled_policy::compile(b.spec, 11);
    EXPECT_FALSE(too_big.policy);
    EXPECT_EQ(too_big.error, "the destination lists would exceed 11 entries (too many nested destinations)");
}

TEST(prefix_trie, nested_prefixes_and_families) {
    address_classifier c;
    ASSERT_TRUE(c.build({{net("0.0.0.0/0"), 0}, {net("10.0.0.0/8"), 1}, {net("10.1.2.0/23"), 2},
                         {net("10.1.3.7/32"), 3}, {net("10.1.3.7/32"), 4}, {net("::/0"), 5},
                         {net("2001:db8::/64"), 6}, {net("2001:db8::1/128"), 7}, {net("2001:db8::/64"), 0}},
                        1000));
    auto values = [&](std::string_view a) {
        const auto s = c.lookup(ip(a));
        return std::vector<uint32_t>(s.begin(), s.end());
    };
    EXPECT_EQ(values("192.0.2.1"), (std::vector<uint32_t>{0}));
    EXPECT_EQ(values("10.200.0.1"), (std::vector<uint32_t>{0, 1}));
    EXPECT_EQ(values("10.1.2.255"), (std::vector<uint32_t>{0, 1, 2}));
    EXPECT_EQ(values("10.1.3.6"), (std::vector<uint32_t>{0, 1, 2}));
    EXPECT_EQ(values("10.1.3.7"), (std::vector<uint32_t>{0, 1, 2, 3, 4}));
    EXPECT_EQ(values("10.1.4.0"), (std::vector<uint32_t>{0, 1}));
    EXPECT_EQ(values("2001:db9::1"), (std::vector<uint32_t>{5}));
    EXPECT_EQ(values("2001:db8::2"), (std::vector<uint32_t>{0, 5, 6}));
    EXPECT_EQ(values("2001:db8::1"), (std::vector<uint32_t>{0, 5, 6, 7}));
    address_classifier empty;
    ASSERT_TRUE(empty.build({}, 10));
    EXPECT_TRUE(empty.lookup(ip("10.0.0.1")).empty());
    EXPECT_TRUE(empty.lookup(ip("::1")).empty());
}

// ---------------------------------------------------------------------------
// Tries against the brute-force evaluator

ip_address random_v4(std::mt19937_64& rng) {
    // Mostly inside 10.0.0.0/12 so that prefixes overlap and nest.
    const auto r = static_cast<uint32_t>(rng());
    return ip_address::from_v4(rng() % 8 == 0 ? r : (0x0a000000u | (r & 0x000fffffu)));
}

ip_address random_v6(std::mt19937_64& rng) {
    ip_address a = ip("2001:db8::");
    a.bytes[4] = static_cast<uint8_t>(rng() % 4);
    for (int i = 5; i < 16; ++i) a.bytes[static_cast<std::size_t>(i)] = static_cast<uint8_t>(rng());
    return a;
}

// A random prefix, host bits cleared: mostly IPv4 /8../32 (sometimes /0), some IPv6 /30../128.
cidr random_cidr(std::mt19937_64& rng) {
    const bool v6 = rng() % 10 == 0;
    ip_address a = v6 ? random_v6(rng) : random_v4(rng);
    const unsigned len = v6 ? 30 + static_cast<unsigned>(rng() % 99)
                            : (rng() % 50 == 0 ? 0 : 8 + static_cast<unsigned>(rng() % 25));
    const unsigned bits = v6 ? len : 96 + len;
    for (unsigned bit = bits; bit < 128; ++bit) a.bytes[bit / 8] = static_cast<uint8_t>(a.bytes[bit / 8] & ~(0x80u >> (bit % 8)));
    return cidr::parse(fmt::format("{}/{}", a, len)).value();
}

ip_address near(std::mt19937_64& rng, const cidr& c) {
    ip_address a = c.is_v4() ? random_v4(rng) : random_v6(rng);
    // Copy the prefix's bits most of the time so the query lands inside it.
    if (rng() % 4 != 0) {
        for (unsigned bit = 0; bit < c.prefix_len; ++bit) {
            const unsigned byte = bit / 8, shift = 7 - bit % 8;
            a.bytes[byte] = static_cast<uint8_t>((a.bytes[byte] & ~(1u << shift)) | (c.base.bytes[byte] & (1u << shift)));
        }
    }
    return a;
}

TEST(evaluate, tries_agree_with_brute_force_on_random_policies) {
    std::mt19937_64 rng(20261127);
    policy_spec spec;
    spec.default_action = verdict::deny;
    for (int g = 0; g < 40; ++g) {
        group_spec group{fmt::format("g{}", g), {}, {}};
        const int n = 1 + static_cast<int>(rng() % 4);
        for (int i = 0; i < n; ++i) group.cidrs.push_back(random_cidr(rng));
        spec.groups.push_back(std::move(group));
    }
    const protocol protocols[] = {protocol::any, protocol::tcp, protocol::udp, protocol::icmp};
    for (int i = 0; i < 500; ++i) {
        rule_spec r;
        r.name = fmt::format("r{}", i);
        r.any_source = rng() % 3 == 0;
        if (!r.any_source) {
            const int n = 1 + static_cast<int>(rng() % 3);
            for (int k = 0; k < n; ++k) r.source_groups.push_back(static_cast<uint32_t>(rng() % spec.groups.size()));
        }
        const int d = 1 + static_cast<int>(rng() % 3);
        for (int k = 0; k < d; ++k) r.destinations.push_back(random_cidr(rng));
        r.proto = protocols[rng() % 4];
        if ((r.proto == protocol::tcp || r.proto == protocol::udp) && rng() % 2 == 0) {
            const int n = 1 + static_cast<int>(rng() % 3);
            for (int k = 0; k < n; ++k) {
                const auto lo = static_cast<uint16_t>(1 + rng() % 100);
                r.ports.push_back(port_range{lo, static_cast<uint16_t>(lo + rng() % 20)});
            }
        }
        r.action = rng() % 2 == 0 ? verdict::allow : verdict::deny;
        r.mode = rng() % 5 == 0 ? rule_mode::report : rule_mode::enforce;
        spec.rules.push_back(std::move(r));
    }
    const auto policy = compile(spec);
    ASSERT_TRUE(policy);
    const uint8_t protos[] = {tcp, udp, icmp, icmpv6, gre};
    std::size_t matched = 0;
    for (int i = 0; i < 20000; ++i) {
        const rule_spec& about = spec.rules[rng() % spec.rules.size()];
        const cidr& dst_net = about.destinations[rng() % about.destinations.size()];
        const bool v4 = dst_net.is_v4();
        const group_spec& src_group = spec.groups[rng() % spec.groups.size()];
        const cidr& src_net = src_group.cidrs[rng() % src_group.cidrs.size()];
        query q;
        q.dst = near(rng, dst_net);
        q.src = src_net.is_v4() == v4 ? near(rng, src_net) : (v4 ? random_v4(rng) : random_v6(rng));
        q.proto = protos[rng() % 5];
        q.dst_port = static_cast<uint16_t>(1 + rng() % 130);
        const decision expected = evaluate_linear(spec, q);
        ASSERT_EQ(policy->evaluate(q), expected) << "query " << i << ": " << q.src.to_string() << " -> "
                                                 << q.dst.to_string() << " proto " << int(q.proto) << " port "
                                                 << q.dst_port;
        if (expected.rule != no_rule) ++matched;
    }
    // The queries must exercise rules, not just the default.
    EXPECT_GT(matched, 8000u);
}

} // namespace
