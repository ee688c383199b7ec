// DLP on the packet path: the flow's payload is scanned in sequence order per
// direction; a `block` pattern cuts the flow at the segment that completes the
// match (resets both ways), an `alert` pattern only reports; the security event
// carries the pattern, offset, length and a masked sample, never the match.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "gateway/gateway_core.hpp"
#include "gateway_fixture.hpp"
#include "net/packet_parser.hpp"

namespace egress::gateway {
namespace {

using stats::drop_reason;
using stats::no_drop;
using stats::side;
using bytes = std::vector<uint8_t>;
using namespace testing_network;

constexpr uint32_t client_isn = 1000;
constexpr uint32_t server_isn = 5000;
constexpr std::string_view aws_key = "AKIAIOSFODNN7EXAMPLE";

struct dlp_flow : ::testing::Test {
    std::unique_ptr<gateway_core> core;
    std::unique_ptr<policy::active_policy> active;
    policy::security_ring ring{64};

    // Allow by default; a blocking AWS key pattern (outbound unless told) and
    // an alerting card pattern.
    static policy::policy_spec dlp_spec(dlp::dlp_pattern_direction key = dlp::dlp_pattern_direction::outbound) {
        policy::policy_spec spec;
        spec.default_action = policy::verdict::allow;
        dlp::dlp_pattern aws;
        aws.name = "aws-access-key";
        aws.regex = "AKIA[0-9A-Z]{16}";
        aws.severity = dlp::dlp_severity::critical;
        aws.action = dlp::dlp_action::block;
        aws.direction = key;
        dlp::dlp_pattern card;
        card.name = "card";
        card.regex = "\\b(?:\\d[ -]?){13,19}\\b";
        card.validator = dlp::dlp_validator::luhn;
        spec.dlp.patterns = {aws, card};
        return spec;
    }

