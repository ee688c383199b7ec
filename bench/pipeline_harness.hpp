// What every scenario of egress-bench stands on: the test bed (EAL's ring-PMD
// ports and the mbuf pool), the workers (built by dataplane::worker_set, as
// egressd builds them), and the measurement (windows, 1 ms slices, results).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include <rte_cycles.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "gateway/gateway_core.hpp"
#include "gateway/settings.hpp"
#include "policy_slot.hpp"
#include "port.hpp"
#include "worker_set.hpp"

namespace egress_bench {

using egress::stats::side;
constexpr std::size_t idx(side s) noexcept { return static_cast<std::size_t>(s); }

// ---- EAL, ports, the worker --------------------------------------------------------------

struct ring_port {
    rte_ring* rx = nullptr; // the harness enqueues, the worker receives
    rte_ring* tx = nullptr; // the worker transmits, the harness dequeues
    egress::dataplane::port_handle handle;
};

struct testbed {
    rte_mempool* pool = nullptr;
    ring_port ports[2];
};

constexpr unsigned ring_size = 16384;
// Frames of a stream inside the rings and the worker at once: well below what
// one ring holds, so a descheduled harness can never make the worker's TX fail.
constexpr uint64_t max_in_flight = 4096;
constexpr unsigned pool_mbufs = 65535;

// Two ethdevs made of rte_rings (rte_eth_from_rings) and the mbuf pool.
testbed make_testbed();

// The gateway's deployment for a scenario: the ring ports' MACs, a 2-address pool.
egress::gateway::settings gateway_settings(const testbed& tb, uint32_t max_flows);

// The worker of a run: one, on lcore 1, built by dataplane::worker_set exactly
// as egressd builds its workers, stopped by the harness's own flag. The floor
// scenario runs io_floor_main in place of the worker loop.
class pipeline_workers {
public:
    pipeline_workers(const testbed& tb, const egress::gateway::settings& s, egress::dataplane::policy_slot* policy,
                     uint32_t sweep_budget);
    ~pipeline_workers() { join(); }
    pipeline_workers(const pipeline_workers&) = delete;
    pipeline_workers& operator=(const pipeline_workers&) = delete;

