// egressd: the gateway process. Loads the config, brings up EAL and the two ports,
// runs the worker lcore and, on the main lcore, the control loop (signals, drain),
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

#include "config.hpp"
#include "control_commands.hpp"
#include "event_log.hpp"
#include "policy_control.hpp"
#include "telemetry.hpp"
#include "eal_args.hpp"
#include "exporter.hpp"
#include "metrics.hpp"
#include "policy_loader.hpp"
#include "gateway/gateway_core.hpp"
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

    // Declared in dependency order: destroyed in reverse, after the worker stopped.
    auto ctx = std::make_unique<dataplane::worker_context>();
    std::unique_ptr<gateway::gateway_core> core;
    std::unique_ptr<gateway::event_ring> events;
    std::unique_ptr<policy::security_ring> security;
    std::unique_ptr<dataplane::policy_slot> policy_slot;
    control_plane control;
    std::unique_ptr<controlplane::exporter> exporter;
    auto live = std::make_unique<base::seqlock_box<stats::live_stats>>();
    std::unique_ptr<controlplane::metrics_server> metrics;
    controlplane::report_frame frame;
    controlplane::control_hooks hooks;
    dataplane::telemetry_source telemetry;

    const auto live_report = [&] {
        controlplane::run_report r = controlplane::make_run_report(frame, live->read());
        add_export_stats(r, exporter.get());
        return r;
    };

    try {
        const bool ts = cfg.run.replay_in_timestamp_order;
        ctx->ports[0] = dataplane::start_port(cfg.inside_port, pool.pool, ts);
        ctx->ports[1] = dataplane::start_port(cfg.outside_port, pool.pool, ts);
        if (ts && !(ctx->ports[0].rx_timestamps && ctx->ports[1].rx_timestamps))
            throw std::runtime_error("run.replay_in_timestamp_order needs devices that stamp received packets "
                                     "(pcap vdevs do)");
        if (ts && rte_mbuf_dyn_rx_timestamp_register(&ctx->timestamp_offset, &ctx->timestamp_flag) != 0)
            throw std::runtime_error("cannot register the mbuf RX timestamp field");
        cfg.gateway.inside.mac = ctx->ports[0].mac;
        cfg.gateway.outside.mac = ctx->ports[1].mac;
        core = std::make_unique<gateway::gateway_core>(cfg.gateway);
        frame = {ctx->ports[0].device, ctx->ports[1].device, core->flow_capacity(), core->flow_table_bytes(),
                 cfg.gateway.pool.addresses};

        // The policy, published through RCU, and what changes it.
        policy_slot = std::make_unique<dataplane::policy_slot>();
        if (!cfg.events.log.empty()) {
            control.events = std::make_unique<controlplane::event_log>(cfg.events.log);
            security = std::make_unique<policy::security_ring>(cfg.events.ring_size);
            core->attach_security_events(security.get());
            control.rings = {security.get()};
        }
        control.policy = std::make_unique<controlplane::policy_control>(
            opts.config_path, [slot = policy_slot.get()](auto next) { return slot->publish(std::move(next)); },
            control.events.get());
        control.policy->set_dlp_streams(cfg.gateway.inspect.slots);
        control.policy->start(std::move(initial_policy), start_unix_ms);
        ctx->policy = policy_slot.get();

        hooks.version = EGRESSD_VERSION;
        hooks.start_unix_ms = start_unix_ms;
        hooks.report = live_report;
        hooks.policy = control.policy.get();
        hooks.now_ms = controlplane::unix_ms_now;
        hooks.run_query = [c = ctx.get()](gateway::flow_query& q) {
            if (c->finished.load(std::memory_order_acquire)) return false;
            c->query.store(&q, std::memory_order_release);
            while (!q.done.load(std::memory_order_acquire)) {
                if (c->finished.load(std::memory_order_acquire)) { // it stopped mid-scan and will not look again
                    c->query.store(nullptr, std::memory_order_release);
                    return false;
                }
                std::this_thread::sleep_for(std::chrono::microseconds(200));
            }
            return true;
        };
        if (!cfg.control.socket.empty()) {
            control.server = std::make_unique<controlplane::control_server>(cfg.control.socket);
            controlplane::add_control_commands(*control.server, hooks);
        }

        // Flow export: one event ring per worker, drained by the exporter thread.
        if (cfg.flow_export.enabled()) {
            events = std::make_unique<gateway::event_ring>(cfg.flow_export.ring_size);
            exporter = std::make_unique<controlplane::exporter>(cfg.flow_export,
                                                                std::vector<gateway::event_ring*>{events.get()});
            core->attach_events(events.get());
        }

        // The worker publishes its counters every 10 ms for the metrics endpoint,
        // the control socket and DPDK telemetry.
        ctx->live = live.get();
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

    ctx->core = core.get();
    ctx->pool = pool.pool;
    ctx->start_epoch_ms = controlplane::unix_ms_now(); // the worker's clock starts about now
    ctx->burst = static_cast<uint16_t>(cfg.run.burst_size);
    ctx->stop_when_drained = cfg.run.stop_when_drained;
    ctx->drain_idle_ms = cfg.run.drain_idle_ms;
    ctx->replay_in_timestamp_order = cfg.run.replay_in_timestamp_order;
    ctx->stop = &g_stop;

    std::atomic<bool> control_done{false};
    std::thread control_thread([&] {
        while (!control_done.load(std::memory_order_acquire)) control.tick();
    });

    fmt::print("egressd: inside {} ({}), outside {} ({}), {} flows max, pool {} address(es)\n",
               ctx->ports[0].device, ctx->ports[0].mac, ctx->ports[1].device, ctx->ports[1].mac,
               cfg.gateway.max_flows, cfg.gateway.pool.addresses.size());
    std::fflush(stdout);

    const unsigned worker_lcore = rte_get_next_lcore(-1, 1, 0);
    if (worker_lcore >= RTE_MAX_LCORE) {
        dataplane::worker_main(ctx.get()); // one lcore only: the main lcore polls
    } else {
        rte_eal_remote_launch(dataplane::worker_main, ctx.get(), worker_lcore);
        while (!g_stop.load(std::memory_order_relaxed) && !ctx->finished.load(std::memory_order_acquire))
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        g_stop.store(true);
        rte_eal_mp_wait_lcore();
    }

    control_done.store(true, std::memory_order_release);
    control_thread.join();
    if (control.events) control.events->drain(control.rings, controlplane::unix_ms_now()); // the last events
    dataplane::attach_telemetry(nullptr);
    dataplane::stop_port(ctx->ports[0]);
    dataplane::stop_port(ctx->ports[1]);
    if (exporter) exporter->stop(); // sends what the worker queued last (forced_end records)
    if (metrics) metrics->stop();

    stats::live_stats final_stats;
    core->snapshot(final_stats);
    controlplane::run_report report = controlplane::make_run_report(frame, final_stats);
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
    auto loaded = egress::config::load_config_file(opts.config_path);
    // The [policy] table of the same file: validated and compiled on its own.
    auto policy = egress::policy::load_policy_file(opts.config_path);
    const std::size_t errors = loaded.errors.size() + (loaded.errors.empty() ? policy.errors.size() : 0);
    if (errors != 0) {
        for (const auto& e : loaded.errors) fmt::print(stderr, "{}\n", e.to_string());
        // A file that does not parse gives the same syntax error twice: report it once.
        if (loaded.errors.empty())
            for (const auto& e : policy.errors) fmt::print(stderr, "{}\n", e.to_string());
        fmt::print(stderr, "egressd: configuration {} has {} error(s)\n", opts.config_path, errors);
        return 1;
    }

    if (opts.check_only) {
        fmt::print("egressd: configuration {} is valid\n", opts.config_path);
        return 0;
    }
    return run(opts, std::move(*loaded.config), policy.present ? std::move(policy.policy) : nullptr);
}
