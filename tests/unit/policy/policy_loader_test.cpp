// controlplane/policy_loader: the [policy] table -> compiled policy, and the exact
// error texts (file:line:col: key: message) users see.
#include <cstdlib>
#include <fstream>
#include <algorithm>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "policy_loader.hpp"

namespace {

using namespace egress::policy;
using egress::net::ip_address;

[[maybe_unused]] ip_address ip(std::string_view s) { return ip_address::parse(s).value(); }

std::vector<std::string> errors_of(std::string_view text) {
    const policy_load_result r = load_policy_string(text, "p.toml");
    std::vector<std::string> out;
    for (const auto& e : r.errors) out.push_back(e.to_string());
    EXPECT_EQ(r.policy != nullptr, r.errors.empty());
    EXPECT_EQ(r.spec.has_value(), r.errors.empty());
    return out;
}

using lines = std::vector<std::string>;

// A valid document: every key, both families.
constexpr std::string_view valid_document = R"([policy]
default = "deny"

[[policy.group]]
name = "web"
cidrs = ["10.0.1.0/24", "fd00:1::/64"]

[[policy.group]]
name = "db_1"
cidrs = ["10.0.2.0/24"]

[[policy.rule]]
name = "no-bad-net"
destinations = ["198.51.100.0/24"]
action = "deny"

[[policy.rule]]
name = "allow-https"
sources = ["web"]
destinations = ["0.0.0.0/0", "::/0"]
protocol = "tcp"
ports = [443, "8000-8080"]
action = "allow"
mode = "enforce"

[[policy.rule]]
name = "dns-trial"
sources = ["web", "db_1"]
destinations = ["0.0.0.0/0"]
protocol = "udp"
ports = ["53"]
action = "deny"
mode = "report"

[[policy.rule]]
name = "ping"
sources = ["any"]
destinations = ["0.0.0.0/0", "::/0"]
protocol = "icmp"
action = "allow"
)";

TEST(policy_loader, loads_a_valid_document) {
    const policy_load_result r = load_policy_string(valid_document, "p.toml", 42);
    ASSERT_TRUE(r.errors.empty()) << format_errors(r.errors);
    ASSERT_TRUE(r.policy);
    EXPECT_TRUE(r.present);
    const compiled_policy& p = *r.policy;
    EXPECT_EQ(p.version(), 42u);
    EXPECT_EQ(p.default_action(), verdict::deny);
    ASSERT_EQ(p.rules().size(), 4u);
    EXPECT_EQ(p.rules()[1].name, "allow-https");
    EXPECT_EQ(p.rules()[1].line, 17u);
    EXPECT_EQ(p.rules()[2].mode, rule_mode::report);
    const rule_spec& https = r.spec->rules[1];
    EXPECT_EQ(https.ports, (std::vector<port_range>{{443, 443}, {8000, 8080}}));
    EXPECT_EQ(r.spec->rules[2].source_groups, (std::vector<uint32_t>{0, 1}));
    EXPECT_TRUE(r.spec->rules[0].any_source);
    EXPECT_TRUE(r.spec->rules[3].any_source);
    EXPECT_EQ(r.spec->rules[0].proto, protocol::any);

    EXPECT_EQ(p.evaluate({ip("10.0.1.9"), ip("93.184.216.34"), 6, 8080}), (decision{verdict::allow, false, 1}));
    EXPECT_EQ(p.evaluate({ip("fd00:1::9"), ip("2001:db8::1"), 6, 443}), (decision{verdict::allow, false, 1}));
    EXPECT_EQ(p.evaluate({ip("10.0.1.9"), ip("198.51.100.1"), 6, 443}), (decision{verdict::deny, false, 0}));
    EXPECT_EQ(p.evaluate({ip("10.0.2.9"), ip("8.8.8.8"), 17, 53}), (decision{verdict::allow, true, 2}));
    EXPECT_EQ(p.evaluate({ip("10.0.3.9"), ip("8.8.8.8"), 17, 53}), (decision{verdict::deny, false, no_rule}));
    EXPECT_EQ(p.evaluate({ip("10.0.3.9"), ip("2001:db8::1"), 58, 0}), (decision{verdict::allow, false, 3}));
}

