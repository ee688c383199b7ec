// Hostname conditions: pattern validation (exact error texts), wildcard
// semantics, case and trailing dots, and how evaluate() treats hostname rules
// when the name is known, unknown (pending / QUIC / skipped) or absent.
#include <gtest/gtest.h>

#include "policy/compiled_policy.hpp"
#include "policy/hostname_matcher.hpp"
#include "policy_loader.hpp"

namespace egress::policy {
namespace {

net::ip_address ip(const char* s) { return *net::ip_address::parse(s); }

std::string why_of(std::string_view pattern) {
    std::string why;
    EXPECT_FALSE(normalize_hostname_pattern(pattern, &why)) << pattern;
    return why;
}

TEST(hostname_pattern, normalises_case_and_trailing_dot) {
    EXPECT_EQ(normalize_hostname_pattern("API.Stripe.com.", nullptr), "api.stripe.com");
    EXPECT_EQ(normalize_hostname_pattern("*.GitHub.com", nullptr), "*.github.com");
    EXPECT_EQ(normalize_hostname_pattern("xn--bcher-kva.example", nullptr), "xn--bcher-kva.example");
}

TEST(hostname_pattern, refuses_what_is_not_a_hostname) {
    const std::string expected = "expected a hostname like \"api.example.com\" or \"*.example.com\" (ASCII letters, "
                                 "digits, '-', '_'; internationalised names in punycode, e.g. \"xn--bcher-kva.example\"), got ";
    EXPECT_EQ(why_of("bücher.example"), expected + "\"bücher.example\" (not ASCII: write the name in punycode)");
    EXPECT_EQ(why_of("*.*.example.com"), expected + "\"*.*.example.com\" (a wildcard is only allowed as the whole first label: \"*.example.com\")");
    EXPECT_EQ(why_of("api*.example.com"), expected + "\"api*.example.com\" (a wildcard is only allowed as the whole first label: \"*.example.com\")");
    EXPECT_EQ(why_of("a..b"), expected + "\"a..b\"");
    EXPECT_EQ(why_of(""), expected + "\"\"");
    EXPECT_EQ(why_of("*."), expected + "\"*.\" (a wildcard is only allowed as the whole first label: \"*.example.com\")");
    EXPECT_EQ(why_of("exa mple.com"), expected + "\"exa mple.com\"");
    EXPECT_EQ(why_of(std::string(64, 'a') + ".com"), expected + "\"" + std::string(64, 'a') + ".com\"");
}

TEST(hostname_matcher, exact_and_wildcard_semantics) {
    const hostname_matcher m({{0, "api.stripe.com"}, {1, "*.github.com"}, {1, "github.com"}, {2, "*.example.com"}});
    const auto sets = [&](std::string_view host) {
        uint32_t out[8];
        bool overflow = false;
        const std::size_t n = m.match(host, out, overflow);
        return std::vector<uint32_t>(out, out + n);
    };
    EXPECT_EQ(sets("api.stripe.com"), (std::vector<uint32_t>{0}));
    EXPECT_EQ(sets("API.STRIPE.COM."), (std::vector<uint32_t>{0}));
    EXPECT_EQ(sets("x.api.stripe.com"), (std::vector<uint32_t>{}));
    EXPECT_EQ(sets("api.stripe.com.evil.net"), (std::vector<uint32_t>{}));
    EXPECT_EQ(sets("a.github.com"), (std::vector<uint32_t>{1}));
    EXPECT_EQ(sets("a.b.github.com"), (std::vector<uint32_t>{1}));
    EXPECT_EQ(sets("github.com"), (std::vector<uint32_t>{1})); // the exact pattern of the same set
    EXPECT_EQ(sets("example.com"), (std::vector<uint32_t>{}));  // "*." needs at least one label
    EXPECT_EQ(sets("example.com.evil.net"), (std::vector<uint32_t>{}));
    EXPECT_EQ(sets("notexample.com"), (std::vector<uint32_t>{}));
    EXPECT_EQ(sets(".example.com"), (std::vector<uint32_t>{}));
    EXPECT_EQ(sets(""), (std::vector<uint32_t>{}));
}

TEST(hostname_rules, evaluate_with_known_unknown_and_absent_names) {
    policy_spec spec;
    spec.default_action = verdict::deny;
    rule_spec allow_stripe;
    allow_stripe.name = "stripe";
    allow_stripe.destinations = {*cidr::parse("0.0.0.0/0")};
    allow_stripe.proto = protocol::any;
    allow_stripe.hostnames = {"api.stripe.com"};
    allow_stripe.action = verdict::allow;
    rule_spec ssh;
    ssh.name = "ssh";
    ssh.destinations = {*cidr::parse("0.0.0.0/0")};
    ssh.proto = protocol::tcp;
    ssh.ports = {{22, 22}};
    ssh.action = verdict::allow;
    spec.rules = {allow_stripe, ssh};
    const auto p = compiled_policy::compile(spec).policy;
    ASSERT_TRUE(p);
    const auto q = [](uint8_t proto, uint16_t port, host_state h = host_state::unknown, std::string_view name = {}) {
        return query{ip("10.0.0.1"), ip("198.51.100.1"), proto, port, h, name};
    };
    EXPECT_EQ(p->evaluate(q(6, 443)), (decision{verdict::allow, false, no_rule, no_rule, true, false})); // pending
    EXPECT_EQ(p->evaluate(q(6, 80)), (decision{verdict::allow, false, no_rule, no_rule, true, false}));
    EXPECT_EQ(p->evaluate(q(6, 443, host_state::known, "api.stripe.com")), (decision{verdict::allow, false, 0}));
    EXPECT_EQ(p->evaluate(q(6, 443, host_state::known, "evil.com")), (decision{verdict::deny, false, no_rule}));
    EXPECT_EQ(p->evaluate(q(6, 443, host_state::absent)), (decision{verdict::deny, false, no_rule}));
    EXPECT_EQ(p->evaluate(q(6, 22)), (decision{verdict::allow, false, 1})); // no name on port 22: rule skipped
    EXPECT_EQ(p->evaluate(q(17, 443)), (decision{verdict::deny, false, 0, no_rule, false, true})); // QUIC
    EXPECT_EQ(p->inspection_for(6, 443), inspection_kind::tls);
    EXPECT_EQ(p->inspection_for(6, 80), inspection_kind::http);
    EXPECT_EQ(p->inspection_for(17, 443), inspection_kind::quic);
    EXPECT_EQ(p->inspection_for(6, 22), inspection_kind::none);
}

std::vector<std::string> errors_of(std::string_view text) {
    std::vector<std::string> out;
    for (const auto& e : load_policy_string(text, "p.toml").errors) out.push_back(e.to_string());
    return out;
}

TEST(hostname_rules, loader_reads_and_checks_hostnames_and_inspection_keys) {
    const auto r = load_policy_string(R"([policy]
tls_ports = [443, 8443]
http_ports = ["80-81"]
no_sni = "allow"
ech = "deny"
quic = "allow"
[[policy.rule]]
name = "saas"
destinations = ["0.0.0.0/0"]
protocol = "tcp"
hostnames = ["API.stripe.com.", "*.github.com"]
action = "allow"
)", "p.toml");
    ASSERT_TRUE(r.errors.empty()) << r.errors.front().to_string();
    EXPECT_EQ(r.spec->rules[0].hostnames, (std::vector<std::string>{"api.stripe.com", "*.github.com"}));
    EXPECT_EQ(r.spec->inspection.tls_ports, (std::vector<port_range>{{443, 443}, {8443, 8443}}));
    EXPECT_EQ(r.spec->inspection.http_ports, (std::vector<port_range>{{80, 81}}));
    EXPECT_EQ(r.spec->inspection.no_sni, verdict::allow);
    EXPECT_EQ(r.spec->inspection.ech, ech_action::deny);
    EXPECT_EQ(r.spec->inspection.quic, quic_action::allow);
    EXPECT_EQ(r.spec->inspection.not_tls, verdict::deny);

    EXPECT_EQ(errors_of("[[policy.rule]]\nname = \"a\"\ndestinations = [\"0.0.0.0/0\"]\nprotocol = \"udp\"\n"
                        "hostnames = [\"x.com\"]\naction = \"allow\"\n"),
              (std::vector<std::string>{"p.toml:5:13: policy.rule[0].hostnames: hostnames need protocol \"tcp\" or \"any\", got protocol \"udp\""}));
    EXPECT_EQ(errors_of("[[policy.rule]]\nname = \"a\"\ndestinations = [\"0.0.0.0/0\"]\nhostnames = []\naction = \"allow\"\n"),
              (std::vector<std::string>{"p.toml:4:13: policy.rule[0].hostnames: expected an array of at least one hostname, got an empty array"}));
    EXPECT_EQ(errors_of("[[policy.rule]]\nname = \"a\"\ndestinations = [\"0.0.0.0/0\"]\nhostnames = [\"ok.com\", 3, \"bücher.de\"]\naction = \"allow\"\n"),
              (std::vector<std::string>{
                  "p.toml:4:24: policy.rule[0].hostnames[1]: expected a hostname like \"api.example.com\" or \"*.example.com\", got an integer",
                  "p.toml:4:27: policy.rule[0].hostnames[2]: expected a hostname like \"api.example.com\" or \"*.example.com\" (ASCII letters, digits, '-', '_'; internationalised names in punycode, e.g. \"xn--bcher-kva.example\"), got \"bücher.de\" (not ASCII: write the name in punycode)"}));
    EXPECT_EQ(errors_of("[policy]\necho = \"deny\"\ntls_ports = [0]\nech = \"inner\"\n"),
              (std::vector<std::string>{"p.toml:2:1: policy.echo: unknown key (did you mean ech?)",
                                        "p.toml:3:14: policy.tls_ports[0]: expected a port 1..65535 or a range like \"8000-8080\", got 0",
                                        "p.toml:4:7: policy.ech: expected \"outer\" or \"deny\", got \"inner\""}));
}

// quic = "inspect": QUIC at a hostname rule waits for its name like TLS (read
// from its Initials by the gateway); with the name it is matched as any flow.
TEST(hostname_rules, quic_inspect_makes_quic_pending_at_hostname_rules) {
    const auto r = load_policy_string(R"([policy]
quic = "inspect"
[[policy.rule]]
name = "saas"
destinations = ["0.0.0.0/0"]
hostnames = ["api.stripe.com"]
action = "allow"
)", "p.toml");
    ASSERT_TRUE(r.errors.empty()) << r.errors.front().to_string();
    EXPECT_EQ(r.spec->inspection.quic, quic_action::inspect);
    const auto p = compiled_policy::compile(*r.spec).policy;
    ASSERT_TRUE(p);
    const auto q = [](host_state h, std::string_view name = {}) {
        return query{ip("10.0.0.1"), ip("198.51.100.1"), 17, 443, h, name};
    };
    EXPECT_EQ(p->evaluate(q(host_state::unknown)), (decision{verdict::allow, false, no_rule, no_rule, true, false}));
    EXPECT_EQ(p->evaluate(q(host_state::known, "api.stripe.com")), (decision{verdict::allow, false, 0}));
    EXPECT_EQ(p->evaluate(q(host_state::known, "evil.com")), (decision{verdict::deny, false, no_rule}));
    EXPECT_EQ(errors_of("[policy]\nquic = \"sniff\"\n"),
              (std::vector<std::string>{"p.toml:2:8: policy.quic: expected \"allow\", \"deny\" or \"inspect\", got \"sniff\""}));
}

} // namespace
} // namespace egress::policy

