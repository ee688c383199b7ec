// The traffic side of egress-bench, on the main lcore: prebuilt frames streamed
// inside -> outside (stream_driver) and scripted TCP conversations, one packet
// of each in flight (conn_driver). Both count what comes out of the worker.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include <rte_mbuf.h>
#include <rte_ring.h>

#include "bench_frames.hpp"
#include "dlp_corpus.hpp"
#include "pipeline_harness.hpp"

namespace egress_bench {

// ---- stream traffic: prebuilt frames, inside -> outside -----------------------------------

// Frames written into mbufs round-robin; forwarded mbufs come back and are refilled.
struct stream_driver {
    testbed& tb;
    pipeline_workers& w;
    const uint8_t* frames;   // count frames of `stride` bytes
    uint16_t frame_len;
    std::size_t stride;
    uint32_t count;
    uint32_t next = 0;
    uint64_t injected = 0, delivered = 0, delivered_bytes = 0, unexpected = 0;
    std::vector<rte_mbuf*> spare;

    stream_driver(testbed& t, pipeline_workers& wk, const uint8_t* f, uint16_t len, std::size_t st, uint32_t n)
        : tb(t), w(wk), frames(f), frame_len(len), stride(st), count(n) {
        spare.reserve(pool_mbufs);
    }
    ~stream_driver() {
        if (!spare.empty()) rte_pktmbuf_free_bulk(spare.data(), static_cast<unsigned>(spare.size()));
    }

    void drain() {
        rte_mbuf* got[64];
        for (side s : {side::inside, side::outside}) {
            const unsigned n = rte_ring_dequeue_burst(tb.ports[idx(s)].tx, reinterpret_cast<void**>(got), 64, nullptr);
            for (unsigned i = 0; i < n; ++i) {
                if (s == side::outside) {
                    ++delivered;
                    delivered_bytes += got[i]->pkt_len;
                } else {
                    ++unexpected;
                }
                spare.push_back(got[i]);
            }
        }
    }

    // Enqueues up to 32 frames (fewer when `limit` is near, none while
    // max_in_flight frames are inside the gateway or its rings).
    void inject(uint64_t limit) {
        if (injected - delivered - unexpected >= max_in_flight) return;
        unsigned want = static_cast<unsigned>(std::min<uint64_t>(32, limit - injected));
        if (want == 0) return;
        if (spare.size() < want) {
            rte_mbuf* fresh[32];
            if (rte_pktmbuf_alloc_bulk(tb.pool, fresh, 32) == 0) spare.insert(spare.end(), fresh, fresh + 32);
        }
        want = std::min<unsigned>(want, static_cast<unsigned>(spare.size()));
        rte_mbuf* batch[32];
        for (unsigned k = 0; k < want; ++k) {
            rte_mbuf* m = spare.back();
            spare.pop_back();
            // A recycled mbuf already has these (the worker does not change a
            // forwarded frame's length): writing them anyway would pull the
            // header line back from the worker's cache for every packet, a cost
            // a NIC does not impose.
            if (m->data_off != RTE_PKTMBUF_HEADROOM || m->data_len != frame_len || m->pkt_len != frame_len ||
                m->nb_segs != 1) {
                m->data_off = RTE_PKTMBUF_HEADROOM;
                m->data_len = m->pkt_len = frame_len;
                m->nb_segs = 1;
            }
            std::memcpy(rte_pktmbuf_mtod(m, uint8_t*), frames + static_cast<std::size_t>(next) * stride, frame_len);
            next = next + 1 == count ? 0 : next + 1;
            batch[k] = m;
        }
        const unsigned sent =
            rte_ring_enqueue_burst(tb.ports[idx(side::inside)].rx, reinterpret_cast<void**>(batch), want, nullptr);
        for (unsigned k = sent; k < want; ++k) spare.push_back(batch[k]); // order within a stream kept by retrying next
        if (sent < want) next = static_cast<uint32_t>((next + count - (want - sent)) % count);
        injected += sent;
    }

