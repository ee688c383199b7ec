// Fragments of tracked flows, without reassembly ("virtual reassembly"): the
// gateway forwards every fragment as a fragment (the path MTU stays honoured),
// but only the first fragment carries the L4 header that finds the flow. This
// table remembers, per fragmented datagram, which flow its first fragment
// belonged to, so the later fragments are translated and accounted the same
// way; it keeps copies of fragments that arrive before their first fragment
// until it comes; and it refuses fragments whose byte ranges overlap or
// contradict the datagram's end.
//
// A datagram is keyed by (direction, source, destination, identification,
// protocol) as it arrives: IPv4 by RFC 791's tuple, IPv6 by RFC 8200's
// (source, destination, identification; protocol 0). Each entry records the
// byte ranges seen (at most max_fragments_per_datagram) and the end of the
// datagram once its last fragment is seen:
//   * a range equal to one seen before: fragment_duplicate (only that fragment
//     is dropped);
//   * a range overlapping one seen before: fragment_overlap (RFC 5722 for
//     IPv6; IPv4 is treated the same), the whole datagram is dropped;
//   * a second, different end, a range past the end, or an end before a range
//     seen: fragment_bad_end, the datagram is dropped;
//   * more than max_fragments_per_datagram fragments: fragment_too_many, dropped.
// A dropped datagram keeps its entry until its timeout, so its later
// fragments are dropped too (fragment_datagram_dropped), and its held copies
// are freed at once (each counted as fragment_datagram_dropped).
//
// Lifetime: an entry lives timeout_ms from its first fragment (whichever came
// first), never refreshed; it is freed early once every byte of a forwarded
// datagram was seen. The gateway's sweep (expire) frees expired entries;
// their held copies count as fragment_timeout.
//
// Memory, all taken at construction (nothing allocates afterwards):
//   * max_datagrams entries (~72 B) and a power-of-two bucket array (4 B each,
//     at least max_datagrams);
//   * 4 B per entry and allowed fragment for the ranges;
//   * max_held_bytes / hold_slot_bytes hold slots, each one frame of up to
//     outbox::max_frame bytes (a held frame is sent later from the outbox).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "flow/flow_record.hpp"
#include "gateway/outbox.hpp"
#include "net/ip_address.hpp"
#include "stats/counters.hpp"

namespace egress::gateway {

struct fragment_settings {
    uint32_t max_datagrams = 4096;           // datagrams tracked at once; 0: every fragment is dropped
    uint32_t timeout_ms = 2000;              // lifetime of a datagram's entry from its first fragment seen
    uint32_t max_fragments_per_datagram = 64;
    uint64_t max_held_bytes = 4u << 20;      // memory for fragments waiting for their first fragment
};

struct fragment_key {
    net::ip_address src;
    net::ip_address dst;
    uint32_t id = 0;
    uint8_t proto = 0; // IPv4 protocol; 0 for IPv6
    flow::direction dir = flow::direction::outbound;

    friend bool operator==(const fragment_key&, const fragment_key&) = default;
};

// The datagram's hash, for the tracker's buckets and the workers' fragment steering.
uint32_t hash_of(const fragment_key& k) noexcept;

enum class datagram_state : uint8_t {
    waiting,    // its first fragment has not been seen: later fragments are held
    forwarding, // the first fragment passed: later fragments follow its flow
    dropped,    // refused: its remaining fragments are dropped
};

class fragment_tracker {
public:
    static constexpr uint32_t npos = UINT32_MAX;
    static constexpr std::size_t hold_slot_bytes = outbox::max_frame;

    // Counts held copies it discards (fragment_timeout, fragment_datagram_dropped)
    // and its own totals into `counters`.
    fragment_tracker(const fragment_settings& s, stats::worker_counters& counters);

    bool enabled() const noexcept { return capacity_ != 0; }

    // Finds (or creates, in state waiting) the datagram of `key` and records
    // the fragment's byte range [offset, offset + length); `more`: more
    // fragments follow. no_drop: the fragment belongs to datagram `entry`, whose
    // state says what to do with it. Otherwise the reason to drop it:
    // fragment_table_full, fragment_datagram_dropped, fragment_duplicate,
    // fragment_overlap / fragment_bad_end / fragment_too_many (these drop the
    // whole datagram).
    stats::drop_reason accept(const fragment_key& key, uint16_t offset, uint16_t length, bool more, uint32_t now,
                              uint32_t& entry) noexcept;

