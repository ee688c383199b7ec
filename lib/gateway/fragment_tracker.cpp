#include "gateway/fragment_tracker.hpp"

#include <cstring>
#include <stdexcept>

#include "base/hash.hpp"
#include "flow/flow_record.hpp"

namespace egress::gateway {

using stats::drop_reason;
using stats::no_drop;

namespace {

uint32_t power_of_two_at_least(uint32_t n) {
    uint32_t p = 1;
    while (p < n) p <<= 1;
    return p;
}

} // namespace

fragment_tracker::fragment_tracker(const fragment_settings& s, stats::worker_counters& counters)
    : counters_(counters),
      capacity_(s.max_datagrams),
      timeout_ms_(s.timeout_ms),
      max_ranges_(s.max_fragments_per_datagram) {
    if (capacity_ == 0) return;
    if (max_ranges_ < 2 || max_ranges_ > 8192) throw std::invalid_argument("max_fragments_per_datagram out of range");
    const uint32_t bucket_count = power_of_two_at_least(capacity_);
    bucket_mask_ = bucket_count - 1;
    entries_.resize(capacity_);
    buckets_.assign(bucket_count, npos);
    ranges_.resize(std::size_t{capacity_} * max_ranges_);
    for (uint32_t i = capacity_; i-- > 0;) {
        entries_[i].next = free_entry_;
        free_entry_ = i;
    }
    const uint64_t slots = s.max_held_bytes / hold_slot_bytes;
    const uint32_t slot_count = slots > UINT32_MAX - 1 ? UINT32_MAX - 1 : static_cast<uint32_t>(slots);
    slot_data_.resize(std::size_t{slot_count} * hold_slot_bytes);
    slot_length_.resize(slot_count);
    slot_next_.resize(slot_count);
    for (uint32_t i = slot_count; i-- > 0;) {
        slot_next_[i] = free_slot_;
        free_slot_ = i;
    }
}

uint32_t hash_of(const fragment_key& k) noexcept {
    const uint8_t* s = k.src.bytes.data();
    const uint8_t* d = k.dst.bytes.data();
    uint64_t h = base::mum(base::load64(s) ^ 0x9e3779b97f4a7c15ULL, base::load64(s + 8) ^ k.id);
    h = base::mum(h ^ base::load64(d), base::load64(d + 8) ^ (uint64_t{k.proto} << 8 | static_cast<uint8_t>(k.dir)));
    return static_cast<uint32_t>(h ^ (h >> 32));
}

uint32_t fragment_tracker::bucket_of(const fragment_key& k) const noexcept { return hash_of(k) & bucket_mask_; }

uint32_t fragment_tracker::find(const fragment_key& k, uint32_t bucket) const noexcept {
    for (uint32_t i = buckets_[bucket]; i != npos; i = entries_[i].next)
        if (entries_[i].key == k) return i;
    return npos;
}

// Takes the entry out of its hash chain and puts it on the free list.
void fragment_tracker::unlink(uint32_t entry) noexcept {
    entry_t& e = entries_[entry];
    uint32_t* link = &buckets_[bucket_of(e.key)];
    while (*link != entry) link = &entries_[*link].next;
    *link = e.next;
    e.used = false;
    e.next = free_entry_;
    free_entry_ = entry;
    --active_;
}

void fragment_tracker::free_held(uint32_t entry, drop_reason why) noexcept {
    release(entry, [&](std::span<const uint8_t>) { counters_.count_drop(why); });
}

drop_reason fragment_tracker::refuse(uint32_t entry, drop_reason why) noexcept {
    drop(entry);
    return why;
}

drop_reason fragment_tracker::accept(const fragment_key& key, uint16_t offset, uint16_t length, bool more,
                                     uint32_t now, uint32_t& entry) noexcept {
    if (capacity_ == 0) return drop_reason::fragment_table_full;
    const uint32_t bucket = bucket_of(key);
    uint32_t i = find(key, bucket);
    if (i != npos && flow::time_reached(now, entries_[i].expires_at)) {
        free_held(i, drop_reason::fragment_timeout);
        ++counters_.fragment_datagrams_expired;
        unlink(i);
        i = npos;
    }
    if (i == npos) {
        if (free_entry_ == npos) return drop_reason::fragment_table_full;
        i = free_entry_;
        entry_t& e = entries_[i];
        free_entry_ = e.next;
        e = entry_t{};
        e.key = key;
        e.used = true;
        e.expires_at = now + timeout_ms_;
        e.next = buckets_[bucket];
        buckets_[bucket] = i;
        ++active_;
        ++counters_.fragment_datagrams;
    }
    entry = i;
    entry_t& e = entries_[i];
    if (e.state == datagram_state::dropped) return drop_reason::fragment_datagram_dropped;

    const uint32_t begin = offset;
    const uint32_t end = uint32_t{offset} + length;
    if (!more) {
        if ((e.end_known && e.end != end) || e.max_end > end) return refuse(i, drop_reason::fragment_bad_end);
    } else if (e.end_known && end > e.end) {
        return refuse(i, drop_reason::fragment_bad_end);
    }
    uint32_t* ranges = &ranges_[std::size_t{i} * max_ranges_];
    for (uint32_t r = 0; r < e.ranges; ++r) {
        const uint32_t b = ranges[r] >> 16;
        const uint32_t last = ranges[r] & 0xffffu; // inclusive
        if (b == begin && last + 1 == end) return drop_reason::fragment_duplicate;
        if (begin <= last && b < end) return refuse(i, drop_reason::fragment_overlap);
    }
    if (e.ranges == max_ranges_) return refuse(i, drop_reason::fragment_too_many);
    ranges[e.ranges++] = begin << 16 | (end - 1);
    e.covered += length;
    if (end > e.max_end) e.max_end = static_cast<uint16_t>(end);
    if (!more) {
        e.end_known = true;
        e.end = static_cast<uint16_t>(end);
    }
    return no_drop;
}

void fragment_tracker::forward(uint32_t entry, uint32_t flow_index) noexcept {
    entries_[entry].state = datagram_state::forwarding;
    entries_[entry].flow = flow_index;
}

void fragment_tracker::drop(uint32_t entry) noexcept {
    entries_[entry].state = datagram_state::dropped;
    free_held(entry, drop_reason::fragment_datagram_dropped);
}

bool fragment_tracker::hold(uint32_t entry, std::span<const uint8_t> frame) noexcept {
    if (free_slot_ == npos || frame.size() > hold_slot_bytes) return false;
    const uint32_t s = free_slot_;
    free_slot_ = slot_next_[s];
    std::memcpy(slot_data_.data() + std::size_t{s} * hold_slot_bytes, frame.data(), frame.size());
    slot_length_[s] = static_cast<uint16_t>(frame.size());
    slot_next_[s] = npos;
    entry_t& e = entries_[entry];
    if (e.held_tail == npos) {
        e.held_head = s;
    } else {
        slot_next_[e.held_tail] = s;
    }
    e.held_tail = s;
    ++held_;
    ++counters_.fragments_held;
    return true;
}

void fragment_tracker::finish_if_complete(uint32_t entry) noexcept {
    const entry_t& e = entries_[entry];
    if (e.state != datagram_state::forwarding || !e.end_known || e.covered != e.end) return;
    ++counters_.fragment_datagrams_completed;
    unlink(entry);
}

void fragment_tracker::expire(uint32_t now, uint32_t budget) noexcept {
    const uint32_t steps = budget < capacity_ ? budget : capacity_;
    for (uint32_t n = 0; n < steps; ++n) {
        const uint32_t i = cursor_;
        cursor_ = cursor_ + 1 == capacity_ ? 0 : cursor_ + 1;
        if (!entries_[i].used || !flow::time_reached(now, entries_[i].expires_at)) continue;
        free_held(i, drop_reason::fragment_timeout);
        ++counters_.fragment_datagrams_expired;
        unlink(i);
    }
}

} // namespace egress::gateway
