// controlplane/config: [run] idle / idle_max_sleep_us and [health] (file,
// stall_ms): defaults, values, and the exact errors.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "config.hpp"
#include "minimal_config.hpp"

namespace {

using egress::base::idle_mode;
using egress::config::load_config_string;

constexpr std::string_view minimal = egress::config::test::minimal_config;

std::vector<std::string> errors_of(const std::string& text) {
    std::vector<std::string> out;
    for (const auto& e : load_config_string(text, "t.toml").errors) out.push_back(e.to_string());
    return out;
}

TEST(config_health, defaults_poll_and_no_health_file) {
    const auto r = load_config_string(minimal, "t.toml");
    ASSERT_TRUE(r.config.has_value());
    EXPECT_EQ(r.config->run.idle, idle_mode::poll);
    EXPECT_EQ(r.config->run.idle_max_sleep_us, 200u);
    EXPECT_EQ(r.config->health.file, "");
    EXPECT_EQ(r.config->health.stall_ms, 1000u);
}

TEST(config_health, adaptive_idle_and_a_health_file) {
    const std::string text = std::string(minimal) +
                             "\n[run]\nidle = \"adaptive\"\nidle_max_sleep_us = 500\n"
                             "\n[health]\nfile = \"/run/egressd/health\"\nstall_ms = 250\n";
    const auto r = load_config_string(text, "t.toml");
    ASSERT_TRUE(r.config.has_value()) << egress::config::format_errors(r.errors);
    EXPECT_EQ(r.config->run.idle, idle_mode::adaptive);
    EXPECT_EQ(r.config->run.idle_max_sleep_us, 500u);
    EXPECT_EQ(r.config->health.file, "/run/egressd/health");
    EXPECT_EQ(r.config->health.stall_ms, 250u);
}

TEST(config_health, bad_values_are_errors) {
    const std::string text = std::string(minimal) +
                             "\n[run]\nidle = \"sleepy\"\nidle_max_sleep_us = 0\n"
                             "\n[health]\nfile = 3\nstall_ms = 5\nstate = \"ready\"\n";
    EXPECT_EQ(errors_of(text), (std::vector<std::string>{
                                   "t.toml:18:8: run.idle: expected \"poll\" or \"adaptive\", got \"sleepy\"",
                                   "t.toml:19:21: run.idle_max_sleep_us: expected an integer in 1..100000, got 0",
                                   "t.toml:22:8: health.file: expected a string, got an integer",
                                   "t.toml:23:12: health.stall_ms: expected an integer in 10..600000, got 5",
                                   "t.toml:24:1: health.state: unknown key",
                               }));
}

} // namespace
