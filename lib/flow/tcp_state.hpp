// TCP connection tracking: a state machine over the flags of each segment and
// its direction (tcp_advance), gated by sequence-number checks against both
// directions' windows (tcp_track, see tcp_window.hpp). RFC 5382 (TCP NAT
// behaviour) decides which sequences must pass.
//
// Notation: out = from the inside host (the client), in = from the remote peer.
// SYN = SYN without ACK, SYN+ACK = both. "ACK" means a segment with ACK and
// neither SYN nor RST (data, pure ACK, PSH...). FIN is any segment with FIN and ACK.
// "!" marks an invalid segment: it is dropped and nothing changes.
//
// tcp_advance, checked first in every state:
//   SYN with FIN or RST, or a segment with none of SYN/ACK/RST   -> !
//   RST (either direction)                                       -> closed
//
//   state         dir  segment        next            notes
//   (none)        out  SYN            syn_sent        tcp_opens_flow(); anything else creates no flow
//   syn_sent      out  SYN            syn_sent        retransmitted SYN (or a new attempt)
//   syn_sent      in   SYN+ACK        syn_received
//   syn_sent      in   SYN            syn_received    simultaneous open (RFC 5382 REQ-2a)
//   syn_sent      in   ACK            syn_sent        a challenge ACK (RFC 5961 §4) to a SYN on a tuple the
//                                                     server still holds: forwarded so the client resets it
//   syn_sent      out  SYN+ACK        !               the inside host does not accept connections
//   syn_sent      out  ACK / FIN      !               handshake not done
//   syn_sent      in   FIN            !
//   syn_received  out  SYN            syn_received    SYN retransmit crossing the SYN+ACK
//   syn_received  in   SYN            syn_received    the peer's SYN again (simultaneous open)
//   syn_received  any  SYN+ACK        syn_received    retransmit, or the inside host's answer in a
//                                                     simultaneous open
//   syn_received  out  ACK            established     handshake complete
//   syn_received  out  FIN            fin_wait        handshake complete and closed at once
//   syn_received  in   ACK            syn_received    server data before the client's ACK (TCP Fast Open,
//                                                     RFC 7413), or the peer's ACK in a simultaneous open
//   syn_received  in   FIN            fin_wait        the same, closed at once
//   established   any  ACK            established     data both ways
//   established   in   SYN+ACK        established     retransmit after a lost final ACK
//   established   any  FIN            fin_wait        remembers the side (fin_out / fin_in)
//   fin_wait      any  ACK            fin_wait        half-closed: the other side may still send
//   fin_wait      same FIN            fin_wait        FIN retransmit
//   fin_wait      other FIN           closing         last_fin_inbound := (dir == in)
//   closing       any  FIN            closing         retransmits
//   closing       ACK from the side that sent the first FIN (it acks the last one)
//                                     time_wait
//   closing       ACK from the side that sent the last FIN
//                                     closing
//   established, fin_wait, closing, time_wait, closed:
//                 out  SYN            syn_sent        the inside host owns its 4-tuple: a new SYN on a live
//                                                     one (half-open recovery, port reuse, reopen after RST)
//                                                     starts over; FIN bits cleared
//   time_wait     any  ACK / FIN      time_wait       retransmitted FIN and its ACK
//   closed        any  ACK / FIN      restored        RFC 7857 §2.2: traffic after a RST restores the flow,
//                                                     to established, fin_wait or closing by the FIN bits,
//                                                     then this segment applies
//   any SYN / SYN+ACK not listed above                !
//
// tcp_track, on top (the drop reason in brackets):
//   - SYN / SYN+ACK seen first in a direction start its window (tcp_window.hpp);
//     an outbound SYN that is not a retransmit (same ISN) restarts both. An inbound SYN+ACK
//     in syn_sent must ack the SYN: ISN + 1 up to the SYN's end (TFO data may or
//     may not be acked) [tcp_out_of_window].
//   - RST: in syn_sent, an outbound RST always closes (the client abandons its
//     attempt, e.g. after a challenge ACK) and an inbound one must ack the SYN
//     (RFC 793 SYN-SENT) [tcp_rst_out_of_window]. Elsewhere an exact RST closes,
//     an in-window one passes with no change (RFC 5961 §3.2 challenge ACK by the
//     endpoint), any other is dropped [tcp_rst_out_of_window].
//   - Other segments must be in window [tcp_out_of_window], unless the tracking
//     is liberal (tcp_tracking::liberal, or a side learnt mid-stream): then they
//     pass but teach the window nothing. The challenge ACK in syn_sent passes
//     unchecked and teaches nothing. A flow is restored from closed only when
//     both sides' windows are known.
//   - A direction not seen yet that sends a non-SYN segment is learnt from it
//     (loose pickup, conntrack's nf_conntrack_tcp_loose).
#pragma once

