// Flow steering between workers (lib/gateway/steering, lib/net/toeplitz): the
// per-packet cost of naming a frame's owner, and the Toeplitz hash itself.
#include <benchmark/benchmark.h>

#include <array>
#include <cstring>
#include <vector>

#include "gateway/steering.hpp"
#include "net/toeplitz.hpp"

namespace {

using namespace egress;

// 1024 IPv4 UDP frames (64 bytes) from distinct inside ports, or their replies.
std::vector<std::array<uint8_t, 64>> frames(bool reply) {
    std::vector<std::array<uint8_t, 64>> out(1024);
    for (std::size_t i = 0; i < out.size(); ++i) {
        auto& f = out[i];
        f.fill(0);
        f[12] = 0x08;
        f[14] = 0x45;
        f[16] = 0;
        f[17] = 46;
        f[23] = 17;
        const uint8_t in[4] = {10, 0, 0, static_cast<uint8_t>(5 + i % 200)};
        const uint8_t pub[4] = {203, 0, 113, 10};
        const uint8_t remote[4] = {198, 51, 100, 7};
        std::memcpy(&f[26], reply ? remote : in, 4);
        std::memcpy(&f[30], reply ? pub : remote, 4);
        const uint16_t port = static_cast<uint16_t>(20000 + i * 37);
        const uint16_t sport = reply ? 53 : port, dport = reply ? port : 53;
        f[34] = static_cast<uint8_t>(sport >> 8);
        f[35] = static_cast<uint8_t>(sport);
        f[36] = static_cast<uint8_t>(dport >> 8);
        f[37] = static_cast<uint8_t>(dport);
        f[38] = 0;
        f[39] = 26;
    }
    return out;
}

void BM_owner(benchmark::State& state) {
    gateway::steering_settings s;
    s.workers = 4;
    s.rss = state.range(1) != 0;
    const gateway::steering st(s);
    const bool outside = state.range(0) != 0;
    const auto fs = frames(outside);
    std::size_t i = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(st.owner(outside ? stats::side::outside : stats::side::inside, fs[i]));
        i = (i + 1) & 1023;
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
// {inside 0 / outside 1, software 0 / rss 1}
BENCHMARK(BM_owner)->Args({0, 0})->Args({1, 0})->Args({1, 1});

void BM_toeplitz_v4_tuple(benchmark::State& state) {
    const net::toeplitz_table t(net::default_rss_key);
    uint32_t x = 1;
    for (auto _ : state) {
        x = t.hash_v4(x, 0xcb00710a, static_cast<uint16_t>(x), 443);
        benchmark::DoNotOptimize(x);
    }
}
BENCHMARK(BM_toeplitz_v4_tuple);

} // namespace

BENCHMARK_MAIN();
