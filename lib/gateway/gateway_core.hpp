// One worker's packet logic, free of DPDK: parse, classify, track, translate,
// rewrite. The dataplane hands it bursts of frames that arrived on one side and
// gets back one packet_result per frame (forward, drop, consumed or reply: see
// packet_result.hpp), plus the frames the gateway built on its own (outbox).
//
// One instance per worker lcore; nothing in it is shared, nothing on the packet
// path allocates, locks, logs or throws.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/token_bucket.hpp"
#include "flow/flow_table.hpp"
#include "gateway/flow_query.hpp"
#include "gateway/flow_reporter.hpp"
#include "gateway/fragment_tracker.hpp"
#include "gateway/hostname_reassembly.hpp"
#include "gateway/neighbor_resolver.hpp"
#include "gateway/outbox.hpp"
#include "gateway/packet_result.hpp"
#include "gateway/settings.hpp"
#include "nat/port_allocator.hpp"
#include "policy/active_policy.hpp"
#include "policy/security_event.hpp"
#include "net/packet_view.hpp"
#include "stats/counters.hpp"
#include "stats/live_stats.hpp"

namespace egress::gateway {

inline constexpr uint16_t max_burst = 512;
inline constexpr uint16_t lookup_chunk = 32; // frames parsed and looked up together
inline constexpr uint32_t outbox_frames = 128; // frames the gateway may build per call (see outbox.hpp)

struct pool_address_usage {
    net::ip_address address;
    uint64_t mappings_active = 0;
    uint64_t mappings_created = 0;
    uint64_t exhausted = 0;
};

class gateway_core {
public:
    explicit gateway_core(const settings& s);
    gateway_core(const gateway_core&) = delete; // the resolver refers to members
    gateway_core& operator=(const gateway_core&) = delete;

    // Frames handed to process_burst have at least `bytes` (0..8) writable bytes
    // in front of frames[i].data(), within the same buffer (mbuf headroom). A
    // frame leaving a VLAN side that arrived untagged grows by 4 bytes into it;
    // without headroom such frames are dropped (vlan_no_headroom).
    void set_frame_headroom(std::size_t bytes) noexcept { frame_headroom_ = bytes; }

    // Frames that arrived on `from` (at most max_burst): results[i] says what
    // became of frames[i]. With several workers (settings.steer set) a result
    // may ask for the frame to be shared: it was an ARP / neighbour discovery
    // message that maps an address to a MAC. Each worker has its own
    // neighbour cache and sends its own requests, but the answers reach
    // whichever worker receives them, so the caller hands every other worker a
    // copy, for learn_from_peer.
    void process_burst(stats::side from, std::span<uint8_t>* frames, uint16_t n, uint32_t now_ms,
                       packet_result* results) noexcept;
    // A copy of a frame another worker received on `from` and shared
    // (share_with_peers): the neighbour cache learns from it (and may release
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
        wall_offset_ms_ = epoch_ms - now_ms;
    }
    // Security events (denials, would-deny, cuts, blocks) go to `ring` (owned by
    // the caller, drained by the control plane); none are built without one.
    void attach_security_events(policy::security_ring* ring) noexcept { security_ = ring; }
    // Shutdown (not the packet path): reports every live flow as ended
    // (forced_end) and flushes the aggregated refusals.
    void report_remaining(uint32_t now_ms) noexcept;

