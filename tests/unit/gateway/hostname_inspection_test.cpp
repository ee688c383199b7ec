// Hostname policy on the packet path: a TCP flow to a TLS (HTTP) port that
// reaches a rule with hostnames is admitted, and its client bytes are held (the
// segments consumed) and reassembled until the ClientHello (request headers) is
// complete: allowed, the held bytes go out as new segments, in order, exactly
// once; denied, nothing of them leaves and both ends get a reset. (Before the
// hold point, segments before the completing one were forwarded: the tests
// below expected `forward` for them; they now expect `consumed`, on purpose.)
#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "../tls/hello_builder.hpp"
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

constexpr uint32_t client_isn = 1000;
constexpr uint32_t server_isn = 5000;

policy::policy_spec hostname_spec() {
    policy::policy_spec spec;
    spec.default_action = policy::verdict::deny;
    const auto any_v4 = *policy::cidr::parse("0.0.0.0/0", nullptr);
    policy::rule_spec stripe;
    stripe.name = "stripe";
    stripe.destinations = {any_v4};
    stripe.proto = policy::protocol::tcp;
    stripe.hostnames = {"api.stripe.com", "*.github.com"};
    stripe.action = policy::verdict::allow;
    policy::rule_spec dns;
    dns.name = "dns";
    dns.destinations = {any_v4};
    dns.proto = policy::protocol::udp;
    dns.ports = {{53, 53}};
    dns.action = policy::verdict::allow;
    spec.rules = {stripe, dns};
    return spec;
}

bytes client_hello(std::string_view sni) {
    tls::test::hello_builder h;
    if (!sni.empty()) h.extensions.push_back(tls::test::sni_ext(sni));
    h.extensions.push_back(tls::test::alpn_ext({"h2", "http/1.1"}));
    h.extensions.push_back(tls::test::supported_versions_ext());
    return tls::test::records(h.message());
}

struct tls_flow : ::testing::Test {
    settings s = make_settings();
    std::unique_ptr<gateway_core> core;
    std::unique_ptr<policy::active_policy> active;
    policy::security_ring ring{64};
    uint16_t port = 443;
    std::string dst = "198.51.100.7";

    void SetUp() override { use(hostname_spec()); }
    void use(const policy::policy_spec& spec) {
        start_with_policy(s, spec, active, core, ring);
    }
    uint32_t now = 10;
    std::vector<bytes> wire; // every frame that left to the outside, in order
    packet_result out(uint8_t flags, uint32_t seq, const bytes& payload = {}, bytes* result = nullptr) {
        test::bytes f = from_inside().ipv4("10.0.0.5", dst).tcp(40000, port, flags).tcp_seq(seq, server_isn + 1).payload(payload).build();
        const packet_result v = core->process(side::inside, f, now);
        if (result != nullptr) *result = bytes(f.begin(), f.begin() + (v.reply_len ? v.reply_len : f.size()));
        if (v == verdict::forward) wire.emplace_back(f.begin(), f.end());
        for (uint32_t i = 0; i < core->built_frames().size(); ++i)
            if (core->built_frames()[i].to == side::outside)
                wire.emplace_back(core->built_frames()[i].bytes.begin(), core->built_frames()[i].bytes.end());
        return v;
    }
    // The client payload the server received, segment by segment in the order
    // sent; each frame is checked to be translated, with valid checksums, and
    // at the sequence number of its bytes in the client's stream.
    std::vector<bytes> payloads_out() const {
        std::vector<bytes> v;
        for (const bytes& w : wire) {
            bytes f = w;
            net::packet_view pv;
            EXPECT_EQ(net::parse_frame(f, pv), no_drop);
            EXPECT_EQ(pv.src, ip("203.0.113.10"));
            bytes recomputed = f;
            net::recompute_checksums(recomputed, pv);
            EXPECT_EQ(recomputed, f);
            const auto p = net::tcp_payload(f, pv);
            if (p.empty() || (pv.tcp_flags & net::tcp_rst)) continue;
            EXPECT_EQ(net::tcp_seq(f, pv), client_isn + 1 + total(v));
            v.emplace_back(p.begin(), p.end());
        }
        return v;
    }
    static uint32_t total(const std::vector<bytes>& v) {
        uint32_t n = 0;
        for (const bytes& b : v) n += static_cast<uint32_t>(b.size());
        return n;
    }
    static bytes joined(const std::vector<bytes>& v) {
        bytes all;
        for (const bytes& b : v) all.insert(all.end(), b.begin(), b.end());
        return all;
    }
    void handshake() {
        wire.clear();
        ASSERT_EQ(out(net::tcp_syn, client_isn), verdict::forward);
        test::bytes synack = from_outside().ipv4(dst, "203.0.113.10").tcp(port, 40000, net::tcp_syn | net::tcp_ack).tcp_seq(server_isn, client_isn + 1).build();
        ASSERT_EQ(core->process(side::outside, synack, 10), verdict::forward);
        ASSERT_EQ(out(net::tcp_ack, client_isn + 1), verdict::forward);
    }
    // Sends stream as segments cut at the given offsets; returns each verdict.
    std::vector<outcome> send(const bytes& stream, std::vector<std::size_t> cuts) {
        cuts.push_back(stream.size());
        std::vector<outcome> v;
        std::size_t at = 0;
        for (const std::size_t c : cuts) {
            v.push_back(out(net::tcp_ack | net::tcp_psh, client_isn + 1 + static_cast<uint32_t>(at),
                            bytes(stream.begin() + static_cast<std::ptrdiff_t>(at), stream.begin() + static_cast<std::ptrdiff_t>(c))));
            at = c;
        }
        return v;
    }
    std::size_t drops(drop_reason r) const { return core->counters().drops[static_cast<std::size_t>(r)]; }
    // The server acknowledges the client's first `n` bytes.
    void server_acks(uint32_t n) {
        test::bytes a = from_outside().ipv4(dst, "203.0.113.10").tcp(port, 40000, net::tcp_ack).tcp_seq(server_isn + 1, client_isn + 1 + n).build();
        ASSERT_EQ(core->process(side::outside, a, now), verdict::forward);
    }
};

