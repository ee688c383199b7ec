// gateway_core: the owner of one worker's stages, and the order they run in.
// Every call below goes forward: no stage sends a frame back to an earlier one.
//
//   admit_stage   parse once; transit, for the gateway, or refused
//   local_stage   the gateway's own traffic (ARP, ND, echo)     -> result
//   flow_stage    burst lookup; find, create, retire flows
//   fragment_stage  fragments: first -> flow stages; later -> follow the flow
//   flow_policy_stage  re-check, cut, hostname hold   (check)
//   flow_stage    TCP state, idle timeout             (track)
//   flow_policy_stage  DLP                            (scan)
//   flow_stage    packets and bytes                   (account)
//   nat_stage     translate by direction
//   emit_stage    hop limit, MSS, next hop, L2 header and VLAN   -> result
#include "gateway/gateway_core.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include "gateway/held_segment.hpp"

#include "net/checksum.hpp"
#include "net/packet_parser.hpp"
#include "stats/policy_denial.hpp"

namespace egress::gateway {

using stats::drop_reason;
using stats::no_drop;
using stats::side;

namespace {

// Drops that refuse a flow attempt (reported to the collector, aggregated):
// every deny kind, whether a rule, a block or a policy setting decided it
// (stats/policy_denial.hpp), and the resources a new flow could not get.
constexpr bool is_refused_attempt(drop_reason r) noexcept {
    return r == drop_reason::inbound_unsolicited || r == drop_reason::flow_table_full ||
           r == drop_reason::nat_ports_exhausted || r == drop_reason::nat_no_ipv4_pool ||
           r == drop_reason::policy_denied || r == drop_reason::policy_blocked || r == drop_reason::policy_quic ||
           r == drop_reason::inspect_exhausted || !stats::setting_rule_of(r).empty();
}

// Refusals of a new flow from inside that [icmp] prohibited answers (RFC 5508
// REQ-8: "unable to establish a NAT Session ... due to resource constraints or
// administrative restrictions"): the policy's denials and blocks, and no flow
// slot, no public port, no IPv4 pool, a per-source limit or no inspection
// slot. Not packets that open no flow (tcp_new_not_syn, icmp_new_not_request:
// strays, not attempts), nor anything from outside (the gateway answers no
// probe from there), nor a flow denied once its hostname is known (it is cut
// with a reset).
constexpr bool refuses_flow(drop_reason r) noexcept {
    switch (r) {
    case drop_reason::policy_denied:
    case drop_reason::policy_blocked:
    case drop_reason::policy_quic:
    case drop_reason::flow_table_full:
    case drop_reason::nat_ports_exhausted:
    case drop_reason::nat_no_ipv4_pool:
    case drop_reason::source_flow_limit:
    case drop_reason::source_rate_limit:
    case drop_reason::source_port_limit:
    case drop_reason::inspect_exhausted: return true;
    default: return false;
    }
}

// Packets between the write prefetch of a frame's first cache line (every
// header the flow stages rewrite) and its rewrite. Parsing read the line, but
// from a NIC or another core it arrives shared: the first store would wait
// for the other copies to be invalidated (~100-200 clocks). A packet's flow
// stages take ~60-80 clocks, so 4 packets ahead the line should be exclusive
// in time. With the line already owned (the micro benchmarks) the prefetch is
// a hit and costs an instruction; its effect on the two-core egress-bench was
// not measured with this change (bench/README.md).
constexpr uint16_t rewrite_distance = 4;

inline void prefetch_for_rewrite(std::span<uint8_t> frame) noexcept { __builtin_prefetch(frame.data(), 1, 3); }

// Every frame of a chunk arrived on the same side: its keys' directions are
// one of these, not written per packet.
constexpr std::array<flow::direction, lookup_chunk> all_of(flow::direction d) noexcept {
    std::array<flow::direction, lookup_chunk> a{};
    a.fill(d);
    return a;
}
constexpr std::array<flow::direction, lookup_chunk> all_outbound = all_of(flow::direction::outbound);
constexpr std::array<flow::direction, lookup_chunk> all_inbound = all_of(flow::direction::inbound);

constexpr side leaving_by(flow::direction dir) noexcept {
    return dir == flow::direction::outbound ? side::outside : side::inside;
}

} // namespace

gateway_core::gateway_core(const settings& s)
    : settings_(s),
      reporter_(s.flow_export, s.pool.addresses.size(), counters_),
      reassembly_(s.inspect, s.max_flows),
      fragments_(s.fragments, counters_),
      admit_(settings_, fragments_.enabled()),
      local_(settings_, outbox_, counters_, resolver_),
      emit_(settings_, outbox_, counters_, resolver_),
      nat_(settings_, reporter_),
      policy_(settings_, counters_, outbox_, reassembly_, emit_),
      flows_(settings_, counters_, reporter_, nat_, policy_, reassembly_) {
    policy_.use_dns(&dns_);
}

// The flow stages after lookup, written once for whole datagrams, fragments
// and released fragments: policy check, tracking, DLP, accounting, NAT, emit.
// A later fragment has no L4 header: its flow's state and DLP do not see it.
[[gnu::always_inline]] inline packet_result gateway_core::on_flow(uint32_t idx, flow::direction dir,
                                                                  std::span<uint8_t> frame, net::packet_view& view,
                                                                  uint32_t now, std::size_t headroom) noexcept {
    flow::flow_record& rec = flows_.at(idx);
    if (const packet_result r = policy_.check(rec, idx, dir, frame, view, now); !r.goes_on()) {
        if (r.kind == verdict::consumed) [[unlikely]]
            release_hold(policy_.take_release(), frame, view, now);
        return r;
    }
    bool dns_answer = false;
    if (!view.is_later_fragment()) {
        if (const drop_reason r = flows_.track(rec, idx, dir, frame, view, now); r != no_drop) return packet_result::drop(r);
        if (const packet_result r = policy_.scan(rec, idx, dir, frame, view, now); !r.goes_on()) return r;
        // A DNS response to an inside host, while the policy verifies names.
        if (dir == flow::direction::inbound && rec.remote_port == 53 && policy_.observes_dns()) [[unlikely]]
            dns_answer = observe_dns(rec, frame, view, now);
    }
    flows_.account(rec, idx, dir, view, now);
    nat_stage::translate(rec, dir, frame, view);
    if (nat_stage::renumbers(rec, dir, view)) renumber(rec, frame, view);
    if (dir == flow::direction::outbound && nat_.hairpins(view)) [[unlikely]]
        return hairpin(frame, view, now);
    packet_result r = emit_.emit(leaving_by(dir), frame, view, now, headroom);
    if (dns_answer && settings_.steer != nullptr) [[unlikely]] {
        // The other workers record it from a copy of the translated frame.
        r.share_with_peers = true;
        r.dns_answer = true;
    }
    return r;
}

[[gnu::noinline]] bool gateway_core::observe_dns(const flow::flow_record& rec, std::span<const uint8_t> frame,
                                                 const net::packet_view& view, uint32_t now) noexcept {
    if (view.proto != net::proto_udp && view.proto != net::proto_tcp) return false;
    return dns_.observe(rec.inside, rec.remote, frame, view, now);
}

// A datagram that may be fragmented leaves with an identification unique for
// its public address (nat_stage::next_ip_id); every fragment of one datagram
// with the same one, chosen when its first fragment to leave goes. Inline: a
// whole datagram without DF (most UDP) comes here; fragments take the call.
[[gnu::always_inline]] inline void gateway_core::renumber(const flow::flow_record& rec, std::span<uint8_t> frame,
                                                          const net::packet_view& view) noexcept {
    const uint16_t id = view.is_fragment() && fragment_entry_ != fragment_tracker::npos ? fragment_id(rec)
                                                                                        : nat_.next_ip_id(rec.public_addr);
    nat_stage::set_ipv4_id(frame, view, id);
}

[[gnu::noinline]] uint16_t gateway_core::fragment_id(const flow::flow_record& rec) noexcept {
    return fragments_.outbound_id(fragment_entry_, [&] { return nat_.next_ip_id(rec.public_addr); });
}

// A datagram from inside to a pool address, translated by its own flow (its
// source is now the sender's public address:port): it arrives at the flow
// that owns the destination address:port as if it came from outside, so the
// filtering is the same (no such flow: inbound_unsolicited), and leaves by the
// inside port from the outbox (a forwarded frame leaves by the other side).
// A frame larger than an outbox slot is refused as outbox_full.
//
// An ICMP echo request has no destination identifier (RFC 5508 REQ-7 asks
// echo hairpinning of Basic NAT only): no inside flow can own it. The pool
// address answers it, as the gateway's own public address: the request turns
// into its echo reply from that address, which comes back through the
// sender's own flow like any reply from outside (public identifier restored).
[[gnu::noinline]] packet_result gateway_core::hairpin(std::span<const uint8_t> frame, const net::packet_view& view,
                                                      uint32_t now) noexcept {
    const bool echo = view.proto == net::proto_icmp && view.icmp_type == net::icmp_echo_request;
    uint32_t idx = flow_stage::npos;
    if (!echo) {
        const flow::flow_key key{view.src, view.dst, view.src_port, view.dst_port, view.proto};
        idx = flows_.lookup(key, flow::direction::inbound);
        if (const drop_reason r = flows_.inbound(idx, now); r != no_drop) return packet_result::drop(r);
    }
    const std::span<uint8_t> slot = outbox_.prepare();
    if (slot.size() < frame.size()) return packet_result::drop(drop_reason::outbox_full);
    std::memcpy(slot.data(), frame.data(), frame.size());
    const std::span<uint8_t> f = slot.first(frame.size());
    net::packet_view v;
    if (echo) {
        // Source and destination are both the pool address: only the type
        // (and a fresh TTL, as the gateway's own replies have) change.
        f[view.l4_offset] = net::icmp_echo_reply;
        f[view.l3_offset + 8] = 64;
        net::recompute_checksums(f, view);
    }
    if (const drop_reason parsed = net::parse_frame(f, v); parsed != no_drop) return packet_result::drop(parsed);
    if (echo) {
        idx = flows_.lookup(flow::flow_key{v.src, v.dst, v.src_port, v.dst_port, v.proto}, flow::direction::inbound);
        if (const drop_reason r = flows_.inbound(idx, now); r != no_drop) return packet_result::drop(r);
    }
    const packet_result r = on_flow(idx, flow::direction::inbound, f, v, now, outbox::headroom);
    // A reply (a reset cutting the flow) was written into the copy, not into
    // the received frame the caller would send back: it stays a plain drop.
    if (r.kind == verdict::reply) return packet_result::drop(r.reason);
    if (!r.goes_on()) return r;
    outbox_.commit(side::inside, static_cast<std::size_t>(static_cast<int>(frame.size()) + r.front_adjust),
                   r.front_adjust);
    ++counters_.hairpinned;
    return packet_result::consumed();
}

// A whole datagram (or a first fragment) in transit: its flow found or created,
// then the flow stages. The MTU check comes where it always came: outbound
// before the flow is looked at, inbound once the flow is known to be live.
[[gnu::always_inline]] inline packet_result gateway_core::transit(flow::direction dir, std::span<uint8_t> frame,
                                                                  net::packet_view& view, const flow::flow_key& key,
                                                                  uint32_t& idx, uint32_t now) noexcept {
    const side from = dir == flow::direction::outbound ? side::inside : side::outside;
    const uint16_t mtu = emit_.port(leaving_by(dir)).mtu;
    if (dir == flow::direction::outbound) {
        if (view.l3_length > mtu) [[unlikely]]
            return packet_result::drop(emit_.too_big(from, frame, view, now));
        if (const drop_reason r = flows_.outbound(key, frame, view, now, idx); r != no_drop) {
            if (refuses_flow(r)) [[unlikely]]
                emit_.prohibited(frame, view, now);
            return packet_result::drop(r);
        }
    } else {
        if (const drop_reason r = flows_.inbound(idx, now); r != no_drop) return packet_result::drop(r);
        if (view.l3_length > mtu) [[unlikely]]
            return packet_result::drop(emit_.too_big(from, frame, view, now));
    }
    return on_flow(idx, dir, frame, view, now, emit_.frame_headroom());
}

void gateway_core::process_burst(side from, std::span<uint8_t>* frames, uint16_t n, uint32_t now,
                                 packet_result* results, net::packet_view* views, const drop_reason* parsed) noexcept {
    outbox_.clear();
    local_.start_up();
    for (uint16_t done = 0; done < n; done += lookup_chunk) {
        const uint16_t k = static_cast<uint16_t>(n - done < lookup_chunk ? n - done : lookup_chunk);
        process_chunk(from, frames + done, k, now, results + done, views != nullptr ? views + done : nullptr,
                      parsed != nullptr ? parsed + done : nullptr);
    }
}

namespace {
// The lookup key of a transit frame, written field by field into its slot (a
// temporary copied in costs a store-forwarding stall). An ICMP error's quoted
// packet went the other way: its tuple mirrored is this direction's key of
// the flow it belongs to.
[[gnu::always_inline]] inline void set_lookup_key(flow::flow_key& key, const net::packet_view& v) noexcept {
    if (v.icmp_error) [[unlikely]] {
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
}
} // namespace

// At most lookup_chunk frames: small enough that the per-packet scratch below
// stays in L1 and costs little to set up.
void gateway_core::process_chunk(side from, std::span<uint8_t>* frames, uint16_t n, uint32_t now,
                                 packet_result* results, net::packet_view* given, const drop_reason* parsed) noexcept {
    net::packet_view* const own = scratch_.views; // the views, when the caller did not parse
    flow::flow_key* const keys = scratch_.keys;
    net::packet_view* views[lookup_chunk];
    uint32_t found[lookup_chunk];
    uint16_t pos[lookup_chunk];
    const flow::direction dir = from == side::inside ? flow::direction::outbound : flow::direction::inbound;
    const flow::direction* const dirs = (from == side::inside ? all_outbound : all_inbound).data(); // one per chunk

    // 1. Parse and admit the whole burst: the gateway's own frames and refused
    //    ones are done here; the others get their lookup key.
    uint16_t m = 0;
    for (uint16_t i = 0; i < n; ++i) {
        net::packet_view& v = given != nullptr ? given[i] : own[m];
        const admission a = given != nullptr ? admit_.admit(from, frames[i], v, parsed[i])
                                             : admit_.run(from, frames[i], v);
        if (a.to != destination::transit) [[unlikely]] {
            if (a.to == destination::refused) {
                if (a.why == drop_reason::ttl_expired) emit_.time_exceeded(from, frames[i], v, now);
                results[i] = packet_result::drop(a.why);
            } else {
                results[i] = local_.run(from, frames[i], v, a.to, now);
            }
            if (results[i].dropped()) counters_.count_drop(results[i].reason);
            continue;
        }
        views[m] = &v;
        set_lookup_key(keys[m], v);
        pos[m++] = i;
    }

    // 2. One burst lookup, staged over the keys (flow_table::lookup_distance):
    //    buckets, then records, then the hits' side entries are prefetched
    //    ahead of their use. The first frames to be rewritten are fetched for
    //    writing meanwhile (see 3).
    for (uint16_t j = 0; j < m && j < rewrite_distance; ++j) prefetch_for_rewrite(frames[pos[j]]);
    flows_.lookup_burst(keys, dirs, m, found);

    // 3. The flow stages, each packet in arrival order; the frame
    //    rewrite_distance packets on is fetched for writing. If an earlier
    //    packet of this burst removed a record, the remaining lookups are
    //    redone (records may be reused).
    const uint64_t erasures_at_lookup = flows_.erasures();
    for (uint16_t j = 0; j < m; ++j) {
        if (j + rewrite_distance < m) prefetch_for_rewrite(frames[pos[j + rewrite_distance]]);
        const uint16_t i = pos[j];
        uint32_t idx = found[j];
        if (flows_.erasures() != erasures_at_lookup) idx = flows_.lookup(keys[j], dir);
        packet_result& r = results[i];
        net::packet_view& v = *views[j];
        if (v.icmp_error) [[unlikely]]
            r = relay_icmp_error(dir, frames[i], v, idx, now);
        else if (v.is_fragment()) [[unlikely]]
            r = fragment(dir, frames[i], v, keys[j], idx, now);
        else
            r = transit(dir, frames[i], v, keys[j], idx, now);
        if (!r.dropped()) continue;
        counters_.count_drop(r.reason);
        // A packet of a flow cut mid-way is in that flow's record (dropped
        // counts), not a refused attempt of its own.
        if (reporter_.enabled() && is_refused_attempt(r.reason) && !r.in_flow_record) reporter_.denied(v, r.reason, now);
    }
}

// A fragment: the fragment stage says whether it is its datagram's first (the
// flow stages, like a whole datagram), a later one (it follows the first's
// flow), held, or refused.
[[gnu::noinline]] packet_result gateway_core::fragment(flow::direction dir, std::span<uint8_t> frame,
                                                       net::packet_view& view, const flow::flow_key& key,
                                                       uint32_t idx, uint32_t now) noexcept {
    const fragment_stage::step s = fragments_.accept(dir, frame, view, now);
    if (s.why != no_drop) return packet_result::drop(s.why);
    if (s.what == fragment_stage::step::kind::held) return packet_result::consumed();
    packet_result r;
    fragment_entry_ = s.entry;
    if (s.what == fragment_stage::step::kind::first) {
        r = transit(dir, frame, view, key, idx, now);
        if (r.goes_on()) {
            fragments_.first_passed(s.entry, idx);
            release_held(s.entry, idx, dir, now);
        }
    } else {
        r = follow_flow(s.flow, dir, frame, view, now, emit_.frame_headroom());
    }
    fragment_entry_ = fragment_tracker::npos;
    fragments_.done(s.entry, r);
    return r;
}

// A later fragment of a datagram whose first fragment passed as part of flow
// idx: the flow must still be the same (records are reused).
packet_result gateway_core::follow_flow(uint32_t idx, flow::direction dir, std::span<uint8_t> frame,
                                        net::packet_view& view, uint32_t now, std::size_t headroom) noexcept {
    const flow::flow_record& rec = flows_.at(idx);
    const bool same = dir == flow::direction::outbound
                          ? rec.inside == view.src && rec.remote == view.dst
                          : rec.remote == view.src &&
                                view.dst == (rec.is_v4() ? net::ip_address::from_v4(rec.public_addr) : rec.inside);
    if (!rec.is_live() || !same || flow::is_expired(rec, now)) return packet_result::drop(drop_reason::fragment_no_flow);
    return on_flow(idx, dir, frame, view, now, headroom);
}

// The fragments that came before their first fragment: translated copies go
// out from the outbox (or wait in a neighbour queue like any frame).
void gateway_core::release_held(uint32_t entry, uint32_t idx, flow::direction dir, uint32_t now) noexcept {
    fragments_.release(entry, [&](std::span<const uint8_t> held) {
        const std::span<uint8_t> slot = outbox_.prepare();
        if (slot.size() < held.size()) {
            counters_.count_drop(drop_reason::outbox_full);
            return;
        }
        std::memcpy(slot.data(), held.data(), held.size());
        const std::span<uint8_t> f = slot.first(held.size());
        net::packet_view v;
        const drop_reason parsed = net::parse_frame(f, v); // it parsed when it came: it parses again
        const packet_result r = parsed == no_drop ? follow_flow(idx, dir, f, v, now, outbox::headroom)
                                                  : packet_result::drop(parsed);
        if (r.goes_on())
            outbox_.commit(leaving_by(dir), static_cast<std::size_t>(static_cast<int>(held.size()) + r.front_adjust),
                           r.front_adjust);
        if (r.dropped()) {
            counters_.count_drop(r.reason);
        } else {
            ++counters_.fragments_released;
        }
    });
}

// The hold point allowed a flow (see flow_policy_stage::inspect_segment): its
// held client bytes go out from the outbox in sequence order, as segments of at
// most the outside MTU built on the allowing segment, each through the flow
// stages after the policy check; then that segment itself when its bytes were
// not held. A QUIC flow's held datagrams go out whole, in arrival order, each
// rebuilt on the allowing datagram (quic_stage.hpp). A full outbox loses
// segments / datagrams (counted): the client retransmits them, and the flow
// now passes its packets on.
void gateway_core::release_hold(flow_policy_stage::hold_release h, std::span<const uint8_t> frame,
                                const net::packet_view& view, uint32_t now) noexcept {
    if (h.flow == flow_stage::npos) return;
    enum class held { whole, segment, datagram };
    const auto send = [&](std::span<const uint8_t> bytes, uint32_t seq, held kind) {
        const std::span<uint8_t> slot = outbox_.prepare();
        net::packet_view v;
        std::size_t n = 0;
        if (kind == held::whole && slot.size() >= bytes.size()) {
            std::memcpy(slot.data(), bytes.data(), bytes.size());
            n = net::parse_frame(slot.first(bytes.size()), v) == no_drop ? bytes.size() : 0;
        } else if (kind == held::segment && !slot.empty()) {
            n = build_held_segment(frame, view, seq, bytes, slot, v);
        } else if (kind == held::datagram && !slot.empty()) {
            n = build_held_datagram(frame, view, bytes, slot, v);
        }
        if (n == 0) return counters_.count_drop(drop_reason::outbox_full);
        const packet_result r = on_flow(h.flow, flow::direction::outbound, slot.first(n), v, now, outbox::headroom);
        if (r.goes_on()) outbox_.commit(side::outside, n + static_cast<std::size_t>(r.front_adjust), r.front_adjust);
        if (r.dropped()) counters_.count_drop(r.reason);
        else if (kind != held::whole) counters_.hold_released_bytes += bytes.size();
    };
    if (view.proto == net::proto_udp) {
        const std::span<const uint8_t> stored = reassembly_.held_datagrams(h.flow);
        for (std::size_t at = 0; at + 2 <= stored.size();) {
            const std::size_t len = static_cast<std::size_t>(stored[at] << 8 | stored[at + 1]);
            send(stored.subspan(at + 2, len), 0, held::datagram);
            at += 2 + len;
        }
    } else {
        const uint32_t base = reassembly_.stream_base(h.flow, dlp::dlp_direction::outbound);
        const std::size_t room = held_segment_room(frame, view, emit_.port(side::outside).mtu);
        uint32_t at = 0;
        for (std::span<const uint8_t> run = reassembly_.next_held(h.flow, at); !run.empty() && room != 0;
             run = reassembly_.next_held(h.flow, at)) {
            for (std::size_t done = 0; done < run.size(); done += room)
                send(run.subspan(done, std::min(room, run.size() - done)), base + at + static_cast<uint32_t>(done),
                     held::segment);
            at += static_cast<uint32_t>(run.size());
        }
    }
    // A stream's bytes stay until the server acknowledges them (a later copy
    // is compared with them); a datagram flow has nothing to compare.
    if (view.proto == net::proto_udp) reassembly_.stop_reading(h.flow);
    else reassembly_.keep_for_verify(h.flow);
    if (!h.segment_held) send(frame, 0, held::whole);
}

// An ICMP error whose quoted packet was looked up as `idx` (the mirrored quoted
// tuple in the arrival direction: see process_chunk). Errors never create flows
// and do not refresh a flow's idle timeout or TCP state: an error says the path
// is in trouble, not that the peer is alive, and a stream of errors must not
// keep a dead mapping open. IPv6 errors are forwarded unchanged.
packet_result gateway_core::relay_icmp_error(flow::direction dir, std::span<uint8_t> frame, net::packet_view& view,
                                             uint32_t idx, uint32_t now) noexcept {
    // An error goes to the sender of the packet it quotes; one addressed
    // elsewhere is about no flow of its addressee.
    if (!nat_stage::error_checksums_valid(frame, view)) return packet_result::drop(drop_reason::icmp_error_bad_checksum);
    if (idx == flow_stage::npos || view.dst != view.quoted.src || flow::is_expired(flows_.at(idx), now))
        return packet_result::drop(drop_reason::icmp_error_no_flow);
    const flow::flow_record& rec = flows_.at(idx);
    if (rec.flags & flow::flow_flags::cut) return packet_result::drop(drop_reason::policy_cut);
    nat_stage::translate_error(rec, dir, frame, view);
    if (dir == flow::direction::outbound && nat_.hairpins(view)) [[unlikely]]
        return hairpin_error(frame, now);
    const packet_result r = emit_.emit(leaving_by(dir), frame, view, now);
    if (r.goes_on())
        ++(dir == flow::direction::inbound ? counters_.icmp_errors_relayed_in : counters_.icmp_errors_relayed_out);
    return r;
}

// An ICMP error from an inside host about a packet that reached it hairpinned
// (RFC 5508 REQ-7: every NAT MUST hairpin ICMP errors). Translated as the
// error of the host's own flow, it is addressed to a pool address: the public
// endpoint of the inside flow that sent the quoted packet. It turns back as
// that flow's error from outside (the same checks: its checksums, the quoted
// flow, the quote's source being its addressee) and leaves by the inside port
// from the outbox, like a hairpinned datagram (see hairpin).
[[gnu::noinline]] packet_result gateway_core::hairpin_error(std::span<const uint8_t> frame, uint32_t now) noexcept {
    const std::span<uint8_t> slot = outbox_.prepare();
    if (slot.size() < frame.size()) return packet_result::drop(drop_reason::outbox_full);
    std::memcpy(slot.data(), frame.data(), frame.size());
    const std::span<uint8_t> f = slot.first(frame.size());
    net::packet_view v;
    if (const drop_reason parsed = net::parse_frame(f, v); parsed != no_drop) return packet_result::drop(parsed);
    const flow::flow_key key{v.quoted.dst, v.quoted.src, v.quoted.dst_port, v.quoted.src_port, v.quoted.proto};
    const packet_result r =
        relay_icmp_error(flow::direction::inbound, f, v, flows_.lookup(key, flow::direction::inbound), now);
    if (!r.goes_on()) return r;
    outbox_.commit(side::inside, static_cast<std::size_t>(static_cast<int>(frame.size()) + r.front_adjust),
                   r.front_adjust);
    ++counters_.hairpinned;
    return packet_result::consumed();
}

packet_result gateway_core::learn_from_peer(side from, std::span<const uint8_t> frame, uint32_t now) noexcept {
    outbox_.clear();
    local_.start_up();
    if (dns_.observe_copy(frame, now)) return packet_result::consumed();
    return local_.learn_from_peer(from, frame, now);
}

void gateway_core::expire(uint32_t now, uint32_t budget) noexcept {
    outbox_.clear();
    local_.start_up();
    resolver_.tick(now, budget);
    dns_.tick(now);
    const bool answered = dns_.take_answers(now) != 0;
    policy_.replay_waiting(now, answered, [&](uint32_t idx, std::span<uint8_t> frame) { replay(idx, frame, now); });
    flows_.expire(now, budget);
    // Per loop: a sweep over the fragment tracker's slots finds nothing while
    // no datagram is tracked (the usual case), so it is not walked then.
    if (fragments_.tracker().active() != 0) fragments_.expire(now, budget);
}

// A kept segment of flow idx, whose lookup has an answer now or timed out
// (flow_policy_stage::replay_waiting): through the flow stages again, as its
// client's retransmission would go, if the flow still waits for its verdict.
// What it comes to leaves from the outbox: the released bytes (put there by
// release_hold), the reset to the client of a refused name, or the segment
// itself should the stages pass it on.
void gateway_core::replay(uint32_t idx, std::span<uint8_t> frame, uint32_t now) noexcept {
    net::packet_view v;
    if (net::parse_frame(frame, v) != no_drop) return; // it parsed when it came: it parses again
    const flow::flow_key key{v.src, v.dst, v.src_port, v.dst_port, v.proto};
    if (flows_.lookup(key, flow::direction::outbound) != idx) return; // gone, or the tuple is another flow's now
    const flow::flow_record& rec = flows_.at(idx);
    if (!(rec.flags & flow::flow_flags::awaits_hostname) || flow::is_expired(rec, now)) return; // decided meanwhile
    if (rec.proto == net::proto_tcp && rec.tcp_state == static_cast<uint8_t>(flow::tcp_state::closed)) return; // reset
    const packet_result r = on_flow(idx, flow::direction::outbound, frame, v, now, waiting_segments::headroom);
    if (r.dropped()) {
        counters_.count_drop(r.reason);
        if (reporter_.enabled() && is_refused_attempt(r.reason) && !r.in_flow_record) reporter_.denied(v, r.reason, now);
    }
    if (r.kind != verdict::reply && !r.goes_on()) return;
    const side to = r.goes_on() ? side::outside : side::inside;
    const std::size_t length =
        r.goes_on() ? static_cast<std::size_t>(static_cast<int>(frame.size()) + r.front_adjust) : r.reply_len;
    const std::span<uint8_t> slot = outbox_.prepare();
    if (slot.size() < length) return counters_.count_drop(drop_reason::outbox_full);
    std::memcpy(slot.data() - r.front_adjust, frame.data() - r.front_adjust, length);
    outbox_.commit(to, length, r.front_adjust);
}

void gateway_core::snapshot(stats::live_stats& out) const noexcept {
    out.counters = counters_;
    out.flows_active = flows_.table().size();
    nat_.snapshot(out);
    out.fragment_datagrams_active = fragments_.tracker().active();
    out.fragments_held_now = fragments_.tracker().held();
    out.sources_tracked = flows_.limits().sources_tracked();
}

} // namespace egress::gateway