TEST(policy_loader, without_a_policy_table_the_policy_is_empty_and_denies) {
    const policy_load_result r = load_policy_string("[nat]\npool = []\n", "p.toml");
    ASSERT_TRUE(r.errors.empty());
    EXPECT_FALSE(r.present);
    ASSERT_TRUE(r.policy);
    EXPECT_EQ(r.policy->default_action(), verdict::deny);
    EXPECT_TRUE(r.policy->rules().empty());
}

TEST(policy_loader, default_allow_and_an_empty_policy) {
    const policy_load_result r = load_policy_string("[policy]\ndefault = \"allow\"\n", "p.toml");
    ASSERT_TRUE(r.policy);
    EXPECT_EQ(r.policy->evaluate({ip("10.0.0.1"), ip("1.1.1.1"), 6, 80}), (decision{verdict::allow, false, no_rule}));
}

TEST(policy_loader, unknown_keys_and_tables) {
    EXPECT_EQ(errors_of("[policy]\ndefualt = \"deny\"\nrules = []\n\n[policy.extra]\na = 1\n"),
              (lines{"p.toml:2:1: policy.defualt: unknown key (did you mean default?)",
                     "p.toml:3:1: policy.rules: unknown key (did you mean rule?)",
                     "p.toml:5:1: policy.extra: unknown table"}));
    EXPECT_EQ(errors_of("[[policy.group]]\nname = \"web\"\ncidr = [\"10.0.0.0/8\"]\n"),
              (lines{"p.toml:1:1: policy.group[0].cidrs: required key missing",
                     "p.toml:3:1: policy.group[0].cidr: unknown key (did you mean cidrs?)"}));
    // A misspelt condition is refused rather than ignored.
    EXPECT_EQ(errors_of("[[policy.rule]]\nname = \"a\"\ndestinations = [\"::/0\"]\nhostname = [\"x\"]\naction = \"deny\"\n"),
              (lines{"p.toml:4:1: policy.rule[0].hostname: unknown key (did you mean hostnames?)"}));
}

TEST(policy_loader, wrong_types) {
    EXPECT_EQ(errors_of("policy = 1\n"), (lines{"p.toml:1:10: policy: expected a table, got an integer"}));
    EXPECT_EQ(errors_of("[policy]\ndefault = true\ngroup = \"x\"\nrule = [1]\n"),
              (lines{R"(p.toml:2:11: policy.default: expected "allow" or "deny", got a boolean)",
                     "p.toml:3:9: policy.group: expected an array of tables ([[policy.group]]), got a string",
                     "p.toml:4:9: policy.rule[0]: expected a table, got an integer"}));
    EXPECT_EQ(errors_of("[[policy.group]]\nname = 7\ncidrs = \"10.0.0.0/8\"\n"),
              (lines{"p.toml:2:8: policy.group[0].name: expected a name of 1..64 characters a-z, 0-9, '_' or '-', got an integer",
                     "p.toml:3:9: policy.group[0].cidrs: expected an array of CIDRs, got a string"}));
    EXPECT_EQ(errors_of("[[policy.rule]]\nname = \"a\"\nsources = \"any\"\ndestinations = [1]\nprotocol = 6\n"
                        "ports = 443\naction = \"deny\"\nmode = false\n"),
              (lines{R"(p.toml:3:11: policy.rule[0].sources: expected an array of group names or ["any"], got a string)",
                     R"(p.toml:4:17: policy.rule[0].destinations[0]: expected a CIDR like "10.0.0.0/8" or "2001:db8::/32", got an integer)",
                     R"(p.toml:5:12: policy.rule[0].protocol: expected "tcp", "udp", "icmp" or "any", got an integer)",
                     R"(p.toml:8:8: policy.rule[0].mode: expected "enforce" or "report", got a boolean)"}));
    EXPECT_EQ(errors_of("[[policy.rule]]\nname = \"a\"\nsources = [1]\ndestinations = \"::/0\"\nprotocol = \"tcp\"\n"
                        "ports = 443\naction = \"deny\"\n"),
              (lines{R"(p.toml:3:12: policy.rule[0].sources[0]: expected a group name or "any", got an integer)",
                     R"(p.toml:4:16: policy.rule[0].destinations: expected an array of CIDRs, got a string)",
                     R"(p.toml:6:9: policy.rule[0].ports: expected an array of ports and port ranges, got an integer)"}));
}

