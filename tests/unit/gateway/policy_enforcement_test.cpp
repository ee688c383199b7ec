// New flows are checked against the compiled policy: denied ones are dropped
// (policy_denied) and create nothing; report-mode denies pass and are counted;
// every decision is counted per rule. Emergency blocks deny before any rule and
// cut existing flows (on their next packet or in the expiry sweep); every
// denial, would-deny, cut and block goes to the security event ring.
#include <algorithm>
#include <string>
#include <vector>

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
    spec.groups.push_back({"web", {*policy::cidr::parse("10.0.0.0/29", nullptr)}, {}});
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
    EXPECT_EQ(tcp("10.0.0.5", "198.51.100.7", 443), verdict::forward);               // rule "https"
    EXPECT_EQ(tcp("10.0.0.5", "198.51.100.7", 80), drop_reason::policy_denied);  // default deny
    EXPECT_EQ(tcp("10.0.0.9", "198.51.100.7", 443), drop_reason::policy_denied); // not in group "web"
    test::bytes udp = from_inside().ipv4("10.0.0.9", "203.0.113.99").udp(5000, 53).build();
    EXPECT_EQ(core.process(side::inside, udp, 0), verdict::forward); // report mode: would deny, passes
    EXPECT_EQ(core.counters().policy_would_deny, 1u);
    EXPECT_EQ(core.counters().drops[static_cast<std::size_t>(drop_reason::policy_denied)], 2u);
    EXPECT_EQ(active.counters->rule_hits, (std::vector<uint64_t>{1, 1}));
    EXPECT_EQ(active.defaults(), 2u);
    EXPECT_EQ(core.flows_active(), 2u);
    // Packets of an allowed flow are not evaluated again.
    test::bytes ack = from_inside().ipv4("10.0.0.5", "198.51.100.7").tcp(40000, 443, net::tcp_syn).build();
    EXPECT_EQ(core.process(side::inside, ack, 1), verdict::forward);
    EXPECT_EQ(active.hits(0), 1u);

    // A new version applies to new flows from the next packet on.
    policy::policy_spec allow_all;
    allow_all.default_action = policy::verdict::allow;
    policy::active_policy v2(policy::compiled_policy::compile(allow_all).policy);
    core.use_policy(&v2);
    EXPECT_EQ(tcp("10.0.0.5", "198.51.100.7", 80), verdict::forward);
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
        const packet_result v = core.process(side::inside, f, 10);
        return std::make_pair(v, test::bytes(f.begin(), f.begin() + (v.reply_len ? v.reply_len : f.size())));
    };
    auto back = [&](const char* src) {
        test::bytes f = from_outside().ipv4(src, "203.0.113.10").tcp(443, 40000, net::tcp_syn | net::tcp_ack).tcp_seq(5000, 1001).build();
        return core.process(side::outside, f, 20);
    };
    ASSERT_EQ(out("198.51.100.7", net::tcp_syn).first, verdict::forward);
    ASSERT_EQ(out("198.51.100.8", net::tcp_syn).first, verdict::forward);

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
    EXPECT_EQ(back("198.51.100.8"), verdict::forward);                   // allowed flows continue untouched
    EXPECT_EQ(out("198.51.100.8", net::tcp_ack).first, verdict::forward);
    EXPECT_EQ(core.counters().policy_flows_cut, 1u);
    EXPECT_EQ(core.counters().drops[static_cast<std::size_t>(drop_reason::policy_cut)], 2u);
}

TEST(policy_enforcement, without_a_policy_every_outbound_flow_is_allowed) {
    gateway_core core(make_settings());
    test::bytes f = from_inside().ipv4("10.0.0.9", "192.0.2.200").tcp(1, 2, net::tcp_syn).build();
    EXPECT_EQ(core.process(side::inside, f, 0), verdict::forward);
    EXPECT_EQ(core.counters().drops[static_cast<std::size_t>(drop_reason::policy_denied)], 0u);
}

// A snapshot of `rules` (null: no policy) with emergency blocks on `blocked`.
policy::active_policy with_blocks(std::shared_ptr<const policy::compiled_policy> rules,
                                  std::vector<std::string_view> blocked, uint8_t generation, uint64_t version) {
    std::vector<policy::block_entry> entries;
    for (const auto b : blocked) entries.push_back({*policy::cidr::parse(b, nullptr), 0, 0});
    auto counters = std::make_shared<policy::policy_counters>(rules ? rules->rules().size() : 0);
    return policy::active_policy(std::move(rules), std::move(counters),
                                 entries.empty() ? nullptr : std::make_shared<const policy::block_list>(std::move(entries)),
                                 generation, version);
}

