// Micro benchmarks of the packet path, without EAL: parse, flow-table lookups,
// and whole gateway_core bursts (established flows and new flows). Clocks are TSC
// clocks per packet; "bytes_per_flow" is the flow table's allocation per unit of
// capacity. See bench/README.md for the figures and how they were taken.
#include <benchmark/benchmark.h>
#include <x86intrin.h>

#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "gateway/gateway_core.hpp"
#include "ipfix/encoder.hpp"
#include "ipfix/json_line.hpp"
#include "net/checksum.hpp"
#include "net/packet_parser.hpp"

namespace {

using namespace egress;

const net::mac_address inside_mac{{0x02, 0, 0, 0, 0x01, 0xfe}};
const net::mac_address outside_mac{{0x02, 0, 0, 0, 0x02, 0xfe}};
const net::mac_address inside_hop{{0x02, 0, 0, 0, 0x01, 0x01}};
const net::mac_address outside_hop{{0x02, 0, 0, 0, 0x02, 0x01}};

constexpr std::size_t frame_size = 64;
using frame = std::array<uint8_t, frame_size>;

void put16(uint8_t* p, uint16_t v) {
    p[0] = static_cast<uint8_t>(v >> 8);
    p[1] = static_cast<uint8_t>(v);
}

// A 64-byte Ethernet/IPv4/UDP frame from an inside host, checksums correct.
frame udp_frame(uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport) {
    frame f{};
    std::memcpy(&f[0], inside_mac.bytes.data(), 6);
    std::memcpy(&f[6], inside_hop.bytes.data(), 6);
    put16(&f[12], 0x0800);
    uint8_t* ip = &f[14];
    ip[0] = 0x45;
    put16(ip + 2, frame_size - 14 - 4); // leave 4 bytes as trailer, like an FCS-less minimum frame
    ip[8] = 64;
    ip[9] = 17;
    for (int i = 0; i < 4; ++i) {
        ip[12 + i] = static_cast<uint8_t>(src >> (24 - 8 * i));
        ip[16 + i] = static_cast<uint8_t>(dst >> (24 - 8 * i));
    }
    uint8_t* udp = ip + 20;
    put16(udp, sport);
    put16(udp + 2, dport);
    put16(udp + 4, frame_size - 14 - 4 - 20);
    net::packet_view v;
    if (net::parse_frame(std::span<const uint8_t>(f.data(), f.size()), v) != stats::no_drop) {
        // The IPv4 checksum is still zero: compute everything, then parse must pass.
    }
    v.l3_offset = 14;
    v.l4_offset = 34;
    v.l3_length = frame_size - 14 - 4;
    v.l4_length = v.l3_length - 20;
    v.family = net::ip_family::v4;
    v.proto = 17;
    net::recompute_checksums(std::span<uint8_t>(f.data(), f.size()), v);
    return f;
}

gateway::settings bench_settings(uint32_t max_flows) {
    gateway::settings s;
    s.inside.mac = inside_mac;
    s.inside.next_hop_mac = inside_hop;
    s.outside.mac = outside_mac;
    s.outside.next_hop_mac = outside_hop;
    s.pool = {{net::ip_address::from_v4(0xCB00710A), net::ip_address::from_v4(0xCB00710B)}, 1024, 65535};
    s.max_flows = max_flows;
    return s;
}

// Flow i: inside host 10.x.y.z (one per 64 flows), port 1024 + i % 64 ... to one of
// many servers, so every packet of a round hits a different flow.
frame flow_frame(uint32_t i) {
    return udp_frame(0x0A000000u + (i >> 6), static_cast<uint16_t>(1024 + (i & 63)), 0xC6336400u + (i % 251), 53);
}

std::vector<frame> make_flows(uint32_t n) {
    std::vector<frame> frames(n);
    for (uint32_t i = 0; i < n; ++i) frames[i] = flow_frame(i);
    return frames;
}

void BM_parse_udp_ipv4(benchmark::State& state) {
    const frame f = flow_frame(7);
    net::packet_view v;
    for (auto _ : state) {
        benchmark::DoNotOptimize(net::parse_frame(std::span<const uint8_t>(f.data(), f.size()), v));
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_parse_udp_ipv4);

// The outside next hop as a router resolved through the neighbour table (a
// static neighbour: the same lookup path as a learned entry) instead of a
// static next_hop_mac.
gateway::settings resolved_settings(uint32_t max_flows) {
    gateway::settings s = bench_settings(max_flows);
    s.outside.next_hop_mac.reset();
    s.outside.addresses = {net::ip_address::from_v4(0xC0000201)};           // 192.0.2.1
    s.outside.on_link = {{net::ip_address::from_v4(0xC0000201), 24}};
    s.outside.next_hop_v4 = net::ip_address::from_v4(0xC00002FE);          // 192.0.2.254
    s.outside.neighbors = {{net::ip_address::from_v4(0xC00002FE), outside_hop}};
    return s;
}

// Established flows, 64-byte UDP, bursts of 32, each packet a different flow in
// turn. Arg 1: 0 = static next_hop_mac, 1 = next hop from the neighbour table.
void BM_gateway_established(benchmark::State& state) {
    const auto n = static_cast<uint32_t>(state.range(0));
    const std::vector<frame> pristine = make_flows(n);
    gateway::gateway_core core(state.range(1) != 0 ? resolved_settings(n + n / 8) : bench_settings(n + n / 8));
    frame work[32];
    std::span<uint8_t> spans[32];
    stats::drop_reason verdicts[32];
    for (uint32_t i = 0; i < n; ++i) {
        work[0] = pristine[i];
        core.process(stats::side::inside, std::span<uint8_t>(work[0].data(), frame_size), 0);
    }
    if (core.flows_active() != n) state.SkipWithError("flows were not all created");
    uint32_t next = 0;
    uint64_t clocks = 0, packets = 0;
    for (auto _ : state) {
        for (int k = 0; k < 32; ++k) {
            work[k] = pristine[next];
            spans[k] = std::span<uint8_t>(work[k].data(), frame_size);
            next = next + 1 == n ? 0 : next + 1;
        }
        const uint64_t t0 = __rdtsc();
        core.process_burst(stats::side::inside, spans, 32, 1, verdicts);
        clocks += __rdtsc() - t0;
        packets += 32;
    }
    if (verdicts[0] != stats::no_drop) state.SkipWithError("packet dropped");
    state.SetItemsProcessed(static_cast<int64_t>(packets));
    state.counters["clocks_per_packet"] = static_cast<double>(clocks) / static_cast<double>(packets);
    state.counters["bytes_per_flow"] =
        static_cast<double>(core.flow_table_bytes()) / static_cast<double>(core.flow_capacity());
}
BENCHMARK(BM_gateway_established)
    ->ArgsProduct({{1'000, 10'000, 1'000'000, 10'000'000}, {0}})
    ->Args({10'000, 1})
    ->Args({1'000'000, 1})
    ->Unit(benchmark::kNanosecond);

// New flows: every packet opens a flow (slow path: port allocation, insert).
void BM_gateway_new_flow(benchmark::State& state) {
    const uint32_t capacity = 1u << 20;
    const auto prefill = static_cast<uint32_t>(state.range(0));
    auto core = std::make_unique<gateway::gateway_core>(bench_settings(capacity));
    const uint32_t per_round = capacity - prefill;
    std::vector<frame> pristine = make_flows(prefill + per_round);
    auto reset = [&] {
        core = std::make_unique<gateway::gateway_core>(bench_settings(capacity));
        frame w;
        for (uint32_t i = 0; i < prefill; ++i) {
            w = pristine[i];
            core->process(stats::side::inside, std::span<uint8_t>(w.data(), frame_size), 0);
        }
    };
    reset();
    uint32_t next = prefill;
    frame work[32];
    std::span<uint8_t> spans[32];
    stats::drop_reason verdicts[32];
    uint64_t clocks = 0, packets = 0;
    for (auto _ : state) {
        if (next + 32 > prefill + per_round) {
            state.PauseTiming();
            reset();
            next = prefill;
            state.ResumeTiming();
        }
        for (int k = 0; k < 32; ++k) {
            work[k] = pristine[next++];
            spans[k] = std::span<uint8_t>(work[k].data(), frame_size);
        }
        const uint64_t t0 = __rdtsc();
        core->process_burst(stats::side::inside, spans, 32, 1, verdicts);
        clocks += __rdtsc() - t0;
        packets += 32;
    }
    if (verdicts[0] != stats::no_drop) state.SkipWithError("new flow dropped");
    state.SetItemsProcessed(static_cast<int64_t>(packets));
    state.counters["clocks_per_new_flow"] = static_cast<double>(clocks) / static_cast<double>(packets);
}
BENCHMARK(BM_gateway_new_flow)->Arg(10'000)->Arg(500'000)->Unit(benchmark::kNanosecond);

flow::flow_event sample_event(uint32_t i) {
    flow::flow_event e;
    e.kind = flow::event_kind::flow_end;
    e.reason = flow::end_reason::idle_timeout;
    e.firewall = flow::firewall_event::flow_deleted;
    e.proto = 6;
    e.start_ms = 1'700'000'000'000ull + i;
    e.end_ms = e.start_ms + 1500;
    e.src = net::ip_address::from_v4(0x0A000000u + i);
    e.dst = net::ip_address::from_v4(0xC6336407u);
    e.post_nat_src = net::ip_address::from_v4(0xCB00710Au);
    e.src_port = static_cast<uint16_t>(1024 + i);
    e.dst_port = 443;
    e.post_nat_src_port = static_cast<uint16_t>(1024 + i);
    e.packets_out = 12;
    e.bytes_out = 1500;
    e.packets_in = 10;
    e.bytes_in = 9000;
    return e;
}

// IPFIX encoding alone: records per second and bytes on the wire per record
// (headers and set headers included, templates excluded).
void BM_ipfix_encode(benchmark::State& state) {
    ipfix::message_builder builder;
    builder.add_templates();
    (void)builder.take_messages(0);
    std::vector<flow::flow_event> events;
    for (uint32_t i = 0; i < 1024; ++i) events.push_back(sample_event(i));
    uint64_t records = 0, bytes = 0;
    uint32_t i = 0;
    for (auto _ : state) {
        builder.add(events[i++ & 1023]);
        ++records;
        if ((records & 1023) == 0) {
            builder.flush(0, [&](std::span<const uint8_t> m) { bytes += m.size(); });
        }
    }
    builder.flush(0, [&](std::span<const uint8_t> m) { bytes += m.size(); });
    state.SetItemsProcessed(static_cast<int64_t>(records));
    state.counters["bytes_per_record"] = static_cast<double>(bytes) / static_cast<double>(records);
}
BENCHMARK(BM_ipfix_encode);

void BM_json_line(benchmark::State& state) {
    const flow::flow_event e = sample_event(7);
    std::string line;
    for (auto _ : state) {
        line.clear();
        ipfix::append_json_line(line, e);
        benchmark::DoNotOptimize(line.data());
    }
    state.SetItemsProcessed(state.iterations());
    state.counters["bytes_per_record"] = static_cast<double>(line.size());
}
BENCHMARK(BM_json_line);

} // namespace

BENCHMARK_MAIN();
