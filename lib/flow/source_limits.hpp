// Per-source limits (SECURITY-MODEL.md promise 6: no host starves the others).
// Per inside source — an IPv4 address, or an IPv6 prefix of `v6_prefix` bits
// (a /64 by default: one host picks any address of its own /64) — a worker
// keeps:
//   * the flows it has open (max_flows),
//   * a token bucket of new flows (new_flows_per_s, new_flow_burst),
//   * the flows it has open towards each destination address, each holding
//     one public port towards it (max_per_destination).
// A new flow over any of them is refused with the limit it hit; flows already
// open are never touched, so a flood from one host cannot evict anyone.
//
// Memory, all taken at construction: `max_sources` source entries (48 B) and
// `max_destinations` (source, destination) entries (40 B), each in an
// open-addressing table at most 80 % full (linear probing, backward-shift
// deletion: no tombstones). An entry lives while its source has flows open
// (a source entry also while its bucket is refilling, so closing flows does
// not reset a flooder's rate; sweep() forgets it once refilled). When a table is full, a new source (or pair)
// is not tracked: the flow is admitted uncounted (`untracked`, counted by the
// caller) — the flow table itself bounds how many flows can exist.
//
// Per-group limits ([[policy.group]] limits): admit() takes the values that
// apply to the host (the caller looks its group up in the policy); the tables
// are shared. Each source entry keeps the rate and bucket size it was last
// admitted with, so a refilling bucket follows its own group's rate.
//
// Nothing here allocates, locks or logs after construction; not thread-safe
// (one instance per worker, like the flow table).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "net/ip_address.hpp"

namespace egress::flow {

struct source_limit_settings {
    uint32_t max_flows = 0;            // open flows per source; 0: no limit
    uint32_t new_flows_per_s = 0;      // sustained new flows per second per source; 0: no limit
    uint32_t new_flow_burst = 0;       // new flows a source may open at once (bucket size); 0: the rate
    uint32_t max_per_destination = 0;  // open flows (public ports) per source and destination address; 0: no limit
    uint8_t v6_prefix = 64;            // IPv6 sources are grouped by this many leading bits (1..128)
    uint32_t max_sources = 65536;      // sources tracked at once
    uint32_t max_destinations = 262144; // (source, destination) pairs tracked at once
    uint32_t report_interval_ms = 10'000; // at most one refusal report per source per interval

    // The policy's groups set limits (config: the policy at start): the tables
    // exist even when the values above set none; per_destination: the
    // (source, destination) table too.
    bool group_limits = false;
    bool group_limits_per_destination = false;
    // Workers that share every host's limits: the values above are already
    // this worker's share; share() divides a group's (rounding up, 0 stays 0).
    uint32_t workers = 1;

    bool any() const noexcept { return max_flows != 0 || new_flows_per_s != 0 || max_per_destination != 0; }
};

// The limits that apply to one host: the settings' values, or its group's.
struct source_limit_values {
    uint32_t max_flows = 0;
    uint32_t new_flows_per_s = 0;
    uint32_t new_flow_burst = 0; // 0: new_flows_per_s
    uint32_t max_per_destination = 0;
};

enum class source_verdict : uint8_t {
    admitted,   // counted: call release() when the flow ends
    untracked,  // admitted without counting (a table was full): do not call release()
    flow_limit, // refused: the source has max_flows open
    rate_limit, // refused: the source's new-flow bucket is empty
    port_limit, // refused: the source has max_per_destination flows open to this destination
};

class source_limits {
public:
    explicit source_limits(const source_limit_settings& s);

    // The tables exist: admit() counts (the values may still set no limit).
    bool enabled() const noexcept { return !sources_.empty(); }
    // Can count (source, destination) pairs: max_per_destination can apply.
    bool counts_destinations() const noexcept { return !destinations_.empty(); }
    // This worker's share of a limit of `total` (group limits; 0: no limit).
    uint32_t share(uint32_t total) const noexcept {
        const uint32_t n = settings_.workers == 0 ? 1 : settings_.workers;
        return static_cast<uint32_t>((uint64_t{total} + n - 1) / n);
    }
    // The [limits] values (hosts of no group with limits).
    source_limit_values defaults() const noexcept {
        return {settings_.max_flows, settings_.new_flows_per_s, settings_.new_flow_burst, settings_.max_per_destination};
    }

