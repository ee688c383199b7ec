// The flow events gateway_core hands to the exporter: ends with reasons and
// counts, active-timeout updates with deltas, aggregated refusals, NAT events,
// and ring overflow counted, never blocking.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "gateway/gateway_core.hpp"
#include "gateway_fixture.hpp"

namespace egress::gateway {
namespace {

using stats::drop_reason;
using stats::no_drop;
using stats::side;
using test::frame_builder;
using test::ip;
using test::mac;

using namespace testing_network;

constexpr uint64_t epoch = 1'700'000'000'000; // wall clock at gateway time 0

// A small gateway with two public ports (1000-1001) and flow export on.
settings export_settings_for_test(bool nat_events = false) {
    settings s = make_settings(64, 1000, 1001);
    s.flow_export.enabled = true;
    s.flow_export.active_timeout_ms = 60'000;
    s.flow_export.nat_session_events = nat_events;
    return s;
}

class flow_events_test : public ::testing::Test {
protected:
    void make(settings s, std::size_t ring_size = 1024) {
        ring = std::make_unique<event_ring>(ring_size);
        core = std::make_unique<gateway_core>(s);
        core->attach_events(ring.get());
    }
    void SetUp() override { make(export_settings_for_test()); }

    packet_result send(side from, test::bytes f, uint32_t now) {
        core->set_wall_clock(epoch + now, now);
        return core->process(from, f, now);
    }
    packet_result out_udp(uint16_t sport, uint32_t now, std::string_view payload = "12345678") {
        return send(side::inside,
                    frame_builder().eth(inside_hop, inside_mac).ipv4("10.0.0.5", "198.51.100.7").udp(sport, 53).payload(payload).build(),
                    now);
    }
    packet_result in_udp(uint16_t dport, uint32_t now, std::string_view payload = "1234") {
        return send(side::outside,
                    frame_builder().eth(outside_hop, outside_mac).ipv4("198.51.100.7", "203.0.113.10").udp(53, dport).payload(payload).build(),
                    now);
    }
    std::vector<flow::flow_event> drain() {
        std::vector<flow::flow_event> out(ring->capacity());
        out.resize(ring->pop_burst(out.data(), out.size()));
        return out;
    }
    void tick(uint32_t now) {
        core->set_wall_clock(epoch + now, now);
        core->expire(now, 1024);
    }

