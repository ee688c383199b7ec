// The worker lcore's loop (worker_main): internal to dataplane/, shared by the
// files that define its members. worker.cpp holds the live loop and the
// per-burst path (dispatch, handle_burst, hand-off rings, exception path, TX);
// worker_replay.cpp holds the pcap replay mode (timestamp order). The members
// called per packet are defined here, in the class, so that they inline into
// the per-burst loops.
#pragma once

#include <cstdint>
#include <span>

#include <rte_cycles.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>

#include "net/packet_parser.hpp"
#include "worker.hpp"

namespace egress::dataplane::worker_loop {

using stats::side;

constexpr side other(side s) noexcept { return s == side::inside ? side::outside : side::inside; }
constexpr std::size_t idx(side s) noexcept { return static_cast<std::size_t>(s); }
// Headroom every received frame must have for gateway_core to push a VLAN tag.
constexpr uint16_t frame_headroom = 8;

// Frames waiting to leave one port (or for another worker's ring); flushed when
// full and once per loop.
struct tx_queue {
    rte_mbuf* pkts[max_burst];
    uint16_t count = 0;
};

// Frames staged for another worker's hand-off ring, and what each counts as
// when the ring is full.
struct handoff_queue {
    rte_mbuf* pkts[max_burst];
    stats::drop_reason if_full[max_burst];
    uint16_t count = 0;
};

class worker {
public:
    explicit worker(worker_context& ctx) noexcept : ctx_(ctx), counters_(ctx.core->counters()) {
        ctx_.core->set_frame_headroom(frame_headroom);
    }
    void run() noexcept;

private:
    uint32_t clock_ms() const noexcept { return clock_ms(rte_get_tsc_cycles()); }
    uint32_t clock_ms(uint64_t tsc) const noexcept { return static_cast<uint32_t>((tsc - start_tsc_) / tsc_per_ms_); }
    bool stopping() const noexcept { return ctx_.stop->load(std::memory_order_relaxed); }
    bool steering() const noexcept { return ctx_.steering != nullptr; }
    // Does this worker poll an RX queue of port s? Queue q belongs to worker q;
    // in replay mode worker 0 alone reads both ports (in timestamp order).
    bool polls(side s) const noexcept {
        return ctx_.replay_in_timestamp_order ? ctx_.index == 0 : ctx_.index < ctx_.ports[idx(s)].rx_queues;
    }
    // The PMD's verdict on the IPv4 header checksum (see net::l3_checksum): only
    // "good" is taken on trust; bad, unknown and none are checked in software.
    static net::l3_checksum rx_checksum(const rte_mbuf* m) noexcept {
        return (m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) == RTE_MBUF_F_RX_IP_CKSUM_GOOD
                   ? net::l3_checksum::device_good
                   : net::l3_checksum::unchecked;
    }
    side side_of(const rte_mbuf* m) const noexcept {
        return m->port == ctx_.ports[idx(side::inside)].id ? side::inside : side::outside;
    }
    void set_quiet(bool quiet) noexcept;
    bool all_quiet() const noexcept;
    void run_live() noexcept;
    void after_loop(bool received) noexcept;
    void dispatch(side s, rte_mbuf** pkts, uint16_t n, uint32_t now) noexcept;
    void expire_held_fragments(uint32_t now) noexcept;
    void drop_unhandled(rte_mbuf* m, stats::drop_reason why) noexcept;
    void stage(uint16_t owner, rte_mbuf* m, stats::drop_reason if_full = stats::drop_reason::handoff_full) noexcept {
        handoff_queue& q = handoff_[owner];
        q.pkts[q.count] = m;
        q.if_full[q.count++] = if_full;
        if (q.count == ctx_.burst) flush_handoff(owner);
    }
    void flush_handoff(uint16_t owner) noexcept;
    void flush_handoffs() noexcept;
    uint32_t take_handoffs(rte_mbuf** pkts, uint32_t now) noexcept;
    void take(rte_mbuf** pkts, unsigned n, uint32_t now) noexcept;
    // Neighbour messages (ARP, ND) go to whichever worker receives them, but
    // every worker keeps its own neighbour cache and sends its own requests:
    // a copy of each one that maps an address goes to every other worker,
    // marked, to learn from (gateway_core::learn_from_peer). Rare enough to
    // copy. A copy that cannot be made or queued: neighbor_copy_lost.
    bool is_peer_copy(const rte_mbuf* m) const noexcept {
        return ctx_.peer_copy_flag != 0 && (m->ol_flags & ctx_.peer_copy_flag) != 0;
    }
    void share_with_peers(const rte_mbuf* m, bool dns_answer = false) noexcept;
    void learn_copy(rte_mbuf* m, uint32_t now) noexcept;
    void run_replay_handoffs() noexcept;
    void run_replay() noexcept;
    void refresh_policy() noexcept;
    void serve_query(uint32_t now) noexcept;
    // Publishes the counters for the metrics endpoint, at most every
    // publish_interval_ms of wall time (a copy of ~2.5 KiB, off the per-packet
    // path). tsc: now, or the loop's start (live mode: one TSC read less per loop).
    void maybe_publish() noexcept { maybe_publish(rte_get_tsc_cycles()); }
    void maybe_publish(uint64_t tsc) noexcept;
    uint64_t timestamp_of(rte_mbuf* m) const noexcept {
        if (ctx_.timestamp_offset < 0 || (m->ol_flags & ctx_.timestamp_flag) == 0) return 0;
        return *RTE_MBUF_DYNFIELD(m, ctx_.timestamp_offset, rte_mbuf_timestamp_t*);
    }
    // The pcap PMD stamps microseconds... or nanoseconds; decided at start-up.
    uint64_t ts_units_per_ms() const noexcept { return ts_per_ms_; }
    void handle_burst(side from, rte_mbuf** pkts, uint16_t n, uint32_t now, net::packet_view* views = nullptr,
                      stats::drop_reason* parsed = nullptr) noexcept;
    void to_kernel(side from, rte_mbuf* m) noexcept;
    void copy_to_kernel(side from, const rte_mbuf* m) noexcept;
    void from_kernel(uint32_t now) noexcept;
    void send_built() noexcept;
    void send_copy(side to, std::span<const uint8_t> frame) noexcept;
    // Queues m to leave through `to`; a full burst goes out at once.
    void enqueue(side to, rte_mbuf* m) noexcept {
        tx_queue& q = tx_[idx(to)];
        q.pkts[q.count++] = m;
        if (q.count == ctx_.burst) flush(to);
    }
    void flush(side s) noexcept;
    void flush_all() noexcept;