#include <cstdint>
#include <string_view>

#include "flow/flow_record.hpp"
#include "flow/tcp_window.hpp"
#include "flow/timeouts.hpp"
#include "stats/drop_reason.hpp"

namespace egress::flow {

enum class tcp_state : uint8_t {
    syn_sent,
    syn_received,
    established,
    fin_wait, // FIN seen one way
    closing,  // FIN both ways, last ACK pending
    time_wait,
    closed, // RST
};

inline constexpr uint32_t tcp_state_count = 7;

struct tcp_step {
    tcp_state next;
    bool valid;
};

// Does this segment start a new flow? Only an outbound SYN without ACK does.
bool tcp_opens_flow(direction d, uint8_t tcp_flags) noexcept;

// Advances state s by one segment. record_flags is flow_record::flags; only its
// flow_flags::tcp_mask bits are read and written, and only for a valid step.
// An invalid step returns {s, false}.
tcp_step tcp_advance(tcp_state s, direction d, uint8_t tcp_flags, uint8_t& record_flags) noexcept;

// The result of tcp_track: the next state, or the reason to drop the segment
// (then nothing changed: state, record flags and windows are as before).
struct tcp_verdict {
    tcp_state next;
    stats::drop_reason drop; // stats::no_drop: forward the segment
};

// tcp_track for any state and segment (out of line).
tcp_verdict tcp_track_general(tcp_state s, direction d, const tcp_segment& g, uint8_t& record_flags, tcp_window& w,
                              const tcp_tracking& t) noexcept;

// Advances state s by one segment with the sequence checks above. record_flags
// is flow_record::flags (only flow_flags::tcp_mask bits are touched); w is the
// flow's window state, zero for a new flow. Inline fast path for the common
// packet, an in-window segment with ACK and no SYN/FIN/RST on an established
// connection whose sides were both seen from their SYNs: the same outcome as
// the general path, without its calls.
inline tcp_verdict tcp_track(tcp_state s, direction d, const tcp_segment& g, uint8_t& record_flags, tcp_window& w,
                             const tcp_tracking& t) noexcept {
    constexpr uint8_t control = net::tcp_syn | net::tcp_fin | net::tcp_rst;
    constexpr uint8_t strict_seen = tcp_side_flags::seen | tcp_side_flags::loose;
    if (s == tcp_state::established && (g.flags & (control | net::tcp_ack)) == net::tcp_ack &&
        (w.side[0].flags & strict_seen) == tcp_side_flags::seen &&
        (w.side[1].flags & strict_seen) == tcp_side_flags::seen && in_window(w, d, g)) [[likely]] {
        learn(w, d, g);
        return {s, stats::no_drop};
    }
    return tcp_track_general(s, d, g, record_flags, w, t);
}

// The idle timeout for a flow in state s (fin_wait and closing share tcp_closing_ms).
uint32_t timeout_for(tcp_state s, const timeouts& t) noexcept;

std::string_view name_of(tcp_state s) noexcept;

} // namespace egress::flow
