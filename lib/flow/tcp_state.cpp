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
    if (g.syn) {
        if (!g.ack) { // SYN: only the inside host opens connections
            if (!out)
                return invalid;
            switch (s) {
            case tcp_state::syn_sent:
            case tcp_state::syn_received:
                return {s, true};
            case tcp_state::time_wait:
            case tcp_state::closed:
                record_flags &= static_cast<uint8_t>(~flow_flags::tcp_mask);
                return {tcp_state::syn_sent, true};
            default:
                return invalid;
            }
        }
        // SYN+ACK: only the remote peer answers
        if (out)
            return invalid;
        switch (s) {
        case tcp_state::syn_sent:
            return {tcp_state::syn_received, true};
        case tcp_state::syn_received:
        case tcp_state::established:
            return {s, true};
        default:
            return invalid;
        }
    }

    // An ACK-bearing segment, possibly with FIN.
    const uint8_t own_fin = out ? flow_flags::fin_out : flow_flags::fin_in;
    const uint8_t other_fin = out ? flow_flags::fin_in : flow_flags::fin_out;
    switch (s) {
    case tcp_state::syn_sent:
        return invalid;
    case tcp_state::syn_received:
        if (!out)
            return invalid;
        if (g.fin) {
            record_flags |= own_fin;
            return {tcp_state::fin_wait, true};
        }
        return {tcp_state::established, true};
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
        return invalid;
    }
    return invalid;
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
