// One's-complement sums, full checksum computation and RFC 1624 updates.
#include "net/checksum.hpp"

#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "net/packet_parser.hpp"
#include "packet_builder.hpp"

namespace egress::test {
namespace {

using net::fold;
using net::ones_sum;

TEST(ones_sum, rfc1071_example) {
    const bytes data{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    EXPECT_EQ(fold(ones_sum(data)), 0xddf2);
}

TEST(ones_sum, odd_trailing_byte_is_the_high_half_of_a_word) {
    EXPECT_EQ(fold(ones_sum(bytes{0x12})), 0x1200);
    EXPECT_EQ(fold(ones_sum(bytes{0x00, 0x01, 0x12})), 0x1201);
}

TEST(ones_sum, chaining_equals_one_pass_and_large_inputs_do_not_overflow) {
    std::mt19937 rng(7);
    bytes data(70000);
    for (auto& b : data) b = static_cast<uint8_t>(rng());
    const std::span<const uint8_t> all = data;
    EXPECT_EQ(fold(ones_sum(all)), fold(ones_sum(all.subspan(1000), ones_sum(all.first(1000)))));
    const bytes ones(140000, 0xff);
    EXPECT_EQ(fold(ones_sum(ones)), 0xffff);
    EXPECT_EQ(static_cast<uint16_t>(~fold(ones_sum(all))), internet_checksum(all));
    EXPECT_EQ(fold(ones_sum(bytes{}, 0xffffffffu)), 0xffff);
}

TEST(fold, end_around_carry) {
    EXPECT_EQ(fold(0), 0);
    EXPECT_EQ(fold(0x1fffe), 0xffff);
    EXPECT_EQ(fold(0xffffffffu), 0xffff);
    EXPECT_EQ(fold(0x12345678u), 0x68ac);
}

// Random buffers: changing one aligned word (or pair of words) and updating the
// stored checksum incrementally gives exactly the freshly computed checksum.
TEST(incremental_update, equals_recomputation_for_16_and_32_bit_fields) {
    std::mt19937 rng(1624);
    for (int i = 0; i < 20000; ++i) {
        bytes data(2 * (2 + rng() % 40));
        for (auto& b : data) b = static_cast<uint8_t>(rng());
        const uint16_t before = internet_checksum(data);
        const std::size_t at = 2 * (rng() % (data.size() / 2 - 1));
        if (i % 2 == 0) {
            const uint16_t old_value = be16(data, at);
            const auto new_value = static_cast<uint16_t>(i % 7 == 0 ? old_value : rng());
            put16(data, at, new_value);
            ASSERT_EQ(net::checksum_update16(before, old_value, new_value), internet_checksum(data)) << i;
        } else {
            const uint32_t old_value = (uint32_t{be16(data, at)} << 16) | be16(data, at + 2);
            const uint32_t new_value = i % 9 == 1 ? old_value : static_cast<uint32_t>(rng());
            put32(data, at, new_value);
            ASSERT_EQ(net::checksum_update32(before, old_value, new_value), internet_checksum(data)) << i;
        }
    }
}

TEST(incremental_update, rfc1624_worked_example) {
    // RFC 1624 section 4: HC = 0xdd2f, m = 0x5555 -> m' = 0x3285 gives 0x0000.
    EXPECT_EQ(net::checksum_update16(0xdd2f, 0x5555, 0x3285), 0x0000);
}

struct parsed {
    bytes frame;
    net::packet_view view;
};

parsed parse(bytes frame) {
    parsed p{std::move(frame), {}};
    EXPECT_EQ(stats::name_of(net::parse_frame(p.frame, p.view)), stats::name_of(stats::no_drop));
    return p;
}

std::vector<bytes> checksum_frames() {
    return {
        frame_builder().ipv4("10.1.2.3", "192.0.2.9").ipv4_options({1, 1, 0x94, 4, 0, 0}).tcp(1234, 80).payload("GET /").build(),
        frame_builder().ipv4("10.1.2.3", "192.0.2.9").udp(53, 5353).payload_size(33).build(),
        frame_builder().vlan(3).ipv4("10.1.2.3", "192.0.2.9").echo_request(77).payload_size(56).build(),
        frame_builder().ipv4("10.1.2.3", "192.0.2.9").echo_reply(77).payload_size(5).build(),
        frame_builder().ipv6("2001:db8::5", "2001:db8::6").tcp(1, 2).payload_size(99).build(),
        frame_builder().ipv6("2001:db8::5", "2001:db8::6").ipv6_ext(ipv6_hop_by_hop).udp(1, 2).payload_size(7).build(),
        frame_builder().ipv6("2001:db8::5", "2001:db8::6").ipv6_ext(ipv6_destination_options, 2).echo_request(9).build(),
    };
}

size_t l4_checksum_at(const net::packet_view& v) {
    return v.l4_offset + (v.proto == net::proto_tcp ? 16u : v.proto == net::proto_udp ? 6u : 2u);
}

TEST(full_checksum, matches_the_builder_for_every_protocol) {
    for (const auto& frame : checksum_frames()) {
        const auto p = parse(frame);
        if (p.view.family == net::ip_family::v4) {
            EXPECT_EQ(net::ipv4_header_checksum(p.frame, p.view), be16(p.frame, p.view.l3_offset + 10));
        }
        EXPECT_EQ(net::l4_checksum(p.frame, p.view), be16(p.frame, l4_checksum_at(p.view)));
    }
}

TEST(full_checksum, recompute_repairs_corrupted_checksums) {
    for (const auto& frame : checksum_frames()) {
        auto p = parse(frame);
        put16(p.frame, l4_checksum_at(p.view), 0xbeef);
        if (p.view.family == net::ip_family::v4) put16(p.frame, p.view.l3_offset + 10, 0x1234);
        net::recompute_checksums(p.frame, p.view);
        EXPECT_EQ(p.frame, frame);
    }
}

TEST(full_checksum, udp_over_ipv4_without_checksum_keeps_zero) {
    auto p = parse(frame_builder().ipv4("10.1.2.3", "192.0.2.9").udp(1, 2).udp_zero_checksum().payload("x").build());
    net::recompute_checksums(p.frame, p.view);
    EXPECT_EQ(be16(p.frame, p.view.l4_offset + 6), 0);
    EXPECT_NE(net::l4_checksum(p.frame, p.view), 0); // what it would be
}

TEST(full_checksum, udp_covers_its_own_length_not_the_padding) {
    const bytes frame = frame_builder().ipv4("10.1.2.3", "192.0.2.9").udp(1, 2).payload("abc").build();
    auto p = parse(frame);
    // Extend the IP datagram by 4 bytes of junk after the UDP datagram.
    p.frame.insert(p.frame.end(), {9, 9, 9, 9});
    put16(p.frame, 14 + 2, static_cast<uint16_t>(be16(p.frame, 16) + 4));
    fix_ipv4_checksum(p.frame, 14);
    auto longer = parse(p.frame);
    EXPECT_EQ(net::l4_checksum(longer.frame, longer.view), be16(frame, 14 + 20 + 6));
}

TEST(full_checksum, udp_zero_result_is_sent_as_ffff) {
    // Choose the source port so that the true sum is all ones: the checksum with
    // port 0 is exactly the port value that cancels it.
    auto p = parse(frame_builder().ipv4("10.1.2.3", "192.0.2.9").udp(0, 2).payload("zero").build());
    const uint16_t port = net::l4_checksum(p.frame, p.view);
    const bytes frame = frame_builder().ipv4("10.1.2.3", "192.0.2.9").udp(port, 2).payload("zero").build();
    auto q = parse(frame);
    EXPECT_EQ(be16(q.frame, q.view.l4_offset + 6), 0xffff); // the builder's oracle agrees
    EXPECT_EQ(net::l4_checksum(q.frame, q.view), 0xffff);
}

TEST(full_checksum, views_that_do_not_fit_the_frame_give_zero) {
    auto p = parse(frame_builder().ipv4("10.1.2.3", "192.0.2.9").tcp(1, 2).build());
    const auto short_frame = std::span<const uint8_t>(p.frame).first(40);
    EXPECT_EQ(net::l4_checksum(short_frame, p.view), 0);
    EXPECT_EQ(net::ipv4_header_checksum(std::span<const uint8_t>(p.frame).first(20), p.view), 0);
}

} // namespace
} // namespace egress::test
