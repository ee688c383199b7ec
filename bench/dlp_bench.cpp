// Streaming DLP (lib/dlp/dlp): scan throughput per core on a payload-heavy
// mix, per-segment overhead for small segments, a flow's stream acquire/release,
// datagrams, and build time.
//
// Payload: 8 MiB of generated HTTP-body-like text, a third each (by fragment
// count) HTML product listings, JSON API records (ids, UUIDs, timestamps,
// amounts, e-mail addresses) and base64 blocks (76-character lines), with one
// secret (AWS key, card number, JWT, Slack/GitHub token, PEM header, SSN) about
// every 128 KiB. It is cut into segments (1,460 bytes unless stated) dealt
// round-robin to 1,024 flows (so stream states and histories do not all sit in
// L1), every flow released at the end of a pass.
//
// Pattern sets (16 patterns, typical for DLP): cloud keys (AWS key id and secret,
// Google API key, Azure storage key, GCP service-account JSON), private keys (PEM,
// PGP), card numbers (Luhn), US SSN, JWT, Slack tokens and webhooks, GitHub
// tokens, Stripe keys, password assignments. Two variants differ only in the card
// pattern: "generic" uses the unit tests' \b(?:\d[ -]?){13,19}\b (every digit run
// in the text is a candidate: the expensive one), "issuer" anchors card numbers
// on the issuer prefixes (Visa, Mastercard incl. 2-series, Amex, Discover); a
// third run leaves the card pattern out (15 patterns) to show what it costs.
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include "dlp_corpus.hpp"
#include "dlp/dlp.hpp"

namespace {

using namespace egress::dlp;

using namespace egress_bench;

std::shared_ptr<const dlp_database> database(int variant) {
    static std::shared_ptr<const dlp_database> dbs[3];
    if (!dbs[variant]) {
        auto r = dlp_database::build(dlp_set(variant));
        if (!r.database) {
            fmt::print(stderr, "build: {}\n", r.error);
            std::abort();
        }
        dbs[variant] = r.database;
    }
    return dbs[variant];
}

std::shared_ptr<dlp_scanner> make_scanner(int variant, uint32_t streams, uint64_t depth = 0) {
    dlp_scanner_config cfg;
    cfg.max_streams = streams;
    cfg.depth_bytes = depth;
    auto r = dlp_scanner::create(database(variant), cfg);
    if (!r.scanner) {
        fmt::print(stderr, "scanner: {}\n", r.error);
        std::abort();
    }
    return r.scanner;
}

constexpr std::size_t flows_in_flight = 1024;

// ---- throughput ---------------------------------------------------------------------

// Args: card variant, segment size.
void bm_dlp_stream(benchmark::State& state) {
    const int variant = static_cast<int>(state.range(0));
    const auto seg = static_cast<std::size_t>(state.range(1));
    const std::string& data = corpus();
    auto scanner = make_scanner(variant, flows_in_flight);
    std::vector<dlp_flow_state> flows(flows_in_flight);
    const std::size_t segments = data.size() / seg;
    uint64_t matches = 0;
    uint64_t bytes = 0;
    auto sink = [&](const dlp_match&) { ++matches; };
    for (auto _ : state) {
        for (std::size_t i = 0; i < segments; ++i) {
            auto& f = flows[i % flows_in_flight];
            const auto st = scanner->scan(f, dlp_direction::outbound,
                                          {reinterpret_cast<const uint8_t*>(data.data()) + i * seg, seg}, sink);
            benchmark::DoNotOptimize(st);
        }
        for (auto& f : flows) {
            dlp_scanner::release(f);
            f = dlp_flow_state{};
        }
        bytes += segments * seg;
    }
    state.SetBytesProcessed(static_cast<int64_t>(bytes));
    state.counters["Gbps"] = benchmark::Counter(static_cast<double>(bytes) * 8 / 1e9, benchmark::Counter::kIsRate);
    state.counters["ns_per_segment"] =
        benchmark::Counter(static_cast<double>(state.iterations() * segments) / 1e9,
                           benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
    state.counters["matches_per_pass"] = static_cast<double>(matches) / static_cast<double>(state.iterations());
    state.counters["stream_B"] = static_cast<double>(scanner->database().stream_bytes(dlp_direction::outbound));
    state.counters["flow_state_B"] = sizeof(dlp_flow_state);
    state.SetLabel(variant == generic_card ? "generic card regex" : variant == issuer_card ? "issuer card regex" : "15 patterns, no card");
}
BENCHMARK(bm_dlp_stream)
    ->ArgNames({"card", "seg"})
    ->Args({generic_card, 1460})
    ->Args({issuer_card, 1460})
    ->Args({issuer_card, 8192})
    ->Args({no_card, 1460})
    ->Unit(benchmark::kMillisecond);

// Small segments: the fixed cost per scan() call (Hyperscan stream call, history,
// flow bookkeeping). Args: segment size.
void bm_dlp_small_segments(benchmark::State& state) {
    const auto seg = static_cast<std::size_t>(state.range(0));
    const std::string& data = corpus();
    auto scanner = make_scanner(issuer_card, flows_in_flight);
    std::vector<dlp_flow_state> flows(flows_in_flight);
    uint64_t matches = 0;
    auto sink = [&](const dlp_match&) { ++matches; };
    std::size_t i = 0;
    const std::size_t segments = data.size() / seg;
    for (auto _ : state) {
        auto& f = flows[i % flows_in_flight];
        benchmark::DoNotOptimize(scanner->scan(f, dlp_direction::outbound,
                                               {reinterpret_cast<const uint8_t*>(data.data()) + (i % segments) * seg, seg},
                                               sink));
        ++i;
    }
    for (auto& f : flows) dlp_scanner::release(f);
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * seg));
}
BENCHMARK(bm_dlp_small_segments)->ArgName("seg")->Arg(1)->Arg(16)->Arg(64)->Arg(128)->Arg(256)->Arg(512);

