// egress-bench: the whole packet pipeline under load. EAL starts without
// hugepages; two ethdevs are made of rte_rings (the ring PMD, rte_eth_from_rings);
// the REAL worker loop (dataplane::worker_main with a worker_context, a
// gateway_core and, where a scenario has one, a policy published through
// dataplane::policy_slot by controlplane::policy_control) runs on lcore 1. The
// main lcore is the traffic: it writes prebuilt frames into mbufs, enqueues them
// on the rings the worker receives from, and drains what the worker transmits.
//
// Cost unit: TSC clocks per packet on the worker, whole path — the worker counts
// the TSC of every loop that received at least one packet (RX of both ports,
// parse, conntrack, policy, inspection, rewrite, TX, expiry sweep, policy
// refresh) and the packets those loops received (worker_context::busy_tsc /
// busy_packets); the harness reads both at the start and end of a timed window.
//
// Scenarios (see bench/README.md): floor (the I/O floor, no gateway),
// established, new-udp, connect, imix-sni, dlp, reload. Output: a table on
// stdout, or with --json the JSON document on stdout and the table on stderr.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "bench_frames.hpp"
#include "dlp_corpus.hpp"
#include "event_log.hpp"
#include "gateway/gateway_core.hpp"
#include "net/checksum.hpp"
#include "policy_control.hpp"
#include "policy_loader.hpp"
#include "policy_slot.hpp"
#include "port.hpp"
#include "worker.hpp"

namespace {

using namespace egress;
using namespace egress_bench;
using stats::side;

constexpr std::size_t idx(side s) noexcept { return static_cast<std::size_t>(s); }

// ---- options --------------------------------------------------------------------

const std::vector<std::string> all_scenarios{"floor", "established", "new-udp", "connect", "imix-sni", "dlp", "reload"};

struct options {
    std::set<std::string> scenarios{all_scenarios.begin(), all_scenarios.end()};
    std::vector<uint32_t> flows{1'000, 10'000, 100'000, 1'000'000, 10'000'000};
    std::vector<std::string> protos{"udp", "tcp"};
    double seconds = 3.0;           // timed window of each measurement
    uint32_t new_flows = 2'000'000; // new-udp: flows opened (one packet each)
    uint32_t slots = 2048;          // connect / imix-sni / dlp: connections in flight
    uint32_t dlp_segments = 32;     // dlp: 1,460-byte segments per connection
    uint32_t reload_ms = 20;        // reload: interval between policy reloads
    uint32_t reload_flows = 100'000;
    uint32_t sweep = 64;            // expiry sweep budget per worker loop (egressd: 64)
    bool json = false;
    bool smoke = false;
};

const char* usage =
    "usage: egress-bench [--scenarios LIST] [--flows LIST] [--protos udp,tcp] [--seconds S]\n"
    "                    [--new-flows N] [--slots N] [--dlp-segments N] [--reload-ms MS]\n"
    "                    [--reload-flows N] [--sweep N] [--json] [--smoke]\n"
    "  scenarios: floor,established,new-udp,connect,imix-sni,dlp,reload (default: all)\n"
    "  --flows: established flow counts (default 1000,10000,100000,1000000,10000000)\n"
    "  --smoke: tiny sizes, short windows (the meson test)\n";

std::vector<std::string> split(const std::string& s) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= s.size()) {
        const std::size_t comma = s.find(',', start);
        const std::size_t end = comma == std::string::npos ? s.size() : comma;
        if (end > start) out.push_back(s.substr(start, end - start));
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return out;
}

bool parse_options(int argc, char** argv, options& o) {
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        const auto value = [&]() -> std::string {
            if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
            return argv[++i];
        };
        if (a == "--scenarios") {
            o.scenarios.clear();
            for (const auto& s : split(value())) {
                if (std::find(all_scenarios.begin(), all_scenarios.end(), s) == all_scenarios.end())
                    throw std::invalid_argument("unknown scenario " + s);
                o.scenarios.insert(s);
            }
        } else if (a == "--flows") {
            o.flows.clear();
            for (const auto& s : split(value())) o.flows.push_back(static_cast<uint32_t>(std::stoul(s)));
        } else if (a == "--protos") {
            o.protos = split(value());
            for (const auto& p : o.protos)
                if (p != "udp" && p != "tcp") throw std::invalid_argument("unknown protocol " + p);
        } else if (a == "--seconds") {
            o.seconds = std::stod(value());
        } else if (a == "--new-flows") {
            o.new_flows = static_cast<uint32_t>(std::stoul(value()));
        } else if (a == "--slots") {
            o.slots = static_cast<uint32_t>(std::stoul(value()));
        } else if (a == "--dlp-segments") {
            o.dlp_segments = static_cast<uint32_t>(std::stoul(value()));
        } else if (a == "--reload-ms") {
            o.reload_ms = static_cast<uint32_t>(std::stoul(value()));
        } else if (a == "--reload-flows") {
            o.reload_flows = static_cast<uint32_t>(std::stoul(value()));
        } else if (a == "--sweep") {
            o.sweep = static_cast<uint32_t>(std::stoul(value()));
        } else if (a == "--json") {
            o.json = true;
        } else if (a == "--smoke") {
            o.smoke = true;
            o.flows = {1'000, 5'000};
            o.seconds = 0.3;
            o.new_flows = 20'000;
            o.slots = 64;
            o.dlp_segments = 8;
            o.reload_flows = 2'000;
            o.reload_ms = 10;
        } else if (a == "-h" || a == "--help") {
            std::fputs(usage, stdout);
            std::exit(0);
        } else {
            throw std::invalid_argument("unknown argument " + a);
        }
    }
    if (o.slots == 0 || o.slots > 65536) throw std::invalid_argument("--slots must be 1..65536");
    if (o.seconds <= 0) throw std::invalid_argument("--seconds must be positive");
    return true;
}

// ---- addresses and frames -------------------------------------------------------------