    // Sends `packets` more frames and waits until they came out (or stopped coming).
    void send_and_drain(uint64_t packets) {
        const uint64_t limit = injected + packets;
        while (injected < limit) {
            drain();
            inject(limit);
        }
        settle();
    }
    // Waits until every injected frame came out, or nothing moved for 300 ms.
    void settle() {
        uint64_t last = delivered + unexpected;
        uint64_t idle_since = rte_get_tsc_cycles();
        while (delivered + unexpected < injected) {
            drain();
            if (delivered + unexpected != last) {
                last = delivered + unexpected;
                idle_since = rte_get_tsc_cycles();
            } else if (rte_get_tsc_cycles() - idle_since > rte_get_tsc_hz() * 3 / 10) {
                break;
            }
        }
    }
    window_mark mark() const {
        return {rte_get_tsc_cycles(), w.busy_tsc(), w.busy_packets(), delivered, delivered_bytes, 0, 0, w.cpu_ns()};
    }
    // Traffic for `seconds` (or until stop_after more packets are sent), returns the window.
    double p50 = 0, p10 = 0;
    uint32_t backlog = 0;
    std::pair<window_mark, window_mark> run_for(double seconds, uint64_t stop_after = UINT64_MAX) {
        slice_sampler sampler(w, tb.ports[0].rx, tb.ports[1].rx);
        const window_mark a = mark();
        const uint64_t end = a.tsc + static_cast<uint64_t>(seconds * tsc_hz());
        const uint64_t limit = stop_after == UINT64_MAX ? UINT64_MAX : injected + stop_after;
        uint32_t k = 0;
        while (injected < limit) {
            drain();
            inject(limit);
            if ((++k & 63) == 0) {
                sampler.poll();
                if (rte_get_tsc_cycles() >= end) break;
            }
        }
        const window_mark b = mark();
        p50 = sampler.percentile(0.5);
        p10 = sampler.percentile(0.1);
        backlog = sampler.median_backlog();
        settle();
        return {a, b};
    }
};

// n prebuilt 64-byte frames of flows first..first+n-1 (UDP, or TCP ACKs after the
// handshake the connection driver did for them: seq/ack from `seq_of`).
std::vector<uint8_t> build_stream(const testbed& tb, uint32_t first, uint32_t n, uint8_t proto);

// ---- connection traffic: scripted TCP conversations --------------------------------------

enum class payload_kind : uint8_t { none, hello, corpus };

struct step {
    side from;         // inside: the client sends; outside: the server sends
    uint8_t flags;
    payload_kind kind;
    uint16_t payload;  // bytes (hello: the hello's own length)
};

struct conversation {
    std::string name;
    std::vector<step> steps;
};

// One connection per slot at a time, one packet of it in flight: when the worker
// forwards a slot's packet, the next step of its script is written into the same
// mbuf and injected on the side it comes from. A slot that finishes (or is reset)
// starts its next connection with a new client port.
struct conn_driver {
    struct slot {
        uint16_t client_port = 0;
        uint16_t step = 0;
        uint32_t cseq = 0, sseq = 0;    // next sequence number of each side
        uint32_t public_addr = 0;
        uint16_t public_port = 0;
        uint16_t hello = 0;             // which ClientHello this connection sends
        uint32_t corpus_off = 0;
        bool active = false;
    };

    testbed& tb;
    pipeline_workers& w;
    const conversation& conv;
    const std::vector<std::vector<uint8_t>>& hellos; // index 0..: the names in rotation
    std::vector<slot> slots;
    bool starting = true;  // start new connections when one ends
    uint64_t connections = 0, completed = 0, resets = 0, unexpected = 0, delivered = 0, delivered_bytes = 0,
             payload_bytes = 0, injected = 0;
    uint32_t in_flight = 0;
    uint32_t hello_turn = 0;
    double p50 = 0, p10 = 0;
    uint32_t backlog = 0;
    const std::string& corpus = egress_bench::corpus();
    std::vector<rte_mbuf*> pending[2];

