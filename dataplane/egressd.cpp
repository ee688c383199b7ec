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
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_ring.h>

#include "config.hpp"
#include "config_file.hpp"
#include "control_commands.hpp"
#include "dns_resolver.hpp"
#include "event_log.hpp"
#include "health.hpp"
#include "policy_control.hpp"
#include "telemetry.hpp"
#include "eal_args.hpp"
#include "exporter.hpp"
#include "metrics.hpp"
#include "policy_explain.hpp"
#include "policy_loader.hpp"
#include "gateway/steering.hpp"
#include "port_link.hpp"
#include "stats/policy_denial.hpp"
#include "ports_setup.hpp"
#include "summary.hpp"
#include "worker_set.hpp"

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
    "       egressd --check-config FILE.toml [--against SOCKET]\n"
    "       egressd --explain FILE.toml --src ADDR --dst ADDR [--proto P] [--port N] [--sni NAME | --host NAME]\n"
    "\n"
    "  -c, --config FILE     run the gateway with this configuration\n"
    "  --check-config FILE   validate FILE and exit (0 when valid, 1 otherwise)\n"
    "  --against SOCKET      with --check-config: also ask the egressd on this control socket what\n"
    "                        reloading FILE's [policy] would change (reload --dry-run)\n"
    "  --explain FILE ...    what FILE's [policy] decides for one connection, and why\n"
    "  --stats-json PATH     also write the end-of-run summary as JSON to PATH\n"
    "  -h, --help            this text\n";

struct options {
    std::string config_path;
    std::string stats_json_path;
    std::string against_socket;
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
        } else if (a == "--against") {
            if (!value(o.against_socket)) return false;
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
    std::unique_ptr<egress::controlplane::health_monitor> health;
    std::function<void(egress::controlplane::health_monitor&)> observe_health; // heartbeats and links

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
        if (health) observe_health(*health);
    }
};

// One run of the gateway, step by step (run()). The members are declared in
// dependency order, so they are destroyed in reverse, after the workers stopped:
// the services that read the workers' rings before the workers' objects, those
// before the ports, the mbuf pool and, last, EAL.
class gateway_run {
public:
    gateway_run(const options& opts, egress::config::egressd_config cfg,
                std::unique_ptr<const egress::policy::compiled_policy> initial_policy)
        : opts_(opts), cfg_(std::move(cfg)), initial_policy_(std::move(initial_policy)) {
        // [[policy.group]] limits in the policy at start: the [limits] tables
        // are made even if [limits] itself sets none.
        if (initial_policy_) {
            cfg_.gateway.limits.group_limits = initial_policy_->has_group_limits();
            cfg_.gateway.limits.group_limits_per_destination = initial_policy_->group_limits_per_destination();
        }
    }

    int run() {
        if (!start_eal() || !make_pool() || !check_lcores()) return 1;
        try {
            start_ports();
            start_steering();
            make_workers();
            make_policy_slot();
            start_control();
            start_health();
            start_export();
            start_metrics();
            start_resolver();
        } catch (const std::exception& e) {
            fmt::print(stderr, "egressd: {}\n", e.what());
            return 1;
        }
        start_services();
        const bool launched = launch();
        wait_and_drain();
        const int rc = summarize();
        return launched ? rc : 1;
    }

private:
    // The counters as the workers last published them, for metrics, telemetry
    // and the control socket: the sum over the workers.
    egress::controlplane::run_report live_report() const {
        auto r = egress::controlplane::make_run_report(frame_, workers_->published_total());
        add_export_stats(r, exporter_.get());
        egress::dataplane::add_device_losses(r, ports_.ports[0].id, ports_.ports[1].id);
        for (unsigned w = 0; w < workers_->size(); ++w)
            r.worker_loop_age_ms.push_back(egress::dataplane::worker_liveness_age_ms(workers_->context(w)));
        return r;
    }

    bool start_eal();
    bool make_pool();
    void say_memory() const;
    bool check_lcores() const;
    void start_ports();
    void start_steering();
    void make_workers();
    void make_policy_slot();
    void start_control();
    void start_health();
    void start_export();
    void start_metrics();
    void start_resolver();
    void start_services();
    bool launch();
    void wait_and_drain();
    int summarize();
    void print_policy_summary(const egress::controlplane::run_report& report) const;