    worker_context& ctx_;
    stats::worker_counters& counters_;
    net::packet_view views_[max_burst]; // dispatch(): this worker's frames as parsed for steering
    // handle_burst()'s frames and verdicts: members, not locals, because both
    // types have default member initialisers — as locals, 512 of each were
    // initialised on every call (~20 clocks per packet at bursts of 32).
    std::span<uint8_t> frames_[max_burst];
    gateway::packet_result results_[max_burst];
    stats::drop_reason parsed_[max_burst]; // handle_burst(): the parse of views_ when the caller gave none
    tx_queue tx_[2];
    handoff_queue handoff_[max_workers]; // staged for each owner's ring, flushed once per burst
    uint32_t last_now_ = 0;
    base::idle_backoff idle_{ctx_.idle};
    uint64_t idle_sleeps_ = 0;
    stats::live_stats published_;
    uint64_t last_publish_tsc_ = 0;
    const uint64_t start_tsc_ = rte_get_tsc_cycles();
    const uint64_t tsc_per_ms_ = rte_get_tsc_hz() / 1000 ? rte_get_tsc_hz() / 1000 : 1;
    const uint64_t ts_per_ms_ = 1000; // pcap PMD timestamps are microseconds
    const uint64_t publish_every_tsc_ = tsc_per_ms_ * ctx_.publish_interval_ms;
};

} // namespace egress::dataplane::worker_loop
