// The exception path's kernel side (issue 17, item 1; decisions in
// lib/gateway/exception_path.hpp): per side with `exception_interface`, a
// DPDK net_tap device whose kernel interface has that name, the port's MAC and
// the side's addresses, so a routing daemon on the host (BIRD, FRR) speaks
// through egressd's port as if the interface were the port.
//
// Worker 0 alone uses the taps (one RX and one TX queue each): it writes the
// frames gateway_core sends to the kernel (verdict to_kernel, copy_to_kernel)
// at once (the tap PMD writes each frame with its own system call anyway; a
// full or failing write drops it as exception_queue_full, never waits), and
// once per millisecond of its clock reads what the kernel sent (one read per
// frame, plus one that finds nothing: hence not every loop) and sends the
// frames that pass gateway::from_kernel_check out of the physical port.
#pragma once

#include <cstdint>

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "config.hpp"
#include "gateway/settings.hpp"
#include "net/ip_address.hpp"
#include "stats/counters.hpp"

namespace egress::dataplane {

inline constexpr int no_exception_port = -1;

// The tap ports of a run, by stats::side (no_exception_port: none on that side).
struct exception_ports {
    int port[2] = {no_exception_port, no_exception_port};
    bool any() const noexcept { return port[0] != no_exception_port || port[1] != no_exception_port; }
};

// Creates and starts the tap of each side that names an exception_interface:
// DPDK device net_tap_exc_inside / net_tap_exc_outside, kernel interface
// named as configured, the physical port's MAC, the side's addresses with
// their prefixes, IPv6 off in the kernel when the side has no IPv6 address
// (no link-local chatter to refuse). Throws std::runtime_error naming the
// interface on failure (called from main only).
exception_ports start_exception_taps(const config::egressd_config& cfg, rte_mempool* pool,
                                     const net::mac_address macs[2]);
void stop_exception_taps(const exception_ports& taps);

// Worker 0's use of the taps.
class exception_io {
public:
    exception_io(const exception_ports& taps, const gateway::settings& gateway) noexcept
        : taps_(taps), gateway_(gateway) {}

    // m (received on `from`) to that side's kernel interface; frees it when it
    // cannot be written.
    void send(stats::side from, rte_mbuf* m, stats::worker_counters& counters) noexcept;
    // A copy of m to that side's kernel interface (m stays the caller's).
    void send_copy(stats::side from, const rte_mbuf* m, rte_mempool* pool, stats::worker_counters& counters) noexcept;
    // Up to `max` frames the kernel sent from side s's interface that may leave
    // through the port, into out; the others are freed and counted
    // (exception_source_refused). Reads only when now_ms moved on since the
    // last read of that side.
    uint16_t receive(stats::side s, rte_mbuf** out, uint16_t max, uint32_t now_ms,
                     stats::worker_counters& counters) noexcept;

private:
    exception_ports taps_;
    const gateway::settings& gateway_;
    uint32_t last_read_ms_[2] = {~0u, ~0u};
};

} // namespace egress::dataplane
