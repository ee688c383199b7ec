// Stages 1 and 2 of the packet path: parse, then admit. The frame is parsed
// once (net::parse_frame) and said to be one of three things, here and nowhere
// later: transit (it goes on to the flow stages), for the gateway itself (ARP,
// neighbour discovery, IP to one of its addresses: local_stage), or refused
// (a drop reason). Admission needs no flow table: the port's VLAN and MAC, the
// gateway's own addresses, the TTL.
//
// Inline: it runs for every frame, and its checks are a few compares.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "gateway/settings.hpp"
#include "net/l2.hpp"
#include "net/packet_parser.hpp"
#include "net/packet_view.hpp"
#include "net/special_address.hpp"
#include "stats/counters.hpp"

namespace egress::gateway {

enum class destination : uint8_t { transit, gateway_arp, gateway_nd, gateway_ip, refused };

struct admission {
    destination to = destination::transit;
    stats::drop_reason why = stats::no_drop; // refused only
};

class admit_stage {
public:
    admit_stage(const settings& s, bool fragments_enabled)
        : settings_(s), fragments_enabled_(fragments_enabled), broadcasts_(subnet_broadcasts(s)), own_(own_addresses(s)) {}

    // Parses `frame` into `view` and admits it, or says where else it goes.
    admission run(stats::side from, std::span<const uint8_t> frame, net::packet_view& view) const noexcept {
        return admit(from, frame, view, net::parse_frame(frame, view));
    }
    // The same for a frame the caller parsed already (`parsed`: the parser's verdict).
    [[gnu::always_inline]] admission admit(stats::side from, std::span<const uint8_t> frame,
                                           const net::packet_view& view, stats::drop_reason parsed) const noexcept {
        using stats::drop_reason;
        if (parsed != stats::no_drop) [[unlikely]]
            return classify_refusal(frame, parsed);
        if (view.is_fragment() && !fragments_enabled_) [[unlikely]]
            return {destination::refused,
                    view.family == net::ip_family::v4 ? drop_reason::ipv4_fragment : drop_reason::ipv6_fragment};
        const side_settings& port = from == stats::side::inside ? settings_.inside : settings_.outside;
        if (!port.accepts_vlan(view.l3_offset, view.vlan_tci)) return {destination::refused, drop_reason::vlan_mismatch};
        if (!settings_.accept_any_dst_mac && std::memcmp(frame.data(), port.mac.bytes.data(), 6) != 0)
            return {destination::refused, drop_reason::l2_dst_not_local};
        if (const drop_reason r = special_address_reason(view); r != stats::no_drop) [[unlikely]]
            return {destination::refused, r};
        // The gateway's own address as the source, from either side, is a
        // spoof (or its own frame looped back): it would otherwise open a
        // flow in the gateway's name.
        if (is_own_address(view.src)) [[unlikely]]
            return {destination::refused, drop_reason::own_address_source};
        if (is_own_address(view.dst)) return {destination::gateway_ip, drop_reason::local_delivery_unsupported};
        if (view.ttl <= 1) return {destination::refused, drop_reason::ttl_expired};
        return {};
    }

    bool is_own_address(const net::ip_address& a) const noexcept {
        for (const net::ip_address& own : own_)
            if (own == a) return true;
        return false;
    }