    const options& opts_;
    egress::config::egressd_config cfg_;
    std::unique_ptr<const egress::policy::compiled_policy> initial_policy_;
    const uint64_t start_unix_ms_ = egress::controlplane::unix_ms_now();
    egress::dataplane::memory_choice memory_;
    std::optional<eal_session> eal_;
    mempool_guard pool_;
    egress::dataplane::gateway_ports ports_;
    // The devices' receive losses, read just before the ports stop (summary).
    egress::controlplane::run_report final_losses_;
    std::unique_ptr<egress::gateway::steering> steering_;
    std::unique_ptr<egress::dataplane::worker_set> workers_;
    std::unique_ptr<egress::dataplane::exception_io> exception_; // worker 0's use of the taps
    std::unique_ptr<egress::dataplane::policy_slot> policy_slot_;
    egress::controlplane::report_frame frame_;
    egress::controlplane::control_hooks hooks_; // what the control socket's commands call
    control_plane control_;
    std::unique_ptr<egress::controlplane::exporter> exporter_;
    // Before metrics_, which reads its counters: destroyed after it.
    std::unique_ptr<egress::controlplane::resolver_service> resolver_; // verify = "resolve"
    std::unique_ptr<egress::controlplane::metrics_server> metrics_;
    egress::dataplane::telemetry_source telemetry_;
    std::atomic<bool> control_done_{false};
    std::thread control_thread_;
};

// Hugepages when the config and the machine allow (eal_args.hpp: choose_memory).
bool gateway_run::start_eal() {
    memory_ = egress::dataplane::choose_memory(cfg_.eal, egress::base::read_hugepage_status());
    // Handlers first: a SIGTERM during a slow start-up stops egressd cleanly
    // once it is up (summary printed, exit 0), instead of killing it half-built.
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    std::signal(SIGHUP, on_reload_signal);
    auto args = egress::dataplane::make_eal_args(cfg_.eal, memory_.hugepages);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    if (rte_eal_init(static_cast<int>(argv.size()), argv.data()) < 0) {
        fmt::print(stderr, "egressd: EAL initialisation failed: {}\n", rte_strerror(rte_errno));
        return false;
    }
    eal_.emplace();
    return true;
}

bool gateway_run::make_pool() {
    pool_.pool = rte_pktmbuf_pool_create("egress_mbufs", cfg_.run.mbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                         static_cast<int>(rte_socket_id()));
    if (pool_.pool != nullptr) return true;
    fmt::print(stderr, "egressd: cannot create the mbuf pool ({} mbufs): {}\n", cfg_.run.mbufs,
               rte_strerror(rte_errno));
    return false;
}

bool gateway_run::check_lcores() const {
    const unsigned workers = cfg_.run.workers;
    if (rte_lcore_count() >= workers) return true;
    fmt::print(stderr, "egressd: run.workers = {} needs at least {} lcores in eal.lcores, EAL has {}\n", workers,
               workers, rte_lcore_count());
    return false;
}

// Both ports; the gateway's own frames leave from their MACs.
void gateway_run::start_ports() {
    ports_ = egress::dataplane::start_gateway_ports(cfg_, pool_.pool);
    cfg_.gateway.inside.mac = ports_.ports[0].mac;
    cfg_.gateway.outside.mac = ports_.ports[1].mac;
}

// Which worker owns which flow, and the RETA that makes RSS agree.
void gateway_run::start_steering() { steering_ = egress::dataplane::make_steering(cfg_, ports_); }

