// verify = "observed" on the packet path (issue 16): DNS responses on the reply
// direction of flows from inside are recorded per inside host; a TLS name that
// a verify = "observed" rule allows passes only to an address DNS gave it, within
// TTL + grace; otherwise the flow is refused as sni_unverified (report mode:
// reported, passes) with an event naming the name, the destination and what
// DNS said. Counters are pinned exactly.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "base/fixed_text.hpp"
#include "dns_verify_fixture.hpp"
#include "gateway/steering.hpp"
#include "net/packet_parser.hpp"

namespace egress::gateway {
namespace {

using namespace test_dns;
using stats::drop_reason;
using stats::side;
using test::ip;
namespace dt = dns::test;

TEST_F(dns_verify, a_name_passes_to_the_address_dns_gave_and_is_refused_elsewhere) {
    EXPECT_EQ(resolve("10.0.0.5", "198.51.100.53", answer("api.stripe.com", 60, {198, 51, 100, 7})), verdict::forward);
    EXPECT_EQ(core->counters().dns_responses, 1u);
    EXPECT_EQ(core->dns().table().size(), 1u);

    EXPECT_EQ(connect("10.0.0.5", "198.51.100.7", "api.stripe.com"), verdict::consumed); // released
    const packet_result spoofed = connect("10.0.0.5", "198.51.100.8", "api.stripe.com");
    EXPECT_EQ(spoofed, verdict::reply);
    EXPECT_EQ(outcome(spoofed), outcome(drop_reason::sni_unverified));
    EXPECT_EQ(core->counters().sni_verified, 1u);
    EXPECT_EQ(core->counters().sni_unverified, 1u);
    EXPECT_EQ(drops(drop_reason::sni_unverified), 1u);
    EXPECT_EQ(core->counters().policy_would_deny, 0u);

    const auto ev = events();
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].kind, policy::security_event_kind::deny);
    EXPECT_EQ(ev[0].reason, drop_reason::sni_unverified);
    EXPECT_EQ(base::field_text(ev[0].hostname), "api.stripe.com");
    EXPECT_EQ(base::field_text(ev[0].rule), "stripe");
    EXPECT_EQ(ev[0].dst, ip("198.51.100.8"));
    ASSERT_EQ(ev[0].dns_said_count, 1u);
    EXPECT_EQ(ev[0].dns_said[0], ip("198.51.100.7"));
}

TEST_F(dns_verify, ttl_plus_grace_bounds_the_binding) {
    // TTL 60 s, grace 30 s (the default): the binding lasts until 90 s after the answer.
    now = 1000;
    resolve("10.0.0.5", "198.51.100.53", answer("api.stripe.com", 60, {198, 51, 100, 7}));
    now = 1000 + 89'999;
    EXPECT_EQ(connect("10.0.0.5", "198.51.100.7", "api.stripe.com"), verdict::consumed);
    now = 1000 + 90'000;
    EXPECT_EQ(outcome(connect("10.0.0.5", "198.51.100.7", "api.stripe.com")), outcome(drop_reason::sni_unverified));
    // A fresh answer brings it back.
    resolve("10.0.0.5", "198.51.100.53", answer("api.stripe.com", 60, {198, 51, 100, 7}));
    EXPECT_EQ(connect("10.0.0.5", "198.51.100.7", "api.stripe.com"), verdict::consumed);
    EXPECT_EQ(core->counters().sni_verified, 2u);
    EXPECT_EQ(core->counters().sni_unverified, 1u);
}

TEST_F(dns_verify, a_cname_chain_binds_the_question_to_the_final_address) {
    dt::response_builder r;
    r.question_name = dt::name("api.stripe.com");
    r.cname("api.stripe.com", 300, "edge.cdn.example").a("edge.cdn.example", 20, 198, 51, 100, 9);
    resolve("10.0.0.5", "198.51.100.53", r.build());
    EXPECT_EQ(connect("10.0.0.5", "198.51.100.9", "api.stripe.com"), verdict::consumed);
    // The shortest TTL of the chain (20 s) plus grace.
    now += 50'000;
    EXPECT_EQ(outcome(connect("10.0.0.5", "198.51.100.9", "api.stripe.com")), outcome(drop_reason::sni_unverified));
}

