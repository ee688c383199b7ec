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

#include "flow/tcp_state.hpp"
#include "gateway/gateway_core.hpp"
#include "ipfix/encoder.hpp"
#include "ipfix/json_line.hpp"
#include "net/checksum.hpp"
#include "net/packet_parser.hpp"
#include "net/rewrite.hpp"
#include "udp_flows.hpp"

namespace {

using namespace egress;

using namespace egress::bench;

// Parse one frame; with device_good the PMD said "IPv4 checksum good" and the
// header is not summed.
void parse_one(benchmark::State& state, net::l3_checksum device) {
    const frame f = flow_frame(7);
    net::packet_view v;
    for (auto _ : state) {
        benchmark::DoNotOptimize(net::parse_frame(std::span<const uint8_t>(f.data(), f.size()), v, device));
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(state.iterations());
}
void BM_parse_udp_ipv4(benchmark::State& state) { parse_one(state, net::l3_checksum::unchecked); }
BENCHMARK(BM_parse_udp_ipv4);
void BM_parse_udp_ipv4_device_checksum(benchmark::State& state) { parse_one(state, net::l3_checksum::device_good); }
BENCHMARK(BM_parse_udp_ipv4_device_checksum);

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
// The measurement of the established benchmarks: bursts of 32 of the
// pristine frames (each flow's next packet in turn) from inside, timed with
// the TSC around process_burst alone.
// With parse_before, the frames are parsed (with that checksum verdict)
// before the timed region and their views handed over, as the worker does.
void measure_established(benchmark::State& state, gateway::gateway_core& core, const std::vector<frame>& pristine,
                         uint32_t n, const net::l3_checksum* parse_before = nullptr) {
    if (core.flows_active() != n) state.SkipWithError("flows were not all created");
    frame work[32];
    std::span<uint8_t> spans[32];
    net::packet_view views[32];
    stats::drop_reason parsed[32];
    gateway::packet_result results[32];
    uint32_t next = 0;
    uint64_t clocks = 0, packets = 0;
    for (auto _ : state) {
        for (int k = 0; k < 32; ++k) {
            work[k] = pristine[next];
            spans[k] = std::span<uint8_t>(work[k].data(), frame_size);
            if (parse_before != nullptr) parsed[k] = net::parse_frame(spans[k], views[k], *parse_before);
            next = next + 1 == n ? 0 : next + 1;
        }
        const uint64_t t0 = __rdtsc();
        if (parse_before != nullptr)
            core.process_burst(stats::side::inside, spans, 32, 1, results, views, parsed);
        else
            core.process_burst(stats::side::inside, spans, 32, 1, results);
        clocks += __rdtsc() - t0;
        packets += 32;
    }
    if (results[0].kind != gateway::verdict::forward) state.SkipWithError("packet dropped");
    state.SetItemsProcessed(static_cast<int64_t>(packets));
    state.counters["clocks_per_packet"] = static_cast<double>(clocks) / static_cast<double>(packets);
    state.counters["bytes_per_flow"] =
        static_cast<double>(core.flow_table_bytes()) / static_cast<double>(core.flow_capacity());
}

void BM_gateway_established(benchmark::State& state) {
    const auto n = static_cast<uint32_t>(state.range(0));
    const std::vector<frame> pristine = make_flows(n);
    gateway::gateway_core core(state.range(1) != 0 ? resolved_settings(n + n / 8) : bench_settings(n + n / 8));
    for (uint32_t i = 0; i < n; ++i) {
        frame first = pristine[i];
        core.process(stats::side::inside, std::span<uint8_t>(first.data(), frame_size), 0);
    }
    measure_established(state, core, pristine, n);
}
BENCHMARK(BM_gateway_established)
    ->ArgsProduct({{1'000, 10'000, 1'000'000, 10'000'000}, {0}})
    ->Args({10'000, 1})
    ->Args({1'000'000, 1})
    ->Unit(benchmark::kNanosecond);

// Where the clocks of BM_gateway_established/N/0 go, one thing left out at a
// time (bench/README.md, "Where the clocks go"). Arg 1:
//   0  nothing left out (the same as BM_gateway_established/N/0);
//   1  the parse: frames parsed before the timed region and their views
//      handed over, as the worker does when the port's PMD verified the IPv4
//      checksum (BM_parse_udp_ipv4 and its _device_checksum twin split the
//      parse from the checksum);
//   2  renumbering: frames with DF set keep their IPv4 identification;
//   3  2 and the hairpin check ([nat] hairpin = false).
void BM_gateway_without(benchmark::State& state) {
    const auto n = static_cast<uint32_t>(state.range(0));
    const auto what = state.range(1);
    std::vector<frame> pristine = make_flows(n);
    if (what >= 2)
        for (frame& f : pristine) { // DF, header checksum updated
            f[14 + 6] = 0x40;
            const uint16_t sum = net::checksum_update16(static_cast<uint16_t>(f[24] << 8 | f[25]), 0, 0x4000);
            put16(&f[24], sum);
        }
    gateway::settings s = bench_settings(n + n / 8);
    if (what == 3) s.pool.hairpin = false;
    gateway::gateway_core core(s);
    for (uint32_t i = 0; i < n; ++i) {
        frame first = pristine[i];
        core.process(stats::side::inside, std::span<uint8_t>(first.data(), frame_size), 0);
    }
    const net::l3_checksum device = net::l3_checksum::device_good;
    measure_established(state, core, pristine, n, what == 1 ? &device : nullptr);
}
BENCHMARK(BM_gateway_without)->ArgsProduct({{10'000}, {0, 1, 2, 3}})->Unit(benchmark::kNanosecond);

// A 64-byte Ethernet/IPv4/TCP frame (6 payload bytes), checksums correct;
// from_inside picks the port MACs it arrives with.
frame tcp_frame(bool from_inside, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport, uint8_t flags,
                uint32_t seq, uint32_t ack) {
    frame f{};
    uint8_t* tcp = eth_ipv4(f, from_inside, 6, src, dst);
    put16(tcp, sport);
    put16(tcp + 2, dport);
    put16(tcp + 4, static_cast<uint16_t>(seq >> 16));
    put16(tcp + 6, static_cast<uint16_t>(seq));
    put16(tcp + 8, static_cast<uint16_t>(ack >> 16));
    put16(tcp + 10, static_cast<uint16_t>(ack));
    tcp[12] = 5 << 4;
    tcp[13] = flags;
    put16(tcp + 14, 65535);
    seal_checksums(f, 6);
    return f;
}

// Established TCP connections (window tracking on every segment): each flow is
// opened with a SYN and its SYN+ACK, then 64-byte data segments from inside,
// bursts of 32, each packet a different connection in turn.
void BM_gateway_established_tcp(benchmark::State& state) {
    const auto n = static_cast<uint32_t>(state.range(0));
    gateway::gateway_core core(bench_settings(n + n / 8));
    std::vector<frame> pristine(n);
    frame work[32];
    for (uint32_t i = 0; i < n; ++i) {
        const uint32_t src = 0x0A000000u + (i >> 6), dst = 0xC6336400u + (i % 251);
        const auto sport = static_cast<uint16_t>(1024 + (i & 63));
        work[0] = tcp_frame(true, src, sport, dst, 443, net::tcp_syn, 1000, 0);
        core.process(stats::side::inside, std::span<uint8_t>(work[0].data(), frame_size), 0);
        const uint32_t idx = core.flows().lookup(
            flow::flow_key{net::ip_address::from_v4(src), net::ip_address::from_v4(dst), sport, 443, net::proto_tcp},
            flow::direction::outbound);
        if (idx == flow::flow_table::npos) break;
        const flow::flow_record& r = core.flows().at(idx);
        work[0] = tcp_frame(false, dst, 443, r.public_addr, r.public_port, net::tcp_syn | net::tcp_ack, 5000, 1001);
        core.process(stats::side::outside, std::span<uint8_t>(work[0].data(), frame_size), 0);
        pristine[i] = tcp_frame(true, src, sport, dst, 443, net::tcp_ack | net::tcp_psh, 1001, 5001);
    }
    measure_established(state, core, pristine, n);
}
BENCHMARK(BM_gateway_established_tcp)->Arg(10'000)->Arg(1'000'000)->Unit(benchmark::kNanosecond);

// The window check alone, on one established connection in cache: reading the
// segment from the frame and tcp_track (the per-packet work window tracking adds
// to the TCP path; the gateway benchmarks above include it with the table).
void BM_tcp_track(benchmark::State& state) {
    const frame f = tcp_frame(true, 0x0A000001, 40000, 0xC6336407, 443, net::tcp_ack | net::tcp_psh, 1001, 5001);
    net::packet_view v;
    if (net::parse_frame(std::span<const uint8_t>(f.data(), f.size()), v) != stats::no_drop)
        state.SkipWithError("frame does not parse");
    flow::tcp_window w{};
    uint8_t flags = 0;
    const flow::tcp_tracking t{};
    flow::tcp_segment g;
    g.seq = 1000;
    g.window = 65535;
    g.flags = net::tcp_syn;
    flow::tcp_state s = flow::tcp_track(flow::tcp_state::syn_sent, flow::direction::outbound, g, flags, w, t).next;
    g = flow::tcp_segment{};
    g.seq = 5000;
    g.ack = 1001;
    g.window = 65535;
    g.flags = net::tcp_syn | net::tcp_ack;
    s = flow::tcp_track(s, flow::direction::inbound, g, flags, w, t).next;
    uint64_t clocks = 0, calls = 0;
    for (auto _ : state) {
        const uint64_t t0 = __rdtsc();
        for (int k = 0; k < 32; ++k) {
            const flow::tcp_verdict r = flow::tcp_track(s, flow::direction::outbound,
                                                        flow::read_tcp_segment(std::span<const uint8_t>(f.data(), f.size()), v),
                                                        flags, w, t);
            benchmark::DoNotOptimize(r);
            s = r.next;
        }
        clocks += __rdtsc() - t0;
        calls += 32;
    }
    if (s != flow::tcp_state::established) state.SkipWithError("not established");
    state.SetItemsProcessed(static_cast<int64_t>(calls));
    state.counters["clocks_per_packet"] = static_cast<double>(clocks) / static_cast<double>(calls);
}
BENCHMARK(BM_tcp_track);

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
    gateway::packet_result results[32];
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
        core->process_burst(stats::side::inside, spans, 32, 1, results);
        clocks += __rdtsc() - t0;
        packets += 32;
    }
    if (results[0].kind != gateway::verdict::forward) state.SkipWithError("new flow dropped");
    state.SetItemsProcessed(static_cast<int64_t>(packets));
    state.counters["clocks_per_new_flow"] = static_cast<double>(clocks) / static_cast<double>(packets);
}
BENCHMARK(BM_gateway_new_flow)->Arg(10'000)->Arg(500'000)->Unit(benchmark::kNanosecond);

// ---- conntrack (flow_table) alone ---------------------------------------------------

// Record of flow i (IPv4 UDP, the same tuples as flow_frame), SNAT to 203.0.113.10
// or .11 with a distinct public port per remote.
flow::flow_record flow_record_of(uint32_t i) {
    flow::flow_record r;
    r.inside = net::ip_address::from_v4(0x0A000000u + (i >> 6));
    r.inside_port = static_cast<uint16_t>(1024 + (i & 63));
    r.remote = net::ip_address::from_v4(0xC6336400u + (i % 251));
    r.remote_port = 53;
    r.public_addr = 0xCB00710Au + (i & 1);
    r.public_port = static_cast<uint16_t>(1024 + (i >> 1) % 64000);
    r.proto = 17;
    r.expires_at_ms = 1u << 30;
    return r;
}

// Keys of flows 0..n-1 in a random order (so consecutive lookups touch unrelated
// buckets and records), outbound direction.
std::vector<flow::flow_key> shuffled_keys(uint32_t first, uint32_t n, uint32_t count) {
    std::vector<flow::flow_key> keys(count);
    std::mt19937 rng(7);
    for (uint32_t k = 0; k < count; ++k)
        keys[k] = flow::outbound_key_of(flow_record_of(first + static_cast<uint32_t>(rng() % n)));
    return keys;
}

// flow_table::lookup_burst, 32 keys per call, every key a hit (range 1 = 1) or a
// miss (range 1 = 0: tuples that were never inserted, the new-flow case), in a
// table of N flows at 80 % of its capacity. TSC clocks per lookup.
void BM_conntrack_lookup(benchmark::State& state) {
    const auto n = static_cast<uint32_t>(state.range(0));
    const bool hit = state.range(1) != 0;
    flow::flow_table table(n + n / 4);
    for (uint32_t i = 0; i < n; ++i)
        if (table.insert(flow_record_of(i)) == flow::flow_table::npos) state.SkipWithError("insert failed");
    const uint32_t distinct = std::min<uint32_t>(n, 1u << 20);
    const std::vector<flow::flow_key> keys = shuffled_keys(hit ? 0 : n, hit ? n : distinct, 1u << 20);
    const std::vector<flow::direction> dirs(32, flow::direction::outbound);
    uint32_t out[32];
    std::size_t next = 0;
    uint64_t clocks = 0, lookups = 0, found = 0;
    for (auto _ : state) {
        const uint64_t t0 = __rdtsc();
        table.lookup_burst(&keys[next], dirs.data(), 32, out);
        clocks += __rdtsc() - t0;
        for (uint32_t k = 0; k < 32; ++k) found += out[k] != flow::flow_table::npos;
        lookups += 32;
        next = next + 64 > keys.size() ? 0 : next + 32;
    }
    if (found != (hit ? lookups : 0)) state.SkipWithError("unexpected lookup result");
    state.SetItemsProcessed(static_cast<int64_t>(lookups));
    state.counters["clocks_per_lookup"] = static_cast<double>(clocks) / static_cast<double>(lookups);
}
BENCHMARK(BM_conntrack_lookup)
    ->ArgNames({"flows", "hit"})
    ->Args({1'000, 1})->Args({1'000, 0})
    ->Args({1'000'000, 1})->Args({1'000'000, 0})
    ->Args({10'000'000, 1})->Args({10'000'000, 0});

// ---- SNAT rewrite ---------------------------------------------------------------------

// The per-packet translation of an outbound 64-byte UDP or TCP frame: source
// address and port with RFC 1624 incremental IPv4 and L4 checksum updates,
// TTL decrement, MACs (what gateway_core does after the lookup). The frame is
// restored from a copy each iteration (a 64-byte copy, included in the time).
void BM_snat_rewrite(benchmark::State& state) {
    const uint8_t proto = static_cast<uint8_t>(state.range(0));
    frame pristine = flow_frame(12345);
    if (proto == 6) { // turn it into a TCP ACK (20-byte header, 2 bytes payload)
        pristine[14 + 9] = 6;
        uint8_t* tcp = &pristine[34];
        std::memset(tcp + 4, 0, 22);
        tcp[12] = 0x50;
        tcp[13] = 0x10;
        put16(tcp + 14, 65535);
        seal_checksums(pristine, 6);
    }
    net::packet_view view;
    if (net::parse_frame(std::span<const uint8_t>(pristine.data(), pristine.size()), view) != stats::no_drop)
        state.SkipWithError("frame does not parse");
    const net::ip_address pub = net::ip_address::from_v4(0xCB00710A);
    frame work;
    uint16_t port = 1024;
    for (auto _ : state) {
        work = pristine;
        net::packet_view v = view;
        const std::span<uint8_t> f(work.data(), work.size());
        net::set_ipv4_source(f, v, pub, port);
        benchmark::DoNotOptimize(net::decrement_hop_limit(f, v));
        net::set_macs(f, outside_mac, outside_hop);
        benchmark::DoNotOptimize(work.data());
        benchmark::ClobberMemory();
        port = port == 65535 ? 1024 : port + 1;
    }
    // The last frame must still verify: parse it again (IPv4 header checksum).
    net::packet_view check;
    if (net::parse_frame(std::span<const uint8_t>(work.data(), work.size()), check) != stats::no_drop)
        state.SkipWithError("rewritten frame does not verify");
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_snat_rewrite)->ArgName("proto")->Arg(17)->Arg(6);

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
