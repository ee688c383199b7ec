// TCP connection tracking without sequence numbers: a state machine over the
// flags of each segment and its direction, as seen by the gateway.
//
// Notation: out = from the inside host (the client), in = from the remote peer.
// SYN = SYN without ACK, SYN+ACK = both. "ACK" means a segment with ACK and
// neither SYN nor RST (data, pure ACK, PSH...). FIN is any segment with FIN and ACK.
// "!" marks an invalid segment: it is dropped and nothing changes.
//
// Checked first, in every state:
//   SYN with FIN or RST, or a segment with none of SYN/ACK/RST   -> !
//   RST (either direction)                                       -> closed
//
//   state         dir  segment        next            notes
//   (none)        out  SYN            syn_sent        tcp_opens_flow(); anything else creates no flow
//   syn_sent      out  SYN            syn_sent        retransmitted SYN
//   syn_sent      in   SYN+ACK        syn_received
//   syn_sent      in   SYN            !               simultaneous open from outside
//   syn_sent      out  SYN+ACK        !               the inside host does not accept connections
//   syn_sent      any  ACK / FIN      !               handshake not done
//   syn_received  out  SYN            syn_received    SYN retransmit crossing the SYN+ACK
//   syn_received  in   SYN+ACK        syn_received    SYN+ACK retransmit
//   syn_received  out  ACK            established     handshake complete
//   syn_received  out  FIN            fin_wait        handshake complete and closed at once
//   syn_received  in   ACK / FIN      !               client has not acked yet
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
//   time_wait     out  SYN            syn_sent        port reuse by the same client; FIN bits cleared
//   time_wait     any  ACK / FIN      time_wait       retransmitted FIN and its ACK
//   closed        out  SYN            syn_sent        reopen after RST; FIN bits cleared
//   closed        any  ACK / FIN      !               stray segment after RST
//   any SYN / SYN+ACK not listed above                !
#pragma once

#include <cstdint>
#include <string_view>

#include "flow/flow_record.hpp"
#include "flow/timeouts.hpp"

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

// The idle timeout for a flow in state s (fin_wait and closing share tcp_closing_ms).
uint32_t timeout_for(tcp_state s, const timeouts& t) noexcept;

std::string_view name_of(tcp_state s) noexcept;

} // namespace egress::flow
