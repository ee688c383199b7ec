// verify = "resolve" on the packet path (issue 16): a name a verify =
// "resolve" rule allows is checked against what egressd's own resolvers say.
// The test plays the resolver thread: it takes the worker's lookup requests
// from the request ring and hands answers back through the answer ring (the
// real thread, with c-ares, is tested against dnsmasq in
// tests/unit/control/dns_resolver_test.cpp). The verdict comes with the
// answer: the worker replays the held flow's segment as soon as it takes the
// answer (or the lookup times out), without waiting for the client's
// retransmission. The hold's state machine: the
// answer arrives and matches, does not match, is NXDOMAIN, fails, times out;
// [dns] on_resolve_failure; report mode; the bounds; the rule counted once;
// and a reload that turns verification on re-checking live flows.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "../quic/quic_test_util.hpp"
#include "base/fixed_text.hpp"
#include "dns_verify_fixture.hpp"
#include "net/packet_parser.hpp"
#include "net/tcp_segment.hpp"

namespace egress::gateway {
namespace {

using namespace test_dns;

struct dns_resolve : dns_verify {
    dns::request_ring requests{16};
    dns::answer_ring answers{16};
    std::vector<std::unique_ptr<policy::active_policy>> older; // snapshots a reload replaced

    void SetUp() override {
        s.dns.resolve.resolvers = {net::endpoint{ip("127.0.0.1"), 53}};
        s.dns.resolve.timeout_ms = 2000;
        use_resolve(spec());
    }
    static policy::policy_spec spec(policy::rule_mode mode = policy::rule_mode::enforce) {
        policy::policy_spec p = verify_spec(mode, policy::verify_mode::resolve);
        p.rules[0].hostnames.push_back("*.example.com");
        return p;
    }
    void use_resolve(const policy::policy_spec& p) {
        use(p);
        core->attach_resolver(&requests, &answers);
    }
    // A new snapshot for the same gateway (its flows stay): the reload.
    void reload(policy::policy_spec p, uint64_t version) {
        p.version = version;
        auto compiled = policy::compiled_policy::compile(p);
        ASSERT_TRUE(compiled.policy) << compiled.error;
        older.push_back(std::move(active));
        active = std::make_unique<policy::active_policy>(std::move(compiled.policy));
        core->use_policy(active.get());
    }
    // The requests the worker posted, as "name/4" or "name/6".
    std::vector<std::string> asked() {
        std::vector<std::string> v;
        dns::lookup_request r;
        while (requests.pop_burst(&r, 1) == 1)
            v.push_back(std::string(r.text()) + (r.family == dns::lookup_family::v4 ? "/4" : "/6"));
        return v;
    }
    // The resolver thread's answer for `name`, taken by the worker's next loop.
    void answer_with(std::string_view name, dns::lookup_status status, const bytes& response = {}) {
        auto a = std::make_unique<dns::lookup_answer>();
        dns::lookup_request r;
        ASSERT_TRUE(dns::make_request(name, dns::lookup_family::v4, r));
        dns::make_answer(r, status, response, *a);
        ASSERT_TRUE(answers.try_push(*a));
        core->expire(now, 64);
    }
    // An ACK of the client on an open connection (after its hello).
    packet_result ack(const std::string& host, const std::string& dst, uint16_t port) {
        test::bytes f = from_inside().ipv4(host, dst).tcp(port, 443, net::tcp_ack).tcp_seq(client_isn + 1, server_isn + 1).build();
        return core->process(side::inside, f, now);
    }
    uint64_t setting(drop_reason r) const {
        return core->counters().setting_denials[static_cast<std::size_t>(r)];
    }
    // What the worker's last loop sent on its own (the outbox), a line per
    // TCP frame: "side src:port>dst:port FLAGS seq+N len", seq relative to
    // the sender's initial sequence number.
    std::vector<std::string> sent() const {
        std::vector<std::string> v;
        const outbox& box = core->built_frames();
        for (uint32_t i = 0; i < box.size(); ++i) {
            const std::span<const uint8_t> f = box[i].bytes;
            net::packet_view p;
            if (net::parse_frame(f, p) != stats::no_drop || p.proto != net::proto_tcp) {
                v.push_back("unparsed");
                continue;
            }
            std::string flags;
            for (auto [bit, c] : {std::pair{net::tcp_syn, 'S'}, {net::tcp_fin, 'F'}, {net::tcp_rst, 'R'},
                                  {net::tcp_psh, 'P'}, {net::tcp_ack, 'A'}})
                if (p.tcp_flags & bit) flags += c;
            const bool to_inside = box[i].to == side::inside;
            const uint32_t isn = p.src_port == 443 ? server_isn : client_isn;
            const std::size_t header = static_cast<std::size_t>(f[p.l4_offset + 12] >> 4) * 4;
            v.push_back(fmt::format("{} {}:{}>{}:{} {} seq+{} {}", to_inside ? "inside" : "outside", p.src,
                                    p.src_port, p.dst, p.dst_port, flags, net::tcp_seq(f, p) - isn,
                                    p.l4_length - header));
        }
        return v;
    }
    // The released ClientHello, as the server gets it from the worker's loop.
    std::string released(uint16_t port, const std::string& dst, std::string_view sni) const {
        return fmt::format("outside 203.0.113.10:{}>{}:443 PA seq+1 {}", port, dst, client_hello(sni).size());
    }
    // The two resets of a refused name: to the server (seq: right after the
    // client's SYN, none of the held bytes sent), then to the client (seq:
    // what it expects from the server).
    std::vector<std::string> resets(uint16_t port, const std::string& dst) const {
        return {fmt::format("outside 203.0.113.10:{}>{}:443 RA seq+1 0", port, dst),
                fmt::format("inside {}:443>10.0.0.5:{} RA seq+1 0", dst, port)};
    }
};

constexpr std::string_view stripe = "api.stripe.com";

TEST_F(dns_resolve, the_verdict_waits_for_the_answer_and_passes_when_it_matches) {
    const uint16_t port = open("10.0.0.5", "198.51.100.7");
    EXPECT_EQ(hello("10.0.0.5", "198.51.100.7", port, stripe), verdict::consumed);
    EXPECT_EQ(asked(), (std::vector<std::string>{"api.stripe.com/4"}));
    EXPECT_EQ(core->counters().resolve_lookups, 1u);
    EXPECT_EQ(core->counters().hold_released_bytes, 0u); // held, waiting
    // The client's retransmission before the answer: still held, not asked again.
    now += 200;
    EXPECT_EQ(hello("10.0.0.5", "198.51.100.7", port, stripe), verdict::consumed);
    EXPECT_TRUE(asked().empty());
    EXPECT_EQ(core->counters().hold_released_bytes, 0u);

    EXPECT_EQ(core->waiting().size(), 1u); // its segment, kept for the answer

    // The worker's loop that takes the answer replays the segment: released
    // then, not at the client's next retransmission.
    answer_with(stripe, dns::lookup_status::answered, answer("api.stripe.com", 60, {198, 51, 100, 7}));
    EXPECT_EQ(core->counters().resolve_answers, 1u);
    EXPECT_EQ(core->dns().resolved_table().size(), 1u);
    EXPECT_EQ(sent(), (std::vector<std::string>{released(port, "198.51.100.7", stripe)}));
    EXPECT_EQ(core->waiting().size(), 0u);
    EXPECT_EQ(core->counters().hold_released_bytes, client_hello(stripe).size());
    EXPECT_EQ(core->counters().sni_verified, 1u);
    EXPECT_EQ(active->hits(0), 1u); // counted once, when it passed
    EXPECT_TRUE(events().empty());
    // A retransmission that was on its way: the same bytes, passed on.
    now += 200;
    EXPECT_EQ(hello("10.0.0.5", "198.51.100.7", port, stripe), verdict::forward);
    EXPECT_EQ(core->counters().hold_released_bytes, client_hello(stripe).size());
    EXPECT_EQ(core->counters().sni_verified, 1u);

    // The next flow to the name is decided from the cache at once.
    EXPECT_EQ(connect("10.0.0.6", "198.51.100.7", stripe), verdict::consumed);
    EXPECT_TRUE(asked().empty());
    EXPECT_EQ(core->counters().sni_verified, 2u);
    EXPECT_EQ(active->hits(0), 2u);
}

// Bytes the client sends after its hello while the lookup runs are held too,
// and leave with the release, in sequence (found by the hold fuzz target:
// they were consumed and not held, so only the client's retransmission
// delivered them).
TEST_F(dns_resolve, bytes_after_the_name_wait_with_it_and_leave_in_order) {
    const uint16_t port = open("10.0.0.5", "198.51.100.7");
    EXPECT_EQ(hello("10.0.0.5", "198.51.100.7", port, stripe), verdict::consumed);
    const std::size_t n = client_hello(stripe).size();
    const std::vector<uint8_t> more(10, 0x17);
    test::bytes f = from_inside().ipv4("10.0.0.5", "198.51.100.7").tcp(port, 443, net::tcp_ack | net::tcp_psh).tcp_seq(client_isn + 1 + static_cast<uint32_t>(n), server_isn + 1).payload(more).build();
    EXPECT_EQ(core->process(side::inside, f, now), verdict::consumed);
    answer_with(stripe, dns::lookup_status::answered, answer("api.stripe.com", 60, {198, 51, 100, 7}));
    EXPECT_EQ(sent(), (std::vector<std::string>{fmt::format("outside 203.0.113.10:{}>198.51.100.7:443 PA seq+1 {}", port, n + more.size())}));
    EXPECT_EQ(core->counters().hold_released_bytes, n + more.size());
}

// A worker keeps a bounded number of waiting segments: a flow that finds no
// room is decided at its client's retransmission, as before.
TEST_F(dns_resolve, without_room_to_keep_its_segment_a_flow_waits_for_its_retransmission) {
    const uint32_t room = core->waiting().capacity();
    ASSERT_EQ(room, 64u);
    std::vector<uint16_t> ports;
    for (uint32_t i = 0; i <= room; ++i) {
        ports.push_back(open("10.0.0.5", "198.51.100.7"));
        EXPECT_EQ(hello("10.0.0.5", "198.51.100.7", ports.back(), stripe), verdict::consumed);
    }
    EXPECT_EQ(asked(), (std::vector<std::string>{"api.stripe.com/4"})); // one lookup for all of them
    EXPECT_EQ(core->waiting().size(), room);
    answer_with(stripe, dns::lookup_status::answered, answer("api.stripe.com", 60, {198, 51, 100, 7}));
    std::vector<std::string> expected;
    for (uint32_t i = 0; i < room; ++i) expected.push_back(released(ports[i], "198.51.100.7", stripe));
    EXPECT_EQ(sent(), expected);
    EXPECT_EQ(core->counters().sni_verified, room);
    // Its retransmission decides it, as every flow was before segments were
    // kept: the held bytes go out (the retransmission's own are among them).
    EXPECT_EQ(hello("10.0.0.5", "198.51.100.7", ports[room], stripe), verdict::consumed);
    EXPECT_EQ(sent(), (std::vector<std::string>{released(ports[room], "198.51.100.7", stripe)}));
    EXPECT_EQ(core->counters().sni_verified, room + 1);
}

// QUIC (quic = "inspect"): the datagram that completed the ClientHello is
// kept; with the answer, the flow's held datagrams leave byte for byte, in
// the order they came, from that same loop.
TEST_F(dns_resolve, a_quic_flow_is_released_with_the_answer) {
    policy::policy_spec p = spec();
    p.rules[0].proto = policy::protocol::any; // QUIC reaches it (hostnames take tcp or any, without ports)
    p.rules[0].ports.clear();
    p.inspection.quic = policy::quic_action::inspect;
    use_resolve(p);
    std::vector<bytes> flight;
    for (int i = 0; i < 3; ++i) flight.push_back(quic::test::read_file("gw-allowed." + std::to_string(i) + ".bin"));
    for (const bytes& d : flight) {
        test::bytes f = from_inside().ipv4("10.0.0.5", "198.51.100.7").udp(50000, 443).payload(d).build();
        EXPECT_EQ(core->process(side::inside, f, now), verdict::consumed);
    }
    EXPECT_EQ(asked(), (std::vector<std::string>{"api.stripe.com/4"}));
    EXPECT_EQ(core->waiting().size(), 1u);
    answer_with(stripe, dns::lookup_status::answered, answer("api.stripe.com", 60, {198, 51, 100, 7}));
    std::vector<bytes> left;
    const outbox& box = core->built_frames();
    for (uint32_t i = 0; i < box.size(); ++i) {
        net::packet_view v;
        ASSERT_EQ(net::parse_frame(box[i].bytes, v), stats::no_drop);
        EXPECT_EQ(box[i].to, side::outside);
        EXPECT_EQ(v.src, ip("203.0.113.10"));
        left.emplace_back(box[i].bytes.begin() + v.l4_offset + 8, box[i].bytes.begin() + v.l4_offset + v.l4_length);
    }
    EXPECT_EQ(left, flight);
    EXPECT_EQ(core->counters().sni_verified, 1u);
    EXPECT_EQ(active->hits(0), 1u);
}

// A kept segment is replayed only into the flow that kept it, still waiting:
// a connection its client reset meanwhile gets nothing.
TEST_F(dns_resolve, a_connection_reset_while_waiting_gets_no_release) {
    const uint16_t port = open("10.0.0.5", "198.51.100.7");
    EXPECT_EQ(hello("10.0.0.5", "198.51.100.7", port, stripe), verdict::consumed);
    test::bytes rst = from_inside().ipv4("10.0.0.5", "198.51.100.7").tcp(port, 443, net::tcp_rst).tcp_seq(client_isn + 1, 0).build();
    EXPECT_EQ(core->process(side::inside, rst, now), verdict::forward);
    answer_with(stripe, dns::lookup_status::answered, answer("api.stripe.com", 60, {198, 51, 100, 7}));
    EXPECT_TRUE(sent().empty());
    EXPECT_EQ(core->waiting().size(), 0u);
    EXPECT_EQ(core->counters().hold_released_bytes, 0u);
}

TEST_F(dns_resolve, an_answer_without_the_destination_is_refused_with_what_dns_said) {
    const uint16_t port = open("10.0.0.5", "198.51.100.8");
    EXPECT_EQ(hello("10.0.0.5", "198.51.100.8", port, stripe), verdict::consumed);
    // Refused with the answer: resets both ways, from the worker's loop.
    answer_with(stripe, dns::lookup_status::answered, answer("api.stripe.com", 60, {198, 51, 100, 7}));
    EXPECT_EQ(sent(), resets(port, "198.51.100.8"));
    EXPECT_EQ(core->counters().sni_unverified, 1u);
    EXPECT_EQ(drops(drop_reason::sni_unverified), 1u);
    EXPECT_EQ(active->hits(0), 0u); // not counted as an allow of the rule
    EXPECT_EQ(setting(drop_reason::sni_unverified), 1u);
    const auto ev = events();
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].kind, policy::security_event_kind::deny);
    EXPECT_EQ(ev[0].reason, drop_reason::sni_unverified);
    EXPECT_EQ(base::field_text(ev[0].rule), "stripe");
    EXPECT_EQ(base::field_text(ev[0].hostname), "api.stripe.com");
    EXPECT_EQ(ev[0].dst, ip("198.51.100.8"));
    ASSERT_EQ(ev[0].dns_said_count, 1u);
    EXPECT_EQ(ev[0].dns_said[0], ip("198.51.100.7"));
    // The client's retransmission meets the cut flow.
    EXPECT_EQ(outcome(hello("10.0.0.5", "198.51.100.8", port, stripe)), outcome(drop_reason::policy_cut));
    EXPECT_EQ(drops(drop_reason::sni_unverified), 1u);
}

