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

} // namespace
} // namespace egress::net
