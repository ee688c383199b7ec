// Per-source limits: flows, new-flow rate and flows per destination, each
// refusing only the host over it; tables that free what they no longer need.
#include "flow/source_limits.hpp"

#include <gtest/gtest.h>

namespace egress::flow {
namespace {

net::ip_address ip(const char* text) { return *net::ip_address::parse(text); }

const net::ip_address host_a = ip("10.0.0.5");
const net::ip_address host_b = ip("10.0.0.6");
const net::ip_address server = ip("198.51.100.7");
const net::ip_address other_server = ip("198.51.100.8");

net::ip_address nth_server(uint32_t i) { return net::ip_address::from_v4(0xc6336400u + (i & 0xff) + ((i >> 8) << 16)); }

TEST(source_limits, without_limits_nothing_is_tracked_or_allocated) {
    source_limits l(source_limit_settings{});
    EXPECT_FALSE(l.enabled());
    EXPECT_EQ(l.admit(host_a, server, 0), source_verdict::untracked);
    EXPECT_EQ(l.memory_bytes(), 0u);
}

TEST(source_limits, a_host_at_its_flow_limit_is_refused_and_the_others_are_not) {
    source_limit_settings s;
    s.max_flows = 3;
    source_limits l(s);
    for (uint32_t i = 0; i < 3; ++i) EXPECT_EQ(l.admit(host_a, nth_server(i), 0), source_verdict::admitted);
    EXPECT_EQ(l.admit(host_a, nth_server(3), 0), source_verdict::flow_limit);
    EXPECT_EQ(l.admit(host_b, nth_server(3), 0), source_verdict::admitted);
    EXPECT_EQ(l.flows_of(host_a), 3u);
    l.release(host_a, nth_server(0));
    EXPECT_EQ(l.admit(host_a, nth_server(3), 0), source_verdict::admitted);
    uint64_t refused = 0;
    l.for_each_source([&](const source_limits::source_usage& u) {
        if (u.source == host_a) refused = u.refused;
    });
    EXPECT_EQ(refused, 1u);
}

TEST(source_limits, the_new_flow_rate_is_a_token_bucket_per_host) {
    source_limit_settings s;
    s.new_flows_per_s = 10;
    s.new_flow_burst = 5;
    source_limits l(s);
    for (uint32_t i = 0; i < 5; ++i) EXPECT_EQ(l.admit(host_a, nth_server(i), 1'000), source_verdict::admitted) << i;
    EXPECT_EQ(l.admit(host_a, nth_server(5), 1'000), source_verdict::rate_limit);
    EXPECT_EQ(l.admit(host_b, nth_server(5), 1'000), source_verdict::admitted); // another host's own bucket
    EXPECT_EQ(l.admit(host_a, nth_server(5), 1'099), source_verdict::rate_limit); // 0.99 of a token earned
    EXPECT_EQ(l.admit(host_a, nth_server(5), 1'100), source_verdict::admitted);   // one earned in 100 ms
    EXPECT_EQ(l.admit(host_a, nth_server(6), 1'100), source_verdict::rate_limit);
    EXPECT_EQ(l.admit(host_a, nth_server(6), 60'000), source_verdict::admitted); // refilled, capped at the burst
    for (uint32_t i = 0; i < 4; ++i) EXPECT_EQ(l.admit(host_a, nth_server(7 + i), 60'000), source_verdict::admitted);
    EXPECT_EQ(l.admit(host_a, nth_server(11), 60'000), source_verdict::rate_limit);
}

TEST(source_limits, closing_flows_does_not_refill_a_flooders_bucket) {
    source_limit_settings s;
    s.new_flows_per_s = 1;
    s.new_flow_burst = 1;
    s.max_sources = 4; // 8 slots: one sweep of 8 visits them all
    source_limits l(s);
    EXPECT_EQ(l.admit(host_a, server, 0), source_verdict::admitted);
    l.release(host_a, server); // no flow open, bucket empty: the entry stays
    EXPECT_EQ(l.sources_tracked(), 1u);
    EXPECT_EQ(l.admit(host_a, server, 10), source_verdict::rate_limit);
    l.sweep(500, 8); // not refilled yet: kept
    EXPECT_EQ(l.sources_tracked(), 1u);
    l.sweep(1'000, 8); // refilled: forgotten
    EXPECT_EQ(l.sources_tracked(), 0u);
    EXPECT_EQ(l.admit(host_a, server, 1'000), source_verdict::admitted);
}

TEST(source_limits, flows_per_destination_limit_public_ports_towards_one_server) {
    source_limit_settings s;
    s.max_per_destination = 2;
    source_limits l(s);
    EXPECT_EQ(l.admit(host_a, server, 0), source_verdict::admitted);
    EXPECT_EQ(l.admit(host_a, server, 0), source_verdict::admitted);
    EXPECT_EQ(l.admit(host_a, server, 0), source_verdict::port_limit);
    EXPECT_EQ(l.admit(host_a, other_server, 0), source_verdict::admitted);
    EXPECT_EQ(l.admit(host_b, server, 0), source_verdict::admitted);
    EXPECT_EQ(l.destinations_tracked(), 3u);
    l.release(host_a, server);
    EXPECT_EQ(l.admit(host_a, server, 0), source_verdict::admitted);
    l.release(host_a, server);
    l.release(host_a, server);
    l.release(host_a, other_server);
    l.release(host_b, server);
    EXPECT_EQ(l.destinations_tracked(), 0u);
    EXPECT_EQ(l.sources_tracked(), 0u);
}

TEST(source_limits, ipv6_sources_count_per_prefix) {
    source_limit_settings s;
    s.max_flows = 2;
    source_limits l(s);
    EXPECT_EQ(l.admit(ip("fd00:0:0:1::5"), server, 0), source_verdict::admitted);
    EXPECT_EQ(l.admit(ip("fd00:0:0:1:ffff::9"), server, 0), source_verdict::admitted); // same /64
    EXPECT_EQ(l.admit(ip("fd00:0:0:1::77"), server, 0), source_verdict::flow_limit);
    EXPECT_EQ(l.admit(ip("fd00:0:0:2::5"), server, 0), source_verdict::admitted);     // another /64
    s.v6_prefix = 128;
    source_limits per_address(s);
    for (const char* a : {"fd00:0:0:1::1", "fd00:0:0:1::2", "fd00:0:0:1::3"}) {
        EXPECT_EQ(per_address.admit(ip(a), server, 0), source_verdict::admitted);
        EXPECT_EQ(per_address.admit(ip(a), server, 0), source_verdict::admitted);
    }
}

TEST(source_limits, a_full_source_table_admits_untracked) {
    source_limit_settings s;
    s.max_flows = 1;
    s.max_sources = 2;
    source_limits l(s);
    EXPECT_EQ(l.admit(ip("10.0.0.1"), server, 0), source_verdict::admitted);
    EXPECT_EQ(l.admit(ip("10.0.0.2"), server, 0), source_verdict::admitted);
    EXPECT_EQ(l.admit(ip("10.0.0.3"), server, 0), source_verdict::untracked);
    l.release(ip("10.0.0.1"), server);
    EXPECT_EQ(l.admit(ip("10.0.0.3"), server, 0), source_verdict::admitted);
}

TEST(source_limits, one_report_per_source_per_interval) {
    source_limit_settings s;
    s.max_flows = 1;
    s.report_interval_ms = 1'000;
    source_limits l(s);
    ASSERT_EQ(l.admit(host_a, server, 0), source_verdict::admitted);
    EXPECT_TRUE(l.report_due(host_a, 5));
    EXPECT_FALSE(l.report_due(host_a, 999));
    EXPECT_TRUE(l.report_due(host_a, 1'005));
    EXPECT_FALSE(l.report_due(host_b, 1'005)); // not tracked: nothing to report
}

// Many sources coming and going in a small table: every count returns to zero
// and the table stays consistent through backward-shift deletions.
TEST(source_limits, churn_leaves_nothing_behind) {
    source_limit_settings s;
    s.max_flows = 4;
    s.max_per_destination = 4;
    s.max_sources = 64;
    s.max_destinations = 128;
    source_limits l(s);
    for (uint32_t round = 0; round < 50; ++round) {
        for (uint32_t h = 0; h < 60; ++h)
            for (uint32_t f = 0; f < 2; ++f)
                ASSERT_EQ(l.admit(net::ip_address::from_v4(0x0a000000u + h), nth_server(f), round),
                          source_verdict::admitted) << round << " " << h;
        for (uint32_t h = 0; h < 60; ++h)
            for (uint32_t f = 0; f < 2; ++f) l.release(net::ip_address::from_v4(0x0a000000u + h), nth_server(f));
        ASSERT_EQ(l.sources_tracked(), 0u);
        ASSERT_EQ(l.destinations_tracked(), 0u);
    }
}


// [[policy.group]] limits: the caller passes each host's values; the tables
// are shared and exist for group limits even when [limits] sets none.
TEST(source_limits, each_host_is_held_to_the_values_it_is_admitted_under) {
    source_limit_settings s;
    s.group_limits = true;
    source_limits l(s);
    ASSERT_TRUE(l.enabled());
    EXPECT_FALSE(l.counts_destinations());
    const source_limit_values guests{2, 0, 0, 0};
    const source_limit_values none{};
    EXPECT_EQ(l.admit(host_a, nth_server(0), 0, guests), source_verdict::admitted);
    EXPECT_EQ(l.admit(host_a, nth_server(1), 0, guests), source_verdict::admitted);
    EXPECT_EQ(l.admit(host_a, nth_server(2), 0, guests), source_verdict::flow_limit);
    for (uint32_t i = 0; i < 10; ++i) EXPECT_EQ(l.admit(host_b, nth_server(i), 0, none), source_verdict::admitted);
    EXPECT_EQ(l.admit(host_b, nth_server(10), 0), source_verdict::admitted); // defaults(): no limit set
    EXPECT_EQ(l.flows_of(host_b), 11u);
}

TEST(source_limits, a_host_moved_to_another_rate_keeps_its_bucket_level) {
    source_limit_settings s;
    s.group_limits = true;
    source_limits l(s);
    const source_limit_values slow{0, 1, 2, 0}; // 1/s, burst 2
    const source_limit_values fast{0, 100, 4, 0};
    EXPECT_EQ(l.admit(host_a, nth_server(0), 1'000, slow), source_verdict::admitted);
    EXPECT_EQ(l.admit(host_a, nth_server(1), 1'000, slow), source_verdict::admitted);
    EXPECT_EQ(l.admit(host_a, nth_server(2), 1'000, slow), source_verdict::rate_limit);
    // A reload moves it to a faster group: no fresh burst, the new rate from now on.
    EXPECT_EQ(l.admit(host_a, nth_server(2), 1'000, fast), source_verdict::rate_limit);
    EXPECT_EQ(l.admit(host_a, nth_server(2), 1'010, fast), source_verdict::admitted); // 1 earned in 10 ms
    EXPECT_EQ(l.admit(host_a, nth_server(3), 1'010, fast), source_verdict::rate_limit);
    EXPECT_EQ(l.admit(host_a, nth_server(3), 2'000, fast), source_verdict::admitted);
    for (uint32_t i = 0; i < 3; ++i) EXPECT_EQ(l.admit(host_a, nth_server(4 + i), 2'000, fast), source_verdict::admitted);
    EXPECT_EQ(l.admit(host_a, nth_server(7), 2'000, fast), source_verdict::rate_limit); // capped at the new burst, 4
    // Back to the slow group: the level is cut to its size.
    EXPECT_EQ(l.admit(host_a, nth_server(7), 60'000, slow), source_verdict::admitted);
    EXPECT_EQ(l.admit(host_a, nth_server(8), 60'000, slow), source_verdict::admitted);
    EXPECT_EQ(l.admit(host_a, nth_server(9), 60'000, slow), source_verdict::rate_limit);
}

TEST(source_limits, destinations_are_counted_for_every_host_when_their_table_exists) {
    source_limit_settings s;
    s.group_limits = true;
    s.group_limits_per_destination = true;
    source_limits l(s);
    ASSERT_TRUE(l.counts_destinations());
    const source_limit_values two_per_destination{0, 0, 0, 2};
    const source_limit_values none{};
    // Counted under no limit, then the host's group gains one (a reload):
    // the two flows already open count against it.
    EXPECT_EQ(l.admit(host_a, server, 0, none), source_verdict::admitted);
    EXPECT_EQ(l.admit(host_a, server, 0, none), source_verdict::admitted);
    EXPECT_EQ(l.admit(host_a, server, 0, two_per_destination), source_verdict::port_limit);
    EXPECT_EQ(l.admit(host_a, other_server, 0, two_per_destination), source_verdict::admitted);
    l.release(host_a, server);
    EXPECT_EQ(l.admit(host_a, server, 0, two_per_destination), source_verdict::admitted);
    EXPECT_EQ(l.destinations_tracked(), 2u);
    l.release(host_a, server);
    l.release(host_a, server);
    l.release(host_a, other_server);
    EXPECT_EQ(l.destinations_tracked(), 0u);
    EXPECT_EQ(l.sources_tracked(), 0u);
}

TEST(source_limits, a_share_of_a_group_limit_per_worker) {
    source_limit_settings s;
    s.group_limits = true;
    s.workers = 3;
    source_limits l(s);
    EXPECT_EQ(l.share(0), 0u);
    EXPECT_EQ(l.share(1), 1u);
    EXPECT_EQ(l.share(100), 34u);
    EXPECT_EQ(l.share(UINT32_MAX), 1'431'655'765u);
}

} // namespace
} // namespace egress::flow
