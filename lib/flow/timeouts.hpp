// Idle timeouts per protocol and TCP state, in milliseconds. Filled from the
// [timeouts] table of the config; the defaults below are what a user gets when a
// key is absent (documented in conf/egressd.toml).
#pragma once

#include <cstdint>

namespace egress::flow {

struct timeouts {
    uint32_t tcp_syn_sent_ms = 30'000;
    uint32_t tcp_syn_received_ms = 30'000;
    uint32_t tcp_established_ms = 7'440'000; // RFC 5382 REQ-5: at least 2 h 4 min
    uint32_t tcp_closing_ms = 240'000;       // FIN seen in one or both directions
    uint32_t tcp_time_wait_ms = 120'000;
    uint32_t tcp_closed_ms = 10'000;         // after RST
    uint32_t udp_ms = 120'000;               // RFC 4787 REQ-5: at least 2 min
    uint32_t icmp_ms = 30'000;
};

} // namespace egress::flow
