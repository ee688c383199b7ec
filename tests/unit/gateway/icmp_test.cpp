// gateway_core and ICMP: errors quoting a flow relayed both ways (exact bytes),
// errors quoting nothing dropped, the gateway's own time exceeded / frag needed /
// packet too big (exact bytes, rate limit on the gateway clock), MTU, MSS clamp.
#include <gtest/gtest.h>

#include "gateway/gateway_core.hpp"
#include "flow/tcp_state.hpp"
#include "gateway_fixture.hpp"
#include "net/checksum.hpp"
#include "net/packet_parser.hpp"

namespace egress::gateway {
namespace {

using stats::drop_reason;
using stats::no_drop;
using stats::side;
using test::bytes;
using test::frame_builder;
using test::ip;

using namespace testing_network;

// The IP datagram of an untagged built frame, cut to `keep` bytes.
bytes datagram(const bytes& frame, std::size_t keep = SIZE_MAX) {
    const std::size_t n = std::min(keep, frame.size() - 14);
    return bytes(frame.begin() + 14, frame.begin() + static_cast<std::ptrdiff_t>(14 + n));
}

class icmp_gateway : public ::testing::Test {
protected:
    void make(settings s) { core = std::make_unique<gateway_core>(s); }
    void SetUp() override { make(make_settings()); }

    packet_result run(side from, bytes& frame, uint32_t now = 0) { return core->process(from, frame, now); }
    uint64_t drops(drop_reason r) const { return core->counters().drops[static_cast<std::size_t>(r)]; }
    const stats::worker_counters& c() const { return core->counters(); }
    std::vector<bytes> built(side to) const {
        std::vector<bytes> out;
        const outbox& box = core->built_frames();
        for (uint32_t i = 0; i < box.size(); ++i)
            if (box[i].to == to) out.emplace_back(box[i].bytes.begin(), box[i].bytes.end());
        return out;
    }

    // The TCP connection 10.0.0.5:40000 -> 198.51.100.7:443, SNAT 203.0.113.10:40000.
    void open_tcp(uint32_t now = 0) {
        bytes syn = from_inside().ipv4("10.0.0.5", "198.51.100.7").tcp(40000, 443, net::tcp_syn).build();
        ASSERT_EQ(run(side::inside, syn, now), verdict::forward);
    }
    const flow::flow_record& tcp_record() const {
        const flow::flow_key k{ip("10.0.0.5"), ip("198.51.100.7"), 40000, 443, net::proto_tcp};
        const uint32_t idx = core->flows().lookup(k, flow::direction::outbound);
        EXPECT_NE(idx, flow::flow_table::npos);
        return core->flows().at(idx);
    }

