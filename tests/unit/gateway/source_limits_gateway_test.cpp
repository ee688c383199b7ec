// [limits] through gateway_core: one inside host cannot starve the rest
// (issue 15 item 4). A flooding host is capped at its limits with exact
// counters, other hosts' new flows all pass, established flows are untouched,
// and a flood costs one security event per host per interval.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "gateway/gateway_core.hpp"
#include "gateway_fixture.hpp"
#include "net/packet_parser.hpp"

namespace egress::gateway {
namespace {

using stats::drop_reason;
using stats::side;
using test::bytes;

using namespace testing_network;

class source_limits_gateway : public ::testing::Test {
protected:
    void make(const flow::source_limit_settings& l, uint16_t port_max = 65535) {
        settings s = make_settings(4096, 1024, port_max);
        s.limits = l;
        core = std::make_unique<gateway_core>(s);
        core->attach_security_events(&ring);
    }
    outcome syn(const char* src, const char* dst, uint16_t sport, uint16_t dport, uint32_t now) {
        bytes f = from_inside().ipv4(src, dst).tcp(sport, dport, net::tcp_syn).build();
        return core->process(side::inside, f, now);
    }
    outcome syn6(const char* src, const char* dst, uint16_t sport, uint32_t now) {
        bytes f = from_inside().ipv6(src, dst).tcp(sport, 443, net::tcp_syn).build();
        return core->process(side::inside, f, now);
    }
    outcome data(const char* src, const char* dst, uint16_t sport, uint16_t dport, uint32_t now) {
        bytes f = from_inside().ipv4(src, dst).tcp(sport, dport, net::tcp_ack).payload("x").build();
        return core->process(side::inside, f, now);
    }
    // A TCP connection through the handshake: the SYN (from inside), the
    // SYN+ACK (to its public address and port), then `data` passes both ways.
    void establish(const char* src, const char* dst, uint16_t sport, uint16_t dport, uint32_t now) {
        bytes f = from_inside().ipv4(src, dst).tcp(sport, dport, net::tcp_syn).build();
        ASSERT_EQ(outcome(core->process(side::inside, f, now)), verdict::forward);
        net::packet_view v;
        ASSERT_EQ(net::parse_frame(f, v), stats::no_drop);
        bytes r = from_outside().ipv4(dst, "203.0.113.10").tcp(dport, v.src_port, net::tcp_syn | net::tcp_ack).build();
        ASSERT_EQ(outcome(core->process(side::outside, r, now)), verdict::forward);
        public_port[src] = v.src_port;
    }
    outcome reply(const char* src, const char* dst, uint16_t dport, uint32_t now) {
        bytes f = from_outside().ipv4(dst, "203.0.113.10").tcp(dport, public_port[src], net::tcp_ack).payload("y").build();
        return core->process(side::outside, f, now);
    }
    uint64_t drops(drop_reason r) const { return core->counters().drops[static_cast<std::size_t>(r)]; }
    std::vector<policy::security_event> events() {
        std::vector<policy::security_event> out(64);
        out.resize(ring.pop_burst(out.data(), out.size()));
        return out;
    }

