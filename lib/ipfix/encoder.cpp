#include "ipfix/encoder.hpp"

#include <algorithm>
#include <array>

namespace egress::ipfix {

namespace {

constexpr uint16_t var = variable_length;

constexpr field_spec std_field(uint16_t id, uint16_t length) { return field_spec{id, length, false}; }
constexpr field_spec pen_field(uint16_t id, uint16_t length) { return field_spec{id, length, true}; }

constexpr std::array ipv4_flow_fields{
    std_field(ie::source_ipv4_address, 4),
    std_field(ie::destination_ipv4_address, 4),
    std_field(ie::source_transport_port, 2),
    std_field(ie::destination_transport_port, 2),
    std_field(ie::protocol_identifier, 1),
    std_field(ie::post_nat_source_ipv4_address, 4),
    std_field(ie::post_napt_source_transport_port, 2),
    std_field(ie::initiator_octets, 8),
    std_field(ie::initiator_packets, 8),
    std_field(ie::responder_octets, 8),
    std_field(ie::responder_packets, 8),
    std_field(ie::octet_delta_count, 8),
    std_field(ie::packet_delta_count, 8),
    std_field(ie::post_octet_delta_count, 8),
    std_field(ie::post_packet_delta_count, 8),
    std_field(ie::flow_start_milliseconds, 8),
    std_field(ie::flow_end_milliseconds, 8),
    std_field(ie::flow_end_reason, 1),
    std_field(ie::firewall_event, 1),
    // No natEvent: a flow record is neither a NAT44 session create nor a delete
    // (those are template 258's), and 0 is reserved (collectors show "INVALID").
    std_field(ie::tcp_control_bits, 2),
    std_field(ie::ingress_interface, 4),
    std_field(ie::egress_interface, 4),
    std_field(ie::dropped_octet_delta_count, 8),
    std_field(ie::dropped_packet_delta_count, 8),
    pen_field(pen_ie::drop_reason, 2),
    pen_field(pen_ie::resets_sent, 2),
    std_field(ie::http_request_host, var),
    pen_field(pen_ie::tls_server_name, var),
    pen_field(pen_ie::policy_rule_name, var),
};

constexpr std::array ipv6_flow_fields{
    std_field(ie::source_ipv6_address, 16),
    std_field(ie::destination_ipv6_address, 16),
    std_field(ie::source_transport_port, 2),
    std_field(ie::destination_transport_port, 2),
    std_field(ie::protocol_identifier, 1),
    std_field(ie::initiator_octets, 8),
    std_field(ie::initiator_packets, 8),
    std_field(ie::responder_octets, 8),
    std_field(ie::responder_packets, 8),
    std_field(ie::octet_delta_count, 8),
    std_field(ie::packet_delta_count, 8),
    std_field(ie::post_octet_delta_count, 8),
    std_field(ie::post_packet_delta_count, 8),
    std_field(ie::flow_start_milliseconds, 8),
    std_field(ie::flow_end_milliseconds, 8),
    std_field(ie::flow_end_reason, 1),
    std_field(ie::firewall_event, 1),
    std_field(ie::tcp_control_bits, 2),
    std_field(ie::ingress_interface, 4),
    std_field(ie::egress_interface, 4),
    std_field(ie::dropped_octet_delta_count, 8),
    std_field(ie::dropped_packet_delta_count, 8),
    pen_field(pen_ie::drop_reason, 2),
    pen_field(pen_ie::resets_sent, 2),
    std_field(ie::http_request_host, var),
    pen_field(pen_ie::tls_server_name, var),
    pen_field(pen_ie::policy_rule_name, var),
};

constexpr std::array nat_event_fields{
    std_field(ie::observation_time_milliseconds, 8),
    std_field(ie::nat_event, 1),
    std_field(ie::source_ipv4_address, 4),
    std_field(ie::post_nat_source_ipv4_address, 4),
    std_field(ie::protocol_identifier, 1),
    std_field(ie::source_transport_port, 2),
    std_field(ie::post_napt_source_transport_port, 2),
    std_field(ie::destination_ipv4_address, 4),
    std_field(ie::destination_transport_port, 2),
};

constexpr std::array ipv4_denied_fields{
    std_field(ie::source_ipv4_address, 4),
    std_field(ie::destination_ipv4_address, 4),
    std_field(ie::source_transport_port, 2),
    std_field(ie::destination_transport_port, 2),
    std_field(ie::protocol_identifier, 1),
    std_field(ie::firewall_event, 1),
    std_field(ie::packet_delta_count, 8),
    std_field(ie::flow_start_milliseconds, 8),
    std_field(ie::flow_end_milliseconds, 8),
    pen_field(pen_ie::drop_reason, 2),
};

constexpr std::array ipv6_denied_fields{
    std_field(ie::source_ipv6_address, 16),
    std_field(ie::destination_ipv6_address, 16),
    std_field(ie::source_transport_port, 2),
    std_field(ie::destination_transport_port, 2),
    std_field(ie::protocol_identifier, 1),
    std_field(ie::firewall_event, 1),
    std_field(ie::packet_delta_count, 8),
    std_field(ie::flow_start_milliseconds, 8),
    std_field(ie::flow_end_milliseconds, 8),
    pen_field(pen_ie::drop_reason, 2),
};

constexpr std::array exporter_statistics_fields{
    std_field(ie::exporting_process_id, 4), // scope
    std_field(ie::not_sent_flow_total_count, 8),
    std_field(ie::observation_time_milliseconds, 8),
};

constexpr std::array all_templates{template_id::ipv4_flow, template_id::ipv6_flow, template_id::nat_event,
                                   template_id::ipv4_denied, template_id::ipv6_denied};

constexpr std::size_t template_record_size(std::span<const field_spec> fields, std::size_t header = 4) noexcept {
    std::size_t n = header;
    for (const field_spec& f : fields) n += f.enterprise ? 8 : 4;
    return n;
}

// Octets of the fixed-length fields of a data record.
constexpr std::size_t fixed_data_size(std::span<const field_spec> fields) noexcept {
    std::size_t n = 0;
    for (const field_spec& f : fields)
        if (f.length != var) n += f.length;
    return n;
}

static_assert(fixed_data_size(ipv4_flow_fields) == 131);
static_assert(fixed_data_size(ipv6_flow_fields) == 149);
static_assert(fixed_data_size(nat_event_fields) == 28);
static_assert(fixed_data_size(ipv4_denied_fields) == 40);
static_assert(fixed_data_size(ipv6_denied_fields) == 64);
static_assert(fixed_data_size(exporter_statistics_fields) == 20);
static_assert(template_record_size(ipv4_flow_fields) == 136);
constexpr std::size_t options_template_record_size = template_record_size(exporter_statistics_fields, 6);
static_assert(options_template_record_size == 18);
// Any template record, and any data record with empty strings, fits an empty message.
static_assert(message_header_bytes + set_header_bytes + template_record_size(ipv4_flow_fields) <= min_message_bytes);
static_assert(message_header_bytes + set_header_bytes + fixed_data_size(ipv6_flow_fields) + 3 <= min_message_bytes);

// Big-endian appends into a buffer whose capacity was reserved up front.
void put_u8(std::vector<uint8_t>& out, uint8_t v) { out.push_back(v); }
void put_u16(std::vector<uint8_t>& out, uint16_t v) {
    out.push_back(static_cast<uint8_t>(v >> 8));
    out.push_back(static_cast<uint8_t>(v));
}
void put_u32(std::vector<uint8_t>& out, uint32_t v) {
    put_u16(out, static_cast<uint16_t>(v >> 16));
    put_u16(out, static_cast<uint16_t>(v));
}
void put_u64(std::vector<uint8_t>& out, uint64_t v) {
    put_u32(out, static_cast<uint32_t>(v >> 32));
    put_u32(out, static_cast<uint32_t>(v));
}
void store_u16(uint8_t* p, uint16_t v) noexcept {
    p[0] = static_cast<uint8_t>(v >> 8);
    p[1] = static_cast<uint8_t>(v);
}
void store_u32(uint8_t* p, uint32_t v) noexcept {
    store_u16(p, static_cast<uint16_t>(v >> 16));
    store_u16(p + 2, static_cast<uint16_t>(v));
}

// An IPv4 element of an address that is not IPv4 (the all-zero "none") is 0.0.0.0.
void put_v4(std::vector<uint8_t>& out, const net::ip_address& a) {
    if (a.is_v4()) {
        out.insert(out.end(), a.v4_bytes(), a.v4_bytes() + 4);
    } else {
        out.insert(out.end(), 4, uint8_t{0});
    }
}
void put_v6(std::vector<uint8_t>& out, const net::ip_address& a) { out.insert(out.end(), a.bytes.begin(), a.bytes.end()); }

// A Template Record, or an Options Template Record when scope_fields > 0 (RFC 7011 §3.4.2.2).
void put_template_record(std::vector<uint8_t>& out, template_id t, uint32_t pen, uint16_t scope_fields = 0) {
    const std::span<const field_spec> fields = template_fields(t);
    put_u16(out, static_cast<uint16_t>(t));
    put_u16(out, static_cast<uint16_t>(fields.size()));
    if (scope_fields > 0) put_u16(out, scope_fields);
    for (const field_spec& f : fields) {
        put_u16(out, f.enterprise ? static_cast<uint16_t>(f.id | enterprise_bit) : f.id);
        put_u16(out, f.length);
        if (f.enterprise) put_u32(out, pen);
    }
}

// One field's value: the single place that says which event member each IE carries.
void put_field(std::vector<uint8_t>& out, const field_spec& f, const flow::flow_event& e, const flow_strings& text) {
    if (f.enterprise) {
        switch (f.id) {
        case pen_ie::tls_server_name: put_variable_length(out, text.server_name); return;
        case pen_ie::policy_rule_name: put_variable_length(out, text.rule); return;
        case pen_ie::drop_reason: put_u16(out, static_cast<uint16_t>(std::min<uint32_t>(e.drop_reason, 0xffff))); return;
        case pen_ie::resets_sent: put_u16(out, e.resets_sent); return;
        }
        return;
    }
    switch (f.id) {
    case ie::source_ipv4_address: put_v4(out, e.src); break;
    case ie::destination_ipv4_address: put_v4(out, e.dst); break;
    case ie::source_ipv6_address: put_v6(out, e.src); break;
    case ie::destination_ipv6_address: put_v6(out, e.dst); break;
    case ie::source_transport_port: put_u16(out, e.src_port); break;
    case ie::destination_transport_port: put_u16(out, e.dst_port); break;
    case ie::protocol_identifier: put_u8(out, e.proto); break;
    case ie::post_nat_source_ipv4_address: put_v4(out, e.post_nat_src); break;
    case ie::post_napt_source_transport_port: put_u16(out, e.post_nat_src_port); break;
    case ie::initiator_octets:
    case ie::octet_delta_count: put_u64(out, e.bytes_out); break;
    case ie::initiator_packets:
    case ie::packet_delta_count: put_u64(out, e.packets_out); break;
    case ie::responder_octets:
    case ie::post_octet_delta_count: put_u64(out, e.bytes_in); break;
    case ie::responder_packets:
    case ie::post_packet_delta_count: put_u64(out, e.packets_in); break;
    case ie::flow_start_milliseconds: put_u64(out, e.start_ms); break;
    case ie::flow_end_milliseconds:
    case ie::observation_time_milliseconds: put_u64(out, e.end_ms); break;
    case ie::dropped_octet_delta_count: put_u64(out, e.dropped_bytes); break;
    case ie::dropped_packet_delta_count: put_u64(out, e.dropped_packets); break;
    case ie::flow_end_reason: put_u8(out, static_cast<uint8_t>(e.reason)); break;
    case ie::firewall_event: put_u8(out, static_cast<uint8_t>(e.firewall)); break;
    case ie::nat_event: put_u8(out, static_cast<uint8_t>(e.nat)); break;
    case ie::tcp_control_bits: put_u16(out, e.tcp_flags); break;
    case ie::ingress_interface: put_u32(out, e.ingress_port); break;
    case ie::egress_interface: put_u32(out, e.egress_port); break;
    case ie::http_request_host: put_variable_length(out, text.http_host); break;
    default: out.insert(out.end(), f.length, uint8_t{0}); break; // not reached: every template field is above
    }
}

std::size_t data_record_size(template_id t, const flow_strings& text) noexcept {
    std::size_t n = fixed_data_size(template_fields(t));
    if (t == template_id::ipv4_flow || t == template_id::ipv6_flow)
        n += variable_length_size(text.http_host.size()) + variable_length_size(text.server_name.size()) +
             variable_length_size(text.rule.size());
    return n;
}

bool known_kind(flow::event_kind k) noexcept {
    return k == flow::event_kind::flow_end || k == flow::event_kind::flow_update ||
           k == flow::event_kind::flow_denied || k == flow::event_kind::nat_event;
}

} // namespace

std::span<const field_spec> template_fields(template_id t) noexcept {
    switch (t) {
    case template_id::ipv4_flow: return ipv4_flow_fields;
    case template_id::ipv6_flow: return ipv6_flow_fields;
    case template_id::nat_event: return nat_event_fields;
    case template_id::ipv4_denied: return ipv4_denied_fields;
    case template_id::ipv6_denied: return ipv6_denied_fields;
    case template_id::exporter_statistics: return exporter_statistics_fields;
    }
    return {};
}

template_id template_for(const flow::flow_event& e) noexcept {
    switch (e.kind) {
    case flow::event_kind::nat_event: return template_id::nat_event;
    case flow::event_kind::flow_denied: return e.is_v4() ? template_id::ipv4_denied : template_id::ipv6_denied;
    case flow::event_kind::flow_end:
    case flow::event_kind::flow_update: break;
    }
    return e.is_v4() ? template_id::ipv4_flow : template_id::ipv6_flow;
}

flow_strings strings_of(const flow::flow_event& e) noexcept {
    return flow_strings{e.http_host(), e.server_name(), flow::field_text(e.rule)};
}

std::size_t utf8_sequence_length(std::string_view s, std::size_t i) noexcept {
    const auto at = [&](std::size_t k) { return static_cast<uint8_t>(s[k]); };
    const uint8_t b0 = at(i);
    if (b0 < 0x80) return 1;
    std::size_t n = 0;
    uint32_t cp = 0;
    if (b0 >= 0xc2 && b0 <= 0xdf) {
        n = 2;
        cp = b0 & 0x1fu;
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
        n = 3;
        cp = b0 & 0x0fu;
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
        n = 4;
        cp = b0 & 0x07u;
    } else {
        return 0; // continuation octet, overlong lead (c0, c1) or beyond U+10FFFF
    }
    if (s.size() - i < n) return 0;
    for (std::size_t k = 1; k < n; ++k) {
        if ((at(i + k) & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (at(i + k) & 0x3fu);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000)) return 0; // overlong
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return n;
}

void put_variable_length(std::vector<uint8_t>& out, std::string_view s) {
    const std::size_t n = std::min<std::size_t>(s.size(), 0xffff);
    if (n < 255) {
        put_u8(out, static_cast<uint8_t>(n));
    } else {
        put_u8(out, 255);
        put_u16(out, static_cast<uint16_t>(n));
    }
    for (std::size_t i = 0; i < n;) {
        const std::size_t len = utf8_sequence_length(s.substr(0, n), i);
        if (len == 0) {
            put_u8(out, static_cast<uint8_t>('?'));
            ++i;
        } else {
            out.insert(out.end(), s.begin() + static_cast<std::ptrdiff_t>(i),
                       s.begin() + static_cast<std::ptrdiff_t>(i + len));
            i += len;
        }
    }
}

message_builder::message_builder(const encoder_settings& s) : settings_(s) {
    settings_.max_message_bytes = std::clamp(settings_.max_message_bytes, min_message_bytes, max_message_bytes_limit);
    messages_.reserve(16);
}

bool message_builder::templates_due(uint32_t now_s) const noexcept {
    if (!templates_added_) return true;
    if (templates_pending_ || !templates_exported_) return false;
    return now_s - templates_export_s_ >= settings_.template_refresh_s;
}

void message_builder::add_templates() {
    for (const template_id t : all_templates) {
        const std::size_t n = template_record_size(template_fields(t));
        reserve_record(template_set_id, n); // always fits: n < min_message_bytes - 20
        put_template_record(current(), t, settings_.enterprise_number);
        messages_[used_ - 1].has_templates = true;
    }
    reserve_record(options_template_set_id, options_template_record_size);
    put_template_record(current(), template_id::exporter_statistics, settings_.enterprise_number,
                        exporter_statistics_scope_fields);
    messages_[used_ - 1].has_templates = true;
    templates_added_ = true;
    templates_pending_ = true;
    ++counters_.template_sets;
}

bool message_builder::add(const flow::flow_event& e) { return add(e, strings_of(e)); }

bool message_builder::add(const flow::flow_event& e, const flow_strings& text) {
    if (!known_kind(e.kind)) {
        ++counters_.records_unknown;
        return false;
    }
    const template_id t = template_for(e);
    const std::size_t n = data_record_size(t, text);
    if (message_header_bytes + set_header_bytes + n > settings_.max_message_bytes) {
        ++counters_.records_too_large;
        return false;
    }
    if (!templates_added_) add_templates();
    reserve_record(static_cast<uint16_t>(t), n);
    std::vector<uint8_t>& out = current();
    for (const field_spec& f : template_fields(t)) put_field(out, f, e, text);
    ++messages_[used_ - 1].records;
    ++counters_.data_records;
    return true;
}

void message_builder::add_exporter_statistics(uint64_t not_sent_total, uint64_t now_ms) {
    if (!templates_added_) add_templates();
    reserve_record(static_cast<uint16_t>(template_id::exporter_statistics), fixed_data_size(exporter_statistics_fields));
    std::vector<uint8_t>& out = current();
    put_u32(out, settings_.observation_domain_id); // exportingProcessId
    put_u64(out, not_sent_total);                  // notSentFlowTotalCount
    put_u64(out, now_ms);                          // observationTimeMilliseconds
    ++messages_[used_ - 1].records;
    ++counters_.statistics_records;
}

uint32_t message_builder::pending_records() const noexcept {
    uint32_t n = 0;
    for (std::size_t i = 0; i < used_; ++i) n += messages_[i].records;
    return n;
}

bool message_builder::reserve_record(uint16_t set_id, std::size_t n) {
    const std::size_t max = settings_.max_message_bytes;
    if (message_header_bytes + set_header_bytes + n > max) return false;
    const std::size_t need = n + (set_id_ == set_id ? 0 : set_header_bytes);
    if (used_ == 0 || current().size() + need > max) start_message();
    if (set_id_ != set_id) {
        close_set();
        set_start_ = current().size();
        set_id_ = set_id;
        put_u16(current(), set_id);
        put_u16(current(), 0); // set length, written by close_set
    }
    return true;
}

void message_builder::start_message() {
    close_set();
    if (used_ == messages_.size()) {
        messages_.emplace_back();
        messages_.back().bytes.reserve(settings_.max_message_bytes);
    }
    pending_message& m = messages_[used_++];
    m.bytes.clear();
    m.bytes.resize(message_header_bytes); // written by finalize
    m.records = 0;
    m.has_templates = false;
}

void message_builder::close_set() noexcept {
    if (set_id_ == 0) return;
    std::vector<uint8_t>& out = current();
    store_u16(out.data() + set_start_ + 2, static_cast<uint16_t>(out.size() - set_start_));
    set_id_ = 0;
}

void message_builder::finalize(uint32_t export_time_s) noexcept {
    close_set();
    for (std::size_t i = 0; i < used_; ++i) {
        pending_message& m = messages_[i];
        uint8_t* h = m.bytes.data();
        store_u16(h, ipfix_version);
        store_u16(h + 2, static_cast<uint16_t>(m.bytes.size()));
        store_u32(h + 4, export_time_s);
        store_u32(h + 8, sequence_);
        store_u32(h + 12, settings_.observation_domain_id);
        sequence_ += m.records; // wraps modulo 2^32 as RFC 7011 §3.1 says
        if (m.has_templates) {
            templates_exported_ = true;
            templates_export_s_ = export_time_s;
        }
        ++counters_.messages;
    }
    templates_pending_ = false;
}

void message_builder::discard() noexcept {
    used_ = 0;
    set_id_ = 0;
}

std::vector<std::vector<uint8_t>> message_builder::take_messages(uint32_t export_time_s) {
    std::vector<std::vector<uint8_t>> out;
    out.reserve(used_);
    flush(export_time_s, [&out](std::span<const uint8_t> m) { out.emplace_back(m.begin(), m.end()); });
    return out;
}

} // namespace egress::ipfix
