// Special-purpose addresses never cross (SECURITY-MODEL.md promise 5), nor
// does a source that is one of the gateway's own addresses, as rows through
// gateway_core: {description, side, frame, expected reason}. Each row
// runs on a fresh gateway and must leave nothing behind: no flow, no mapping,
// no frame built, exactly one drop under its reason.
#include <gtest/gtest.h>

#include "gateway/gateway_core.hpp"
#include "gateway_fixture.hpp"

namespace egress::gateway {
namespace {

using stats::drop_reason;
using stats::side;
using test::bytes;
using test::ip;

using namespace testing_network;

struct row {
    const char* description;
    side from;
    bool v6;
    const char* src;
    const char* dst;
    drop_reason expected;
};

const row rows[] = {
    {"limited broadcast", side::inside, false, "10.0.0.5", "255.255.255.255", drop_reason::special_broadcast},
    {"the inside prefix's broadcast", side::inside, false, "10.0.0.5", "10.0.0.255", drop_reason::special_broadcast},
    {"mDNS multicast", side::inside, false, "10.0.0.5", "224.0.0.251", drop_reason::special_multicast},
    {"loopback destination", side::inside, false, "10.0.0.5", "127.0.0.1", drop_reason::special_loopback},
    {"class E", side::inside, false, "10.0.0.5", "240.0.0.1", drop_reason::special_reserved},
    {"this network", side::inside, false, "10.0.0.5", "0.1.2.3", drop_reason::special_unspecified},
    {"cloud metadata (link-local)", side::inside, false, "10.0.0.5", "169.254.169.254", drop_reason::special_link_local},
    {"loopback source", side::inside, false, "127.0.0.1", "198.51.100.7", drop_reason::special_loopback},
    {"all-nodes multicast", side::inside, true, "fd00:0:0:1::5", "ff02::1", drop_reason::special_multicast},
    {"global multicast", side::inside, true, "fd00:0:0:1::5", "ff0e::1", drop_reason::special_multicast},
    {"IPv6 loopback destination", side::inside, true, "fd00:0:0:1::5", "::1", drop_reason::special_loopback},
    {"IPv6 link-local destination", side::inside, true, "fd00:0:0:1::5", "fe80::1", drop_reason::special_link_local},
    {"IPv6 link-local source", side::inside, true, "fe80::5", "2001:db8:5::8", drop_reason::special_link_local},
    {"IPv6 loopback source", side::inside, true, "::1", "2001:db8:5::8", drop_reason::special_loopback},
    // The parser already refuses these as malformed headers (bad_address).
    {"IPv4-mapped destination", side::inside, true, "fd00:0:0:1::5", "::ffff:198.51.100.7", drop_reason::bad_address},
    {"spoofed loopback source from outside", side::outside, false, "127.0.0.1", "203.0.113.10", drop_reason::special_loopback},
    {"multicast source from outside", side::outside, false, "224.0.0.1", "203.0.113.10", drop_reason::bad_address},
    {"IPv6 unspecified source from outside", side::outside, true, "::", "fd00:0:0:1::5", drop_reason::bad_address},
    {"link-local source from outside", side::outside, false, "169.254.1.1", "203.0.113.10", drop_reason::special_link_local},
    // The gateway's own addresses as the source: a spoof in its name.
    {"own inside address as source from inside", side::inside, false, "10.0.0.1", "198.51.100.7",
     drop_reason::own_address_source},
    {"own outside address as source from inside", side::inside, false, "192.0.2.1", "198.51.100.7",
     drop_reason::own_address_source},
    {"own IPv6 inside address as source from inside", side::inside, true, "fd00:0:0:1::1", "2001:db8:5::8",
     drop_reason::own_address_source},
    {"own outside address as source from outside", side::outside, false, "192.0.2.1", "203.0.113.10",
     drop_reason::own_address_source},
};

TEST(special_addresses, never_cross_either_way) {
    for (const row& r : rows) {
        settings s = make_settings();
        s.inside.on_link = {{ip("10.0.0.0"), 24}};
        gateway_core core(s);
        test::frame_builder b = r.from == side::inside ? from_inside() : from_outside();
        if (r.v6) b.ipv6(r.src, r.dst); else b.ipv4(r.src, r.dst);
        bytes frame = b.udp(5353, 53).payload("x").build();
        EXPECT_EQ(outcome(core.process(r.from, frame, 0)), outcome(r.expected)) << r.description;
        const auto& drops = core.counters().drops;
        uint64_t total = 0;
        for (const uint64_t d : drops) total += d;
        EXPECT_EQ(drops[static_cast<std::size_t>(r.expected)], 1u) << r.description;
        EXPECT_EQ(total, 1u) << r.description;
        EXPECT_EQ(core.flows_active(), 0u) << r.description;
        EXPECT_EQ(core.built_frames().size(), 0u) << r.description;
    }
}

// [outside] allow_special: the listed prefixes cross (both ways, as source or
// destination, in their own family only); every other special address is still
// refused under its class. Rows: {description, side, v6, src, dst, expected}.
TEST(special_addresses, operator_exceptions_cross_and_nothing_else) {
    const row exception_rows[] = {
        {"class E destination, allowed", side::inside, false, "10.0.0.5", "240.0.0.1", stats::no_drop},
        {"class E reply source, allowed", side::outside, false, "240.0.0.1", "203.0.113.10",
         drop_reason::inbound_unsolicited}, // admitted: no flow of its own
        {"metadata /32 allowed", side::inside, false, "10.0.0.5", "169.254.169.254", stats::no_drop},
        {"other link-local still refused", side::inside, false, "10.0.0.5", "169.254.1.1",
         drop_reason::special_link_local},
        {"255.255.255.254 (class E) allowed", side::inside, false, "10.0.0.5", "255.255.255.254", stats::no_drop},
        {"limited broadcast inside the allowed class E prefix still refused", side::inside, false, "10.0.0.5",
         "255.255.255.255", drop_reason::special_broadcast},
        {"the inside prefix's broadcast still refused", side::inside, false, "10.0.0.5", "10.0.0.255",
         drop_reason::special_broadcast},
        {"multicast still refused", side::inside, false, "10.0.0.5", "224.0.0.251", drop_reason::special_multicast},
        {"loopback still refused", side::inside, false, "10.0.0.5", "127.0.0.1", drop_reason::special_loopback},
        {"IPv6 global multicast ff0e::/16 allowed", side::inside, true, "fd00:0:0:1::5", "ff0e::1", stats::no_drop},
        {"IPv6 all-nodes still refused", side::inside, true, "fd00:0:0:1::5", "ff02::1",
         drop_reason::special_multicast},
        {"an IPv4 prefix does not except an IPv4-mapped address", side::inside, true, "fd00:0:0:1::5",
         "::ffff:240.0.0.1", drop_reason::bad_address},
    };
    for (const row& r : exception_rows) {
        settings s = make_settings();
        s.inside.on_link = {{ip("10.0.0.0"), 24}};
        s.allow_special = {{ip("240.0.0.0"), 4}, {ip("169.254.169.254"), 32}, {ip("ff0e::"), 16}};
        gateway_core core(s);
        test::frame_builder b = r.from == side::inside ? from_inside() : from_outside();
        if (r.v6) b.ipv6(r.src, r.dst); else b.ipv4(r.src, r.dst);
        bytes frame = b.udp(5353, 53).payload("x").build();
        EXPECT_EQ(outcome(core.process(r.from, frame, 0)), outcome(r.expected)) << r.description;
        uint64_t total = 0;
        for (const uint64_t d : core.counters().drops) total += d;
        EXPECT_EQ(total, r.expected == stats::no_drop ? 0u : 1u) << r.description;
        EXPECT_EQ(core.flows_active(), r.expected == stats::no_drop ? 1u : 0u) << r.description;
    }
}

// Ordinary addresses that look special still pass: a row of
// gateway_table_test.cpp.

} // namespace
} // namespace egress::gateway
