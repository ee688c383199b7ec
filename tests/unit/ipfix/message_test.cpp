// Message framing: headers, sequence numbers, splitting at max_message_bytes,
// set switching, template refresh, buffer reuse.
#include "ipfix/encoder.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ipfix_test_util.hpp"

namespace egress::ipfix {
namespace {

using namespace test;
using bytes = std::vector<uint8_t>;

constexpr std::size_t template_set_bytes = 404 + 22; // Template Set + Options Template Set
constexpr std::size_t v4_record_bytes = 131 + 3; // three empty strings

encoder_settings with_max(std::size_t max) {
    encoder_settings s;
    s.max_message_bytes = max;
    return s;
}

TEST(ipfix_message, header_carries_version_length_export_time_sequence_and_domain) {
    encoder_settings s;
    s.observation_domain_id = 0x01020304;
    message_builder b(s);
    ASSERT_TRUE(b.add(v4_flow())); // the templates come first on their own
    const auto msgs = b.take_messages(1'700'000'000);
    ASSERT_EQ(msgs.size(), 1u);
    const bytes& m = msgs[0];
    ASSERT_EQ(m.size(), 16u + template_set_bytes + 4 + v4_record_bytes); // 580
    const bytes expected_header = {
        0x00, 0x0a,             // version 10
        0x02, 0x44,             // length 580
        0x65, 0x53, 0xf1, 0x00, // export time 1700000000
        0x00, 0x00, 0x00, 0x00, // sequence number: no data record sent before
        0x01, 0x02, 0x03, 0x04, // observation domain id
    };
    EXPECT_EQ(bytes(m.begin(), m.begin() + 16), expected_header);
    const walk_result w = walk(m);
    EXPECT_EQ(w.set_ids, (std::vector<uint16_t>{2, 3, 256}));
    EXPECT_EQ(w.data_records, 1u);
}

TEST(ipfix_message, sequence_numbers_count_the_data_records_of_earlier_messages) {
    message_builder b;
    std::vector<uint32_t> seen;
    const auto send = [&seen](std::span<const uint8_t> m) { seen.push_back(rd32(m, 8)); };

    b.add_templates(); // template records do not count
    b.flush(100, send);
    for (int i = 0; i < 3; ++i) b.add(v4_flow());
    EXPECT_EQ(b.pending_records(), 3u);
    b.flush(101, send);
    b.add(nat_create());
    b.add(denied("203.0.113.9", "198.51.100.1"));
    b.flush(102, send);
    b.add(v6_flow());
    b.add_exporter_statistics(3, 103'000); // an options data record counts too
    b.flush(103, send);
    b.add(v6_flow());
    b.flush(104, send);
    b.flush(105, send); // nothing pending: no message

    EXPECT_EQ(seen, (std::vector<uint32_t>{0, 0, 3, 5, 7}));
    EXPECT_EQ(b.next_sequence_number(), 8u);
    EXPECT_EQ(b.counters().data_records, 7u);
    EXPECT_EQ(b.counters().messages, 5u);
}

TEST(ipfix_message, messages_split_at_max_message_bytes) {
    message_builder b(with_max(450));
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(b.add(v4_flow()));
    EXPECT_EQ(b.pending_messages(), 8u);
    const auto msgs = b.take_messages(7);
    ASSERT_EQ(msgs.size(), 8u);
    // The template sets (442 with the header) leave no room for a 4 + 134 octet
    // data set; then three records per message (16 + 4 + 3 * 134 = 422).
    EXPECT_EQ(msgs[0].size(), 16u + template_set_bytes);
    for (std::size_t i = 1; i < 7; ++i) EXPECT_EQ(msgs[i].size(), 16u + 4 + 3 * v4_record_bytes) << i;
    EXPECT_EQ(msgs[7].size(), 16u + 4 + 2 * v4_record_bytes);
    uint32_t records = 0;
    for (const bytes& m : msgs) {
        EXPECT_LE(m.size(), 450u);
        EXPECT_EQ(rd32(m, 8), records) << "sequence number = data records in earlier messages";
        records += walk(m).data_records;
    }
    EXPECT_EQ(records, 20u);
}

TEST(ipfix_message, every_message_of_a_mixed_stream_stays_under_the_limit_and_walks_cleanly) {
    for (const std::size_t max : {256u, 300u, 512u, 1400u, 9000u}) {
        message_builder b(with_max(max));
        uint32_t added = 0;
        for (int i = 0; i < 200; ++i) {
            flow::flow_event e;
            switch (i % 5) {
            case 0: e = v4_flow(); e.set_name(flow::flow_name_kind::tls_sni, std::string(static_cast<std::size_t>(i % 64), 'n')); break;
            case 1: e = v6_flow(); e.set_name(flow::flow_name_kind::http_host, "example.org"); break;
            case 2: e = nat_create(); break;
            case 3: e = denied("203.0.113.9", "198.51.100.1"); break;
            default: e = denied("2001:db8::9", "2001:db8::2"); break;
            }
            added += b.add(e) ? 1 : 0;
        }
        EXPECT_EQ(added, 200u);
        uint32_t records = 0;
        for (const bytes& m : b.take_messages(1)) {
            EXPECT_LE(m.size(), max);
            EXPECT_EQ(rd32(m, 8), records);
            records += walk(m).data_records;
        }
        EXPECT_EQ(records, 200u) << "max " << max;
    }
}

TEST(ipfix_message, a_new_set_opens_when_the_template_changes) {
    message_builder b;
    b.add(v4_flow());
    b.add(v4_flow());
    b.add(nat_create());
    b.add(v4_flow());
    b.add(v6_flow());
    b.add(v6_flow());
    const auto msgs = b.take_messages(1);
    ASSERT_EQ(msgs.size(), 1u);
    const walk_result w = walk(msgs[0]);
    EXPECT_EQ(w.set_ids, (std::vector<uint16_t>{2, 3, 256, 258, 256, 257}));
    EXPECT_EQ(w.data_records, 6u);
}

TEST(ipfix_message, a_small_limit_is_clamped_and_the_templates_spread_over_messages) {
    message_builder b(with_max(10));
    EXPECT_EQ(b.settings().max_message_bytes, min_message_bytes);
    b.add_templates();
    const auto msgs = b.take_messages(1);
    ASSERT_EQ(msgs.size(), 3u);
    EXPECT_EQ(msgs[0].size(), 16u + 4 + 136);           // template 256 (257 does not fit beside it)
    EXPECT_EQ(msgs[1].size(), 16u + 4 + 128 + 40 + 48); // 257, 258, 259
    EXPECT_EQ(msgs[2].size(), 16u + 4 + 48 + 22);       // 260, then 261 in set 3
    EXPECT_EQ(walk(msgs[0]).set_ids, (std::vector<uint16_t>{2}));
    EXPECT_EQ(walk(msgs[1]).set_ids, (std::vector<uint16_t>{2}));
    EXPECT_EQ(walk(msgs[2]).set_ids, (std::vector<uint16_t>{2, 3}));
}

TEST(ipfix_message, templates_come_first_and_again_after_the_refresh_interval) {
    encoder_settings s;
    s.template_refresh_s = 60;
    message_builder b(s);
    const auto first_set = [](const bytes& m) { return rd16(m, 16); };

    EXPECT_TRUE(b.templates_due(1000));
    b.add_templates();
    EXPECT_FALSE(b.templates_due(1000)) << "pending in an unflushed message";
    b.add(v4_flow());
    auto msgs = b.take_messages(1000);
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_EQ(first_set(msgs[0]), template_set_id);

    for (const uint32_t now : {1001u, 1030u, 1059u}) {
        EXPECT_FALSE(b.templates_due(now)) << now;
        b.add(v4_flow());
        msgs = b.take_messages(now);
        ASSERT_EQ(msgs.size(), 1u);
        EXPECT_EQ(walk(msgs[0]).set_ids, (std::vector<uint16_t>{256})) << now;
    }

    EXPECT_TRUE(b.templates_due(1060));
    b.add_templates();
    b.add(v4_flow());
    msgs = b.take_messages(1060);
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_EQ(walk(msgs[0]).set_ids, (std::vector<uint16_t>{2, 3, 256}));
    EXPECT_FALSE(b.templates_due(1119));
    EXPECT_TRUE(b.templates_due(1120));
    EXPECT_EQ(b.counters().template_sets, 2u);
}

TEST(ipfix_message, the_first_data_record_brings_the_templates_without_being_asked) {
    message_builder b;
    b.add(nat_create());
    EXPECT_FALSE(b.templates_due(5));
    const auto msgs = b.take_messages(5);
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_EQ(walk(msgs[0]).set_ids, (std::vector<uint16_t>{2, 3, 258}));
}

TEST(ipfix_message, a_record_that_cannot_fit_an_empty_message_is_refused_and_counted) {
    message_builder b(with_max(300));
    const std::string big(300, 'x');
    EXPECT_FALSE(b.add(v4_flow(), flow_strings{big, "", ""}));
    EXPECT_EQ(b.counters().records_too_large, 1u);
    EXPECT_EQ(b.pending_messages(), 0u);
    flow::flow_event odd = v4_flow();
    odd.kind = static_cast<flow::event_kind>(9);
    EXPECT_FALSE(b.add(odd));
    EXPECT_EQ(b.counters().records_unknown, 1u);
    EXPECT_TRUE(b.add(v4_flow(), flow_strings{std::string(130, 'y'), "", ""})); // 20 + 131 + 131 + 2 = 284
}

TEST(ipfix_message, buffers_are_reused_across_flushes) {
    message_builder b(with_max(600));
    std::vector<const uint8_t*> first, second;
    for (int i = 0; i < 12; ++i) b.add(v4_flow());
    b.flush(1, [&first](std::span<const uint8_t> m) { first.push_back(m.data()); });
    for (int i = 0; i < 12; ++i) b.add(v4_flow());
    b.flush(2, [&second](std::span<const uint8_t> m) { second.push_back(m.data()); });
    ASSERT_GE(first.size(), 3u);
    // The second round has no template set, so it needs at most as many buffers.
    ASSERT_LE(second.size(), first.size());
    for (std::size_t i = 0; i < second.size(); ++i) EXPECT_EQ(second[i], first[i]) << i;
}

} // namespace
} // namespace egress::ipfix
