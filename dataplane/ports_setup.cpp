#include "ports_setup.hpp"

#include <stdexcept>
#include <vector>

#include <fmt/format.h>
#include <rte_mbuf_dyn.h>

#include "net/toeplitz.hpp"

namespace egress::dataplane {

namespace {

std::vector<uint8_t> rss_key(const config::egressd_config& cfg) {
    std::vector<uint8_t> key = cfg.run.rss_key;
    if (key.empty()) key.assign(net::default_rss_key.begin(), net::default_rss_key.end());
    return key;
}

} // namespace

gateway_ports start_gateway_ports(const config::egressd_config& cfg, rte_mempool* pool) {
    gateway_ports g;
    const bool ts = cfg.run.replay_in_timestamp_order;
    const std::vector<uint8_t> key = rss_key(cfg);
    const unsigned workers = cfg.run.workers;
    const queue_plan plan{workers, cfg.run.rss && workers > 1, key};
    g.ports[0] = start_port(cfg.inside_port, pool, ts, plan);
    g.ports[1] = start_port(cfg.outside_port, pool, ts, plan);
    if (ts && !(g.ports[0].rx_timestamps && g.ports[1].rx_timestamps))
        throw std::runtime_error("run.replay_in_timestamp_order needs devices that stamp received packets "
                                 "(pcap vdevs do)");
    if (ts && (g.ports[0].rx_queues != 1 || g.ports[1].rx_queues != 1))
        throw std::runtime_error("run.replay_in_timestamp_order reads one RX queue per port (one rx_pcap each)");
    if (ts && rte_mbuf_dyn_rx_timestamp_register(&g.timestamp_offset, &g.timestamp_flag) != 0)
        throw std::runtime_error("cannot register the mbuf RX timestamp field");
    const net::mac_address macs[2] = {g.ports[0].mac, g.ports[1].mac};
    g.exception = start_exception_taps(cfg, pool, macs);
    return g;
}

std::unique_ptr<gateway::steering> make_steering(const config::egressd_config& cfg, const gateway_ports& ports) {
    const unsigned workers = cfg.run.workers;
    gateway::steering_settings st;
    st.workers = workers;
    st.rss = ports.ports[1].rss;
    st.key = rss_key(cfg);
    st.port_min = cfg.gateway.pool.port_min;
    st.port_max = cfg.gateway.pool.port_max;
    uint16_t reta_size = 0;
    for (const auto& p : ports.ports)
        if (p.rss && (reta_size == 0 || p.reta_size < reta_size)) reta_size = p.reta_size;
    if (reta_size != 0 && (reta_size & (reta_size - 1)) != 0)
        throw std::runtime_error(fmt::format("RSS: a RETA of {} entries is not a power of two", reta_size));
    for (uint16_t i = 0; i < reta_size; ++i) st.reta.push_back(static_cast<uint16_t>(i % workers));
    auto steering = std::make_unique<gateway::steering>(st);
    for (const auto& p : ports.ports) program_reta(p, steering->reta());
    return steering;
}

void stop_gateway_ports(const gateway_ports& ports) {
    stop_exception_taps(ports.exception);
    stop_port(ports.ports[0]);
    stop_port(ports.ports[1]);
}

} // namespace egress::dataplane
