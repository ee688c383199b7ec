// Every kind of denial, one row each: whatever decided it (a rule, the default
// action, an emergency block, QUIC at a hostname rule, or a [policy.inspection]
// / [inspect] setting when the flow's name cannot be matched or never comes),
// it is counted exactly once under its rule (and nowhere else), it is one
// security event naming that rule and the drop reason, and it is one record
// for the collector: a new flow refused is a refused-attempt record
// (flow_denied) under that reason; a flow denied mid-way (its name, or the
// hold's timeout) is its own flow record, with every packet both ways, the
// dropped ones (the held hello, the denied segment) counted apart, the reason,
// the rule and the resets the gateway sent — and no refused-attempt record.
#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "../tls/hello_builder.hpp"
#include "gateway/gateway_core.hpp"
#include "gateway_fixture.hpp"
#include "stats/policy_denial.hpp"

namespace egress::gateway {
namespace {

using stats::drop_reason;
using stats::side;
using test::ip;
using bytes = std::vector<uint8_t>;
using namespace testing_network;

constexpr uint32_t client_isn = 1000;
constexpr uint32_t server_isn = 5000;
constexpr uint64_t epoch = 1'700'000'000'000;

policy::policy_spec spec_of_rows() {
    policy::policy_spec spec;
    spec.default_action = policy::verdict::deny;
    const auto any_v4 = *policy::cidr::parse("0.0.0.0/0", nullptr);
    policy::rule_spec names;
    names.name = "names";
    names.destinations = {any_v4};
    names.proto = policy::protocol::any; // QUIC to 443 reaches it too
    names.hostnames = {"api.stripe.com"};
    names.action = policy::verdict::allow;
    policy::rule_spec ssh;
    ssh.name = "no-ssh";
    ssh.destinations = {any_v4};
    ssh.proto = policy::protocol::tcp;
    ssh.ports = {{22, 22}};
    ssh.action = policy::verdict::deny;
    spec.rules = {names, ssh};
    spec.inspection.ech = policy::ech_action::deny;
    return spec;
}

bytes client_hello(std::string_view sni, std::vector<tls::test::extension> more = {}) {
    tls::test::hello_builder h;
    if (!sni.empty()) h.extensions.push_back(tls::test::sni_ext(sni));
    h.extensions.push_back(tls::test::supported_versions_ext());
    for (tls::test::extension& e : more) h.extensions.push_back(std::move(e));
    return tls::test::records(h.message());
}

bytes text(std::string_view s) { return bytes(s.begin(), s.end()); }

enum class how { syn, udp, stream, hold_timeout };

struct row {
    const char* what;
    how send;
    uint16_t port;
    bytes stream;           // how::stream: the client's first bytes; how::udp: the datagram
    drop_reason reason;     // the drop, the event's and the refused record's reason
    const char* rule;       // the event's rule, and the series counted (one only)
    policy::security_event_kind kind;
};

struct deny_kinds : ::testing::Test {
    settings s = make_settings();
    std::shared_ptr<const policy::compiled_policy> rules;
    std::unique_ptr<policy::active_policy> active;
    std::unique_ptr<gateway_core> core;
    policy::security_ring ring{16};
    event_ring events{64};
    uint32_t now = 10;

