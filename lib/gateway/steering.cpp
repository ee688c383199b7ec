#include "gateway/steering.hpp"

#include <cassert>

#include "base/hash.hpp"
#include "net/packet_parser.hpp"

namespace egress::gateway {

namespace {

uint32_t slice_start(uint16_t min, uint32_t count, unsigned i, unsigned n) noexcept {
    return min + static_cast<uint32_t>(uint64_t{count} * i / n);
}

// The ports a tuple is steered by. An echo's identifier stands in for both
// ports (the parser puts it on the initiator's side only), so that a request
// and its reply hash alike.
struct ports {
    uint16_t src = 0;
    uint16_t dst = 0;
};
constexpr ports steering_ports(uint8_t proto, uint16_t src, uint16_t dst) noexcept {
    if (proto == net::proto_icmp || proto == net::proto_icmpv6) return {static_cast<uint16_t>(src | dst),
                                                                        static_cast<uint16_t>(src | dst)};
    return {src, dst};
}

std::span<const uint8_t, 16> bytes16(const net::ip_address& a) noexcept {
    return std::span<const uint8_t, 16>(a.bytes.data(), 16);
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
    if (proto == net::proto_tcp || proto == net::proto_udp) return reta_owner(table_.hash_v4(src, dst, sport, dport));
    return reta_owner(table_.hash_v4(src, dst));
}

uint16_t steering::inbound_owner_v4(uint8_t proto, uint32_t src, uint32_t dst, uint16_t sport,
                                    uint16_t dport) const noexcept {
    if (proto == net::proto_tcp || proto == net::proto_udp)
        return settings_.rss ? reta_owner(table_.hash_v4(src, dst, sport, dport)) : slice_owner(dport);
    if (proto == net::proto_icmp) return slice_owner(dport);
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
void describe_fragment(const net::packet_view& v, stats::side from, fragment_info& f) noexcept {
    f.fragment = true;
    f.first = !v.is_later_fragment();
    f.key.src = v.src;
    f.key.dst = v.dst;
    f.key.id = v.frag_id;
    f.key.proto = v.family == net::ip_family::v4 ? v.proto : uint8_t{0};
    f.key.dir = from == stats::side::inside ? flow::direction::outbound : flow::direction::inbound;
}

} // namespace

uint16_t steering::owner(stats::side from, std::span<const uint8_t> frame, fragment_info* frag) const noexcept {
    if (frag != nullptr) frag->fragment = false;
    if (settings_.workers == 1) return 0;
    net::packet_view view;
    const stats::drop_reason parsed = net::parse_frame(frame, view);
    return owner(from, view, parsed, frag);
}

uint16_t steering::owner(stats::side from, const net::packet_view& v, stats::drop_reason parsed,
                         fragment_info* frag) const noexcept {
    if (frag != nullptr) frag->fragment = false;
    if (settings_.workers == 1 || parsed != stats::no_drop) return settings_.workers == 1 ? 0 : any;
    if (v.is_fragment() && frag != nullptr) describe_fragment(v, from, *frag);
    if (v.is_later_fragment()) return any; // no ports: fragment_steering places it
    const bool inside = from == stats::side::inside;
    if (v.family == net::ip_family::v4) {
        if (v.icmp_error) {
            // From outside it quotes a translated outbound packet: the owner of its
            // reply. From inside, an inbound packet: the owner of the outbound reverse.
            const net::quoted_packet& q = v.quoted;
            const ports p = steering_ports(q.proto, q.src_port, q.dst_port);
            return inside ? outbound_owner_v4(q.proto, q.dst.v4(), q.src.v4(), p.dst, p.src)
                          : inbound_owner_v4(q.proto, q.dst.v4(), q.src.v4(), p.dst, p.src);
        }
        const ports p = steering_ports(v.proto, v.src_port, v.dst_port);
        if (v.proto == net::proto_icmp) {
            if (inside)
                return v.icmp_type == net::icmp_echo_request ? outbound_owner_v4(v.proto, v.src.v4(), v.dst.v4(), 0, 0)
                                                             : any;
            return v.icmp_type == net::icmp_echo_reply ? inbound_owner_v4(v.proto, v.src.v4(), v.dst.v4(), p.src, p.dst)
                                                       : any;
        }
        return inside ? outbound_owner_v4(v.proto, v.src.v4(), v.dst.v4(), p.src, p.dst)
                      : inbound_owner_v4(v.proto, v.src.v4(), v.dst.v4(), p.src, p.dst);
    }
    if (v.icmp_error) {
        const net::quoted_packet& q = v.quoted;
        const ports p = steering_ports(q.proto, q.src_port, q.dst_port);
        return symmetric_owner_v6(q.proto, bytes16(q.src), p.src, bytes16(q.dst), p.dst);
    }
    const ports p = steering_ports(v.proto, v.src_port, v.dst_port);
    return symmetric_owner_v6(v.proto, bytes16(v.src), p.src, bytes16(v.dst), p.dst);
}

} // namespace egress::gateway