namespace egress::policy {
namespace {

TEST(dlp_patterns, loader_reads_patterns_and_reports_errors_at_their_keys) {
    const auto r = load_policy_string(R"([dlp]
depth = 4096
on_exhaustion = "fail_closed"
[[dlp.pattern]]
name = "aws"
regex = 'AKIA[0-9A-Z]{16}'
flags = ["caseless"]
severity = "critical"
action = "block"
[[dlp.pattern]]
name = "card"
regex = '\b(?:\d[ -]?){13,19}\b'
validator = "luhn"
direction = "both"
)", "p.toml");
    ASSERT_TRUE(r.errors.empty()) << r.errors.front().to_string();
    EXPECT_TRUE(r.present);
    ASSERT_EQ(r.spec->dlp.patterns.size(), 2u);
    EXPECT_EQ(r.spec->dlp.depth, 4096u);
    EXPECT_TRUE(r.spec->dlp.fail_closed);
    EXPECT_TRUE(r.spec->dlp.patterns[0].caseless);
    EXPECT_EQ(r.spec->dlp.patterns[0].action, dlp::dlp_action::block);
    EXPECT_EQ(r.spec->dlp.patterns[1].validator, dlp::dlp_validator::luhn);
    EXPECT_EQ(r.spec->dlp.patterns[1].direction, dlp::dlp_pattern_direction::both);
    ASSERT_TRUE(r.policy->dlp());
    EXPECT_EQ(r.policy->dlp()->patterns().size(), 2u);

    EXPECT_EQ(errors_of("[[dlp.pattern]]\nname = \"a\"\nregex = 'x('\n[[dlp.pattern]]\nname = \"a\"\nregx = 'y'\n"
                        "flags = [\"nocase\"]\naction = \"drop\"\n"),
              (std::vector<std::string>{
                  "p.toml:3:9: dlp.pattern[0].regex: pattern \"a\": Missing close parenthesis for group started at index 1.",
                  "p.toml:4:1: dlp.pattern[1].regex: required key missing",
                  "p.toml:5:8: dlp.pattern[1].name: duplicate pattern name \"a\" (first at line 1)",
                  "p.toml:6:1: dlp.pattern[1].regx: unknown key (did you mean regex?)",
                  "p.toml:7:10: dlp.pattern[1].flags[0]: expected \"caseless\", \"dotall\" or \"multiline\", got \"nocase\"",
                  "p.toml:8:10: dlp.pattern[1].action: expected \"alert\" or \"block\", got \"drop\"",
              }));
    EXPECT_EQ(errors_of("[[dlp.pattern]]\nname = \"e\"\nregex = 'a*'\n"),
              (std::vector<std::string>{"p.toml:3:9: dlp.pattern[0].regex: pattern \"e\": Pattern matches empty buffer; "
                                        "use HS_FLAG_ALLOWEMPTY to enable support."}));
}

} // namespace
} // namespace egress::policy