TEST_F(dns_resolve, each_outcome_without_a_match_has_its_reason) {
    struct row {
        const char* what;
        std::string name;
        dns::lookup_status status;
        bool answer_it;
        drop_reason why;
    };
    const std::vector<row> rows = {
        {"NXDOMAIN", "nx.example.com", dns::lookup_status::no_name, true, drop_reason::sni_unverified},
        {"SERVFAIL / refused", "broken.example.com", dns::lookup_status::failed, true, drop_reason::resolve_failed},
        {"the resolver thread timed out", "slow.example.com", dns::lookup_status::timed_out, true,
         drop_reason::resolve_timeout},
        {"no answer within resolve_timeout_ms", "silent.example.com", dns::lookup_status::answered, false,
         drop_reason::resolve_timeout},
    };
    for (const row& r : rows) {
        SCOPED_TRACE(r.what);
        core->counters().drops = {}; // each row's own
        const uint16_t port = open("10.0.0.5", "198.51.100.9");
        EXPECT_EQ(hello("10.0.0.5", "198.51.100.9", port, r.name), verdict::consumed);
        EXPECT_EQ(asked(), (std::vector<std::string>{r.name + "/4"}));
        // The answer, or the lookup's time running out, decides in the worker's loop.
        if (r.answer_it) {
            answer_with(r.name, r.status);
        } else {
            now += s.dns.resolve.timeout_ms;
            core->expire(now, 64);
            EXPECT_TRUE(sent().empty()); // not yet: due one millisecond later
            now += 1;
            core->expire(now, 64);
        }
        EXPECT_EQ(sent(), resets(port, "198.51.100.9"));
        EXPECT_EQ(drops(r.why), 1u);
        EXPECT_EQ(outcome(hello("10.0.0.5", "198.51.100.9", port, r.name)), outcome(drop_reason::policy_cut));
        const auto ev = events();
        ASSERT_EQ(ev.size(), 1u);
        EXPECT_EQ(ev[0].reason, r.why);
        EXPECT_EQ(ev[0].dns_said_count, 0u);
        now += 10'000; // the next row starts afresh
    }
    EXPECT_EQ(setting(drop_reason::sni_unverified), 1u);
    EXPECT_EQ(setting(drop_reason::resolve_failed), 1u);
    EXPECT_EQ(setting(drop_reason::resolve_timeout), 2u);
    EXPECT_EQ(core->counters().resolve_failures, 2u);
    EXPECT_EQ(active->hits(0), 0u);
}

