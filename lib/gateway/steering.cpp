#include "gateway/steering.hpp"

#include <cassert>

#include "base/hash.hpp"
#include "net/byte_cursor.hpp"

namespace egress::gateway {

namespace {

using net::byte_cursor;

constexpr uint16_t eth_ipv4 = 0x0800;
constexpr uint16_t eth_ipv6 = 0x86dd;
constexpr uint16_t eth_vlan = 0x8100;
constexpr uint16_t eth_qinq = 0x88a8;
constexpr uint8_t proto_icmp = 1;
constexpr uint8_t proto_tcp = 6;
constexpr uint8_t proto_udp = 17;
constexpr uint8_t proto_icmpv6 = 58;

uint32_t slice_start(uint16_t min, uint32_t count, unsigned i, unsigned n) noexcept {
    return min + static_cast<uint32_t>(uint64_t{count} * i / n);
}

// An IP header's addresses and the transport ports (or ICMP identifier), as read
// from a packet or from the copy an ICMP error quotes.
struct tuple {
    uint8_t proto = 0;
    bool v4 = true;
    std::span<const uint8_t> src, dst; // 4 or 16 bytes
    uint16_t sport = 0, dport = 0;
    bool ports = false;     // sport/dport (or the ICMP identifier in both) are known
    uint8_t icmp_type = 0;  // ICMP / ICMPv6
    bool icmp_error = false;
    byte_cursor quoted{std::span<const uint8_t>{}}; // an ICMP error's quoted packet
    bool fragment = false;  // not quoted: an IP fragment...
    bool later = false;     // ... at a non-zero offset (no transport header)
    uint32_t frag_id = 0;
};

uint32_t be32(std::span<const uint8_t> b) noexcept {
    return uint32_t{b[0]} << 24 | uint32_t{b[1]} << 16 | uint32_t{b[2]} << 8 | b[3];
}

// After the IP header: ports, the ICMP echo identifier or an ICMP error's quote.
// A quoted packet may be cut after 8 bytes of its payload: that is all it needs.
void read_transport(byte_cursor& c, tuple& t) noexcept {
    if (t.proto == proto_tcp || t.proto == proto_udp) {
        t.ports = c.read_be16(t.sport) && c.read_be16(t.dport);
        return;
    }
    const bool v4 = t.proto == proto_icmp;
    if (!v4 && t.proto != proto_icmpv6) return;
    uint8_t code = 0;
    if (!c.read_u8(t.icmp_type) || !c.read_u8(code) || !c.skip(2)) return;
    const bool echo = v4 ? (t.icmp_type == 0 || t.icmp_type == 8) : (t.icmp_type == 128 || t.icmp_type == 129);
    if (echo) {
        t.ports = c.read_be16(t.sport);
        t.dport = t.sport;
        return;
    }
    t.icmp_error = v4 ? (t.icmp_type == 3 || t.icmp_type == 4 || t.icmp_type == 5 || t.icmp_type == 11 ||
                         t.icmp_type == 12)
                      : (t.icmp_type >= 1 && t.icmp_type <= 4);
    if (t.icmp_error && c.skip(4)) t.quoted = byte_cursor(c.peek(c.remaining()));
}

// An IPv4 header and what follows. quoted: inside an ICMP error (the total
// length may exceed what was quoted; no nested errors are followed).
bool read_v4(byte_cursor c, tuple& t, bool quoted) noexcept {
    uint8_t vihl = 0, proto = 0;
    uint16_t total = 0, id = 0, frag = 0;
    if (!c.read_u8(vihl) || (vihl >> 4) != 4 || !c.skip(1) || !c.read_be16(total) || !c.read_be16(id) ||
        !c.read_be16(frag) || !c.skip(1) || !c.read_u8(proto) || !c.skip(2))
        return false;
    const std::size_t ihl = std::size_t{vihl & 0x0fu} * 4;
    if (ihl < 20) return false;
    t.v4 = true;
    t.proto = proto;
    t.src = c.take(4);
    t.dst = c.take(4);
    if (t.dst.empty() || !c.skip(ihl - 20)) return false;
    if ((frag & 0x3fff) != 0) {
        // A fragment: only the first (offset 0) has a transport header to go by.
        if (quoted) return true;
        t.fragment = true;
        t.frag_id = id;
        t.later = (frag & 0x1fff) != 0;
        if (t.later) return true;
    }
    byte_cursor l4 = c;
    if (!quoted && total >= ihl && !c.sub(std::min<std::size_t>(total - ihl, c.remaining()), l4)) return false;
    if (quoted && t.proto != proto_tcp && t.proto != proto_udp && t.proto != proto_icmp) return true;
    if (quoted) {
        // Only what identifies the quoted flow: ports or the echo identifier.
        if (t.proto == proto_icmp) {
            uint8_t type = 0;
            if (!l4.read_u8(t.icmp_type) || !l4.read_u8(type) || !l4.skip(2)) return true;
            if (t.icmp_type == 0 || t.icmp_type == 8) {
                t.ports = l4.read_be16(t.sport);
                t.dport = t.sport;
            }
            return true;
        }
        t.ports = l4.read_be16(t.sport) && l4.read_be16(t.dport);
        return true;
    }
    read_transport(l4, t);
    return true;
}

bool read_v6(byte_cursor c, tuple& t, bool quoted) noexcept {
    uint8_t v = 0, next = 0;
    if (!c.read_u8(v) || (v >> 4) != 6 || !c.skip(5) || !c.read_u8(next) || !c.skip(1)) return false;
    t.v4 = false;
    t.src = c.take(16);
    t.dst = c.take(16);
    if (t.dst.empty()) return false;
    for (int i = 0; i < 8 && (next == 0 || next == 43 || next == 60 || (next == 44 && !quoted && !t.fragment));
         ++i) {
        if (next == 44) { // the Fragment header: next, reserved, offset and flags, identification
            uint16_t offset = 0;
            if (!c.read_u8(next) || !c.skip(1) || !c.read_be16(offset) || !c.read_be32(t.frag_id)) return false;
            t.fragment = true;
            t.later = (offset & 0xfff8) != 0;
            if (t.later) {
                t.proto = next;
                return true; // only the first fragment has the rest of the chain
            }
            continue;
        }
        uint8_t len = 0;
        if (!c.read_u8(next) || !c.read_u8(len) || !c.skip(std::size_t{len} * 8 + 6)) return false;
    }
    t.proto = next;
    if (next == 44) return true; // a fragment (quoted, or a second Fragment header)
    if (quoted && next == proto_icmpv6) {
        uint8_t code = 0;
        if (c.read_u8(t.icmp_type) && c.read_u8(code) && c.skip(2) && (t.icmp_type == 128 || t.icmp_type == 129)) {
            t.ports = c.read_be16(t.sport);
            t.dport = t.sport;
        }
        return true;
    }
    if (quoted) {
        if (next == proto_tcp || next == proto_udp) t.ports = c.read_be16(t.sport) && c.read_be16(t.dport);
        return true;
    }
    read_transport(c, t);
    return true;
}

} // namespace

port_slice slice_of(uint16_t min, uint16_t max, unsigned worker, unsigned workers) noexcept {
    const uint32_t count = uint32_t{max} - min + 1;
    return port_slice{static_cast<uint16_t>(slice_start(min, count, worker, workers)),
                      static_cast<uint16_t>(slice_start(min, count, worker + 1, workers) - 1)};
}

uint16_t slice_owner(uint16_t min, uint16_t max, unsigned workers, uint16_t port) noexcept {
    if (port < min || port > max) return steering::any;
    const uint32_t count = uint32_t{max} - min + 1;
    unsigned i = static_cast<unsigned>(static_cast<uint64_t>(port - min) * workers / count);
    while (i + 1 < workers && slice_start(min, count, i + 1, workers) <= port) ++i;
    while (i > 0 && slice_start(min, count, i, workers) > port) --i;
    return static_cast<uint16_t>(i);
}

steering::steering(steering_settings s) : settings_(std::move(s)), table_(settings_.key) {
    assert(settings_.workers >= 1);
    reta_ = settings_.reta;
    if (reta_.empty())
        for (std::size_t i = 0; i < default_reta_size; ++i)
            reta_.push_back(static_cast<uint16_t>(i % settings_.workers));
    assert((reta_.size() & (reta_.size() - 1)) == 0);
}

uint16_t steering::outbound_owner_v4(uint8_t proto, uint32_t src, uint32_t dst, uint16_t sport,
                                     uint16_t dport) const noexcept {
    if (proto == proto_tcp || proto == proto_udp) return reta_owner(table_.hash_v4(src, dst, sport, dport));
    return reta_owner(table_.hash_v4(src, dst));
}

uint16_t steering::inbound_owner_v4(uint8_t proto, uint32_t src, uint32_t dst, uint16_t sport,
                                    uint16_t dport) const noexcept {
    if (proto == proto_tcp || proto == proto_udp)
        return settings_.rss ? reta_owner(table_.hash_v4(src, dst, sport, dport)) : slice_owner(dport);
    if (proto == proto_icmp) return slice_owner(dport);
    return any;
}

uint16_t steering::symmetric_owner_v6(uint8_t proto, std::span<const uint8_t, 16> a, uint16_t a_port,
                                      std::span<const uint8_t, 16> b, uint16_t b_port) const noexcept {
    using base::load64;
    using base::mum;
    constexpr uint64_t k0 = 0x9e3779b97f4a7c15ULL, k1 = 0xc2b2ae3d27d4eb4fULL, k2 = 0x165667b19e3779f9ULL;
    const auto end = [&](std::span<const uint8_t, 16> x, uint16_t port) {
        return mum(load64(x.data()) ^ k0, load64(x.data() + 8) ^ k1 ^ port);
    };
    const uint64_t h = mum((end(a, a_port) ^ end(b, b_port)) + proto, k2);
    return reta_owner(static_cast<uint32_t>(h >> 32));
}

bool steering::accepts(unsigned worker, uint8_t proto, uint32_t remote, uint16_t remote_port, uint32_t public_addr,
                       uint16_t public_port) const noexcept {
    if (!settings_.rss || settings_.workers == 1) return true;
    return inbound_owner_v4(proto, remote, public_addr, remote_port, public_port) == worker;
}

namespace {

// The datagram key fragment_tracker uses (IPv6: protocol 0).
void describe_fragment(const tuple& t, stats::side from, fragment_info& f) noexcept {
    f.fragment = true;
    f.first = !t.later;
    f.key.src = t.v4 ? net::ip_address::from_v4_bytes(t.src.data()) : net::ip_address::from_v6_bytes(t.src.data());
    f.key.dst = t.v4 ? net::ip_address::from_v4_bytes(t.dst.data()) : net::ip_address::from_v6_bytes(t.dst.data());
    f.key.id = t.frag_id;
    f.key.proto = t.v4 ? t.proto : uint8_t{0};
    f.key.dir = from == stats::side::inside ? flow::direction::outbound : flow::direction::inbound;
}

} // namespace

uint16_t steering::owner(stats::side from, std::span<const uint8_t> frame, fragment_info* frag) const noexcept {
    if (frag != nullptr) frag->fragment = false;
    if (settings_.workers == 1) return 0;
    byte_cursor c(frame);
    uint16_t type = 0;
    if (!c.skip(12) || !c.read_be16(type)) return any;
    for (int tags = 0; tags < 2 && (type == eth_vlan || type == eth_qinq); ++tags)
        if (!c.skip(2) || !c.read_be16(type)) return any;
    tuple t;
    const bool inside = from == stats::side::inside;
    if (type == eth_ipv4) {
        if (!read_v4(c, t, false)) return any;
        if (t.fragment && frag != nullptr) describe_fragment(t, from, *frag);
        if (t.icmp_error) {
            tuple q;
            if (!read_v4(t.quoted, q, true) || !q.ports) return any;
            // From outside it quotes a translated outbound packet: the owner of its
            // reply. From inside, an inbound packet: the owner of the outbound reverse.
            return inside ? outbound_owner_v4(q.proto, be32(q.dst), be32(q.src), q.dport, q.sport)
                          : inbound_owner_v4(q.proto, be32(q.dst), be32(q.src), q.dport, q.sport);
        }
        if (!t.ports) return any;
        if (t.proto == proto_icmp) {
            if (inside) return t.icmp_type == 8 ? outbound_owner_v4(t.proto, be32(t.src), be32(t.dst), 0, 0) : any;
            return t.icmp_type == 0 ? inbound_owner_v4(t.proto, be32(t.src), be32(t.dst), t.sport, t.dport) : any;
        }
        return inside ? outbound_owner_v4(t.proto, be32(t.src), be32(t.dst), t.sport, t.dport)
                      : inbound_owner_v4(t.proto, be32(t.src), be32(t.dst), t.sport, t.dport);
    }
    if (type == eth_ipv6) {
        if (!read_v6(c, t, false)) return any;
        if (t.fragment && frag != nullptr) describe_fragment(t, from, *frag);
        if (t.icmp_error) {
            tuple q;
            if (!read_v6(t.quoted, q, true) || q.v4 || !q.ports) return any;
            t = q;
        }
        if (!t.ports) return any;
        return symmetric_owner_v6(t.proto, t.src.first<16>(), t.sport, t.dst.first<16>(), t.dport);
    }
    return any;
}

} // namespace egress::gateway
