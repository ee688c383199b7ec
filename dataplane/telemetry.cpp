#include "telemetry.hpp"

#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include <dirent.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/socket.h>

#include <rte_dev.h>
#include <rte_devargs.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_telemetry.h>

#include "stats/drop_reason.hpp"

namespace egress::dataplane {

namespace {

std::mutex g_mu; // the telemetry thread reads g_source while the main thread may clear it
const telemetry_source* g_source = nullptr;

void add(rte_tel_data* d, const char* name, uint64_t value) { rte_tel_data_add_dict_u64(d, name, value); }

int stats_cb(const char*, const char*, rte_tel_data* d) {
    std::lock_guard lock(g_mu);
    if (g_source == nullptr) return -1;
    const controlplane::run_report r = g_source->report();
    const auto& c = r.counters;
    rte_tel_data_start_dict(d);
    add(d, "inside_rx_packets", c.ports[0].rx_packets);
    add(d, "inside_rx_bytes", c.ports[0].rx_bytes);
    add(d, "inside_tx_packets", c.ports[0].tx_packets);
    add(d, "inside_tx_bytes", c.ports[0].tx_bytes);
    add(d, "outside_rx_packets", c.ports[1].rx_packets);
    add(d, "outside_rx_bytes", c.ports[1].rx_bytes);
    add(d, "outside_tx_packets", c.ports[1].tx_packets);
    add(d, "outside_tx_bytes", c.ports[1].tx_bytes);
    add(d, "inside_rx_missed", r.rx_losses[0].missed);
    add(d, "inside_rx_nombuf", r.rx_losses[0].nombuf);
    add(d, "outside_rx_missed", r.rx_losses[1].missed);
    add(d, "outside_rx_nombuf", r.rx_losses[1].nombuf);
    uint64_t drops = 0;
    for (uint64_t n : c.drops) drops += n;
    add(d, "drops", drops);
    add(d, "flows_active", r.flows_active);
    add(d, "flow_capacity", r.flow_capacity);
    for (std::size_t p = 0; p < stats::flow_proto_count; ++p) {
        add(d, (std::string("flows_created_") + stats::flow_proto_names[p]).c_str(), c.flows_created[p]);
        add(d, (std::string("flows_expired_") + stats::flow_proto_names[p]).c_str(), c.flows_expired[p]);
    }
    add(d, "policy_would_deny", c.policy_would_deny);
    add(d, "policy_flows_cut", c.policy_flows_cut);
    add(d, "icmp_errors_relayed_in", c.icmp_errors_relayed_in);
    add(d, "icmp_errors_relayed_out", c.icmp_errors_relayed_out);
    add(d, "icmp_errors_sent", c.icmp_errors_sent);
    add(d, "icmp_errors_rate_limited", c.icmp_errors_rate_limited);
    add(d, "mss_clamped", c.mss_clamped);
    add(d, "neighbor_requests_sent", c.neighbor_requests_sent);
    add(d, "neighbor_replies_sent", c.neighbor_replies_sent);
    add(d, "neighbor_resolved", c.neighbor_resolved);
    add(d, "neighbor_frames_queued", c.neighbor_frames_queued);
    add(d, "neighbor_frames_released", c.neighbor_frames_released);
    add(d, "echo_replies_sent", c.echo_replies_sent);
    return 0;
}

int drops_cb(const char*, const char*, rte_tel_data* d) {
    std::lock_guard lock(g_mu);
    if (g_source == nullptr) return -1;
    const controlplane::run_report r = g_source->report();
    rte_tel_data_start_dict(d);
    for (std::size_t i = 0; i < stats::drop_reason_count; ++i)
        add(d, std::string(stats::drop_reason_names[i]).c_str(), r.counters.drops[i]);
    return 0;
}

int policy_cb(const char*, const char*, rte_tel_data* d) {
    std::lock_guard lock(g_mu);
    if (g_source == nullptr || g_source->policy == nullptr) return -1;
    const controlplane::policy_status p = g_source->policy->status();
    rte_tel_data_start_dict(d);
    add(d, "version", p.version);
    add(d, "reloads_ok", p.reloads_ok);
    add(d, "reloads_failed", p.reloads_failed);
    add(d, "last_reload_success_unix_ms", p.last_reload_success_unix_ms);
    add(d, "blocks_active", p.blocks_active);
    add(d, "block_hits", p.block_hits);
    add(d, "default_hits", p.default_hits);
    // Rule names are [a-z0-9_-], at most 64 characters: valid telemetry keys.
    for (const auto& rule : p.rules) add(d, ("rule_" + rule.name).c_str(), rule.hits);
    return 0;
}

} // namespace

namespace {

// The interface an af_packet port reads ("iface=NAME" of its devargs), or 0.
unsigned af_packet_ifindex(uint16_t port) {
    rte_eth_dev_info info{};
    if (rte_eth_dev_info_get(port, &info) != 0 || info.driver_name == nullptr ||
        std::string_view(info.driver_name) != "net_af_packet" || info.device == nullptr)
        return 0;
    const rte_devargs* args = rte_dev_devargs(info.device);
    if (args == nullptr || args->args == nullptr) return 0;
    const std::string_view a = args->args;
    const auto at = a.find("iface=");
    if (at == std::string_view::npos) return 0;
    const std::string name(a.substr(at + 6, a.find(',', at) == std::string_view::npos ? std::string_view::npos
                                                                                     : a.find(',', at) - at - 6));
    return ::if_nametoindex(name.c_str());
}

// af_packet: the kernel counts the frames its receive ring had no room for
// (PACKET_STATISTICS tp_drops) per socket. DPDK 22.11's PMD neither reads nor
// reports them, and a read clears them, so egressd is their only reader and
// keeps the running sum per interface. The PMD's sockets are found among the
// process's descriptors (AF_PACKET, bound to the interface).
uint64_t af_packet_ring_drops(unsigned ifindex) {
    static std::mutex mu;
    static std::map<unsigned, uint64_t> total;
    std::lock_guard lock(mu);
    if (DIR* d = ::opendir("/proc/self/fd")) {
        while (const dirent* e = ::readdir(d)) {
            const int fd = std::atoi(e->d_name);
            int domain = 0;
            socklen_t len = sizeof domain;
            if (fd <= 2 || ::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0 || domain != AF_PACKET) continue;
            sockaddr_ll sll{};
            socklen_t sll_len = sizeof sll;
            if (::getsockname(fd, reinterpret_cast<sockaddr*>(&sll), &sll_len) != 0) continue;
            tpacket_stats st{};
            socklen_t st_len = sizeof st;
            if (::getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &st_len) != 0) continue;
            total[static_cast<unsigned>(sll.sll_ifindex)] += st.tp_drops;
        }
        ::closedir(d);
    }
    return total[ifindex];
}

} // namespace

