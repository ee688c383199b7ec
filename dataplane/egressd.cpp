// egressd: the gateway process. Loads the config, brings up EAL and the two ports,
// runs the worker lcores and, on the main lcore, the control loop (signals, drain),
// then prints the summary. Exiting is allowed here and only here.
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_ring.h>

#include "config.hpp"
#include "config_file.hpp"
#include "control_commands.hpp"
#include "event_log.hpp"
#include "policy_control.hpp"
#include "telemetry.hpp"
#include "eal_args.hpp"
#include "exporter.hpp"
#include "metrics.hpp"
#include "policy_loader.hpp"
#include "gateway/gateway_core.hpp"
#include "gateway/steering.hpp"
#include "port.hpp"
#include "summary.hpp"
#include "worker.hpp"

namespace {

std::atomic<bool> g_stop{false};

std::atomic<bool> g_reload{false};

extern "C" void on_signal(int) { g_stop.store(true, std::memory_order_relaxed); }
extern "C" void on_reload_signal(int) { g_reload.store(true, std::memory_order_relaxed); }

void print_reload(const egress::controlplane::reload_result& r) {
    if (!r.ok) {
        for (const auto& e : r.errors) fmt::print(stderr, "{}\n", e);
        fmt::print(stderr, "egressd: policy reload failed ({} error(s)); keeping policy version {}\n", r.errors.size(),
                   r.version);
        return;
    }
    fmt::print("egressd: policy version {} active ({} rules) after {} us\n", r.version, r.rules, r.duration_us);
    std::fflush(stdout);
}

constexpr const char* usage =
    "usage: egressd -c FILE.toml [--stats-json PATH]\n"
    "       egressd --check-config FILE.toml\n"
    "\n"
    "  -c, --config FILE     run the gateway with this configuration\n"
    "  --check-config FILE   validate FILE and exit (0 when valid, 1 otherwise)\n"
    "  --stats-json PATH     also write the end-of-run summary as JSON to PATH\n"
    "  -h, --help            this text\n";

struct options {
    std::string config_path;
    std::string stats_json_path;
    bool check_only = false;
    bool help = false;
};

bool parse_options(int argc, char** argv, options& o) {
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&](std::string& out) {
            if (i + 1 >= argc) {
                fmt::print(stderr, "egressd: {} needs a value\n{}", a, usage);
                return false;
            }
            out = argv[++i];
            return true;
        };
        if (a == "-c" || a == "--config") {
            if (!value(o.config_path)) return false;
        } else if (a == "--check-config") {
            o.check_only = true;
            if (i + 1 < argc && argv[i + 1][0] != '-' && !value(o.config_path)) return false;
        } else if (a == "--stats-json") {
            if (!value(o.stats_json_path)) return false;
        } else if (a == "-h" || a == "--help") {
            o.help = true;
            return true;
        } else {
            fmt::print(stderr, "egressd: unknown argument '{}'\n{}", a, usage);
            return false;
        }
    }
    if (o.config_path.empty()) {
        fmt::print(stderr, "egressd: no configuration file given\n{}", usage);
        return false;
    }
    return true;
}

void add_export_stats(egress::controlplane::run_report& report, const egress::controlplane::exporter* exporter) {
    if (exporter == nullptr) return;
    const auto x = exporter->stats();
    report.export_enabled = true;
    report.export_records = x.records;
    report.export_messages = x.messages;
    report.export_send_errors = x.send_errors;
    report.export_events_lost = x.events_lost;
}

// Undo what EAL set up, whatever way run() leaves (declared first: runs last),
// including its runtime directory (the telemetry socket), which EAL leaves behind.
struct eal_session {
    std::string runtime_dir = rte_eal_get_runtime_dir();
    ~eal_session() {
        rte_eal_cleanup();
        std::error_code ec;
        for (const auto& e : std::filesystem::directory_iterator(runtime_dir, ec))
            if (e.path().filename().string().starts_with("dpdk_telemetry")) std::filesystem::remove(e.path(), ec);
        std::filesystem::remove(runtime_dir, ec); // only if now empty
    }
};
struct mempool_guard {
    rte_mempool* pool = nullptr;
    ~mempool_guard() { rte_mempool_free(pool); }
};