    datagram_state state(uint32_t entry) const noexcept { return entries_[entry].state; }
    uint32_t flow(uint32_t entry) const noexcept { return entries_[entry].flow; }
    const fragment_key& key(uint32_t entry) const noexcept { return entries_[entry].key; }

    // The first fragment passed as part of flow `flow_index`.
    void forward(uint32_t entry, uint32_t flow_index) noexcept;
    // Drops the datagram: its held copies are freed (fragment_datagram_dropped).
    void drop(uint32_t entry) noexcept;
    // Keeps a copy of `frame` until the first fragment comes; false (nothing
    // kept) when the frame is larger than a slot or no slot is free.
    bool hold(uint32_t entry, std::span<const uint8_t> frame) noexcept;
    // Calls f(std::span<const uint8_t>) for each held copy in arrival order,
    // then frees them.
    template <class F>
    void release(uint32_t entry, F&& f) noexcept;
    // The IPv4 identification the datagram leaves with (see nat_stage::next_ip_id):
    // chosen by `pick()` for its first fragment to leave, the same for the others.
    template <class Pick>
    uint16_t outbound_id(uint32_t entry, Pick&& pick) noexcept {
        entry_t& e = entries_[entry];
        if (!e.id_chosen) {
            e.outbound_id = pick();
            e.id_chosen = true;
        }
        return e.outbound_id;
    }
    // Frees the entry of a forwarded datagram whose every byte has been seen.
    void finish_if_complete(uint32_t entry) noexcept;

    // Examines up to `budget` entries from a rotating cursor and frees the
    // expired ones (their held copies count as fragment_timeout).
    void expire(uint32_t now, uint32_t budget) noexcept;

    uint32_t active() const noexcept { return active_; }
    uint32_t held() const noexcept { return held_; }
    uint32_t capacity() const noexcept { return capacity_; }
    uint32_t hold_slots() const noexcept { return static_cast<uint32_t>(slot_next_.size()); }

private:
    struct entry_t {
        fragment_key key;
        uint32_t next = npos;      // hash chain or free list
        uint32_t flow = npos;
        uint32_t expires_at = 0;
        uint32_t held_head = npos; // hold slots, in arrival order
        uint32_t held_tail = npos;
        uint32_t covered = 0;      // bytes in the recorded ranges (they never overlap)
        uint16_t end = 0;          // the datagram's length, once its last fragment was seen
        uint16_t ranges = 0;
        uint16_t max_end = 0;      // largest range end seen
        uint16_t outbound_id = 0;  // the identification it leaves with, once id_chosen
        bool id_chosen = false;
        bool end_known = false;
        bool used = false;
        datagram_state state = datagram_state::waiting;
    };

    uint32_t bucket_of(const fragment_key& k) const noexcept;
    uint32_t find(const fragment_key& k, uint32_t bucket) const noexcept;
    void unlink(uint32_t entry) noexcept;
    void free_held(uint32_t entry, stats::drop_reason why) noexcept;
    stats::drop_reason refuse(uint32_t entry, stats::drop_reason why) noexcept;

    stats::worker_counters& counters_;
    uint32_t capacity_;
    uint32_t timeout_ms_;
    uint32_t max_ranges_;
    uint32_t bucket_mask_ = 0;
    std::vector<entry_t> entries_;
    std::vector<uint32_t> buckets_;
    std::vector<uint32_t> ranges_;    // per entry, max_ranges_ of (begin << 16 | end - 1)
    std::vector<uint8_t> slot_data_;  // hold slots of hold_slot_bytes
    std::vector<uint16_t> slot_length_;
    std::vector<uint32_t> slot_next_; // next held slot of the same datagram, or the free list
    uint32_t free_entry_ = npos;
    uint32_t free_slot_ = npos;
    uint32_t cursor_ = 0;
    uint32_t active_ = 0;
    uint32_t held_ = 0;
};

template <class F>
void fragment_tracker::release(uint32_t entry, F&& f) noexcept {
    entry_t& e = entries_[entry];
    for (uint32_t s = e.held_head; s != npos;) {
        const uint32_t next = slot_next_[s];
        f(std::span<const uint8_t>(slot_data_.data() + std::size_t{s} * hold_slot_bytes, slot_length_[s]));
        slot_next_[s] = free_slot_;
        free_slot_ = s;
        --held_;
        s = next;
    }
    e.held_head = e.held_tail = npos;
}

} // namespace egress::gateway