TEST_F(tls_flow, an_allowed_name_passes_split_at_every_byte) {
    const bytes hello = client_hello("api.stripe.com");
    // One compiled policy (Hyperscan compiles once) and small inspection
    // tables: each split gets a fresh gateway and snapshot, cheaply.
    auto compiled = policy::compiled_policy::compile(hostname_spec());
    ASSERT_TRUE(compiled.policy) << compiled.error;
    const std::shared_ptr<const policy::compiled_policy> rules = std::move(compiled.policy);
    s.inspect.slots = 64;
    s.inspect.buffers = 8;
    for (std::size_t split = 1; split < hello.size(); ++split) {
        active = std::make_unique<policy::active_policy>(rules);
        core = std::make_unique<gateway_core>(s);
        core->use_policy(active.get());
        core->attach_security_events(&ring);
        handshake();
        wire.clear();
        EXPECT_EQ(send(hello, {split}), (std::vector<outcome>{verdict::consumed, verdict::consumed})) << "split at " << split;
        EXPECT_EQ(joined(payloads_out()), hello) << "split at " << split;
        EXPECT_EQ(core->inspection().hostname(0), "api.stripe.com");
        EXPECT_EQ(active->hits(0), 1u);
    }
}

// The whole name (DNS's longest, 253 characters) and the rule that allowed the flow.
TEST_F(tls_flow, flow_records_carry_the_name_and_rule) {
    s.flow_export.enabled = true;
    use(hostname_spec());
    event_ring events(64);
    core->attach_events(&events);
    handshake();
    const std::string longest = std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(63, 'c') + "." +
                                std::string(50, 'd') + ".github.com";
    ASSERT_EQ(longest.size(), 253u);
    ASSERT_EQ(send(client_hello(longest), {}), std::vector<outcome>{verdict::consumed});
    // egressctl flows shows the same (the control side's flow query).
    flow_query q = flow_query::top_flows(10, std::nullopt, std::nullopt);
    ASSERT_TRUE(core->step_query(q, 1u << 20, 10));
    const std::vector<flow_summary> shown = q.flows();
    ASSERT_EQ(shown.size(), 1u);
    EXPECT_EQ(shown[0].host(), longest);
    EXPECT_EQ(base::field_text(shown[0].rule), "stripe");
    port = 80; // a second flow from the same client port
    handshake();
    const std::string req = "GET / HTTP/1.1\r\nHost: x.github.com\r\n\r\n";
    ASSERT_EQ(send(bytes(req.begin(), req.end()), {}), std::vector<outcome>{verdict::consumed});
    core->report_remaining(20);
    std::vector<flow::flow_event> e(8);
    e.resize(events.pop_burst(e.data(), e.size()));
    ASSERT_EQ(e.size(), 2u);
    std::sort(e.begin(), e.end(), [](const auto& a, const auto& b) { return a.dst_port > b.dst_port; }); // 443 first
    EXPECT_EQ(e[0].server_name(), longest);
    EXPECT_EQ(e[0].http_host(), "");
    EXPECT_EQ(e[0].name_kind, flow::flow_name_kind::tls_sni);
    EXPECT_EQ(flow::field_text(e[0].rule), "stripe");
    EXPECT_EQ(e[1].http_host(), "x.github.com");
    EXPECT_EQ(e[1].server_name(), "");
    EXPECT_EQ(flow::field_text(e[1].rule), "stripe");
}

