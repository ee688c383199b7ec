// Flow policy: the stage between flow lookup and NAT that decides whether a
// flow's packet may pass. A new flow is decided once (deny / block / would
// deny; whether its hostname must be read first; whether DLP scans it). An
// existing flow is decided again after a policy reload (a denied flow is cut:
// its packets are dropped, an inside TCP sender gets a reset), holds a flow
// waiting for its hostname (its client payload is consumed until the verdict:
// allowed, released in order; denied, reset both ways, nothing of it sent; a
// QUIC flow's datagrams likewise, see quic_stage.hpp), and has its payload scanned by DLP in each direction's byte
// order. Security events (denials, would-deny, cuts, blocks, DLP matches) go
// to the control plane's ring.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "flow/flow_record.hpp"
#include "flow/flow_table.hpp"
#include "gateway/dns_observer.hpp"
#include "gateway/emit_stage.hpp"
#include "gateway/hostname_reassembly.hpp"
#include "gateway/outbox.hpp"
#include "gateway/packet_result.hpp"
#include "gateway/quic_stage.hpp"
#include "gateway/settings.hpp"
#include "gateway/waiting_segments.hpp"
#include "net/packet_view.hpp"
#include "net/tcp_segment.hpp"
#include "policy/active_policy.hpp"
#include "policy/security_event.hpp"
#include "stats/counters.hpp"

namespace egress::gateway {

class flow_policy_stage {
public:
    flow_policy_stage(const settings& s, stats::worker_counters& counters, outbox& box,
                      hostname_reassembly& reassembly, emit_stage& emit)
        : settings_(s), counters_(counters), outbox_(box), reassembly_(reassembly), emit_(emit),
          quic_(s.inspect, reassembly), waiting_(s.dns.resolve.resolvers.empty() ? 0 : waiting_capacity) {}

    // verify = "resolve": the segments of flows whose lookup is under way
    // (waiting_segments.hpp), each handed to replay(flow, frame) once an
    // answer came in (`answered`) or its lookup's time is up; gateway_core
    // runs them through the flow stages, with replay_held_ set meanwhile (a
    // replayed segment is no new packet of the flow: not counted as consumed
    // again).
    template <class F>
    void replay_waiting(uint32_t now, bool answered, F&& replay) noexcept {
        waiting_.replay(now, answered, [&](uint32_t flow, std::span<uint8_t> frame, bool held) {
            replay_held_ = held;
            replay(flow, frame);
            replay_held_.reset();
        });
    }
    const waiting_segments& waiting() const noexcept { return waiting_; }

    // See gateway_core::use_policy / attach_security_events / set_wall_clock.
    void use_policy(policy::active_policy* p) noexcept { policy_ = p; }
    void attach_security_events(policy::security_ring* ring) noexcept { security_ = ring; }
    void set_wall_offset(uint64_t offset_ms) noexcept { wall_offset_ms_ = offset_ms; }
    // The worker's observed DNS answers, for verify = "observed" (gateway_core's).
    void use_dns(dns_observer* dns) noexcept { dns_ = dns; }
    // Whether DNS responses are to be read: the policy has a verify = "observed" rule.
    // (A snapshot may have no compiled rules: blocks only.)
    bool observes_dns() const noexcept {
        return policy_ != nullptr && policy_->compiled != nullptr && policy_->compiled->verifies_observed();
    }

    // A new outbound flow: no_drop when it may start (`inspect`: its decision
    // waits for its hostname), else why not (the event is sent).
    stats::drop_reason decide_new(const net::packet_view& view, uint32_t now, bool& inspect) noexcept;
    // The new flow's record exists: it gets an inspection slot when its
    // hostname is to be read or DLP scans it. inspect_exhausted when no slot
    // is left and the policy fails closed (the caller removes the record).
    stats::drop_reason start_inspection(flow::flow_record& rec, uint32_t idx, std::span<const uint8_t> frame,
                                        const net::packet_view& view, bool inspect) noexcept;

