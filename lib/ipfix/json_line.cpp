#include "ipfix/json_line.hpp"

#include <iterator>

#include <fmt/format.h>

#include "ipfix/encoder.hpp"
#include "stats/drop_reason.hpp"

namespace egress::ipfix {

std::string_view name_of(flow::event_kind k) noexcept {
    switch (k) {
    case flow::event_kind::flow_end: return "flow_end";
    case flow::event_kind::flow_update: return "flow_update";
    case flow::event_kind::flow_denied: return "flow_denied";
    case flow::event_kind::nat_event: return "nat_event";
    }
    return "unknown";
}

std::string_view name_of(flow::end_reason r) noexcept {
    switch (r) {
    case flow::end_reason::none: return "none";
    case flow::end_reason::idle_timeout: return "idle_timeout";
    case flow::end_reason::active_timeout: return "active_timeout";
    case flow::end_reason::end_of_flow: return "end_of_flow";
    case flow::end_reason::forced_end: return "forced_end";
    case flow::end_reason::lack_of_resources: return "lack_of_resources";
    }
    return "unknown";
}

std::string_view name_of(flow::nat_event_type n) noexcept {
    switch (n) {
    case flow::nat_event_type::none: return "none";
    case flow::nat_event_type::nat44_session_create: return "nat44_session_create";
    case flow::nat_event_type::nat44_session_delete: return "nat44_session_delete";
    case flow::nat_event_type::addresses_exhausted: return "addresses_exhausted";
    case flow::nat_event_type::ports_exhausted: return "ports_exhausted";
    }
    return "unknown";
}

std::string_view name_of(flow::firewall_event f) noexcept {
    switch (f) {
    case flow::firewall_event::ignore: return "ignore";
    case flow::firewall_event::flow_created: return "flow_created";
    case flow::firewall_event::flow_deleted: return "flow_deleted";
    case flow::firewall_event::flow_denied: return "flow_denied";
    case flow::firewall_event::flow_alert: return "flow_alert";
    case flow::firewall_event::flow_update: return "flow_update";
    }
    return "unknown";
}

void append_json_string(std::string& out, std::string_view s) {
    out.push_back('"');
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x80) {
            const std::size_t n = utf8_sequence_length(s, i);
            if (n == 0) {
                out += "\\ufffd";
                ++i;
            } else {
                out.append(s.substr(i, n));
                i += n;
            }
            continue;
        }
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (c < 0x20) {
                fmt::format_to(std::back_inserter(out), "\\u{:04x}", c);
            } else {
                out.push_back(static_cast<char>(c));
            }
        }
        ++i;
    }
    out.push_back('"');
}

