// verify = "observed" / "resolve" through gateway_core (issue 16): clocks per
// new TLS flow decided (SYN, SYN-ACK, the ClientHello segment: flow creation,
// NAT, hold, hello parse, hostname match, release) with the rule's verify off,
// observed, and resolve with the answers cached (the difference is the
// verification); DNS responses recorded per second through the packet path
// (flow lookup, tracking, parse, record, NAT); bytes per cached binding; and,
// for verify = "resolve", the time from a worker's lookup request to the
// answer in its cache with the real resolver thread (c-ares) asking Debian's
// dnsmasq on 127.0.0.1 (median, p99).
#include <x86intrin.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "../tests/unit/control/dnsmasq_server.hpp"
#include "../tests/unit/dns/dns_builder.hpp"
#include "../tests/unit/net/packet_builder.hpp"
#include "../tests/unit/tls/hello_builder.hpp"
#include "bench_network.hpp"
#include "dns_resolver.hpp"
#include "gateway/gateway_core.hpp"

namespace {

using namespace egress;
using bytes = std::vector<uint8_t>;
using stats::side;

using namespace egress::bench;
constexpr uint32_t flows = 16384;
constexpr uint32_t names = 256;

gateway::settings bench_settings() {
    gateway::settings s = network_settings(1u << 15);
    s.dns.observed.max_bindings = 1u << 16;
    s.dns.observed.max_bindings_per_scope = 1u << 16;
    s.dns.resolve.resolvers = {net::endpoint{test::ip("127.0.0.1"), 53}}; // the cache exists; nothing is asked
    s.dns.resolve.cache_bindings = 1u << 16;
    return s;
}

// 0: verify off, 1: observed, 2: resolve.
std::unique_ptr<policy::active_policy> bench_policy(int verify) {
    policy::policy_spec spec;
    const auto any_v4 = *policy::cidr::parse("0.0.0.0/0", nullptr);
    policy::rule_spec site;
    site.name = "site";
    site.destinations = {any_v4};
    site.proto = policy::protocol::tcp;
    site.ports = {{443, 443}};
    site.hostnames = {"*.shop.example"};
    site.action = policy::verdict::allow;
    if (verify != 0) site.verify = verify == 1 ? policy::verify_mode::observed : policy::verify_mode::resolve;
    policy::rule_spec dns;
    dns.name = "dns";
    dns.destinations = {any_v4};
    dns.proto = policy::protocol::udp;
    dns.ports = {{53, 53}};
    dns.action = policy::verdict::allow;
    spec.rules = {site, dns};
    return std::make_unique<policy::active_policy>(policy::compiled_policy::compile(spec).policy);
}

std::string dotted(uint32_t a) {
    std::string s;
    for (int shift = 24; shift >= 0; shift -= 8) {
        if (shift != 24) s += '.';
        s += std::to_string((a >> shift) & 0xff);
    }
    return s;
}

// Appended piece by piece: g++ 12 -O3 warns falsely (-Wrestrict) on "literal" + std::string&&.
std::string name_of(uint32_t i) {
    std::string s = "www";
    s += std::to_string(i);
    s += ".shop.example";
    return s;
}
uint32_t address_of(uint32_t i) { return 0xc6336400u + (i & 0xff); } // 198.51.100.x

// The response for name i (A, TTL 300), from 198.51.100.53:53 to the public address:port.
bytes dns_frame(uint32_t i, uint16_t port) {
    dns::test::response_builder r;
    r.question_name = dns::test::name(name_of(i));
    const uint32_t a = address_of(i);
    r.a(name_of(i), 300, static_cast<uint8_t>(a >> 24), static_cast<uint8_t>(a >> 16), static_cast<uint8_t>(a >> 8),
        static_cast<uint8_t>(a));
    return test::frame_builder().eth(outside_hop, outside_mac).ipv4("198.51.100.53", "203.0.113.10").udp(53, port)
        .payload(r.build()).build();
}

// Opens the DNS flow from 10.0.0.5 and records every name's answer.
void resolve_all(gateway::gateway_core& core, uint32_t now) {
    bytes q = test::frame_builder().eth(inside_hop, inside_mac).ipv4("10.0.0.5", "198.51.100.53").udp(5353, 53)
        .payload("q").build();
    core.process(side::inside, q, now);
    for (uint32_t i = 0; i < names; ++i) {
        bytes a = dns_frame(i, 5353);
        core.process(side::outside, a, now);
    }
}

struct tls_frames {
    bytes syn, synack, hello;
};

std::vector<tls_frames> build_flows() {
    std::vector<tls_frames> v(flows);
    for (uint32_t k = 0; k < flows; ++k) {
        const uint16_t port = static_cast<uint16_t>(20000 + k);
        const std::string dst = dotted(address_of(k % names));
        tls::test::hello_builder h;
        h.extensions.push_back(tls::test::sni_ext(name_of(k % names)));
        h.extensions.push_back(tls::test::supported_versions_ext());
        v[k].syn = test::frame_builder().eth(inside_hop, inside_mac).ipv4("10.0.0.5", dst).tcp(port, 443, net::tcp_syn)
            .tcp_seq(1000, 0).build();
        v[k].synack = test::frame_builder().eth(outside_hop, outside_mac).ipv4(dst, "203.0.113.10")
            .tcp(443, port, net::tcp_syn | net::tcp_ack).tcp_seq(5000, 1001).build();
        v[k].hello = test::frame_builder().eth(inside_hop, inside_mac).ipv4("10.0.0.5", dst)
            .tcp(port, 443, net::tcp_ack | net::tcp_psh).tcp_seq(1001, 5001).payload(tls::test::records(h.message()))
            .build();
    }
    return v;
}

// verify = "resolve" with every name cached: the answers as the resolver
// thread hands them back, taken by the worker's loop.
void cache_all(gateway::gateway_core& core, dns::answer_ring& ring, uint32_t now) {
    auto a = std::make_unique<dns::lookup_answer>();
    for (uint32_t i = 0; i < names; ++i) {
        dns::test::response_builder r;
        r.question_name = dns::test::name(name_of(i));
        const uint32_t addr = address_of(i);
        r.a(name_of(i), 300, static_cast<uint8_t>(addr >> 24), static_cast<uint8_t>(addr >> 16),
            static_cast<uint8_t>(addr >> 8), static_cast<uint8_t>(addr));
        const bytes m = r.build();
        dns::lookup_request q;
        dns::make_request(name_of(i), dns::lookup_family::v4, q);
        a->family = q.family;
        a->length = q.length;
        std::memcpy(a->name, q.name, sizeof a->name);
        a->status = dns::lookup_status::answered;
        a->size = static_cast<uint16_t>(m.size());
        std::memcpy(a->response, m.data(), m.size());
        ring.try_push(*a);
        core.expire(now, 64);
    }
}

void bm_new_tls_flow(benchmark::State& state) {
    const int verify = static_cast<int>(state.range(0));
    const std::vector<tls_frames> frames = build_flows();
    const auto active = bench_policy(verify);
    auto core = std::make_unique<gateway::gateway_core>(bench_settings());
    core->use_policy(active.get());
    dns::request_ring requests{1024};
    dns::answer_ring answers{64};
    core->attach_resolver(&requests, &answers);
    resolve_all(*core, 1);
    cache_all(*core, answers, 1);
    uint64_t clocks = 0, n = 0;
    for (auto _ : state) {
        tls_frames f = frames[n % flows]; // copies: the gateway rewrites frames in place
        const uint64_t t0 = __rdtsc();
        core->process(side::inside, f.syn, 2);
        core->process(side::outside, f.synack, 2);
        const gateway::packet_result r = core->process(side::inside, f.hello, 2);
        clocks += __rdtsc() - t0;
        benchmark::DoNotOptimize(r);
        ++n;
    }
    state.counters["clocks_per_flow"] = static_cast<double>(clocks) / static_cast<double>(n);
    state.counters["verified"] = static_cast<double>(core->counters().sni_verified);
    state.counters["unverified"] = static_cast<double>(core->counters().sni_unverified);
    state.counters["lookups"] = static_cast<double>(core->counters().resolve_lookups);
}
// Each run is one pass over fresh flows (a flow decided twice would not be new).
BENCHMARK(bm_new_tls_flow)->Arg(0)->Arg(1)->Arg(2)->Iterations(flows);

// verify = "resolve", a name not cached: from the worker's request (the first
// resolve()) to the answer in its cache (resolve() verified), through the
// resolver thread, c-ares and dnsmasq on 127.0.0.1. The worker's side polls
// as its loop would (take_answers, then asks again). A flow's verdict comes at
// its client's next segment after that (its retransmission): not measured here.
void bm_lookup_to_answer(benchmark::State& state) {
    test::dnsmasq_server dnsmasq({"--address=/bench.test/198.51.100.7", "--local-ttl=300"});
    if (!dnsmasq.started()) return state.SkipWithError("dnsmasq did not start");
    gateway::dns_settings ds;
    ds.resolve.resolvers = {net::endpoint{test::ip("127.0.0.1"), dnsmasq.port()}};
    stats::worker_counters counters;
    gateway::dns_observer worker(ds, counters);
    dns::request_ring requests{256};
    dns::answer_ring answers{256};
    worker.attach_resolver(&requests, &answers);
    controlplane::resolver_service thread(ds.resolve, {&requests}, {&answers});
    thread.start();
    usleep(300'000); // dnsmasq binds its socket
    const auto start = std::chrono::steady_clock::now();
    const auto ms = [&] {
        return static_cast<uint32_t>(
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count());
    };
    const net::ip_address dst = test::ip("198.51.100.7");
    std::vector<double> us;
    uint64_t n = 0, failed = 0;
    for (auto _ : state) {
        const std::string name = "n" + std::to_string(n++) + ".bench.test";
        const auto t0 = std::chrono::steady_clock::now();
        gateway::resolve_result r = worker.resolve(name, dst, ms());
        while (r == gateway::resolve_result::waiting) {
            _mm_pause();
            worker.take_answers(ms());
            r = worker.resolve(name, dst, ms());
        }
        us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
        failed += r != gateway::resolve_result::verified ? 1 : 0;
    }
    thread.stop();
    std::sort(us.begin(), us.end());
    state.counters["median_us"] = us[us.size() / 2];
    state.counters["p99_us"] = us[us.size() * 99 / 100];
    state.counters["not_verified"] = static_cast<double>(failed);
}
BENCHMARK(bm_lookup_to_answer)->Iterations(2000)->UseRealTime();

void bm_dns_answer(benchmark::State& state) {
    const auto active = bench_policy(1);
    auto core = std::make_unique<gateway::gateway_core>(bench_settings());
    core->use_policy(active.get());
    bytes q = test::frame_builder().eth(inside_hop, inside_mac).ipv4("10.0.0.5", "198.51.100.53").udp(5353, 53)
        .payload("q").build();
    core->process(side::inside, q, 1);
    std::vector<bytes> answers;
    for (uint32_t i = 0; i < names; ++i) answers.push_back(dns_frame(i, 5353));
    bytes frame(2048);
    uint64_t n = 0;
    for (auto _ : state) {
        const bytes& a = answers[n % names];
        std::memcpy(frame.data(), a.data(), a.size()); // the gateway translates it in place
        benchmark::DoNotOptimize(core->process(side::outside, std::span<uint8_t>(frame.data(), a.size()), 1));
        ++n;
    }
    state.counters["answers_per_s"] = benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsRate);
    state.counters["recorded"] = static_cast<double>(core->counters().dns_responses);
    state.counters["bytes_per_binding"] = static_cast<double>(dns::observed_names::bytes_per_binding());
}
BENCHMARK(bm_dns_answer);

} // namespace

BENCHMARK_MAIN();
