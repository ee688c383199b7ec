#include "metrics.hpp"

#include <chrono>
#include <cstring>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace egress::controlplane {
namespace {

run_report small_report() {
    run_report r;
    r.inside_device = "in0";
    r.outside_device = "out0";
    auto& in = r.counters.port(stats::side::inside);
    in.rx_packets = 10;
    in.rx_bytes = 1000;
    in.tx_packets = 9;
    in.tx_bytes = 900;
    auto& out = r.counters.port(stats::side::outside);
    out.rx_packets = 7;
    out.rx_bytes = 700;
    out.tx_packets = 6;
    out.tx_bytes = 600;
    r.counters.count_drop(stats::drop_reason::ttl_expired);
    r.counters.count_drop(stats::drop_reason::ttl_expired);
    r.counters.count_drop(stats::drop_reason::flow_table_full);
    r.counters.flows_created = {5, 3, 1};
    r.counters.flows_expired = {4, 2, 0};
    r.counters.tcp_reopened = 2;
    r.counters.events_queued = 12;
    r.counters.events_lost = 1;
    r.flows_active = 3;
    r.flow_capacity = 1024;
    r.pool.push_back({*net::ip_address::parse("192.0.2.1"), 2, 8, 0});
    r.pool.push_back({*net::ip_address::parse("192.0.2.2"), 1, 4, 3});
    r.export_enabled = true;
    r.export_records = 11;
    r.export_messages = 2;
    r.export_send_errors = 1;
    r.export_events_lost = 1;
    return r;
}

metrics_extra small_extra() { return metrics_extra{1700000000, "0.1.0", {}}; }

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::size_t pos = 0;
    while (pos < text.size()) {
        const auto nl = text.find('\n', pos);
        if (nl == std::string::npos) {
            lines.push_back(text.substr(pos));
            break;
        }
        lines.push_back(text.substr(pos, nl - pos));
        pos = nl + 1;
    }
    return lines;
}

bool has_line(const std::string& text, std::string_view line) {
    for (const auto& l : lines_of(text))
        if (l == line) return true;
    return false;
}

TEST(Prometheus, PortFamiliesExactly) {
    const auto text = format_prometheus(small_report(), small_extra());
    const std::string expected_start =
        "# HELP egress_port_packets_total Packets received (rx) and sent (tx) per port.\n"
        "# TYPE egress_port_packets_total counter\n"
        "egress_port_packets_total{port=\"inside\",direction=\"rx\"} 10\n"
        "egress_port_packets_total{port=\"inside\",direction=\"tx\"} 9\n"
        "egress_port_packets_total{port=\"outside\",direction=\"rx\"} 7\n"
        "egress_port_packets_total{port=\"outside\",direction=\"tx\"} 6\n"
        "# HELP egress_port_bytes_total Bytes received (rx) and sent (tx) per port.\n"
        "# TYPE egress_port_bytes_total counter\n"
        "egress_port_bytes_total{port=\"inside\",direction=\"rx\"} 1000\n"
        "egress_port_bytes_total{port=\"inside\",direction=\"tx\"} 900\n"
        "egress_port_bytes_total{port=\"outside\",direction=\"rx\"} 700\n"
        "egress_port_bytes_total{port=\"outside\",direction=\"tx\"} 600\n";
    ASSERT_GE(text.size(), expected_start.size());
    EXPECT_EQ(text.substr(0, expected_start.size()), expected_start);
    ASSERT_FALSE(text.empty());
    EXPECT_EQ(text.back(), '\n');
}

TEST(Prometheus, DeviceReceiveLossesPerPort) {
    run_report r = small_report();
    r.rx_losses[0] = {812, 3, 1};
    const auto text = format_prometheus(r, small_extra());
    for (std::string_view line : {
             "# TYPE egress_port_rx_missed_total counter",
             "egress_port_rx_missed_total{port=\"inside\"} 812",
             "egress_port_rx_missed_total{port=\"outside\"} 0",
             "egress_port_rx_nombuf_total{port=\"inside\"} 3",
             "egress_port_rx_nombuf_total{port=\"outside\"} 0",
             "egress_port_rx_errors_total{port=\"inside\"} 1",
             "egress_port_rx_errors_total{port=\"outside\"} 0",
         })
        EXPECT_TRUE(has_line(text, line)) << line;
    // The summary says so only for a port that lost frames; the JSON always has the counts.
    const std::string summary = format_summary(r);
    EXPECT_NE(summary.find("  port inside  lost on receive by the device: missed (RX ring full) 812, no mbuf 3, errors 1\n"),
              std::string::npos) << summary;
    EXPECT_EQ(summary.find("port outside lost on receive"), std::string::npos) << summary;
    const std::string json = format_summary_json(r);
    EXPECT_NE(json.find("\"rx_missed\":812,\"rx_nombuf\":3,\"rx_errors\":1}"), std::string::npos) << json;
    EXPECT_NE(json.find("\"rx_missed\":0,\"rx_nombuf\":0,\"rx_errors\":0}"), std::string::npos) << json;
}

