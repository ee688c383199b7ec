// tcp_track: the RFC 5382 / 5961 / 7857 sequences, segment by segment, with
// sequence numbers, windows and options, and the state and verdict expected
// after each. Every scenario starts as the gateway creates a flow: syn_sent,
// record flags "live", a zero window (unless it says otherwise).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cctype>
#include <cstring>
#include <initializer_list>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "flow/tcp_state.hpp"
#include "net/packet_view.hpp"

namespace egress::flow {
namespace {

using enum tcp_state;
using stats::drop_reason;
constexpr direction out = direction::outbound;
constexpr direction in = direction::inbound;

constexpr uint8_t S = net::tcp_syn;
constexpr uint8_t SA = net::tcp_syn | net::tcp_ack;
constexpr uint8_t A = net::tcp_ack;
constexpr uint8_t PA = net::tcp_psh | net::tcp_ack;
constexpr uint8_t FA = net::tcp_fin | net::tcp_ack;
constexpr uint8_t R = net::tcp_rst;
constexpr uint8_t RA = net::tcp_rst | net::tcp_ack;
constexpr uint8_t SF = net::tcp_syn | net::tcp_fin;

constexpr drop_reason ok = stats::no_drop;
constexpr drop_reason oow = drop_reason::tcp_out_of_window;
constexpr drop_reason rst_oow = drop_reason::tcp_rst_out_of_window;
constexpr drop_reason bad = drop_reason::tcp_invalid_transition;
constexpr uint8_t none = no_window_scale;
using stats::drop_reason_count;

constexpr uint32_t C = 1000;    // client ISN
constexpr uint32_t V = 500'000; // server ISN

struct step {
    direction dir;
    uint8_t flags;
    uint32_t seq;
    uint32_t ack;
    uint16_t win;
    uint16_t len;
    tcp_state expect;
    drop_reason drop;
    uint8_t wscale = none; // SYN / SYN+ACK option
};

struct scenario {
    std::string description;
    std::vector<step> steps;
    tcp_state start = syn_sent;
    bool liberal = false;
};

std::vector<step> cat(std::initializer_list<std::vector<step>> parts) {
    std::vector<step> all;
    for (const auto& p : parts) all.insert(all.end(), p.begin(), p.end());
    return all;
}

// Client ISN c, server ISN v, no window scaling, 64 KiB windows.
std::vector<step> handshake(uint32_t c = C, uint32_t v = V) {
    return {
        {out, S, c, 0, 64240, 0, syn_sent, ok},
        {in, SA, v, c + 1, 65535, 0, syn_received, ok},
        {out, A, c + 1, v + 1, 64240, 0, established, ok},
    };
}

// After handshake(): the client sent 100 bytes, the server 1000.
std::vector<step> some_data() {
    return {
        {out, PA, C + 1, V + 1, 64240, 100, established, ok},
        {in, PA, V + 1, C + 101, 65535, 1000, established, ok},
        {out, A, C + 101, V + 1001, 64240, 0, established, ok},
    };
}

const std::vector<scenario>& scenarios() {
    static const std::vector<scenario> all = {
        {"a whole connection: handshake, data both ways, orderly close",
         cat({handshake(), some_data(),
              {{out, FA, C + 101, V + 1001, 64240, 0, fin_wait, ok},
               {in, A, V + 1001, C + 102, 65535, 0, fin_wait, ok},
               {in, FA, V + 1001, C + 102, 65535, 0, closing, ok},
               {out, A, C + 102, V + 1002, 64240, 0, time_wait, ok},
               {in, FA, V + 1001, C + 102, 65535, 0, time_wait, ok}, // retransmitted FIN
               {out, A, C + 102, V + 1002, 64240, 0, time_wait, ok}}})},
        {"half-close: the server keeps sending after the client's FIN",
         cat({handshake(), some_data(),
              {{out, FA, C + 101, V + 1001, 64240, 0, fin_wait, ok},
               {in, PA, V + 1001, C + 102, 65535, 1400, fin_wait, ok},
               {out, A, C + 102, V + 2401, 64240, 0, fin_wait, ok},
               {in, PA, V + 2401, C + 102, 65535, 1400, fin_wait, ok},
               {in, FA, V + 3801, C + 102, 65535, 0, closing, ok},
               {out, A, C + 102, V + 3802, 64240, 0, time_wait, ok}}})},
        {"simultaneous open (RFC 5382 REQ-2a)",
         {{out, S, C, 0, 64240, 0, syn_sent, ok},
          {in, S, V, 0, 65535, 0, syn_received, ok},
          {out, SA, C, V + 1, 64240, 0, syn_received, ok},
          {in, SA, V, C + 1, 65535, 0, syn_received, ok},
          {in, S, V + 9, 0, 65535, 0, syn_received, oow}, // not the SYN it began with
          {out, A, C + 1, V + 1, 64240, 0, established, ok},
          {in, PA, V + 1, C + 1, 65535, 500, established, ok}}},
        {"challenge ACK to a SYN on a reused mapping (RFC 5961 section 4), client resets, retries",
         {{out, S, C, 0, 64240, 0, syn_sent, ok},
          {in, A, 777'777, 123'456, 65535, 0, syn_sent, ok}, // the server's old connection answers
          {out, R, 123'456, 0, 0, 0, closed, ok},            // the client resets it
          {out, S, C + 5, 0, 64240, 0, syn_sent, ok},
          {in, SA, V, C + 6, 65535, 0, syn_received, ok},
          {out, A, C + 6, V + 1, 64240, 0, established, ok}}},
        {"a SYN+ACK that does not ack the SYN is dropped; the real one passes",
         {{out, S, C, 0, 64240, 0, syn_sent, ok},
          {in, SA, 42, C + 5000, 65535, 0, syn_sent, oow},
          {in, SA, 42, C, 65535, 0, syn_sent, oow},
          {out, S, C, 0, 64240, 0, syn_sent, ok}, // retransmit
          {in, SA, V, C + 1, 65535, 0, syn_received, ok},
          {out, S, C, 0, 64240, 0, syn_received, ok}, // SYN retransmit crossing the SYN+ACK
          {in, SA, V, C + 1, 65535, 0, syn_received, ok},
          {out, A, C + 1, V + 1, 64240, 0, established, ok}}},
        {"RST exact (RFC 5961 section 3.2): the receiver's RCV.NXT closes the flow",
         cat({handshake(), some_data(), {{in, R, V + 1001, 0, 0, 0, closed, ok}}})},
        {"RST exact from the client, with ACK",
         cat({handshake(), some_data(), {{out, RA, C + 101, V + 1001, 0, 0, closed, ok}}})},
        {"RST in window but not exact: forwarded, the flow goes on (the endpoint sends a challenge ACK)",
         cat({handshake(), some_data(),
              {{in, R, V + 1001 + 30'000, 0, 0, 0, established, ok},
               {out, A, C + 101, V + 1001, 64240, 0, established, ok}, // the challenge ACK
               {in, R, V + 1001, 0, 0, 0, closed, ok}}})},            // the real peer's exact answer
        {"RST out of window: dropped, the flow goes on",
         cat({handshake(), some_data(),
              {{in, R, V + 1001 + 10'000'000, 0, 0, 0, established, rst_oow},
               {in, RA, V + 1001 - 1, C + 101, 0, 0, established, rst_oow},
               {in, R, V - 2'000'000'000u, 0, 0, 0, established, rst_oow},
               {out, R, C + 101 + 70'000, 0, 0, 0, established, rst_oow},
               {in, PA, V + 1001, C + 101, 65535, 10, established, ok}}})},
        {"RST in syn_sent must ack the SYN (RFC 9293 SYN-SENT)",
         {{out, S, C, 0, 64240, 0, syn_sent, ok},
          {in, RA, 0, C + 7, 0, 0, syn_sent, rst_oow},
          {in, R, 0, 0, 0, 0, syn_sent, rst_oow},
          {in, RA, 0, C + 1, 0, 0, closed, ok},
          {in, A, V + 1, C + 1, 65535, 0, closed, bad}, // nothing to restore: the peer never spoke
          {out, S, C + 100, 0, 64240, 0, syn_sent, ok}}},
        {"after a RST the flow lingers and in-window traffic restores it (RFC 7857 section 2.2)",
         cat({handshake(), some_data(),
              {{in, RA, V + 1001, C + 101, 0, 0, closed, ok},
               {in, RA, V + 1001, C + 101, 0, 0, closed, ok}, // retransmitted RST
               {in, PA, V + 1001 + 9'000'000, C + 101, 65535, 10, closed, oow},
               {out, PA, C + 101, V + 1001, 64240, 50, established, ok},
               {in, PA, V + 1001, C + 151, 65535, 10, established, ok}}})},
        {"a FIN-closing flow restored after a RST goes back to fin_wait",
         cat({handshake(), some_data(),
              {{out, FA, C + 101, V + 1001, 64240, 0, fin_wait, ok},
               {in, R, V + 1001, 0, 0, 0, closed, ok},
               {in, PA, V + 1001, C + 102, 65535, 100, fin_wait, ok}}})},
        {"SYN on a live 4-tuple (half-open recovery): challenge ACK, client RST, new handshake",
         cat({handshake(), some_data(),
              {{out, S, 9'000'000, 0, 64240, 0, syn_sent, ok},
               {in, A, V + 1001, C + 101, 65535, 0, syn_sent, ok},
               {out, R, C + 101, 0, 0, 0, closed, ok},
               {out, S, 9'000'000, 0, 64240, 0, syn_sent, ok},
               {in, SA, 7'000'000, 9'000'001, 65535, 0, syn_received, ok},
               {out, A, 9'000'001, 7'000'001, 64240, 0, established, ok}}})},
        {"SYN on a live 4-tuple whose server lost the connection: it answers the new SYN",
         cat({handshake(), some_data(),
              {{out, S, 9'000'000, 0, 64240, 0, syn_sent, ok},
               {in, SA, 7'000'000, 9'000'001, 65535, 0, syn_received, ok},
               {out, A, 9'000'001, 7'000'001, 64240, 0, established, ok},
               {in, PA, V + 1001, C + 101, 65535, 10, established, oow}}})}, // the old connection's data
        {"TCP Fast Open: data on the SYN, server data before the client's ACK",
         {{out, S, C, 0, 64240, 200, syn_sent, ok},
          {in, SA, V, C + 201, 65535, 0, syn_received, ok},
          {in, PA, V + 1, C + 201, 65535, 1000, syn_received, ok},
          {in, FA, V + 1001, C + 201, 65535, 0, fin_wait, ok},
          {out, A, C + 201, V + 1002, 64240, 0, fin_wait, ok}}},
        {"TCP Fast Open: the SYN retransmitted without its data keeps the flow; the SYN+ACK acks the data",
         {{out, S, C, 0, 64240, 200, syn_sent, ok},
          {out, S, C, 0, 64240, 0, syn_sent, ok},
          {in, SA, V, C + 201, 65535, 0, syn_received, ok},
          {out, S, C, 0, 64240, 0, syn_received, ok},
          {in, SA, V, C + 201, 65535, 0, syn_received, ok},
          {out, A, C + 201, V + 1, 64240, 0, established, ok}}},
        {"TCP Fast Open refused: the SYN+ACK acks the SYN only, the client sends its data again",
         {{out, S, C, 0, 64240, 200, syn_sent, ok},
          {in, SA, V, C + 1, 65535, 0, syn_received, ok},
          {out, PA, C + 1, V + 1, 64240, 200, established, ok},
          {in, A, V + 1, C + 201, 65535, 0, established, ok}}},
        {"window scaling: data a scaled window ahead passes",
         {{out, S, C, 0, 64240, 0, syn_sent, ok, 7},
          {in, SA, V, C + 1, 65535, 0, syn_received, ok, 8},
          {out, A, C + 1, V + 1, 4000, 0, established, ok}, // 4000 << 7 = 512,000 bytes
          {in, PA, V + 1 + 300'000, C + 1, 256, 1000, established, ok},
          {in, R, V + 1 + 400'000, 0, 0, 0, established, ok}, // in window, not exact
          {in, R, V + 1 + 600'000, 0, 0, 0, established, rst_oow}}},
        {"window scaling only when both SYNs offer it (RFC 7323)",
         {{out, S, C, 0, 64240, 0, syn_sent, ok, 7},
          {in, SA, V, C + 1, 65535, 0, syn_received, ok},
          {out, A, C + 1, V + 1, 4000, 0, established, ok}, // 4000 bytes... but the SYN said 64240
          {in, PA, V + 1 + 300'000, C + 1, 256, 1000, established, oow},
          {in, PA, V + 1 + 60'000, C + 1, 256, 1000, established, ok}}},
        {"retransmissions, keep-alives and zero-window probes",
         cat({handshake(), some_data(),
              {{out, PA, C + 1, V + 1001, 64240, 100, established, ok},  // retransmission
               {out, A, C + 100, V + 1001, 64240, 0, established, ok},   // keep-alive: SND.NXT - 1
               {out, A, C + 100, V + 1001, 64240, 1, established, ok},   // keep-alive with a byte
               {in, A, V + 1001, C + 101, 0, 0, established, ok},        // zero window
               {out, PA, C + 101, V + 1001, 64240, 1, established, ok},  // zero-window probe
               {in, A, V + 1001, C + 101, 0, 0, established, ok},        // still closed
               {in, PA, V + 1, C + 101, 65535, 1000, established, ok}}})}, // server retransmits
        {"data or ACKs far outside the window are dropped",
         cat({handshake(), some_data(),
              {{in, PA, V + 1001 + 5'000'000, C + 101, 65535, 100, established, oow},
               {in, PA, V + 1001 - 200'000, C + 101, 65535, 100, established, oow}, // a window back and more
               {out, A, C + 101, V + 1001 + 5'000'000, 64240, 0, established, oow}, // acks unsent data
               {out, A, C + 101, V + 1001 - 100'000, 64240, 0, established, oow},   // ack far in the past
               {in, SF, V + 1001, 0, 65535, 0, established, bad},
               {in, PA, V + 1001, C + 101, 65535, 100, established, ok}}})},
        {"liberal mode forwards data outside the window but learns nothing from it",
         cat({handshake(), some_data(),
              {{in, PA, V + 1001 + 5'000'000, C + 101, 65535, 100, established, ok},
               {in, R, V + 1001 + 5'000'100, 0, 0, 0, established, rst_oow}, // the forged end is not learnt
               {in, R, V + 1001, 0, 0, 0, closed, ok}}}),
         syn_sent, true},
        {"sequence numbers wrap around 2^32",
         cat({handshake(0xFFFF'FF00u, 0xFFFF'FFF0u),
              {{out, PA, 0xFFFF'FF01u, 0xFFFF'FFF1u, 64240, 1000, established, ok},       // crosses 0
               {in, PA, 0xFFFF'FFF1u, 0x0000'02E9u, 65535, 1000, established, ok},        // crosses 0
               {out, PA, 0x0000'02E9u, 0x0000'03D9u, 64240, 100, established, ok},
               {in, R, 0x0000'03D9u + 1'000'000, 0, 0, 0, established, rst_oow},
               {in, R, 0x0000'03D9u, 0, 0, 0, closed, ok}}})},
        {"loose pickup: a flow met mid-stream learns its windows from its first segments",
         {{out, PA, 70'000, 90'000, 1000, 100, established, ok},
          {in, PA, 90'000, 70'100, 2000, 100, established, ok},
          {out, PA, 70'100 + 3'000'000, 90'100, 1000, 100, established, ok}, // scale unknown: up to 2^14
          {in, R, 90'100 + 2'000'000'000u, 0, 0, 0, established, rst_oow},
          {in, R, 90'100, 0, 0, 0, closed, ok}},
         established},
    };
    return all;
}

class tcp_track_sequences : public ::testing::TestWithParam<std::size_t> {};

TEST_P(tcp_track_sequences, state_and_verdict_per_segment) {
    const scenario& sc = scenarios()[GetParam()];
    SCOPED_TRACE(sc.description);
    tcp_state s = sc.start;
    uint8_t flags = flow_flags::live;
    tcp_window w{};
    const tcp_tracking t{sc.liberal};
    for (std::size_t i = 0; i < sc.steps.size(); ++i) {
        const step& x = sc.steps[i];
        tcp_segment g;
        g.seq = x.seq;
        g.ack = x.ack;
        g.window = x.win;
        g.payload = x.len;
        g.flags = x.flags;
        g.wscale = x.wscale;
        const tcp_window before = w;
        const tcp_verdict v = tcp_track(s, x.dir, g, flags, w, t);
        EXPECT_EQ(name_of(v.next), name_of(x.expect)) << "segment " << i;
        EXPECT_EQ(stats::name_of(v.drop), stats::name_of(x.drop)) << "segment " << i;
        if (v.drop != ok) { // a dropped segment changes nothing
            EXPECT_EQ(std::memcmp(&before, &w, sizeof w), 0) << "segment " << i;
        }
        s = v.next;
    }
}

INSTANTIATE_TEST_SUITE_P(rfc5382, tcp_track_sequences, ::testing::Range<std::size_t>(0, scenarios().size()),
                         [](const ::testing::TestParamInfo<std::size_t>& p) {
                             std::string name;
                             for (const char c : scenarios()[p.param].description) {
                                 if (std::isalnum(static_cast<unsigned char>(c)))
                                     name += c;
                                 else if (!name.empty() && name.back() != '_')
                                     name += '_';
                             }
                             return name.substr(0, 60) + "_" + std::to_string(p.param);
                         });

// Random segments against a live connection: whatever arrives, a dropped
// segment changes nothing, and only an exact RST closes.
TEST(tcp_track_random, drops_change_nothing_and_only_exact_rsts_close) {
    std::mt19937 rng(5382);
    const uint8_t flag_set[] = {A, PA, FA, R, RA, S, SA, SF, 0};
    std::array<uint64_t, drop_reason_count + 1> verdicts{}; // by drop reason, no_drop last
    uint64_t closed_by_rst = 0;
    for (int round = 0; round < 2000; ++round) {
        tcp_state s = syn_sent;
        uint8_t flags = flow_flags::live;
        tcp_window w{};
        const tcp_tracking t{};
        for (const step& x : cat({handshake(), some_data()})) {
            tcp_segment g;
            g.seq = x.seq;
            g.ack = x.ack;
            g.window = x.win;
            g.payload = x.len;
            g.flags = x.flags;
            s = tcp_track(s, x.dir, g, flags, w, t).next;
        }
        ASSERT_EQ(s, established);
        for (int i = 0; i < 50; ++i) {
            tcp_segment g;
            g.flags = flag_set[rng() % std::size(flag_set)];
            const direction d = (rng() & 1) ? in : out;
            const uint32_t base = d == in ? V + 1001 : C + 101;
            g.seq = (rng() & 1) ? static_cast<uint32_t>(rng()) : base + static_cast<uint32_t>(rng() % 200'000) - 100'000;
            g.ack = (rng() & 1) ? static_cast<uint32_t>(rng()) : (d == in ? C + 101 : V + 1001);
            g.window = static_cast<uint16_t>(rng());
            g.payload = static_cast<uint16_t>(rng() % 1500);
            const tcp_window before = w;
            const uint8_t flags_before = flags;
            const tcp_state state_before = s;
            const tcp_verdict v = tcp_track(s, d, g, flags, w, t);
            if (v.drop != ok) {
                ASSERT_EQ(std::memcmp(&before, &w, sizeof w), 0);
                ASSERT_EQ(flags, flags_before);
                ASSERT_EQ(v.next, state_before);
            }
            if ((g.flags & R) && v.next == closed && state_before != closed) {
                const uint32_t rcv = before.of(reverse(d)).maxack;
                ASSERT_TRUE(g.seq == rcv || g.seq == before.of(d).end) << g.seq;
                ++closed_by_rst;
            }
            ++verdicts[static_cast<std::size_t>(v.drop)];
            s = v.next;
            if (s != established) break; // a closing or restarted connection: next round
        }
    }
    // The run exercised every outcome (the seed is fixed: these are exact).
    std::printf("forwarded %lu, tcp_out_of_window %lu, tcp_rst_out_of_window %lu, tcp_invalid_transition %lu\n",
                static_cast<unsigned long>(verdicts[drop_reason_count]),
                static_cast<unsigned long>(verdicts[static_cast<std::size_t>(oow)]),
                static_cast<unsigned long>(verdicts[static_cast<std::size_t>(rst_oow)]),
                static_cast<unsigned long>(verdicts[static_cast<std::size_t>(bad)]));
    EXPECT_GT(verdicts[drop_reason_count], 0u);
    EXPECT_GT(verdicts[static_cast<std::size_t>(oow)], 0u);
    EXPECT_GT(verdicts[static_cast<std::size_t>(rst_oow)], 0u);
    EXPECT_GT(verdicts[static_cast<std::size_t>(bad)], 0u);
    EXPECT_EQ(closed_by_rst, 0u); // random sequence numbers never hit the exact one
}

TEST(tcp_window, syn_options_are_read) {
    // SYN with MSS, SACK-permitted, timestamps, NOP, window scale 16 (clamped to 14).
    std::vector<uint8_t> frame(14 + 20 + 40 + 7, 0); // 7 bytes of TFO data
    uint8_t* tcp = frame.data() + 34;
    tcp[4] = 0x01; // seq 0x01020304
    tcp[5] = 0x02;
    tcp[6] = 0x03;
    tcp[7] = 0x04;
    tcp[12] = 10 << 4; // 40-byte header
    tcp[14] = 0xfa;    // window 64240
    tcp[15] = 0xf0;
    const uint8_t options[] = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 16};
    std::copy(std::begin(options), std::end(options), tcp + 20);
    net::packet_view v;
    v.l4_offset = 34;
    v.l4_length = 40 + 7; // 7 bytes of TFO data
    v.tcp_flags = S;
    const tcp_segment g = read_tcp_segment(frame, v);
    EXPECT_EQ(g.seq, 0x01020304u);
    EXPECT_EQ(g.window, 64240);
    EXPECT_EQ(g.payload, 7);
    EXPECT_EQ(g.wscale, 14);
    EXPECT_TRUE(g.sack_permitted);
    EXPECT_EQ(segment_end(g), 0x01020304u + 8);

    v.tcp_flags = A; // options are read on SYNs only
    const tcp_segment a = read_tcp_segment(frame, v);
    EXPECT_EQ(a.wscale, no_window_scale);
    EXPECT_FALSE(a.sack_permitted);
}

TEST(tcp_window, malformed_options_stop_the_reading) {
    std::vector<uint8_t> frame(14 + 20 + 28, 0);
    uint8_t* tcp = frame.data() + 34;
    tcp[12] = 7 << 4;
    const uint8_t options[] = {4, 2, 3, 0, 3, 3, 5, 0}; // SACK-permitted, then a length-0 option
    std::copy(std::begin(options), std::end(options), tcp + 20);
    net::packet_view v;
    v.l4_offset = 34;
    v.l4_length = 28;
    v.tcp_flags = S;
    const tcp_segment g = read_tcp_segment(frame, v);
    EXPECT_TRUE(g.sack_permitted);
    EXPECT_EQ(g.wscale, no_window_scale);
}

TEST(timeouts, defaults_meet_every_rfc_minimum) {
    const timeouts t;
    EXPECT_EQ(below_rfc(t).n, 0u);
    EXPECT_GE(t.icmp_ms, 60'000u);
    EXPECT_GE(t.tcp_syn_sent_ms, 240'000u);
    EXPECT_GE(t.tcp_closed_ms, 240'000u);
    EXPECT_GE(t.tcp_established_ms, 7'440'000u);
    EXPECT_GE(t.udp_ms, 120'000u);
}

TEST(timeouts, below_rfc_names_each_shortfall) {
    timeouts t;
    t.icmp_ms = 30'000;
    t.tcp_time_wait_ms = 120'000;
    t.tcp_established_ms = 7'439'999;
    const rfc_report r = below_rfc(t);
    ASSERT_EQ(r.n, 3u);
    EXPECT_EQ(r.items[0].key, "tcp_established");
    EXPECT_EQ(r.items[0].minimum_ms, 7'440'000u);
    EXPECT_EQ(r.items[0].requirement, "RFC 5382 REQ-5");
    EXPECT_TRUE(r.items[0].must);
    EXPECT_EQ(r.items[1].key, "tcp_time_wait");
    EXPECT_FALSE(r.items[1].must);
    EXPECT_EQ(r.items[2].key, "icmp");
    EXPECT_EQ(r.items[2].value_ms, 30'000u);
    EXPECT_EQ(r.items[2].requirement, "RFC 5508 REQ-2");
    EXPECT_TRUE(r.breaks_a_must());

    timeouts only_should;
    only_should.tcp_closed_ms = 10'000;
    EXPECT_EQ(below_rfc(only_should).n, 1u);
    EXPECT_FALSE(below_rfc(only_should).breaks_a_must());
}

} // namespace
} // namespace egress::flow
