// lib/dlp/dlp: the streaming DLP engine (Hyperscan), without EAL.
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <gtest/gtest.h>

#include "dlp/dlp.hpp"

namespace {

using namespace egress::dlp;

constexpr uint32_t aws = 0;
constexpr uint32_t pem = 1;
constexpr uint32_t card = 2;

std::vector<dlp_pattern> base_patterns() {
    std::vector<dlp_pattern> p(3);
    p[aws].name = "aws-key";
    p[aws].regex = "AKIA[0-9A-Z]{16}";
    p[aws].severity = dlp_severity::high;
    p[aws].action = dlp_action::block;
    p[pem].name = "pem-private-key";
    p[pem].regex = "-----BEGIN (RSA |EC )?PRIVATE KEY-----";
    p[pem].severity = dlp_severity::critical;
    p[card].name = "card";
    p[card].regex = R"(\b(?:\d[ -]?){13,19}\b)";
    p[card].validator = dlp_validator::luhn;
    return p;
}

std::shared_ptr<const dlp_database> build(std::vector<dlp_pattern> patterns, const dlp_build_options& o = {}) {
    auto r = dlp_database::build(std::move(patterns), o);
    EXPECT_TRUE(r.database) << r.error;
    return r.database;
}

std::shared_ptr<dlp_scanner> scanner_for(std::shared_ptr<const dlp_database> db, uint32_t streams = 8,
                                         uint64_t depth = 0) {
    dlp_scanner_config c;
    c.max_streams = streams;
    c.depth_bytes = depth;
    auto r = dlp_scanner::create(std::move(db), c);
    EXPECT_TRUE(r.scanner) << r.error;
    return r.scanner;
}

struct hit {
    uint32_t pattern;
    uint64_t start;
    uint64_t length;
    std::string sample;
    dlp_direction direction = dlp_direction::outbound;
    friend bool operator==(const hit&, const hit&) = default;
    friend std::ostream& operator<<(std::ostream& os, const hit& h) {
        return os << "{pattern " << h.pattern << ", start " << h.start << ", length " << h.length << ", \""
                  << h.sample << "\", " << to_string(h.direction) << "}";
    }
};

struct collector {
    std::vector<hit> hits;
    const dlp_database* last_db = nullptr;
    void operator()(const dlp_match& m) {
        hits.push_back(hit{m.pattern, m.start, m.length(), std::string(m.sample.view()), m.direction});
        last_db = m.database;
    }
};

std::span<const uint8_t> bytes(std::string_view s) {
    return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Scans text in the given segment sizes (the last takes the rest), then finishes.
std::vector<hit> scan_in_pieces(dlp_scanner& s, std::string_view text, const std::vector<std::size_t>& cuts,
                                dlp_direction d = dlp_direction::outbound) {
    dlp_flow_state flow;
    collector c;
    std::size_t at = 0;
    for (const std::size_t cut : cuts) {
        EXPECT_EQ(s.scan(flow, d, bytes(text.substr(at, cut - at)), c).status, dlp_scan_status::scanned);
        at = cut;
    }
    EXPECT_EQ(s.scan(flow, d, bytes(text.substr(at)), c).status, dlp_scan_status::scanned);
    EXPECT_EQ(flow.of(d).offset, text.size());
    s.finish(flow, d, c);
    EXPECT_FALSE(flow.holds_stream());
    EXPECT_EQ(s.held_streams(), 0u);
    return c.hits;
}

// The reference text: an AWS key, a card number (with separators) and a PEM header.
const std::string text = "user=alice key=AKIAIOSFODNN7EXAMPLE card 4111 1111 1111 1111 ok\n"
                         "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n";

std::vector<hit> expected_text_hits() {
    const auto k = text.find("AKIA");
    const auto c = text.find("4111");
    const auto p = text.find("-----BEGIN");
    return {
        hit{aws, k, 20, "AK****************LE"},
        hit{card, c, 19, "41***************11"},
        hit{pem, p, 31, "--************************--"},
    };
}

// ---- Luhn and samples --------------------------------------------------------

TEST(Luhn, Checksum) {
    EXPECT_TRUE(luhn_checksum_ok("79927398713"));
    EXPECT_FALSE(luhn_checksum_ok("79927398710"));
    EXPECT_TRUE(luhn_checksum_ok("00"));
    EXPECT_FALSE(luhn_checksum_ok("0"));
    EXPECT_FALSE(luhn_checksum_ok(""));
    EXPECT_FALSE(luhn_checksum_ok("7992 7398713"));
}

TEST(Luhn, CardNumbers) {
    EXPECT_TRUE(luhn_valid("4111111111111111"));
    EXPECT_TRUE(luhn_valid("4111 1111 1111 1111"));
    EXPECT_TRUE(luhn_valid("4111-1111-1111-1111"));
    EXPECT_TRUE(luhn_valid("4111 1111 1111 1111 ")); // trailing separator
    EXPECT_TRUE(luhn_valid("5555555555554444"));
    EXPECT_TRUE(luhn_valid("378282246310005"));     // 15 digits
    EXPECT_TRUE(luhn_valid("4222222222222"));       // 13 digits
    EXPECT_TRUE(luhn_valid("6011000000000000001")); // 19 digits
    EXPECT_FALSE(luhn_valid("4111111111111112"));
    EXPECT_FALSE(luhn_valid("411111111117"));           // 12 digits, checksum fine
    EXPECT_FALSE(luhn_valid("41111111111111111115"));   // 20 digits, checksum fine
    EXPECT_FALSE(luhn_valid("4111.1111.1111.1111"));    // other separator
    EXPECT_FALSE(luhn_valid("4111x1111111111111"));
    EXPECT_FALSE(luhn_valid(""));
    EXPECT_FALSE(luhn_valid("   -  "));
}

TEST(Sample, Masking) {
    EXPECT_EQ(make_masked_sample("4111111111111111").view(), "41************11");
    EXPECT_EQ(make_masked_sample("4111 1111 1111 1111").view(), "41***************11");
    EXPECT_EQ(make_masked_sample("-----BEGIN RSA PRIVATE KEY-----").view(), "--************************--");
    EXPECT_EQ(make_masked_sample("abcdefgh").view(), "ab****gh");
    EXPECT_EQ(make_masked_sample("abcdefg").view(), "a*****g");
    EXPECT_EQ(make_masked_sample("AB1234").view(), "A****4");
    EXPECT_EQ(make_masked_sample("abcd").view(), "a**d");
    EXPECT_EQ(make_masked_sample("abc").view(), "***");
    EXPECT_EQ(make_masked_sample("a").view(), "*");
    EXPECT_EQ(make_masked_sample(std::string_view("\x01z123456\n", 9)).view(), ".z*****6.");
    EXPECT_EQ(make_masked_sample(std::string(1000, 'x')).view(), "xx************************xx");
}

// ---- building ------------------------------------------------------------------

TEST(Build, Database) {
    auto db = build(base_patterns());
    ASSERT_TRUE(db);
    EXPECT_EQ(db->patterns().size(), 3u);
    EXPECT_EQ(db->patterns()[card].name, "card");
    EXPECT_TRUE(db->inspects(dlp_direction::outbound));
    EXPECT_FALSE(db->inspects(dlp_direction::inbound));
    EXPECT_GT(db->stream_bytes(dlp_direction::outbound), 0u);
    EXPECT_EQ(db->stream_bytes(dlp_direction::inbound), 0u);
    EXPECT_GT(db->database_bytes(), 0u);
}

TEST(Build, ErrorsNameThePattern) {
    auto p = base_patterns();
    p.insert(p.begin() + 1, dlp_pattern{.name = "broken", .regex = "AKIA(unclosed"});
    auto r = dlp_database::build(p);
    EXPECT_FALSE(r.database);
    EXPECT_EQ(r.pattern, 1u);
    EXPECT_EQ(r.error.rfind("pattern \"broken\": ", 0), 0u) << r.error;
    EXPECT_NE(r.error.find("parenthesis"), std::string::npos) << r.error;

    // The culprit in the inbound database keeps its index in the full list.
    p = base_patterns();
    p.push_back(dlp_pattern{.name = "backref", .regex = "(a)\\1", .direction = dlp_pattern_direction::inbound});
    r = dlp_database::build(p);
    EXPECT_EQ(r.pattern, 3u);
    EXPECT_EQ(r.error, "pattern \"backref\": Back-references are unsupported.");

    r = dlp_database::build({dlp_pattern{.name = "empty", .regex = ""}});
    EXPECT_EQ(r.pattern, 0u);
    EXPECT_EQ(r.error, "pattern \"empty\": Pattern matches empty buffer; use HS_FLAG_ALLOWEMPTY to enable support.");

    // A SOM limitation: compiles without start-of-match tracking, not with it.
    r = dlp_database::build({dlp_pattern{.name = "som", .regex = "(a|aa)*b.{100}c"}});
    EXPECT_EQ(r.pattern, 0u);
    EXPECT_EQ(r.error, "pattern \"som\": Pattern is too large.");

    r = dlp_database::build({dlp_pattern{.name = "nul", .regex = std::string("ab\0c", 4)}});
    EXPECT_EQ(r.pattern, 0u);
    EXPECT_EQ(r.error, "pattern \"nul\": the regex contains a NUL byte");
}

TEST(Build, NoPatterns) {
    auto db = build({});
    ASSERT_TRUE(db);
    auto s = scanner_for(db, 4);
    EXPECT_EQ(s->stream_memory_bytes(), 0u);
    dlp_flow_state flow;
    collector c;
    EXPECT_EQ(s->scan(flow, dlp_direction::outbound, bytes(text), c).status, dlp_scan_status::not_inspected);
    EXPECT_EQ(flow.of(dlp_direction::outbound).status, dlp_stream_status::no_patterns);
    EXPECT_TRUE(c.hits.empty());
}

TEST(Build, FlowStateIsSmallAndFixed) {
    static_assert(std::is_trivially_copyable_v<dlp_flow_state>);
    EXPECT_LE(sizeof(dlp_flow_state), 232u);
}

// ---- scanning --------------------------------------------------------------------

TEST(Scan, OneSegmentOffsetsAndSamples) {
    auto db = build(base_patterns());
    auto s = scanner_for(db);
    dlp_flow_state flow;
    collector c;
    const auto r = s->scan(flow, dlp_direction::outbound, bytes(text), c);
    EXPECT_EQ(r.status, dlp_scan_status::scanned);
    EXPECT_EQ(r.matches, 3u);
    EXPECT_EQ(r.validator_rejected, 0u);
    EXPECT_EQ(c.hits, expected_text_hits());
    EXPECT_EQ(c.last_db, db.get());
    // "4111 1111 1111 1111 " (trailing space, then a word) also matches: one report only.
    EXPECT_EQ(s->counters().duplicates.load(), 1u);
    EXPECT_TRUE(flow.holds_stream());
    EXPECT_EQ(s->held_streams(), 1u);
    EXPECT_EQ(flow.of(dlp_direction::outbound).offset, text.size());
    EXPECT_EQ(s->finish(flow, dlp_direction::outbound, c).matches, 0u);
    EXPECT_EQ(s->held_streams(), 0u);
    EXPECT_EQ(s->counters().segments.load(), 1u);
    EXPECT_EQ(s->counters().bytes.load(), text.size());
    EXPECT_EQ(s->counters().matches.load(), 3u);
}

TEST(Scan, MatchCarriesPatternAttributes) {
    auto db = build(base_patterns());
    auto s = scanner_for(db);
    dlp_flow_state flow;
    std::vector<dlp_match> got;
    s->scan(flow, dlp_direction::outbound, bytes(text), [&](const dlp_match& m) { got.push_back(m); });
    ASSERT_EQ(got.size(), 3u);
    EXPECT_EQ(got[0].severity, dlp_severity::high);
    EXPECT_EQ(got[0].action, dlp_action::block);
    EXPECT_EQ(got[0].info().name, "aws-key");
    EXPECT_EQ(got[0].end, text.find("AKIA") + 20);
    EXPECT_EQ(got[2].severity, dlp_severity::critical);
    EXPECT_EQ(got[2].action, dlp_action::alert);
    dlp_scanner::release(flow);
}

TEST(Scan, SplitAtEveryBytePosition) {
    auto s = scanner_for(build(base_patterns()));
    const auto expected = expected_text_hits();
    for (std::size_t k = 0; k <= text.size(); ++k) {
        EXPECT_EQ(scan_in_pieces(*s, text, {k}), expected) << "split at " << k;
    }
}

TEST(Scan, SplitTwiceAroundEachMatch) {
    auto s = scanner_for(build(base_patterns()));
    const auto expected = expected_text_hits();
    for (const std::string_view what : {"AKIA", "4111", "-----BEGIN"}) {
        const std::size_t at = text.find(what);
        for (std::size_t a = at; a < at + 32 && a < text.size(); ++a) {
            for (std::size_t b = a; b < at + 32 && b < text.size(); b += 3) {
                EXPECT_EQ(scan_in_pieces(*s, text, {a, b}), expected) << "split at " << a << ", " << b;
            }
        }
    }
}

TEST(Scan, OneBytePerSegment) {
    auto s = scanner_for(build(base_patterns()));
    std::vector<std::size_t> cuts;
    for (std::size_t i = 1; i < text.size(); ++i) cuts.push_back(i);
    EXPECT_EQ(scan_in_pieces(*s, text, cuts), expected_text_hits());
    EXPECT_EQ(s->counters().segments.load(), text.size());
}

TEST(Scan, EndOfDataMatchNeedsFinish) {
    auto s = scanner_for(build(base_patterns()));
    const std::string t = "pay 4111111111111111";
    dlp_flow_state flow;
    collector c;
    EXPECT_EQ(s->scan(flow, dlp_direction::outbound, bytes(t), c).matches, 0u); // a digit may follow
    const auto r = s->finish(flow, dlp_direction::outbound, c);
    EXPECT_EQ(r.status, dlp_scan_status::scanned);
    EXPECT_EQ(r.matches, 1u);
    EXPECT_EQ(c.hits, (std::vector<hit>{{card, 4, 16, "41************11"}}));
    EXPECT_EQ(flow.of(dlp_direction::outbound).status, dlp_stream_status::done);
    EXPECT_EQ(s->scan(flow, dlp_direction::outbound, bytes(t), c).status, dlp_scan_status::not_inspected);
}

TEST(Scan, ReleaseDropsEndOfDataMatches) {
    auto s = scanner_for(build(base_patterns()));
    dlp_flow_state flow;
    collector c;
    s->scan(flow, dlp_direction::outbound, bytes("pay 4111111111111111"), c);
    dlp_scanner::release(flow);
    EXPECT_TRUE(c.hits.empty());
    EXPECT_FALSE(flow.holds_stream());
    EXPECT_EQ(s->held_streams(), 0u);
    EXPECT_EQ(s->counters().streams_released.load(), 1u);
}

TEST(Scan, Caseless) {
    dlp_pattern p{.name = "token", .regex = "secret-token-[0-9]{4}"};
    const std::string t = "x SECRET-Token-1234 y";
    {
        auto s = scanner_for(build({p}));
        EXPECT_TRUE(scan_in_pieces(*s, t, {}).empty());
    }
    p.caseless = true;
    auto s = scanner_for(build({p}));
    EXPECT_EQ(scan_in_pieces(*s, t, {}), (std::vector<hit>{{0, 2, 17, "SE*************34"}}));
    EXPECT_EQ(scan_in_pieces(*s, t, {9}), (std::vector<hit>{{0, 2, 17, "SE*************34"}}));
}

TEST(Scan, DotallAndMultilineFlags) {
    dlp_pattern dot{.name = "dot", .regex = "BEGIN.END"};
    dlp_pattern anchored{.name = "anchored", .regex = "^password="};
    const std::string t = "BEGIN\nEND\nuser=x\npassword=y";
    {
        auto s = scanner_for(build({dot, anchored}));
        EXPECT_TRUE(scan_in_pieces(*s, t, {}).empty());
    }
    dot.dotall = true;
    anchored.multiline = true;
    auto s = scanner_for(build({dot, anchored}));
    EXPECT_EQ(scan_in_pieces(*s, t, {3}), (std::vector<hit>{{0, 0, 9, "BE*****ND"}, {1, 17, 9, "pa*****d="}}));
}

TEST(Scan, DirectionFiltering) {
    auto p = base_patterns();
    p[aws].direction = dlp_pattern_direction::outbound;
    p[pem].direction = dlp_pattern_direction::inbound;
    p[card].direction = dlp_pattern_direction::both;
    auto db = build(p);
    EXPECT_TRUE(db->inspects(dlp_direction::outbound));
    EXPECT_TRUE(db->inspects(dlp_direction::inbound));
    auto s = scanner_for(db, 2);
    EXPECT_EQ(s->pool(dlp_direction::outbound).capacity(), 2u);
    EXPECT_EQ(s->pool(dlp_direction::inbound).capacity(), 2u);
    EXPECT_EQ(s->stream_memory_bytes(),
              3 * db->stream_bytes(dlp_direction::outbound) + 3 * db->stream_bytes(dlp_direction::inbound));

    const auto all = expected_text_hits();
    hit in_card = all[1];
    in_card.direction = dlp_direction::inbound;
    hit in_pem = all[2];
    in_pem.direction = dlp_direction::inbound;

    // Both directions of one flow, interleaved.
    dlp_flow_state flow;
    collector out, in;
    const std::size_t half = text.size() / 2;
    s->scan(flow, dlp_direction::outbound, bytes(text.substr(0, half)), out);
    s->scan(flow, dlp_direction::inbound, bytes(text.substr(0, half)), in);
    EXPECT_EQ(s->held_streams(), 2u);
    s->scan(flow, dlp_direction::inbound, bytes(text.substr(half)), in);
    s->scan(flow, dlp_direction::outbound, bytes(text.substr(half)), out);
    EXPECT_EQ(out.hits, (std::vector<hit>{all[0], all[1]}));
    EXPECT_EQ(in.hits, (std::vector<hit>{in_card, in_pem}));
    s->finish(flow, dlp_direction::outbound, out);
    EXPECT_TRUE(flow.holds_stream()); // inbound still active
    s->finish(flow, dlp_direction::inbound, in);
    EXPECT_FALSE(flow.holds_stream());
    EXPECT_EQ(s->held_streams(), 0u);
}

TEST(Scan, OutboundOnlyDatabaseSkipsInbound) {
    auto s = scanner_for(build(base_patterns()), 2);
    EXPECT_EQ(s->pool(dlp_direction::inbound).capacity(), 0u);
    dlp_flow_state flow;
    collector c;
    EXPECT_EQ(s->scan(flow, dlp_direction::inbound, bytes(text), c).status, dlp_scan_status::not_inspected);
    EXPECT_EQ(flow.of(dlp_direction::inbound).status, dlp_stream_status::no_patterns);
    EXPECT_TRUE(c.hits.empty());
    EXPECT_FALSE(flow.holds_stream());
}

TEST(Scan, CardFailingLuhnIsNotReported) {
    auto s = scanner_for(build(base_patterns()));
    dlp_flow_state flow;
    collector c;
    const std::string t = "card 4111 1111 1111 1112. valid 5555555555554444.";
    const auto r = s->scan(flow, dlp_direction::outbound, bytes(t), c);
    EXPECT_EQ(r.matches, 1u);
    EXPECT_EQ(r.validator_rejected, 1u);
    EXPECT_EQ(c.hits, (std::vector<hit>{{card, t.find("5555"), 16, "55************44"}}));
    EXPECT_EQ(s->counters().validator_rejected.load(), 1u);
    EXPECT_EQ(s->counters().validator_unverifiable.load(), 0u);
    dlp_scanner::release(flow);
}

TEST(Scan, InterleavedFlowsAreIndependent) {
    auto s = scanner_for(build(base_patterns()));
    dlp_flow_state a, b;
    collector ca, cb;
    const std::string ta = "xx AKIAIOSFODNN7EXAMPLE";
    const std::string tb = "AKIAZZZZZZZZZZZZZZZZ yy";
    s->scan(a, dlp_direction::outbound, bytes(ta.substr(0, 10)), ca);
    s->scan(b, dlp_direction::outbound, bytes(tb.substr(0, 10)), cb);
    s->scan(a, dlp_direction::outbound, bytes(ta.substr(10)), ca);
    s->scan(b, dlp_direction::outbound, bytes(tb.substr(10)), cb);
    EXPECT_EQ(ca.hits, (std::vector<hit>{{aws, 3, 20, "AK****************LE"}}));
    EXPECT_EQ(cb.hits, (std::vector<hit>{{aws, 0, 20, "AK****************ZZ"}}));
    dlp_scanner::release(a);
    dlp_scanner::release(b);
    EXPECT_EQ(s->held_streams(), 0u);
}

TEST(Scan, MatchStartedBeforeTheHistoryHasUnknownCharacters) {
    auto s = scanner_for(build({dlp_pattern{.name = "long", .regex = "BEGIN[a-z]{100,200}END"}}));
    const std::string t = "--BEGIN" + std::string(150, 'q') + "END--";
    std::vector<std::size_t> cuts;
    for (std::size_t i = 1; i < t.size(); ++i) cuts.push_back(i);
    EXPECT_EQ(scan_in_pieces(*s, t, cuts), (std::vector<hit>{{0, 2, 158, "??************************ND"}}));
    // In one segment every character is there.
    EXPECT_EQ(scan_in_pieces(*s, t, {}), (std::vector<hit>{{0, 2, 158, "BE************************ND"}}));
}

TEST(Scan, LongCardMatchOutsideHistoryIsUnverifiable) {
    // A validated pattern whose match cannot be re-read is not reported.
    auto s = scanner_for(build({dlp_pattern{.name = "digits", .regex = "#[0-9 ]{70,80}#", .validator = dlp_validator::luhn}}));
    const std::string t = "#" + std::string(75, '1') + "#";
    EXPECT_TRUE(scan_in_pieces(*s, t, {40}).empty());
    EXPECT_EQ(s->counters().validator_unverifiable.load(), 1u);
}

TEST(Scan, DepthLimit) {
    auto s = scanner_for(build(base_patterns()), 4, 40);
    // An AWS key at [5, 25) (inside the depth) and one at [30, 50) (crossing it).
    const std::string t = "key1 AKIAAAAAAAAAAAAAAAA1 key2AKIABBBBBBBBBBBBBBBB2 and more text";
    ASSERT_EQ(t.find("AKIAB"), 30u);
    dlp_flow_state flow;
    collector c;
    std::vector<dlp_scan_status> statuses;
    for (std::size_t at = 0; at < t.size(); at += 16) {
        statuses.push_back(s->scan(flow, dlp_direction::outbound, bytes(t.substr(at, 16)), c).status);
    }
    EXPECT_EQ(statuses, (std::vector<dlp_scan_status>{dlp_scan_status::scanned, dlp_scan_status::scanned,
                                                      dlp_scan_status::depth_reached, dlp_scan_status::not_inspected,
                                                      dlp_scan_status::not_inspected}));
    EXPECT_EQ(c.hits, (std::vector<hit>{{aws, 5, 20, "AK****************A1"}}));
    EXPECT_EQ(flow.of(dlp_direction::outbound).offset, 40u);
    EXPECT_EQ(flow.of(dlp_direction::outbound).status, dlp_stream_status::depth);
    EXPECT_FALSE(flow.holds_stream());
    EXPECT_EQ(s->held_streams(), 0u);
    EXPECT_EQ(s->counters().depth_reached.load(), 1u);
    EXPECT_EQ(s->counters().bytes.load(), 40u);
    // finish() after the depth reports nothing.
    EXPECT_EQ(s->finish(flow, dlp_direction::outbound, c).status, dlp_scan_status::not_inspected);
}

TEST(Scan, DepthReachedExactlyAtASegmentEnd) {
    auto s = scanner_for(build(base_patterns()), 4, 32);
    dlp_flow_state flow;
    collector c;
    EXPECT_EQ(s->scan(flow, dlp_direction::outbound, bytes(std::string(16, 'a')), c).status, dlp_scan_status::scanned);
    EXPECT_EQ(s->scan(flow, dlp_direction::outbound, bytes(std::string(16, 'a')), c).status,
              dlp_scan_status::depth_reached);
    EXPECT_EQ(s->held_streams(), 0u);
}

TEST(Scan, PoolExhaustion) {
    auto s = scanner_for(build(base_patterns()), 2);
    EXPECT_EQ(s->stream_memory_bytes(), 3 * s->database().stream_bytes(dlp_direction::outbound));
    dlp_flow_state f1, f2, f3, f4;
    collector c;
    const auto seg = bytes("hello AKIAIOSFODNN7EXAMPLE");
    EXPECT_EQ(s->scan(f1, dlp_direction::outbound, seg, c).status, dlp_scan_status::scanned);
    EXPECT_EQ(s->scan(f2, dlp_direction::outbound, seg, c).status, dlp_scan_status::scanned);
    EXPECT_EQ(s->pool(dlp_direction::outbound).available(), 0u);
    EXPECT_EQ(s->scan(f3, dlp_direction::outbound, seg, c).status, dlp_scan_status::no_stream);
    EXPECT_EQ(f3.of(dlp_direction::outbound).status, dlp_stream_status::no_stream);
    EXPECT_FALSE(f3.holds_stream());
    EXPECT_EQ(s->counters().pool_exhausted.load(), 1u);
    // No retry: the flow stays uninspected even once a stream is free.
    dlp_scanner::release(f1);
    EXPECT_EQ(s->scan(f3, dlp_direction::outbound, seg, c).status, dlp_scan_status::not_inspected);
    EXPECT_EQ(s->counters().pool_exhausted.load(), 1u);
    // A new flow gets the freed stream, reset: its offsets start at 0.
    EXPECT_EQ(s->scan(f4, dlp_direction::outbound, seg, c).status, dlp_scan_status::scanned);
    EXPECT_EQ(c.hits.size(), 3u);
    EXPECT_EQ(c.hits[2], (hit{aws, 6, 20, "AK****************LE"}));
    EXPECT_EQ(s->held_streams(), 2u);
    dlp_scanner::release(f2);
    dlp_scanner::release(f4);
    EXPECT_EQ(s->held_streams(), 0u);
    EXPECT_EQ(s->pool(dlp_direction::outbound).available(), 2u);
    EXPECT_EQ(s->counters().streams_acquired.load(), 3u);
    EXPECT_EQ(s->counters().streams_released.load(), 3u);
}

TEST(Scan, ZeroStreamsMeansNoStreamInspection) {
    auto s = scanner_for(build(base_patterns()), 0);
    dlp_flow_state flow;
    collector c;
    EXPECT_EQ(s->scan(flow, dlp_direction::outbound, bytes(text), c).status, dlp_scan_status::no_stream);
    // Datagrams do not need the pool.
    dlp_flow_state udp;
    EXPECT_EQ(s->scan_datagram(udp, dlp_direction::outbound, bytes(text), c).matches, 3u);
}

// ---- datagrams --------------------------------------------------------------------------

TEST(Datagram, WholeDatagramIncludingEndOfData) {
    auto s = scanner_for(build(base_patterns()), 1);
    dlp_flow_state flow;
    collector c;
    const std::string d1 = "pay 4111111111111111";
    const std::string d2 = "AKIAIOSFODNN7EXAMPLE";
    auto r = s->scan_datagram(flow, dlp_direction::outbound, bytes(d1), c);
    EXPECT_EQ(r.status, dlp_scan_status::scanned);
    EXPECT_EQ(r.matches, 1u); // the end-of-data match, at once
    r = s->scan_datagram(flow, dlp_direction::outbound, bytes(d2), c);
    EXPECT_EQ(r.matches, 1u);
    EXPECT_EQ(c.hits, (std::vector<hit>{{card, 4, 16, "41************11"}, {aws, 20, 20, "AK****************LE"}}));
    EXPECT_EQ(flow.of(dlp_direction::outbound).status, dlp_stream_status::datagram);
    EXPECT_EQ(flow.of(dlp_direction::outbound).offset, 40u);
    EXPECT_FALSE(flow.holds_stream());
    EXPECT_EQ(s->held_streams(), 0u);
    EXPECT_EQ(s->counters().datagrams.load(), 2u);
    // A datagram direction does not take stream calls.
    EXPECT_EQ(s->scan(flow, dlp_direction::outbound, bytes(d2), c).status, dlp_scan_status::not_inspected);
}

TEST(Datagram, NoMatchAcrossDatagrams) {
    auto s = scanner_for(build(base_patterns()), 1);
    dlp_flow_state flow;
    collector c;
    s->scan_datagram(flow, dlp_direction::outbound, bytes("xx AKIAIOSFOD"), c);
    s->scan_datagram(flow, dlp_direction::outbound, bytes("NN7EXAMPLE yy"), c);
    EXPECT_TRUE(c.hits.empty());
}

TEST(Datagram, DepthLimit) {
    auto s = scanner_for(build(base_patterns()), 1, 30);
    dlp_flow_state flow;
    collector c;
    EXPECT_EQ(s->scan_datagram(flow, dlp_direction::outbound, bytes("AKIAIOSFODNN7EXAMPLE"), c).status,
              dlp_scan_status::scanned);
    // Truncated at 30: neither the key nor an end-of-data card at the cut.
    EXPECT_EQ(s->scan_datagram(flow, dlp_direction::outbound, bytes("4111111111111111 AKIAIOSFODNN7EXAMPLE"), c).status,
              dlp_scan_status::depth_reached);
    EXPECT_EQ(s->scan_datagram(flow, dlp_direction::outbound, bytes("AKIAIOSFODNN7EXAMPLE"), c).status,
              dlp_scan_status::not_inspected);
    EXPECT_EQ(c.hits, (std::vector<hit>{{aws, 0, 20, "AK****************LE"}}));
    EXPECT_EQ(flow.of(dlp_direction::outbound).offset, 30u);
}

// ---- reload ---------------------------------------------------------------------------------

TEST(Reload, RetiredScannerLivesWhileAStreamIsHeld) {
    dlp_retired_scanners retired;
    auto db_a = build(base_patterns());
    auto scanner_a = scanner_for(db_a, 2);
    const dlp_database* raw_a = db_a.get();
    std::weak_ptr<dlp_scanner> weak_scanner = scanner_a;
    std::weak_ptr<const dlp_database> weak_db = db_a;
    db_a.reset();

    // A flow starts under A and is half-way through a key when the reload happens.
    dlp_flow_state flow;
    collector c;
    scanner_a->scan(flow, dlp_direction::outbound, bytes("key=AKIAIOSFOD"), c);
    EXPECT_EQ(flow.scanner, scanner_a.get());

    // Reload: database B (no AWS pattern), A retired after the grace period.
    auto p = base_patterns();
    p.erase(p.begin());
    auto scanner_b = scanner_for(build(p), 2);
    retired.retire(std::move(scanner_a));
    EXPECT_EQ(retired.collect(), 0u);
    EXPECT_EQ(retired.size(), 1u);
    EXPECT_EQ(retired.held_streams(), 1u);
    EXPECT_FALSE(weak_scanner.expired());
    EXPECT_FALSE(weak_db.expired());

    // The flow continues on A (through B), with A's patterns and A's stream state.
    scanner_b->scan(flow, dlp_direction::outbound, bytes("NN7EXAMPLE and more"), c);
    EXPECT_EQ(c.hits, (std::vector<hit>{{aws, 4, 20, "AK****************LE"}}));
    EXPECT_EQ(c.last_db, raw_a);
    EXPECT_EQ(scanner_b->held_streams(), 0u);

    // A new flow uses B.
    dlp_flow_state fresh;
    scanner_b->scan(fresh, dlp_direction::outbound, bytes("key=AKIAIOSFODNN7EXAMPLE"), c);
    EXPECT_EQ(fresh.scanner, scanner_b.get());
    EXPECT_EQ(c.hits.size(), 1u);
    EXPECT_EQ(retired.collect(), 0u);

    // The old flow ends: the stream goes back, and A can be freed.
    scanner_b->finish(flow, dlp_direction::outbound, c);
    EXPECT_FALSE(flow.holds_stream());
    EXPECT_EQ(retired.held_streams(), 0u);
    EXPECT_EQ(retired.collect(), 1u);
    EXPECT_EQ(retired.size(), 0u);
    EXPECT_TRUE(weak_scanner.expired());
    EXPECT_TRUE(weak_db.expired());

    dlp_scanner::release(fresh);
    EXPECT_EQ(scanner_b->held_streams(), 0u);
}

TEST(Reload, ReleaseThroughTheFlowFreesTheOldScanner) {
    dlp_retired_scanners retired;
    auto p = base_patterns();
    p[pem].direction = dlp_pattern_direction::both;
    auto a = scanner_for(build(p), 2);
    std::weak_ptr<dlp_scanner> weak = a;
    dlp_flow_state flow;
    collector c;
    a->scan(flow, dlp_direction::outbound, bytes("abc"), c);
    a->scan(flow, dlp_direction::inbound, bytes("def"), c);
    EXPECT_EQ(a->held_streams(), 2u);
    retired.retire(std::move(a));
    EXPECT_EQ(retired.collect(), 0u);
    dlp_scanner::release(flow); // e.g. the flow expired
    EXPECT_EQ(flow.of(dlp_direction::outbound).status, dlp_stream_status::done);
    EXPECT_EQ(flow.of(dlp_direction::inbound).status, dlp_stream_status::done);
    EXPECT_EQ(retired.collect(), 1u);
    EXPECT_TRUE(weak.expired());
}

TEST(Reload, CountersSharedAcrossScanners) {
    auto counters = std::make_shared<dlp_counters>();
    dlp_scanner_config cfg;
    cfg.max_streams = 1;
    cfg.counters = counters;
    auto a = dlp_scanner::create(build(base_patterns()), cfg).scanner;
    auto b = dlp_scanner::create(build(base_patterns()), cfg).scanner;
    dlp_flow_state f1, f2;
    collector c;
    a->scan(f1, dlp_direction::outbound, bytes(text), c);
    b->scan(f2, dlp_direction::outbound, bytes(text), c);
    EXPECT_EQ(counters->matches.load(), 6u);
    EXPECT_EQ(&a->counters(), counters.get());
    dlp_scanner::release(f1);
    dlp_scanner::release(f2);
}

} // namespace

namespace {

TEST(Scan, StartBeyondTheSomHorizonIsUnknown) {
    // The default (small) SOM horizon keeps start offsets for matches up to 64 KiB.
    const dlp_pattern p{.name = "huge", .regex = "XSTART[a-z]*XEND"};
    const std::string t = "..XSTART" + std::string(70000, 'a') + "XEND..";
    std::vector<std::size_t> cuts;
    for (std::size_t at = 1460; at < t.size(); at += 1460) cuts.push_back(at);
    auto small = scanner_for(build({p}));
    const auto got = scan_in_pieces(*small, t, cuts);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].length, 0u); // unknown
    EXPECT_EQ(got[0].sample, "??************************ND");
    dlp_flow_state flow;
    uint64_t start = 0, end = 0;
    for (std::size_t at = 0; at < t.size(); at += 1460) {
        small->scan(flow, dlp_direction::outbound, bytes(t.substr(at, 1460)), [&](const dlp_match& m) {
            start = m.start;
            end = m.end;
        });
    }
    EXPECT_EQ(start, dlp_unknown_offset);
    EXPECT_EQ(end, t.size() - 2);
    dlp_scanner::release(flow);

