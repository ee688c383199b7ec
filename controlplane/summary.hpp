// The end-of-run report: packets per port, flows by protocol, NAT mappings per
// public address, drops by named reason. Printed for people and written as JSON
// for tests and scripts.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "gateway/gateway_core.hpp"
#include "stats/counters.hpp"
#include "stats/live_stats.hpp"

namespace egress::controlplane {

// One worker's share of a run (with several workers: which one did what).
struct worker_report {
    uint64_t rx_packets[2] = {0, 0}; // by stats::side: packets this worker processed (its own and handed over)
    uint64_t tx_packets[2] = {0, 0};
    uint64_t flows_created = 0;      // all protocols
    uint64_t drops = 0;              // all reasons
};

// Frames a device lost on receive before egressd saw them (rte_eth_stats:
// imissed — the RX ring was full —, rx_nombuf — no mbuf to receive into —,
// ierrors), so in no drop reason.
struct device_rx_losses {
    uint64_t missed = 0;
    uint64_t nombuf = 0;
    uint64_t errors = 0;
    bool any() const noexcept { return missed != 0 || nombuf != 0 || errors != 0; }
};

struct run_report {
    std::string inside_device;
    std::string outside_device;
    stats::worker_counters counters;
    uint64_t flows_active = 0;
    uint64_t fragment_datagrams_active = 0; // fragmented datagrams tracked now
    uint64_t fragments_held_now = 0;        // fragments waiting for their first fragment now
    uint64_t sources_tracked = 0;           // [limits] source entries now (summed over workers)
    uint64_t flow_capacity = 0;
    uint64_t flow_table_bytes = 0;
    std::vector<gateway::pool_address_usage> pool;
    bool export_enabled = false;
    uint64_t export_records = 0;     // flow events exported (IPFIX records / JSON lines)
    uint64_t export_messages = 0;    // IPFIX messages sent
    uint64_t export_send_errors = 0;
    uint64_t export_events_lost = 0; // ring overflow: events never exported
    std::vector<worker_report> workers; // end of run: per worker, in worker order (JSON "workers")
    device_rx_losses rx_losses[stats::side_count]; // per port, read from the devices
    // Live reports only: per worker, in worker order, milliseconds since it last
    // began a loop (dataplane::worker_liveness_age_ms).
    std::vector<uint64_t> worker_loop_age_ms;
};

// A worker's share from its counters.
worker_report make_worker_report(const stats::worker_counters& c);

// What does not change during a run: devices, table size, pool addresses.
struct report_frame {
    std::string inside_device;
    std::string outside_device;
    uint64_t flow_capacity = 0;
    uint64_t flow_table_bytes = 0;
    std::vector<net::ip_address> pool;
};

// A report from what a worker published (stats::live_stats) and the run's frame;
// the export fields are left for the caller.
run_report make_run_report(const report_frame& frame, const stats::live_stats& live);

std::string format_summary(const run_report& r);
std::string format_summary_json(const run_report& r);

} // namespace egress::controlplane
