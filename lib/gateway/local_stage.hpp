// The gateway's own traffic, a stage beside the flow stages (admit_stage sends
// frames here, nothing comes back): ARP and neighbour discovery addressed to
// it (answered and learned from by the neighbour resolver), learn-only copies
// of those other workers received, echo requests to its addresses (answered
// under a rate limit), the announcements it sends once at start, and the
// exception path (exception_path.hpp): BGP, BFD and listed ports to the
// gateway's own addresses of a side with an exception interface go to the
// kernel (verdict to_kernel), with a copy of the ARP replies and neighbour
// advertisements the gateway receives there (copy_to_kernel), under that
// side's token buckets (one for BFD, one for the rest). Only worker 0 owns
// the exception interfaces: the other workers' steering_stage hands it the
// frames for the kernel, so they never get here elsewhere; only worker 0
// makes copies of neighbour answers (they reach it as peer copies).
#pragma once

#include <cstdint>
#include <span>

#include "base/token_bucket.hpp"
#include "gateway/admit_stage.hpp"
#include "gateway/exception_path.hpp"
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
        : settings_(s), outbox_(box), counters_(counters), resolver_(resolver),
          exception_budget_{{{s.inside.exception.rate, s.inside.exception.burst},
                             {s.inside.exception.rate, s.inside.exception.burst}},
                            {{s.outside.exception.rate, s.outside.exception.burst},
                             {s.outside.exception.rate, s.outside.exception.burst}}} {}

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
    packet_result to_kernel(stats::side from, exception_class c, uint32_t now) noexcept;
    // An ARP / ND frame to the gateway: sets r.copy_to_kernel when the kernel
    // of that side gets a copy.
    void copy_neighbor_answer(stats::side from, std::span<const uint8_t> frame, packet_result& r,
                              uint32_t now) noexcept;
    packet_result echo_reply(stats::side from, std::span<const uint8_t> frame, const net::packet_view& view,
                             uint32_t now) noexcept;

    const settings& settings_;
    outbox& outbox_;
    stats::worker_counters& counters_;
    neighbor_resolver& resolver_;
    bool started_ = false;     // announcements sent
    uint32_t echo_tokens_ = 0; // echo replies left in the current second
    uint32_t echo_second_ = 0; // the flow-clock second they are for
    // Frames to each side's kernel interface, by stats::side: [0] BFD, [1] the rest.
    base::token_bucket exception_budget_[2][2];
};

} // namespace egress::gateway
