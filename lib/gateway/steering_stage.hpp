// The steering stage: the first stage of a frame's path when several workers
// share the gateway's ports. It runs on the worker that received the frame,
// on the frame as the packet parser saw it (the one parse; gateway_core reads
// the same view afterwards), and answers with the frame's packet_result:
//
//   forward   the frame is this worker's ("mine"): it goes on into this
//             worker's gateway_core;
//   hand_off  worker `owner` owns it (steering.hpp says who owns what): it
//             crosses that worker's hand-off ring and goes through that
//             worker's gateway_core. `reason` is what it is dropped as when
//             the ring is full: handoff_full, or exception_handoff_full for a
//             frame for the kernel;
//   consumed  a later fragment that came before its datagram's first
//             fragment, held here (fragment_steering.hpp) until the first
//             fragment names the owner; nothing to free.
//
// After each frame the caller calls release_held(): when that frame was a
// first fragment whose later fragments were held, it gets their handles back,
// in arrival order, to send the same way as the first fragment, right behind
// it.
//
// The exception path (exception_path.hpp) has one owner: worker 0, the only
// worker with the exception interfaces. A frame for the kernel (BGP, BFD or a
// listed port to the arrival side's own address, classify_for_kernel) is
// worker 0's whatever steering says of its tuple: another worker hands it to
// worker 0, worker 0 keeps it. There it goes through admission and the
// side's token buckets like any frame worker 0 received itself. The worker
// that hands one over counts it (exception_handed_to_worker0). Bounded: the
// hand-off ring's size, then exception_handoff_full.
//
// One instance per worker, used by that worker only. DPDK-free; allocation
// only at construction. Only built with several workers (with one, every
// frame is the worker's own and nothing runs here).
#pragma once

#include <cstdint>
#include <optional>

#include "gateway/exception_path.hpp"
#include "gateway/fragment_steering.hpp"
#include "gateway/packet_result.hpp"
#include "gateway/settings.hpp"
#include "gateway/steering.hpp"
#include "net/packet_view.hpp"
#include "stats/counters.hpp"

namespace egress::gateway {

struct steering_stage_settings {
    uint16_t self = 0; // the worker this stage runs on
    // The gateway's sides (own addresses, exception path): copied.
    side_settings inside;
    side_settings outside;
    // Fragments follow their first fragment (absent: fragments are refused,
    // nothing to place).
    std::optional<fragment_steering_settings> fragments;
};

class steering_stage {
public:
    // Preconditions: s.workers() > 1, settings.self < s.workers(). `counters`:
    // this worker's (exception_handed_to_worker0).
    steering_stage(const steering& s, steering_stage_settings settings, stats::worker_counters& counters);

    // The frame `handle` (kept by the caller, given back by release_held /
    // expire_held / release_all when it was held) that arrived on `from`, as
    // parsed (`parsed`: the parser's verdict on `view`).
    [[gnu::always_inline]] packet_result run(stats::side from, const net::packet_view& view,
                                             stats::drop_reason parsed, void* handle, uint32_t now) noexcept {
        if (exception_path_ && parsed == stats::no_drop && is_kernel_bound(from, view)) [[unlikely]]
            return for_kernel();
        fragment_info frag;
        const uint16_t o = steer_.owner(from, view, parsed, &frag);
        if (frag.fragment && fragments_) [[unlikely]]
            return place(frag, o, handle, now);
        return route(o);
    }
    // After run(): fn(void* handle) for each later fragment that waited for
    // the frame run() was given (a first fragment), in arrival order; they go
    // where that frame went.
    template <class F>
    [[gnu::always_inline]] void release_held(F&& fn) noexcept {
        if (release_ == fragment_steering::npos) [[likely]]
            return;
        const uint32_t entry = release_;
        release_ = fragment_steering::npos;
        fragments_->release(entry, fn);
    }
    // Held fragments whose first fragment did not come in time: fn(handle)
    // (the caller drops them: fragment_timeout); looks at up to `budget` slots.
    template <class F>
    void expire_held(uint32_t now, uint32_t budget, F&& fn) noexcept {
        if (fragments_ && fragments_->held() != 0) fragments_->expire(now, budget, fn);
    }
    // Shutdown: fn(handle) for every fragment still held.
    template <class F>
    void release_all(F&& fn) noexcept {
        if (fragments_) fragments_->release_all(fn);
    }
    uint32_t held() const noexcept { return fragments_ ? fragments_->held() : 0; }
    uint16_t self() const noexcept { return self_; }
    const steering& steer() const noexcept { return steer_; }

private:
    // An owner named by steering: `any` and this worker are this worker's.
    packet_result route(uint16_t owner) const noexcept {
        return owner == steering::any || owner == self_
                   ? packet_result::forward()
                   : packet_result::hand_off(owner, stats::drop_reason::handoff_full);
    }
    bool is_kernel_bound(stats::side from, const net::packet_view& view) const noexcept {
        return classify_for_kernel(from == stats::side::inside ? settings_.inside : settings_.outside, view) !=
               exception_class::none;
    }
    packet_result place(const fragment_info& frag, uint16_t owner, void* handle, uint32_t now) noexcept;
    packet_result for_kernel() noexcept {
        if (self_ == 0) return packet_result::forward();
        ++counters_.exception_handed_to_worker0;
        return packet_result::hand_off(0, stats::drop_reason::exception_handoff_full);
    }

    const steering& steer_;
    stats::worker_counters& counters_;
    steering_stage_settings settings_;
    uint16_t self_;
    bool exception_path_; // a side has an exception interface

    std::optional<fragment_steering> fragments_;
    uint32_t release_ = fragment_steering::npos; // the last run()'s first fragment had held ones
};

} // namespace egress::gateway
