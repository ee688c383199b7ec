// controlplane/policy_control with the dataplane's slot replaced by a fake
// publisher: versions and reloads, emergency blocks (expiry, re-blocking, hit
// counts carried across snapshots), and the event log lines it writes.
#include "policy_control.hpp"

#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "../net/packet_builder.hpp"
#include "control_test_util.hpp"

namespace egress::controlplane {
namespace {

using test::ip;
using testing_util::read_lines;
using testing_util::temp_path;
using lines = std::vector<std::string>;

policy::cidr cidr_of(std::string_view text) { return *policy::cidr::parse(text); }

class policy_control_test : public ::testing::Test {
protected:
    void SetUp() override { control.start(nullptr, 1000); }

    // A new TCP flow to dst decided by the published snapshot, as the worker decides it.
    policy::decision new_flow(std::string_view dst, uint16_t port = 443) {
        policy::query q;
        q.src = ip("10.0.0.5");
        q.dst = ip(dst);
        q.proto = 6;
        q.dst_port = port;
        return slot.current->decide(q);
    }
    reload_result reload_with(std::string_view document, uint64_t now_ms) {
        testing_util::write_file(config.path, document);
        return control.reload("egressctl", now_ms);
    }
    block_info block(std::string_view cidr, uint64_t ttl_s, uint64_t now_ms) {
        const auto outcome = control.block(cidr_of(cidr), ttl_s, now_ms);
        EXPECT_TRUE(outcome.block) << outcome.error;
        return outcome.block.value_or(block_info{});
    }
    // "cidr created expires hits" per block, in blocks() order.
    lines blocks() const {
        lines out;
        for (const auto& b : control.blocks())
            out.push_back(fmt::format("{} {} {} {}", b.prefix, b.created_unix_ms, b.expires_unix_ms, b.hits));
        return out;
    }