    // Before the flow's state advances: re-check after a reload, a cut flow's
    // packets, fragments of a flow whose payload is read, the hostname hold.
    // Inline, every packet asks: a flow of the current policy snapshot that is
    // not cut, waits for no hostname and holds no inspection slot passes on one
    // flag test; any other goes through check_flow.
    [[gnu::always_inline]] packet_result check(flow::flow_record& rec, uint32_t idx, flow::direction dir,
                                               std::span<uint8_t> frame, const net::packet_view& view,
                                               uint32_t now) noexcept {
        constexpr uint8_t decided_here = flow::flow_flags::cut | flow::flow_flags::awaits_hostname |
                                         flow::flow_flags::inspection_slot;
        if ((rec.flags & decided_here) == 0 && !stale(rec)) [[likely]]
            return packet_result::forward();
        return check_flow(rec, idx, dir, frame, view, now);
    }
    // After the flow's state advanced: DLP (and the server's initial sequence
    // number, where DLP's inbound stream starts).
    [[gnu::always_inline]] packet_result scan(flow::flow_record& rec, uint32_t idx, flow::direction dir,
                                              std::span<uint8_t> frame, const net::packet_view& view,
                                              uint32_t now) noexcept {
        // The flag, not the side array: no extra cache line per packet.
        if ((rec.flags & flow::flow_flags::inspection_slot) == 0) [[likely]]
            return packet_result::forward();
        return scan_slot(rec, idx, dir, frame, view, now);
    }
    // A flow admitted under another policy snapshot is decided again (also
    // from the sweep, for idle flows).
    void recheck_if_stale(flow::flow_record& rec, uint32_t idx, uint32_t now) noexcept {
        if (stale(rec)) recheck(rec, idx, now);
    }
    bool stale(const flow::flow_record& rec) const noexcept {
        return policy_ != nullptr && rec.policy_gen != policy_->generation;
    }
    uint8_t generation() const noexcept { return policy_ != nullptr ? policy_->generation : 0; }
    // The [[policy.group]] limits of `src`'s group, if its group sets any.
    const policy::group_limits* group_limits_for(const net::ip_address& src) const noexcept {
        return policy_ != nullptr && policy_->compiled != nullptr ? policy_->compiled->limits_for(src) : nullptr;
    }
    // The flow table (flow_stage's) whose side entries hold cut flows' tallies
    // (flow::cut_tally): what each cut flow's record says about its end.
    void attach_table(flow::flow_table* t) noexcept { table_ = t; }
    // The rule a cut flow's record names: the setting or the rule that denied
    // it ("default", "emergency_block"); empty when the policy has changed
    // since, or for DLP (its event names the pattern).
    std::string_view cut_rule(const flow::cut_tally& t) const noexcept;
    // The rule an allowed flow's record names: the one that allows it under
    // the policy in force now (a reload re-checks every flow), "default" for
    // the default action; empty without a policy. Evaluated (not counted) once
    // per record, off the per-packet path.
    std::string_view allow_rule(const flow::flow_record& rec, uint32_t idx) const noexcept;
    // A source_limit security event: the inside host of `view` was refused a
    // new flow by `limit` (the caller sends at most one per host per interval).
    void source_refused(const net::packet_view& view, stats::drop_reason limit, uint32_t now) noexcept;

