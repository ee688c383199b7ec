// The exception path's decisions (see exception_path.hpp).
#include "gateway/exception_path.hpp"

#include <algorithm>
#include <cstring>

#include "gateway/settings.hpp"
#include "net/arp.hpp"
#include "net/l2.hpp"
#include "net/ndp.hpp"

namespace egress::gateway {

exception_class classify_exception(const exception_settings& s, const net::packet_view& view) noexcept {
    if (!s.enabled || view.is_fragment()) return exception_class::none;
    if (view.proto == net::proto_udp && (view.dst_port == bfd_single_hop_port || view.dst_port == bfd_echo_port ||
                                         view.dst_port == bfd_multihop_port))
        return exception_class::bfd;
    if (view.proto == net::proto_tcp && (view.dst_port == bgp_port || view.src_port == bgp_port))
        return exception_class::other;
    if (view.proto != net::proto_tcp && view.proto != net::proto_udp) return exception_class::none;
    return std::find(s.ports.begin(), s.ports.end(), exception_port{view.proto, view.dst_port}) != s.ports.end()
               ? exception_class::other
               : exception_class::none;
}

exception_class classify_for_kernel(const side_settings& own, const net::packet_view& view) noexcept {
    const exception_class c = classify_exception(own.exception, view);
    if (c == exception_class::none ||
        std::find(own.addresses.begin(), own.addresses.end(), view.dst) == own.addresses.end())
        return exception_class::none;
    return c;
}

bool is_neighbor_answer(std::span<const uint8_t> frame) noexcept {
    net::l2_header l2;
    if (!net::read_l2_header(frame, l2)) return false;
    const std::size_t l3 = l2.l3_offset;
    if (l2.ethertype == net::ethertype_arp)
        return frame.size() >= l3 + 8 && frame[l3 + 6] == 0 && frame[l3 + 7] == net::arp_reply;
    // Neighbour advertisement: ICMPv6 straight after the fixed header (as
    // parse_nd requires), type 136.
    return l2.ethertype == net::ethertype_ipv6 && frame.size() > l3 + net::ipv6_header &&
           frame[l3 + 6] == net::proto_icmpv6 && frame[l3 + net::ipv6_header] == net::icmpv6_neighbor_advertisement;
}

stats::drop_reason from_kernel_check(const side_settings& port, std::span<const uint8_t> frame) noexcept {
    constexpr stats::drop_reason refused = stats::drop_reason::exception_source_refused;
    net::l2_header l2;
    if (!net::read_l2_header(frame, l2) || l2.tags != 0 || l2.src != port.mac) return refused;
    const std::size_t l3 = l2.l3_offset;
    net::ip_address sender;
    if (l2.ethertype == net::ethertype_ipv4 && frame.size() >= l3 + net::ipv4_min_header) {
        sender = net::ip_address::from_v4_bytes(&frame[l3 + 12]);
    } else if (l2.ethertype == net::ethertype_ipv6 && frame.size() >= l3 + net::ipv6_header) {
        sender = net::ip_address::from_v6_bytes(&frame[l3 + 8]);
    } else if (l2.ethertype == net::ethertype_arp && frame.size() >= l3 + net::arp_length) {
        // The sender hardware address too: the kernel must not teach the
        // routers another MAC for the gateway's address.
        if (std::memcmp(&frame[l3 + 8], port.mac.bytes.data(), 6) != 0) return refused;
        sender = net::ip_address::from_v4_bytes(&frame[l3 + 14]);
    } else {
        return refused;
    }
    return std::find(port.addresses.begin(), port.addresses.end(), sender) != port.addresses.end() ? stats::no_drop
                                                                                                     : refused;
}

} // namespace egress::gateway
