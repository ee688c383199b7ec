// The compiled egress policy: evaluate() with 100 and 100,000 rules, and the
// compile time of 100,000 rules. Rules: random IPv4 destinations /16../28 over
// the whole address space (1 in 20 rules an IPv6 /32../64), sources a random
// group (or any), protocol tcp/udp/any, some with ports. Queries mostly land
// inside some rule's destination, so the candidate lists are not empty.
#include <algorithm>
#include <random>
#include <vector>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include "flow/flow_table.hpp"
#include "gateway/flow_query.hpp"
#include "policy/active_policy.hpp"
#include "policy/compiled_policy.hpp"

namespace {

using namespace egress::policy;
using egress::net::ip_address;

cidr make_cidr(ip_address a, unsigned len, bool v4) {
    const unsigned bits = v4 ? 96 + len : len;
    for (unsigned bit = bits; bit < 128; ++bit) a.bytes[bit / 8] = static_cast<uint8_t>(a.bytes[bit / 8] & ~(0x80u >> (bit % 8)));
    return cidr{a, static_cast<uint8_t>(bits)};
}

ip_address random_v6(std::mt19937_64& rng) {
    ip_address a = *ip_address::parse("2001:db8::");
    for (int i = 4; i < 16; ++i) a.bytes[static_cast<std::size_t>(i)] = static_cast<uint8_t>(rng());
    a.bytes[4] &= 0x0f;
    return a;
}

policy_spec make_policy(std::size_t rules, uint64_t seed) {
    std::mt19937_64 rng(seed);
    policy_spec spec;
    for (int g = 0; g < 64; ++g) {
        group_spec group{fmt::format("g{}", g), {}, {}};
        group.cidrs.push_back(make_cidr(ip_address::from_v4(0x0a000000u | (static_cast<uint32_t>(rng()) & 0xffffffu)),
                                        16 + static_cast<unsigned>(rng() % 9), true));
        if (g % 8 == 0) group.cidrs.push_back(make_cidr(random_v6(rng), 48 + static_cast<unsigned>(rng() % 17), false));
        spec.groups.push_back(std::move(group));
    }
    const protocol protocols[] = {protocol::tcp, protocol::udp, protocol::any};
    for (std::size_t i = 0; i < rules; ++i) {
        rule_spec r;
        r.name = fmt::format("r{}", i);
        r.any_source = rng() % 4 == 0;
        if (!r.any_source) r.source_groups.push_back(static_cast<uint32_t>(rng() % spec.groups.size()));
        if (i % 20 == 19) {
            r.destinations.push_back(make_cidr(random_v6(rng), 32 + static_cast<unsigned>(rng() % 33), false));
        } else {
            r.destinations.push_back(make_cidr(ip_address::from_v4(static_cast<uint32_t>(rng())),
                                               16 + static_cast<unsigned>(rng() % 13), true));
        }
        r.proto = protocols[rng() % 3];
        if (r.proto != protocol::any && rng() % 2 == 0) {
            const auto lo = static_cast<uint16_t>(1 + rng() % 60000);
            r.ports.push_back(port_range{lo, static_cast<uint16_t>(lo + rng() % 1000)});
        }
        r.action = rng() % 2 == 0 ? verdict::allow : verdict::deny;
        spec.rules.push_back(std::move(r));
    }
    return spec;
}

ip_address inside(std::mt19937_64& rng, const cidr& c) {
    ip_address a = c.is_v4() ? ip_address::from_v4(static_cast<uint32_t>(rng())) : random_v6(rng);
    for (unsigned bit = 0; bit < c.prefix_len; ++bit) {
        const uint8_t m = static_cast<uint8_t>(0x80u >> (bit % 8));
        a.bytes[bit / 8] = static_cast<uint8_t>((a.bytes[bit / 8] & ~m) | (c.base.bytes[bit / 8] & m));
    }
    return a;
}

std::vector<query> make_queries(const policy_spec& spec, std::size_t n, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<query> out;
    for (std::size_t i = 0; i < n; ++i) {
        const rule_spec& r = spec.rules[rng() % spec.rules.size()];
        const cidr& d = r.destinations.front();
        const group_spec& g = spec.groups[rng() % spec.groups.size()];
        const cidr* s = nullptr;
        for (const cidr& c : g.cidrs) {
            if (c.is_v4() == d.is_v4()) s = &c;
        }
        query q;
        q.dst = rng() % 8 == 0 ? (d.is_v4() ? ip_address::from_v4(static_cast<uint32_t>(rng())) : random_v6(rng))
                               : inside(rng, d);
        q.src = s != nullptr ? inside(rng, *s) : (d.is_v4() ? ip_address::from_v4(0x0a000001u) : random_v6(rng));
        q.proto = rng() % 2 == 0 ? 6 : 17;
        q.dst_port = static_cast<uint16_t>(r.ports.empty() ? 1 + rng() % 65535 : r.ports.front().lo);
        out.push_back(q);
    }
    return out;
}

void bm_evaluate(benchmark::State& state) {
    const policy_spec spec = make_policy(static_cast<std::size_t>(state.range(0)), 1);
    const compile_result compiled = compiled_policy::compile(spec);
    if (!compiled.policy) {
        state.SkipWithError(compiled.error.c_str());
        return;
    }
    const compiled_policy& policy = *compiled.policy;
    const std::vector<query> queries = make_queries(spec, 1 << 16, 2);
    std::size_t i = 0;
    std::size_t matched = 0;
    for (auto _ : state) {
        const decision d = policy.evaluate(queries[i]);
        benchmark::DoNotOptimize(d);
        matched += d.rule != no_rule;
        i = (i + 1) & (queries.size() - 1);
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
    state.counters["matched_pct"] = 100.0 * static_cast<double>(matched) / static_cast<double>(state.iterations());
    state.counters["policy_MiB"] = static_cast<double>(policy.memory_bytes()) / (1 << 20);
}
BENCHMARK(bm_evaluate)->Arg(100)->Arg(100'000);

void bm_compile(benchmark::State& state) {
    const policy_spec spec = make_policy(static_cast<std::size_t>(state.range(0)), 1);
    for (auto _ : state) {
        compile_result r = compiled_policy::compile(spec);
        benchmark::DoNotOptimize(r.policy.get());
    }
}
BENCHMARK(bm_compile)->Arg(100'000)->Unit(benchmark::kMillisecond);

// A new flow's decision with emergency blocks in force (checked before the
// rules): the 100-rule policy plus state.range(0) blocked /24s.
void bm_evaluate_with_blocks(benchmark::State& state) {
    const policy_spec spec = make_policy(100, 1);
    std::shared_ptr<const compiled_policy> compiled = compiled_policy::compile(spec).policy;
    std::mt19937_64 rng(3);
    std::vector<block_entry> blocks;
    for (int64_t i = 0; i < state.range(0); ++i)
        blocks.push_back({make_cidr(ip_address::from_v4(static_cast<uint32_t>(rng())), 24, true), 0, 0});
    std::sort(blocks.begin(), blocks.end(), [](const block_entry& a, const block_entry& b) { return a.prefix.base < b.prefix.base; });
    blocks.erase(std::unique(blocks.begin(), blocks.end(),
                             [](const block_entry& a, const block_entry& b) { return a.prefix == b.prefix; }),
                 blocks.end());
    const active_policy active(compiled, std::make_shared<policy_counters>(compiled->rules().size()),
                               std::make_shared<const block_list>(blocks), 1, 1);
    const std::vector<query> queries = make_queries(spec, 1 << 16, 2);
    std::size_t i = 0;
    for (auto _ : state) {
        const decision d = active.evaluate(queries[i]);
        benchmark::DoNotOptimize(d);
        i = (i + 1) & (queries.size() - 1);
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(bm_evaluate_with_blocks)->Arg(10)->Arg(10'000);

// egressctl flows on a worker: one slice (1,024 record slots, what the worker
// scans per loop) of a full scan of a 1M-flow table holding 900k flows, keeping
// the top 20 by bytes. The time per slice is the worker's extra stall per loop
// while a query runs.
void bm_flow_query_slice(benchmark::State& state) {
    using namespace egress;
    constexpr uint32_t capacity = 1u << 20;
    flow::flow_table table(capacity);
    std::mt19937_64 rng(4);
    for (uint32_t n = 0; n < capacity / 10 * 9; ++n) {
        flow::flow_record r;
        r.inside = ip_address::from_v4(0x0a000000u | static_cast<uint32_t>(rng() & 0xffffff));
        r.remote = ip_address::from_v4(static_cast<uint32_t>(rng()));
        r.inside_port = static_cast<uint16_t>(rng());
        r.remote_port = 443;
        r.public_addr = 0xcb00710a;
        r.public_port = static_cast<uint16_t>(rng());
        r.proto = 6;
        const uint32_t idx = table.insert(r);
        if (idx != flow::flow_table::npos) table.volume(idx).bytes_out = static_cast<uint32_t>(rng() >> 40);
    }
    constexpr uint32_t slice = 1024;
    uint64_t slices = 0;
    for (auto _ : state) {
        state.PauseTiming();
        gateway::flow_query q = gateway::flow_query::top_flows(20, std::nullopt, std::nullopt);
        state.ResumeTiming();
        while (!q.step(table, slice, 0)) ++slices;
        ++slices;
        benchmark::DoNotOptimize(q.matched);
    }
    // Seconds per slice (shown with an SI prefix: "6u" is 6 microseconds).
    state.counters["per_slice"] = benchmark::Counter(static_cast<double>(slices),
                                                     benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
    state.counters["flows"] = table.size();
}
BENCHMARK(bm_flow_query_slice)->Unit(benchmark::kMillisecond);

} // namespace

BENCHMARK_MAIN();