uint64_t worker_liveness_age_ms(const worker_context& w) noexcept {
    const uint64_t last = w.last_loop_tsc.load(std::memory_order_relaxed);
    if (last == 0) return 0;
    const uint64_t now = rte_get_tsc_cycles();
    const uint64_t per_ms = rte_get_tsc_hz() / 1000 ? rte_get_tsc_hz() / 1000 : 1;
    return now > last ? (now - last) / per_ms : 0; // a loop begun after `now` was read is not old
}

void add_device_losses(controlplane::run_report& r, uint16_t inside_port, uint16_t outside_port) {
    const uint16_t ids[stats::side_count] = {inside_port, outside_port};
    for (std::size_t i = 0; i < stats::side_count; ++i) {
        rte_eth_stats s{};
        if (rte_eth_stats_get(ids[i], &s) != 0) continue;
        r.rx_losses[i] = {s.imissed, s.rx_nombuf, s.ierrors};
        if (const unsigned ifindex = af_packet_ifindex(ids[i]); ifindex != 0)
            r.rx_losses[i].missed += af_packet_ring_drops(ifindex);
    }
}

void attach_telemetry(const telemetry_source* source) {
    static std::once_flag registered;
    std::call_once(registered, [] {
        rte_telemetry_register_cmd("/egressd/stats", stats_cb, "egressd port, flow and policy counters. No parameters");
        rte_telemetry_register_cmd("/egressd/drops", drops_cb, "egressd drops by reason. No parameters");
        rte_telemetry_register_cmd("/egressd/policy", policy_cb,
                                   "egressd policy version, reloads, blocks, decisions per rule. No parameters");
    });
    std::lock_guard lock(g_mu);
    g_source = source;
}

} // namespace egress::dataplane
