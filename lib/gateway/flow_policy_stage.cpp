// flow_policy_stage: see flow_policy_stage.hpp.
#include "gateway/flow_policy_stage.hpp"

#include <cstring>

#include "flow/tcp_state.hpp"
#include "net/checksum.hpp"
#include "net/packet_parser.hpp"
#include "net/rewrite.hpp"
#include "net/tcp_reset.hpp"
#include "net/tcp_segment.hpp"
#include "gateway/nat_stage.hpp"
#include "stats/policy_denial.hpp"

namespace egress::gateway {

using stats::drop_reason;
using stats::no_drop;
using stats::side;

// The policy question for an existing flow, with its hostname as far as known.
policy::query flow_policy_stage::query_of(const flow::flow_record& rec, uint32_t idx) const noexcept {
    policy::query q{rec.inside, rec.remote, rec.proto, rec.remote_port, policy::host_state::unknown, {},
                    settings_.worker};
    if ((rec.flags & (flow::flow_flags::awaits_hostname | flow::flow_flags::inspection_slot)) == flow::flow_flags::inspection_slot) {
        q.hostname = reassembly_.hostname(idx);
        q.host = q.hostname.empty() ? policy::host_state::absent : policy::host_state::known;
    } else if ((rec.flags & flow::flow_flags::awaits_hostname) == 0) {
        q.host = policy::host_state::absent; // admitted without inspection: no name will come
    }
    return q;
}

// The flow is over: it lingers only as long as a reset connection would, to
// answer (TCP) or drop its stragglers. Its tally (in place of its TCP window,
// no longer tracked) starts: why, by which rule.
void flow_policy_stage::cut(flow::flow_record& rec, uint32_t idx, uint32_t now, drop_reason why,
                            uint32_t rule) noexcept {
    rec.flags = static_cast<uint8_t>((rec.flags | flow::flow_flags::cut) & ~flow::flow_flags::awaits_hostname);
    rec.tcp_state = static_cast<uint8_t>(flow::tcp_state::closed);
    rec.expires_at_ms = now + settings_.timeouts.tcp_closed_ms;
    if (table_ == nullptr) return;
    flow::cut_tally t;
    t.rule = rule;
    t.reason = static_cast<uint8_t>(why);
    t.generation = generation();
    table_->set_tally(idx, t);
}

// Packets of a cut flow that did not leave (and the resets built for them):
// observed, so in the flow's counts like any packet, and in its tally as dropped.
void flow_policy_stage::tally_drop(flow::flow_record& rec, uint32_t idx, flow::direction dir, uint32_t packets,
                                   uint32_t octets, uint8_t tcp_flags, uint16_t resets) noexcept {
    if (table_ == nullptr) return;
    flow::flow_volume& vol = table_->volume(idx);
    rec.tcp_flags_seen |= tcp_flags;
    if (dir == flow::direction::outbound) {
        rec.packets_out += packets;
        vol.bytes_out += octets;
    } else {
        rec.packets_in += packets;
        vol.bytes_in += octets;
    }
    flow::cut_tally t = table_->tally(idx);
    t.dropped_packets += packets;
    t.dropped_bytes += octets;
    t.resets_sent = static_cast<uint16_t>(t.resets_sent + resets);
    table_->set_tally(idx, t);
}

std::string_view flow_policy_stage::cut_rule(const flow::cut_tally& t) const noexcept {
    const auto why = static_cast<drop_reason>(t.reason);
    if (const std::string_view setting = stats::setting_rule_of(why); !setting.empty()) return setting;
    if (why == drop_reason::policy_blocked) return "emergency_block";
    if (why != drop_reason::policy_denied && why != drop_reason::hostname_denied && why != drop_reason::policy_cut)
        return {}; // DLP: the event names the pattern
    if (policy_ == nullptr || t.generation != policy_->generation || !policy_->compiled) return {};
    return t.rule == policy::no_rule ? std::string_view("default") : policy_->rule_name(policy::decision{
                                                                         policy::verdict::deny, false, t.rule});
}

std::string_view flow_policy_stage::allow_rule(const flow::flow_record& rec, uint32_t idx) const noexcept {
    if (policy_ == nullptr || !policy_->compiled) return {};
    const policy::decision d = policy_->evaluate(query_of(rec, idx));
    if (d.block != policy::no_rule || d.pending || d.action == policy::verdict::deny) return {};
    return d.rule == policy::no_rule ? std::string_view("default") : policy_->rule_name(d);
}

// A decision that would deny under the policy's enforce mode, taken in report
// mode: counted and reported, the packet passes.
void flow_policy_stage::note_would_deny(const policy::decision& d, const net::ip_address& src, uint16_t src_port,
                                        const net::ip_address& dst, uint16_t dst_port, uint8_t proto, bool existing,
                                        uint32_t now, std::string_view hostname) noexcept {
    if (!d.would_deny) return;
    ++counters_.policy_would_deny;
    security_event(policy::security_event_kind::would_deny, d, src, src_port, dst, dst_port, proto, existing, now,
                   hostname);
}

// Slow path, once per new flow.
[[gnu::noinline]] drop_reason flow_policy_stage::decide_new(const net::packet_view& view, uint32_t now,
                                                            bool& inspect) noexcept {
    inspect = false;
    if (policy_ == nullptr) return no_drop;
    const policy::decision d = policy_->decide(policy::query{view.src, view.dst, view.proto, view.dst_port,
                                                             policy::host_state::unknown, {}, settings_.worker});
    inspect = d.pending;
    note_would_deny(d, view.src, view.src_port, view.dst, view.dst_port, view.proto, false, now);
    if (d.action != policy::verdict::deny) return no_drop;
    const drop_reason why = d.block != policy::no_rule ? drop_reason::policy_blocked
                            : d.quic                  ? drop_reason::policy_quic
                                                      : drop_reason::policy_denied;
    denied(d, why, view.src, view.src_port, view.dst, view.dst_port, view.proto, now);
    return why;
}

void flow_policy_stage::denied(const policy::decision& d, drop_reason why, const net::ip_address& src,
                               uint16_t src_port, const net::ip_address& dst, uint16_t dst_port, uint8_t proto,
                               uint32_t now, std::string_view hostname) noexcept {
    if ((d.rule == policy::no_rule || d.quic) && d.block == policy::no_rule && !stats::setting_rule_of(why).empty())
        ++counters_.setting_denials[static_cast<std::size_t>(why)];
    security_event(d.block != policy::no_rule ? policy::security_event_kind::block : policy::security_event_kind::deny,
                   d, src, src_port, dst, dst_port, proto, false, now, hostname, nullptr, why);
}

// The decision waits for the hostname in the client's first bytes; DLP keeps
// its stream state in the same slot.
drop_reason flow_policy_stage::start_inspection(flow::flow_record& rec, uint32_t idx, std::span<const uint8_t> frame,
                                                const net::packet_view& view, bool inspect) noexcept {
    const bool dlp = dlp_on() && (view.proto == net::proto_tcp || view.proto == net::proto_udp);
    if (!inspect && !dlp) return no_drop;
    const auto kind =
        inspect ? policy_->compiled->inspection_for(view.proto, view.dst_port) : policy::inspection_kind::none;
    const uint32_t seq = view.proto == net::proto_tcp ? net::tcp_seq(frame, view) : 0;
    if (reassembly_.start(idx, kind, seq)) {
        rec.flags |= inspect ? flow::flow_flags::awaits_hostname | flow::flow_flags::inspection_slot
                             : flow::flow_flags::inspection_slot;
        return no_drop;
    }
    if (inspect ? settings_.inspect.fail_closed : policy_->compiled->dlp_fail_closed())
        return drop_reason::inspect_exhausted;
    ++counters_.inspect_unchecked; // fail open: the flow passes uninspected
    return no_drop;
}

// A flow whose packets are read (hostname still pending, or DLP): its
// fragments would pass with their payload unread, so they are dropped.
// check() for a flow that is stale, cut, waiting for its hostname or holding
// an inspection slot.
[[gnu::noinline]] packet_result flow_policy_stage::check_flow(flow::flow_record& rec, uint32_t idx,
                                                              flow::direction dir, std::span<uint8_t> frame,
                                                              const net::packet_view& view, uint32_t now) noexcept {
    recheck_if_stale(rec, idx, now);
    if (rec.flags & flow::flow_flags::cut) return cut_packet(rec, idx, frame, view, dir);
    if (view.is_fragment() && fragments_uninspectable(rec)) [[unlikely]]
        return packet_result::drop(drop_reason::fragment_inspected);
    if (dir == flow::direction::outbound && (rec.flags & flow::flow_flags::awaits_hostname))
        return view.proto == net::proto_udp ? inspect_datagram(rec, idx, frame, view, now)
                                            : inspect_segment(rec, idx, frame, view, now);
    if (dir == flow::direction::outbound && (rec.flags & flow::flow_flags::inspection_slot) &&
        reassembly_.verifying(idx)) [[unlikely]]
        return verify_segment(idx, frame, view);
    return packet_result::forward();
}

// scan() for a flow holding an inspection slot.
[[gnu::noinline]] packet_result flow_policy_stage::scan_slot(flow::flow_record& rec, uint32_t idx,
                                                             flow::direction dir, std::span<uint8_t> frame,
                                                             const net::packet_view& view, uint32_t now) noexcept {
    if (dir == flow::direction::inbound && view.proto == net::proto_tcp && (view.tcp_flags & net::tcp_syn))
        reassembly_.set_inbound_base(idx, net::tcp_seq(frame, view));
    // Tracked (its ACK acknowledges data sent): ends the check of released bytes.
    if (dir == flow::direction::inbound && view.proto == net::proto_tcp && (view.tcp_flags & net::tcp_ack) &&
        reassembly_.verifying(idx)) [[unlikely]]
        reassembly_.server_acked(idx, net::tcp_ack_number(frame, view));
    if (!dlp_on()) return packet_result::forward();
    return dlp_segment(rec, idx, frame, view, dir, now);
}

bool flow_policy_stage::fragments_uninspectable(const flow::flow_record& rec) const noexcept {
    if (rec.flags & flow::flow_flags::awaits_hostname) return true;
    return (rec.flags & flow::flow_flags::inspection_slot) && dlp_on();
}

// Slow path, once per flow and policy snapshot.
[[gnu::noinline]] void flow_policy_stage::recheck(flow::flow_record& rec, uint32_t idx, uint32_t now) noexcept {
    rec.policy_gen = policy_->generation;
    if (rec.flags & flow::flow_flags::cut) return; // already over
    const policy::query q = query_of(rec, idx);
    const policy::decision d = policy_->evaluate(q);
    const bool held = (rec.flags & flow::flow_flags::awaits_hostname) && reassembly_.inspecting(idx);
    if ((rec.flags & flow::flow_flags::awaits_hostname) && !d.pending) {
        if (d.action != policy::verdict::deny && reassembly_.holding(idx)) {
            // Allowed without its name, with bytes held: they go out in order
            // with the client's next segment (inspect_segment), not lost.
            reassembly_.set_release_due(idx);
        } else {
            // The new policy decides this flow without its name: stop reading it.
            rec.flags = static_cast<uint8_t>(rec.flags & ~flow::flow_flags::awaits_hostname);
            reassembly_.stop_reading(idx);
        }
    }
    if (d.verify != policy::verify_check::none && !(rec.flags & flow::flow_flags::awaits_hostname)) [[unlikely]]
        return recheck_name(rec, idx, d, q.hostname, now);
    if (d.action != policy::verdict::deny) return; // allowed, or still waiting for its name
    const bool blocked = d.block != policy::no_rule;
    cut(rec, idx, now, blocked ? drop_reason::policy_blocked : drop_reason::policy_cut, d.rule);
    if (held) // client segments the hold consumed never leave
        tally_drop(rec, idx, flow::direction::outbound, reassembly_.consumed_packets(idx),
                   reassembly_.consumed_octets(idx), 0, 0);
    ++counters_.policy_flows_cut;
    policy_->count_block_cut(d);
    security_event(blocked ? policy::security_event_kind::block : policy::security_event_kind::cut, d, rec.inside,
                   rec.inside_port, rec.remote, rec.remote_port, rec.proto, true, now, q.hostname, nullptr,
                   blocked ? drop_reason::policy_blocked : drop_reason::policy_cut);
}

// A client segment of a flow waiting for its hostname: the hold point. Its
// payload is consumed into the flow's reassembly buffer (a retransmission
// overwrites the same bytes: absorbed); pure ACKs pass. Nothing of the client's
// stream reaches the server before the verdict: allowed, the held bytes are
// released in sequence order (gateway_core::release_hold, after take_release);
// denied, timed out or over the bound, both ends get a reset and the server has
// seen the handshake only.
packet_result flow_policy_stage::inspect_segment(flow::flow_record& rec, uint32_t idx, std::span<uint8_t> frame,
                                            const net::packet_view& view, uint32_t now) noexcept {
    const std::span<const uint8_t> payload = net::tcp_payload(frame, view);
    // Data on a SYN (TCP Fast Open) would reach the server with the SYN: the
    // SYN is dropped instead, and the client's next SYN (a retransmission
    // carries no data) opens the connection; the data follows it, held.
    if ((view.tcp_flags & net::tcp_syn) && !payload.empty()) [[unlikely]]
        return packet_result::drop(drop_reason::hold_syn_data);
    if (reassembly_.holding(idx) && now - reassembly_.held_since(idx) >= settings_.inspect.hold_timeout_ms)
        [[unlikely]] return hold_timed_out(rec, idx, frame, view, now);
    if (payload.empty() && !reassembly_.release_due(idx)) return packet_result::forward();
    if (!payload.empty()) // the first copy of a held byte is the one inspected
        if (const overlap o = reassembly_.check_overlap(idx, net::tcp_payload_seq(frame, view), payload); o != overlap::fine)
            [[unlikely]] return overlap_verdict(o);
    bool stored = payload.empty();
    if (!payload.empty()) reassembly_.note_hold(idx, now);
    const uint32_t seq = net::tcp_payload_seq(frame, view);
    inspect_outcome o = reassembly_.outcome(idx);
    if (o == inspect_outcome::pending) o = reassembly_.feed(idx, seq, payload, payload.empty() ? nullptr : &stored);
    else stored = reassembly_.hold_more(idx, seq, payload); // read; its name waits for egressd's lookup
    return after_read(rec, idx, frame, view, o, stored, payload.size(), now);
}

// A QUIC client datagram of a flow waiting for its name (quic_stage.hpp): held
// whole until the Initials give a ClientHello, then decided as a TLS flow is.
packet_result flow_policy_stage::inspect_datagram(flow::flow_record& rec, uint32_t idx, std::span<uint8_t> frame,
                                                  const net::packet_view& view, uint32_t now) noexcept {
    if (reassembly_.holding(idx) && now - reassembly_.held_since(idx) >= settings_.inspect.hold_timeout_ms)
        [[unlikely]] return hold_timed_out(rec, idx, frame, view, now);
    const std::span<const uint8_t> payload = frame.subspan(view.l4_offset + 8, view.l4_length - 8u);
    // A held datagram keeps its flow alive as a forwarded one would (flow_stage::track is not reached).
    rec.expires_at_ms = now + settings_.timeouts.udp_ms;
    reassembly_.note_hold(idx, now);
    bool stored = false;
    const inspect_outcome o = quic_.read(idx, payload, stored);
    return after_read(rec, idx, frame, view, o, stored, payload.size(), now);
}

// What a held flow's packet (a TCP segment, a QUIC datagram) gave: its bytes
// counted when held, then a release a reload made due, a wait for more, or the
// decision on the outcome.
packet_result flow_policy_stage::after_read(flow::flow_record& rec, uint32_t idx, std::span<uint8_t> frame,
                                            const net::packet_view& view, inspect_outcome o, bool stored,
                                            std::size_t bytes, uint32_t now) noexcept {
    if (stored && bytes != 0) {
        ++counters_.hold_segments;
        counters_.hold_bytes += bytes;
    }
    if (reassembly_.release_due(idx)) { // a reload allowed the flow without its name
        rec.flags = static_cast<uint8_t>(rec.flags & ~flow::flow_flags::awaits_hostname);
        return release(idx, stored);
    }
    if (o == inspect_outcome::pending) {
        reassembly_.note_consumed(idx, view.l3_length);
        return packet_result::consumed();
    }
    return decide_held(rec, idx, frame, view, o, stored, now);
}

// The held flow's outcome is final: its action (a name: the policy's verdict
// on it; no name: the outcome's configured action), then release or deny.
packet_result flow_policy_stage::decide_held(flow::flow_record& rec, uint32_t idx, std::span<uint8_t> frame,
                                             const net::packet_view& view, inspect_outcome o, bool stored,
                                             uint32_t now) noexcept {
    if (reassembly_.overflowed(idx)) ++counters_.hold_overflows;
    rec.flags = static_cast<uint8_t>(rec.flags & ~flow::flow_flags::awaits_hostname);
    const policy::inspection_spec& spec = policy_->compiled->inspection();
    const bool tls = reassembly_.kind(idx) == policy::inspection_kind::tls;
    const bool quic = reassembly_.kind(idx) == policy::inspection_kind::quic;
    // Outcomes the policy cannot match a name for: their own configured action.
    policy::verdict action = policy::verdict::allow;
    drop_reason why = no_drop;
    switch (o) {
    case inspect_outcome::hostname: break;
    case inspect_outcome::pending: break;
    case inspect_outcome::ech:
        if (spec.ech == policy::ech_action::deny) action = policy::verdict::deny, why = drop_reason::inspect_ech;
        else if (reassembly_.hostname(idx).empty()) action = spec.no_sni, why = drop_reason::inspect_no_sni;
        break;
    case inspect_outcome::no_sni: action = spec.no_sni, why = drop_reason::inspect_no_sni; break;
    case inspect_outcome::oversize: action = spec.oversize, why = drop_reason::inspect_oversize; break;
    case inspect_outcome::not_tls: action = spec.not_tls, why = drop_reason::inspect_not_tls; break;
    case inspect_outcome::not_http: action = spec.not_http, why = drop_reason::inspect_not_http; break;
    case inspect_outcome::no_host: action = spec.http_no_host, why = drop_reason::inspect_no_host; break;
    case inspect_outcome::malformed:
        action = tls || quic ? spec.not_tls : spec.not_http;
        why = drop_reason::inspect_malformed;
        break;
    // A QUIC first flight that is no client Initial: not TLS on a TLS port.
    case inspect_outcome::quic_not_initial: action = spec.not_tls, why = drop_reason::inspect_quic_not_initial; break;
    case inspect_outcome::quic_unknown_version:
        action = spec.not_tls, why = drop_reason::inspect_quic_unknown_version;
        break;
    case inspect_outcome::quic_version_negotiation:
        action = spec.not_tls, why = drop_reason::inspect_quic_version_negotiation;
        break;
    case inspect_outcome::quic_retry: action = spec.not_tls, why = drop_reason::inspect_quic_retry; break;
    case inspect_outcome::quic_undecryptable:
        action = spec.not_tls, why = drop_reason::inspect_quic_undecryptable;
        break;
    }
    if (action == policy::verdict::deny)
        return deny_inspected(rec, idx, frame, view, policy::decision{policy::verdict::deny}, why, now);
    const policy::query q = query_of(rec, idx);
    const policy::decision d = policy_->decide(q);
    note_would_deny(d, rec.inside, rec.inside_port, rec.remote, rec.remote_port, rec.proto, true, now, q.hostname);
    if (d.action == policy::verdict::deny)
        return deny_inspected(rec, idx, frame, view, d, drop_reason::hostname_denied, now);
    if (d.verify != policy::verify_check::none) [[unlikely]]
        return verify_name(rec, idx, frame, view, d, q.hostname, stored, now);
    return release(idx, stored);
}

// Allowed: the held bytes go out (gateway_core takes the release and builds
// them as segments); the segment itself was held too, or, when it did not fit
// the buffer, goes out after them as it is.
packet_result flow_policy_stage::release(uint32_t idx, bool stored) noexcept {
    release_ = {idx, stored};
    return packet_result::consumed();
}

// A client segment of an allowed flow whose released bytes the server has not
// acknowledged yet: it goes on only if it carries the bytes that were inspected
// (stream normalisation, hostname_reassembly.hpp). Its fragments would carry
// bytes past the compared header: refused like a holding flow's.
packet_result flow_policy_stage::verify_segment(uint32_t idx, std::span<const uint8_t> frame,
                                                const net::packet_view& view) noexcept {
    if (view.is_fragment()) return packet_result::drop(drop_reason::fragment_inspected);
    if (view.proto != net::proto_tcp) return packet_result::forward();
    const std::span<const uint8_t> payload = net::tcp_payload(frame, view);
    if (payload.empty()) return packet_result::forward();
    return overlap_verdict(reassembly_.check_overlap(idx, net::tcp_payload_seq(frame, view), payload));
}

// Other bytes than the inspected ones: refused. Bytes that can no longer be
// compared (their buffer went to a new flow): [inspect] unverified_overlap,
// refused by default (fail closed).
packet_result flow_policy_stage::overlap_verdict(overlap o) const noexcept {
    if (o == overlap::conflict) return packet_result::drop(drop_reason::stream_overlap_mismatch);
    if (o == overlap::unknown && !settings_.inspect.unverified_overlap_passes)
        return packet_result::drop(drop_reason::stream_overlap_unverified);
    return packet_result::forward();
}

// No verdict within [inspect] hold_timeout_ms of the first held byte: the
// never-completing hello (or request). Denied like a refused name, one event.
packet_result flow_policy_stage::hold_timed_out(flow::flow_record& rec, uint32_t idx, std::span<uint8_t> frame,
                                                const net::packet_view& view, uint32_t now) noexcept {
    rec.flags = static_cast<uint8_t>(rec.flags & ~flow::flow_flags::awaits_hostname);
    return deny_inspected(rec, idx, frame, view, policy::decision{policy::verdict::deny}, drop_reason::hold_timeout,
                          now);
}

// A flow denied once its hostname is known (or refused by the hold): the
// segment is dropped, the held bytes are discarded, the inside host gets a reset
// (built from that segment) and so does the server (it has seen the handshake).
packet_result flow_policy_stage::deny_inspected(flow::flow_record& rec, uint32_t idx, std::span<uint8_t> frame,
                                           const net::packet_view& view, const policy::decision& d, drop_reason why,
                                           uint32_t now) noexcept {
    denied(d, why, rec.inside, rec.inside_port, rec.remote, rec.remote_port, rec.proto, now, reassembly_.hostname(idx));
    return cut_inspected(rec, idx, frame, view, d, why, now);
}

// A held flow denied (its event written): the held bytes are discarded, both
// ends get a reset, and what was held joins the flow's record as dropped.
packet_result flow_policy_stage::cut_inspected(flow::flow_record& rec, uint32_t idx, std::span<uint8_t> frame,
                                               const net::packet_view& view, const policy::decision& d,
                                               drop_reason why, uint32_t now) noexcept {
    reassembly_.stop_reading(idx); // the held bytes never leave
    // The server has seen none of the client's bytes: its reset sits at the
    // first one, the sequence number it expects.
    const uint32_t expected = reassembly_.stream_base(idx, dlp::dlp_direction::outbound);
    const packet_result r =
        reset_both_ways(rec, idx, frame, view, flow::direction::outbound, why, d.rule, now, &expected);
    tally_drop(rec, idx, flow::direction::outbound, reassembly_.consumed_packets(idx),
               reassembly_.consumed_octets(idx), 0, 0);
    return r;
}

// Cuts a TCP flow at a segment that must not pass: the segment is dropped, its
// sender gets a reset (built in place from it, sent back the way it came) and
// so does the other end (a reset in the sender's name, translated like the
// segment, from the outbox). A UDP datagram is just dropped.
packet_result flow_policy_stage::reset_both_ways(flow::flow_record& rec, uint32_t idx, std::span<uint8_t> frame,
                                                 const net::packet_view& view, flow::direction dir, drop_reason why,
                                                 uint32_t rule, uint32_t now, const uint32_t* far_seq) noexcept {
    cut(rec, idx, now, why, rule);
    if (view.proto != net::proto_tcp) {
        tally_drop(rec, idx, dir, 1, view.l3_length, 0, 0);
        return packet_result::drop(why).in_flow();
    }
    uint16_t resets = 1; // the sender's, below
    const bool out = dir == flow::direction::outbound;
    const std::span<uint8_t> copy = outbox_.prepare();
    net::packet_view fv;
    if (copy.empty()) {
        counters_.count_drop(drop_reason::outbox_full);
    } else if (const std::size_t n = net::make_tcp_reset_forward(frame, view, copy, fv); n != 0) {
        std::span<uint8_t> f = copy.first(n);
        if (far_seq != nullptr) {
            uint8_t* seq = f.data() + fv.l4_offset + 4;
            seq[0] = static_cast<uint8_t>(*far_seq >> 24), seq[1] = static_cast<uint8_t>(*far_seq >> 16);
            seq[2] = static_cast<uint8_t>(*far_seq >> 8), seq[3] = static_cast<uint8_t>(*far_seq);
            net::recompute_checksums(f, fv);
        }
        nat_stage::translate(rec, dir, f, fv);
        const side to = out ? side::outside : side::inside;
        // Held (consumed) when the next hop is not resolved yet: sent from its queue.
        const packet_result r = emit_.emit(to, f, fv, now, outbox::headroom);
        if (r.goes_on())
            outbox_.commit(to, static_cast<std::size_t>(static_cast<int>(n) + r.front_adjust), r.front_adjust);
        if (!r.dropped()) ++resets;
    }
    tally_drop(rec, idx, dir, 1, view.l3_length, view.tcp_flags, resets);
    // The frame is still as it arrived (not yet translated): its reply comes
    // from the address the sender used (the public one, for a server).
    const side_settings& back = out ? settings_.inside : settings_.outside;
    return packet_result::reply(
               why, static_cast<uint16_t>(net::make_tcp_reset_reply(frame, view, back.mac, reply_mac(back, frame))))
        .in_flow();
}

// DLP on one packet of an inspected flow, in its direction's byte order. TCP:
// payload is scanned in sequence order; a segment beyond a gap is dropped
// (dlp_out_of_order) so that nothing reaches the other end unscanned: the
// sender retransmits the missing bytes first. A segment repeating bytes already
// scanned (stream normalisation, dlp::compare_scanned): one that differs from
// the scanned bytes still held (the last 64) is dropped
// (stream_overlap_mismatch); one reaching further back is scanned again, whole
// (dlp_scanner::rescan), so whichever copy the receiver keeps was inspected.
// UDP: each datagram on its own. A match of a `block` pattern cuts the flow at
// the segment that completes it.
packet_result flow_policy_stage::dlp_segment(flow::flow_record& rec, uint32_t idx, std::span<uint8_t> frame,
                                        const net::packet_view& view, flow::direction dir, uint32_t now) noexcept {
    dlp::dlp_flow_state* state = reassembly_.dlp(idx);
    const auto d = dir == flow::direction::outbound ? dlp::dlp_direction::outbound : dlp::dlp_direction::inbound;
    bool block = false;
    const auto sink = [&](const dlp::dlp_match& m) {
        policy::decision none;
        security_event(policy::security_event_kind::dlp, none, rec.inside, rec.inside_port, rec.remote,
                       rec.remote_port, rec.proto, true, now, reassembly_.hostname(idx), &m);
        block = block || m.action == dlp::dlp_action::block;
    };
    dlp::dlp_scan_result result;
    if (view.proto == net::proto_udp) {
        const std::span<const uint8_t> payload = frame.subspan(view.l4_offset + 8, view.l4_length - 8u);
        result = policy_->scanner(settings_.worker)->scan_datagram(*state, d, payload, sink);
    } else {
        const dlp::dlp_stream_status status = state->of(d).status;
        if (status != dlp::dlp_stream_status::idle && status != dlp::dlp_stream_status::active)
            return packet_result::forward(); // this direction is no longer inspected
        std::span<const uint8_t> payload = net::tcp_payload(frame, view);
        const uint32_t expected = reassembly_.stream_base(idx, d) + static_cast<uint32_t>(state->of(d).offset);
        const auto ahead = static_cast<int32_t>(net::tcp_payload_seq(frame, view) - expected);
        if (!payload.empty()) {
            if (ahead > 0) return packet_result::drop(drop_reason::dlp_out_of_order);
            const auto seen = static_cast<std::size_t>(-static_cast<int64_t>(ahead));
            if (seen != 0 && seen <= state->of(d).offset) [[unlikely]] {
                const uint64_t at = state->of(d).offset - seen;
                const dlp::dlp_overlap o = dlp::compare_scanned(state->of(d), at, payload);
                if (o == dlp::dlp_overlap::differs) return packet_result::drop(drop_reason::stream_overlap_mismatch);
                if (o == dlp::dlp_overlap::uncomparable)
                    result = policy_->scanner(settings_.worker)->rescan(*state, d, at, payload, sink);
            }
            payload = seen >= payload.size() ? std::span<const uint8_t>() : payload.subspan(seen);
            if (!payload.empty()) result = policy_->scanner(settings_.worker)->scan(*state, d, payload, sink);
        }
        if ((view.tcp_flags & net::tcp_fin) && ahead <= 0 && !block) {
            const dlp::dlp_scan_result end = policy_->scanner(settings_.worker)->finish(*state, d, sink);
            result.matches += end.matches;
        }
    }
    if (result.status == dlp::dlp_scan_status::no_stream && policy_->compiled->dlp_fail_closed())
        return reset_both_ways(rec, idx, frame, view, dir, drop_reason::inspect_exhausted, policy::no_rule, now);
    if (!block) return packet_result::forward();
    ++counters_.dlp_blocked;
    dlp::dlp_scanner::release(*state); // the flow is over: its streams go back now
    return reset_both_ways(rec, idx, frame, view, dir, drop_reason::dlp_blocked, policy::no_rule, now);
}

// Hands one event to the security event log's ring; a full ring loses it (counted).
void flow_policy_stage::security_event(policy::security_event_kind kind, const policy::decision& d,
                                  const net::ip_address& src, uint16_t src_port, const net::ip_address& dst,
                                  uint16_t dst_port, uint8_t proto, bool existing, uint32_t now,
                                  std::string_view hostname, const dlp::dlp_match* match, drop_reason why) noexcept {
    if (security_ == nullptr) return;
    push_event(make_event(kind, d, src, src_port, dst, dst_port, proto, existing, now, hostname, match, why));
}

policy::security_event flow_policy_stage::make_event(policy::security_event_kind kind, const policy::decision& d,
                                                     const net::ip_address& src, uint16_t src_port,
                                                     const net::ip_address& dst, uint16_t dst_port, uint8_t proto,
                                                     bool existing, uint32_t now, std::string_view hostname,
                                                     const dlp::dlp_match* match, drop_reason why) const noexcept {
    policy::security_event e;
    e.kind = kind;
    e.proto = proto;
    e.existing_flow = existing;
    e.src = src;
    e.src_port = src_port;
    e.dst = dst;
    e.dst_port = dst_port;
    e.time_unix_ms = wall_offset_ms_ + now;
    e.policy_version = policy_->version;
    if (d.block != policy::no_rule) e.blocked = policy_->blocks->entries()[d.block].prefix;
    e.reason = why;
    // The deciding rule (or setting: stats/policy_denial.hpp), or for DLP the
    // pattern. QUIC at a hostname rule: the setting, not the rule it reached.
    std::string_view rule = match != nullptr ? std::string_view(match->info().name) : policy_->rule_name(d);
    if (d.quic && !stats::setting_rule_of(why).empty()) rule = stats::setting_rule_of(why);
    if (rule.empty() && d.rule == policy::no_rule && d.block == policy::no_rule) rule = stats::setting_rule_of(why);
    base::set_field_text(e.rule, rule);
    base::set_field_text(e.hostname, hostname);
    if (match != nullptr) {
        e.dlp_severity = static_cast<uint8_t>(match->severity);
        e.dlp_action = static_cast<uint8_t>(match->action);
        e.dlp_direction = static_cast<uint8_t>(match->direction);
        e.dlp_offset = match->start;
        e.dlp_length = match->length();
        e.dlp_sample = match->sample;
    }
    return e;
}

void flow_policy_stage::push_event(const policy::security_event& e) noexcept {
    if (security_ == nullptr) return;
    if (security_->try_push(e)) {
        ++counters_.security_events_queued;
    } else {
        security_->record_overflow();
        ++counters_.security_events_lost;
    }
}

// A packet of a cut flow is dropped; an inside host still sending on a TCP
// connection gets a reset back instead of silence (not for a later fragment:
// it has no TCP header to answer).
packet_result flow_policy_stage::cut_packet(flow::flow_record& rec, uint32_t idx, std::span<uint8_t> frame,
                                            const net::packet_view& view, flow::direction dir) noexcept {
    const bool answer = dir == flow::direction::outbound && view.proto == net::proto_tcp &&
                        !view.is_later_fragment() && !(view.tcp_flags & net::tcp_rst);
    tally_drop(rec, idx, dir, 1, view.l3_length, view.tcp_flags, answer ? 1 : 0);
    if (answer)
        return packet_result::reply(drop_reason::policy_cut,
                                    static_cast<uint16_t>(net::make_tcp_reset_reply(
                                        frame, view, settings_.inside.mac, reply_mac(settings_.inside, frame))))
            .in_flow();
    return packet_result::drop(drop_reason::policy_cut).in_flow();
}

void flow_policy_stage::source_refused(const net::packet_view& view, drop_reason limit, uint32_t now) noexcept {
    if (security_ == nullptr) return;
    policy::security_event e;
    e.kind = policy::security_event_kind::source_limit;
    e.proto = view.proto;
    e.src = view.src;
    e.src_port = view.src_port;
    e.dst = view.dst;
    e.dst_port = view.dst_port;
    e.time_unix_ms = wall_offset_ms_ + now;
    e.policy_version = policy_ != nullptr ? policy_->version : 0;
    base::set_field_text(e.rule, stats::name_of(limit));
    ++counters_.source_limit_reports;
    if (security_->try_push(e)) {
        ++counters_.security_events_queued;
    } else {
        security_->record_overflow();
        ++counters_.security_events_lost;
    }
}

} // namespace egress::gateway