TEST_F(tls_flow, one_byte_per_segment_and_out_of_order) {
    const bytes hello = client_hello("a.b.github.com");
    handshake();
    std::vector<std::size_t> every;
    for (std::size_t i = 1; i < hello.size(); ++i) every.push_back(i);
    const auto v = send(hello, every);
    EXPECT_EQ(std::count(v.begin(), v.end(), verdict::consumed), static_cast<long>(hello.size()));
    EXPECT_EQ(joined(payloads_out()), hello);
    EXPECT_EQ(active->hits(0), 1u);

    // Second half first: the first half completes it.
    SetUp();
    handshake();
    const std::size_t half = hello.size() / 2;
    EXPECT_EQ(out(net::tcp_ack, client_isn + 1 + static_cast<uint32_t>(half), bytes(hello.begin() + static_cast<std::ptrdiff_t>(half), hello.end())), verdict::consumed);
    EXPECT_EQ(active->hits(0), 0u); // not decided yet
    EXPECT_EQ(out(net::tcp_ack, client_isn + 1, bytes(hello.begin(), hello.begin() + static_cast<std::ptrdiff_t>(half))), verdict::consumed);
    EXPECT_EQ(active->hits(0), 1u);
    EXPECT_EQ(joined(payloads_out()), hello); // released in sequence order
}

TEST_F(tls_flow, a_denied_name_never_completes_the_hello_and_both_ends_get_a_reset) {
    const bytes hello = client_hello("github.com.evil.net");
    handshake();
    const std::size_t half = hello.size() / 2;
    EXPECT_EQ(out(net::tcp_ack, client_isn + 1, bytes(hello.begin(), hello.begin() + static_cast<std::ptrdiff_t>(half))), verdict::consumed);
    bytes reply;
    EXPECT_EQ(out(net::tcp_ack | net::tcp_psh, client_isn + 1 + static_cast<uint32_t>(half),
                  bytes(hello.begin() + static_cast<std::ptrdiff_t>(half), hello.end()), &reply),
              drop_reason::hostname_denied);
    // To the inside host: a reset from the server's address.
    net::packet_view v;
    ASSERT_EQ(net::parse_frame(reply, v), no_drop);
    EXPECT_EQ(v.src, ip(dst));
    EXPECT_EQ(v.dst, ip("10.0.0.5"));
    EXPECT_EQ(v.tcp_flags, net::tcp_rst | net::tcp_ack);
    // To the server: a reset in the client's translated name at the first held
    // byte's sequence (the server has seen none of them: the one it expects).
    ASSERT_EQ(core->built_frames().size(), 1u);
    EXPECT_EQ(core->built_frames()[0].to, side::outside);
    const auto fwd = core->built_frames()[0].bytes;
    bytes server_reset(fwd.begin(), fwd.end());
    net::packet_view w;
    ASSERT_EQ(net::parse_frame(server_reset, w), no_drop);
    EXPECT_EQ(w.src, ip("203.0.113.10"));
    EXPECT_EQ(w.dst, ip(dst));
    EXPECT_EQ(w.src_port, 40000);
    EXPECT_EQ(w.dst_port, 443);
    EXPECT_EQ(w.tcp_flags, net::tcp_rst | net::tcp_ack);
    EXPECT_EQ(test::be16(server_reset, 14 + 20 + 4) << 16 | test::be16(server_reset, 14 + 20 + 6), client_isn + 1);
    EXPECT_EQ(w.ttl, 63);
    bytes recomputed = server_reset;
    net::recompute_checksums(recomputed, w);
    EXPECT_EQ(recomputed, server_reset);
    EXPECT_EQ(bytes(server_reset.begin(), server_reset.begin() + 6), bytes(outside_hop.bytes.begin(), outside_hop.bytes.end()));
    // The flow is cut: later client segments are reset, nothing passes.
    EXPECT_EQ(out(net::tcp_ack, client_isn + 1 + static_cast<uint32_t>(hello.size())), drop_reason::policy_cut);
    EXPECT_EQ(active->defaults(), 1u);
    // The security event names the hostname.
    policy::security_event e;
    ASSERT_EQ(ring.pop_burst(&e, 1), 1u);
    EXPECT_EQ(e.kind, policy::security_event_kind::deny);
    EXPECT_EQ(std::string(e.hostname.data()), "github.com.evil.net");
    EXPECT_EQ(payloads_out(), std::vector<bytes>{}); // not one byte of the hello
}