// ---- EAL, ports, the worker --------------------------------------------------------------

struct ring_port {
    rte_ring* rx = nullptr; // the harness enqueues, the worker receives
    rte_ring* tx = nullptr; // the worker transmits, the harness dequeues
    dataplane::port_handle handle;
};

struct testbed {
    rte_mempool* pool = nullptr;
    ring_port ports[2];
};

constexpr unsigned ring_size = 16384;
// Frames of a stream inside the rings and the worker at once: well below what
// one ring holds, so a descheduled harness can never make the worker's TX fail.
constexpr uint64_t max_in_flight = 4096;
constexpr unsigned pool_mbufs = 65535;

testbed make_testbed() {
    testbed tb;
    tb.pool = rte_pktmbuf_pool_create("bench_mbufs", pool_mbufs, 512, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                      static_cast<int>(rte_socket_id()));
    if (tb.pool == nullptr) throw std::runtime_error("cannot create the mbuf pool");
    for (side s : {side::inside, side::outside}) {
        const std::string name = s == side::inside ? "bench_inside" : "bench_outside";
        ring_port& p = tb.ports[idx(s)];
        p.rx = rte_ring_create((name + "_rx").c_str(), ring_size, static_cast<int>(rte_socket_id()),
                               RING_F_SP_ENQ | RING_F_SC_DEQ);
        p.tx = rte_ring_create((name + "_tx").c_str(), ring_size, static_cast<int>(rte_socket_id()),
                               RING_F_SP_ENQ | RING_F_SC_DEQ);
        if (p.rx == nullptr || p.tx == nullptr) throw std::runtime_error("cannot create rings");
        const int id = rte_eth_from_rings(name.c_str(), &p.rx, 1, &p.tx, 1, rte_socket_id());
        char device[RTE_ETH_NAME_MAX_LEN];
        if (id < 0 || rte_eth_dev_get_name_by_port(static_cast<uint16_t>(id), device) != 0)
            throw std::runtime_error("rte_eth_from_rings failed for " + name);
        config::port_settings ps;
        ps.device = device;
        p.handle = dataplane::start_port(ps, tb.pool, false);
    }
    return tb;
}

// The gateway's deployment for a scenario: the ring ports' MACs, a 2-address pool.
gateway::settings gateway_settings(const testbed& tb, uint32_t max_flows) {
    gateway::settings s;
    s.inside.mac = tb.ports[0].handle.mac;
    s.inside.next_hop_mac = inside_host_mac;
    s.outside.mac = tb.ports[1].handle.mac;
    s.outside.next_hop_mac = outside_router_mac;
    s.pool = {{net::ip_address::from_v4(pool_first), net::ip_address::from_v4(pool_first + 1)}, 1024, 65535};
    s.max_flows = max_flows;
    return s;
}

// The worker(s) of a run. One today (lcore 1); kept in one place so the harness
// can start N workers once the dataplane has them.
struct workers {
    // What runs on a worker lcore: notes its thread's CPU clock (so the harness
    // can tell how much of the wall time the worker was scheduled), then the
    // worker loop itself.
    struct launch {
        dataplane::worker_context* ctx = nullptr;
        bool floor = false;
        clockid_t cpu_clock{};
        std::atomic<bool> ready{false};
    };
    static int run_worker(void* arg) {
        auto* l = static_cast<launch*>(arg);
        pthread_getcpuclockid(pthread_self(), &l->cpu_clock);
        l->ready.store(true, std::memory_order_release);
        return l->floor ? io_floor_main(l->ctx) : dataplane::worker_main(l->ctx);
    }
    // The I/O floor of this set-up (the "floor" scenario, like testpmd's macswap):
    // what the worker lcore spends per packet on RX, touching the mbuf and the
    // frame's first cache line (the MACs swapped), and TX to the other port,
    // counted like the worker's busy loops. No gateway.
    static int io_floor_main(void* arg) {
        auto& ctx = *static_cast<dataplane::worker_context*>(arg);
        rte_mbuf* pkts[dataplane::max_burst];
        uint64_t busy = 0, packets = 0;
        while (!ctx.stop->load(std::memory_order_relaxed)) {
            const uint64_t t0 = rte_get_tsc_cycles();
            uint32_t got = 0;
            for (int s = 0; s < 2; ++s) {
                const uint16_t n = rte_eth_rx_burst(ctx.ports[s].id, 0, pkts, ctx.burst);
                if (n == 0) continue;
                got += n;
                for (uint16_t i = 0; i < n; ++i) {
                    uint8_t* f = rte_pktmbuf_mtod(pkts[i], uint8_t*);
                    uint8_t tmp[6];
                    std::memcpy(tmp, f, 6);
                    std::memcpy(f, f + 6, 6);
                    std::memcpy(f + 6, tmp, 6);
                }
                const uint16_t sent = rte_eth_tx_burst(ctx.ports[1 - s].id, 0, pkts, n);
                if (sent < n) rte_pktmbuf_free_bulk(pkts + sent, n - sent);
            }
            if (got != 0) {
                busy += rte_get_tsc_cycles() - t0;
                packets += got;
                ctx.busy_tsc.store(busy, std::memory_order_relaxed);
                ctx.busy_packets.store(packets, std::memory_order_relaxed);
            }
        }
        ctx.finished.store(true);
        return 0;
    }
    bool floor = false; // start io_floor_main instead of the worker

    std::atomic<bool> stop{false};
    std::vector<std::unique_ptr<dataplane::worker_context>> ctx;
    std::vector<std::unique_ptr<launch>> launches;
    std::vector<unsigned> lcores;

    uint32_t sweep_budget = 64;

