// Where a dispatching worker sends the fragments of one datagram.
//
// Only a datagram's first fragment carries the transport header steering needs
// to name the flow's owner; the later ones would stay on the worker that
// received them, whose fragment tracker never sees the first fragment. So the
// dispatching worker remembers, per datagram (fragment_key: source,
// destination, identification, IPv4 protocol, direction), the owner it sent
// the first fragment to, and sends the later fragments after it.
//
// One instance per dispatching worker, used by that worker only. That is
// enough because the fragments of a datagram reach one dispatcher: an RSS NIC
// hashes fragments (first and later alike) by their addresses only, so they
// share an RX queue; on single-queue devices (pcap, many VFs) worker 0 reads
// everything; af_packet fan-out hashes fragments by addresses too.
//
// A later fragment that arrives before its first (no entry yet) is held here,
// briefly: the caller keeps the frame and passes an opaque handle; when the
// first fragment comes, release() gives the handles back in arrival order and
// the caller sends them to the same owner, right after the first fragment. A
// held frame whose first fragment does not come within the lifetime comes back
// through expire() (the caller drops it: fragment_timeout). When every hold
// slot is taken, or the datagram has hold_per_datagram held already, place()
// answers with the dispatcher itself: the fragment stays where it arrived (its
// tracker holds it), as without this cache.
//
// Fixed size, everything allocated at construction: `entries` (rounded up to
// a power of two, at least 4) in sets of 4 ways, an entry lives `lifetime_ms`
// from when it was made (not refreshed), a new entry takes an expired or free
// way, else the way that expires first among those holding no frames; a set
// whose 4 ways all hold frames takes no new datagram (the fragment stays).
// DPDK-free.
#pragma once

#include <cstdint>
#include <vector>

#include "gateway/steering.hpp"

namespace egress::gateway {

struct fragment_steering_settings {
    uint16_t self = 0;              // the dispatching worker
    uint32_t entries = 4096;        // datagrams remembered at once
    uint32_t lifetime_ms = 2000;    // the fragment tracker's timeout: a datagram is not older
    uint32_t hold_slots = 64;       // later fragments held before their first, in all
    uint16_t hold_per_datagram = 16;
};

class fragment_steering {
public:
    static constexpr uint32_t npos = UINT32_MAX;

    struct decision {
        uint16_t owner = steering::any; // where the frame goes (self included); any: it is held (see place)
        uint32_t release = npos;        // a first fragment whose later fragments were held: release(release)
    };

    explicit fragment_steering(const fragment_steering_settings& s);

    // A fragment this worker received (f.fragment set by steering::owner),
    // `owner` being what steering::owner said (any for later fragments):
    //   first fragment: remembered with its owner (any: the dispatcher keeps
    //     it); returns that owner, and `release` when later fragments of the
    //     datagram wait here: send those after it (release());
    //   later fragment: the remembered owner; with none yet, the frame is held
    //     (owner any: `handle` is kept, the caller keeps the frame), or when
    //     it cannot be, it stays here (owner self).
    decision place(const fragment_info& f, uint16_t owner, void* handle, uint32_t now) noexcept;
    // Calls fn(void* handle) for each later fragment held for the datagram
    // (entry from decision::release), in arrival order, and frees their slots.
    template <class F>
    void release(uint32_t entry, F&& fn) noexcept;
    // Frees the slots of held fragments whose datagram's lifetime has passed,
    // calling fn(void* handle) for each; looks at up to `budget` slots.
    template <class F>
    void expire(uint32_t now, uint32_t budget, F&& fn) noexcept;
    // Shutdown: fn(handle) for every held fragment, all slots freed.
    template <class F>
    void release_all(F&& fn) noexcept;

    // The owner remembered for a datagram (any: none, or no first fragment yet).
    uint16_t remembered(const fragment_key& k, uint32_t now) const noexcept {
        const uint32_t i = find(k, now);
        return i == npos ? steering::any : entries_[i].owner;
    }
    uint32_t held() const noexcept { return held_; }
    uint32_t capacity() const noexcept { return static_cast<uint32_t>(entries_.size()); }

private:
    static constexpr uint32_t ways = 4;
    struct entry_t {
        fragment_key key;
        uint32_t expires_at = 0;
        uint32_t held_head = npos, held_tail = npos;
        uint16_t owner = steering::any; // any: no first fragment seen yet
        uint16_t held = 0;
        bool used = false;
    };

    uint32_t set_of(const fragment_key& k) const noexcept;
    bool live(const entry_t& e, uint32_t now) const noexcept {
        return e.used && static_cast<int32_t>(e.expires_at - now) > 0;
    }
    uint32_t find(const fragment_key& k, uint32_t now) const noexcept;
    uint32_t make(const fragment_key& k, uint32_t now) noexcept;
    uint32_t pop(entry_t& e) noexcept; // oldest held slot of e, freed; npos when none

    fragment_steering_settings settings_;
    uint32_t set_mask_ = 0;
    std::vector<entry_t> entries_;
    std::vector<void*> slot_handle_;
    std::vector<uint32_t> slot_next_;  // next held slot of the same datagram, or the free list
    std::vector<uint32_t> slot_entry_; // npos: free
    uint32_t free_slot_ = npos;
    uint32_t held_ = 0;
    uint32_t cursor_ = 0;
};

template <class F>
void fragment_steering::release(uint32_t entry, F&& fn) noexcept {
    entry_t& e = entries_[entry];
    for (uint32_t s = pop(e); s != npos; s = pop(e)) fn(slot_handle_[s]);
}

template <class F>
void fragment_steering::expire(uint32_t now, uint32_t budget, F&& fn) noexcept {
    const uint32_t n = static_cast<uint32_t>(slot_entry_.size());
    for (uint32_t i = 0; held_ != 0 && i < budget && i < n; ++i) {
        const uint32_t s = cursor_;
        cursor_ = cursor_ + 1 == n ? 0 : cursor_ + 1;
        if (slot_entry_[s] == npos) continue;
        entry_t& e = entries_[slot_entry_[s]];
        if (live(e, now)) continue;
        release(slot_entry_[s], fn); // every fragment of that datagram, not only this slot's
        e.used = false;
    }
}

template <class F>
void fragment_steering::release_all(F&& fn) noexcept {
    for (uint32_t s = 0; s < slot_entry_.size(); ++s)
        if (slot_entry_[s] != npos) release(slot_entry_[s], fn);
}

} // namespace egress::gateway