    std::unique_ptr<event_ring> ring;
    std::unique_ptr<gateway_core> core;
};

TEST_F(flow_events_test, an_idle_flow_ends_with_its_counts_translation_and_times) {
    ASSERT_EQ(out_udp(1000, 1'000), verdict::forward);
    ASSERT_EQ(in_udp(1000, 1'500), verdict::forward);
    ASSERT_EQ(out_udp(1000, 2'000), verdict::forward);
    tick(2'000 + 120'000); // udp idle timeout
    const auto events = drain();
    ASSERT_EQ(events.size(), 1u);
    const auto& e = events[0];
    EXPECT_EQ(e.kind, flow::event_kind::flow_end);
    EXPECT_EQ(e.reason, flow::end_reason::idle_timeout);
    EXPECT_EQ(e.src, ip("10.0.0.5"));
    EXPECT_EQ(e.dst, ip("198.51.100.7"));
    EXPECT_EQ(e.src_port, 1000);
    EXPECT_EQ(e.dst_port, 53);
    EXPECT_EQ(e.post_nat_src, ip("203.0.113.10"));
    EXPECT_EQ(e.post_nat_src_port, 1000);
    EXPECT_EQ(e.proto, 17);
    EXPECT_EQ(e.packets_out, 2u);
    EXPECT_EQ(e.bytes_out, 2u * (20 + 8 + 8));
    EXPECT_EQ(e.packets_in, 1u);
    EXPECT_EQ(e.bytes_in, 20u + 8 + 4);
    EXPECT_EQ(e.start_ms, epoch + 1'000);
    EXPECT_EQ(e.end_ms, epoch + 2'000); // the last packet, not the moment of expiry
}

TEST_F(flow_events_test, a_closed_tcp_connection_ends_as_end_of_flow_with_its_flags) {
    const auto out = [&](uint8_t flags, uint32_t now) {
        return send(side::inside, frame_builder().eth(inside_hop, inside_mac).ipv4("10.0.0.5", "198.51.100.7").tcp(1000, 443, flags).build(), now);
    };
    const auto back = [&](uint8_t flags, uint32_t now) {
        return send(side::outside, frame_builder().eth(outside_hop, outside_mac).ipv4("198.51.100.7", "203.0.113.10").tcp(443, 1000, flags).build(), now);
    };
    ASSERT_EQ(out(net::tcp_syn, 0), verdict::forward);
    ASSERT_EQ(back(net::tcp_syn | net::tcp_ack, 1), verdict::forward);
    ASSERT_EQ(out(net::tcp_ack, 2), verdict::forward);
    ASSERT_EQ(out(net::tcp_fin | net::tcp_ack, 3), verdict::forward);
    ASSERT_EQ(back(net::tcp_fin | net::tcp_ack, 4), verdict::forward);
    ASSERT_EQ(out(net::tcp_ack, 5), verdict::forward);
    tick(5 + 240'000); // TIME_WAIT: 4 minutes (RFC 7857 section 2.1)
    const auto events = drain();
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].reason, flow::end_reason::end_of_flow);
    EXPECT_EQ(events[0].tcp_flags, net::tcp_syn | net::tcp_ack | net::tcp_fin);
    EXPECT_EQ(events[0].packets_out, 4u);
    EXPECT_EQ(events[0].packets_in, 2u);
}

TEST_F(flow_events_test, at_shutdown_closed_connections_end_as_such_and_open_flows_are_forced) {
    const auto out = [&](uint8_t flags, uint32_t now) {
        return send(side::inside, from_inside().ipv4("10.0.0.5", "198.51.100.7").tcp(1000, 443, flags).build(), now);
    };
    const auto back = [&](uint8_t flags, uint32_t now) {
        return send(side::outside, from_outside().ipv4("198.51.100.7", "203.0.113.10").tcp(443, 1000, flags).build(), now);
    };
    ASSERT_EQ(out(net::tcp_syn, 0), verdict::forward);
    ASSERT_EQ(back(net::tcp_syn | net::tcp_ack, 1), verdict::forward);
    // The client's RST carries its SND.NXT (ISN 1000 + 1): exact, so it closes (RFC 5961).
    ASSERT_EQ(send(side::inside, from_inside().ipv4("10.0.0.5", "198.51.100.7").tcp(1000, 443, net::tcp_rst).tcp_seq(1001).build(), 2),
              verdict::forward);
    ASSERT_EQ(out_udp(1001, 3), verdict::forward);
    core->report_remaining(10);
    const auto events = drain();
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[0].reason, flow::end_reason::end_of_flow); // reset: over, whatever its timeout
    EXPECT_EQ(events[1].reason, flow::end_reason::forced_end);  // still open
    EXPECT_EQ(events[1].end_ms, epoch + 3);
}

TEST_F(flow_events_test, a_long_flow_is_reported_every_active_timeout_with_deltas) {
    uint64_t sent = 0;
    for (uint32_t t = 0; t <= 150'000; t += 10'000) {
        ASSERT_EQ(out_udp(1000, t), verdict::forward);
        ++sent;
        tick(t);
    }
    tick(150'000 + 120'000);
    const auto events = drain();
    ASSERT_EQ(events.size(), 3u);
    EXPECT_EQ(events[0].kind, flow::event_kind::flow_update);
    EXPECT_EQ(events[0].reason, flow::end_reason::active_timeout);
    EXPECT_EQ(events[0].start_ms, epoch);
    EXPECT_EQ(events[0].end_ms, epoch + 60'000);
    EXPECT_EQ(events[0].packets_out, 7u); // t = 0 .. 60 s
    EXPECT_EQ(events[1].kind, flow::event_kind::flow_update);
    EXPECT_EQ(events[1].start_ms, epoch + 60'000);
    EXPECT_EQ(events[1].packets_out, 6u); // 70 .. 120 s
    EXPECT_EQ(events[2].kind, flow::event_kind::flow_end);
    EXPECT_EQ(events[2].packets_out, 3u); // 130 .. 150 s
    EXPECT_EQ(events[0].packets_out + events[1].packets_out + events[2].packets_out, sent);
    uint64_t bytes = 0;
    for (const auto& e : events) bytes += e.bytes_out;
    EXPECT_EQ(bytes, sent * 36);
}

TEST_F(flow_events_test, refused_attempts_are_aggregated_per_source_and_destination) {
    // A SYN flood from one source (varying its port) and one probe from another.
    for (uint16_t i = 0; i < 50; ++i)
        EXPECT_EQ(send(side::outside, frame_builder().eth(outside_hop, outside_mac).ipv4("198.51.100.7", "203.0.113.10")
                                          .tcp(static_cast<uint16_t>(40000 + i), 22, net::tcp_syn).build(), 10 + i),
                  drop_reason::inbound_unsolicited);
    EXPECT_EQ(send(side::outside, frame_builder().eth(outside_hop, outside_mac).ipv4("198.51.100.8", "203.0.113.10")
                                      .tcp(5, 22, net::tcp_syn).build(), 70),
              drop_reason::inbound_unsolicited);
    EXPECT_TRUE(drain().empty()); // nothing before the aggregation interval ends
    tick(1'100);
    auto events = drain();
    ASSERT_EQ(events.size(), 2u);
    std::sort(events.begin(), events.end(), [](const auto& a, const auto& b) { return a.packets_out > b.packets_out; });
    EXPECT_EQ(events[0].kind, flow::event_kind::flow_denied);
    EXPECT_EQ(events[0].firewall, flow::firewall_event::flow_denied);
    EXPECT_EQ(events[0].src, ip("198.51.100.7"));
    EXPECT_EQ(events[0].dst, ip("203.0.113.10"));
    EXPECT_EQ(events[0].dst_port, 22);
    EXPECT_EQ(events[0].packets_out, 50u);
    EXPECT_EQ(events[0].start_ms, epoch + 10);
    EXPECT_EQ(events[0].end_ms, epoch + 59);
    EXPECT_EQ(events[0].drop_reason, static_cast<uint32_t>(drop_reason::inbound_unsolicited));
    EXPECT_EQ(events[1].src, ip("198.51.100.8"));
    EXPECT_EQ(events[1].packets_out, 1u);
}

TEST_F(flow_events_test, port_exhaustion_is_one_nat_event_per_interval_and_counted_as_refused) {
    make(export_settings_for_test(true));
    ASSERT_EQ(out_udp(1000, 0), verdict::forward);
    ASSERT_EQ(out_udp(1001, 0), verdict::forward);
    for (int i = 0; i < 5; ++i) EXPECT_EQ(out_udp(static_cast<uint16_t>(3000 + i), 1), drop_reason::nat_ports_exhausted);
    tick(1'100);
    const auto events = drain();
    std::vector<flow::nat_event_type> nat;
    uint64_t refused = 0;
    for (const auto& e : events) {
        if (e.kind == flow::event_kind::nat_event) nat.push_back(e.nat);
        if (e.kind == flow::event_kind::flow_denied) refused += e.packets_out;
    }
    EXPECT_EQ(nat, (std::vector<flow::nat_event_type>{flow::nat_event_type::nat44_session_create,
                                                      flow::nat_event_type::nat44_session_create,
                                                      flow::nat_event_type::ports_exhausted}));
    EXPECT_EQ(refused, 5u);
}

TEST_F(flow_events_test, an_ipv6_only_gateway_refuses_ipv4_with_an_addresses_exhausted_event) {
    settings s = export_settings_for_test();
    s.pool.addresses.clear();
    make(s);
    EXPECT_EQ(out_udp(1000, 0), drop_reason::nat_no_ipv4_pool);
    EXPECT_EQ(out_udp(1001, 1), drop_reason::nat_no_ipv4_pool);
    EXPECT_EQ(send(side::inside, frame_builder().eth(inside_hop, inside_mac).ipv6("fd00::5", "2001:db8::7").udp(1000, 53).build(), 2),
              verdict::forward);
    tick(1'100);
    const auto events = drain();
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[0].kind, flow::event_kind::nat_event);
    EXPECT_EQ(events[0].nat, flow::nat_event_type::addresses_exhausted);
    EXPECT_EQ(events[0].src, ip("10.0.0.5"));
    EXPECT_EQ(events[1].kind, flow::event_kind::flow_denied);
    EXPECT_EQ(events[1].packets_out, 2u);
    EXPECT_EQ(events[1].drop_reason, static_cast<uint32_t>(drop_reason::nat_no_ipv4_pool));
}

TEST_F(flow_events_test, a_full_ring_loses_events_without_blocking_and_counts_them) {
    make(export_settings_for_test(), 4);
    for (uint16_t i = 0; i < 10; ++i)
        ASSERT_EQ(outcome(send(side::inside, frame_builder().eth(inside_hop, inside_mac).ipv4("10.0.0.5", "198.51.100.7").udp(static_cast<uint16_t>(2000 + i), 53).build(), 0)),
                  i < 2 ? outcome(verdict::forward) : outcome(drop_reason::nat_ports_exhausted));
    make(export_settings_for_test(), 4);
    for (uint16_t i = 0; i < 10; ++i)
        ASSERT_EQ(send(side::outside, frame_builder().eth(outside_hop, outside_mac).ipv4(fmt::format("198.51.100.{}", 10 + i), "203.0.113.10").udp(53, 9).build(), 0),
                  drop_reason::inbound_unsolicited);
    tick(1'100);
    EXPECT_EQ(drain().size(), 4u);
    EXPECT_EQ(core->counters().events_queued, 4u);
    EXPECT_EQ(core->counters().events_lost, 6u);
    EXPECT_EQ(ring->overflows(), 6u);
}

} // namespace
} // namespace egress::gateway
