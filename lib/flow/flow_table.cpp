#include "flow/flow_table.hpp"

#include "base/hash.hpp"

#include <bit>
#include <cassert>
#include <cstddef>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <new>
#include <stdexcept>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

// The per-key helpers are inlined into lookup, lookup_burst and insert.
#define EGRESS_HOT [[gnu::always_inline]] inline

namespace egress::flow {

namespace {

using base::load32;
using base::load64;
using base::mum;
using base::reduce;

inline void prefetch(const void* p) noexcept { __builtin_prefetch(p, 0, 3); }

constexpr uint64_t k0 = 0xa0761d6478bd642fULL;
constexpr uint64_t k1 = 0xe7037ed1a0b428dbULL;
constexpr uint64_t k2 = 0x8ebc6af09c88c6e3ULL;
constexpr uint64_t k3 = 0x589965cc75374cc3ULL;
constexpr uint64_t k4 = 0x1d8e4e27c47d124fULL;
constexpr uint64_t k5 = 0x9e3779b97f4a7c15ULL;

// matches() compares these layouts word by word.
static_assert(offsetof(flow_key, src) == 0 && offsetof(flow_key, dst) == 16);
static_assert(offsetof(flow_key, src_port) == 32 && offsetof(flow_key, dst_port) == 34);
static_assert(offsetof(flow_record, inside) == 0 && offsetof(flow_record, remote) == 16);
static_assert(offsetof(flow_record, inside_port) == 32 && offsetof(flow_record, remote_port) == 34);

} // namespace

flow_key outbound_key_of(const flow_record& r) noexcept {
    return flow_key{r.inside, r.remote, r.inside_port, r.remote_port, r.proto};
}

flow_key inbound_key_of(const flow_record& r) noexcept {
    if (r.is_v4())
        return flow_key{r.remote, net::ip_address::from_v4(r.public_addr), r.remote_port, r.public_port, r.proto};
    return flow_key{r.remote, r.inside, r.remote_port, r.inside_port, r.proto};
}

flow_table::flow_table(uint32_t capacity, std::pmr::memory_resource* mr, uint64_t seed)
    : mr_(mr), seed_(seed), capacity_(capacity) {
    if (capacity == 0 || capacity > max_capacity)
        throw std::invalid_argument("flow_table: capacity must be in [1, 2^31-1]");
    // ceil(2 keys per flow * 1.25 slack / 8 slots)
    bucket_count_ = static_cast<uint32_t>((uint64_t{capacity} * 5 + 15) / 16);

    records_ = static_cast<flow_record*>(mr_->allocate(sizeof(flow_record) * capacity_, alignof(flow_record)));
    try {
        buckets_ = static_cast<bucket*>(mr_->allocate(sizeof(bucket) * bucket_count_, alignof(bucket)));
        try {
            side_ = static_cast<flow_side*>(mr_->allocate(sizeof(flow_side) * capacity_, alignof(flow_side)));
        } catch (...) {
            mr_->deallocate(buckets_, sizeof(bucket) * bucket_count_, alignof(bucket));
            throw;
        }
    } catch (...) {
        mr_->deallocate(records_, sizeof(flow_record) * capacity_, alignof(flow_record));
        throw;
    }

    std::uninitialized_value_construct_n(records_, capacity_);
    std::memset(static_cast<void*>(buckets_), 0, sizeof(bucket) * bucket_count_);
    std::uninitialized_value_construct_n(side_, capacity_);
    // The free list runs through the free records themselves (link in
    // expires_at_ms). Pop order 0, 1, 2, ...: a lightly used table stays dense.
    for (uint32_t i = 0; i < capacity_; ++i)
        records_[i].expires_at_ms = i + 1 < capacity_ ? i + 1 : npos;
    free_head_ = 0;
}

flow_table::~flow_table() {
    std::destroy_n(records_, capacity_);
    mr_->deallocate(side_, sizeof(flow_side) * capacity_, alignof(flow_side));
    mr_->deallocate(buckets_, sizeof(bucket) * bucket_count_, alignof(bucket));
    mr_->deallocate(records_, sizeof(flow_record) * capacity_, alignof(flow_record));
}

size_t flow_table::memory_bytes() const noexcept {
    return sizeof(flow_record) * size_t{capacity_} + sizeof(bucket) * size_t{bucket_count_} +
           sizeof(flow_side) * size_t{capacity_};
}

// Hash of the 37 key bytes plus the direction: three 128-bit multiplies, two of
// them independent. The low half picks bucket 1, the high half bucket 2, and a
// further multiply gives the signature (never 0: 0 marks an empty slot).
EGRESS_HOT flow_table::hashed flow_table::hash_key(const flow_key& k, direction d) const noexcept {
    const uint64_t s0 = load64(k.src.bytes.data());
    const uint64_t s1 = load64(k.src.bytes.data() + 8);
    const uint64_t d0 = load64(k.dst.bytes.data());
    const uint64_t d1 = load64(k.dst.bytes.data() + 8);
    const uint64_t tail = uint64_t{k.src_port} | (uint64_t{k.dst_port} << 16) | (uint64_t{k.proto} << 32) |
                          (uint64_t{static_cast<uint8_t>(d)} << 40);
    const uint64_t a = mum(s0 ^ seed_ ^ k0, s1 ^ k1);
    const uint64_t b = mum(d0 ^ k2, d1 ^ k3);
    const uint64_t h = mum(a ^ tail ^ k4, b ^ k5);
    uint32_t sig = static_cast<uint32_t>((h * k5) >> 32);
    sig += static_cast<uint32_t>(sig == 0);
    return hashed{reduce(static_cast<uint32_t>(h), bucket_count_), reduce(static_cast<uint32_t>(h >> 32), bucket_count_),
                  sig};
}

// Field-wise compare folded into one branch. The outbound key and the first 36
// bytes of the record share a layout (inside, remote, inside_port, remote_port),
// so that case is five word compares plus the protocol.
EGRESS_HOT bool flow_table::matches(const flow_record& r, const flow_key& k, direction d) const noexcept {
    const auto* rp = reinterpret_cast<const uint8_t*>(&r);
    const auto* kp = reinterpret_cast<const uint8_t*>(&k);
    if (d == direction::outbound) {
        const uint64_t x = (load64(rp) ^ load64(kp)) | (load64(rp + 8) ^ load64(kp + 8)) |
                           (load64(rp + 16) ^ load64(kp + 16)) | (load64(rp + 24) ^ load64(kp + 24)) |
                           (load32(rp + 32) ^ load32(kp + 32)) | uint64_t{static_cast<uint8_t>(r.proto ^ k.proto)};
        return x == 0;
    }
    // inbound: src = remote, dst = public (v4, mapped) or inside (v6)
    const bool v4 = r.is_v4();
    const uint8_t mapped[8] = {0, 0, 0xff, 0xff, static_cast<uint8_t>(r.public_addr >> 24),
                               static_cast<uint8_t>(r.public_addr >> 16), static_cast<uint8_t>(r.public_addr >> 8),
                               static_cast<uint8_t>(r.public_addr)};
    const uint64_t dst_lo = v4 ? 0 : load64(rp);
    const uint64_t dst_hi = v4 ? load64(mapped) : load64(rp + 8);
    const uint16_t dst_port = v4 ? r.public_port : r.inside_port;
    const uint64_t x = (load64(rp + 16) ^ load64(kp)) | (load64(rp + 24) ^ load64(kp + 8)) |
                       (dst_lo ^ load64(kp + 16)) | (dst_hi ^ load64(kp + 24)) |
                       uint64_t{static_cast<uint16_t>(r.remote_port ^ k.src_port)} |
                       uint64_t{static_cast<uint16_t>(dst_port ^ k.dst_port)} |
                       uint64_t{static_cast<uint8_t>(r.proto ^ k.proto)};
    return x == 0;
}

// Bit i set when slot i holds signature sig for direction d (value & 1 == d).
EGRESS_HOT uint32_t flow_table::candidates(const bucket& b, uint32_t sig, direction d) noexcept {
#if defined(__AVX2__)
    const __m256i sigs = _mm256_load_si256(reinterpret_cast<const __m256i*>(b.sig));
    const __m256i vals = _mm256_load_si256(reinterpret_cast<const __m256i*>(b.value));
    const __m256i eq_sig = _mm256_cmpeq_epi32(sigs, _mm256_set1_epi32(static_cast<int>(sig)));
    const __m256i eq_dir = _mm256_cmpeq_epi32(_mm256_and_si256(vals, _mm256_set1_epi32(1)),
                                              _mm256_set1_epi32(static_cast<int>(d)));
    return static_cast<uint32_t>(_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_and_si256(eq_sig, eq_dir))));
