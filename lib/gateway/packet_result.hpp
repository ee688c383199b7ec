// What became of one received frame: the one answer per frame, written by the
// stage that decided and read once by the worker (one switch). The stages, in
// the order a frame meets them: steering_stage (several workers only: whose
// frame is it), then gateway_core's (admit, flow, policy, NAT, emit; the
// gateway's own traffic and fragments are stages beside them).
//
//   forward   steering_stage: the frame is this worker's, it goes on into
//             gateway_core. gateway_core: rewritten in place; leaves through
//             the other side, starting front_adjust bytes earlier (> 0: a
//             VLAN tag pushed into the headroom) or later (< 0: tags popped)
//             than it arrived.
//   drop      dropped for `reason` (already counted); the caller frees it.
//   consumed  the gateway took it: ARP / neighbour discovery addressed to it,
//             an echo it answered, a copy held until its next hop is resolved,
//             a fragment copied until its datagram's first fragment passed;
//             or (steering_stage) a later fragment held until its first
//             fragment names the owner, which the stage gives back.
//             Nothing to count; the caller frees it unless the stage holds it.
//   reply     dropped for `reason` (counted), and the frame was rewritten in
//             place into a reply of reply_len bytes (a TCP reset cutting a
//             flow the policy denies) that goes back out of the arrival side.
//   to_kernel the exception path (exception_path.hpp): BGP, BFD or a listed
//             port to the gateway's own address; the frame goes unchanged to
//             the exception interface of its arrival side (worker 0 only:
//             steering_stage hands such frames to it; counted there as
//             exception_to_kernel or dropped as exception_queue_full).
//   hand_off  steering_stage only: worker `owner` handles the frame; it
//             crosses that worker's hand-off ring unchanged. `reason` is what
//             it is dropped as when the ring is full (handoff_full,
//             exception_handoff_full), not counted yet.
//
// share_with_peers (drop or consumed, several workers only): the frame was an
// ARP / ND message that maps an address to a MAC; every other worker gets a
// copy to learn from (gateway_core::learn_from_peer); or (dns_answer, any
// verdict) a DNS response on a flow's reply, translated, for every worker's
// table of observed names (dns_observer.hpp). copy_to_kernel (consumed or
// drop): an ARP reply or neighbour advertisement to the gateway on a side
// with an exception interface; the kernel gets a copy too (it resolves the
// routers its daemon talks to). Frames the gateway built on its own
// (outbox.hpp) are not part of any frame's result. in_flow_record (drop or
// reply): the frame was dropped as part of a cut flow's record (its tally,
// flow::cut_tally), so it is no refused attempt of its own.
//
// Eight bytes, trivially copyable: the worker keeps one per frame of a burst.
#pragma once

#include <cstdint>
#include <string_view>
#include <type_traits>

#include "stats/drop_reason.hpp"

namespace egress::gateway {

enum class verdict : uint8_t { forward, drop, consumed, reply, to_kernel, hand_off };

struct packet_result {
    verdict kind = verdict::forward;
    stats::drop_reason reason = stats::no_drop; // drop / reply; hand_off: if its ring is full
    int8_t front_adjust = 0;                    // forward only
    bool share_with_peers : 1 = false;
    bool dns_answer : 1 = false;                // share_with_peers: a DNS response, not ARP / ND
    bool copy_to_kernel : 1 = false;
    bool in_flow_record : 1 = false;            // drop / reply: counted in a cut flow's record
    uint16_t reply_len = 0;                     // reply only
    uint16_t owner = 0;                         // hand_off only: the worker that handles the frame

    static constexpr packet_result forward(int8_t front = 0) noexcept {
        packet_result r;
        r.front_adjust = front;
        return r;
    }
    static constexpr packet_result drop(stats::drop_reason why) noexcept { return with(verdict::drop, why); }
    static constexpr packet_result consumed() noexcept { return with(verdict::consumed, stats::no_drop); }
    // A drop whose frame became a reply of `length` bytes; without one (0), a plain drop.
    static constexpr packet_result reply(stats::drop_reason why, uint16_t length) noexcept {
        packet_result r = with(length != 0 ? verdict::reply : verdict::drop, why);
        r.reply_len = length;
        return r;
    }
    static constexpr packet_result to_kernel() noexcept { return with(verdict::to_kernel, stats::no_drop); }
    // To worker `to`; dropped as `if_full` when its ring has no room.
    static constexpr packet_result hand_off(uint16_t to, stats::drop_reason if_full) noexcept {
        packet_result r = with(verdict::hand_off, if_full);
        r.owner = to;
        return r;
    }

    // The same drop, counted in its cut flow's record (in_flow_record).
    constexpr packet_result in_flow() const noexcept {
        packet_result r = *this;
        r.in_flow_record = true;
        return r;
    }

    // Within the pipeline: the frame goes on to the next stage.
    constexpr bool goes_on() const noexcept { return kind == verdict::forward; }
    // Dropped (with or without a reply): `reason` is set and was counted.
    constexpr bool dropped() const noexcept { return kind == verdict::drop || kind == verdict::reply; }

private:
    static constexpr packet_result with(verdict v, stats::drop_reason why) noexcept {
        packet_result r;
        r.kind = v;
        r.reason = why;
        return r;
    }
};

static_assert(std::is_trivially_copyable_v<packet_result> && sizeof(packet_result) <= 8);

// A result is its verdict; a dropped one (with or without reply) is also its
// reason, and a forwarded one is the parsers' "nothing refused" (no_drop).
constexpr bool operator==(const packet_result& r, verdict v) noexcept { return r.kind == v; }
constexpr bool operator==(const packet_result& r, stats::drop_reason why) noexcept {
    return why == stats::no_drop ? r.kind == verdict::forward : r.dropped() && r.reason == why;
}

constexpr std::string_view name_of(verdict v) noexcept {
    switch (v) {
    case verdict::forward: return "forward";
    case verdict::drop: return "drop";
    case verdict::consumed: return "consumed";
    case verdict::reply: return "reply";
    case verdict::to_kernel: return "to_kernel";
    case verdict::hand_off: return "hand_off";
    }
    return "?";
}

} // namespace egress::gateway
