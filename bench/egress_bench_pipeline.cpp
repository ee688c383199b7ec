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
// The worker is built by dataplane::worker_set (pipeline_harness.hpp), the way
// egressd builds its workers. Files: pipeline_options (command line),
// pipeline_harness (test bed, workers, measurement), pipeline_traffic (the
// drivers), pipeline_policies (the scenarios' policies); this file: the
// scenarios and the report.
//
// Scenarios (see bench/README.md): floor (the I/O floor, no gateway),
// established, new-udp, connect, imix-sni, dlp, reload. Output: a table on
// stdout, or with --json the JSON document on stdout and the table on stderr.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <rte_eal.h>
#include <rte_errno.h>

#include "base/page_memory.hpp"
#include "bench_frames.hpp"
#include "event_log.hpp"
#include "gateway/gateway_core.hpp"
#include "pipeline_harness.hpp"
#include "pipeline_options.hpp"
#include "pipeline_policies.hpp"
#include "pipeline_same_core.hpp"
#include "pipeline_traffic.hpp"

namespace egress_bench {
namespace {

using namespace egress;

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
        pipeline_workers w(tb, gateway_settings(tb, n + n / 8 + 64), nullptr, opt.sweep);
        const gateway::gateway_core& core = w.core();
        std::vector<uint8_t> frames = build_stream(tb, 0, n, proto == "udp" ? 17 : 6);
        w.start();
        if (proto == "tcp") handshake_all(w, n);
        uint64_t grown = 0;
        with_stream(w, frames, n, [&](auto& d) {
            if (proto == "udp") d.send_and_drain(n); // creates the flows
            grown = rss_bytes() - rss0 - frames.size();
            d.next = 0;
            auto [a, b] = d.run_for(opt.seconds);
            w.join();
            close_run(r, d, a, b);
        });
        r.table_bytes_per_flow = table_bytes_per_flow(core);
        r.rss_bytes_per_flow = static_cast<double>(grown) / n;
        collect_drops(r, core);
        if (core.flows_active() != n) r.drop_detail += fmt::format(" flows_active={}", core.flows_active());
        report_progress(r);
    }

