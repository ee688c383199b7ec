#include "gateway/gateway_core.hpp"

#include <algorithm>
#include <cstring>

#include "flow/tcp_state.hpp"
#include "gateway/steering.hpp"
#include "net/l2.hpp"
#include "net/packet_parser.hpp"
#include "net/rewrite.hpp"
#include "net/tcp_segment.hpp"

namespace egress::gateway {

using stats::drop_reason;
using stats::no_drop;
using stats::side;

namespace {

constexpr stats::flow_proto proto_class(uint8_t proto) noexcept {
    switch (proto) {
    case net::proto_tcp: return stats::flow_proto::tcp;
    case net::proto_udp: return stats::flow_proto::udp;
    default: return stats::flow_proto::icmp;
    }
}

constexpr bool is_echo_request(const net::packet_view& v) noexcept {
    return (v.proto == net::proto_icmp && v.icmp_type == net::icmp_echo_request) ||
           (v.proto == net::proto_icmpv6 && v.icmp_type == net::icmpv6_echo_request);
}

// Drops that refuse a flow attempt (reported to the collector, aggregated).
constexpr bool is_refused_attempt(drop_reason r) noexcept {
    return r == drop_reason::inbound_unsolicited || r == drop_reason::flow_table_full ||
           r == drop_reason::nat_ports_exhausted || r == drop_reason::nat_no_ipv4_pool ||
           r == drop_reason::policy_denied || r == drop_reason::policy_blocked;
}

// Parser verdicts behind which a frame for the gateway itself may hide: ARP
// (not IP), neighbour discovery (ICMPv6 but not echo), an echo to an own address.
constexpr bool may_be_local(drop_reason r) noexcept {
    return r == drop_reason::ethertype_unsupported || r == drop_reason::icmp_type_unsupported ||
           r == drop_reason::local_delivery_unsupported;
}

uint32_t idle_timeout(const flow::flow_record& r, const flow::timeouts& t) noexcept {
    switch (r.proto) {
    case net::proto_tcp: return flow::timeout_for(static_cast<flow::tcp_state>(r.tcp_state), t);
    case net::proto_udp: return t.udp_ms;
    default: return t.icmp_ms;
    }
}

} // namespace

gateway_core::gateway_core(const settings& s)
    : settings_(s),
      table_(s.max_flows, s.table_memory != nullptr ? s.table_memory : std::pmr::new_delete_resource()),
      nat_(s.pool.addresses, s.pool.port_min, s.pool.port_max),
      reporter_(s.flow_export, s.pool.addresses.size(), counters_),
      mappings_created_(s.pool.addresses.size(), 0),
      reassembly_(s.inspect, s.max_flows),
      icmp_budget_(s.icmp.errors_per_second, s.icmp.burst),
      fragments_(s.fragments, counters_) {}

bool gateway_core::is_own_address(const net::ip_address& a) const noexcept {
    for (const auto& own : settings_.inside.addresses)
        if (own == a) return true;
    for (const auto& own : settings_.outside.addresses)
        if (own == a) return true;
    return false;
}

// Checks that do not need the flow table: the frame parses, is addressed to this
// port's MAC, is not for the gateway itself, and may be forwarded one more hop.
drop_reason gateway_core::admit(side from, std::span<const uint8_t> frame, net::packet_view& view) const noexcept {
    if (const drop_reason r = net::parse_frame(frame, view); r != no_drop) return r;
    if (view.is_fragment() && !fragments_.enabled()) [[unlikely]]
        return view.family == net::ip_family::v4 ? drop_reason::ipv4_fragment : drop_reason::ipv6_fragment;
    const side_settings& port = from == side::inside ? settings_.inside : settings_.outside;
    if (!port.accepts_vlan(view.l3_offset, view.vlan_tci)) return drop_reason::vlan_mismatch;
    if (!settings_.accept_any_dst_mac && std::memcmp(frame.data(), port.mac.bytes.data(), 6) != 0)
        return drop_reason::l2_dst_not_local;
    if (is_own_address(view.dst)) return drop_reason::local_delivery_unsupported;
    if (view.ttl <= 1) return drop_reason::ttl_expired;
    return no_drop;
}

void gateway_core::process_burst(side from, std::span<uint8_t>* frames, uint16_t n, uint32_t now,
                                 drop_reason* verdicts) noexcept {
    outbox_.clear();
    if (!started_) start_up();
    for (uint16_t done = 0; done < n; done += lookup_chunk) {
        const uint16_t k = static_cast<uint16_t>(n - done < lookup_chunk ? n - done : lookup_chunk);
        process_chunk(from, frames + done, k, now, verdicts + done, reply_len_ + done, front_ + done, share_ + done);
    }
}


// At most lookup_chunk frames: small enough that the per-packet scratch below
// stays in L1 and costs little to set up.
void gateway_core::process_chunk(side from, std::span<uint8_t>* frames, uint16_t n, uint32_t now,
                                 drop_reason* verdicts, uint16_t* reply_len, int8_t* front, bool* share) noexcept {
    std::fill_n(reply_len, n, uint16_t{0});
    std::fill_n(front, n, int8_t{0});
    std::fill_n(share, n, false);
    net::packet_view views[lookup_chunk];
    flow::flow_key keys[lookup_chunk];
    flow::direction dirs[lookup_chunk] = {};
    uint32_t found[lookup_chunk];
    uint16_t pos[lookup_chunk];
    const flow::direction dir = from == side::inside ? flow::direction::outbound : flow::direction::inbound;

    // 1. Parse and admit the whole burst; build the lookup keys of the survivors.
    uint16_t m = 0;
    for (uint16_t i = 0; i < n; ++i) {
        verdicts[i] = admit(from, frames[i], views[m]);
        if (verdicts[i] != no_drop) {
            if (may_be_local(verdicts[i]))
                verdicts[i] = local_frame(from, frames[i], views[m], verdicts[i], now, share[i]);
            counters_.count_drop(verdicts[i]);
            // Time exceeded goes to inside senders only (traceroute from inside);
            // the gateway does not answer probes from outside.
            if (verdicts[i] == drop_reason::ttl_expired && from == side::inside)
                send_icmp_error(from, frames[i], views[m], own_error::time_exceeded, 0, now);
            continue;
        }
        const net::packet_view& v = views[m];
        flow::flow_key& key = keys[m]; // field by field: a temporary here costs a store-forwarding stall
        if (v.icmp_error) [[unlikely]] {
            // The quoted packet went the other way: its tuple mirrored is this
            // direction's key of the flow it belongs to.
            key.src = v.quoted.dst;
            key.dst = v.quoted.src;
            key.src_port = v.quoted.dst_port;
            key.dst_port = v.quoted.src_port;
            key.proto = v.quoted.proto;
        } else {
            key.src = v.src;
            key.dst = v.dst;
            key.src_port = v.src_port;
            key.dst_port = v.dst_port;
            key.proto = v.proto;
        }
        dirs[m] = dir;
        pos[m++] = i;
    }

    // 2. One burst lookup: hash all, prefetch all buckets, then compare. The hits'
    //    byte counters (a side array) are prefetched for step 3.
    table_.lookup_burst(keys, dirs, m, found);
    for (uint16_t j = 0; j < m; ++j)
        if (found[j] != flow::flow_table::npos) __builtin_prefetch(&table_.volume(found[j]), 1, 3);

    // 3. Act on each packet in arrival order. If an earlier packet of this burst
    //    removed a record, the remaining lookups are redone (records may be reused).
    const uint64_t erasures_at_lookup = erasures_;
    for (uint16_t j = 0; j < m; ++j) {
        const uint16_t i = pos[j];
        uint32_t idx = found[j];
        if (erasures_ != erasures_at_lookup) idx = table_.lookup(keys[j], dir);
        if (views[j].icmp_error) [[unlikely]]
            verdicts[i] = relay_icmp_error(from, frames[i], views[j], idx, now, front[i]);
        else if (views[j].is_fragment()) [[unlikely]]
            verdicts[i] = fragment(dir, frames[i], views[j], keys[j], idx, now, reply_len[i], front[i]);
        else if (dir == flow::direction::outbound)
            verdicts[i] = outbound(frames[i], views[j], keys[j], idx, now, reply_len[i], front[i]);
        else
            verdicts[i] = inbound(frames[i], views[j], idx, now, reply_len[i], front[i]);
        if (verdicts[i] == no_drop || verdicts[i] == stats::consumed) continue;
        counters_.count_drop(verdicts[i]);
        if (reporter_.enabled() && is_refused_attempt(verdicts[i])) reporter_.denied(views[j], verdicts[i], now);
    }
}

drop_reason gateway_core::outbound(std::span<uint8_t> frame, net::packet_view& view, const flow::flow_key& key,
                                   uint32_t& idx, uint32_t now, uint16_t& reply_len, int8_t& front) noexcept {
    if (view.l3_length > settings_.outside.mtu) [[unlikely]]
        return check_mtu(side::inside, frame, view, now);
    if (idx != flow::flow_table::npos && flow::is_expired(table_.at(idx), now)) {
        retire(idx, now); // an idle flow's tuple is reused: it starts over as a new flow
        idx = flow::flow_table::npos;
    }
    // A miss is looked up once more before creating: an earlier packet of the same
    // burst may have created this very flow after the burst lookup ran.
    if (idx == flow::flow_table::npos) idx = table_.lookup(key, flow::direction::outbound);
    if (idx == flow::flow_table::npos) {
        if (const drop_reason r = create_flow(frame, view, now, idx); r != no_drop) return r;
    }
    flow::flow_record& rec = table_.at(idx);
    if (policy_ != nullptr && rec.policy_gen != policy_->generation) recheck(rec, idx, now);
    if (rec.flags & flow::flow_flags::cut) return cut_packet(frame, view, flow::direction::outbound, reply_len);
    if (view.is_fragment() && fragments_uninspectable(rec)) [[unlikely]] return drop_reason::fragment_inspected;
    if (rec.flags & flow::flow_flags::awaits_hostname) {
        if (const drop_reason r = inspect_segment(rec, idx, frame, view, now, reply_len); r != no_drop) return r;
    }
    if (const drop_reason r = track(rec, flow::direction::outbound, view, now); r != no_drop) return r;
    if ((rec.flags & flow::flow_flags::inspection_slot) && policy_ != nullptr &&
        policy_->scanner(settings_.worker) != nullptr) {
        if (const drop_reason r = dlp_segment(rec, idx, frame, view, flow::direction::outbound, now, reply_len);
            r != no_drop)
            return r;
    }
    account(rec, idx, flow::direction::outbound, view, now);
    if (rec.is_v4())
        net::set_ipv4_source(frame, view, net::ip_address::from_v4(rec.public_addr), rec.public_port);
    return emit(side::outside, frame, view, now, frame_headroom_, front);
}

drop_reason gateway_core::inbound(std::span<uint8_t> frame, net::packet_view& view, uint32_t& idx, uint32_t now,
                                  uint16_t& reply_len, int8_t& front) noexcept {
    if (idx == flow::flow_table::npos) return drop_reason::inbound_unsolicited;
    if (flow::is_expired(table_.at(idx), now)) {
        retire(idx, now);
        return drop_reason::inbound_unsolicited;
    }
    if (view.l3_length > settings_.inside.mtu) [[unlikely]]
        return check_mtu(side::outside, frame, view, now);
    flow::flow_record& rec = table_.at(idx);
    if (policy_ != nullptr && rec.policy_gen != policy_->generation) recheck(rec, idx, now);
    if (rec.flags & flow::flow_flags::cut) return cut_packet(frame, view, flow::direction::inbound, reply_len);
    if (view.is_fragment() && fragments_uninspectable(rec)) [[unlikely]] return drop_reason::fragment_inspected;
    if (const drop_reason r = track(rec, flow::direction::inbound, view, now); r != no_drop) return r;
    if (rec.flags & flow::flow_flags::inspection_slot) { // the flag, not the side array: no extra cache line per packet
        if (view.proto == net::proto_tcp && (view.tcp_flags & net::tcp_syn))
            reassembly_.set_inbound_base(idx, net::tcp_seq(frame, view));
        if (policy_ != nullptr && policy_->scanner(settings_.worker) != nullptr) {
            if (const drop_reason r = dlp_segment(rec, idx, frame, view, flow::direction::inbound, now, reply_len);
                r != no_drop)
                return r;
        }
    }
    account(rec, idx, flow::direction::inbound, view, now);
    if (rec.is_v4()) net::set_ipv4_destination(frame, view, rec.inside, rec.inside_port);
    return emit(side::inside, frame, view, now, frame_headroom_, front);
}


// Slow path: a packet from inside that belongs to no flow. Only connection
// openers create flows; IPv4 flows get their public address:port here.
[[gnu::noinline]] drop_reason gateway_core::create_flow(std::span<const uint8_t> frame, const net::packet_view& view,
                                                        uint32_t now, uint32_t& idx) noexcept {
    if (view.proto == net::proto_tcp && !flow::tcp_opens_flow(flow::direction::outbound, view.tcp_flags))
        return drop_reason::tcp_new_not_syn;
    if ((view.proto == net::proto_icmp || view.proto == net::proto_icmpv6) && !is_echo_request(view))
        return drop_reason::icmp_new_not_request;
    bool inspect = false;
    if (policy_ != nullptr) {
        const policy::decision d = policy_->decide(
            policy::query{view.src, view.dst, view.proto, view.dst_port, policy::host_state::unknown, {},
                          settings_.worker});
        inspect = d.pending;
        if (d.would_deny) {
            ++counters_.policy_would_deny;
            security_event(policy::security_event_kind::would_deny, d, view.src, view.src_port, view.dst,
                           view.dst_port, view.proto, false, now);
        }
        if (d.action == policy::verdict::deny) {
            const bool blocked = d.block != policy::no_rule;
            security_event(blocked ? policy::security_event_kind::block : policy::security_event_kind::deny, d,
                           view.src, view.src_port, view.dst, view.dst_port, view.proto, false, now);
            return blocked ? drop_reason::policy_blocked : d.quic ? drop_reason::policy_quic : drop_reason::policy_denied;
        }
    }
    if (table_.size() == table_.capacity()) return drop_reason::flow_table_full;

    flow::flow_record rec;
    rec.inside = view.src;
    rec.remote = view.dst;
    rec.inside_port = view.src_port;
    rec.remote_port = view.dst_port;
    rec.proto = view.proto;
    rec.family = static_cast<uint8_t>(view.family);
    rec.tcp_state = static_cast<uint8_t>(flow::tcp_state::syn_sent);
    rec.report_start_ms = now;
    rec.policy_gen = policy_ != nullptr ? policy_->generation : 0;
    uint32_t pool_index = 0;
    if (view.family == net::ip_family::v4) {
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
            return table_.contains_inbound(view.proto, view.dst, view.dst_port, public_addr, public_port);
        };
        const nat::allocation a = nat_.allocate(view.proto, view.src, view.src_port, view.dst, view.dst_port, taken);
        if (!a.ok) {
            if (reporter_.enabled()) reporter_.ports_exhausted(view, a.public_addr, a.pool_index, now);
            return drop_reason::nat_ports_exhausted;
        }
        rec.public_addr = a.public_addr;
        rec.public_port = a.public_port;
        pool_index = a.pool_index;
    }
    idx = table_.insert(rec);
    if (idx == flow::flow_table::npos) return drop_reason::flow_table_full;
    const bool dlp = policy_ != nullptr && policy_->scanner(settings_.worker) != nullptr &&
                     (view.proto == net::proto_tcp || view.proto == net::proto_udp);
    if (inspect || dlp) {
        // The decision waits for the hostname in the client's first bytes; DLP
        // keeps its stream state in the same slot.
        const auto kind = inspect ? policy_->compiled->inspection_for(view.proto, view.dst_port)
                                  : policy::inspection_kind::none;
        const uint32_t seq = view.proto == net::proto_tcp ? net::tcp_seq(frame, view) : 0;
        if (reassembly_.start(idx, kind, seq)) {
            table_.at(idx).flags |= inspect ? flow::flow_flags::awaits_hostname | flow::flow_flags::inspection_slot
                                            : flow::flow_flags::inspection_slot;
        } else if (inspect ? settings_.inspect.fail_closed : policy_->compiled->dlp_fail_closed()) {
            table_.erase(idx);
            ++erasures_;
            return drop_reason::inspect_exhausted;
        } else {
            ++counters_.inspect_unchecked; // fail open: the flow passes uninspected
        }
    }
    if (view.family == net::ip_family::v4) {
        nat_.on_mapping_created(pool_index);
        ++mappings_created_[pool_index];
        if (reporter_.enabled() && settings_.flow_export.nat_session_events)
            reporter_.nat_session(table_.at(idx), true, now);
    }
    ++counters_.flows_created[static_cast<std::size_t>(proto_class(view.proto))];
    return no_drop;
}

