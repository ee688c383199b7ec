// One worker's packet logic, free of DPDK. The dataplane hands it bursts of
// frames that arrived on one side and gets back one packet_result per frame
// (forward, drop, consumed or reply: see packet_result.hpp), plus the frames
// the gateway built on its own (outbox).
//
// gateway_core owns the stages and runs them in order (gateway_core.cpp):
// admit_stage (parse once, admit) -> local_stage for the gateway's own
// traffic, else flow_stage (burst lookup, find / create) -> fragment_stage
// for fragments -> flow_policy_stage (re-check, cut, hostname hold) ->
// flow_stage (track) -> flow_policy_stage (DLP) -> flow_stage (account) ->
// nat_stage (translate) -> emit_stage (next hop, L2, VLAN; MTU and the
// gateway's own ICMP errors). Each stage is a concrete type with its own state
// and file; the calls are direct (no virtual call per packet).
//
// One instance per worker lcore; nothing in it is shared, nothing on the packet
// path allocates, locks, logs or throws.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "flow/flow_table.hpp"
#include "gateway/admit_stage.hpp"
#include "gateway/dns_observer.hpp"
#include "gateway/emit_stage.hpp"
#include "gateway/flow_policy_stage.hpp"
#include "gateway/flow_query.hpp"
#include "gateway/flow_reporter.hpp"
#include "gateway/flow_stage.hpp"
#include "gateway/fragment_stage.hpp"
#include "gateway/hostname_reassembly.hpp"
#include "gateway/local_stage.hpp"
#include "gateway/nat_stage.hpp"
#include "gateway/neighbor_resolver.hpp"
#include "gateway/outbox.hpp"
#include "gateway/packet_result.hpp"
#include "gateway/settings.hpp"
#include "policy/active_policy.hpp"
#include "policy/security_event.hpp"
#include "net/packet_view.hpp"
#include "stats/counters.hpp"
#include "stats/live_stats.hpp"

namespace egress::gateway {

inline constexpr uint16_t max_burst = 512;
inline constexpr uint16_t lookup_chunk = 32; // frames parsed and looked up together
inline constexpr uint32_t outbox_frames = 128; // frames the gateway may build per call (see outbox.hpp)

class gateway_core {
public:
    explicit gateway_core(const settings& s);
    gateway_core(const gateway_core&) = delete; // the resolver refers to members
    gateway_core& operator=(const gateway_core&) = delete;

    // Frames handed to process_burst have at least `bytes` (0..8) writable bytes
    // in front of frames[i].data(), within the same buffer (mbuf headroom). A
    // frame leaving a VLAN side that arrived untagged grows by 4 bytes into it;
    // without headroom such frames are dropped (vlan_no_headroom).
    void set_frame_headroom(std::size_t bytes) noexcept { emit_.set_frame_headroom(bytes); }

    // Frames that arrived on `from` (at most max_burst): results[i] says what
    // became of frames[i]. With several workers (settings.steer set) a result
    // may ask for the frame to be shared: it was an ARP / neighbour discovery
    // message that maps an address to a MAC. Each worker has its own
    // neighbour cache and sends its own requests, but the answers reach
    // whichever worker receives them, so the caller hands every other worker a
    // copy, for learn_from_peer.
    void process_burst(stats::side from, std::span<uint8_t>* frames, uint16_t n, uint32_t now_ms,
                       packet_result* results) noexcept {
        process_burst(from, frames, n, now_ms, results, nullptr, nullptr);
    }
    // The same for frames the caller parsed already (to steer them): views[i]
    // and parsed[i] are what net::parse_frame made of frames[i]; they are not
    // parsed again, and views[i] is updated with the frame.
    void process_burst(stats::side from, std::span<uint8_t>* frames, uint16_t n, uint32_t now_ms,
                       packet_result* results, net::packet_view* views, const stats::drop_reason* parsed) noexcept;
    // A copy of a frame another worker received on `from` and shared
    // (share_with_peers): a DNS response (dns_answer) goes into this worker's
    // table of observed names; otherwise the neighbour cache learns from it (and may release
    // held frames into the outbox, see built_frames); nothing is answered,
    // nothing is counted as received or dropped. Returns consumed, or a drop
    // saying why the copy was of no use (not counted either).
    packet_result learn_from_peer(stats::side from, std::span<const uint8_t> frame, uint32_t now_ms) noexcept;
    // Frames built by the last process_burst or expire call besides the burst's
    // own (resets towards the far end of a cut flow, ...): the caller sends
    // them before its next call, which starts with an empty box.
    const outbox& built_frames() const noexcept { return outbox_; }

    packet_result process(stats::side from, std::span<uint8_t> frame, uint32_t now_ms) noexcept {
        packet_result r;
        process_burst(from, &frame, 1, now_ms, &r);
        return r;
    }

    // Examines up to `budget` flow records: retires the expired ones and reports
    // long-lived ones whose active timeout has passed; flushes aggregated refusals.
    void expire(uint32_t now_ms, uint32_t budget) noexcept;

    // Flow export: events go to `ring` (owned by the caller, drained by the
    // exporter). Without a ring, or with export disabled, no events are built.
    void attach_events(event_ring* ring) noexcept { reporter_.attach(ring); }
    void set_wall_clock(uint64_t epoch_ms, uint32_t now_ms) noexcept {
        reporter_.set_wall_clock(epoch_ms, now_ms);
        policy_.set_wall_offset(epoch_ms - now_ms);
    }
    // Security events (denials, would-deny, cuts, blocks) go to `ring` (owned by
    // the caller, drained by the control plane); none are built without one.
    void attach_security_events(policy::security_ring* ring) noexcept { policy_.attach_security_events(ring); }
    // verify = "resolve": the worker's rings to and from the resolver thread
    // (dns_observer::attach_resolver); answers are taken by expire().
    void attach_resolver(dns::request_ring* requests, dns::answer_ring* answers) noexcept {
        dns_.attach_resolver(requests, answers);
    }
    // Shutdown (not the packet path): reports every live flow as ended
    // (forced_end) and flushes the aggregated refusals.
    void report_remaining(uint32_t now_ms) noexcept { flows_.report_remaining(now_ms); }