TEST_F(dns_verify, one_host_answer_does_not_vouch_for_another_unless_it_is_an_inside_resolver) {
    resolve("10.0.0.53", "198.51.100.53", answer("api.stripe.com", 60, {198, 51, 100, 7}));
    EXPECT_EQ(outcome(connect("10.0.0.6", "198.51.100.7", "api.stripe.com")), outcome(drop_reason::sni_unverified));
    s.dns.inside_resolvers = {ip("10.0.0.53")};
    use(verify_spec());
    resolve("10.0.0.53", "198.51.100.53", answer("api.stripe.com", 60, {198, 51, 100, 7}));
    EXPECT_EQ(connect("10.0.0.6", "198.51.100.7", "api.stripe.com"), verdict::consumed);
    EXPECT_EQ(core->counters().sni_verified, 1u);
}

TEST_F(dns_verify, report_mode_reports_the_mismatch_and_lets_it_pass) {
    use(verify_spec(policy::rule_mode::report));
    resolve("10.0.0.5", "198.51.100.53", answer("api.stripe.com", 60, {198, 51, 100, 7}));
    EXPECT_EQ(connect("10.0.0.5", "198.51.100.8", "api.stripe.com"), verdict::consumed);
    EXPECT_EQ(core->counters().sni_unverified, 1u);
    EXPECT_EQ(core->counters().policy_would_deny, 1u);
    EXPECT_EQ(drops(drop_reason::sni_unverified), 0u);
    const auto ev = events();
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].kind, policy::security_event_kind::would_deny);
    EXPECT_EQ(ev[0].reason, drop_reason::sni_unverified);
    ASSERT_EQ(ev[0].dns_said_count, 1u);
}

TEST_F(dns_verify, verify_off_reads_no_dns_and_trusts_the_name) {
    use(verify_spec(policy::rule_mode::enforce, std::nullopt));
    resolve("10.0.0.5", "198.51.100.53", answer("api.stripe.com", 60, {198, 51, 100, 7}));
    EXPECT_EQ(core->counters().dns_responses, 0u);
    EXPECT_EQ(connect("10.0.0.5", "198.51.100.8", "api.stripe.com"), verdict::consumed);
    EXPECT_EQ(core->counters().sni_verified + core->counters().sni_unverified, 0u);
}

TEST_F(dns_verify, a_snapshot_without_rules_reads_no_dns) {
    policy::active_policy no_rules{std::shared_ptr<const policy::compiled_policy>()}; // no [policy]: all allowed
    core->use_policy(&no_rules);
    EXPECT_EQ(resolve("10.0.0.5", "198.51.100.53", answer("api.stripe.com", 60, {198, 51, 100, 7})), verdict::forward);
    EXPECT_EQ(core->counters().dns_responses, 0u);
}

TEST_F(dns_verify, the_policy_default_applies_to_hostname_rules_without_their_own) {
    policy::policy_spec spec = verify_spec(policy::rule_mode::enforce, std::nullopt);
    spec.verify = policy::verify_mode::observed;
    use(spec);
    EXPECT_EQ(outcome(connect("10.0.0.5", "198.51.100.8", "api.stripe.com")), outcome(drop_reason::sni_unverified));
}

