#include "gateway/neighbor_resolver.hpp"

#include <cstring>

#include "net/arp.hpp"
#include "net/ndp.hpp"

namespace egress::gateway {

using stats::drop_reason;
using stats::no_drop;
using stats::side;

namespace {

// Serial comparison on the wrapping millisecond clock.
constexpr bool reached(uint32_t now, uint32_t when) noexcept { return static_cast<int32_t>(now - when) >= 0; }

constexpr bool usable(neighbor_state s) noexcept {
    return s == neighbor_state::reachable || s == neighbor_state::stale || s == neighbor_state::probe ||
           s == neighbor_state::fixed;
}

} // namespace

bool interface_prefix::contains(const net::ip_address& a) const noexcept {
    if (a.is_v4() != address.is_v4()) return false;
    const unsigned bits = (address.is_v4() ? 96u : 0u) + length;
    const unsigned whole = bits / 8;
    if (std::memcmp(a.bytes.data(), address.bytes.data(), whole) != 0) return false;
    const unsigned rest = bits % 8;
    if (rest == 0) return true;
    const auto mask = static_cast<uint8_t>(0xff00u >> rest);
    return (a.bytes[whole] & mask) == (address.bytes[whole] & mask);
}

neighbor_resolver::neighbor_resolver(const settings& s, outbox& box, stats::worker_counters& counters)
    : settings_(s),
      outbox_(box),
      counters_(counters),
      tables_{neighbor_table(s.neighbors.max_entries + static_cast<uint32_t>(s.inside.neighbors.size())),
              neighbor_table(s.neighbors.max_entries + static_cast<uint32_t>(s.outside.neighbors.size()))},
      held_bytes_(std::size_t{s.neighbors.queue_total} * held_frame_bytes),
      held_length_(s.neighbors.queue_total),
      next_(s.neighbors.queue_total) {
    for (uint32_t i = s.neighbors.queue_total; i-- > 0;) {
        next_[i] = free_head_;
        free_head_ = i;
    }
    for (side sd : {side::inside, side::outside}) {
        for (const static_neighbor& n : port(sd).neighbors) {
            neighbor_table& t = tables_[index(sd)];
            uint32_t slot = t.find(n.address);
            if (slot == neighbor_table::npos) slot = t.insert(n.address);
            neighbor_entry& e = t.at(slot);
            e.mac = n.mac;
            e.state = neighbor_state::fixed;
        }
    }
}

const net::ip_address& neighbor_resolver::next_hop_for(side to, const net::ip_address& dst) const noexcept {
    const side_settings& p = port(to);
    const std::optional<net::ip_address>& router = dst.is_v4() ? p.next_hop_v4 : p.next_hop_v6;
    if (!router) return dst;
    for (const interface_prefix& prefix : p.on_link)
        if (prefix.contains(dst)) return dst;
    return *router;
}

bool neighbor_resolver::is_own(side s, const net::ip_address& a) const noexcept {
    for (const auto& own : port(s).addresses)
        if (own == a) return true;
    if (s == side::outside)
        for (const auto& own : settings_.pool.addresses)
            if (own == a) return true;
    return false;
}

// Only an address frames may be sent to directly is remembered from a message:
// an on-link one (next_hop_for answers the address itself) or the side's
// router of its family (which may lie outside the prefixes, link-local).
// Anyone on the link can send a request from any address; an entry for an
// off-link sender is never looked up and would only take room.
bool neighbor_resolver::may_learn(side s, const net::ip_address& a) const noexcept {
    const std::optional<net::ip_address>& router = a.is_v4() ? port(s).next_hop_v4 : port(s).next_hop_v6;
    return (router && *router == a) || &next_hop_for(s, a) == &a;
}

// The address requests for `target` come from: an own address of the family
// whose prefix holds the target, else the first of the family.
const net::ip_address* neighbor_resolver::source_for(side s, const net::ip_address& target) const noexcept {
    for (const interface_prefix& prefix : port(s).on_link)
        if (prefix.contains(target)) return &prefix.address;
    for (const auto& own : port(s).addresses)
        if (own.is_v4() == target.is_v4()) return &own;
    return nullptr;
}

const net::mac_address* neighbor_resolver::lookup(side to, const net::ip_address& dst, uint32_t now, drop_reason& why,
                                                  uint32_t& wait) noexcept {
    const net::ip_address& hop = next_hop_for(to, dst);
    neighbor_table& t = tables_[index(to)];
    const bool via_router = &hop != &dst;
    uint32_t& cached = router_slot_[index(to)][dst.is_v4() ? 0 : 1];
    uint32_t slot = via_router && cached != neighbor_table::npos && t.at(cached).address == hop &&
                            t.at(cached).state != neighbor_state::free
                        ? cached
                        : t.find(hop);
    if (slot == neighbor_table::npos) {
        if (source_for(to, hop) == nullptr) {
            why = drop_reason::neighbor_no_source;
            return nullptr;
        }
        slot = t.insert(hop);
        if (slot == neighbor_table::npos) {
            why = drop_reason::neighbor_table_full;
            return nullptr;
        }
        neighbor_entry& e = t.at(slot);
        e.state = neighbor_state::incomplete;
        e.used_ms = now;
        e.tries = request(to, e, false) ? 1 : 0;
        e.timer_ms = now + settings_.neighbors.retry_ms;
    }
    if (via_router) cached = slot;
    neighbor_entry& e = t.at(slot);
    switch (e.state) {
    case neighbor_state::fixed: return &e.mac;
    case neighbor_state::reachable:
        e.used_ms = now;
        if (!reached(now, e.confirmed_ms + settings_.neighbors.reachable_ms)) return &e.mac;
        e.state = neighbor_state::stale;
        [[fallthrough]];
    case neighbor_state::stale:
        // In use again after going stale: check it is still there (unicast).
        e.used_ms = now;
        e.state = neighbor_state::probe;
        e.tries = request(to, e, true) ? 1 : 0;
        e.timer_ms = now + settings_.neighbors.retry_ms;
        return &e.mac;
    case neighbor_state::probe: e.used_ms = now; return &e.mac;
    default: break; // incomplete
    }
    why = no_drop;
    wait = slot;
    return nullptr;
}

packet_result neighbor_resolver::hold(side to, uint32_t wait, std::span<const uint8_t> frame, uint32_t) noexcept {
    neighbor_entry& e = tables_[index(to)].at(wait);
    if (e.queued >= settings_.neighbors.queue_per_entry || free_head_ == no_frame || frame.size() > held_frame_bytes)
        return packet_result::drop(drop_reason::neighbor_queue_full);
    const uint32_t i = free_head_;
    free_head_ = next_[i];
    std::memcpy(held_frame(i).data(), frame.data(), frame.size());
    held_length_[i] = static_cast<uint16_t>(frame.size());
    next_[i] = no_frame;
    if (e.queue_tail == no_frame) {
        e.queue_head = i;
    } else {
        next_[e.queue_tail] = i;
    }
    e.queue_tail = i;
    ++e.queued;
    ++held_;
    ++counters_.neighbor_frames_queued;
    return packet_result::consumed();
}

// Sends the entry's held frames, as many as the outbox takes now; the rest go
// when tick() next visits the entry.
void neighbor_resolver::release(side s, uint32_t slot) noexcept {
    neighbor_entry& e = tables_[index(s)].at(slot);
    while (e.queue_head != no_frame) {
        const std::span<uint8_t> out = outbox_.prepare();
        if (out.empty()) return;
        const uint32_t i = e.queue_head;
        const uint16_t length = held_length_[i];
        std::memcpy(out.data(), held_frame(i).data(), length);
        std::memcpy(out.data(), e.mac.bytes.data(), 6);
        outbox_.commit(s, length);
        e.queue_head = next_[i];
        next_[i] = free_head_;
        free_head_ = i;
        --e.queued;
        --held_;
        ++counters_.neighbor_frames_released;
    }
    e.queue_tail = no_frame;
}

void neighbor_resolver::discard(neighbor_entry& e, drop_reason why) noexcept {
    while (e.queue_head != no_frame) {
        const uint32_t i = e.queue_head;
        e.queue_head = next_[i];
        next_[i] = free_head_;
        free_head_ = i;
        --held_;
        counters_.count_drop(why);
    }
    e.queue_tail = no_frame;
    e.queued = 0;
}

// One request for the entry's address: broadcast ARP / NS to the solicited-node
// group, or (a probe of a known neighbour) unicast to its MAC.
bool neighbor_resolver::request(side s, const neighbor_entry& e, bool unicast) noexcept {
    const side_settings& p = port(s);
    const net::ip_address* src = source_for(s, e.address);
    if (src == nullptr) return false;
    const std::span<uint8_t> out = outbox_.prepare();
    if (out.empty()) {
        counters_.count_drop(drop_reason::outbox_full);
        return false;
    }
    std::size_t n = 0;
    if (e.address.is_v4()) {
        net::arp_message m;
        m.op = net::arp_request;
        m.sender_mac = p.mac;
        m.sender_ip = src->v4();
        m.target_ip = e.address.v4();
        n = net::build_arp(out, p.mac, unicast ? e.mac : net::broadcast_mac, p.vlan, m);
    } else {
        const net::ip_address group = net::solicited_node(e.address);
        n = net::build_ns(out, p.mac, unicast ? e.mac : net::ipv6_multicast_mac(group), p.vlan, *src,
                          unicast ? e.address : group, e.address);
    }
    if (n == 0) return false;
    outbox_.commit(s, n);
    ++counters_.neighbor_requests_sent;
    return true;
}

void neighbor_resolver::learn(side s, const net::ip_address& a, const net::mac_address& mac, bool create, bool confirm,
                              uint32_t now) noexcept {
    neighbor_table& t = tables_[index(s)];
    uint32_t slot = t.find(a);
    if (slot == neighbor_table::npos) {
        if (!create || !may_learn(s, a)) return;
        slot = t.insert(a);
        if (slot == neighbor_table::npos) return; // full: answered all the same, not remembered
        t.at(slot).state = neighbor_state::stale;
        t.at(slot).used_ms = now;
        ++counters_.neighbor_learned;
    }
    neighbor_entry& e = t.at(slot);
    if (e.state == neighbor_state::fixed) return;
    const bool was_waiting = e.state == neighbor_state::incomplete;
    const bool moved = e.mac != mac;
    e.mac = mac;
    if (confirm) {
        e.state = neighbor_state::reachable;
        e.confirmed_ms = now;
        e.tries = 0;
    } else if (was_waiting || moved) {
        e.state = neighbor_state::stale; // known, not confirmed
        e.tries = 0;
    }
    if (was_waiting) ++counters_.neighbor_resolved;
    if (e.queue_head != no_frame) release(s, slot);
}

packet_result neighbor_resolver::on_arp(side from, std::span<const uint8_t> frame, const net::l2_header& l2,
                                        uint32_t now) noexcept {
    return arp(from, frame, l2, now, false);
}

packet_result neighbor_resolver::on_nd(side from, std::span<const uint8_t> frame, const net::l2_header& l2,
                                       uint32_t now) noexcept {
    return nd(from, frame, l2, now, false);
}

packet_result neighbor_resolver::learn_copy(side from, std::span<const uint8_t> frame, const net::l2_header& l2,
                                            uint32_t now) noexcept {
    packet_result r = l2.ethertype == net::ethertype_arp ? arp(from, frame, l2, now, true)
                                                         : nd(from, frame, l2, now, true);
    r.share_with_peers = false; // a copy is learned from, never passed on
    return r;
}

namespace {

// Consumed, and shared with the other workers when the message maps an address.
constexpr packet_result taken(bool share) noexcept {
    packet_result r = packet_result::consumed();
    r.share_with_peers = share;
    return r;
}
constexpr packet_result refused(drop_reason why, bool share = false) noexcept {
    packet_result r = packet_result::drop(why);
    r.share_with_peers = share;
    return r;
}

} // namespace

packet_result neighbor_resolver::arp(side from, std::span<const uint8_t> frame, const net::l2_header& l2,
                                     uint32_t now, bool copy) noexcept {
    net::arp_message m;
    if (const drop_reason r = net::parse_arp(frame, l2.l3_offset, m); r != no_drop) return refused(r);
    const side_settings& p = port(from);
    const net::ip_address target = net::ip_address::from_v4(m.target_ip);
    const net::ip_address sender = net::ip_address::from_v4(m.sender_ip);
    const bool for_us = is_own(from, target);
    const bool to_us = l2.dst == p.mac || l2.dst == net::broadcast_mac || settings_.accept_any_dst_mac;
    if (!to_us) return refused(drop_reason::l2_dst_not_local);
    if (m.sender_ip == 0) return for_us ? taken(false) : refused(drop_reason::arp_not_for_us); // a probe (RFC 5227)
    if (is_own(from, sender)) return taken(false); // our own announcement reflected, or a conflict
    // RFC 826: refresh what we know of the sender; remember it when it asks us.
    const bool known = tables_[index(from)].find(sender) != neighbor_table::npos;
    learn(from, sender, m.sender_mac, for_us && m.op == net::arp_request, for_us && m.op == net::arp_reply, now);
    if (copy) return taken(true);
    if (!for_us) return known ? taken(true) : refused(drop_reason::arp_not_for_us, true);
    if (m.op == net::arp_request) {
        const std::span<uint8_t> out = outbox_.prepare();
        if (out.empty()) return refused(drop_reason::outbox_full, true);
        net::arp_message reply;
        reply.op = net::arp_reply;
        reply.sender_mac = p.mac;
        reply.sender_ip = m.target_ip;
        reply.target_mac = m.sender_mac;
        reply.target_ip = m.sender_ip;
        outbox_.commit(from, net::build_arp(out, p.mac, m.sender_mac, p.vlan, reply));
        ++counters_.neighbor_replies_sent;
    }
    return taken(true);
}

packet_result neighbor_resolver::nd(side from, std::span<const uint8_t> frame, const net::l2_header& l2,
                                    uint32_t now, bool copy) noexcept {
    net::nd_message m;
    if (const drop_reason r = net::parse_nd(frame, l2.l3_offset, m); r != no_drop) return refused(r);
    const side_settings& p = port(from);
    const bool for_us = is_own(from, m.target);
    const bool to_us = l2.dst == p.mac || settings_.accept_any_dst_mac ||
                       l2.dst == net::ipv6_multicast_mac(net::all_nodes) ||
                       (for_us && l2.dst == net::ipv6_multicast_mac(net::solicited_node(m.target)));
    if (!to_us) return refused(drop_reason::l2_dst_not_local);
    if (m.type == net::icmpv6_neighbor_advertisement) {
        if (is_own(from, m.target)) return taken(false); // our own advertisement reflected, or a conflict
        const bool share = m.has_lladdr;
        const bool known = tables_[index(from)].find(m.target) != neighbor_table::npos;
        if (m.has_lladdr) learn(from, m.target, m.lladdr, false, (m.flags & net::na_solicited) != 0, now);
        if (known || copy) return taken(share);
        // Not asked by this worker; with several workers, the answer to a peer's solicitation.
        const bool peers = settings_.steer != nullptr;
        return peers && share && (m.flags & net::na_solicited) != 0 && l2.dst == p.mac
                   ? taken(share)
                   : refused(drop_reason::ndp_not_for_us, share);
    }
    if (!for_us) return refused(drop_reason::ndp_not_for_us);
    if (m.src == net::ip_address{}) return taken(false); // duplicate address detection: not defended
    const bool share = m.has_lladdr;
    if (m.has_lladdr) learn(from, m.src, m.lladdr, true, false, now);
    if (copy) return taken(share);
    const std::span<uint8_t> out = outbox_.prepare();
    if (out.empty()) return refused(drop_reason::outbox_full, share);
    // Back to the link-layer address the solicitation came from.
    const uint8_t flags = net::na_router | net::na_solicited | net::na_override;
    outbox_.commit(from, net::build_na(out, p.mac, l2.src, p.vlan, m.target, m.src, m.target, flags));
    ++counters_.neighbor_replies_sent;
    return taken(share);
}

void neighbor_resolver::announce() noexcept {
    for (side s : {side::inside, side::outside}) {
        if (!resolves(s)) continue;
        const side_settings& p = port(s);
        const auto gratuitous = [&](const net::ip_address& a) {
            const std::span<uint8_t> out = outbox_.prepare();
            if (out.empty()) {
                counters_.count_drop(drop_reason::outbox_full);
                return;
            }
            std::size_t n = 0;
            if (a.is_v4()) {
                net::arp_message m;
                m.op = net::arp_request;
                m.sender_mac = p.mac;
                m.sender_ip = m.target_ip = a.v4();
                n = net::build_arp(out, p.mac, net::broadcast_mac, p.vlan, m);
            } else {
                n = net::build_na(out, p.mac, net::ipv6_multicast_mac(net::all_nodes), p.vlan, a, net::all_nodes, a,
                                  net::na_router | net::na_override);
            }
            outbox_.commit(s, n);
            ++counters_.neighbor_announcements_sent;
        };
        for (const auto& a : p.addresses) gratuitous(a);
        if (s == side::outside)
            for (const auto& a : settings_.pool.addresses) gratuitous(a);
    }
}

void neighbor_resolver::visit(side s, uint32_t slot, uint32_t now) noexcept {
    neighbor_table& t = tables_[index(s)];
    neighbor_entry& e = t.at(slot);
    const neighbor_settings& cfg = settings_.neighbors;
    switch (e.state) {
    case neighbor_state::incomplete:
    case neighbor_state::probe:
        if (!reached(now, e.timer_ms)) break;
        if (e.tries >= cfg.retries) {
            discard(e, drop_reason::neighbor_unresolved);
            t.erase(slot);
            return;
        }
        if (request(s, e, e.state == neighbor_state::probe)) ++e.tries;
        e.timer_ms = now + cfg.retry_ms;
        break;
    case neighbor_state::reachable:
        if (reached(now, e.confirmed_ms + cfg.reachable_ms)) e.state = neighbor_state::stale;
        break;
    case neighbor_state::stale:
        if (reached(now, e.used_ms + cfg.stale_ms)) {
            t.erase(slot);
            return;
        }
        break;
    default: break;
    }
    if (e.queue_head != no_frame && usable(e.state)) release(s, slot);
}

void neighbor_resolver::tick(uint32_t now, uint32_t budget) noexcept {
    const uint32_t inside_slots = tables_[0].slot_count();
    const uint32_t total = inside_slots + tables_[1].slot_count();
    for (uint32_t n = 0; n < budget && n < total; ++n) {
        if (cursor_ >= total) cursor_ = 0;
        const side s = cursor_ < inside_slots ? side::inside : side::outside;
        const uint32_t slot = s == side::inside ? cursor_ : cursor_ - inside_slots;
        ++cursor_;
        if (tables_[index(s)].at(slot).state != neighbor_state::free) visit(s, slot, now);
    }
}

} // namespace egress::gateway
