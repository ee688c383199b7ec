// steering_stage: who handles a received frame (see steering_stage.hpp).
#include "gateway/steering_stage.hpp"

#include <cassert>
#include <utility>

namespace egress::gateway {

steering_stage::steering_stage(const steering& s, steering_stage_settings settings, stats::worker_counters& counters)
    : steer_(s), counters_(counters), settings_(std::move(settings)), self_(settings_.self),
      exception_path_(settings_.inside.exception.enabled || settings_.outside.exception.enabled) {
    assert(s.workers() > 1 && self_ < s.workers());
    if (settings_.fragments) {
        settings_.fragments->self = self_;
        fragments_.emplace(*settings_.fragments);
    }
}

// A fragment: a later one follows its first fragment's owner; one that comes
// before its first fragment is held (consumed), or stays here when it cannot
// be held.
packet_result steering_stage::place(const fragment_info& frag, uint16_t owner, void* handle, uint32_t now) noexcept {
    const fragment_steering::decision d = fragments_->place(frag, owner, handle, now);
    if (d.owner == steering::any) return packet_result::consumed();
    release_ = d.release;
    return route(d.owner);
}

} // namespace egress::gateway
