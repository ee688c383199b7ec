// lib/gateway/flow_query over a real gateway's flow table: the top flows by
// bytes, the filters, NAT mappings per host, and the same answer however the
// scan is sliced.
#include "gateway/flow_query.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "flow/tcp_state.hpp"
#include "gateway_traffic.hpp"

namespace egress::gateway {
namespace {

using controlplane::testing_util::gateway_traffic;
using gateway::verdict;

std::optional<policy::cidr> cidr_of(std::string_view text) { return *policy::cidr::parse(text); }

// One line per flow: every field flows() fills.
std::vector<std::string> describe(const std::vector<flow_summary>& flows) {
    std::vector<std::string> out;
    for (const auto& f : flows)
        out.push_back(fmt::format("{} {}:{} -> {}:{} public {}:{} v4={} state={} flags={} bytes={}/{} packets={}/{} expires_in={}",
                                  f.proto, f.inside, f.inside_port, f.remote, f.remote_port,
                                  net::ip_address::from_v4(f.public_addr), f.public_port, f.v4,
                                  f.proto == net::proto_tcp ? flow::name_of(static_cast<flow::tcp_state>(f.tcp_state)) : "-",
                                  f.flags,
                                  f.bytes_out, f.bytes_in, f.packets_out, f.packets_in, f.expires_in_ms));
    return out;
}

std::vector<uint64_t> bytes_of(const std::vector<flow_summary>& flows) {
    std::vector<uint64_t> out;
    for (const auto& f : flows) out.push_back(f.bytes());
    return out;
}

class flow_query_test : public ::testing::Test {
protected:
    // Six TCP flows from 10.0.0.5 to 198.51.100.7:443 carrying 40 + payload bytes each.
    void six_flows() {
        const std::size_t payloads[] = {300, 10, 500, 50, 400, 200};
        for (uint16_t i = 0; i < 6; ++i) ASSERT_EQ(traffic.tcp_out("10.0.0.5", 40000 + i, "198.51.100.7", 443, payloads[i]), verdict::forward);
    }
    flow_query top(uint32_t n, std::optional<policy::cidr> src = {}, std::optional<policy::cidr> dst = {},
                   uint32_t budget = 1024) {
        flow_query q = flow_query::top_flows(n, src, dst);
        traffic.run(q, budget, 0);
        return q;
    }