    stats::worker_counters& counters() noexcept { return counters_; }
    const stats::worker_counters& counters() const noexcept { return counters_; }
    const flow::flow_table& flows() const noexcept { return flows_.table(); }
    const hostname_reassembly& inspection() const noexcept { return reassembly_; }
    const fragment_tracker& fragments() const noexcept { return fragments_.tracker(); }
    const neighbor_resolver& neighbors() const noexcept { return resolver_; }
    const dns_observer& dns() const noexcept { return dns_; }
    // Segments kept to be replayed when their flow's lookup has an answer.
    const waiting_segments& waiting() const noexcept { return policy_.waiting(); }
    // Advances a control-plane flow query by `budget` table slots (see flow_query.hpp).
    bool step_query(flow_query& q, uint32_t budget, uint32_t now) const noexcept {
        if (q.what() == flow_query::kind::sources) return q.step(flows_.limits(), budget);
        return q.step(flows_.table(), budget, now, &reassembly_, &policy_);
    }
    uint64_t flows_active() const noexcept { return flows_.table().size(); }
    const flow::source_limits& source_limits() const noexcept { return flows_.limits(); }
    uint64_t flow_capacity() const noexcept { return flows_.table().capacity(); }
    uint64_t flow_table_bytes() const noexcept { return flows_.table().memory_bytes(); }
    std::vector<pool_address_usage> pool_usage() const { return nat_.pool_usage(); }
    // The egress policy new flows are checked against, with its decision
    // counters; null: every outbound flow is allowed. The worker sets it once per
    // loop from the published (RCU) pointer.
    void use_policy(policy::active_policy* p) noexcept { policy_.use_policy(p); }
    // Copies what the metrics endpoint shows (no allocation; the worker calls it
    // every few milliseconds and publishes the copy).
    void snapshot(stats::live_stats& out) const noexcept;

private:
    void process_chunk(stats::side from, std::span<uint8_t>* frames, uint16_t n, uint32_t now_ms,
                       packet_result* results, net::packet_view* views, const stats::drop_reason* parsed) noexcept;
    packet_result transit(flow::direction dir, std::span<uint8_t> frame, net::packet_view& view,
                          const flow::flow_key& key, uint32_t& idx, uint32_t now) noexcept;
    packet_result on_flow(uint32_t idx, flow::direction dir, std::span<uint8_t> frame, net::packet_view& view,
                          uint32_t now, std::size_t headroom) noexcept;
    packet_result fragment(flow::direction dir, std::span<uint8_t> frame, net::packet_view& view,
                           const flow::flow_key& key, uint32_t idx, uint32_t now) noexcept;
    packet_result follow_flow(uint32_t idx, flow::direction dir, std::span<uint8_t> frame, net::packet_view& view,
                              uint32_t now, std::size_t headroom) noexcept;
    void release_held(uint32_t entry, uint32_t idx, flow::direction dir, uint32_t now) noexcept;
    void release_hold(flow_policy_stage::hold_release h, std::span<const uint8_t> frame, const net::packet_view& view,
                      uint32_t now) noexcept;
    packet_result relay_icmp_error(flow::direction dir, std::span<uint8_t> frame, net::packet_view& view,
                                   uint32_t idx, uint32_t now) noexcept;
    bool observe_dns(const flow::flow_record& rec, std::span<const uint8_t> frame, const net::packet_view& view,
                     uint32_t now) noexcept;
    packet_result hairpin(std::span<const uint8_t> frame, const net::packet_view& view, uint32_t now) noexcept;
    packet_result hairpin_error(std::span<const uint8_t> frame, uint32_t now) noexcept;
    void renumber(const flow::flow_record& rec, std::span<uint8_t> frame, const net::packet_view& view) noexcept;
    uint16_t fragment_id(const flow::flow_record& rec) noexcept;
    void replay(uint32_t idx, std::span<uint8_t> frame, uint32_t now) noexcept;

    // The stages' shared surroundings, then the stages in packet order
    // (members are built in this order: each stage only refers to earlier ones).
    settings settings_;
    stats::worker_counters counters_;
    outbox outbox_{outbox_frames};
    flow_reporter reporter_;
    hostname_reassembly reassembly_;
    neighbor_resolver resolver_{settings_, outbox_, counters_};
    fragment_stage fragments_;
    admit_stage admit_;
    local_stage local_;
    emit_stage emit_;
    nat_stage nat_;
    dns_observer dns_{settings_.dns, counters_};
    flow_policy_stage policy_;
    flow_stage flows_;
    // The fragment tracker's entry of the datagram whose fragment is in the
    // flow stages (fragment(), release_held), for renumber(); npos otherwise.
    uint32_t fragment_entry_ = fragment_tracker::npos;
    // process_chunk's views and lookup keys. Members, not locals: as locals
    // their default member initializers cleared ~4.7 KB per chunk (callgrind:
    // ~18 instructions per packet) that the parse and the key building
    // overwrite anyway.
    struct chunk_scratch {
        net::packet_view views[lookup_chunk];
        flow::flow_key keys[lookup_chunk];
    } scratch_;
};

} // namespace egress::gateway
