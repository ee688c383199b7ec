// New flows are checked against the compiled policy: denied ones are dropped
// (policy_denied) and create nothing; report-mode denies pass and are counted;
// every decision is counted per rule.
#include <gtest/gtest.h>

#include "gateway/gateway_core.hpp"
#include "gateway_fixture.hpp"
#include "net/checksum.hpp"
#include "net/packet_parser.hpp"

namespace egress::gateway {
namespace {

using namespace testing_network;
using stats::drop_reason;
using stats::no_drop;
using stats::side;
using test::ip;

policy::active_policy make_policy() {
    policy::policy_spec spec;
    spec.default_action = policy::verdict::deny;
    spec.groups.push_back({"web", {*policy::cidr::parse("10.0.0.0/29", nullptr)}});
    policy::rule_spec https;
    https.name = "https";
    https.any_source = false;
    https.source_groups = {0};
    https.destinations = {*policy::cidr::parse("198.51.100.0/24", nullptr)};
    https.proto = policy::protocol::tcp;
    https.ports = {{443, 443}};
    https.action = policy::verdict::allow;
    policy::rule_spec audit;
    audit.name = "audit-udp";
    audit.destinations = {*policy::cidr::parse("0.0.0.0/0", nullptr)};
    audit.proto = policy::protocol::udp;
    audit.action = policy::verdict::deny;
    audit.mode = policy::rule_mode::report;
    spec.rules = {https, audit};
    return policy::active_policy(policy::compiled_policy::compile(spec).policy);
}

TEST(policy_enforcement, new_flows_are_decided_by_the_first_matching_rule) {
    policy::active_policy active = make_policy();
    gateway_core core(make_settings());
    core.use_policy(&active);
    auto tcp = [&](const char* src, const char* dst, uint16_t port) {
        test::bytes f = from_inside().ipv4(src, dst).tcp(40000, port, net::tcp_syn).build();
        return core.process(side::inside, f, 0);
    };
    EXPECT_EQ(tcp("10.0.0.5", "198.51.100.7", 443), no_drop);               // rule "https"
    EXPECT_EQ(tcp("10.0.0.5", "198.51.100.7", 80), drop_reason::policy_denied);  // default deny
    EXPECT_EQ(tcp("10.0.0.9", "198.51.100.7", 443), drop_reason::policy_denied); // not in group "web"
    test::bytes udp = from_inside().ipv4("10.0.0.9", "203.0.113.99").udp(5000, 53).build();
    EXPECT_EQ(core.process(side::inside, udp, 0), no_drop); // report mode: would deny, passes
    EXPECT_EQ(core.counters().policy_would_deny, 1u);
    EXPECT_EQ(core.counters().drops[static_cast<std::size_t>(drop_reason::policy_denied)], 2u);
    EXPECT_EQ(active.counters->rule_hits, (std::vector<uint64_t>{1, 1}));
    EXPECT_EQ(active.defaults(), 2u);
    EXPECT_EQ(core.flows_active(), 2u);
    // Packets of an allowed flow are not evaluated again.
    test::bytes ack = from_inside().ipv4("10.0.0.5", "198.51.100.7").tcp(40000, 443, net::tcp_syn).build();
    EXPECT_EQ(core.process(side::inside, ack, 1), no_drop);
    EXPECT_EQ(active.hits(0), 1u);

    // A new version applies to new flows from the next packet on.
    policy::policy_spec allow_all;
    allow_all.default_action = policy::verdict::allow;
    policy::active_policy v2(policy::compiled_policy::compile(allow_all).policy);
    core.use_policy(&v2);
    EXPECT_EQ(tcp("10.0.0.5", "198.51.100.7", 80), no_drop);
    EXPECT_EQ(v2.defaults(), 1u);
}

TEST(policy_enforcement, a_new_version_cuts_existing_flows_it_denies_with_a_tcp_reset) {
    policy::policy_spec allow_all;
    allow_all.default_action = policy::verdict::allow;
    allow_all.version = 1;
    policy::active_policy v1(policy::compiled_policy::compile(allow_all).policy);
    gateway_core core(make_settings());
    core.use_policy(&v1);
    auto out = [&](const char* dst, uint8_t flags, std::string_view payload = "") {
        test::bytes f = from_inside().ipv4("10.0.0.5", dst).tcp(40000, 443, flags).tcp_seq(1000, 5001).payload(payload).build();
        const drop_reason v = core.process(side::inside, f, 10);
        return std::make_pair(v, test::bytes(f.begin(), f.begin() + (core.reply_length(0) ? core.reply_length(0) : f.size())));
    };
    auto back = [&](const char* src) {
        test::bytes f = from_outside().ipv4(src, "203.0.113.10").tcp(443, 40000, net::tcp_syn | net::tcp_ack).build();
        return core.process(side::outside, f, 20);
    };
    ASSERT_EQ(out("198.51.100.7", net::tcp_syn).first, no_drop);
    ASSERT_EQ(out("198.51.100.8", net::tcp_syn).first, no_drop);

    // Version 2 denies 198.51.100.7 only.
    policy::policy_spec v2spec = allow_all;
    v2spec.version = 2;
    policy::rule_spec deny;
    deny.name = "no-7";
    deny.destinations = {*policy::cidr::parse("198.51.100.7/32", nullptr)};
    deny.action = policy::verdict::deny;
    v2spec.rules = {deny};
    policy::active_policy v2(policy::compiled_policy::compile(v2spec).policy);
    core.use_policy(&v2);

    const auto [verdict, reset] = out("198.51.100.7", net::tcp_ack | net::tcp_psh, "hello");
    EXPECT_EQ(verdict, drop_reason::policy_cut);
    ASSERT_EQ(reset.size(), 14u + 20 + 20);
    net::packet_view v;
    ASSERT_EQ(net::parse_frame(reset, v), no_drop);
    EXPECT_EQ(v.src, ip("198.51.100.7"));
    EXPECT_EQ(v.dst, ip("10.0.0.5"));
    EXPECT_EQ(v.src_port, 443);
    EXPECT_EQ(v.dst_port, 40000);
    EXPECT_EQ(v.tcp_flags, net::tcp_rst | net::tcp_ack);
    EXPECT_EQ(test::be16(reset, 14 + 20 + 4) << 16 | test::be16(reset, 14 + 20 + 6), 5001u); // seq = their ack
    EXPECT_EQ(test::be16(reset, 14 + 20 + 8) << 16 | test::be16(reset, 14 + 20 + 10), 1005u); // ack = seq + 5
    test::bytes recomputed = reset;
    net::recompute_checksums(recomputed, v);
    EXPECT_EQ(recomputed, reset);
    EXPECT_EQ(test::bytes(reset.begin(), reset.begin() + 6), test::bytes(inside_hop.bytes.begin(), inside_hop.bytes.end()));

    EXPECT_EQ(back("198.51.100.7"), drop_reason::policy_cut);  // the reply direction is dropped too
    EXPECT_EQ(back("198.51.100.8"), no_drop);                   // allowed flows continue untouched
    EXPECT_EQ(out("198.51.100.8", net::tcp_ack).first, no_drop);
    EXPECT_EQ(core.counters().policy_flows_cut, 1u);
    EXPECT_EQ(core.counters().drops[static_cast<std::size_t>(drop_reason::policy_cut)], 2u);
}

TEST(policy_enforcement, without_a_policy_every_outbound_flow_is_allowed) {
    gateway_core core(make_settings());
    test::bytes f = from_inside().ipv4("10.0.0.9", "192.0.2.200").tcp(1, 2, net::tcp_syn).build();
    EXPECT_EQ(core.process(side::inside, f, 0), no_drop);
    EXPECT_EQ(core.counters().drops[static_cast<std::size_t>(drop_reason::policy_denied)], 0u);
}

} // namespace
} // namespace egress::gateway
