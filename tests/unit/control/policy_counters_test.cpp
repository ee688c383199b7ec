// controlplane/policy_control: decision counters behave like Prometheus
// counters. A reload (even of an unchanged file) continues every series it keeps
// (rule name and action label), a removed rule's series stops and continues when
// the rule comes back, and no total goes down while the workers still count on
// the previous version during the grace period.
#include "policy_control.hpp"

#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "../net/packet_builder.hpp"
#include "control_test_util.hpp"

namespace egress::controlplane {
namespace {

using test::ip;
using totals = std::map<std::string, uint64_t>;

// allow-https (tcp/443), and a default action.
std::string document(std::string_view default_action, std::string_view https_action, bool with_ssh) {
    std::string d = fmt::format("[policy]\ndefault = \"{}\"\n\n[[policy.rule]]\nname = \"allow-https\"\n"
                                "destinations = [\"0.0.0.0/0\"]\nprotocol = \"tcp\"\nports = [443]\naction = \"{}\"\n",
                                default_action, https_action);
    if (with_ssh)
        d += "\n[[policy.rule]]\nname = \"ssh\"\ndestinations = [\"0.0.0.0/0\"]\nprotocol = \"tcp\"\nports = [22]\n"
             "action = \"allow\"\n";
    return d;
}

// "rule action" -> hits, as egress_policy_decisions_total shows them (blocks aside).
totals series(const policy_status& s) {
    totals out;
    for (const auto& r : s.rules)
        out[fmt::format("{} {}", r.name, r.mode == policy::rule_mode::report ? "report" : policy::to_string(r.action))] =
            r.hits;
    if (s.present) out[fmt::format("default {}", policy::to_string(s.default_action))] = s.default_hits;
    return out;
}

class policy_counters_test : public ::testing::Test {
protected:
    void SetUp() override { control.start(nullptr, 1000); }

    void flow(uint16_t port) {
        policy::query q;
        q.src = ip("10.0.0.5");
        q.dst = ip("198.51.100.7");
        q.proto = 6;
        q.dst_port = port;
        slot.current->decide(q);
    }
    void reload(const std::string& doc) {
        testing_util::write_file(config.path, doc);
        const reload_result r = control.reload("egressctl", 2000);
        ASSERT_TRUE(r.ok) << (r.errors.empty() ? "" : r.errors.front());
    }
    totals now() const { return series(control.status()); }

