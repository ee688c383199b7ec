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
// Endpoint-independent mapping (mapping_mode::endpoint_independent, RFC 4787
// REQ-1; issue 20): one public address:port per inside (proto, address, port)
// for every destination, so an endpoint learnt through STUN is valid towards
// any peer. A public port then belongs to one inside endpoint at a time: the
// allocator keeps an owner book, one {endpoint id, flows} entry per pool
// address and port of the range (8 bytes each: 512 KiB per pool address for a
// full 64k range, allocated once), which the caller maintains through
// claim() / release() as flows are created and removed. A new flow takes the
// port its endpoint already holds if that port is usable towards this
// destination (taken() false), else a port nobody holds, trying the inside
// port first, then ports of the same parity (RFC 4787 REQ-3 parity, for RTP),
// then the others. Filtering stays address-and-port-dependent: only the
// flow table's inbound keys admit packets from outside. With several workers
// each worker's range is its own slice and taken() still rejects ports whose
// replies hash to another worker: towards such a destination the endpoint
// gets another port (the mapping is then endpoint-independent per worker
// only). Costs: up to twice the probe limit of owner-book reads per new flow.
// Port budget: one port per inside endpoint in use, so a pool address serves
// at most range_size() inside endpoints at once (endpoint-dependent mapping
// serves range_size() per destination).
//
// Counters per pool address: mappings_in_use (maintained by the caller through
// on_mapping_created / on_mapping_released) and exhausted (allocation failures).
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <vector>

#include "net/ip_address.hpp"

namespace egress::nat {

struct allocation {
    bool ok = false;
    uint32_t public_addr = 0; // host order
    uint16_t public_port = 0;
    uint32_t pool_index = 0;
};

enum class mapping_mode : uint8_t { endpoint_dependent, endpoint_independent };

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
    port_allocator(std::vector<net::ip_address> pool, uint16_t port_min, uint16_t port_max,
                   mapping_mode mode = mapping_mode::endpoint_dependent);

    mapping_mode mode() const noexcept { return mode_; }

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

    // Endpoint-independent mode: a flow of (proto, inside, inside_port) now uses
    // public port `port` of pool address pool_index / no longer does. No-ops in
    // endpoint-dependent mode.
    void claim(uint32_t pool_index, uint16_t port, uint8_t proto, const net::ip_address& inside,
               uint16_t inside_port) noexcept;
    void release(uint32_t pool_index, uint16_t port) noexcept;
    // The number of flows holding public port `port` (endpoint-independent mode).
    uint32_t holders(uint32_t pool_index, uint16_t port) const noexcept;

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
    struct port_owner {
        uint32_t endpoint = 0; // endpoint_id of the holder, valid while flows != 0
        uint32_t flows = 0;
    };

    // Offset in [0, range_size()) where probing starts for this inside endpoint.
    uint32_t probe_start(uint8_t proto, const net::ip_address& inside, uint16_t inside_port) const noexcept;
    uint32_t endpoint_id(uint8_t proto, const net::ip_address& inside, uint16_t inside_port) const noexcept;
    port_owner& owner(uint32_t pool_index, uint16_t port) noexcept {
        return owners_[std::size_t{pool_index} * range_size() + (port - port_min_)];
    }
    const port_owner& owner(uint32_t pool_index, uint16_t port) const noexcept {
        return owners_[std::size_t{pool_index} * range_size() + (port - port_min_)];
    }
    template <class Taken>
    allocation allocate_independent(uint8_t proto, const net::ip_address& inside, uint16_t inside_port,
                                    uint32_t pi, Taken&& taken) noexcept;
    // Calls f(port) for the endpoint's candidates in order (the inside port,
    // then same parity, then the other), at most probe_limit() + 1 of them,
    // until f returns true.
    template <class F>
    void for_each_candidate(uint8_t proto, const net::ip_address& inside, uint16_t inside_port, F&& f) const noexcept;

    std::vector<uint32_t> pool_; // host order
    uint16_t port_min_;
    uint16_t port_max_;
    std::vector<uint64_t> in_use_;
    std::vector<uint64_t> exhausted_;
    mapping_mode mode_;
    std::vector<port_owner> owners_; // endpoint-independent mode only
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
    if (mode_ == mapping_mode::endpoint_independent) [[unlikely]]
        return allocate_independent(proto, inside, inside_port, pi, taken);
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

template <class F>
void port_allocator::for_each_candidate(uint8_t proto, const net::ip_address& inside, uint16_t inside_port,
                                        F&& f) const noexcept {
    if (inside_port >= port_min_ && inside_port <= port_max_ && f(inside_port)) return;
    const uint32_t range = range_size();
    uint32_t budget = probe_limit();
    uint32_t start = probe_start(proto, inside, inside_port);
    if (((port_min_ + start) & 1u) != (inside_port & 1u)) start = start + 1 == range ? 0 : start + 1;
    for (uint32_t parity = 0; parity < 2 && budget > 0; ++parity) {
        uint32_t off = parity == 0 ? start : (start + 1 == range ? 0 : start + 1);
        for (uint32_t i = 0; i < (range + 1) / 2 && budget > 0; ++i, --budget) {
            if (f(static_cast<uint16_t>(port_min_ + off))) return;
            off += 2;
            if (off >= range) off -= range;
        }
    }
}

template <class Taken>
allocation port_allocator::allocate_independent(uint8_t proto, const net::ip_address& inside, uint16_t inside_port,
                                                uint32_t pi, Taken&& taken) noexcept {
    const uint32_t addr = pool_[pi];
    const uint32_t who = endpoint_id(proto, inside, inside_port);
    // First the port this endpoint already holds (its one public endpoint),
    // then a port nobody holds.
    for (const bool held : {true, false}) {
        uint16_t chosen = 0;
        bool found = false;
        for_each_candidate(proto, inside, inside_port, [&](uint16_t port) {
            const port_owner& o = owner(pi, port);
            const bool usable = held ? o.flows != 0 && o.endpoint == who : o.flows == 0;
            if (!usable || taken(addr, port)) return false;
            chosen = port;
            found = true;
            return true;
        });
        if (found) return allocation{true, addr, chosen, pi};
    }
    ++exhausted_[pi];
    return allocation{false, addr, 0, pi};
}

} // namespace egress::nat