TEST(Prometheus, SampleLines) {
    const auto text = format_prometheus(small_report(), small_extra());
    for (std::string_view line : {
             "egress_drops_total{reason=\"ttl_expired\"} 2",
             "egress_drops_total{reason=\"flow_table_full\"} 1",
             "egress_drops_total{reason=\"l2_truncated\"} 0",
             "# TYPE egress_flows_active gauge",
             "egress_flows_active{protocol=\"tcp\"} 1",
             "egress_flows_active{protocol=\"udp\"} 1",
             "egress_flows_active{protocol=\"icmp\"} 1",
             "# TYPE egress_flow_capacity gauge",
             "egress_flow_capacity 1024",
             "egress_flows_created_total{protocol=\"tcp\"} 5",
             "egress_flows_created_total{protocol=\"udp\"} 3",
             "egress_flows_created_total{protocol=\"icmp\"} 1",
             "egress_flows_expired_total{protocol=\"tcp\"} 4",
             "egress_flows_expired_total{protocol=\"udp\"} 2",
             "egress_flows_expired_total{protocol=\"icmp\"} 0",
             "egress_tcp_reopened_total 2",
             "# TYPE egress_nat_mappings_active gauge",
             "egress_nat_mappings_active{address=\"192.0.2.1\"} 2",
             "egress_nat_mappings_active{address=\"192.0.2.2\"} 1",
             "egress_nat_mappings_created_total{address=\"192.0.2.1\"} 8",
             "egress_nat_mappings_created_total{address=\"192.0.2.2\"} 4",
             "egress_nat_port_exhaustion_total{address=\"192.0.2.1\"} 0",
             "egress_nat_port_exhaustion_total{address=\"192.0.2.2\"} 3",
             "egress_export_records_total 11",
             "egress_export_messages_total 2",
             "egress_export_send_errors_total 1",
             "egress_export_events_lost_total 1",
             "egress_export_events_queued_total 12",
             "# TYPE egress_start_time_seconds gauge",
             "egress_start_time_seconds 1700000000",
             "# TYPE egress_build_info gauge",
             "egress_build_info{version=\"0.1.0\"} 1",
         })
        EXPECT_TRUE(has_line(text, line)) << line;
}

