// lib/policy/cidr: parsing, the exact refusal texts, containment per family.
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "policy/cidr.hpp"

namespace {

using egress::net::ip_address;
using egress::policy::cidr;

ip_address ip(std::string_view s) { return ip_address::parse(s).value(); }

std::string refusal(std::string_view text) {
    std::string why;
    EXPECT_FALSE(cidr::parse(text, &why).has_value()) << text;
    return why;
}

TEST(cidr, parses_ipv4_and_ipv6) {
    struct row {
        std::string_view text;
        std::string_view printed;
        uint8_t prefix_len;
        bool v4;
    };
    const row rows[] = {
        {"10.0.0.0/8", "10.0.0.0/8", 104, true},     {"0.0.0.0/0", "0.0.0.0/0", 96, true},
        {"192.0.2.1/32", "192.0.2.1/32", 128, true}, {"::/0", "::/0", 0, false},
        {"2001:db8::/32", "2001:db8::/32", 32, false}, {"fd00:1::/64", "fd00:1::/64", 64, false},
        {"2001:db8::1/128", "2001:db8::1/128", 128, false}, {"64:ff9b::/96", "64:ff9b::/96", 96, false},
    };
    for (const row& r : rows) {
        const auto c = cidr::parse(r.text);
        ASSERT_TRUE(c.has_value()) << r.text;
        EXPECT_EQ(c->to_string(), r.printed);
        EXPECT_EQ(c->prefix_len, r.prefix_len) << r.text;
        EXPECT_EQ(c->is_v4(), r.v4) << r.text;
    }
}

TEST(cidr, refuses_malformed_text_with_the_exact_message) {
    for (const std::string_view text : {"10.0.0.1/33", "10.0.0.0", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/8x",
                                        "10.0.0/8", "2001:db8::/129", "/8", "", "2001:db8::/0032", "web"}) {
        EXPECT_EQ(refusal(text),
                  std::string(R"(expected a CIDR like "10.0.0.0/8" or "2001:db8::/32", got ")") + std::string(text) + "\"");
    }
}

TEST(cidr, refuses_host_bits_and_suggests_the_network) {
    EXPECT_EQ(refusal("10.0.0.1/8"),
              R"(expected a network address (host bits zero), got "10.0.0.1/8" (did you mean "10.0.0.0/8"?))");
    EXPECT_EQ(refusal("2001:db8::1/32"),
              R"(expected a network address (host bits zero), got "2001:db8::1/32" (did you mean "2001:db8::/32"?))");
    EXPECT_EQ(refusal("192.168.1.77/0"),
              R"(expected a network address (host bits zero), got "192.168.1.77/0" (did you mean "0.0.0.0/0"?))");
}

TEST(cidr, refuses_ipv4_mapped_ipv6_text) {
    EXPECT_EQ(refusal("::ffff:10.0.0.0/104"),
              R"(expected an IPv6 CIDR outside ::ffff:0:0/96 (write IPv4 prefixes like "10.0.0.0/8"), got "::ffff:10.0.0.0/104")");
}

TEST(cidr, contains_only_its_own_family) {
    const cidr any4 = *cidr::parse("0.0.0.0/0");
    const cidr any6 = *cidr::parse("::/0");
    EXPECT_TRUE(any4.contains(ip("203.0.113.9")));
    EXPECT_FALSE(any4.contains(ip("2001:db8::1")));
    EXPECT_TRUE(any6.contains(ip("2001:db8::1")));
    EXPECT_FALSE(any6.contains(ip("203.0.113.9"))); // "::/0" is IPv6 only
    const cidr net = *cidr::parse("10.1.0.0/16");
    EXPECT_TRUE(net.contains(ip("10.1.255.255")));
    EXPECT_FALSE(net.contains(ip("10.2.0.0")));
    const cidr odd = *cidr::parse("10.0.0.128/25");
    EXPECT_TRUE(odd.contains(ip("10.0.0.200")));
    EXPECT_FALSE(odd.contains(ip("10.0.0.127")));
    const cidr v6 = *cidr::parse("fd00:1::/63");
    EXPECT_TRUE(v6.contains(ip("fd00:1:0:1::5")));
    EXPECT_FALSE(v6.contains(ip("fd00:1:0:2::5")));
}

TEST(cidr, covers_nested_prefixes_of_the_same_family) {
    EXPECT_TRUE(cidr::parse("10.0.0.0/8")->covers(*cidr::parse("10.1.0.0/16")));
    EXPECT_TRUE(cidr::parse("10.0.0.0/8")->covers(*cidr::parse("10.0.0.0/8")));
    EXPECT_FALSE(cidr::parse("10.1.0.0/16")->covers(*cidr::parse("10.0.0.0/8")));
    EXPECT_FALSE(cidr::parse("::/0")->covers(*cidr::parse("10.0.0.0/8")));
    EXPECT_TRUE(cidr::parse("::/0")->covers(*cidr::parse("2001:db8::/32")));
}

} // namespace