TEST(policy_loader, bad_names) {
    EXPECT_EQ(errors_of("[[policy.group]]\nname = \"Web Servers\"\ncidrs = [\"10.0.0.0/8\"]\n"
                        "[[policy.group]]\nname = \"any\"\ncidrs = [\"10.0.0.0/8\"]\n"
                        "[[policy.rule]]\nname = \"\"\ndestinations = [\"10.0.0.0/8\"]\naction = \"deny\"\n"),
              (lines{"p.toml:2:8: policy.group[0].name: expected a name of 1..64 characters a-z, 0-9, '_' or '-', got \"Web Servers\"",
                     "p.toml:5:8: policy.group[1].name: expected a name other than \"any\" (it means every source), got \"any\"",
                     "p.toml:8:8: policy.rule[0].name: expected a name of 1..64 characters a-z, 0-9, '_' or '-', got \"\""}));
    EXPECT_EQ(errors_of("[[policy.rule]]\ndestinations = [\"10.0.0.0/8\"]\naction = \"deny\"\n"),
              (lines{"p.toml:1:1: policy.rule[0].name: required key missing"}));
}

TEST(policy_loader, bad_cidrs) {
    EXPECT_EQ(errors_of("[[policy.group]]\nname = \"g\"\ncidrs = [\"10.0.0.1/33\", \"10.0.0.1/8\", \"2001:db8::1/32\"]\n"
                        "[[policy.rule]]\nname = \"r\"\ndestinations = [\"10.0.0.0\", \"::ffff:10.0.0.0/104\"]\n"
                        "action = \"deny\"\n"),
              (lines{R"(p.toml:3:10: policy.group[0].cidrs[0]: expected a CIDR like "10.0.0.0/8" or "2001:db8::/32", got "10.0.0.1/33")",
                     R"(p.toml:3:25: policy.group[0].cidrs[1]: expected a network address (host bits zero), got "10.0.0.1/8" (did you mean "10.0.0.0/8"?))",
                     R"(p.toml:3:39: policy.group[0].cidrs[2]: expected a network address (host bits zero), got "2001:db8::1/32" (did you mean "2001:db8::/32"?))",
                     R"(p.toml:6:17: policy.rule[0].destinations[0]: expected a CIDR like "10.0.0.0/8" or "2001:db8::/32", got "10.0.0.0")",
                     R"(p.toml:6:29: policy.rule[0].destinations[1]: expected an IPv6 CIDR outside ::ffff:0:0/96 (write IPv4 prefixes like "10.0.0.0/8"), got "::ffff:10.0.0.0/104")"}));
}

TEST(policy_loader, empty_groups_and_lists) {
    EXPECT_EQ(errors_of("[[policy.group]]\nname = \"g\"\ncidrs = []\n"
                        "[[policy.rule]]\nname = \"r\"\nsources = []\ndestinations = []\nprotocol = \"tcp\"\nports = []\n"
                        "action = \"deny\"\n"),
              (lines{"p.toml:3:9: policy.group[0].cidrs: expected at least one CIDR, got an empty array",
                     R"(p.toml:6:11: policy.rule[0].sources: expected at least one group name or "any", got an empty array)",
                     "p.toml:7:16: policy.rule[0].destinations: expected at least one CIDR, got an empty array",
                     "p.toml:9:9: policy.rule[0].ports: expected at least one port or port range (leave ports out for every port), got an empty array"}));
}

TEST(policy_loader, sources_must_name_groups) {
    EXPECT_EQ(errors_of("[[policy.group]]\nname = \"web\"\ncidrs = [\"10.0.1.0/24\"]\n"
                        "[[policy.rule]]\nname = \"r\"\nsources = [\"web\", \"wbe\", \"db\", \"any\"]\n"
                        "destinations = [\"::/0\"]\naction = \"deny\"\n"),
              (lines{R"(p.toml:6:19: policy.rule[0].sources[1]: unknown group "wbe" (did you mean "web"?))",
                     R"(p.toml:6:26: policy.rule[0].sources[2]: unknown group "db")",
                     R"(p.toml:6:32: policy.rule[0].sources[3]: expected "any" alone (it already means every source), got "any" among 4 sources)"}));
}

