// The connection-tracking table of one worker: fixed capacity, preallocated once,
// one 64-byte record per flow, found from either direction's key.
//
// Memory (per unit of capacity, 4 KiB pages or hugepages alike):
//   records       64 B   flow_record array, index = flow id (u32)
//   index         20 B   ceil(2 * capacity * 1.25 / 8) buckets of 64 B
//   side          32 B   flow_side array: bytes per direction since the last
//                        report (8 B) and the TCP window state (24 B)
//   free list      0 B   threaded through the free records themselves
//   total     ~= 116 B   (small tables round the bucket count up)
// The window state does not fit the 96 B budget that held before window
// tracking (92 B): the 64-byte record is full and the state needs 24 B (two
// sides of end, maxack, maxwin, scale; tcp_window.hpp), so it lives in the side
// array the gateway already prefetches per packet, which keeps it off the
// record's cache line and costs no extra line; 116 B stays under the 128 B cap.
//
// Index: every bucket is one cache line of 8 slots {u32 signature, u32 value}
// (stored as 8 signatures then 8 values, so one 32-byte compare scans a bucket),
// value = record index << 1 | direction, signature 0 = empty. A key has two
// candidate buckets chosen by the two 32-bit halves of a 64-bit hash with the
// multiply-shift range reduction (bucket count is not a power of two). Each flow
// owns two slots: its outbound key and its inbound key. A lookup reads at most
// two buckets and, on a signature match, the record, whose key fields are
// compared for the slot's direction.
//
// Measured on the 2-vCPU dev VM (4 KiB pages, 32-key bursts, random flows):
// ~45 TSC clocks per lookup with the table in cache, ~65 at 10k flows, ~140 at
// 1M flows; insert ~200 clocks at 10k flows, ~650 at 1M.
//
// Insertion puts a key in the less loaded of its two buckets. When both are full
// it makes ONE relocation hop: a resident key of either bucket whose other
// candidate has room moves there (its record is re-hashed to find it). Without
// that hop two-choice hashing at the 80 % slot load of a full table overflows
// buckets from about 85 % of capacity at 1M flows (simulated); with it, a full
// table keeps accepting flows under churn. Nothing is ever evicted: insert
// returns npos when no record is free or no hop is possible.
//
// Outbound key = (proto, inside, inside_port, remote, remote_port).
// Inbound key  = (proto, remote, remote_port, public, public_port), where public
// is the SNAT address:port for IPv4 and the inside address:port for IPv6.
// Both are expressed as a flow_key laid out as the packet arrives (src first).
//
// Single-threaded: each worker owns its table (no locks).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory_resource>

#include "flow/flow_record.hpp"
#include "flow/tcp_window.hpp"
#include "net/ip_address.hpp"

namespace egress::flow {

// A packet's lookup key as it arrives: outbound src = inside host; inbound
// src = remote peer, dst = public address (the inside address for IPv6).
struct flow_key {
    net::ip_address src;
    net::ip_address dst;
    uint16_t src_port = 0;
    uint16_t dst_port = 0;
    uint8_t proto = 0;