TEST(policy_enforcement, a_block_denies_new_flows_and_cuts_existing_ones_with_a_tcp_reset) {
    policy::active_policy v1 = with_blocks(nullptr, {}, 1, 1);
    gateway_core core(make_settings());
    core.use_policy(&v1);
    auto out = [&](const char* dst, uint16_t sport, uint8_t flags, std::string_view payload = "") {
        test::bytes f = from_inside().ipv4("10.0.0.5", dst).tcp(sport, 443, flags).tcp_seq(1000, 5001).payload(payload).build();
        const packet_result v = core.process(side::inside, f, 10);
        return std::make_pair(v, test::bytes(f.begin(), f.begin() + (v.reply_len ? v.reply_len : f.size())));
    };
    ASSERT_EQ(out("198.51.100.7", 40000, net::tcp_syn).first, verdict::forward);

    policy::active_policy v2 = with_blocks(nullptr, {"198.51.100.0/24"}, 2, 1);
    core.use_policy(&v2);
    EXPECT_EQ(out("198.51.100.9", 40001, net::tcp_syn).first, drop_reason::policy_blocked);
    EXPECT_EQ(core.flows_active(), 1u); // the blocked flow was not created
    EXPECT_EQ(v2.block_total(), 1u);

    const auto [verdict, reset] = out("198.51.100.7", 40000, net::tcp_ack | net::tcp_psh, "hello");
    EXPECT_EQ(verdict, drop_reason::policy_cut);
    net::packet_view v;
    ASSERT_EQ(net::parse_frame(reset, v), no_drop);
    EXPECT_EQ(v.src, ip("198.51.100.7"));
    EXPECT_EQ(v.dst, ip("10.0.0.5"));
    EXPECT_EQ(v.src_port, 443);
    EXPECT_EQ(v.dst_port, 40000);
    EXPECT_EQ(v.tcp_flags, net::tcp_rst | net::tcp_ack);
    EXPECT_EQ(test::bytes(reset.begin(), reset.begin() + 6), test::bytes(inside_hop.bytes.begin(), inside_hop.bytes.end()));

    EXPECT_EQ(v2.hits_of_block(0), 2u);  // one new flow denied, one existing flow cut
    EXPECT_EQ(v2.block_total(), 1u);     // new flows only
    EXPECT_EQ(core.counters().policy_flows_cut, 1u);
    EXPECT_EQ(core.counters().drops[static_cast<std::size_t>(drop_reason::policy_blocked)], 1u);
    EXPECT_EQ(core.counters().drops[static_cast<std::size_t>(drop_reason::policy_cut)], 1u);
}

TEST(policy_enforcement, the_expiry_sweep_cuts_idle_flows_a_new_snapshot_denies) {
    policy::active_policy v1 = with_blocks(nullptr, {}, 1, 1);
    gateway_core core(make_settings());
    core.use_policy(&v1);
    for (const char* dst : {"198.51.100.7", "192.0.2.200"}) {
        test::bytes f = from_inside().ipv4("10.0.0.5", dst).udp(5000, 53).build();
        ASSERT_EQ(core.process(side::inside, f, 0), verdict::forward);
    }
    policy::active_policy v2 = with_blocks(nullptr, {"198.51.100.7/32"}, 2, 1);
    core.use_policy(&v2);
    core.expire(1000, 1024); // no packet since the new snapshot

    std::vector<std::string> flows;
    core.flows().for_each_live([&](uint32_t, const flow::flow_record& r) {
        flows.push_back(r.remote.to_string() + ((r.flags & flow::flow_flags::cut) ? " cut" : " open") +
                        " gen " + std::to_string(r.policy_gen) + " expires " + std::to_string(r.expires_at_ms));
    });
    std::sort(flows.begin(), flows.end());
    EXPECT_EQ(flows, (std::vector<std::string>{"192.0.2.200 open gen 2 expires 120000",
                                               "198.51.100.7 cut gen 2 expires 241000"})); // 1000 + tcp_closed_ms
    EXPECT_EQ(core.counters().policy_flows_cut, 1u);
    EXPECT_EQ(v2.hits_of_block(0), 1u);
    test::bytes reply = from_outside().ipv4("198.51.100.7", "203.0.113.10").udp(53, 5000).build();
    EXPECT_EQ(core.process(side::outside, reply, 2000), drop_reason::policy_cut);
}

