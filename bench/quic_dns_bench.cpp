// Issue 16 building blocks, per decision: a QUIC client Initial decided (key
// derivation from the DCID, header protection, AES-GCM, frames, CRYPTO
// reassembly, ClientHello parse) for the RFC 9001 sample and a real two-datagram
// Chromium 156 first flight; DNS responses parsed (answers per second); the
// observed_names cache (record a response, verify an SNI/address pair, bytes per
// binding). TSC clocks per operation in the counters.
#include <x86intrin.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "../tests/unit/dns/dns_builder.hpp"
#include "dns/dns_message.hpp"
#include "dns/observed_names.hpp"
#include "quic/initial_inspector.hpp"

namespace {

using namespace egress;
using bytes = std::vector<uint8_t>;

bytes read_fixture(const std::string& name) {
    std::ifstream in(std::string(EGRESS_SOURCE_ROOT) + "/tests/unit/quic/data/" + name, std::ios::binary);
    return bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

bytes read_hex_fixture(const std::string& name) {
    const bytes text = read_fixture(name);
    bytes out;
    int hi = -1;
    for (uint8_t ch : text) {
        const int v = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
        if (v < 0) continue;
        if (hi < 0) {
            hi = v;
        } else {
            out.push_back(static_cast<uint8_t>(hi << 4 | v));
            hi = -1;
        }
    }
    return out;
}

// One new flow per iteration: a fresh initial_flow over reused storage, every
// datagram of its first flight, until complete.
void run_flows(benchmark::State& state, const std::vector<bytes>& flight) {
    quic::initial_inspector inspector(16384);
    std::vector<uint8_t> storage(16384);
    uint64_t clocks = 0, flows = 0;
    for (auto _ : state) {
        const uint64_t t0 = __rdtsc();
        quic::initial_flow flow(storage);
        quic::initial_result r;
        for (const auto& d : flight) r = inspector.inspect(flow, d);
        clocks += __rdtsc() - t0;
        ++flows;
        if (r.status != quic::initial_status::complete) state.SkipWithError("flight not complete");
        benchmark::DoNotOptimize(r.hello);
    }
    state.counters["clocks_per_flow"] = static_cast<double>(clocks) / static_cast<double>(flows);
}

void bm_quic_initial_rfc9001(benchmark::State& state) {
    run_flows(state, {read_hex_fixture("rfc9001_client_initial.hex")});
}
BENCHMARK(bm_quic_initial_rfc9001);

void bm_quic_initial_chromium(benchmark::State& state) {
    run_flows(state, {read_fixture("chromium-156-a.0.bin"), read_fixture("chromium-156-a.1.bin")});
}
BENCHMARK(bm_quic_initial_chromium);

void bm_quic_key_derivation(benchmark::State& state) {
    quic::initial_crypto crypto;
    const bytes dcid = {0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08};
    quic::initial_keys keys;
    uint64_t clocks = 0, n = 0;
    for (auto _ : state) {
        const uint64_t t0 = __rdtsc();
        benchmark::DoNotOptimize(crypto.derive(quic::version_1, dcid, quic::endpoint_side::client, keys));
        clocks += __rdtsc() - t0;
        ++n;
    }
    state.counters["clocks"] = static_cast<double>(clocks) / static_cast<double>(n);
}
BENCHMARK(bm_quic_key_derivation);

// A response to "www.shop.example": a CNAME to a CDN name and N A records.
bytes cdn_response(int addresses, uint32_t salt = 0) {
    dns::test::response_builder b;
    b.question_name = dns::test::name("www" + std::to_string(salt) + ".shop.example");
    b.record(dns::test::pointer(12), dns::type_cname, 300, dns::test::name("edge.cdn.example"));
    for (int i = 0; i < addresses; ++i)
        b.record(dns::test::name("edge.cdn.example"), dns::type_a, 60,
                 {198, 51, static_cast<uint8_t>(salt), static_cast<uint8_t>(i)});
    return b.build();
}

void bm_dns_parse(benchmark::State& state) {
    const bytes msg = cdn_response(static_cast<int>(state.range(0)));
    uint64_t answers = 0;
    for (auto _ : state) {
        dns::dns_response r;
        benchmark::DoNotOptimize(r.open(msg));
        dns::dns_answer a;
        while (r.next_answer(a) == dns::dns_status::ok) ++answers;
        benchmark::DoNotOptimize(a.ttl);
    }
    state.counters["answers_per_s"] = benchmark::Counter(static_cast<double>(answers), benchmark::Counter::kIsRate);
}
BENCHMARK(bm_dns_parse)->Arg(1)->Arg(4)->Arg(16);

dns::observed_limits bench_limits() {
    dns::observed_limits l;
    l.max_bindings = 65536;
    l.max_bindings_per_scope = 65536;
    l.max_scopes = 1024;
    return l;
}

void bm_observed_record(benchmark::State& state) {
    dns::observed_names cache(bench_limits(), 0x1234);
    std::vector<bytes> responses;
    for (uint32_t i = 0; i < 256; ++i) responses.push_back(cdn_response(4, i));
    const auto scope = net::ip_address::from_v4(0x0a000001);
    uint64_t answers = 0;
    uint32_t i = 0;
    for (auto _ : state) {
        const uint32_t k = i++;
        benchmark::DoNotOptimize(cache.record(scope, responses[k & 255], k >> 8));
        answers += 5;
    }
    state.counters["answers_per_s"] = benchmark::Counter(static_cast<double>(answers), benchmark::Counter::kIsRate);
    state.counters["bytes_per_binding"] =
        static_cast<double>(cache.memory_bytes()) / static_cast<double>(bench_limits().max_bindings);
}
BENCHMARK(bm_observed_record);

void bm_observed_verified(benchmark::State& state) {
    dns::observed_names cache(bench_limits(), 0x1234);
    const auto scope = net::ip_address::from_v4(0x0a000001);
    for (uint32_t i = 0; i < 256; ++i) cache.record(scope, cdn_response(16, i), 0); // 8,192 bindings
    std::vector<std::string> names;
    for (uint32_t i = 0; i < 256; ++i) names.push_back("www" + std::to_string(i) + ".shop.example");
    uint64_t clocks = 0, n = 0, hits = 0;
    uint32_t i = 0;
    for (auto _ : state) {
        const uint32_t k = i++;
        const auto addr = net::ip_address::from_v4(0xc6330000u | ((k & 255) << 8) | ((k >> 8) & 31));
        const uint64_t t0 = __rdtsc();
        hits += cache.verified(scope, names[k & 255], addr, 1) ? 1 : 0;
        clocks += __rdtsc() - t0;
        ++n;
    }
    state.counters["clocks"] = static_cast<double>(clocks) / static_cast<double>(n);
    state.counters["hit_ratio"] = static_cast<double>(hits) / static_cast<double>(n);
    state.counters["bindings"] = static_cast<double>(cache.size());
}
BENCHMARK(bm_observed_verified);

} // namespace

BENCHMARK_MAIN();
