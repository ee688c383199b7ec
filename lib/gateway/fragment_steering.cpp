#include "gateway/fragment_steering.hpp"

namespace egress::gateway {

fragment_steering::fragment_steering(const fragment_steering_settings& s) : settings_(s) {
    uint32_t n = ways;
    while (n < s.entries && n < (1u << 24)) n <<= 1;
    entries_.resize(n);
    set_mask_ = n / ways - 1;
    slot_handle_.assign(s.hold_slots, nullptr);
    slot_next_.assign(s.hold_slots, npos);
    slot_entry_.assign(s.hold_slots, npos);
    for (uint32_t i = s.hold_slots; i-- > 0;) {
        slot_next_[i] = free_slot_;
        free_slot_ = i;
    }
}

uint32_t fragment_steering::set_of(const fragment_key& k) const noexcept { return hash_of(k) & set_mask_; }

uint32_t fragment_steering::find(const fragment_key& k, uint32_t now) const noexcept {
    const uint32_t base = set_of(k) * ways;
    for (uint32_t i = base; i < base + ways; ++i)
        if (live(entries_[i], now) && entries_[i].key == k) return i;
    return npos;
}

// A new entry for k: a free or expired way, else the one holding no frames
// that expires first; npos when every way holds frames.
uint32_t fragment_steering::make(const fragment_key& k, uint32_t now) noexcept {
    const uint32_t base = set_of(k) * ways;
    uint32_t pick = npos;
    for (uint32_t i = base; i < base + ways; ++i) {
        const entry_t& e = entries_[i];
        if (!live(e, now) && e.held == 0) {
            pick = i;
            break;
        }
        if (e.held == 0 && (pick == npos || static_cast<int32_t>(e.expires_at - entries_[pick].expires_at) < 0))
            pick = i;
    }
    if (pick == npos) return npos;
    entry_t& e = entries_[pick];
    e = entry_t{};
    e.key = k;
    e.used = true;
    e.expires_at = now + settings_.lifetime_ms;
    return pick;
}

uint32_t fragment_steering::pop(entry_t& e) noexcept {
    const uint32_t s = e.held_head;
    if (s == npos) return npos;
    e.held_head = slot_next_[s];
    if (e.held_head == npos) e.held_tail = npos;
    --e.held;
    --held_;
    slot_entry_[s] = npos;
    slot_next_[s] = free_slot_;
    free_slot_ = s;
    return s;
}

fragment_steering::decision fragment_steering::place(const fragment_info& f, uint16_t owner, void* handle,
                                                     uint32_t now) noexcept {
    decision d;
    uint32_t i = find(f.key, now);
    if (f.first) {
        d.owner = owner == steering::any ? settings_.self : owner;
        if (i == npos) i = make(f.key, now);
        if (i == npos) return d; // a full set: its later fragments will stay where they arrive
        entry_t& e = entries_[i];
        e.owner = d.owner;
        if (e.held != 0) d.release = i;
        return d;
    }
    if (i != npos && entries_[i].owner != steering::any) {
        d.owner = entries_[i].owner;
        return d;
    }
    // Before its first fragment: held, when there is room.
    if (free_slot_ != npos && i == npos) i = make(f.key, now);
    if (i == npos || free_slot_ == npos || entries_[i].held >= settings_.hold_per_datagram) {
        d.owner = settings_.self;
        return d;
    }
    entry_t& e = entries_[i];
    const uint32_t s = free_slot_;
    free_slot_ = slot_next_[s];
    slot_handle_[s] = handle;
    slot_entry_[s] = i;
    slot_next_[s] = npos;
    if (e.held_tail == npos) {
        e.held_head = s;
    } else {
        slot_next_[e.held_tail] = s;
    }
    e.held_tail = s;
    ++e.held;
    ++held_;
    d.owner = steering::any;
    return d;
}

} // namespace egress::gateway
