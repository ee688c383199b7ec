// The Toeplitz hash against the published RSS verification values (Microsoft's
// "Verifying the RSS Hash Calculation" suite, key net::default_rss_key).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <vector>

#include "net/toeplitz.hpp"
#include "packet_builder.hpp"

namespace egress::net {
namespace {

struct vector4 {
    const char* dst;
    uint16_t dst_port;
    const char* src;
    uint16_t src_port;
    uint32_t ip_only;
    uint32_t with_ports;
};

constexpr vector4 v4_vectors[] = {
    {"161.142.100.80", 1766, "66.9.149.187", 2794, 0x323e8fc2, 0x51ccc178},
    {"65.69.140.83", 4739, "199.92.111.2", 14230, 0xd718262a, 0xc626b0ea},
    {"12.22.207.184", 38024, "24.19.198.95", 12898, 0xd2d0a5de, 0x5c2b394a},
    {"209.142.163.6", 2217, "38.27.205.30", 48228, 0x82989176, 0xafc7327f},
    {"202.188.127.2", 1303, "153.39.163.191", 44251, 0x5d1809c5, 0x10e828a2},
};

constexpr vector4 v6_vectors[] = {
    {"3ffe:2501:200:3::1", 1766, "3ffe:2501:200:1fff::7", 2794, 0x2cc18cd5, 0x40207d3d},
    {"ff02::1", 4739, "3ffe:501:8::260:97ff:fe40:efab", 14230, 0x0f0c461c, 0xdde51bbf},
    {"fe80::200:f8ff:fe21:67cf", 38024, "3ffe:1900:4545:3:200:f8ff:fe21:67cf", 44251, 0x4b61e985, 0x02d1feef},
};

// The hash input as the NIC builds it: source and destination address, then
// the ports when they are hashed. Filled in a fixed array and copied out once:
// growing a vector by successive inserts makes GCC 12 at -O3 report a false
// -Wstringop-overflow inside libstdc++ (the release build failed on it).
std::vector<uint8_t> input(const ip_address& src, const ip_address& dst, bool v4, uint16_t sport, uint16_t dport,
                           bool ports) {
    std::array<uint8_t, 2 * 16 + 4> in{};
    const std::size_t from = v4 ? 12 : 0;
    const std::size_t len = src.bytes.size() - from;
    std::copy_n(src.bytes.begin() + from, len, in.begin());
    std::copy_n(dst.bytes.begin() + from, len, in.begin() + len);
    std::size_t n = 2 * len;
    if (ports) {
        for (uint16_t p : {sport, dport}) {
            in[n++] = static_cast<uint8_t>(p >> 8);
            in[n++] = static_cast<uint8_t>(p);
        }
    }
    return {in.begin(), in.begin() + n};
}

TEST(toeplitz, ipv4_verification_suite) {
    const toeplitz_table table(default_rss_key);
    for (const auto& v : v4_vectors) {
        const ip_address src = test::ip(v.src), dst = test::ip(v.dst);
        EXPECT_EQ(toeplitz_hash(default_rss_key, input(src, dst, true, 0, 0, false)), v.ip_only) << v.src;
        EXPECT_EQ(toeplitz_hash(default_rss_key, input(src, dst, true, v.src_port, v.dst_port, true)), v.with_ports)
            << v.src;
        EXPECT_EQ(table.hash(input(src, dst, true, v.src_port, v.dst_port, true)), v.with_ports) << v.src;
        EXPECT_EQ(table.hash_v4(src.v4(), dst.v4()), v.ip_only) << v.src;
        EXPECT_EQ(table.hash_v4(src.v4(), dst.v4(), v.src_port, v.dst_port), v.with_ports) << v.src;
    }
}

TEST(toeplitz, ipv6_verification_suite) {
    const toeplitz_table table(default_rss_key);
    EXPECT_EQ(table.max_input(), 36u);
    for (const auto& v : v6_vectors) {
        const ip_address src = test::ip(v.src), dst = test::ip(v.dst);
        EXPECT_EQ(toeplitz_hash(default_rss_key, input(src, dst, false, 0, 0, false)), v.ip_only) << v.src;
        EXPECT_EQ(table.hash(input(src, dst, false, 0, 0, false)), v.ip_only) << v.src;
        EXPECT_EQ(table.hash(input(src, dst, false, v.src_port, v.dst_port, true)), v.with_ports) << v.src;
    }
}

TEST(toeplitz, single_bits_select_key_windows) {
    // Bit k of the input set alone gives the 32 key bits starting at bit k.
    const std::vector<uint8_t> key{0x80, 0x00, 0x00, 0x01, 0xff, 0x00, 0x00, 0x00};
    EXPECT_EQ(toeplitz_hash(key, std::vector<uint8_t>{0x80}), 0x80000001u);
    EXPECT_EQ(toeplitz_hash(key, std::vector<uint8_t>{0x40}), 0x00000003u);
    EXPECT_EQ(toeplitz_hash(key, std::vector<uint8_t>{0x01}), 0x000000ffu);
    EXPECT_EQ(toeplitz_hash(key, std::vector<uint8_t>{0xc0}), 0x80000002u);
    EXPECT_EQ(toeplitz_hash(key, std::vector<uint8_t>{0x00, 0x00}), 0u);
    const toeplitz_table table(key);
    EXPECT_EQ(table.max_input(), 4u);
    EXPECT_EQ(table.hash(std::vector<uint8_t>{0x40}), 0x00000003u);
    EXPECT_EQ(table.hash(std::vector<uint8_t>{0x00, 0x80}), toeplitz_hash(key, std::vector<uint8_t>{0x00, 0x80}));
    EXPECT_EQ(table.hash(std::vector<uint8_t>{0x00, 0x80}), 0x000001ffu);
}

} // namespace
} // namespace egress::net