    friend bool operator==(const flow_key&, const flow_key&) = default;
};

// The keys a record is indexed under.
flow_key outbound_key_of(const flow_record& r) noexcept;
flow_key inbound_key_of(const flow_record& r) noexcept;
inline flow_key key_of(const flow_record& r, direction d) noexcept {
    return d == direction::outbound ? outbound_key_of(r) : inbound_key_of(r);
}

// Bytes since the flow's last report, per direction. 32 bits each: the gateway
// reports (and resets) a flow before either count could wrap.
struct flow_volume {
    uint32_t bytes_out = 0;
    uint32_t bytes_in = 0;
};

// What a cut flow's record will say about the cut (flow_flags::cut: denied once
// its name was known, by a setting, the hold's timeout, a reload, a block or
// DLP). A cut flow is no longer tracked (its packets are dropped before
// tcp_track), so this takes the place of its TCP window in the side entry
// (flow_table::tally / set_tally).
struct cut_tally {
    uint32_t dropped_packets = 0; // the flow's packets dropped from the cut on (held ones included)
    uint32_t dropped_bytes = 0;   // their IP octets
    uint32_t rule = UINT32_MAX;   // the deciding rule's index under policy `generation` (UINT32_MAX: none)
    uint16_t resets_sent = 0;     // TCP resets the gateway built for the flow, both ends
    uint8_t reason = 0;           // stats::drop_reason it was cut for
    uint8_t generation = 0;       // the policy generation that cut it
    uint8_t unused[8] = {};
};
static_assert(sizeof(cut_tally) == sizeof(tcp_window));

// A flow's data beside its record: per-packet but not needed for the lookup.
// 32-byte aligned, so one entry never straddles two cache lines.
struct alignas(32) flow_side {
    flow_volume volume;
    tcp_window window; // TCP only; zero for a new flow
};
static_assert(sizeof(flow_side) == 32);

class flow_table {
public:
    static constexpr uint32_t npos = UINT32_MAX;
    static constexpr uint32_t slots_per_bucket = 8;
    static constexpr uint32_t max_capacity = (1u << 31) - 1; // value = index << 1 | direction
    static constexpr uint32_t burst_chunk = 32;              // keys hashed/prefetched per round
    // Keys between the stages of lookup_burst: a key's buckets are prefetched
    // D keys before its signatures are read, its record D keys before it is
    // compared. D is the whole chunk: all 32 keys are hashed (their buckets
    // prefetched), then all matched (their records prefetched), then all
    // compared, so each miss has the rest of the chunk's work (~30 clocks a
    // key) to arrive. A shorter distance keeps fewer lines in flight (8: 16
    // bucket and 8 record lines, about the L1 misses a core tracks at once)
    // but was slower here: against 8, in one session, CPU time per 32-frame
    // burst 2,384 vs 2,540 ns at 10k flows and 3,149 vs 3,424 ns at 1M
    // (bench/README.md, "Staging inside gateway_core"). The stages are one
    // loop for any D (lookup_burst), so another machine can try another.
    static constexpr uint32_t lookup_distance = burst_chunk;
    static constexpr uint64_t default_seed = 0x6a09e667f3bcc909ULL;

    // Allocates everything once from mr (throws std::bad_alloc from mr, and
    // std::invalid_argument when capacity is 0 or above max_capacity).
    explicit flow_table(uint32_t capacity,
                        std::pmr::memory_resource* mr = std::pmr::new_delete_resource(),
                        uint64_t seed = default_seed);
    ~flow_table();
    flow_table(const flow_table&) = delete;
    flow_table& operator=(const flow_table&) = delete;

    // Index of the flow whose d-direction key equals k, or npos.
    uint32_t lookup(const flow_key& k, direction d) const noexcept;

    // out[i] = lookup(keys[i], dirs[i]) for i < n, staged over the keys: hash
    // and prefetch both buckets of each; lookup_distance keys later match its
    // signatures and prefetch its first candidate record; lookup_distance
    // keys later again compare it (and, with_side, prefetch the hit's side
    // entry for writing: byte counts, TCP window). The misses of a burst
    // overlap instead of queueing.
    void lookup_burst(const flow_key* keys, const direction* dirs, uint32_t n, uint32_t* out,
                      bool with_side = false) const noexcept;

    // Stores r (flags gain flow_flags::live) and indexes both its keys. Returns
    // the record index, or npos when no record is free or a key finds no slot.
    // The caller guarantees neither key is already present (lookup missed, and
    // the NAT allocator checked contains_inbound).
    uint32_t insert(const flow_record& r) noexcept;

    // Removes both keys of live record idx and frees the record.
    void erase(uint32_t idx) noexcept;

    flow_record& at(uint32_t idx) noexcept { return records_[idx]; }
    // Byte counts of record idx (a side array: cold data stays out of the record).
    flow_volume& volume(uint32_t idx) noexcept { return side_[idx].volume; }
    const flow_volume& volume(uint32_t idx) const noexcept { return side_[idx].volume; }
    // TCP window state of record idx, in the same side entry as its byte counts.
    tcp_window& window(uint32_t idx) noexcept { return side_[idx].window; }
    const tcp_window& window(uint32_t idx) const noexcept { return side_[idx].window; }
    // A cut flow's tally, in its window's bytes (both are plain integers, so
    // the bytes copy either way).
    cut_tally tally(uint32_t idx) const noexcept {
        cut_tally t;
        std::memcpy(static_cast<void*>(&t), static_cast<const void*>(&side_[idx].window), sizeof t);
        return t;
    }
    void set_tally(uint32_t idx, const cut_tally& t) noexcept {
        std::memcpy(static_cast<void*>(&side_[idx].window), static_cast<const void*>(&t), sizeof t);
    }
    const flow_record& at(uint32_t idx) const noexcept { return records_[idx]; }