    void SetUp() override {
        s.flow_export.enabled = true;
        s.inspect.max_bytes = 1024;
        auto compiled = policy::compiled_policy::compile(spec_of_rows());
        ASSERT_TRUE(compiled.policy) << compiled.error;
        rules = std::move(compiled.policy);
    }
    // A fresh gateway for each row, with a block on 192.0.2.66.
    void start() {
        auto blocks = std::make_shared<policy::block_list>(
            std::vector<policy::block_entry>{{*policy::cidr::parse("192.0.2.66/32", nullptr), 0, 0}});
        active = std::make_unique<policy::active_policy>(
            rules, std::make_shared<policy::policy_counters>(rules->rules().size()), blocks, 1, 1);
        core = std::make_unique<gateway_core>(s);
        core->use_policy(active.get());
        core->attach_security_events(&ring);
        core->attach_events(&events);
        core->set_wall_clock(epoch, 0);
        now = 10;
    }
    packet_result tcp(const std::string& dst, uint16_t port, uint8_t flags, uint32_t seq, const bytes& payload = {}) {
        test::bytes f = from_inside().ipv4("10.0.0.5", dst).tcp(40000, port, flags).tcp_seq(seq, server_isn + 1)
                            .payload(payload).build();
        return core->process(side::inside, f, now);
    }
    void handshake(const std::string& dst, uint16_t port) {
        ASSERT_EQ(tcp(dst, port, net::tcp_syn, client_isn), verdict::forward);
        test::bytes synack = from_outside().ipv4(dst, "203.0.113.10").tcp(port, 40000, net::tcp_syn | net::tcp_ack)
                                 .tcp_seq(server_isn, client_isn + 1).build();
        ASSERT_EQ(core->process(side::outside, synack, now), verdict::forward);
        ASSERT_EQ(tcp(dst, port, net::tcp_ack, client_isn + 1), verdict::forward);
    }
    outcome deny(const row& r, const std::string& dst) {
        switch (r.send) {
        case how::syn: return tcp(dst, r.port, net::tcp_syn, client_isn);
        case how::udp: {
            test::bytes f = from_inside().ipv4("10.0.0.5", dst).udp(40000, r.port).payload(r.stream).build();
            return core->process(side::inside, f, now);
        }
        case how::stream:
            handshake(dst, r.port);
            return tcp(dst, r.port, net::tcp_ack | net::tcp_psh, client_isn + 1, r.stream);
        case how::hold_timeout:
            handshake(dst, r.port);
            EXPECT_EQ(tcp(dst, r.port, net::tcp_ack | net::tcp_psh, client_isn + 1, r.stream), verdict::consumed);
            now += s.inspect.hold_timeout_ms;
            return tcp(dst, r.port, net::tcp_ack, client_isn + 1);
        }
        return verdict::forward;
    }
    // Every series of egress_policy_decisions_total that is not zero.
    std::vector<std::pair<std::string, uint64_t>> counted() const {
        std::vector<std::pair<std::string, uint64_t>> v;
        for (uint32_t i = 0; i < rules->rules().size(); ++i)
            if (active->hits(i) != 0) v.emplace_back(rules->rules()[i].name, active->hits(i));
        if (active->defaults() != 0) v.emplace_back("default", active->defaults());
        if (active->block_total() != 0) v.emplace_back("emergency_block", active->block_total());
        for (const stats::setting_denial& d : stats::setting_denials)
            if (const uint64_t n = core->counters().setting_denials[static_cast<std::size_t>(d.reason)]; n != 0)
                v.emplace_back(d.rule, n);
        return v;
    }
};

TEST_F(deny_kinds, each_is_counted_under_its_rule_logged_and_recorded_as_refused) {
    tls::test::hello_builder big;
    big.extensions = {tls::test::sni_ext("api.stripe.com"), tls::test::key_share_ext({{0x6399, 1216}, {29, 32}})};
    const bytes ech = client_hello("public.example", {tls::test::ech_outer_ext()});
    using k = policy::security_event_kind;
    const std::vector<row> rows = {
        {"rule", how::syn, 22, {}, drop_reason::policy_denied, "no-ssh", k::deny},
        {"default", how::syn, 8080, {}, drop_reason::policy_denied, "default", k::deny},
        {"emergency block", how::syn, 443, {}, drop_reason::policy_blocked, "", k::block},
        {"QUIC at a hostname rule", how::udp, 443, text("q"), drop_reason::policy_quic, "inspection.quic", k::deny},
        {"name not allowed", how::stream, 443, client_hello("evil.example"), drop_reason::hostname_denied, "default",
         k::deny},
        {"no SNI", how::stream, 443, client_hello(""), drop_reason::inspect_no_sni, "inspection.no_sni", k::deny},
        {"ECH", how::stream, 443, ech, drop_reason::inspect_ech, "inspection.ech", k::deny},
        {"not TLS", how::stream, 443, text("SSH-2.0-x\r\n"), drop_reason::inspect_not_tls, "inspection.not_tls",
         k::deny},
        {"oversize", how::stream, 443, tls::test::records(big.message()), drop_reason::inspect_oversize,
         "inspection.oversize", k::deny},
        {"no Host", how::stream, 80, text("GET / HTTP/1.0\r\n\r\n"), drop_reason::inspect_no_host,
         "inspection.http_no_host", k::deny},
        {"not HTTP", how::stream, 80, text("\x16\x03\x01 binary\r\n\r\n"), drop_reason::inspect_not_http,
         "inspection.not_http", k::deny},
        {"hold timeout", how::hold_timeout, 443, bytes{0x16, 0x03, 0x01}, drop_reason::hold_timeout,
         "inspect.hold_timeout", k::deny},
    };
    for (const row& r : rows) {
        start();
        const std::string dst = r.kind == k::block ? "192.0.2.66" : "198.51.100.7";
        const outcome o = deny(r, dst);
        EXPECT_EQ(o, outcome(r.reason)) << r.what;
        // Counted once, under its rule, and under no other series.
        const std::string series = r.kind == k::block ? "emergency_block" : r.rule;
        EXPECT_EQ(counted(), (std::vector<std::pair<std::string, uint64_t>>{{series, 1}})) << r.what;
        // One security event: the rule and the reason.
        policy::security_event e[2];
        ASSERT_EQ(ring.pop_burst(e, 2), 1u) << r.what;
        EXPECT_EQ(e[0].kind, r.kind) << r.what;
        // (The default action's events carry no name: the event log writes "default".)
        const std::string event_rule = r.kind == k::block || std::string(r.rule) == "default" ? "" : r.rule;
        EXPECT_EQ(std::string(base::field_text(e[0].rule)), event_rule) << r.what;
        EXPECT_EQ(e[0].reason, r.reason) << r.what;
        EXPECT_EQ(e[0].src, ip("10.0.0.5")) << r.what;
        EXPECT_EQ(e[0].dst, ip(dst)) << r.what;
        EXPECT_EQ(e[0].dst_port, r.port) << r.what;
        core->set_wall_clock(epoch + now, now); // as the worker does once per loop
        core->report_remaining(now);
        std::vector<flow::flow_event> got(16);
        got.resize(events.pop_burst(got.data(), got.size()));
        std::vector<flow::flow_event> refused;
        std::copy_if(got.begin(), got.end(), std::back_inserter(refused),
                     [](const flow::flow_event& f) { return f.kind == flow::event_kind::flow_denied; });
        if (r.send == how::stream || r.send == how::hold_timeout) {
            // Denied mid-way: one record, the flow's own.
            EXPECT_EQ(refused.size(), 0u) << r.what;
            ASSERT_EQ(got.size(), 1u) << r.what;
            const flow::flow_event& f = got[0];
            const uint32_t held = r.send == how::hold_timeout ? 1 : 0;
            const auto segment = static_cast<uint32_t>(40 + r.stream.size()); // IP + TCP + payload
            const uint32_t dropped_bytes = r.send == how::hold_timeout ? segment + 40 : segment;
            EXPECT_EQ(f.kind, flow::event_kind::flow_end) << r.what;
            EXPECT_EQ(f.firewall, flow::firewall_event::flow_denied) << r.what;
            EXPECT_EQ(f.reason, flow::end_reason::forced_end) << r.what;
            EXPECT_EQ(f.drop_reason, static_cast<uint32_t>(r.reason)) << r.what;
            EXPECT_EQ(flow::field_text(f.rule), r.rule) << r.what;
            EXPECT_EQ(f.src_port, 40000) << r.what;
            EXPECT_EQ(f.dst_port, r.port) << r.what;
            // SYN, ACK, the held segment (if any) and the denied one; the SYN-ACK.
            EXPECT_EQ(f.packets_out, 3u + held) << r.what;
            EXPECT_EQ(f.bytes_out, 80u + dropped_bytes) << r.what;
            EXPECT_EQ(f.packets_in, 1u) << r.what;
            EXPECT_EQ(f.dropped_packets, 1u + held) << r.what;
            EXPECT_EQ(f.dropped_bytes, dropped_bytes) << r.what;
            EXPECT_EQ(f.resets_sent, 2u) << r.what; // to the client and to the server
            continue;
        }
        // A new flow refused: one refused-attempt record under the reason.
        EXPECT_EQ(got.size(), 1u) << r.what;
        ASSERT_EQ(refused.size(), 1u) << r.what;
        EXPECT_EQ(refused[0].firewall, flow::firewall_event::flow_denied) << r.what;
        EXPECT_EQ(refused[0].drop_reason, static_cast<uint32_t>(r.reason)) << r.what;
        EXPECT_EQ(refused[0].src, ip("10.0.0.5")) << r.what;
        EXPECT_EQ(refused[0].dst, ip(dst)) << r.what;
        EXPECT_EQ(refused[0].dst_port, r.port) << r.what;
        EXPECT_EQ(refused[0].proto, r.send == how::udp ? 17 : 6) << r.what;
        EXPECT_EQ(refused[0].packets_out, 1u) << r.what;
        EXPECT_EQ(refused[0].end_ms, epoch + now) << r.what;
    }
}

// A flow denied mid-way stays one record to the end: what each end still sends
// before the cut flow lingers out is dropped and counted in that record (the
// client's retransmission is answered with a reset, counted too), never as
// refused attempts of their own.
TEST_F(deny_kinds, packets_after_the_cut_join_the_flows_record) {
    start();
    const bytes hello = client_hello("evil.example");
    handshake("198.51.100.7", 443);
    ASSERT_EQ(outcome(tcp("198.51.100.7", 443, net::tcp_ack | net::tcp_psh, client_isn + 1, hello)),
              outcome(drop_reason::hostname_denied));
    ASSERT_EQ(outcome(tcp("198.51.100.7", 443, net::tcp_ack | net::tcp_psh, client_isn + 1, hello)),
              outcome(drop_reason::policy_cut)); // the retransmission: a reset back
    test::bytes late = from_outside().ipv4("198.51.100.7", "203.0.113.10").tcp(443, 40000, net::tcp_ack)
                           .tcp_seq(server_isn + 1, client_isn + 1).payload(text("late")).build();
    ASSERT_EQ(outcome(core->process(side::outside, late, now)), outcome(drop_reason::policy_cut));
    core->report_remaining(now);
    std::vector<flow::flow_event> got(16);
    got.resize(events.pop_burst(got.data(), got.size()));
    ASSERT_EQ(got.size(), 1u); // no refused-attempt record beside it
    const flow::flow_event& f = got[0];
    const auto segment = static_cast<uint64_t>(40 + hello.size());
    EXPECT_EQ(f.firewall, flow::firewall_event::flow_denied);
    EXPECT_EQ(f.drop_reason, static_cast<uint32_t>(drop_reason::hostname_denied));
    EXPECT_EQ(flow::field_text(f.rule), "default");
    EXPECT_EQ(f.packets_out, 4u); // SYN, ACK, the hello, its retransmission
    EXPECT_EQ(f.packets_in, 2u);  // SYN-ACK, the late segment
    EXPECT_EQ(f.dropped_packets, 3u);
    EXPECT_EQ(f.dropped_bytes, 2 * segment + 44);
    EXPECT_EQ(f.bytes_in, 40u + 44u);
    EXPECT_EQ(f.resets_sent, 3u);
    EXPECT_EQ(core->counters().drops[static_cast<std::size_t>(drop_reason::policy_cut)], 2u);
}

} // namespace
} // namespace egress::gateway