    void start(const testbed& tb, gateway::gateway_core& core, dataplane::policy_slot* policy) {
        auto c = std::make_unique<dataplane::worker_context>();
        c->core = &core;
        c->ports[0] = tb.ports[0].handle;
        c->ports[1] = tb.ports[1].handle;
        c->pool = tb.pool;
        c->burst = 32;
        c->sweep_budget = sweep_budget;
        c->policy = policy;
        c->stop = &stop;
        c->start_epoch_ms = controlplane::unix_ms_now();
        const unsigned lcore = rte_get_next_lcore(-1, 1, 0);
        if (lcore >= RTE_MAX_LCORE) throw std::runtime_error("egress-bench needs two lcores (-l 0-1)");
        auto l = std::make_unique<launch>();
        l->ctx = c.get();
        l->floor = floor;
        if (rte_eal_remote_launch(run_worker, l.get(), lcore) != 0) throw std::runtime_error("cannot launch the worker");
        while (!l->ready.load(std::memory_order_acquire)) std::this_thread::yield();
        lcores.push_back(lcore);
        ctx.push_back(std::move(c));
        launches.push_back(std::move(l));
    }
    // CPU time the worker threads have been given so far (ns).
    uint64_t cpu_ns() const {
        uint64_t t = 0;
        for (const auto& l : launches) {
            timespec ts{};
            clock_gettime(l->cpu_clock, &ts);
            t += static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
        }
        return t;
    }
    uint64_t busy_tsc() const {
        uint64_t t = 0;
        for (const auto& c : ctx) t += c->busy_tsc.load(std::memory_order_relaxed);
        return t;
    }
    uint64_t busy_packets() const {
        uint64_t t = 0;
        for (const auto& c : ctx) t += c->busy_packets.load(std::memory_order_relaxed);
        return t;
    }
    void join() {
        stop.store(true);
        for (unsigned l : lcores) rte_eal_wait_lcore(l);
        lcores.clear();
    }
    ~workers() { join(); }
};

// ---- measurement ------------------------------------------------------------------------

struct result {
    std::string scenario;
    std::string variant;
    uint64_t flows = 0;
    double seconds = 0;
    uint64_t packets = 0; // forwarded by the gateway in the window (both directions)
    uint64_t bytes = 0;   // their frame bytes
    uint64_t payload_bytes = 0;
    uint64_t units = 0;   // new flows / connections completed in the window
    std::string unit;
    double clocks_per_packet = 0;       // busy TSC / packets over the whole window
    double clocks_per_packet_p50 = 0;   // the median 1 ms slice (see slice_sampler)
    double clocks_per_packet_p10 = 0;   // the 10th percentile slice
    uint32_t rx_backlog = 0;            // median frames waiting in the worker's RX rings (1 ms samples)
    double clocks_per_packet_cpu = 0;   // worker thread CPU time (TSC units) / packets over the window
    double worker_cpu_share = 0;        // CPU time the worker got / wall time of the window
    double clocks_per_unit = 0;
    double table_bytes_per_flow = 0; // flow table + inspection slot index, per unit of capacity
    double rss_bytes_per_flow = 0;   // resident memory grown while the flows were created, per flow
    uint64_t injected = 0, delivered = 0, lost = 0, unexpected = 0, drops = 0, resets = 0, reloads = 0;
    std::string drop_detail;
    double mpps() const { return seconds > 0 ? static_cast<double>(packets) / seconds / 1e6 : 0; }
    double gbps() const { return seconds > 0 ? static_cast<double>(bytes) * 8 / seconds / 1e9 : 0; }
    double payload_gbps() const { return seconds > 0 ? static_cast<double>(payload_bytes) * 8 / seconds / 1e9 : 0; }
    double units_per_s() const { return seconds > 0 ? static_cast<double>(units) / seconds : 0; }
};

struct window_mark {
    uint64_t tsc, busy_tsc, busy_packets, packets, bytes, payload, units, cpu_ns;
};

// Clocks per packet over consecutive 1 ms slices of a window. Two upper bounds
// of the worker's true cost per slice: its busy TSC (inflated when the worker
// is preempted inside a busy loop) and its thread CPU time in TSC units
// (inflated by idle polling when the traffic side is starved); the smaller of
// the two per slice; slices without a preemption cluster at the low end, so the
// median and the 10th percentile slice bound what an undisturbed worker spends.
struct slice_sampler {
    const workers& w;
    const rte_ring* rx[2]; // what waits for the worker: full bursts need >= 32
    uint64_t every, next_tsc, last_busy, last_packets, last_cpu;
    std::vector<double> ratios;
    std::vector<uint32_t> backlog;
    slice_sampler(const workers& wk, const rte_ring* rx_inside, const rte_ring* rx_outside)
        : w(wk), rx{rx_inside, rx_outside}, every(rte_get_tsc_hz() / 1000), next_tsc(rte_get_tsc_cycles() + every),
          last_busy(wk.busy_tsc()), last_packets(wk.busy_packets()), last_cpu(wk.cpu_ns()) {
        ratios.reserve(100000);
        backlog.reserve(100000);
    }
    void poll() {
        const uint64_t now = rte_get_tsc_cycles();
        if (now < next_tsc) return;
        next_tsc = now + every;
        const uint64_t b = w.busy_tsc(), p = w.busy_packets(), c = w.cpu_ns();
        backlog.push_back(rte_ring_count(rx[0]) + rte_ring_count(rx[1]));
        if (p > last_packets) {
            const double busy = static_cast<double>(b - last_busy);
            const double cpu = static_cast<double>(c - last_cpu) * static_cast<double>(rte_get_tsc_hz()) / 1e9;
            ratios.push_back(std::min(busy, cpu) / static_cast<double>(p - last_packets));
        }
        last_busy = b;
        last_packets = p;
        last_cpu = c;
    }
    uint32_t median_backlog() {
        if (backlog.empty()) return 0;
        std::nth_element(backlog.begin(), backlog.begin() + static_cast<std::ptrdiff_t>(backlog.size() / 2), backlog.end());
        return backlog[backlog.size() / 2];
    }
    double percentile(double q) {
        if (ratios.empty()) return 0;
        const auto k = static_cast<std::ptrdiff_t>(static_cast<double>(ratios.size() - 1) * q);
        std::nth_element(ratios.begin(), ratios.begin() + k, ratios.end());
        return ratios[static_cast<std::size_t>(k)];
    }
};