TEST_F(dns_resolve, on_resolve_failure_allow_lets_the_flow_pass_and_counts_it) {
    s.dns.resolve.allow_on_failure = true;
    use_resolve(spec());
    const uint16_t port = open("10.0.0.5", "198.51.100.9");
    EXPECT_EQ(hello("10.0.0.5", "198.51.100.9", port, stripe), verdict::consumed);
    answer_with(stripe, dns::lookup_status::failed);
    EXPECT_EQ(sent(), (std::vector<std::string>{released(port, "198.51.100.9", stripe)}));
    EXPECT_EQ(core->counters().hold_released_bytes, client_hello(stripe).size());
    EXPECT_EQ(core->counters().resolve_failure_allowed, 1u);
    EXPECT_EQ(active->hits(0), 1u);
    EXPECT_TRUE(events().empty());
    // A mismatch is still refused: "allow" is for lookups without a verdict only.
    const uint16_t other = open("10.0.0.5", "198.51.100.8");
    EXPECT_EQ(hello("10.0.0.5", "198.51.100.8", other, "b.example.com"), verdict::consumed);
    answer_with("b.example.com", dns::lookup_status::no_name);
    EXPECT_EQ(sent(), resets(other, "198.51.100.8"));
    EXPECT_EQ(drops(drop_reason::sni_unverified), 1u);
}