    // With the large horizon the start is exact (its characters are long gone: '?').
    auto large = scanner_for(build({p}, dlp_build_options{.som_horizon = dlp_som_horizon::large}));
    EXPECT_EQ(scan_in_pieces(*large, t, cuts), (std::vector<hit>{{0, 2, 70010, "??************************ND"}}));
    EXPECT_GT(large->database().stream_bytes(dlp_direction::outbound),
              small->database().stream_bytes(dlp_direction::outbound));
}

} // namespace

namespace {

TEST(Pool, FreeListWithoutAllocation) {
    auto db = build(base_patterns());
    dlp_stream_pool pool;
    std::string error;
    ASSERT_TRUE(pool.open(db->hs(dlp_direction::outbound), 3, error)) << error;
    EXPECT_EQ(pool.capacity(), 3u);
    EXPECT_EQ(pool.available(), 3u);
    EXPECT_EQ(pool.acquire(), 0u);
    EXPECT_EQ(pool.acquire(), 1u);
    EXPECT_EQ(pool.acquire(), 2u);
    EXPECT_EQ(pool.acquire(), dlp_stream_pool::none);
    EXPECT_EQ(pool.held(), 3u);
    EXPECT_NE(pool.stream(0), pool.stream(1));
    pool.release(1);
    EXPECT_EQ(pool.held(), 2u);
    EXPECT_EQ(pool.available(), 1u);
    EXPECT_EQ(pool.acquire(), 1u); // last released, first reused
    pool.release(0);
    pool.release(1);
    pool.release(2);
    EXPECT_EQ(pool.held(), 0u);
    EXPECT_EQ(pool.available(), 3u);
}

} // namespace

namespace {

// The documented limitation: one report per end offset, with the leftmost start.
TEST(Scan, LeftmostStartHidesAnInnerCard) {
    auto s = scanner_for(build(base_patterns()));
    EXPECT_TRUE(scan_in_pieces(*s, "x 123 4111111111111111 y", {}).empty());
    // "123 4111111111111111" and "123 4111111111111111 " (before "y"): both 19 digits.
    EXPECT_EQ(s->counters().validator_rejected.load(), 2u);
    // Two separators between the groups break the run: the card is found.
    EXPECT_EQ(scan_in_pieces(*s, "x 123  4111111111111111 y", {}),
              (std::vector<hit>{{card, 7, 16, "41************11"}}));
}

} // namespace
