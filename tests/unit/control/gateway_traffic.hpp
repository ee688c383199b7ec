// A real gateway_core filled with flows by sending frames through it (the
// gateway tests' network, ../gateway/gateway_fixture.hpp), and flow queries run
// over its table the way the worker runs them: a bounded slice per step.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "../gateway/gateway_fixture.hpp"
#include "gateway/flow_query.hpp"
#include "gateway/gateway_core.hpp"

namespace egress::controlplane::testing_util {

struct gateway_traffic {
    explicit gateway_traffic(const gateway::settings& s = gateway::testing_network::make_settings()) : core(s) {}
    gateway::gateway_core core;

    // One TCP packet from the inside host (a SYN opens the flow) with `payload`
    // bytes: the flow's bytes_out grows by the IP length (20 + 20 + payload for IPv4).
    gateway::packet_result tcp_out(std::string_view src, uint16_t sport, std::string_view dst, uint16_t dport,
                               std::size_t payload = 0, uint32_t now = 0, uint8_t flags = net::tcp_syn) {
        auto f = gateway::testing_network::from_inside();
        if (src.find(':') == std::string_view::npos) {
            f.ipv4(src, dst);
        } else {
            f.ipv6(src, dst);
        }
        return send(stats::side::inside, f.tcp(sport, dport, flags).payload_size(payload).build(), now);
    }
    // One IPv4 UDP datagram from inside (20 + 8 + payload bytes).
    gateway::packet_result udp_out(std::string_view src, uint16_t sport, std::string_view dst, uint16_t dport,
                               std::size_t payload = 0, uint32_t now = 0) {
        return send(stats::side::inside,
                    gateway::testing_network::from_inside().ipv4(src, dst).udp(sport, dport).payload_size(payload).build(),
                    now);
    }
    // One IPv4 UDP reply from outside to the public address 203.0.113.10.
    gateway::packet_result udp_in(std::string_view remote, uint16_t rport, uint16_t public_port, std::size_t payload = 0,
                              uint32_t now = 0) {
        return send(stats::side::outside,
                    gateway::testing_network::from_outside()
                        .ipv4(remote, "203.0.113.10")
                        .udp(rport, public_port)
                        .payload_size(payload)
                        .build(),
                    now);
    }

    // Steps q over the flow table, `budget` record slots at a time, until done;
    // returns the number of steps taken.
    uint32_t run(gateway::flow_query& q, uint32_t budget, uint32_t now) const {
        uint32_t steps = 1;
        if (q.what() == gateway::flow_query::kind::sources) { // the [limits] tables, not the flow table
            while (!core.step_query(q, budget, now)) ++steps;
            return steps;
        }
        while (!q.step(core.flows(), budget, now)) ++steps;
        return steps;
    }

private:
    gateway::packet_result send(stats::side from, test::bytes frame, uint32_t now) {
        return core.process(from, frame, now);
    }
};

} // namespace egress::controlplane::testing_util
