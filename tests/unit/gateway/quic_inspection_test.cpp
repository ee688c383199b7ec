// QUIC on the packet path with `[policy] quic = "inspect"`: a UDP flow to a TLS
// port that reaches a hostname rule has every client datagram held (consumed)
// until its Initials give a ClientHello; the name is decided by the same policy
// evaluation as TLS over TCP (rule counters, report mode, events). Allowed: the
// held datagrams leave exactly as they came (payload byte for byte, in order,
// translated); denied: none leaves, the flow is cut, the drop has its reason.
// First flights: the RFC 9001 / RFC 9369 sample Initials, real Chromium 156
// captures, and flights built independently by tests/unit/quic/make_initials.py
// (python3-cryptography; CRYPTO frames chopped, shuffled and duplicated over
// three datagrams with PING and PADDING between them).
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "../quic/quic_test_util.hpp"
#include "gateway/gateway_core.hpp"
#include "gateway_fixture.hpp"
#include "policy_fixture.hpp"
#include "net/checksum.hpp"
#include "net/packet_parser.hpp"

namespace egress::gateway {
namespace {

using stats::drop_reason;
using stats::no_drop;
using stats::side;
using test::ip;
using bytes = std::vector<uint8_t>;
using namespace testing_network;

// Rule 0 allows the listed names (any protocol: QUIC reaches it), rule 1 is a
// CIDR rule for DNS; the default denies.
policy::policy_spec quic_spec(std::vector<std::string> names = {"api.stripe.com", "*.github.com", "example.com",
                                                                "quic.example.test", "public.example.com"}) {
    policy::policy_spec spec;
    spec.default_action = policy::verdict::deny;
    spec.inspection.quic = policy::quic_action::inspect;
    const auto any_v4 = *policy::cidr::parse("0.0.0.0/0", nullptr);
    policy::rule_spec named;
    named.name = "named";
    named.destinations = {any_v4};
    named.proto = policy::protocol::any;
    named.hostnames = std::move(names);
    named.action = policy::verdict::allow;
    policy::rule_spec dns;
    dns.name = "dns";
    dns.destinations = {any_v4};
    dns.proto = policy::protocol::udp;
    dns.ports = {{53, 53}};
    dns.action = policy::verdict::allow;
    spec.rules = {named, dns};
    return spec;
}

std::vector<bytes> flight(const std::string& name, std::size_t count) {
    std::vector<bytes> d;
    for (std::size_t i = 0; i < count; ++i) d.push_back(quic::test::read_file(name + "." + std::to_string(i) + ".bin"));
    return d;
}

// A long header of `version` with `first` as its first byte, 8-byte DCID and
// SCID, padded to 1200 bytes: enough to be read as VN / Retry / unknown.
bytes long_header(uint8_t first, uint32_t version) {
    bytes b{first, static_cast<uint8_t>(version >> 24), static_cast<uint8_t>(version >> 16),
            static_cast<uint8_t>(version >> 8), static_cast<uint8_t>(version), 8};
    for (int i = 0; i < 8; ++i) b.push_back(static_cast<uint8_t>(0x10 + i));
    b.push_back(8);
    for (int i = 0; i < 8; ++i) b.push_back(static_cast<uint8_t>(0x20 + i));
    b.resize(1200, 0x5a);
    return b;
}

struct quic_flow : ::testing::Test {
    settings s = make_settings();
    std::unique_ptr<gateway_core> core;
    std::unique_ptr<policy::active_policy> active;
    policy::security_ring ring{64};
    uint32_t now = 10;
    uint16_t sport = 50000;
    std::vector<bytes> wire; // UDP payloads that left to the outside, in order