// Everything the control thread owns: the policy state, the control socket, the
// security event log. It serves the socket, reloads on SIGHUP, expires blocks and
// writes the packet path's security events.
struct control_plane {
    std::unique_ptr<egress::controlplane::event_log> events;
    std::unique_ptr<egress::controlplane::policy_control> policy;
    std::unique_ptr<egress::controlplane::control_server> server;
    std::vector<egress::policy::security_ring*> rings;

    void tick() {
        using namespace egress::controlplane;
        if (server) {
            server->poll(20);
        } else {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        if (g_reload.exchange(false)) print_reload(policy->reload("SIGHUP", unix_ms_now()));
        policy->tick(unix_ms_now());
        if (events) events->drain(rings, unix_ms_now());
    }
};

int run(const options& opts, egress::config::egressd_config cfg,
        std::unique_ptr<const egress::policy::compiled_policy> initial_policy) {
    using namespace egress;
    const uint64_t start_unix_ms = controlplane::unix_ms_now();
    auto args = dataplane::make_eal_args(cfg.eal);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    if (rte_eal_init(static_cast<int>(argv.size()), argv.data()) < 0) {
        fmt::print(stderr, "egressd: EAL initialisation failed: {}\n", rte_strerror(rte_errno));
        return 1;
    }
    eal_session eal;
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    std::signal(SIGHUP, on_reload_signal);

    mempool_guard pool{rte_pktmbuf_pool_create("egress_mbufs", cfg.run.mbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                               static_cast<int>(rte_socket_id()))};
    if (pool.pool == nullptr) {
        fmt::print(stderr, "egressd: cannot create the mbuf pool ({} mbufs): {}\n", cfg.run.mbufs,
                   rte_strerror(rte_errno));
        return 1;
    }

    const unsigned workers = cfg.run.workers;
    if (rte_lcore_count() < workers) {
        fmt::print(stderr, "egressd: run.workers = {} needs at least {} lcores in eal.lcores, EAL has {}\n", workers,
                   workers, rte_lcore_count());
        return 1;
    }

    // Declared in dependency order: destroyed in reverse, after the workers stopped.
    // One of each per worker: context, gateway_core, event rings, published stats.
    std::vector<std::unique_ptr<dataplane::worker_context>> ctxs;
    for (unsigned w = 0; w < workers; ++w) ctxs.push_back(std::make_unique<dataplane::worker_context>());
    dataplane::worker_context* const ctx = ctxs[0].get(); // ports live here; copied to the others
    dataplane::worker_group group;
    group.workers = workers;
    std::unique_ptr<gateway::steering> steering;
    std::vector<rte_ring*> handoff_rings; // [from * workers + to], null on the diagonal
    struct rings_guard {
        std::vector<rte_ring*>& rings;
        ~rings_guard() {
            for (rte_ring* r : rings) rte_ring_free(r);
        }
    } free_rings{handoff_rings};
    std::vector<std::unique_ptr<gateway::gateway_core>> cores;
    std::vector<std::unique_ptr<gateway::fragment_steering>> fragment_steers; // per dispatching worker
    std::vector<std::unique_ptr<gateway::event_ring>> events;
    std::vector<std::unique_ptr<policy::security_ring>> security;
    std::unique_ptr<dataplane::policy_slot> policy_slot;
    control_plane control;
    std::unique_ptr<controlplane::exporter> exporter;
    std::vector<std::unique_ptr<base::seqlock_box<stats::live_stats>>> live;
    for (unsigned w = 0; w < workers; ++w) live.push_back(std::make_unique<base::seqlock_box<stats::live_stats>>());
    std::unique_ptr<controlplane::metrics_server> metrics;
    controlplane::report_frame frame;
    controlplane::control_hooks hooks;
    dataplane::telemetry_source telemetry;

    // Metrics, telemetry, the control socket and the summary show the sum over the workers.
    const auto live_total = [&] {
        stats::live_stats total{};
        for (const auto& box : live) stats::add_worker(total, box->read());
        return total;
    };
    const auto live_report = [&] {
        controlplane::run_report r = controlplane::make_run_report(frame, live_total());
        add_export_stats(r, exporter.get());
        return r;
    };

    try {
        const bool ts = cfg.run.replay_in_timestamp_order;
        std::vector<uint8_t> key = cfg.run.rss_key;
        if (key.empty()) key.assign(net::default_rss_key.begin(), net::default_rss_key.end());
        const dataplane::queue_plan plan{workers, cfg.run.rss && workers > 1, key};
        ctx->ports[0] = dataplane::start_port(cfg.inside_port, pool.pool, ts, plan);
        ctx->ports[1] = dataplane::start_port(cfg.outside_port, pool.pool, ts, plan);
        if (ts && !(ctx->ports[0].rx_timestamps && ctx->ports[1].rx_timestamps))
            throw std::runtime_error("run.replay_in_timestamp_order needs devices that stamp received packets "
                                     "(pcap vdevs do)");
        if (ts && (ctx->ports[0].rx_queues != 1 || ctx->ports[1].rx_queues != 1))
            throw std::runtime_error("run.replay_in_timestamp_order reads one RX queue per port (one rx_pcap each)");
        if (ts && rte_mbuf_dyn_rx_timestamp_register(&ctx->timestamp_offset, &ctx->timestamp_flag) != 0)
            throw std::runtime_error("cannot register the mbuf RX timestamp field");
        cfg.gateway.inside.mac = ctx->ports[0].mac;
        cfg.gateway.outside.mac = ctx->ports[1].mac;

        // Flow steering between the workers (gateway/steering.hpp): a RETA as
        // large as the smallest RSS port's (entry i -> worker i % workers),
        // programmed into the RSS ports; SNAT ports chosen by hash when the
        // outside port steers replies, else per-worker slices of the range.
        gateway::steering_settings st;
        st.workers = workers;
        st.rss = ctx->ports[1].rss;
        st.key = key;
        st.port_min = cfg.gateway.pool.port_min;
        st.port_max = cfg.gateway.pool.port_max;
        uint16_t reta_size = 0;
        for (const auto& p : ctx->ports)
            if (p.rss && (reta_size == 0 || p.reta_size < reta_size)) reta_size = p.reta_size;
        if (reta_size != 0 && (reta_size & (reta_size - 1)) != 0)
            throw std::runtime_error(fmt::format("RSS: a RETA of {} entries is not a power of two", reta_size));
        for (uint16_t i = 0; i < reta_size; ++i) st.reta.push_back(static_cast<uint16_t>(i % workers));
        steering = std::make_unique<gateway::steering>(st);
        for (const auto& p : ctx->ports) dataplane::program_reta(p, steering->reta());

        handoff_rings.assign(std::size_t{workers} * workers, nullptr);
        for (unsigned a = 0; a < workers && workers > 1; ++a)
            for (unsigned b = 0; b < workers; ++b) {
                if (a == b) continue;
                const std::string name = fmt::format("egress_ho_{}_{}", a, b);
                rte_ring* r = rte_ring_create(name.c_str(), cfg.run.handoff_ring_size,
                                              static_cast<int>(rte_socket_id()), RING_F_SP_ENQ | RING_F_SC_DEQ);
                if (r == nullptr)
                    throw std::runtime_error(fmt::format("cannot create hand-off ring {}: {}", name,
                                                         rte_strerror(rte_errno)));
                handoff_rings[a * workers + b] = r;
            }
        // Marks the copies of neighbour messages workers hand each other (worker.cpp).
        uint64_t peer_copy_flag = 0;
        if (workers > 1) {
            rte_mbuf_dynflag desc{};
            std::snprintf(desc.name, sizeof desc.name, "egress_neighbor_copy");
            const int bit = rte_mbuf_dynflag_register(&desc);
            if (bit < 0) throw std::runtime_error(fmt::format("cannot register an mbuf flag: {}", rte_strerror(rte_errno)));
            peer_copy_flag = uint64_t{1} << bit;
        }

        for (unsigned w = 0; w < workers; ++w) {
            gateway::settings s = cfg.gateway;
            const auto share = [&](uint32_t total) { return (total + workers - 1) / workers; };
            s.max_flows = std::max<uint32_t>(1, share(cfg.gateway.max_flows));
            s.inspect.slots = share(cfg.gateway.inspect.slots);
            s.inspect.buffers = std::max<uint32_t>(1, share(cfg.gateway.inspect.buffers));
            s.worker = static_cast<uint16_t>(w);
            if (workers > 1) {
                s.steer = steering.get();
                if (!steering->rss()) {
                    const gateway::port_slice slice = steering->slice(w);
                    s.pool.port_min = slice.min;
                    s.pool.port_max = slice.max;
                }
            }
            cores.push_back(std::make_unique<gateway::gateway_core>(s));
            dataplane::worker_context& c = *ctxs[w];
            c.ports[0] = ctx->ports[0];
            c.ports[1] = ctx->ports[1];
            c.timestamp_offset = ctx->timestamp_offset;
            c.timestamp_flag = ctx->timestamp_flag;
            c.index = static_cast<uint16_t>(w);
            c.group = &group;
            c.steer = workers > 1 ? steering.get() : nullptr;
            c.peer_copy_flag = peer_copy_flag;
            if (workers > 1 && cfg.gateway.fragments.max_datagrams != 0) {
                gateway::fragment_steering_settings fs;
                fs.self = static_cast<uint16_t>(w);
                fs.entries = cfg.gateway.fragments.max_datagrams;
                fs.lifetime_ms = cfg.gateway.fragments.timeout_ms;
                fs.hold_slots = dataplane::max_held_fragments;
                fragment_steers.push_back(std::make_unique<gateway::fragment_steering>(fs));
                c.fragments = fragment_steers.back().get();
            }
            for (unsigned o = 0; o < workers && workers > 1; ++o) {
                c.to[o] = handoff_rings[w * workers + o];
                c.from[o] = handoff_rings[o * workers + w];
            }
        }
        frame = {ctx->ports[0].device, ctx->ports[1].device, 0, 0, cfg.gateway.pool.addresses};
        for (const auto& core : cores) {
            frame.flow_capacity += core->flow_capacity();
            frame.flow_table_bytes += core->flow_table_bytes();
        }

        // The policy, published through RCU (one reader per worker), and what changes it.
        policy_slot = std::make_unique<dataplane::policy_slot>(workers);
        if (!cfg.events.log.empty()) {
            control.events = std::make_unique<controlplane::event_log>(cfg.events.log);
            for (unsigned w = 0; w < workers; ++w) {
                security.push_back(std::make_unique<policy::security_ring>(cfg.events.ring_size));
                cores[w]->attach_security_events(security.back().get());
                control.rings.push_back(security.back().get());
            }
        }
        control.policy = std::make_unique<controlplane::policy_control>(
            opts.config_path, [slot = policy_slot.get()](auto next) { return slot->publish(std::move(next)); },
            control.events.get());
        control.policy->set_workers(workers);
        control.policy->set_dlp_streams((cfg.gateway.inspect.slots + workers - 1) / workers);
        control.policy->start(std::move(initial_policy), start_unix_ms);
        for (auto& c : ctxs) c->policy = policy_slot.get();

        hooks.version = EGRESSD_VERSION;
        hooks.start_unix_ms = start_unix_ms;
        hooks.report = live_report;
        hooks.policy = control.policy.get();
        hooks.now_ms = controlplane::unix_ms_now;
        // egressctl flows / nat: the query visits every worker's table in turn.
        hooks.run_query = [&ctxs](gateway::flow_query& q) {
            for (std::size_t w = 0; w < ctxs.size(); ++w) {
                dataplane::worker_context* c = ctxs[w].get();
                if (w != 0) q.next_table();
                if (c->finished.load(std::memory_order_acquire)) return false;
                c->query.store(&q, std::memory_order_release);
                while (!q.done.load(std::memory_order_acquire)) {
                    if (c->finished.load(std::memory_order_acquire)) { // it stopped mid-scan and will not look again
                        c->query.store(nullptr, std::memory_order_release);
                        return false;
                    }
                    std::this_thread::sleep_for(std::chrono::microseconds(200));
                }
            }
            return true;
        };
        if (!cfg.control.socket.empty()) {
            control.server = std::make_unique<controlplane::control_server>(cfg.control.socket);
            controlplane::add_control_commands(*control.server, hooks);
        }

        // Flow export: one event ring per worker, drained by the exporter thread.
        if (cfg.flow_export.enabled()) {
            std::vector<gateway::event_ring*> rings;
            for (unsigned w = 0; w < workers; ++w) {
                events.push_back(std::make_unique<gateway::event_ring>(cfg.flow_export.ring_size));
                cores[w]->attach_events(events.back().get());
                rings.push_back(events.back().get());
            }
            exporter = std::make_unique<controlplane::exporter>(cfg.flow_export, rings);
        }

        // Each worker publishes its counters every 10 ms for the metrics endpoint,
        // the control socket and DPDK telemetry.
        for (unsigned w = 0; w < workers; ++w) ctxs[w]->live = live[w].get();
        if (cfg.metrics.listen) {
            const auto start_s = start_unix_ms / 1000;
            metrics = std::make_unique<controlplane::metrics_server>(
                *cfg.metrics.listen, [&live_report, &control, start_s] {
                    return controlplane::format_prometheus(
                        live_report(), controlplane::metrics_extra{start_s, EGRESSD_VERSION, control.policy->status()});
                });
        }
    } catch (const std::exception& e) {
        fmt::print(stderr, "egressd: {}\n", e.what());
        return 1;
    }
    telemetry = {live_report, control.policy.get()};
    dataplane::attach_telemetry(&telemetry);
    if (exporter) exporter->start();
    if (metrics) {
        metrics->start();
        const auto& at = cfg.metrics.listen->address;
        fmt::print("egressd: metrics on http://{}{}{}:{}/metrics\n", at.is_v4() ? "" : "[", at, at.is_v4() ? "" : "]",
                   metrics->port());
    }
    if (control.server) fmt::print("egressd: control socket {}\n", control.server->path());

    const uint64_t start_epoch_ms = controlplane::unix_ms_now(); // the workers' clocks start about now
    for (unsigned w = 0; w < workers; ++w) {
        dataplane::worker_context& c = *ctxs[w];
        c.core = cores[w].get();
        c.pool = pool.pool;
        c.start_epoch_ms = start_epoch_ms;
        c.burst = static_cast<uint16_t>(cfg.run.burst_size);
        c.stop_when_drained = cfg.run.stop_when_drained;
        c.drain_idle_ms = cfg.run.drain_idle_ms;
        c.replay_in_timestamp_order = cfg.run.replay_in_timestamp_order;
        c.stop = &g_stop;
    }

    std::atomic<bool> control_done{false};
    std::thread control_thread([&] {
        while (!control_done.load(std::memory_order_acquire)) control.tick();
    });

    fmt::print("egressd: inside {} ({}), outside {} ({}), {} flows max, pool {} address(es)\n",
               ctx->ports[0].device, ctx->ports[0].mac, ctx->ports[1].device, ctx->ports[1].mac,
               cfg.gateway.max_flows, cfg.gateway.pool.addresses.size());
    if (workers > 1)
        fmt::print("egressd: {} workers; RX queues inside {} outside {}; RSS inside {} outside {}; NAT ports {}\n",
                   workers, ctx->ports[0].rx_queues, ctx->ports[1].rx_queues, ctx->ports[0].rss ? "on" : "off",
                   ctx->ports[1].rss ? "on" : "off", steering->rss() ? "by reply hash" : "in per-worker slices");
    std::fflush(stdout);

    // Worker w on the w-th worker lcore; with one lcore short, the main lcore
    // runs worker 0 itself.
    std::vector<unsigned> lcores;
    unsigned lc = 0;
    RTE_LCORE_FOREACH_WORKER(lc) lcores.push_back(lc);
    const bool main_runs_one = lcores.size() < workers;
    for (unsigned w = main_runs_one ? 1 : 0; w < workers; ++w)
        rte_eal_remote_launch(dataplane::worker_main, ctxs[w].get(), lcores[main_runs_one ? w - 1 : w]);
    const auto all_finished = [&] {
        for (const auto& c : ctxs)
            if (!c->finished.load(std::memory_order_acquire)) return false;
        return true;
    };
    if (main_runs_one) {
        dataplane::worker_main(ctxs[0].get());
    } else {
        while (!g_stop.load(std::memory_order_relaxed) && !all_finished())
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    rte_eal_mp_wait_lcore();

    // Packets still in hand-off rings (a stop signal between hand-off and
    // processing): freed and counted against the worker they were meant for.
    for (unsigned a = 0; a < workers; ++a)
        for (unsigned b = 0; b < workers; ++b) {
            rte_ring* r = handoff_rings.empty() ? nullptr : handoff_rings[a * workers + b];
            void* m = nullptr;
            while (r != nullptr && rte_ring_sc_dequeue(r, &m) == 0) {
                rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
                cores[b]->counters().count_drop(stats::drop_reason::handoff_shutdown);
            }
        }

    control_done.store(true, std::memory_order_release);
    control_thread.join();
    if (control.events) control.events->drain(control.rings, controlplane::unix_ms_now()); // the last events
    dataplane::attach_telemetry(nullptr);
    dataplane::stop_port(ctx->ports[0]);
    dataplane::stop_port(ctx->ports[1]);
    if (exporter) exporter->stop(); // sends what the worker queued last (forced_end records)
    if (metrics) metrics->stop();

    stats::live_stats final_stats{};
    for (const auto& core : cores) {
        stats::live_stats one;
        core->snapshot(one);
        stats::add_worker(final_stats, one);
    }
    controlplane::run_report report = controlplane::make_run_report(frame, final_stats);
    for (const auto& core : cores) report.workers.push_back(controlplane::make_worker_report(core->counters()));
    add_export_stats(report, exporter.get());
    fmt::print("{}", controlplane::format_summary(report));
    const controlplane::policy_status p = control.policy->status();
    if (p.present) {
        fmt::print("  policy    version {}, reloads failed {}; new flows per rule:", p.version, p.reloads_failed);
        for (const auto& rule : p.rules) fmt::print(" {} {};", rule.name, rule.hits);
        fmt::print(" default {} {}; would deny (report mode) {}\n", policy::to_string(p.default_action),
                   p.default_hits, report.counters.policy_would_deny);
    }
    int rc = 0;
    if (!opts.stats_json_path.empty()) {
        std::ofstream f(opts.stats_json_path);
        f << controlplane::format_summary_json(report);
        if (!f) {
            fmt::print(stderr, "egressd: cannot write {}\n", opts.stats_json_path);
            rc = 1;
        }
    }
    return rc;
}

} // namespace

int main(int argc, char** argv) {
    options opts;
    if (!parse_options(argc, argv, opts)) return 2;
    if (opts.help) {
        fmt::print("{}", usage);
        return 0;
    }
    // The file is parsed once; its config and its [policy] are read from that
    // document, every error of both reported.
    auto loaded = egress::config::load_config_and_policy_file(opts.config_path);
    if (!loaded.errors.empty()) {
        for (const auto& e : loaded.errors) fmt::print(stderr, "{}\n", e.to_string());
        fmt::print(stderr, "egressd: configuration {} has {} error(s)\n", opts.config_path, loaded.errors.size());
        return 1;
    }

    if (opts.check_only) {
        fmt::print("egressd: configuration {} is valid\n", opts.config_path);
        return 0;
    }
    return run(opts, std::move(*loaded.config), std::move(loaded.policy));
}
