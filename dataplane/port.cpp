#include "port.hpp"

#include <stdexcept>

#include <fmt/format.h>
#include <rte_errno.h>
#include <rte_ethdev.h>

namespace egress::dataplane {

namespace {
[[noreturn]] void fail(const std::string& device, const char* what, int rc) {
    throw std::runtime_error(fmt::format("port {}: {} failed: {}", device, what, rte_strerror(rc < 0 ? -rc : rc)));
}
} // namespace

port_handle start_port(const config::port_settings& settings, rte_mempool* pool, bool want_rx_timestamps) {
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
    // The pcap PMD always stamps packets read from a file with their capture
    // time (microseconds) without advertising the offload.
    if (want_rx_timestamps && info.driver_name != nullptr && std::string_view(info.driver_name) == "net_pcap")
        h.rx_timestamps = true;
    if (int rc = rte_eth_dev_configure(h.id, 1, 1, &conf); rc != 0) fail(h.device, "rte_eth_dev_configure", rc);

    uint16_t rxd = settings.rx_descriptors;
    uint16_t txd = settings.tx_descriptors;
    if (int rc = rte_eth_dev_adjust_nb_rx_tx_desc(h.id, &rxd, &txd); rc != 0)
        fail(h.device, "rte_eth_dev_adjust_nb_rx_tx_desc", rc);
    const int socket = rte_eth_dev_socket_id(h.id);
    const unsigned sock = socket < 0 ? 0u : static_cast<unsigned>(socket);
    rte_eth_rxconf rxconf = info.default_rxconf;
    rxconf.offloads = conf.rxmode.offloads;
    if (int rc = rte_eth_rx_queue_setup(h.id, 0, rxd, sock, &rxconf, pool); rc != 0)
        fail(h.device, "rte_eth_rx_queue_setup", rc);
    if (int rc = rte_eth_tx_queue_setup(h.id, 0, txd, sock, nullptr); rc != 0)
        fail(h.device, "rte_eth_tx_queue_setup", rc);

    bool mac_in_software = false;
    if (settings.mac) {
        rte_ether_addr addr;
        std::copy(settings.mac->bytes.begin(), settings.mac->bytes.end(), addr.addr_bytes);
        const int rc = rte_eth_dev_default_mac_addr_set(h.id, &addr);
        // Devices that cannot change their MAC (pcap files, some VFs) keep
        // receiving in promiscuous mode; the gateway then uses the configured
        // MAC for its own frames and its L2 destination check.
        if (rc == -ENOTSUP) {
            mac_in_software = true;
        } else if (rc != 0) {
            fail(h.device, "setting the MAC address", rc);
        }
    }
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

void stop_port(const port_handle& port) {
    (void)rte_eth_dev_stop(port.id);
    (void)rte_eth_dev_close(port.id);
}

} // namespace egress::dataplane
