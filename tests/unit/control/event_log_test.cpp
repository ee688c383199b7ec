// controlplane/event_log: the exact JSON line of every event kind, and drain()
// over the workers' rings, loss included.
#include "event_log.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "../net/packet_builder.hpp"
#include "control_test_util.hpp"

namespace egress::controlplane {
namespace {

using policy::security_event;
using policy::security_event_kind;
using test::ip;
using testing_util::read_lines;
using testing_util::temp_path;
using lines = std::vector<std::string>;

security_event event(security_event_kind kind, std::string_view rule = "") {
    security_event e;
    e.kind = kind;
    e.proto = 6;
    e.src = ip("10.0.0.5");
    e.src_port = 40000;
    e.dst = ip("198.51.100.7");
    e.dst_port = 443;
    e.time_unix_ms = 1'700'000'000'123;
    e.policy_version = 3;
    rule.copy(e.rule.data(), e.rule.size());
    return e;
}

security_event block_event(bool existing) {
    security_event e = event(security_event_kind::block);
    e.blocked = *policy::cidr::parse("198.51.100.0/24");
    e.existing_flow = existing;
    return e;
}

TEST(event_log_format, deny_names_the_rule) {
    EXPECT_EQ(format_security_event(event(security_event_kind::deny, "no-bad-net")),
              R"({"time_ms":1700000000123,"event":"deny","policy_version":3,"rule":"no-bad-net","proto":6,)"
              R"("src":"10.0.0.5","src_port":40000,"dst":"198.51.100.7","dst_port":443})");
}

TEST(event_log_format, dlp_names_the_pattern_and_masks_the_match) {
    security_event e = event(security_event_kind::dlp, "aws-access-key");
    e.dlp_severity = static_cast<uint8_t>(dlp::dlp_severity::critical);
    e.dlp_action = static_cast<uint8_t>(dlp::dlp_action::block);
    e.dlp_direction = static_cast<uint8_t>(dlp::dlp_direction::outbound);
    e.dlp_offset = 310;
    e.dlp_length = 20;
    e.dlp_sample = dlp::make_masked_sample("AKIAIOSFODNN7EXAMPLE");
    std::string_view("api.stripe.com").copy(e.hostname.data(), e.hostname.size());
    EXPECT_EQ(format_security_event(e),
              R"({"time_ms":1700000000123,"event":"dlp","policy_version":3,"pattern":"aws-access-key",)"
              R"("severity":"critical","action":"block","direction":"outbound","offset":310,"length":20,)"
              R"("sample":"AK****************LE","proto":6,"src":"10.0.0.5","src_port":40000,"dst":"198.51.100.7",)"
              R"("dst_port":443,"hostname":"api.stripe.com"})");
}

TEST(event_log_format, source_limit_names_the_limit) {
    EXPECT_EQ(format_security_event(event(security_event_kind::source_limit, "source_rate_limit")),
              R"({"time_ms":1700000000123,"event":"source_limit","policy_version":3,"limit":"source_rate_limit",)"
              R"("proto":6,"src":"10.0.0.5","src_port":40000,"dst":"198.51.100.7","dst_port":443})");
}

TEST(event_log_format, the_default_action_is_rule_default) {
    EXPECT_EQ(format_security_event(event(security_event_kind::deny)),
              R"({"time_ms":1700000000123,"event":"deny","policy_version":3,"rule":"default","proto":6,)"
              R"("src":"10.0.0.5","src_port":40000,"dst":"198.51.100.7","dst_port":443})");
}

TEST(event_log_format, a_denial_carries_its_reason_and_a_setting_is_its_rule) {
    security_event e = event(security_event_kind::deny, "inspection.no_sni");
    e.reason = stats::drop_reason::inspect_no_sni;
    EXPECT_EQ(format_security_event(e),
              R"({"time_ms":1700000000123,"event":"deny","policy_version":3,"rule":"inspection.no_sni",)"
              R"("reason":"inspect_no_sni","proto":6,"src":"10.0.0.5","src_port":40000,"dst":"198.51.100.7",)"
              R"("dst_port":443})");
    security_event b = block_event(true);
    b.reason = stats::drop_reason::policy_blocked;
    EXPECT_EQ(format_security_event(b),
              R"({"time_ms":1700000000123,"event":"block","policy_version":3,"block":"198.51.100.0/24","flow":"existing",)"
              R"("reason":"policy_blocked","proto":6,"src":"10.0.0.5","src_port":40000,"dst":"198.51.100.7",)"
              R"("dst_port":443})");
}

TEST(event_log_format, would_deny_and_cut) {
    EXPECT_EQ(format_security_event(event(security_event_kind::would_deny, "dns-trial")),
              R"({"time_ms":1700000000123,"event":"would_deny","policy_version":3,"rule":"dns-trial","proto":6,)"
              R"("src":"10.0.0.5","src_port":40000,"dst":"198.51.100.7","dst_port":443})");
    security_event cut = event(security_event_kind::cut, "no-7");
    cut.src = ip("fd00:1::5");
    cut.dst = ip("2001:db8::7");
    cut.proto = 17;
    EXPECT_EQ(format_security_event(cut),
              R"({"time_ms":1700000000123,"event":"cut","policy_version":3,"rule":"no-7","proto":17,)"
              R"("src":"fd00:1::5","src_port":40000,"dst":"2001:db8::7","dst_port":443})");
}

TEST(event_log_format, a_rule_name_filling_the_whole_field_is_kept_whole) {
    const std::string name(64, 'r');
    EXPECT_EQ(format_security_event(event(security_event_kind::deny, name)),
              R"({"time_ms":1700000000123,"event":"deny","policy_version":3,"rule":")" + name +
                  R"(","proto":6,"src":"10.0.0.5","src_port":40000,"dst":"198.51.100.7","dst_port":443})");
}