namespace egress::policy {
namespace {

// Several workers: one Hyperscan scratch per worker, picked by query::worker.
TEST(hostname_rules, each_worker_matches_with_its_own_scratch) {
    policy_spec spec;
    spec.default_action = verdict::deny;
    spec.workers = 3;
    rule_spec allow_stripe;
    allow_stripe.name = "stripe";
    allow_stripe.destinations = {*cidr::parse("0.0.0.0/0")};
    allow_stripe.proto = protocol::any;
    allow_stripe.hostnames = {"api.stripe.com"};
    allow_stripe.action = verdict::allow;
    spec.rules = {allow_stripe};
    const auto p = compiled_policy::compile(spec).policy;
    ASSERT_TRUE(p);
    for (unsigned w = 0; w < 3; ++w) {
        const query q{ip("10.0.0.1"), ip("198.51.100.1"), 6, 443, host_state::known, "api.stripe.com", w};
        EXPECT_EQ(p->evaluate(q), (decision{verdict::allow, false, 0})) << w;
    }
    // The control plane's scratch (explain) comes after the workers'.
    ASSERT_EQ(p->control_worker(), 3u);
    const query control{ip("10.0.0.1"), ip("198.51.100.1"), 6, 443, host_state::known, "api.stripe.com", 3};
    EXPECT_EQ(p->evaluate(control), (decision{verdict::allow, false, 0}));
    // A worker index without a scratch never borrows another's: no match.
    const query beyond{ip("10.0.0.1"), ip("198.51.100.1"), 6, 443, host_state::known, "api.stripe.com", 4};
    EXPECT_EQ(p->evaluate(beyond), (decision{verdict::deny, false, no_rule}));
    const hostname_matcher m({{0, "api.stripe.com"}}, 2);
    EXPECT_EQ(m.control_scratch(), 2u);
    uint32_t out[4];
    bool overflow = false;
    EXPECT_EQ(m.match("api.stripe.com", out, overflow, 2), 1u);
    EXPECT_FALSE(overflow);
    EXPECT_EQ(m.match("api.stripe.com", out, overflow, 3), 0u);
    EXPECT_TRUE(overflow);
}

} // namespace
} // namespace egress::policy
