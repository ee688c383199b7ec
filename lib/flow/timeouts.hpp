// Idle timeouts per protocol and TCP state, in milliseconds. Filled from the
// [timeouts] table of the config; the defaults below are what a user gets when a
// key is absent (documented in conf/egressd.toml). Every default is at or above
// the minimum the NAT behaviour RFCs set, named next to it; below_rfc() tells
// which configured values fall under one (the config refuses those that break
// a MUST unless allow_below_rfc is set).
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace egress::flow {

struct timeouts {
    // RFC 5382 REQ-5: the "transitory connection idle-timeout" (partially open
    // or partially closed connections) MUST NOT be less than 4 minutes.
    uint32_t tcp_syn_sent_ms = 240'000;
    uint32_t tcp_syn_received_ms = 240'000;
    // RFC 5382 REQ-5: the "established connection idle-timeout" MUST NOT be less
    // than 2 hours 4 minutes.
    uint32_t tcp_established_ms = 7'440'000;
    // FIN seen in one or both directions: transitory (RFC 5382 REQ-5, 4 min MUST).
    uint32_t tcp_closing_ms = 240'000;
    // TIME_WAIT lasts 2 MSL = 4 min at the endpoints (RFC 9293 §3.4.2); RFC 7857
    // §2.1 recommends the 4-minute transitory default here too (SHOULD).
    uint32_t tcp_time_wait_ms = 240'000;
    // After a valid RST, and for a flow cut by policy: RFC 7857 §2.2, the NAT
    // SHOULD keep the session 4 minutes so that later traffic can restore it.
    uint32_t tcp_closed_ms = 240'000;
    // RFC 4787 REQ-5: a UDP mapping timer MUST NOT expire in less than 2 minutes.
    uint32_t udp_ms = 120'000;
    // RFC 5508 REQ-2: an ICMP Query session timer MUST NOT expire in less than 60 s.
    uint32_t icmp_ms = 60'000;
};

// How strictly TCP segments are checked against the windows (tcp_state.hpp).
struct tcp_tracking {
    // Liberal: segments outside the window are forwarded (and teach the window
    // nothing) instead of being dropped as tcp_out_of_window, for asymmetric
    // paths where the gateway sees one direction's ACKs late or not at all
    // (conntrack's nf_conntrack_tcp_be_liberal). RSTs outside the window are
    // dropped in both modes.
    bool liberal = false;
    // Pickup (conntrack's nf_conntrack_tcp_loose): an ACK from inside that
    // belongs to no flow (a connection that was open before a restart) creates
    // one in established, its windows learnt from its first segments
    // (tcp_window.cpp pick_up), when the policy decides it without a hostname.
    // Off: such a segment is tcp_new_not_syn, as without this switch.
    bool pickup = false;
};

// One timeout below an RFC minimum.
struct rfc_shortfall {
    std::string_view key;         // the [timeouts] key, as in conf/egressd.toml
    uint32_t value_ms;            // configured
    uint32_t minimum_ms;          // what the RFC asks
    std::string_view requirement; // e.g. "RFC 5382 REQ-5"
    bool must;                    // a MUST (the config refuses it unless allow_below_rfc) or a SHOULD
};

inline constexpr std::size_t timeout_count = 8;

// The configured timeouts below an RFC minimum, in the order of struct
// timeouts; n says how many entries of the array are used.
struct rfc_report {
    std::array<rfc_shortfall, timeout_count> items{};
    std::size_t n = 0;

    bool breaks_a_must() const noexcept {
        for (std::size_t i = 0; i < n; ++i)
            if (items[i].must) return true;
        return false;
    }
};

constexpr rfc_report below_rfc(const timeouts& t) noexcept {
    struct rule {
        std::string_view key;
        uint32_t value;
        uint32_t minimum;
        std::string_view requirement;
        bool must;
    };
    const rule rules[timeout_count] = {
        {"tcp_syn_sent", t.tcp_syn_sent_ms, 240'000, "RFC 5382 REQ-5", true},
        {"tcp_syn_received", t.tcp_syn_received_ms, 240'000, "RFC 5382 REQ-5", true},
        {"tcp_established", t.tcp_established_ms, 7'440'000, "RFC 5382 REQ-5", true},
        {"tcp_closing", t.tcp_closing_ms, 240'000, "RFC 5382 REQ-5", true},
        {"tcp_time_wait", t.tcp_time_wait_ms, 240'000, "RFC 7857 section 2.1", false},
        {"tcp_closed", t.tcp_closed_ms, 240'000, "RFC 7857 section 2.2", false},
        {"udp", t.udp_ms, 120'000, "RFC 4787 REQ-5", true},
        {"icmp", t.icmp_ms, 60'000, "RFC 5508 REQ-2", true},
    };
    rfc_report r;
    for (const rule& x : rules)
        if (x.value < x.minimum) r.items[r.n++] = {x.key, x.value, x.minimum, x.requirement, x.must};
    return r;
}

static_assert(below_rfc(timeouts{}).n == 0, "every default meets its RFC minimum");

} // namespace egress::flow