// Every worker's gateway_core, context and rings; the frame of the summary.
void gateway_run::make_workers() {
    using namespace egress;
    dataplane::worker_set_settings s;
    s.workers = cfg_.run.workers;
    s.gateway = cfg_.gateway;
    s.steer = steering_.get();
    s.ports[0] = ports_.ports[0];
    s.ports[1] = ports_.ports[1];
    s.timestamp_offset = ports_.timestamp_offset;
    s.timestamp_flag = ports_.timestamp_flag;
    s.pool = pool_.pool;
    s.handoff_ring_size = cfg_.run.handoff_ring_size;
    s.burst = static_cast<uint16_t>(cfg_.run.burst_size);
    s.stop_when_drained = cfg_.run.stop_when_drained;
    s.drain_idle_ms = cfg_.run.drain_idle_ms;
    s.replay_in_timestamp_order = cfg_.run.replay_in_timestamp_order;
    s.stop = &g_stop;
    s.tables_in_hugepages = rte_eal_has_hugepages() != 0;
    s.idle.mode = cfg_.run.idle;
    s.idle.max_sleep_us = cfg_.run.idle_max_sleep_us;
    workers_ = std::make_unique<dataplane::worker_set>(s);
    if (ports_.exception.any()) {
        exception_ = std::make_unique<dataplane::exception_io>(ports_.exception, cfg_.gateway);
        workers_->context(0).exception = exception_.get();
        for (const auto* port : {&cfg_.inside_port, &cfg_.outside_port})
            if (!port->exception_interface.empty())
                fmt::print("egressd: exception interface {} ({}): BGP, BFD and listed ports to the kernel\n",
                           port->exception_interface, port == &cfg_.inside_port ? "inside" : "outside");
    }
    say_memory();
    frame_ = {ports_.ports[0].device, ports_.ports[1].device, 0, 0, cfg_.gateway.pool.addresses};
    frame_.flow_capacity = workers_->sum([](const auto&, const auto& core) { return core.flow_capacity(); });
    frame_.flow_table_bytes = workers_->sum([](const auto&, const auto& core) { return core.flow_table_bytes(); });
}

// Which pages the mbufs (EAL's memory) and the flow tables got, and why.
void gateway_run::say_memory() const {
    using egress::base::describe_bytes;
    const auto& t = workers_->table_memory();
    std::vector<std::string> parts;
    if (t.hugetlb_bytes() != 0) parts.push_back(describe_bytes(t.hugetlb_bytes()) + " in hugepages");
    if (t.advised_bytes() != 0)
        parts.push_back(describe_bytes(t.advised_bytes()) + " in madvise(MADV_HUGEPAGE) memory" +
                        (t.tried_hugetlb() ? " (too few hugepages left)" : ""));
    if (t.small_bytes() != 0) parts.push_back(describe_bytes(t.small_bytes()) + " in 4 KiB pages");
    const std::string tables = fmt::format("{}", fmt::join(parts, ", "));
    if (rte_eal_has_hugepages() != 0)
        fmt::print("egressd: memory: hugepages ({}) for mbufs; flow tables: {}\n", memory_.reason, tables);
    else
        fmt::print("egressd: memory: --no-huge ({}): 4 KiB pages for mbufs; flow tables: {}\n", memory_.reason,
                   tables);
}

// The policy, published through RCU (one reader per worker).
void gateway_run::make_policy_slot() {
    policy_slot_ = std::make_unique<egress::dataplane::policy_slot>(cfg_.run.workers);
    workers_->attach_policy(policy_slot_.get());
}

// What changes the policy, the security event log and the control socket.
void gateway_run::start_control() {
    using namespace egress;
    const unsigned workers = cfg_.run.workers;
    if (!cfg_.events.log.empty()) {
        control_.events = std::make_unique<controlplane::event_log>(cfg_.events.log);
        control_.rings = workers_->attach_security_events(cfg_.events.ring_size);
    }
    control_.policy = std::make_unique<controlplane::policy_control>(
        opts_.config_path, [slot = policy_slot_.get()](auto next) { return slot->publish(std::move(next)); },
        control_.events.get());
    control_.policy->set_workers(workers);
    control_.policy->set_dlp_streams((cfg_.gateway.inspect.slots + workers - 1) / workers);
    const egress::flow::source_limit_settings& limits = cfg_.gateway.limits;
    control_.policy->set_source_tables(limits.any() || limits.group_limits,
                                       limits.max_per_destination != 0 || limits.group_limits_per_destination);
    control_.policy->start(std::move(initial_policy_), start_unix_ms_);

    hooks_.version = EGRESSD_VERSION;
    hooks_.start_unix_ms = start_unix_ms_;
    hooks_.report = [this] { return live_report(); };
    hooks_.policy = control_.policy.get();
    hooks_.now_ms = controlplane::unix_ms_now;
    // egressctl flows / nat: the query visits every worker's table in turn.
    hooks_.run_query = [ws = workers_.get()](gateway::flow_query& q) { return ws->query_flows(q); };
    if (!cfg_.control.socket.empty()) {
        control_.server = std::make_unique<controlplane::control_server>(cfg_.control.socket);
        controlplane::add_control_commands(*control_.server, hooks_);
    }
}