#else
    uint32_t m = 0;
    for (uint32_t i = 0; i < slots_per_bucket; ++i)
        m |= static_cast<uint32_t>(b.sig[i] == sig && (b.value[i] & 1u) == static_cast<uint32_t>(d)) << i;
    return m;
#endif
}

EGRESS_HOT uint32_t flow_table::load_of(const bucket& b) noexcept {
    uint32_t m = 0;
    for (uint32_t i = 0; i < slots_per_bucket; ++i)
        m |= static_cast<uint32_t>(b.sig[i] != 0) << i;
    return static_cast<uint32_t>(std::popcount(m));
}

EGRESS_HOT uint32_t flow_table::find_in(const bucket& b, uint32_t sig, const flow_key& k, direction d) const noexcept {
    for (uint32_t m = candidates(b, sig, d); m != 0; m &= m - 1) {
        const uint32_t v = b.value[std::countr_zero(m)];
        if (matches(records_[v >> 1], k, d))
            return v >> 1;
    }
    return npos;
}

uint32_t flow_table::lookup(const flow_key& k, direction d) const noexcept {
    const hashed h = hash_key(k, d);
    const uint32_t r = find_in(buckets_[h.b1], h.sig, k, d);
    if (r != npos || h.b2 == h.b1)
        return r;
    return find_in(buckets_[h.b2], h.sig, k, d);
}

