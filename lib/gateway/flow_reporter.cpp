#include "gateway/flow_reporter.hpp"

#include <algorithm>
#include <cstring>

#include <chrono>
#include <thread>

namespace egress::gateway {

void flow_reporter::push(const flow::flow_event& e) noexcept {
    bool ok = ring_->try_push(e);
    // At shutdown the exporter is still draining: wait for room (bounded)
    // instead of losing the final records.
    for (int waited_ms = 0; !ok && patient_ && waited_ms < 2000; ++waited_ms) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        ok = ring_->try_push(e);
    }
    if (ok) {
        ++counters_.events_queued;
    } else {
        ++counters_.events_lost;
        ring_->record_overflow();
    }
}

flow::flow_event flow_reporter::from_record(const flow::flow_record& r, const flow::flow_volume& v,
                                           const flow_names& names, std::string_view rule) const noexcept {
    flow::flow_event e;
    if (!names.server_name.empty()) e.set_name(flow::flow_name_kind::tls_sni, names.server_name);
    else e.set_name(flow::flow_name_kind::http_host, names.http_host);
    flow::set_field_text(e.rule, rule);
    e.proto = r.proto;
    e.tcp_flags = r.tcp_flags_seen;
    e.ingress_port = static_cast<uint8_t>(stats::side::inside);
    e.egress_port = static_cast<uint8_t>(stats::side::outside);
    e.start_ms = wall(r.report_start_ms);
    e.src = r.inside;
    e.dst = r.remote;
    e.src_port = r.inside_port;
    e.dst_port = r.remote_port;
    if (r.is_v4()) {
        e.post_nat_src = net::ip_address::from_v4(r.public_addr);
        e.post_nat_src_port = r.public_port;
    }
    e.packets_out = r.packets_out;
    e.packets_in = r.packets_in;
    e.bytes_out = v.bytes_out;
    e.bytes_in = v.bytes_in;
    return e;
}

void flow_reporter::flow_end(const flow::flow_record& r, const flow::flow_volume& v, flow::end_reason why,
                             uint32_t last_packet, const flow_names& names, const flow::cut_tally* cut,
                             std::string_view rule) noexcept {
    flow::flow_event e = from_record(r, v, names, rule);
    e.kind = flow::event_kind::flow_end;
    e.reason = why;
    e.firewall = flow::firewall_event::flow_deleted;
    e.end_ms = wall(last_packet);
    if (cut != nullptr) {
        e.firewall = flow::firewall_event::flow_denied;
        e.drop_reason = cut->reason;
        e.dropped_packets = cut->dropped_packets;
        e.dropped_bytes = cut->dropped_bytes;
        e.resets_sent = cut->resets_sent;
    }
    push(e);
}

void flow_reporter::flow_update(flow::flow_record& r, flow::flow_volume& v, uint32_t now, const flow_names& names,
                                std::string_view rule) noexcept {
    flow::flow_event e = from_record(r, v, names, rule);
    e.kind = flow::event_kind::flow_update;
    e.reason = flow::end_reason::active_timeout;
    e.firewall = flow::firewall_event::flow_update;
    e.end_ms = wall(now);
    push(e);
    r.packets_out = r.packets_in = 0;
    r.tcp_flags_seen = 0;
    r.report_start_ms = now;
    v = flow::flow_volume{};
}

// One RFC 8158 NAT event: who (inside endpoint), where to, and the public side.
flow::flow_event flow_reporter::nat_event(flow::nat_event_type type, uint8_t proto, const net::ip_address& src,
                                          uint16_t src_port, const net::ip_address& dst, uint16_t dst_port,
                                          uint32_t public_addr, uint16_t public_port, uint32_t now) const noexcept {
    flow::flow_event e;
    e.kind = flow::event_kind::nat_event;
    e.nat = type;
    e.proto = proto;
    e.start_ms = e.end_ms = wall(now);
    e.src = src;
    e.dst = dst;
    e.src_port = src_port;
    e.dst_port = dst_port;
    e.post_nat_src = net::ip_address::from_v4(public_addr);
    e.post_nat_src_port = public_port;
    return e;
}

void flow_reporter::nat_session(const flow::flow_record& r, bool created, uint32_t now) noexcept {
    push(nat_event(created ? flow::nat_event_type::nat44_session_create : flow::nat_event_type::nat44_session_delete,
                   r.proto, r.inside, r.inside_port, r.remote, r.remote_port, r.public_addr, r.public_port, now));
}

void flow_reporter::ports_exhausted(const net::packet_view& v, uint32_t public_addr, uint32_t pool_index,
                                    uint32_t now) noexcept {
    if (exhausted_reported_[pool_index] && now - last_exhausted_ms_[pool_index] < settings_.denied_flush_ms) return;
    exhausted_reported_[pool_index] = true;
    last_exhausted_ms_[pool_index] = now;
    push(nat_event(flow::nat_event_type::ports_exhausted, v.proto, v.src, v.src_port, v.dst, v.dst_port, public_addr, 0,
                   now));
}

void flow_reporter::addresses_exhausted(const net::packet_view& v, uint32_t now) noexcept {
    if (no_address_reported_ && now - last_no_address_ms_ < settings_.denied_flush_ms) return;
    no_address_reported_ = true;
    last_no_address_ms_ = now;
    push(nat_event(flow::nat_event_type::addresses_exhausted, v.proto, v.src, v.src_port, v.dst, v.dst_port, 0, 0,
                   now));
}

void flow_reporter::flush_denied() noexcept {
    denied_.flush([this](const flow::denied_entry& d) {
        flow::flow_event e;
        e.kind = flow::event_kind::flow_denied;
        e.firewall = flow::firewall_event::flow_denied;
        e.proto = d.proto;
        e.start_ms = wall(d.first_ms);
        e.end_ms = wall(d.last_ms);
        e.src = d.src;
        e.dst = d.dst;
        e.dst_port = d.dst_port;
        e.packets_out = d.count;
        e.drop_reason = static_cast<uint32_t>(d.reason);
        // An "other sources" entry keeps the family of nothing: report it as IPv4.
        if (d.src == net::ip_address{}) e.src = e.dst = net::ip_address::from_v4(0);
        push(e);
    });
}

void flow_reporter::tick(uint32_t now) noexcept {
    if (now - last_flush_ < settings_.denied_flush_ms) return;
    last_flush_ = now;
    if (!denied_.empty()) flush_denied();
}

void flow_reporter::flush_all(uint32_t now) noexcept {
    last_flush_ = now;
    flush_denied();
}

void flow_reporter::set_patient(bool patient) noexcept { patient_ = patient; }

} // namespace egress::gateway
