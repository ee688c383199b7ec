// Whether this instance should receive new flows: what a routing daemon (or a
// check script driving the routes) asks before announcing egressd as a next
// hop. "ready"; "draining" (an operator's `egressctl drain`: forwarding goes on
// for every flow, but the routing layer should send no new ones, so the
// instance empties for maintenance); "failed" (a worker's loop stopped
// advancing for stall_ms, or a port's link is down). failed wins over
// draining. The state is served on the control socket (health, drain,
// undrain), as the gauge egress_health_state, and as a file rewritten
// atomically on every change. DPDK-free: egressd feeds it the workers'
// heartbeats and the ports' link state once per control tick.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "control_server.hpp"

namespace egress::controlplane {

enum class health_state : uint8_t { ready = 0, draining = 1, failed = 2 };
std::string_view to_string(health_state s) noexcept;

class health_monitor {
public:
    // A heartbeat value for a worker that stopped on purpose: never stalled.
    static constexpr uint64_t not_running = ~uint64_t{0};

    // file: "" for none (else written at once, "ready"). Throws
    // std::runtime_error "health.file: <path>: <why>" when it cannot be written.
    health_monitor(std::string file, uint32_t stall_ms, uint64_t now_unix_ms);
    ~health_monitor(); // removes the file: a stopped egressd is not ready
    health_monitor(const health_monitor&) = delete;
    health_monitor& operator=(const health_monitor&) = delete;

    // Control thread, once per tick: each worker's loop count (in worker
    // order) and the names of the ports whose link is down.
    void observe(uint64_t now_unix_ms, std::span<const uint64_t> heartbeats,
                 const std::vector<std::string>& ports_down);
    void drain(uint64_t now_unix_ms);
    void undrain(uint64_t now_unix_ms);

    health_state state() const noexcept { return state_.load(std::memory_order_relaxed); } // any thread
    bool drained() const noexcept { return drained_; }
    const std::string& reason() const noexcept { return reason_; }
    uint64_t since_unix_ms() const noexcept { return since_ms_; } // when the state last changed
    const std::string& file() const noexcept { return file_; }

private:
    void settle(uint64_t now_unix_ms);
    void write_file() const;

    std::string file_;
    uint32_t stall_ms_;
    std::vector<uint64_t> last_beat_;     // per worker
    std::vector<uint64_t> last_change_ms_; // when its heartbeat last moved
    std::vector<std::string> ports_down_;
    bool drained_ = false;
    std::atomic<health_state> state_{health_state::ready};
    std::string reason_ = "ok";
    uint64_t since_ms_ = 0;
};

// The commands health, drain and undrain on server (docs/control-protocol.md).
// flows_active: the live flow count (what `egressctl drain --wait` watches).
void add_health_commands(control_server& server, health_monitor& health, std::function<uint64_t()> flows_active,
                         std::function<uint64_t()> now_ms);

} // namespace egress::controlplane