TEST(policy_enforcement, security_events_describe_every_denial_cut_and_block) {
    // v3: "no-7" denies 198.51.100.7, "audit-udp" would deny UDP, "web" allows TCP 443; the default denies.
    policy::policy_spec spec;
    spec.default_action = policy::verdict::deny;
    spec.version = 3;
    policy::rule_spec no7;
    no7.name = "no-7";
    no7.destinations = {*policy::cidr::parse("198.51.100.7/32", nullptr)};
    no7.action = policy::verdict::deny;
    policy::rule_spec audit;
    audit.name = "audit-udp";
    audit.destinations = {*policy::cidr::parse("0.0.0.0/0", nullptr)};
    audit.proto = policy::protocol::udp;
    audit.action = policy::verdict::deny;
    audit.mode = policy::rule_mode::report;
    policy::rule_spec web;
    web.name = "web";
    web.destinations = {*policy::cidr::parse("0.0.0.0/0", nullptr)};
    web.proto = policy::protocol::tcp;
    web.ports = {{443, 443}};
    web.action = policy::verdict::allow;
    spec.rules = {no7, audit, web};
    std::shared_ptr<const policy::compiled_policy> rules = policy::compiled_policy::compile(spec).policy;
    policy::active_policy v3 = with_blocks(rules, {"203.0.113.0/24"}, 1, 3);

    policy::security_ring ring(16);
    gateway_core core(make_settings());
    core.attach_security_events(&ring);
    core.set_wall_clock(1'700'000'000'000, 500);
    core.use_policy(&v3);
    auto tcp = [&](const char* dst, uint16_t dport, uint32_t now) {
        test::bytes f = from_inside().ipv4("10.0.0.5", dst).tcp(40000, dport, net::tcp_syn).build();
        return core.process(side::inside, f, now);
    };
    EXPECT_EQ(tcp("198.51.100.7", 443, 1000), drop_reason::policy_denied);
    EXPECT_EQ(tcp("192.0.2.50", 80, 1001), drop_reason::policy_denied);
    test::bytes dns = from_inside().ipv4("10.0.0.6", "192.0.2.53").udp(5353, 53).build();
    EXPECT_EQ(core.process(side::inside, dns, 1002), verdict::forward);
    EXPECT_EQ(tcp("203.0.113.5", 443, 1003), drop_reason::policy_blocked);
    EXPECT_EQ(tcp("192.0.2.60", 443, 1004), verdict::forward);
    EXPECT_EQ(tcp("192.0.2.61", 443, 1005), verdict::forward);

    // A new snapshot blocks 192.0.2.60 and no longer allows TCP 443 (default deny).
    spec.rules = {no7, audit};
    spec.version = 4;
    policy::active_policy v4 = with_blocks(policy::compiled_policy::compile(spec).policy, {"192.0.2.60/32"}, 2, 4);
    core.use_policy(&v4);
    EXPECT_EQ(tcp("192.0.2.60", 443, 1006), drop_reason::policy_cut);
    EXPECT_EQ(tcp("192.0.2.61", 443, 1007), drop_reason::policy_cut);

    policy::security_event events[16];
    ASSERT_EQ(ring.pop_burst(events, 16), 6u);
    std::vector<std::string> got;
    for (std::size_t i = 0; i < 6; ++i) {
        const auto& e = events[i];
        got.push_back(fmt::format("{} rule={} v{} proto={} {}:{} -> {}:{} t={} existing={} block={}",
                                  policy::to_string(e.kind), e.rule.data(), e.policy_version, e.proto, e.src, e.src_port,
                                  e.dst, e.dst_port, e.time_unix_ms, e.existing_flow,
                                  e.kind == policy::security_event_kind::block ? e.blocked.to_string() : "-"));
    }
    EXPECT_EQ(got, (std::vector<std::string>{
                       "deny rule=no-7 v3 proto=6 10.0.0.5:40000 -> 198.51.100.7:443 t=1700000000500 existing=false block=-",
                       "deny rule= v3 proto=6 10.0.0.5:40000 -> 192.0.2.50:80 t=1700000000501 existing=false block=-",
                       "would_deny rule=audit-udp v3 proto=17 10.0.0.6:5353 -> 192.0.2.53:53 t=1700000000502 existing=false block=-",
                       "block rule= v3 proto=6 10.0.0.5:40000 -> 203.0.113.5:443 t=1700000000503 existing=false block=203.0.113.0/24",
                       "block rule= v4 proto=6 10.0.0.5:40000 -> 192.0.2.60:443 t=1700000000506 existing=true block=192.0.2.60/32",
                       "cut rule= v4 proto=6 10.0.0.5:40000 -> 192.0.2.61:443 t=1700000000507 existing=true block=-",
                   }));
    EXPECT_EQ(core.counters().security_events_queued, 6u);
    EXPECT_EQ(core.counters().security_events_lost, 0u);
}

TEST(policy_enforcement, a_full_security_ring_counts_the_lost_events) {
    policy::policy_spec deny_all;
    deny_all.default_action = policy::verdict::deny;
    policy::active_policy active(policy::compiled_policy::compile(deny_all).policy);
    policy::security_ring ring(2);
    gateway_core core(make_settings());
    core.attach_security_events(&ring);
    core.use_policy(&active);
    for (uint16_t port = 1; port <= 5; ++port) {
        test::bytes f = from_inside().ipv4("10.0.0.5", "198.51.100.7").tcp(port, 443, net::tcp_syn).build();
        EXPECT_EQ(core.process(side::inside, f, 0), drop_reason::policy_denied);
    }
    EXPECT_EQ(core.counters().security_events_queued, 2u);
    EXPECT_EQ(core.counters().security_events_lost, 3u);
    EXPECT_EQ(ring.overflows(), 3u);
    EXPECT_EQ(ring.size_approx(), 2u);
}

} // namespace
} // namespace egress::gateway
