// Window tracking through gateway_core (issue 20): forged RSTs cannot end
// connections, a valid RST leaves a flow that traffic restores, data far
// outside the window is dropped unless the tracking is liberal.
#include <gtest/gtest.h>

#include <array>
#include <random>
#include <vector>

#include "flow/tcp_state.hpp"
#include "gateway/gateway_core.hpp"
#include "gateway_fixture.hpp"
#include "policy/active_policy.hpp"

namespace egress::gateway {
namespace {

using namespace testing_network;
using stats::drop_reason;
using stats::side;
using test::bytes;

constexpr uint32_t client_isn = 1000;
constexpr uint32_t server_isn = 5000;
// After established(): the client sent 5 bytes, the server 10.
constexpr uint32_t client_next = client_isn + 1 + 5;
constexpr uint32_t server_next = server_isn + 1 + 10;

struct tcp_gateway : ::testing::Test {
    void make(settings s) { core = std::make_unique<gateway_core>(s); }
    void SetUp() override { make(make_settings()); }

    outcome out(uint16_t port, uint8_t flags, uint32_t seq, uint32_t ack, std::string_view payload = "",
                    uint32_t now = 0) {
        bytes f = from_inside().ipv4("10.0.0.5", "198.51.100.7").tcp(port, 443, flags).tcp_seq(seq, ack).payload(payload).build();
        return core->process(side::inside, f, now);
    }
    outcome back(uint16_t public_port, uint8_t flags, uint32_t seq, uint32_t ack, std::string_view payload = "",
                     uint32_t now = 0) {
        bytes f = inbound_frame(public_port, flags, seq, ack, payload);
        return core->process(side::outside, f, now);
    }
    static bytes inbound_frame(uint16_t public_port, uint8_t flags, uint32_t seq, uint32_t ack,
                               std::string_view payload = "") {
        return from_outside().ipv4("198.51.100.7", "203.0.113.10").tcp(443, public_port, flags).tcp_seq(seq, ack).payload(payload).build();
    }
    const flow::flow_record& record(uint16_t port) const {
        const uint32_t idx = core->flows().lookup(
            flow::flow_key{test::ip("10.0.0.5"), test::ip("198.51.100.7"), port, 443, net::proto_tcp},
            flow::direction::outbound);
        EXPECT_NE(idx, flow::flow_table::npos);
        return core->flows().at(idx);
    }
    flow::tcp_state state(uint16_t port) const { return static_cast<flow::tcp_state>(record(port).tcp_state); }
    uint64_t drops(drop_reason r) const { return core->counters().drops[static_cast<std::size_t>(r)]; }

    // Handshake and a little data both ways; returns the flow's public port.
    uint16_t established(uint16_t port) {
        EXPECT_EQ(out(port, net::tcp_syn, client_isn, 0), verdict::forward);
        const uint16_t pub = record(port).public_port;
        EXPECT_EQ(back(pub, net::tcp_syn | net::tcp_ack, server_isn, client_isn + 1), verdict::forward);
        EXPECT_EQ(out(port, net::tcp_ack, client_isn + 1, server_isn + 1), verdict::forward);
        EXPECT_EQ(out(port, net::tcp_ack | net::tcp_psh, client_isn + 1, server_isn + 1, "hello"), verdict::forward);
        EXPECT_EQ(back(pub, net::tcp_ack | net::tcp_psh, server_isn + 1, client_next, "0123456789"), verdict::forward);
        EXPECT_EQ(out(port, net::tcp_ack, client_next, server_next), verdict::forward);
        EXPECT_EQ(state(port), flow::tcp_state::established);
        return pub;
    }

