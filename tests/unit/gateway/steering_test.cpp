// Owner selection for several workers: port slices, the RETA/Toeplitz rules,
// ICMP errors steered by the flow they quote, IPv6 symmetric.
#include <gtest/gtest.h>

#include <set>

#include "../net/fragmenter.hpp"
#include "gateway/steering.hpp"
#include "gateway_fixture.hpp"

namespace egress::gateway {
namespace {

using namespace testing_network;
using stats::side;

TEST(port_slices, cut_the_range_into_contiguous_near_equal_parts) {
    EXPECT_EQ(slice_of(1024, 65535, 0, 1).min, 1024);
    EXPECT_EQ(slice_of(1024, 65535, 0, 1).max, 65535);
    // 10 ports over 3 workers: 3, 3, 4.
    EXPECT_EQ(slice_of(100, 109, 0, 3).min, 100);
    EXPECT_EQ(slice_of(100, 109, 0, 3).max, 102);
    EXPECT_EQ(slice_of(100, 109, 1, 3).min, 103);
    EXPECT_EQ(slice_of(100, 109, 1, 3).max, 105);
    EXPECT_EQ(slice_of(100, 109, 2, 3).min, 106);
    EXPECT_EQ(slice_of(100, 109, 2, 3).max, 109);
    EXPECT_EQ(slice_of(1024, 65535, 3, 4).min, 1024 + 3 * 64512 / 4);
    EXPECT_EQ(slice_of(1024, 65535, 3, 4).max, 65535);
}

TEST(port_slices, every_port_has_exactly_the_owner_whose_slice_holds_it) {
    for (unsigned n : {1u, 2u, 3u, 4u, 7u}) {
        for (auto [lo, hi] : {std::pair<uint16_t, uint16_t>{1024, 65535}, {100, 109}, {0, 65535}, {5000, 5006}}) {
            for (uint32_t p = lo; p <= hi; ++p) {
                const uint16_t o = slice_owner(lo, hi, n, static_cast<uint16_t>(p));
                ASSERT_LT(o, n);
                const port_slice s = slice_of(lo, hi, o, n);
                ASSERT_TRUE(p >= s.min && p <= s.max) << p << " n=" << n;
            }
        }
    }
    EXPECT_EQ(slice_owner(1024, 65535, 4, 1023), steering::any);
    EXPECT_EQ(slice_owner(100, 109, 3, 110), steering::any);
}

steering make(unsigned workers, bool rss = false) {
    steering_settings s;
    s.workers = workers;
    s.rss = rss;
    s.port_min = 1024;
    s.port_max = 65535;
    return steering(s);
}

TEST(steering, one_worker_owns_everything) {
    const steering st = make(1);
    EXPECT_EQ(st.owner(side::inside, from_inside().ipv4("10.0.0.2", "198.51.100.7").tcp(40000, 443).build()), 0);
    EXPECT_EQ(st.owner(side::outside, from_outside().ipv4("198.51.100.7", "203.0.113.10").tcp(443, 40000).build()), 0);
}

TEST(steering, inside_tcp_goes_to_the_reta_entry_of_its_toeplitz_hash) {
    const steering st = make(3);
    EXPECT_EQ(st.reta().size(), 128u);
    for (uint16_t port = 40000; port < 40100; ++port) {
        const auto f = from_inside().ipv4("10.0.0.2", "198.51.100.7").tcp(port, 443).build();
        const uint32_t h = net::toeplitz_hash(net::default_rss_key,
                                              std::vector<uint8_t>{10, 0, 0, 2, 198, 51, 100, 7, uint8_t(port >> 8),
                                                                   uint8_t(port), 1, 187});
        EXPECT_EQ(st.owner(side::inside, f), (h & 127) % 3);
    }
    // VLAN-tagged: the same owner.
    const auto plain = from_inside().ipv4("10.0.0.2", "198.51.100.7").udp(5353, 53).build();
    const auto tagged = from_inside().vlan(7).ipv4("10.0.0.2", "198.51.100.7").udp(5353, 53).build();
    EXPECT_EQ(st.owner(side::inside, plain), st.owner(side::inside, tagged));
}

TEST(steering, outside_replies_go_to_the_slice_of_their_public_port_without_rss) {
    const steering st = make(4);
    for (unsigned w = 0; w < 4; ++w) {
        const port_slice s = st.slice(w);
        for (uint16_t p : {s.min, static_cast<uint16_t>((s.min + s.max) / 2), s.max}) {
            EXPECT_EQ(st.owner(side::outside, from_outside().ipv4("198.51.100.7", "203.0.113.10").tcp(443, p).build()), w);
            EXPECT_EQ(st.owner(side::outside, from_outside().ipv4("198.51.100.9", "203.0.113.10").udp(53, p).build()), w);
            // ICMP echo reply: the identifier plays the port's role.
            EXPECT_EQ(st.owner(side::outside, from_outside().ipv4("198.51.100.7", "203.0.113.10").echo_reply(p).build()), w);
        }
    }
    // A port below the range: whoever received it.
    EXPECT_EQ(st.owner(side::outside, from_outside().ipv4("198.51.100.7", "203.0.113.10").tcp(443, 80).build()),
              steering::any);
}

TEST(steering, with_rss_accepts_only_ports_whose_reply_hashes_to_the_worker) {
    const steering st = make(4, true);
    const uint32_t remote = test::ip("198.51.100.7").v4(), pub = test::ip("203.0.113.10").v4();
    std::array<unsigned, 4> per_worker{};
    for (uint32_t port = 1024; port < 1024 + 4096; ++port) {
        unsigned accepted = 0;
        for (unsigned w = 0; w < 4; ++w) {
            if (!st.accepts(w, 6, remote, 443, pub, static_cast<uint16_t>(port))) continue;
            ++accepted;
            ++per_worker[w];
            // The NIC (and owner()) sends the reply to that worker.
            const auto reply = from_outside().ipv4("198.51.100.7", "203.0.113.10").tcp(443, uint16_t(port)).build();
            EXPECT_EQ(st.owner(side::outside, reply), w);
        }
        EXPECT_EQ(accepted, 1u) << port; // exactly one worker may use it: no inbound key on two workers
    }
    for (unsigned w = 0; w < 4; ++w) EXPECT_GT(per_worker[w], 700u) << w; // roughly a quarter each
    // ICMP identifiers keep using slices.
    EXPECT_TRUE(st.accepts(1, 1, remote, 0, pub, st.slice(1).min));
    EXPECT_FALSE(st.accepts(0, 1, remote, 0, pub, st.slice(1).min));
    // Without RSS every port passes (the worker's allocator range is its slice).
    EXPECT_TRUE(make(4).accepts(2, 6, remote, 443, pub, 1024));
}

// An ICMP error quoting ip_packet (an IPv4/IPv6 packet without Ethernet).
test::bytes l3_of(const test::frame_builder& b) {
    const test::bytes f = b.build();
    return test::bytes(f.begin() + static_cast<long>(b.l3_offset()), f.end());
}

TEST(steering, icmp_errors_go_to_the_owner_of_the_quoted_flow) {
    for (bool rss : {false, true}) {
        const steering st = make(4, rss);
        for (uint16_t pport : {1100, 20000, 40000, 65000}) {
            // From outside: an error about a translated outbound segment
            // 203.0.113.10:pport -> 198.51.100.7:443 goes where its replies go.
            const auto reply = from_outside().ipv4("198.51.100.7", "203.0.113.10").tcp(443, pport).build();
            auto quoted = test::frame_builder().ipv4("203.0.113.10", "198.51.100.7").tcp(pport, 443);
            const auto err = from_outside().ipv4("192.0.2.77", "203.0.113.10").icmp(3, 4, 1400).payload(l3_of(quoted)).build();
            EXPECT_EQ(st.owner(side::outside, err), st.owner(side::outside, reply)) << pport;
            // Quoting only 8 bytes of the transport header is enough.
            auto cut = l3_of(quoted);
            cut.resize(28);
            const auto err8 = from_outside().ipv4("192.0.2.77", "203.0.113.10").icmp(11, 0).payload(cut).build();
            EXPECT_EQ(st.owner(side::outside, err8), st.owner(side::outside, reply));
            // A quoted echo request: the identifier's slice.
            auto echo = test::frame_builder().ipv4("203.0.113.10", "198.51.100.7").echo_request(pport);
            const auto err_echo = from_outside().ipv4("192.0.2.77", "203.0.113.10").icmp(3, 1).payload(l3_of(echo)).build();
            EXPECT_EQ(st.owner(side::outside, err_echo), st.slice_owner(pport));
            // From inside: an error about an inbound (de-translated) segment
            // 198.51.100.7:443 -> 10.0.0.2:pport goes to the owner of the outbound flow.
            const auto out = from_inside().ipv4("10.0.0.2", "198.51.100.7").tcp(pport, 443).build();
            auto in_quoted = test::frame_builder().ipv4("198.51.100.7", "10.0.0.2").tcp(443, pport);
            const auto in_err = from_inside().ipv4("10.0.0.2", "198.51.100.7").icmp(3, 3).payload(l3_of(in_quoted)).build();
            EXPECT_EQ(st.owner(side::inside, in_err), st.owner(side::inside, out));
        }
    }
}

TEST(steering, ipv6_is_symmetric_and_spread) {
    const steering st = make(3);
    std::set<uint16_t> seen;
    for (uint16_t port = 50000; port < 50064; ++port) {
        const auto out = from_inside().ipv6("fd00:0:0:1::2", "2001:db8:5::7").tcp(port, 443).build();
        const auto back = from_outside().ipv6("2001:db8:5::7", "fd00:0:0:1::2").tcp(443, port).build();
        const uint16_t o = st.owner(side::inside, out);
        ASSERT_LT(o, 3);
        EXPECT_EQ(st.owner(side::outside, back), o);
        seen.insert(o);
        // ICMPv6 packet too big from outside quoting an outbound segment: the same worker.
        auto quoted = test::frame_builder().ipv6("fd00:0:0:1::2", "2001:db8:5::7").tcp(port, 443);
        const auto ptb = from_outside().ipv6("2001:db8:9::1", "fd00:0:0:1::2").icmp(2, 0, 1280).payload(l3_of(quoted)).build();
        EXPECT_EQ(st.owner(side::outside, ptb), o);
    }
    EXPECT_EQ(seen.size(), 3u);
    // Echo: request and reply with the same identifier meet on one worker.
    const auto req = from_inside().ipv6("fd00:0:0:1::2", "2001:db8:5::7").echo_request(77).build();
    const auto rep = from_outside().ipv6("2001:db8:5::7", "fd00:0:0:1::2").echo_reply(77).build();
    EXPECT_EQ(st.owner(side::inside, req), st.owner(side::outside, rep));
    EXPECT_NE(st.owner(side::inside, req), steering::any);
}

// An inside datagram's first fragment goes where the whole datagram would and
// names the datagram; its later fragments cannot be placed (steering::any) but
// name the same datagram. Returns the first fragment's owner.
uint16_t expect_first_places_later_follow(const steering& st, const test::bytes& whole,
                                          const std::vector<test::bytes>& frags, const fragment_key& expected) {
    fragment_info f;
    const uint16_t o = st.owner(side::inside, frags[0], &f);
    EXPECT_EQ(o, st.owner(side::inside, whole));
    EXPECT_TRUE(f.fragment);
    EXPECT_TRUE(f.first);
    EXPECT_EQ(f.key, expected);
    for (std::size_t i = 1; i < frags.size(); ++i) {
        fragment_info later;
        EXPECT_EQ(st.owner(side::inside, frags[i], &later), steering::any);
        EXPECT_TRUE(later.fragment);
        EXPECT_FALSE(later.first);
        EXPECT_EQ(later.key, expected);
    }
    return o;
}

// A first fragment holds the ports: it goes where the whole datagram would.
// A later one cannot be placed, but its datagram is named, with the key the
// fragment tracker uses, the same for every fragment of the datagram.
TEST(steering, a_first_fragment_goes_to_the_flows_owner_and_every_fragment_names_its_datagram) {
    const steering st = make(4);
    std::set<uint16_t> owners;
    for (uint16_t port = 40000; port < 40016; ++port) {
        const auto whole = from_inside().ipv4("10.0.0.5", "198.51.100.7").udp(port, 53).payload_size(100).build();
        const auto frags = test::fragment_ipv4(whole, {48, 32}, 0x5151);
        ASSERT_EQ(frags.size(), 3u);
        fragment_info f;
        EXPECT_EQ(st.owner(side::inside, whole, &f), st.owner(side::inside, whole));
        EXPECT_FALSE(f.fragment);
        owners.insert(expect_first_places_later_follow(st, whole, frags,
                                                       {test::ip("10.0.0.5"), test::ip("198.51.100.7"), 0x5151, 17,
                                                        flow::direction::outbound}));
    }
    EXPECT_EQ(owners.size(), 4u); // the flows are spread, their first fragments with them
    // From outside: the reply's owner (the slice of the public port), inbound key.
    const auto reply = from_outside().ipv4("198.51.100.7", "203.0.113.10").udp(53, 50000).payload_size(100).build();
    const auto back = test::fragment_ipv4(reply, {48}, 0x0203);
    fragment_info f;
    EXPECT_EQ(st.owner(side::outside, back[0], &f), st.slice_owner(50000));
    EXPECT_EQ(f.key, (fragment_key{test::ip("198.51.100.7"), test::ip("203.0.113.10"), 0x0203, 17,
                                   flow::direction::inbound}));
    EXPECT_EQ(st.owner(side::outside, back[1], &f), steering::any);
    EXPECT_FALSE(f.first);
}

TEST(steering, ipv6_first_fragments_go_to_the_symmetric_owner) {
    const steering st = make(4);
    std::set<uint16_t> owners;
    for (uint16_t port = 40000; port < 40016; ++port) {
        const auto whole =
            from_inside().ipv6("fd00:0:0:1::5", "2001:db8:5::9").udp(port, 53).payload_size(100).build();
        const auto frags = test::fragment_ipv6(whole, {48, 32}, 0xabcdef01);
        ASSERT_EQ(frags.size(), 3u);
        owners.insert(expect_first_places_later_follow(st, whole, frags,
                                                       {test::ip("fd00:0:0:1::5"), test::ip("2001:db8:5::9"),
                                                        0xabcdef01, 0, flow::direction::outbound}));
    }
    EXPECT_EQ(owners.size(), 4u);
}

TEST(steering, what_it_cannot_place_stays_where_it_arrived) {
    const steering st = make(2);
    // ARP, a non-first IPv4 fragment, a truncated IPv4 header.
    EXPECT_EQ(st.owner(side::inside, from_inside().ethertype(0x0806).payload(test::bytes(28, 0)).build()), steering::any);
    EXPECT_EQ(st.owner(side::inside,
                       from_inside().ipv4("10.0.0.2", "198.51.100.7").ipv4_fragment_field(0x0010).udp(1, 2).build()),
              steering::any);
    auto f = from_inside().ipv4("10.0.0.2", "198.51.100.7").tcp(1, 2).build();
    f.resize(14 + 12);
    EXPECT_EQ(st.owner(side::inside, f), steering::any);
}

} // namespace
} // namespace egress::gateway

