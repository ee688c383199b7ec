// Unique IPv4 identifications per public address (RFC 6864 section 4, RFC 7857
// section 10): datagrams that are or may become fragmented leave with an ID
// from their public address's counter, the same for every fragment of one
// datagram (in order or not); atomic datagrams (DF set, whole) and inbound
// ones keep theirs; each worker counts in its own slice of the ID space.
#include <gtest/gtest.h>

#include "../net/fragmenter.hpp"
#include "gateway/gateway_core.hpp"
#include "gateway/steering.hpp"
#include "gateway_fixture.hpp"

namespace egress::gateway {
namespace {

using stats::side;
using test::bytes;
using test::fragment_ipv4;

using namespace testing_network;

constexpr uint16_t inside_id = 0x5151; // both inside hosts happen to use it
const std::vector<std::size_t> sizes{48, 32}; // 108 bytes of UDP in 3 fragments

uint16_t id_of(const bytes& frame) { return static_cast<uint16_t>(frame.at(18) << 8 | frame.at(19)); }
uint16_t port_of(const bytes& frame) { return static_cast<uint16_t>(frame.at(34) << 8 | frame.at(35)); }

bytes udp_from(const char* host) {
    return from_inside().ipv4(host, "198.51.100.7").udp(40000, 53).payload_size(100).build();
}
bytes udp_translated(uint16_t public_port) {
    return test::frame_builder().eth(outside_mac, outside_hop).ipv4("203.0.113.10", "198.51.100.7").ttl(63)
        .udp(public_port, 53).payload_size(100).build();
}

class ip_id_test : public ::testing::Test {
protected:
    // One frame in; the frames that left towards the outside (forwarded, then outbox).
    std::vector<bytes> pass(side from, bytes frame, verdict expected = verdict::forward) {
        const packet_result r = core->process(from, frame, 0);
        EXPECT_EQ(r.kind, expected);
        std::vector<bytes> out;
        if (r.kind == verdict::forward) out.push_back(frame);
        const outbox& box = core->built_frames();
        for (uint32_t i = 0; i < box.size(); ++i) out.emplace_back(box[i].bytes.begin(), box[i].bytes.end());
        return out;
    }
    void make(settings s) { core = std::make_unique<gateway_core>(s); }
    void SetUp() override { make(make_settings()); }
    std::unique_ptr<gateway_core> core;
};

TEST_F(ip_id_test, two_hosts_fragmented_datagrams_leave_one_public_address_with_different_ids) {
    const auto a = fragment_ipv4(udp_from("10.0.0.5"), sizes, inside_id);
    const auto b = fragment_ipv4(udp_from("10.0.0.6"), sizes, inside_id);
    ASSERT_EQ(a.size(), 3u);
    std::vector<bytes> left_a, left_b;
    for (std::size_t k = 0; k < 3; ++k) { // interleaved
        for (bytes& f : pass(side::inside, a[k])) left_a.push_back(f);
        for (bytes& f : pass(side::inside, b[k])) left_b.push_back(f);
    }
    // Host A's datagram, byte-exact: translated, ID 0 (the counter's first), in each fragment.
    EXPECT_EQ(left_a, fragment_ipv4(udp_translated(40000), sizes, 0));
    // Host B got another public port of the same address, and the next ID.
    ASSERT_EQ(left_b.size(), 3u);
    const uint16_t port_b = port_of(left_b[0]);
    EXPECT_NE(port_b, 40000);
    EXPECT_EQ(left_b, fragment_ipv4(udp_translated(port_b), sizes, 1));
}

TEST_F(ip_id_test, fragments_that_come_before_their_first_get_the_same_id) {
    const auto a = fragment_ipv4(udp_from("10.0.0.5"), sizes, inside_id);
    const bytes whole = from_inside().ipv4("10.0.0.5", "198.51.100.7").ipv4_fragment_field(0).udp(40001, 53).build();
    EXPECT_TRUE(pass(side::inside, a[2], verdict::consumed).empty()); // held
    EXPECT_TRUE(pass(side::inside, a[1], verdict::consumed).empty());
    const auto out = pass(side::inside, a[0]); // the first, then the held two from the outbox
    const auto expected = fragment_ipv4(udp_translated(40000), sizes, 0);
    EXPECT_EQ(out, (std::vector<bytes>{expected[0], expected[2], expected[1]}));
    // The next datagram of that address takes the next ID.
    const auto next = pass(side::inside, whole);
    ASSERT_EQ(next.size(), 1u);
    EXPECT_EQ(id_of(next[0]), 1);
}

TEST_F(ip_id_test, whole_datagrams_are_renumbered_only_when_df_is_clear_and_outbound) {
    bytes df_clear = from_inside().ipv4("10.0.0.5", "198.51.100.7").ipv4_fragment_field(0).ip_id(inside_id)
                         .udp(40000, 53).build();
    const auto out = pass(side::inside, df_clear);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0], test::frame_builder().eth(outside_mac, outside_hop).ipv4("203.0.113.10", "198.51.100.7")
                          .ipv4_fragment_field(0).ip_id(0).ttl(63).udp(40000, 53).build());
    // DF set (atomic): the ID means nothing and is left alone.
    bytes df_set = from_inside().ipv4("10.0.0.5", "198.51.100.7").ip_id(inside_id).udp(40000, 53).build();
    const auto kept = pass(side::inside, df_set);
    ASSERT_EQ(kept.size(), 1u);
    EXPECT_EQ(id_of(kept[0]), inside_id);
    // Inbound, DF clear: the inside host's own business; kept.
    bytes reply = from_outside().ipv4("198.51.100.7", "203.0.113.10").ipv4_fragment_field(0).ip_id(0x7777)
                      .udp(53, 40000).build();
    const auto in = pass(side::outside, reply);
    ASSERT_EQ(in.size(), 1u);
    EXPECT_EQ(id_of(in[0]), 0x7777);
    // The counter moved once.
    const auto again = pass(side::inside, df_clear);
    ASSERT_EQ(again.size(), 1u);
    EXPECT_EQ(id_of(again[0]), 1);
}

TEST_F(ip_id_test, each_worker_counts_in_its_own_slice_and_wraps_within_it) {
    steering_settings ss;
    ss.workers = 2;
    const steering st(ss);
    settings s = make_settings();
    s.steer = &st;
    s.worker = 1;
    make(s);
    bytes first = from_inside().ipv4("10.0.0.5", "198.51.100.7").ipv4_fragment_field(0).udp(40000, 53).build();
    ASSERT_EQ(id_of(pass(side::inside, first).at(0)), 32768); // worker 0 has 0..32767
    for (uint32_t k = 32769; k <= 65535; ++k) {
        bytes f = from_inside().ipv4("10.0.0.5", "198.51.100.7").ipv4_fragment_field(0).udp(40000, 53).build();
        ASSERT_EQ(id_of(pass(side::inside, f).at(0)), k);
    }
    bytes wrapped = from_inside().ipv4("10.0.0.5", "198.51.100.7").ipv4_fragment_field(0).udp(40000, 53).build();
    EXPECT_EQ(id_of(pass(side::inside, wrapped).at(0)), 32768);
}

} // namespace
} // namespace egress::gateway
