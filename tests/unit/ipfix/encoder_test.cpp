// Byte-exact encodings: the template set and one data record of every template,
// against hand-written bytes.
#include "ipfix/encoder.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ipfix_test_util.hpp"
#include "stats/drop_reason.hpp"

namespace egress::ipfix {
namespace {

using namespace test;
using bytes = std::vector<uint8_t>;

static_assert(static_cast<uint32_t>(stats::drop_reason::inbound_unsolicited) == 26);

bytes append(bytes a, const bytes& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

// The template set the builder sends: all five templates, PEN 32473 (0x7ed9).
const bytes template_set = {
    0x00, 0x02, 0x01, 0x94, // set id 2 (Template Set), length 404
    // --- template 256 ipv4_flow, 29 fields ---
    0x01, 0x00, 0x00, 0x1d, // template id 256, field count 29
    0x00, 0x08, 0x00, 0x04, // sourceIPv4Address (8), 4
    0x00, 0x0c, 0x00, 0x04, // destinationIPv4Address (12), 4
    0x00, 0x07, 0x00, 0x02, // sourceTransportPort (7), 2
    0x00, 0x0b, 0x00, 0x02, // destinationTransportPort (11), 2
    0x00, 0x04, 0x00, 0x01, // protocolIdentifier (4), 1
    0x00, 0xe1, 0x00, 0x04, // postNATSourceIPv4Address (225), 4
    0x00, 0xe3, 0x00, 0x02, // postNAPTSourceTransportPort (227), 2
    0x00, 0xe7, 0x00, 0x08, // initiatorOctets (231), 8
    0x01, 0x2a, 0x00, 0x08, // initiatorPackets (298), 8
    0x00, 0xe8, 0x00, 0x08, // responderOctets (232), 8
    0x01, 0x2b, 0x00, 0x08, // responderPackets (299), 8
    0x00, 0x01, 0x00, 0x08, // octetDeltaCount (1), 8
    0x00, 0x02, 0x00, 0x08, // packetDeltaCount (2), 8
    0x00, 0x17, 0x00, 0x08, // postOctetDeltaCount (23), 8
    0x00, 0x18, 0x00, 0x08, // postPacketDeltaCount (24), 8
    0x00, 0x98, 0x00, 0x08, // flowStartMilliseconds (152), 8
    0x00, 0x99, 0x00, 0x08, // flowEndMilliseconds (153), 8
    0x00, 0x88, 0x00, 0x01, // flowEndReason (136), 1
    0x00, 0xe9, 0x00, 0x01, // firewallEvent (233), 1
    0x00, 0x06, 0x00, 0x02, // tcpControlBits (6), 2
    0x00, 0x0a, 0x00, 0x04, // ingressInterface (10), 4
    0x00, 0x0e, 0x00, 0x04, // egressInterface (14), 4
    0x00, 0x84, 0x00, 0x08, // droppedOctetDeltaCount (132), 8
    0x00, 0x85, 0x00, 0x08, // droppedPacketDeltaCount (133), 8
    0x80, 0x03, 0x00, 0x02, 0x00, 0x00, 0x7e, 0xd9, // E dropReason (3), 2, PEN 32473
    0x80, 0x04, 0x00, 0x02, 0x00, 0x00, 0x7e, 0xd9, // E resetsSent (4), 2, PEN 32473
    0x01, 0xcc, 0xff, 0xff, // httpRequestHost (460), variable
    0x80, 0x01, 0xff, 0xff, 0x00, 0x00, 0x7e, 0xd9, // E tlsServerName (1), variable, PEN 32473
    0x80, 0x02, 0xff, 0xff, 0x00, 0x00, 0x7e, 0xd9, // E policyRuleName (2), variable, PEN 32473
    // --- template 257 ipv6_flow, 27 fields ---
    0x01, 0x01, 0x00, 0x1b, // template id 257, field count 27
    0x00, 0x1b, 0x00, 0x10, // sourceIPv6Address (27), 16
    0x00, 0x1c, 0x00, 0x10, // destinationIPv6Address (28), 16
    0x00, 0x07, 0x00, 0x02, // sourceTransportPort
    0x00, 0x0b, 0x00, 0x02, // destinationTransportPort
    0x00, 0x04, 0x00, 0x01, // protocolIdentifier
    0x00, 0xe7, 0x00, 0x08, // initiatorOctets
    0x01, 0x2a, 0x00, 0x08, // initiatorPackets
    0x00, 0xe8, 0x00, 0x08, // responderOctets
    0x01, 0x2b, 0x00, 0x08, // responderPackets
    0x00, 0x01, 0x00, 0x08, // octetDeltaCount
    0x00, 0x02, 0x00, 0x08, // packetDeltaCount
    0x00, 0x17, 0x00, 0x08, // postOctetDeltaCount
    0x00, 0x18, 0x00, 0x08, // postPacketDeltaCount
    0x00, 0x98, 0x00, 0x08, // flowStartMilliseconds
    0x00, 0x99, 0x00, 0x08, // flowEndMilliseconds
    0x00, 0x88, 0x00, 0x01, // flowEndReason
    0x00, 0xe9, 0x00, 0x01, // firewallEvent
    0x00, 0x06, 0x00, 0x02, // tcpControlBits
    0x00, 0x0a, 0x00, 0x04, // ingressInterface
    0x00, 0x0e, 0x00, 0x04, // egressInterface
    0x00, 0x84, 0x00, 0x08, // droppedOctetDeltaCount
    0x00, 0x85, 0x00, 0x08, // droppedPacketDeltaCount
    0x80, 0x03, 0x00, 0x02, 0x00, 0x00, 0x7e, 0xd9, // E dropReason
    0x80, 0x04, 0x00, 0x02, 0x00, 0x00, 0x7e, 0xd9, // E resetsSent
    0x01, 0xcc, 0xff, 0xff, // httpRequestHost
    0x80, 0x01, 0xff, 0xff, 0x00, 0x00, 0x7e, 0xd9, // E tlsServerName
    0x80, 0x02, 0xff, 0xff, 0x00, 0x00, 0x7e, 0xd9, // E policyRuleName
    // --- template 258 nat_event, 9 fields ---
    0x01, 0x02, 0x00, 0x09, // template id 258, field count 9
    0x01, 0x43, 0x00, 0x08, // observationTimeMilliseconds (323), 8
    0x00, 0xe6, 0x00, 0x01, // natEvent (230), 1
    0x00, 0x08, 0x00, 0x04, // sourceIPv4Address
    0x00, 0xe1, 0x00, 0x04, // postNATSourceIPv4Address
    0x00, 0x04, 0x00, 0x01, // protocolIdentifier
    0x00, 0x07, 0x00, 0x02, // sourceTransportPort
    0x00, 0xe3, 0x00, 0x02, // postNAPTSourceTransportPort
    0x00, 0x0c, 0x00, 0x04, // destinationIPv4Address
    0x00, 0x0b, 0x00, 0x02, // destinationTransportPort
    // --- template 259 ipv4_denied, 10 fields ---
    0x01, 0x03, 0x00, 0x0a, // template id 259, field count 10
    0x00, 0x08, 0x00, 0x04, // sourceIPv4Address
    0x00, 0x0c, 0x00, 0x04, // destinationIPv4Address
    0x00, 0x07, 0x00, 0x02, // sourceTransportPort
    0x00, 0x0b, 0x00, 0x02, // destinationTransportPort
    0x00, 0x04, 0x00, 0x01, // protocolIdentifier
    0x00, 0xe9, 0x00, 0x01, // firewallEvent
    0x00, 0x02, 0x00, 0x08, // packetDeltaCount (attempts)
    0x00, 0x98, 0x00, 0x08, // flowStartMilliseconds
    0x00, 0x99, 0x00, 0x08, // flowEndMilliseconds
    0x80, 0x03, 0x00, 0x02, 0x00, 0x00, 0x7e, 0xd9, // E dropReason (3), 2, PEN 32473
    // --- template 260 ipv6_denied, 10 fields ---
    0x01, 0x04, 0x00, 0x0a, // template id 260, field count 10
    0x00, 0x1b, 0x00, 0x10, // sourceIPv6Address
    0x00, 0x1c, 0x00, 0x10, // destinationIPv6Address
    0x00, 0x07, 0x00, 0x02, // sourceTransportPort
    0x00, 0x0b, 0x00, 0x02, // destinationTransportPort
    0x00, 0x04, 0x00, 0x01, // protocolIdentifier
    0x00, 0xe9, 0x00, 0x01, // firewallEvent
    0x00, 0x02, 0x00, 0x08, // packetDeltaCount
    0x00, 0x98, 0x00, 0x08, // flowStartMilliseconds
    0x00, 0x99, 0x00, 0x08, // flowEndMilliseconds
    0x80, 0x03, 0x00, 0x02, 0x00, 0x00, 0x7e, 0xd9, // E dropReason
};

// The Options Template Set sent with it: RFC 7011 §4.3 exporter statistics.
const bytes options_template_set = {
    0x00, 0x03, 0x00, 0x16, // set id 3 (Options Template Set), length 22
    0x01, 0x05, 0x00, 0x03, // template id 261, field count 3
    0x00, 0x01,             // scope field count 1
    0x00, 0x90, 0x00, 0x04, // exportingProcessId (144), 4: scope
    0x00, 0xa6, 0x00, 0x08, // notSentFlowTotalCount (166), 8
    0x01, 0x43, 0x00, 0x08, // observationTimeMilliseconds (323), 8
};

// Header of a message of `length` octets, export time 1700000000, the given
// sequence number, observation domain 0x01020304.
bytes header(uint16_t length, uint8_t seq) {
    return {0x00, 0x0a,                                               // version 10
            static_cast<uint8_t>(length >> 8), static_cast<uint8_t>(length), // length
            0x65, 0x53, 0xf1, 0x00,                                   // export time 1700000000
            0x00, 0x00, 0x00, seq,                                    // sequence number
            0x01, 0x02, 0x03, 0x04};                                  // observation domain id
}

constexpr uint32_t export_s = 1'700'000'000;

encoder_settings test_settings() {
    encoder_settings s;
    s.observation_domain_id = 0x01020304;
    return s;
}

// The message carrying exactly one data record of e (templates flushed before).
bytes only_record(const flow::flow_event& e, const flow_strings* text = nullptr) {
    message_builder b(test_settings());
    b.add_templates();
    EXPECT_EQ(b.take_messages(export_s).size(), 1u);
    EXPECT_TRUE(text ? b.add(e, *text) : b.add(e));
    auto msgs = b.take_messages(export_s);
    EXPECT_EQ(msgs.size(), 1u);
    return msgs.empty() ? bytes{} : msgs.front();
}

TEST(ipfix_encoder, the_template_message_is_the_header_and_both_template_sets) {
    message_builder b(test_settings());
    b.add_templates();
    const auto msgs = b.take_messages(export_s);
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_EQ(msgs[0], append(append(header(16 + 404 + 22, 0), template_set), options_template_set));
}

TEST(ipfix_encoder, exporter_statistics_record) {
    message_builder b(test_settings());
    b.add_templates();
    b.take_messages(export_s);
    b.add_exporter_statistics(12, t0_ms);
    const bytes expected = append(header(16 + 4 + 20, 0), {
        0x01, 0x05, 0x00, 0x18,             // data set 261, length 24
        0x01, 0x02, 0x03, 0x04,             // exportingProcessId = observation domain id
        0, 0, 0, 0, 0, 0, 0, 0x0c,          // notSentFlowTotalCount 12
        0, 0, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, // observationTimeMilliseconds 1700000000000
    });
    EXPECT_EQ(b.take_messages(export_s).at(0), expected);
    EXPECT_EQ(b.next_sequence_number(), 1u) << "an options data record is a data record";
    EXPECT_EQ(b.counters().statistics_records, 1u);
}

TEST(ipfix_encoder, the_enterprise_number_comes_from_the_settings) {
    encoder_settings s;
    s.enterprise_number = 0x12345678;
    message_builder b(s);
    b.add_templates();
    const bytes m = b.take_messages(0).at(0);
    // The first enterprise field of template 256 sits after the header (16), the
    // set header (4), the template header (4) and 24 plain fields (96).
    const bytes first(m.begin() + 120, m.begin() + 128);
    EXPECT_EQ(first, (bytes{0x80, 0x03, 0x00, 0x02, 0x12, 0x34, 0x56, 0x78})); // E dropReason
}

TEST(ipfix_encoder, ipv4_flow_record_with_strings_of_0_5_and_300_octets) {
    const std::string rule(300, 'r');
    const flow_strings text{"", "x.org", rule};
    bytes expected = append(header(16 + 4 + 441, 0), {
        0x01, 0x00, 0x01, 0xbd,             // data set 256, length 445
        0x0a, 0x00, 0x00, 0x02,             // sourceIPv4Address 10.0.0.2
        0xc0, 0x00, 0x02, 0x07,             // destinationIPv4Address 192.0.2.7
        0x9c, 0x40,                         // sourceTransportPort 40000
        0x01, 0xbb,                         // destinationTransportPort 443
        0x06,                               // protocolIdentifier TCP
        0xc6, 0x33, 0x64, 0x01,             // postNATSourceIPv4Address 198.51.100.1
        0x04, 0x00,                         // postNAPTSourceTransportPort 1024
        0, 0, 0, 0, 0, 0, 0x05, 0xdc,       // initiatorOctets 1500
        0, 0, 0, 0, 0, 0, 0, 0x0a,          // initiatorPackets 10
        0, 0, 0, 0x01, 0, 0, 0, 0x02,       // responderOctets 4294967298
        0, 0, 0, 0, 0, 0, 0, 0x07,          // responderPackets 7
        0, 0, 0, 0, 0, 0, 0x05, 0xdc,       // octetDeltaCount = initiatorOctets
        0, 0, 0, 0, 0, 0, 0, 0x0a,          // packetDeltaCount = initiatorPackets
        0, 0, 0, 0x01, 0, 0, 0, 0x02,       // postOctetDeltaCount = responderOctets
        0, 0, 0, 0, 0, 0, 0, 0x07,          // postPacketDeltaCount = responderPackets
        0, 0, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, // flowStartMilliseconds 1700000000000
        0, 0, 0x01, 0x8b, 0xcf, 0xe5, 0x71, 0xc4, // flowEndMilliseconds 1700000002500
        0x03,                               // flowEndReason end of flow
        0x02,                               // firewallEvent flow deleted (no natEvent: see encoder.cpp)
        0x00, 0x1b,                         // tcpControlBits FIN SYN PSH ACK
        0x00, 0x00, 0x00, 0x00,             // ingressInterface 0 (inside)
        0x00, 0x00, 0x00, 0x01,             // egressInterface 1 (outside)
        0, 0, 0, 0, 0, 0, 0, 0,             // droppedOctetDeltaCount 0 (a flow not cut)
        0, 0, 0, 0, 0, 0, 0, 0,             // droppedPacketDeltaCount 0
        0x00, 0x00,                         // E dropReason 0
        0x00, 0x00,                         // E resetsSent 0
        0x00,                               // httpRequestHost: length 0
        0x05, 'x', '.', 'o', 'r', 'g',      // tlsServerName: length 5, "x.org"
        0xff, 0x01, 0x2c,                   // policyRuleName: 255, then length 300 ...
    });
    expected.insert(expected.end(), rule.begin(), rule.end()); // ... and its 300 octets
    EXPECT_EQ(only_record(v4_flow(), &text), expected);
}

TEST(ipfix_encoder, strings_default_to_the_event_fields) {
    flow::flow_event e = v4_flow();
    e.set_name(flow::flow_name_kind::http_host, "h");
    set_text(e.rule, "r1");
    bytes m = only_record(e);
    ASSERT_EQ(m.size(), 16u + 4 + 131 + 2 + 1 + 3);
    EXPECT_EQ(bytes(m.begin() + 16 + 4 + 131, m.end()), (bytes{0x01, 'h', 0x00, 0x02, 'r', '1'}));
    // The longest name DNS allows (253 octets: four labels of 63, dots between),
    // whole, and the longest rule name (64): one length octet each (< 255).
    const std::string name = std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(63, 'c') + "." +
                             std::string(61, 'd');
    ASSERT_EQ(name.size(), 253u);
    const std::string rule(64, 'r');
    e = v4_flow();
    e.set_name(flow::flow_name_kind::tls_sni, name); // full field, no NUL
    set_text(e.rule, rule);
    m = only_record(e);
    ASSERT_EQ(m.size(), 16u + 4 + 131 + 1 + 254 + 65);
    bytes expected{0x00, 0xfd}; // httpRequestHost empty; tlsServerName: 253 octets
    expected.insert(expected.end(), name.begin(), name.end());
    expected.push_back(0x40); // policyRuleName: 64 octets
    expected.insert(expected.end(), rule.begin(), rule.end());
    EXPECT_EQ(bytes(m.begin() + 16 + 4 + 131, m.end()), expected);
}

TEST(ipfix_encoder, ipv6_flow_record) {
    const bytes expected = append(header(16 + 4 + 152, 0), {
        0x01, 0x01, 0x00, 0x9c,             // data set 257, length 156
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, // sourceIPv6Address 2001:db8::2
        0x20, 0x01, 0x0d, 0xb8, 0, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x07, // destinationIPv6Address 2001:db8:1::7
        0xc3, 0x50,                         // sourceTransportPort 50000
        0x00, 0x35,                         // destinationTransportPort 53
        0x11,                               // protocolIdentifier UDP
        0, 0, 0, 0, 0, 0, 0, 0x64,          // initiatorOctets 100
        0, 0, 0, 0, 0, 0, 0, 0x01,          // initiatorPackets 1
        0, 0, 0, 0, 0, 0, 0, 0xc8,          // responderOctets 200
        0, 0, 0, 0, 0, 0, 0, 0x02,          // responderPackets 2
        0, 0, 0, 0, 0, 0, 0, 0x64,          // octetDeltaCount
        0, 0, 0, 0, 0, 0, 0, 0x01,          // packetDeltaCount
        0, 0, 0, 0, 0, 0, 0, 0xc8,          // postOctetDeltaCount
        0, 0, 0, 0, 0, 0, 0, 0x02,          // postPacketDeltaCount
        0, 0, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, // flowStartMilliseconds
        0, 0, 0x01, 0x8b, 0xcf, 0xe5, 0x71, 0xc4, // flowEndMilliseconds
        0x02,                               // flowEndReason active timeout
        0x05,                               // firewallEvent flow update
        0x00, 0x00,                         // tcpControlBits
        0x00, 0x00, 0x00, 0x00,             // ingressInterface 0
        0x00, 0x00, 0x00, 0x01,             // egressInterface 1
        0, 0, 0, 0, 0, 0, 0, 0,             // droppedOctetDeltaCount
        0, 0, 0, 0, 0, 0, 0, 0,             // droppedPacketDeltaCount
        0x00, 0x00,                         // E dropReason
        0x00, 0x00,                         // E resetsSent
        0x00, 0x00, 0x00,                   // three empty strings
    });
    EXPECT_EQ(only_record(v6_flow()), expected);
}

TEST(ipfix_encoder, nat_event_record) {
    const bytes expected = append(header(16 + 4 + 28, 0), {
        0x01, 0x02, 0x00, 0x20,             // data set 258, length 32
        0, 0, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, // observationTimeMilliseconds 1700000000000
        0x04,                               // natEvent NAT44 session create (4)
        0x0a, 0x00, 0x00, 0x02,             // sourceIPv4Address 10.0.0.2
        0xc6, 0x33, 0x64, 0x01,             // postNATSourceIPv4Address 198.51.100.1
        0x06,                               // protocolIdentifier TCP
        0x9c, 0x40,                         // sourceTransportPort 40000
        0x04, 0x00,                         // postNAPTSourceTransportPort 1024
        0xc0, 0x00, 0x02, 0x07,             // destinationIPv4Address 192.0.2.7
        0x01, 0xbb,                         // destinationTransportPort 443
    });
    EXPECT_EQ(only_record(nat_create()), expected);
}

TEST(ipfix_encoder, ipv4_denied_record) {
    const bytes expected = append(header(16 + 4 + 40, 0), {
        0x01, 0x03, 0x00, 0x2c,             // data set 259, length 44
        0xcb, 0x00, 0x71, 0x09,             // sourceIPv4Address 203.0.113.9
        0xc6, 0x33, 0x64, 0x01,             // destinationIPv4Address 198.51.100.1
        0x00, 0x00,                         // sourceTransportPort 0
        0x00, 0x16,                         // destinationTransportPort 22
        0x06,                               // protocolIdentifier TCP
        0x03,                               // firewallEvent flow denied
        0, 0, 0, 0, 0, 0, 0, 0x2a,          // packetDeltaCount: 42 attempts
        0, 0, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, // flowStartMilliseconds: first attempt
        0, 0, 0x01, 0x8b, 0xcf, 0xe5, 0x71, 0xc4, // flowEndMilliseconds: last attempt
        0x00, 0x1a,                         // E dropReason 26 inbound_unsolicited
    });
    EXPECT_EQ(only_record(denied("203.0.113.9", "198.51.100.1")), expected);
}

TEST(ipfix_encoder, ipv6_denied_record) {
    const bytes expected = append(header(16 + 4 + 64, 0), {
        0x01, 0x04, 0x00, 0x44,             // data set 260, length 68
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x09, // sourceIPv6Address 2001:db8::9
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, // destinationIPv6Address 2001:db8::2
        0x00, 0x00,                         // sourceTransportPort
        0x00, 0x16,                         // destinationTransportPort 22
        0x06,                               // protocolIdentifier
        0x03,                               // firewallEvent flow denied
        0, 0, 0, 0, 0, 0, 0, 0x2a,          // packetDeltaCount 42
        0, 0, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, // flowStartMilliseconds
        0, 0, 0x01, 0x8b, 0xcf, 0xe5, 0x71, 0xc4, // flowEndMilliseconds
        0x00, 0x1a,                         // E dropReason 26
    });
    EXPECT_EQ(only_record(denied("2001:db8::9", "2001:db8::2")), expected);
}

TEST(ipfix_encoder, a_flow_the_gateway_cut_carries_its_drops_reason_and_resets) {
    flow::flow_event e = v4_flow();
    e.reason = flow::end_reason::forced_end;
    e.firewall = flow::firewall_event::flow_denied;
    e.drop_reason = static_cast<uint32_t>(stats::drop_reason::inspect_no_sni);
    e.dropped_bytes = 517;
    e.dropped_packets = 2;
    e.resets_sent = 2;
    set_text(e.rule, "inspection.no_sni");
    const bytes m = only_record(e);
    ASSERT_EQ(m.size(), 16u + 4 + 131 + 3 + 17);
    EXPECT_EQ(m[20 + 99], 4); // flowEndReason forced end
    EXPECT_EQ(m[20 + 100], 3); // firewallEvent flow denied
    const uint8_t code = static_cast<uint8_t>(stats::drop_reason::inspect_no_sni);
    EXPECT_EQ(bytes(m.begin() + 20 + 111, m.begin() + 20 + 131), (bytes{
        0, 0, 0, 0, 0, 0, 0x02, 0x05, // droppedOctetDeltaCount 517
        0, 0, 0, 0, 0, 0, 0, 0x02,    // droppedPacketDeltaCount 2
        0x00, code,                   // E dropReason inspect_no_sni
        0x00, 0x02,                   // E resetsSent 2
    }));
    EXPECT_EQ(bytes(m.end() - 18, m.end()), append({17}, bytes{'i', 'n', 's', 'p', 'e', 'c', 't', 'i', 'o', 'n', '.',
                                                                  'n', 'o', '_', 's', 'n', 'i'}));
}

TEST(ipfix_encoder, ipv4_fields_of_a_missing_address_are_zero) {
    flow::flow_event e = nat_create();
    e.nat = flow::nat_event_type::ports_exhausted;
    e.post_nat_src = net::ip_address{}; // all-zero: "none"
    const bytes m = only_record(e);
    ASSERT_EQ(m.size(), 16u + 4 + 28);
    EXPECT_EQ(m[20 + 8], 12); // natEvent NAT ports exhausted (12)
    EXPECT_EQ(bytes(m.begin() + 20 + 13, m.begin() + 20 + 17), (bytes{0, 0, 0, 0}));
}

TEST(ipfix_encoder, variable_length_prefixes) {
    const auto encode = [](std::size_t n) {
        bytes out;
        put_variable_length(out, std::string(n, 'a'));
        return out;
    };
    EXPECT_EQ(encode(0), (bytes{0x00}));
    EXPECT_EQ(encode(5), (bytes{0x05, 'a', 'a', 'a', 'a', 'a'}));
    const bytes b254 = encode(254);
    ASSERT_EQ(b254.size(), 255u);
    EXPECT_EQ(b254[0], 254);
    const bytes b255 = encode(255); // 255 is the escape: the 3-octet form starts here
    ASSERT_EQ(b255.size(), 258u);
    EXPECT_EQ(bytes(b255.begin(), b255.begin() + 4), (bytes{0xff, 0x00, 0xff, 'a'}));
    const bytes b300 = encode(300);
    ASSERT_EQ(b300.size(), 303u);
    EXPECT_EQ(bytes(b300.begin(), b300.begin() + 3), (bytes{0xff, 0x01, 0x2c}));
    EXPECT_EQ(variable_length_size(254), 255u);
    EXPECT_EQ(variable_length_size(255), 258u);
}

TEST(ipfix_encoder, invalid_utf8_octets_become_question_marks_and_keep_the_length) {
    bytes out;
    // "é" (c3 a9) is kept; a lone continuation (80), an overlong "/" (c0 af), a
    // truncated sequence (e2 82) and a surrogate (ed a0 80) are not.
    put_variable_length(out, "\xc3\xa9-\x80-\xc0\xaf-\xe2\x82-\xed\xa0\x80");
    EXPECT_EQ(out, (bytes{14, 0xc3, 0xa9, '-', '?', '-', '?', '?', '-', '?', '?', '-', '?', '?', '?'}));
}

} // namespace
} // namespace egress::ipfix