    std::unique_ptr<gateway_core> core;
};

// 65,536 RSTs with random sequence numbers spread over 16 established
// connections: none is lost. A RST whose sequence number falls in the client's
// receive window ([server_next, server_next + 65535], the SYN's window without
// scaling) is forwarded for the client to challenge; every other one is dropped
// and counted as tcp_rst_out_of_window.
TEST_F(tcp_gateway, a_spoofed_rst_flood_loses_no_connection) {
    constexpr int connections = 16;
    std::array<uint16_t, connections> public_ports{};
    for (int c = 0; c < connections; ++c) public_ports[c] = established(static_cast<uint16_t>(40000 + c));

    std::mt19937 rng(20);
    constexpr uint32_t floods = 65'536;
    constexpr uint16_t burst = 32;
    uint64_t expected_in_window = 0;
    uint64_t forwarded = 0;
    for (uint32_t sent = 0; sent < floods; sent += burst) {
        std::vector<bytes> frames;
        for (uint16_t i = 0; i < burst; ++i) {
            uint32_t seq = static_cast<uint32_t>(rng());
            if (seq == server_next) ++seq; // an exact guess would close the flow, as on the end host
            if (seq - server_next <= 65535u) ++expected_in_window;
            const uint8_t flags = (i & 1) ? net::tcp_rst : (net::tcp_rst | net::tcp_ack);
            frames.push_back(inbound_frame(public_ports[rng() % connections], flags, seq, client_next));
        }
        std::array<std::span<uint8_t>, burst> spans;
        for (uint16_t i = 0; i < burst; ++i) spans[i] = frames[i];
        std::array<packet_result, burst> verdicts{};
        core->process_burst(side::outside, spans.data(), burst, 1000 + sent / burst, verdicts.data());
        for (const packet_result& v : verdicts) {
            if (v == verdict::forward) ++forwarded;
            else EXPECT_EQ(outcome(v), outcome(drop_reason::tcp_rst_out_of_window));
        }
    }
    EXPECT_EQ(forwarded, expected_in_window);
    EXPECT_EQ(drops(drop_reason::tcp_rst_out_of_window), floods - expected_in_window);
    EXPECT_EQ(core->flows_active(), static_cast<uint32_t>(connections));
    for (int c = 0; c < connections; ++c) {
        const auto port = static_cast<uint16_t>(40000 + c);
        EXPECT_EQ(state(port), flow::tcp_state::established) << port;
        // The connections still carry data both ways.
        EXPECT_EQ(out(port, net::tcp_ack | net::tcp_psh, client_next, server_next, "more", 5000), verdict::forward);
        EXPECT_EQ(back(public_ports[c], net::tcp_ack, server_next, client_next + 4, "", 5000), verdict::forward);
    }
}

TEST_F(tcp_gateway, an_exact_rst_closes_and_later_traffic_restores_the_flow) {
    const uint16_t pub = established(40000);
    EXPECT_EQ(back(pub, net::tcp_rst, server_next, 0, "", 1000), verdict::forward);
    EXPECT_EQ(state(40000), flow::tcp_state::closed);
    EXPECT_EQ(record(40000).expires_at_ms, 1000u + 240'000); // RFC 7857 section 2.2
    EXPECT_EQ(core->flows_active(), 1u);
    // RFC 7857 section 2.2: the session is kept, and traffic brings it back.
    EXPECT_EQ(out(40000, net::tcp_ack | net::tcp_psh, client_next, server_next, "again", 2000), verdict::forward);
    EXPECT_EQ(state(40000), flow::tcp_state::established);
    EXPECT_EQ(record(40000).expires_at_ms, 2000u + 7'440'000);
}

TEST_F(tcp_gateway, data_far_outside_the_window_is_dropped_and_counted) {
    const uint16_t pub = established(40000);
    EXPECT_EQ(back(pub, net::tcp_ack | net::tcp_psh, server_next + 1'000'000, client_next, "forged"),
              drop_reason::tcp_out_of_window);
    EXPECT_EQ(out(40000, net::tcp_ack, client_next, server_next + 1'000'000), drop_reason::tcp_out_of_window);
    EXPECT_EQ(drops(drop_reason::tcp_out_of_window), 2u);
    EXPECT_EQ(back(pub, net::tcp_ack | net::tcp_psh, server_next, client_next, "real"), verdict::forward);
}

TEST_F(tcp_gateway, liberal_tracking_forwards_data_outside_the_window_but_not_rsts) {
    settings s = make_settings();
    s.tcp.liberal = true;
    make(s);
    const uint16_t pub = established(40000);
    EXPECT_EQ(back(pub, net::tcp_ack | net::tcp_psh, server_next + 1'000'000, client_next, "asymmetric"), verdict::forward);
    EXPECT_EQ(back(pub, net::tcp_rst, server_next + 1'000'010, 0), drop_reason::tcp_rst_out_of_window);
    EXPECT_EQ(state(40000), flow::tcp_state::established);
}

TEST_F(tcp_gateway, a_challenge_ack_to_a_syn_reaches_the_client_which_resets_and_retries) {
    // RFC 5961 section 4 / RFC 5382 REQ-2: the server still holds an old
    // connection on this 4-tuple and answers the SYN with an ACK.
    ASSERT_EQ(out(40000, net::tcp_syn, client_isn, 0), verdict::forward);
    const uint16_t pub = record(40000).public_port;
    EXPECT_EQ(back(pub, net::tcp_ack, 777'777, 123'456), verdict::forward);
    EXPECT_EQ(out(40000, net::tcp_rst, 123'456, 0), verdict::forward);
    EXPECT_EQ(state(40000), flow::tcp_state::closed);
    EXPECT_EQ(out(40000, net::tcp_syn, client_isn + 7, 0, "", 1000), verdict::forward);
    EXPECT_EQ(back(pub, net::tcp_syn | net::tcp_ack, server_isn, client_isn + 8, "", 1000), verdict::forward);
    EXPECT_EQ(out(40000, net::tcp_ack, client_isn + 8, server_isn + 1, "", 1000), verdict::forward);
    EXPECT_EQ(state(40000), flow::tcp_state::established);
    EXPECT_EQ(core->counters().tcp_reopened, 1u);
}


// [tcp] pickup (conntrack's loose mode): after a restart, a connection's next
// segment from inside opens its flow in established; the windows are learnt
// from the first segments, so forged RSTs are still refused.
TEST_F(tcp_gateway, pickup_off_a_mid_stream_segment_opens_nothing) {
    EXPECT_EQ(out(40000, net::tcp_ack | net::tcp_psh, 70'000, 90'000, "more"), drop_reason::tcp_new_not_syn);
    EXPECT_EQ(core->flows_active(), 0u);
}

TEST_F(tcp_gateway, pickup_on_a_mid_stream_ack_from_inside_opens_an_established_flow) {
    settings s = make_settings();
    s.tcp.pickup = true;
    make(s);
    bytes seg = from_inside().ipv4("10.0.0.5", "198.51.100.7").tcp(40000, 443, net::tcp_ack | net::tcp_psh)
                    .tcp_seq(70'000, 90'000).payload("more").build();
    ASSERT_EQ(core->process(side::inside, seg, 0), verdict::forward);
    // Translated as any new flow: the inside port kept as the public port.
    EXPECT_EQ(seg, test::frame_builder().eth(outside_mac, outside_hop).ipv4("203.0.113.10", "198.51.100.7").ttl(63)
                       .tcp(40000, 443, net::tcp_ack | net::tcp_psh).tcp_seq(70'000, 90'000).payload("more").build());
    EXPECT_EQ(state(40000), flow::tcp_state::established);
    EXPECT_EQ(back(40000, net::tcp_ack | net::tcp_psh, 90'000, 70'004, "ok"), verdict::forward);
    EXPECT_EQ(back(40000, net::tcp_rst, 90'002 + 2'000'000'000u, 0), drop_reason::tcp_rst_out_of_window);
    EXPECT_EQ(out(40000, net::tcp_ack, 70'004, 90'002), verdict::forward);
    // Nothing but a plain ACK is picked up; nothing from outside either.
    EXPECT_EQ(out(40001, net::tcp_fin | net::tcp_ack, 1, 1), drop_reason::tcp_new_not_syn);
    EXPECT_EQ(out(40002, net::tcp_rst | net::tcp_ack, 1, 1), drop_reason::tcp_new_not_syn);
    EXPECT_EQ(out(40003, net::tcp_psh, 1, 1), drop_reason::tcp_new_not_syn);
    EXPECT_EQ(back(40004, net::tcp_ack, 1, 1), drop_reason::inbound_unsolicited);
    EXPECT_EQ(core->flows_active(), 1u);
    EXPECT_EQ(core->counters().flows_created[static_cast<std::size_t>(stats::flow_proto::tcp)], 1u);
}

TEST_F(tcp_gateway, pickup_is_refused_when_the_policy_needs_the_hostname) {
    policy::policy_spec spec;
    spec.default_action = policy::verdict::deny;
    policy::rule_spec named;
    named.name = "named";
    named.destinations = {*policy::cidr::parse("0.0.0.0/0", nullptr)};
    named.proto = policy::protocol::tcp;
    named.ports = {{443, 443}};
    named.hostnames = {"example.com"};
    named.action = policy::verdict::allow;
    spec.rules = {named};
    policy::active_policy active(policy::compiled_policy::compile(spec).policy);
    settings s = make_settings();
    s.tcp.pickup = true;
    make(s);
    core->use_policy(&active);
    EXPECT_EQ(out(40000, net::tcp_ack | net::tcp_psh, 70'000, 90'000, "more"), drop_reason::tcp_new_not_syn);
    EXPECT_EQ(core->flows_active(), 0u);
    EXPECT_EQ(out(40001, net::tcp_syn, 1, 0), verdict::forward); // a real opener waits for its name
}

} // namespace
} // namespace egress::gateway