    void use(const policy::policy_spec& spec) {
        start_with_policy(s, spec, active, core, ring);
        wire.clear();
    }
    // Each frame to the outside: translated, checksums right, to port 443.
    void keep(std::span<const uint8_t> frame) {
        bytes f(frame.begin(), frame.end());
        net::packet_view pv;
        ASSERT_EQ(net::parse_frame(f, pv), no_drop);
        EXPECT_EQ(pv.src, ip("203.0.113.10"));
        EXPECT_EQ(pv.dst_port, 443);
        bytes recomputed = f;
        net::recompute_checksums(recomputed, pv);
        EXPECT_EQ(recomputed, f);
        wire.emplace_back(f.begin() + pv.l4_offset + 8, f.begin() + pv.l4_offset + pv.l4_length);
    }
    outcome send(const bytes& payload) {
        test::bytes f = from_inside().ipv4("10.0.0.5", "198.51.100.7").udp(sport, 443).payload(payload).build();
        const packet_result r = core->process(side::inside, f, now);
        if (r == verdict::forward) keep(f);
        for (uint32_t i = 0; i < core->built_frames().size(); ++i)
            if (core->built_frames()[i].to == side::outside) keep(core->built_frames()[i].bytes);
        return r;
    }
    std::vector<outcome> send_all(const std::vector<bytes>& datagrams) {
        std::vector<outcome> v;
        for (const bytes& d : datagrams) v.push_back(send(d));
        return v;
    }
    uint64_t drops(drop_reason r) const { return core->counters().drops[static_cast<std::size_t>(r)]; }
};

// Allowed names: every datagram of the first flight is held until the one that
// completes the hello, then all leave in order, unchanged; the flow then passes.
TEST_F(quic_flow, allowed_names_release_the_held_datagrams_in_order) {
    struct row {
        const char* what;
        std::vector<bytes> datagrams;
        const char* name;
    };
    const row rows[] = {
        {"RFC 9001 A.2 (v1)", {quic::test::read_hex_file("rfc9001_client_initial.hex")}, "example.com"},
        {"RFC 9369 A.2 (v2)", {quic::test::read_hex_file("rfc9369_client_initial.hex")}, "example.com"},
        {"Chromium 156 a (GREASE ECH: outer name)", flight("chromium-156-a", 2), "quic.example.test"},
        {"Chromium 156 b", flight("chromium-156-b", 2), "quic.example.test"},
        {"python: 3 datagrams, shuffled, duplicated", flight("gw-allowed", 3), "api.stripe.com"},
        {"python: QUIC v2, 3 datagrams", flight("gw-v2", 3), "v2.github.com"},
        {"python: real ECH, outer name", flight("ech-real", 1), "public.example.com"},
    };
    for (const row& r : rows) {
        use(quic_spec());
        std::vector<outcome> expected(r.datagrams.size(), verdict::consumed);
        EXPECT_EQ(send_all(r.datagrams), expected) << r.what;
        EXPECT_EQ(wire, r.datagrams) << r.what;
        EXPECT_EQ(core->inspection().hostname(0), r.name) << r.what;
        EXPECT_EQ(active->hits(0), 1u) << r.what;
        EXPECT_EQ(core->counters().hold_segments, r.datagrams.size()) << r.what;
        std::size_t held = 0;
        for (const bytes& d : r.datagrams) held += d.size();
        EXPECT_EQ(core->counters().hold_bytes, held) << r.what;
        EXPECT_EQ(core->counters().hold_released_bytes, held) << r.what;
        // Decided: the next datagram (a short header) passes as it is.
        const bytes later{0x40, 1, 2, 3, 4, 5, 6, 7, 8, 9};
        EXPECT_EQ(send(later), verdict::forward) << r.what;
        ASSERT_EQ(wire.size(), r.datagrams.size() + 1) << r.what;
        EXPECT_EQ(wire.back(), later) << r.what;
        // Held datagrams in the reverse order of sending: same verdict, in arrival order.
        if (r.datagrams.size() > 1) {
            use(quic_spec());
            const std::vector<bytes> reversed(r.datagrams.rbegin(), r.datagrams.rend());
            EXPECT_EQ(send_all(reversed), expected) << r.what;
            EXPECT_EQ(wire, reversed) << r.what;
        }
    }
}

// Refused: the datagrams before the verdict are consumed, the one that decides
// is dropped under its reason, none leaves; the flow is cut (policy_cut after).
TEST_F(quic_flow, refused_flights_leave_nothing_and_name_their_reason) {
    struct row {
        const char* what;
        std::vector<bytes> datagrams;
        drop_reason why;
        policy::inspection_spec changes; // quic = inspect always
    };
    policy::inspection_spec ech_deny;
    ech_deny.ech = policy::ech_action::deny;
    const row rows[] = {
        {"a name no rule allows", flight("gw-denied", 3), drop_reason::hostname_denied, {}},
        {"Chromium, name not listed (www.example.org)", flight("chromium-chaos", 2), drop_reason::hostname_denied, {}},
        {"ech = deny, GREASE ECH (Chromium)", flight("chromium-156-a", 2), drop_reason::inspect_ech, ech_deny},
        {"ech = deny, real ECH", flight("ech-real", 1), drop_reason::inspect_ech, ech_deny},
        {"unknown version", {long_header(0xc0, 0x1a2a3a4a)}, drop_reason::inspect_quic_unknown_version, {}},
        {"version negotiation", {long_header(0x80, 0)}, drop_reason::inspect_quic_version_negotiation, {}},
        {"Retry", {long_header(0xf0, 1)}, drop_reason::inspect_quic_retry, {}},
        {"garbage (short header)", {bytes(300, 0x41)}, drop_reason::inspect_quic_not_initial, {}},
        {"undecryptable (other DCID's keys)", flight("wrong-keys", 1), drop_reason::inspect_quic_undecryptable, {}},
        {"a hello past the CRYPTO bound", flight("hello-over-16k", 1), drop_reason::inspect_oversize, {}},
        {"no SNI", flight("no-sni", 1), drop_reason::inspect_no_sni, {}},
        {"a STREAM frame in an Initial", flight("stream-frame", 1), drop_reason::inspect_malformed, {}},
        {"CRYPTO bytes that conflict", flight("crypto-conflict", 2), drop_reason::inspect_malformed, {}},
    };
    for (const row& r : rows) {
        policy::policy_spec spec = quic_spec();
        const auto quic = spec.inspection.quic;
        spec.inspection = r.changes;
        spec.inspection.quic = quic;
        use(spec);
        std::vector<outcome> expected(r.datagrams.size() - 1, verdict::consumed);
        expected.push_back(r.why);
        EXPECT_EQ(send_all(r.datagrams), expected) << r.what;
        EXPECT_EQ(wire, std::vector<bytes>{}) << r.what;
        EXPECT_EQ(drops(r.why), 1u) << r.what;
        EXPECT_EQ(active->hits(0), 0u) << r.what;
        EXPECT_EQ(send(r.datagrams.back()), drop_reason::policy_cut) << r.what;
        EXPECT_EQ(wire, std::vector<bytes>{}) << r.what;
        policy::security_event e;
        ASSERT_EQ(ring.pop_burst(&e, 1), 1u) << r.what;
        EXPECT_EQ(e.kind, policy::security_event_kind::deny) << r.what;
        EXPECT_EQ(e.proto, 17) << r.what;
        if (r.why == drop_reason::hostname_denied) {
            EXPECT_EQ(active->defaults(), 1u) << r.what;
        }
    }
    // The denied name is in the event.
    use(quic_spec());
    send_all(flight("gw-denied", 3));
    policy::security_event e;
    ASSERT_EQ(ring.pop_burst(&e, 1), 1u);
    EXPECT_EQ(std::string(e.hostname.data()), "exfil.example.net");
}

// What cannot be read has the configured not_tls action: "allow" lets the flow
// on to the rules without hostnames (here the default: allow), held datagrams first.
TEST_F(quic_flow, unreadable_first_flights_follow_not_tls) {
    policy::policy_spec spec = quic_spec();
    spec.inspection.not_tls = policy::verdict::allow;
    spec.default_action = policy::verdict::allow;
    for (const bytes& d : {long_header(0xc0, 0x1a2a3a4a), long_header(0x80, 0), bytes(300, 0x41)}) {
        use(spec);
        EXPECT_EQ(send(d), verdict::consumed);
        EXPECT_EQ(wire, std::vector<bytes>{d});
        EXPECT_EQ(active->defaults(), 1u);
    }
}

// The same policy evaluation as TLS: a report-mode deny rule for the name
// counts a would-deny and lets the flight through.
TEST_F(quic_flow, report_mode_rules_count_and_pass) {
    policy::policy_spec spec = quic_spec();
    policy::rule_spec watch = spec.rules[0];
    watch.name = "watch";
    watch.hostnames = {"exfil.example.net"};
    watch.action = policy::verdict::deny;
    watch.mode = policy::rule_mode::report;
    spec.rules.insert(spec.rules.begin(), watch);
    use(spec);
    const auto d = flight("gw-denied", 3);
    EXPECT_EQ(send_all(d), (std::vector<outcome>{verdict::consumed, verdict::consumed, verdict::consumed}));
    EXPECT_EQ(wire, d);
    EXPECT_EQ(core->counters().policy_would_deny, 1u);
    EXPECT_EQ(active->hits(0), 1u);
}

// No verdict within [inspect] hold_timeout_ms of the first held datagram: the
// flow is refused (hold_timeout), nothing of it sent.
TEST_F(quic_flow, a_first_flight_that_never_completes_times_out) {
    use(quic_spec());
    const auto d = flight("gw-allowed", 3);
    EXPECT_EQ(send(d[0]), verdict::consumed);
    now += s.inspect.hold_timeout_ms - 1;
    EXPECT_EQ(send(d[1]), verdict::consumed);
    now += 1;
    EXPECT_EQ(send(d[2]), drop_reason::hold_timeout);
    EXPECT_EQ(wire, std::vector<bytes>{});
    EXPECT_EQ(drops(drop_reason::hold_timeout), 1u);
}

// The held datagrams share the flow's buffer bound: more than half of
// [inspect] max_bytes of first flight without a hello is oversize.
TEST_F(quic_flow, a_first_flight_past_the_hold_bound_is_oversize) {
    s.inspect.max_bytes = 4096; // 2048 bytes of datagrams held at most
    use(quic_spec());
    const auto d = flight("gw-allowed", 3);
    EXPECT_EQ(send_all(d), (std::vector<outcome>{verdict::consumed, drop_reason::inspect_oversize,
                                                 drop_reason::policy_cut}));
    EXPECT_EQ(core->counters().hold_overflows, 1u);
    EXPECT_EQ(wire, std::vector<bytes>{});
}

// IPv6 (no translation): the held datagrams are rebuilt with IPv6 lengths and
// checksums, and leave byte for byte.
TEST_F(quic_flow, ipv6_flows_are_held_and_released_the_same_way) {
    policy::policy_spec spec = quic_spec();
    spec.rules[0].destinations.push_back(*policy::cidr::parse("::/0", nullptr));
    use(spec);
    const auto d = flight("gw-allowed", 3);
    std::vector<bytes> out;
    for (std::size_t i = 0; i < d.size(); ++i) {
        test::bytes f = from_inside().ipv6("fd00::5", "2001:db8::7").udp(50000, 443).payload(d[i]).build();
        EXPECT_EQ(outcome(core->process(side::inside, f, now)), verdict::consumed) << i;
    }
    ASSERT_EQ(core->built_frames().size(), 3u);
    for (uint32_t i = 0; i < core->built_frames().size(); ++i) {
        bytes f(core->built_frames()[i].bytes.begin(), core->built_frames()[i].bytes.end());
        net::packet_view pv;
        ASSERT_EQ(net::parse_frame(f, pv), no_drop);
        EXPECT_EQ(pv.src, ip("fd00::5"));
        bytes recomputed = f;
        net::recompute_checksums(recomputed, pv);
        EXPECT_EQ(recomputed, f);
        out.emplace_back(f.begin() + pv.l4_offset + 8, f.begin() + pv.l4_offset + pv.l4_length);
    }
    EXPECT_EQ(out, d);
    EXPECT_EQ(core->inspection().hostname(0), "api.stripe.com");
}

// A reload that allows the flow without its name while datagrams are held:
// they leave, in order, with the client's next datagram.
TEST_F(quic_flow, a_reload_that_allows_a_holding_flow_releases_its_datagrams) {
    use(quic_spec());
    const auto d = flight("gw-denied", 3);
    EXPECT_EQ(send(d[0]), verdict::consumed);
    policy::active_policy none(nullptr, std::make_shared<policy::policy_counters>(0), nullptr, 2, 2);
    core->use_policy(&none);
    EXPECT_EQ(send(d[1]), verdict::consumed);
    EXPECT_EQ(wire, (std::vector<bytes>{d[0], d[1]}));
    EXPECT_EQ(core->inspection().buffers_in_use(), 0u);
    EXPECT_EQ(send(d[2]), verdict::forward);
    EXPECT_EQ(wire, d);
}

// Without "inspect" nothing changes: deny refuses QUIC at the hostname rule,
// allow passes over it; other UDP is never held.
TEST_F(quic_flow, other_actions_and_ports_are_not_held) {
    policy::policy_spec spec = quic_spec();
    spec.inspection.quic = policy::quic_action::deny;
    use(spec);
    EXPECT_EQ(send(flight("gw-allowed", 1)[0]), drop_reason::policy_quic);
    use(quic_spec());
    test::bytes dns = from_inside().ipv4("10.0.0.5", "198.51.100.7").udp(50001, 53).payload("q").build();
    EXPECT_EQ(core->process(side::inside, dns, now), verdict::forward);
}

} // namespace
} // namespace egress::gateway