    // The hold released a flow with the last check (it returned consumed): the
    // flow, and whether the checked segment's bytes are among the held ones
    // (else the segment itself goes out after them). Taken once.
    struct hold_release {
        uint32_t flow = UINT32_MAX;
        bool segment_held = false;
    };
    hold_release take_release() noexcept {
        const hold_release r = release_;
        release_ = {};
        return r;
    }

private:
    bool dlp_on() const noexcept { return policy_ != nullptr && policy_->scanner(settings_.worker) != nullptr; }
    bool fragments_uninspectable(const flow::flow_record& rec) const noexcept;
    packet_result check_flow(flow::flow_record& rec, uint32_t idx, flow::direction dir, std::span<uint8_t> frame,
                             const net::packet_view& view, uint32_t now) noexcept;
    packet_result scan_slot(flow::flow_record& rec, uint32_t idx, flow::direction dir, std::span<uint8_t> frame,
                            const net::packet_view& view, uint32_t now) noexcept;
    void recheck(flow::flow_record& rec, uint32_t idx, uint32_t now) noexcept;
    policy::query query_of(const flow::flow_record& rec, uint32_t idx) const noexcept;
    void note_would_deny(const policy::decision& d, const net::ip_address& src, uint16_t src_port,
                         const net::ip_address& dst, uint16_t dst_port, uint8_t proto, bool existing, uint32_t now,
                         std::string_view hostname = {}) noexcept;
    packet_result inspect_segment(flow::flow_record& rec, uint32_t idx, std::span<uint8_t> frame,
                                  const net::packet_view& view, uint32_t now) noexcept;
    packet_result inspect_datagram(flow::flow_record& rec, uint32_t idx, std::span<uint8_t> frame,
                                   const net::packet_view& view, uint32_t now) noexcept;
    packet_result after_read(flow::flow_record& rec, uint32_t idx, std::span<uint8_t> frame,
                             const net::packet_view& view, inspect_outcome o, bool stored, std::size_t bytes,
                             uint32_t now) noexcept;
    packet_result decide_held(flow::flow_record& rec, uint32_t idx, std::span<uint8_t> frame,
                              const net::packet_view& view, inspect_outcome o, bool stored, uint32_t now) noexcept;
    packet_result release(uint32_t idx, bool stored) noexcept;
    // verify = "observed" / "resolve" (flow_policy_verify.cpp).
    packet_result verify_name(flow::flow_record& rec, uint32_t idx, std::span<uint8_t> frame,
                              const net::packet_view& view, const policy::decision& d, std::string_view name,
                              bool stored, uint32_t now) noexcept;
    resolve_result check_name(const flow::flow_record& rec, const policy::decision& d, std::string_view name,
                              uint32_t now) noexcept;
    void recheck_name(flow::flow_record& rec, uint32_t idx, const policy::decision& d, std::string_view name,
                      uint32_t now) noexcept;
    void name_event(policy::security_event_kind kind, const flow::flow_record& rec, const policy::decision& d,
                    std::string_view name, stats::drop_reason why, bool existing, uint32_t now) noexcept;
    packet_result verify_segment(uint32_t idx, std::span<const uint8_t> frame, const net::packet_view& view) noexcept;
    packet_result overlap_verdict(overlap o) const noexcept;
    packet_result hold_timed_out(flow::flow_record& rec, uint32_t idx, std::span<uint8_t> frame,
                                 const net::packet_view& view, uint32_t now) noexcept;
    packet_result deny_inspected(flow::flow_record& rec, uint32_t idx, std::span<uint8_t> frame,
                                 const net::packet_view& view, const policy::decision& d, stats::drop_reason why,
                                 uint32_t now) noexcept;
    packet_result cut_inspected(flow::flow_record& rec, uint32_t idx, std::span<uint8_t> frame,
                                const net::packet_view& view, const policy::decision& d, stats::drop_reason why,
                                uint32_t now) noexcept;
    void cut(flow::flow_record& rec, uint32_t idx, uint32_t now, stats::drop_reason why, uint32_t rule) noexcept;
    void tally_drop(flow::flow_record& rec, uint32_t idx, flow::direction dir, uint32_t packets, uint32_t octets,
                    uint8_t tcp_flags, uint16_t resets) noexcept;
    packet_result dlp_segment(flow::flow_record& rec, uint32_t idx, std::span<uint8_t> frame,
                              const net::packet_view& view, flow::direction dir, uint32_t now) noexcept;
    packet_result reset_both_ways(flow::flow_record& rec, uint32_t idx, std::span<uint8_t> frame,
                                  const net::packet_view& view, flow::direction dir, stats::drop_reason why,
                                  uint32_t rule, uint32_t now, const uint32_t* far_seq = nullptr) noexcept;
    // Every denial of a flow, new or mid-way, whatever decided it: counted
    // (a rule's, the default's or a block's by active_policy::decide, a
    // setting's here under stats::setting_rule_of(why)) and reported once.
    void denied(const policy::decision& d, stats::drop_reason why, const net::ip_address& src, uint16_t src_port,
                const net::ip_address& dst, uint16_t dst_port, uint8_t proto, uint32_t now,
                std::string_view hostname = {}) noexcept;
    void security_event(policy::security_event_kind kind, const policy::decision& d, const net::ip_address& src,
                        uint16_t src_port, const net::ip_address& dst, uint16_t dst_port, uint8_t proto,
                        bool existing, uint32_t now, std::string_view hostname = {},
                        const dlp::dlp_match* match = nullptr, stats::drop_reason why = stats::no_drop) noexcept;
    policy::security_event make_event(policy::security_event_kind kind, const policy::decision& d,
                                      const net::ip_address& src, uint16_t src_port, const net::ip_address& dst,
                                      uint16_t dst_port, uint8_t proto, bool existing, uint32_t now,
                                      std::string_view hostname, const dlp::dlp_match* match,
                                      stats::drop_reason why) const noexcept;
    void push_event(const policy::security_event& e) noexcept;
    packet_result cut_packet(flow::flow_record& rec, uint32_t idx, std::span<uint8_t> frame,
                             const net::packet_view& view, flow::direction dir) noexcept;

    const settings& settings_;
    stats::worker_counters& counters_;
    outbox& outbox_;
    hostname_reassembly& reassembly_;
    emit_stage& emit_;
    policy::active_policy* policy_ = nullptr;
    policy::security_ring* security_ = nullptr;
    dns_observer* dns_ = nullptr;
    uint64_t wall_offset_ms_ = 0; // Unix epoch ms minus the gateway clock
    hold_release release_;
    quic_stage quic_; // the QUIC hold's Initial state and libcrypto contexts
    flow::flow_table* table_ = nullptr;
    static constexpr uint32_t waiting_capacity = 64; // segments kept per worker (~128 KiB)
    waiting_segments waiting_;
    // Set while a kept segment is replayed (replay_waiting): whether its bytes
    // are among the held ones, as known when it first asked.
    std::optional<bool> replay_held_;
};

} // namespace egress::gateway
