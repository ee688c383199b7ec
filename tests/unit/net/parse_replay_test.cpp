// The fuzz target's property, replayed deterministically under the normal build:
// 200,000 random and mutated frames through parse_frame. Nothing may crash (the
// sanitizer builds catch out-of-bounds reads); an accepted frame must keep its
// view inside the frame, and after rewrites it must still parse with valid
// checksums.
//
// DISABLED_write_seed_corpus writes the seed frames to $EGRESS_CORPUS_DIR
// (tests/fuzz/corpus/parse/ holds its output), from the source root:
//   EGRESS_CORPUS_DIR=tests/fuzz/corpus/parse build/tests/unit/net/net_unit_tests
//       --gtest_filter='*write_seed_corpus' --gtest_also_run_disabled_tests
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "net/checksum.hpp"
#include "net/packet_parser.hpp"
#include "net/rewrite.hpp"
#include "fragmenter.hpp"
#include "packet_builder.hpp"

namespace egress::test {
namespace {

std::vector<bytes> seed_frames() {
    return {
        frame_builder().ipv4("10.0.0.1", "198.51.100.7").tcp(40000, 443).tcp_options({2, 4, 5, 0xb4}).build(),
        frame_builder().vlan(7).ipv4("10.0.0.1", "198.51.100.7").ipv4_options({1, 1, 0x94, 4, 0, 0}).udp(5353, 53)
            .payload("query").build(),
        frame_builder().vlan(1, net::ethertype_qinq).vlan(2).ipv4("10.0.0.1", "198.51.100.7").echo_request(9)
            .payload_size(16).build(),
        frame_builder().ipv4("198.51.100.7", "10.0.0.1").echo_reply(9).pad_to(60).build(),
        frame_builder().ipv4("10.0.0.1", "198.51.100.7").udp(1, 2).udp_zero_checksum().build(),
        frame_builder().ipv6("2001:db8::1", "2001:db8:1::7").tcp(1, 2, net::tcp_syn | net::tcp_ack).payload("x").build(),
        frame_builder().ipv6("2001:db8::1", "2001:db8:1::7").ipv6_ext(ipv6_hop_by_hop).ipv6_ext(ipv6_routing, 1)
            .ipv6_ext(ipv6_destination_options).udp(7, 8).payload_size(9).build(),
        frame_builder().ipv6("2001:db8::1", "2001:db8:1::7").echo_request(3).build(),
        frame_builder().ipv6("2001:db8::1", "2001:db8:1::7").ipv6_ext(ipv6_fragment).udp(7, 8).build(),
        // Fragments: first and later, IPv4 and IPv6.
        fragment_ipv4(frame_builder().ipv4("10.0.0.1", "198.51.100.7").udp(7, 8).payload_size(40).build(), {24}, 7)[0],
        fragment_ipv4(frame_builder().ipv4("10.0.0.1", "198.51.100.7").tcp(1, 2).payload_size(40).build(), {24}, 7)[1],
        fragment_ipv6(frame_builder().ipv6("2001:db8::1", "2001:db8:1::7").udp(7, 8).payload_size(40).build(), {16},
                      7)[0],
        fragment_ipv6(frame_builder().ipv6("2001:db8::1", "2001:db8:1::7").echo_request(3).payload_size(40).build(),
                      {16}, 7)[1],
    };
}

// One mutation step of the kind a fuzzer applies.
void mutate(bytes& f, std::mt19937& rng) {
    switch (rng() % 6) {
    case 0: // flip bits
        if (!f.empty()) f[rng() % f.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
        break;
    case 1: // random byte
        if (!f.empty()) f[rng() % f.size()] = static_cast<uint8_t>(rng());
        break;
    case 2: // truncate
        f.resize(f.empty() ? 0 : rng() % f.size());
        break;
    case 3: // append random bytes
        for (std::size_t n = rng() % 16; n > 0; --n) f.push_back(static_cast<uint8_t>(rng()));
        break;
    case 4: // interesting 16-bit value at a random even offset
        if (f.size() >= 2) {
            static constexpr uint16_t values[] = {0, 1, 7, 8, 0x00ff, 0x0fff, 0x8100, 0x88a8, 0x0800, 0x86dd, 0xffff};
            put16(f, (rng() % (f.size() - 1)) & ~std::size_t{1}, values[rng() % std::size(values)]);
        }
        break;
    default: // erase a byte range
        if (!f.empty()) {
            const std::size_t at = rng() % f.size();
            f.erase(f.begin() + static_cast<std::ptrdiff_t>(at),
                    f.begin() + static_cast<std::ptrdiff_t>(std::min(f.size(), at + 1 + rng() % 8)));
        }
        break;
    }
}

// Re-seals a mutated IPv4 header so mutations reach the layers behind it.
void maybe_fix_ipv4_checksum(bytes& f) {
    for (const std::size_t l3 : {std::size_t{14}, std::size_t{18}, std::size_t{22}}) {
        if (f.size() < l3 + 20 || be16(f, l3 - 2) != net::ethertype_ipv4) continue;
        const std::size_t header_length = std::size_t{f[l3] & 0x0fu} * 4;
        if (header_length >= 20 && f.size() >= l3 + header_length) fix_ipv4_checksum(f, l3);
        return;
    }
}

uint16_t stored_l4_checksum(const bytes& f, const net::packet_view& v) {
    const std::size_t field = v.proto == net::proto_tcp ? 16 : v.proto == net::proto_udp ? 6 : 2;
    return be16(f, v.l4_offset + field);
}

TEST(parse_replay, two_hundred_thousand_random_and_mutated_frames) {
    const auto seeds = seed_frames();
    std::mt19937 rng(0xe9e55);
    std::size_t accepted = 0;
    std::array<std::size_t, stats::drop_reason_count + 1> verdicts{};
    for (int i = 0; i < 200000; ++i) {
        bytes f;
        if (i % 10 == 0) { // pure noise, sometimes behind a valid Ethernet/IP start
            f.resize(rng() % 128);
            for (auto& b : f) b = static_cast<uint8_t>(rng());
            if (f.size() > 14 && rng() % 2) put16(f, 12, rng() % 2 ? net::ethertype_ipv4 : net::ethertype_ipv6);
        } else {
            f = seeds[rng() % seeds.size()];
            for (int n = 1 + static_cast<int>(rng() % 4); n > 0; --n) mutate(f, rng);
        }
        if (rng() % 2) maybe_fix_ipv4_checksum(f);

        net::packet_view view;
        const auto verdict = net::parse_frame(f, view);
        ++verdicts[static_cast<std::size_t>(verdict)];
        // The fast path for the common frame decides exactly as the general parse.
        net::packet_view general;
        ASSERT_EQ(stats::name_of(net::parse_frame_general(f, general)), stats::name_of(verdict)) << "frame " << i;
        if (verdict == stats::no_drop) {
            ASSERT_EQ(std::memcmp(&view, &general, offsetof(net::packet_view, quoted)), 0) << "frame " << i;
        }
        if (verdict != stats::no_drop) continue;
        ++accepted;
        ASSERT_LE(std::size_t{view.l3_offset} + view.l3_length, f.size());
        ASSERT_EQ(std::size_t{view.l4_offset} + view.l4_length, std::size_t{view.l3_offset} + view.l3_length);

        bytes copy = f;
        // Mutations mostly break the L4 checksum; where it was right, it must stay right.
        // (A fragment's checksum covers the whole datagram: not checkable here.)
        const bool l4_valid =
            !view.is_fragment() && net::l4_checksum(copy, view) == stored_l4_checksum(copy, view);
        if (view.family == net::ip_family::v4) {
            net::set_ipv4_source(copy, view, ip("203.0.113.1"), 1024);
            net::set_ipv4_destination(copy, view, ip("192.0.2.1"), 2048);
        }
        const auto ttl_verdict = net::decrement_hop_limit(copy, view);
        ASSERT_TRUE(ttl_verdict == stats::no_drop || ttl_verdict == stats::drop_reason::ttl_expired);
        net::set_macs(copy, mac("02:00:00:00:00:0a"), mac("02:00:00:00:00:0b"));

        net::packet_view after;
        ASSERT_EQ(stats::name_of(net::parse_frame(copy, after)), stats::name_of(stats::no_drop)) << "frame " << i;
        ASSERT_EQ(after.src, view.src);
        ASSERT_EQ(after.dst, view.dst);
        ASSERT_EQ(after.src_port, view.src_port);
        ASSERT_EQ(after.dst_port, view.dst_port);
        ASSERT_EQ(after.ttl, view.ttl);
        if (l4_valid) {
            ASSERT_EQ(net::l4_checksum(copy, view), stored_l4_checksum(copy, view)) << "frame " << i;
        }
    }
    // The mix must actually reach the inner layers, not just bounce off L2.
    EXPECT_GT(accepted, 10000u);
    EXPECT_GT(verdicts[static_cast<std::size_t>(stats::drop_reason::tcp_bad_offset)], 0u);
    EXPECT_GT(verdicts[static_cast<std::size_t>(stats::drop_reason::ipv6_ext_header_malformed)], 0u);
    EXPECT_GT(verdicts[static_cast<std::size_t>(stats::drop_reason::ipv4_bad_options)], 0u);
}

TEST(parse_replay, DISABLED_write_seed_corpus) {
    const char* dir = std::getenv("EGRESS_CORPUS_DIR");
    ASSERT_NE(dir, nullptr) << "set EGRESS_CORPUS_DIR";
    const auto seeds = seed_frames();
    for (std::size_t i = 0; i < seeds.size(); ++i) {
        std::ofstream out(fmt::format("{}/seed-{:02}.bin", dir, i), std::ios::binary);
        out.write(reinterpret_cast<const char*>(seeds[i].data()), static_cast<std::streamsize>(seeds[i].size()));
        ASSERT_TRUE(out.good());
    }
}

} // namespace
} // namespace egress::test