    uint32_t size() const noexcept { return size_; }
    uint32_t capacity() const noexcept { return capacity_; }
    uint32_t bucket_count() const noexcept { return bucket_count_; }
    size_t memory_bytes() const noexcept;

    // Is the IPv4 inbound key (proto, remote:remote_port -> public:public_port)
    // in use? The NAT port allocator's "taken" predicate.
    bool contains_inbound(uint8_t proto, const net::ip_address& remote, uint16_t remote_port,
                          uint32_t public_addr, uint16_t public_port) const noexcept;

    // Incremental expiry: visits min(budget, capacity) record slots from a
    // persistent cursor (wrapping). For each live record expired at now_ms calls
    // on_expired(idx, const flow_record&) and then erases it (the callback must
    // not erase or insert). Returns the number expired.
    // on_live(idx, flow_record&) is called for each live record visited that has
    // not expired (the gateway uses it for active-timeout reports).
    template <class F, class L>
    uint32_t sweep(uint32_t now_ms, uint32_t budget, F&& on_expired, L&& on_live) noexcept;
    template <class F>
    uint32_t sweep(uint32_t now_ms, uint32_t budget, F&& on_expired) noexcept {
        return sweep(now_ms, budget, on_expired, [](uint32_t, flow_record&) {});
    }

    // Calls f(idx, const flow_record&) for every live record (not for the packet
    // path: it walks the whole table; used at shutdown).
    template <class F>
    void for_each_live(F&& f) const { for_each_live_in(0, capacity_, f); }
    // The same over the record slots [begin, end) (an incremental walk: a
    // control-plane query scans the table a slice per worker loop).
    template <class F>
    void for_each_live_in(uint32_t begin, uint32_t end, F&& f) const;

    uint32_t sweep_cursor() const noexcept { return cursor_; }

private:
    // The 8 signatures first, then the 8 values: one 32-byte compare matches a
    // signature against the whole bucket.
    struct alignas(64) bucket {
        uint32_t sig[slots_per_bucket];
        uint32_t value[slots_per_bucket];
    };
    static_assert(sizeof(bucket) == 64);

    struct hashed {
        uint32_t b1;
        uint32_t b2;
        uint32_t sig;
    };

    hashed hash_key(const flow_key& k, direction d) const noexcept;
    bool matches(const flow_record& r, const flow_key& k, direction d) const noexcept;
    uint32_t find_in(const bucket& b, uint32_t sig, const flow_key& k, direction d) const noexcept;
    bool place(const hashed& h, uint32_t value) noexcept;
    bool relocate_one(uint32_t from) noexcept;
    void remove_slot(const hashed& h, uint32_t value) noexcept;

    static uint32_t candidates(const bucket& b, uint32_t sig, direction d) noexcept;
    static uint32_t load_of(const bucket& b) noexcept;

    std::pmr::memory_resource* mr_;
    uint64_t seed_;
    uint32_t capacity_;
    uint32_t bucket_count_;
    uint32_t size_ = 0;
    uint32_t free_head_ = npos; // first free record; each links the next in expires_at_ms
    uint32_t cursor_ = 0;
    flow_record* records_ = nullptr;
    bucket* buckets_ = nullptr;
    flow_side* side_ = nullptr;
};

template <class F, class L>
uint32_t flow_table::sweep(uint32_t now_ms, uint32_t budget, F&& on_expired, L&& on_live) noexcept {
    const uint32_t steps = budget < capacity_ ? budget : capacity_;
    uint32_t expired = 0;
    uint32_t c = cursor_;
    for (uint32_t i = 0; i < steps; ++i) {
        const uint32_t idx = c;
        c = (c + 1 == capacity_) ? 0 : c + 1;
        flow_record& r = records_[idx];
        if (!r.is_live()) continue;
        if (is_expired(r, now_ms)) {
            on_expired(idx, static_cast<const flow_record&>(r));
            erase(idx);
            ++expired;
        } else {
            on_live(idx, r);
        }
    }
    cursor_ = c;
    return expired;
}

template <class F>
void flow_table::for_each_live_in(uint32_t begin, uint32_t end, F&& f) const {
    if (end > capacity_) end = capacity_;
    for (uint32_t idx = begin; idx < end; ++idx)
        if (records_[idx].is_live()) f(idx, records_[idx]);
}

} // namespace egress::flow
