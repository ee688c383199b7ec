// libFuzzer target: next-hop resolution (gateway/neighbor_resolver.hpp over
// neighbor_table, with the ARP and ND parsers and builders of net/arp.hpp and
// net/ndp.hpp) on arbitrary ARP and ND messages from both sides, interleaved
// with frames that need a next hop, clock steps, timer ticks and
// announcements. Frames reach the resolver as local_stage hands them over
// (the side's VLAN, ARP by ethertype, ND as the IPv6 frames the IP parser
// leaves to it), on_arp / on_nd or, as a peer worker's copy, learn_copy.
// After every step it checks, aborting on a violation:
//   * the tables are bounded (max_entries + static neighbours per side);
//   * no entry for one of the gateway's own addresses; none, but the side's
//     router, for an address that is not on-link on its side (inside one of
//     the side's prefixes, or any address of a family without a router);
//     no usable entry with a multicast or zero MAC;
//   * held frames: per entry <= queue_per_entry, in all <= queue_total and the
//     sum of the entries' queues; every frame queued was released, dropped as
//     neighbor_unresolved, or is held now;
//   * what the resolver sends parses again: ARP (from this port's MAC and an
//     own address), ND (exact checksum, hop limit 255, from an own address),
//     released frames (IP, to a unicast MAC), each from the side's MAC with
//     the side's VLAN;
//   * a message is consumed or dropped with a reason, nothing else.
//
// Input: byte 0 = configuration (bit 0: routers, bit 1: inside VLAN, bit 2: a
// static inside neighbour, bit 3: outbox of 2 frames instead of 16); then
// records [op][a][b]: op & 7 is 0 a frame of (a << 8 | b) bytes that follow
// (op & 8: outside, op & 16: as a peer's copy), 1 a frame to send towards an
// address (a: which kind, b: host byte), 2 the clock moves, 3 a timer tick
// (budget a), 4 announcements.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "../unit/net/packet_builder.hpp"
#include "gateway/neighbor_resolver.hpp"
#include "net/arp.hpp"
#include "net/ndp.hpp"
#include "net/packet_parser.hpp"

namespace {

using namespace egress;
using gateway::neighbor_state;
using stats::drop_reason;
using stats::side;
using test::ip;
using test::mac;

constexpr uint32_t clock_steps[8] = {0, 1, 100, 999, 1'000, 5'000, 30'000, 700'000};

[[noreturn]] void violated(const char* what) {
    std::fprintf(stderr, "neighbors_fuzz: %s\n", what);
    std::abort();
}

gateway::settings settings_for(uint8_t config) {
    gateway::settings s;
    s.inside.mac = mac("02:00:00:00:01:fe");
    s.inside.addresses = {ip("10.0.0.1"), ip("fd00:0:0:1::1")};
    s.inside.on_link = {{ip("10.0.0.1"), 24}, {ip("fd00:0:0:1::1"), 64}};
    s.outside.mac = mac("02:00:00:00:02:fe");
    s.outside.addresses = {ip("192.0.2.1"), ip("2001:db8::1")};
    s.outside.on_link = {{ip("192.0.2.1"), 24}, {ip("2001:db8::1"), 64}};
    if (config & 1) {
        s.outside.next_hop_v4 = ip("192.0.2.254");
        s.outside.next_hop_v6 = ip("2001:db8::fe");
        s.inside.next_hop_v4 = ip("10.0.0.254");
    }
    if (config & 2) s.inside.vlan = 100;
    if (config & 4) s.inside.neighbors = {{ip("10.0.0.9"), mac("02:00:00:00:01:09")}};
    s.pool = {{ip("203.0.113.10")}, 1024, 2047};
    s.neighbors.max_entries = 4;
    s.neighbors.retries = 2;
    s.neighbors.retry_ms = 1'000;
    s.neighbors.reachable_ms = 30'000;
    s.neighbors.stale_ms = 60'000;
    s.neighbors.queue_per_entry = 2;
    s.neighbors.queue_total = 5;
    return s;
}

struct harness {
    gateway::settings settings;
    gateway::outbox box;
    stats::worker_counters counters;
    gateway::neighbor_resolver resolver;
    uint32_t now = 1'000;

