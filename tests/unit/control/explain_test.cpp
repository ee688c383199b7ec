// explain (controlplane/policy_explain, lib/policy/explain): the exact answer
// for a policy, and agreement with the packet path — one table of connections
// is explained and also sent through a real gateway_core under the same
// snapshot; the verdicts must agree on every row.
#include "policy_explain.hpp"

#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "../gateway/gateway_fixture.hpp"
#include "../tls/hello_builder.hpp"
#include "control_test_util.hpp"
#include "gateway/gateway_core.hpp"
#include "policy_control.hpp"
#include "policy_loader.hpp"

namespace egress::controlplane {
namespace {

using stats::drop_reason;
using stats::no_drop;
using stats::side;
using bytes = std::vector<uint8_t>;
using namespace gateway::testing_network;

constexpr std::string_view policy_text = R"([policy]
default = "deny"

[[policy.group]]
name = "web"
cidrs = ["10.0.0.0/28"]

[[policy.rule]]
name = "ssh-from-web"
sources = ["web"]
destinations = ["198.51.100.0/24"]
protocol = "tcp"
ports = [22]
action = "allow"

[[policy.rule]]
name = "stripe"
destinations = ["0.0.0.0/0"]
protocol = "tcp"
hostnames = ["api.stripe.com"]
action = "allow"

[[policy.rule]]
name = "dns"
destinations = ["192.0.2.53/32"]
protocol = "udp"
ports = [53]
action = "allow"

[[policy.rule]]
name = "trial"
destinations = ["192.0.2.0/24"]
protocol = "tcp"
ports = [8080]
action = "deny"
mode = "report"
)";

std::shared_ptr<const policy::compiled_policy> compiled() {
    auto loaded = policy::load_policy_string(policy_text, "p.toml");
    EXPECT_TRUE(loaded.errors.empty()) << (loaded.errors.empty() ? "" : loaded.errors.front().to_string());
    return std::shared_ptr<const policy::compiled_policy>(std::move(loaded.policy));
}

json explain(const policy::active_policy& p, const json& request) {
    return explanation_json(p, explain_query_of(request_args("explain", request)), "p.toml");
}

std::vector<std::string> lines_of(const json& j) { return j["lines"].get<std::vector<std::string>>(); }

TEST(explain, a_denied_connection_names_every_rule_and_why) {
    const policy::active_policy p(compiled());
    const json j = explain(p, {{"src", "10.0.0.99"}, {"dst", "198.51.100.7"}, {"proto", "tcp"}, {"port", 22u}});
    EXPECT_EQ(j["action"], "deny");
    EXPECT_EQ(j["decided_by"], "default");
    EXPECT_EQ(j["rule"], nullptr);
    EXPECT_EQ(lines_of(j), (std::vector<std::string>{
                               "10.0.0.99 -> 198.51.100.7 tcp/22 (policy version 1)",
                               "decision: deny by the default action",
                               "rules:",
                               "  1 \"ssh-from-web\" p.toml:8 (enforce allow): source not in its source groups",
                               "  2 \"stripe\" p.toml:16 (enforce allow): hostname rule; no name is read on this protocol and port",
                               "  3 \"dns\" p.toml:23 (enforce allow): destination not in its destinations",
                               "  4 \"trial\" p.toml:30 (report deny): destination not in its destinations",
                           }));
}

TEST(explain, a_name_is_evaluated_as_the_gateway_does_once_it_is_read) {
    const policy::active_policy p(compiled());
    const json first = explain(p, {{"src", "10.0.0.5"}, {"dst", "203.0.113.80"}, {"port", 443u}});
    EXPECT_EQ(first["decided_by"], "name_needed");
    EXPECT_EQ(lines_of(first)[1],
              "decision: waits for the name (TLS SNI): rule \"stripe\" has hostnames; give --sni or --host");
    const json named = explain(p, {{"src", "10.0.0.5"}, {"dst", "203.0.113.80"}, {"port", 443u}, {"sni", "api.stripe.com"}});
    EXPECT_EQ(named["action"], "allow");
    EXPECT_EQ(named["rule"], "stripe");
    EXPECT_EQ(named["line"], 16);
    EXPECT_EQ(named["inspection"], "tls");
    EXPECT_EQ(lines_of(named), (std::vector<std::string>{
                                   "10.0.0.5 -> 203.0.113.80 tcp/443 name \"api.stripe.com\" (policy version 1)",
                                   "decision: allow by rule \"stripe\" (p.toml:16)",
                                   "name read on this port: tls",
                                   "rules (evaluated with the name):",
                                   "  1 \"ssh-from-web\" p.toml:8 (enforce allow): destination not in its destinations",
                                   "  2 \"stripe\" p.toml:16 (enforce allow): matched",
                                   "  3 \"dns\" p.toml:23 (enforce allow): not reached (an earlier rule decided)",
                                   "  4 \"trial\" p.toml:30 (report deny): not reached (an earlier rule decided)",
                               }));
    const json nameless = explain(p, {{"src", "10.0.0.5"}, {"dst", "203.0.113.80"}, {"port", 443u}, {"sni", ""}});
    EXPECT_EQ(lines_of(nameless)[1], "decision: deny by [policy.inspection] no_sni: the flow sends no name");
}

TEST(explain, emergency_blocks_come_first_and_report_mode_says_would_deny) {
    auto rules = compiled();
    const policy::active_policy blocked(rules, std::make_shared<policy::policy_counters>(4),
                                        std::make_shared<const policy::block_list>(std::vector<policy::block_entry>{
                                            {*policy::cidr::parse("198.51.100.0/24"), 0, 0}}),
                                        1, 7);
    const json j = explain(blocked, {{"src", "10.0.0.5"}, {"dst", "198.51.100.7"}, {"port", 22u}});
    EXPECT_EQ(j["decided_by"], "emergency_block");
    EXPECT_EQ(j["block"], "198.51.100.0/24");
    EXPECT_EQ(lines_of(j)[1], "decision: deny by emergency block 198.51.100.0/24");
    EXPECT_EQ(lines_of(j)[3], "  1 \"ssh-from-web\" p.toml:8 (enforce allow): not reached (an earlier rule decided)");
    const json trial = explain(blocked, {{"src", "10.0.0.5"}, {"dst", "192.0.2.9"}, {"port", 8080u}});
    EXPECT_EQ(trial["action"], "allow");
    EXPECT_EQ(trial["would_deny"], true);
    EXPECT_EQ(lines_of(trial)[1], "decision: allow by rule \"trial\" (p.toml:30), report mode: would deny");
}

TEST(explain, a_verified_name_says_dns_must_agree) {
    std::string text(policy_text);
    text.replace(text.find("hostnames = [\"api.stripe.com\"]\n"), 31, "hostnames = [\"api.stripe.com\"]\nverify = \"observed\"\n");
    auto loaded = policy::load_policy_string(text, "p.toml");
    ASSERT_TRUE(loaded.errors.empty()) << loaded.errors.front().to_string();
    const policy::active_policy p(std::shared_ptr<const policy::compiled_policy>(std::move(loaded.policy)));
    const json named = explain(p, {{"src", "10.0.0.5"}, {"dst", "203.0.113.80"}, {"port", 443u}, {"sni", "api.stripe.com"}});
    EXPECT_EQ(named["verify"], "observed");
    EXPECT_EQ(lines_of(named)[1],
              "decision: allow by rule \"stripe\" (p.toml:16); only to an address DNS gave the name (verify = observed)");
    const json plain = explain(policy::active_policy(compiled()),
                               {{"src", "10.0.0.5"}, {"dst", "203.0.113.80"}, {"port", 443u}, {"sni", "api.stripe.com"}});
    EXPECT_FALSE(plain.contains("verify"));
    text.replace(text.find("verify = \"observed\""), 19, "verify = \"resolve\" ");
    auto resolving = policy::load_policy_string("[dns]\nresolvers = [\"127.0.0.1\"]\n" + text, "p.toml");
    ASSERT_TRUE(resolving.errors.empty()) << resolving.errors.front().to_string();
    const policy::active_policy r(std::shared_ptr<const policy::compiled_policy>(std::move(resolving.policy)));
    const json asked = explain(r, {{"src", "10.0.0.5"}, {"dst", "203.0.113.80"}, {"port", 443u}, {"sni", "api.stripe.com"}});
    EXPECT_EQ(asked["verify"], "resolve");
    EXPECT_EQ(lines_of(asked)[1], "decision: allow by rule \"stripe\" (p.toml:18); only to an address egressd's "
                                  "resolvers give the name (verify = resolve)");
}

TEST(explain, request_errors_name_the_argument) {
    const policy::active_policy p(compiled());
    const auto error = [&](const json& req) {
        try {
            explain(p, req);
        } catch (const request_error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_EQ(error({{"dst", "192.0.2.1"}, {"port", 1u}}), "explain: src: expected an IPv4 or IPv6 address, got nothing");
    EXPECT_EQ(error({{"src", "10.0.0.1"}, {"dst", "192.0.2.1"}}), "explain: port: expected an integer from 1 to 65535, got nothing");
    EXPECT_EQ(error({{"src", "10.0.0.1"}, {"dst", "2001:db8::1"}, {"port", 1u}}), "explain: src and dst: one address family");
    EXPECT_EQ(error({{"src", "10.0.0.1"}, {"dst", "192.0.2.1"}, {"port", 1u}, {"proto", "sctp"}}),
              "explain: proto: expected tcp, udp, icmp, icmpv6 or a protocol number, got \"sctp\"");
    EXPECT_EQ(error({{"src", "10.0.0.1"}, {"dst", "192.0.2.1"}, {"port", 1u}, {"sni", "a"}, {"host", "b"}}),
              "explain: give sni or host, not both");
}

// ---------------------------------------------------------------- agreement

struct row {
    std::string src;
    std::string dst;
    std::string proto;
    uint16_t port;
    std::optional<std::string> name; // the ClientHello's SNI ("" none); nullopt: SYN only
};

bytes client_hello(std::string_view sni) {
    tls::test::hello_builder h;
    if (!sni.empty()) h.extensions.push_back(tls::test::sni_ext(sni));
    h.extensions.push_back(tls::test::supported_versions_ext());
    return tls::test::records(h.message());
}

// The gateway's verdict for the connection: allow when its packets pass (its
// hello: released by the hold point).
std::string gateway_verdict(const std::shared_ptr<const policy::compiled_policy>& rules, const row& r) {
    policy::active_policy p(rules);
    gateway::gateway_core core(make_settings());
    core.use_policy(&p);
    if (r.proto == "udp") {
        test::bytes d = from_inside().ipv4(r.src, r.dst).udp(5000, r.port).payload_size(10).build();
        return core.process(side::inside, d, 10) == no_drop ? "allow" : "deny";
    }
    constexpr uint32_t client_isn = 1000, server_isn = 5000;
    test::bytes syn = from_inside().ipv4(r.src, r.dst).tcp(40000, r.port, net::tcp_syn).tcp_seq(client_isn, 0).build();
    if (core.process(side::inside, syn, 10) != no_drop) return "deny";
    if (!r.name) return "allow";
    test::bytes synack = from_outside().ipv4(r.dst, "203.0.113.10").tcp(r.port, 40000, net::tcp_syn | net::tcp_ack)
                             .tcp_seq(server_isn, client_isn + 1).build();
    EXPECT_EQ(core.process(side::outside, synack, 10), no_drop);
    test::bytes ack = from_inside().ipv4(r.src, r.dst).tcp(40000, r.port, net::tcp_ack).tcp_seq(client_isn + 1, server_isn + 1).build();
    EXPECT_EQ(core.process(side::inside, ack, 10), no_drop);
    test::bytes hello = from_inside().ipv4(r.src, r.dst).tcp(40000, r.port, net::tcp_ack | net::tcp_psh)
                            .tcp_seq(client_isn + 1, server_isn + 1).payload(client_hello(*r.name)).build();
    // The hold point consumes the hello; allowed, it leaves from the outbox
    // (one segment, to the outside).
    const gateway::packet_result v = core.process(side::inside, hello, 10);
    const bool released = v == gateway::verdict::consumed && core.built_frames().size() == 1 &&
                          core.built_frames()[0].to == side::outside;
    return v == no_drop || released ? "allow" : "deny";
}

TEST(explain, agrees_with_the_gateway_on_every_row) {
    const auto rules = compiled();
    const std::vector<row> rows{
        {"10.0.0.5", "198.51.100.7", "tcp", 22, std::nullopt},     // ssh-from-web
        {"10.0.0.99", "198.51.100.7", "tcp", 22, std::nullopt},    // not in web: default
        {"10.0.0.5", "198.51.100.7", "tcp", 23, std::nullopt},     // default
        {"10.0.0.5", "192.0.2.53", "udp", 53, std::nullopt},       // dns
        {"10.0.0.5", "192.0.2.54", "udp", 53, std::nullopt},       // default
        {"10.0.0.5", "192.0.2.9", "tcp", 8080, std::nullopt},      // trial: would deny, passes
        {"10.0.0.5", "203.0.113.80", "tcp", 443, "api.stripe.com"}, // stripe
        {"10.0.0.5", "203.0.113.80", "tcp", 443, "API.Stripe.com."}, // stripe (case, trailing dot)
        {"10.0.0.5", "203.0.113.80", "tcp", 443, "evil.example"},   // default after the name
        {"10.0.0.5", "203.0.113.80", "tcp", 443, ""},               // no SNI: inspection.no_sni
        {"10.0.0.5", "203.0.113.80", "tcp", 8443, std::nullopt},    // no name read: default
        {"10.0.0.5", "198.51.100.7", "tcp", 22, "api.stripe.com"},  // decided before the name
    };
    const policy::active_policy p(rules);
    std::vector<std::string> explained, gateway;
    for (const row& r : rows) {
        json req{{"src", r.src}, {"dst", r.dst}, {"proto", r.proto}, {"port", r.port}};
        if (r.name) req["sni"] = *r.name;
        explained.push_back(explain(p, req)["action"].get<std::string>());
        gateway.push_back(gateway_verdict(rules, r));
    }
    EXPECT_EQ(explained, (std::vector<std::string>{"allow", "deny", "deny", "allow", "deny", "allow", "allow", "allow",
                                                   "deny", "deny", "deny", "allow"}));
    EXPECT_EQ(explained, gateway);
}

} // namespace
} // namespace egress::controlplane
