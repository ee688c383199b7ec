#include "port.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>
#include <rte_errno.h>
#include <rte_ethdev.h>

namespace egress::dataplane {

namespace {
[[noreturn]] void fail(const std::string& device, const char* what, int rc) {
    throw std::runtime_error(fmt::format("port {}: {} failed: {}", device, what, rte_strerror(rc < 0 ? -rc : rc)));
}
// RSS with the configured key over one RX queue per worker, when the device
// has the queues, a RETA at least that large, the 4-tuple hashes of IPv4 TCP
// and UDP and a 40-byte key. key must outlive the rte_eth_dev_configure call.
void plan_rss(const rte_eth_dev_info& info, const queue_plan& plan, std::array<uint8_t, 40>& key, rte_eth_conf& conf,
              port_handle& h) {
    const auto workers = static_cast<uint16_t>(plan.workers);
    constexpr uint64_t rss_types = RTE_ETH_RSS_NONFRAG_IPV4_TCP | RTE_ETH_RSS_NONFRAG_IPV4_UDP;
    if (!(plan.try_rss && workers > 1 && h.rx_queues == workers && info.reta_size >= workers &&
          (info.flow_type_rss_offloads & rss_types) == rss_types &&
          (info.hash_key_size == 0 || info.hash_key_size == key.size()) && plan.rss_key.size() == key.size()))
        return;
    std::copy(plan.rss_key.begin(), plan.rss_key.end(), key.begin());
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_key = key.data();
    conf.rx_adv_conf.rss_conf.rss_key_len = static_cast<uint8_t>(key.size());
    // What the steering computes: the 4-tuple hash of IPv4 TCP and UDP. Other
    // IPv4 and all IPv6 traffic hashes by what the NIC likes; the worker
    // that receives it hands it to its owner.
    conf.rx_adv_conf.rss_conf.rss_hf = info.flow_type_rss_offloads &
                                       (rss_types | RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_IPV6 |
                                        RTE_ETH_RSS_NONFRAG_IPV6_TCP | RTE_ETH_RSS_NONFRAG_IPV6_UDP);
    h.rss = true;
    h.reta_size = info.reta_size;
}

void set_up_queues(const config::port_settings& settings, rte_mempool* pool, const rte_eth_dev_info& info,
                   const rte_eth_conf& conf, const port_handle& h) {
    uint16_t rxd = settings.rx_descriptors;
    uint16_t txd = settings.tx_descriptors;
    if (int rc = rte_eth_dev_adjust_nb_rx_tx_desc(h.id, &rxd, &txd); rc != 0)
        fail(h.device, "rte_eth_dev_adjust_nb_rx_tx_desc", rc);
    const int socket = rte_eth_dev_socket_id(h.id);
    const unsigned sock = socket < 0 ? 0u : static_cast<unsigned>(socket);
    rte_eth_rxconf rxconf = info.default_rxconf;
    rxconf.offloads = conf.rxmode.offloads;
    for (uint16_t q = 0; q < h.rx_queues; ++q)
        if (int rc = rte_eth_rx_queue_setup(h.id, q, rxd, sock, &rxconf, pool); rc != 0)
            fail(h.device, "rte_eth_rx_queue_setup", rc);
    for (uint16_t q = 0; q < h.tx_queues; ++q)
        if (int rc = rte_eth_tx_queue_setup(h.id, q, txd, sock, nullptr); rc != 0)
            fail(h.device, "rte_eth_tx_queue_setup", rc);
}

// The configured MAC, if any. True when the device cannot change its MAC
// (pcap files, some VFs): it keeps receiving in promiscuous mode and the
// gateway uses the configured MAC for its own frames and its L2 destination
// check.
bool set_mac(const config::port_settings& settings, const port_handle& h) {
    if (!settings.mac) return false;
    rte_ether_addr addr;
    std::copy(settings.mac->bytes.begin(), settings.mac->bytes.end(), addr.addr_bytes);
    const int rc = rte_eth_dev_default_mac_addr_set(h.id, &addr);
    if (rc == -ENOTSUP) return true;
    if (rc != 0) fail(h.device, "setting the MAC address", rc);
    return false;
}

} // namespace

port_handle start_port(const config::port_settings& settings, rte_mempool* pool, bool want_rx_timestamps,
                       const queue_plan& plan) {
    port_handle h;
    h.device = settings.device;
    if (rte_eth_dev_get_port_by_name(settings.device.c_str(), &h.id) != 0) {
        throw std::runtime_error(fmt::format(
            "port {}: no such DPDK device (check [eal] vdevs / allow_pci and the device name)", settings.device));
    }
    rte_eth_dev_info info{};
    if (int rc = rte_eth_dev_info_get(h.id, &info); rc != 0) fail(h.device, "rte_eth_dev_info_get", rc);

    rte_eth_conf conf{};
    if (want_rx_timestamps && (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_TIMESTAMP) != 0) {
        conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_TIMESTAMP;
        h.rx_timestamps = true;
    }
    // The device's IPv4 header checksum verdict, where it has one: the worker
    // trusts a "good" flag and checks everything else in software.
    if ((info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM) != 0)
        conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;
    // The pcap PMD always stamps packets read from a file with their capture
    // time (microseconds) without advertising the offload.
    if (want_rx_timestamps && info.driver_name != nullptr && std::string_view(info.driver_name) == "net_pcap")
        h.rx_timestamps = true;
    // One TX queue per worker (TX queues are never shared); RX queues as many as
    // the device has, up to one per worker (the others are fed by hand-off).
    const auto workers = static_cast<uint16_t>(plan.workers);
    if (info.max_tx_queues < workers)
        throw std::runtime_error(fmt::format(
            "port {}: {} workers need {} TX queues, the device has {} (pcap vdev: one tx_pcap per worker; "
            "af_packet: qpairs={})",
            h.device, workers, workers, info.max_tx_queues, workers));
    h.tx_queues = workers;
    h.rx_queues = std::min<uint16_t>(workers, std::max<uint16_t>(1, info.max_rx_queues));
    std::array<uint8_t, 40> key{};
    plan_rss(info, plan, key, conf, h);
    if (int rc = rte_eth_dev_configure(h.id, h.rx_queues, h.tx_queues, &conf); rc != 0)
        fail(h.device, "rte_eth_dev_configure", rc);
    set_up_queues(settings, pool, info, conf, h);

    const bool mac_in_software = set_mac(settings, h);
    if (int rc = rte_eth_dev_start(h.id); rc != 0) fail(h.device, "rte_eth_dev_start", rc);
    // Not every PMD supports promiscuous mode (pcap files do not need it).
    (void)rte_eth_promiscuous_enable(h.id);

    if (mac_in_software) {
        h.mac = *settings.mac;
    } else {
        rte_ether_addr addr;
        if (int rc = rte_eth_macaddr_get(h.id, &addr); rc != 0) fail(h.device, "rte_eth_macaddr_get", rc);
        std::copy(std::begin(addr.addr_bytes), std::end(addr.addr_bytes), h.mac.bytes.begin());
    }
    return h;
}

void program_reta(const port_handle& port, std::span<const uint16_t> reta) {
    if (!port.rss || reta.empty()) return;
    std::vector<rte_eth_rss_reta_entry64> conf(static_cast<std::size_t>((port.reta_size + RTE_ETH_RETA_GROUP_SIZE - 1) /
                                                                        RTE_ETH_RETA_GROUP_SIZE));
    for (uint16_t i = 0; i < port.reta_size; ++i) {
        auto& group = conf[i / RTE_ETH_RETA_GROUP_SIZE];
        group.mask |= uint64_t{1} << (i % RTE_ETH_RETA_GROUP_SIZE);
        group.reta[i % RTE_ETH_RETA_GROUP_SIZE] = reta[i % reta.size()];
    }
    if (int rc = rte_eth_dev_rss_reta_update(port.id, conf.data(), port.reta_size); rc != 0)
        fail(port.device, "rte_eth_dev_rss_reta_update", rc);
}

void stop_port(const port_handle& port) {
    (void)rte_eth_dev_stop(port.id);
    (void)rte_eth_dev_close(port.id);
}

} // namespace egress::dataplane
