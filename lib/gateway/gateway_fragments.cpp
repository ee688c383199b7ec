// gateway_core: fragments of tracked flows (see fragment_tracker.hpp).
#include "gateway/gateway_core.hpp"

#include <cstring>

#include "net/packet_parser.hpp"
#include "net/rewrite.hpp"

namespace egress::gateway {

using stats::drop_reason;
using stats::no_drop;
using stats::side;

// Fragments are forwarded as fragments, never reassembled. The first one
// (offset 0, with the L4 header) goes through the flow path like a whole
// datagram; the tracker then knows the datagram's flow and the later ones are
// translated like it (IPv4: the address and the header checksum only; the L4
// checksum, updated in the first fragment, covers the whole datagram). Later
// fragments that come first are held and sent from the outbox once the first
// one passed. Every fragment is first checked against the datagram's ranges.
[[gnu::noinline]] packet_result gateway_core::fragment(flow::direction dir, std::span<uint8_t> frame,
                                                       net::packet_view& view, const flow::flow_key& key,
                                                       uint32_t idx, uint32_t now) noexcept {
    const fragment_key fk{view.src, view.dst, view.frag_id,
                          view.family == net::ip_family::v4 ? view.proto : uint8_t{0}, dir};
    uint32_t entry = fragment_tracker::npos;
    const bool more = (view.fragment & net::fragment_more) != 0;
    if (const drop_reason r = fragments_.accept(fk, view.frag_offset, view.frag_length, more, now, entry); r != no_drop)
        return packet_result::drop(r);
    if (!view.is_later_fragment()) {
        const packet_result r = dir == flow::direction::outbound ? outbound(frame, view, key, idx, now)
                                                                 : inbound(frame, view, idx, now);
        if (!r.goes_on()) {
            fragments_.drop(entry); // a datagram without its first fragment is of no use to anyone
            return r;
        }
        ++counters_.fragments_forwarded;
        fragments_.forward(entry, idx);
        release_held(entry, idx, dir, now);
        fragments_.finish_if_complete(entry);
        return r;
    }
    if (fragments_.state(entry) == datagram_state::waiting) {
        if (fragments_.hold(entry, frame)) return packet_result::consumed();
        fragments_.drop(entry); // it cannot be completed any more
        return packet_result::drop(drop_reason::fragment_hold_full);
    }
    const packet_result r = follow_flow(fragments_.flow(entry), dir, frame, view, now, frame_headroom_);
    if (!r.goes_on()) {
        fragments_.drop(entry);
        return r;
    }
    ++counters_.fragments_forwarded;
    fragments_.finish_if_complete(entry);
    return r;
}

// A flow whose packets are read (hostname still pending, or DLP): its
// fragments would pass with their payload unread, so they are dropped.
bool gateway_core::fragments_uninspectable(const flow::flow_record& rec) const noexcept {
    if (rec.flags & flow::flow_flags::awaits_hostname) return true;
    return (rec.flags & flow::flow_flags::inspection_slot) && policy_ != nullptr &&
           policy_->scanner(settings_.worker) != nullptr;
}

// A later fragment of a datagram whose first fragment passed as part of flow
// idx: the flow must still be the same (records are reused), then it is
// translated like the first fragment and accounted to the flow.
packet_result gateway_core::follow_flow(uint32_t idx, flow::direction dir, std::span<uint8_t> frame,
                                        net::packet_view& view, uint32_t now, std::size_t headroom) noexcept {
    flow::flow_record& rec = table_.at(idx);
    const bool out = dir == flow::direction::outbound;
    const bool same = out ? rec.inside == view.src && rec.remote == view.dst
                          : rec.remote == view.src &&
                                view.dst == (rec.is_v4() ? net::ip_address::from_v4(rec.public_addr) : rec.inside);
    if (!rec.is_live() || !same || flow::is_expired(rec, now)) return packet_result::drop(drop_reason::fragment_no_flow);
    if (policy_ != nullptr && rec.policy_gen != policy_->generation) recheck(rec, idx, now);
    if (rec.flags & flow::flow_flags::cut) return packet_result::drop(drop_reason::policy_cut);
    if (fragments_uninspectable(rec)) return packet_result::drop(drop_reason::fragment_inspected);
    account(rec, idx, dir, view, now);
    if (rec.is_v4()) {
        if (out) net::set_ipv4_source(frame, view, net::ip_address::from_v4(rec.public_addr), rec.public_port);
        else net::set_ipv4_destination(frame, view, rec.inside, rec.inside_port);
    }
    return emit(out ? side::outside : side::inside, frame, view, now, headroom);
}

// The fragments that came before their first fragment: translated copies go
// out from the outbox (or wait in a neighbour queue like any frame).
void gateway_core::release_held(uint32_t entry, uint32_t idx, flow::direction dir, uint32_t now) noexcept {
    const side to = dir == flow::direction::outbound ? side::outside : side::inside;
    fragments_.release(entry, [&](std::span<const uint8_t> held) {
        const std::span<uint8_t> slot = outbox_.prepare();
        if (slot.size() < held.size()) {
            counters_.count_drop(drop_reason::outbox_full);
            return;
        }
        std::memcpy(slot.data(), held.data(), held.size());
        const std::span<uint8_t> f = slot.first(held.size());
        net::packet_view v;
        const drop_reason parsed = net::parse_frame(f, v); // it parsed when it came: it parses again
        const packet_result r = parsed == no_drop ? follow_flow(idx, dir, f, v, now, outbox::headroom)
                                                  : packet_result::drop(parsed);
        if (r.goes_on())
            outbox_.commit(to, static_cast<std::size_t>(static_cast<int>(held.size()) + r.front_adjust),
                           r.front_adjust);
        if (r.dropped()) {
            counters_.count_drop(r.reason);
        } else {
            ++counters_.fragments_released;
        }
    });
}

} // namespace egress::gateway