#include "gateway/gateway_core.hpp"
#include "net/packet_parser.hpp"

namespace egress::gateway {
namespace {

using namespace testing_network;

// gateway_core of worker w with the steering: the public ports it hands out
// are ones whose replies come back to w.
std::vector<uint16_t> public_ports(const steering& st, unsigned w, settings s, int flows) {
    s.worker = static_cast<uint16_t>(w);
    s.steer = &st;
    gateway_core core(s);
    std::vector<uint16_t> out;
    for (int i = 0; i < flows; ++i) {
        auto f = from_inside().ipv4("10.0.0.5", "198.51.100.7").tcp(static_cast<uint16_t>(30000 + i), 443).build();
        EXPECT_EQ(core.process(stats::side::inside, f, 0), gateway::verdict::forward);
        net::packet_view v;
        EXPECT_EQ(net::parse_frame(f, v), stats::no_drop);
        out.push_back(v.src_port);
        // The reply's owner, by the same rule the workers steer with, is w.
        const auto reply = from_outside().ipv4("198.51.100.7", "203.0.113.10").tcp(443, v.src_port).build();
        EXPECT_EQ(st.owner(stats::side::outside, reply), w);
    }
    return out;
}

TEST(steered_nat, with_rss_a_worker_only_takes_ports_whose_reply_hashes_to_it) {
    steering_settings ss;
    ss.workers = 4;
    ss.rss = true;
    const steering st(ss);
    for (unsigned w = 0; w < 4; ++w) {
        const auto ports = public_ports(st, w, make_settings(), 64);
        // Preserved where the inside port already hashes to w (unless an earlier
        // flow's probe took it), else probed; never one port twice.
        for (std::size_t i = 0; i < ports.size(); ++i) {
            const auto inside_port = static_cast<uint16_t>(30000 + i);
            const bool earlier = std::find(ports.begin(), ports.begin() + static_cast<long>(i), inside_port) !=
                                 ports.begin() + static_cast<long>(i);
            if (!earlier && st.accepts(w, 6, test::ip("198.51.100.7").v4(), 443, test::ip("203.0.113.10").v4(),
                                       inside_port)) {
                EXPECT_EQ(ports[i], inside_port);
            }
        }
        EXPECT_EQ(std::set<uint16_t>(ports.begin(), ports.end()).size(), ports.size());
    }
}

TEST(steered_nat, without_rss_a_worker_allocates_from_its_slice) {
    steering_settings ss;
    ss.workers = 3;
    const steering st(ss);
    for (unsigned w = 0; w < 3; ++w) {
        settings s = make_settings();
        s.pool.port_min = st.slice(w).min;
        s.pool.port_max = st.slice(w).max;
        for (uint16_t p : public_ports(st, w, s, 16)) {
            EXPECT_GE(p, st.slice(w).min);
            EXPECT_LE(p, st.slice(w).max);
        }
    }
}

} // namespace
} // namespace egress::gateway
