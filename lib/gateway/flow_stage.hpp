// Flow lookup and tracking: the stage that finds each packet's flow (a burst
// lookup: hash all, prefetch all buckets, then compare), creates outbound
// flows (only connection openers; the policy decides, NAT maps), advances a
// flow's TCP state and idle timeout per packet, accounts its packets and
// bytes for flow export, and retires flows (idle timeout, sweep, shutdown).
#pragma once

#include <cstdint>
#include <span>

#include "flow/flow_table.hpp"
#include "flow/source_limits.hpp"
#include "flow/tcp_state.hpp"
#include "gateway/flow_policy_stage.hpp"
#include "gateway/flow_reporter.hpp"
#include "gateway/hostname_reassembly.hpp"
#include "gateway/nat_stage.hpp"
#include "gateway/settings.hpp"
#include "net/packet_view.hpp"
#include "stats/counters.hpp"

namespace egress::gateway {

class flow_stage {
public:
    static constexpr uint32_t npos = flow::flow_table::npos;

    flow_stage(const settings& s, stats::worker_counters& counters, flow_reporter& reporter, nat_stage& nat,
               flow_policy_stage& policy, hostname_reassembly& reassembly);

    // The burst lookup; the hits' byte counters (a side array) are prefetched
    // for account(). erasures() tells whether a record was removed since.
    void lookup_burst(const flow::flow_key* keys, const flow::direction* dirs, uint32_t n, uint32_t* found) const noexcept {
        table_.lookup_burst(keys, dirs, n, found, true);
    }
    uint32_t lookup(const flow::flow_key& key, flow::direction dir) const noexcept { return table_.lookup(key, dir); }
    uint64_t erasures() const noexcept { return erasures_; }

    // Outbound: the flow of `key` (idx from the burst lookup), or a new one.
    // An idle flow's tuple is reused: it starts over as a new flow.
    stats::drop_reason outbound(const flow::flow_key& key, std::span<const uint8_t> frame,
                                const net::packet_view& view, uint32_t now, uint32_t& idx) noexcept {
        if (idx != npos && flow::is_expired(table_.at(idx), now)) {
            retire(idx);
            idx = npos;
        }
        // A miss is looked up once more before creating: an earlier packet of the
        // same burst may have created this very flow after the burst lookup ran.
        if (idx == npos) idx = table_.lookup(key, flow::direction::outbound);
        if (idx == npos) return create(frame, view, now, idx);
        return stats::no_drop;
    }
    // Inbound: only a live flow's packets come in.
    stats::drop_reason inbound(uint32_t idx, uint32_t now) noexcept {
        if (idx == npos) return stats::drop_reason::inbound_unsolicited;
        if (flow::is_expired(table_.at(idx), now)) {
            retire(idx);
            return stats::drop_reason::inbound_unsolicited;
        }
        return stats::no_drop;
    }
    flow::flow_record& at(uint32_t idx) noexcept { return table_.at(idx); }
    const flow::flow_table& table() const noexcept { return table_; }
    const flow::source_limits& limits() const noexcept { return limits_; }

    // The flow's state after a packet: TCP's state machine (track_tcp); for
    // UDP and ICMP only the idle timeout moves on. Inline: every packet.
    [[gnu::always_inline]] stats::drop_reason track(flow::flow_record& rec, uint32_t idx, flow::direction dir,
                                                    std::span<const uint8_t> frame, const net::packet_view& view,
                                                    uint32_t now) noexcept {
        if (rec.proto == net::proto_tcp) return track_tcp(rec, idx, dir, frame, view, now);
        rec.expires_at_ms = now + idle_timeout(rec, settings_.timeouts);
        return stats::no_drop;
    }
    // Per-packet accounting for flow export. A flow whose byte counters
    // approach 32 bits is reported early (its deltas restart), so counts
    // never wrap. Inline: every packet.
    [[gnu::always_inline]] void account(flow::flow_record& rec, uint32_t idx, flow::direction dir,
                                        const net::packet_view& view, uint32_t now) noexcept {
        flow::flow_volume& vol = table_.volume(idx);
        rec.tcp_flags_seen |= view.tcp_flags;
        if (dir == flow::direction::outbound) {
            rec.packets_out += 1;
            vol.bytes_out += view.l3_length;
        } else {
            rec.packets_in += 1;
            vol.bytes_in += view.l3_length;
        }
        constexpr uint32_t report_before = 0xF000'0000u;
        if ((vol.bytes_out | vol.bytes_in) >= report_before && reporter_.enabled()) [[unlikely]]
            report_update(idx, rec, now);
    }
    static uint32_t idle_timeout(const flow::flow_record& r, const flow::timeouts& t) noexcept {
        switch (r.proto) {
        case net::proto_tcp: return flow::timeout_for(static_cast<flow::tcp_state>(r.tcp_state), t);
        case net::proto_udp: return t.udp_ms;
        default: return t.icmp_ms;
        }
    }

    // See gateway_core::expire and report_remaining.
    void expire(uint32_t now, uint32_t budget) noexcept;
    void report_remaining(uint32_t now) noexcept;

private:
    stats::drop_reason create(std::span<const uint8_t> frame, const net::packet_view& view, uint32_t now,
                              uint32_t& idx) noexcept;
    void retire(uint32_t idx) noexcept;
    bool picks_up(const net::packet_view& view) const noexcept;
    void on_expired(uint32_t idx, const flow::flow_record& rec) noexcept;
    flow_names names_of(uint32_t idx) const noexcept;
    void report_end(uint32_t idx, const flow::flow_record& rec, flow::end_reason why) noexcept;
    void report_update(uint32_t idx, flow::flow_record& rec, uint32_t now) noexcept;
    stats::drop_reason track_tcp(flow::flow_record& rec, uint32_t idx, flow::direction dir,
                                 std::span<const uint8_t> frame, const net::packet_view& view, uint32_t now) noexcept;
    static flow::end_reason natural_end(const flow::flow_record& rec) noexcept;
    uint32_t last_packet_time(const flow::flow_record& rec) const noexcept;
    stats::drop_reason admit_source(const net::packet_view& view, uint32_t now, bool& counted) noexcept;

    const settings& settings_;
    stats::worker_counters& counters_;
    flow_reporter& reporter_;
    nat_stage& nat_;
    flow_policy_stage& policy_;
    hostname_reassembly& reassembly_;
    flow::flow_table table_;
    flow::source_limits limits_; // [limits]: per inside source (SECURITY-MODEL.md promise 6)
    uint64_t erasures_ = 0; // bumps whenever a record is removed (invalidates burst lookups)
};

} // namespace egress::gateway
