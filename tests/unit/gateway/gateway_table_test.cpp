// gateway_core behaviour as fixture rows: {description, frames in (side, bytes,
// clock), the result of each, the frame that leaves (byte-exact, where the row
// pins it), the drop counters after}. Each row runs on a fresh gateway. The
// frames are built with the test packet builder, whose checksums are computed
// from scratch: a forwarded frame equal to the expected one also proves the
// gateway's incremental checksum updates.
#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string_view>
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

// A counter of stats::worker_counters other than the drops, and its value
// after the row's last frame.
using counter = uint64_t stats::worker_counters::*;

// Row options beyond the pool and table sizes.
struct row_options {
    bool prohibited = false;              // [icmp] prohibited
    uint32_t icmp_per_second = 100, icmp_burst = 50;
    bool deny_but_https = false;          // a policy: TCP 443 allowed, all else denied
    // The pool after the last frame: active mappings and refusals for want of a
    // port (-1: not pinned).
    int64_t mappings_after = -1, exhausted_after = -1;
    std::vector<std::pair<counter, uint64_t>> counts = {}; // pinned counters besides the drops
    void (*configure)(settings&) = nullptr;                // settings beyond make_settings()
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

// The IP datagram of an untagged frame, as an ICMP error quotes it, cut to
// `keep` bytes.
bytes datagram(const bytes& frame, std::size_t keep = SIZE_MAX) {
    const std::size_t n = std::min(keep, frame.size() - 14);
    return bytes(frame.begin() + 14, frame.begin() + static_cast<std::ptrdiff_t>(14 + n));
}

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

// The ICMP rows' quoted datagrams.
bytes quoted_ping(std::string_view src, uint16_t id) {
    return datagram(test::frame_builder().ipv4(src, "198.51.100.7").ttl(1).echo_request(id, 1).build());
}
bytes quoted_dns_reply(std::string_view dst) {
    return datagram(test::frame_builder().ipv4("198.51.100.7", dst).ttl(63).udp(53, 5000).payload_size(60).build());
}
bytes too_big_about(uint16_t sport) {
    const bytes quoted =
        test::frame_builder().ipv6("fd00::5", "2001:db8:1::7").tcp(sport, 443, net::tcp_ack).payload_size(1400).build();
    return from_outside().ipv6("2001:db8::fe", "fd00::5").ttl(64).icmp(2, 0, 1280).payload(datagram(quoted, 1232))
        .build();
}
const bytes dns_reply6 = test::frame_builder().ipv6("2001:db8:1::7", "fd00::5").udp(53, 5000).payload_size(30).build();
const bytes traceroute = from_inside().ipv4("10.0.0.5", "198.51.100.7").ttl(1).udp(50000, 33434).payload_size(32).build();
const bytes traceroute6 = from_inside().ipv6("fd00::5", "2001:db8:1::7").ttl(1).udp(50000, 33434).build();

using wc = stats::worker_counters;

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
         {{drop_reason::inbound_unsolicited, 1}}, 1024, 65535, 1024, 1, {.mappings_after = 0}}, // no NAT for IPv6
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
         {{drop_reason::nat_ports_exhausted, 1}}, 1000, 1001, 1024, 3, {.mappings_after = 3, .exhausted_after = 1}},
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
        {"invalid TCP transitions are dropped; a bare ACK from outside is the challenge ACK (RFC 5961 4, RFC 5382 REQ-2)",
         {{side::inside, from_inside().ipv4("10.0.0.5", "198.51.100.7").tcp(40000, 443).build(), verdict::forward},
          {side::outside, from_outside().ipv4("198.51.100.7", "203.0.113.10").tcp(443, 40000, net::tcp_fin | net::tcp_ack).build(),
           drop_reason::tcp_invalid_transition}, // a FIN before the handshake completes
          {side::inside, from_inside().ipv4("10.0.0.5", "198.51.100.7").tcp(40000, 443, net::tcp_syn | net::tcp_ack).build(),
           drop_reason::tcp_invalid_transition}, // the inside host does not accept connections
          {side::outside, from_outside().ipv4("198.51.100.7", "203.0.113.10").tcp(443, 40000, net::tcp_ack).build(),
           verdict::forward, to_inside().ipv4("198.51.100.7", "10.0.0.5").ttl(63).tcp(443, 40000, net::tcp_ack).build()}},
         {{drop_reason::tcp_invalid_transition, 2}}, 1024, 65535, 1024, 1},
        {"frames not for this gateway: another MAC, its own address (not the kernel's), TTL 1",
         {{side::inside, test::frame_builder().eth(inside_hop, test::mac("02:00:00:00:09:09")).ipv4("10.0.0.5", "198.51.100.7")
               .udp(1, 2).build(), drop_reason::l2_dst_not_local},
          {side::inside, from_inside().ipv4("10.0.0.5", "10.0.0.1").udp(1, 2).build(), drop_reason::local_delivery_unsupported},
          {side::inside, from_inside().ipv4("10.0.0.5", "198.51.100.7").ttl(1).udp(1, 2).build(), drop_reason::ttl_expired}},
         {{drop_reason::l2_dst_not_local, 1}, {drop_reason::local_delivery_unsupported, 1}, {drop_reason::ttl_expired, 1}},
         1024, 65535, 1024, 0},
        {"special-purpose look-alikes are ordinary: a global IPv4 and IPv6 destination, .254 of the inside prefix",
         {{side::inside, from_inside().ipv4("10.0.0.5", "198.51.100.7").udp(5353, 53).payload("x").build(), verdict::forward,
           to_outside().ipv4("203.0.113.10", "198.51.100.7").ttl(63).udp(5353, 53).payload("x").build()},
          {side::inside, from_inside().ipv6("fd00:0:0:1::5", "2001:db8:5::8").udp(5353, 53).payload("x").build(), verdict::forward,
           to_outside().ipv6("fd00:0:0:1::5", "2001:db8:5::8").ttl(63).udp(5353, 53).payload("x").build()},
          {side::inside, from_inside().ipv4("10.0.0.5", "10.0.0.254").udp(5353, 53).payload("x").build(), verdict::forward}},
         {}, 1024, 65535, 1024, 3, {.configure = [](settings& s) { s.inside.on_link = {{test::ip("10.0.0.0"), 24}}; }}},
        // ICMP errors relayed: the quoted packet translated with the flow.
        {"time exceeded about a ping gets the inside identifier back (7, outside the pool's one identifier 1024)",
         {{side::inside, from_inside().ipv4("10.0.0.5", "198.51.100.7").echo_request(7, 1).build(), verdict::forward,
           to_outside().ipv4("203.0.113.10", "198.51.100.7").ttl(63).echo_request(1024, 1).build()},
          {side::outside, from_outside().ipv4("192.0.2.254", "203.0.113.10").icmp(11, 0).payload(quoted_ping("203.0.113.10", 1024)).build(),
           verdict::forward, to_inside().ipv4("192.0.2.254", "10.0.0.5").ttl(63).icmp(11, 0).payload(quoted_ping("10.0.0.5", 7)).build()}},
         {}, 1024, 1024, 1024, 1, {.counts = {{&wc::icmp_errors_relayed_in, 1}}}},
        {"port unreachable from inside goes out in the public name",
         {{side::inside, from_inside().ipv4("10.0.0.5", "198.51.100.7").udp(5000, 53).payload_size(20).build(), verdict::forward},
          {side::inside, from_inside().ipv4("10.0.0.5", "198.51.100.7").icmp(3, 3).payload(quoted_dns_reply("10.0.0.5")).build(),
           verdict::forward, to_outside().ipv4("203.0.113.10", "198.51.100.7").ttl(63).icmp(3, 3).payload(quoted_dns_reply("203.0.113.10")).build()}},
         {}, 1024, 65535, 1024, 1, {.counts = {{&wc::icmp_errors_relayed_out, 1}}}},
        {"IPv6 errors pass unchanged (hop limit less one) only for tracked flows",
         {{side::inside, from_inside().ipv6("fd00::5", "2001:db8:1::7").tcp(40000, 443, net::tcp_syn).build(), verdict::forward},
          {side::outside, too_big_about(40000), verdict::forward,
           to_inside().ipv6("2001:db8::fe", "fd00::5").ttl(63).icmp(2, 0, 1280)
               .payload(datagram(test::frame_builder().ipv6("fd00::5", "2001:db8:1::7").tcp(40000, 443, net::tcp_ack)
                                     .payload_size(1400).build(), 1232)).build()},
          {side::outside, too_big_about(40001), drop_reason::icmp_error_no_flow}},
         {{drop_reason::icmp_error_no_flow, 1}}, 1024, 65535, 1024, 1, {.counts = {{&wc::icmp_errors_relayed_in, 1}}}},
        {"an IPv6 error from inside about a reply passes unchanged",
         {{side::inside, from_inside().ipv6("fd00::5", "2001:db8:1::7").udp(5000, 53).build(), verdict::forward},
          {side::inside, from_inside().ipv6("fd00::5", "2001:db8:1::7").ttl(64).icmp(1, 4).payload(datagram(dns_reply6)).build(),
           verdict::forward, to_outside().ipv6("fd00::5", "2001:db8:1::7").ttl(63).icmp(1, 4).payload(datagram(dns_reply6)).build()}},
         {}, 1024, 65535, 1024, 1, {.counts = {{&wc::icmp_errors_relayed_out, 1}}}},
        // The gateway's own errors.
        {"TTL 1 from inside gets time exceeded from the gateway (IPv4, IPv6); from outside, nothing",
         {{side::inside, traceroute, drop_reason::ttl_expired, std::nullopt, 0,
           {{to_inside().ipv4("10.0.0.1", "10.0.0.5").tos(0xc0).ip_id(0).ipv4_fragment_field(0).ttl(64).icmp(11, 0)
                 .payload(datagram(traceroute)).build()}}},
          {side::inside, traceroute6, drop_reason::ttl_expired, std::nullopt, 0,
           {{to_inside().ipv6("fd00:0:0:1::1", "fd00::5").ttl(64).icmp(3, 0).payload(datagram(traceroute6)).build()}}},
          {side::outside, from_outside().ipv4("198.51.100.7", "203.0.113.10").ttl(1).udp(1, 2).build(), drop_reason::ttl_expired,
           std::nullopt, 0, std::vector<bytes>{}}},
         {{drop_reason::ttl_expired, 3}}, 1024, 65535, 1024, 0, {.counts = {{&wc::icmp_errors_sent, 2}}}},
        {"never an error about a broadcast, a multicast or an error",
         {{side::inside, from_inside().ipv4("10.0.0.5", "255.255.255.255").ttl(1).udp(68, 67).build(),
           drop_reason::special_broadcast, std::nullopt, 0, std::vector<bytes>{}}, // refused before the TTL is looked at
          {side::inside, from_inside().ipv4("10.0.0.5", "239.1.1.1").ttl(1).udp(1, 2).build(), drop_reason::special_multicast,
           std::nullopt, 0, std::vector<bytes>{}},
          {side::inside, from_inside().ipv4("10.0.0.5", "198.51.100.7").ttl(1).icmp(3, 3)
               .payload(datagram(test::frame_builder().ipv4("198.51.100.7", "10.0.0.5").udp(1, 2).build())).build(),
           drop_reason::ttl_expired, std::nullopt, 0, std::vector<bytes>{}}},
         {{drop_reason::special_broadcast, 1}, {drop_reason::special_multicast, 1}, {drop_reason::ttl_expired, 1}},
         1024, 65535, 1024, 0, {.counts = {{&wc::icmp_errors_sent, 0}}}},
        {"no own address of the family: no error",
         {{side::inside, from_inside().ipv6("fd00::5", "2001:db8:1::7").ttl(1).udp(1, 2).build(), drop_reason::ttl_expired,
           std::nullopt, 0, std::vector<bytes>{}}},
         {{drop_reason::ttl_expired, 1}}, 1024, 65535, 1024, 0,
         {.counts = {{&wc::icmp_errors_no_source, 1}, {&wc::icmp_errors_sent, 0}},
          .configure = [](settings& s) { s.inside.addresses = {test::ip("10.0.0.1")}; }}},
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
        if (r.options.configure != nullptr) r.options.configure(set);
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
        if (r.options.mappings_after >= 0) {
            EXPECT_EQ(core.pool_usage().at(0).mappings_active, static_cast<uint64_t>(r.options.mappings_after))
                << r.description;
        }
        if (r.options.exhausted_after >= 0) {
            EXPECT_EQ(core.pool_usage().at(0).exhausted, static_cast<uint64_t>(r.options.exhausted_after))
                << r.description;
        }
        for (const auto& [c, n] : r.options.counts) EXPECT_EQ(core.counters().*c, n) << r.description;
        std::vector<uint64_t> expected(stats::drop_reason_count, 0);
        for (const auto& [why, n] : r.drops) expected[static_cast<std::size_t>(why)] = n;
        for (std::size_t k = 0; k < stats::drop_reason_count; ++k)
            EXPECT_EQ(core.counters().drops[k], expected[k])
                << r.description << ": " << stats::drop_reason_names[k];
    }
}

} // namespace
} // namespace egress::gateway