    gateway_traffic traffic;
};

TEST_F(flow_query_test, keeps_the_top_n_flows_by_bytes_most_first) {
    six_flows();
    const flow_query q = top(3);
    EXPECT_EQ(bytes_of(q.flows()), (std::vector<uint64_t>{540, 440, 340}));
    EXPECT_EQ(q.flows()[0].inside_port, 40002);
    EXPECT_EQ(q.matched, 6u);
    EXPECT_EQ(q.scanned, 6u);
    EXPECT_TRUE(q.done.load());
    EXPECT_EQ(bytes_of(top(10).flows()), (std::vector<uint64_t>{540, 440, 340, 240, 90, 50}));
    EXPECT_EQ(bytes_of(top(1).flows()), (std::vector<uint64_t>{540}));
}

TEST_F(flow_query_test, small_steps_give_the_same_answer_as_one_big_step) {
    six_flows();
    ASSERT_EQ(traffic.udp_out("10.0.0.6", 5000, "192.0.2.200", 53, 1000), verdict::forward);
    const flow_query whole = top(4);
    for (const uint32_t budget : {1u, 7u, 1023u, 5000u}) {
        flow_query q = flow_query::top_flows(4, std::nullopt, std::nullopt);
        EXPECT_EQ(traffic.run(q, budget, 0), (1024 + budget - 1) / budget) << budget;
        EXPECT_EQ(describe(q.flows()), describe(whole.flows())) << budget;
        EXPECT_EQ(q.matched, 7u);
        EXPECT_EQ(q.scanned, 7u);
    }
}

TEST_F(flow_query_test, done_is_set_only_once_the_whole_table_is_scanned) {
    six_flows();
    flow_query q = flow_query::top_flows(2, std::nullopt, std::nullopt);
    EXPECT_FALSE(q.step(traffic.core.flows(), 1000, 0));
    EXPECT_FALSE(q.done.load());
    flow_query moved(std::move(q)); // the query travels to the worker and back by value
    EXPECT_TRUE(moved.step(traffic.core.flows(), 1000, 0));
    EXPECT_TRUE(moved.done.load());
    EXPECT_EQ(bytes_of(moved.flows()), (std::vector<uint64_t>{540, 440}));
    EXPECT_EQ(moved.scanned, 6u);
}

TEST_F(flow_query_test, equal_bytes_are_ordered_by_inside_host_then_port) {
    ASSERT_EQ(traffic.tcp_out("10.0.0.9", 2000, "198.51.100.7", 443), verdict::forward);
    ASSERT_EQ(traffic.tcp_out("10.0.0.5", 3000, "198.51.100.7", 443), verdict::forward);
    ASSERT_EQ(traffic.tcp_out("10.0.0.5", 1000, "198.51.100.8", 443), verdict::forward);
    std::vector<std::string> order;
    for (const auto& f : top(3).flows()) order.push_back(fmt::format("{}:{}", f.inside, f.inside_port));
    EXPECT_EQ(order, (std::vector<std::string>{"10.0.0.5:1000", "10.0.0.5:3000", "10.0.0.9:2000"}));
}

TEST_F(flow_query_test, filters_select_inside_and_remote_addresses) {
    ASSERT_EQ(traffic.tcp_out("10.0.0.5", 1000, "198.51.100.7", 443, 100), verdict::forward);
    ASSERT_EQ(traffic.tcp_out("10.0.0.6", 1000, "198.51.100.7", 443, 200), verdict::forward);
    ASSERT_EQ(traffic.tcp_out("10.0.0.5", 1001, "192.0.2.200", 443, 300), verdict::forward);
    ASSERT_EQ(traffic.tcp_out("fd00:0:0:1::5", 1000, "2001:db8::7", 443, 400), verdict::forward);

    const flow_query src = top(10, cidr_of("10.0.0.5/32"));
    EXPECT_EQ(bytes_of(src.flows()), (std::vector<uint64_t>{340, 140}));
    EXPECT_EQ(src.matched, 2u);
    EXPECT_EQ(src.scanned, 4u);
    EXPECT_EQ(bytes_of(top(10, std::nullopt, cidr_of("198.51.100.0/24")).flows()), (std::vector<uint64_t>{240, 140}));
    EXPECT_EQ(bytes_of(top(10, cidr_of("10.0.0.5/32"), cidr_of("198.51.100.0/24")).flows()), (std::vector<uint64_t>{140}));
    // Families never mix: 0.0.0.0/0 is every IPv4 flow, ::/0 every IPv6 one.
    EXPECT_EQ(top(10, cidr_of("0.0.0.0/0")).matched, 3u);
    EXPECT_EQ(bytes_of(top(10, cidr_of("::/0")).flows()), (std::vector<uint64_t>{460}));
    const flow_query none = top(10, cidr_of("10.9.0.0/16"));
    EXPECT_TRUE(none.flows().empty());
    EXPECT_EQ(none.matched, 0u);
    EXPECT_EQ(none.scanned, 4u);
}

TEST_F(flow_query_test, a_summary_carries_the_flow_and_its_remaining_time) {
    ASSERT_EQ(traffic.udp_out("10.0.0.5", 5000, "192.0.2.200", 53, 12, 1000), verdict::forward);
    ASSERT_EQ(traffic.udp_in("192.0.2.200", 53, 5000, 100, 1500), verdict::forward);
    ASSERT_EQ(traffic.tcp_out("fd00:0:0:1::5", 1000, "2001:db8::7", 443, 0, 2000), verdict::forward);
    flow_query q = flow_query::top_flows(10, std::nullopt, std::nullopt);
    traffic.run(q, 64, 21'500);
    EXPECT_EQ(describe(q.flows()),
              (std::vector<std::string>{
                  "17 10.0.0.5:5000 -> 192.0.2.200:53 public 203.0.113.10:5000 v4=true state=- flags=4 "
                  "bytes=40/128 packets=1/1 expires_in=100000",
                  "6 fd00:0:0:1::5:1000 -> 2001:db8::7:443 public 0.0.0.0:0 v4=false state=syn_sent flags=4 "
                  "bytes=60/0 packets=1/0 expires_in=220500"}));
    // A flow past its timeout that the sweep has not removed yet has a negative time left.
    flow_query late = flow_query::top_flows(10, std::nullopt, std::nullopt);
    traffic.run(late, 1024, 200'000);
    EXPECT_EQ(late.flows()[0].expires_in_ms, 121'500 - 200'000);
}

TEST_F(flow_query_test, nat_hosts_counts_mappings_per_inside_ipv4_host) {
    for (uint16_t p = 0; p < 3; ++p) ASSERT_EQ(traffic.tcp_out("10.0.0.7", 1000 + p, "198.51.100.7", 443), verdict::forward);
    ASSERT_EQ(traffic.tcp_out("10.0.0.9", 1000, "198.51.100.7", 443), verdict::forward);
    ASSERT_EQ(traffic.tcp_out("10.0.0.5", 1000, "198.51.100.7", 443), verdict::forward);
    ASSERT_EQ(traffic.udp_out("10.0.0.5", 1000, "198.51.100.7", 53), verdict::forward);
    ASSERT_EQ(traffic.tcp_out("fd00:0:0:1::5", 1000, "2001:db8::7", 443), verdict::forward); // not translated
    flow_query q = flow_query::nat_hosts(2);
    traffic.run(q, 100, 0);
    std::vector<std::string> hosts;
    for (const auto& h : q.hosts()) hosts.push_back(fmt::format("{}={}", h.inside, h.mappings));
    EXPECT_EQ(hosts, (std::vector<std::string>{"10.0.0.7=3", "10.0.0.5=2"}));
    EXPECT_EQ(q.hosts_total, 3u);
    EXPECT_EQ(q.matched, 6u);
    EXPECT_EQ(q.scanned, 7u);
    EXPECT_EQ(q.hosts_overflow, 0u);
    EXPECT_EQ(q.top(), 2u);
    EXPECT_EQ(q.what(), flow_query::kind::nat_hosts);
}

TEST(flow_query, top_is_clamped_to_its_range) {
    EXPECT_EQ(flow_query::top_flows(0, std::nullopt, std::nullopt).top(), 1u);
    EXPECT_EQ(flow_query::top_flows(20000, std::nullopt, std::nullopt).top(), flow_query::max_top);
    EXPECT_EQ(flow_query::nat_hosts(0).top(), 1u);
}

} // namespace
} // namespace egress::gateway
