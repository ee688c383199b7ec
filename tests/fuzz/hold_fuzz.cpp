// libFuzzer target: the hold point and stream normalisation (issue 14) through
// gateway_core, on one TCP flow to a port where a hostname rule decides. The
// input is a sequence of client segments (any piece of the stream, in any
// order, repeated, or with a byte changed), server acknowledgements, pure ACKs
// and clock steps. After every step it checks, from what left by the outside
// port:
//   * no client payload byte leaves while the verdict is pending;
//   * a denied flow (the server got a reset) delivers no payload byte at all;
//   * the release sends every held byte exactly once, in sequence order: the
//     offsets that leave in the releasing step are increasing, disjoint, and
//     exactly the offsets held;
//   * every byte that leaves at an offset the hold took a copy of equals that
//     first copy (the inspected one), unless the server had acknowledged it.
// Any violation aborts (a crash for libFuzzer).
//
// Under a verify = "resolve" rule the verdict also waits for egressd's own
// lookup of the name: "pending" lasts until then, and the worker's loop that
// takes the answer (or passes the lookup's timeout) replays the kept segment
// and sends the release or the resets; the same checks apply to what it sends.
//
// Input: byte 0 picks the stream (an allowed or a denied ClientHello, an
// allowed HTTP request, the input's own bytes as a stream; 4 and 5: the
// allowed ClientHello and HTTP request under a verify = "resolve" rule); then 4-byte steps
// [op][offset_hi][offset_lo][length]: op % 7 is 0 send stream[offset,
// offset + length], 1 the same with its last byte changed, 2 the server acks
// up to offset, 3 a pure client ACK, 4 the clock moves (length * 50 ms) and
// the worker's loop runs, 5 a segment past the stream's end, 6 the resolver
// answers the name asked (length % 4: the flow's address, another one,
// NXDOMAIN, failed) and the worker's loop runs.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "../unit/dns/dns_builder.hpp"
#include "../unit/net/packet_builder.hpp"
#include "../unit/tls/hello_builder.hpp"
#include "gateway/gateway_core.hpp"
#include "net/packet_parser.hpp"
#include "net/tcp_segment.hpp"
#include "policy/active_policy.hpp"
#include "policy/compiled_policy.hpp"