TEST_F(tls_flow, names_that_cannot_be_matched_take_their_configured_action) {
    struct row {
        const char* what;
        bytes stream;
        drop_reason denied;
    };
    tls::test::hello_builder ech;
    ech.extensions = {tls::test::sni_ext("public.example"), tls::test::ech_outer_ext()};
    const std::vector<row> rows = {
        {"no SNI", client_hello(""), drop_reason::inspect_no_sni},
        {"ECH", tls::test::records(ech.message()), drop_reason::inspect_ech},
        {"not TLS", bytes{'S', 'S', 'H', '-', '2', '.', '0', '-', 'x', '\r', '\n'}, drop_reason::inspect_not_tls},
    };
    for (const row& r : rows) {
        policy::policy_spec spec = hostname_spec();
        spec.inspection.ech = policy::ech_action::deny;
        use(spec);
        handshake();
        EXPECT_EQ(send(r.stream, {}), std::vector<outcome>{r.denied}) << r.what;
        EXPECT_EQ(core->built_frames().size(), 1u) << r.what;
        EXPECT_EQ(payloads_out(), std::vector<bytes>{}) << r.what;
        // Allowed instead: the hostname rules cannot match, the default decides.
        spec.inspection = policy::inspection_spec{};
        spec.inspection.no_sni = spec.inspection.not_tls = policy::verdict::allow;
        spec.default_action = policy::verdict::allow;
        use(spec);
        handshake();
        EXPECT_EQ(send(r.stream, {}), std::vector<outcome>{verdict::consumed}) << r.what;
        EXPECT_EQ(payloads_out(), std::vector<bytes>{r.stream}) << r.what;
    }
}

// ECH over TCP, as over QUIC (quic_inspection_test.cpp): with ech = "outer" a
// hello with encrypted_client_hello is decided on its outer (public) name by
// the hostname rules; with ech = "deny" it is refused whatever that name is.
TEST_F(tls_flow, ech_hellos_are_decided_on_their_outer_name_or_denied) {
    struct row {
        const char* outer;
        policy::ech_action ech;
        outcome expected;
        uint64_t rule_hits;
    };
    const row rows[] = {
        {"api.stripe.com", policy::ech_action::outer, verdict::consumed, 1},
        {"public.example", policy::ech_action::outer, drop_reason::hostname_denied, 0},
        {"api.stripe.com", policy::ech_action::deny, drop_reason::inspect_ech, 0},
    };
    for (const row& r : rows) {
        tls::test::hello_builder h;
        h.extensions = {tls::test::sni_ext(r.outer), tls::test::ech_outer_ext()};
        const bytes hello = tls::test::records(h.message());
        policy::policy_spec spec = hostname_spec();
        spec.inspection.ech = r.ech;
        use(spec);
        handshake();
        EXPECT_EQ(send(hello, {}), std::vector<outcome>{r.expected}) << r.outer;
        EXPECT_EQ(active->hits(0), r.rule_hits) << r.outer;
        EXPECT_EQ(core->inspection().hostname(0), r.outer) << r.outer;
        EXPECT_EQ(payloads_out(), r.rule_hits ? std::vector<bytes>{hello} : std::vector<bytes>{}) << r.outer;
    }
}

TEST_F(tls_flow, a_hello_over_the_bound_is_oversize) {
    s.inspect.max_bytes = 1024;
    s.outside.mtu = 9000; // the second HTTP segment below is a 1540-byte datagram
    use(hostname_spec());
    tls::test::hello_builder big;
    big.extensions = {tls::test::sni_ext("api.stripe.com"), tls::test::key_share_ext({{0x6399, 1216}, {29, 32}})};
    handshake();
    const bytes hello = tls::test::records(big.message());
    // The record and handshake lengths already say it will not fit: the first
    // segment is refused, the rest of the (cut) flow is dropped.
    EXPECT_EQ(send(hello, {700}), (std::vector<outcome>{drop_reason::inspect_oversize, drop_reason::policy_cut}));
    // Without a length header saying so, the bound is hit when the bytes arrive.
    const std::string endless = "GET / HTTP/1.1\r\nX-Pad: " + std::string(2000, 'a');
    port = 80;
    use(hostname_spec());
    handshake();
    EXPECT_EQ(send(bytes(endless.begin(), endless.end()), {500}),
              (std::vector<outcome>{verdict::consumed, drop_reason::inspect_oversize}));
    EXPECT_EQ(payloads_out(), std::vector<bytes>{}); // the held 500 bytes never left
    EXPECT_EQ(core->counters().hold_overflows, 1u);
}

