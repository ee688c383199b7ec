// libFuzzer target: parse_frame on arbitrary bytes and, when a frame is accepted,
// every rewrite on a copy. The rewritten copy must still parse. Fragments
// (seeds in corpus/parse: IPv4 and IPv6, first and later) also go through a
// small fragment_tracker that lives across inputs, so ranges, holds, releases
// and expiry meet arbitrary sequences.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "gateway/fragment_tracker.hpp"
#include "net/packet_parser.hpp"
#include "net/rewrite.hpp"

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
    if (net::parse_frame(frame, view) != stats::no_drop) return 0;
    if (view.is_fragment()) track_fragment(frame, view);

    std::vector<uint8_t> copy(frame.begin(), frame.end());
    if (view.family == net::ip_family::v4) {
        net::set_ipv4_source(copy, view, net::ip_address::from_v4(0xcb007101), 1024);      // 203.0.113.1
        net::set_ipv4_destination(copy, view, net::ip_address::from_v4(0xc0000201), 2048); // 192.0.2.1
    }
    (void)net::decrement_hop_limit(copy, view);
    net::set_macs(copy, net::mac_address{{2, 0, 0, 0, 0, 1}}, net::mac_address{{2, 0, 0, 0, 0, 2}});

    net::packet_view after;
    if (net::parse_frame(copy, after) != stats::no_drop) std::abort(); // a rewrite broke the frame
    if (after.fragment != view.fragment || after.frag_offset != view.frag_offset) std::abort();
    return 0;
}