    // Opens flows 0..n-1 as TCP connections (SYN, SYN-ACK, ACK) so they are
    // established; the stream then sends ACKs on them. Chunks of 64k flows go
    // through the three steps in turn, so no SYN waits longer than the SYN_SENT
    // timeout (30 s) for its SYN-ACK even at 10M flows.
    void handshake_all(pipeline_workers& w, uint32_t n) {
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
    void stream_in(pipeline_workers& w, const std::vector<uint8_t>& blob, uint32_t n, side in) {
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
    // worker lcore instead of the gateway (see io_floor_main in pipeline_harness.cpp).
    void floor() {
        const uint32_t n = 10'000;
        result r;
        r.scenario = "floor";
        r.variant = "macswap";
        r.flows = n;
        pipeline_workers w(tb, gateway_settings(tb, 1024), nullptr, 64);
        std::vector<uint8_t> frames = build_stream(tb, 0, n, 17);
        w.start(true);
        with_stream(w, frames, n, [&](auto& d) {
            auto [a, b] = d.run_for(opt.seconds);
            w.join();
            close_run(r, d, a, b);
        });
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
        pipeline_workers w(tb, gateway_settings(tb, n + n / 8 + 64), nullptr, opt.sweep);
        const gateway::gateway_core& core = w.core();
        std::vector<uint8_t> frames = build_stream(tb, 0, n, 17);
        w.start();
        with_stream(w, frames, n, [&](auto& d) {
            auto [a, b] = d.run_for(1e9, n);
            a.units = a.packets; // every forwarded packet is a new flow
            b.units = b.packets;
            w.join();
            close_run(r, d, a, b);
        });
        r.table_bytes_per_flow = table_bytes_per_flow(core);
        collect_drops(r, core);
        report_progress(r);
    }

    void conversation_run(const std::string& scenario, const conversation& conv, gateway::settings s,
                          live_policy* policy, const std::vector<std::vector<uint8_t>>& names) {
        result r;
        r.scenario = scenario;
        r.variant = conv.name;
        r.flows = opt.slots;
        r.unit = "conn";
        pipeline_workers w(tb, s, policy ? policy->slot.get() : nullptr, opt.sweep);
        const gateway::gateway_core& core = w.core();
        w.start();
        conn_driver d(tb, w, conv, names, opt.slots);
        auto [a, b] = d.run(opt.smoke ? 0.1 : 0.5, opt.seconds);
        w.join();
        close_run(r, d, a, b);
        r.resets = d.resets;
        r.lost = d.in_flight; // connections whose packet never came back
        collect_drops(r, core);
        r.table_bytes_per_flow = table_bytes_per_flow(core);
        report_progress(r);
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
        live_policy p(reload_policy(0), 1024);
        pipeline_workers w(tb, gateway_settings(tb, n + n / 8 + 64), p.slot.get(), opt.sweep);
        const gateway::gateway_core& core = w.core();
        std::vector<uint8_t> frames = build_stream(tb, 0, n, 17);
        w.start();
        with_stream(w, frames, n, [&](auto& d) { reload_run(r, p, w, d, n); });
        collect_drops(r, core);
        report_progress(r);
    }

    template <class driver>
    void reload_run(result& r, live_policy& p, pipeline_workers& w, driver& d, uint32_t n) {
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
    }

    // The stream scenarios' traffic: from the main lcore across the ring PMD,
    // or (--same-core) generated on the worker's own lcore.
    template <class F>
    void with_stream(pipeline_workers& w, const std::vector<uint8_t>& frames, uint32_t n, F&& body) {
        if (opt.same_core) {
            same_core_driver d(tb, w, frames.data(), min_frame, min_frame, n, opt.device_checksum);
            body(d);
        } else {
            stream_driver d(tb, w, frames.data(), min_frame, min_frame, n);
            body(d);
        }
    }

    void run() {
        std::FILE* out = opt.json ? stderr : stdout;
        fmt::print(out, "egress-bench: TSC {:.3f} GHz, worker on lcore 1, traffic {}\n", tsc_hz() / 1e9,
                   opt.same_core ? "generated on lcore 1 for floor/established/new-udp/reload (--same-core)"
                                 : "on lcore 0 (ring PMD)");
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
} // namespace egress_bench

int main(int argc, char** argv) {
    using namespace egress_bench;
    options opt;
    try {
        parse_options(argc, argv, opt);
    } catch (const std::exception& e) {
        fmt::print(stderr, "egress-bench: {}\n{}", e.what(), usage);
        return 2;
    }
    const std::string prefix = fmt::format("egress-bench-{}", ::getpid());
    // Hugepages where 1 GiB of them are free and mounted (tools/hugepages
    // reserve), as egressd's "auto"; else --no-huge (EAL refuses --in-memory with it).
    const auto pages = egress::base::read_hugepage_status();
    const bool huge = pages.mounted && pages.free_bytes() >= (uint64_t{1} << 30);
    std::vector<std::string> args{"egress-bench", "-l", "0-1", "-m", "1024", "--no-pci", "--log-level", "error"};
    if (huge) {
        args.emplace_back("--in-memory");
    } else {
        args.insert(args.end(), {"--no-huge", "--no-shconf", "--file-prefix", prefix});
    }
    fmt::print(stderr, "egress-bench: memory: {} for mbufs; flow tables in {}\n", huge ? "hugepages" : "--no-huge",
               huge ? "hugepages" : "madvise(MADV_HUGEPAGE) memory");
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
            nlohmann::json doc{{"tsc_hz", rte_get_tsc_hz()}, {"same_core", opt.same_core}, {"results", all}};
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
