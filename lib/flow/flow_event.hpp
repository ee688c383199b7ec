// What a worker reports about flows to the control plane (IPFIX exporter, JSON
// flow log): one fixed-size, trivially copyable event per record, handed over
// through a per-worker single-producer ring (base::spsc_ring).
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <type_traits>

#include "base/fixed_text.hpp"
#include "net/ip_address.hpp"

namespace egress::flow {

enum class event_kind : uint8_t {
    flow_end = 0,    // the flow is gone: its last counters (deltas since the previous record)
    flow_update = 1, // active timeout: a long flow's counters so far (deltas)
    flow_denied = 2, // attempts refused (aggregated: packets_out = number of attempts)
    nat_event = 3,   // RFC 8158 NAT event (session create/delete, ports exhausted)
};

// IANA flowEndReason (IE 136).
enum class end_reason : uint8_t {
    none = 0,
    idle_timeout = 1,
    active_timeout = 2,
    end_of_flow = 3, // TCP FIN/RST seen
    forced_end = 4,  // gateway shutdown
    lack_of_resources = 5,
};

// IANA natEvent (IE 230, RFC 8158 section 4.3; 1 and 2 are the historic
// "NAT translation create/delete").
enum class nat_event_type : uint8_t {
    none = 0,
    addresses_exhausted = 3,
    nat44_session_create = 4,
    nat44_session_delete = 5,
    ports_exhausted = 12,
};

// IANA firewallEvent (IE 233).
enum class firewall_event : uint8_t {
    ignore = 0,
    flow_created = 1,
    flow_deleted = 2,
    flow_denied = 3,
    flow_alert = 4,
    flow_update = 5,
};

// Which name flow_event::hostname holds.
enum class flow_name_kind : uint8_t { none = 0, tls_sni = 1, http_host = 2 };

struct flow_event {
    event_kind kind = event_kind::flow_end;
    end_reason reason = end_reason::none;
    nat_event_type nat = nat_event_type::none;
    firewall_event firewall = firewall_event::ignore;
    uint8_t proto = 0;
    uint8_t tcp_flags = 0;       // OR of the flags seen in both directions
    uint8_t ingress_port = 0;    // 0 inside, 1 outside (ingress/egressInterface)
    uint8_t egress_port = 0;
    uint64_t start_ms = 0;       // Unix epoch milliseconds (flowStartMilliseconds)
    uint64_t end_ms = 0;         // flowEndMilliseconds / event time
    net::ip_address src;         // the initiator (inside host) as it sent
    net::ip_address dst;         // the remote peer
    net::ip_address post_nat_src; // public address (IPv4 NAT) or all-zero
    uint16_t src_port = 0;
    uint16_t dst_port = 0;
    uint16_t post_nat_src_port = 0;
    uint16_t reserved = 0;
    uint64_t packets_out = 0;    // initiator -> responder (deltas)
    uint64_t bytes_out = 0;
    uint64_t packets_in = 0;     // responder -> initiator (deltas)
    uint64_t bytes_in = 0;
    uint32_t drop_reason = 0;    // flow_denied: the stats::drop_reason of the attempts
    // The flow's name, whole (a DNS name has at most 253 characters;
    // NUL-padded unless full): its TLS SNI or its HTTP Host, which one says
    // name_kind (a flow has one or the other). Empty when not known.
    std::array<char, 253> hostname{};
    flow_name_kind name_kind = flow_name_kind::none;
    // The rule (or setting) that decided the flow, whole (policy names have at
    // most 64 characters): flow_end / flow_update of an allowed flow: the rule
    // that allows it under the policy in force at the time, "default" for the
    // default action; a cut flow: the denying rule or setting
    // (policy_denial.hpp), "emergency_block", or "" for a DLP cut (the
    // security event names the pattern); flow_denied: "" (the drop reason
    // says why). Empty without a policy, and for NAT events.
    std::array<char, 64> rule{};
    // A flow the gateway cut (flow_end with firewall flow_denied; drop_reason
    // says why): its packets dropped from the cut on — in the counts above too,
    // they were observed — and the TCP resets the gateway sent for it.
    uint64_t dropped_packets = 0;
    uint64_t dropped_bytes = 0;
    uint16_t resets_sent = 0;

    bool is_v4() const noexcept { return src.is_v4(); }
    std::string_view server_name() const noexcept {
        return name_kind == flow_name_kind::tls_sni ? base::field_text(hostname) : std::string_view();
    }
    std::string_view http_host() const noexcept {
        return name_kind == flow_name_kind::http_host ? base::field_text(hostname) : std::string_view();
    }
    void set_name(flow_name_kind k, std::string_view name) noexcept {
        name_kind = name.empty() ? flow_name_kind::none : k;
        base::set_field_text(hostname, name);
    }
};

static_assert(std::is_trivially_copyable_v<flow_event>);

using base::field_text;
using base::set_field_text;

} // namespace egress::flow