TEST(event_log_format, block_of_a_new_and_of_an_existing_flow) {
    EXPECT_EQ(format_security_event(block_event(false)),
              R"({"time_ms":1700000000123,"event":"block","policy_version":3,"block":"198.51.100.0/24","flow":"new",)"
              R"("proto":6,"src":"10.0.0.5","src_port":40000,"dst":"198.51.100.7","dst_port":443})");
    EXPECT_EQ(format_security_event(block_event(true)),
              R"({"time_ms":1700000000123,"event":"block","policy_version":3,"block":"198.51.100.0/24","flow":"existing",)"
              R"("proto":6,"src":"10.0.0.5","src_port":40000,"dst":"198.51.100.7","dst_port":443})");
}

TEST(event_log_format, reload_ok_and_failed) {
    EXPECT_EQ(format_reload_event(1000, "egressctl", true, 2, 4, 250, {}),
              R"({"time_ms":1000,"event":"reload","result":"ok","trigger":"egressctl","policy_version":2,"rules":4,"duration_us":250})");
    EXPECT_EQ(format_reload_event(2000, "SIGHUP", false, 1, 0, 0, {"e.toml:2:1: policy.x: unknown key", "e.toml:3:9: y"}),
              R"({"time_ms":2000,"event":"reload","result":"failed","trigger":"SIGHUP","policy_version":1,)"
              R"("errors":["e.toml:2:1: policy.x: unknown key","e.toml:3:9: y"]})");
}

TEST(event_log_format, block_added_removed_expired) {
    const policy::cidr net = *policy::cidr::parse("203.0.113.0/24");
    EXPECT_EQ(format_block_event(1000, "block_added", net, 601000, 0),
              R"({"time_ms":1000,"event":"block_added","block":"203.0.113.0/24","expires_unix_ms":601000})");
    EXPECT_EQ(format_block_event(1000, "block_added", *policy::cidr::parse("2001:db8::/32"), 0, 0),
              R"({"time_ms":1000,"event":"block_added","block":"2001:db8::/32","expires_unix_ms":null})");
    EXPECT_EQ(format_block_event(2000, "block_removed", net, 0, 7),
              R"({"time_ms":2000,"event":"block_removed","block":"203.0.113.0/24","hits":7})");
    EXPECT_EQ(format_block_event(3000, "block_expired", net, 0, 0),
              R"({"time_ms":3000,"event":"block_expired","block":"203.0.113.0/24","hits":0})");
}