TEST_F(dns_resolve, report_mode_waits_reports_and_passes) {
    use_resolve(spec(policy::rule_mode::report));
    const uint16_t port = open("10.0.0.5", "198.51.100.8");
    EXPECT_EQ(hello("10.0.0.5", "198.51.100.8", port, stripe), verdict::consumed);
    answer_with(stripe, dns::lookup_status::answered, answer("api.stripe.com", 60, {198, 51, 100, 7}));
    EXPECT_EQ(sent(), (std::vector<std::string>{released(port, "198.51.100.8", stripe)})); // reported, released
    EXPECT_EQ(core->counters().hold_released_bytes, client_hello(stripe).size());
    EXPECT_EQ(core->counters().policy_would_deny, 1u);
    EXPECT_EQ(drops(drop_reason::sni_unverified), 0u);
    EXPECT_EQ(active->hits(0), 1u);
    const auto ev = events();
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].kind, policy::security_event_kind::would_deny);
    EXPECT_EQ(ev[0].reason, drop_reason::sni_unverified);
}

TEST_F(dns_resolve, a_full_pending_table_or_ring_is_a_failed_lookup) {
    s.dns.resolve.pending_per_worker = 1;
    use_resolve(spec());
    const uint16_t a = open("10.0.0.5", "198.51.100.9");
    EXPECT_EQ(hello("10.0.0.5", "198.51.100.9", a, "a.example.com"), verdict::consumed);
    const uint16_t b = open("10.0.0.5", "198.51.100.9");
    EXPECT_EQ(outcome(hello("10.0.0.5", "198.51.100.9", b, "b.example.com")), outcome(drop_reason::resolve_failed));
    EXPECT_EQ(core->counters().resolve_pending_full, 1u);
    EXPECT_EQ(asked(), (std::vector<std::string>{"a.example.com/4"}));

    s.dns.resolve.pending_per_worker = 64;
    use_resolve(spec());
    for (int i = 0; i < 16; ++i) {
        const uint16_t p = open("10.0.0.5", "198.51.100.9");
        EXPECT_EQ(hello("10.0.0.5", "198.51.100.9", p, "n" + std::to_string(i) + ".example.com"), verdict::consumed);
    }
    const uint16_t c = open("10.0.0.5", "198.51.100.9");
    EXPECT_EQ(outcome(hello("10.0.0.5", "198.51.100.9", c, "full.example.com")), outcome(drop_reason::resolve_failed));
    EXPECT_EQ(core->counters().resolve_ring_full, 1u);
    EXPECT_EQ(core->counters().resolve_lookups, 16u);
}

