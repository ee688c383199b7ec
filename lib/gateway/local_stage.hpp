// The gateway's own traffic, a stage beside the flow stages (admit_stage sends
// frames here, nothing comes back): ARP and neighbour discovery addressed to
// it (answered and learned from by the neighbour resolver), learn-only copies
// of those other workers received, echo requests to its addresses (answered
// under a rate limit), and the announcements it sends once at start.
#pragma once

#include <cstdint>
#include <span>

#include "gateway/admit_stage.hpp"
#include "gateway/neighbor_resolver.hpp"
#include "gateway/outbox.hpp"
#include "gateway/packet_result.hpp"
#include "gateway/settings.hpp"
#include "net/packet_view.hpp"
#include "stats/counters.hpp"

namespace egress::gateway {

class local_stage {
public:
    local_stage(const settings& s, outbox& box, stats::worker_counters& counters, neighbor_resolver& resolver) noexcept
        : settings_(s), outbox_(box), counters_(counters), resolver_(resolver) {}

    // Once, before the first frame or sweep: the neighbours learn where the
    // gateway is. The gateway announces itself once, not once per worker:
    // worker 0 does.
    void start_up() noexcept {
        if (started_) return;
        started_ = true;
        if (settings_.worker == 0) resolver_.announce();
    }
    // A frame admit_stage found addressed to the gateway (`to` says how).
    packet_result run(stats::side from, std::span<uint8_t> frame, const net::packet_view& view, destination to,
                      uint32_t now) noexcept;
    // See gateway_core::learn_from_peer.
    packet_result learn_from_peer(stats::side from, std::span<const uint8_t> frame, uint32_t now) noexcept;

private:
    packet_result echo_reply(stats::side from, std::span<const uint8_t> frame, const net::packet_view& view,
                             uint32_t now) noexcept;

    const settings& settings_;
    outbox& outbox_;
    stats::worker_counters& counters_;
    neighbor_resolver& resolver_;
    bool started_ = false;     // announcements sent
    uint32_t echo_tokens_ = 0; // echo replies left in the current second
    uint32_t echo_second_ = 0; // the flow-clock second they are for
};

} // namespace egress::gateway
