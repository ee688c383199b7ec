#include "nat/port_allocator.hpp"

#include "base/hash.hpp"

#include <cstring>
#include <numeric>
#include <utility>

namespace egress::nat {

namespace {

using base::load64;
using base::mum;
using base::reduce;

// Fixed constants, no per-process seed: the address pairing must be the same in
// every worker and after every restart.
constexpr uint64_t c0 = 0x243f6a8885a308d3ULL;
constexpr uint64_t c1 = 0x13198a2e03707344ULL;
constexpr uint64_t c2 = 0xa4093822299f31d0ULL;
constexpr uint64_t c3 = 0x082efa98ec4e6c89ULL;

inline uint64_t hash_address(const net::ip_address& a) noexcept {
    return mum(load64(a.bytes.data()) ^ c0, load64(a.bytes.data() + 8) ^ c1);
}

} // namespace

port_allocator::port_allocator(std::vector<net::ip_address> pool, uint16_t port_min, uint16_t port_max,
                               mapping_mode mode)
    : port_min_(port_min), port_max_(port_max), mode_(mode) {
    assert(port_min <= port_max);
    pool_.reserve(pool.size());
    for (const net::ip_address& a : pool) {
        assert(a.is_v4());
        pool_.push_back(a.v4());
    }
    in_use_.assign(pool_.size(), 0);
    exhausted_.assign(pool_.size(), 0);
    if (mode_ == mapping_mode::endpoint_independent) owners_.assign(pool_.size() * std::size_t{range_size()}, {});
}

uint32_t port_allocator::endpoint_id(uint8_t proto, const net::ip_address& inside, uint16_t inside_port) const noexcept {
    const uint64_t tail = uint64_t{inside_port} | (uint64_t{proto} << 16);
    const uint64_t h = mum(hash_address(inside) ^ c1, tail ^ c0);
    return static_cast<uint32_t>(h >> 32);
}

void port_allocator::claim(uint32_t pool_index, uint16_t port, uint8_t proto, const net::ip_address& inside,
                           uint16_t inside_port) noexcept {
    if (mode_ != mapping_mode::endpoint_independent) return;
    port_owner& o = owner(pool_index, port);
    o.endpoint = endpoint_id(proto, inside, inside_port);
    ++o.flows;
}

void port_allocator::release(uint32_t pool_index, uint16_t port) noexcept {
    if (mode_ != mapping_mode::endpoint_independent) return;
    port_owner& o = owner(pool_index, port);
    assert(o.flows > 0);
    --o.flows;
}

uint32_t port_allocator::holders(uint32_t pool_index, uint16_t port) const noexcept {
    return mode_ == mapping_mode::endpoint_independent ? owner(pool_index, port).flows : 0;
}

uint32_t port_allocator::pool_index_for(const net::ip_address& inside) const noexcept {
    assert(!pool_.empty());
    const uint64_t h = mum(hash_address(inside), c2);
    return reduce(static_cast<uint32_t>(h >> 32), pool_size());
}

uint32_t port_allocator::probe_start(uint8_t proto, const net::ip_address& inside,
                                     uint16_t inside_port) const noexcept {
    const uint64_t tail = uint64_t{inside_port} | (uint64_t{proto} << 16);
    const uint64_t h = mum(hash_address(inside) ^ c3, tail ^ c2);
    return reduce(static_cast<uint32_t>(h), range_size());
}

pool_address_stats port_allocator::stats(uint32_t pool_index) const noexcept {
    return pool_address_stats{net::ip_address::from_v4(pool_[pool_index]), in_use_[pool_index],
                              exhausted_[pool_index]};
}

uint64_t port_allocator::total_mappings_in_use() const noexcept {
    return std::accumulate(in_use_.begin(), in_use_.end(), uint64_t{0});
}

uint64_t port_allocator::total_exhausted() const noexcept {
    return std::accumulate(exhausted_.begin(), exhausted_.end(), uint64_t{0});
}

} // namespace egress::nat
