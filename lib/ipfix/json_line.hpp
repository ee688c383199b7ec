// Flow events as JSON lines: the same content as the IPFIX records (encoder.hpp),
// one JSON object per event, for SIEMs and log shippers that do not speak IPFIX.
//
// Keys, in this order (absent keys are absent for that kind):
//   flow_end, flow_update (IPv4 and IPv6):
//     event          "flow_end" | "flow_update"
//     start_ms       flowStartMilliseconds, Unix epoch ms (integer)
//     end_ms         flowEndMilliseconds
//     proto          protocolIdentifier (integer)
//     src, src_port  the initiator (inside host) as it sent; addresses as text
//     dst, dst_port  the remote peer
//     post_nat_src, post_nat_src_port   IPv4 only: the public address and port
//     bytes_out, packets_out  initiator -> responder (deltas; IP octets)
//     bytes_in, packets_in    responder -> initiator
//     tcp_flags      tcpControlBits (integer, both directions ORed)
//     end_reason, end_reason_code          flowEndReason name and IANA code
//     firewall_event, firewall_event_code  firewallEvent name and IANA code
//     nat_event, nat_event_code            IPv4 only: natEvent name and IANA code
//     ingress_if, egress_if  0 inside, 1 outside
//     http_host, server_name, rule  HTTP Host, TLS SNI, policy rule ("" when unknown)
//   nat_event:
//     event "nat_event", time_ms, nat_event, nat_event_code, proto, src, src_port,
//     post_nat_src, post_nat_src_port, dst, dst_port
//   flow_denied:
//     event "flow_denied", start_ms (first attempt), end_ms (last), proto, src,
//     src_port, dst, dst_port, attempts, firewall_event, firewall_event_code,
//     drop_reason (stats::drop_reason name), drop_reason_code
//   an event of an unknown kind: event "unknown", event_code
//   loss report (to_json_loss_line): event "events_lost", time_ms, lost_total
//     (flow events the workers could not queue so far; the IPFIX equivalent is
//     notSentFlowTotalCount in the exporter_statistics record)
//
// Names are the snake_case forms of the IANA registry entries (and of
// stats::drop_reason); a code outside the known values is named "unknown".
// Strings are JSON-escaped: '"', '\\' and control characters escaped, valid
// UTF-8 kept, every octet that is not valid UTF-8 written as \ufffd.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "flow/flow_event.hpp"

namespace egress::ipfix {

std::string_view name_of(flow::event_kind k) noexcept;
std::string_view name_of(flow::end_reason r) noexcept;
std::string_view name_of(flow::nat_event_type n) noexcept;
std::string_view name_of(flow::firewall_event f) noexcept;

// Appends s as a JSON string literal (with the quotes).
void append_json_string(std::string& out, std::string_view s);

// Appends the event as one JSON object and a '\n'.
void append_json_line(std::string& out, const flow::flow_event& e);
// The event as one JSON object and a '\n', ready to write to the log.
std::string to_json_line(const flow::flow_event& e);
// The loss report line: {"event":"events_lost","time_ms":..,"lost_total":..} and a '\n'.
std::string to_json_loss_line(uint64_t lost_total, uint64_t now_ms);

} // namespace egress::ipfix
