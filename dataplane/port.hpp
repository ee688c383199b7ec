// DPDK port bring-up: one TX queue per worker, one RX queue per worker as far as
// the device has them, RSS with the configured key and RETA where the device
// supports it.
#pragma once

#include <cstdint>
#include <span>
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
    uint16_t rx_queues = 1;     // queue q is polled by worker q
    uint16_t tx_queues = 1;     // one per worker
    bool rss = false;           // RSS on, with the given key, over rx_queues queues
    uint16_t reta_size = 0;     // the device's RETA size (rss only)
};

struct queue_plan {
    unsigned workers = 1;
    bool try_rss = false;             // steering "auto" and workers > 1
    std::span<const uint8_t> rss_key; // 40 bytes
};

// Configures and starts the port named in `settings`. Throws std::runtime_error
// with a message naming the device on any failure (called from main only).
port_handle start_port(const config::port_settings& settings, rte_mempool* pool, bool want_rx_timestamps,
                       const queue_plan& plan = {});

// After both ports are started with RSS: entry i of each port's RETA -> queue
// reta[i % reta.size()] (reta: the steering's table, entry -> worker = queue).
void program_reta(const port_handle& port, std::span<const uint16_t> reta);

void stop_port(const port_handle& port);

} // namespace egress::dataplane
