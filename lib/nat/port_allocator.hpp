// SNAT44 public address and port selection for one worker.
//
// Paired pooling (RFC 4787 REQ-2): an inside host always maps to the same pool
// address, chosen by a fixed (unseeded) hash of its address, so every worker and
// every restart agree without shared state.
//
// Endpoint-dependent reuse: a public address:port may serve many flows at once as
// long as their remote endpoints differ. Uniqueness that matters is that of the
// inbound key (proto, remote, remote_port, public, public_port); the caller's
// `taken(public_addr, public_port)` predicate answers it for the flow being
// created (normally flow_table::contains_inbound with proto/remote bound), so a
// port is never handed out twice towards the same destination and becomes usable
// again as soon as the flow holding it is erased (expired).
//
// Port choice, for a flow (proto, inside:inside_port -> remote:remote_port):
//   1. port preservation: inside_port itself if it lies in [port_min, port_max]
//      and is free (RFC 4787 REQ-3 best effort);
//   2. otherwise linear probing through the range from a start derived from a
//      hash of (proto, inside, inside_port) — not of the remote, so an inside
//      endpoint tends to keep one public port across destinations — wrapping at
//      port_max, for at most min(range size, max_probes = 1024) probes. The bound
//      caps the cost of a new flow (each probe is one table lookup); a range
//      whose free ports are all further than 1024 probes away counts as exhausted.
// For ICMP echo the "port" is the echo identifier, drawn from the same range.
//
// Counters per pool address: mappings_in_use (maintained by the caller through
// on_mapping_created / on_mapping_released) and exhausted (allocation failures).
#pragma once

#include <cassert>
#include <cstdint>
#include <vector>

#include "net/ip_address.hpp"

namespace egress::nat {

struct allocation {
    bool ok = false;
    uint32_t public_addr = 0; // host order
    uint16_t public_port = 0;
    uint32_t pool_index = 0;
};

struct pool_address_stats {
    net::ip_address address;
    uint64_t mappings_in_use = 0;
    uint64_t exhausted = 0;
};

class port_allocator {
public:
    static constexpr uint32_t max_probes = 1024;

    // Preconditions (validated by the config loader): all pool addresses IPv4,
    // port_min <= port_max. An empty pool is allowed (an IPv6-only gateway):
    // allocate() then always fails without counting anything.
    port_allocator(std::vector<net::ip_address> pool, uint16_t port_min, uint16_t port_max);

    // The pool address (index / host-order IPv4) every flow of this inside host
    // uses. Requires a non-empty pool.
    uint32_t pool_index_for(const net::ip_address& inside) const noexcept;
    uint32_t public_address_for(const net::ip_address& inside) const noexcept {
        return pool_[pool_index_for(inside)];
    }

    // Chooses the public address:port for a new flow. taken(public_addr_u32,
    // public_port) -> bool must say whether the inbound key (proto, remote,
    // remote_port, public_addr, public_port) is in use. On failure ok is false,
    // pool_index names the exhausted address and its counter is incremented.
    template <class Taken>
    allocation allocate(uint8_t proto, const net::ip_address& inside, uint16_t inside_port,
                        const net::ip_address& remote, uint16_t remote_port, Taken&& taken) noexcept;

    void on_mapping_created(uint32_t pool_index) noexcept { ++in_use_[pool_index]; }
    void on_mapping_released(uint32_t pool_index) noexcept {
        assert(in_use_[pool_index] > 0);
        --in_use_[pool_index];
    }

    uint32_t pool_size() const noexcept { return static_cast<uint32_t>(pool_.size()); }
    uint32_t pool_address(uint32_t pool_index) const noexcept { return pool_[pool_index]; }
    uint16_t port_min() const noexcept { return port_min_; }
    uint16_t port_max() const noexcept { return port_max_; }
    uint32_t range_size() const noexcept { return uint32_t{port_max_} - port_min_ + 1; }
    uint32_t probe_limit() const noexcept { return range_size() < max_probes ? range_size() : max_probes; }

    uint64_t mappings_in_use(uint32_t pool_index) const noexcept { return in_use_[pool_index]; }
    uint64_t exhausted(uint32_t pool_index) const noexcept { return exhausted_[pool_index]; }
    pool_address_stats stats(uint32_t pool_index) const noexcept;
    uint64_t total_mappings_in_use() const noexcept;
    uint64_t total_exhausted() const noexcept;

private:
    // Offset in [0, range_size()) where probing starts for this inside endpoint.
    uint32_t probe_start(uint8_t proto, const net::ip_address& inside, uint16_t inside_port) const noexcept;

    std::vector<uint32_t> pool_; // host order
    uint16_t port_min_;
    uint16_t port_max_;
    std::vector<uint64_t> in_use_;
    std::vector<uint64_t> exhausted_;
};

template <class Taken>
allocation port_allocator::allocate(uint8_t proto, const net::ip_address& inside, uint16_t inside_port,
                                    const net::ip_address& remote, uint16_t remote_port, Taken&& taken) noexcept {
    // remote/remote_port are bound into `taken` by the caller; they take no part
    // in the choice itself.
    (void)remote;
    (void)remote_port;
    if (pool_.empty())
        return allocation{};
    const uint32_t pi = pool_index_for(inside);
    const uint32_t addr = pool_[pi];
    if (inside_port >= port_min_ && inside_port <= port_max_ && !taken(addr, inside_port))
        return allocation{true, addr, inside_port, pi};

    const uint32_t range = range_size();
    const uint32_t limit = probe_limit();
    uint32_t off = probe_start(proto, inside, inside_port);
    for (uint32_t i = 0; i < limit; ++i) {
        const auto port = static_cast<uint16_t>(port_min_ + off);
        if (port != inside_port && !taken(addr, port))
            return allocation{true, addr, port, pi};
        off = (off + 1 == range) ? 0 : off + 1;
    }
    ++exhausted_[pi];
    return allocation{false, addr, 0, pi};
}

} // namespace egress::nat
