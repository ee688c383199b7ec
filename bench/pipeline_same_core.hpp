// egress-bench --same-core: the traffic is generated on the worker's own lcore,
// like VPP's packet generator (pg-input), instead of by the main lcore across
// the ring PMD. An RX callback on the inside port's queue 0 (rte_eth_add_rx_callback,
// run inside the worker's own rte_eth_rx_burst) first takes back what the
// worker transmitted on its previous loop (the TX rings: delivered frames'
// mbufs are reused, as a NIC completes its TX descriptors), then writes the
// next prebuilt frames into those mbufs and returns them as received.
//
// Why: on a shared two-vCPU machine the two-core mode measures the traffic
// core as much as the worker (a preempted generator starves the worker, every
// frame's cache line crosses cores). Here one core does everything, the frame
// is in the worker's L1 when it is received, and the generator's own clocks
// (timed inside the callback) are taken out of the worker's busy TSC and CPU
// time, so clocks per packet are the worker's alone (VPP's per-node runtime
// excludes pg-input the same way). The main lcore only sleeps and samples.
#pragma once

#include <atomic>
#include <cstdint>
#include <utility>
#include <vector>

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "pipeline_harness.hpp"

namespace egress_bench {

// The generator's state: written by the worker lcore (inside the callback),
// read by the main lcore through the atomics.
struct same_core_source {
    rte_mempool* pool = nullptr;
    rte_ring* tx[2] = {};        // the worker's TX rings (inside, outside)
    const uint8_t* frames = nullptr;
    uint16_t frame_len = 0;
    std::size_t stride = 0;
    uint32_t count = 0;
    uint32_t next = 0;           // the next frame; only changed by the main lcore while idle
    uint64_t ol_flags = 0;       // what the generated frames carry (--device-checksum: IPv4 checksum good)
    std::vector<rte_mbuf*> spare; // mbufs taken back from TX, ready to be refilled
    // Frames may be generated while injected < limit (the main lcore raises
    // it); nothing at all happens in the callback until the first phase.
    std::atomic<uint64_t> limit{0};
    std::atomic<bool> active{false};
    std::atomic<uint64_t> injected{0}, delivered{0}, delivered_bytes{0}, unexpected{0};
    std::atomic<uint64_t> calls{0}; // callbacks run (settle waits for two after stopping)
    std::atomic<uint64_t> tsc{0}; // TSC spent in the callback (taken out of the worker's figures)
};

// Same interface as stream_driver (pipeline_traffic.hpp): the scenarios use
// either one.
struct same_core_driver {
    testbed& tb;
    pipeline_workers& w;
    same_core_source src;
    const rte_eth_rxtx_callback* cb = nullptr;
    uint32_t next = 0; // copied into the generator when a phase starts
    uint64_t injected = 0, delivered = 0, unexpected = 0;
    double p50 = 0, p10 = 0;
    uint32_t backlog = 0;

    // device_checksum: the frames arrive flagged as a NIC flags a verified
    // IPv4 header checksum (RTE_MBUF_F_RX_IP_CKSUM_GOOD).
    same_core_driver(testbed& t, pipeline_workers& wk, const uint8_t* f, uint16_t len, std::size_t st, uint32_t n,
                     bool device_checksum);
    ~same_core_driver();
    same_core_driver(const same_core_driver&) = delete;
    same_core_driver& operator=(const same_core_driver&) = delete;

    // Generates `packets` more frames and waits until they came out.
    void send_and_drain(uint64_t packets);
    // Waits until every generated frame came out, or nothing moved for 300 ms.
    void settle();
    window_mark mark() const;
    // Traffic for `seconds` (or until stop_after more frames), returns the window.
    std::pair<window_mark, window_mark> run_for(double seconds, uint64_t stop_after = UINT64_MAX);

private:
    void start_phase(uint64_t limit);
    void copy_counts();
};

} // namespace egress_bench
