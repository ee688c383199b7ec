#include "flow/tcp_window.hpp"

namespace egress::flow {

namespace {

constexpr uint8_t flag_pending_scale = 0x10; // the other side's SYN is not seen yet: maxwin is in bytes
// Linux conntrack's MAXACKWINDOW floor: an ACK may lag R.end by this much even
// while the sender's window is smaller (the window may have shrunk).
constexpr uint32_t min_ack_lag = 66000;

constexpr uint32_t load32(const uint8_t* p) noexcept {
    return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}

// Window scale and SACK-permitted from a SYN's options (RFC 7323 §2.2, RFC 2018).
void read_syn_options(const uint8_t* p, std::size_t n, tcp_segment& g) noexcept {
    std::size_t i = 0;
    while (i < n) {
        const uint8_t kind = p[i];
        if (kind == 0) return; // end of option list
        if (kind == 1) {       // no-operation
            ++i;
            continue;
        }
        if (i + 1 >= n || p[i + 1] < 2 || i + p[i + 1] > n) return; // malformed: stop reading
        if (kind == 3 && p[i + 1] == 3)
            g.wscale = p[i + 2] > max_window_scale ? max_window_scale : p[i + 2];
        else if (kind == 4 && p[i + 1] == 2)
            g.sack_permitted = true;
        i += p[i + 1];
    }
}

constexpr uint8_t effective_scale(const tcp_side& s) noexcept {
    return (s.flags & flag_pending_scale) || s.scale == no_window_scale ? 0 : s.scale;
}

// The receiver's window in bytes. A side learnt mid-stream may scale
// by up to 2^14, so its raw window is taken at the largest scale.
uint32_t receiver_window_bytes(const tcp_side& r) noexcept {
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

// Both SYNs seen: each side scales by its own offer if both offered, else none does.
void settle_scales(tcp_side& a, tcp_side& b) noexcept {
    const bool scaling = a.scale != no_window_scale && b.scale != no_window_scale;
    for (tcp_side* s : {&a, &b}) {
        s->scale = scaling ? s->scale : 0;
        s->maxwin = syn_window_units(s->maxwin, s->scale);
        s->flags = static_cast<uint8_t>(s->flags & ~flag_pending_scale);
    }
}

} // namespace

tcp_segment read_tcp_segment(std::span<const uint8_t> frame, const net::packet_view& v) noexcept {
    const uint8_t* p = frame.data() + v.l4_offset;
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

uint32_t max_window_bytes(const tcp_side& s) noexcept {
    const uint32_t bytes = uint32_t{s.maxwin} << effective_scale(s);
    return bytes != 0 ? bytes : 1;
}

void start_from_syn(tcp_window& w, direction d, const tcp_segment& g) noexcept {
    tcp_side& s = w.of(d);
    tcp_side& other = w.of(reverse(d));
    s.end = segment_end(g);
    const bool ack = (g.flags & net::tcp_ack) != 0;
    s.maxack = ack ? g.ack : g.seq + 1; // before any ACK: the ISN + 1 (what a SYN+ACK must ack)
    s.maxwin = g.window;
    s.scale = g.wscale;
    s.flags = static_cast<uint8_t>(tcp_side_flags::seen | flag_pending_scale |
                                   (ack ? tcp_side_flags::ack_seen : 0) |
                                   (g.sack_permitted ? tcp_side_flags::sack_ok : 0));
    if ((other.flags & tcp_side_flags::seen) && (other.flags & flag_pending_scale)) settle_scales(s, other);
}

void pick_up(tcp_window& w, direction d, const tcp_segment& g) noexcept {
    tcp_side& s = w.of(d);
    s.end = segment_end(g);
    const bool ack = (g.flags & net::tcp_ack) != 0;
    s.maxack = ack ? g.ack : 0;
    s.maxwin = g.window != 0 ? g.window : 1;
    s.scale = 0;
    s.flags = static_cast<uint8_t>(tcp_side_flags::seen | tcp_side_flags::loose | tcp_side_flags::sack_ok |
                                   (ack ? tcp_side_flags::ack_seen : 0));
}

bool in_window(const tcp_window& w, direction d, const tcp_segment& g) noexcept {
    const tcp_side& s = w.of(d);
    const tcp_side& r = w.of(reverse(d));
    const uint32_t rwin = receiver_window_bytes(r);
    // An empty segment (pure ACK, window update) occupies no sequence space:
    // like conntrack, only its ACK is checked.
    const bool occupies = g.payload != 0 || (g.flags & (net::tcp_syn | net::tcp_fin)) != 0;
    if (occupies) {
        const uint32_t end = segment_end(g);
        if (seq_after(g.seq, receiver_next(s, r) + rwin)) return false;
        if (seq_before(end, s.end - rwin)) return false;
    }
    if (g.flags & net::tcp_ack) {
        const uint32_t swin = max_window_bytes(s);
        const uint32_t lag = swin > min_ack_lag ? swin : min_ack_lag;
        if (seq_after(g.ack, r.end) || seq_before(g.ack, r.end - lag)) return false;
    }
    return true;
}

void learn(tcp_window& w, direction d, const tcp_segment& g) noexcept {
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

rst_fit classify_rst(const tcp_window& w, direction d, const tcp_segment& g) noexcept {
    const tcp_side& s = w.of(d);
    const tcp_side& r = w.of(reverse(d));
    if (!(r.flags & tcp_side_flags::seen)) return rst_fit::exact;
    if (!(s.flags & tcp_side_flags::seen) && !(r.flags & tcp_side_flags::ack_seen)) return rst_fit::exact;
    const uint32_t rcv = receiver_next(s, r);
    if (g.seq == rcv || ((s.flags & tcp_side_flags::seen) && g.seq == s.end)) return rst_fit::exact;
    if (!seq_before(g.seq, rcv) && !seq_after(g.seq, rcv + receiver_window_bytes(r))) return rst_fit::in_window;
    return rst_fit::outside;
}

} // namespace egress::flow
