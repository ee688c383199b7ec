// gateway_core end to end without EAL: frames in, rewritten frames or typed drops out.
#include "gateway/gateway_core.hpp"

#include <gtest/gtest.h>

#include "flow/tcp_state.hpp"
#include "gateway_fixture.hpp"
#include "net/checksum.hpp"
#include "net/packet_parser.hpp"

namespace egress::gateway {
namespace {

using stats::drop_reason;
using stats::no_drop;
using stats::side;
using test::bytes;
using test::frame_builder;
using test::ip;
using test::mac;

using namespace testing_network;

// What left the gateway, decoded.
struct sent {
    packet_result verdict;
    bytes frame;
    net::packet_view view;
};

class gateway_test : public ::testing::Test {
protected:
    sent pass(side from, bytes frame, uint32_t now = 0) {
        sent s;
        s.verdict = core->process(from, frame, now);
        s.frame = frame;
        if (s.verdict == gateway::verdict::forward) {
            EXPECT_EQ(net::parse_frame(s.frame, s.view), no_drop);
            bytes recomputed = s.frame;
            net::recompute_checksums(recomputed, s.view);
            EXPECT_EQ(recomputed, s.frame) << "incremental checksums differ from a full recomputation";
        }
        return s;
    }
    uint64_t drops(drop_reason r) const { return core->counters().drops[static_cast<std::size_t>(r)]; }
    uint64_t created(stats::flow_proto p) const {
        return core->counters().flows_created[static_cast<std::size_t>(p)];
    }
    uint64_t expired(stats::flow_proto p) const {
        return core->counters().flows_expired[static_cast<std::size_t>(p)];
    }
    void make(settings s) { core = std::make_unique<gateway_core>(s); }
    void SetUp() override { make(make_settings()); }

