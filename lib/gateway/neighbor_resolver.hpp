// Next-hop resolution for the sides without a static next_hop_mac: ARP for
// IPv4 (RFC 826), neighbour discovery for IPv6 (RFC 4861), one neighbor_table
// per side, frames held while their next hop resolves, and the gateway's
// answers for its own addresses. DPDK-free; everything it sends goes into the
// gateway's outbox. Allocated once; nothing here allocates afterwards.
//
// Entry life: a frame towards an unknown next hop creates an `incomplete`
// entry, sends a request at once (broadcast ARP / NS to the solicited-node
// group) and is copied into the entry's queue (at most queue_per_entry frames,
// queue_total in all; beyond that the frame is dropped: neighbor_queue_full).
// Requests repeat every retry_ms; after `retries` unanswered ones the entry is
// removed and its frames dropped (neighbor_unresolved). An answer makes it
// `reachable` and sends the queued frames. After reachable_ms without a new
// confirmation it is `stale`: still used, and the next frame towards it starts
// a `probe` (unicast requests); unanswered, the entry is removed. A stale entry
// unused for stale_ms is removed. A request addressed to the gateway creates
// (or refreshes) the sender's entry as stale (RFC 4861 7.2.3), so replies need
// no resolution of their own, when the sender is on-link or the side's router
// (a request from elsewhere is answered, not remembered). Static neighbours
// are `fixed`.
//
// Timers advance in tick(), which visits a bounded number of slots per call
// (the worker calls it every loop through gateway_core::expire).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "gateway/neighbor_table.hpp"
#include "gateway/outbox.hpp"
#include "gateway/packet_result.hpp"
#include "gateway/settings.hpp"
#include "net/l2.hpp"
#include "stats/counters.hpp"

namespace egress::gateway {

class neighbor_resolver {
public:
    // Room for one held frame: a whole single-segment mbuf's data.
    static constexpr std::size_t held_frame_bytes = 2048;

    neighbor_resolver(const settings& s, outbox& box, stats::worker_counters& counters);

    // True when frames leaving `to` are resolved here (no static next_hop_mac).
    bool resolves(stats::side to) const noexcept { return !port(to).next_hop_mac.has_value(); }

    // The MAC of the next hop towards `dst` on side `to` (dst itself when on-link,
    // else the side's router for that family). Null when it is not resolved yet:
    // then `why` is no_drop and `wait` names the entry the frame must be held on
    // (hold()), or `why` says why it cannot be (neighbor_table_full,
    // neighbor_no_source). Starts resolution (sends a request) as needed.
    const net::mac_address* lookup(stats::side to, const net::ip_address& dst, uint32_t now, stats::drop_reason& why,
                                   uint32_t& wait) noexcept;
    // Copies `frame` (complete but for its destination MAC) into the queue of
    // entry `wait`. consumed, or dropped as neighbor_queue_full (nothing kept).
    packet_result hold(stats::side to, uint32_t wait, std::span<const uint8_t> frame, uint32_t now) noexcept;

    // An ARP frame (parsed L2 header `l2`) that arrived on `from`: answered,
    // learned from, or dropped: consumed or dropped. share_with_peers is set
    // when the message maps an address to a MAC (it got as far as
    // learning): with several workers each keeps its own cache, so the worker
    // hands the other workers a copy (learn_copy) — they sent requests of their
    // own whose answers arrive here.
    packet_result on_arp(stats::side from, std::span<const uint8_t> frame, const net::l2_header& l2,
                         uint32_t now) noexcept;
    // An IPv6 frame the IP parser refused as icmp_type_unsupported: a
    // neighbour solicitation / advertisement is handled (consumed or
    // dropped); anything else is dropped as icmp_type_unsupported.
    // share_with_peers as above.
    // With several workers (settings.steer set), a solicited advertisement
    // unicast to this port for a target this worker does not know is consumed,
    // not ndp_not_for_us: it answers another worker's solicitation.
    packet_result on_nd(stats::side from, std::span<const uint8_t> frame, const net::l2_header& l2,
                        uint32_t now) noexcept;
    // A copy of an ARP or ND frame another worker received on `from` and
    // handled (its on_arp / on_nd set `share`): this cache learns from it
    // exactly as that worker's did (same entries created, refreshed,
    // confirmed; held frames released), but nothing is answered and nothing is
    // counted as a drop. Returns consumed, or a drop saying why the copy was
    // not used (not counted).
    packet_result learn_copy(stats::side from, std::span<const uint8_t> frame, const net::l2_header& l2,
                             uint32_t now) noexcept;

