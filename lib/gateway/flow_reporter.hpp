// Turns what the packet path sees into flow events for the exporter: flow ends,
// active-timeout updates, aggregated refused attempts and RFC 8158 NAT events.
// Events go to a per-worker single-producer ring; a full ring never blocks the
// worker, the event is counted as lost instead (and the exporter reports the
// loss to the collector).
#pragma once

#include <cstdint>
#include <vector>

#include "base/spsc_ring.hpp"
#include "flow/denied_aggregator.hpp"
#include "flow/flow_event.hpp"
#include "flow/flow_record.hpp"
#include "flow/flow_table.hpp"
#include "gateway/settings.hpp"
#include "stats/counters.hpp"

namespace egress::gateway {

using event_ring = base::spsc_ring<flow::flow_event>;

// What a flow record says beyond its tuple and counters (empty when unknown).
struct flow_names {
    std::string_view server_name; // TLS SNI
    std::string_view http_host;   // HTTP Host
};

class flow_reporter {
public:
    flow_reporter(const export_settings& s, std::size_t pool_size, stats::worker_counters& counters)
        : settings_(s), counters_(counters), last_exhausted_ms_(pool_size, 0), exhausted_reported_(pool_size, false) {}

    void attach(event_ring* ring) noexcept { ring_ = ring; }
    bool enabled() const noexcept { return ring_ != nullptr && settings_.enabled; }

    // The wall clock (Unix ms) that corresponds to gateway clock `now`; set by
    // the worker once per loop. Event times are derived from it.
    void set_wall_clock(uint64_t epoch_ms, uint32_t now) noexcept {
        wall_ms_ = epoch_ms;
        wall_at_ = now;
    }

    // cut: the flow was cut (flow::cut_tally), its record says so under `rule`.
    void flow_end(const flow::flow_record& r, const flow::flow_volume& v, flow::end_reason why,
                  uint32_t last_packet, const flow_names& names = {}, const flow::cut_tally* cut = nullptr,
                  std::string_view rule = {}) noexcept;
    // Reports and resets the counters of a live flow (active timeout or counters
    // about to wrap), with its name and rule.
    void flow_update(flow::flow_record& r, flow::flow_volume& v, uint32_t now, const flow_names& names = {},
                     std::string_view rule = {}) noexcept;
    void nat_session(const flow::flow_record& r, bool created, uint32_t now) noexcept;
    void denied(const net::packet_view& v, stats::drop_reason why, uint32_t now) noexcept {
        denied_.add(v, why, now);
    }
    // At most one event per pool address per denied_flush interval.
    void ports_exhausted(const net::packet_view& v, uint32_t public_addr, uint32_t pool_index, uint32_t now) noexcept;

    // No pool address at all for an IPv4 host (natEvent 3), at most once per
    // denied_flush interval.
    void addresses_exhausted(const net::packet_view& v, uint32_t now) noexcept;

    // Flushes the aggregated refusals once per denied_flush interval.
    void tick(uint32_t now) noexcept;
    // Flushes everything now (shutdown).
    void flush_all(uint32_t now) noexcept;
    // Shutdown only (never on the packet path): a push waits up to 2 s for room
    // in the ring before counting the event as lost.
    void set_patient(bool patient) noexcept;

    bool is_due(const flow::flow_record& r, uint32_t now) const noexcept {
        return now - r.report_start_ms >= settings_.active_timeout_ms;
    }

private:
    uint64_t wall(uint32_t t) const noexcept { return wall_ms_ - static_cast<uint32_t>(wall_at_ - t); }
    void push(const flow::flow_event& e) noexcept;
    flow::flow_event from_record(const flow::flow_record& r, const flow::flow_volume& v, const flow_names& names,
                                 std::string_view rule) const noexcept;
    void flush_denied() noexcept;
    flow::flow_event nat_event(flow::nat_event_type type, uint8_t proto, const net::ip_address& src, uint16_t src_port,
                               const net::ip_address& dst, uint16_t dst_port, uint32_t public_addr,
                               uint16_t public_port, uint32_t now) const noexcept;

    export_settings settings_;
    stats::worker_counters& counters_;
    event_ring* ring_ = nullptr;
    flow::denied_aggregator denied_;
    std::vector<uint32_t> last_exhausted_ms_;
    std::vector<bool> exhausted_reported_;
    uint64_t wall_ms_ = 0;
    uint32_t wall_at_ = 0;
    uint32_t last_flush_ = 0;
    uint32_t last_no_address_ms_ = 0;
    bool no_address_reported_ = false;
    bool patient_ = false;
};

} // namespace egress::gateway
