// The whole exporter on one core: events drained from a worker ring, encoded to
// IPFIX and sent over UDP to a collector socket on loopback (which does not read:
// the kernel drops what overflows its buffer, the exporter's send still succeeds).
#include <benchmark/benchmark.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

#include "exporter.hpp"

namespace {

using namespace egress;

void BM_exporter_ipfix_udp(benchmark::State& state) {
    const auto n = static_cast<uint32_t>(state.range(0));
    const int sink = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(sink, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    socklen_t len = sizeof sa;
    ::getsockname(sink, reinterpret_cast<sockaddr*>(&sa), &len);
    config::export_settings settings;
    settings.collectors.push_back({net::ip_address::from_v4(0x7F000001), ntohs(sa.sin_port)});
    uint64_t records = 0, bytes = 0;
    for (auto _ : state) {
        gateway::event_ring ring(n);
        flow::flow_event e;
        e.kind = flow::event_kind::flow_end;
        e.proto = 6;
        e.dst = net::ip_address::from_v4(0xC6336407u);
        e.post_nat_src = net::ip_address::from_v4(0xCB00710Au);
        e.dst_port = 443;
        e.packets_out = 12;
        e.bytes_out = 1500;
        for (uint32_t i = 0; i < n; ++i) {
            e.src = net::ip_address::from_v4(0x0A000000u + i);
            e.src_port = static_cast<uint16_t>(i);
            ring.try_push(e);
        }
        controlplane::exporter x(settings, {&ring});
        const auto t0 = std::chrono::steady_clock::now();
        x.start();
        x.stop();
        const auto t1 = std::chrono::steady_clock::now();
        state.SetIterationTime(std::chrono::duration<double>(t1 - t0).count());
        records += x.stats().records;
        bytes += x.stats().bytes;
    }
    ::close(sink);
    state.SetItemsProcessed(static_cast<int64_t>(records));
    state.counters["bytes_per_record"] = static_cast<double>(bytes) / static_cast<double>(records);
}
BENCHMARK(BM_exporter_ipfix_udp)->Arg(1'000'000)->UseManualTime()->Iterations(3)->Unit(benchmark::kMillisecond);

} // namespace

BENCHMARK_MAIN();
