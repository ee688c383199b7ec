// libFuzzer target: ICMP and ICMPv6 errors through gateway_core's ICMP path.
// The harness opens real flows (TCP, UDP, echo; IPv4 through the NAT, IPv6
// routed), lets replies come back, and then sends errors that quote what
// actually left: from outside about a translated outbound packet, from inside
// about a delivered inbound one, of every error type, with the quote cut at
// any length, one byte changed (its checksum fixed or not), addressed to the
// quoted sender or elsewhere, from the far end or a router. Raw frames from
// the input are mixed in, and the outside MTU or a TTL of 1 makes the gateway
// build errors of its own. Besides the checks of every gateway target
// (gateway_checks.hpp) it checks each frame that leaves, aborting on a
// violation:
//   * IPv4: the header checksum is right; an ICMP error's ICMP checksum and
//     its quoted IPv4 header's checksum are right; IPv6: an error's ICMPv6
//     checksum is right; a frame the harness built (valid checksums) leaves
//     with a right TCP / UDP / ICMP checksum too;
//   * an error goes to the sender of the packet it quotes (outer destination
//     = quoted source), the gateway's own errors included;
//   * what crosses the gateway (IPv4): no inside address leaves by the
//     outside port (10.0.0.0/8, in the header or the quote) and the source
//     is the pool address; what leaves inside is addressed to an inside
//     host, never to a pool address, and an error quoting a translated
//     packet quotes it translated back (no pool address as quoted source).
//
// Input: byte 0 = configuration (bit 0: inside VLAN, bit 1: outside MTU 1280);
// then 4-byte records [op][a][b][c]: op & 7 is 0 a new flow from inside
// (a: family, protocol, size; b: host and port; c: remote; op & 8: TTL 1), 1
// a reply to a packet that left outside, 2 an error from outside about one
// (b: type, c: quote length; op & 8: from the far end, op & 16: to another
// address, op & 32: a quote byte changed, op & 64: its header checksum
// fixed), 3 an error from inside about a packet that left inside (same
// bits; op & 8: from another inside host), 4 the clock moves (a), with an
// expiry sweep (b & 1), 5 a raw frame of (a << 8 | b) bytes that follow
// (op & 8: from outside).
#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <deque>
#include <string>
#include <vector>

#include "../unit/net/packet_builder.hpp"
#include "gateway_checks.hpp"

