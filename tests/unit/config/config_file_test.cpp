// controlplane/config_file: the whole file parsed once, its config and its
// policy read from that one document, every error of both in one list.
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "config_file.hpp"
#include "policy_loader.hpp"

namespace {

using egress::config::config_file;
using egress::config::load_config_and_policy_file;
using egress::config::load_config_and_policy_string;

using lines = std::vector<std::string>;

constexpr std::string_view config_part = R"([eal]
vdevs = ["net_pcap0,iface=a", "net_pcap1,iface=b"]

[inside]
device = "net_pcap0"
next_hop_mac = "02:00:00:00:01:01"
addresses = ["10.0.0.1"]

[outside]
device = "net_pcap1"
next_hop_mac = "02:00:00:00:02:01"
addresses = ["192.0.2.1"]

[nat]
pool = ["203.0.113.10"]

[run]
workers = 2
)";

constexpr std::string_view policy_part = R"(
[policy]
default = "allow"

[[policy.rule]]
name = "no-ssh"
destinations = ["0.0.0.0/0"]
protocol = "tcp"
ports = [22]
action = "deny"
)";

lines errors_of(const config_file& f) {
    lines out;
    for (const auto& e : f.errors) out.push_back(e.to_string());
    EXPECT_EQ(f.config.has_value(), f.errors.empty());
    if (!f.errors.empty()) {
        EXPECT_EQ(f.policy, nullptr);
    }
    return out;
}

std::string replaced(std::string text, std::string_view from, std::string_view to) {
    text.replace(text.find(from), from.size(), to);
    return text;
}

TEST(config_file, config_and_policy_come_from_one_document) {
    const config_file f = load_config_and_policy_string(std::string(config_part) + std::string(policy_part), "f.toml");
    ASSERT_TRUE(f.errors.empty()) << egress::config::format_errors(f.errors);
    ASSERT_TRUE(f.config);
    EXPECT_EQ(f.config->run.workers, 2u);
    EXPECT_EQ(f.config->source_path, "f.toml");
    ASSERT_NE(f.policy, nullptr);
    EXPECT_EQ(f.policy->version(), 1u);
    EXPECT_EQ(f.policy->default_action(), egress::policy::verdict::allow);
    ASSERT_EQ(f.policy->rules().size(), 1u);
    EXPECT_EQ(f.policy->rules()[0].name, "no-ssh");
}

TEST(config_file, no_policy_table_means_no_policy) {
    const config_file f = load_config_and_policy_string(config_part, "f.toml");
    ASSERT_TRUE(f.errors.empty()) << egress::config::format_errors(f.errors);
    ASSERT_TRUE(f.config);
    EXPECT_EQ(f.policy, nullptr);
}

// Config errors and policy errors are one list in source order, each worded
// as the config loader and the policy loader word it on their own.
TEST(config_file, config_and_policy_errors_are_reported_together_in_source_order) {
    std::string text = replaced(std::string(config_part), "workers = 2", "workers = 0");
    text = replaced(text, "[nat]", "[nta]");
    text += replaced(std::string(policy_part), "ports = [22]", "ports = [0]");
    EXPECT_EQ(errors_of(load_config_and_policy_string(text, "f.toml")),
              (lines{"f.toml:1:1: nat: required table missing",
                     "f.toml:14:1: nta: unknown table (did you mean nat?)",
                     "f.toml:18:11: run.workers: expected an integer in 1..64, got 0",
                     "f.toml:27:10: policy.rule[0].ports[0]: expected a port 1..65535 or a range like \"8000-8080\", got 0"}));
    const auto policy_only = egress::policy::load_policy_string(text, "f.toml");
    ASSERT_EQ(policy_only.errors.size(), 1u);
    EXPECT_EQ(policy_only.errors[0].to_string(), errors_of(load_config_and_policy_string(text, "f.toml")).back());
}

TEST(config_file, a_syntax_error_is_reported_once) {
    const std::string text = std::string(config_part) + "[policy\n";
    EXPECT_EQ(errors_of(load_config_and_policy_string(text, "f.toml")),
              (lines{"f.toml:19:8: syntax: Error while parsing table header: expected ']', saw '\\n'"}));
}

TEST(config_file, a_missing_file_is_one_error) {
    EXPECT_EQ(errors_of(load_config_and_policy_file("/nonexistent/egressd.toml")),
              (lines{"/nonexistent/egressd.toml: cannot open: No such file or directory"}));
}

// [dlp] alone is a policy too (the default-deny policy with patterns).
TEST(config_file, a_dlp_table_alone_is_a_policy) {
    const std::string text = std::string(config_part) + "\n[dlp]\ndepth = 4096\n";
    const config_file f = load_config_and_policy_string(text, "f.toml");
    ASSERT_TRUE(f.errors.empty()) << egress::config::format_errors(f.errors);
    ASSERT_NE(f.policy, nullptr);
    EXPECT_EQ(f.policy->dlp_depth(), 4096u);
    EXPECT_EQ(f.policy->default_action(), egress::policy::verdict::deny);
}

// One reader for every array of tables: an element that is not a table is
// named by its index, the same for [[inside.neighbor]] and [[policy.group]];
// an empty array is no entries.
TEST(config_file, arrays_of_tables_are_checked_element_by_element_in_both_halves) {
    std::string text = replaced(std::string(config_part), "addresses = [\"10.0.0.1\"]\n",
                                "addresses = [\"10.0.0.1\"]\nneighbor = [{address = \"10.0.0.9\", mac = "
                                "\"02:00:00:00:00:09\"}, 7]\n");
    text += "\n[policy]\ngroup = [\"web\"]\nrule = []\n";
    EXPECT_EQ(errors_of(load_config_and_policy_string(text, "f.toml")),
              (lines{"f.toml:8:64: inside.neighbor[1]: expected a table, got an integer",
                     "f.toml:22:10: policy.group[0]: expected a table, got a string"}));
    const std::string empty =
        replaced(std::string(config_part), "addresses = [\"10.0.0.1\"]\n", "addresses = [\"10.0.0.1\"]\nneighbor = []\n");
    const config_file f = load_config_and_policy_string(empty + "\n[policy]\nrule = []\n", "f.toml");
    ASSERT_TRUE(f.errors.empty()) << egress::config::format_errors(f.errors);
    EXPECT_TRUE(f.config->gateway.inside.neighbors.empty());
    ASSERT_NE(f.policy, nullptr);
    EXPECT_TRUE(f.policy->rules().empty());
}

} // namespace
