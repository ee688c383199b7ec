// The gateway's two ports as egressd brings them up from its configuration:
// started with one TX queue per worker and RSS where both can, the RX
// timestamps replay mode needs, and the flow steering between the workers
// with its RETA programmed into the RSS ports.
#pragma once

#include <memory>

#include <rte_mempool.h>

#include "config.hpp"
#include "exception_tap.hpp"
#include "gateway/steering.hpp"
#include "port.hpp"

namespace egress::dataplane {

struct gateway_ports {
    port_handle ports[2];      // indexed by stats::side
    int timestamp_offset = -1; // mbuf dynfield of the RX timestamp (replay mode)
    uint64_t timestamp_flag = 0;
    exception_ports exception; // the exception path's taps, started after the ports (exception_tap.hpp)
};

// Starts both ports, then the exception taps the sides name. Throws std::runtime_error naming what is wrong (a device,
// or a replay the devices cannot stamp).
gateway_ports start_gateway_ports(const config::egressd_config& cfg, rte_mempool* pool);

// Flow steering between the workers (gateway/steering.hpp): a RETA as large as
// the smallest RSS port's (entry i -> worker i % workers), programmed into the
// RSS ports; SNAT ports chosen by hash when the outside port steers replies,
// else per-worker slices of the range. Throws on a RETA that is not a power of two.
std::unique_ptr<gateway::steering> make_steering(const config::egressd_config& cfg, const gateway_ports& ports);

void stop_gateway_ports(const gateway_ports& ports);

} // namespace egress::dataplane