    testing_util::temp_path config{"egressd.toml"};
    testing_util::fake_slot slot;
    policy_control control{config.path, slot.publisher(), nullptr};
};

TEST_F(policy_counters_test, a_reload_of_the_same_file_keeps_every_total) {
    reload(document("deny", "allow", false));
    flow(443);
    flow(80);
    flow(80);
    EXPECT_EQ(now(), (totals{{"allow-https allow", 1}, {"default deny", 2}}));
    reload(document("deny", "allow", false));
    EXPECT_EQ(now(), (totals{{"allow-https allow", 1}, {"default deny", 2}}));
    flow(443);
    EXPECT_EQ(now(), (totals{{"allow-https allow", 2}, {"default deny", 2}}));
}

TEST_F(policy_counters_test, a_removed_rule_stops_and_continues_when_it_comes_back) {
    reload(document("deny", "allow", true));
    flow(22);
    flow(22);
    flow(443);
    EXPECT_EQ(now(), (totals{{"allow-https allow", 1}, {"ssh allow", 2}, {"default deny", 0}}));
    reload(document("deny", "allow", false));
    flow(22); // now the default's
    EXPECT_EQ(now(), (totals{{"allow-https allow", 1}, {"default deny", 1}}));
    reload(document("deny", "allow", true));
    flow(22);
    EXPECT_EQ(now(), (totals{{"allow-https allow", 1}, {"ssh allow", 3}, {"default deny", 1}}));
}

TEST_F(policy_counters_test, a_changed_action_is_another_series) {
    reload(document("deny", "allow", false));
    flow(443);
    flow(80);
    reload(document("allow", "deny", false));
    EXPECT_EQ(now(), (totals{{"allow-https deny", 0}, {"default allow", 0}}));
    flow(443);
    flow(80);
    flow(80);
    EXPECT_EQ(now(), (totals{{"allow-https deny", 1}, {"default allow", 2}}));
    reload(document("deny", "allow", false));
    EXPECT_EQ(now(), (totals{{"allow-https allow", 1}, {"default deny", 1}}));
    // A file without [policy]: no rule or default series; they continue after it.
    reload("[nat]\npool = []\n");
    EXPECT_EQ(now(), totals{});
    reload(document("allow", "deny", false));
    EXPECT_EQ(now(), (totals{{"allow-https deny", 1}, {"default allow", 2}}));
}

// The publisher plays the grace period of a reload: the new snapshot is in
// force, a worker still on the previous one decides three more flows, and
// status() is read before and after, as the metrics thread may.
TEST(policy_counters, totals_never_go_down_while_workers_finish_on_the_previous_version) {
    testing_util::temp_path config{"egressd.toml"};
    testing_util::fake_slot slot;
    const auto query = [](std::string_view dst, uint16_t port) {
        policy::query q;
        q.src = ip("10.0.0.5");
        q.dst = ip(dst);
        q.proto = 6;
        q.dst_port = port;
        return q;
    };
    std::vector<totals> seen;
    std::vector<uint64_t> block_hits;
    bool armed = false;
    policy_control* control = nullptr;
    const auto observe = [&] {
        const policy_status s = control->status();
        seen.push_back(series(s));
        block_hits.push_back(s.block_hits);
    };
    auto publish = slot.publisher();
    policy_control graced{config.path,
                          [&](std::unique_ptr<policy::active_policy> next) {
                              auto previous = publish(std::move(next));
                              if (armed) {
                                  observe();
                                  previous->decide(query("192.0.2.1", 443));
                                  previous->decide(query("198.51.100.7", 443));
                                  previous->decide(query("198.51.100.7", 80));
                                  observe();
                              }
                              return previous;
                          },
                          nullptr};
    control = &graced;
    graced.start(nullptr, 1000);
    testing_util::write_file(config.path, document("deny", "allow", false));
    ASSERT_TRUE(graced.reload("egressctl", 2000).ok);
    ASSERT_TRUE(graced.block(*policy::cidr::parse("192.0.2.0/24"), 0, 2500).block);
    slot.current->decide(query("192.0.2.1", 443));
    slot.current->decide(query("198.51.100.7", 443));
    slot.current->decide(query("198.51.100.7", 80));

    armed = true;
    ASSERT_TRUE(graced.reload("egressctl", 3000).ok);
    armed = false;
    observe();
    ASSERT_EQ(seen.size(), 3u);
    EXPECT_EQ(seen[0], (totals{{"allow-https allow", 1}, {"default deny", 1}}));
    EXPECT_EQ(seen[1], (totals{{"allow-https allow", 2}, {"default deny", 2}}));
    EXPECT_EQ(seen[2], (totals{{"allow-https allow", 2}, {"default deny", 2}}));
    EXPECT_EQ(block_hits, (std::vector<uint64_t>{1, 2, 2}));
    EXPECT_EQ(graced.blocks().front().hits, 2u);
}

// 100 reloads cycling through four policies, flows decided between them: every
// series equals what was decided under it, in total, after every reload.
TEST_F(policy_counters_test, totals_are_exact_and_monotonic_across_100_reloads) {
    const std::vector<std::string> docs{document("deny", "allow", true), document("deny", "allow", false),
                                        document("allow", "deny", true), document("deny", "allow", true)};
    totals expected;
    totals last;
    for (int i = 0; i < 100; ++i) {
        reload(docs[static_cast<std::size_t>(i) % docs.size()]);
        const totals after_reload = now();
        for (const auto& [key, value] : after_reload) {
            EXPECT_EQ(value, expected[key]) << "reload " << i << ": " << key;
            if (last.count(key)) {
                EXPECT_GE(value, last[key]) << key;
            }
        }
        for (uint16_t port : {uint16_t{443}, uint16_t{22}, uint16_t{22}, uint16_t{80}}) {
            const policy::decision d = slot.current->decide([&] {
                policy::query q;
                q.src = ip("10.0.0.5");
                q.dst = ip("198.51.100.7");
                q.proto = 6;
                q.dst_port = port;
                return q;
            }());
            const auto& rules = slot.current->compiled->rules();
            expected[d.rule == policy::no_rule
                         ? fmt::format("default {}", policy::to_string(slot.current->compiled->default_action()))
                         : fmt::format("{} {}", rules[d.rule].name, policy::to_string(rules[d.rule].action))] += 1;
        }
        last = now();
        for (const auto& [key, value] : last) EXPECT_EQ(value, expected[key]) << "after flows " << i << ": " << key;
    }
    EXPECT_EQ(control.status().version, 101u);
    EXPECT_EQ(now(), (totals{{"allow-https allow", 75}, {"ssh allow", 150}, {"default deny", 125}}));
}

} // namespace
} // namespace egress::controlplane