TEST_F(dns_resolve, ttl_plus_grace_bounds_the_cached_answer) {
    now = 1000;
    const uint16_t port = open("10.0.0.5", "198.51.100.7");
    EXPECT_EQ(hello("10.0.0.5", "198.51.100.7", port, stripe), verdict::consumed);
    EXPECT_EQ(asked(), (std::vector<std::string>{"api.stripe.com/4"}));
    answer_with(stripe, dns::lookup_status::answered, answer("api.stripe.com", 60, {198, 51, 100, 7}));
    now = 1000 + 89'999;
    EXPECT_EQ(connect("10.0.0.5", "198.51.100.7", stripe), verdict::consumed);
    EXPECT_TRUE(asked().empty()); // cached
    now = 1000 + 90'000;          // TTL 60 s + grace 30 s: expired, asked again
    EXPECT_EQ(connect("10.0.0.5", "198.51.100.7", stripe), verdict::consumed);
    EXPECT_EQ(asked(), (std::vector<std::string>{"api.stripe.com/4"}));
}

// A reload that turns verification on checks the live flows its verifying
// rule allows, once; one already checked the same way is not checked again
// (its binding may expire while it lives).
TEST_F(dns_resolve, a_reload_turning_verification_on_checks_live_flows) {
    use_resolve(verify_spec(policy::rule_mode::enforce, std::nullopt));
    const uint16_t good = open("10.0.0.5", "198.51.100.7");
    EXPECT_EQ(hello("10.0.0.5", "198.51.100.7", good, stripe), verdict::consumed);
    const uint16_t spoofed = open("10.0.0.5", "198.51.100.8");
    EXPECT_EQ(hello("10.0.0.5", "198.51.100.8", spoofed, stripe), verdict::consumed);
    EXPECT_EQ(ack("10.0.0.5", "198.51.100.8", spoofed), verdict::forward);

    reload(verify_spec(policy::rule_mode::enforce, policy::verify_mode::observed), 2);
    // DNS answers are read while the policy verifies names: from now on.
    EXPECT_EQ(resolve("10.0.0.5", "198.51.100.53", answer("api.stripe.com", 60, {198, 51, 100, 7})), verdict::forward);
    EXPECT_EQ(ack("10.0.0.5", "198.51.100.7", good), verdict::forward);
    const packet_result cut = ack("10.0.0.5", "198.51.100.8", spoofed);
    EXPECT_EQ(outcome(cut), outcome(drop_reason::policy_cut));
    EXPECT_EQ(core->counters().policy_flows_cut, 1u);
    const auto ev = events();
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].kind, policy::security_event_kind::cut);
    EXPECT_EQ(ev[0].reason, drop_reason::sni_unverified);
    EXPECT_TRUE(ev[0].existing_flow);
    ASSERT_EQ(ev[0].dns_said_count, 1u);

    // Checked already: a later reload after the binding expired leaves it.
    now += 120'000;
    reload(verify_spec(policy::rule_mode::enforce, policy::verify_mode::observed), 3);
    EXPECT_EQ(ack("10.0.0.5", "198.51.100.7", good), verdict::forward);
    EXPECT_EQ(core->counters().policy_flows_cut, 1u);

    // Changing the mode to "resolve" checks it again, with a lookup: its
    // packets pass while the answer is pending, then the answer decides.
    reload(spec(), 4);
    EXPECT_EQ(ack("10.0.0.5", "198.51.100.7", good), verdict::forward);
    EXPECT_EQ(asked(), (std::vector<std::string>{"api.stripe.com/4"}));
    EXPECT_EQ(ack("10.0.0.5", "198.51.100.7", good), verdict::forward);
    answer_with(stripe, dns::lookup_status::answered, answer("api.stripe.com", 60, {198, 51, 100, 9}));
    EXPECT_EQ(outcome(ack("10.0.0.5", "198.51.100.7", good)), outcome(drop_reason::policy_cut));
    EXPECT_EQ(core->counters().policy_flows_cut, 2u);
}

} // namespace
} // namespace egress::gateway
