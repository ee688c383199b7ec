// lib/dns/dns_message: A / AAAA / CNAME answers, compression pointers (backwards
// only, loops refused), every prefix truncated, many answers, malformed rules.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "dns/dns_message.hpp"
#include "dns_builder.hpp"

namespace {

using namespace egress::dns;
using namespace egress::dns::test;
using egress::net::ip_address;

struct read_all_result {
    dns_status open = dns_status::ok;
    dns_status last = dns_status::end;
    std::vector<std::string> lines; // "owner type ttl value"
};

read_all_result read_all(const bytes& msg) {
    read_all_result out;
    dns_response r;
    out.open = r.open(msg);
    if (out.open != dns_status::ok) return out;
    out.lines.push_back("? " + std::string(r.question().view()) + " " + std::to_string(r.question_type()));
    dns_answer a;
    while ((out.last = r.next_answer(a)) == dns_status::ok) {
        std::string value = a.type == type_cname ? std::string(a.target.view()) : a.address.to_string();
        out.lines.push_back(std::string(a.owner.view()) + " " + std::to_string(a.type) + " " + std::to_string(a.ttl) +
                            " " + value);
    }
    return out;
}

TEST(dns_message, a_record_with_a_compression_pointer_to_the_question) {
    response_builder b;
    b.record(pointer(12), type_a, 300, {93, 184, 216, 34});
    const auto r = read_all(b.build());
    ASSERT_EQ(r.open, dns_status::ok);
    EXPECT_EQ(r.last, dns_status::end);
    EXPECT_EQ(r.lines, (std::vector<std::string>{"? example.com 1", "example.com 1 300 93.184.216.34"}));
}

TEST(dns_message, cname_chain_aaaa_case_and_other_types) {
    response_builder b;
    b.question_name = name("WWW.Example.COM");
    b.qtype = 28;
    b.cname("www.example.com", 60, "cdn.Example.net");
    bytes target = {3, 'e', 'd', 'g'};
    const auto tail = pointer(12 + 4); // "example.com" inside the question
    target.insert(target.end(), tail.begin(), tail.end());
    b.record(name("cdn.example.net"), type_cname, 30, target);
    b.record(name("edg.example.com"), 15, 10, {0, 10, 0}); // MX: skipped by length
    b.aaaa("edg.example.com", 20, bytes{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});
    b.record(name("edg.example.com"), type_a, 20, {1, 2, 3, 4}, 3); // class CH: skipped
    b.record(name("edg.example.com"), type_a, 0x80000001u, {1, 2, 3, 5});
    const auto r = read_all(b.build());
    ASSERT_EQ(r.open, dns_status::ok);
    EXPECT_EQ(r.last, dns_status::end);
    EXPECT_EQ(r.lines, (std::vector<std::string>{"? www.example.com 28", "www.example.com 5 60 cdn.example.net",
                                                 "cdn.example.net 5 30 edg.example.com",
                                                 "edg.example.com 28 20 2001:db8::1", "edg.example.com 1 0 1.2.3.5"}));
}

TEST(dns_message, many_answers) {
    response_builder b;
    for (int i = 0; i < 400; ++i) b.record(pointer(12), type_a, 60, {10, 0, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)});
    const auto r = read_all(b.build());
    EXPECT_EQ(r.last, dns_status::end);
    ASSERT_EQ(r.lines.size(), 401u);
    EXPECT_EQ(r.lines.back(), "example.com 1 60 10.0.1.143");
}

TEST(dns_message, every_prefix_is_truncated) {
    response_builder b;
    b.cname("example.com", 60, "a.example.net");
    b.record(name("a.example.net"), type_a, 60, {1, 2, 3, 4});
    const auto full = b.build();
    for (std::size_t n = 0; n < full.size(); ++n) {
        const auto r = read_all(bytes(full.begin(), full.begin() + n));
        const dns_status s = r.open != dns_status::ok ? r.open : r.last;
        EXPECT_EQ(to_string(s), "truncated") << n;
    }
}