    temp_path config{"egressd.toml"};
    temp_path events{"events.log"};
    testing_util::fake_slot slot;
    event_log log{events.path};
    policy_control control{config.path, slot.publisher(), &log};
};

TEST_F(policy_control_test, start_publishes_version_1) {
    ASSERT_TRUE(slot.current);
    EXPECT_EQ(slot.current->version, 1u);
    EXPECT_EQ(slot.current->compiled, nullptr);
    EXPECT_EQ(slot.current->blocks, nullptr);
    EXPECT_EQ(slot.generations, (std::vector<uint8_t>{1}));
    EXPECT_EQ(control.version(), 1u);
    const policy_status s = control.status();
    EXPECT_FALSE(s.present);
    EXPECT_EQ(s.version, 1u);
    EXPECT_EQ(s.loaded_unix_ms, 1000u);
    EXPECT_EQ(s.last_reload_success_unix_ms, 1000u);
    EXPECT_EQ(s.source, config.path);
    EXPECT_EQ(s.default_action, policy::verdict::allow);
    EXPECT_TRUE(s.rules.empty());
    EXPECT_EQ(s.reloads_ok + s.reloads_failed + s.blocks_active, 0u);
    // Without a policy every flow is allowed, uncounted.
    EXPECT_EQ(new_flow("198.51.100.7").action, policy::verdict::allow);
    EXPECT_EQ(control.status().default_hits, 0u);
    EXPECT_TRUE(read_lines(events.path).empty());
}

TEST_F(policy_control_test, a_reload_publishes_the_next_version_and_logs_it) {
    const reload_result r = reload_with(testing_util::policy_document, 2000);
    ASSERT_TRUE(r.ok);
    EXPECT_EQ(r.version, 2u);
    EXPECT_EQ(r.rules, 2u);
    EXPECT_TRUE(r.errors.empty());
    ASSERT_TRUE(slot.current->compiled);
    EXPECT_EQ(slot.current->version, 2u);
    EXPECT_EQ(slot.current->compiled->version(), 2u);
    EXPECT_EQ(slot.generations, (std::vector<uint8_t>{1, 2}));

    EXPECT_EQ(new_flow("198.51.100.7").action, policy::verdict::allow);   // allow-https
    EXPECT_EQ(new_flow("198.51.100.7", 80).action, policy::verdict::deny); // default
    EXPECT_EQ(new_flow("198.51.100.8", 80).action, policy::verdict::deny);
    const policy_status s = control.status();
    EXPECT_TRUE(s.present);
    EXPECT_EQ(s.version, 2u);
    EXPECT_EQ(s.loaded_unix_ms, 2000u);
    EXPECT_EQ(s.last_reload_success_unix_ms, 2000u);
    EXPECT_EQ(s.reloads_ok, 1u);
    EXPECT_EQ(s.reloads_failed, 0u);
    EXPECT_EQ(s.default_action, policy::verdict::deny);
    EXPECT_EQ(s.default_hits, 2u);
    ASSERT_EQ(s.rules.size(), 2u);
    EXPECT_EQ(s.rules[0].name, "allow-https");
    EXPECT_EQ(s.rules[0].line, 7u);
    EXPECT_EQ(s.rules[0].hits, 1u);
    EXPECT_EQ(s.rules[1].name, "dns-trial");
    EXPECT_EQ(s.rules[1].mode, policy::rule_mode::report);
    EXPECT_EQ(s.rules[1].action, policy::verdict::deny);
    EXPECT_EQ(s.rules[1].line, 14u);

    EXPECT_EQ(read_lines(events.path), (lines{format_reload_event(2000, "egressctl", true, 2, 2, r.duration_us, {})}));

    // The same file again: its series continue (policy_counters_test has the rest).
    ASSERT_TRUE(reload_with(testing_util::policy_document, 3000).ok);
    EXPECT_EQ(control.status().rules[0].hits, 1u);
    EXPECT_EQ(control.status().default_hits, 2u);
    EXPECT_EQ(control.version(), 3u);
}

TEST_F(policy_control_test, a_failed_reload_keeps_the_running_policy) {
    ASSERT_TRUE(reload_with(testing_util::policy_document, 2000).ok);
    const policy::active_policy* before = slot.current.get();
    const reload_result r = reload_with(testing_util::broken_policy_document, 3000);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.version, 2u);
    EXPECT_EQ(r.rules, 0u);
    const lines errors{config.path + ":2:1: policy.defualt: unknown key (did you mean default?)",
                       config.path + ":3:1: policy.rules: unknown key (did you mean rule?)"};
    EXPECT_EQ(r.errors, errors);
    EXPECT_EQ(slot.current.get(), before); // nothing published
    EXPECT_EQ(slot.generations.size(), 2u);
    EXPECT_EQ(control.version(), 2u);
    const policy_status s = control.status();
    EXPECT_EQ(s.reloads_ok, 1u);
    EXPECT_EQ(s.reloads_failed, 1u);
    EXPECT_EQ(s.loaded_unix_ms, 2000u);
    EXPECT_EQ(s.last_reload_success_unix_ms, 2000u);
    EXPECT_EQ(s.rules.size(), 2u);
    EXPECT_EQ(read_lines(events.path).back(), format_reload_event(3000, "egressctl", false, 2, 0, 0, errors));

    ::unlink(config.path.c_str());
    const reload_result missing = control.reload("SIGHUP", 4000);
    EXPECT_EQ(missing.errors, (lines{config.path + ": cannot open: No such file or directory"}));
    EXPECT_EQ(control.status().reloads_failed, 2u);
    EXPECT_EQ(control.version(), 2u);
}

// [[policy.group]] limits need the workers' [limits] tables, sized at start: a
// reload that needs one they do not have is refused and keeps the running policy.
TEST_F(policy_control_test, group_limits_without_their_tables_are_refused) {
    constexpr std::string_view with_limits = R"([policy]
default = "allow"
[[policy.group]]
name = "guests"
cidrs = ["10.9.0.0/16"]
limits = { max_flows_per_source = 50 }
)";
    constexpr std::string_view per_destination = R"([policy]
default = "allow"
[[policy.group]]
name = "guests"
cidrs = ["10.9.0.0/16"]
limits = { max_flows_per_destination = 4 }
)";
    control.set_source_tables(false, false);
    const reload_result r = reload_with(with_limits, 2000);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.errors, (lines{config.path + ": policy.group limits: the per-source tables were not made at start "
                                             "([limits] sets no limit and the policy at start had no group limits); "
                                             "restart egressd to apply them"}));
    EXPECT_EQ(control.version(), 1u);
    control.set_source_tables(true, false);
    EXPECT_TRUE(reload_with(with_limits, 3000).ok);
    const reload_result d = reload_with(per_destination, 4000);
    EXPECT_EQ(d.errors, (lines{config.path + ": policy.group limits: max_flows_per_destination needs the "
                                             "per-destination table, which was not made at start; restart egressd "
                                             "to apply it"}));
    EXPECT_EQ(control.version(), 2u);
    control.set_source_tables(true, true);
    EXPECT_TRUE(reload_with(per_destination, 5000).ok);
}