    conn_driver(testbed& t, pipeline_workers& wk, const conversation& c, const std::vector<std::vector<uint8_t>>& h,
                uint32_t n)
        : tb(t), w(wk), conv(c), hellos(h), slots(n) {
        for (uint32_t j = 0; j < n; ++j) {
            slots[j].client_port = static_cast<uint16_t>(1024 + (j * 7919u) % 60000);
            slots[j].corpus_off = static_cast<uint32_t>((static_cast<uint64_t>(j) * 1'000'003) % corpus.size());
        }
        pending[0].reserve(n);
        pending[1].reserve(n);
    }

    uint16_t build(uint32_t j, rte_mbuf* m) {
        slot& s = slots[j];
        const step& st = conv.steps[s.step];
        const uint8_t* payload = nullptr;
        uint16_t len = st.payload;
        if (st.kind == payload_kind::hello) {
            payload = hellos[s.hello].data();
            len = static_cast<uint16_t>(hellos[s.hello].size());
        } else if (st.kind == payload_kind::corpus) {
            if (s.corpus_off + len > corpus.size()) s.corpus_off = 0;
            payload = reinterpret_cast<const uint8_t*>(corpus.data()) + s.corpus_off;
            s.corpus_off += len;
        }
        uint8_t* out = rte_pktmbuf_mtod(m, uint8_t*);
        const uint32_t client = client_base + j, server = server_base + j;
        uint16_t n;
        if (st.from == side::inside) {
            n = build_frame(out, tb.ports[0].handle.mac, inside_host_mac, 6, client, s.client_port, server, 443, s.cseq,
                            (st.flags & tcp_flag::ack) ? s.sseq : 0, st.flags, payload, len);
            s.cseq += len + ((st.flags & tcp_flag::syn) ? 1 : 0) + ((st.flags & tcp_flag::fin) ? 1 : 0);
        } else {
            n = build_frame(out, tb.ports[1].handle.mac, outside_router_mac, 6, server, 443, s.public_addr,
                            s.public_port, s.sseq, s.cseq, st.flags, payload, len);
            s.sseq += len + ((st.flags & tcp_flag::syn) ? 1 : 0) + ((st.flags & tcp_flag::fin) ? 1 : 0);
        }
        m->data_off = RTE_PKTMBUF_HEADROOM;
        m->data_len = m->pkt_len = n;
        m->nb_segs = 1;
        return n;
    }

    void queue(uint32_t j, rte_mbuf* m) {
        build(j, m);
        pending[idx(conv.steps[slots[j].step].from)].push_back(m);
    }

    void open(uint32_t j, rte_mbuf* m) {
        slot& s = slots[j];
        s.client_port = static_cast<uint16_t>(s.client_port == 65535 ? 1024 : s.client_port + 1);
        s.step = 0;
        s.cseq = j * 2654435761u + s.client_port;
        s.sseq = ~s.cseq;
        s.hello = static_cast<uint16_t>(hellos.empty() ? 0 : hello_turn++ % hellos.size());
        s.active = true;
        ++connections;
        ++in_flight;
        queue(j, m);
    }

    void finish(uint32_t j, rte_mbuf* m) {
        slots[j].active = false;
        --in_flight;
        if (starting) {
            open(j, m);
        } else {
            rte_pktmbuf_free(m);
        }
    }

