// The flow exporter: a control-plane thread that drains the workers' event rings,
// encodes IPFIX (RFC 7011) messages to every configured collector over UDP and/or
// writes the JSON-lines flow log. Loss is never silent: events the workers could
// not queue (ring full) are counted and reported to the collectors in an
// exporting-process statistics record (notSentFlowTotalCount) and in the log.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "config.hpp"
#include "gateway/flow_reporter.hpp"

namespace egress::controlplane {

struct exporter_stats {
    uint64_t records = 0;        // data records encoded (IPFIX) or lines written (JSON)
    uint64_t messages = 0;       // IPFIX messages sent (per collector)
    uint64_t bytes = 0;          // IPFIX bytes sent (per collector)
    uint64_t send_errors = 0;
    uint64_t events_lost = 0;    // events the workers could not queue (ring overflow)
};

class exporter {
public:
    // Throws std::runtime_error naming the collector or file it cannot open.
    exporter(const config::export_settings& settings, std::vector<gateway::event_ring*> rings);
    ~exporter();
    exporter(const exporter&) = delete;
    exporter& operator=(const exporter&) = delete;

    void start();
    // Drains what the rings still hold, sends it, and joins the thread.
    void stop();

    exporter_stats stats() const;

private:
    void run();
    bool drain_once(); // returns whether anything was drained
    void send_pending(uint64_t now_ms);

    config::export_settings settings_;
    std::vector<gateway::event_ring*> rings_;
    std::vector<int> sockets_;
    std::FILE* json_ = nullptr;
    bool json_is_stdout_ = false;
    struct encoder_state;
    std::unique_ptr<encoder_state> enc_;
    std::thread thread_;
    std::atomic<bool> stop_{false};
    mutable std::atomic<uint64_t> records_{0}, messages_{0}, bytes_{0}, send_errors_{0}, lost_{0};
    uint64_t lost_reported_ = 0;
};

} // namespace egress::controlplane
