#include "pipeline_same_core.hpp"

#include <chrono>
#include <cstring>
#include <stdexcept>
#include <thread>

#include <rte_cycles.h>
#include <rte_ring.h>

namespace egress_bench {

namespace {

// Takes back what the worker transmitted since the last call: the outside
// port's frames are the delivered ones, anything on the inside port (a reset)
// is unexpected.
void take_back(same_core_source& g) {
    rte_mbuf* got[64];
    for (side s : {side::inside, side::outside}) {
        unsigned n;
        while ((n = rte_ring_sc_dequeue_burst(g.tx[idx(s)], reinterpret_cast<void**>(got), 64, nullptr)) != 0) {
            if (s == side::outside) {
                uint64_t bytes = 0;
                for (unsigned i = 0; i < n; ++i) bytes += got[i]->pkt_len;
                g.delivered.store(g.delivered.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
                g.delivered_bytes.store(g.delivered_bytes.load(std::memory_order_relaxed) + bytes,
                                        std::memory_order_relaxed);
            } else {
                g.unexpected.store(g.unexpected.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
            }
            g.spare.insert(g.spare.end(), got, got + n);
        }
    }
}

// The RX callback on the inside port's queue 0 (on the worker lcore, inside
// its rte_eth_rx_burst): fills the rest of the burst with the next frames.
uint16_t generate(uint16_t, uint16_t, rte_mbuf* pkts[], uint16_t nb_pkts, uint16_t max_pkts, void* arg) {
    auto& g = *static_cast<same_core_source*>(arg);
    const uint64_t limit = g.limit.load(std::memory_order_acquire);
    const uint64_t injected = g.injected.load(std::memory_order_relaxed);
    if (!g.active.load(std::memory_order_acquire)) return nb_pkts; // the ports carry the main lcore's traffic
    const uint64_t t0 = rte_get_tsc_cycles();
    take_back(g);
    uint16_t want =
        injected >= limit ? 0 : static_cast<uint16_t>(std::min<uint64_t>(max_pkts - nb_pkts, limit - injected));
    if (g.spare.size() < want) {
        rte_mbuf* fresh[64];
        const unsigned k = std::min<unsigned>(64, want);
        if (rte_pktmbuf_alloc_bulk(g.pool, fresh, k) == 0) g.spare.insert(g.spare.end(), fresh, fresh + k);
    }
    want = static_cast<uint16_t>(std::min<std::size_t>(want, g.spare.size()));
    for (uint16_t k = 0; k < want; ++k) {
        rte_mbuf* m = g.spare.back();
        g.spare.pop_back();
        if (m->data_off != RTE_PKTMBUF_HEADROOM || m->data_len != g.frame_len || m->pkt_len != g.frame_len ||
            m->nb_segs != 1) {
            m->data_off = RTE_PKTMBUF_HEADROOM;
            m->data_len = m->pkt_len = g.frame_len;
            m->nb_segs = 1;
        }
        m->ol_flags = g.ol_flags;
        std::memcpy(rte_pktmbuf_mtod(m, uint8_t*), g.frames + static_cast<std::size_t>(g.next) * g.stride,
                    g.frame_len);
        g.next = g.next + 1 == g.count ? 0 : g.next + 1;
        pkts[nb_pkts + k] = m;
    }
    g.injected.store(injected + want, std::memory_order_relaxed);
    // Only a call that hands the worker frames makes its loop a busy one (the
    // loops the worker counts); an empty one's clocks are idle polling.
    if (nb_pkts + want != 0)
        g.tsc.store(g.tsc.load(std::memory_order_relaxed) + (rte_get_tsc_cycles() - t0), std::memory_order_relaxed);
    g.calls.store(g.calls.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    return static_cast<uint16_t>(nb_pkts + want);
}

} // namespace

same_core_driver::same_core_driver(testbed& t, pipeline_workers& wk, const uint8_t* f, uint16_t len, std::size_t st,
                                   uint32_t n, bool device_checksum)
    : tb(t), w(wk) {
    src.pool = tb.pool;
    src.tx[0] = tb.ports[0].tx;
    src.tx[1] = tb.ports[1].tx;
    src.frames = f;
    src.frame_len = len;
    src.stride = st;
    src.count = n;
    src.spare.reserve(pool_mbufs);
    if (device_checksum) src.ol_flags = RTE_MBUF_F_RX_IP_CKSUM_GOOD;
    cb = rte_eth_add_rx_callback(tb.ports[0].handle.id, 0, generate, &src);
    if (cb == nullptr) throw std::runtime_error("rte_eth_add_rx_callback failed");
    w.set_generator(&src.tsc);
}

same_core_driver::~same_core_driver() {
    // The callback must not be running when it goes: the worker stops first
    // (a second join is harmless; the scenarios join before they report).
    w.join();
    rte_eth_remove_rx_callback(tb.ports[0].handle.id, 0, cb);
    w.set_generator(nullptr);
    if (!src.spare.empty()) rte_pktmbuf_free_bulk(src.spare.data(), static_cast<unsigned>(src.spare.size()));
}

void same_core_driver::start_phase(uint64_t limit) {
    src.next = next;
    src.limit.store(limit, std::memory_order_release);
    src.active.store(true, std::memory_order_release);
}

void same_core_driver::copy_counts() {
    injected = src.injected.load(std::memory_order_relaxed);
    delivered = src.delivered.load(std::memory_order_relaxed);
    unexpected = src.unexpected.load(std::memory_order_relaxed);
}

void same_core_driver::send_and_drain(uint64_t packets) {
    start_phase(src.injected.load() + packets);
    settle();
}

void same_core_driver::settle() {
    // Stop generating: the generator keeps taking back what comes out.
    uint64_t target = src.injected.load();
    src.limit.store(target, std::memory_order_release);
    // A call that read the old limit may still be generating: two whole calls
    // after the new limit, injected is final.
    const uint64_t calls = src.calls.load(std::memory_order_acquire);
    uint64_t last = 0;
    uint64_t idle_since = rte_get_tsc_cycles();
    for (;;) {
        std::this_thread::sleep_for(std::chrono::microseconds(200));
        target = src.injected.load();
        const uint64_t out = src.delivered.load() + src.unexpected.load();
        if (out >= target && src.calls.load(std::memory_order_acquire) >= calls + 2 && target == src.injected.load())
            break;
        if (out != last) {
            last = out;
            idle_since = rte_get_tsc_cycles();
        } else if (rte_get_tsc_cycles() - idle_since > rte_get_tsc_hz() * 3 / 10) {
            break;
        }
    }
    copy_counts();
    next = src.next;
}

window_mark same_core_driver::mark() const {
    return {rte_get_tsc_cycles(), w.busy_tsc(), w.busy_packets(), src.delivered.load(),
            src.delivered_bytes.load(), 0, 0, w.cpu_ns()};
}

std::pair<window_mark, window_mark> same_core_driver::run_for(double seconds, uint64_t stop_after) {
    const uint64_t limit = stop_after == UINT64_MAX ? UINT64_MAX : src.injected.load() + stop_after;
    start_phase(limit);
    slice_sampler sampler(w, tb.ports[0].rx, tb.ports[1].rx);
    const window_mark a = mark();
    const uint64_t end = a.tsc + static_cast<uint64_t>(seconds * tsc_hz());
    while (rte_get_tsc_cycles() < end && src.injected.load(std::memory_order_relaxed) < limit) {
        std::this_thread::sleep_for(std::chrono::microseconds(500));
        sampler.poll();
    }
    const window_mark b = mark();
    p50 = sampler.percentile(0.5);
    p10 = sampler.percentile(0.1);
    backlog = sampler.median_backlog();
    settle();
    return {a, b};
}

} // namespace egress_bench