TEST(policy_loader, duplicate_names) {
    EXPECT_EQ(errors_of("[[policy.group]]\nname = \"web\"\ncidrs = [\"10.0.1.0/24\"]\n"
                        "[[policy.group]]\nname = \"web\"\ncidrs = [\"10.0.2.0/24\"]\n"
                        "[[policy.rule]]\nname = \"x\"\ndestinations = [\"10.9.0.0/16\"]\naction = \"deny\"\n"
                        "[[policy.rule]]\nname = \"x\"\ndestinations = [\"10.8.0.0/16\"]\naction = \"deny\"\n"),
              (lines{R"(p.toml:5:8: policy.group[1].name: duplicate group name "web" (first at line 1))",
                     R"(p.toml:12:8: policy.rule[1].name: duplicate rule name "x" (first at line 7))"}));
}

TEST(policy_loader, ports_need_tcp_or_udp) {
    EXPECT_EQ(errors_of("[[policy.rule]]\nname = \"a\"\ndestinations = [\"::/0\"]\nprotocol = \"icmp\"\nports = [1]\n"
                        "action = \"deny\"\n"
                        "[[policy.rule]]\nname = \"b\"\ndestinations = [\"::/0\"]\nprotocol = \"any\"\nports = [1]\n"
                        "action = \"deny\"\n"
                        "[[policy.rule]]\nname = \"c\"\ndestinations = [\"::/0\"]\nports = [1]\naction = \"deny\"\n"),
              (lines{R"(p.toml:5:9: policy.rule[0].ports: ports need protocol "tcp" or "udp", got protocol "icmp")",
                     R"(p.toml:11:9: policy.rule[1].ports: ports need protocol "tcp" or "udp", got protocol "any")",
                     R"(p.toml:16:9: policy.rule[2].ports: ports need protocol "tcp" or "udp", got protocol "any" (the default))"}));
}

TEST(policy_loader, bad_ports) {
    EXPECT_EQ(errors_of("[[policy.rule]]\nname = \"a\"\ndestinations = [\"::/0\"]\nprotocol = \"udp\"\n"
                        "ports = [0, 65536, \"8080-8000\", \"0-80\", \"1-70000\", \"80-\", 1.5]\naction = \"deny\"\n"),
              (lines{R"(p.toml:5:10: policy.rule[0].ports[0]: expected a port 1..65535 or a range like "8000-8080", got 0)",
                     R"(p.toml:5:13: policy.rule[0].ports[1]: expected a port 1..65535 or a range like "8000-8080", got 65536)",
                     R"(p.toml:5:20: policy.rule[0].ports[2]: expected a port range with low <= high, got "8080-8000")",
                     R"(p.toml:5:33: policy.rule[0].ports[3]: expected a port 1..65535 or a range like "8000-8080", got "0-80")",
                     R"(p.toml:5:41: policy.rule[0].ports[4]: expected a port 1..65535 or a range like "8000-8080", got "1-70000")",
                     R"(p.toml:5:52: policy.rule[0].ports[5]: expected a port 1..65535 or a range like "8000-8080", got "80-")",
                     R"(p.toml:5:59: policy.rule[0].ports[6]: expected a port 1..65535 or a range like "8000-8080", got a float)"}));
}

TEST(policy_loader, action_is_required_and_enums_are_exact) {
    EXPECT_EQ(errors_of("[policy]\ndefault = \"permit\"\n"
                        "[[policy.rule]]\nname = \"a\"\ndestinations = [\"::/0\"]\n"
                        "[[policy.rule]]\nname = \"b\"\ndestinations = [\"::/0\"]\nprotocol = \"TCP\"\naction = \"alow\"\n"
                        "mode = \"audit\"\n"),
              (lines{R"(p.toml:2:11: policy.default: expected "allow" or "deny", got "permit")",
                     "p.toml:3:1: policy.rule[0].action: required key missing",
                     R"(p.toml:9:12: policy.rule[1].protocol: expected "tcp", "udp", "icmp" or "any", got "TCP")",
                     R"(p.toml:10:10: policy.rule[1].action: expected "allow" or "deny", got "alow")",
                     R"(p.toml:11:8: policy.rule[1].mode: expected "enforce" or "report", got "audit")"}));
}