TEST_F(tls_flow, http_host_decides_cleartext_requests) {
    port = 80;
    handshake();
    const std::string req = "GET / HTTP/1.1\r\nUser-Agent: t\r\nHost: API.Stripe.com:80\r\n\r\n";
    EXPECT_EQ(send(bytes(req.begin(), req.end()), {10, 30}), (std::vector<outcome>{verdict::consumed, verdict::consumed, verdict::consumed}));
    EXPECT_EQ(payloads_out(), std::vector<bytes>{bytes(req.begin(), req.end())});
    EXPECT_EQ(core->inspection().hostname(0), "API.Stripe.com");
    SetUp();
    port = 80;
    handshake();
    const std::string no_host = "GET / HTTP/1.0\r\n\r\n";
    EXPECT_EQ(send(bytes(no_host.begin(), no_host.end()), {}), std::vector<outcome>{drop_reason::inspect_no_host});
}

TEST_F(tls_flow, quic_is_denied_where_a_hostname_rule_would_decide) {
    policy::policy_spec any_protocol = hostname_spec();
    any_protocol.rules[0].proto = policy::protocol::any; // QUIC reaches the hostname rule
    use(any_protocol);
    test::bytes quic = from_inside().ipv4("10.0.0.5", "198.51.100.7").udp(50000, 443).payload("q").build();
    EXPECT_EQ(core->process(side::inside, quic, 0), drop_reason::policy_quic);
    test::bytes dns = from_inside().ipv4("10.0.0.5", "198.51.100.7").udp(50000, 53).payload("q").build();
    EXPECT_EQ(core->process(side::inside, dns, 0), verdict::forward); // no hostname rule in the way
    policy::policy_spec spec = any_protocol;
    spec.inspection.quic = policy::quic_action::allow;
    spec.default_action = policy::verdict::allow;
    use(spec);
    test::bytes again = from_inside().ipv4("10.0.0.5", "198.51.100.7").udp(50001, 443).payload("q").build();
    EXPECT_EQ(core->process(side::inside, again, 0), verdict::forward);
}

TEST_F(tls_flow, a_reload_to_no_policy_releases_waiting_flows) {
    handshake();
    // The next snapshot (a new generation) has no [policy]: every flow allowed.
    policy::active_policy none(nullptr, std::make_shared<policy::policy_counters>(0), nullptr, 2, 2);
    core->use_policy(&none);
    EXPECT_EQ(core->inspection().buffers_in_use(), 1u);
    EXPECT_EQ(send(client_hello("evil.example"), {}), std::vector<outcome>{verdict::forward});
    EXPECT_EQ(core->inspection().buffers_in_use(), 0u); // no longer read: its buffer went back
}

TEST_F(tls_flow, a_reload_that_allows_a_holding_flow_releases_its_bytes) {
    const bytes hello = client_hello("evil.example");
    const std::size_t half = hello.size() / 2;
    handshake();
    EXPECT_EQ(out(net::tcp_ack, client_isn + 1, bytes(hello.begin(), hello.begin() + static_cast<std::ptrdiff_t>(half))),
              verdict::consumed);
    policy::active_policy none(nullptr, std::make_shared<policy::policy_counters>(0), nullptr, 2, 2);
    core->use_policy(&none);
    // The client's next segment (the rest) goes out after the held half, in order.
    EXPECT_EQ(out(net::tcp_ack, client_isn + 1 + static_cast<uint32_t>(half),
                  bytes(hello.begin() + static_cast<std::ptrdiff_t>(half), hello.end())),
              verdict::consumed);
    EXPECT_EQ(joined(payloads_out()), hello);
    EXPECT_EQ(core->counters().hold_released_bytes, hello.size());
    EXPECT_EQ(core->inspection().buffers_in_use(), 1u); // kept until the server acknowledges the bytes
    EXPECT_EQ(out(net::tcp_ack | net::tcp_psh, client_isn + 1 + static_cast<uint32_t>(hello.size()), bytes{'x'}),
              verdict::forward);
    server_acks(static_cast<uint32_t>(hello.size()));
    EXPECT_EQ(core->inspection().buffers_in_use(), 0u);
}

TEST_F(tls_flow, a_syn_with_data_waits_for_a_syn_without) {
    const bytes hello = client_hello("api.stripe.com");
    EXPECT_EQ(out(net::tcp_syn, client_isn, hello), drop_reason::hold_syn_data); // TCP Fast Open
    EXPECT_EQ(wire, std::vector<bytes>{});
    handshake(); // the retransmitted SYN carries no data
    EXPECT_EQ(send(hello, {}), std::vector<outcome>{verdict::consumed});
    EXPECT_EQ(joined(payloads_out()), hello);
}

TEST_F(tls_flow, a_flow_to_a_port_without_names_skips_hostname_rules) {
    port = 22;
    EXPECT_EQ(out(net::tcp_syn, client_isn), drop_reason::policy_denied); // the default, not pending
    EXPECT_FALSE(core->inspection().inspecting(0));
}

