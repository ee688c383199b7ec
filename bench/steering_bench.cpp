// Flow steering between workers (lib/gateway/steering, steering_stage,
// lib/net/toeplitz): the per-packet cost of naming a frame's owner, of the
// steering stage's whole answer (packet_result) for a parsed frame, and the
// Toeplitz hash itself.
#include <benchmark/benchmark.h>

#include <array>
#include <cstring>
#include <vector>

#include "gateway/steering.hpp"
#include "gateway/steering_stage.hpp"
#include "net/packet_parser.hpp"
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

// What a dispatching worker decides per frame it parsed (the parse is not
// timed): {inside 0 / outside 1, how}. how 0: steering::owner on the view and
// the fragment test, as worker::dispatch did before the steering stage (the
// baseline); 1: steering_stage::run and release_held, as it does now; 2: the
// same with an exception interface on the outside (every frame is also
// classified for the kernel). Four workers, no RSS, fragment steering on,
// this worker 0.
void BM_dispatch_decision(benchmark::State& state) {
    gateway::steering_settings s;
    s.workers = 4;
    const gateway::steering st(s);
    const bool outside = state.range(0) != 0;
    const stats::side from = outside ? stats::side::outside : stats::side::inside;
    const auto fs = frames(outside);
    std::vector<net::packet_view> views(fs.size());
    std::vector<stats::drop_reason> parsed(fs.size());
    for (std::size_t i = 0; i < fs.size(); ++i) parsed[i] = net::parse_frame(fs[i], views[i]);
    gateway::steering_stage_settings ss;
    ss.self = 0;
    ss.fragments = gateway::fragment_steering_settings{};
    ss.outside.exception.enabled = state.range(1) == 2;
    ss.outside.addresses = {net::ip_address::from_v4_bytes(std::array<uint8_t, 4>{192, 0, 2, 1}.data())};
    stats::worker_counters counters;
    gateway::steering_stage stage(st, ss, counters);
    gateway::fragment_steering fragments(*ss.fragments);
    std::size_t i = 0;
    uint64_t mine = 0;
    for (auto _ : state) {
        if (state.range(1) == 0) {
            gateway::fragment_info frag;
            uint16_t o = st.owner(from, views[i], parsed[i], &frag);
            if (frag.fragment) o = fragments.place(frag, o, nullptr, 0).owner;
            mine += o == gateway::steering::any || o == 0;
        } else {
            const gateway::packet_result r = stage.run(from, views[i], parsed[i], nullptr, 0);
            stage.release_held([&](void*) { ++mine; });
            mine += r.kind == gateway::verdict::forward;
        }
        i = (i + 1) & 1023;
    }
    benchmark::DoNotOptimize(mine);
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_dispatch_decision)->Args({0, 0})->Args({0, 1})->Args({1, 0})->Args({1, 1})->Args({1, 2});

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
