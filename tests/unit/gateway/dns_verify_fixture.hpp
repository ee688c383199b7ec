// The fixture of the DNS-verified name tests (dns_verify_test.cpp,
// dns_resolve_test.cpp): a gateway with a hostname rule "stripe" for
// api.stripe.com:443 (verify as given), DNS allowed; helpers for a DNS
// exchange through the gateway and a TLS connection whose ClientHello is held.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "../dns/dns_builder.hpp"
#include "../tls/hello_builder.hpp"
#include "gateway/gateway_core.hpp"
#include "gateway_fixture.hpp"
#include "policy_fixture.hpp"

namespace egress::gateway::test_dns {

using stats::drop_reason;
using stats::side;
using test::ip;
using bytes = std::vector<uint8_t>;
using namespace testing_network;
namespace dt = dns::test;

constexpr uint32_t client_isn = 1000;
constexpr uint32_t server_isn = 5000;

inline policy::policy_spec verify_spec(policy::rule_mode mode = policy::rule_mode::enforce,
                                std::optional<policy::verify_mode> verify = policy::verify_mode::observed) {
    policy::policy_spec spec;
    spec.default_action = policy::verdict::deny;
    const auto any_v4 = *policy::cidr::parse("0.0.0.0/0", nullptr);
    const auto any_v6 = *policy::cidr::parse("::/0", nullptr);
    policy::rule_spec stripe;
    stripe.name = "stripe";
    stripe.destinations = {any_v4, any_v6};
    stripe.proto = policy::protocol::tcp;
    stripe.ports = {{443, 443}};
    stripe.hostnames = {"api.stripe.com"};
    stripe.action = policy::verdict::allow;
    stripe.mode = mode;
    stripe.verify = verify;
    policy::rule_spec dns_udp;
    dns_udp.name = "dns-udp";
    dns_udp.destinations = {any_v4, any_v6};
    dns_udp.proto = policy::protocol::udp;
    dns_udp.ports = {{53, 53}};
    dns_udp.action = policy::verdict::allow;
    policy::rule_spec dns_tcp = dns_udp;
    dns_tcp.name = "dns-tcp";
    dns_tcp.proto = policy::protocol::tcp;
    spec.rules = {stripe, dns_udp, dns_tcp};
    return spec;
}

inline bytes client_hello(std::string_view sni) {
    tls::test::hello_builder h;
    h.extensions.push_back(tls::test::sni_ext(sni));
    h.extensions.push_back(tls::test::supported_versions_ext());
    return tls::test::records(h.message());
}

inline bytes answer(std::string_view question, uint32_t ttl, std::initializer_list<uint8_t> a) {
    dt::response_builder r;
    r.question_name = dt::name(question);
    const auto* p = a.begin();
    r.a(question, ttl, p[0], p[1], p[2], p[3]);
    return r.build();
}

struct dns_verify : ::testing::Test {
    settings s = make_settings();
    std::unique_ptr<gateway_core> core;
    std::unique_ptr<policy::active_policy> active;
    policy::security_ring ring{64};
    uint32_t now = 10;
    uint16_t next_port = 40000;

    void SetUp() override { use(verify_spec()); }
    void use(const policy::policy_spec& spec) {
        start_with_policy(s, spec, active, core, ring);
    }
    // A UDP query from `host` to `server`:53 and the response to it.
    packet_result resolve(const std::string& host, const std::string& server, const bytes& response) {
        const uint16_t port = next_port++;
        test::bytes q = from_inside().ipv4(host, server).udp(port, 53).payload("q").build();
        EXPECT_EQ(core->process(side::inside, q, now), verdict::forward);
        test::bytes a = from_outside().ipv4(server, "203.0.113.10").udp(53, port).payload(response).build();
        return core->process(side::outside, a, now);
    }
    // A TLS connection from `host` to dst:443 with `sni`: the verdict on the
    // segment that completes the ClientHello.
    packet_result connect(const std::string& host, const std::string& dst, std::string_view sni) {
        const uint16_t port = open(host, dst);
        return hello(host, dst, port, sni);
    }
    // The handshake of a connection from `host` to dst:443: its client port.
    uint16_t open(const std::string& host, const std::string& dst) {
        const uint16_t port = next_port++;
        test::bytes syn = from_inside().ipv4(host, dst).tcp(port, 443, net::tcp_syn).tcp_seq(client_isn, 0).build();
        EXPECT_EQ(core->process(side::inside, syn, now), verdict::forward);
        test::bytes synack = from_outside().ipv4(dst, "203.0.113.10").tcp(443, port, net::tcp_syn | net::tcp_ack).tcp_seq(server_isn, client_isn + 1).build();
        EXPECT_EQ(core->process(side::outside, synack, now), verdict::forward);
        return port;
    }
    // The ClientHello with `sni` on that connection (again: a retransmission).
    packet_result hello(const std::string& host, const std::string& dst, uint16_t port, std::string_view sni) {
        test::bytes f = from_inside().ipv4(host, dst).tcp(port, 443, net::tcp_ack | net::tcp_psh).tcp_seq(client_isn + 1, server_isn + 1).payload(client_hello(sni)).build();
        return core->process(side::inside, f, now);
    }
    std::vector<policy::security_event> events() {
        std::vector<policy::security_event> v;
        policy::security_event e;
        while (ring.pop_burst(&e, 1) == 1) v.push_back(e);
        return v;
    }
    uint64_t drops(drop_reason r) const { return core->counters().drops[static_cast<std::size_t>(r)]; }
};

} // namespace egress::gateway::test_dns
