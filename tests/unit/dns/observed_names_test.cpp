// lib/dns/observed_names: bindings from responses, CNAME chains (bounded),
// off-chain records ignored, expiry at TTL + grace, per-scope and total bounds
// with the documented eviction order.
#include <array>
#include <string>

#include <gtest/gtest.h>

#include "dns/observed_names.hpp"
#include "dns_builder.hpp"

namespace {

// "<prefix><i>.example", appended piece by piece: GCC 12 at -O3 reports a false
// -Wrestrict inside libstdc++ for "literal" + std::string&& (release build).
std::string numbered(const char* prefix, int i) {
    std::string s(prefix);
    s += std::to_string(i);
    s += ".example";
    return s;
}

using namespace egress::dns;
using namespace egress::dns::test;
using egress::net::ip_address;

ip_address ip(const char* text) { return *ip_address::parse(text); }

const ip_address host1 = ip("10.0.0.1");
const ip_address host2 = ip("10.0.0.2");

observed_limits small_limits() {
    observed_limits l;
    l.max_bindings = 8;
    l.max_bindings_per_scope = 4;
    l.max_scopes = 2;
    l.grace_seconds = 10;
    l.max_ttl_seconds = 3600;
    l.max_cname_depth = 3;
    return l;
}

bytes a_response(std::string_view name_text, uint8_t last_octet, uint32_t ttl = 60) {
    response_builder b;
    b.question_name = name(name_text);
    b.a(name_text, ttl, 192, 0, 2, last_octet);
    return b.build();
}

TEST(observed_names, an_answer_binds_its_name_to_its_address_for_its_scope) {
    observed_names cache(observed_limits{}, 0x5eed);
    response_builder b;
    b.question_name = name("api.example.com");
    b.a("api.example.com", 300, 192, 0, 2, 10).aaaa("api.example.com", 300,
                                                   bytes{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10});
    ASSERT_EQ(cache.record(host1, b.build(), 1000), dns_status::ok);
    EXPECT_EQ(cache.size(), 2u);
    EXPECT_TRUE(cache.verified(host1, "api.example.com", ip("192.0.2.10"), 1000));
    EXPECT_TRUE(cache.verified(host1, "API.Example.com.", ip("192.0.2.10"), 1000));
    EXPECT_TRUE(cache.verified(host1, "api.example.com", ip("2001:db8::a"), 1000));
    EXPECT_FALSE(cache.verified(host1, "api.example.com", ip("192.0.2.11"), 1000));
    EXPECT_FALSE(cache.verified(host2, "api.example.com", ip("192.0.2.10"), 1000));
    EXPECT_FALSE(cache.verified(host1, "example.com", ip("192.0.2.10"), 1000));
    std::array<ip_address, 4> out{};
    ASSERT_EQ(cache.addresses(host1, "api.example.com", 1000, out), 2u);
    EXPECT_EQ(out[0], ip("2001:db8::a")); // most recent first
    EXPECT_EQ(out[1], ip("192.0.2.10"));
}

TEST(observed_names, expiry_is_ttl_plus_grace_and_ttl_is_capped) {
    auto limits = small_limits();
    observed_names cache(limits, 1);
    cache.record(host1, a_response("a.example", 1, 60), 1000);
    EXPECT_TRUE(cache.verified(host1, "a.example", ip("192.0.2.1"), 1069));
    EXPECT_FALSE(cache.verified(host1, "a.example", ip("192.0.2.1"), 1070));
    cache.record(host1, a_response("b.example", 2, 999999), 1000);
    EXPECT_TRUE(cache.verified(host1, "b.example", ip("192.0.2.2"), 1000 + 3600 + 9));
    EXPECT_FALSE(cache.verified(host1, "b.example", ip("192.0.2.2"), 1000 + 3600 + 10));
    // A later answer with a shorter TTL does not shorten a binding.
    cache.record(host1, a_response("b.example", 2, 5), 1001);
    EXPECT_TRUE(cache.verified(host1, "b.example", ip("192.0.2.2"), 1000 + 3600 + 9));
}

TEST(observed_names, cname_chains_bind_every_name_with_the_shortest_ttl) {
    observed_names cache(small_limits(), 2);
    response_builder b;
    b.question_name = name("www.shop.example");
    b.cname("cdn.shop.example", 100, "edge.cdn.example"); // order does not matter
    b.cname("www.shop.example", 20, "cdn.shop.example");
    b.a("edge.cdn.example", 300, 198, 51, 100, 7);
    ASSERT_EQ(cache.record(host1, b.build(), 0), dns_status::ok);
    for (const char* n : {"www.shop.example", "cdn.shop.example", "edge.cdn.example"})
        EXPECT_TRUE(cache.verified(host1, n, ip("198.51.100.7"), 29)) << n;
    EXPECT_FALSE(cache.verified(host1, "www.shop.example", ip("198.51.100.7"), 30)); // 20 + 10
    EXPECT_TRUE(cache.verified(host1, "cdn.shop.example", ip("198.51.100.7"), 109));  // 100 + 10
    EXPECT_TRUE(cache.verified(host1, "edge.cdn.example", ip("198.51.100.7"), 309));  // 300 + 10
}

TEST(observed_names, records_off_the_question_chain_are_ignored) {
    observed_names cache(small_limits(), 3);
    response_builder b;
    b.question_name = name("attacker.example");
    b.a("attacker.example", 60, 203, 0, 113, 1);
    b.a("api.bank.example", 60, 203, 0, 113, 1); // not asked: a response speaks for its question
    cache.record(host1, b.build(), 0);
    EXPECT_TRUE(cache.verified(host1, "attacker.example", ip("203.0.113.1"), 0));
    EXPECT_FALSE(cache.verified(host1, "api.bank.example", ip("203.0.113.1"), 0));
    EXPECT_EQ(cache.counters().off_chain, 1u);
}

TEST(observed_names, chains_longer_than_the_depth_bound_stop) {
    observed_names cache(small_limits(), 4); // depth 3
    response_builder b;
    b.question_name = name("n0.example");
    for (int i = 0; i < 5; ++i) b.cname(numbered("n", i), 60, numbered("n", i + 1));
    b.a("n3.example", 60, 192, 0, 2, 3);
    b.a("n5.example", 60, 192, 0, 2, 5);
    cache.record(host1, b.build(), 0);
    EXPECT_TRUE(cache.verified(host1, "n0.example", ip("192.0.2.3"), 0));
    EXPECT_FALSE(cache.verified(host1, "n0.example", ip("192.0.2.5"), 0));
    EXPECT_EQ(cache.counters().off_chain, 1u);
}

TEST(observed_names, unusable_responses_record_nothing) {
    observed_names cache(small_limits(), 5);
    response_builder nx;
    nx.flags = 0x8183; // NXDOMAIN
    nx.a("example.com", 60, 1, 2, 3, 4);
    EXPECT_EQ(cache.record(host1, nx.build(), 0), dns_status::ok);
    response_builder query;
    query.flags = 0x0100;
    EXPECT_EQ(cache.record(host1, query.build(), 0), dns_status::not_response);
    EXPECT_EQ(cache.record(host1, bytes{1, 2, 3}, 0), dns_status::truncated);
    EXPECT_EQ(cache.size(), 0u);
    EXPECT_EQ(cache.counters().ignored, 3u);
    EXPECT_FALSE(cache.verified(host1, "example.com", ip("1.2.3.4"), 0));
}

TEST(observed_names, a_truncated_response_keeps_the_records_before_the_cut) {
    observed_names cache(small_limits(), 6);
    response_builder b;
    b.a("example.com", 60, 1, 1, 1, 1).a("example.com", 60, 2, 2, 2, 2);
    auto m = b.build();
    m.resize(m.size() - 2);
    EXPECT_EQ(cache.record(host1, m, 0), dns_status::truncated);
    EXPECT_TRUE(cache.verified(host1, "example.com", ip("1.1.1.1"), 0));
    EXPECT_FALSE(cache.verified(host1, "example.com", ip("2.2.2.2"), 0));
}

TEST(observed_names, a_full_scope_loses_its_least_recently_answered_binding) {
    observed_names cache(small_limits(), 7); // 4 per scope
    for (uint8_t i = 1; i <= 4; ++i) cache.record(host1, a_response("s.example", i), 0);
    cache.record(host1, a_response("s.example", 1), 1); // answered again: now the most recent
    cache.record(host1, a_response("s.example", 5), 2);
    EXPECT_TRUE(cache.verified(host1, "s.example", ip("192.0.2.1"), 2));
    EXPECT_FALSE(cache.verified(host1, "s.example", ip("192.0.2.2"), 2)); // the oldest answer
    for (uint8_t i = 3; i <= 5; ++i) EXPECT_TRUE(cache.verified(host1, "s.example", ip_address::from_v4(0xc0000200u | i), 2));
    EXPECT_EQ(cache.counters().evicted_scope_full, 1u);
    EXPECT_EQ(cache.size(), 4u);
}

TEST(observed_names, a_full_cache_loses_the_least_recently_answered_binding_of_any_scope) {
    observed_names cache(small_limits(), 8); // 8 in all, 4 per scope
    for (uint8_t i = 1; i <= 4; ++i) cache.record(host1, a_response("t.example", i), i);
    for (uint8_t i = 1; i <= 4; ++i) cache.record(host2, a_response("t.example", i), 10 + i);
    EXPECT_EQ(cache.size(), 8u);
    cache.record(host1, a_response("u.example", 9), 20); // host1 is at its 4: its own oldest goes
    EXPECT_FALSE(cache.verified(host1, "t.example", ip("192.0.2.1"), 20));
    EXPECT_EQ(cache.counters().evicted_scope_full, 1u);
    auto limits = small_limits();
    limits.max_bindings = 6;
    observed_names cache6(limits, 9);
    for (uint8_t i = 1; i <= 3; ++i) cache6.record(host1, a_response("t.example", i), i);
    for (uint8_t i = 1; i <= 3; ++i) cache6.record(host2, a_response("t.example", i), 10 + i);
    cache6.record(host2, a_response("v.example", 7), 20); // total full: host1's oldest goes
    EXPECT_FALSE(cache6.verified(host1, "t.example", ip("192.0.2.1"), 20));
    EXPECT_TRUE(cache6.verified(host1, "t.example", ip("192.0.2.2"), 20));
    EXPECT_TRUE(cache6.verified(host2, "v.example", ip("192.0.2.7"), 20));
    EXPECT_EQ(cache6.counters().evicted_total_full, 1u);
    EXPECT_EQ(cache6.size(), 6u);
}

TEST(observed_names, scopes_beyond_the_bound_are_not_recorded_until_one_empties) {
    observed_names cache(small_limits(), 10); // 2 scopes
    cache.record(host1, a_response("a.example", 1, 5), 0);
    cache.record(host2, a_response("a.example", 2, 5), 0);
    const ip_address host3 = ip("10.0.0.3");
    cache.record(host3, a_response("a.example", 3), 0);
    EXPECT_FALSE(cache.verified(host3, "a.example", ip("192.0.2.3"), 0));
    EXPECT_EQ(cache.counters().scopes_full, 1u);
    // Both bindings expire (5 + 10); the next response drops them and frees the scopes.
    cache.record(host3, a_response("a.example", 3), 100);
    EXPECT_TRUE(cache.verified(host3, "a.example", ip("192.0.2.3"), 100));
    EXPECT_EQ(cache.counters().expired, 2u);
    EXPECT_EQ(cache.size(), 1u);
}

TEST(observed_names, churn_keeps_the_index_consistent) {
    auto limits = small_limits();
    limits.max_bindings = 64;
    limits.max_bindings_per_scope = 64;
    observed_names cache(limits, 11);
    for (uint32_t round = 0; round < 2000; ++round) {
        const auto n = static_cast<uint8_t>(round % 97);
        cache.record(host1, a_response(numbered("c", n % 13), n, 30), round);
        EXPECT_TRUE(cache.verified(host1, numbered("c", n % 13), ip_address::from_v4(0xc0000200u | n),
                                   round));
        EXPECT_LE(cache.size(), 64u);
    }
    EXPECT_GT(cache.counters().evicted_total_full + cache.counters().expired, 0u);
}

TEST(observed_names, memory_per_binding) {
    EXPECT_EQ(observed_names::bytes_per_binding(), 56u); // 48-byte record + 2 index slots
    observed_limits l;
    l.max_bindings = 65536; // a power of two: the index has exactly 2 slots per binding
    l.max_scopes = 1024;
    observed_names cache(l, 12);
    EXPECT_EQ(cache.memory_bytes(), 65536u * 56 + 2048 * 4 + 1024 * 32);
}

} // namespace