    policy::security_ring ring{64};
    std::map<std::string, uint16_t> public_port; // by inside host: its established flow's
    std::unique_ptr<gateway_core> core;
};

TEST_F(source_limits_gateway, a_syn_flood_with_random_ports_is_capped_and_other_hosts_are_not_starved) {
    flow::source_limit_settings l;
    l.max_flows = 100;
    make(l);
    // Each host has one flow established before the flood.
    establish("10.0.0.5", "198.51.100.7", 30000, 443, 0);
    establish("10.0.0.6", "198.51.100.7", 30000, 443, 0);

    std::mt19937 rng(15);
    std::uniform_int_distribution<uint32_t> port(1024, 65535);
    std::vector<uint16_t> used{30000};
    uint64_t forwarded = 0;
    uint64_t refused = 0;
    for (int i = 0; i < 1000; ++i) {
        uint16_t p = 0;
        do p = static_cast<uint16_t>(port(rng));
        while (std::find(used.begin(), used.end(), p) != used.end());
        used.push_back(p);
        const outcome o = syn("10.0.0.5", "198.51.100.9", p, static_cast<uint16_t>(1 + i % 1000), 10 + i);
        if (o == verdict::forward) ++forwarded;
        else if (o == drop_reason::source_flow_limit) ++refused;
    }
    EXPECT_EQ(forwarded, 99u); // 100 with the established one
    EXPECT_EQ(refused, 901u);
    EXPECT_EQ(drops(drop_reason::source_flow_limit), 901u);
    EXPECT_EQ(core->source_limits().flows_of(test::ip("10.0.0.5")), 100u);
    EXPECT_EQ(core->flows_active(), 101u);

    // The other host's new flows all succeed; both established flows carry on.
    for (uint16_t i = 0; i < 50; ++i)
        EXPECT_EQ(syn("10.0.0.6", "198.51.100.7", static_cast<uint16_t>(31000 + i), 443, 2000), verdict::forward);
    EXPECT_EQ(data("10.0.0.5", "198.51.100.7", 30000, 443, 2001), verdict::forward);
    EXPECT_EQ(data("10.0.0.6", "198.51.100.7", 30000, 443, 2001), verdict::forward);
    EXPECT_EQ(reply("10.0.0.5", "198.51.100.7", 443, 2002), verdict::forward);
    EXPECT_EQ(reply("10.0.0.6", "198.51.100.7", 443, 2002), verdict::forward);
    EXPECT_EQ(core->source_limits().flows_of(test::ip("10.0.0.6")), 51u);
    EXPECT_EQ(core->source_limits().sources_tracked(), 2u);
    EXPECT_EQ(core->counters().source_untracked, 0u);

    // One event for the flood, not one per packet.
    const auto ev = events();
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].kind, policy::security_event_kind::source_limit);
    EXPECT_EQ(ev[0].src, test::ip("10.0.0.5"));
    EXPECT_EQ(base::field_text(ev[0].rule), "source_flow_limit");
    EXPECT_EQ(core->counters().source_limit_reports, 1u);
}

