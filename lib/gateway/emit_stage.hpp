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
#include "net/packet_view.hpp"
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

    const side_settings& port(stats::side s) const noexcept {
        return s == stats::side::inside ? settings_.inside : settings_.outside;
    }

private:
    enum class own_error : uint8_t { time_exceeded, too_big };
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

} // namespace egress::gateway