// Advances the flow's state by one packet and refreshes its idle timeout.
drop_reason gateway_core::track(flow::flow_record& rec, flow::direction dir, const net::packet_view& view,
                                uint32_t now) noexcept {
    if (rec.proto == net::proto_tcp) {
        const auto before = static_cast<flow::tcp_state>(rec.tcp_state);
        // A brand-new flow is already in syn_sent: its SYN is the retransmit case.
        const flow::tcp_step step = flow::tcp_advance(before, dir, view.tcp_flags, rec.flags);
        if (!step.valid) return drop_reason::tcp_invalid_transition;
        if (step.next == flow::tcp_state::syn_sent &&
            (before == flow::tcp_state::time_wait || before == flow::tcp_state::closed))
            ++counters_.tcp_reopened;
        rec.tcp_state = static_cast<uint8_t>(step.next);
    }
    rec.expires_at_ms = now + idle_timeout(rec, settings_.timeouts);
    return no_drop;
}

drop_reason gateway_core::emit(side to, std::span<uint8_t> frame, net::packet_view& view, uint32_t now,
                               std::size_t headroom, int8_t& front) noexcept {
    if (const drop_reason r = net::decrement_hop_limit(frame, view); r != no_drop) return r;
    if (settings_.mss_clamp != 0 && view.proto == net::proto_tcp && (view.tcp_flags & net::tcp_syn)) [[unlikely]]
        clamp_mss(frame, view);
    const side_settings& port = to == side::inside ? settings_.inside : settings_.outside;
    const net::mac_address* dst = port.next_hop_mac ? &*port.next_hop_mac : nullptr;
    uint32_t wait = neighbor_table::npos;
    if (dst == nullptr) {
        drop_reason why = no_drop;
        dst = resolver_.lookup(to, view.dst, now, why, wait);
        if (why != no_drop) return why;
    }
    static constexpr net::mac_address unresolved{};
    const net::mac_address& next = dst != nullptr ? *dst : unresolved;
    std::span<uint8_t> out = frame;
    const std::size_t l3_out = net::ethernet_header + (port.vlan != 0 ? net::vlan_tag : 0);
    if (view.l3_offset == l3_out) { // same layout: MACs (and the VID) in place
        net::set_macs(frame, port.mac, next);
        if (port.vlan != 0) {
            frame[14] = static_cast<uint8_t>(port.vlan >> 8);
            frame[15] = static_cast<uint8_t>(port.vlan);
        }
    } else { // a tag pushed or popped: the L2 header is rewritten in front of L3
        const std::span<uint8_t> buffer(frame.data() - headroom, frame.size() + headroom);
        const std::size_t start =
            net::write_l2_header(buffer, headroom, frame.size(), view.l3_offset, port.mac, next, port.vlan);
        if (start == net::npos_l2) return drop_reason::vlan_no_headroom;
        front = static_cast<int8_t>(static_cast<int>(headroom) - static_cast<int>(start));
        out = buffer.subspan(start);
    }
    if (dst == nullptr) return resolver_.hold(to, wait, out, now);
    return no_drop;
}

