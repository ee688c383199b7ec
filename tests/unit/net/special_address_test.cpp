// Which addresses never cross the gateway, address by address at the edges of
// each special range.
#include "net/special_address.hpp"

#include <gtest/gtest.h>

namespace egress::net {
namespace {

struct row {
    const char* address;
    ip_family family;
    special_address expected;
};

const row rows[] = {
    {"0.0.0.0", ip_family::v4, special_address::unspecified},
    {"0.1.2.3", ip_family::v4, special_address::unspecified},
    {"1.0.0.0", ip_family::v4, special_address::none},
    {"126.255.255.255", ip_family::v4, special_address::none},
    {"127.0.0.1", ip_family::v4, special_address::loopback},
    {"127.255.255.255", ip_family::v4, special_address::loopback},
    {"128.0.0.0", ip_family::v4, special_address::none},
    {"169.253.255.255", ip_family::v4, special_address::none},
    {"169.254.169.254", ip_family::v4, special_address::link_local},
    {"169.255.0.0", ip_family::v4, special_address::none},
    {"10.0.0.255", ip_family::v4, special_address::none}, // a subnet broadcast is a side's setting
    {"223.255.255.255", ip_family::v4, special_address::none},
    {"224.0.0.251", ip_family::v4, special_address::multicast},
    {"239.255.255.255", ip_family::v4, special_address::multicast},
    {"240.0.0.1", ip_family::v4, special_address::reserved},
    {"255.255.255.254", ip_family::v4, special_address::reserved},
    {"255.255.255.255", ip_family::v4, special_address::broadcast},
    {"203.0.113.10", ip_family::v4, special_address::none},
    {"::", ip_family::v6, special_address::unspecified},
    {"::1", ip_family::v6, special_address::loopback},
    {"::2", ip_family::v6, special_address::none},
    {"fe80::1", ip_family::v6, special_address::link_local},
    {"febf:ffff::1", ip_family::v6, special_address::link_local},
    {"fec0::1", ip_family::v6, special_address::none},
    {"ff02::1", ip_family::v6, special_address::multicast},
    {"ff0e::1", ip_family::v6, special_address::multicast},
    {"2001:db8::1", ip_family::v6, special_address::none},
    {"64:ff9b::c000:201", ip_family::v6, special_address::none},
    {"::ffff:127.0.0.1", ip_family::v6, special_address::v4_mapped},
    {"::ffff:198.51.100.7", ip_family::v6, special_address::v4_mapped},
};

TEST(special_address, every_row) {
    for (const row& r : rows) {
        const auto a = ip_address::parse(r.address);
        ASSERT_TRUE(a) << r.address;
        EXPECT_EQ(classify_special(*a, r.family), r.expected)
            << r.address << ": " << to_string(classify_special(*a, r.family)) << ", want " << to_string(r.expected);
    }
}

// What an [outside] allow_special entry may name: a prefix every address of
// which is special, and of which class; none when part of it is not refused.
TEST(special_address, prefixes_an_exception_may_name) {
    struct prefix_row {
        const char* address;
        uint8_t length;
        special_address expected;
    };
    const prefix_row prefix_rows[] = {
        {"240.0.0.0", 4, special_address::reserved},       {"240.0.0.0", 3, special_address::none},
        {"224.0.0.0", 4, special_address::multicast},      {"239.1.0.0", 16, special_address::multicast},
        {"169.254.0.0", 16, special_address::link_local},  {"169.254.169.254", 32, special_address::link_local},
        {"169.254.0.0", 15, special_address::none},        {"100.64.0.0", 10, special_address::none},
        {"127.0.0.0", 8, special_address::loopback},       {"0.0.0.0", 8, special_address::unspecified},
        {"255.255.255.255", 32, special_address::broadcast}, {"10.0.0.0", 8, special_address::none},
        {"ff0e::", 16, special_address::multicast},        {"ff00::", 8, special_address::multicast},
        {"fe00::", 8, special_address::none},              {"fe80::", 10, special_address::link_local},
        {"fe80::", 9, special_address::none},              {"::1", 128, special_address::loopback},
        {"::", 128, special_address::unspecified},         {"::", 0, special_address::none},
        {"2001:db8::", 32, special_address::none},
    };
    for (const prefix_row& r : prefix_rows) {
        const auto a = ip_address::parse(r.address);
        ASSERT_TRUE(a) << r.address;
        EXPECT_EQ(classify_special_prefix(*a, r.length), r.expected)
            << r.address << "/" << int{r.length} << ": " << to_string(classify_special_prefix(*a, r.length));
    }
    EXPECT_TRUE(special_exceptable(special_address::reserved));
    EXPECT_TRUE(special_exceptable(special_address::link_local));
    EXPECT_TRUE(special_exceptable(special_address::multicast));
    EXPECT_FALSE(special_exceptable(special_address::loopback));
    EXPECT_FALSE(special_exceptable(special_address::unspecified));
    EXPECT_FALSE(special_exceptable(special_address::broadcast));
    EXPECT_FALSE(special_exceptable(special_address::v4_mapped));
}

} // namespace
} // namespace egress::net
