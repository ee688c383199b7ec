// Prometheus metrics: the run report in the text exposition format (0.0.4) and a
// small HTTP/1.x server (plain POSIX sockets, one thread, one connection at a
// time) that serves it on GET /metrics.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "health.hpp"
#include "net/ip_address.hpp"
#include "policy_control.hpp"
#include "summary.hpp"

namespace egress::controlplane {

// The resolver thread's own counts (verify = "resolve", dns_resolver.hpp).
struct resolver_figures {
    uint64_t asked = 0;        // lookups asked of the [dns] resolvers
    uint64_t busy = 0;         // requests failed at once: [dns] resolve_outstanding lookups were running
    uint64_t answers_lost = 0; // outcomes a worker's full answer ring did not take
};

// What the metrics show that is not in the run report.
struct metrics_extra {
    uint64_t start_time_seconds = 0; // Unix time the process started
    std::string version;             // build version, shown as egress_build_info{version="..."}
    policy_status policy;            // decisions, reloads, blocks
    // egressd's health and its workers' idle sleeps ([health], [run] idle);
    // absent: not shown.
    std::optional<health_state> health = std::nullopt;
    std::optional<uint64_t> idle_sleeps = std::nullopt;
    // The resolver thread's counts; absent without [dns] resolvers: not shown.
    std::optional<resolver_figures> resolver = std::nullopt;
};

// The report in the Prometheus text format 0.0.4: every family with # HELP and
// # TYPE, every drop reason (zeros included), one line per sample, '\n' after
// each line.
std::string format_prometheus(const run_report& r, const metrics_extra& x);

// A label value escaped for the text format: backslash, double quote and newline.
std::string escape_label_value(std::string_view value);

// Serves render() on GET /metrics. The constructor binds and listens (throws
// std::runtime_error "metrics: cannot listen on <addr>:<port>: <strerror>");
// start() runs the serving thread; stop() (and the destructor) joins it.
// Requests: GET only (405 otherwise), HTTP/1.0 or 1.1 (400 otherwise),
// "/metrics" (query ignored) 200, "/" a pointer to /metrics, other paths 404;
// request head at most 8 KiB (431), read within 2 s; every response closes the
// connection. render() runs on the serving thread; if it throws, the answer is 500.
class metrics_server {
public:
    metrics_server(net::endpoint listen, std::function<std::string()> render);
    ~metrics_server();
    metrics_server(const metrics_server&) = delete;
    metrics_server& operator=(const metrics_server&) = delete;

    void start();
    void stop();
    // The bound port (the actual one when the endpoint asked for port 0).
    uint16_t port() const noexcept { return port_; }

private:
    void run() noexcept;
    void serve(int fd);

    int listen_fd_ = -1;
    uint16_t port_ = 0;
    std::function<std::string()> render_;
    std::atomic<bool> stopping_{false};
    std::thread thread_;
};

} // namespace egress::controlplane