TEST(Prometheus, PolicyDecisionsPerRuleAndActionReloadsAndBlocks) {
    metrics_extra x = small_extra();
    x.policy.present = true;
    x.policy.version = 4;
    x.policy.default_action = policy::verdict::deny;
    x.policy.default_hits = 7;
    x.policy.block_hits = 2;
    x.policy.rules = {{"web", policy::verdict::allow, policy::rule_mode::enforce, 10, 120},
                      {"no-metadata", policy::verdict::deny, policy::rule_mode::enforce, 20, 3},
                      {"audit-dns", policy::verdict::deny, policy::rule_mode::report, 30, 9}};
    x.policy.blocks_active = 1;
    x.policy.reloads_ok = 3;
    x.policy.reloads_failed = 1;
    x.policy.last_reload_success_unix_ms = 1795766400123;
    x.policy.dlp_patterns = 2;
    x.policy.dlp_matches = 7;
    run_report r = small_report();
    r.counters.policy_would_deny = 9;
    r.counters.policy_flows_cut = 5;
    r.counters.security_events_queued = 21;
    r.counters.security_events_lost = 1;
    r.counters.dlp_blocked = 3;
    r.counters.icmp_errors_relayed_in = 11;
    r.counters.icmp_errors_relayed_out = 12;
    r.counters.icmp_errors_sent = 13;
    r.counters.icmp_errors_rate_limited = 14;
    r.counters.icmp_errors_no_source = 15;
    r.counters.mss_clamped = 16;
    r.counters.mss_options_malformed = 17;
    r.counters.setting_denials[static_cast<std::size_t>(stats::drop_reason::inspect_no_sni)] = 4;
    r.counters.setting_denials[static_cast<std::size_t>(stats::drop_reason::hold_timeout)] = 6;
    const auto text = format_prometheus(r, x);
    for (const char* line : {
             "egress_policy_decisions_total{rule=\"inspection.no_sni\",action=\"deny\"} 4",
             "egress_policy_decisions_total{rule=\"inspection.http_no_host\",action=\"deny\"} 0",
             "egress_policy_decisions_total{rule=\"inspection.not_tls\",action=\"deny\"} 0",
             "egress_policy_decisions_total{rule=\"inspection.not_http\",action=\"deny\"} 0",
             "egress_policy_decisions_total{rule=\"inspection.malformed\",action=\"deny\"} 0",
             "egress_policy_decisions_total{rule=\"inspection.oversize\",action=\"deny\"} 0",
             "egress_policy_decisions_total{rule=\"inspection.ech\",action=\"deny\"} 0",
             "egress_policy_decisions_total{rule=\"inspect.hold_timeout\",action=\"deny\"} 6",
             "egress_policy_decisions_total{rule=\"web\",action=\"allow\"} 120",
             "egress_policy_decisions_total{rule=\"no-metadata\",action=\"deny\"} 3",
             "egress_policy_decisions_total{rule=\"audit-dns\",action=\"report\"} 9",
             "egress_policy_decisions_total{rule=\"default\",action=\"deny\"} 7",
             "egress_policy_decisions_total{rule=\"emergency_block\",action=\"deny\"} 2",
             "egress_policy_would_deny_total 9",
             "egress_policy_flows_cut_total 5",
             "egress_policy_version 4",
             "egress_policy_reloads_total{result=\"success\"} 3",
             "egress_policy_reloads_total{result=\"failure\"} 1",
             "egress_policy_last_reload_success_timestamp_seconds 1795766400",
             "egress_policy_blocks_active 1",
             "egress_security_events_total 21",
             "egress_security_events_lost_total 1",
             "egress_dlp_patterns 2",
             "egress_dlp_matches_total 7",
             "egress_dlp_flows_blocked_total 3",
             "egress_icmp_errors_relayed_total{direction=\"inbound\"} 11",
             "egress_icmp_errors_relayed_total{direction=\"outbound\"} 12",
             "egress_icmp_errors_sent_total 13",
             "egress_icmp_errors_unsent_total{reason=\"rate_limited\"} 14",
             "egress_icmp_errors_unsent_total{reason=\"no_source\"} 15",
             "egress_tcp_mss_clamped_total 16",
             "egress_tcp_mss_options_malformed_total 17",
         })
        EXPECT_TRUE(has_line(text, line)) << line;
}

TEST(Prometheus, FragmentCountersAndGauges) {
    run_report r = small_report();
    r.counters.fragments_forwarded = 11;
    r.counters.fragments_held = 4;
    r.counters.fragments_released = 3;
    r.counters.fragment_datagrams = 6;
    r.counters.fragment_datagrams_completed = 5;
    r.counters.fragment_datagrams_expired = 1;
    r.counters.count_drop(stats::drop_reason::fragment_overlap);
    r.fragment_datagrams_active = 2;
    r.fragments_held_now = 1;
    const auto text = format_prometheus(r, small_extra());
    for (const char* line : {
             "egress_fragments_total{result=\"forwarded\"} 11",
             "egress_fragments_total{result=\"held\"} 4",
             "egress_fragments_total{result=\"released\"} 3",
             "egress_fragment_datagrams_total{result=\"tracked\"} 6",
             "egress_fragment_datagrams_total{result=\"completed\"} 5",
             "egress_fragment_datagrams_total{result=\"expired\"} 1",
             "egress_fragment_datagrams_active 2",
             "egress_fragments_held 1",
             "egress_drops_total{reason=\"fragment_overlap\"} 1",
         })
        EXPECT_TRUE(has_line(text, line)) << line;
}