double tsc_hz() { return static_cast<double>(rte_get_tsc_hz()); }

void close_window(result& r, const window_mark& a, const window_mark& b) {
    r.seconds = static_cast<double>(b.tsc - a.tsc) / tsc_hz();
    r.packets = b.packets - a.packets;
    r.bytes = b.bytes - a.bytes;
    r.payload_bytes = b.payload - a.payload;
    r.units = b.units - a.units;
    const uint64_t busy = b.busy_tsc - a.busy_tsc;
    const uint64_t pk = b.busy_packets - a.busy_packets;
    r.clocks_per_packet = pk ? static_cast<double>(busy) / static_cast<double>(pk) : 0;
    r.clocks_per_unit = r.units ? static_cast<double>(busy) / static_cast<double>(r.units) : 0;
    r.worker_cpu_share = static_cast<double>(b.cpu_ns - a.cpu_ns) / (r.seconds * 1e9);
    r.clocks_per_packet_cpu =
        pk ? static_cast<double>(b.cpu_ns - a.cpu_ns) * tsc_hz() / 1e9 / static_cast<double>(pk) : 0;
}

// A run's window and its driver's accounting: clocks per packet, backlog,
// frames in and out (lost: injected frames that neither came out nor were
// unexpected).
template <class driver>
void close_run(result& r, const driver& d, const window_mark& a, const window_mark& b) {
    close_window(r, a, b);
    r.clocks_per_packet_p50 = d.p50;
    r.clocks_per_packet_p10 = d.p10;
    r.rx_backlog = d.backlog;
    r.injected = d.injected;
    r.delivered = d.delivered;
    r.lost = d.injected - d.delivered - d.unexpected;
    r.unexpected = d.unexpected;
}

