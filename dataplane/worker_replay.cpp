// The pcap replay mode of the worker loop ([run] replay_in_timestamp_order): worker
// 0 reads both ports in capture-timestamp order and uses capture time as the
// clock; the other workers take what it hands over, each packet at its capture
// time. The live loop and the per-burst path are in worker.cpp.
#include "worker_loop.hpp"

#include <rte_ethdev.h>

namespace egress::dataplane::worker_loop {

// Replay mode, workers other than 0: only what worker 0 hands over, each
// packet at its capture time (worker 0 published the clock's origin before
// handing over the first packet). Ends once worker 0 is done and the rings
// are empty.
void worker::run_replay_handoffs() noexcept {
    rte_mbuf* pkts[max_burst];
    while (!stopping()) {
        ctx_.last_loop_tsc.store(rte_get_tsc_cycles(), std::memory_order_relaxed);
        refresh_policy();
        const bool last = ctx_.group->replay_done.load(std::memory_order_acquire);
        bool got = false;
        for (uint16_t w = 0; w < ctx_.steer->workers(); ++w) {
            if (ctx_.from[w] == nullptr) continue;
            const unsigned n = rte_ring_sc_dequeue_burst(ctx_.from[w], reinterpret_cast<void**>(pkts),
                                                         ctx_.burst, nullptr);
            got |= n != 0;
            const uint64_t origin = ctx_.group->replay_origin.load(std::memory_order_acquire);
            for (unsigned i = 0; i < n; ++i) {
                const uint64_t ts = timestamp_of(pkts[i]);
                const uint32_t now = static_cast<uint32_t>((ts - origin) / ts_units_per_ms());
                last_now_ = now;
                ctx_.core->set_wall_clock(ts / ts_units_per_ms(), now);
                take(&pkts[i], 1, now);
                ctx_.core->expire(now, ctx_.sweep_budget);
                send_built();
            }
        }
        flush_all();
        serve_query(last_now_);
        maybe_publish();
        if (!got && last && ctx_.stop_when_drained) return;
    }
}

// Replay mode (pcap files): merge both ports' input by capture timestamp and use
// capture time as the clock, so a replay is deterministic whatever the burst
// boundaries. A port whose RX returns nothing is at the end of its file.
void worker::run_replay() noexcept {
    struct rx_state {
        rte_mbuf* pkts[max_burst];
        uint16_t count = 0, pos = 0;
        bool drained = false;
    } rx[2];
    bool have_origin = false;
    uint64_t origin = 0;
    uint32_t now = 0;
    while (!stopping()) {
        ctx_.last_loop_tsc.store(rte_get_tsc_cycles(), std::memory_order_relaxed);
        refresh_policy();
        for (side s : {side::inside, side::outside}) {
            auto& r = rx[idx(s)];
            if (r.pos < r.count || r.drained) continue;
            r.count = rte_eth_rx_burst(ctx_.ports[idx(s)].id, 0, r.pkts, ctx_.burst);
            r.pos = 0;
            r.drained = r.count == 0;
        }
        const bool in_ready = rx[0].pos < rx[0].count;
        const bool out_ready = rx[1].pos < rx[1].count;
        if (!in_ready && !out_ready) {
            if (ctx_.stop_when_drained) return;
            rx[0].drained = rx[1].drained = false; // poll again (a live port may refill)
            continue;
        }
        side s = in_ready ? side::inside : side::outside;
        if (in_ready && out_ready && timestamp_of(rx[1].pkts[rx[1].pos]) < timestamp_of(rx[0].pkts[rx[0].pos]))
            s = side::outside;
        auto& r = rx[idx(s)];
        rte_mbuf* m = r.pkts[r.pos++];
        const uint64_t ts = timestamp_of(m);
        if (!have_origin) {
            origin = ts;
            have_origin = true;
            if (ctx_.group != nullptr) ctx_.group->replay_origin.store(origin, std::memory_order_release);
        }
        now = static_cast<uint32_t>((ts - origin) / ts_units_per_ms());
        last_now_ = now;
        ctx_.core->set_wall_clock(ts / ts_units_per_ms(), now);
        dispatch(s, &m, 1, now);
        ctx_.core->expire(now, ctx_.sweep_budget);
        send_built();
        expire_held_fragments(now);
        serve_query(now);
        maybe_publish();
        if (r.pos == r.count) {
            flush_handoffs();
            flush_all();
        }
    }
}

} // namespace egress::dataplane::worker_loop