TEST(Prometheus, DnsVerificationCounters) {
    run_report r = small_report();
    r.counters.dns_responses = 7;
    r.counters.dns_copies_learned = 14;
    r.counters.dns_not_from_server = 2;
    r.counters.dns_tcp_unread = 1;
    r.counters.sni_verified = 5;
    r.counters.sni_unverified = 3;
    r.counters.count_drop(stats::drop_reason::sni_unverified);
    const auto text = format_prometheus(r, small_extra());
    for (const char* line : {
             "egress_dns_responses_total{result=\"recorded\"} 7",
             "egress_dns_responses_total{result=\"copy\"} 14",
             "egress_dns_responses_total{result=\"not_from_server\"} 2",
             "egress_dns_responses_total{result=\"tcp_unread\"} 1",
             "egress_sni_verifications_total{result=\"verified\"} 5",
             "egress_sni_verifications_total{result=\"unverified\"} 3",
             "egress_drops_total{reason=\"sni_unverified\"} 1",
         })
        EXPECT_TRUE(has_line(text, line)) << line;
}

TEST(Prometheus, ResolveCounters) {
    run_report r = small_report();
    r.counters.resolve_lookups = 11;
    r.counters.resolve_answers = 10;
    r.counters.resolve_failures = 2;
    r.counters.resolve_pending_full = 3;
    r.counters.resolve_ring_full = 4;
    r.counters.resolve_failure_allowed = 5;
    r.counters.count_drop(stats::drop_reason::resolve_timeout);
    r.counters.setting_denials[static_cast<std::size_t>(stats::drop_reason::resolve_timeout)] = 1;
    r.counters.setting_denials[static_cast<std::size_t>(stats::drop_reason::sni_unverified)] = 6;
    metrics_extra x = small_extra();
    x.policy.present = true; // decisions are listed with a policy in force
    const auto text = format_prometheus(r, x);
    for (const char* line : {
             "egress_resolve_lookups_total{result=\"asked\"} 11",
             "egress_resolve_lookups_total{result=\"answered\"} 10",
             "egress_resolve_lookups_total{result=\"failed\"} 2",
             "egress_resolve_lookups_total{result=\"pending_full\"} 3",
             "egress_resolve_lookups_total{result=\"ring_full\"} 4",
             "egress_resolve_failure_allowed_total 5",
             "egress_drops_total{reason=\"resolve_timeout\"} 1",
             "egress_drops_total{reason=\"resolve_failed\"} 0",
             "egress_policy_decisions_total{rule=\"verify\",action=\"deny\"} 6",
             "egress_policy_decisions_total{rule=\"dns.on_resolve_failure.timeout\",action=\"deny\"} 1",
             "egress_policy_decisions_total{rule=\"dns.on_resolve_failure.failed\",action=\"deny\"} 0",
         })
        EXPECT_TRUE(has_line(text, line)) << line;
}

TEST(Prometheus, HoldPointCounters) {
    run_report r = small_report();
    r.counters.hold_segments = 9;
    r.counters.hold_bytes = 700;
    r.counters.hold_released_bytes = 517;
    r.counters.hold_overflows = 2;
    r.counters.count_drop(stats::drop_reason::hold_timeout);
    const auto text = format_prometheus(r, small_extra());
    for (const char* line : {
             "egress_hold_segments_total 9",
             "egress_hold_bytes_total{result=\"held\"} 700",
             "egress_hold_bytes_total{result=\"released\"} 517",
             "egress_hold_overflows_total 2",
             "egress_drops_total{reason=\"hold_timeout\"} 1",
         })
        EXPECT_TRUE(has_line(text, line)) << line;
}

