#include "gateway/flow_query.hpp"

#include <algorithm>

#include "base/fixed_text.hpp"
#include "base/hash.hpp"
#include "gateway/flow_policy_stage.hpp"

namespace egress::gateway {

namespace {

// Min-heap on bytes: the front is the smallest of the kept flows.
bool more_bytes(const flow_summary& a, const flow_summary& b) noexcept { return a.bytes() > b.bytes(); }

} // namespace

flow_query flow_query::top_flows(uint32_t top, std::optional<policy::cidr> src, std::optional<policy::cidr> dst) {
    flow_query q(kind::flows, std::clamp<uint32_t>(top, 1, max_top));
    q.src_ = src;
    q.dst_ = dst;
    q.heap_.reserve(q.top_);
    return q;
}

flow_query flow_query::nat_hosts(uint32_t top) {
    flow_query q(kind::nat_hosts, std::clamp<uint32_t>(top, 1, max_top));
    q.slots_.resize(host_slots);
    return q;
}

flow_query::flow_query(flow_query&& o) noexcept
    : matched(o.matched), scanned(o.scanned), hosts_total(o.hosts_total), hosts_overflow(o.hosts_overflow),
      done(o.done.load()), kind_(o.kind_), top_(o.top_), src_(o.src_), dst_(o.dst_), cursor_(o.cursor_),
      heap_(std::move(o.heap_)), slots_(std::move(o.slots_)), source_slots_(std::move(o.source_slots_)) {}

flow_query flow_query::sources(uint32_t top) {
    flow_query q(kind::sources, std::clamp<uint32_t>(top, 1, max_top));
    q.source_slots_.resize(host_slots);
    return q;
}

bool flow_query::step(const flow::source_limits& limits, uint32_t budget) noexcept {
    const uint32_t slots = limits.source_slots();
    const uint32_t end = slots - cursor_ < budget ? slots : cursor_ + budget;
    flow::source_limits::source_usage u;
    for (; cursor_ < end; ++cursor_)
        if (limits.source_at(cursor_, u) && (u.flows != 0 || u.refused != 0)) count_source(u);
    if (cursor_ < slots) return false;
    done.store(true, std::memory_order_release);
    return true;
}

// The same source may be tracked by several workers: its counts add up.
void flow_query::count_source(const flow::source_limits::source_usage& u) noexcept {
    const uint32_t mask = host_slots - 1;
    ++scanned;
    uint32_t i = static_cast<uint32_t>(base::mum(base::load64(u.source.bytes.data()) ^ 0x2545f4914f6cdd1dULL,
                                                 base::load64(u.source.bytes.data() + 8))) &
                 mask;
    for (uint32_t probe = 0; probe < max_host_probes; ++probe, i = (i + 1) & mask) {
        source_offender& s = source_slots_[i];
        if (s.flows == 0 && s.refused == 0) {
            s = {u.source, u.flows, u.refused};
            ++hosts_total;
            return;
        }
        if (s.source == u.source) {
            s.flows += u.flows;
            s.refused += u.refused;
            return;
        }
    }
    ++hosts_overflow;
}

std::vector<source_offender> flow_query::offenders() const {
    std::vector<source_offender> out;
    for (const source_offender& s : source_slots_)
        if (s.flows != 0 || s.refused != 0) out.push_back(s);
    std::sort(out.begin(), out.end(), [](const source_offender& a, const source_offender& b) {
        if (a.refused != b.refused) return a.refused > b.refused;
        if (a.flows != b.flows) return a.flows > b.flows;
        return a.source < b.source;
    });
    if (out.size() > top_) out.resize(top_);
    return out;
}

bool flow_query::step(const flow::flow_table& table, uint32_t budget, uint32_t now_ms,
                      const hostname_reassembly* names, const flow_policy_stage* policy) noexcept {
    const uint32_t end = table.capacity() - cursor_ < budget ? table.capacity() : cursor_ + budget;
    table.for_each_live_in(cursor_, end,
                           [&](uint32_t idx, const flow::flow_record&) { visit(idx, table, now_ms, names, policy); });
    cursor_ = end;
    if (cursor_ < table.capacity()) return false;
    done.store(true, std::memory_order_release);
    return true;
}

void flow_query::visit(uint32_t idx, const flow::flow_table& table, uint32_t now_ms, const hostname_reassembly* names,
                       const flow_policy_stage* policy) noexcept {
    const flow::flow_record& r = table.at(idx);
    const flow::flow_volume& v = table.volume(idx);
    ++scanned;
    if (kind_ == kind::nat_hosts) {
        if (!r.is_v4()) return;
        ++matched;
        count_host(r.inside.v4());
        return;
    }
    if (src_ && !src_->contains(r.inside)) return;
    if (dst_ && !dst_->contains(r.remote)) return;
    ++matched;
    flow_summary s;
    s.inside = r.inside;
    s.remote = r.remote;
    s.public_addr = r.public_addr;
    s.inside_port = r.inside_port;
    s.remote_port = r.remote_port;
    s.public_port = r.public_port;
    s.proto = r.proto;
    s.tcp_state = r.tcp_state;
    s.flags = r.flags;
    s.v4 = r.is_v4();
    s.bytes_out = v.bytes_out;
    s.bytes_in = v.bytes_in;
    s.packets_out = r.packets_out;
    s.packets_in = r.packets_in;
    s.expires_in_ms = static_cast<int32_t>(r.expires_at_ms - now_ms);
    if (names != nullptr) {
        const std::string_view host = names->hostname(idx);
        s.hostname_length = static_cast<uint8_t>(std::min(host.size(), s.hostname.size()));
        std::copy_n(host.data(), s.hostname_length, s.hostname.data());
    }
    const bool kept = heap_.size() < top_ || s.bytes() > heap_.front().bytes();
    if (kept && policy != nullptr) // the rule only for flows shown: one policy evaluation each
        base::set_field_text(s.rule, (r.flags & flow::flow_flags::cut) ? policy->cut_rule(table.tally(idx))
                                                                      : policy->allow_rule(r, idx));
    if (heap_.size() < top_) { // within the reserved capacity: no allocation
        heap_.push_back(s);
        std::push_heap(heap_.begin(), heap_.end(), more_bytes);
    } else if (s.bytes() > heap_.front().bytes()) {
        std::pop_heap(heap_.begin(), heap_.end(), more_bytes);
        heap_.back() = s;
        std::push_heap(heap_.begin(), heap_.end(), more_bytes);
    }
}

void flow_query::count_host(uint32_t address) noexcept {
    const uint32_t mask = host_slots - 1;
    uint32_t i = static_cast<uint32_t>(base::mum(address, 0x9e3779b97f4a7c15ULL)) & mask;
    for (uint32_t probe = 0; probe < max_host_probes; ++probe, i = (i + 1) & mask) {
        host_slot& s = slots_[i];
        if (s.mappings == 0) {
            s = {address, 1};
            ++hosts_total;
            return;
        }
        if (s.address == address) {
            ++s.mappings;
            return;
        }
    }
    ++hosts_overflow;
}

std::vector<flow_summary> flow_query::flows() const {
    std::vector<flow_summary> out = heap_;
    std::sort(out.begin(), out.end(), [](const flow_summary& a, const flow_summary& b) {
        if (a.bytes() != b.bytes()) return a.bytes() > b.bytes();
        if (a.inside != b.inside) return a.inside < b.inside;
        return a.inside_port < b.inside_port;
    });
    return out;
}

std::vector<host_mappings> flow_query::hosts() const {
    std::vector<host_mappings> out;
    for (const host_slot& s : slots_)
        if (s.mappings != 0) out.push_back({net::ip_address::from_v4(s.address), s.mappings});
    std::sort(out.begin(), out.end(), [](const host_mappings& a, const host_mappings& b) {
        return a.mappings != b.mappings ? a.mappings > b.mappings : a.inside < b.inside;
    });
    if (out.size() > top_) out.resize(top_);
    return out;
}

} // namespace egress::gateway
