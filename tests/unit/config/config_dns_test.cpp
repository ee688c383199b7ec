// [dns] (controlplane/config_dns.cpp): the observed-answers table behind
// verify = "observed", the resolvers and bounds behind verify = "resolve";
// exact error texts.
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "config.hpp"
#include "minimal_config.hpp"

namespace {

using egress::config::load_config_string;
using egress::net::ip_address;

constexpr std::string_view minimal = egress::config::test::minimal_config;

ip_address ip(std::string_view s) { return ip_address::parse(s).value(); }

TEST(config_dns, defaults_and_every_key) {
    const auto d = load_config_string(minimal, "t.toml");
    ASSERT_TRUE(d.errors.empty());
    const auto& dd = d.config->gateway.dns;
    EXPECT_EQ(dd.observed.grace_seconds, 30u);
    EXPECT_EQ(dd.observed.max_bindings, 16384u);
    EXPECT_EQ(dd.observed.max_bindings_per_scope, 1024u);
    EXPECT_EQ(dd.observed.max_scopes, 4096u);
    EXPECT_EQ(dd.observed.max_ttl_seconds, 86400u);
    EXPECT_EQ(dd.observed.max_cname_depth, 8u);
    EXPECT_TRUE(dd.inside_resolvers.empty());
    EXPECT_TRUE(dd.servers.empty());

    std::string text(minimal);
    text += "\n[dns]\ngrace_seconds = 5\nmax_ttl_seconds = 600\nmax_bindings = 1000\nmax_bindings_per_host = 50\n"
            "max_hosts = 20\nmax_cname_depth = 4\ninside_resolvers = [\"10.0.0.53\", \"fd00:0:0:1::53\"]\n"
            "servers = [\"192.0.2.53\"]\n";
    const auto r = load_config_string(text, "t.toml");
    ASSERT_TRUE(r.errors.empty()) << egress::config::format_errors(r.errors);
    const auto& c = r.config->gateway.dns;
    EXPECT_EQ(c.observed.grace_seconds, 5u);
    EXPECT_EQ(c.observed.max_ttl_seconds, 600u);
    EXPECT_EQ(c.observed.max_bindings, 1000u);
    EXPECT_EQ(c.observed.max_bindings_per_scope, 50u);
    EXPECT_EQ(c.observed.max_scopes, 20u);
    EXPECT_EQ(c.observed.max_cname_depth, 4u);
    EXPECT_EQ(c.inside_resolvers, (std::vector<ip_address>{ip("10.0.0.53"), ip("fd00:0:0:1::53")}));
    EXPECT_EQ(c.servers, (std::vector<ip_address>{ip("192.0.2.53")}));
}

TEST(config_dns, resolve_defaults_and_keys) {
    const auto d = load_config_string(minimal, "t.toml");
    ASSERT_TRUE(d.errors.empty());
    const auto& dr = d.config->gateway.dns.resolve;
    EXPECT_TRUE(dr.resolvers.empty());
    EXPECT_EQ(dr.timeout_ms, 2000u);
    EXPECT_FALSE(dr.allow_on_failure);
    EXPECT_EQ(dr.pending_per_worker, 256u);
    EXPECT_EQ(dr.max_outstanding, 1024u);
    EXPECT_EQ(dr.cache_bindings, 16384u);

    std::string text(minimal);
    text += "\n[dns]\nresolvers = [\"192.0.2.53\", \"127.0.0.1:5353\", \"[::1]:5354\", \"2001:db8::53\"]\n"
            "resolve_timeout_ms = 500\non_resolve_failure = \"allow\"\nresolve_pending = 8\n"
            "resolve_outstanding = 16\nresolve_cache = 100\n";
    const auto r = load_config_string(text, "t.toml");
    ASSERT_TRUE(r.errors.empty()) << egress::config::format_errors(r.errors);
    const auto& c = r.config->gateway.dns.resolve;
    ASSERT_EQ(c.resolvers.size(), 4u);
    EXPECT_EQ(c.resolvers[0].address, ip("192.0.2.53"));
    EXPECT_EQ(c.resolvers[0].port, 53u);
    EXPECT_EQ(c.resolvers[1].address, ip("127.0.0.1"));
    EXPECT_EQ(c.resolvers[1].port, 5353u);
    EXPECT_EQ(c.resolvers[2].address, ip("::1"));
    EXPECT_EQ(c.resolvers[2].port, 5354u);
    EXPECT_EQ(c.resolvers[3].address, ip("2001:db8::53"));
    EXPECT_EQ(c.resolvers[3].port, 53u);
    EXPECT_EQ(c.timeout_ms, 500u);
    EXPECT_TRUE(c.allow_on_failure);
    EXPECT_EQ(c.pending_per_worker, 8u);
    EXPECT_EQ(c.max_outstanding, 16u);
    EXPECT_EQ(c.cache_bindings, 100u);
}

TEST(config_dns, resolve_errors_name_file_line_column_and_key) {
    std::string text(minimal);
    text += "\n[dns]\nresolvers = [\"127.0.0.1:0\"]\nresolve_timeout_ms = 5\non_resolve_failure = \"pass\"\n";
    const auto r = load_config_string(text, "t.toml");
    std::vector<std::string> errors;
    for (const auto& e : r.errors) errors.push_back(e.to_string());
    ASSERT_EQ(errors.size(), 3u) << egress::config::format_errors(r.errors);
    EXPECT_EQ(errors[0], R"(t.toml:18:14: dns.resolvers[0]: expected an IPv4 or IPv6 address with an optional port like "127.0.0.1:5353" or "[::1]:5353", got "127.0.0.1:0")");
    EXPECT_EQ(errors[1], "t.toml:19:22: dns.resolve_timeout_ms: expected an integer in 10..60000, got 5");
    EXPECT_EQ(errors[2], R"(t.toml:20:22: dns.on_resolve_failure: expected "deny" or "allow", got "pass")");
}

TEST(config_dns, errors_name_file_line_column_and_key) {
    std::string text(minimal);
    text += "\n[dns]\ngrace_seconds = 3601\nmax_bindings = 0\nmax_cname_depth = 17\ninside_resolvers = [\"10.0.0\"]\n"
            "resolver = []\n";
    const auto r = load_config_string(text, "t.toml");
    std::vector<std::string> errors;
    for (const auto& e : r.errors) errors.push_back(e.to_string());
    ASSERT_EQ(errors.size(), 5u);
    EXPECT_EQ(errors[0], "t.toml:18:17: dns.grace_seconds: expected an integer in 0..3600, got 3601");
    EXPECT_EQ(errors[1], "t.toml:19:16: dns.max_bindings: expected an integer in 1..16777216, got 0");
    EXPECT_EQ(errors[2], "t.toml:20:19: dns.max_cname_depth: expected an integer in 1..16, got 17");
    EXPECT_EQ(errors[3].rfind("t.toml:21:21: dns.inside_resolvers[0]: ", 0), 0u) << errors[3];
    EXPECT_EQ(errors[4].rfind("t.toml:22:1: dns.resolver: unknown key", 0), 0u) << errors[4];
}

} // namespace
