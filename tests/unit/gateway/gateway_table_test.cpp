// gateway_core behaviour as fixture rows: {description, frames in (side, bytes,
// clock), the result of each, the frame that leaves (byte-exact, where the row
// pins it), the drop counters after}. Each row runs on a fresh gateway. The
// frames are built with the test packet builder, whose checksums are computed
// from scratch: a forwarded frame equal to the expected one also proves the
// gateway's incremental checksum updates.
#include <gtest/gtest.h>

#include <optional>
#include <utility>
#include <vector>

#include "gateway/gateway_core.hpp"
#include "gateway_fixture.hpp"
#include "policy/active_policy.hpp"

namespace egress::gateway {
namespace {

using stats::drop_reason;
using stats::side;
using test::bytes;

using namespace testing_network;

// Frames towards the outside leave from outside_mac to the outside next hop,
// frames towards the inside from inside_mac to the inside next hop.
test::frame_builder to_outside() { return std::move(test::frame_builder().eth(outside_mac, outside_hop)); }
test::frame_builder to_inside() { return std::move(test::frame_builder().eth(inside_mac, inside_hop)); }

struct step {
    side from;
    bytes frame;
    outcome expected;
    std::optional<bytes> leaves = std::nullopt; // the forwarded frame, byte-exact
    uint32_t now = 0;
    // The frames the gateway built on its own for this one (the outbox, towards
    // the inside), byte-exact; not pinned when absent.
    std::optional<std::vector<bytes>> built = std::nullopt;
};

// Row options beyond the pool and table sizes.
struct row_options {
    bool prohibited = false;              // [icmp] prohibited
    uint32_t icmp_per_second = 100, icmp_burst = 50;
    bool deny_but_https = false;          // a policy: TCP 443 allowed, all else denied
};

struct row {
    const char* description;
    std::vector<step> steps;
    std::vector<std::pair<drop_reason, uint64_t>> drops = {}; // every drop counter not listed stays 0
    uint16_t port_min = 1024, port_max = 65535;
    uint32_t max_flows = 1024;
    int64_t flows_after = -1; // flows in the table after the last frame (-1: not pinned)
    row_options options = {};
};

// The IP datagram of an untagged frame, as an ICMP error quotes it.
bytes datagram(const bytes& frame) { return bytes(frame.begin() + 14, frame.end()); }

// Administratively prohibited (RFC 5508 REQ-8) as the gateway builds it back to
// the inside sender: from the gateway's inside address, IPv4 type 3 code 13 with
// DSCP CS6, ID 0, no DF, TTL 64 / ICMPv6 type 1 code 1 with hop limit 64, and
// the refused datagram quoted whole as it arrived (RFC 792: at least its header
// and 64 bits; RFC 1812 4.3.2.3 / RFC 4443 2.4 (c): as much as fits in 576 /
// 1280 bytes).
bytes prohibited_v4(const char* to, const bytes& refused) {
    return to_inside().ipv4("10.0.0.1", to).tos(0xc0).ip_id(0).ipv4_fragment_field(0).ttl(64).icmp(3, 13)
        .payload(datagram(refused)).build();
}
bytes prohibited_v6(const char* to, const bytes& refused) {
    return to_inside().ipv6("fd00:0:0:1::1", to).ttl(64).icmp(1, 1).payload(datagram(refused)).build();
}

policy::active_policy deny_but_https() {
    policy::policy_spec spec;
    spec.default_action = policy::verdict::deny;
    policy::rule_spec https;
    https.name = "https";
    https.destinations = {*policy::cidr::parse("0.0.0.0/0", nullptr), *policy::cidr::parse("::/0", nullptr)};
    https.proto = policy::protocol::tcp;
    https.ports = {{443, 443}};
    https.action = policy::verdict::allow;
    spec.rules = {https};
    return policy::active_policy(policy::compiled_policy::compile(spec).policy);
}

// The frames of the [icmp] prohibited rows (built once: the expected error
// quotes the very frame sent).
const bytes denied_syn = from_inside().ipv4("10.0.0.5", "198.51.100.7").tcp(40000, 80, net::tcp_syn).build();
const bytes denied_syn6 = from_inside().ipv6("fd00:0:0:1::5", "2001:db8:5::7").tcp(40000, 80, net::tcp_syn).build();
const bytes denied_udp = from_inside().ipv4("10.0.0.6", "198.51.100.7").udp(5353, 53).payload("q").build();
const bytes exhausted_udp = from_inside().ipv4("10.0.0.5", "198.51.100.7").udp(2000, 53).build();

std::vector<row> rows() {
    return {
        {"a TCP SYN leaves with the public source, the inside port kept, TTL less one; its SYN+ACK comes back",
         {{side::inside, from_inside().ipv4("10.0.0.5", "198.51.100.7").ttl(64).tcp(40000, 443).build(), verdict::forward,
           to_outside().ipv4("203.0.113.10", "198.51.100.7").ttl(63).tcp(40000, 443).build()},
          {side::outside, from_outside().ipv4("198.51.100.7", "203.0.113.10").ttl(50).tcp(443, 40000, net::tcp_syn | net::tcp_ack).build(),
           verdict::forward, to_inside().ipv4("198.51.100.7", "10.0.0.5").ttl(49).tcp(443, 40000, net::tcp_syn | net::tcp_ack).build()}}},
        {"UDP out and its answer back",
         {{side::inside, from_inside().ipv4("10.0.0.5", "198.51.100.7").udp(5353, 53).payload("q").build(), verdict::forward,
           to_outside().ipv4("203.0.113.10", "198.51.100.7").ttl(63).udp(5353, 53).payload("q").build()},
          {side::outside, from_outside().ipv4("198.51.100.7", "203.0.113.10").udp(53, 5353).payload("a").build(), verdict::forward,
           to_inside().ipv4("198.51.100.7", "10.0.0.5").ttl(63).udp(53, 5353).payload("a").build()}}},
        {"an ICMP echo keeps its identifier when free and its reply is restored",
         {{side::inside, from_inside().ipv4("10.0.0.5", "198.51.100.7").echo_request(4242).build(), verdict::forward,
           to_outside().ipv4("203.0.113.10", "198.51.100.7").ttl(63).echo_request(4242).build()},
          {side::outside, from_outside().ipv4("198.51.100.7", "203.0.113.10").echo_reply(4242).build(), verdict::forward,
           to_inside().ipv4("198.51.100.7", "10.0.0.5").ttl(63).echo_reply(4242).build()}}},
        {"IPv6 is forwarded untranslated (hop limit less one), and its reply too",
         {{side::inside, from_inside().ipv6("fd00:0:0:1::5", "2001:db8:5::7").ttl(64).tcp(40000, 443).build(), verdict::forward,
           to_outside().ipv6("fd00:0:0:1::5", "2001:db8:5::7").ttl(63).tcp(40000, 443).build()},
          {side::outside, from_outside().ipv6("2001:db8:5::7", "fd00:0:0:1::5").tcp(443, 40000, net::tcp_syn | net::tcp_ack).build(),
           verdict::forward, to_inside().ipv6("2001:db8:5::7", "fd00:0:0:1::5").ttl(63).tcp(443, 40000, net::tcp_syn | net::tcp_ack).build()},
          {side::outside, from_outside().ipv6("2001:db8:5::8", "fd00:0:0:1::5").tcp(443, 40000, net::tcp_syn | net::tcp_ack).build(),
           drop_reason::inbound_unsolicited}},
         {{drop_reason::inbound_unsolicited, 1}}},
        {"nothing from outside opens a flow",
         {{side::outside, from_outside().ipv4("198.51.100.7", "203.0.113.10").tcp(443, 40000, net::tcp_syn).build(), drop_reason::inbound_unsolicited},
          {side::outside, from_outside().ipv4("198.51.100.7", "203.0.113.10").udp(53, 5353).build(), drop_reason::inbound_unsolicited},
          {side::outside, from_outside().ipv4("198.51.100.7", "203.0.113.10").echo_request(7).build(), drop_reason::inbound_unsolicited},
          {side::outside, from_outside().ipv6("2001:db8:5::7", "fd00:0:0:1::5").tcp(443, 40000, net::tcp_syn).build(), drop_reason::inbound_unsolicited}},
         {{drop_reason::inbound_unsolicited, 4}}, 1024, 65535, 1024, 0},
        {"only connection openers create flows",
         {{side::inside, from_inside().ipv4("10.0.0.5", "198.51.100.7").tcp(40000, 443, net::tcp_ack).build(), drop_reason::tcp_new_not_syn},
          {side::inside, from_inside().ipv4("10.0.0.5", "198.51.100.7").echo_reply(9).build(), drop_reason::icmp_new_not_request}},
         {{drop_reason::tcp_new_not_syn, 1}, {drop_reason::icmp_new_not_request, 1}}, 1024, 65535, 1024, 0},
        {"port exhaustion refuses the new flow towards that destination only",
         {{side::inside, from_inside().ipv4("10.0.0.5", "198.51.100.7").udp(1000, 53).build(), verdict::forward},
          {side::inside, from_inside().ipv4("10.0.0.5", "198.51.100.7").udp(1001, 53).build(), verdict::forward},
          {side::inside, from_inside().ipv4("10.0.0.5", "198.51.100.7").udp(2000, 53).build(), drop_reason::nat_ports_exhausted},
          {side::inside, from_inside().ipv4("10.0.0.5", "198.51.100.8").udp(2000, 53).build(), verdict::forward}},
         {{drop_reason::nat_ports_exhausted, 1}}, 1000, 1001},
        {"a full flow table refuses new flows and keeps the live ones",
         {{side::inside, from_inside().ipv4("10.0.0.5", "198.51.100.7").udp(5001, 53).build(), verdict::forward},
          {side::inside, from_inside().ipv4("10.0.0.5", "198.51.100.7").udp(5002, 53).build(), verdict::forward},
          {side::inside, from_inside().ipv4("10.0.0.5", "198.51.100.7").udp(6000, 53).build(), drop_reason::flow_table_full},
          {side::outside, from_outside().ipv4("198.51.100.7", "203.0.113.10").udp(53, 5001).build(), verdict::forward},
          {side::outside, from_outside().ipv4("198.51.100.7", "203.0.113.10").udp(53, 5002).build(), verdict::forward}},
         {{drop_reason::flow_table_full, 1}}, 1024, 65535, 2},
        {"TTL 1 does not leave (the sender gets time exceeded, built separately)",
         {{side::inside, from_inside().ipv4("10.0.0.5", "198.51.100.7").ttl(1).udp(5000, 53).build(), drop_reason::ttl_expired}},
         {{drop_reason::ttl_expired, 1}}},
        {"[icmp] prohibited: a new flow the policy denies gets administratively prohibited back, quoting it; "
         "an allowed one, a stray segment and anything from outside get nothing",
         {{side::inside, denied_syn, drop_reason::policy_denied, std::nullopt, 0, {{prohibited_v4("10.0.0.5", denied_syn)}}},
          {side::inside, denied_syn6, drop_reason::policy_denied, std::nullopt, 0,
           {{prohibited_v6("fd00:0:0:1::5", denied_syn6)}}},
          {side::inside, denied_udp, drop_reason::policy_denied, std::nullopt, 0, {{prohibited_v4("10.0.0.6", denied_udp)}}},
          {side::inside, from_inside().ipv4("10.0.0.5", "198.51.100.7").tcp(40001, 443).build(), verdict::forward,
           std::nullopt, 0, std::vector<bytes>{}},
          {side::inside, from_inside().ipv4("10.0.0.5", "198.51.100.7").tcp(40002, 80, net::tcp_ack).build(),
           drop_reason::tcp_new_not_syn, std::nullopt, 0, std::vector<bytes>{}},
          {side::outside, from_outside().ipv4("198.51.100.7", "203.0.113.10").tcp(80, 40000, net::tcp_syn).build(),
           drop_reason::inbound_unsolicited, std::nullopt, 0, std::vector<bytes>{}}},
         {{drop_reason::policy_denied, 3}, {drop_reason::tcp_new_not_syn, 1}, {drop_reason::inbound_unsolicited, 1}},
         1024, 65535, 1024, 1, {.prohibited = true, .deny_but_https = true}},
        {"[icmp] prohibited: a flow refused for want of a public port gets it too",
         {{side::inside, from_inside().ipv4("10.0.0.5", "198.51.100.7").udp(1000, 53).build(), verdict::forward,
           std::nullopt, 0, std::vector<bytes>{}},
          {side::inside, exhausted_udp, drop_reason::nat_ports_exhausted, std::nullopt, 0,
           {{prohibited_v4("10.0.0.5", exhausted_udp)}}}},
         {{drop_reason::nat_ports_exhausted, 1}}, 1000, 1000, 1024, 1, {.prohibited = true}},
        {"[icmp] prohibited spends the [icmp] budget: one token, one error, then none until it refills",
         {{side::inside, denied_syn, drop_reason::policy_denied, std::nullopt, 1000, {{prohibited_v4("10.0.0.5", denied_syn)}}},
          {side::inside, denied_syn, drop_reason::policy_denied, std::nullopt, 1000, std::vector<bytes>{}},
          {side::inside, denied_syn, drop_reason::policy_denied, std::nullopt, 2000, {{prohibited_v4("10.0.0.5", denied_syn)}}}},
         {{drop_reason::policy_denied, 3}}, 1024, 65535, 1024, 0,
         {.prohibited = true, .icmp_per_second = 1, .icmp_burst = 1, .deny_but_https = true}},
        {"[icmp] prohibited off (the default): a denied flow is dropped silently",
         {{side::inside, denied_syn, drop_reason::policy_denied, std::nullopt, 0, std::vector<bytes>{}}},
         {{drop_reason::policy_denied, 1}}, 1024, 65535, 1024, 0, {.deny_but_https = true}},
    };
}

TEST(gateway_table, every_row) {
    for (row& r : rows()) {
        settings set = make_settings(r.max_flows, r.port_min, r.port_max);
        set.icmp = {r.options.icmp_per_second, r.options.icmp_burst, r.options.prohibited};
        gateway_core core(set);
        policy::active_policy active = deny_but_https();
        if (r.options.deny_but_https) core.use_policy(&active);
        for (std::size_t i = 0; i < r.steps.size(); ++i) {
            step& s = r.steps[i];
            const packet_result got = core.process(s.from, s.frame, s.now);
            EXPECT_EQ(outcome(got), s.expected) << r.description << ", frame " << i;
            if (s.leaves && got == verdict::forward) {
                const bytes left(s.frame.begin() + got.front_adjust, s.frame.end());
                EXPECT_EQ(left, *s.leaves) << r.description << ", frame " << i;
            }
            if (s.built) {
                std::vector<bytes> got_built;
                const outbox& box = core.built_frames();
                for (uint32_t k = 0; k < box.size(); ++k) {
                    EXPECT_EQ(box[k].to, side::inside) << r.description << ", frame " << i;
                    got_built.emplace_back(box[k].bytes.begin(), box[k].bytes.end());
                }
                EXPECT_EQ(got_built, *s.built) << r.description << ", frame " << i;
            }
        }
        if (r.flows_after >= 0) {
            EXPECT_EQ(core.flows_active(), static_cast<uint64_t>(r.flows_after)) << r.description;
        }
        std::vector<uint64_t> expected(stats::drop_reason_count, 0);
        for (const auto& [why, n] : r.drops) expected[static_cast<std::size_t>(why)] = n;
        for (std::size_t k = 0; k < stats::drop_reason_count; ++k)
            EXPECT_EQ(core.counters().drops[k], expected[k])
                << r.description << ": " << stats::drop_reason_names[k];
    }
}

} // namespace
} // namespace egress::gateway
