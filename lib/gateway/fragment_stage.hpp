// Fragments, a stage before the flow stages. Fragments are forwarded as
// fragments, never reassembled. Every fragment is first checked against its
// datagram's ranges (fragment_tracker). The first one (offset 0, with the L4
// header) then goes through the flow stages like a whole datagram; the tracker
// learns the datagram's flow and the later ones follow it (IPv4: translated in
// the address and the header checksum only; the L4 checksum, updated in the
// first fragment, covers the whole datagram). Later fragments that come first
// are held, and sent from the outbox once the first one passed.
#pragma once

#include <cstdint>
#include <span>

#include "gateway/fragment_tracker.hpp"
#include "gateway/packet_result.hpp"
#include "net/packet_view.hpp"
#include "stats/counters.hpp"

namespace egress::gateway {

class fragment_stage {
public:
    fragment_stage(const fragment_settings& s, stats::worker_counters& counters) : tracker_(s, counters),
                                                                                    counters_(counters) {}

    // What the stage makes of one fragment: the first of its datagram (on to
    // the flow stages), a later one whose first passed (it follows the flow
    // in `flow`), one held until its first comes (consumed) or refused.
    struct step {
        enum class kind : uint8_t { first, later, held, refused } what = kind::refused;
        uint32_t entry = fragment_tracker::npos;
        uint32_t flow = 0;
        stats::drop_reason why = stats::no_drop;
    };
    step accept(flow::direction dir, std::span<const uint8_t> frame, const net::packet_view& view,
                uint32_t now) noexcept {
        const fragment_key key{view.src, view.dst, view.frag_id,
                               view.family == net::ip_family::v4 ? view.proto : uint8_t{0}, dir};
        step s;
        const bool more = (view.fragment & net::fragment_more) != 0;
        s.why = tracker_.accept(key, view.frag_offset, view.frag_length, more, now, s.entry);
        if (s.why != stats::no_drop) return s;
        if (!view.is_later_fragment()) {
            s.what = step::kind::first;
        } else if (tracker_.state(s.entry) != datagram_state::waiting) {
            s.what = step::kind::later;
            s.flow = tracker_.flow(s.entry);
        } else if (tracker_.hold(s.entry, frame)) {
            s.what = step::kind::held;
        } else {
            tracker_.drop(s.entry); // it cannot be completed any more
            s.why = stats::drop_reason::fragment_hold_full;
        }
        return s;
    }
    // The first fragment passed as part of flow `flow`: the datagram follows it
    // from now on. Then `release` hands over the fragments held for it.
    void first_passed(uint32_t entry, uint32_t flow) noexcept { tracker_.forward(entry, flow); }
    template <class F>
    void release(uint32_t entry, F&& f) noexcept {
        tracker_.release(entry, f);
    }
    // What became of a first or later fragment: a datagram one of whose
    // fragments did not pass is of no use to anyone.
    void done(uint32_t entry, const packet_result& r) noexcept {
        if (!r.goes_on()) {
            tracker_.drop(entry);
            return;
        }
        ++counters_.fragments_forwarded;
        tracker_.finish_if_complete(entry);
    }

    // The IPv4 identification every fragment of datagram `entry` leaves with
    // (chosen by pick() for the first of them to leave).
    template <class Pick>
    uint16_t outbound_id(uint32_t entry, Pick&& pick) noexcept {
        return tracker_.outbound_id(entry, pick);
    }

    bool enabled() const noexcept { return tracker_.enabled(); }
    void expire(uint32_t now, uint32_t budget) noexcept { tracker_.expire(now, budget); }
    const fragment_tracker& tracker() const noexcept { return tracker_; }

private:
    fragment_tracker tracker_;
    stats::worker_counters& counters_;
};

} // namespace egress::gateway
