// libFuzzer target: parse_frame on arbitrary bytes and, when a frame is accepted,
// every rewrite on a copy. The rewritten copy must still parse. Frames it
// refuses go through the L2, ARP and neighbour-discovery parsers (the
// gateway's own-traffic path), which must not read past the frame.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "net/arp.hpp"
#include "net/l2.hpp"
#include "net/ndp.hpp"
#include "net/packet_parser.hpp"
#include "net/rewrite.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    using namespace egress;
    const std::span<const uint8_t> frame(data, size);
    net::packet_view view;
    if (net::parse_frame(frame, view) != stats::no_drop) {
        net::l2_header l2;
        if (!net::read_l2_header(frame, l2)) return 0;
        net::arp_message arp;
        net::nd_message nd;
        if (l2.ethertype == net::ethertype_arp) (void)net::parse_arp(frame, l2.l3_offset, arp);
        if (l2.ethertype == net::ethertype_ipv6) (void)net::parse_nd(frame, l2.l3_offset, nd);
        return 0;
    }

    std::vector<uint8_t> copy(frame.begin(), frame.end());
    if (view.family == net::ip_family::v4) {
        net::set_ipv4_source(copy, view, net::ip_address::from_v4(0xcb007101), 1024);      // 203.0.113.1
        net::set_ipv4_destination(copy, view, net::ip_address::from_v4(0xc0000201), 2048); // 192.0.2.1
    }
    (void)net::decrement_hop_limit(copy, view);
    net::set_macs(copy, net::mac_address{{2, 0, 0, 0, 0, 1}}, net::mac_address{{2, 0, 0, 0, 0, 2}});

    net::packet_view after;
    if (net::parse_frame(copy, after) != stats::no_drop) std::abort(); // a rewrite broke the frame
    return 0;
}
