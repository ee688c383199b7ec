#include "flow/tcp_window.hpp"

namespace egress::flow {

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

namespace {

// Both SYNs seen: each side scales by its own offer if both offered, else none does.
void settle_scales(tcp_side& a, tcp_side& b) noexcept {
    const bool scaling = a.scale != no_window_scale && b.scale != no_window_scale;
    for (tcp_side* s : {&a, &b}) {
        s->scale = scaling ? s->scale : 0;
        s->maxwin = syn_window_units(s->maxwin, s->scale);
        s->flags = static_cast<uint8_t>(s->flags & ~tcp_side_flags::pending_scale);
    }
}

} // namespace

void start_from_syn(tcp_window& w, direction d, const tcp_segment& g) noexcept {
    tcp_side& s = w.of(d);
    tcp_side& other = w.of(reverse(d));
    s.end = segment_end(g);
    const bool ack = (g.flags & net::tcp_ack) != 0;
    s.maxack = ack ? g.ack : g.seq + 1; // before any ACK: the ISN + 1 (what a SYN+ACK must ack)
    s.maxwin = g.window;
    s.scale = g.wscale;
    s.flags = static_cast<uint8_t>(tcp_side_flags::seen | tcp_side_flags::pending_scale |
                                   (ack ? tcp_side_flags::ack_seen : 0) |
                                   (g.sack_permitted ? tcp_side_flags::sack_ok : 0));
    if ((other.flags & tcp_side_flags::seen) && (other.flags & tcp_side_flags::pending_scale)) settle_scales(s, other);
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