uint64_t rss_bytes() {
    std::ifstream f("/proc/self/statm");
    uint64_t size = 0, resident = 0;
    f >> size >> resident;
    return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

// Drops counted by the gateway (read after the worker stopped).
void collect_drops(result& r, const gateway::gateway_core& core) {
    const auto& c = core.counters();
    r.drops = 0;
    r.drop_detail.clear();
    for (std::size_t i = 0; i < stats::drop_reason_count; ++i) {
        if (c.drops[i] == 0) continue;
        r.drops += c.drops[i];
        r.drop_detail += fmt::format("{}{}={}", r.drop_detail.empty() ? "" : " ",
                                     stats::drop_reason_names[i], c.drops[i]);
    }
    if (c.inspect_unchecked != 0) r.drop_detail += fmt::format(" inspect_unchecked={}", c.inspect_unchecked);
}

double table_bytes_per_flow(const gateway::gateway_core& core) {
    // hostname_reassembly keeps one 4-byte slot index per flow-table record.
    return static_cast<double>(core.flow_table_bytes() + 4ull * core.flow_capacity()) /
           static_cast<double>(core.flow_capacity());
}

// ---- stream traffic: prebuilt frames, inside -> outside -----------------------------------

// Frames written into mbufs round-robin; forwarded mbufs come back and are refilled.
struct stream_driver {
    testbed& tb;
    workers& w;
    const uint8_t* frames;   // count frames of `stride` bytes
    uint16_t frame_len;
    std::size_t stride;
    uint32_t count;
    uint32_t next = 0;
    uint64_t injected = 0, delivered = 0, delivered_bytes = 0, unexpected = 0;
    std::vector<rte_mbuf*> spare;

    stream_driver(testbed& t, workers& wk, const uint8_t* f, uint16_t len, std::size_t st, uint32_t n)
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
std::vector<uint8_t> build_stream(const testbed& tb, uint32_t first, uint32_t n, uint8_t proto) {
    std::vector<uint8_t> blob(static_cast<std::size_t>(n) * min_frame);
    const uint8_t payload[18] = {};
    for (uint32_t k = 0; k < n; ++k) {
        const uint32_t i = first + k;
        if (proto == 17) {
            build_frame(&blob[static_cast<std::size_t>(k) * min_frame], tb.ports[0].handle.mac, inside_host_mac, 17,
                        flow_src(i), flow_sport(i), flow_dst(i), 53, 0, 0, 0, payload, 18);
        } else {
            // An ACK carrying 6 bytes, sequence numbers as left by the handshake
            // (client ISN i, server ISN ~i): the gateway tracks states, not windows.
            build_frame(&blob[static_cast<std::size_t>(k) * min_frame], tb.ports[0].handle.mac, inside_host_mac, 6,
                        flow_src(i), flow_sport(i), flow_dst(i), 443, i + 1, ~i + 1, tcp_flag::ack, payload, 6);
        }
    }
    return blob;
}

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
    workers& w;
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

    conn_driver(testbed& t, workers& wk, const conversation& c, const std::vector<std::vector<uint8_t>>& h,
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

// ---- policies ------------------------------------------------------------------------------

struct policy_file {
    std::string path;
    explicit policy_file(const std::string& text) {
        path = fmt::format("/tmp/egress-bench-{}-policy.toml", ::getpid());
        write(text);
    }
    void write(const std::string& text) const {
        std::ofstream f(path);
        f << text;
    }
    ~policy_file() { std::filesystem::remove(path); }
};

// The policy as the gateway runs it: loaded and compiled from a file, held by
// policy_control, published through the RCU slot the worker reads.
struct live_policy {
    policy_file file;
    std::unique_ptr<dataplane::policy_slot> slot = std::make_unique<dataplane::policy_slot>();
    std::unique_ptr<controlplane::policy_control> control;

    live_policy(const std::string& text, uint32_t dlp_streams) : file(text) {
        auto loaded = policy::load_policy_file(file.path);
        if (!loaded.errors.empty()) throw std::runtime_error("bench policy: " + loaded.errors.front().to_string());
        control = std::make_unique<controlplane::policy_control>(
            file.path, [s = slot.get()](auto next) { return s->publish(std::move(next)); }, nullptr);
        control->set_dlp_streams(dlp_streams);
        control->start(std::move(loaded.policy), controlplane::unix_ms_now());
    }
};

const char* const allowed_names[] = {"api.github.com", "*.githubusercontent.com", "api.stripe.com",
                                     "*.amazonaws.com", "login.microsoftonline.com", "*.googleapis.com",
                                     "registry.npmjs.org", "pypi.org", "*.docker.io", "*.slack.com"};

std::string sni_policy() {
    std::string names;
    for (const char* n : allowed_names) names += fmt::format("{}\"{}\"", names.empty() ? "" : ", ", n);
    return fmt::format(R"([policy]
default = "deny"

[[policy.rule]]
name = "saas"
destinations = ["198.18.0.0/15"]
protocol = "tcp"
ports = [443]
hostnames = [{}]
action = "allow"
)",
                       names);
}

std::string dlp_policy() {
    std::string s = R"([policy]
default = "deny"

[[policy.rule]]
name = "uploads"
destinations = ["198.18.0.0/15"]
protocol = "tcp"
ports = [443]
action = "allow"

[dlp]
depth = 0
)";
    for (const auto& p : egress_bench::dlp_set(egress_bench::issuer_card)) {
        s += fmt::format("\n[[dlp.pattern]]\nname = \"{}\"\nregex = '{}'\naction = \"alert\"\n", p.name, p.regex);
        if (p.caseless) s += "flags = [\"caseless\"]\n";
        if (p.validator == dlp::dlp_validator::luhn) s += "validator = \"luhn\"\n";
    }
    return s;
}

// Two versions of a policy that both allow the benchmark's UDP traffic (they
// differ in their other rules), for the reload scenario.
std::string reload_policy(int version) {
    std::string s = "[policy]\ndefault = \"deny\"\n";
    for (int r = 0; r < 50 + version; ++r)
        s += fmt::format("\n[[policy.rule]]\nname = \"block-{}\"\ndestinations = [\"100.{}.{}.0/24\"]\naction = \"deny\"\n", r,
                         64 + version, r);
    s += "\n[[policy.rule]]\nname = \"dns\"\ndestinations = [\"198.51.100.0/24\"]\nprotocol = \"udp\"\nports = [53]\n"
         "action = \"allow\"\n";
    return s;
}

// ---- scenarios ----------------------------------------------------------------------------

struct bench {
    options opt;
    testbed tb;
    std::vector<result> results;
    std::vector<std::vector<uint8_t>> hellos;
    std::vector<uint64_t> public_of; // handshake_all: flow -> public address << 16 | port

    void report_progress(const result& r) {
        std::FILE* out = opt.json ? stderr : stdout;
        fmt::print(out, "{:<12} {:<16} {:>7.3f} Mpps {:>6.2f} Gbps  clk/pkt {:>5.0f} p50 {:>5.0f} p10 {:>5.0f} cpu {:>5.0f} ({:>3.0f}%) rxq {:>4}",
                   r.scenario, r.variant, r.mpps(), r.gbps(), r.clocks_per_packet, r.clocks_per_packet_p50,
                   r.clocks_per_packet_p10, r.clocks_per_packet_cpu, 100 * r.worker_cpu_share, r.rx_backlog);
        if (!r.unit.empty())
            fmt::print(out, " {:>10.0f} {}/s {:>7.0f} clk/{}", r.units_per_s(), r.unit, r.clocks_per_unit, r.unit);
        if (r.table_bytes_per_flow > 0) fmt::print(out, " {:.0f} B/flow", r.table_bytes_per_flow);
        if (r.rss_bytes_per_flow > 0) fmt::print(out, " (rss {:.0f})", r.rss_bytes_per_flow);
        if (r.payload_bytes) fmt::print(out, " payload {:.2f} Gbps", r.payload_gbps());
        if (r.reloads) fmt::print(out, " reloads {}", r.reloads);
        fmt::print(out, " lost {} unexpected {}", r.lost, r.unexpected);
        if (!r.drop_detail.empty()) fmt::print(out, " drops[{}]", r.drop_detail);
        fmt::print(out, "\n");
        std::fflush(out);
        results.push_back(r);
    }

    // (1) established flows, 64-byte frames, each packet the next flow in turn.
    void established(uint32_t n, const std::string& proto) {
        result r;
        r.scenario = "established";
        r.variant = fmt::format("{} {}", proto, n);
        r.flows = n;
        const uint64_t rss0 = rss_bytes();
        auto core = std::make_unique<gateway::gateway_core>(gateway_settings(tb, n + n / 8 + 64));
        std::vector<uint8_t> frames = build_stream(tb, 0, n, proto == "udp" ? 17 : 6);
        workers w;
        w.sweep_budget = opt.sweep;
        w.start(tb, *core, nullptr);
        if (proto == "tcp") handshake_all(w, n);
        stream_driver d(tb, w, frames.data(), min_frame, min_frame, n);
        if (proto == "udp") d.send_and_drain(n); // creates the flows
        const uint64_t grown = rss_bytes() - rss0 - frames.size();
        d.next = 0;
        auto [a, b] = d.run_for(opt.seconds);
        w.join();
        close_run(r, d, a, b);
        r.table_bytes_per_flow = table_bytes_per_flow(*core);
        r.rss_bytes_per_flow = static_cast<double>(grown) / n;
        collect_drops(r, *core);
        if (core->flows_active() != n) r.drop_detail += fmt::format(" flows_active={}", core->flows_active());
        report_progress(r);
    }

    // Opens flows 0..n-1 as TCP connections (SYN, SYN-ACK, ACK) so they are
    // established; the stream then sends ACKs on them. Chunks of 64k flows go
    // through the three steps in turn, so no SYN waits longer than the SYN_SENT
    // timeout (30 s) for its SYN-ACK even at 10M flows.
    void handshake_all(workers& w, uint32_t n) {
        const uint8_t none[1] = {};
        constexpr uint32_t chunk = 65536;
        std::vector<uint8_t> blob(static_cast<std::size_t>(std::min(n, chunk)) * min_frame);
        public_of.assign(n, 0);
        for (uint32_t first = 0; first < n; first += chunk) {
            const uint32_t count = std::min(chunk, n - first);
            auto pass = [&](auto fill, side in) {
                for (uint32_t k = 0; k < count; ++k) fill(first + k, &blob[static_cast<std::size_t>(k) * min_frame]);
                stream_in(w, blob, count, in);
            };
            pass([&](uint32_t i, uint8_t* f) {
                build_frame(f, tb.ports[0].handle.mac, inside_host_mac, 6, flow_src(i), flow_sport(i), flow_dst(i), 443,
                            i, 0, tcp_flag::syn, none, 0);
            }, side::inside);
            // The SYN-ACK goes to the public address and port the gateway chose,
            // learnt from the translated SYNs (their sequence number is the flow).
            pass([&](uint32_t i, uint8_t* f) {
                const uint64_t pub = public_of[i];
                build_frame(f, tb.ports[1].handle.mac, outside_router_mac, 6, flow_dst(i), 443,
                            static_cast<uint32_t>(pub >> 16), static_cast<uint16_t>(pub), ~i, i + 1,
                            tcp_flag::syn | tcp_flag::ack, none, 0);
            }, side::outside);
            pass([&](uint32_t i, uint8_t* f) {
                build_frame(f, tb.ports[0].handle.mac, inside_host_mac, 6, flow_src(i), flow_sport(i), flow_dst(i), 443,
                            i + 1, ~i + 1, tcp_flag::ack, none, 0);
            }, side::inside);
        }
    }

    // Sends n prebuilt frames into side `in` once and waits for them to come out
    // of the other side.
    void stream_in(workers& w, const std::vector<uint8_t>& blob, uint32_t n, side in) {
        uint64_t sent = 0, back = 0;
        rte_mbuf* got[64];
        rte_mbuf* batch[32];
        const side out = in == side::inside ? side::outside : side::inside;
        uint64_t idle_since = rte_get_tsc_cycles();
        while (back < n) {
            const unsigned k = rte_ring_dequeue_burst(tb.ports[idx(out)].tx, reinterpret_cast<void**>(got), 64, nullptr);
            back += k;
            for (unsigned i = 0; i < k; ++i) { // translated SYNs: note the public address and port
                const uint8_t* f = rte_pktmbuf_mtod(got[i], const uint8_t*);
                if (out != side::outside || f[14 + 9] != 6 || f[14 + 20 + 13] != tcp_flag::syn) continue;
                const uint32_t flow = get32(f + 14 + 20 + 4);
                if (flow < public_of.size())
                    public_of[flow] = static_cast<uint64_t>(get32(f + 14 + 12)) << 16 | get16(f + 14 + 20);
            }
            if (k) rte_pktmbuf_free_bulk(got, k);
            if (k) idle_since = rte_get_tsc_cycles();
            if (sent < n && sent - back < max_in_flight) {
                const unsigned want = static_cast<unsigned>(std::min<uint64_t>(32, n - sent));
                if (rte_pktmbuf_alloc_bulk(tb.pool, batch, want) != 0) continue;
                for (unsigned i = 0; i < want; ++i) {
                    rte_mbuf* m = batch[i];
                    m->data_len = m->pkt_len = min_frame;
                    std::memcpy(rte_pktmbuf_mtod(m, uint8_t*), &blob[(sent + i) * min_frame], min_frame);
                }
                const unsigned q = rte_ring_enqueue_burst(tb.ports[idx(in)].rx, reinterpret_cast<void**>(batch), want, nullptr);
                if (q < want) rte_pktmbuf_free_bulk(batch + q, want - q);
                sent += q;
                idle_since = rte_get_tsc_cycles();
            } else if (sent == n && rte_get_tsc_cycles() - idle_since > rte_get_tsc_hz()) {
                break;
            }
        }
        // Anything the worker sent back the other way (resets) is discarded.
        while (const unsigned k = rte_ring_dequeue_burst(tb.ports[idx(in)].tx, reinterpret_cast<void**>(got), 64, nullptr))
            rte_pktmbuf_free_bulk(got, k);
        (void)w;
    }

    // The I/O floor: the same 64-byte stream through a MAC-swapping loop on the
    // worker lcore instead of the gateway (see workers::io_floor_main).
    void floor() {
        const uint32_t n = 10'000;
        result r;
        r.scenario = "floor";
        r.variant = "macswap";
        r.flows = n;
        auto core = std::make_unique<gateway::gateway_core>(gateway_settings(tb, 1024));
        std::vector<uint8_t> frames = build_stream(tb, 0, n, 17);
        workers w;
        w.floor = true;
        w.start(tb, *core, nullptr);
        stream_driver d(tb, w, frames.data(), min_frame, min_frame, n);
        auto [a, b] = d.run_for(opt.seconds);
        w.join();
        close_run(r, d, a, b);
        report_progress(r);
    }

    // (2a) every packet opens a new UDP flow (one pass over new_flows distinct tuples).
    void new_udp() {
        const uint32_t n = opt.new_flows;
        result r;
        r.scenario = "new-udp";
        r.variant = fmt::format("{} flows", n);
        r.flows = n;
        r.unit = "flow";
        auto core = std::make_unique<gateway::gateway_core>(gateway_settings(tb, n + n / 8 + 64));
        std::vector<uint8_t> frames = build_stream(tb, 0, n, 17);
        workers w;
        w.sweep_budget = opt.sweep;
        w.start(tb, *core, nullptr);
        stream_driver d(tb, w, frames.data(), min_frame, min_frame, n);
        auto [a, b] = d.run_for(1e9, n);
        a.units = a.packets; // every forwarded packet is a new flow
        b.units = b.packets;
        w.join();
        close_run(r, d, a, b);
        r.table_bytes_per_flow = table_bytes_per_flow(*core);
        collect_drops(r, *core);
        report_progress(r);
    }

    void conversation_run(const std::string& scenario, const conversation& conv, gateway::settings s,
                          live_policy* policy, const std::vector<std::vector<uint8_t>>& names) {
        result r;
        r.scenario = scenario;
        r.variant = conv.name;
        r.flows = opt.slots;
        r.unit = "conn";
        auto core = std::make_unique<gateway::gateway_core>(s);
        workers w;
        w.sweep_budget = opt.sweep;
        w.start(tb, *core, policy ? policy->slot.get() : nullptr);
        conn_driver d(tb, w, conv, names, opt.slots);
        auto [a, b] = d.run(opt.smoke ? 0.1 : 0.5, opt.seconds);
        w.join();
        close_run(r, d, a, b);
        r.resets = d.resets;
        r.lost = d.in_flight; // connections whose packet never came back
        collect_drops(r, *core);
        r.table_bytes_per_flow = table_bytes_per_flow(*core);
        report_progress(r);
        (void)policy;
    }

    gateway::settings conn_settings(uint32_t max_flows) {
        gateway::settings s = gateway_settings(tb, max_flows);
        // Closed connections leave the table after 1 s (TIME_WAIT and closing
        // default to 120 s and 240 s): the table and the inspection slots then
        // hold what one second of connections needs, not minutes of them.
        s.timeouts.tcp_time_wait_ms = 1000;
        s.timeouts.tcp_closing_ms = 1000;
        s.timeouts.tcp_closed_ms = 1000;
        return s;
    }

    // (2) connections per second: the full handshake and close, through both ports.
    void connect() {
        const conversation conv{"syn..fin", {{side::inside, tcp_flag::syn, payload_kind::none, 0},
                                             {side::outside, tcp_flag::syn | tcp_flag::ack, payload_kind::none, 0},
                                             {side::inside, tcp_flag::ack, payload_kind::none, 0},
                                             {side::outside, tcp_flag::fin | tcp_flag::ack, payload_kind::none, 0},
                                             {side::inside, tcp_flag::fin | tcp_flag::ack, payload_kind::none, 0},
                                             {side::outside, tcp_flag::ack, payload_kind::none, 0}}};
        conversation_run("connect", conv, conn_settings(4u << 20), nullptr, {});
    }

    // (3) IMIX-like conversations, every connection a new flow whose ClientHello
    // is inspected against 10 hostname patterns; 1 in 4 names is denied.
    void imix_sni() {
        constexpr uint8_t ack = tcp_flag::ack, pa = tcp_flag::psh | tcp_flag::ack;
        const conversation conv{"13 pkt/conn", {{side::inside, tcp_flag::syn, payload_kind::none, 0},
                                                {side::outside, tcp_flag::syn | ack, payload_kind::none, 0},
                                                {side::inside, ack, payload_kind::none, 0},
                                                {side::inside, pa, payload_kind::hello, 0},
                                                {side::outside, pa, payload_kind::corpus, 1460},
                                                {side::inside, ack, payload_kind::none, 0},
                                                {side::outside, pa, payload_kind::corpus, 536},
                                                {side::inside, ack, payload_kind::none, 0},
                                                {side::outside, pa, payload_kind::corpus, 536},
                                                {side::inside, pa, payload_kind::corpus, 536},
                                                {side::outside, tcp_flag::fin | ack, payload_kind::none, 0},
                                                {side::inside, tcp_flag::fin | ack, payload_kind::none, 0},
                                                {side::outside, ack, payload_kind::none, 0}}};
        gateway::settings s = conn_settings(4u << 20);
        s.inspect.slots = 1u << 20; // a slot per flow for its lifetime (TIME_WAIT included): none may fail open
        s.inspect.buffers = opt.slots + 64;
        s.inspect.max_bytes = 4096;
        live_policy p(sni_policy(), 1024);
        conversation_run("imix-sni", conv, s, &p, hellos);
    }

    // (4) DLP: uploads of dlp_segments x 1,460 bytes of the DLP corpus per
    // connection, 16 patterns scanned in stream mode, the server ACKing every 4th.
    void dlp() {
        constexpr uint8_t ack = tcp_flag::ack, pa = tcp_flag::psh | tcp_flag::ack;
        conversation conv{fmt::format("{}x1460 up", opt.dlp_segments),
                          {{side::inside, tcp_flag::syn, payload_kind::none, 0},
                           {side::outside, tcp_flag::syn | ack, payload_kind::none, 0},
                           {side::inside, ack, payload_kind::none, 0}}};
        for (uint32_t k = 0; k < opt.dlp_segments; ++k) {
            conv.steps.push_back({side::inside, pa, payload_kind::corpus, 1460});
            if (k % 4 == 3) conv.steps.push_back({side::outside, ack, payload_kind::none, 0});
        }
        conv.steps.push_back({side::inside, tcp_flag::fin | ack, payload_kind::none, 0});
        conv.steps.push_back({side::outside, tcp_flag::fin | ack, payload_kind::none, 0});
        conv.steps.push_back({side::inside, ack, payload_kind::none, 0});
        gateway::settings s = conn_settings(1u << 20);
        s.inspect.slots = 1u << 16;
        const uint32_t streams = 1u << 16;
        live_policy p(dlp_policy(), streams);
        conversation_run("dlp", conv, s, &p, {});
        results.back().variant += " 16 pat";
    }

    // (5) established UDP flows while the control side reloads the policy every
    // reload_ms (compile, publish through RCU, grace period). Loss must be zero.
    void reload() {
        const uint32_t n = opt.reload_flows;
        result r;
        r.scenario = "reload";
        r.variant = fmt::format("udp {} /{}ms", n, opt.reload_ms);
        r.flows = n;
        auto core = std::make_unique<gateway::gateway_core>(gateway_settings(tb, n + n / 8 + 64));
        std::vector<uint8_t> frames = build_stream(tb, 0, n, 17);
        live_policy p(reload_policy(0), 1024);
        workers w;
        w.sweep_budget = opt.sweep;
        w.start(tb, *core, p.slot.get());
        stream_driver d(tb, w, frames.data(), min_frame, min_frame, n);
        d.send_and_drain(n);
        std::atomic<bool> done{false};
        uint64_t reloads = 0, failed = 0;
        std::thread control([&] {
            int version = 0;
            while (!done.load()) {
                version ^= 1;
                p.file.write(reload_policy(version));
                const auto rr = p.control->reload("egress-bench", controlplane::unix_ms_now());
                rr.ok ? ++reloads : ++failed;
                p.control->tick(controlplane::unix_ms_now());
                std::this_thread::sleep_for(std::chrono::milliseconds(opt.reload_ms));
            }
        });
        d.next = 0;
        auto [a, b] = d.run_for(opt.seconds);
        done.store(true);
        control.join();
        w.join();
        close_run(r, d, a, b);
        r.unexpected += failed;
        r.reloads = reloads;
        collect_drops(r, *core);
        report_progress(r);
    }

    void run() {
        std::FILE* out = opt.json ? stderr : stdout;
        fmt::print(out, "egress-bench: TSC {:.3f} GHz, worker on lcore 1, traffic on lcore 0 (ring PMD)\n",
                   tsc_hz() / 1e9);
        if (opt.scenarios.count("floor")) floor();
        if (opt.scenarios.count("established"))
            for (const auto& proto : opt.protos)
                for (uint32_t n : opt.flows) established(n, proto);
        if (opt.scenarios.count("new-udp")) new_udp();
        if (opt.scenarios.count("connect")) connect();
        if (opt.scenarios.count("imix-sni")) imix_sni();
        if (opt.scenarios.count("dlp")) dlp();
        if (opt.scenarios.count("reload")) reload();
    }
};

nlohmann::json to_json(const result& r) {
    nlohmann::json j{{"scenario", r.scenario},
                     {"variant", r.variant},
                     {"flows", r.flows},
                     {"seconds", r.seconds},
                     {"packets", r.packets},
                     {"bytes", r.bytes},
                     {"mpps", r.mpps()},
                     {"gbps", r.gbps()},
                     {"clocks_per_packet", r.clocks_per_packet},
                     {"clocks_per_packet_p50", r.clocks_per_packet_p50},
                     {"clocks_per_packet_p10", r.clocks_per_packet_p10},
                     {"rx_backlog", r.rx_backlog},
                     {"clocks_per_packet_cpu", r.clocks_per_packet_cpu},
                     {"worker_cpu_share", r.worker_cpu_share},
                     {"injected", r.injected},
                     {"delivered", r.delivered},
                     {"lost", r.lost},
                     {"unexpected", r.unexpected},
                     {"drops", r.drops},
                     {"drop_detail", r.drop_detail}};
    if (!r.unit.empty()) {
        j["unit"] = r.unit;
        j["units"] = r.units;
        j["units_per_second"] = r.units_per_s();
        j["clocks_per_unit"] = r.clocks_per_unit;
    }
    if (r.table_bytes_per_flow > 0) j["table_bytes_per_flow"] = r.table_bytes_per_flow;
    if (r.rss_bytes_per_flow > 0) j["rss_bytes_per_flow"] = r.rss_bytes_per_flow;
    if (r.payload_bytes) j["payload_gbps"] = r.payload_gbps();
    if (r.scenario == "imix-sni") j["resets"] = r.resets;
    if (r.scenario == "reload") j["reloads"] = r.reloads;
    return j;
}

} // namespace