// [health]: ready / draining / failed from the workers' heartbeats (not in
// replay mode: its workers end with their files) and the ports' links, on
// the control socket and in health.file.
void gateway_run::start_health() {
    using namespace egress;
    static_assert(dataplane::heartbeat_stopped == controlplane::health_monitor::not_running);
    control_.health = std::make_unique<controlplane::health_monitor>(cfg_.health.file, cfg_.health.stall_ms,
                                                                      controlplane::unix_ms_now());
    const bool watch_workers = !cfg_.run.replay_in_timestamp_order;
    const std::vector<std::string> ifaces{dataplane::kernel_interface(cfg_.eal.vdevs, cfg_.inside_port.device),
                                          dataplane::kernel_interface(cfg_.eal.vdevs, cfg_.outside_port.device)};
    control_.observe_health = [this, watch_workers, ifaces](controlplane::health_monitor& h) {
        std::vector<std::string> down;
        const char* names[] = {"inside", "outside"};
        for (int s = 0; s < 2; ++s)
            if (!dataplane::link_up(ports_.ports[s].id, ifaces[s])) down.emplace_back(names[s]);
        const auto beats = watch_workers ? workers_->heartbeats() : std::vector<uint64_t>{};
        h.observe(controlplane::unix_ms_now(), beats, down);
    };
    if (control_.server)
        controlplane::add_health_commands(
            *control_.server, *control_.health, [this] { return live_report().flows_active; },
            controlplane::unix_ms_now);
}

// Flow export: one event ring per worker, drained by the exporter thread.
void gateway_run::start_export() {
    if (!cfg_.flow_export.enabled()) return;
    exporter_ = std::make_unique<egress::controlplane::exporter>(cfg_.flow_export,
                                                                 workers_->attach_flow_events(cfg_.flow_export.ring_size));
}

// Each worker publishes its counters every 10 ms for the metrics endpoint, the
// control socket and DPDK telemetry.
void gateway_run::start_metrics() {
    using namespace egress;
    workers_->publish_counters();
    if (!cfg_.metrics.listen) return;
    const auto start_s = start_unix_ms_ / 1000;
    metrics_ = std::make_unique<controlplane::metrics_server>(*cfg_.metrics.listen, [this, start_s] {
        controlplane::metrics_extra x{start_s, EGRESSD_VERSION, control_.policy->status()};
        x.health = control_.health->state();
        x.idle_sleeps = workers_->idle_sleeps();
        if (resolver_) {
            const controlplane::resolver_counters& c = resolver_->counters();
            x.resolver = controlplane::resolver_figures{c.lookups.load(std::memory_order_relaxed),
                                                        c.busy.load(std::memory_order_relaxed),
                                                        c.answers_lost.load(std::memory_order_relaxed)};
        }
        return controlplane::format_prometheus(live_report(), x);
    });
}

// verify = "resolve": the resolver thread, with rings to every worker, when
// [dns] resolvers are set.
void gateway_run::start_resolver() {
    const egress::gateway::resolve_settings& r = cfg_.gateway.dns.resolve;
    if (r.resolvers.empty()) return;
    auto rings = workers_->attach_resolver(r.ring_size);
    resolver_ = std::make_unique<egress::controlplane::resolver_service>(r, rings.requests, rings.answers);
}

void gateway_run::start_services() {
    if (resolver_) resolver_->start();
    telemetry_ = {[this] { return live_report(); }, control_.policy.get()};
    egress::dataplane::attach_telemetry(&telemetry_);
    if (exporter_) exporter_->start();
    if (metrics_) {
        metrics_->start();
        const auto& at = cfg_.metrics.listen->address;
        fmt::print("egressd: metrics on http://{}{}{}:{}/metrics\n", at.is_v4() ? "" : "[", at, at.is_v4() ? "" : "]",
                   metrics_->port());
    }
    if (control_.server) fmt::print("egressd: control socket {}\n", control_.server->path());
}