TEST_F(policy_control_test, a_config_without_policy_reloads_to_allow_everything) {
    ASSERT_TRUE(reload_with(testing_util::policy_document, 2000).ok);
    const reload_result r = reload_with("[nat]\npool = []\n", 3000);
    ASSERT_TRUE(r.ok);
    EXPECT_EQ(r.rules, 0u);
    EXPECT_EQ(slot.current->compiled, nullptr);
    EXPECT_FALSE(control.status().present);
    EXPECT_EQ(new_flow("198.51.100.7", 80).action, policy::verdict::allow);
}

TEST_F(policy_control_test, every_publication_changes_the_generation_and_never_to_0) {
    for (int i = 0; i < 300; ++i) {
        block("198.51.100.0/24", 0, 2000);
        ASSERT_TRUE(control.unblock(cidr_of("198.51.100.0/24"), 2000));
    }
    ASSERT_TRUE(reload_with(testing_util::policy_document, 3000).ok);
    ASSERT_EQ(slot.generations.size(), 602u);
    for (std::size_t i = 0; i < slot.generations.size(); ++i) {
        EXPECT_NE(slot.generations[i], 0) << i;
        if (i > 0) {
            EXPECT_NE(slot.generations[i], slot.generations[i - 1]) << i;
        }
    }
    EXPECT_EQ(std::set<uint8_t>(slot.generations.begin(), slot.generations.end()).size(), 255u);
    EXPECT_EQ(slot.current->generation, slot.generations.back());
}