    stats::worker_counters& counters() noexcept { return counters_; }
    const stats::worker_counters& counters() const noexcept { return counters_; }
    const flow::flow_table& flows() const noexcept { return table_; }
    const hostname_reassembly& inspection() const noexcept { return reassembly_; }
    const fragment_tracker& fragments() const noexcept { return fragments_; }
    const neighbor_resolver& neighbors() const noexcept { return resolver_; }
    // Advances a control-plane flow query by `budget` table slots (see flow_query.hpp).
    bool step_query(flow_query& q, uint32_t budget, uint32_t now) const noexcept {
        return q.step(table_, budget, now, &reassembly_);
    }
    uint64_t flows_active() const noexcept { return table_.size(); }
    uint64_t flow_capacity() const noexcept { return table_.capacity(); }
    uint64_t flow_table_bytes() const noexcept { return table_.memory_bytes(); }
    std::vector<pool_address_usage> pool_usage() const;
    // The egress policy new flows are checked against, with its decision
    // counters; null: every outbound flow is allowed. The worker sets it once per
    // loop from the published (RCU) pointer.
    void use_policy(policy::active_policy* p) noexcept { policy_ = p; }
    // Copies what the metrics endpoint shows (no allocation; the worker calls it
    // every few milliseconds and publishes the copy).
    void snapshot(stats::live_stats& out) const noexcept;

private:
    // What the parse and admit steps make of a frame: it goes on through the
    // flow stages (transit), it is for the gateway itself (ARP, neighbour
    // discovery, IP to one of its addresses), or it is refused.
    enum class destination : uint8_t { transit, gateway_arp, gateway_nd, gateway_ip, refused };
    struct admission {
        destination to = destination::transit;
        stats::drop_reason why = stats::no_drop; // refused only
    };