    // Special-purpose addresses never cross (SECURITY-MODEL.md promise 5): a
    // source or destination of a class net/special_address.hpp names, or the
    // broadcast address of one of either side's on-link IPv4 prefixes (/30 or
    // shorter), is refused under the reason of its class, before the frame
    // can create state or be translated. (ARP and neighbour discovery, which
    // use link-local and multicast addresses, never get here: the parser
    // refuses them and classify_refusal sends them to the gateway.)
    // An address inside a prefix of [outside] allow_special crosses.
    stats::drop_reason special_address_reason(const net::packet_view& view) const noexcept {
        net::special_address c = net::classify_special(view.src, view.family);
        if (net::special_exceptable(c) && excepted(view.src, view.family)) [[unlikely]]
            c = net::special_address::none;
        if (c == net::special_address::none) {
            c = net::classify_special(view.dst, view.family);
            if (c == net::special_address::none && view.family == net::ip_family::v4 && is_subnet_broadcast(view.dst))
                c = net::special_address::broadcast;
            if (net::special_exceptable(c) && excepted(view.dst, view.family)) [[unlikely]]
                c = net::special_address::none;
        }
        return reason_of(c);
    }

private:
    // Asked only of a special address of a class an exception may name (never
    // loopback, unspecified, broadcast): no cost for the others. A prefix
    // applies to its own family's packets (an IPv4 prefix never excepts an
    // IPv4-mapped address in an IPv6 header).
    bool excepted(const net::ip_address& a, net::ip_family f) const noexcept {
        for (const interface_prefix& p : settings_.allow_special)
            if (p.address.is_v4() == (f == net::ip_family::v4) && p.contains(a)) return true;
        return false;
    }
    bool is_subnet_broadcast(const net::ip_address& a) const noexcept {
        for (const uint32_t b : broadcasts_)
            if (a.v4() == b) return true;
        return false;
    }
    // The broadcast address of each on-link IPv4 prefix of either side (/30 or
    // shorter), worked out once from the settings, not per packet.
    static std::vector<uint32_t> subnet_broadcasts(const settings& s) {
        std::vector<uint32_t> out;
        for (const auto* prefixes : {&s.inside.on_link, &s.outside.on_link})
            for (const interface_prefix& p : *prefixes) {
                if (!p.address.is_v4() || p.length > 30) continue;
                const uint32_t host_bits = p.length == 0 ? ~0u : (1u << (32 - p.length)) - 1;
                out.push_back(p.address.v4() | host_bits);
            }
        return out;
    }
    // Both sides' own addresses in one list, once, not two lists per question.
    static std::vector<net::ip_address> own_addresses(const settings& s) {
        std::vector<net::ip_address> out = s.inside.addresses;
        out.insert(out.end(), s.outside.addresses.begin(), s.outside.addresses.end());
        return out;
    }
    static constexpr stats::drop_reason reason_of(net::special_address c) noexcept {
        using stats::drop_reason;
        switch (c) {
        case net::special_address::none: return stats::no_drop;
        case net::special_address::unspecified: return drop_reason::special_unspecified;
        case net::special_address::loopback: return drop_reason::special_loopback;
        case net::special_address::link_local: return drop_reason::special_link_local;
        case net::special_address::multicast: return drop_reason::special_multicast;
        case net::special_address::broadcast: return drop_reason::special_broadcast;
        case net::special_address::reserved: return drop_reason::special_reserved;
        case net::special_address::v4_mapped: return drop_reason::special_v4_mapped;
        }
        return stats::no_drop;
    }

    // A frame the IP parser does not take may still be for the gateway: ARP
    // (not IP at all) or neighbour discovery (ICMPv6, but not a type the IP path
    // forwards). Said here, once, so that no later stage reads a refusal as
    // "maybe local".
    static admission classify_refusal(std::span<const uint8_t> frame, stats::drop_reason parsed) noexcept {
        using stats::drop_reason;
        if (parsed != drop_reason::ethertype_unsupported && parsed != drop_reason::icmp_type_unsupported)
            return {destination::refused, parsed};
        net::l2_header l2;
        if (!net::read_l2_header(frame, l2)) return {destination::refused, parsed};
        if (parsed == drop_reason::ethertype_unsupported && l2.ethertype == net::ethertype_arp)
            return {destination::gateway_arp, parsed};
        if (parsed == drop_reason::icmp_type_unsupported && l2.ethertype == net::ethertype_ipv6)
            return {destination::gateway_nd, parsed};
        return {destination::refused, parsed};
    }

    const settings& settings_;
    bool fragments_enabled_;
    std::vector<uint32_t> broadcasts_; // on-link IPv4 prefixes' broadcast addresses
    std::vector<net::ip_address> own_; // the gateway's own addresses, both sides
};

} // namespace egress::gateway