TEST(dns_message, header_rules) {
    struct row {
        const char* description;
        uint16_t flags;
        dns_status status;
    } rows[] = {
        {"a query", 0x0100, dns_status::not_response},
        {"opcode NOTIFY", 0x8000 | (4 << 11), dns_status::not_query},
        {"NXDOMAIN is read", 0x8183, dns_status::ok},
    };
    for (const auto& r : rows) {
        response_builder b;
        b.flags = r.flags;
        EXPECT_EQ(read_all(b.build()).open, r.status) << r.description;
    }
    response_builder b;
    auto m = b.build();
    m[5] = 2; // QDCOUNT 2
    EXPECT_EQ(read_all(m).open, dns_status::no_question);
}

TEST(dns_message, malformed_names_and_records) {
    struct row {
        const char* description;
        bytes owner;
        uint16_t type;
        bytes rdata;
        dns_status last;
    };
    const bytes label63(63, 'a');
    bytes long_name; // 4 labels of 63 = 256 bytes on the wire with the root
    for (int i = 0; i < 4; ++i) {
        long_name.push_back(63);
        long_name.insert(long_name.end(), label63.begin(), label63.end());
    }
    long_name.push_back(0);
    const row rows[] = {
        {"pointer to itself", pointer(29), type_a, {1, 2, 3, 4}, dns_status::malformed},
        {"pointer forward", pointer(200), type_a, {1, 2, 3, 4}, dns_status::malformed},
        {"pointer into the question's middle", pointer(14), type_a, {1, 2, 3, 4}, dns_status::malformed},
        {"label with a dot", {3, 'a', '.', 'b', 0}, type_a, {1, 2, 3, 4}, dns_status::malformed},
        {"label with a space", {3, 'a', ' ', 'b', 0}, type_a, {1, 2, 3, 4}, dns_status::malformed},
        {"extended label type 0x40", {0x41, 'a', 0}, type_a, {1, 2, 3, 4}, dns_status::malformed},
        {"name over 255 bytes", long_name, type_a, {1, 2, 3, 4}, dns_status::malformed},
        {"A of 5 bytes", pointer(12), type_a, {1, 2, 3, 4, 5}, dns_status::malformed},
        {"AAAA of 4 bytes", pointer(12), type_aaaa, {1, 2, 3, 4}, dns_status::malformed},
        {"CNAME target shorter than its data", pointer(12), type_cname, {1, 'a', 0, 0}, dns_status::malformed},
        {"CNAME target longer than its data", pointer(12), type_cname, {1, 'a'}, dns_status::malformed},
        {"CNAME target pointing at itself", pointer(12), type_cname, {0xc0, 41}, dns_status::malformed},
    };
    for (const auto& r : rows) {
        response_builder b;
        b.record(r.owner, r.type, 60, r.rdata);
        EXPECT_EQ(to_string(read_all(b.build()).last), to_string(r.last)) << r.description;
    }
}

TEST(dns_message, pointer_chains_go_backwards_up_to_the_bound) {
    // example.com at 12; then names that each point to the one before.
    response_builder b;
    const std::size_t first = 12 + 13 + 4; // after the question
    b.record(pointer(12), 16, 60, {});     // TXT, empty: a place holder before the chain
    bytes chain_owner = pointer(12);
    // A record whose owner is "x" + pointer(12), and one pointing to that owner.
    bytes owner1 = {1, 'x'};
    owner1.insert(owner1.end(), chain_owner.begin(), chain_owner.end());
    b.record(owner1, type_a, 60, {1, 1, 1, 1});
    const uint16_t owner1_at = static_cast<uint16_t>(first + 12); // after the TXT record's 12 bytes
    bytes owner2 = {1, 'y'};
    const auto p1 = pointer(owner1_at);
    owner2.insert(owner2.end(), p1.begin(), p1.end());
    b.record(owner2, type_a, 60, {2, 2, 2, 2});
    const auto r = read_all(b.build());
    EXPECT_EQ(r.last, dns_status::end);
    EXPECT_EQ(r.lines, (std::vector<std::string>{"? example.com 1", "x.example.com 1 60 1.1.1.1",
                                                 "y.x.example.com 1 60 2.2.2.2"}));
}

TEST(dns_message, status_names) {
    EXPECT_EQ(to_string(dns_status::truncated), "truncated");
    EXPECT_EQ(to_string(dns_status::no_question), "no_question");
}

} // namespace