    void process_chunk(stats::side from, std::span<uint8_t>* frames, uint16_t n, uint32_t now_ms,
                       packet_result* results) noexcept;
    packet_result refuse(stats::side from, std::span<const uint8_t> frame, const net::packet_view& view,
                         stats::drop_reason why, uint32_t now) noexcept;
    packet_result local_frame(stats::side from, std::span<uint8_t> frame, const net::packet_view& view,
                              destination to, uint32_t now) noexcept;
    packet_result echo_reply(stats::side from, std::span<const uint8_t> frame, const net::packet_view& view,
                             uint32_t now) noexcept;
    void start_up() noexcept;
    net::mac_address reply_mac(stats::side back, std::span<const uint8_t> frame) const noexcept;
    // A flow admitted under another policy snapshot: decide it again.
    void recheck(flow::flow_record& rec, uint32_t idx, uint32_t now) noexcept;
    policy::query query_of(const flow::flow_record& rec, uint32_t idx) const noexcept;
    packet_result inspect_segment(flow::flow_record& rec, uint32_t idx, std::span<uint8_t> frame,
                                  const net::packet_view& view, uint32_t now) noexcept;
    packet_result deny_inspected(flow::flow_record& rec, uint32_t idx, std::span<uint8_t> frame,
                                 const net::packet_view& view, const policy::decision& d, stats::drop_reason why,
                                 uint32_t now) noexcept;
    void cut(flow::flow_record& rec, uint32_t now) noexcept;
    packet_result dlp_segment(flow::flow_record& rec, uint32_t idx, std::span<uint8_t> frame,
                              const net::packet_view& view, flow::direction dir, uint32_t now) noexcept;
    packet_result reset_both_ways(flow::flow_record& rec, std::span<uint8_t> frame, const net::packet_view& view,
                                  flow::direction dir, stats::drop_reason why, uint32_t now) noexcept;
    void security_event(policy::security_event_kind kind, const policy::decision& d, const net::ip_address& src,
                        uint16_t src_port, const net::ip_address& dst, uint16_t dst_port, uint8_t proto,
                        bool existing, uint32_t now, std::string_view hostname = {},
                        const dlp::dlp_match* match = nullptr) noexcept;
    packet_result cut_packet(std::span<uint8_t> frame, const net::packet_view& view, flow::direction dir) noexcept;
    admission admit(stats::side from, std::span<const uint8_t> frame, net::packet_view& view) const noexcept;
    static admission classify_refusal(std::span<const uint8_t> frame, stats::drop_reason parsed) noexcept;
    packet_result outbound(std::span<uint8_t> frame, net::packet_view& view, const flow::flow_key& key,
                           uint32_t& idx, uint32_t now) noexcept;
    packet_result inbound(std::span<uint8_t> frame, net::packet_view& view, uint32_t& idx, uint32_t now) noexcept;
    // Fragments (fragment_tracker.hpp): the first one finds its flow like a
    // whole datagram, the later ones follow it.
    packet_result fragment(flow::direction dir, std::span<uint8_t> frame, net::packet_view& view,
                           const flow::flow_key& key, uint32_t idx, uint32_t now) noexcept;
    packet_result follow_flow(uint32_t idx, flow::direction dir, std::span<uint8_t> frame, net::packet_view& view,
                              uint32_t now, std::size_t headroom) noexcept;
    void release_held(uint32_t entry, uint32_t idx, flow::direction dir, uint32_t now) noexcept;
    bool fragments_uninspectable(const flow::flow_record& rec) const noexcept;
    stats::drop_reason create_flow(std::span<const uint8_t> frame, const net::packet_view& view, uint32_t now,
                                   uint32_t& idx) noexcept;
    stats::drop_reason track(flow::flow_record& rec, flow::direction dir, const net::packet_view& view,
                             uint32_t now) noexcept;
    void retire(uint32_t idx, uint32_t now) noexcept;
    void on_expired(uint32_t idx, const flow::flow_record& rec) noexcept;
    flow_names names_of(uint32_t idx) const noexcept;
    static flow::end_reason natural_end(const flow::flow_record& rec) noexcept;
    uint32_t last_packet_time(const flow::flow_record& rec) const noexcept;
    void account(flow::flow_record& rec, uint32_t idx, flow::direction dir, const net::packet_view& view,
                 uint32_t now) noexcept;
    // Last step of every forwarded frame: hop limit, next hop (static, resolved,
    // or held: consumed), Ethernet header and the side's VLAN tag. `headroom`
    // bytes before frame.data() may be written; a forward result says how many were.
    packet_result emit(stats::side to, std::span<uint8_t> frame, net::packet_view& view, uint32_t now,
                       std::size_t headroom) noexcept;
    bool is_own_address(const net::ip_address& a) const noexcept;
    // ICMP (gateway_icmp.cpp): relaying errors that quote a flow, the gateway's
    // own errors, the MTU check and MSS clamping.
    packet_result relay_icmp_error(stats::side from, std::span<uint8_t> frame, net::packet_view& view,
                                   uint32_t idx, uint32_t now) noexcept;
    stats::drop_reason check_mtu(stats::side from, std::span<const uint8_t> frame, const net::packet_view& view,
                                 uint32_t now) noexcept;
    enum class own_error : uint8_t { time_exceeded, too_big };
    void send_icmp_error(stats::side back, std::span<const uint8_t> frame, const net::packet_view& view,
                         own_error kind, uint16_t mtu, uint32_t now) noexcept;
    void clamp_mss(std::span<uint8_t> frame, const net::packet_view& view) noexcept;

    settings settings_;
    flow::flow_table table_;
    nat::port_allocator nat_;
    stats::worker_counters counters_;
    flow_reporter reporter_;
    std::vector<uint64_t> mappings_created_; // per pool address
    policy::active_policy* policy_ = nullptr;
    policy::security_ring* security_ = nullptr;
    hostname_reassembly reassembly_;
    outbox outbox_{outbox_frames};
    base::token_bucket icmp_budget_;  // the gateway's own ICMP errors
    fragment_tracker fragments_;
    neighbor_resolver resolver_{settings_, outbox_, counters_};
    bool started_ = false;          // announcements sent (first process_burst / expire; worker 0 only)
    std::size_t frame_headroom_ = 0;
    uint32_t echo_tokens_ = 0;      // echo replies left in the current second
    uint32_t echo_second_ = 0;      // the flow-clock second they are for
    uint64_t wall_offset_ms_ = 0; // Unix epoch ms minus the gateway clock
    uint64_t erasures_ = 0; // bumps whenever a record is removed (invalidates burst lookups)
};

} // namespace egress::gateway