    void on_forwarded(side out, rte_mbuf* m) {
        const uint8_t* f = rte_pktmbuf_mtod(m, const uint8_t*);
        if (m->data_len < 54 || get16(f + 12) != 0x0800 || f[14 + 9] != 6) {
            ++unexpected;
            rte_pktmbuf_free(m);
            return;
        }
        ++delivered;
        delivered_bytes += m->pkt_len;
        const uint8_t* ip = f + 14;
        const uint8_t* tcp = ip + 20;
        const uint16_t payload = static_cast<uint16_t>(get16(ip + 2) - 40);
        payload_bytes += payload;
        const uint8_t flags = tcp[13];
        const uint32_t dst = get32(ip + 16);
        const uint32_t j = dst - (out == side::outside ? server_base : client_base);
        if (j >= slots.size() || !slots[j].active) {
            if ((flags & tcp_flag::rst) == 0) ++unexpected;
            rte_pktmbuf_free(m);
            return;
        }
        slot& s = slots[j];
        if (flags & tcp_flag::rst) {
            // A denied connection: the reset to the client ends it; the one towards
            // the server is only counted.
            if (out == side::inside) {
                ++resets;
                finish(j, m);
            } else {
                rte_pktmbuf_free(m);
            }
            return;
        }
        const step& st = conv.steps[s.step];
        if (st.from == out || st.flags != flags) {
            ++unexpected;
            finish(j, m);
            return;
        }
        if (s.step == 0) { // the SYN, translated: learn the public address and port
            s.public_addr = get32(ip + 12);
            s.public_port = get16(tcp);
        }
        if (++s.step == conv.steps.size()) {
            ++completed;
            finish(j, m);
            return;
        }
        queue(j, m);
    }

    void flush_pending() {
        for (side s : {side::inside, side::outside}) {
            auto& p = pending[idx(s)];
            if (p.empty()) continue;
            const unsigned sent = rte_ring_enqueue_burst(tb.ports[idx(s)].rx, reinterpret_cast<void**>(p.data()),
                                                         static_cast<unsigned>(p.size()), nullptr);
            injected += sent;
            p.erase(p.begin(), p.begin() + sent);
        }
    }

    void poll() {
        rte_mbuf* got[64];
        for (side s : {side::inside, side::outside}) {
            const unsigned n = rte_ring_dequeue_burst(tb.ports[idx(s)].tx, reinterpret_cast<void**>(got), 64, nullptr);
            for (unsigned i = 0; i < n; ++i) on_forwarded(s, got[i]);
        }
        flush_pending();
    }

    void start_all() {
        for (uint32_t j = 0; j < slots.size(); ++j) {
            rte_mbuf* m = rte_pktmbuf_alloc(tb.pool);
            if (m == nullptr) throw std::runtime_error("mbuf pool exhausted");
            open(j, m);
        }
        flush_pending();
    }

    window_mark mark() const {
        return {rte_get_tsc_cycles(), w.busy_tsc(), w.busy_packets(), delivered, delivered_bytes, payload_bytes,
                completed, w.cpu_ns()};
    }

    // Runs `warmup` seconds, then a window of `seconds`; then lets the connections
    // in flight finish. Returns the window.
    std::pair<window_mark, window_mark> run(double warmup, double seconds) {
        start_all();
        const uint64_t t0 = rte_get_tsc_cycles();
        while (rte_get_tsc_cycles() - t0 < static_cast<uint64_t>(warmup * tsc_hz())) poll();
        slice_sampler sampler(w, tb.ports[0].rx, tb.ports[1].rx);
        const window_mark a = mark();
        const uint64_t end = a.tsc + static_cast<uint64_t>(seconds * tsc_hz());
        for (uint32_t k = 1;; ++k) {
            poll();
            if ((k & 63) == 0) {
                sampler.poll();
                if (rte_get_tsc_cycles() >= end) break;
            }
        }
        const window_mark b = mark();
        p50 = sampler.percentile(0.5);
        p10 = sampler.percentile(0.1);
        backlog = sampler.median_backlog();
        starting = false;
        uint64_t last = delivered, idle_since = rte_get_tsc_cycles();
        while (in_flight != 0) {
            poll();
            if (delivered != last) {
                last = delivered;
                idle_since = rte_get_tsc_cycles();
            } else if (rte_get_tsc_cycles() - idle_since > rte_get_tsc_hz() / 2) {
                break;
            }
        }
        return {a, b};
    }
};

} // namespace egress_bench