    // Decides a new flow from `src` to `dst` under `limits` (defaults() when
    // omitted); admitted flows are counted.
    source_verdict admit(const net::ip_address& src, const net::ip_address& dst, uint32_t now_ms,
                         const source_limit_values& limits) noexcept;
    source_verdict admit(const net::ip_address& src, const net::ip_address& dst, uint32_t now_ms) noexcept {
        return admit(src, dst, now_ms, defaults());
    }
    // A flow admit() counted has ended (or was not created after all).
    void release(const net::ip_address& src, const net::ip_address& dst) noexcept;
    // After a refusal: true at most once per report_interval_ms per source
    // (the caller builds one event, never one per packet).
    bool report_due(const net::ip_address& src, uint32_t now_ms) noexcept;
    // Housekeeping: visits up to `budget` source slots and forgets sources with
    // no flow open whose bucket has refilled (they would start afresh anyway).
    void sweep(uint32_t now_ms, uint32_t budget) noexcept;

    struct source_usage {
        net::ip_address source; // the address, or the IPv6 prefix with host bits zero
        uint32_t flows = 0;
        uint64_t refused = 0;   // new flows refused since the entry was made
    };
    // Every tracked source (control plane: top offenders).
    template <class F>
    void for_each_source(F&& f) const {
        for (const source_entry& e : sources_)
            if (e.used) f(source_usage{e.key, e.flows, e.refused});
    }
    // The same, a slice at a time (a query the worker advances by a budget):
    // the source entry in `slot` (0..source_slots()), if any.
    uint32_t source_slots() const noexcept { return static_cast<uint32_t>(sources_.size()); }
    bool source_at(uint32_t slot, source_usage& out) const noexcept {
        const source_entry& e = sources_[slot];
        if (e.used) out = source_usage{e.key, e.flows, e.refused};
        return e.used;
    }
    uint32_t sources_tracked() const noexcept { return source_count_; }
    uint32_t destinations_tracked() const noexcept { return destination_count_; }
    uint32_t flows_of(const net::ip_address& src) const noexcept;
    std::size_t memory_bytes() const noexcept;

private:
    struct source_entry {
        net::ip_address key;
        uint32_t flows = 0;
        uint32_t level = 0;          // bucket level, in thousandths of a new flow
        uint32_t refill_ms = 0;      // when the bucket was last refilled
        uint32_t reported_ms = 0;
        uint32_t refused = 0;
        uint32_t rate = 0;           // new flows per second it was last admitted under (0: no bucket)
        uint32_t burst_milli = 0;    // and its bucket size, in thousandths
        bool used = false;
        bool reported = false;       // reported_ms is meaningful
    };
    struct destination_entry {
        net::ip_address source;
        net::ip_address destination;
        uint32_t flows = 0;
        bool used = false;
    };

    net::ip_address source_key(const net::ip_address& a) const noexcept;
    uint32_t find_source(const net::ip_address& key) const noexcept;
    uint32_t find_destination(const net::ip_address& src, const net::ip_address& dst) const noexcept;
    uint32_t add_source(const net::ip_address& key, uint32_t now_ms, const source_limit_values& v) noexcept;
    uint32_t add_destination(const net::ip_address& src, const net::ip_address& dst) noexcept;
    void erase_source(uint32_t slot) noexcept;
    void erase_destination(uint32_t slot) noexcept;
    static void refill(source_entry& e, uint32_t now_ms) noexcept;
    static bool take_token(source_entry& e, uint32_t now_ms, const source_limit_values& v) noexcept;
    static bool bucket_full(const source_entry& e) noexcept;

    source_limit_settings settings_;
    std::vector<source_entry> sources_;
    std::vector<destination_entry> destinations_;
    uint32_t source_mask_ = 0;
    uint32_t destination_mask_ = 0;
    uint32_t sweep_cursor_ = 0;
    uint32_t source_count_ = 0;
    uint32_t destination_count_ = 0;
};

std::string_view to_string(source_verdict v) noexcept;

} // namespace egress::flow
