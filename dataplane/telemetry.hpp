// egressd's statistics in DPDK telemetry (rte_telemetry), so DPDK's own tools
// (dpdk-telemetry.py, or any client of the telemetry socket) can read them:
//   /egressd/stats   ports, flows and policy counters (a dict of integers)
//   /egressd/drops   every drop reason's count
//   /egressd/policy  policy version, reloads, blocks and decisions per rule
// The callbacks run on DPDK's telemetry thread and read only what the worker
// publishes and the policy control's status (both safe from any thread).
#pragma once

#include <functional>

#include "policy_control.hpp"
#include "summary.hpp"
#include "worker.hpp"

namespace egress::dataplane {

struct telemetry_source {
    std::function<controlplane::run_report()> report;
    const controlplane::policy_control* policy = nullptr;
};

// The devices' receive-side losses (rte_eth_stats_get: imissed, rx_nombuf,
// ierrors) into r.rx_losses, indexed by side; for an af_packet port, missed also
// counts the kernel ring's drops (PACKET_STATISTICS), which its PMD does not
// report. Any thread (as DPDK's own /ethdev/stats telemetry reads them). A port
// whose stats cannot be read keeps 0.
void add_device_losses(controlplane::run_report& r, uint16_t inside_port, uint16_t outside_port);

// Worker liveness: milliseconds since worker w last began a loop of its run
// (worker_context::last_loop_tsc), 0 before it started. A healthy worker loops
// every few microseconds, busy or idle; one stuck (a livelock, a blocking call,
// a descheduled lcore) ages. Any thread. Read by the metrics
// (egress_worker_loop_age_seconds) and by whatever judges the gateway's health.
uint64_t worker_liveness_age_ms(const worker_context& w) noexcept;

// Registers the commands (once per process) and points them at source; with
// null they answer with an error. Call with null before source is destroyed.
void attach_telemetry(const telemetry_source* source);

} // namespace egress::dataplane