    std::unique_ptr<gateway_core> core;
};

TEST_F(gateway_test, tcp_connection_is_translated_both_ways_and_closes_into_time_wait) {
    auto syn = pass(side::inside, from_inside().ipv4("10.0.0.5", "198.51.100.7").ttl(64).tcp(40000, 443, net::tcp_syn).build());
    ASSERT_EQ(syn.verdict, verdict::forward);
    EXPECT_EQ(syn.view.src, ip("203.0.113.10"));
    EXPECT_EQ(syn.view.src_port, 40000); // port preserved
    EXPECT_EQ(syn.view.dst, ip("198.51.100.7"));
    EXPECT_EQ(syn.view.ttl, 63);
    EXPECT_EQ(bytes(syn.frame.begin(), syn.frame.begin() + 6), bytes(outside_hop.bytes.begin(), outside_hop.bytes.end()));
    EXPECT_EQ(bytes(syn.frame.begin() + 6, syn.frame.begin() + 12), bytes(outside_mac.bytes.begin(), outside_mac.bytes.end()));

    const auto reply = [&](uint8_t flags) {
        return pass(side::outside, from_outside().ipv4("198.51.100.7", "203.0.113.10").tcp(443, 40000, flags).build());
    };
    const auto out = [&](uint8_t flags) {
        return pass(side::inside, from_inside().ipv4("10.0.0.5", "198.51.100.7").tcp(40000, 443, flags).payload("x").build());
    };
    auto synack = reply(net::tcp_syn | net::tcp_ack);
    ASSERT_EQ(synack.verdict, verdict::forward);
    EXPECT_EQ(synack.view.dst, ip("10.0.0.5"));
    EXPECT_EQ(synack.view.dst_port, 40000);
    EXPECT_EQ(synack.view.src, ip("198.51.100.7"));
    EXPECT_EQ(bytes(synack.frame.begin(), synack.frame.begin() + 6), bytes(inside_hop.bytes.begin(), inside_hop.bytes.end()));
    EXPECT_EQ(out(net::tcp_ack).verdict, verdict::forward);
    EXPECT_EQ(out(net::tcp_ack | net::tcp_psh).verdict, verdict::forward);
    EXPECT_EQ(reply(net::tcp_ack | net::tcp_psh).verdict, verdict::forward);
    EXPECT_EQ(out(net::tcp_fin | net::tcp_ack).verdict, verdict::forward);
    EXPECT_EQ(reply(net::tcp_fin | net::tcp_ack).verdict, verdict::forward);
    EXPECT_EQ(out(net::tcp_ack).verdict, verdict::forward);

    ASSERT_EQ(core->flows_active(), 1u);
    const auto k = flow::flow_key{ip("10.0.0.5"), ip("198.51.100.7"), 40000, 443, net::proto_tcp};
    const uint32_t idx = core->flows().lookup(k, flow::direction::outbound);
    ASSERT_NE(idx, flow::flow_table::npos);
    EXPECT_EQ(static_cast<flow::tcp_state>(core->flows().at(idx).tcp_state), flow::tcp_state::time_wait);
    EXPECT_EQ(core->flows().at(idx).packets_out, 5u);
    EXPECT_EQ(core->flows().at(idx).packets_in, 3u);
    EXPECT_EQ(created(stats::flow_proto::tcp), 1u);
    EXPECT_EQ(core->pool_usage().at(0).mappings_active, 1u);

    // TIME_WAIT (240 s by default, RFC 7857 section 2.1) ends; the sweep retires the flow and its mapping.
    core->expire(239'999, 1024);
    EXPECT_EQ(core->flows_active(), 1u);
    core->expire(240'100, 1024);
    EXPECT_EQ(core->flows_active(), 0u);
    EXPECT_EQ(expired(stats::flow_proto::tcp), 1u);
    EXPECT_EQ(core->pool_usage().at(0).mappings_active, 0u);
}

// Unsolicited inbound packets and non-opening first packets: rows of
// gateway_table_test.cpp.

TEST_F(gateway_test, two_inside_hosts_to_one_destination_get_distinct_mappings) {
    auto a = pass(side::inside, from_inside().ipv4("10.0.0.5", "198.51.100.7").tcp(40000, 443).build());
    auto b = pass(side::inside, from_inside().ipv4("10.0.0.6", "198.51.100.7").tcp(40000, 443).build());
    ASSERT_EQ(a.verdict, verdict::forward);
    ASSERT_EQ(b.verdict, verdict::forward);
    EXPECT_EQ(a.view.src, b.view.src); // one pool address
    EXPECT_NE(a.view.src_port, b.view.src_port);
    // Replies reach the right host.
    auto ra = pass(side::outside, from_outside().ipv4("198.51.100.7", "203.0.113.10").tcp(443, a.view.src_port, net::tcp_syn | net::tcp_ack).build());
    auto rb = pass(side::outside, from_outside().ipv4("198.51.100.7", "203.0.113.10").tcp(443, b.view.src_port, net::tcp_syn | net::tcp_ack).build());
    EXPECT_EQ(ra.view.dst, ip("10.0.0.5"));
    EXPECT_EQ(rb.view.dst, ip("10.0.0.6"));
    EXPECT_EQ(rb.view.dst_port, 40000);
    // A different destination may reuse the first host's public port.
    auto c = pass(side::inside, from_inside().ipv4("10.0.0.6", "198.51.100.8").tcp(40000, 443).build());
    EXPECT_EQ(c.view.src_port, 40000);
}

TEST_F(gateway_test, a_mapping_is_not_reused_for_the_same_destination_before_the_flow_expires) {
    ASSERT_EQ(pass(side::inside, from_inside().ipv4("10.0.0.5", "198.51.100.7").udp(5000, 53).build()).verdict, verdict::forward);
    auto b = pass(side::inside, from_inside().ipv4("10.0.0.6", "198.51.100.7").udp(5000, 53).build(), 60'000);
    EXPECT_NE(b.view.src_port, 5000);
    core->expire(200'000, 1024); // both UDP flows idle for more than 120 s
    EXPECT_EQ(expired(stats::flow_proto::udp), 2u);
    auto c = pass(side::inside, from_inside().ipv4("10.0.0.6", "198.51.100.7").udp(5000, 53).build(), 200'001);
    EXPECT_EQ(c.view.src_port, 5000);
}

TEST_F(gateway_test, icmp_echo_identifier_is_translated_and_restored) {
    auto a = pass(side::inside, from_inside().ipv4("10.0.0.5", "198.51.100.7").echo_request(4242).build());
    auto b = pass(side::inside, from_inside().ipv4("10.0.0.6", "198.51.100.7").echo_request(4242).build());
    ASSERT_EQ(a.verdict, verdict::forward);
    ASSERT_EQ(b.verdict, verdict::forward);
    EXPECT_EQ(a.view.src_port, 4242);
    EXPECT_NE(b.view.src_port, 4242);
    auto rb = pass(side::outside, from_outside().ipv4("198.51.100.7", "203.0.113.10").echo_reply(b.view.src_port).build());
    ASSERT_EQ(rb.verdict, verdict::forward);
    EXPECT_EQ(rb.view.dst, ip("10.0.0.6"));
    EXPECT_EQ(rb.view.dst_port, 4242);
    EXPECT_EQ(created(stats::flow_proto::icmp), 2u);
}

TEST_F(gateway_test, a_burst_with_a_new_flow_and_its_followers_creates_one_flow) {
    bytes f1 = from_inside().ipv4("10.0.0.5", "198.51.100.7").udp(5000, 53).build();
    bytes f2 = f1, f3 = f1;
    std::span<uint8_t> frames[3] = {f1, f2, f3};
    packet_result results[3];
    core->process_burst(side::inside, frames, 3, 0, results);
    for (auto r : results) EXPECT_EQ(r, verdict::forward);
    EXPECT_EQ(created(stats::flow_proto::udp), 1u);
    EXPECT_EQ(core->flows_active(), 1u);
}

// Port exhaustion, a full flow table, IPv6 untranslated, invalid TCP
// transitions and frames not for this gateway: rows of gateway_table_test.cpp.

} // namespace
} // namespace egress::gateway
