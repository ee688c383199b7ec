// verify = "off" | "observed" | "resolve" (issue 16): read per hostname rule
// and as the [policy] default, with exact error texts; evaluate() marks an
// allow by a verifying hostname rule on a known name (report mode: report;
// resolve: decision::resolve). "resolve" needs [dns] resolvers.
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "policy_loader.hpp"

namespace {

using namespace egress::policy;
using egress::net::ip_address;

ip_address ip(std::string_view s) { return ip_address::parse(s).value(); }

std::vector<std::string> errors_of(std::string_view text) {
    const policy_load_result r = load_policy_string(text, "p.toml");
    std::vector<std::string> out;
    for (const auto& e : r.errors) out.push_back(e.to_string());
    return out;
}

constexpr std::string_view rules = R"(
[[policy.rule]]
name = "stripe"
destinations = ["0.0.0.0/0"]
protocol = "tcp"
hostnames = ["api.stripe.com"]
action = "allow"
verify = "observed"

[[policy.rule]]
name = "github"
destinations = ["0.0.0.0/0"]
protocol = "tcp"
hostnames = ["*.github.com"]
action = "allow"
mode = "report"

[[policy.rule]]
name = "no-evil"
destinations = ["0.0.0.0/0"]
protocol = "tcp"
hostnames = ["evil.example"]
action = "deny"
)";

query named(std::string_view name) {
    return {ip("10.0.0.5"), ip("198.51.100.7"), 6, 443, host_state::known, name};
}

TEST(policy_verify, a_rule_and_the_policy_default) {
    const policy_load_result r = load_policy_string(std::string("[policy]\nverify = \"observed\"\n") + std::string(rules), "p.toml");
    ASSERT_TRUE(r.errors.empty()) << r.errors.front().to_string();
    EXPECT_TRUE(r.policy->verifies_observed());
    EXPECT_EQ(r.spec->verify, verify_mode::observed);
    EXPECT_EQ(r.spec->rules[0].verify, verify_mode::observed);
    EXPECT_FALSE(r.spec->rules[1].verify.has_value());
    EXPECT_EQ(r.policy->evaluate(named("api.stripe.com")).verify, verify_check::enforce);
    // github has no verify of its own: the policy's; report mode reports.
    EXPECT_EQ(r.policy->evaluate(named("api.github.com")).verify, verify_check::report);
    // A deny needs no proof; a pending or absent name is not checked.
    EXPECT_EQ(r.policy->evaluate(named("evil.example")).verify, verify_check::none);
    EXPECT_TRUE(r.policy->evaluate({ip("10.0.0.5"), ip("198.51.100.7"), 6, 443}).pending);
    EXPECT_EQ(r.policy->evaluate({ip("10.0.0.5"), ip("198.51.100.7"), 6, 443}).verify, verify_check::none);
    EXPECT_EQ(r.policy->rules()[1].definition.find("verify=observed") != std::string::npos, true);
}

TEST(policy_verify, off_by_default) {
    const policy_load_result r = load_policy_string(std::string("[policy]\n") + std::string(rules), "p.toml");
    ASSERT_TRUE(r.errors.empty());
    EXPECT_TRUE(r.policy->verifies_observed()); // the stripe rule's own
    EXPECT_EQ(r.policy->evaluate(named("api.github.com")).verify, verify_check::none);
    const policy_load_result none = load_policy_string("[policy]\ndefault = \"allow\"\n", "p.toml");
    ASSERT_TRUE(none.errors.empty());
    EXPECT_FALSE(none.policy->verifies_observed());
}

TEST(policy_verify, resolve_asks_egressds_own_resolvers) {
    const std::string dns = "[dns]\nresolvers = [\"127.0.0.1:5353\"]\n";
    const policy_load_result r =
        load_policy_string(dns + "[policy]\nverify = \"resolve\"\n" + std::string(rules), "p.toml");
    ASSERT_TRUE(r.errors.empty()) << r.errors.front().to_string();
    EXPECT_EQ(r.spec->verify, verify_mode::resolve);
    // stripe's own verify = "observed"; github takes the policy's "resolve".
    EXPECT_FALSE(r.policy->evaluate(named("api.stripe.com")).resolve);
    const decision github = r.policy->evaluate(named("api.github.com"));
    EXPECT_EQ(github.verify, verify_check::report);
    EXPECT_TRUE(github.resolve);
    EXPECT_NE(r.policy->rules()[1].definition.find("verify=resolve"), std::string::npos);
    EXPECT_FALSE(r.policy->evaluate(named("evil.example")).resolve);
}

TEST(policy_verify, errors_name_file_line_column_and_key) {
    EXPECT_EQ(errors_of("[policy]\nverify = \"resolved\"\n"),
              (std::vector<std::string>{
                  R"(p.toml:2:10: policy.verify: expected "off", "observed" or "resolve", got "resolved")"}));
    EXPECT_EQ(errors_of("[policy]\nverify = \"resolve\"\n"),
              (std::vector<std::string>{
                  R"(p.toml:2:10: policy.verify: verify = "resolve" needs [dns] resolvers (the servers egressd asks))"}));
    EXPECT_EQ(errors_of("[dns]\nresolvers = []\n[policy]\n[[policy.rule]]\nname = \"a\"\ndestinations = [\"::/0\"]\n"
                        "protocol = \"tcp\"\nhostnames = [\"a.example\"]\naction = \"allow\"\nverify = \"resolve\"\n"),
              (std::vector<std::string>{
                  R"(p.toml:10:10: policy.rule[0].verify: verify = "resolve" needs [dns] resolvers (the servers egressd asks))"}));
    EXPECT_EQ(errors_of("[policy]\n[[policy.rule]]\nname = \"a\"\ndestinations = [\"::/0\"]\naction = \"allow\"\n"
                        "verify = \"observed\"\n"),
              (std::vector<std::string>{
                  "p.toml:6:10: policy.rule[0].verify: verify needs hostnames (the names it checks against DNS)"}));
    EXPECT_EQ(errors_of("[policy]\n[[policy.rule]]\nname = \"a\"\ndestinations = [\"::/0\"]\nprotocol = \"tcp\"\n"
                        "hostnames = [\"a.example\"]\naction = \"allow\"\nverify = true\n"),
              (std::vector<std::string>{
                  R"(p.toml:8:10: policy.rule[0].verify: expected "off", "observed" or "resolve", got a boolean)"}));
}

} // namespace