TEST(Prometheus, WorkerLoopAgePerWorkerInSeconds) {
    run_report r = small_report();
    EXPECT_EQ(format_prometheus(r, small_extra()).find("egress_worker_loop_age_seconds"), std::string::npos);
    r.worker_loop_age_ms = {0, 2, 61'500};
    const auto text = format_prometheus(r, small_extra());
    for (const char* line : {
             "# TYPE egress_worker_loop_age_seconds gauge",
             "egress_worker_loop_age_seconds{worker=\"0\"} 0.000",
             "egress_worker_loop_age_seconds{worker=\"1\"} 0.002",
             "egress_worker_loop_age_seconds{worker=\"2\"} 61.500",
         })
        EXPECT_TRUE(has_line(text, line)) << line;
}

TEST(Prometheus, ExceptionPathCounters) {
    run_report r = small_report();
    r.counters.exception_to_kernel = 41;
    r.counters.exception_from_kernel = 39;
    r.counters.exception_handed_to_worker0 = 7;
    r.counters.count_drop(stats::drop_reason::exception_rate_limited);
    r.counters.count_drop(stats::drop_reason::exception_source_refused);
    const auto text = format_prometheus(r, small_extra());
    for (const char* line : {
             "egress_exception_to_kernel_total 41",
             "egress_exception_from_kernel_total 39",
             "egress_exception_handed_to_worker0_total 7",
             "egress_drops_total{reason=\"exception_rate_limited\"} 1",
             "egress_drops_total{reason=\"exception_source_refused\"} 1",
             "egress_drops_total{reason=\"exception_queue_full\"} 0",
             "egress_drops_total{reason=\"exception_handoff_full\"} 0",
         })
        EXPECT_TRUE(has_line(text, line)) << line;
    const std::string summary = format_summary(r);
    EXPECT_NE(summary.find("  exception to kernel 41, from kernel 39, handed to worker 0 7\n"), std::string::npos)
        << summary;
    const std::string json = format_summary_json(r);
    EXPECT_NE(json.find("\"exception\":{\"to_kernel\":41,\"from_kernel\":39,\"handed_to_worker0\":7}"),
              std::string::npos) << json;
}

TEST(Prometheus, HelpAndTypeForEveryFamily) {
    const auto text = format_prometheus(small_report(), small_extra());
    const std::vector<std::pair<std::string, std::string>> families = {
        {"egress_port_packets_total", "counter"},
        {"egress_port_bytes_total", "counter"},
        {"egress_port_rx_missed_total", "counter"},
        {"egress_port_rx_nombuf_total", "counter"},
        {"egress_port_rx_errors_total", "counter"},
        {"egress_drops_total", "counter"},
        {"egress_flows_active", "gauge"},
        {"egress_flow_capacity", "gauge"},
        {"egress_flows_created_total", "counter"},
        {"egress_flows_expired_total", "counter"},
        {"egress_tcp_reopened_total", "counter"},
        {"egress_nat_mappings_active", "gauge"},
        {"egress_nat_mappings_created_total", "counter"},
        {"egress_nat_port_exhaustion_total", "counter"},
        {"egress_export_records_total", "counter"},
        {"egress_export_messages_total", "counter"},
        {"egress_export_send_errors_total", "counter"},
        {"egress_export_events_lost_total", "counter"},
        {"egress_export_events_queued_total", "counter"},
        {"egress_policy_decisions_total", "counter"},
        {"egress_policy_would_deny_total", "counter"},
        {"egress_policy_flows_cut_total", "counter"},
        {"egress_policy_version", "gauge"},
        {"egress_policy_reloads_total", "counter"},
        {"egress_policy_last_reload_success_timestamp_seconds", "gauge"},
        {"egress_policy_blocks_active", "gauge"},
        {"egress_security_events_total", "counter"},
        {"egress_security_events_lost_total", "counter"},
        {"egress_dlp_patterns", "gauge"},
        {"egress_dlp_scanned_bytes_total", "counter"},
        {"egress_dlp_matches_total", "counter"},
        {"egress_dlp_validator_rejected_total", "counter"},
        {"egress_dlp_flows_blocked_total", "counter"},
        {"egress_dlp_stream_exhausted_total", "counter"},
        {"egress_dlp_depth_reached_total", "counter"},
        {"egress_dlp_rescans_total", "counter"},
        {"egress_dlp_streams_held", "gauge"},
        {"egress_icmp_errors_relayed_total", "counter"},
        {"egress_icmp_errors_sent_total", "counter"},
        {"egress_icmp_errors_unsent_total", "counter"},
        {"egress_tcp_mss_clamped_total", "counter"},
        {"egress_tcp_mss_options_malformed_total", "counter"},
        {"egress_inspect_unchecked_total", "counter"},
        {"egress_hold_segments_total", "counter"},
        {"egress_hold_bytes_total", "counter"},
        {"egress_hold_overflows_total", "counter"},
        {"egress_fragments_total", "counter"},
        {"egress_fragment_datagrams_total", "counter"},
        {"egress_fragment_datagrams_active", "gauge"},
        {"egress_fragments_held", "gauge"},
        {"egress_neighbor_requests_sent_total", "counter"},
        {"egress_neighbor_replies_sent_total", "counter"},
        {"egress_neighbor_announcements_sent_total", "counter"},
        {"egress_neighbor_resolved_total", "counter"},
        {"egress_neighbor_learned_total", "counter"},
        {"egress_neighbor_frames_queued_total", "counter"},
        {"egress_neighbor_frames_released_total", "counter"},
        {"egress_echo_replies_sent_total", "counter"},
        {"egress_sources_tracked", "gauge"},
        {"egress_source_untracked_total", "counter"},
        {"egress_source_limit_reports_total", "counter"},
        {"egress_nat_hairpinned_total", "counter"},
        {"egress_dns_responses_total", "counter"},
        {"egress_sni_verifications_total", "counter"},
        {"egress_resolve_lookups_total", "counter"},
        {"egress_resolve_failure_allowed_total", "counter"},
        {"egress_exception_to_kernel_total", "counter"},
        {"egress_exception_from_kernel_total", "counter"},
        {"egress_exception_handed_to_worker0_total", "counter"},
        {"egress_start_time_seconds", "gauge"},
        {"egress_build_info", "gauge"},
    };
    for (const auto& [name, type] : families) {
        EXPECT_TRUE(has_line(text, "# TYPE " + name + " " + type)) << name;
        EXPECT_NE(("\n" + text).find("\n# HELP " + name + " "), std::string::npos) << name;
    }
    // Structure: HELP then TYPE per family, each family once, every sample
    // belongs to the family declared just before it.
    std::set<std::string> seen;
    std::string current;
    std::size_t types = 0;
    std::string help_for;
    for (const auto& line : lines_of(text)) {
        ASSERT_FALSE(line.empty());
        if (line.rfind("# HELP ", 0) == 0) {
            help_for = line.substr(7, line.find(' ', 7) - 7);
            continue;
        }
        if (line.rfind("# TYPE ", 0) == 0) {
            current = line.substr(7, line.find(' ', 7) - 7);
            EXPECT_EQ(help_for, current) << "HELP before TYPE";
            EXPECT_TRUE(seen.insert(current).second) << current;
            ++types;
            continue;
        }
        const auto name = line.substr(0, line.find_first_of("{ "));
        EXPECT_EQ(name, current) << line;
    }
    EXPECT_EQ(types, families.size());
}

TEST(Prometheus, EveryDropReasonEvenZero) {
    const auto text = format_prometheus(run_report{}, metrics_extra{});
    for (const auto name : stats::drop_reason_names)
        EXPECT_TRUE(has_line(text, "egress_drops_total{reason=\"" + std::string{name} + "\"} 0")) << name;
    // An empty pool still declares its families.
    EXPECT_TRUE(has_line(text, "# TYPE egress_nat_mappings_active gauge"));
    EXPECT_TRUE(has_line(text, "egress_build_info{version=\"\"} 1"));
}

TEST(Prometheus, EventsLostTakesTheLargerCount) {
    auto r = small_report();
    r.export_events_lost = 0; // a live report: the exporter's reading not filled in
    r.counters.events_lost = 5;
    EXPECT_TRUE(has_line(format_prometheus(r, small_extra()), "egress_export_events_lost_total 5"));
}

TEST(Prometheus, LabelValuesEscaped) {
    EXPECT_EQ(escape_label_value("plain"), "plain");
    EXPECT_EQ(escape_label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    const auto text = format_prometheus(run_report{}, metrics_extra{0, "1.0 \"x\"\\\n", {}});
    EXPECT_TRUE(has_line(text, "egress_build_info{version=\"1.0 \\\"x\\\"\\\\\\n\"} 1"));
}

TEST(Prometheus, Ipv6PoolAddress) {
    run_report r;
    r.pool.push_back({*net::ip_address::parse("2001:db8::1"), 1, 2, 3});
    EXPECT_TRUE(has_line(format_prometheus(r, metrics_extra{}), "egress_nat_mappings_active{address=\"2001:db8::1\"} 1"));
}

// ---------------------------------------------------------------- server

net::endpoint loopback_any_port() { return net::endpoint{*net::ip_address::parse("127.0.0.1"), 0}; }

int connect_to(uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error("socket");
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&sin), sizeof sin) != 0) {
        ::close(fd);
        throw std::runtime_error("connect");
    }
    return fd;
}

