#include "gateway/nat_stage.hpp"

#include "gateway/steering.hpp"
#include "net/checksum.hpp"
#include "net/icmp_error.hpp"

namespace egress::gateway {

using stats::drop_reason;

nat_stage::nat_stage(const settings& s, flow_reporter& reporter)
    : settings_(s),
      reporter_(reporter),
      nat_(s.pool.addresses, s.pool.port_min, s.pool.port_max, s.pool.mapping),
      mappings_created_(s.pool.addresses.size(), 0) {
    if (s.steer != nullptr) {
        const port_slice ids = slice_of(0, 0xffff, s.worker, s.steer->workers());
        id_min_ = ids.min;
        id_max_ = ids.max;
    }
    next_id_.assign(s.pool.addresses.size(), id_min_);
    for (uint32_t p = 0; p < nat_.pool_size(); ++p) {
        const uint32_t a = nat_.pool_address(p);
        if (p == 0 || a < pool_lowest_) pool_lowest_ = a;
        if (p == 0 || a > pool_highest_) pool_highest_ = a;
    }
}

// From outside the quote is the translated outbound packet: the outer
// destination and the quote's source go back to the inside host. From inside
// the quote is an inbound packet as delivered: the outer source (whichever
// inside node reports it) and the quote's destination become the public
// address:port. An error type has no identifier of its own to change.
void nat_stage::translate_error(const flow::flow_record& rec, flow::direction dir, std::span<uint8_t> frame,
                                net::packet_view& view) noexcept {
    if (!rec.is_v4()) return;
    const net::ip_address public_addr = net::ip_address::from_v4(rec.public_addr);
    if (dir == flow::direction::inbound) {
        net::set_ipv4_destination(frame, view, rec.inside, 0);
        net::set_quoted_endpoint(frame, view, net::quoted_side::source, rec.inside, rec.inside_port);
    } else {
        net::set_ipv4_source(frame, view, public_addr, 0);
        net::set_quoted_endpoint(frame, view, net::quoted_side::destination, public_addr, rec.public_port);
    }
}

bool nat_stage::error_checksums_valid(std::span<const uint8_t> frame, const net::packet_view& view) noexcept {
    if (view.family != net::ip_family::v4) return true;
    const std::size_t quoted = view.quoted.l3_offset;
    const std::size_t quoted_header = std::size_t{frame[quoted] & 0x0fu} * 4;
    if (quoted + quoted_header > frame.size()) return false;
    return net::fold(net::ones_sum(frame.subspan(view.l4_offset, view.l4_length))) == 0xffff &&
           net::fold(net::ones_sum(frame.subspan(quoted, quoted_header))) == 0xffff;
}

drop_reason nat_stage::map(flow::flow_record& rec, const net::packet_view& view, const flow::flow_table& table,
                           uint32_t now, uint32_t& pool) noexcept {
    pool = 0;
    if (view.family != net::ip_family::v4) return stats::no_drop;
    if (nat_.pool_size() == 0) {
        if (reporter_.enabled()) reporter_.addresses_exhausted(view, now);
        return drop_reason::nat_no_ipv4_pool;
    }
    const auto taken = [&](uint32_t public_addr, uint16_t public_port) {
        // With RSS a port is usable only if its reply hashes to this worker.
        if (settings_.steer != nullptr &&
            !settings_.steer->accepts(settings_.worker, view.proto, view.dst.v4(), view.dst_port, public_addr,
                                      public_port))
            return true;
        return table.contains_inbound(view.proto, view.dst, view.dst_port, public_addr, public_port);
    };
    const nat::allocation a = nat_.allocate(view.proto, view.src, view.src_port, view.dst, view.dst_port, taken);
    if (!a.ok) {
        if (reporter_.enabled()) reporter_.ports_exhausted(view, a.public_addr, a.pool_index, now);
        return drop_reason::nat_ports_exhausted;
    }
    rec.public_addr = a.public_addr;
    rec.public_port = a.public_port;
    pool = a.pool_index;
    return stats::no_drop;
}

void nat_stage::snapshot(stats::live_stats& out) const noexcept {
    out.pool_size = nat_.pool_size();
    for (uint32_t p = 0; p < nat_.pool_size() && p < stats::max_pool_addresses; ++p)
        out.pool[p] = {nat_.mappings_in_use(p), mappings_created_[p], nat_.exhausted(p)};
}

std::vector<pool_address_usage> nat_stage::pool_usage() const {
    std::vector<pool_address_usage> out;
    for (uint32_t p = 0; p < nat_.pool_size(); ++p)
        out.push_back({net::ip_address::from_v4(nat_.pool_address(p)), nat_.mappings_in_use(p),
                       mappings_created_[p], nat_.exhausted(p)});
    return out;
}

} // namespace egress::gateway
