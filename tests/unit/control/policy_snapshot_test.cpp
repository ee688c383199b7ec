// lib/policy/block_list and active_policy: the most specific block wins, the
// families never mix, blocks come before every rule, and what is counted where.
#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include "../net/packet_builder.hpp"
#include "policy/active_policy.hpp"

namespace egress::policy {
namespace {

using test::ip;

cidr cidr_of(std::string_view text) { return *cidr::parse(text); }

// The prefix of the block matching a, or "none".
std::string matched(const block_list& l, std::string_view a) {
    const uint32_t i = l.match(ip(a));
    return i == block_list::none ? "none" : l.entries()[i].prefix.to_string();
}

TEST(block_list, the_most_specific_block_matches) {
    const block_list l({{cidr_of("10.1.0.0/16"), 1, 0}, {cidr_of("10.1.2.0/24"), 2, 0}, {cidr_of("10.0.0.0/8"), 3, 0}});
    EXPECT_EQ(matched(l, "10.1.2.3"), "10.1.2.0/24");
    EXPECT_EQ(matched(l, "10.1.9.9"), "10.1.0.0/16");
    EXPECT_EQ(matched(l, "10.9.9.9"), "10.0.0.0/8");
    EXPECT_EQ(matched(l, "11.0.0.1"), "none");
    // Entries keep their data, shortest prefix first.
    ASSERT_EQ(l.entries().size(), 3u);
    EXPECT_EQ(l.entries()[0].prefix, cidr_of("10.0.0.0/8"));
    EXPECT_EQ(l.entries()[0].created_unix_ms, 3u);
    EXPECT_EQ(l.entries()[2].created_unix_ms, 2u);
}

TEST(block_list, ipv4_and_ipv6_blocks_never_match_the_other_family) {
    const block_list v4({{cidr_of("0.0.0.0/0"), 0, 0}});
    EXPECT_EQ(matched(v4, "1.2.3.4"), "0.0.0.0/0");
    EXPECT_EQ(matched(v4, "2001:db8::1"), "none");
    EXPECT_EQ(matched(v4, "::"), "none");
    const block_list v6({{cidr_of("::/0"), 0, 0}, {cidr_of("2001:db8::/32"), 0, 0}});
    EXPECT_EQ(matched(v6, "1.2.3.4"), "none");
    EXPECT_EQ(matched(v6, "2001:db8::1"), "2001:db8::/32");
    EXPECT_EQ(matched(v6, "2001:db9::1"), "::/0");
    EXPECT_TRUE(block_list({}).empty());
    EXPECT_EQ(matched(block_list({}), "1.2.3.4"), "none");
}

TEST(block_entry, expires_at_its_time_and_never_without_one) {
    const block_entry e{cidr_of("10.0.0.0/8"), 100, 200};
    EXPECT_FALSE(e.expired_at(199));
    EXPECT_TRUE(e.expired_at(200));
    EXPECT_FALSE((block_entry{cidr_of("10.0.0.0/8"), 100, 0}.expired_at(UINT64_MAX)));
}

// Rule 0 "web" allows TCP 443 to 198.51.100.0/24; everything else is denied by default.
std::shared_ptr<const compiled_policy> web_policy() {
    policy_spec spec;
    spec.default_action = verdict::deny;
    rule_spec web;
    web.name = "web";
    web.destinations = {cidr_of("198.51.100.0/24")};
    web.proto = protocol::tcp;
    web.ports = {{443, 443}};
    web.action = verdict::allow;
    spec.rules = {web};
    spec.version = 4;
    return compiled_policy::compile(spec).policy;
}

std::shared_ptr<const block_list> blocks(std::vector<block_entry> entries) {
    return std::make_shared<const block_list>(std::move(entries));
}

query to(std::string_view dst, uint8_t proto = 6, uint16_t port = 443, std::string_view src = "10.0.0.5") {
    query q;
    q.src = ip(src);
    q.dst = ip(dst);
    q.proto = proto;
    q.dst_port = port;
    return q;
}
query tcp_to(std::string_view dst) { return to(dst); }

TEST(active_policy, a_block_denies_before_any_rule_and_is_counted_per_block) {
    auto rules = web_policy();
    active_policy p(rules, std::make_shared<policy_counters>(1),
                    blocks({{cidr_of("198.51.100.0/24"), 0, 0}, {cidr_of("198.51.100.7/32"), 0, 0}}), 9, 4);
    const uint32_t host = 1; // the /32, after the /24
    ASSERT_EQ(p.blocks->entries()[host].prefix, cidr_of("198.51.100.7/32"));

    EXPECT_EQ(p.decide(tcp_to("198.51.100.7")), (decision{verdict::deny, false, no_rule, host}));
    EXPECT_EQ(p.decide(tcp_to("198.51.100.7")), (decision{verdict::deny, false, no_rule, host}));
    EXPECT_EQ(p.decide(tcp_to("198.51.100.8")), (decision{verdict::deny, false, no_rule, 0}));
    EXPECT_EQ(p.decide(tcp_to("192.0.2.8")), (decision{verdict::deny, false, no_rule, no_rule})); // default
    EXPECT_EQ(p.block_total(), 3u);
    EXPECT_EQ(p.hits_of_block(host), 2u);
    EXPECT_EQ(p.hits_of_block(0), 1u);
    EXPECT_EQ(p.hits(0), 0u); // the allowing rule never decided
    EXPECT_EQ(p.defaults(), 1u);
    EXPECT_EQ(p.rule_name(decision{verdict::deny, false, no_rule, host}), "");
}

TEST(active_policy, without_blocks_the_rules_decide) {
    active_policy p(web_policy(), std::make_shared<policy_counters>(1), nullptr, 1, 4);
    const decision d = p.decide(tcp_to("198.51.100.7"));
    EXPECT_EQ(d, (decision{verdict::allow, false, 0, no_rule}));
    EXPECT_EQ(p.rule_name(d), "web");
    EXPECT_EQ(p.hits(0), 1u);
    EXPECT_EQ(p.block_total(), 0u);
}

TEST(active_policy, without_a_compiled_policy_everything_not_blocked_is_allowed) {
    active_policy p(nullptr, std::make_shared<policy_counters>(0), blocks({{cidr_of("2001:db8::/32"), 0, 0}}), 1, 0);
    EXPECT_EQ(p.decide(tcp_to("192.0.2.8")), (decision{verdict::allow, false, no_rule, no_rule}));
    EXPECT_EQ(p.decide(to("2001:db8::9", 17, 53, "fd00::5")), (decision{verdict::deny, false, no_rule, 0}));
    EXPECT_EQ(p.defaults(), 0u); // allows without a policy are not counted
    EXPECT_EQ(p.block_total(), 1u);
    EXPECT_EQ(p.hits_of_block(0), 1u);
}

TEST(active_policy, evaluate_counts_nothing_and_a_cut_counts_only_for_its_block) {
    active_policy p(web_policy(), std::make_shared<policy_counters>(1), blocks({{cidr_of("198.51.100.7/32"), 0, 0}}), 1, 4);
    const decision d = p.evaluate(tcp_to("198.51.100.7"));
    EXPECT_EQ(d, (decision{verdict::deny, false, no_rule, 0}));
    EXPECT_EQ(p.evaluate(tcp_to("198.51.100.9")), (decision{verdict::allow, false, 0, no_rule}));
    EXPECT_EQ(p.hits_of_block(0), 0u);
    EXPECT_EQ(p.hits(0), 0u);
    p.count_block_cut(d);
    p.count_block_cut(p.evaluate(tcp_to("198.51.100.9"))); // not a block: nothing
    EXPECT_EQ(p.hits_of_block(0), 1u);
    EXPECT_EQ(p.block_total(), 0u); // block_total counts new flows only
}

TEST(active_policy, the_test_constructor_follows_the_policy_version) {
    const active_policy p(web_policy());
    EXPECT_EQ(p.version, 4u);
    EXPECT_EQ(p.generation, 5);
    EXPECT_EQ(p.blocks, nullptr);
    EXPECT_EQ(p.counters->rule_hits.size(), 1u);
    const active_policy none(nullptr);
    EXPECT_EQ(none.version, 0u);
    EXPECT_EQ(none.generation, 1);
}

} // namespace
} // namespace egress::policy