    explicit harness(uint8_t config)
        : settings(settings_for(config)), box((config & 8) ? 2 : 16), resolver(settings, box, counters) {}

    const gateway::side_settings& port(side s) const { return s == side::inside ? settings.inside : settings.outside; }

    bool is_own(side s, const net::ip_address& a) const {
        for (const auto& own : port(s).addresses)
            if (own == a) return true;
        if (s == side::outside)
            for (const auto& own : settings.pool.addresses)
                if (own == a) return true;
        return false;
    }
    bool on_link(side s, const net::ip_address& a) const {
        const auto& router = a.is_v4() ? port(s).next_hop_v4 : port(s).next_hop_v6;
        if (!router) return true;
        for (const auto& prefix : port(s).on_link)
            if (prefix.contains(a)) return true;
        return false;
    }

    void check_table(side s) const {
        const gateway::neighbor_table& t = resolver.table(s);
        if (t.size() > settings.neighbors.max_entries + port(s).neighbors.size()) violated("a table over its bound");
        uint32_t used = 0, queued = 0;
        for (uint32_t slot = 0; slot < t.slot_count(); ++slot) {
            const gateway::neighbor_entry& e = t.at(slot);
            if (e.state == neighbor_state::free) continue;
            ++used;
            queued += e.queued;
            if (e.state == neighbor_state::fixed) continue;
            const auto& router = e.address.is_v4() ? port(s).next_hop_v4 : port(s).next_hop_v6;
            if (is_own(s, e.address)) violated("an entry for one of the gateway's own addresses");
            if (router && *router == e.address) continue;
            if (!on_link(s, e.address)) violated("an entry for an address that is not on-link");
            if (e.state != neighbor_state::incomplete && ((e.mac.bytes[0] & 1) != 0 || e.mac == net::mac_address{}))
                violated("a usable entry with a multicast or zero MAC");
            if (e.queued > settings.neighbors.queue_per_entry) violated("an entry holds more than queue_per_entry");
        }
        if (used != t.size()) violated("the table's size differs from its used slots");
        held_in_tables += queued;
    }

    void check_sent() const {
        for (uint32_t i = 0; i < box.size(); ++i) {
            const gateway::outbox::frame f = box[i];
            const gateway::side_settings& p = port(f.to);
            net::l2_header l2;
            if (!net::read_l2_header(f.bytes, l2) || l2.src != p.mac || !p.accepts_vlan(l2.l3_offset, l2.outer_tci))
                violated("a frame sent without this port's MAC and VLAN");
            if (l2.ethertype == net::ethertype_arp) {
                net::arp_message m;
                if (net::parse_arp(f.bytes, l2.l3_offset, m) != stats::no_drop) violated("an ARP frame sent that does not parse");
                if (m.sender_mac != p.mac || !is_own(f.to, net::ip_address::from_v4(m.sender_ip)))
                    violated("an ARP frame sent for an address that is not ours");
                continue;
            }
            net::nd_message m;
            const drop_reason nd = l2.ethertype == net::ethertype_ipv6 ? net::parse_nd(f.bytes, l2.l3_offset, m)
                                                                       : drop_reason::icmp_type_unsupported;
            if (nd == stats::no_drop) {
                if (!is_own(f.to, m.src) || !m.has_lladdr || m.lladdr != p.mac) violated("an ND message sent not from us");
                continue;
            }
            if (nd != drop_reason::icmp_type_unsupported) violated("an ND frame sent that does not parse");
            net::packet_view v;
            if (net::parse_frame(f.bytes, v) != stats::no_drop || (l2.dst.bytes[0] & 1) != 0)
                violated("a released frame that does not parse or goes to a group");
        }
    }

    mutable uint32_t held_in_tables = 0;
    void check() const {
        held_in_tables = 0;
        check_table(side::inside);
        check_table(side::outside);
        if (held_in_tables != resolver.frames_held()) violated("held frames differ from the entries' queues");
        if (resolver.frames_held() > settings.neighbors.queue_total) violated("more held frames than queue_total");
        if (counters.neighbor_frames_queued != counters.neighbor_frames_released +
                                                   counters.drops[static_cast<std::size_t>(drop_reason::neighbor_unresolved)] +
                                                   resolver.frames_held())
            violated("a queued frame neither released, dropped nor held");
        check_sent();
    }

