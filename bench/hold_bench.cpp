// The hold point's cost on an allowed connection (issue 14): how long
// gateway_core takes over the segments of a TLS flow whose verdict waits on its
// ClientHello, timed one process() call at a time (TSC, converted to ns with a
// rate measured at start), median and p99 over fresh flows:
//   bm_hello_one_segment    the allowing segment: reassemble, parse, decide,
//                           release (the held bytes leave as one segment)
//   bm_hello_seven_bytes    the same hello in 7-byte segments: each held
//                           (consumed) segment, and the allowing last one that
//                           releases every held byte
//   and in both, a 500-byte segment of the decided flow (established), for
//   reference.
// Only gateway_core's public process() is used, so the same file builds against
// the tree before the hold (then the allowing segment was forwarded in place and
// the earlier ones as they came): bench/README.md compares the two in one run.
#include <x86intrin.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "../tests/unit/net/packet_builder.hpp"
#include "../tests/unit/tls/hello_builder.hpp"
#include "bench_network.hpp"
#include "gateway/gateway_core.hpp"

namespace {

using namespace egress;
using bytes = std::vector<uint8_t>;
using stats::side;

using namespace egress::bench;
constexpr uint32_t flows = 8192; // flows per run: every one new
constexpr std::size_t piece = 7;

// One hostname rule on 443, everything else denied.
std::unique_ptr<policy::active_policy> bench_policy() {
    policy::rule_spec site;
    site.name = "site";
    site.destinations = {*policy::cidr::parse("0.0.0.0/0", nullptr)};
    site.proto = policy::protocol::tcp;
    site.ports = {{443, 443}};
    site.hostnames = {"*.shop.example"};
    site.action = policy::verdict::allow;
    policy::policy_spec spec;
    spec.rules = {site};
    return std::make_unique<policy::active_policy>(policy::compiled_policy::compile(spec).policy);
}

double ns_per_clock() {
    const auto t0 = std::chrono::steady_clock::now();
    const uint64_t c0 = __rdtsc();
    while (std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(50)) _mm_pause();
    const uint64_t c1 = __rdtsc();
    const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
    return ns / static_cast<double>(c1 - c0);
}

struct flow_frames {
    bytes syn, synack;
    std::vector<bytes> hello; // one segment, or 7-byte pieces
    bytes data;               // 500 bytes after the hello
    std::size_t hello_bytes = 0; // the hello's TLS records
};

bytes client_segment(uint16_t port, uint32_t seq, const bytes& payload) {
    return test::frame_builder().eth(inside_hop, inside_mac).ipv4("10.0.0.5", "198.51.100.7")
        .tcp(port, 443, net::tcp_ack | net::tcp_psh).tcp_seq(seq, 5001).payload(payload).build();
}

std::vector<flow_frames> build_flows(std::size_t pieces_of) {
    tls::test::hello_builder h;
    h.extensions.push_back(tls::test::sni_ext("www.shop.example"));
    h.extensions.push_back(tls::test::supported_versions_ext());
    const bytes hello = tls::test::records(h.message());
    std::vector<flow_frames> v(flows);
    for (uint32_t k = 0; k < flows; ++k) {
        const auto port = static_cast<uint16_t>(20000 + k);
        v[k].syn = test::frame_builder().eth(inside_hop, inside_mac).ipv4("10.0.0.5", "198.51.100.7")
            .tcp(port, 443, net::tcp_syn).tcp_seq(1000, 0).build();
        v[k].synack = test::frame_builder().eth(outside_hop, outside_mac).ipv4("198.51.100.7", "203.0.113.10")
            .tcp(443, port, net::tcp_syn | net::tcp_ack).tcp_seq(5000, 1001).build();
        for (std::size_t at = 0; at < hello.size(); at += pieces_of) {
            const std::size_t len = std::min(pieces_of, hello.size() - at);
            v[k].hello.push_back(client_segment(port, static_cast<uint32_t>(1001 + at),
                                                bytes(hello.begin() + static_cast<std::ptrdiff_t>(at),
                                                      hello.begin() + static_cast<std::ptrdiff_t>(at + len))));
        }
        v[k].hello_bytes = hello.size();
        v[k].data = client_segment(port, static_cast<uint32_t>(1001 + hello.size()), bytes(500, 'x'));
    }
    return v;
}

struct timings {
    std::vector<double> ns;
    void add(uint64_t clocks, double scale) { ns.push_back(static_cast<double>(clocks) * scale); }
    void report(benchmark::State& state, const std::string& what) {
        std::sort(ns.begin(), ns.end());
        state.counters[what + "_p50_ns"] = ns[ns.size() / 2];
        state.counters[what + "_p99_ns"] = ns[ns.size() * 99 / 100];
    }
};

// Clocks of one process() call on a copy of `frame` (rewritten in place);
// `passed` counts the frames that went on in place.
uint64_t timed(gateway::gateway_core& core, side from, bytes frame, uint32_t now, uint64_t& passed) {
    const uint64_t t0 = __rdtsc();
    const gateway::packet_result r = core.process(from, frame, now);
    const uint64_t t = __rdtsc() - t0;
    passed += r.goes_on() ? 1 : 0;
    return t;
}

// Each iteration is one new flow: SYN, SYN-ACK, the hello (timed), one data segment (timed).
void run_flows(benchmark::State& state, std::size_t pieces_of) {
    const std::vector<flow_frames> frames = build_flows(pieces_of);
    const auto active = bench_policy();
    auto core = std::make_unique<gateway::gateway_core>(network_settings(1u << 14));
    core->use_policy(active.get());
    const double scale = ns_per_clock();
    timings held, deciding, established;
    uint64_t n = 0, passed = 0, data_passed = 0;
    for (auto _ : state) {
        const flow_frames& f = frames[n++ % flows];
        timed(*core, side::inside, f.syn, 2, passed);
        timed(*core, side::outside, f.synack, 2, passed);
        for (std::size_t p = 0; p + 1 < f.hello.size(); ++p)
            held.add(timed(*core, side::inside, f.hello[p], 2, passed), scale);
        deciding.add(timed(*core, side::inside, f.hello.back(), 2, passed), scale);
        established.add(timed(*core, side::inside, f.data, 2, data_passed), scale);
    }
    if (!held.ns.empty()) held.report(state, "held");
    deciding.report(state, "allowing");
    established.report(state, "established");
    state.counters["hello_segments"] = static_cast<double>(frames[0].hello.size());
    state.counters["hello_bytes"] = static_cast<double>(frames[0].hello_bytes);
    // Every flow allowed: its data segment went on (a denied flow's would not).
    state.counters["data_forwarded"] = static_cast<double>(data_passed) / static_cast<double>(n);
}

void bm_hello_one_segment(benchmark::State& state) { run_flows(state, 1u << 16); }
void bm_hello_seven_bytes(benchmark::State& state) { run_flows(state, piece); }
BENCHMARK(bm_hello_one_segment)->Iterations(flows);
BENCHMARK(bm_hello_seven_bytes)->Iterations(flows);

} // namespace

BENCHMARK_MAIN();
