// Hostname inspection costs, once per inspected flow: parsing a ClientHello
// (one record, and split over three records) and matching a name against the
// policy's hostname database with 10 and 10,000 patterns (half exact names,
// half "*." wildcards).
#include <random>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include "../tests/unit/tls/hello_builder.hpp"
#include "policy/hostname_matcher.hpp"
#include "tls/client_hello.hpp"

namespace {

using namespace egress;

// About what current browsers send without post-quantum key shares (~520 bytes).
tls::test::bytes browser_hello(std::size_t record) {
    tls::test::hello_builder h;
    h.extensions = {tls::test::grease_ext(0x0a0a), tls::test::sni_ext("api.github.com"),
                    tls::test::alpn_ext({"h2", "http/1.1"}), tls::test::supported_versions_ext(),
                    tls::test::key_share_ext({{29, 32}, {23, 65}}), tls::test::opaque_ext(13, 18),
                    tls::test::opaque_ext(10, 10), tls::test::opaque_ext(21, 200)};
    return tls::test::records(h.message(), record);
}

void bm_client_hello_parse(benchmark::State& state) {
    const tls::test::bytes hello = browser_hello(static_cast<std::size_t>(state.range(0)));
    for (auto _ : state) {
        const tls::client_hello_info info = tls::parse_client_hello(hello, 16384);
        benchmark::DoNotOptimize(info.sni_length);
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * hello.size()));
    state.counters["hello_bytes"] = static_cast<double>(hello.size());
}
BENCHMARK(bm_client_hello_parse)->Arg(16384)->Arg(200);

void bm_hostname_match(benchmark::State& state) {
    std::vector<policy::hostname_matcher::pattern> patterns;
    const auto n = static_cast<uint32_t>(state.range(0));
    for (uint32_t i = 0; i < n; ++i)
        patterns.push_back({i, i % 2 ? fmt::format("*.svc{}.example.com", i) : fmt::format("api{}.example.net", i)});
    const policy::hostname_matcher m(patterns);
    std::vector<std::string> names;
    std::mt19937 rng(7);
    for (int i = 0; i < 1024; ++i) {
        const uint32_t k = rng() % n;
        names.push_back(i % 4 == 0 ? fmt::format("unknown{}.example.org", k)
                                   : k % 2 ? fmt::format("a.b.svc{}.example.com", k) : fmt::format("api{}.example.net", k));
    }
    uint32_t out[16];
    std::size_t i = 0;
    for (auto _ : state) {
        bool overflow = false;
        benchmark::DoNotOptimize(m.match(names[i++ & 1023], out, overflow));
    }
    state.counters["db_KiB"] = static_cast<double>(m.memory_bytes()) / 1024;
}
BENCHMARK(bm_hostname_match)->Arg(10)->Arg(10'000);

} // namespace

BENCHMARK_MAIN();