namespace {

// Fields of an IPv4-only element (NAT) read 0.0.0.0 when the address is not IPv4,
// as in the IPFIX records.
std::string v4_text(const net::ip_address& a) { return a.is_v4() ? a.to_string() : std::string("0.0.0.0"); }

template <typename... Args>
void put(std::string& out, fmt::format_string<Args...> f, Args&&... args) {
    fmt::format_to(std::back_inserter(out), f, std::forward<Args>(args)...);
}

void put_named(std::string& out, std::string_view key, std::string_view name, unsigned code) {
    put(out, ",\"{}\":\"{}\",\"{}_code\":{}", key, name, key, code);
}

void put_endpoints(std::string& out, const flow::flow_event& e) {
    put(out, ",\"proto\":{},\"src\":\"{}\",\"src_port\":{},\"dst\":\"{}\",\"dst_port\":{}", e.proto, e.src, e.src_port,
        e.dst, e.dst_port);
}

std::string_view reason_name(uint32_t code) noexcept {
    return code < stats::drop_reason_count ? stats::name_of(static_cast<stats::drop_reason>(code))
                                           : std::string_view("unknown");
}

void put_flow(std::string& out, const flow::flow_event& e) {
    put(out, ",\"start_ms\":{},\"end_ms\":{}", e.start_ms, e.end_ms);
    put_endpoints(out, e);
    const bool v4 = e.is_v4();
    if (v4) put(out, ",\"post_nat_src\":\"{}\",\"post_nat_src_port\":{}", v4_text(e.post_nat_src), e.post_nat_src_port);
    put(out, ",\"bytes_out\":{},\"packets_out\":{},\"bytes_in\":{},\"packets_in\":{},\"tcp_flags\":{}", e.bytes_out,
        e.packets_out, e.bytes_in, e.packets_in, e.tcp_flags);
    put_named(out, "end_reason", name_of(e.reason), static_cast<unsigned>(e.reason));
    put_named(out, "firewall_event", name_of(e.firewall), static_cast<unsigned>(e.firewall));
    // As in IPFIX (template 256 has no natEvent): a flow record carries none;
    // NAT44 session create / delete (RFC 8158: 4, 5) and exhaustion (3, 12)
    // are nat_event lines of their own, with the same codes. No reserved 0.
    if (v4 && e.nat != flow::nat_event_type::none)
        put_named(out, "nat_event", name_of(e.nat), static_cast<unsigned>(e.nat));
    if (e.firewall == flow::firewall_event::flow_denied) // a flow the gateway cut: as in its IPFIX record
        put(out, ",\"drop_reason\":\"{}\",\"drop_reason_code\":{},\"dropped_packets\":{},\"dropped_bytes\":{},"
                 "\"resets_sent\":{}",
            reason_name(e.drop_reason), e.drop_reason, e.dropped_packets, e.dropped_bytes, e.resets_sent);
    put(out, ",\"ingress_if\":{},\"egress_if\":{}", e.ingress_port, e.egress_port);
    out += ",\"http_host\":";
    append_json_string(out, e.http_host());
    out += ",\"server_name\":";
    append_json_string(out, e.server_name());
    out += ",\"rule\":";
    append_json_string(out, flow::field_text(e.rule));
}

void put_nat(std::string& out, const flow::flow_event& e) {
    put(out, ",\"time_ms\":{}", e.end_ms);
    put_named(out, "nat_event", name_of(e.nat), static_cast<unsigned>(e.nat));
    put(out,
        ",\"proto\":{},\"src\":\"{}\",\"src_port\":{},\"post_nat_src\":\"{}\",\"post_nat_src_port\":{},"
        "\"dst\":\"{}\",\"dst_port\":{}",
        e.proto, v4_text(e.src), e.src_port, v4_text(e.post_nat_src), e.post_nat_src_port, v4_text(e.dst), e.dst_port);
}

void put_denied(std::string& out, const flow::flow_event& e) {
    put(out, ",\"start_ms\":{},\"end_ms\":{}", e.start_ms, e.end_ms);
    put_endpoints(out, e);
    put(out, ",\"attempts\":{}", e.packets_out);
    put_named(out, "firewall_event", name_of(e.firewall), static_cast<unsigned>(e.firewall));
    put(out, ",\"drop_reason\":\"{}\",\"drop_reason_code\":{}", reason_name(e.drop_reason), e.drop_reason);
}

} // namespace

void append_json_line(std::string& out, const flow::flow_event& e) {
    put(out, "{{\"event\":\"{}\"", name_of(e.kind));
    switch (e.kind) {
    case flow::event_kind::flow_end:
    case flow::event_kind::flow_update: put_flow(out, e); break;
    case flow::event_kind::nat_event: put_nat(out, e); break;
    case flow::event_kind::flow_denied: put_denied(out, e); break;
    default: put(out, ",\"event_code\":{}", static_cast<unsigned>(e.kind)); break;
    }
    out += "}\n";
}

std::string to_json_line(const flow::flow_event& e) {
    std::string out;
    out.reserve(512);
    append_json_line(out, e);
    return out;
}

std::string to_json_loss_line(uint64_t lost_total, uint64_t now_ms) {
    return fmt::format("{{\"event\":\"events_lost\",\"time_ms\":{},\"lost_total\":{}}}\n", now_ms, lost_total);
}

} // namespace egress::ipfix