int main(int argc, char** argv) {
    options opt;
    try {
        parse_options(argc, argv, opt);
    } catch (const std::exception& e) {
        fmt::print(stderr, "egress-bench: {}\n{}", e.what(), usage);
        return 2;
    }
    const std::string prefix = fmt::format("egress-bench-{}", ::getpid());
    std::vector<std::string> args{"egress-bench", "-l", "0-1", "--no-huge", "-m", "1024", "--no-shconf",
                                  "--file-prefix", prefix, "--no-pci", "--log-level", "error"};
    std::vector<char*> argv_eal;
    for (auto& a : args) argv_eal.push_back(a.data());
    if (rte_eal_init(static_cast<int>(argv_eal.size()), argv_eal.data()) < 0) {
        fmt::print(stderr, "egress-bench: EAL initialisation failed: {}\n", rte_strerror(rte_errno));
        return 1;
    }
    int rc = 0;
    try {
        bench b;
        b.opt = opt;
        b.tb = make_testbed();
        const std::vector<std::pair<std::string, std::vector<uint8_t>>> named{
#include "data/client_hellos.inc"
        };
        for (const auto& h : named) b.hellos.push_back(h.second);
        b.run();
        if (opt.json) {
            nlohmann::json all = nlohmann::json::array();
            for (const auto& r : b.results) all.push_back(to_json(r));
            nlohmann::json doc{{"tsc_hz", rte_get_tsc_hz()}, {"results", all}};
            fmt::print("{}\n", doc.dump(1));
        }
        for (side s : {side::inside, side::outside}) dataplane::stop_port(b.tb.ports[idx(s)].handle);
    } catch (const std::exception& e) {
        fmt::print(stderr, "egress-bench: {}\n", e.what());
        rc = 1;
    }
    rte_eal_cleanup();
    return rc;
}
