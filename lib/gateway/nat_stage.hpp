// NAT translate: the stage that rewrites a flow's packets for the side they
// leave by, and that gives a new IPv4 flow its public address:port. IPv6
// flows pass untranslated. Translation by direction is written once, here:
// outbound the inside source becomes the public address:port, inbound the
// public destination becomes the inside host's address:port.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "flow/flow_record.hpp"
#include "flow/flow_table.hpp"
#include "gateway/flow_reporter.hpp"
#include "gateway/settings.hpp"
#include "nat/port_allocator.hpp"
#include "net/checksum.hpp"
#include "net/packet_view.hpp"
#include "net/rewrite.hpp"
#include "stats/drop_reason.hpp"
#include "stats/live_stats.hpp"

namespace egress::gateway {

struct pool_address_usage {
    net::ip_address address;
    uint64_t mappings_active = 0;
    uint64_t mappings_created = 0;
    uint64_t exhausted = 0;
};

class nat_stage {
public:
    nat_stage(const settings& s, flow_reporter& reporter);

    // A packet of flow `rec` going `dir`, rewritten in place (checksums updated).
    static void translate(const flow::flow_record& rec, flow::direction dir, std::span<uint8_t> frame,
                          net::packet_view& view) noexcept {
        if (!rec.is_v4()) return;
        if (dir == flow::direction::outbound)
            net::set_ipv4_source(frame, view, net::ip_address::from_v4(rec.public_addr), rec.public_port);
        else
            net::set_ipv4_destination(frame, view, rec.inside, rec.inside_port);
    }
    // An ICMP error about flow `rec` that arrived going `dir`: its outer header
    // and the packet it quotes (see gateway_core::relay_icmp_error).
    static void translate_error(const flow::flow_record& rec, flow::direction dir, std::span<uint8_t> frame,
                                net::packet_view& view) noexcept;

    // RFC 5508 REQ-3: an IPv4 ICMP error is relayed only if its own checksum
    // and the quoted IPv4 header's checksum are valid (a damaged quote could
    // name another flow). IPv6 errors pass unchecked (not translated).
    static bool error_checksums_valid(std::span<const uint8_t> frame, const net::packet_view& view) noexcept;

    // A new flow from inside (rec filled in from the packet): its public
    // address:port, for IPv4; the pool index in `pool`. A port is usable only
    // when no live flow replies through it and, with several workers, its
    // reply is steered to this one.
    stats::drop_reason map(flow::flow_record& rec, const net::packet_view& view, const flow::flow_table& table,
                           uint32_t now, uint32_t& pool) noexcept;
    // The mapping of map() is in use (the flow was created) / ends. In
    // endpoint-independent mode the flow also holds its public port for its
    // inside endpoint (port_allocator's owner book) until it is retired.
    void mapped(const flow::flow_record& rec, uint32_t pool) noexcept {
        nat_.on_mapping_created(pool);
        nat_.claim(pool, rec.public_port, rec.proto, rec.inside, rec.inside_port);
        ++mappings_created_[pool];
    }
    void released(const flow::flow_record& rec) noexcept {
        if (!rec.is_v4()) return;
        const uint32_t pool = nat_.pool_index_for(rec.inside); // paired pooling
        nat_.on_mapping_released(pool);
        nat_.release(pool, rec.public_port);
    }
    // Flows holding public port `port` of pool address `pool` (endpoint-independent
    // mode; 0 otherwise).
    uint32_t holders(uint32_t pool, uint16_t port) const noexcept { return nat_.holders(pool, port); }
    nat::mapping_mode mapping() const noexcept { return nat_.mode(); }

    // Hairpinning (RFC 4787 REQ-9, RFC 5382 REQ-8, RFC 5508 REQ-7): a whole
    // IPv4 datagram from inside, already translated, addressed to one of the
    // pool's addresses goes back inside through the flow that owns that
    // address:port (gateway_core::hairpin). The range test keeps the cost of
    // every other outbound packet to two compares.
    bool hairpins(const net::packet_view& view) const noexcept {
        if (!settings_.pool.hairpin || view.family != net::ip_family::v4 || view.is_fragment()) return false;
        const uint32_t dst = view.dst.v4();
        if (dst < pool_lowest_ || dst > pool_highest_) return false;
        for (uint32_t p = 0; p < nat_.pool_size(); ++p)
            if (nat_.pool_address(p) == dst) return true;
        return false;
    }

    // Unique IPv4 identifications per public address (RFC 6864 section 4, RFC
    // 7857 section 10): a datagram that is or may become fragmented (a fragment,
    // or DF clear) leaves with an identification from its public address's own
    // counter, so two inside hosts' datagrams to the same destination never
    // leave from one address with the same ID (the receiver would mix their
    // fragments). Each worker counts in its own slice of the 16-bit space
    // (steering's slice_of), so workers never hand out the same ID either.
    // Datagrams with DF set and not fragmented (almost all TCP) keep their ID:
    // it means nothing for them (RFC 6864 section 4.1, atomic datagrams).
    static bool renumbers(const flow::flow_record& rec, flow::direction dir, const net::packet_view& view) noexcept {
        return dir == flow::direction::outbound && rec.is_v4() && (view.is_fragment() || !view.dont_fragment);
    }
    // Inline: every outbound datagram without DF (most UDP) takes one. The
    // pool is small (a handful of addresses): a scan finds the address's counter.
    uint16_t next_ip_id(uint32_t public_addr) noexcept {
        uint32_t p = 0;
        while (p + 1 < nat_.pool_size() && nat_.pool_address(p) != public_addr) ++p;
        uint16_t& next = next_id_[p];
        const uint16_t id = next;
        next = id == id_max_ ? id_min_ : static_cast<uint16_t>(id + 1);
        return id;
    }
    // Writes `id` into the IPv4 header, header checksum updated.
    static void set_ipv4_id(std::span<uint8_t> frame, const net::packet_view& view, uint16_t id) noexcept {
        const std::size_t at = view.l3_offset;
        if (at + 20 > frame.size()) return;
        const auto get16 = [&](std::size_t o) { return static_cast<uint16_t>(frame[o] << 8 | frame[o + 1]); };
        const uint16_t old_id = get16(at + 4);
        const uint16_t sum = net::checksum_update16(get16(at + 10), old_id, id);
        frame[at + 4] = static_cast<uint8_t>(id >> 8);
        frame[at + 5] = static_cast<uint8_t>(id);
        frame[at + 10] = static_cast<uint8_t>(sum >> 8);
        frame[at + 11] = static_cast<uint8_t>(sum);
    }

    uint32_t pool_size() const noexcept { return nat_.pool_size(); }
    void snapshot(stats::live_stats& out) const noexcept;
    std::vector<pool_address_usage> pool_usage() const;

private:
    const settings& settings_;
    flow_reporter& reporter_;
    nat::port_allocator nat_;
    std::vector<uint64_t> mappings_created_; // per pool address
    std::vector<uint16_t> next_id_; // per pool address: the next identification to hand out
    uint16_t id_min_ = 0, id_max_ = 0xffff; // this worker's slice of identifications
    uint32_t pool_lowest_ = 1;  // host order; lowest > highest: an empty pool
    uint32_t pool_highest_ = 0;
};

} // namespace egress::gateway