// A flow's life: the first segment (acquire a stream), then finish (end-of-data
// matches, reset, release). Arg: request size.
void bm_dlp_flow_lifecycle(benchmark::State& state) {
    const auto size = static_cast<std::size_t>(state.range(0));
    const std::string& data = corpus();
    auto scanner = make_scanner(issuer_card, 16);
    auto sink = [](const dlp_match&) {};
    std::size_t at = 0;
    for (auto _ : state) {
        dlp_flow_state f;
        scanner->scan(f, dlp_direction::outbound, {reinterpret_cast<const uint8_t*>(data.data()) + at, size}, sink);
        scanner->finish(f, dlp_direction::outbound, sink);
        at = (at + size) % (data.size() - size);
    }
}
BENCHMARK(bm_dlp_flow_lifecycle)->ArgName("bytes")->Arg(200)->Arg(1460);

// One datagram, scanned whole (dedicated stream, reset with end-of-data matches).
void bm_dlp_datagram(benchmark::State& state) {
    const auto size = static_cast<std::size_t>(state.range(0));
    const std::string& data = corpus();
    auto scanner = make_scanner(issuer_card, 0);
    dlp_flow_state f;
    auto sink = [](const dlp_match&) {};
    std::size_t at = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(
            scanner->scan_datagram(f, dlp_direction::outbound, {reinterpret_cast<const uint8_t*>(data.data()) + at, size}, sink));
        at = (at + size) % (data.size() - size);
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * size));
}
BENCHMARK(bm_dlp_datagram)->ArgName("bytes")->Arg(100)->Arg(1200);

// Stream normalisation (flow_policy_stage::dlp_segment): a retransmission of
// scanned bytes is compared with the last 64 scanned bytes and, reaching
// further back, scanned again whole (rescan). Arg: segment size (64: compare
// only; 1460: compare and rescan).
void bm_dlp_retransmission(benchmark::State& state) {
    const auto seg = static_cast<std::size_t>(state.range(0));
    const std::string& data = corpus();
    auto scanner = make_scanner(issuer_card, 1);
    dlp_flow_state f;
    auto sink = [](const dlp_match&) {};
    const std::span<const uint8_t> bytes{reinterpret_cast<const uint8_t*>(data.data()), seg};
    scanner->scan(f, dlp_direction::outbound, bytes, sink);
    for (auto _ : state) {
        const dlp_overlap o = compare_scanned(f.of(dlp_direction::outbound), 0, bytes);
        if (o == dlp_overlap::uncomparable)
            benchmark::DoNotOptimize(scanner->rescan(f, dlp_direction::outbound, 0, bytes, sink));
        benchmark::DoNotOptimize(o);
    }
    dlp_scanner::release(f);
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * seg));
}
BENCHMARK(bm_dlp_retransmission)->ArgName("seg")->Arg(64)->Arg(1460);

// Control plane: compiling the 16 patterns, and a scanner with 100,000 streams.
void bm_dlp_build(benchmark::State& state) {
    const int variant = static_cast<int>(state.range(0));
    for (auto _ : state) benchmark::DoNotOptimize(dlp_database::build(dlp_set(variant)));
    state.counters["db_KiB"] = static_cast<double>(database(variant)->database_bytes()) / 1024;
}
BENCHMARK(bm_dlp_build)->ArgName("card")->Arg(generic_card)->Arg(issuer_card)->Unit(benchmark::kMillisecond);

void bm_dlp_scanner_create(benchmark::State& state) {
    const auto streams = static_cast<uint32_t>(state.range(0));
    std::size_t mem = 0;
    for (auto _ : state) {
        auto s = make_scanner(issuer_card, streams);
        mem = s->stream_memory_bytes();
    }
    state.counters["stream_MiB"] = static_cast<double>(mem) / (1 << 20);
}
BENCHMARK(bm_dlp_scanner_create)->ArgName("streams")->Arg(100'000)->Unit(benchmark::kMillisecond);

} // namespace

BENCHMARK_MAIN();
