// One side's neighbour cache: IP address -> MAC, with the resolution state of
// each entry. Fixed capacity, open addressing with linear probing over a
// power-of-two slot array (at least twice max_entries, so chains stay short),
// backward-shift deletion (no tombstones). Allocated once; nothing here
// allocates afterwards. The state machine itself (timers, retries, queued
// frames) lives in neighbor_resolver; this is the storage.
#pragma once

#include <cstdint>
#include <vector>

#include "net/ip_address.hpp"

namespace egress::gateway {

enum class neighbor_state : uint8_t {
    free = 0,
    incomplete, // resolution in progress: requests sent, no answer yet (frames may wait)
    reachable,  // confirmed within reachable_ms
    stale,      // confirmed longer ago: still used, re-checked (probe) on next use
    probe,      // stale and in use: unicast requests sent, frames still go to the old MAC
    fixed,      // a static neighbour from the config: never changes or expires
};

inline constexpr uint32_t no_frame = 0xffffffffu;

struct neighbor_entry {
    net::ip_address address;
    net::mac_address mac;
    neighbor_state state = neighbor_state::free;
    uint8_t tries = 0;          // requests sent in the current incomplete / probe round
    uint32_t confirmed_ms = 0;  // last confirmation (reply, or a request addressed to the gateway)
    uint32_t timer_ms = 0;      // incomplete / probe: when the next request is due
    uint32_t used_ms = 0;       // last time a frame was sent (or queued) towards it
    uint32_t queue_head = no_frame; // frames waiting for resolution (indices into the frame pool)
    uint32_t queue_tail = no_frame;
    uint16_t queued = 0;
};

class neighbor_table {
public:
    static constexpr uint32_t npos = 0xffffffffu;

    explicit neighbor_table(uint32_t max_entries);

    // The slot holding `a`, or npos.
    uint32_t find(const net::ip_address& a) const noexcept;
    // A new entry for `a` (not present), state free and the rest zeroed (the
    // caller sets it up); npos when max_entries are in use.
    uint32_t insert(const net::ip_address& a) noexcept;
    // Removes the entry in `slot`; later entries of its chain may move back one
    // slot (so slot numbers are only valid until the next erase).
    void erase(uint32_t slot) noexcept;

    neighbor_entry& at(uint32_t slot) noexcept { return slots_[slot]; }
    const neighbor_entry& at(uint32_t slot) const noexcept { return slots_[slot]; }
    uint32_t slot_count() const noexcept { return static_cast<uint32_t>(slots_.size()); }
    uint32_t size() const noexcept { return size_; }
    uint32_t max_entries() const noexcept { return max_entries_; }

private:
    uint32_t home(const net::ip_address& a) const noexcept;

    std::vector<neighbor_entry> slots_;
    uint32_t mask_ = 0;
    uint32_t size_ = 0;
    uint32_t max_entries_ = 0;
};

} // namespace egress::gateway
