#include "pipeline_harness.hpp"

#include <cstring>
#include <fstream>
#include <stdexcept>

#include <time.h>
#include <unistd.h>

#include <fmt/format.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "bench_frames.hpp"

namespace egress_bench {

using namespace egress;

testbed make_testbed() {
    testbed tb;
    tb.pool = rte_pktmbuf_pool_create("bench_mbufs", pool_mbufs, 512, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                      static_cast<int>(rte_socket_id()));
    if (tb.pool == nullptr) throw std::runtime_error("cannot create the mbuf pool");
    for (side s : {side::inside, side::outside}) {
        const std::string name = s == side::inside ? "bench_inside" : "bench_outside";
        ring_port& p = tb.ports[idx(s)];
        p.rx = rte_ring_create((name + "_rx").c_str(), ring_size, static_cast<int>(rte_socket_id()),
                               RING_F_SP_ENQ | RING_F_SC_DEQ);
        p.tx = rte_ring_create((name + "_tx").c_str(), ring_size, static_cast<int>(rte_socket_id()),
                               RING_F_SP_ENQ | RING_F_SC_DEQ);
        if (p.rx == nullptr || p.tx == nullptr) throw std::runtime_error("cannot create rings");
        const int id = rte_eth_from_rings(name.c_str(), &p.rx, 1, &p.tx, 1, rte_socket_id());
        char device[RTE_ETH_NAME_MAX_LEN];
        if (id < 0 || rte_eth_dev_get_name_by_port(static_cast<uint16_t>(id), device) != 0)
            throw std::runtime_error("rte_eth_from_rings failed for " + name);
        config::port_settings ps;
        ps.device = device;
        p.handle = dataplane::start_port(ps, tb.pool, false);
    }
    return tb;
}

// The gateway's deployment for a scenario: the ring ports' MACs, a 2-address pool.
gateway::settings gateway_settings(const testbed& tb, uint32_t max_flows) {
    gateway::settings s;
    s.inside.mac = tb.ports[0].handle.mac;
    s.inside.next_hop_mac = inside_host_mac;
    s.outside.mac = tb.ports[1].handle.mac;
    s.outside.next_hop_mac = outside_router_mac;
    s.pool = {{net::ip_address::from_v4(pool_first), net::ip_address::from_v4(pool_first + 1)}, 1024, 65535};
    s.max_flows = max_flows;
    return s;
}
namespace {

// The I/O floor of this set-up (the "floor" scenario, like testpmd's macswap):
// what the worker lcore spends per packet on RX, touching the mbuf and the
// frame's first cache line (the MACs swapped), and TX to the other port,
// counted like the worker's busy loops. No gateway.
int io_floor_main(void* arg) {
    auto& ctx = *static_cast<dataplane::worker_context*>(arg);
    rte_mbuf* pkts[dataplane::max_burst];
    uint64_t busy = 0, packets = 0;
    while (!ctx.stop->load(std::memory_order_relaxed)) {
        const uint64_t t0 = rte_get_tsc_cycles();
        uint32_t got = 0;
        for (int s = 0; s < 2; ++s) {
            const uint16_t n = rte_eth_rx_burst(ctx.ports[s].id, 0, pkts, ctx.burst);
            if (n == 0) continue;
            got += n;
            for (uint16_t i = 0; i < n; ++i) {
                uint8_t* f = rte_pktmbuf_mtod(pkts[i], uint8_t*);
                uint8_t tmp[6];
                std::memcpy(tmp, f, 6);
                std::memcpy(f, f + 6, 6);
                std::memcpy(f + 6, tmp, 6);
            }
            const uint16_t sent = rte_eth_tx_burst(ctx.ports[1 - s].id, 0, pkts, n);
            if (sent < n) rte_pktmbuf_free_bulk(pkts + sent, n - sent);
        }
        if (got != 0) {
            busy += rte_get_tsc_cycles() - t0;
            packets += got;
            ctx.busy_tsc.store(busy, std::memory_order_relaxed);
            ctx.busy_packets.store(packets, std::memory_order_relaxed);
        }
    }
    ctx.finished.store(true);
    return 0;
}

} // namespace

pipeline_workers::pipeline_workers(const testbed& tb, const gateway::settings& s, dataplane::policy_slot* policy,
                                   uint32_t sweep_budget)
    : set_([&] {
          dataplane::worker_set_settings w;
          w.workers = 1;
          w.gateway = s;
          w.ports[0] = tb.ports[0].handle;
          w.ports[1] = tb.ports[1].handle;
          w.pool = tb.pool;
          w.burst = 32;
          w.sweep_budget = sweep_budget;
          w.stop = &stop_;
          w.tables_in_hugepages = rte_eal_has_hugepages() != 0;
          return w;
      }()) {
    set_.attach_policy(policy);
}

void pipeline_workers::start(bool floor) {
    if (rte_get_next_lcore(-1, 1, 0) >= RTE_MAX_LCORE) throw std::runtime_error("egress-bench needs two lcores (-l 0-1)");
    set_.start(floor ? io_floor_main : dataplane::worker_main, false);
}

void pipeline_workers::join() {
    stop_.store(true);
    set_.wait();
}

double tsc_hz() { return static_cast<double>(rte_get_tsc_hz()); }

void close_window(result& r, const window_mark& a, const window_mark& b) {
    r.seconds = static_cast<double>(b.tsc - a.tsc) / tsc_hz();
    r.packets = b.packets - a.packets;
    r.bytes = b.bytes - a.bytes;
    r.payload_bytes = b.payload - a.payload;
    r.units = b.units - a.units;
    const uint64_t busy = b.busy_tsc - a.busy_tsc;
    const uint64_t pk = b.busy_packets - a.busy_packets;
    r.clocks_per_packet = pk ? static_cast<double>(busy) / static_cast<double>(pk) : 0;
    r.clocks_per_unit = r.units ? static_cast<double>(busy) / static_cast<double>(r.units) : 0;
    r.worker_cpu_share = static_cast<double>(b.cpu_ns - a.cpu_ns) / (r.seconds * 1e9);
    r.clocks_per_packet_cpu =
        pk ? static_cast<double>(b.cpu_ns - a.cpu_ns) * tsc_hz() / 1e9 / static_cast<double>(pk) : 0;
}

uint64_t rss_bytes() {
    std::ifstream f("/proc/self/statm");
    uint64_t size = 0, resident = 0;
    f >> size >> resident;
    return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

// Drops counted by the gateway (read after the worker stopped).
void collect_drops(result& r, const gateway::gateway_core& core) {
    const auto& c = core.counters();
    r.drops = 0;
    r.drop_detail.clear();
    for (std::size_t i = 0; i < stats::drop_reason_count; ++i) {
        if (c.drops[i] == 0) continue;
        r.drops += c.drops[i];
        r.drop_detail += fmt::format("{}{}={}", r.drop_detail.empty() ? "" : " ",
                                     stats::drop_reason_names[i], c.drops[i]);
    }
    if (c.inspect_unchecked != 0) r.drop_detail += fmt::format(" inspect_unchecked={}", c.inspect_unchecked);
}

double table_bytes_per_flow(const gateway::gateway_core& core) {
    // hostname_reassembly keeps one 4-byte slot index per flow-table record.
    return static_cast<double>(core.flow_table_bytes() + 4ull * core.flow_capacity()) /
           static_cast<double>(core.flow_capacity());
}

} // namespace egress_bench