namespace {

using namespace egress;
using bytes = std::vector<uint8_t>;

constexpr uint32_t client_isn = 1000;
constexpr uint32_t server_isn = 5000;
constexpr std::size_t max_stream = 4096;

[[noreturn]] void violated(const char* what) {
    std::fprintf(stderr, "hold_fuzz: %s\n", what);
    std::abort();
}

std::shared_ptr<const policy::compiled_policy> compile_rules(bool resolve) {
        policy::policy_spec spec;
        spec.default_action = policy::verdict::deny;
        policy::rule_spec r;
        r.name = "allowed";
        r.destinations = {*policy::cidr::parse("0.0.0.0/0", nullptr)};
        r.proto = policy::protocol::tcp;
        r.hostnames = {"api.stripe.com"};
        r.action = policy::verdict::allow;
        if (resolve) r.verify = policy::verify_mode::resolve;
        spec.rules = {r};
        auto result = policy::compiled_policy::compile(spec);
        if (!result.policy) violated("policy does not compile");
        return std::shared_ptr<const policy::compiled_policy>(std::move(result.policy));
}

const std::shared_ptr<const policy::compiled_policy>& rules(bool resolve) {
    static const std::shared_ptr<const policy::compiled_policy> plain = compile_rules(false);
    static const std::shared_ptr<const policy::compiled_policy> resolving = compile_rules(true);
    return resolve ? resolving : plain;
}

bytes hello(std::string_view sni) {
    tls::test::hello_builder h;
    h.extensions.push_back(tls::test::sni_ext(sni));
    h.extensions.push_back(tls::test::supported_versions_ext());
    return tls::test::records(h.message());
}

gateway::settings make_settings(bool resolve) {
    gateway::settings s;
    if (resolve) s.dns.resolve.resolvers = {net::endpoint{test::ip("127.0.0.1"), 53}};
    s.inside.mac = test::mac("02:00:00:00:01:fe");
    s.inside.next_hop_mac = test::mac("02:00:00:00:01:01");
    s.inside.addresses = {test::ip("10.0.0.1")};
    s.outside.mac = test::mac("02:00:00:00:02:fe");
    s.outside.next_hop_mac = test::mac("02:00:00:00:02:01");
    s.outside.addresses = {test::ip("192.0.2.1")};
    s.pool = {{test::ip("203.0.113.10")}, 1024, 65535};
    s.max_flows = 64;
    s.inspect.slots = 8;
    s.inspect.buffers = 4;
    s.inspect.max_bytes = 2048;
    // Small tables elsewhere too: each input builds a gateway_core, and the
    // default fragment, DNS and neighbour tables were most of an input's time.
    s.fragments = {8, 2'000, 8, 4 * gateway::fragment_tracker::hold_slot_bytes};
    s.neighbors.max_entries = 8;
    s.dns.observed = {64, 16, 16, 30, 86'400, 8};
    return s;
}

struct harness {
    explicit harness(bool resolving) : resolve(resolving), s(make_settings(resolving)), active(rules(resolving)), core(s) {
        core.use_policy(&active);
        if (resolve) core.attach_resolver(&requests, &answers);
    }
    bool resolve;
    gateway::settings s;
    policy::active_policy active;
    gateway::gateway_core core;
    dns::request_ring requests{16};
    dns::answer_ring answers{16};
    uint16_t port = 443;
    uint32_t now = 10;
    bytes stream;
    std::vector<int16_t> first; // the hold's copy of each offset (-1: none)
    uint32_t acked = 0;         // the server acknowledged offsets below this
    bool denied = false;

    test::frame_builder client(uint8_t flags, uint32_t seq) {
        return std::move(test::frame_builder()
                             .eth(test::mac("02:00:00:00:01:01"), s.inside.mac)
                             .ipv4("10.0.0.5", "198.51.100.7")
                             .tcp(40000, port, flags)
                             .tcp_seq(seq, server_isn + 1));
    }
    // No verdict yet: the name not read, or (verify = "resolve") read and
    // its lookup under way (the flow still waits for its hostname).
    bool pending() const {
        return core.inspection().inspecting(0) &&
               (core.inspection().outcome(0) == gateway::inspect_outcome::pending ||
                (core.flows().at(0).flags & flow::flow_flags::awaits_hostname) != 0);
    }
    // One client frame; checks what left by the outside port.
    void client_segment(uint32_t offset, const bytes& payload, uint8_t flags = net::tcp_ack | net::tcp_psh) {
        bytes f = client(flags, client_isn + 1 + offset).payload(payload).build();
        const bool was_pending = pending();
        const gateway::packet_result r = core.process(stats::side::inside, f, now);
        // The hold keeps the first copy of each byte it consumes.
        if (was_pending && r.kind == gateway::verdict::consumed)
            for (std::size_t i = 0; i < payload.size(); ++i)
                if (offset + i < first.size() && first[offset + i] < 0) first[offset + i] = payload[i];
        std::vector<bytes> left;
        if (r.kind == gateway::verdict::forward) left.push_back(f);
        check(built(std::move(left)), was_pending);
    }
    // What the last call sent to the outside from the outbox, after `left`.
    std::vector<bytes> built(std::vector<bytes> left) const {
        for (uint32_t i = 0; i < core.built_frames().size(); ++i)
            if (core.built_frames()[i].to == stats::side::outside)
                left.emplace_back(core.built_frames()[i].bytes.begin(), core.built_frames()[i].bytes.end());
        return left;
    }
    // The worker's loop between bursts (answers taken, kept segments replayed).
    void loop() {
        const bool was_pending = pending();
        core.expire(now, 64);
        check(built({}), was_pending);
    }
    // The resolver thread answers the worker's request, if there is one.
    void resolver_answers(uint8_t kind) {
        dns::lookup_request q;
        if (requests.pop_burst(&q, 1) != 1) return loop();
        bytes response;
        if (kind < 2) {
            dns::test::response_builder b;
            b.question_name = dns::test::name(q.text());
            b.a(q.text(), 60, 198, 51, 100, kind == 0 ? 7 : 8);
            response = b.build();
        }
        auto a = std::make_unique<dns::lookup_answer>();
        dns::make_answer(q,
                         kind == 2   ? dns::lookup_status::no_name
                         : kind == 3 ? dns::lookup_status::failed
                                     : dns::lookup_status::answered,
                         response, *a);
        if (!answers.try_push(*a)) violated("the answer ring is full");
        loop();
    }
    void check(const std::vector<bytes>& left, bool was_pending) {
        const bool releasing = was_pending && !pending() && !denied;
        std::vector<uint8_t> released(first.size(), 0);
        int64_t last_end = -1;
        for (bytes f : left) {
            net::packet_view v;
            if (net::parse_frame(f, v) != stats::no_drop || v.proto != net::proto_tcp) violated("a frame left unparsable");
            if (v.tcp_flags & net::tcp_rst) {
                denied = true;
                continue;
            }
            const auto p = net::tcp_payload(f, v);
            if (p.empty()) continue;
            if (pending()) violated("payload left before the verdict");
            if (denied) violated("payload of a denied flow left");
            const int64_t at = static_cast<int32_t>(net::tcp_seq(f, v) - client_isn - 1);
            if (at < 0) continue;
            if (releasing) {
                if (at < last_end) violated("released segments out of order or overlapping");
                last_end = at + static_cast<int64_t>(p.size());
            }
            for (std::size_t i = 0; i < p.size(); ++i) {
                const std::size_t o = static_cast<std::size_t>(at) + i;
                if (o >= first.size()) continue;
                if (releasing && released[o]++ != 0) violated("a held byte released twice");
                if (first[o] >= 0 && o >= acked && p[i] != first[o]) violated("bytes other than the inspected ones left");
            }
        }
        if (!releasing || last_end < 0) return;
        for (std::size_t o = 0; o < first.size(); ++o)
            if ((first[o] >= 0) != (released[o] != 0)) violated("released bytes are not the held bytes");
    }
    void server_ack(uint32_t offset) {
        bytes a = test::frame_builder()
                      .eth(test::mac("02:00:00:00:02:01"), s.outside.mac)
                      .ipv4("198.51.100.7", "203.0.113.10")
                      .tcp(port, 40000, net::tcp_ack)
                      .tcp_seq(server_isn + 1, client_isn + 1 + offset)
                      .build();
        if (core.process(stats::side::outside, a, now).kind == gateway::verdict::forward && offset > acked)
            acked = offset;
    }
    bool handshake() {
        bytes syn = client(net::tcp_syn, client_isn).build();
        if (core.process(stats::side::inside, syn, now).kind != gateway::verdict::forward) return false;
        bytes synack = test::frame_builder()
                           .eth(test::mac("02:00:00:00:02:01"), s.outside.mac)
                           .ipv4("198.51.100.7", "203.0.113.10")
                           .tcp(port, 40000, net::tcp_syn | net::tcp_ack)
                           .tcp_seq(server_isn, client_isn + 1)
                           .build();
        if (core.process(stats::side::outside, synack, now).kind != gateway::verdict::forward) return false;
        bytes ack = client(net::tcp_ack, client_isn + 1).build();
        return core.process(stats::side::inside, ack, now).kind == gateway::verdict::forward;
    }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    harness h(data[0] % 6 >= 4);
    const std::string request = "GET / HTTP/1.1\r\nHost: api.stripe.com\r\n\r\n";
    switch (data[0] % 6) {
    case 0: case 4: h.stream = hello("api.stripe.com"); break;
    case 1: h.stream = hello("evil.example"); break;
    case 2: case 5: h.stream.assign(request.begin(), request.end()), h.port = 80; break;
    case 3: h.stream.assign(data + 1, data + std::min(size, max_stream + 1)); break;
    }
    h.first.assign(h.stream.size() + 256, -1);
    if (!h.handshake()) violated("the handshake did not pass");
    for (std::size_t at = 1; at + 4 <= size; at += 4) {
        const uint8_t op = data[at];
        const uint32_t offset = (uint32_t{data[at + 1]} << 8 | data[at + 2]) % (h.stream.size() + 1);
        const std::size_t length = std::min<std::size_t>(data[at + 3] % 200 + 1, h.stream.size() - offset);
        bytes piece(h.stream.begin() + offset, h.stream.begin() + static_cast<std::ptrdiff_t>(offset + length));
        switch (op % 7) {
        case 0: if (!piece.empty()) h.client_segment(offset, piece); break;
        case 1:
            if (!piece.empty()) piece.back() = static_cast<uint8_t>(piece.back() ^ (op | 1));
            if (!piece.empty()) h.client_segment(offset, piece);
            break;
        case 2: h.server_ack(offset); break;
        case 3: h.client_segment(0, {}, net::tcp_ack); break;
        case 4: h.now += uint32_t{data[at + 3]} * 50, h.loop(); break;
        case 5: h.client_segment(static_cast<uint32_t>(h.stream.size()), bytes(data[at + 3] % 64 + 1, op)); break;
        default: h.resolver_answers(data[at + 3] % 4); break;
        }
    }
    return 0;
}