TEST_F(dns_verify, tcp_answers_are_read_when_whole_in_a_segment) {
    const bytes msg = answer("api.stripe.com", 60, {198, 51, 100, 7});
    bytes framed{static_cast<uint8_t>(msg.size() >> 8), static_cast<uint8_t>(msg.size())};
    framed.insert(framed.end(), msg.begin(), msg.end());
    auto tcp_dns = [&](const bytes& payload) {
        const uint16_t port = next_port++;
        test::bytes syn = from_inside().ipv4("10.0.0.5", "198.51.100.53").tcp(port, 53, net::tcp_syn).tcp_seq(1, 0).build();
        EXPECT_EQ(core->process(side::inside, syn, now), verdict::forward);
        test::bytes synack = from_outside().ipv4("198.51.100.53", "203.0.113.10").tcp(53, port, net::tcp_syn | net::tcp_ack).tcp_seq(100, 2).build();
        EXPECT_EQ(core->process(side::outside, synack, now), verdict::forward);
        test::bytes ack = from_inside().ipv4("10.0.0.5", "198.51.100.53").tcp(port, 53, net::tcp_ack).tcp_seq(2, 101).build();
        EXPECT_EQ(core->process(side::inside, ack, now), verdict::forward);
        test::bytes data = from_outside().ipv4("198.51.100.53", "203.0.113.10").tcp(53, port, net::tcp_ack | net::tcp_psh).tcp_seq(101, 2).payload(payload).build();
        EXPECT_EQ(core->process(side::outside, data, now), verdict::forward);
    };
    tcp_dns(bytes(framed.begin(), framed.begin() + 20)); // the message continues in a later segment
    EXPECT_EQ(core->counters().dns_responses, 0u);
    EXPECT_EQ(core->counters().dns_tcp_unread, 1u);
    tcp_dns(framed);
    EXPECT_EQ(core->counters().dns_responses, 1u);
    EXPECT_EQ(connect("10.0.0.5", "198.51.100.7", "api.stripe.com"), verdict::consumed);
}

TEST_F(dns_verify, answers_from_servers_outside_the_list_are_not_recorded) {
    s.dns.servers = {ip("198.51.100.53")};
    use(verify_spec());
    resolve("10.0.0.5", "198.51.100.66", answer("api.stripe.com", 60, {198, 51, 100, 7}));
    EXPECT_EQ(core->counters().dns_not_from_server, 1u);
    EXPECT_EQ(outcome(connect("10.0.0.5", "198.51.100.7", "api.stripe.com")), outcome(drop_reason::sni_unverified));
    resolve("10.0.0.5", "198.51.100.53", answer("api.stripe.com", 60, {198, 51, 100, 7}));
    EXPECT_EQ(connect("10.0.0.5", "198.51.100.7", "api.stripe.com"), verdict::consumed);
}

TEST_F(dns_verify, ipv6_answers_verify_ipv6_flows) {
    dt::response_builder r;
    r.question_name = dt::name("api.stripe.com");
    r.qtype = 28;
    r.aaaa("api.stripe.com", 60, {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x07});
    test::bytes q = from_inside().ipv6("fd00:0:0:1::5", "2001:db8::53").udp(41000, 53).payload("q").build();
    ASSERT_EQ(core->process(side::inside, q, now), verdict::forward);
    test::bytes a = from_outside().ipv6("2001:db8::53", "fd00:0:0:1::5").udp(53, 41000).payload(r.build()).build();
    ASSERT_EQ(core->process(side::outside, a, now), verdict::forward);
    EXPECT_EQ(core->counters().dns_responses, 1u);
    auto tls6 = [&](const std::string& dst, uint16_t port) {
        test::bytes syn = from_inside().ipv6("fd00:0:0:1::5", dst).tcp(port, 443, net::tcp_syn).tcp_seq(client_isn, 0).build();
        EXPECT_EQ(core->process(side::inside, syn, now), verdict::forward);
        test::bytes synack = from_outside().ipv6(dst, "fd00:0:0:1::5").tcp(443, port, net::tcp_syn | net::tcp_ack).tcp_seq(server_isn, client_isn + 1).build();
        EXPECT_EQ(core->process(side::outside, synack, now), verdict::forward);
        test::bytes hello = from_inside().ipv6("fd00:0:0:1::5", dst).tcp(port, 443, net::tcp_ack | net::tcp_psh).tcp_seq(client_isn + 1, server_isn + 1).payload(client_hello("api.stripe.com")).build();
        return core->process(side::inside, hello, now);
    };
    EXPECT_EQ(tls6("2001:db8::7", 42000), verdict::consumed);
    EXPECT_EQ(outcome(tls6("2001:db8::8", 42001)), outcome(drop_reason::sni_unverified));
}