// A pipeline over the keys (see lookup_distance in flow_table.hpp): in step s
// key s is hashed and its buckets prefetched, key s - D matches its signatures
// in those buckets (fetched by now) and prefetches its first candidate record,
// and key s - 2D is compared with that record (fetched by now) and, with
// with_side, its side entry is prefetched for the caller. D >= burst_chunk
// runs the three stages one after the other over the whole chunk.
void flow_table::lookup_burst(const flow_key* keys, const direction* dirs, uint32_t n, uint32_t* out,
                              bool with_side) const noexcept {
    constexpr uint32_t d = lookup_distance;
    hashed hs[burst_chunk];
    uint32_t masks[burst_chunk]; // bits 0-7: bucket 1 candidates, bits 8-15: bucket 2 candidates
    uint32_t first[burst_chunk]; // slot value of the first candidate, npos when none
    for (uint32_t base = 0; base < n; base += burst_chunk) {
        const uint32_t m = (n - base < burst_chunk) ? n - base : burst_chunk;
        const flow_key* const k = keys + base;
        const direction* const dir = dirs + base;
        uint32_t* const found = out + base;
        // Stage 1: hash, prefetch both candidate buckets.
        const auto hash = [&](uint32_t j) {
            hs[j] = hash_key(k[j], dir[j]);
            prefetch(&buckets_[hs[j].b1]);
            prefetch(&buckets_[hs[j].b2]);
        };
        // Stage 2: match signatures (branch-free), prefetch the first candidate's record.
        const auto match = [&](uint32_t j) {
            const hashed& h = hs[j];
            const bucket& b1 = buckets_[h.b1];
            const bucket& b2 = buckets_[h.b2];
            const uint32_t m1 = candidates(b1, h.sig, dir[j]);
            const uint32_t m2 = candidates(b2, h.sig, dir[j]) & (h.b2 != h.b1 ? 0xffu : 0u);
            masks[j] = m1 | (m2 << slots_per_bucket);
            const bucket& fb = m1 != 0 ? b1 : b2;
            const uint32_t fm = m1 != 0 ? m1 : m2;
            const uint32_t v = fb.value[static_cast<uint32_t>(std::countr_zero(fm)) % slots_per_bucket];
            first[j] = fm != 0 ? v : npos;
            prefetch(&records_[fm != 0 ? v >> 1 : 0]);
        };
        // Stage 3: compare the key with the record. Only a signature collision
        // takes the loop over the other candidates.
        const auto compare = [&](uint32_t j) {
            const uint32_t v = first[j];
            uint32_t hit = npos;
            if (v != npos && matches(records_[v >> 1], k[j], dir[j])) {
                hit = v >> 1;
            } else if (std::popcount(masks[j]) > 1) {
                for (uint32_t mask = masks[j]; mask != 0; mask &= mask - 1) {
                    const uint32_t bit = static_cast<uint32_t>(std::countr_zero(mask));
                    const bucket& b = buckets_[bit < slots_per_bucket ? hs[j].b1 : hs[j].b2];
                    const uint32_t w = b.value[bit % slots_per_bucket];
                    if (matches(records_[w >> 1], k[j], dir[j])) {
                        hit = w >> 1;
                        break;
                    }
                }
            }
            found[j] = hit;
            if (with_side && hit != npos) __builtin_prefetch(&side_[hit], 1, 3);
        };
        for (uint32_t s = 0; s < m + 2 * d; ++s) {
            if (s < m) hash(s);
            if (s >= d && s - d < m) match(s - d);
            if (s >= 2 * d && s - 2 * d < m) compare(s - 2 * d);
        }
    }
}

