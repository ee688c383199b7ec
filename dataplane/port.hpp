// DPDK port bring-up: one RX and one TX queue per port for the single worker.
#pragma once

#include <cstdint>
#include <string>

#include <rte_mempool.h>

#include "config.hpp"
#include "net/ip_address.hpp"

namespace egress::dataplane {

struct port_handle {
    uint16_t id = 0;
    std::string device;
    net::mac_address mac;
    bool rx_timestamps = false; // the device stamps received mbufs (pcap: capture time)
};

// Configures and starts the port named in `settings`. Throws std::runtime_error
// with a message naming the device on any failure (called from main only).
port_handle start_port(const config::port_settings& settings, rte_mempool* pool, bool want_rx_timestamps);

void stop_port(const port_handle& port);

} // namespace egress::dataplane