TEST_F(source_limits_gateway, flows_that_end_give_their_place_back) {
    flow::source_limit_settings l;
    l.max_flows = 2;
    make(l);
    EXPECT_EQ(syn("10.0.0.5", "198.51.100.7", 40000, 443, 0), verdict::forward);
    EXPECT_EQ(syn("10.0.0.5", "198.51.100.7", 40001, 443, 0), verdict::forward);
    EXPECT_EQ(syn("10.0.0.5", "198.51.100.7", 40002, 443, 0), drop_reason::source_flow_limit);
    // syn_sent times out; the sweep retires both flows and their counts.
    core->expire(600'000, 4096);
    EXPECT_EQ(core->flows_active(), 0u);
    EXPECT_EQ(core->source_limits().flows_of(test::ip("10.0.0.5")), 0u);
    EXPECT_EQ(core->source_limits().sources_tracked(), 0u);
    EXPECT_EQ(syn("10.0.0.5", "198.51.100.7", 40002, 443, 600'001), verdict::forward);
    EXPECT_EQ(syn("10.0.0.5", "198.51.100.7", 40003, 443, 600'001), verdict::forward);
    EXPECT_EQ(syn("10.0.0.5", "198.51.100.7", 40004, 443, 600'001), drop_reason::source_flow_limit);
    EXPECT_EQ(drops(drop_reason::source_flow_limit), 2u);
}

TEST_F(source_limits_gateway, the_new_flow_rate_is_a_token_bucket_with_one_event_per_interval) {
    flow::source_limit_settings l;
    l.new_flows_per_s = 10;
    l.new_flow_burst = 5;
    l.report_interval_ms = 1000;
    make(l);
    std::vector<outcome> got;
    for (uint16_t i = 0; i < 8; ++i) got.push_back(syn("10.0.0.5", "198.51.100.7", 40000 + i, 443, 1000));
    const std::vector<outcome> want{verdict::forward, verdict::forward, verdict::forward, verdict::forward,
                                    verdict::forward, drop_reason::source_rate_limit, drop_reason::source_rate_limit,
                                    drop_reason::source_rate_limit};
    EXPECT_EQ(got, want);
    // 10 per second: one more new flow 100 ms later, not two.
    EXPECT_EQ(syn("10.0.0.5", "198.51.100.7", 40010, 443, 1100), verdict::forward);
    EXPECT_EQ(syn("10.0.0.5", "198.51.100.7", 40011, 443, 1100), drop_reason::source_rate_limit);
    // Another host has its own bucket.
    EXPECT_EQ(syn("10.0.0.6", "198.51.100.7", 40000, 443, 1100), verdict::forward);
    EXPECT_EQ(drops(drop_reason::source_rate_limit), 4u);
    EXPECT_EQ(events().size(), 1u); // refusals at 1000 and 1100 ms: one interval
    EXPECT_EQ(syn("10.0.0.5", "198.51.100.7", 40012, 443, 2000), verdict::forward);
    for (uint16_t i = 0; i < 20; ++i) syn("10.0.0.5", "198.51.100.7", 40100 + i, 443, 2000);
    EXPECT_EQ(events().size(), 1u); // the next interval: one more
    EXPECT_EQ(core->counters().source_limit_reports, 2u);
}

TEST_F(source_limits_gateway, flows_per_destination_are_limited_and_other_destinations_stay_open) {
    flow::source_limit_settings l;
    l.max_per_destination = 3;
    make(l);
    establish("10.0.0.5", "198.51.100.7", 40000, 443, 0);
    for (uint16_t i = 1; i < 3; ++i) EXPECT_EQ(syn("10.0.0.5", "198.51.100.7", 40000 + i, 443, 0), verdict::forward);
    EXPECT_EQ(syn("10.0.0.5", "198.51.100.7", 40003, 80, 0), drop_reason::source_port_limit);
    EXPECT_EQ(syn("10.0.0.5", "198.51.100.8", 40003, 443, 0), verdict::forward);
    EXPECT_EQ(syn("10.0.0.6", "198.51.100.7", 40003, 443, 0), verdict::forward);
    EXPECT_EQ(data("10.0.0.5", "198.51.100.7", 40000, 443, 1), verdict::forward);
    EXPECT_EQ(reply("10.0.0.5", "198.51.100.7", 443, 1), verdict::forward);
    EXPECT_EQ(drops(drop_reason::source_port_limit), 1u);
}

TEST_F(source_limits_gateway, an_ipv6_host_is_its_slash_64) {
    flow::source_limit_settings l;
    l.max_flows = 2;
    make(l);
    EXPECT_EQ(syn6("fd00:0:0:1::5", "2001:db8:5::7", 40000, 0), verdict::forward);
    EXPECT_EQ(syn6("fd00:0:0:1::6", "2001:db8:5::7", 40000, 0), verdict::forward);
    EXPECT_EQ(syn6("fd00:0:0:1:ffff::9", "2001:db8:5::7", 40000, 0), drop_reason::source_flow_limit);
    EXPECT_EQ(syn6("fd00:0:0:2::5", "2001:db8:5::7", 40000, 0), verdict::forward);
}

TEST_F(source_limits_gateway, a_flow_admitted_but_not_made_gives_its_count_back) {
    flow::source_limit_settings l;
    l.max_flows = 5;
    l.max_per_destination = 5;
    make(l, 1024); // one public port: one flow per destination address and port
    EXPECT_EQ(syn("10.0.0.5", "198.51.100.7", 40000, 443, 0), verdict::forward);
    for (uint16_t i = 1; i < 10; ++i)
        EXPECT_EQ(syn("10.0.0.5", "198.51.100.7", 40000 + i, 443, 0), drop_reason::nat_ports_exhausted);
    EXPECT_EQ(core->source_limits().flows_of(test::ip("10.0.0.5")), 1u);
    EXPECT_EQ(syn("10.0.0.5", "198.51.100.7", 40000, 80, 0), verdict::forward);
    EXPECT_EQ(core->source_limits().flows_of(test::ip("10.0.0.5")), 2u);
    core->expire(600'000, 4096);
    EXPECT_EQ(core->source_limits().sources_tracked(), 0u);
    EXPECT_EQ(core->source_limits().destinations_tracked(), 0u);
}

TEST_F(source_limits_gateway, full_source_tables_admit_flows_uncounted) {
    flow::source_limit_settings l;
    l.max_flows = 1;
    l.max_sources = 1;
    make(l);
    EXPECT_EQ(syn("10.0.0.5", "198.51.100.7", 40000, 443, 0), verdict::forward);
    EXPECT_EQ(syn("10.0.0.6", "198.51.100.7", 40000, 443, 0), verdict::forward);
    EXPECT_EQ(syn("10.0.0.6", "198.51.100.7", 40001, 443, 0), verdict::forward);
    EXPECT_EQ(core->counters().source_untracked, 2u);
    core->expire(600'000, 4096);
    EXPECT_EQ(core->flows_active(), 0u);
    EXPECT_EQ(core->source_limits().sources_tracked(), 0u);
}

TEST_F(source_limits_gateway, no_limits_configured_tracks_nothing) {
    make({});
    for (uint16_t i = 0; i < 200; ++i) EXPECT_EQ(syn("10.0.0.5", "198.51.100.7", 40000 + i, 443, 0), verdict::forward);
    EXPECT_EQ(core->source_limits().sources_tracked(), 0u);
    EXPECT_EQ(core->source_limits().memory_bytes(), 0u);
    EXPECT_EQ(core->counters().source_untracked, 0u);
}


// [[policy.group]] limits: the hosts of a group are held to its values, the
// others to [limits] (here: none); a reload that moves a host's group changes
// the values its next flow is admitted under.
TEST_F(source_limits_gateway, a_group_with_limits_caps_its_hosts_only) {
    const auto compile = [](uint32_t guest_flows) {
        policy::policy_spec spec;
        spec.default_action = policy::verdict::allow;
        policy::group_spec guests{"guests", {*policy::cidr::parse("10.9.0.0/16")}, {}};
        guests.limits.assign(policy::group_limits::max_flows, guest_flows);
        spec.groups.push_back(guests);
        auto compiled = policy::compiled_policy::compile(spec);
        EXPECT_TRUE(compiled.policy) << compiled.error;
        return std::make_unique<policy::active_policy>(std::move(compiled.policy));
    };
    flow::source_limit_settings l;
    l.group_limits = true;
    make(l);
    auto active = compile(2);
    core->use_policy(active.get());
    EXPECT_EQ(syn("10.9.0.5", "198.51.100.7", 40000, 443, 0), verdict::forward);
    EXPECT_EQ(syn("10.9.0.5", "198.51.100.7", 40001, 443, 0), verdict::forward);
    EXPECT_EQ(syn("10.9.0.5", "198.51.100.7", 40002, 443, 0), drop_reason::source_flow_limit);
    EXPECT_EQ(syn("10.9.0.6", "198.51.100.7", 40000, 443, 0), verdict::forward); // its own count
    for (uint16_t i = 0; i < 50; ++i) EXPECT_EQ(syn("10.0.0.5", "198.51.100.7", 40000 + i, 443, 0), verdict::forward);
    EXPECT_EQ(drops(drop_reason::source_flow_limit), 1u);
    const std::vector<policy::security_event> ev = events();
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(base::field_text(ev[0].rule), "source_flow_limit");

    auto raised = compile(3);
    core->use_policy(raised.get());
    EXPECT_EQ(syn("10.9.0.5", "198.51.100.7", 40002, 443, 1), verdict::forward);
    EXPECT_EQ(syn("10.9.0.5", "198.51.100.7", 40003, 443, 1), drop_reason::source_flow_limit);
    EXPECT_EQ(core->source_limits().flows_of(test::ip("10.9.0.5")), 3u);
    EXPECT_EQ(core->source_limits().flows_of(test::ip("10.0.0.5")), 50u);
}

} // namespace
} // namespace egress::gateway