// The control thread, then the workers; worker w on the w-th worker lcore; with
// one lcore short, the main lcore runs worker 0 itself (until it returns).
// False when a worker could not be launched: the others are stopped.
bool gateway_run::launch() {
    control_thread_ = std::thread([this] {
        while (!control_done_.load(std::memory_order_acquire)) control_.tick();
    });
    const auto& in = ports_.ports[0];
    const auto& out = ports_.ports[1];
    fmt::print("egressd: inside {} ({}), outside {} ({}), {} flows max, pool {} address(es)\n", in.device, in.mac,
               out.device, out.mac, cfg_.gateway.max_flows, cfg_.gateway.pool.addresses.size());
    if (cfg_.run.workers > 1)
        fmt::print("egressd: {} workers; RX queues inside {} outside {}; RSS inside {} outside {}; NAT ports {}\n",
                   cfg_.run.workers, in.rx_queues, out.rx_queues, in.rss ? "on" : "off", out.rss ? "on" : "off",
                   steering_->rss() ? "by reply hash" : "in per-worker slices");
    std::fflush(stdout);
    try {
        workers_->start(egress::dataplane::worker_main);
    } catch (const std::exception& e) {
        fmt::print(stderr, "egressd: {}\n", e.what());
        g_stop.store(true, std::memory_order_relaxed);
        return false;
    }
    workers_->run_on_main();
    return true;
}

// Until a signal or every worker drained; then what is left in the hand-off
// rings, the last security events, the ports and the services.
void gateway_run::wait_and_drain() {
    if (!workers_->main_runs_one())
        while (!g_stop.load(std::memory_order_relaxed) && !workers_->all_finished())
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
    workers_->wait();
    workers_->drain_handoffs();
    control_done_.store(true, std::memory_order_release);
    control_thread_.join();
    if (control_.events) control_.events->drain(control_.rings, egress::controlplane::unix_ms_now()); // the last events
    egress::dataplane::attach_telemetry(nullptr);
    egress::dataplane::add_device_losses(final_losses_, ports_.ports[0].id, ports_.ports[1].id);
    egress::dataplane::stop_gateway_ports(ports_);
    if (exporter_) exporter_->stop(); // sends what the worker queued last (forced_end records)
    if (metrics_) metrics_->stop();
}

void gateway_run::print_policy_summary(const egress::controlplane::run_report& report) const {
    const egress::controlplane::policy_status p = control_.policy->status();
    if (!p.present) return;
    fmt::print("  policy    version {}, reloads failed {}; new flows per rule:", p.version, p.reloads_failed);
    for (const auto& rule : p.rules) fmt::print(" {} {};", rule.name, rule.hits);
    fmt::print(" default {} {}; would deny (report mode) {}", egress::policy::to_string(p.default_action),
               p.default_hits, report.counters.policy_would_deny);
    // Denials a setting decided (stats/policy_denial.hpp), those that happened.
    for (const auto& d : egress::stats::setting_denials)
        if (const uint64_t n = report.counters.setting_denials[static_cast<std::size_t>(d.reason)]; n != 0)
            fmt::print("; {} {}", d.rule, n);
    fmt::print("\n");
}

// The end-of-run summary on stdout and, when asked, as JSON.
int gateway_run::summarize() {
    using namespace egress;
    controlplane::run_report report = controlplane::make_run_report(frame_, workers_->final_total());
    std::copy(std::begin(final_losses_.rx_losses), std::end(final_losses_.rx_losses), std::begin(report.rx_losses));
    workers_->for_each([&](const auto&, const auto& core) {
        report.workers.push_back(controlplane::make_worker_report(core.counters()));
    });
    add_export_stats(report, exporter_.get());
    fmt::print("{}", controlplane::format_summary(report));
    print_policy_summary(report);
    if (opts_.stats_json_path.empty()) return 0;
    std::ofstream f(opts_.stats_json_path);
    f << controlplane::format_summary_json(report);
    if (f) return 0;
    fmt::print(stderr, "egressd: cannot write {}\n", opts_.stats_json_path);
    return 1;
}

int run(const options& opts, egress::config::egressd_config cfg,
        std::unique_ptr<const egress::policy::compiled_policy> initial_policy) {
    gateway_run r(opts, std::move(cfg), std::move(initial_policy));
    return r.run();
}

} // namespace

int main(int argc, char** argv) {
    // Offline, without EAL: the policy's answer for one connection.
    if (argc >= 2 && std::string_view(argv[1]) == "--explain") return egress::controlplane::explain_offline(argc - 2, argv + 2);
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
        if (!opts.against_socket.empty())
            return egress::controlplane::dry_run_against(opts.config_path, opts.against_socket);
        return 0;
    }
    return run(opts, std::move(*loaded.config), std::move(loaded.policy));
}