    void message(side from, std::span<const uint8_t> frame, bool copy) {
        net::l2_header l2;
        if (!net::read_l2_header(frame, l2) || !port(from).accepts_vlan(l2.l3_offset, l2.outer_tci)) return;
        if (l2.ethertype != net::ethertype_arp) {
            net::packet_view v;
            if (l2.ethertype != net::ethertype_ipv6 || net::parse_frame(frame, v) != drop_reason::icmp_type_unsupported)
                return;
        }
        const gateway::packet_result r = copy ? resolver.learn_copy(from, frame, l2, now)
                                         : l2.ethertype == net::ethertype_arp ? resolver.on_arp(from, frame, l2, now)
                                                                              : resolver.on_nd(from, frame, l2, now);
        if (r.kind != gateway::verdict::consumed && r.kind != gateway::verdict::drop) violated("a message neither consumed nor dropped");
        if (r.kind == gateway::verdict::drop && static_cast<std::size_t>(r.reason) >= stats::drop_reason_count)
            violated("a drop without a reason");
    }

    void send(side to, uint8_t which, uint8_t host) {
        static const char* const prefixes[2][4] = {{"10.0.0.", "198.51.100.", "fd00:0:0:1::", "2001:db8:1::"},
                                                   {"192.0.2.", "198.51.100.", "2001:db8::", "2001:db8:1::"}};
        const unsigned k = which & 3;
        const std::string text = std::string(prefixes[to == side::inside ? 0 : 1][k]) +
                                 (k < 2 ? std::to_string(host) : fmt_hex(host));
        const auto dst = net::ip_address::parse(text);
        // The gateway's own addresses are delivered locally, never resolved
        // (admit_stage); gateway_core does not ask for them.
        if (!dst || is_own(to, *dst)) return;
        drop_reason why = stats::no_drop;
        uint32_t wait = 0;
        const net::mac_address* hop = resolver.lookup(to, *dst, now, why, wait);
        if (hop != nullptr) {
            if ((hop->bytes[0] & 1) != 0) violated("a next hop with a group MAC");
            return;
        }
        if (why != stats::no_drop) return;
        test::frame_builder b;
        b.eth(port(to).mac, net::mac_address{});
        if (port(to).vlan != 0) b.vlan(port(to).vlan);
        if (dst->is_v4()) {
            b.ipv4(port(to).addresses[0], *dst);
        } else {
            b.ipv6(port(to).addresses[1], *dst);
        }
        const test::bytes frame = b.udp(4000, 53).payload_size(host).build();
        const gateway::packet_result r = resolver.hold(to, wait, frame, now);
        if (r.kind != gateway::verdict::consumed &&
            !(r.kind == gateway::verdict::drop && r.reason == drop_reason::neighbor_queue_full))
            violated("a frame to resolve neither held nor dropped as neighbor_queue_full");
    }

    static std::string fmt_hex(uint8_t v) {
        static const char digits[] = "0123456789abcdef";
        return std::string{digits[v >> 4], digits[v & 15]};
    }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    harness h(data[0]);
    std::size_t at = 1;
    while (at + 3 <= size) {
        const uint8_t op = data[at], a = data[at + 1], b = data[at + 2];
        at += 3;
        const side s = (op & 8) ? side::outside : side::inside;
        h.box.clear();
        switch (op & 7) {
        case 0: {
            std::size_t len = std::size_t{a} << 8 | b;
            if (len > size - at) len = size - at;
            h.message(s, std::span<const uint8_t>(data + at, len), (op & 16) != 0);
            at += len;
            break;
        }
        case 1: h.send(s, a, b); break;
        case 2: h.now += clock_steps[a & 7]; break;
        case 3: h.resolver.tick(h.now, a); break;
        case 4: h.resolver.announce(); break;
        default: break;
        }
        h.check();
    }
    return 0;
}