    std::unique_ptr<gateway_core> core;
};

// A data segment as it left the gateway (translated) or as the inside host sent it.
bytes segment(std::string_view src, uint8_t ttl = 63) {
    return frame_builder().ipv4(src, "198.51.100.7").ttl(ttl).tcp(40000, 443, net::tcp_ack).payload_size(1452).build();
}

TEST_F(icmp_gateway, frag_needed_from_outside_reaches_the_inside_host_translated) {
    open_tcp(0);
    const uint32_t expires = tcp_record().expires_at_ms;
    bytes error = from_outside().ipv4("192.0.2.254", "203.0.113.10").ttl(250).icmp(3, 4, 1400)
                      .payload(datagram(segment("203.0.113.10"), 548)).build();
    EXPECT_EQ(run(side::outside, error, 5000), verdict::forward);
    const bytes expected = frame_builder().eth(inside_mac, inside_hop).ipv4("192.0.2.254", "10.0.0.5").ttl(249)
                               .icmp(3, 4, 1400).payload(datagram(segment("10.0.0.5"), 548)).build();
    EXPECT_EQ(error, expected);
    EXPECT_EQ(c().icmp_errors_relayed_in, 1u);
    // Errors neither refresh the flow nor advance its state.
    EXPECT_EQ(tcp_record().expires_at_ms, expires);
    EXPECT_EQ(tcp_record().tcp_state, static_cast<uint8_t>(flow::tcp_state::syn_sent));
    EXPECT_EQ(core->flows_active(), 1u);
}

TEST_F(icmp_gateway, errors_quoting_no_flow_are_dropped_and_never_create_one) {
    open_tcp(0);
    // Another public port, another remote port, and a remote that was never contacted.
    for (const auto& [sport, dport, remote] : {std::tuple{40001, 443, "198.51.100.7"}, std::tuple{40000, 80, "198.51.100.7"},
                                               std::tuple{40000, 443, "198.51.100.8"}}) {
        bytes quoted = frame_builder().ipv4("203.0.113.10", remote).tcp(static_cast<uint16_t>(sport),
                                                                         static_cast<uint16_t>(dport), net::tcp_ack).build();
        bytes error = from_outside().ipv4("192.0.2.254", "203.0.113.10").icmp(3, 3).payload(datagram(quoted)).build();
        EXPECT_EQ(run(side::outside, error, 10), drop_reason::icmp_error_no_flow);
    }
    // From inside, about a packet of no flow.
    bytes quoted = frame_builder().ipv4("198.51.100.9", "10.0.0.5").udp(53, 5000).build();
    bytes error = from_inside().ipv4("10.0.0.5", "198.51.100.9").icmp(3, 3).payload(datagram(quoted)).build();
    EXPECT_EQ(run(side::inside, error, 10), drop_reason::icmp_error_no_flow);
    // Quoting the flow, but addressed to someone other than the quoted sender.
    bytes elsewhere = from_outside().ipv4("192.0.2.254", "203.0.113.11").icmp(3, 4, 1400)
                          .payload(datagram(segment("203.0.113.10"), 100)).build();
    EXPECT_EQ(run(side::outside, elsewhere, 10), drop_reason::icmp_error_no_flow);
    EXPECT_EQ(drops(drop_reason::icmp_error_no_flow), 5u);
    EXPECT_EQ(core->flows_active(), 1u);
    // An expired flow is no flow either.
    bytes late = from_outside().ipv4("192.0.2.254", "203.0.113.10").icmp(3, 4, 1400)
                     .payload(datagram(segment("203.0.113.10"), 100)).build();
    EXPECT_EQ(run(side::outside, late, 3'600'000), drop_reason::icmp_error_no_flow);
}

TEST_F(icmp_gateway, errors_are_rate_limited_per_worker_on_the_gateway_clock) {
    settings s = make_settings();
    s.icmp = {2, 2}; // 2 per second, burst 2
    make(s);
    const auto probe = [&](uint32_t now) {
        bytes f = from_inside().ipv4("10.0.0.5", "198.51.100.7").ttl(1).udp(50000, 33434).build();
        run(side::inside, f, now);
        return core->built_frames().size();
    };
    EXPECT_EQ(probe(1000), 1u);
    EXPECT_EQ(probe(1000), 1u);
    EXPECT_EQ(probe(1000), 0u);
    EXPECT_EQ(probe(1499), 0u);
    EXPECT_EQ(probe(1500), 1u); // half a second: one token
    EXPECT_EQ(probe(1500), 0u);
    EXPECT_EQ(c().icmp_errors_sent, 3u);
    EXPECT_EQ(c().icmp_errors_rate_limited, 3u);
    EXPECT_EQ(drops(drop_reason::ttl_expired), 6u);
}

TEST_F(icmp_gateway, oversize_packets_get_frag_needed_or_packet_too_big_quoting_what_was_sent) {
    settings s = make_settings();
    s.outside.mtu = 1400;
    s.inside.mtu = 1280;
    make(s);
    open_tcp();
    bytes big = from_inside().ipv4("10.0.0.5", "198.51.100.7").tcp(40000, 443, net::tcp_ack).payload_size(1361).build();
    EXPECT_EQ(run(side::inside, big), drop_reason::mtu_exceeded);
    ASSERT_EQ(built(side::inside).size(), 1u);
    EXPECT_EQ(built(side::inside)[0], frame_builder().eth(inside_mac, inside_hop).ipv4("10.0.0.1", "10.0.0.5").tos(0xc0).ip_id(0)
                                          .ipv4_fragment_field(0).ttl(64).icmp(3, 4, 1400).payload(datagram(big, 548)).build());
    // Exactly the MTU passes (once the handshake is done).
    bytes synack = from_outside().ipv4("198.51.100.7", "203.0.113.10").tcp(443, 40000, net::tcp_syn | net::tcp_ack).build();
    ASSERT_EQ(run(side::outside, synack), verdict::forward);
    bytes fits = from_inside().ipv4("10.0.0.5", "198.51.100.7").tcp(40000, 443, net::tcp_ack).payload_size(1360).build();
    EXPECT_EQ(run(side::inside, fits), verdict::forward);
    // Without DF: dropped, no error.
    bytes no_df = from_inside().ipv4("10.0.0.5", "198.51.100.7").ipv4_fragment_field(0).udp(1, 2).payload_size(1400).build();
    EXPECT_EQ(run(side::inside, no_df), drop_reason::mtu_exceeded_no_df);
    EXPECT_EQ(core->built_frames().size(), 0u);
    // IPv6 from inside: packet too big with the outside MTU.
    bytes big6 = from_inside().ipv6("fd00::5", "2001:db8:1::7").udp(1, 2).payload_size(1400).build();
    EXPECT_EQ(run(side::inside, big6), drop_reason::mtu_exceeded);
    ASSERT_EQ(built(side::inside).size(), 1u);
    EXPECT_EQ(built(side::inside)[0], frame_builder().eth(inside_mac, inside_hop).ipv6("fd00:0:0:1::1", "fd00::5").ttl(64)
                                          .icmp(2, 0, 1400).payload(datagram(big6, 1232)).build());
    // From outside, on a tracked flow, larger than the inside MTU: the remote
    // gets the error from the outside address, quoting the untranslated packet.
    bytes reply = from_outside().ipv4("198.51.100.7", "203.0.113.10").tcp(443, 40000, net::tcp_ack).payload_size(1300).build();
    EXPECT_EQ(run(side::outside, reply), drop_reason::mtu_exceeded);
    ASSERT_EQ(built(side::outside).size(), 1u);
    EXPECT_EQ(built(side::outside)[0], frame_builder().eth(outside_mac, outside_hop).ipv4("192.0.2.1", "198.51.100.7").tos(0xc0)
                                           .ip_id(0).ipv4_fragment_field(0).ttl(64).icmp(3, 4, 1280).payload(datagram(reply, 548)).build());
    EXPECT_EQ(drops(drop_reason::mtu_exceeded), 3u);
    EXPECT_EQ(drops(drop_reason::mtu_exceeded_no_df), 1u);
    EXPECT_EQ(c().icmp_errors_sent, 3u);
}

bytes syn_with_mss(bool v6, bool from_in, uint16_t mss, uint8_t flags = net::tcp_syn) {
    frame_builder b = from_in ? from_inside() : from_outside();
    if (v6) b.ipv6(from_in ? "fd00::5" : "2001:db8:1::7", from_in ? "2001:db8:1::7" : "fd00::5");
    else b.ipv4(from_in ? "10.0.0.5" : "198.51.100.7", from_in ? "198.51.100.7" : "203.0.113.10");
    if (from_in) b.tcp(40000, 443, flags);
    else b.tcp(443, 40000, flags);
    return b.tcp_options({1, 2, 4, static_cast<uint8_t>(mss >> 8), static_cast<uint8_t>(mss), 1, 1, 0}).build();
}

uint16_t mss_of(const bytes& frame) {
    net::packet_view v;
    EXPECT_EQ(net::parse_frame(frame, v), no_drop);
    return test::be16(frame, v.l4_offset + 23);
}

TEST_F(icmp_gateway, mss_clamp_lowers_syn_and_syn_ack_both_ways) {
    settings s = make_settings();
    s.mss_clamp = 1360;
    make(s);
    for (const bool v6 : {false, true}) {
        bytes syn = syn_with_mss(v6, true, 1460);
        ASSERT_EQ(run(side::inside, syn), verdict::forward);
        EXPECT_EQ(mss_of(syn), v6 ? 1340 : 1360);
        bytes synack = syn_with_mss(v6, false, 8960, net::tcp_syn | net::tcp_ack);
        ASSERT_EQ(run(side::outside, synack), verdict::forward);
        EXPECT_EQ(mss_of(synack), v6 ? 1340 : 1360);
        // The checksums still hold: compare with a full recomputation.
        for (bytes* f : {&syn, &synack}) {
            net::packet_view v;
            ASSERT_EQ(net::parse_frame(*f, v), no_drop);
            EXPECT_EQ(test::be16(*f, v.l4_offset + 16), net::l4_checksum(*f, v));
        }
    }
    EXPECT_EQ(c().mss_clamped, 4u);
    // A smaller MSS is left as it is (MSS first here: its value is bytes 22..23 of the header).
    bytes small = from_inside().ipv4("10.0.0.5", "198.51.100.7").tcp(40002, 443, net::tcp_syn).tcp_options({2, 4, 4, 0xb0}).build();
    ASSERT_EQ(run(side::inside, small), verdict::forward);
    EXPECT_EQ(test::be16(small, 14 + 20 + 22), 1200);
    EXPECT_EQ(c().mss_clamped, 4u);
}

// RFC 5508 REQ-3: an ICMP error whose own checksum or whose quoted IPv4
// header's checksum is wrong is dropped, named, and never translated.
TEST_F(icmp_gateway, errors_with_a_bad_icmp_or_quoted_ip_checksum_are_dropped) {
    open_tcp(0);
    const auto make_error = [] {
        return from_outside().ipv4("192.0.2.254", "203.0.113.10").icmp(3, 4, 1400)
            .payload(datagram(segment("203.0.113.10"), 548)).build();
    };
    constexpr std::size_t icmp_at = 14 + 20;
    constexpr std::size_t quote_at = icmp_at + 8;
    // The ICMP checksum off by one.
    bytes bad_icmp = make_error();
    bad_icmp[icmp_at + 2] ^= 0x01;
    EXPECT_EQ(run(side::outside, bad_icmp, 1000), drop_reason::icmp_error_bad_checksum);
    // The quoted header's checksum wrong, the ICMP checksum made right again.
    bytes bad_quote = make_error();
    bad_quote[quote_at + 10] ^= 0x01;
    bad_quote[icmp_at + 2] = 0;
    bad_quote[icmp_at + 3] = 0;
    const uint16_t sum = test::internet_checksum(std::span<const uint8_t>(bad_quote).subspan(icmp_at));
    bad_quote[icmp_at + 2] = static_cast<uint8_t>(sum >> 8);
    bad_quote[icmp_at + 3] = static_cast<uint8_t>(sum);
    EXPECT_EQ(run(side::outside, bad_quote, 1000), drop_reason::icmp_error_bad_checksum);
    EXPECT_EQ(drops(drop_reason::icmp_error_bad_checksum), 2u);
    EXPECT_EQ(c().icmp_errors_relayed_in, 0u);
    // The same error intact passes.
    bytes good = make_error();
    EXPECT_EQ(run(side::outside, good, 1000), verdict::forward);
    EXPECT_EQ(c().icmp_errors_relayed_in, 1u);
}

// Errors relayed for a ping, a UDP flow and IPv6 flows, the gateway's own
// time exceeded, and the cases it never answers: rows of gateway_table_test.cpp.

} // namespace
} // namespace egress::gateway