    // Launches the worker (the I/O floor loop with floor) and returns once it runs.
    void start(bool floor = false);
    // Stops the worker and waits for it.
    void join();
    egress::gateway::gateway_core& core() noexcept { return set_.core(0); }
    // CPU time the worker threads have been given so far (ns).
    // With --same-core, both leave out what the traffic generator spent on the
    // worker's lcore (see pipeline_same_core.hpp): its TSC from the busy TSC,
    // and from the CPU time the same share (the generator's clocks are wall
    // time: a preemption inside it counts there, not in the CPU time).
    uint64_t cpu_ns() const noexcept {
        const uint64_t ns = set_.cpu_ns();
        if (generator_ == nullptr) return ns;
        const uint64_t busy = raw_busy_tsc();
        return busy == 0 ? ns
                         : static_cast<uint64_t>(static_cast<double>(ns) * static_cast<double>(busy_tsc()) /
                                                 static_cast<double>(busy));
    }
    uint64_t busy_tsc() const noexcept {
        const uint64_t busy = raw_busy_tsc();
        const uint64_t gen = generator_ != nullptr ? generator_->load(std::memory_order_relaxed) : 0;
        return busy > gen ? busy - gen : 0;
    }
    // The TSC counter of a generator running inside the worker's loop (null: none).
    void set_generator(const std::atomic<uint64_t>* tsc) noexcept { generator_ = tsc; }
    uint64_t busy_packets() const noexcept {
        return set_.sum([](const egress::dataplane::worker_context& c, const auto&) {
            return c.busy_packets.load(std::memory_order_relaxed);
        });
    }

private:
    uint64_t raw_busy_tsc() const noexcept {
        return set_.sum([](const egress::dataplane::worker_context& c, const auto&) {
            return c.busy_tsc.load(std::memory_order_relaxed);
        });
    }
    const std::atomic<uint64_t>* generator_ = nullptr;
    std::atomic<bool> stop_{false};
    egress::dataplane::worker_set set_;
};

// ---- measurement ------------------------------------------------------------------------

struct result {
    std::string scenario;
    std::string variant;
    uint64_t flows = 0;
    double seconds = 0;
    uint64_t packets = 0; // forwarded by the gateway in the window (both directions)
    uint64_t bytes = 0;   // their frame bytes
    uint64_t payload_bytes = 0;
    uint64_t units = 0;   // new flows / connections completed in the window
    std::string unit;
    double clocks_per_packet = 0;       // busy TSC / packets over the whole window
    double clocks_per_packet_p50 = 0;   // the median 1 ms slice (see slice_sampler)
    double clocks_per_packet_p10 = 0;   // the 10th percentile slice
    uint32_t rx_backlog = 0;            // median frames waiting in the worker's RX rings (1 ms samples)
    double clocks_per_packet_cpu = 0;   // worker thread CPU time (TSC units) / packets over the window
    double worker_cpu_share = 0;        // CPU time the worker got / wall time of the window
    double clocks_per_unit = 0;
    double table_bytes_per_flow = 0; // flow table + inspection slot index, per unit of capacity
    double rss_bytes_per_flow = 0;   // resident memory grown while the flows were created, per flow
    uint64_t injected = 0, delivered = 0, lost = 0, unexpected = 0, drops = 0, resets = 0, reloads = 0;
    std::string drop_detail;
    double mpps() const { return seconds > 0 ? static_cast<double>(packets) / seconds / 1e6 : 0; }
    double gbps() const { return seconds > 0 ? static_cast<double>(bytes) * 8 / seconds / 1e9 : 0; }
    double payload_gbps() const { return seconds > 0 ? static_cast<double>(payload_bytes) * 8 / seconds / 1e9 : 0; }
    double units_per_s() const { return seconds > 0 ? static_cast<double>(units) / seconds : 0; }
};

struct window_mark {
    uint64_t tsc, busy_tsc, busy_packets, packets, bytes, payload, units, cpu_ns;
};

// Clocks per packet over consecutive 1 ms slices of a window. Two upper bounds
// of the worker's true cost per slice: its busy TSC (inflated when the worker
// is preempted inside a busy loop) and its thread CPU time in TSC units
// (inflated by idle polling when the traffic side is starved); the smaller of
// the two per slice; slices without a preemption cluster at the low end, so the
// median and the 10th percentile slice bound what an undisturbed worker spends.
struct slice_sampler {
    const pipeline_workers& w;
    const rte_ring* rx[2]; // what waits for the worker: full bursts need >= 32
    uint64_t every, next_tsc, last_busy, last_packets, last_cpu;
    std::vector<double> ratios;
    std::vector<uint32_t> backlog;
    slice_sampler(const pipeline_workers& wk, const rte_ring* rx_inside, const rte_ring* rx_outside)
        : w(wk), rx{rx_inside, rx_outside}, every(rte_get_tsc_hz() / 1000), next_tsc(rte_get_tsc_cycles() + every),
          last_busy(wk.busy_tsc()), last_packets(wk.busy_packets()), last_cpu(wk.cpu_ns()) {
        ratios.reserve(100000);
        backlog.reserve(100000);
    }
    void poll() {
        const uint64_t now = rte_get_tsc_cycles();
        if (now < next_tsc) return;
        next_tsc = now + every;
        const uint64_t b = w.busy_tsc(), p = w.busy_packets(), c = w.cpu_ns();
        backlog.push_back(rte_ring_count(rx[0]) + rte_ring_count(rx[1]));
        if (p > last_packets) {
            const double busy = static_cast<double>(b - last_busy);
            const double cpu = static_cast<double>(c - last_cpu) * static_cast<double>(rte_get_tsc_hz()) / 1e9;
            ratios.push_back(std::min(busy, cpu) / static_cast<double>(p - last_packets));
        }
        last_busy = b;
        last_packets = p;
        last_cpu = c;
    }
    uint32_t median_backlog() {
        if (backlog.empty()) return 0;
        std::nth_element(backlog.begin(), backlog.begin() + static_cast<std::ptrdiff_t>(backlog.size() / 2), backlog.end());
        return backlog[backlog.size() / 2];
    }
    double percentile(double q) {
        if (ratios.empty()) return 0;
        const auto k = static_cast<std::ptrdiff_t>(static_cast<double>(ratios.size() - 1) * q);
        std::nth_element(ratios.begin(), ratios.begin() + k, ratios.end());
        return ratios[static_cast<std::size_t>(k)];
    }
};

double tsc_hz();
void close_window(result& r, const window_mark& a, const window_mark& b);

// A run's window and its driver's accounting: clocks per packet, backlog,
// frames in and out (lost: injected frames that neither came out nor were
// unexpected).
template <class driver>
void close_run(result& r, const driver& d, const window_mark& a, const window_mark& b) {
    close_window(r, a, b);
    r.clocks_per_packet_p50 = d.p50;
    r.clocks_per_packet_p10 = d.p10;
    r.rx_backlog = d.backlog;
    r.injected = d.injected;
    r.delivered = d.delivered;
    r.lost = d.injected - d.delivered - d.unexpected;
    r.unexpected = d.unexpected;
}

// Resident memory of the process (bytes).
uint64_t rss_bytes();
// Drops counted by the gateway (read after the worker stopped).
void collect_drops(result& r, const egress::gateway::gateway_core& core);
double table_bytes_per_flow(const egress::gateway::gateway_core& core);

} // namespace egress_bench
