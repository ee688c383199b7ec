#include "flow/tcp_state.hpp"

#include <gtest/gtest.h>

#include <ostream>
#include <string>

#include "net/packet_view.hpp"

namespace egress::flow {

inline void PrintTo(tcp_state s, std::ostream* os) { *os << name_of(s); }

namespace {

using enum tcp_state;
constexpr direction out = direction::outbound;
constexpr direction in = direction::inbound;

constexpr uint8_t S = net::tcp_syn;
constexpr uint8_t SA = net::tcp_syn | net::tcp_ack;
constexpr uint8_t A = net::tcp_ack;
constexpr uint8_t PA = net::tcp_psh | net::tcp_ack;
constexpr uint8_t FA = net::tcp_fin | net::tcp_ack;
constexpr uint8_t F = net::tcp_fin;
constexpr uint8_t R = net::tcp_rst;
constexpr uint8_t RA = net::tcp_rst | net::tcp_ack;
constexpr uint8_t SF = net::tcp_syn | net::tcp_fin;
constexpr uint8_t SR = net::tcp_syn | net::tcp_rst;
constexpr uint8_t none = 0;

constexpr uint8_t fo = flow_flags::fin_out;
constexpr uint8_t fi = flow_flags::fin_in;
constexpr uint8_t li = flow_flags::last_fin_inbound;
constexpr uint8_t live = flow_flags::live;

struct row {
    tcp_state from;
    uint8_t flags_before; // flow_record::flags
    direction dir;
    uint8_t segment;
    tcp_state next;
    bool valid;
    uint8_t flags_after;
};

// Mirrors the transition table in tcp_state.hpp, row by row.
constexpr row transitions[] = {
    // syn_sent
    {syn_sent, live, out, S, syn_sent, true, live},
    {syn_sent, live, in, SA, syn_received, true, live},
    {syn_sent, live, in, S, syn_received, true, live}, // simultaneous open
    {syn_sent, live, out, SA, syn_sent, false, live},
    {syn_sent, live, out, A, syn_sent, false, live},
    {syn_sent, live, in, A, syn_sent, true, live}, // challenge ACK
    {syn_sent, live, in, FA, syn_sent, false, live},
    {syn_sent, live, out, FA, syn_sent, false, live},
    {syn_sent, live, in, R, closed, true, live},
    {syn_sent, live, out, RA, closed, true, live},
    // syn_received
    {syn_received, live, out, S, syn_received, true, live},
    {syn_received, live, in, SA, syn_received, true, live},
    {syn_received, live, out, A, established, true, live},
    {syn_received, live, out, PA, established, true, live},
    {syn_received, live, out, FA, fin_wait, true, live | fo},
    {syn_received, live, in, A, syn_received, true, live}, // TFO data before the client's ACK
    {syn_received, live, in, FA, fin_wait, true, live | fi},
    {syn_received, live, in, S, syn_received, true, live}, // simultaneous open
    {syn_received, live, out, SA, syn_received, true, live}, // simultaneous open
    {syn_received, live, in, RA, closed, true, live},
    // established
    {established, live, out, A, established, true, live},
    {established, live, out, PA, established, true, live},
    {established, live, in, PA, established, true, live},
    {established, live, in, SA, established, true, live},
    {established, live, out, S, syn_sent, true, live}, // SYN on a live tuple
    {established, live, in, S, established, false, live},
    {established, live, out, SA, established, false, live},
    {established, live, out, FA, fin_wait, true, live | fo},
    {established, live, in, FA, fin_wait, true, live | fi},
    {established, live, in, F, established, false, live},  // bare FIN (scan)
    {established, live, out, none, established, false, live},
    {established, live, out, SF, established, false, live},
    {established, live, in, SR, established, false, live},
    {established, live, out, R, closed, true, live},
    {established, live, in, R, closed, true, live},
    // fin_wait
    {fin_wait, live | fo, in, A, fin_wait, true, live | fo},
    {fin_wait, live | fo, in, PA, fin_wait, true, live | fo},
    {fin_wait, live | fo, out, A, fin_wait, true, live | fo},
    {fin_wait, live | fo, out, FA, fin_wait, true, live | fo},
    {fin_wait, live | fo, in, FA, closing, true, live | fo | fi | li},
    {fin_wait, live | fi, out, FA, closing, true, live | fo | fi},
    {fin_wait, live | fi, in, FA, fin_wait, true, live | fi},
    {fin_wait, live | fo, out, S, syn_sent, true, live},
    {fin_wait, live | fo, in, SA, fin_wait, false, live | fo},
    {fin_wait, live | fo, in, R, closed, true, live | fo},
    // closing: the side that sent the first FIN acks the last one
    {closing, live | fo | fi | li, out, A, time_wait, true, live | fo | fi | li},
    {closing, live | fo | fi | li, in, A, closing, true, live | fo | fi | li},
    {closing, live | fo | fi, in, A, time_wait, true, live | fo | fi},
    {closing, live | fo | fi, out, A, closing, true, live | fo | fi},
    {closing, live | fo | fi, in, FA, closing, true, live | fo | fi},
    {closing, live | fo | fi, out, FA, closing, true, live | fo | fi},
    {closing, live | fo | fi, out, S, syn_sent, true, live},
    {closing, live | fo | fi, out, R, closed, true, live | fo | fi},
    // time_wait
    {time_wait, live | fo | fi | li, out, S, syn_sent, true, live},
    {time_wait, live | fo | fi, in, A, time_wait, true, live | fo | fi},
    {time_wait, live | fo | fi, out, A, time_wait, true, live | fo | fi},
    {time_wait, live | fo | fi, in, FA, time_wait, true, live | fo | fi},
    {time_wait, live | fo | fi, in, S, time_wait, false, live | fo | fi},
    {time_wait, live | fo | fi, in, SA, time_wait, false, live | fo | fi},
    {time_wait, live | fo | fi, out, SA, time_wait, false, live | fo | fi},
    {time_wait, live | fo | fi, in, R, closed, true, live | fo | fi},
    // closed (after RST)
    {closed, live | fo, out, S, syn_sent, true, live},
    {closed, live, out, R, closed, true, live},
    {closed, live, in, RA, closed, true, live},
    {closed, live, in, A, established, true, live}, // RFC 7857 section 2.2: traffic restores the flow
    {closed, live, out, A, established, true, live},
    {closed, live, out, FA, fin_wait, true, live | fo},
    {closed, live | fo, in, A, fin_wait, true, live | fo},
    {closed, live | fo, in, FA, closing, true, live | fo | fi | li},
    {closed, live | fo | fi | li, out, A, time_wait, true, live | fo | fi | li},
    {closed, live, in, S, closed, false, live},
    {closed, live, in, SA, closed, false, live},
};

std::string describe(const row& r) {
    return std::string(name_of(r.from)) + (r.dir == out ? " out" : " in") + " flags=" +
           std::to_string(r.segment) + " record_flags=" + std::to_string(r.flags_before);
}

TEST(tcp_state, every_transition) {
    for (const row& r : transitions) {
        uint8_t flags = r.flags_before;
        const tcp_step step = tcp_advance(r.from, r.dir, r.segment, flags);
        EXPECT_EQ(step.next, r.next) << describe(r) << " -> " << name_of(step.next);
        EXPECT_EQ(step.valid, r.valid) << describe(r);
        EXPECT_EQ(flags, r.flags_after) << describe(r);
    }
}

TEST(tcp_state, only_an_outbound_syn_opens_a_flow) {
    EXPECT_TRUE(tcp_opens_flow(out, S));
    EXPECT_TRUE(tcp_opens_flow(out, S | 0x40 | 0x80)); // ECN setup SYN (ECE|CWR)
    EXPECT_FALSE(tcp_opens_flow(in, S));
    EXPECT_FALSE(tcp_opens_flow(out, SA));
    EXPECT_FALSE(tcp_opens_flow(out, A));
    EXPECT_FALSE(tcp_opens_flow(out, SF));
    EXPECT_FALSE(tcp_opens_flow(out, SR));
    EXPECT_FALSE(tcp_opens_flow(out, none));
}

TEST(tcp_state, a_whole_connection_then_port_reuse) {
    struct seg {
        direction dir;
        uint8_t flags;
        tcp_state expect;
    };
    const seg conversation[] = {
        {in, SA, syn_received}, {out, A, established},  {out, PA, established}, {in, PA, established},
        {out, FA, fin_wait},    {in, A, fin_wait},      {in, PA, fin_wait},     {in, FA, closing},
        {out, A, time_wait},    {out, S, syn_sent},     {in, SA, syn_received}, {out, A, established},
        {in, RA, closed},       {out, S, syn_sent},
    };
    tcp_state s = syn_sent;
    uint8_t flags = live;
    for (const seg& g : conversation) {
        const tcp_step step = tcp_advance(s, g.dir, g.flags, flags);
        ASSERT_TRUE(step.valid) << name_of(s);
        ASSERT_EQ(step.next, g.expect) << name_of(s);
        s = step.next;
    }
    EXPECT_EQ(flags, live);
}

TEST(tcp_state, timeouts_per_state) {
    timeouts t;
    t.tcp_syn_sent_ms = 1;
    t.tcp_syn_received_ms = 2;
    t.tcp_established_ms = 3;
    t.tcp_closing_ms = 4;
    t.tcp_time_wait_ms = 5;
    t.tcp_closed_ms = 6;
    EXPECT_EQ(timeout_for(syn_sent, t), 1u);
    EXPECT_EQ(timeout_for(syn_received, t), 2u);
    EXPECT_EQ(timeout_for(established, t), 3u);
    EXPECT_EQ(timeout_for(fin_wait, t), 4u);
    EXPECT_EQ(timeout_for(closing, t), 4u);
    EXPECT_EQ(timeout_for(time_wait, t), 5u);
    EXPECT_EQ(timeout_for(closed, t), 6u);
}

TEST(tcp_state, names) {
    EXPECT_EQ(name_of(syn_sent), "syn_sent");
    EXPECT_EQ(name_of(syn_received), "syn_received");
    EXPECT_EQ(name_of(established), "established");
    EXPECT_EQ(name_of(fin_wait), "fin_wait");
    EXPECT_EQ(name_of(closing), "closing");
    EXPECT_EQ(name_of(time_wait), "time_wait");
    EXPECT_EQ(name_of(closed), "closed");
}

} // namespace
} // namespace egress::flow
