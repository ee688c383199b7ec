// TCP sequence-space tracking per direction, after Linux conntrack's
// tcp_in_window (Rooij's "Real stateful TCP packet filtering in IP Filter"),
// reduced to what the gateway needs to refuse forged segments:
//
//   end     highest sequence number sent + 1 (seq + length, SYN and FIN count 1)
//   maxack  highest acknowledgement number sent (the receiver's RCV.NXT as far
//           as the gateway saw it); before this side acked anything, and while
//           the flow is in syn_sent, the outbound side keeps its ISN + 1 here
//   maxwin  largest window this side advertised, in units of 2^scale (the raw
//           16-bit field: with the scale fixed after the handshake, the largest
//           raw value times 2^scale is the largest window, so 16 bits are exact)
//
// A segment from sender S to receiver R is in window when (serial arithmetic,
// so sequence wrap-around is harmless):
//   seq   <= R.maxack + R.maxwin        no byte beyond what R ever allowed
//   end   >= S.end - R.maxwin           retransmissions within one window back
//   ack   <= R.end                      nothing acked that R did not send
//   ack   >= R.end - max(S.maxwin, 66000)
// Keep-alives (seq = SND.NXT - 1), zero-window probes and retransmissions pass
// these bounds; SACK blocks and timestamps are tolerated (never checked).
//
// A RST from S is exact when its seq is R's RCV.NXT (R.maxack, or S.end while R
// has acked nothing) or S.end (S's SND.NXT); it is in window when seq lies in
// [RCV.NXT, RCV.NXT + R.maxwin]. RFC 5961 §3.2: only an exact RST resets the
// receiver; an in-window one makes the receiver send a challenge ACK, to which
// the real peer answers with an exact RST. So the gateway closes its flow on an
// exact RST only, forwards an in-window RST without changing anything (the
// endpoint sends its challenge ACK; a forger gains nothing) and drops any other
// RST (tcp_rst_out_of_window). A forger who does not see the traffic must guess
// one 32-bit value exactly to close a flow.
//
// Where it lives: 24 bytes per flow in the flow table's side array, next to
// the byte counters (flow_table::side), not in the 64-byte flow_record, which
// is full. The gateway already prefetches that side entry for every packet, so
// the window costs no extra cache line.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "flow/flow_record.hpp"
#include "net/packet_view.hpp"

namespace egress::flow {

// Window scale value meaning "the SYN carried no window-scale option".
inline constexpr uint8_t no_window_scale = 15;
// RFC 7323 §2.3: a shift above 14 is treated as 14.
inline constexpr uint8_t max_window_scale = 14;

// The fields of one TCP segment the tracker reads. Options are parsed on SYN
// segments only (window scale and SACK-permitted are negotiated there).
struct tcp_segment {
    uint32_t seq = 0;
    uint32_t ack = 0;
    uint16_t window = 0;  // raw header field
    uint16_t payload = 0; // data bytes
    uint8_t flags = 0;    // net::tcp_* bits
    uint8_t wscale = no_window_scale;
    bool sack_permitted = false;
};

// Window scale and SACK-permitted from a SYN's n option bytes at p (RFC 7323
// §2.2, RFC 2018); malformed options stop the reading.
void read_syn_options(const uint8_t* p, std::size_t n, tcp_segment& g) noexcept;

// Reads a parsed TCP segment (net::parse_frame checked its header length).
// Inline: it runs for every TCP packet.
inline tcp_segment read_tcp_segment(std::span<const uint8_t> frame, const net::packet_view& v) noexcept {
    const uint8_t* p = frame.data() + v.l4_offset;
    const auto load32 = [](const uint8_t* q) {
        return uint32_t{q[0]} << 24 | uint32_t{q[1]} << 16 | uint32_t{q[2]} << 8 | q[3];
    };
    tcp_segment g;
    g.seq = load32(p + 4);
    g.ack = load32(p + 8);
    g.window = static_cast<uint16_t>(p[14] << 8 | p[15]);
    g.flags = v.tcp_flags;
    const std::size_t header = static_cast<std::size_t>(p[12] >> 4) * 4;
    g.payload = header < v.l4_length ? static_cast<uint16_t>(v.l4_length - header) : 0;
    if ((g.flags & net::tcp_syn) && header > 20) [[unlikely]]
        read_syn_options(p + 20, header - 20, g);
    return g;
}

// Bits of tcp_side::flags.
namespace tcp_side_flags {
inline constexpr uint8_t seen = 0x01;      // the side has sent a segment the tracker learned from
inline constexpr uint8_t ack_seen = 0x02;  // maxack holds an acknowledgement this side sent
inline constexpr uint8_t sack_ok = 0x04;   // SACK-permitted offered on its SYN (informational)
inline constexpr uint8_t loose = 0x08;     // learnt mid-stream: scale unknown, data checks liberal
inline constexpr uint8_t pending_scale = 0x10; // the other side's SYN not seen yet: maxwin is in bytes
} // namespace tcp_side_flags

struct tcp_side {
    uint32_t end = 0;
    uint32_t maxack = 0;
    uint16_t maxwin = 0; // in units of 2^scale
    uint8_t scale = 0;   // no_window_scale until the handshake settles it
    uint8_t flags = 0;   // tcp_side_flags
};

// Both directions, indexed by flow::direction.
struct tcp_window {
    tcp_side side[2];

