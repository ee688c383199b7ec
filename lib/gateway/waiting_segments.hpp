// verify = "resolve" (issue 16): a flow held at the hold point while egressd's
// own lookup of its name is under way gets its verdict when a segment of its
// client runs the hold again. The client sends one only when its
// retransmission timer fires (TCP: 200 ms or more; QUIC: its probe timeout),
// so the worker keeps a copy of the last segment that found the lookup under
// way and runs that copy through the flow stages itself
// (gateway_core::expire) once an answer has come in or the lookup's time is
// up: the verdict follows the answer within one loop of the worker. The copy
// repeats bytes the hold already has, as a retransmission would, so it adds
// nothing to the stream.
//
// Bounded: `capacity` copies per worker, allocated once (none without [dns]
// resolvers). A flow that finds no free one waits for its client's
// retransmission, as every flow did before. Single-threaded: the worker's own.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "flow/flow_record.hpp"

namespace egress::gateway {

class waiting_segments {
public:
    // Room for a frame of the largest MTU the ports take without chaining.
    static constexpr std::size_t max_frame = 2048;
    // Bytes in front of a replayed frame it may grow into (a VLAN tag pushed).
    static constexpr std::size_t headroom = 8;
    static constexpr uint32_t none = UINT32_MAX;

    explicit waiting_segments(uint32_t capacity) : entries_(capacity), frames_(std::size_t{capacity} * max_frame) {}

    // Keeps a copy of `frame` for `flow`, to be replayed once an answer comes
    // in or at `due`; `held`: the frame's bytes are among the flow's held ones
    // (its release sends them, not the frame). A flow keeps its first copy
    // (the segment that asked, due when its lookup times out): a later one
    // changes nothing. False: no room.
    bool keep(uint32_t flow, std::span<const uint8_t> frame, uint32_t due, bool held) noexcept {
        std::size_t at = entries_.size();
        for (std::size_t i = 0; i < entries_.size(); ++i) {
            if (entries_[i].flow == flow) return true;
            if (entries_[i].flow == none && at == entries_.size()) at = i;
        }
        if (at == entries_.size() || frame.size() > max_frame) return false;
        entries_[at] = {flow, due, static_cast<uint16_t>(frame.size()), held};
        std::memcpy(frames_.data() + at * max_frame, frame.data(), frame.size());
        ++kept_;
        return true;
    }
    // The copies taken from the table, each handed to f(flow, frame, held) once:
    // all of them when an answer came in (`answered`), else those due at
    // `now`. The frame is a scratch copy (writable, `headroom` bytes before
    // it) that f may rewrite; f may keep it again (the lookup still waits).
    template <class F>
    void replay(uint32_t now, bool answered, F&& f) noexcept {
        if (kept_ == 0) return;
        for (std::size_t i = 0; i < entries_.size(); ++i) {
            entry& e = entries_[i];
            if (e.flow == none || !(answered || flow::time_reached(now, e.due))) continue;
            const entry taken = e;
            const std::span<uint8_t> frame(scratch_.data() + headroom, taken.length);
            std::memcpy(frame.data(), frames_.data() + i * max_frame, taken.length);
            e = {};
            --kept_;
            f(taken.flow, frame, taken.held); // a keep() takes a free entry at i or before: not met again here
        }
    }
    uint32_t size() const noexcept { return kept_; }
    uint32_t capacity() const noexcept { return static_cast<uint32_t>(entries_.size()); }

private:
    struct entry {
        uint32_t flow = none;
        uint32_t due = 0;    // gateway clock: replayed then even without an answer (the lookup timed out)
        uint16_t length = 0; // bytes of the frame
        bool held = false;   // its bytes are among the flow's held ones
    };
    std::vector<entry> entries_;
    std::vector<uint8_t> frames_; // entries_.size() frames of max_frame bytes
    std::array<uint8_t, headroom + max_frame> scratch_{};
    uint32_t kept_ = 0;
};

} // namespace egress::gateway
