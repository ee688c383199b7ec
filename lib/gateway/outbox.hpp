// Frames gateway_core builds on its own rather than by rewriting a received
// frame in place: resets towards the far end of a cut flow today; ICMP errors,
// neighbour discovery and released fragments use it too. A fixed number of
// fixed-size slots, allocated once; the dataplane copies each queued frame
// into a fresh mbuf after every gateway_core call and the next call starts
// with an empty box. A full box refuses the frame (the caller counts it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "stats/counters.hpp"

namespace egress::gateway {

class outbox {
public:
    // Room for the largest frame the gateway builds: 1500 bytes of IP, an
    // Ethernet header and two VLAN tags.
    static constexpr std::size_t max_frame = 1500 + 14 + 8;
    // Bytes before each prepare()d span that a frame may grow into (a VLAN tag
    // pushed in front of a frame copied with its original header).
    static constexpr std::size_t headroom = 8;
    static constexpr std::size_t slot_bytes = headroom + max_frame;

    explicit outbox(uint32_t capacity) : data_(std::size_t{capacity} * slot_bytes), entries_(capacity) {}

    // Scratch for the next frame (max_frame bytes, `headroom` bytes of the
    // slot before it), or an empty span when the box is full. Nothing is
    // queued until commit().
    std::span<uint8_t> prepare() noexcept {
        if (count_ == entries_.size()) return {};
        return {data_.data() + std::size_t{count_} * slot_bytes + headroom, max_frame};
    }
    // Queues the frame written into the last prepare()d span: `length` bytes
    // starting `front` bytes before it (-headroom..headroom; negative: after
    // its start, when the frame's header shrank).
    void commit(stats::side to, std::size_t length, int front = 0) noexcept {
        entries_[count_++] = {to, static_cast<uint16_t>(length), static_cast<uint8_t>(int{headroom} - front)};
    }

    struct frame {
        stats::side to;
        std::span<const uint8_t> bytes;
    };
    uint32_t size() const noexcept { return count_; }
    frame operator[](uint32_t i) const noexcept {
        return {entries_[i].to, {data_.data() + std::size_t{i} * slot_bytes + entries_[i].start, entries_[i].length}};
    }
    void clear() noexcept { count_ = 0; }

private:
    struct entry {
        stats::side to = stats::side::inside;
        uint16_t length = 0;
        uint8_t start = headroom; // within the slot
    };
    std::vector<uint8_t> data_;
    std::vector<entry> entries_;
    uint32_t count_ = 0;
};

} // namespace egress::gateway
