#include "worker_loop.hpp"

#include <cstring>
#include <ctime>

#include <rte_pause.h>
#include <rte_ethdev.h>
#include <rte_prefetch.h>

#include "exception_tap.hpp"

namespace egress::dataplane {

namespace worker_loop {

namespace {

// A forwarded frame starts front_adjust bytes earlier: a VLAN tag pushed (the
// frame grew into the headroom, > 0) or popped (< 0).
void adjust_front(rte_mbuf* m, int8_t front_adjust) noexcept {
    if (front_adjust > 0) {
        rte_pktmbuf_prepend(m, static_cast<uint16_t>(front_adjust));
    } else if (front_adjust < 0) {
        rte_pktmbuf_adj(m, static_cast<uint16_t>(-front_adjust));
    }
}

} // namespace

void worker::run() noexcept {
    if (ctx_.policy != nullptr) ctx_.policy->reader_online(ctx_.index);
    if (ctx_.replay_in_timestamp_order && ctx_.index != 0) {
        run_replay_handoffs();
    } else if (ctx_.replay_in_timestamp_order) {
        run_replay();
    } else {
        run_live();
    }
    if (ctx_.steering != nullptr)
        ctx_.steering->release_all([&](void* held) {
            drop_unhandled(static_cast<rte_mbuf*>(held), stats::drop_reason::handoff_shutdown);
        });
    flush_handoffs();
    if (ctx_.group != nullptr && ctx_.index == 0) ctx_.group->replay_done.store(true, std::memory_order_release);
    flush_all();
    ctx_.core->report_remaining(last_now_); // flows still open: forced_end records
    if (ctx_.live != nullptr) {
        ctx_.core->snapshot(published_);
        ctx_.live->publish(published_);
    }
    if (ctx_.policy != nullptr) ctx_.policy->reader_offline(ctx_.index);
    ctx_.finished.store(true, std::memory_order_release);
}

// Drain detection across workers: every worker must have been without input
// for drain_idle_ms (with one worker: this one).
void worker::set_quiet(bool quiet) noexcept {
    if (ctx_.group == nullptr) return;
    const uint64_t bit = uint64_t{1} << ctx_.index;
    if (quiet) {
        ctx_.group->quiet.fetch_or(bit);
    } else if (ctx_.group->quiet.load(std::memory_order_relaxed) & bit) {
        ctx_.group->quiet.fetch_and(~bit);
    }
}

bool worker::all_quiet() const noexcept {
    if (ctx_.group == nullptr) return true;
    const unsigned n = ctx_.group->workers;
    const uint64_t all = n >= 64 ? ~uint64_t{0} : (uint64_t{1} << n) - 1;
    return (ctx_.group->quiet.load() & all) == all;
}

// Live mode: poll this worker's queue of each port, process whole bursts
// (handing other workers' packets over), then what other workers handed over;
// clock from the TSC.
void worker::run_live() noexcept {
    uint32_t last_rx_ms = clock_ms();
    rte_mbuf* pkts[max_burst];
    uint64_t busy_tsc = 0, busy_packets = 0;
    while (!stopping()) {
        const uint64_t loop_tsc = rte_get_tsc_cycles();
        ctx_.last_loop_tsc.store(loop_tsc, std::memory_order_relaxed);
        refresh_policy();
        const uint32_t now = clock_ms(loop_tsc);
        last_now_ = now;
        ctx_.core->set_wall_clock(ctx_.start_epoch_ms + now, now);
        uint32_t got = 0;
        for (side s : {side::inside, side::outside}) {
            if (!polls(s)) continue;
            const uint16_t n = rte_eth_rx_burst(ctx_.ports[idx(s)].id, ctx_.index, pkts, ctx_.burst);
            if (n == 0) continue;
            if (got == 0) set_quiet(false);
            got += n;
            dispatch(s, pkts, n, now);
        }
        flush_handoffs();
        if (const uint32_t taken = take_handoffs(pkts, now); taken != 0) {
            set_quiet(false);
            got += taken;
        }
        from_kernel(now);
        flush_all();
        ctx_.core->expire(now, ctx_.sweep_budget);
        send_built();
        expire_held_fragments(now);
        serve_query(now);
        maybe_publish(loop_tsc);
        if (got != 0) {
            busy_tsc += rte_get_tsc_cycles() - loop_tsc;
            busy_packets += got;
            ctx_.busy_tsc.store(busy_tsc, std::memory_order_relaxed);
            ctx_.busy_packets.store(busy_packets, std::memory_order_relaxed);
            last_rx_ms = now;
        } else if (ctx_.stop_when_drained && now - last_rx_ms >= ctx_.drain_idle_ms) {
            set_quiet(true);
            if (all_quiet()) return;
        }
        after_loop(got != 0);
    }
}

// Once per live loop: with [run] idle = "adaptive" and nothing received, a
// CPU pause or a sleep (the idle worker gives its core back; the first
// packet returns it to polling).
void worker::after_loop(bool received) noexcept {
    switch (idle_.next(received)) {
    case base::idle_backoff::action::poll: return;
    case base::idle_backoff::action::pause: rte_pause(); return;
    case base::idle_backoff::action::sleep: {
        const timespec ts{0, static_cast<long>(idle_.sleep_us()) * 1000};
        nanosleep(&ts, nullptr);
        ctx_.idle_sleeps.store(++idle_sleeps_, std::memory_order_relaxed);
        return;
    }
    }
}

// Packets received on s: each is parsed once, into the slot its view takes
// in this worker's burst, and the steering stage (gateway/steering_stage.hpp)
// says whose it is, one packet_result per frame read in one switch: this
// worker's own (forward) go through its gateway_core, which reads their views
// instead of parsing them again; the others are staged for their owner's ring
// (per-owner FIFO: a flow's packets keep their order; the view does not cross
// the ring, the owner parses the frame again); a fragment held until its
// first fragment (consumed) comes back through release_held() behind it.
void worker::dispatch(side s, rte_mbuf** pkts, uint16_t n, uint32_t now) noexcept {
    if (!steering()) {
        handle_burst(s, pkts, n, now);
        return;
    }
    gateway::steering_stage& steer = *ctx_.steering;
    rte_mbuf* mine[max_burst];
    stats::drop_reason parsed[max_burst];
    uint16_t k = 0;
    // Where a frame the stage decided on goes. `viewed`: views_[k] and
    // parsed[k] hold m's parse already.
    const auto route = [&](rte_mbuf* m, const gateway::packet_result& r, bool viewed) {
        switch (r.kind) {
        case gateway::verdict::forward:
            if (!viewed)
                parsed[k] = net::parse_frame({rte_pktmbuf_mtod(m, const uint8_t*), m->data_len}, views_[k],
                                             rx_checksum(m));
            mine[k++] = m;
            if (k == max_burst) { // held fragments released behind their first one made it more than a burst
                handle_burst(s, mine, k, now, views_, parsed);
                k = 0;
            }
            return;
        case gateway::verdict::hand_off:
            stage(r.owner, m, r.reason);
            return;
        default: // consumed: a fragment the stage holds (it gives it back)
            return;
        }
    };
    for (uint16_t i = 0; i < n; ++i) {
        rte_mbuf* m = pkts[i];
        parsed[k] =
            net::parse_frame({rte_pktmbuf_mtod(m, const uint8_t*), m->data_len}, views_[k], rx_checksum(m));
        const gateway::packet_result r = steer.run(s, views_[k], parsed[k], m, now);
        route(m, r, true);
        steer.release_held([&](void* held) { route(static_cast<rte_mbuf*>(held), r, false); });
    }
    if (k != 0) handle_burst(s, mine, k, now, views_, parsed);
}

// Fragments held for a first fragment that did not come in time: dropped
// (received, then counted as fragment_timeout). At shutdown, the ones
// still held count as handoff_shutdown.
void worker::expire_held_fragments(uint32_t now) noexcept {
    if (ctx_.steering == nullptr) return;
    ctx_.steering->expire_held(now, max_held_fragments, [&](void* held) {
        drop_unhandled(static_cast<rte_mbuf*>(held), stats::drop_reason::fragment_timeout);
    });
}

void worker::drop_unhandled(rte_mbuf* m, stats::drop_reason why) noexcept {
    stats::port_counters& rx = counters_.port(side_of(m));
    rx.rx_packets += 1;
    rx.rx_bytes += m->pkt_len;
    counters_.count_drop(why);
    rte_pktmbuf_free(m);
}

void worker::flush_handoff(uint16_t owner) noexcept {
    handoff_queue& q = handoff_[owner];
    if (q.count == 0) return;
    const unsigned sent =
        rte_ring_sp_enqueue_burst(ctx_.to[owner], reinterpret_cast<void* const*>(q.pkts), q.count, nullptr);
    for (unsigned i = sent; i < q.count; ++i) {
        counters_.count_drop(q.if_full[i]);
        rte_pktmbuf_free(q.pkts[i]);
    }
    q.count = 0;
}

void worker::flush_handoffs() noexcept {
    if (!steering()) return;
    for (uint16_t w = 0; w < ctx_.steer->workers(); ++w) flush_handoff(w);
}

// What other workers handed over: processed in ring order, in runs of
// packets from the same port. Returns how many there were.
uint32_t worker::take_handoffs(rte_mbuf** pkts, uint32_t now) noexcept {
    if (!steering()) return 0;
    uint32_t got = 0;
    for (uint16_t w = 0; w < ctx_.steer->workers(); ++w) {
        if (ctx_.from[w] == nullptr) continue;
        const unsigned n = rte_ring_sc_dequeue_burst(ctx_.from[w], reinterpret_cast<void**>(pkts), ctx_.burst,
                                                     nullptr);
        if (n == 0) continue;
        got += n;
        take(pkts, n, now);
    }
    return got;
}

// Handed-over frames in ring order: runs of frames from one port go through
// gateway_core together; a peer's neighbour copy is only learned from.
void worker::take(rte_mbuf** pkts, unsigned n, uint32_t now) noexcept {
    for (unsigned i = 0; i < n;) {
        if (is_peer_copy(pkts[i])) {
            learn_copy(pkts[i++], now);
            continue;
        }
        const side s = side_of(pkts[i]);
        unsigned j = i + 1;
        while (j < n && side_of(pkts[j]) == s && !is_peer_copy(pkts[j])) ++j;
        handle_burst(s, pkts + i, static_cast<uint16_t>(j - i), now);
        i = j;
    }
}

// A marked copy of m to every other worker: a neighbour message (see
// is_peer_copy, worker_loop.hpp; a lost one is neighbor_copy_lost) or a DNS
// response (dns_answer), for every worker's table of observed names
// (gateway/dns_observer.hpp); a lost one is dns_copy_lost.
void worker::share_with_peers(const rte_mbuf* m, bool dns_answer) noexcept {
    const stats::drop_reason lost =
        dns_answer ? stats::drop_reason::dns_copy_lost : stats::drop_reason::neighbor_copy_lost;
    for (uint16_t w = 0; w < ctx_.steer->workers(); ++w) {
        if (ctx_.to[w] == nullptr) continue;
        rte_mbuf* c = ctx_.pool != nullptr && ctx_.peer_copy_flag != 0
                          ? rte_pktmbuf_copy(m, ctx_.pool, 0, UINT32_MAX)
                          : nullptr;
        if (c == nullptr) {
            counters_.count_drop(lost);
            continue;
        }
        c->ol_flags |= ctx_.peer_copy_flag;
        stage(w, c, lost);
    }
}

void worker::learn_copy(rte_mbuf* m, uint32_t now) noexcept {
    const gateway::packet_result r =
        ctx_.core->learn_from_peer(side_of(m), {rte_pktmbuf_mtod(m, const uint8_t*), m->data_len}, now);
    if (r.copy_to_kernel) [[unlikely]]
        copy_to_kernel(side_of(m), m);
    rte_pktmbuf_free(m);
    send_built(); // frames held for the next hop it resolved
}

// Once per loop: leave the previous policy (quiescent state) and pick up the
// current one.
void worker::refresh_policy() noexcept {
    if (ctx_.policy == nullptr) return;
    ctx_.policy->quiescent(ctx_.index);
    ctx_.core->use_policy(ctx_.policy->current());
}

// Advances a posted flow query by one slice of the table (see worker_context::query).
void worker::serve_query(uint32_t now) noexcept {
    gateway::flow_query* q = ctx_.query.load(std::memory_order_acquire);
    if (q == nullptr) return;
    if (ctx_.core->step_query(*q, ctx_.query_budget, now)) ctx_.query.store(nullptr, std::memory_order_release);
}

void worker::maybe_publish(uint64_t tsc) noexcept {
    if (ctx_.live == nullptr) return;
    if (tsc - last_publish_tsc_ < publish_every_tsc_) return;
    last_publish_tsc_ = tsc;
    ctx_.core->snapshot(published_);
    ctx_.live->publish(published_);
}

// views / parsed (both or neither): the frames' parse by dispatch(), kept
// in step with the frames that reach gateway_core.
void worker::handle_burst(side from, rte_mbuf** pkts, uint16_t n, uint32_t now, net::packet_view* views,
                  stats::drop_reason* parsed) noexcept {
    std::span<uint8_t>* const frames = frames_;
    gateway::packet_result* const results = results_;
    rte_mbuf* kept[max_burst];
    uint64_t rx_bytes = 0; // counted once per burst: the port counters are not touched per packet
    uint64_t device_verified = 0;
    uint16_t k = 0;
    for (uint16_t i = 0; i < n; ++i) {
        rte_mbuf* m = pkts[i];
        rx_bytes += m->pkt_len;
        device_verified |= m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_GOOD;
        if (m->nb_segs != 1) [[unlikely]] { // jumbo frames arrive chained; not supported yet
            counters_.count_drop(stats::drop_reason::frame_multisegment);
            rte_pktmbuf_free(m);
            continue;
        }
        if (rte_pktmbuf_headroom(m) < frame_headroom) [[unlikely]] { // never with DPDK's default mbufs
            counters_.count_drop(stats::drop_reason::vlan_no_headroom);
            rte_pktmbuf_free(m);
            continue;
        }
        if (views != nullptr && k != i) {
            views[k] = views[i];
            parsed[k] = parsed[i];
        }
        kept[k] = m;
        frames[k] = {rte_pktmbuf_mtod(m, uint8_t*), m->data_len};
        // The frame's first line (every header the gateway reads and
        // rewrites) is fetched for the whole burst before the first parse:
        // from a NIC or another core it is a miss, and the misses overlap.
        rte_prefetch0(frames[k++].data());
    }
    // A burst with a device checksum verdict is parsed here, after the
    // prefetches, with that verdict; without one gateway_core parses it
    // (measured: ~20 clocks/packet cheaper than parsing here without a
    // checksum to save).
    if (views == nullptr && device_verified) {
        for (uint16_t i = 0; i < k; ++i) parsed_[i] = net::parse_frame(frames[i], views_[i], rx_checksum(kept[i]));
        views = views_;
        parsed = parsed_;
    }
    stats::port_counters& rx = counters_.port(from);
    rx.rx_packets += n;
    rx.rx_bytes += rx_bytes;
    ctx_.core->process_burst(from, frames, k, now, results, views, parsed);
    for (uint16_t i = 0; i < k; ++i) {
        const gateway::packet_result r = results[i];
        if (r.share_with_peers && r.kind != gateway::verdict::forward) [[unlikely]]
            share_with_peers(kept[i], r.dns_answer);
        if (r.copy_to_kernel) [[unlikely]]
            copy_to_kernel(from, kept[i]);
        switch (r.kind) {
        case gateway::verdict::forward:
            adjust_front(kept[i], r.front_adjust);
            // A forwarded frame is shared as it leaves (a DNS response, translated).
            if (r.share_with_peers) [[unlikely]]
                share_with_peers(kept[i], r.dns_answer);
            enqueue(other(from), kept[i]);
            break;
        case gateway::verdict::reply:
            // Rewritten into a reply (TCP reset): back out of the arrival side.
            kept[i]->data_len = r.reply_len;
            kept[i]->pkt_len = r.reply_len;
            enqueue(from, kept[i]);
            break;
        case gateway::verdict::to_kernel: // BGP, BFD, a listed port: to the kernel interface
            to_kernel(from, kept[i]);
            break;
        case gateway::verdict::drop:     // counted by the gateway
        case gateway::verdict::consumed: // ARP, ND, an echo it answered, a copy held for its next hop
        case gateway::verdict::hand_off: // the steering stage's only, never gateway_core's
            rte_pktmbuf_free(kept[i]);
            break;
        }
    }
    send_built();
}

// The exception path (exception_tap.hpp): only worker 0 gets these
// verdicts (gateway::local_stage; the other workers' steering stage hands
// the frames to it), and only worker 0 has the taps.
void worker::to_kernel(side from, rte_mbuf* m) noexcept {
    if (ctx_.exception != nullptr) {
        ctx_.exception->send(from, m, counters_);
        return;
    }
    counters_.count_drop(stats::drop_reason::exception_queue_full);
    rte_pktmbuf_free(m);
}

void worker::copy_to_kernel(side from, const rte_mbuf* m) noexcept {
    if (ctx_.exception != nullptr) ctx_.exception->send_copy(from, m, ctx_.pool, counters_);
}

// What the kernel sent from the taps (read once per millisecond): out of
// the physical port of that side.
void worker::from_kernel(uint32_t now) noexcept {
    if (ctx_.exception == nullptr) return;
    rte_mbuf* pkts[32];
    for (side s : {side::inside, side::outside}) {
        const uint16_t n = ctx_.exception->receive(s, pkts, 32, now, counters_);
        for (uint16_t i = 0; i < n; ++i) enqueue(s, pkts[i]);
    }
}

// Frames gateway_core built on its own during its last call.
void worker::send_built() noexcept {
    const gateway::outbox& box = ctx_.core->built_frames();
    for (uint32_t i = 0; i < box.size(); ++i) send_copy(box[i].to, box[i].bytes);
}

// A frame gateway_core built besides the burst's own: copied into a fresh
// mbuf from the pool.
void worker::send_copy(side to, std::span<const uint8_t> frame) noexcept {
    rte_mbuf* m = ctx_.pool != nullptr ? rte_pktmbuf_alloc(ctx_.pool) : nullptr;
    char* data = m != nullptr ? rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size())) : nullptr;
    if (data == nullptr) {
        if (m != nullptr) rte_pktmbuf_free(m);
        counters_.count_drop(stats::drop_reason::mbuf_exhausted);
        return;
    }
    std::memcpy(data, frame.data(), frame.size());
    enqueue(to, m);
}

void worker::flush(side s) noexcept {
    tx_queue& q = tx_[idx(s)];
    if (q.count == 0) return;
    uint64_t bytes = 0;
    for (uint16_t i = 0; i < q.count; ++i) bytes += q.pkts[i]->pkt_len;
    const uint16_t sent = rte_eth_tx_burst(ctx_.ports[idx(s)].id, ctx_.index, q.pkts, q.count);
    for (uint16_t i = sent; i < q.count; ++i) {
        bytes -= q.pkts[i]->pkt_len;
        counters_.count_drop(stats::drop_reason::tx_full);
        rte_pktmbuf_free(q.pkts[i]);
    }
    counters_.port(s).tx_packets += sent;
    counters_.port(s).tx_bytes += bytes;
    q.count = 0;
}

void worker::flush_all() noexcept {
    flush(side::inside);
    flush(side::outside);
}

} // namespace worker_loop

int worker_main(void* arg) {
    auto& ctx = *static_cast<worker_context*>(arg);
    worker_loop::worker w(ctx);
    w.run();
    return 0;
}

} // namespace egress::dataplane
