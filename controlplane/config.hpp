// egressd's configuration: the TOML file (conf/egressd.toml documents every key)
// loaded into plain structs. DPDK-free: the EAL settings are kept as strings and
// the ports as device names; dataplane/ turns them into EAL arguments and rte_* calls.
//
// Loading never stops at the first problem: every error found in the document
// is collected (in source order) so a user can fix them all in one pass.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/idle_backoff.hpp"
#include "gateway/settings.hpp"
#include "located_error.hpp"
#include "net/ip_address.hpp"

namespace egress::config {

// [eal]: how the DPDK environment abstraction layer is started.
enum class hugepages_mode : uint8_t { automatic, on, off };

struct eal_settings {
    std::string lcores = "0";            // -l core list: "0", "0-1", "0,2"
    // Hugepages for DPDK's memory (the mbufs) and the flow tables: "auto" uses them
    // when enough are reserved (memory_mb) and hugetlbfs is mounted, else runs with
    // --no-huge; "on" always (EAL fails without them); "off" never. The older key
    // no_huge = true / false means "off" / "on".
    hugepages_mode hugepages = hugepages_mode::automatic;
    uint32_t memory_mb = 512;            // -m
    std::vector<std::string> vdevs;      // one --vdev each, e.g. "net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap"
    std::vector<std::string> allow_pci;  // one -a each, e.g. "0000:03:00.0"; empty: --no-pci
    std::string file_prefix = "egressd"; // --file-prefix; "" means --in-memory instead
    bool in_memory = false;              // --in-memory; the loader also sets it when file_prefix is ""
    std::string log_level = "notice";    // --log-level
    std::vector<std::string> extra_args; // appended verbatim
};

// [inside] / [outside]: one DPDK port.
struct port_settings {
    std::string device;                    // name known to rte_eth_dev_get_port_by_name: "net_pcap0", "0000:03:00.0"
    std::optional<net::mac_address> mac;   // override; absent: use the NIC's own MAC
    uint16_t rx_descriptors = 1024;
    uint16_t tx_descriptors = 1024;
    std::string exception_interface;       // kernel interface of the exception path ("" = none; dataplane/exception_tap)
};

// [run]: how the main loop behaves.
struct run_settings {
    bool stop_when_drained = false;         // pcap replays: stop once every RX queue was empty for drain_idle_ms
    uint32_t drain_idle_ms = 200;
    bool replay_in_timestamp_order = false; // pcap replays: merge both ports by capture time, use it as the flow clock
    uint32_t burst_size = 32;               // 1..512
    uint32_t mbufs = 8191;                  // mbuf pool size
    uint32_t workers = 1;                   // worker lcores, 1..64 (dataplane/worker.hpp, gateway/steering.hpp)
    bool rss = true;                        // steering = "auto": RSS where both ports support it
    std::vector<uint8_t> rss_key;           // 40 bytes; empty: net::default_rss_key
    uint32_t handoff_ring_size = 1024;      // per ordered worker pair, power of two 64..65536
    // idle = "adaptive": a worker whose queues stay empty pauses, then sleeps
    // up to idle_max_sleep_us at a time (base/idle_backoff.hpp); "poll" never.
    base::idle_mode idle = base::idle_mode::poll;
    uint32_t idle_max_sleep_us = 200;
};

// [export]: where flow records go. Export is on when there is a collector or a
// JSON flow log.
struct export_settings {
    std::vector<net::endpoint> collectors;  // IPFIX over UDP
    uint32_t observation_domain_id = 1;
    uint32_t template_refresh_s = 60;       // RFC 7011 8.4: templates resent periodically over UDP
    uint32_t max_message_bytes = 1400;      // keep every message under the path MTU
    uint32_t enterprise_number = 32473;     // PEN of the enterprise-specific elements
    std::string json_log;                   // JSON-lines flow log: a path, "-" for stdout, "" for none
    uint32_t ring_size = 65536;             // per-worker event ring
    bool enabled() const { return !collectors.empty() || !json_log.empty(); }
};

// [metrics]: the Prometheus endpoint.
struct metrics_settings {
    std::optional<net::endpoint> listen; // HTTP address for GET /metrics; none = off
};

// [control]: the control socket egressctl talks to.
struct control_settings {
    std::string socket; // Unix socket path (mode 0600); "" = off
};

// [events]: the security event log (denials, would-deny, cuts, blocks, reloads).
struct events_settings {
    std::string log;            // JSON-lines file, "-" for stdout, "" for none
    uint32_t ring_size = 4096;  // per-worker event ring
};

// [health]: the state a routing daemon or a check script reads (ready /
// draining / failed, controlplane/health.hpp).
struct health_settings {
    std::string file;        // written atomically on every change of state; "" = none
    uint32_t stall_ms = 1000; // a worker whose loop did not advance for this long: failed
};

struct egressd_config {
    eal_settings eal;
    port_settings inside_port;
    port_settings outside_port;
    // What the packet path needs. gateway.inside.mac / gateway.outside.mac hold the
    // [inside]/[outside] mac override when given, else all zeros: the dataplane
    // fills them from the NIC once the port is up.
    gateway::settings gateway;
    run_settings run;
    export_settings flow_export;
    metrics_settings metrics;
    control_settings control;
    events_settings events;
    health_settings health;
    std::string source_path; // the file (or source name) the config was loaded from
};

using config_error = toml_text::located_error;

struct load_result {
    std::optional<egressd_config> config; // set exactly when errors is empty
    std::vector<config_error> errors;     // in source order
};

// Reads and validates the config tables of a file (not [policy] / [dlp]: egressd
// loads both from one parse with config_file.hpp). A file that cannot be read
// yields one error with line 0 ("path: cannot open: No such file or directory").
load_result load_config_file(const std::string& path);

// Same, for a document already in memory; source_name is used as the file name in
// errors and as egressd_config::source_path.
load_result load_config_string(std::string_view text, std::string_view source_name);

// Every error's to_string(), one per line (each line ends with '\n').
using toml_text::format_errors;

} // namespace egress::config
