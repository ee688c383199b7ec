// lib/'s Toeplitz hash and steering against DPDK's own software RSS
// (rte_softrss, rte_thash.h: no EAL needed), over many tuples: what the
// gateway predicts is what a NIC with the same key computes.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include <rte_thash.h>

#include "gateway/steering.hpp"
#include "net/toeplitz.hpp"

namespace egress {
namespace {

uint32_t softrss(std::vector<uint32_t> words) {
    return rte_softrss(words.data(), static_cast<uint32_t>(words.size()), net::default_rss_key.data());
}

TEST(softrss, ipv4_tuples_hash_alike) {
    const net::toeplitz_table table(net::default_rss_key);
    std::mt19937 rng(7);
    for (int i = 0; i < 20000; ++i) {
        const uint32_t src = rng(), dst = rng();
        const auto sport = static_cast<uint16_t>(rng()), dport = static_cast<uint16_t>(rng());
        ASSERT_EQ(table.hash_v4(src, dst, sport, dport), softrss({src, dst, uint32_t{sport} << 16 | dport})) << i;
        ASSERT_EQ(table.hash_v4(src, dst), softrss({src, dst})) << i;
    }
}

TEST(softrss, ipv6_tuples_hash_alike) {
    const net::toeplitz_table table(net::default_rss_key);
    std::mt19937 rng(11);
    for (int i = 0; i < 5000; ++i) {
        std::vector<uint32_t> words(9);
        std::vector<uint8_t> bytes;
        for (auto& w : words) {
            w = rng();
            for (int b = 3; b >= 0; --b) bytes.push_back(static_cast<uint8_t>(w >> (8 * b)));
        }
        ASSERT_EQ(table.hash(bytes), softrss(words)) << i;
        ASSERT_EQ(net::toeplitz_hash(net::default_rss_key, bytes), softrss(words)) << i;
    }
}

TEST(softrss, steering_owner_is_the_reta_entry_of_the_nic_hash) {
    gateway::steering_settings s;
    s.workers = 3;
    s.rss = true;
    for (int i = 0; i < 512; ++i) s.reta.push_back(static_cast<uint16_t>(i % 3));
    const gateway::steering st(s);
    std::mt19937 rng(3);
    for (int i = 0; i < 20000; ++i) {
        const uint32_t src = rng(), dst = rng();
        const auto sport = static_cast<uint16_t>(rng()), dport = static_cast<uint16_t>(rng());
        const uint32_t nic = softrss({src, dst, uint32_t{sport} << 16 | dport});
        ASSERT_EQ(st.outbound_owner_v4(6, src, dst, sport, dport), (nic & 511) % 3);
        ASSERT_EQ(st.inbound_owner_v4(17, src, dst, sport, dport), (nic & 511) % 3);
        ASSERT_EQ(st.accepts((nic & 511) % 3, 6, src, sport, dst, dport), true);
    }
}

} // namespace
} // namespace egress