// Per-packet accounting for flow export. A flow whose byte counters approach
// 32 bits is reported early (its deltas restart), so counts never wrap.
void gateway_core::account(flow::flow_record& rec, uint32_t idx, flow::direction dir, const net::packet_view& view,
                           uint32_t now) noexcept {
    flow::flow_volume& vol = table_.volume(idx);
    rec.tcp_flags_seen |= view.tcp_flags;
    if (dir == flow::direction::outbound) {
        rec.packets_out += 1;
        vol.bytes_out += view.l3_length;
    } else {
        rec.packets_in += 1;
        vol.bytes_in += view.l3_length;
    }
    constexpr uint32_t report_before = 0xF000'0000u;
    if ((vol.bytes_out | vol.bytes_in) >= report_before && reporter_.enabled()) reporter_.flow_update(rec, vol, now);
}

// Why a flow that reached its idle timeout ended: TCP that closed (FIN both ways
// or RST) ended by itself; anything else went idle.
flow::end_reason gateway_core::natural_end(const flow::flow_record& rec) noexcept {
    const auto state = static_cast<flow::tcp_state>(rec.tcp_state);
    const bool closed = rec.proto == net::proto_tcp &&
                        (state == flow::tcp_state::time_wait || state == flow::tcp_state::closed);
    return closed ? flow::end_reason::end_of_flow : flow::end_reason::idle_timeout;
}

