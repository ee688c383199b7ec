// The last stage of the packet path, L2 emit: every frame that leaves the
// gateway, forwarded or built by it, gets its hop limit, its next hop's MAC
// (static, resolved, or held until resolved: consumed), its Ethernet header
// and the side's VLAN tag here. The size checks that answer with the
// gateway's own ICMP errors (MTU: fragmentation needed / packet too big; TTL:
// time exceeded) and MSS clamping belong to the same step: they are about the
// link the frame leaves by.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "base/token_bucket.hpp"
#include "gateway/neighbor_resolver.hpp"
#include "gateway/outbox.hpp"
#include "gateway/packet_result.hpp"
#include "gateway/settings.hpp"
#include "net/l2.hpp"
#include "net/packet_view.hpp"
#include "net/rewrite.hpp"
#include "stats/counters.hpp"

namespace egress::gateway {

// Where a reply to a frame that came in on `port` goes: the static next hop,
// else the frame's own source MAC.
inline net::mac_address reply_mac(const side_settings& port, std::span<const uint8_t> frame) noexcept {
    if (port.next_hop_mac) return *port.next_hop_mac;
    net::mac_address m;
    if (frame.size() >= 12) std::memcpy(m.bytes.data(), frame.data() + 6, 6);
    return m;
}

class emit_stage {
public:
    emit_stage(const settings& s, outbox& box, stats::worker_counters& counters, neighbor_resolver& resolver);

    // Frames handed to the gateway have at least `bytes` (0..8) writable bytes
    // in front of their data (see gateway_core::set_frame_headroom).
    void set_frame_headroom(std::size_t bytes) noexcept { headroom_ = bytes; }
    std::size_t frame_headroom() const noexcept { return headroom_; }

    // Sends `frame` (parsed as `view`, translated) out of `to`: forward (with
    // its front adjustment), consumed (held for its next hop) or a drop.
    // `headroom` bytes before frame.data() may be written.
    packet_result emit(stats::side to, std::span<uint8_t> frame, net::packet_view& view, uint32_t now,
                       std::size_t headroom) noexcept;
    packet_result emit(stats::side to, std::span<uint8_t> frame, net::packet_view& view, uint32_t now) noexcept {
        return emit(to, frame, view, now, headroom_);
    }
    // A packet that arrived on `from` is larger than the MTU of the side it
    // would leave by (checked by the flow stages before any state changes):
    // the drop reason, after the error to the sender when one is due.
    stats::drop_reason too_big(stats::side from, std::span<const uint8_t> frame, const net::packet_view& view,
                               uint32_t now) noexcept;
    // A packet from `from` whose TTL / hop limit runs out here.
    void time_exceeded(stats::side from, std::span<const uint8_t> frame, const net::packet_view& view,
                       uint32_t now) noexcept;
    // A packet from inside whose new flow was refused ([icmp] prohibited):
    // administratively prohibited back to its sender, quoting it as it arrived.
    void prohibited(std::span<const uint8_t> frame, const net::packet_view& view, uint32_t now) noexcept;

    const side_settings& port(stats::side s) const noexcept {
        return s == stats::side::inside ? settings_.inside : settings_.outside;
    }

private:
    enum class own_error : uint8_t { time_exceeded, too_big, prohibited };
    void send_icmp_error(stats::side back, std::span<const uint8_t> frame, const net::packet_view& view,
                         own_error kind, uint16_t mtu, uint32_t now) noexcept;
    void clamp_mss(std::span<uint8_t> frame, const net::packet_view& view) noexcept;

    const settings& settings_;
    outbox& outbox_;
    stats::worker_counters& counters_;
    neighbor_resolver& resolver_;
    base::token_bucket icmp_budget_; // the gateway's own ICMP errors
    std::size_t headroom_ = 0;
};

// Inline: every forwarded frame ends here. The rare parts (resolution, a held
// frame, a VLAN tag pushed or popped, MSS clamping) are calls.
inline packet_result emit_stage::emit(stats::side to, std::span<uint8_t> frame, net::packet_view& view, uint32_t now,
                                      std::size_t headroom) noexcept {
    if (const stats::drop_reason r = net::decrement_hop_limit(frame, view); r != stats::no_drop) return packet_result::drop(r);
    if (settings_.mss_clamp != 0 && view.proto == net::proto_tcp && (view.tcp_flags & net::tcp_syn)) [[unlikely]]
        clamp_mss(frame, view);
    const side_settings& p = port(to);
    const net::mac_address* dst = p.next_hop_mac ? &*p.next_hop_mac : nullptr;
    uint32_t wait = neighbor_table::npos;
    if (dst == nullptr) {
        stats::drop_reason why = stats::no_drop;
        dst = resolver_.lookup(to, view.dst, now, why, wait);
        if (why != stats::no_drop) return packet_result::drop(why);
    }
    static constexpr net::mac_address unresolved{};
    const net::mac_address& next = dst != nullptr ? *dst : unresolved;
    std::span<uint8_t> out = frame;
    int8_t front = 0;
    const std::size_t l3_out = net::ethernet_header + (p.vlan != 0 ? net::vlan_tag : 0);
    if (view.l3_offset == l3_out) { // same layout: MACs (and the VID) in place
        net::set_macs(frame, p.mac, next);
        if (p.vlan != 0) {
            frame[14] = static_cast<uint8_t>(p.vlan >> 8);
            frame[15] = static_cast<uint8_t>(p.vlan);
        }
    } else { // a tag pushed or popped: the L2 header is rewritten in front of L3
        const std::span<uint8_t> buffer(frame.data() - headroom, frame.size() + headroom);
        const std::size_t start =
            net::write_l2_header(buffer, headroom, frame.size(), view.l3_offset, p.mac, next, p.vlan);
        if (start == net::npos_l2) return packet_result::drop(stats::drop_reason::vlan_no_headroom);
        front = static_cast<int8_t>(static_cast<int>(headroom) - static_cast<int>(start));
        out = buffer.subspan(start);
    }
    if (dst == nullptr) return resolver_.hold(to, wait, out, now);
    return packet_result::forward(front);
}

} // namespace egress::gateway
