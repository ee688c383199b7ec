// JSON lines: the exact text of every kind of event.
#include "ipfix/json_line.hpp"

#include <gtest/gtest.h>

#include <string>

#include "ipfix_test_util.hpp"
#include "stats/drop_reason.hpp"

namespace egress::ipfix {
namespace {

using namespace test;

TEST(ipfix_json_line, ipv4_flow_end) {
    flow::flow_event e = v4_flow();
    e.set_name(flow::flow_name_kind::tls_sni, "x.org");
    set_text(e.rule, "allow-web");
    EXPECT_EQ(to_json_line(e),
              R"({"event":"flow_end","start_ms":1700000000000,"end_ms":1700000002500,"proto":6,)"
              R"("src":"10.0.0.2","src_port":40000,"dst":"192.0.2.7","dst_port":443,)"
              R"("post_nat_src":"198.51.100.1","post_nat_src_port":1024,)"
              R"("bytes_out":1500,"packets_out":10,"bytes_in":4294967298,"packets_in":7,"tcp_flags":27,)"
              R"("end_reason":"end_of_flow","end_reason_code":3,)"
              R"("firewall_event":"flow_deleted","firewall_event_code":2,)"
              R"("ingress_if":0,"egress_if":1,)"
              R"("http_host":"","server_name":"x.org","rule":"allow-web"})" "\n");
}

TEST(ipfix_json_line, a_flow_the_gateway_cut_says_why_and_what_it_dropped) {
    flow::flow_event e = v4_flow();
    e.reason = flow::end_reason::forced_end;
    e.firewall = flow::firewall_event::flow_denied;
    e.drop_reason = static_cast<uint32_t>(stats::drop_reason::hold_timeout);
    e.dropped_packets = 2;
    e.dropped_bytes = 83;
    e.resets_sent = 2;
    set_text(e.rule, "inspect.hold_timeout");
    EXPECT_EQ(to_json_line(e),
              R"({"event":"flow_end","start_ms":1700000000000,"end_ms":1700000002500,"proto":6,)"
              R"("src":"10.0.0.2","src_port":40000,"dst":"192.0.2.7","dst_port":443,)"
              R"("post_nat_src":"198.51.100.1","post_nat_src_port":1024,)"
              R"("bytes_out":1500,"packets_out":10,"bytes_in":4294967298,"packets_in":7,"tcp_flags":27,)"
              R"("end_reason":"forced_end","end_reason_code":4,)"
              R"("firewall_event":"flow_denied","firewall_event_code":3,)"
              R"("drop_reason":"hold_timeout","drop_reason_code":)" +
                  std::to_string(static_cast<unsigned>(stats::drop_reason::hold_timeout)) +
                  R"(,"dropped_packets":2,"dropped_bytes":83,"resets_sent":2,)"
                  R"("ingress_if":0,"egress_if":1,"http_host":"","server_name":"","rule":"inspect.hold_timeout"})" "\n");
}

TEST(ipfix_json_line, ipv6_flow_update_has_no_nat_keys) {
    flow::flow_event e = v6_flow();
    e.set_name(flow::flow_name_kind::http_host, "example.org");
    EXPECT_EQ(to_json_line(e),
              R"({"event":"flow_update","start_ms":1700000000000,"end_ms":1700000002500,"proto":17,)"
              R"("src":"2001:db8::2","src_port":50000,"dst":"2001:db8:1::7","dst_port":53,)"
              R"("bytes_out":100,"packets_out":1,"bytes_in":200,"packets_in":2,"tcp_flags":0,)"
              R"("end_reason":"active_timeout","end_reason_code":2,)"
              R"("firewall_event":"flow_update","firewall_event_code":5,"ingress_if":0,"egress_if":1,)"
              R"("http_host":"example.org","server_name":"","rule":""})" "\n");
}

TEST(ipfix_json_line, nat_session_create) {
    EXPECT_EQ(to_json_line(nat_create()),
              R"({"event":"nat_event","time_ms":1700000000000,)"
              R"("nat_event":"nat44_session_create","nat_event_code":4,"proto":6,)"
              R"("src":"10.0.0.2","src_port":40000,"post_nat_src":"198.51.100.1","post_nat_src_port":1024,)"
              R"("dst":"192.0.2.7","dst_port":443})" "\n");
}

TEST(ipfix_json_line, nat_ports_exhausted_without_a_public_port) {
    flow::flow_event e = nat_create();
    e.nat = flow::nat_event_type::ports_exhausted;
    e.post_nat_src_port = 0;
    e.post_nat_src = net::ip_address{};
    EXPECT_EQ(to_json_line(e),
              R"({"event":"nat_event","time_ms":1700000000000,)"
              R"("nat_event":"ports_exhausted","nat_event_code":12,"proto":6,)"
              R"("src":"10.0.0.2","src_port":40000,"post_nat_src":"0.0.0.0","post_nat_src_port":0,)"
              R"("dst":"192.0.2.7","dst_port":443})" "\n");
}

TEST(ipfix_json_line, denied_attempts) {
    EXPECT_EQ(to_json_line(denied("203.0.113.9", "198.51.100.1")),
              R"({"event":"flow_denied","start_ms":1700000000000,"end_ms":1700000002500,"proto":6,)"
              R"("src":"203.0.113.9","src_port":0,"dst":"198.51.100.1","dst_port":22,"attempts":42,)"
              R"("firewall_event":"flow_denied","firewall_event_code":3,)"
              R"("drop_reason":"inbound_unsolicited","drop_reason_code":26})" "\n");
    flow::flow_event e = denied("2001:db8::9", "2001:db8::2");
    e.drop_reason = 250;
    EXPECT_EQ(to_json_line(e),
              R"({"event":"flow_denied","start_ms":1700000000000,"end_ms":1700000002500,"proto":6,)"
              R"("src":"2001:db8::9","src_port":0,"dst":"2001:db8::2","dst_port":22,"attempts":42,)"
              R"("firewall_event":"flow_denied","firewall_event_code":3,)"
              R"("drop_reason":"unknown","drop_reason_code":250})" "\n");
}

TEST(ipfix_json_line, unknown_codes_are_named_unknown) {
    flow::flow_event e = v4_flow();
    e.reason = static_cast<flow::end_reason>(77);
    e.firewall = static_cast<flow::firewall_event>(66);
    e.nat = static_cast<flow::nat_event_type>(55);
    const std::string line = to_json_line(e);
    EXPECT_NE(line.find(R"("end_reason":"unknown","end_reason_code":77)"), std::string::npos) << line;
    EXPECT_NE(line.find(R"("firewall_event":"unknown","firewall_event_code":66)"), std::string::npos) << line;
    EXPECT_NE(line.find(R"("nat_event":"unknown","nat_event_code":55)"), std::string::npos) << line;

    e.kind = static_cast<flow::event_kind>(9);
    EXPECT_EQ(to_json_line(e), R"({"event":"unknown","event_code":9})" "\n");
}

TEST(ipfix_json_line, strings_are_escaped) {
    const auto json = [](std::string_view s) {
        std::string out;
        append_json_string(out, s);
        return out;
    };
    EXPECT_EQ(json(""), R"("")");
    EXPECT_EQ(json(R"(a"b\c)"), R"("a\"b\\c")");
    EXPECT_EQ(json("\t\n\r\b\f"), R"("\t\n\r\b\f")");
    EXPECT_EQ(json(std::string_view("\x01\x1f\x7f", 3)), "\"\\u0001\\u001f\x7f\"");
    EXPECT_EQ(json("caf\xc3\xa9"), "\"caf\xc3\xa9\""); // valid UTF-8 stays
    EXPECT_EQ(json("a\xff" "b\xe2\x82"), R"("a\ufffdb\ufffd\ufffd")");

    flow::flow_event e = v4_flow();
    set_text(e.rule, "say \"hi\"");
    const std::string line = to_json_line(e);
    EXPECT_NE(line.find(R"("rule":"say \"hi\""})" "\n"), std::string::npos) << line;
}

TEST(ipfix_json_line, every_line_ends_in_one_newline) {
    for (const flow::flow_event& e : {v4_flow(), v6_flow(), nat_create(), denied("203.0.113.9", "198.51.100.1")}) {
        const std::string line = to_json_line(e);
        ASSERT_FALSE(line.empty());
        EXPECT_EQ(line.back(), '\n');
        EXPECT_EQ(line.find('\n'), line.size() - 1) << line;
    }
}

TEST(ipfix_json_line, loss_report) {
    EXPECT_EQ(to_json_loss_line(12, 1'700'000'000'000),
              R"({"event":"events_lost","time_ms":1700000000000,"lost_total":12})" "\n");
}

} // namespace
} // namespace egress::ipfix
