// libFuzzer target: parse_frame on arbitrary bytes (its verdict and view must
// be the general parse's: the fast path may not decide differently) and, when
// a frame is accepted, every rewrite on a copy. The rewritten copy must still
// parse. ICMP errors also get their quote translated both ways; SYNs get their
// MSS clamped; and the gateway's own error about the frame is built and parsed. Fragments (seeds in
// corpus/parse: IPv4 and IPv6, first and later) also go through a small
// fragment_tracker that lives across inputs, so ranges, holds, releases and
// expiry meet arbitrary sequences.
// Frames it refuses go through the L2, ARP and neighbour-discovery parsers
// (the gateway's own-traffic path), which must not read past the frame.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include "gateway/fragment_tracker.hpp"
#include "net/icmp_error.hpp"
#include "net/arp.hpp"
#include "net/l2.hpp"
#include "net/ndp.hpp"
#include "net/packet_parser.hpp"
#include "net/rewrite.hpp"
#include "net/tcp_mss.hpp"

namespace {

void track_fragment(std::span<const uint8_t> frame, const egress::net::packet_view& view) {
    using namespace egress;
    static stats::worker_counters counters;
    static gateway::fragment_tracker tracker(
        gateway::fragment_settings{16, 100, 8, 4 * gateway::fragment_tracker::hold_slot_bytes}, counters);
    static uint32_t now = 0;
    now += frame.size() % 64; // time moves with the inputs
    const auto dir = (frame.size() & 1) ? flow::direction::inbound : flow::direction::outbound;
    const gateway::fragment_key key{view.src, view.dst, view.frag_id,
                                    view.family == net::ip_family::v4 ? view.proto : uint8_t{0}, dir};
    uint32_t entry = gateway::fragment_tracker::npos;
    const bool more = (view.fragment & net::fragment_more) != 0;
    if (tracker.accept(key, view.frag_offset, view.frag_length, more, now, entry) == stats::no_drop) {
        if (!view.is_later_fragment()) {
            tracker.forward(entry, 1);
            std::size_t released = 0;
            tracker.release(entry, [&](std::span<const uint8_t> f) { released += f.size(); });
            tracker.finish_if_complete(entry);
        } else if (tracker.state(entry) == gateway::datagram_state::waiting && !tracker.hold(entry, frame)) {
            tracker.drop(entry);
        }
    }
    tracker.expire(now, 4);
    if (tracker.active() > tracker.capacity() || tracker.held() > tracker.hold_slots()) std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    using namespace egress;
    const std::span<const uint8_t> frame(data, size);
    net::packet_view view;
    const stats::drop_reason verdict = net::parse_frame(frame, view);
    // The fast path for the common frame decides exactly as the general parse.
    net::packet_view general;
    if (net::parse_frame_general(frame, general) != verdict ||
        (verdict == stats::no_drop && std::memcmp(&view, &general, offsetof(net::packet_view, quoted)) != 0))
        std::abort();
    if (verdict != stats::no_drop) {
        net::l2_header l2;
        if (!net::read_l2_header(frame, l2)) return 0;
        net::arp_message arp;
        net::nd_message nd;
        if (l2.ethertype == net::ethertype_arp) (void)net::parse_arp(frame, l2.l3_offset, arp);
        if (l2.ethertype == net::ethertype_ipv6) (void)net::parse_nd(frame, l2.l3_offset, nd);
        return 0;
    }
    const net::packet_view original = view;
    if (view.is_fragment()) track_fragment(frame, view);

    std::vector<uint8_t> copy(frame.begin(), frame.end());
    if (view.family == net::ip_family::v4) {
        net::set_ipv4_source(copy, view, net::ip_address::from_v4(0xcb007101), 1024);      // 203.0.113.1
        net::set_ipv4_destination(copy, view, net::ip_address::from_v4(0xc0000201), 2048); // 192.0.2.1
        if (view.icmp_error) {
            net::set_quoted_endpoint(copy, view, net::quoted_side::source, net::ip_address::from_v4(0x0a000005), 4000);
            net::set_quoted_endpoint(copy, view, net::quoted_side::destination, net::ip_address::from_v4(0x0a000006), 5);
        }
    }
    if (view.proto == net::proto_tcp && (view.tcp_flags & net::tcp_syn)) (void)net::clamp_tcp_mss(copy, view, 536);
    (void)net::decrement_hop_limit(copy, view);
    net::set_macs(copy, net::mac_address{{2, 0, 0, 0, 0, 1}}, net::mac_address{{2, 0, 0, 0, 0, 2}});

    net::packet_view after;
    if (net::parse_frame(copy, after) != stats::no_drop) std::abort(); // a rewrite broke the frame
    if (after.fragment != view.fragment || after.frag_offset != view.frag_offset) std::abort();

    // The gateway's own error about the frame: an IPv4 one always parses back
    // as an error quoting it (an IPv6 quote may stop inside a long extension chain).
    std::vector<uint8_t> out(1600);
    net::icmp_error_spec spec;
    spec.type = original.family == net::ip_family::v4 ? net::icmp_time_exceeded : net::icmpv6_time_exceeded;
    spec.source = original.family == net::ip_family::v4 ? net::ip_address::from_v4(0x0a000001)
                                                         : *net::ip_address::parse("fd00::1");
    const std::size_t n = net::build_icmp_error(out, frame, original, spec);
    if (n == 0) std::abort(); // 1600 bytes always hold it
    net::packet_view error;
    const stats::drop_reason r = net::parse_frame(std::span<const uint8_t>(out.data(), n), error);
    // (A later fragment's quote has no ports: such an error is refused, and the
    // gateway never sends one about a later fragment.)
    if (original.family == net::ip_family::v4 && !original.icmp_error && !original.is_later_fragment() &&
        r != stats::no_drop)
        std::abort();
    return 0;
}