uint32_t gateway_core::last_packet_time(const flow::flow_record& rec) const noexcept {
    return rec.expires_at_ms - idle_timeout(rec, settings_.timeouts);
}

flow_names gateway_core::names_of(uint32_t idx) const noexcept {
    flow_names n;
    if ((table_.at(idx).flags & flow::flow_flags::inspection_slot) == 0) return n;
    const std::string_view host = reassembly_.hostname(idx);
    (reassembly_.kind(idx) == policy::inspection_kind::http ? n.http_host : n.server_name) = host;
    return n;
}

void gateway_core::on_expired(uint32_t idx, const flow::flow_record& rec) noexcept {
    if (rec.is_v4()) nat_.on_mapping_released(nat_.pool_index_for(rec.inside)); // paired pooling
    ++counters_.flows_expired[static_cast<std::size_t>(proto_class(rec.proto))];
    if (reporter_.enabled()) {
        reporter_.flow_end(rec, table_.volume(idx), natural_end(rec), last_packet_time(rec), names_of(idx));
        if (rec.is_v4() && settings_.flow_export.nat_session_events)
            reporter_.nat_session(rec, false, rec.expires_at_ms);
    }
    if (rec.flags & flow::flow_flags::inspection_slot) reassembly_.finish(idx);
}

void gateway_core::retire(uint32_t idx, uint32_t) noexcept {
    on_expired(idx, table_.at(idx));
    table_.erase(idx);
    ++erasures_;
}