// An earlier enforce rule that matches everything a later rule matches.
constexpr std::string_view shadowing_groups = R"([[policy.group]]
name = "web"
cidrs = ["10.0.1.0/24", "fd00:1::/64"]
[[policy.group]]
name = "web_a"
cidrs = ["10.0.1.0/25"]
)";

TEST(policy_loader, shadowed_rules_are_errors) {
    const std::string doc = std::string(shadowing_groups) + R"([[policy.rule]]
name = "a"
sources = ["web"]
destinations = ["0.0.0.0/0", "::/0"]
protocol = "tcp"
ports = ["400-500"]
action = "deny"
[[policy.rule]]
name = "b"
sources = ["web_a"]
destinations = ["10.0.0.0/8"]
protocol = "tcp"
ports = [443]
action = "allow"
[[policy.rule]]
name = "c"
destinations = ["192.0.2.0/24"]
action = "allow"
[[policy.rule]]
name = "d"
sources = ["web"]
destinations = ["192.0.2.128/25"]
protocol = "udp"
mode = "report"
action = "deny"
)";
    EXPECT_EQ(errors_of(doc),
              (lines{R"(p.toml:14:1: policy.rule[1]: rule "b" can never match: shadowed by rule "a" (line 7))",
                     R"(p.toml:25:1: policy.rule[3]: rule "d" can never match: shadowed by rule "c" (line 21))"}));
}

TEST(policy_loader, partial_overlaps_and_report_rules_do_not_shadow) {
    const std::string doc = std::string(shadowing_groups) + R"([[policy.rule]]
name = "trial"
destinations = ["0.0.0.0/0"]
action = "deny"
mode = "report"
[[policy.rule]]
name = "web-only"
sources = ["web_a"]
destinations = ["10.0.0.0/8"]
protocol = "tcp"
ports = ["1-1000"]
action = "allow"
[[policy.rule]]
name = "wider-source"
sources = ["web"]
destinations = ["10.0.0.0/8"]
protocol = "tcp"
ports = [443]
action = "allow"
[[policy.rule]]
name = "more-ports"
sources = ["web_a"]
destinations = ["10.0.0.0/8"]
protocol = "tcp"
ports = ["900-1100"]
action = "allow"
[[policy.rule]]
name = "any-protocol"
sources = ["web_a"]
destinations = ["10.0.0.0/8"]
action = "allow"
[[policy.rule]]
name = "any-source"
destinations = ["10.0.0.0/8"]
action = "deny"
)";
    EXPECT_EQ(errors_of(doc), lines{});
}

TEST(policy_loader, all_errors_in_source_order) {
    EXPECT_EQ(errors_of(R"([policy]
defualt = "deny"

[[policy.group]]
name = "web"
cidrs = ["10.0.1.0/24", "10.0.0.1/33", "10.0.0.1/8", 5]

[[policy.group]]
name = "web"
cidrs = []

[[policy.rule]]
name = "a"
sources = ["wbe"]
destinations = ["0.0.0.0/0"]
protocol = "icmp"
ports = [443]
action = "alow"

[[policy.rule]]
name = "b"
destinations = ["0.0.0.0/0"]
protocol = "tcp"
ports = [0, "8080-8000", "70000", 1.5]
mode = "x"
)"),
              (lines{"p.toml:2:1: policy.defualt: unknown key (did you mean default?)",
                     R"(p.toml:6:25: policy.group[0].cidrs[1]: expected a CIDR like "10.0.0.0/8" or "2001:db8::/32", got "10.0.0.1/33")",
                     R"(p.toml:6:40: policy.group[0].cidrs[2]: expected a network address (host bits zero), got "10.0.0.1/8" (did you mean "10.0.0.0/8"?))",
                     R"(p.toml:6:54: policy.group[0].cidrs[3]: expected a CIDR like "10.0.0.0/8" or "2001:db8::/32", got an integer)",
                     R"(p.toml:9:8: policy.group[1].name: duplicate group name "web" (first at line 4))",
                     "p.toml:10:9: policy.group[1].cidrs: expected at least one CIDR, got an empty array",
                     R"(p.toml:14:12: policy.rule[0].sources[0]: unknown group "wbe" (did you mean "web"?))",
                     R"(p.toml:17:9: policy.rule[0].ports: ports need protocol "tcp" or "udp", got protocol "icmp")",
                     R"(p.toml:18:10: policy.rule[0].action: expected "allow" or "deny", got "alow")",
                     "p.toml:20:1: policy.rule[1].action: required key missing",
                     R"(p.toml:24:10: policy.rule[1].ports[0]: expected a port 1..65535 or a range like "8000-8080", got 0)",
                     R"(p.toml:24:13: policy.rule[1].ports[1]: expected a port range with low <= high, got "8080-8000")",
                     R"(p.toml:24:26: policy.rule[1].ports[2]: expected a port 1..65535 or a range like "8000-8080", got "70000")",
                     R"(p.toml:24:35: policy.rule[1].ports[3]: expected a port 1..65535 or a range like "8000-8080", got a float)",
                     R"(p.toml:25:8: policy.rule[1].mode: expected "enforce" or "report", got "x")"}));
}