TEST_F(tls_flow, no_free_inspection_slot_fails_open_or_closed_as_configured) {
    const auto second_syn = [&] {
        test::bytes syn = from_inside().ipv4("10.0.0.6", dst).tcp(40001, 443, net::tcp_syn).tcp_seq(1, 0).build();
        return core->process(side::inside, syn, 10);
    };
    s.inspect.slots = 1;
    use(hostname_spec());
    handshake(); // holds the only slot
    EXPECT_EQ(second_syn(), verdict::forward); // fail open: passes uninspected, counted
    EXPECT_EQ(core->counters().inspect_unchecked, 1u);
    s.inspect.fail_closed = true;
    use(hostname_spec());
    handshake();
    EXPECT_EQ(second_syn(), drop_reason::inspect_exhausted);
    EXPECT_EQ(core->flows_active(), 1u);
}

} // namespace
} // namespace egress::gateway

namespace egress::gateway {
namespace {

// The hold point, as an attacker inside would try it: each row sends a client
// stream in pieces (in order, last piece first, or every piece twice) on a
// flow waiting for its hostname. Every segment with payload is consumed; the
// server receives the stream exactly once, in order, byte for byte, when the
// flow is allowed, and not one byte otherwise.
TEST_F(tls_flow, the_hold_point_lets_no_byte_out_before_the_verdict) {
    enum class order { in_order, reversed, duplicated };
    struct row {
        const char* what;
        uint16_t port;
        bytes stream;
        std::size_t piece;
        order how;
        bool allowed;
    };
    const std::string request = "GET /v1/charges HTTP/1.1\r\nUser-Agent: t\r\nHost: api.stripe.com\r\n\r\n";
    const bytes hello = client_hello("api.stripe.com");
    // A TLS record header and ClientHello header announcing 16 005 bytes, a
    // version, a random, an empty session id and a 15 900-byte cipher suite
    // list: 15 000 bytes sent, arbitrary, that never complete the ClientHello.
    bytes endless = {0x16, 0x03, 0x01, 0x3e, 0x80, 0x01, 0x00, 0x3e, 0x7c, 0x03, 0x03};
    endless.resize(endless.size() + 32, 0x5a);
    endless.insert(endless.end(), {0x00, 0x3e, 0x1c});
    for (std::size_t i = endless.size(); i < 15'000; ++i) endless.push_back(static_cast<uint8_t>(i * 131 + 7));
    const std::vector<row> rows = {
        {"allowed hello in 7-byte segments", 443, hello, 7, order::in_order, true},
        {"allowed hello, segments reversed", 443, hello, 7, order::reversed, true},
        {"allowed hello, every segment twice", 443, hello, 7, order::duplicated, true},
        {"HTTP request one byte per segment", 80, bytes(request.begin(), request.end()), 1, order::in_order, true},
        {"never-completing hello, 15 000 bytes", 443, endless, 1000, order::in_order, false},
    };
    for (const row& r : rows) {
        port = r.port;
        use(hostname_spec());
        handshake();
        std::vector<std::pair<std::size_t, bytes>> pieces; // (offset, bytes)
        for (std::size_t at = 0; at < r.stream.size(); at += r.piece) {
            const std::size_t n = std::min(r.piece, r.stream.size() - at);
            pieces.emplace_back(at, bytes(r.stream.begin() + static_cast<std::ptrdiff_t>(at),
                                          r.stream.begin() + static_cast<std::ptrdiff_t>(at + n)));
            // (The completing piece is not sent twice: a copy after the verdict
            // is an ordinary retransmission of an allowed flow and passes.)
            if (r.how == order::duplicated && at + n < r.stream.size()) pieces.push_back(pieces.back());
        }
        if (r.how == order::reversed) std::reverse(pieces.begin(), pieces.end());
        std::vector<outcome> got;
        for (const auto& [at, b] : pieces)
            got.emplace_back(out(net::tcp_ack | net::tcp_psh, client_isn + 1 + static_cast<uint32_t>(at), b));
        EXPECT_EQ(got, std::vector<outcome>(pieces.size(), verdict::consumed)) << r.what;
        EXPECT_EQ(core->counters().hold_segments, pieces.size()) << r.what;
        std::size_t held = 0;
        for (const auto& p : pieces) held += p.second.size();
        EXPECT_EQ(core->counters().hold_bytes, held) << r.what;
        if (r.how == order::duplicated) {
            EXPECT_EQ(held, 2 * r.stream.size() - ((r.stream.size() - 1) % r.piece + 1)) << r.what;
        }
        if (r.allowed) {
            EXPECT_EQ(joined(payloads_out()), r.stream) << r.what;
            EXPECT_EQ(core->counters().hold_released_bytes, r.stream.size()) << r.what;
            // The buffer is kept to compare retransmissions with (stream
            // normalisation) until the server acknowledges the released bytes.
            EXPECT_EQ(core->inspection().buffers_in_use(), 1u) << r.what;
            // Then the flow is like any other: the next segment passes as it is.
            const bytes more = {'x', 'y', 'z'};
            EXPECT_EQ(out(net::tcp_ack | net::tcp_psh, client_isn + 1 + static_cast<uint32_t>(r.stream.size()), more),
                      verdict::forward) << r.what;
            EXPECT_EQ(payloads_out().back(), more) << r.what;
            server_acks(static_cast<uint32_t>(r.stream.size()) - 1);
            EXPECT_EQ(core->inspection().buffers_in_use(), 1u) << r.what; // one byte short
            server_acks(static_cast<uint32_t>(r.stream.size()));
            EXPECT_EQ(core->inspection().buffers_in_use(), 0u) << r.what;
            policy::security_event e;
            EXPECT_EQ(ring.pop_burst(&e, 1), 0u) << r.what;
            continue;
        }
        // No verdict: nothing left; hold_timeout_ms after the first held byte
        // the client's next segment (a pure ACK here) is refused, both ends are
        // reset, and one event says so.
        EXPECT_EQ(payloads_out(), std::vector<bytes>{}) << r.what;
        now += s.inspect.hold_timeout_ms - 1;
        EXPECT_EQ(out(net::tcp_ack, client_isn + 1), verdict::forward) << r.what; // not yet
        ++now;
        EXPECT_EQ(out(net::tcp_ack, client_isn + 1), drop_reason::hold_timeout) << r.what;
        EXPECT_EQ(payloads_out(), std::vector<bytes>{}) << r.what;
        ASSERT_EQ(wire.size(), 4u) << r.what; // SYN, ACK, ACK, and the server's reset
        net::packet_view v;
        bytes reset = wire.back();
        ASSERT_EQ(net::parse_frame(reset, v), no_drop);
        EXPECT_EQ(v.tcp_flags, net::tcp_rst | net::tcp_ack) << r.what;
        EXPECT_EQ(net::tcp_seq(reset, v), client_isn + 1) << r.what;
        EXPECT_EQ(drops(drop_reason::hold_timeout), 1u) << r.what;
        EXPECT_EQ(core->counters().hold_released_bytes, 0u) << r.what;
        policy::security_event e[2];
        ASSERT_EQ(ring.pop_burst(e, 2), 1u) << r.what;
        EXPECT_EQ(e[0].kind, policy::security_event_kind::deny) << r.what;
        EXPECT_EQ(out(net::tcp_ack | net::tcp_psh, client_isn + 1, bytes{1}), drop_reason::policy_cut) << r.what;
        now = 10;
    }
}

// Stream normalisation, as an attacker inside would try it on an allowed flow
// whose hello went out (released from the hold in two segments, not yet
// acknowledged): a retransmission whose bytes differ from the inspected ones
// is dropped, so a first copy lost beyond the gateway (a short TTL) cannot be
// replaced by an uninspected second one. Each row: a fresh flow, one client
// segment at `at`, the verdict, and the exact payload that left (or none).
TEST_F(tls_flow, bytes_other_than_the_inspected_ones_never_leave) {
    const bytes hello = client_hello("api.stripe.com");
    const std::size_t n = hello.size();
    const std::size_t half = n / 2;
    const auto same = [&](std::size_t from, std::size_t len) {
        return bytes(hello.begin() + static_cast<std::ptrdiff_t>(from), hello.begin() + static_cast<std::ptrdiff_t>(from + len));
    };
    const auto changed = [&](std::size_t from, std::size_t len, std::size_t which) {
        bytes b = same(from, len);
        b[which] ^= 0x20;
        return b;
    };
    const auto plus = [](bytes b, std::string_view more) {
        b.insert(b.end(), more.begin(), more.end());
        return b;
    };
    struct row {
        const char* what;
        std::size_t at;
        bytes payload;
        bool acked; // the server acknowledged the whole hello first
        outcome expected;
    };
    const std::vector<row> rows = {
        {"retransmitted first segment, same bytes", 0, same(0, half), false, verdict::forward},
        {"retransmitted first segment, last byte changed", 0, changed(0, half, half - 1), false,
         drop_reason::stream_overlap_mismatch},
        {"one byte inside the hello, changed", 5, changed(5, 1, 0), false, drop_reason::stream_overlap_mismatch},
        {"straddling the end of the hello, same overlap", n - 10, plus(same(n - 10, 10), "GET"), false, verdict::forward},
        {"straddling the end of the hello, overlap changed", n - 10, plus(changed(n - 10, 10, 9), "GET"), false,
         drop_reason::stream_overlap_mismatch},
        {"new bytes after the hello", n, plus({}, "GET"), false, verdict::forward},
        {"changed copy after the server acknowledged the hello (discarded there)", 0, changed(0, half, 0), true,
         verdict::forward},
    };
    for (const row& r : rows) {
        use(hostname_spec());
        handshake();
        wire.clear();
        ASSERT_EQ(send(hello, {half}), (std::vector<outcome>{verdict::consumed, verdict::consumed})) << r.what;
        ASSERT_EQ(joined(payloads_out()), hello) << r.what;
        if (r.acked) server_acks(static_cast<uint32_t>(n));
        EXPECT_EQ(core->inspection().buffers_in_use(), r.acked ? 0u : 1u) << r.what;
        wire.clear();
        EXPECT_EQ(outcome(out(net::tcp_ack | net::tcp_psh, client_isn + 1 + static_cast<uint32_t>(r.at), r.payload)),
                  r.expected) << r.what;
        std::vector<bytes> left;
        for (const bytes& w : wire) {
            bytes f = w;
            net::packet_view v;
            ASSERT_EQ(net::parse_frame(f, v), no_drop);
            EXPECT_EQ(net::tcp_seq(f, v), client_isn + 1 + r.at) << r.what;
            const auto p = net::tcp_payload(f, v);
            left.emplace_back(p.begin(), p.end());
        }
        EXPECT_EQ(left, r.expected == verdict::forward ? std::vector<bytes>{r.payload} : std::vector<bytes>{}) << r.what;
        const bool refused = r.expected != verdict::forward;
        EXPECT_EQ(drops(drop_reason::stream_overlap_mismatch), refused ? 1u : 0u) << r.what;
    }
}

// While holding: the first copy of a held byte is the one inspected and
// released; a later, different copy is dropped, not written over it.
TEST_F(tls_flow, a_different_copy_of_a_held_byte_is_dropped_and_the_first_goes_out) {
    const bytes hello = client_hello("api.stripe.com");
    const std::size_t half = hello.size() / 2;
    handshake();
    wire.clear();
    const bytes first(hello.begin(), hello.begin() + static_cast<std::ptrdiff_t>(half));
    bytes other = first;
    other[3] ^= 0x01;
    EXPECT_EQ(out(net::tcp_ack, client_isn + 1, first), verdict::consumed);
    EXPECT_EQ(out(net::tcp_ack, client_isn + 1, first), verdict::consumed); // the same again: absorbed
    EXPECT_EQ(out(net::tcp_ack, client_isn + 1, other), drop_reason::stream_overlap_mismatch);
    EXPECT_EQ(out(net::tcp_ack, client_isn + 1 + static_cast<uint32_t>(half),
                  bytes(hello.begin() + static_cast<std::ptrdiff_t>(half), hello.end())),
              verdict::consumed);
    EXPECT_EQ(joined(payloads_out()), hello);
    EXPECT_EQ(core->counters().hold_released_bytes, hello.size());
    EXPECT_EQ(drops(drop_reason::stream_overlap_mismatch), 1u);
}

// Every buffer in use: a new flow takes back the one kept longest; a segment
// overlapping the released bytes it kept can no longer be compared, and
// [inspect] unverified_overlap decides (drop by default). New bytes and the
// server's acknowledgement end it.
TEST_F(tls_flow, released_bytes_that_can_no_longer_be_compared_take_the_configured_action) {
    const bytes hello = client_hello("api.stripe.com");
    for (const bool passes : {false, true}) {
        s.inspect.buffers = 1;
        s.inspect.unverified_overlap_passes = passes;
        port = 443;
        use(hostname_spec());
        handshake();
        ASSERT_EQ(send(hello, {}), std::vector<outcome>{verdict::consumed});
        EXPECT_EQ(core->inspection().buffers_in_use(), 1u);
        port = 80; // a second flow needs the buffer
        handshake();
        EXPECT_EQ(core->inspection().buffers_in_use(), 1u);
        port = 443;
        wire.clear();
        bytes other = hello;
        other[0] ^= 0x01;
        EXPECT_EQ(outcome(out(net::tcp_ack, client_isn + 1, other)),
                  passes ? outcome(verdict::forward) : outcome(drop_reason::stream_overlap_unverified)) << passes;
        EXPECT_EQ(wire.size(), passes ? 1u : 0u) << passes;
        EXPECT_EQ(out(net::tcp_ack, client_isn + 1 + static_cast<uint32_t>(hello.size()), bytes{'x'}), verdict::forward);
        server_acks(static_cast<uint32_t>(hello.size()));
        EXPECT_EQ(out(net::tcp_ack, client_isn + 1, other), verdict::forward) << passes; // acknowledged: discarded there
        EXPECT_EQ(drops(drop_reason::stream_overlap_unverified), passes ? 0u : 1u) << passes;
    }
}

} // namespace
} // namespace egress::gateway
