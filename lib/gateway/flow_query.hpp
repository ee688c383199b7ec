// A question the control plane asks a worker about its flows (egressctl flows,
// egressctl nat), answered without stopping traffic and without sharing the flow
// table: the control plane builds the query (all result memory allocated here,
// up front), posts it to the worker, and the worker advances it by a bounded
// slice of the table per loop (step), writing only into the query's preallocated
// memory. When the scan has covered the whole table the worker sets done; only
// then does the control plane read the results.
//
//   flows:     the `top` live flows with the most bytes (both directions) among
//              those whose inside host is in `src` and remote in `dst` (when
//              given); a bounded min-heap, so the cost per flow is O(log top).
//   nat_hosts: NAT mappings held per inside IPv4 host (every live IPv4 flow holds
//              one), counted in a fixed open-addressing table; hosts that find no
//              slot are counted in hosts_overflow.
//   sources:   the [limits] entries (flow::source_limits, not the flow table):
//              per inside source its counted flows and refused new flows, summed
//              over the workers in the same kind of table (egressctl sources).
//
// A flow table changes while it is scanned: a flow created or removed during the
// scan may or may not be seen; each slot is visited once.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <optional>
#include <vector>

#include "flow/flow_table.hpp"
#include "flow/source_limits.hpp"
#include "gateway/hostname_reassembly.hpp"
#include "policy/cidr.hpp"

namespace egress::gateway {

class flow_policy_stage;

struct flow_summary {
    net::ip_address inside;
    net::ip_address remote;
    uint32_t public_addr = 0; // IPv4 flows: the SNAT address (host order)
    uint16_t inside_port = 0;
    uint16_t remote_port = 0;
    uint16_t public_port = 0;
    uint8_t proto = 0;
    uint8_t tcp_state = 0;
    uint8_t flags = 0; // flow::flow_flags
    bool v4 = true;
    uint64_t bytes_out = 0; // since the flow's last export record
    uint64_t bytes_in = 0;
    uint32_t packets_out = 0;
    uint32_t packets_in = 0;
    int64_t expires_in_ms = 0;
    uint8_t hostname_length = 0;
    std::array<char, 253> hostname{}; // TLS SNI / HTTP Host when inspected
    // The rule that decided the flow, as its record will name it
    // (flow_policy_stage::allow_rule / cut_rule; empty without a policy).
    std::array<char, 64> rule{};
    uint64_t bytes() const noexcept { return bytes_out + bytes_in; }
    std::string_view host() const noexcept { return {hostname.data(), hostname_length}; }
};

struct host_mappings {
    net::ip_address inside;
    uint64_t mappings = 0;
};

struct source_offender {
    net::ip_address source; // the address, or the IPv6 prefix
    uint64_t flows = 0;
    uint64_t refused = 0;
};

class flow_query {
public:
    enum class kind : uint8_t { flows, nat_hosts, sources };
    static constexpr uint32_t max_top = 10000;
    static constexpr uint32_t host_slots = 1u << 16;
    static constexpr uint32_t max_host_probes = 16;

    // Control side (allocates). top: 1..max_top.
    static flow_query top_flows(uint32_t top, std::optional<policy::cidr> src, std::optional<policy::cidr> dst);
    static flow_query nat_hosts(uint32_t top);
    static flow_query sources(uint32_t top);

    // Worker side: scans up to budget record slots; true once the whole table
    // has been scanned (then done is set). No allocation, no locks.
    // names: the worker's hostname_reassembly, for the flows' hostnames;
    // policy: its policy stage, for the flows' rules (each may be null).
    bool step(const flow::flow_table& table, uint32_t budget, uint32_t now_ms,
              const hostname_reassembly* names = nullptr, const flow_policy_stage* policy = nullptr) noexcept;

    // Worker side, kind sources: scans up to budget source slots of `limits`.
    bool step(const flow::source_limits& limits, uint32_t budget) noexcept;

    // Control side, after done: the flows, most bytes first.
    std::vector<flow_summary> flows() const;
    // Control side, after done: the hosts with the most mappings, most first
    // (ties by address).
    std::vector<host_mappings> hosts() const;
    // Control side, after done (kind sources): most refused first, then most flows.
    std::vector<source_offender> offenders() const;

    // Control side, after done, with several workers: the same query goes on over
    // the next worker's table (results accumulate; each worker owns its flows,
    // so no flow is counted twice).
    void next_table() noexcept {
        cursor_ = 0;
        done.store(false, std::memory_order_relaxed);
    }

    kind what() const noexcept { return kind_; }
    uint32_t top() const noexcept { return top_; }
    uint64_t matched = 0;        // flows that passed the filters (flows) / IPv4 flows counted (nat_hosts)
    uint64_t scanned = 0;        // live flows visited
    uint64_t hosts_total = 0;    // distinct inside hosts counted (nat_hosts)
    uint64_t hosts_overflow = 0; // mappings of hosts that found no slot
    std::atomic<bool> done{false};

    flow_query(flow_query&& o) noexcept;

private:
    struct host_slot {
        uint32_t address = 0; // IPv4, host order; 0 = free
        uint32_t mappings = 0;
    };

    flow_query(kind k, uint32_t top) : kind_(k), top_(top) {}
    void visit(uint32_t idx, const flow::flow_table& table, uint32_t now_ms, const hostname_reassembly* names,
               const flow_policy_stage* policy) noexcept;
    void count_host(uint32_t address) noexcept;
    void count_source(const flow::source_limits::source_usage& u) noexcept;

    kind kind_;
    uint32_t top_;
    std::optional<policy::cidr> src_;
    std::optional<policy::cidr> dst_;
    uint32_t cursor_ = 0;
    std::vector<flow_summary> heap_; // capacity top_, never grows past it
    std::vector<host_slot> slots_;
    std::vector<source_offender> source_slots_; // kind sources: flows + refused == 0 is free
};

} // namespace egress::gateway