namespace {

using namespace egress;
using fuzz::violated;
using stats::side;
using test::bytes;
using test::ip;
using test::mac;

constexpr std::size_t headroom = 8;
constexpr std::size_t max_frame = 1522;
constexpr uint32_t clock_steps[8] = {0, 1, 10, 1'000, 30'000, 120'000, 300'000, 3'600'000};
constexpr uint16_t remote_ports[4] = {53, 443, 80, 123};
constexpr uint8_t v4_errors[6][2] = {{3, 0}, {3, 1}, {3, 3}, {3, 4}, {11, 0}, {12, 0}};
constexpr uint8_t v6_errors[5][2] = {{1, 0}, {1, 4}, {2, 0}, {3, 0}, {4, 0}};

const net::mac_address in_gw = mac("02:00:00:00:01:fe"), in_hop = mac("02:00:00:00:01:01");
const net::mac_address out_gw = mac("02:00:00:00:02:fe"), out_hop = mac("02:00:00:00:02:01");
const net::ip_address pool = ip("203.0.113.10");

gateway::settings settings_for(uint8_t config) {
    gateway::settings s;
    s.inside.mac = in_gw;
    s.inside.addresses = {ip("10.0.0.1"), ip("fd00:0:0:1::1")};
    s.inside.next_hop_mac = in_hop;
    s.outside.mac = out_gw;
    s.outside.addresses = {ip("192.0.2.1"), ip("2001:db8::1")};
    s.outside.next_hop_mac = out_hop;
    if (config & 1) s.inside.vlan = 100;
    if (config & 2) s.outside.mtu = 1280;
    s.pool = {{pool}, 1024, 1100};
    s.max_flows = 64;
    s.inspect = {16, 4, 4096, false};
    s.fragments = {8, 2'000, 8, 4 * gateway::fragment_tracker::hold_slot_bytes};
    // Small tables elsewhere too: each input builds a gateway_core.
    s.neighbors.max_entries = 8;
    s.neighbors.queue_total = 4;
    s.dns.observed = {64, 16, 16, 30, 86'400, 8};
    return s;
}

bool in_v4_prefix(const net::ip_address& a, uint32_t prefix, unsigned bits) {
    return a.is_v4() && (a.v4() >> (32 - bits)) == (prefix >> (32 - bits));
}
bool inside_v4(const net::ip_address& a) { return in_v4_prefix(a, 0x0a000000, 8); }

uint16_t sum_of(std::span<const uint8_t> b, uint64_t initial = 0) { return test::internet_checksum(b, initial); }

// The pseudo-header's sum (TCP, UDP, ICMPv6; ICMP has none).
uint64_t pseudo(const net::packet_view& v, std::size_t length) {
    if (v.proto == net::proto_icmp) return 0;
    uint64_t s = 0;
    for (std::size_t i = v.family == net::ip_family::v4 ? 12 : 0; i < 16; i += 2) {
        s += uint64_t{v.src.bytes[i]} << 8 | v.src.bytes[i + 1];
        s += uint64_t{v.dst.bytes[i]} << 8 | v.dst.bytes[i + 1];
    }
    return s + length + v.proto;
}

// An error leaving by `to`; `crossed`: it came from the other side (translated).
void check_icmp_error(side to, bool crossed, std::span<const uint8_t> f, const net::packet_view& v) {
    if (v.dst != v.quoted.src) violated("an error not addressed to the sender of the packet it quotes");
    const std::span<const uint8_t> icmp = f.subspan(v.l4_offset, v.l4_length);
    if (sum_of(icmp, pseudo(v, icmp.size())) != 0) violated("an ICMP error leaves with a wrong checksum");
    if (v.family == net::ip_family::v6) return;
    const std::size_t q = v.quoted.l3_offset, qlen = std::size_t{f[q] & 0x0fu} * 4;
    if (q + qlen <= f.size() && sum_of(f.subspan(q, qlen)) != 0)
        violated("an ICMP error leaves with a wrong quoted header checksum");
    if (!crossed) return;
    if (to == side::outside && (inside_v4(v.quoted.src) || inside_v4(v.quoted.dst)))
        violated("an error quotes an inside address to the outside");
    if (to == side::inside && v.quoted.src == pool) violated("an error quotes a pool address to the inside");
}

struct harness {
    explicit harness(uint8_t config) : core(settings_for(config)), vlan((config & 1) != 0) {
        core.set_frame_headroom(headroom);
        core.use_policy(nullptr);
    }

    gateway::gateway_core core;
    bool vlan;
    uint32_t now = 1'000;
    std::deque<bytes> left_outside, left_inside; // the last few frames that left, as they left
    std::vector<uint8_t> slot = std::vector<uint8_t>(headroom + max_frame);

    // A frame leaving by `to` after one arrived `from` (a harness-built one: `built_here`).
    void leaving(side from, side to, std::span<const uint8_t> f, const net::packet_view& v, bool built_here) {
        const bool crossed = from != to;
        if (v.family == net::ip_family::v4) {
            if (sum_of(f.subspan(v.l3_offset, v.l4_offset - v.l3_offset)) != 0)
                violated("an IPv4 header leaves with a wrong checksum");
            if (crossed && to == side::outside && (inside_v4(v.src) || inside_v4(v.dst)))
                violated("an inside address leaves by the outside port");
            if (crossed && to == side::outside && v.src != pool)
                violated("a translated frame leaves outside not from the pool");
            if (crossed && to == side::inside && (!in_v4_prefix(v.dst, 0x0a000000, 24) || v.dst == pool))
                violated("a translated frame leaves inside to no inside host");
        }
        if (v.icmp_error) check_icmp_error(to, crossed, f, v);
        if (built_here && !v.icmp_error && !v.is_fragment() && v.l4_offset + v.l4_length <= f.size()) {
            const std::span<const uint8_t> l4 = f.subspan(v.l4_offset, v.l4_length);
            if (sum_of(l4, pseudo(v, l4.size())) != 0) violated("a packet leaves with a wrong L4 checksum");
        }
        if (!crossed) return;
        std::deque<bytes>& ring = to == side::outside ? left_outside : left_inside;
        ring.emplace_back(f.begin(), f.end());
        if (ring.size() > 4) ring.pop_front();
    }

    void send(side from, std::span<const uint8_t> frame, bool built_here) {
        if (frame.size() > max_frame) return;
        std::copy(frame.begin(), frame.end(), slot.begin() + headroom);
        std::vector<std::span<uint8_t>> frames{{slot.data() + headroom, frame.size()}};
        fuzz::run_burst(core, from, frames, now, [&](side to, std::span<const uint8_t> f, const net::packet_view& v) {
            leaving(from, to, f, v, built_here);
        });
    }

    test::frame_builder l2(side from) const {
        test::frame_builder b;
        if (from == side::inside) {
            b.eth(in_hop, in_gw);
            if (vlan) b.vlan(100);
        } else {
            b.eth(out_hop, out_gw);
        }
        return b;
    }

    void open(uint8_t op, uint8_t a, uint8_t b, uint8_t c) {
        const bool v6 = a & 1;
        const unsigned host = 2 + b % 4, remote = 7 + c % 4;
        test::frame_builder f = l2(side::inside);
        if (v6) {
            f.ipv6(ip("fd00:0:0:1::" + std::to_string(host)), ip("2001:db8:1::" + std::to_string(remote)));
        } else {
            f.ipv4(ip("10.0.0." + std::to_string(host)), ip("198.51.100." + std::to_string(remote)));
        }
        if (op & 8) f.ttl(1);
        const auto sport = static_cast<uint16_t>(40000 + (b >> 2)), dport = remote_ports[(c >> 2) & 3];
        switch ((a >> 1) % 3) {
        case 0: f.tcp(sport, dport, net::tcp_syn); break;
        case 1: f.udp(sport, dport); break;
        default: f.echo_request(sport); break;
        }
        send(side::inside, f.payload_size(static_cast<std::size_t>(a >> 3) * 48).build(), true);
    }

    // The other direction of a packet that left outside: from its destination back to it.
    void reply(uint8_t a) {
        if (left_outside.empty()) return;
        const bytes& out = left_outside[a % left_outside.size()];
        net::packet_view v;
        if (net::parse_frame(out, v) != stats::no_drop || v.icmp_error || v.is_fragment()) return;
        test::frame_builder f = l2(side::outside);
        if (v.family == net::ip_family::v6) {
            f.ipv6(v.dst, v.src);
        } else {
            f.ipv4(v.dst, v.src);
        }
        if (v.proto == net::proto_tcp) {
            f.tcp(v.dst_port, v.src_port, net::tcp_syn | net::tcp_ack);
        } else if (v.proto == net::proto_udp) {
            f.udp(v.dst_port, v.src_port);
        } else if (v.proto == net::proto_icmp || v.proto == net::proto_icmpv6) {
            f.echo_reply(v.src_port);
        } else {
            return;
        }
        send(side::outside, f.payload_size(16).build(), true);
    }

    // An error about a packet that left by `about` (arriving from that same side).
    void error(side about, uint8_t op, uint8_t b, uint8_t c) {
        std::deque<bytes>& ring = about == side::outside ? left_outside : left_inside;
        if (ring.empty()) return;
        const bytes& out = ring[b % ring.size()];
        net::packet_view v;
        if (net::parse_frame(out, v) != stats::no_drop) return;
        const bool v6 = v.family == net::ip_family::v6;
        std::size_t quote = std::min<std::size_t>(out.size() - v.l3_offset, (v6 ? 48 : 28) + std::size_t{c} * 4);
        bytes quoted(out.begin() + v.l3_offset, out.begin() + v.l3_offset + static_cast<std::ptrdiff_t>(quote));
        if (op & 32) {
            quoted[c % quoted.size()] ^= static_cast<uint8_t>(b | 1);
            if ((op & 64) && !v6 && std::size_t{quoted[0] & 0x0fu} * 4 <= quoted.size())
                test::fix_ipv4_checksum(quoted, 0);
        }
        net::ip_address src = v.dst, dst = v.src;
        if (about == side::outside && !(op & 8)) src = v6 ? ip("2001:db8:1::1") : ip("198.51.100.1");
        if (about == side::inside && (op & 8)) src = v6 ? ip("fd00:0:0:1::63") : ip("10.0.0.99");
        if (op & 16) dst = v6 ? ip("2001:db8::99") : ip("203.0.113.11");
        test::frame_builder f = l2(about);
        if (v6) {
            f.ipv6(src, dst);
        } else {
            f.ipv4(src, dst);
        }
        const uint8_t* type = v6 ? v6_errors[(b >> 2) % 5] : v4_errors[(b >> 2) % 6];
        f.icmp(type[0], type[1], type[0] == (v6 ? 2 : 3) ? 1200 : 0);
        send(about, f.payload(std::move(quoted)).build(), false);
    }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    harness h(data[0]);
    for (std::size_t at = 1; at + 4 <= size;) {
        const uint8_t op = data[at], a = data[at + 1], b = data[at + 2], c = data[at + 3];
        at += 4;
        switch (op & 7) {
        case 0: h.open(op, a, b, c); break;
        case 1: h.reply(a); break;
        case 2: h.error(side::outside, op, b, c); break;
        case 3: h.error(side::inside, op, b, c); break;
        case 4:
            h.now += clock_steps[a & 7];
            if (b & 1) h.core.expire(h.now, 64);
            break;
        case 5: {
            std::size_t len = std::size_t{a} << 8 | b;
            len = std::min(len, size - at);
            h.send((op & 8) ? side::outside : side::inside, std::span<const uint8_t>(data + at, len), false);
            at += len;
            break;
        }
        default: break;
        }
    }
    return 0;
}