    void SetUp() override {
        auto compiled = policy::compiled_policy::compile(dlp_spec());
        ASSERT_TRUE(compiled.policy) << compiled.error;
        active = std::make_unique<policy::active_policy>(std::move(compiled.policy));
        ASSERT_TRUE(active->dlp);
        core = std::make_unique<gateway_core>(make_settings());
        core->use_policy(active.get());
        core->attach_security_events(&ring);
        ASSERT_EQ(out(net::tcp_syn, client_isn), verdict::forward);
        test::bytes synack = from_outside().ipv4("198.51.100.7", "203.0.113.10").tcp(443, 40000, net::tcp_syn | net::tcp_ack).tcp_seq(server_isn, client_isn + 1).build();
        ASSERT_EQ(core->process(side::outside, synack, 10), verdict::forward);
    }
    packet_result out(uint8_t flags, uint32_t seq, std::string_view payload = "") {
        test::bytes f = from_inside().ipv4("10.0.0.5", "198.51.100.7").tcp(40000, 443, flags).tcp_seq(seq, server_isn + 1).payload(payload).build();
        return core->process(side::inside, f, 10);
    }
    std::vector<policy::security_event> events() {
        std::vector<policy::security_event> v(64);
        v.resize(ring.pop_burst(v.data(), v.size()));
        return v;
    }
};

TEST_F(dlp_flow, a_key_split_across_segments_is_blocked_at_the_completing_segment) {
    const std::string body = "POST /upload HTTP/1.1\r\nHost: x\r\n\r\nkey=" + std::string(aws_key) + "&x=1";
    const std::size_t split = body.find("AKIA") + 7; // inside the key
    EXPECT_EQ(out(net::tcp_ack | net::tcp_psh, client_isn + 1, std::string_view(body).substr(0, split)), verdict::forward);
    const packet_result blocked = out(net::tcp_ack | net::tcp_psh, client_isn + 1 + static_cast<uint32_t>(split), std::string_view(body).substr(split));
    EXPECT_EQ(blocked, drop_reason::dlp_blocked);
    EXPECT_EQ(blocked.reply_len, 14u + 20 + 20); // reset to the inside host
    EXPECT_EQ(core->built_frames().size(), 1u);    // and to the server
    EXPECT_EQ(core->counters().dlp_blocked, 1u);
    const auto e = events();
    ASSERT_EQ(e.size(), 1u);
    EXPECT_EQ(e[0].kind, policy::security_event_kind::dlp);
    EXPECT_EQ(std::string(e[0].rule.data()), "aws-access-key");
    EXPECT_EQ(e[0].dlp_offset, body.find("AKIA"));
    EXPECT_EQ(e[0].dlp_length, aws_key.size());
    EXPECT_EQ(e[0].dlp_sample.view(), "AK****************LE");
    EXPECT_EQ(e[0].dlp_action, static_cast<uint8_t>(dlp::dlp_action::block));
    // The flow is over.
    EXPECT_EQ(out(net::tcp_ack, client_isn + 1 + static_cast<uint32_t>(body.size())), drop_reason::policy_cut);
}

TEST_F(dlp_flow, alerts_report_and_pass_validated_matches_only) {
    const std::string a = "card 4111 1111 1111 1111 and 4111 1111 1111 1112 end";
    EXPECT_EQ(out(net::tcp_ack, client_isn + 1, a), verdict::forward);
    EXPECT_EQ(out(net::tcp_ack | net::tcp_fin, client_isn + 1 + static_cast<uint32_t>(a.size())), verdict::forward);
    const auto e = events();
    ASSERT_EQ(e.size(), 1u); // the second number fails the Luhn check
    EXPECT_EQ(std::string(e[0].rule.data()), "card");
    EXPECT_EQ(e[0].dlp_sample.view(), "41***************11");
    EXPECT_EQ(e[0].dlp_offset, 5u);
}

TEST_F(dlp_flow, a_segment_beyond_a_gap_waits_for_the_retransmission) {
    EXPECT_EQ(out(net::tcp_ack, client_isn + 1 + 10, "later data"), drop_reason::dlp_out_of_order);
    EXPECT_EQ(out(net::tcp_ack, client_isn + 1, "0123456789"), verdict::forward);
    EXPECT_EQ(out(net::tcp_ack, client_isn + 1, "0123456789"), verdict::forward); // a retransmission passes
    EXPECT_EQ(out(net::tcp_ack, client_isn + 1 + 10, "later data"), verdict::forward);
    EXPECT_EQ(core->counters().drops[static_cast<std::size_t>(drop_reason::dlp_out_of_order)], 1u);
}

// Stream normalisation of a DLP-scanned flow: a retransmission of bytes already
// scanned is compared with the scanned bytes still held (the last 64) and
// dropped if it differs; one reaching further back is scanned again, whole, so
// the copy the receiver keeps was inspected either way. One row per case: the
// first copy (forwarded, in order from the stream's first byte), the second
// copy (its stream offset and bytes), what happens to it, what is reported.
TEST_F(dlp_flow, a_second_copy_is_compared_or_scanned_again) {
    const std::string a200(200, 'a');
    const std::string key200 = std::string(20, 'a') + std::string(aws_key) + std::string(160, 'a');
    const std::string card200 = "pay 10 = 4111 1111 1111 1111 end" + std::string(168, 'a');
    struct row {
        const char* what;
        std::string first;
        uint32_t at;
        std::string second;
        outcome expect;
        uint64_t rescans;
        std::vector<std::pair<std::string, uint64_t>> reported; // pattern, stream offset
    };
    const std::vector<row> rows = {
        {"faithful copy of the last bytes: compared, passes", "0123456789abcdef", 4, "456789abcdef",
         verdict::forward, 0, {}},
        {"faithful copy reaching past the last 64 bytes: scanned again, passes", a200, 0, a200, verdict::forward, 1,
         {}},
        {"first copy innocent, second carries the key within the last 64 bytes: dropped", a200, 150,
         std::string(10, 'a') + std::string(aws_key) + std::string(20, 'a'),
         outcome(drop_reason::stream_overlap_mismatch), 0, {}},
        {"first copy innocent, second carries the key further back: caught", a200, 0, key200,
         outcome(drop_reason::dlp_blocked), 1, {{"aws-access-key", 20}}},
        {"second copy changes the last scanned bytes and goes on with new ones: dropped", a200, 196,
         "AKIA" + std::string(aws_key.substr(4)), outcome(drop_reason::stream_overlap_mismatch), 0, {}},
        {"faithful copy of a reported card number: scanned again, not reported twice", card200, 0, card200,
         verdict::forward, 1, {{"card", 9}}},
    };
    for (const row& r : rows) {
        SetUp();
        ASSERT_EQ(out(net::tcp_ack, client_isn + 1, r.first), verdict::forward) << r.what;
        EXPECT_EQ(out(net::tcp_ack, client_isn + 1 + r.at, r.second), r.expect) << r.what;
        EXPECT_EQ(core->counters().drops[static_cast<std::size_t>(drop_reason::stream_overlap_mismatch)],
                  r.expect == outcome(drop_reason::stream_overlap_mismatch) ? 1u : 0u)
            << r.what;
        EXPECT_EQ(core->counters().dlp_blocked, r.expect == outcome(drop_reason::dlp_blocked) ? 1u : 0u) << r.what;
        EXPECT_EQ(active->scanner(0)->counters().rescans.load(), r.rescans) << r.what;
        std::vector<std::pair<std::string, uint64_t>> reported;
        for (const policy::security_event& e : events())
            reported.emplace_back(std::string(base::field_text(e.rule)), e.dlp_offset);
        EXPECT_EQ(reported, r.reported) << r.what;
    }
}

// Data on a SYN or a SYN-ACK (TCP Fast Open, RFC 7413) starts one sequence
// number after the segment's own (the SYN takes that one): it is scanned from
// its first byte, and the stream goes on after its last. One row per
// connection (client port 40001): its segments in order, each with its
// outcome, and what DLP reported (pattern, stream offset in that direction).
TEST_F(dlp_flow, fast_open_data_is_scanned_from_its_first_byte) {
    struct segment {
        side from;
        uint8_t flags;
        uint32_t seq;
        uint32_t ack;
        std::string payload;
        outcome expect;
    };
    struct row {
        const char* what;
        std::vector<segment> segments;
        std::vector<std::pair<std::string, uint64_t>> reported;
    };
    constexpr uint8_t syn = net::tcp_syn, ack = net::tcp_ack;
    const std::string key(aws_key);
    const std::vector<row> rows = {
        {"the key on the client's SYN: blocked there",
         {{side::inside, syn, 7000, 0, key, outcome(drop_reason::dlp_blocked)}},
         {{"aws-access-key", 0}}},
        {"innocent data on the SYN, the key in the next segment: blocked, the stream counted on from the SYN's data",
         {{side::inside, syn, 7000, 0, "ab=", verdict::forward},
          {side::outside, syn | ack, 9000, 7004, "", verdict::forward},
          {side::inside, ack, 7004, 9001, key, outcome(drop_reason::dlp_blocked)}},
         {{"aws-access-key", 3}}},
        {"the key on the server's SYN-ACK: blocked there",
         {{side::inside, syn, 7000, 0, "", verdict::forward},
          {side::outside, syn | ack, 9000, 7001, key, outcome(drop_reason::dlp_blocked)}},
         {{"aws-access-key", 0}}},
    };
    for (const row& r : rows) {
        SetUp();
        // The key pattern in both directions, for the server's data.
        auto both = std::make_unique<policy::active_policy>(
            policy::compiled_policy::compile(dlp_spec(dlp::dlp_pattern_direction::both)).policy);
        core->use_policy(both.get());
        active = std::move(both);
        for (const segment& g : r.segments) {
            test::bytes f = g.from == side::inside
                                ? from_inside().ipv4("10.0.0.5", "198.51.100.7").tcp(40001, 443, g.flags).tcp_seq(g.seq, g.ack).payload(g.payload).build()
                                : from_outside().ipv4("198.51.100.7", "203.0.113.10").tcp(443, 40001, g.flags).tcp_seq(g.seq, g.ack).payload(g.payload).build();
            EXPECT_EQ(core->process(g.from, f, 10), g.expect) << r.what << ", seq " << g.seq;
        }
        EXPECT_EQ(core->counters().drops[static_cast<std::size_t>(drop_reason::dlp_out_of_order)], 0u) << r.what;
        std::vector<std::pair<std::string, uint64_t>> reported;
        for (const policy::security_event& e : events())
            reported.emplace_back(std::string(base::field_text(e.rule)), e.dlp_offset);
        EXPECT_EQ(reported, r.reported) << r.what;
    }
}

TEST_F(dlp_flow, a_flow_keeps_its_scanner_across_a_reload) {
    const std::string body = "key=" + std::string(aws_key);
    EXPECT_EQ(out(net::tcp_ack, client_isn + 1, std::string_view(body).substr(0, 10)), verdict::forward);
    std::shared_ptr<dlp::dlp_scanner> old_scanner = active->dlp; // what the retired list keeps
    EXPECT_EQ(old_scanner->held_streams(), 1u);
    // Reload: a new snapshot with its own scanner; the old snapshot is gone.
    policy::policy_spec spec;
    spec.default_action = policy::verdict::allow;
    spec.version = 2;
    dlp::dlp_pattern other;
    other.name = "other";
    other.regex = "nothing-like-this";
    spec.dlp.patterns = {other};
    auto next = std::make_unique<policy::active_policy>(policy::compiled_policy::compile(spec).policy);
    core->use_policy(next.get());
    active = std::move(next);
    // The flow still matches the old patterns across the reload...
    EXPECT_EQ(out(net::tcp_ack, client_isn + 11, std::string_view(body).substr(10)), drop_reason::dlp_blocked);
    // ...and, cut, gives its stream back at once: the old scanner can be freed.
    EXPECT_EQ(old_scanner->held_streams(), 0u);
    dlp::dlp_retired_scanners retired;
    retired.retire(std::move(old_scanner));
    EXPECT_EQ(retired.collect(), 1u);
}

TEST_F(dlp_flow, udp_datagrams_are_scanned_one_by_one) {
    test::bytes ok = from_inside().ipv4("10.0.0.5", "198.51.100.7").udp(5000, 53).payload("hello").build();
    EXPECT_EQ(core->process(side::inside, ok, 0), verdict::forward);
    test::bytes leak = from_inside().ipv4("10.0.0.5", "198.51.100.7").udp(5000, 53).payload("k=" + std::string(aws_key)).build();
    EXPECT_EQ(core->process(side::inside, leak, 0), drop_reason::dlp_blocked);
    EXPECT_EQ(core->built_frames().size(), 0u); // no reset for UDP
}

} // namespace
} // namespace egress::gateway