    tcp_side& of(direction d) noexcept { return side[static_cast<int>(d)]; }
    const tcp_side& of(direction d) const noexcept { return side[static_cast<int>(d)]; }
};
static_assert(sizeof(tcp_window) == 24);

// Serial (RFC 1982) sequence comparisons.
constexpr bool seq_before(uint32_t a, uint32_t b) noexcept { return static_cast<int32_t>(a - b) < 0; }
constexpr bool seq_after(uint32_t a, uint32_t b) noexcept { return static_cast<int32_t>(a - b) > 0; }

// The sequence space a segment occupies: seq + payload, SYN and FIN one each.
constexpr uint32_t segment_end(const tcp_segment& g) noexcept {
    return g.seq + g.payload + ((g.flags & net::tcp_syn) ? 1u : 0u) + ((g.flags & net::tcp_fin) ? 1u : 0u);
}

constexpr uint8_t effective_scale(const tcp_side& s) noexcept {
    return (s.flags & tcp_side_flags::pending_scale) || s.scale == no_window_scale ? 0 : s.scale;
}

// Largest window side s advertised, in bytes (at least 1).
inline uint32_t max_window_bytes(const tcp_side& s) noexcept {
    const uint32_t bytes = uint32_t{s.maxwin} << effective_scale(s);
    return bytes != 0 ? bytes : 1;
}

// The receiver's window in bytes. A side learnt mid-stream may scale by up to
// 2^14, so its raw window is taken at the largest scale.
inline uint32_t receiver_window_bytes(const tcp_side& r) noexcept {
    if (r.flags & tcp_side_flags::loose) return (uint32_t{r.maxwin} << max_window_scale) | 1u;
    return max_window_bytes(r);
}

// The receiver's RCV.NXT as far as the gateway saw: its highest ACK, or, before
// it acked anything, the sender's next sequence number.
constexpr uint32_t receiver_next(const tcp_side& s, const tcp_side& r) noexcept {
    return (r.flags & tcp_side_flags::ack_seen) ? r.maxack : s.end;
}

// A SYN's window is never scaled (RFC 7323 §2.2): in units of 2^scale, rounded up.
constexpr uint16_t syn_window_units(uint32_t bytes, uint8_t scale) noexcept {
    return static_cast<uint16_t>((bytes + (1u << scale) - 1) >> scale);
}

// Linux conntrack's MAXACKWINDOW floor: an ACK may lag R.end by this much even
// while the sender's window is smaller (the window may have shrunk).
inline constexpr uint32_t min_ack_lag = 66000;

// Sender side d (re)starts from its SYN or SYN+ACK. When the other side
// already started from a SYN too, the window scales are settled (RFC 7323: both
// SYNs must carry the option, otherwise neither side scales).
void start_from_syn(tcp_window& w, direction d, const tcp_segment& g) noexcept;

// Loose pickup (conntrack's nf_conntrack_tcp_loose): side d is learnt from a
// segment in mid-stream. Its scale is unknown, so its data is checked
// liberally and the RST window assumes the largest scale.
void pick_up(tcp_window& w, direction d, const tcp_segment& g) noexcept;

// Is the segment inside the windows (see above)? Both sides must be seen.
// Inline, like learn(): both run for every TCP packet.
inline bool in_window(const tcp_window& w, direction d, const tcp_segment& g) noexcept {
    const tcp_side& s = w.of(d);
    const tcp_side& r = w.of(reverse(d));
    const uint32_t rwin = receiver_window_bytes(r);
    // An empty segment (pure ACK, window update) occupies no sequence space:
    // like conntrack, only its ACK is checked.
    const bool occupies = g.payload != 0 || (g.flags & (net::tcp_syn | net::tcp_fin)) != 0;
    if (occupies) {
        if (seq_after(g.seq, receiver_next(s, r) + rwin)) return false;
        if (seq_before(segment_end(g), s.end - rwin)) return false;
    }
    if (g.flags & net::tcp_ack) {
        const uint32_t swin = max_window_bytes(s);
        const uint32_t lag = swin > min_ack_lag ? swin : min_ack_lag;
        if (seq_after(g.ack, r.end) || seq_before(g.ack, r.end - lag)) return false;
    }
    return true;
}

// Learns from an accepted segment: end, maxack and maxwin only grow (serially).
inline void learn(tcp_window& w, direction d, const tcp_segment& g) noexcept {
    tcp_side& s = w.of(d);
    const uint32_t end = segment_end(g);
    if (seq_after(end, s.end)) s.end = end;
    if (g.flags & net::tcp_ack) {
        if (!(s.flags & tcp_side_flags::ack_seen) || seq_after(g.ack, s.maxack)) s.maxack = g.ack;
        s.flags |= tcp_side_flags::ack_seen;
    }
    const uint16_t units = (g.flags & net::tcp_syn) ? syn_window_units(g.window, effective_scale(s)) : g.window;
    if (units > s.maxwin) s.maxwin = units;
}

enum class rst_fit : uint8_t { exact, in_window, outside };

// Where a RST from side d falls in the receiver's window (see above). A side
// that has not been seen cannot be judged: such RSTs count as exact.
rst_fit classify_rst(const tcp_window& w, direction d, const tcp_segment& g) noexcept;

} // namespace egress::flow