    // Once, at start: gratuitous ARP for every own IPv4 address (and the NAT
    // pool on the outside) and an unsolicited advertisement for every own IPv6
    // address, on each side that resolves. (With several workers only worker 0
    // calls it: the announcements describe the gateway, not a worker.)
    void announce() noexcept;
    // Advances timers on up to `budget` slots (both sides together).
    void tick(uint32_t now, uint32_t budget) noexcept;

    const neighbor_table& table(stats::side s) const noexcept { return tables_[index(s)]; }
    uint32_t frames_held() const noexcept { return held_; }

private:
    static constexpr std::size_t index(stats::side s) noexcept { return static_cast<std::size_t>(s); }
    const side_settings& port(stats::side s) const noexcept {
        return s == stats::side::inside ? settings_.inside : settings_.outside;
    }
    const net::ip_address& next_hop_for(stats::side to, const net::ip_address& dst) const noexcept;
    bool is_own(stats::side s, const net::ip_address& a) const noexcept;
    bool may_learn(stats::side s, const net::ip_address& a) const noexcept;
    const net::ip_address* source_for(stats::side s, const net::ip_address& target) const noexcept;
    bool request(stats::side s, const neighbor_entry& e, bool unicast) noexcept;
    // A message from `a` at `mac`: refreshes an existing entry; `create` makes
    // a stale one when there is none; `confirm` makes it reachable. An entry
    // that becomes usable sends its held frames.
    void learn(stats::side s, const net::ip_address& a, const net::mac_address& mac, bool create, bool confirm,
               uint32_t now) noexcept;
    // The ARP / ND handling; copy: a peer worker's copy (learn only).
    packet_result arp(stats::side from, std::span<const uint8_t> frame, const net::l2_header& l2, uint32_t now,
                      bool copy) noexcept;
    packet_result nd(stats::side from, std::span<const uint8_t> frame, const net::l2_header& l2, uint32_t now,
                     bool copy) noexcept;
    void release(stats::side s, uint32_t slot) noexcept;
    void discard(neighbor_entry& e, stats::drop_reason why) noexcept;
    void visit(stats::side s, uint32_t slot, uint32_t now) noexcept;
    std::span<uint8_t> held_frame(uint32_t i) noexcept {
        return {held_bytes_.data() + std::size_t{i} * held_frame_bytes, held_frame_bytes};
    }

    const settings& settings_;
    outbox& outbox_;
    stats::worker_counters& counters_;
    std::array<neighbor_table, 2> tables_;
    // The router's entry per side and family (0: IPv4, 1: IPv6), checked by
    // address before use (an erase may have moved it).
    uint32_t router_slot_[2][2] = {{neighbor_table::npos, neighbor_table::npos},
                                   {neighbor_table::npos, neighbor_table::npos}};
    // Held frames: fixed buffers, a free list and per-entry FIFOs through next_.
    std::vector<uint8_t> held_bytes_;
    std::vector<uint16_t> held_length_;
    std::vector<uint32_t> next_;
    uint32_t free_head_ = no_frame;
    uint32_t held_ = 0;
    uint32_t cursor_ = 0; // tick(): next slot, over both tables in turn
};

} // namespace egress::gateway