TEST_F(policy_control_test, blocks_deny_in_the_published_snapshot_and_survive_a_reload) {
    const block_info b = block("198.51.100.0/24", 600, 2000);
    EXPECT_EQ(b.prefix, cidr_of("198.51.100.0/24"));
    EXPECT_EQ(b.created_unix_ms, 2000u);
    EXPECT_EQ(b.expires_unix_ms, 602'000u);
    EXPECT_EQ(b.hits, 0u);
    block("2001:db8::/32", 0, 2500);
    const policy::decision d = new_flow("198.51.100.7");
    ASSERT_NE(d.block, policy::no_rule);
    EXPECT_EQ(slot.current->blocks->entries()[d.block].prefix, cidr_of("198.51.100.0/24"));
    ASSERT_TRUE(reload_with(testing_util::policy_document, 3000).ok);
    EXPECT_EQ(blocks(), (lines{"198.51.100.0/24 2000 602000 1", "2001:db8::/32 2500 0 0"}));
    EXPECT_EQ(new_flow("198.51.100.7").action, policy::verdict::deny); // the block comes before allow-https
    EXPECT_EQ(control.status().blocks_active, 2u);
}

TEST_F(policy_control_test, blocking_a_blocked_cidr_again_only_changes_its_expiry) {
    block("198.51.100.0/24", 60, 2000);
    new_flow("198.51.100.7");
    const block_info again = block("198.51.100.0/24", 0, 5000);
    EXPECT_EQ(again.created_unix_ms, 2000u);
    EXPECT_EQ(again.expires_unix_ms, 0u);
    EXPECT_EQ(again.hits, 1u);
    EXPECT_EQ(blocks(), (lines{"198.51.100.0/24 2000 0 1"}));
    EXPECT_EQ(block("198.51.100.0/24", 10, 6000).expires_unix_ms, 16'000u);
    EXPECT_EQ(control.status().blocks_active, 1u);
}

TEST_F(policy_control_test, expire_blocks_removes_exactly_the_expired_ones) {
    block("198.51.100.0/24", 10, 0);
    block("203.0.113.0/24", 20, 0);
    block("192.0.2.0/24", 0, 0);
    const std::size_t published = slot.generations.size();
    control.expire_blocks(9'999);
    EXPECT_EQ(blocks().size(), 3u);
    EXPECT_EQ(slot.generations.size(), published); // nothing expired: nothing republished
    control.expire_blocks(10'000);
    EXPECT_EQ(blocks(), (lines{"192.0.2.0/24 0 0 0", "203.0.113.0/24 0 20000 0"}));
    EXPECT_EQ(slot.generations.size(), published + 1);
    EXPECT_EQ(new_flow("198.51.100.7").action, policy::verdict::allow);
    EXPECT_EQ(new_flow("203.0.113.7").action, policy::verdict::deny);
    control.expire_blocks(1'000'000'000);
    EXPECT_EQ(blocks(), (lines{"192.0.2.0/24 0 0 0"}));
}

TEST_F(policy_control_test, block_hits_are_carried_across_republications) {
    block("198.51.100.0/24", 0, 2000);
    new_flow("198.51.100.7");
    const policy::decision d = new_flow("198.51.100.8");
    slot.current->count_block_cut(d); // an existing flow the block cut
    EXPECT_EQ(blocks(), (lines{"198.51.100.0/24 2000 0 3"}));

    block("203.0.113.0/24", 0, 3000); // a new snapshot: the first block's hits move to the control plane
    EXPECT_EQ(slot.current->hits_of_block(0), 0u);
    EXPECT_EQ(blocks(), (lines{"198.51.100.0/24 2000 0 3", "203.0.113.0/24 3000 0 0"}));
    new_flow("198.51.100.9");
    new_flow("203.0.113.1");
    EXPECT_EQ(blocks(), (lines{"198.51.100.0/24 2000 0 4", "203.0.113.0/24 3000 0 1"}));

    ASSERT_TRUE(reload_with(testing_util::policy_document, 4000).ok);
    new_flow("198.51.100.10");
    EXPECT_EQ(blocks(), (lines{"198.51.100.0/24 2000 0 5", "203.0.113.0/24 3000 0 1"}));

    const auto removed = control.unblock(cidr_of("198.51.100.0/24"), 5000);
    ASSERT_TRUE(removed);
    EXPECT_EQ(removed->hits, 5u);
    EXPECT_EQ(removed->created_unix_ms, 2000u);
    EXPECT_EQ(blocks(), (lines{"203.0.113.0/24 3000 0 1"}));
    EXPECT_EQ(read_lines(events.path).back(),
              R"({"time_ms":5000,"event":"block_removed","block":"198.51.100.0/24","hits":5})");
}

TEST_F(policy_control_test, unblocking_what_is_not_blocked_changes_nothing) {
    block("198.51.100.0/24", 0, 2000);
    const std::size_t published = slot.generations.size();
    EXPECT_FALSE(control.unblock(cidr_of("198.51.100.0/25"), 3000));
    EXPECT_EQ(slot.generations.size(), published);
    EXPECT_EQ(read_lines(events.path).size(), 1u);
}

TEST_F(policy_control_test, ttl_range) {
    const auto too_long = control.block(cidr_of("198.51.100.0/24"), policy_control::max_ttl_s + 1, 0);
    EXPECT_FALSE(too_long.block);
    EXPECT_EQ(too_long.error, "ttl: expected at most 31536000 seconds, got 31536001");
    EXPECT_TRUE(blocks().empty());
    EXPECT_EQ(block("198.51.100.0/24", policy_control::max_ttl_s, 1).expires_unix_ms, 31'536'000'001u);
}

TEST_F(policy_control_test, at_most_max_blocks) {
    EXPECT_EQ(control.max_blocks(), policy_control::default_max_blocks);
    control.set_max_blocks(100); // the limit's behaviour, without 10,000 rebuilds
    for (uint32_t i = 0; i < control.max_blocks(); ++i) {
        const auto outcome =
            control.block(policy::cidr{net::ip_address::from_v4(0x0a000000u + i), 128}, 0, 0);
        ASSERT_TRUE(outcome.block) << i << ": " << outcome.error;
    }
    const auto refused = control.block(cidr_of("198.51.100.0/24"), 0, 0);
    EXPECT_FALSE(refused.block);
    EXPECT_EQ(refused.error, "too many blocks (at most 100)");
    // Changing the expiry of a block in force is still possible.
    const auto again = control.block(cidr_of("10.0.0.0/32"), 5, 0);
    ASSERT_TRUE(again.block);
    EXPECT_EQ(again.block->expires_unix_ms, 5000u);
    EXPECT_EQ(control.status().blocks_active, 100u);
}

TEST_F(policy_control_test, writes_block_events) {
    block("198.51.100.0/24", 600, 1000);
    block("2001:db8::/32", 0, 2000);
    new_flow("198.51.100.1");
    ASSERT_TRUE(control.unblock(cidr_of("2001:db8::/32"), 3000));
    control.expire_blocks(601'000);
    EXPECT_EQ(read_lines(events.path),
              (lines{R"({"time_ms":1000,"event":"block_added","block":"198.51.100.0/24","expires_unix_ms":601000})",
                     R"({"time_ms":2000,"event":"block_added","block":"2001:db8::/32","expires_unix_ms":null})",
                     R"({"time_ms":3000,"event":"block_removed","block":"2001:db8::/32","hits":0})",
                     R"({"time_ms":601000,"event":"block_expired","block":"198.51.100.0/24","hits":1})"}));
}

TEST(policy_control, works_without_an_event_log) {
    testing_util::fake_slot slot;
    policy_control control("/nonexistent/egressd.toml", slot.publisher(), nullptr);
    control.start(nullptr, 0);
    EXPECT_TRUE(control.block(*policy::cidr::parse("198.51.100.0/24"), 0, 0).block);
    EXPECT_FALSE(control.reload("SIGHUP", 0).ok);
    EXPECT_EQ(control.status().reloads_failed, 1u);
}

} // namespace
} // namespace egress::controlplane

namespace egress::controlplane {
namespace {

// Several workers: every published snapshot carries one DLP scanner per worker
// (its own scratch and streams) and a hostname matcher with one scratch each.
TEST(policy_control_workers, one_dlp_scanner_and_matcher_scratch_per_worker) {
    testing_util::temp_path config{"egressd.toml"};
    testing_util::fake_slot slot;
    policy_control control{config.path, slot.publisher(), nullptr};
    control.set_workers(3);
    control.set_dlp_streams(8);
    control.start(nullptr, 1000);
    EXPECT_EQ(slot.current->scanner(0), nullptr);
    testing_util::write_file(config.path, R"([policy]
default = "deny"
[[policy.rule]]
name = "stripe"
destinations = ["0.0.0.0/0"]
hostnames = ["api.stripe.com"]
action = "allow"
[[dlp.pattern]]
name = "aws"
regex = 'AKIA[0-9A-Z]{16}'
)");
    const reload_result r = control.reload("egressctl", 2000);
    ASSERT_TRUE(r.ok) << (r.errors.empty() ? "" : r.errors.front());
    std::set<const dlp::dlp_scanner*> scanners;
    for (unsigned w = 0; w < 3; ++w) {
        const dlp::dlp_scanner* s = slot.current->scanner(w);
        ASSERT_NE(s, nullptr) << w;
        EXPECT_EQ(s->pool(dlp::dlp_direction::outbound).capacity(), 8u);
        scanners.insert(s);
        policy::query q{ip("10.0.0.5"), ip("198.51.100.7"), 6, 443, policy::host_state::known, "api.stripe.com", w};
        EXPECT_EQ(slot.current->evaluate(q).action, policy::verdict::allow) << w;
    }
    EXPECT_EQ(scanners.size(), 3u); // no two workers share one
    EXPECT_EQ(slot.current->scanner(3), nullptr);
    // Each worker counts into its own DLP counters; status() sums them.
    dlp::dlp_flow_state a, b;
    const std::string_view key = "AKIAABCDEFGHIJKLMNOP";
    const std::span<const uint8_t> payload{reinterpret_cast<const uint8_t*>(key.data()), key.size()};
    int matches = 0;
    const auto count = [&](const dlp::dlp_match&) { ++matches; };
    slot.current->scanner(0)->scan(a, dlp::dlp_direction::outbound, payload, count);
    slot.current->scanner(2)->scan(b, dlp::dlp_direction::outbound, payload, count);
    EXPECT_EQ(matches, 2);
    EXPECT_EQ(control.status().dlp_matches, 2u);
    EXPECT_EQ(control.status().dlp_bytes, 2 * key.size());
    EXPECT_EQ(control.status().dlp_streams_held, 2u);
    dlp::dlp_scanner::release(a);
    dlp::dlp_scanner::release(b);
    EXPECT_EQ(control.status().dlp_streams_held, 0u);
}

} // namespace
} // namespace egress::controlplane
