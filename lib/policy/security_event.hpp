// What the packet path reports to the security event log: a policy decision
// that denied (or, in report mode, would have denied) a new flow, or cut an
// existing one. Fixed size and trivially copyable: the worker hands events to
// the control plane through a bounded single-producer ring (never blocking; a
// full ring counts the event as lost). The control plane adds its own events
// (reloads, blocks added and removed) and writes them all as JSON lines.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <type_traits>

#include "base/fixed_text.hpp"
#include "base/spsc_ring.hpp"
#include "dlp/dlp.hpp"
#include "net/ip_address.hpp"
#include "policy/cidr.hpp"
#include "stats/drop_reason.hpp"

namespace egress::policy {

enum class security_event_kind : uint8_t {
    deny,       // a new flow denied by a rule or the default action
    would_deny, // a new flow a report-mode rule would deny (it passed)
    cut,        // an existing flow a newer policy denies (dropped, TCP reset)
    block,      // a new or existing flow to an emergency-blocked destination
    dlp,        // a DLP pattern matched the flow's payload (alert, or block: the flow is cut)
    source_limit, // an inside host was refused new flows by a [limits] limit (`rule`: which; one per host per interval)
};

std::string_view to_string(security_event_kind k) noexcept;

struct security_event {
    security_event_kind kind = security_event_kind::deny;
    uint8_t proto = 0;
    bool existing_flow = false; // block: the flow existed (cut) rather than being new
    uint16_t src_port = 0;      // TCP/UDP ports, ICMP echo identifier in src_port
    uint16_t dst_port = 0;
    net::ip_address src;        // the inside host
    net::ip_address dst;        // the remote destination
    uint64_t time_unix_ms = 0;
    uint64_t policy_version = 0;
    cidr blocked;               // block: the block's CIDR
    std::array<char, 64> rule{}; // deny/would_deny/cut: the deciding rule's name ("" for the default), truncated
    std::array<char, 253> hostname{}; // the flow's TLS SNI / HTTP Host when known (NUL-padded)
    // dlp: the pattern's name is in `rule`; where the match is in the flow's
    // byte stream of `dlp_direction` and a masked sample (never the match).
    uint8_t dlp_severity = 0;  // dlp::dlp_severity
    uint8_t dlp_action = 0;    // dlp::dlp_action
    uint8_t dlp_direction = 0; // dlp::dlp_direction
    uint64_t dlp_offset = 0;
    uint64_t dlp_length = 0;
    dlp::dlp_sample dlp_sample;
    // deny / block / cut: the reason the flow's packet was dropped under
    // (policy_denied, policy_quic, inspect_no_sni, hold_timeout, ...); no_drop otherwise.
    stats::drop_reason reason = stats::no_drop;
    // reason sni_unverified (kind deny, or would_deny in report mode): verify =
    // "observed" did not find the destination among the addresses DNS gave the
    // hostname; what DNS said, the first dns_said_count of them.
    uint8_t dns_said_count = 0;
    std::array<net::ip_address, 4> dns_said{};
};

static_assert(std::is_trivially_copyable_v<security_event>);

using security_ring = base::spsc_ring<security_event>;

} // namespace egress::policy