TEST(policy_loader, syntax_and_file_errors) {
    EXPECT_EQ(errors_of("[policy\n").size(), 1u);
    EXPECT_EQ(errors_of("[policy\n")[0].rfind("p.toml:1:", 0), 0u);
    const policy_load_result r = load_policy_file("/nonexistent/egressd.toml");
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(r.errors[0].to_string(), "/nonexistent/egressd.toml: cannot open: No such file or directory");
}

// conf/egressd.toml: the demo config has no policy; its commented [policy]
// reference section, uncommented, is a valid policy.
std::string conf_text() {
    const char* root = std::getenv("EGRESS_SOURCE_ROOT");
    std::ifstream in(std::string(root != nullptr ? root : ".") + "/conf/egressd.toml");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

TEST(policy_loader, reference_config_has_no_active_policy) {
    const policy_load_result r = load_policy_string(conf_text(), "egressd.toml");
    ASSERT_TRUE(r.errors.empty()) << format_errors(r.errors);
    EXPECT_FALSE(r.present);
}

// The commented-out reference section of conf/egressd.toml that starts at
// `marker` (and ends at the next section or the end), uncommented: its table
// headers and `key = value` lines.
std::string reference_section(std::string_view marker, std::initializer_list<std::string_view> headers) {
    const std::string text = conf_text();
    const std::size_t start = text.find(marker);
    EXPECT_NE(start, std::string::npos) << marker;
    const std::size_t end = text.find("# ----", text.find("# ----", start) + 6);
    std::istringstream lines_in(text.substr(start, end == std::string::npos ? std::string::npos : end - start));
    std::string doc;
    for (std::string line; std::getline(lines_in, line);) {
        const std::string_view l(line);
        if (l.rfind("# ", 0) != 0) continue;
        const std::string_view body = l.substr(2);
        const bool header = std::find(headers.begin(), headers.end(), body) != headers.end();
        const std::size_t eq = body.find(" = ");
        const bool key = eq != std::string_view::npos && eq > 0 &&
                         body.substr(0, eq).find_first_not_of("abcdefghijklmnopqrstuvwxyz_") == std::string_view::npos;
        if (header || key) doc += std::string(body) + "\n";
    }
    return doc;
}

TEST(policy_loader, reference_config_dlp_section_is_valid) {
    const std::string doc = reference_section("# [dlp] reference", {"[dlp]", "[[dlp.pattern]]"});
    const policy_load_result r = load_policy_string(doc, "reference");
    ASSERT_TRUE(r.errors.empty()) << format_errors(r.errors) << doc;
    ASSERT_TRUE(r.policy && r.policy->dlp());
    EXPECT_EQ(r.policy->dlp()->patterns().size(), 3u);
    EXPECT_EQ(r.spec->dlp.depth, 1048576u);
}

TEST(policy_loader, reference_config_policy_section_is_valid) {
    const std::string doc = reference_section("# [policy] reference", {"[policy]", "[[policy.group]]", "[[policy.rule]]"});
    const policy_load_result r = load_policy_string(doc, "reference");
    ASSERT_TRUE(r.errors.empty()) << format_errors(r.errors) << doc;
    ASSERT_TRUE(r.policy);
    EXPECT_EQ(r.policy->rules().size(), 5u);
    EXPECT_EQ(r.spec->groups.size(), 2u);
    EXPECT_EQ(r.policy->evaluate({ip("10.0.1.5"), ip("169.254.169.254"), 6, 443}), (decision{verdict::deny, false, 0}));
    EXPECT_EQ(r.policy->evaluate({ip("10.0.2.5"), ip("8.8.8.8"), 17, 53}), (decision{verdict::allow, true, 3}));
    // web-saas: a web host's HTTPS flow waits for its name; with it, the rule decides.
    EXPECT_TRUE(r.policy->evaluate({ip("10.0.1.5"), ip("140.82.112.3"), 6, 443}).pending);
    EXPECT_EQ(r.policy->evaluate({ip("10.0.1.5"), ip("140.82.112.3"), 6, 443, host_state::known, "api.github.com"}),
              (decision{verdict::allow, false, 1}));
}

// [[policy.group]] limits: per-host limits for the hosts of one group; what a
// group leaves out is inherited, a host in two groups takes the first.
TEST(policy_loader, group_limits) {
    const policy_load_result r = load_policy_string(R"([[policy.group]]
name = "guests"
cidrs = ["10.9.0.0/16"]
limits = { max_flows_per_source = 50, new_flows_per_second = 0 }

[[policy.group]]
name = "office"
cidrs = ["10.0.0.0/8", "fd00::/8"]
[policy.group.limits]
max_flows_per_destination = 4

[[policy.group]]
name = "servers"
cidrs = ["10.1.0.0/16"]

[[policy.rule]]
name = "out"
sources = ["guests", "office", "servers"]
destinations = ["0.0.0.0/0"]
action = "allow"
)",
                                                    "p.toml");
    ASSERT_TRUE(r.errors.empty()) << format_errors(r.errors);
    const compiled_policy& p = *r.policy;
    ASSERT_TRUE(p.has_group_limits());
    EXPECT_TRUE(p.group_limits_per_destination());
    const group_limits* guests = p.limits_for(ip("10.9.3.4"));
    ASSERT_NE(guests, nullptr);
    EXPECT_EQ(guests->get(group_limits::max_flows, 7), 50u);
    EXPECT_EQ(guests->get(group_limits::new_flows_per_s, 7), 0u);  // set to 0: no limit for the group
    EXPECT_EQ(guests->get(group_limits::new_flow_burst, 7), 7u);   // left out: inherited
    const group_limits* office = p.limits_for(ip("10.1.2.3"));     // "servers" has none: the first with limits
    ASSERT_NE(office, nullptr);
    EXPECT_EQ(office->get(group_limits::max_per_destination, 0), 4u);
    EXPECT_EQ(office->get(group_limits::max_flows, 9), 9u);
    EXPECT_EQ(p.limits_for(ip("fd00::1")), office);
    EXPECT_EQ(p.limits_for(ip("192.168.0.1")), nullptr);           // in no group: the [limits] values

    const policy_load_result none = load_policy_string(valid_document, "p.toml");
    ASSERT_TRUE(none.policy);
    EXPECT_FALSE(none.policy->has_group_limits());
    EXPECT_EQ(none.policy->limits_for(ip("10.0.1.9")), nullptr);
}

TEST(policy_loader, bad_group_limits) {
    EXPECT_EQ(errors_of("[[policy.group]]\nname = \"g\"\ncidrs = [\"10.0.0.0/8\"]\n"
                        "limits = { max_flows = 5, new_flow_burst = -1, max_flows_per_destination = 70000 }\n"),
              (lines{"p.toml:4:12: policy.group[0].limits.max_flows: unknown key",
                     "p.toml:4:44: policy.group[0].limits.new_flow_burst: expected an integer in 0..1000000, got -1",
                     "p.toml:4:76: policy.group[0].limits.max_flows_per_destination: expected an integer in 0..65536, got 70000"}));
    EXPECT_EQ(errors_of("[[policy.group]]\nname = \"g\"\ncidrs = [\"10.0.0.0/8\"]\nlimits = 3\n"),
              (lines{"p.toml:4:10: policy.group[0].limits: expected a table, got an integer"}));
}

} // namespace