TEST(event_log_format, events_lost) {
    EXPECT_EQ(format_events_lost(9, 3), R"({"time_ms":9,"event":"events_lost","lost_total":3})");
}

// What a worker does with an event (gateway_core::security_event).
void produce(policy::security_ring& ring, const security_event& e) {
    if (!ring.try_push(e)) ring.record_overflow();
}

TEST(event_log, appends_lines_to_the_file) {
    temp_path file("events.log");
    testing_util::write_file(file.path, "earlier\n");
    event_log log(file.path);
    log.write(format_events_lost(1, 1));
    log.write("x");
    EXPECT_EQ(log.written(), 2u);
    EXPECT_EQ(read_lines(file.path), (lines{"earlier", R"({"time_ms":1,"event":"events_lost","lost_total":1})", "x"}));
}

TEST(event_log, cannot_open_names_the_path_and_the_reason) {
    try {
        event_log log("/nonexistent-egressd-dir/events.log");
        FAIL() << "no exception";
    } catch (const std::runtime_error& e) {
        EXPECT_STREQ(e.what(), "events.log: cannot open /nonexistent-egressd-dir/events.log: No such file or directory");
    }
}

TEST(event_log, drain_writes_every_waiting_event_in_order) {
    temp_path file("events.log");
    event_log log(file.path);
    policy::security_ring ring(256);
    lines expected;
    for (uint16_t i = 0; i < 100; ++i) { // more than one pop_burst batch
        security_event e = event(security_event_kind::deny, "r");
        e.src_port = i;
        produce(ring, e);
        expected.push_back(format_security_event(e));
    }
    log.drain({&ring}, 5);
    EXPECT_EQ(read_lines(file.path), expected);
    EXPECT_EQ(log.written(), 100u);
    EXPECT_EQ(ring.size_approx(), 0u);
}

TEST(event_log, a_full_ring_gives_one_events_lost_line_with_the_running_total) {
    temp_path file("events.log");
    event_log log(file.path);
    policy::security_ring a(4);
    policy::security_ring b(4);
    const auto numbered = [](uint16_t i) {
        security_event e = event(security_event_kind::deny);
        e.src_port = i;
        return e;
    };
    for (uint16_t i = 0; i < 6; ++i) produce(a, numbered(i)); // 4 fit, 2 lost
    produce(b, block_event(true));
    log.drain({&a, &b}, 7000);
    lines got = read_lines(file.path);
    ASSERT_EQ(got.size(), 6u);
    EXPECT_EQ(got[0], format_security_event(numbered(0)));
    EXPECT_EQ(got[3], format_security_event(numbered(3)));
    EXPECT_EQ(got[4], format_security_event(block_event(true)));
    EXPECT_EQ(got[5], R"({"time_ms":7000,"event":"events_lost","lost_total":2})");

    log.drain({&a, &b}, 8000); // nothing new, nothing lost since: no line
    EXPECT_EQ(read_lines(file.path).size(), 6u);

    for (int i = 0; i < 5; ++i) produce(b, block_event(false)); // 4 fit, 1 more lost
    log.drain({&a, &b}, 9000);
    got = read_lines(file.path);
    ASSERT_EQ(got.size(), 11u);
    EXPECT_EQ(got[9], format_security_event(block_event(false)));
    EXPECT_EQ(got[10], R"({"time_ms":9000,"event":"events_lost","lost_total":3})");
    EXPECT_EQ(log.written(), 11u);
}

} // namespace
} // namespace egress::controlplane
