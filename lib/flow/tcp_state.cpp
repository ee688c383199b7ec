#include "flow/tcp_state.hpp"

#include "net/packet_view.hpp"

namespace egress::flow {

namespace {

struct segment {
    bool syn;
    bool ack;
    bool rst;
    bool fin;
};

constexpr segment classify(uint8_t f) noexcept {
    return segment{(f & net::tcp_syn) != 0, (f & net::tcp_ack) != 0, (f & net::tcp_rst) != 0,
                   (f & net::tcp_fin) != 0};
}

} // namespace

bool tcp_opens_flow(direction d, uint8_t tcp_flags) noexcept {
    const segment g = classify(tcp_flags);
    return d == direction::outbound && g.syn && !g.ack && !g.rst && !g.fin;
}

namespace {

// Syn without ACK.
tcp_step advance_syn(tcp_state s, bool out, uint8_t& record_flags) noexcept {
    const tcp_step invalid{s, false};
    if (!out) // the peer's SYN: only as the other half of a simultaneous open
        return s == tcp_state::syn_sent || s == tcp_state::syn_received ? tcp_step{tcp_state::syn_received, true}
                                                                         : invalid;
    if (s == tcp_state::syn_sent || s == tcp_state::syn_received) return {s, true};
    record_flags &= static_cast<uint8_t>(~flow_flags::tcp_mask);
    return {tcp_state::syn_sent, true};
}

tcp_step advance_syn_ack(tcp_state s, bool out) noexcept {
    if (s == tcp_state::syn_received) return {s, true};
    if (out) return {s, false}; // the inside host answers only a simultaneous open
    if (s == tcp_state::syn_sent) return {tcp_state::syn_received, true};
    return {s, s == tcp_state::established};
}

// After a RST, the FIN bits tell how far the connection had gone.
tcp_state restored_state(uint8_t record_flags) noexcept {
    const bool fin_out = (record_flags & flow_flags::fin_out) != 0;
    const bool fin_in = (record_flags & flow_flags::fin_in) != 0;
    return fin_out && fin_in ? tcp_state::closing : (fin_out || fin_in) ? tcp_state::fin_wait : tcp_state::established;
}

} // namespace

tcp_step tcp_advance(tcp_state s, direction d, uint8_t tcp_flags, uint8_t& record_flags) noexcept {
    const segment g = classify(tcp_flags);
    const tcp_step invalid{s, false};
    if (g.syn && (g.fin || g.rst))
        return invalid;
    if (!g.syn && !g.ack && !g.rst)
        return invalid;
    if (g.rst)
        return {tcp_state::closed, true};

    const bool out = d == direction::outbound;
    if (g.syn)
        return g.ack ? advance_syn_ack(s, out) : advance_syn(s, out, record_flags);

    // An ACK-bearing segment, possibly with FIN.
    const uint8_t own_fin = out ? flow_flags::fin_out : flow_flags::fin_in;
    const uint8_t other_fin = out ? flow_flags::fin_in : flow_flags::fin_out;
    switch (s) {
    case tcp_state::syn_sent:
        return out || g.fin ? invalid : tcp_step{s, true};
    case tcp_state::syn_received:
        if (g.fin) {
            record_flags |= own_fin;
            return {tcp_state::fin_wait, true};
        }
        return {out ? tcp_state::established : s, true};
    case tcp_state::established:
        if (g.fin) {
            record_flags |= own_fin;
            return {tcp_state::fin_wait, true};
        }
        return {s, true};
    case tcp_state::fin_wait:
        if (!g.fin || (record_flags & other_fin) == 0) {
            if (g.fin)
                record_flags |= own_fin;
            return {s, true};
        }
        record_flags |= own_fin;
        if (out)
            record_flags &= static_cast<uint8_t>(~flow_flags::last_fin_inbound);
        else
            record_flags |= flow_flags::last_fin_inbound;
        return {tcp_state::closing, true};
    case tcp_state::closing: {
        if (g.fin)
            return {s, true};
        // The side that sent the first FIN acks the last one.
        const bool last_fin_inbound = (record_flags & flow_flags::last_fin_inbound) != 0;
        const bool acker_is_out = last_fin_inbound;
        return {out == acker_is_out ? tcp_state::time_wait : tcp_state::closing, true};
    }
    case tcp_state::time_wait:
        return {s, true};
    case tcp_state::closed:
        return tcp_advance(restored_state(record_flags), d, tcp_flags, record_flags);
    }
    return invalid;
}

namespace {

constexpr bool seen(const tcp_side& s) noexcept { return (s.flags & tcp_side_flags::seen) != 0; }

tcp_verdict rst(tcp_state s, direction d, const tcp_segment& g, uint8_t& record_flags, const tcp_window& w) noexcept {
    if (s == tcp_state::syn_sent) {
        // The client may abandon its own attempt; the peer's RST must ack the
        // SYN (RFC 9293 §3.10.7.3 SYN-SENT), so a forger needs the ISN.
        const tcp_side& client = w.of(direction::outbound);
        const bool acks_syn = (g.flags & net::tcp_ack) && !seq_before(g.ack, client.maxack) &&
                              !seq_after(g.ack, client.end);
        if (d == direction::inbound && !acks_syn) return {s, stats::drop_reason::tcp_rst_out_of_window};
        return {tcp_advance(s, d, g.flags, record_flags).next, stats::no_drop};
    }
    switch (classify_rst(w, d, g)) {
    case rst_fit::exact:
        return {tcp_advance(s, d, g.flags, record_flags).next, stats::no_drop};
    case rst_fit::in_window: // the endpoint answers with a challenge ACK; the flow goes on
        return {s, stats::no_drop};
    case rst_fit::outside:
        break;
    }
    return {s, stats::drop_reason::tcp_rst_out_of_window};
}

// An outbound SYN: a retransmit (same ISN; before the client acks anything its
// maxack holds ISN + 1) keeps the windows, anything else restarts them. A TFO
// client may retransmit its SYN without the data: the SYN+ACK may still ack it.
tcp_verdict outbound_syn(tcp_state s, const tcp_segment& g, uint8_t& record_flags, tcp_window& w) noexcept {
    tcp_side& client = w.of(direction::outbound);
    const bool retransmit = (s == tcp_state::syn_sent || s == tcp_state::syn_received) && seen(client) &&
                            !(client.flags & tcp_side_flags::ack_seen) && g.seq + 1 == client.maxack;
    if (retransmit) {
        if (seq_after(segment_end(g), client.end)) client.end = segment_end(g);
        return {tcp_advance(s, direction::outbound, g.flags, record_flags).next, stats::no_drop};
    }
    w = tcp_window{};
    start_from_syn(w, direction::outbound, g);
    return {tcp_advance(tcp_state::closed, direction::outbound, g.flags, record_flags).next, stats::no_drop};
}

// The segments that start the peer's side: its SYN (simultaneous open) or its
// SYN+ACK in syn_sent.
tcp_verdict peer_starts(tcp_state next, const tcp_segment& g, tcp_window& w) noexcept {
    const tcp_side& client = w.of(direction::outbound);
    if ((g.flags & net::tcp_ack) && (seq_before(g.ack, client.maxack) || seq_after(g.ack, client.end)))
        return {tcp_state::syn_sent, stats::drop_reason::tcp_out_of_window};
    start_from_syn(w, direction::inbound, g);
    return {next, stats::no_drop};
}

} // namespace

tcp_verdict tcp_track_general(tcp_state s, direction d, const tcp_segment& g, uint8_t& record_flags, tcp_window& w,
                              const tcp_tracking& t) noexcept {
    uint8_t flags = record_flags;
    const tcp_step step = tcp_advance(s, d, g.flags, flags);
    if (!step.valid) return {s, stats::drop_reason::tcp_invalid_transition};
    if (g.flags & net::tcp_rst) return rst(s, d, g, record_flags, w);
    const bool syn = (g.flags & net::tcp_syn) != 0;
    if (syn && d == direction::outbound && !(g.flags & net::tcp_ack)) return outbound_syn(s, g, record_flags, w);

    tcp_side& sender = w.of(d);
    const tcp_side& receiver = w.of(reverse(d));
    if (d == direction::inbound && s == tcp_state::syn_sent) {
        if (syn) return peer_starts(step.next, g, w);
        return {s, stats::no_drop}; // the challenge ACK: forwarded, teaches nothing
    }
    if (syn && d == direction::inbound && !(g.flags & net::tcp_ack) && segment_end(g) != sender.end)
        return {s, stats::drop_reason::tcp_out_of_window}; // not the SYN the simultaneous open began with
    if (s == tcp_state::closed && !(seen(sender) && seen(receiver)))
        return {s, stats::drop_reason::tcp_invalid_transition}; // nothing to restore
    if (!seen(sender)) {
        pick_up(w, d, g);
    } else if (seen(receiver)) {
        const bool fits = in_window(w, d, g);
        const bool liberal = t.liberal || ((sender.flags | receiver.flags) & tcp_side_flags::loose);
        if (!fits && !liberal) return {s, stats::drop_reason::tcp_out_of_window};
        if (fits) learn(w, d, g);
    } else {
        learn(w, d, g); // the other side is not seen yet: nothing to check against
    }
    record_flags = flags;
    return {step.next, stats::no_drop};
}

uint32_t timeout_for(tcp_state s, const timeouts& t) noexcept {
    switch (s) {
    case tcp_state::syn_sent:
        return t.tcp_syn_sent_ms;
    case tcp_state::syn_received:
        return t.tcp_syn_received_ms;
    case tcp_state::established:
        return t.tcp_established_ms;
    case tcp_state::fin_wait:
    case tcp_state::closing:
        return t.tcp_closing_ms;
    case tcp_state::time_wait:
        return t.tcp_time_wait_ms;
    case tcp_state::closed:
        return t.tcp_closed_ms;
    }
    return t.tcp_closed_ms;
}

std::string_view name_of(tcp_state s) noexcept {
    switch (s) {
    case tcp_state::syn_sent:
        return "syn_sent";
    case tcp_state::syn_received:
        return "syn_received";
    case tcp_state::established:
        return "established";
    case tcp_state::fin_wait:
        return "fin_wait";
    case tcp_state::closing:
        return "closing";
    case tcp_state::time_wait:
        return "time_wait";
    case tcp_state::closed:
        return "closed";
    }
    return "invalid";
}

} // namespace egress::flow