std::string read_all(int fd) {
    std::string out;
    char buf[4096];
    for (;;) {
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
}

// Sends `request` (all of it) and returns everything the server answers.
std::string exchange(uint16_t port, std::string_view request) {
    const int fd = connect_to(port);
    std::size_t sent = 0;
    while (sent < request.size()) {
        const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += static_cast<std::size_t>(n);
    }
    auto reply = read_all(fd);
    ::close(fd);
    return reply;
}

std::string status_line(const std::string& reply) { return reply.substr(0, reply.find("\r\n")); }

std::string body_of(const std::string& reply) {
    const auto p = reply.find("\r\n\r\n");
    return p == std::string::npos ? std::string{} : reply.substr(p + 4);
}

class MetricsServer : public ::testing::Test {
protected:
    void SetUp() override {
        body = format_prometheus(small_report(), small_extra());
        server = std::make_unique<metrics_server>(loopback_any_port(), [this] { return body; });
        ASSERT_NE(server->port(), 0);
        server->start();
    }
    std::string body;
    std::unique_ptr<metrics_server> server;
};

TEST_F(MetricsServer, GetMetrics) {
    const auto reply = exchange(server->port(), "GET /metrics HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n");
    EXPECT_EQ(status_line(reply), "HTTP/1.1 200 OK");
    EXPECT_NE(reply.find("\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"), std::string::npos);
    EXPECT_NE(reply.find("\r\nContent-Length: " + std::to_string(body.size()) + "\r\n"), std::string::npos);
    EXPECT_NE(reply.find("\r\nConnection: close\r\n"), std::string::npos);
    EXPECT_EQ(body_of(reply), body);
}

TEST_F(MetricsServer, GetMetricsHttp10WithQuery) {
    const auto reply = exchange(server->port(), "GET /metrics?name[]=x HTTP/1.0\r\n\r\n");
    EXPECT_EQ(status_line(reply), "HTTP/1.1 200 OK");
    EXPECT_EQ(body_of(reply), body);
}

TEST_F(MetricsServer, RootPointsToMetrics) {
    const auto reply = exchange(server->port(), "GET / HTTP/1.1\r\n\r\n");
    EXPECT_EQ(status_line(reply), "HTTP/1.1 200 OK");
    EXPECT_NE(body_of(reply).find("/metrics"), std::string::npos);
}

TEST_F(MetricsServer, NotFound) {
    EXPECT_EQ(status_line(exchange(server->port(), "GET /nope HTTP/1.1\r\n\r\n")), "HTTP/1.1 404 Not Found");
    EXPECT_EQ(status_line(exchange(server->port(), "GET /metricsx HTTP/1.1\r\n\r\n")), "HTTP/1.1 404 Not Found");
}

TEST_F(MetricsServer, MethodNotAllowed) {
    const auto reply = exchange(server->port(), "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    EXPECT_EQ(status_line(reply), "HTTP/1.1 405 Method Not Allowed");
    EXPECT_NE(reply.find("\r\nAllow: GET\r\n"), std::string::npos);
}

TEST_F(MetricsServer, BadRequest) {
    for (std::string_view req : {"garbage\r\n\r\n", "GET /metrics\r\n\r\n", "GET  /metrics HTTP/1.1\r\n\r\n",
                                 "GET /metrics HTTP/2.0\r\n\r\n", "GET metrics HTTP/1.1\r\n\r\n",
                                 "G(T /metrics HTTP/1.1\r\n\r\n", "\r\n\r\n"})
        EXPECT_EQ(status_line(exchange(server->port(), req)), "HTTP/1.1 400 Bad Request") << req;
}

TEST_F(MetricsServer, HeaderTooLarge) {
    std::string req = "GET /metrics HTTP/1.1\r\nX-Filler: " + std::string(9000, 'a') + "\r\n\r\n";
    EXPECT_EQ(status_line(exchange(server->port(), req)), "HTTP/1.1 431 Request Header Fields Too Large");
    // and the server goes on
    EXPECT_EQ(body_of(exchange(server->port(), "GET /metrics HTTP/1.1\r\n\r\n")), body);
}

TEST_F(MetricsServer, SilentClientDoesNotBlockTheNext) {
    const int idle = connect_to(server->port());
    ::close(idle); // connects, sends nothing, leaves
    const int half = connect_to(server->port());
    ASSERT_EQ(::send(half, "GET /met", 8, MSG_NOSIGNAL), 8);
    ::close(half); // leaves in the middle of the request line
    const auto reply = exchange(server->port(), "GET /metrics HTTP/1.1\r\n\r\n");
    EXPECT_EQ(status_line(reply), "HTTP/1.1 200 OK");
    EXPECT_EQ(body_of(reply), body);
}

TEST_F(MetricsServer, SlowClientIsCutOff) {
    const auto t0 = std::chrono::steady_clock::now();
    const int slow = connect_to(server->port());
    ASSERT_EQ(::send(slow, "GET /met", 8, MSG_NOSIGNAL), 8); // and never the rest
    const auto reply = read_all(slow);
    ::close(slow);
    EXPECT_EQ(status_line(reply), "HTTP/1.1 408 Request Timeout");
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
    EXPECT_EQ(body_of(exchange(server->port(), "GET /metrics HTTP/1.1\r\n\r\n")), body);
}

TEST_F(MetricsServer, RenderFailureIs500) {
    metrics_server failing(loopback_any_port(), []() -> std::string { throw std::runtime_error("boom"); });
    failing.start();
    EXPECT_EQ(status_line(exchange(failing.port(), "GET /metrics HTTP/1.1\r\n\r\n")),
              "HTTP/1.1 500 Internal Server Error");
}

TEST_F(MetricsServer, StopIsPrompt) {
    const int idle = connect_to(server->port()); // a client that never speaks
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const auto t0 = std::chrono::steady_clock::now();
    server->stop();
    const auto took = std::chrono::steady_clock::now() - t0;
    EXPECT_LT(took, std::chrono::seconds(1));
    ::close(idle);
}

TEST(MetricsServerBind, ReportsFailure) {
    metrics_server first(loopback_any_port(), [] { return std::string{}; });
    try {
        metrics_server second(net::endpoint{*net::ip_address::parse("127.0.0.1"), first.port()},
                              [] { return std::string{}; });
        FAIL() << "bound twice";
    } catch (const std::runtime_error& e) {
        EXPECT_EQ(std::string{e.what()}, "metrics: cannot listen on 127.0.0.1:" + std::to_string(first.port()) +
                                             ": " + std::strerror(EADDRINUSE));
    }
}

TEST(MetricsServerBind, Ipv6Loopback) {
    try {
        metrics_server s(net::endpoint{*net::ip_address::parse("::1"), 0}, [] { return std::string{"x\n"}; });
        EXPECT_NE(s.port(), 0);
    } catch (const std::runtime_error& e) {
        GTEST_SKIP() << "no IPv6 loopback here: " << e.what();
    }
}

TEST(Prometheus, HealthAndIdleSleepsOnlyWhenGiven) {
    const auto without = format_prometheus(small_report(), small_extra());
    EXPECT_EQ(without.find("egress_health_state"), std::string::npos);
    EXPECT_EQ(without.find("egress_idle_sleeps_total"), std::string::npos);
    metrics_extra x = small_extra();
    x.health = health_state::draining;
    x.idle_sleeps = 4321;
    const auto text = format_prometheus(small_report(), x);
    for (std::string_view line : {
             "# HELP egress_health_state Health of the instance: 0 ready, 1 draining (no new flows wanted), 2 failed.",
             "# TYPE egress_health_state gauge",
             "egress_health_state 1",
             "# HELP egress_idle_sleeps_total Sleeps of idle workers ([run] idle = \"adaptive\").",
             "# TYPE egress_idle_sleeps_total counter",
             "egress_idle_sleeps_total 4321",
         })
        EXPECT_TRUE(has_line(text, line)) << line;
    x.health = health_state::failed;
    EXPECT_TRUE(has_line(format_prometheus(small_report(), x), "egress_health_state 2"));
}

// verify = "resolve": the resolver thread's counts, shown only when it runs.
TEST(Prometheus, ResolverThreadCountsOnlyWithResolvers) {
    const auto without = format_prometheus(small_report(), small_extra());
    EXPECT_EQ(without.find("egress_resolver_"), std::string::npos);
    metrics_extra x = small_extra();
    x.resolver = resolver_figures{.asked = 812, .busy = 7, .answers_lost = 3};
    const auto text = format_prometheus(small_report(), x);
    for (std::string_view line : {
             "# HELP egress_resolver_requests_total Lookup requests the resolver thread took from the workers "
             "(verify = \"resolve\"): asked of the [dns] resolvers (asked), or failed at once because [dns] "
             "resolve_outstanding lookups were running (busy).",
             "# TYPE egress_resolver_requests_total counter",
             "egress_resolver_requests_total{result=\"asked\"} 812",
             "egress_resolver_requests_total{result=\"busy\"} 7",
             "# HELP egress_resolver_answers_lost_total Lookup outcomes a worker's full answer ring did not take "
             "(its name waits for [dns] resolve_timeout_ms).",
             "# TYPE egress_resolver_answers_lost_total counter",
             "egress_resolver_answers_lost_total 3",
         })
        EXPECT_TRUE(has_line(text, line)) << line;
}

} // namespace
} // namespace egress::controlplane