// Moves one resident key of bucket `from` to its other candidate bucket if that
// one has room. Re-hashes the residents from their records (prefetched first).
bool flow_table::relocate_one(uint32_t from) noexcept {
    bucket& src = buckets_[from];
    for (uint32_t i = 0; i < slots_per_bucket; ++i)
        prefetch(&records_[src.value[i] >> 1]);
    uint32_t alt[slots_per_bucket];
    for (uint32_t i = 0; i < slots_per_bucket; ++i) {
        const uint32_t v = src.value[i];
        const direction d = static_cast<direction>(v & 1u);
        const hashed h = hash_key(key_of(records_[v >> 1], d), d);
        alt[i] = (h.b1 == from) ? h.b2 : h.b1;
        prefetch(&buckets_[alt[i]]);
    }
    for (uint32_t i = 0; i < slots_per_bucket; ++i) {
        if (alt[i] == from)
            continue;
        bucket& dst = buckets_[alt[i]];
        for (uint32_t j = 0; j < slots_per_bucket; ++j) {
            if (dst.sig[j] == 0) {
                dst.sig[j] = src.sig[i];
                dst.value[j] = src.value[i];
                src.sig[i] = 0;
                src.value[i] = 0;
                return true;
            }
        }
    }
    return false;
}

bool flow_table::place(const hashed& h, uint32_t value) noexcept {
    uint32_t target = load_of(buckets_[h.b1]) <= load_of(buckets_[h.b2]) ? h.b1 : h.b2;
    if (load_of(buckets_[target]) == slots_per_bucket) {
        if (relocate_one(h.b1))
            target = h.b1;
        else if (h.b2 != h.b1 && relocate_one(h.b2))
            target = h.b2;
        else
            return false;
    }
    bucket& b = buckets_[target];
    for (uint32_t j = 0; j < slots_per_bucket; ++j) {
        if (b.sig[j] == 0) {
            b.sig[j] = h.sig;
            b.value[j] = value;
            return true;
        }
    }
    return false; // unreachable: target has room
}

void flow_table::remove_slot(const hashed& h, uint32_t value) noexcept {
    for (const uint32_t bi : {h.b1, h.b2}) {
        bucket& b = buckets_[bi];
        for (uint32_t j = 0; j < slots_per_bucket; ++j) {
            if (b.sig[j] == h.sig && b.value[j] == value) {
                b.sig[j] = 0;
                b.value[j] = 0;
                return;
            }
        }
    }
    assert(!"flow_table: index slot of a live record is missing");
}

uint32_t flow_table::insert(const flow_record& r) noexcept {
    if (free_head_ == npos)
        return npos;
    const uint32_t idx = free_head_;
    flow_record& rec = records_[idx];
    const uint32_t next_free = rec.expires_at_ms;
    rec = r;
    rec.flags |= flow_flags::live;
    const hashed ho = hash_key(outbound_key_of(rec), direction::outbound);
    const hashed hi = hash_key(inbound_key_of(rec), direction::inbound);
    const uint32_t vo = idx << 1;
    const uint32_t vi = (idx << 1) | 1u;
    if (!place(ho, vo)) {
        rec = flow_record{};
        rec.expires_at_ms = next_free;
        return npos;
    }
    if (!place(hi, vi)) {
        remove_slot(ho, vo);
        rec = flow_record{};
        rec.expires_at_ms = next_free;
        return npos;
    }
    free_head_ = next_free;
    side_[idx] = flow_side{};
    ++size_;
    return idx;
}

void flow_table::erase(uint32_t idx) noexcept {
    assert(idx < capacity_ && records_[idx].is_live());
    flow_record& rec = records_[idx];
    remove_slot(hash_key(outbound_key_of(rec), direction::outbound), idx << 1);
    remove_slot(hash_key(inbound_key_of(rec), direction::inbound), (idx << 1) | 1u);
    rec = flow_record{};
    rec.expires_at_ms = free_head_;
    free_head_ = idx;
    --size_;
}

bool flow_table::contains_inbound(uint8_t proto, const net::ip_address& remote, uint16_t remote_port,
                                  uint32_t public_addr, uint16_t public_port) const noexcept {
    const flow_key k{remote, net::ip_address::from_v4(public_addr), remote_port, public_port, proto};
    return lookup(k, direction::inbound) != npos;
}

} // namespace egress::flow

#undef EGRESS_HOT