// Several workers: the owner of the DNS flow shares the (translated) response;
// a peer records it from the copy and then verifies its own flows by it.
TEST_F(dns_verify, a_peer_records_the_shared_copy) {
    steering_settings two;
    two.workers = 2;
    const steering steer(two);
    s.steer = &steer;
    use(verify_spec());
    const packet_result r = resolve("10.0.0.5", "198.51.100.53", answer("api.stripe.com", 60, {198, 51, 100, 7}));
    EXPECT_EQ(r, verdict::forward);
    EXPECT_TRUE(r.share_with_peers);
    EXPECT_TRUE(r.dns_answer);

    settings peer_settings = s;
    peer_settings.worker = 1;
    gateway_core peer(peer_settings);
    peer.use_policy(active.get());
    test::bytes copy = test::frame_builder().eth(inside_mac, inside_hop).ipv4("198.51.100.53", "10.0.0.5").ttl(63).udp(53, 40000).payload(answer("api.stripe.com", 60, {198, 51, 100, 7})).build();
    EXPECT_EQ(peer.learn_from_peer(side::outside, copy, now), verdict::consumed);
    EXPECT_EQ(peer.counters().dns_copies_learned, 1u);
    EXPECT_EQ(peer.counters().dns_responses, 0u); // counted once, by the owner
    EXPECT_EQ(peer.dns().table().size(), 1u);
}

// The observer's own seconds clock: bindings expire across the gateway
// clock's 32-bit millisecond wrap, not revived by it; an earlier time (another
// caller's clock read) does not move it back.
TEST(dns_observer_clock, ttl_and_grace_hold_across_the_millisecond_wrap) {
    stats::worker_counters counters;
    dns_settings ds; // grace 30 s
    dns_observer obs(ds, counters);
    test::bytes f = from_outside().ipv4("198.51.100.53", "10.0.0.5").udp(53, 40000)
                        .payload(answer("api.stripe.com", 60, {198, 51, 100, 7})).build();
    net::packet_view v;
    ASSERT_EQ(net::parse_frame(f, v), stats::no_drop);
    const uint32_t start = 0xffffffffu - 10'000; // 10 s before the wrap
    EXPECT_TRUE(obs.observe(ip("10.0.0.5"), ip("198.51.100.53"), f, v, start));
    EXPECT_EQ(counters.dns_responses, 1u);
    const auto at = [&](uint32_t after_ms) { return static_cast<uint32_t>(start + after_ms); };
    EXPECT_TRUE(obs.verified(ip("10.0.0.5"), "api.stripe.com", ip("198.51.100.7"), at(20'000))); // wrapped
    EXPECT_TRUE(obs.verified(ip("10.0.0.5"), "API.Stripe.com.", ip("198.51.100.7"), at(19'000))); // earlier: ignored
    EXPECT_FALSE(obs.verified(ip("10.0.0.5"), "api.stripe.com", ip("198.51.100.8"), at(20'000)));
    EXPECT_FALSE(obs.verified(ip("10.0.0.6"), "api.stripe.com", ip("198.51.100.7"), at(20'000)));
    for (uint32_t t = 20'000; t <= 89'000; t += 1'000) obs.tick(at(t));
    EXPECT_TRUE(obs.verified(ip("10.0.0.5"), "api.stripe.com", ip("198.51.100.7"), at(89'000)));
    EXPECT_FALSE(obs.verified(ip("10.0.0.5"), "api.stripe.com", ip("198.51.100.7"), at(90'000)));
    EXPECT_EQ(counters.sni_verified, 3u);
    EXPECT_EQ(counters.sni_unverified, 3u);
    net::ip_address said[4];
    EXPECT_EQ(obs.said(ip("10.0.0.5"), "api.stripe.com", at(90'000), said), 0u);
}

} // namespace
} // namespace egress::gateway