// The sweep also re-checks idle flows against a newer policy snapshot, so a flow
// is cut by a reload or a block even before its next packet (and a flow stays
// idle through at most one sweep round, not 255 publications, before it is
// re-checked: the generation byte cannot wrap around unseen).
void gateway_core::expire(uint32_t now, uint32_t budget) noexcept {
    outbox_.clear();
    if (!started_) start_up();
    resolver_.tick(now, budget);
    const auto on_expired_cb = [this](uint32_t idx, const flow::flow_record& rec) { on_expired(idx, rec); };
    const bool reporting = reporter_.enabled();
    const uint32_t n = table_.sweep(now, budget, on_expired_cb, [this, now, reporting](uint32_t idx, flow::flow_record& rec) {
        if (policy_ != nullptr && rec.policy_gen != policy_->generation) recheck(rec, idx, now);
        if (reporting && reporter_.is_due(rec, now)) reporter_.flow_update(rec, table_.volume(idx), now);
    });
    if (reporting) reporter_.tick(now);
    erasures_ += n;
    fragments_.expire(now, budget);
}

void gateway_core::report_remaining(uint32_t now) noexcept {
    if (!reporter_.enabled()) return;
    reporter_.set_patient(true);
    // Flows already past their timeout (not yet swept) and TCP connections that
    // closed (waiting out TIME_WAIT) end for their own reason; the others are
    // cut by the shutdown.
    table_.for_each_live([this, now](uint32_t idx, const flow::flow_record& rec) {
        const flow::end_reason natural = natural_end(rec);
        const flow::end_reason why = flow::is_expired(rec, now) || natural == flow::end_reason::end_of_flow
                                         ? natural
                                         : flow::end_reason::forced_end;
        reporter_.flow_end(rec, table_.volume(idx), why, last_packet_time(rec), names_of(idx));
    });
    reporter_.flush_all(now);
    reporter_.set_patient(false);
}

void gateway_core::snapshot(stats::live_stats& out) const noexcept {
    out.counters = counters_;
    out.flows_active = table_.size();
    out.pool_size = nat_.pool_size();
    out.fragment_datagrams_active = fragments_.active();
    out.fragments_held_now = fragments_.held();
    for (uint32_t p = 0; p < nat_.pool_size() && p < stats::max_pool_addresses; ++p)
        out.pool[p] = {nat_.mappings_in_use(p), mappings_created_[p], nat_.exhausted(p)};
}

std::vector<pool_address_usage> gateway_core::pool_usage() const {
    std::vector<pool_address_usage> out;
    for (uint32_t p = 0; p < nat_.pool_size(); ++p)
        out.push_back({net::ip_address::from_v4(nat_.pool_address(p)), nat_.mappings_in_use(p),
                       mappings_created_[p], nat_.exhausted(p)});
    return out;
}

} // namespace egress::gateway
