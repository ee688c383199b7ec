// Per-worker counters. Each worker owns one instance (no sharing, no atomics on
// the fast path); the control plane sums them after a worker has stopped or reads
// them as slightly stale 64-bit values while it runs.
#pragma once

#include <array>
#include <cstdint>

#include "stats/drop_reason.hpp"

namespace egress::stats {

enum class side : uint8_t { inside = 0, outside = 1 };
inline constexpr std::size_t side_count = 2;

enum class flow_proto : uint8_t { tcp = 0, udp = 1, icmp = 2 };
inline constexpr std::size_t flow_proto_count = 3;
inline constexpr std::array<const char*, flow_proto_count> flow_proto_names{"tcp", "udp", "icmp"};

struct port_counters {
    uint64_t rx_packets = 0;
    uint64_t rx_bytes = 0;
    uint64_t tx_packets = 0;
    uint64_t tx_bytes = 0;
};

struct alignas(64) worker_counters {
    std::array<port_counters, side_count> ports{};
    std::array<uint64_t, drop_reason_count> drops{};
    std::array<uint64_t, flow_proto_count> flows_created{};
    std::array<uint64_t, flow_proto_count> flows_expired{};
    uint64_t tcp_reopened = 0; // a SYN reused the tuple of a flow in TIME_WAIT / closed
    uint64_t events_queued = 0; // flow events handed to the exporter
    uint64_t events_lost = 0;   // flow events lost because the exporter's ring was full
    uint64_t policy_would_deny = 0; // new flows a report-mode rule would have denied (they passed)
    uint64_t policy_flows_cut = 0;  // existing flows a new policy version or a block denied (cut, TCP reset)
    uint64_t security_events_queued = 0; // security events handed to the event log
    uint64_t security_events_lost = 0;   // security events lost because the event ring was full
    uint64_t inspect_unchecked = 0;      // flows let through uninspected: no inspection slot free (fail open)
    uint64_t dlp_blocked = 0;            // flows cut by a DLP pattern with action "block"
    uint64_t icmp_errors_relayed_in = 0;  // ICMP errors from outside quoting a flow, delivered inside
    uint64_t icmp_errors_relayed_out = 0; // ICMP errors from inside quoting a flow, sent outside
    uint64_t icmp_errors_sent = 0;        // the gateway's own errors (time exceeded, frag needed, too big)
    uint64_t icmp_errors_rate_limited = 0; // own errors not sent: [icmp] rate limit
    uint64_t icmp_errors_no_source = 0;   // own errors not sent: no own address of the family on that side
    uint64_t mss_clamped = 0;             // SYN / SYN-ACK segments whose MSS option was lowered
    uint64_t mss_options_malformed = 0;   // SYNs whose options could not be walked (passed untouched)
    uint64_t fragments_forwarded = 0;    // fragments translated and sent on at once
    uint64_t fragments_held = 0;         // fragments copied to wait for their datagram's first fragment
    uint64_t fragments_released = 0;     // held fragments sent on once the first fragment passed
    uint64_t fragment_datagrams = 0;           // fragmented datagrams tracked
    uint64_t fragment_datagrams_completed = 0; // ... whose every byte passed
    uint64_t fragment_datagrams_expired = 0;   // ... that timed out incomplete (or dropped)

    // Neighbour resolution and the gateway's own replies (lib/gateway/neighbor_resolver).
    uint64_t neighbor_requests_sent = 0;      // ARP requests and neighbour solicitations (incl. retries, probes)
    uint64_t neighbor_replies_sent = 0;       // ARP replies and solicited neighbour advertisements
    uint64_t neighbor_announcements_sent = 0; // gratuitous ARP and unsolicited advertisements at start
    uint64_t neighbor_resolved = 0;           // next hops resolved (incomplete -> reachable)
    uint64_t neighbor_learned = 0;            // entries created from a request addressed to the gateway
    uint64_t neighbor_frames_queued = 0;      // frames held while their next hop was resolved
    uint64_t neighbor_frames_released = 0;    // held frames sent once it was
    uint64_t echo_replies_sent = 0;           // ICMP / ICMPv6 echo replies from the gateway's own addresses
    uint64_t source_untracked = 0;            // new flows admitted uncounted: the [limits] source tables were full
    uint64_t source_limit_reports = 0;        // source_limit security events built (at most one per host per interval)
    uint64_t hairpinned = 0;                  // packets from inside to a pool address:port turned back inside

    // The hold point (flows waiting for their hostname: lib/gateway/flow_policy_stage).
    uint64_t hold_segments = 0;       // client segments with payload held (consumed) before the verdict
    uint64_t hold_bytes = 0;          // their payload bytes (a retransmission counts again)
    uint64_t hold_released_bytes = 0; // held bytes sent on once the flow was allowed
    uint64_t hold_overflows = 0;      // holds that reached [inspect] max_bytes (the flow's bound)
    // Flows denied by a policy setting rather than a rule (stats/policy_denial.hpp),
    // by the reason they were denied under; counted once per decision.
    std::array<uint64_t, drop_reason_count> setting_denials{};

    // DNS-verified names (verify = "observed": lib/gateway/dns_observer).
    uint64_t dns_responses = 0;       // DNS responses read from flows' replies (UDP datagrams, TCP messages)
    uint64_t dns_not_from_server = 0; // responses from a source outside [dns] servers: not recorded
    uint64_t dns_tcp_unread = 0;      // TCP segments with a DNS message not ending within them: not recorded
    uint64_t dns_copies_learned = 0;  // responses another worker saw, recorded from its copy
    uint64_t sni_verified = 0;        // names whose destination DNS gave them
    uint64_t sni_unverified = 0;      // names whose destination DNS did not give them (denied, or reported)
    // verify = "resolve": egressd's own lookups (dns_observer::resolve).
    uint64_t resolve_lookups = 0;      // lookups asked of the resolver thread
    uint64_t resolve_answers = 0;      // outcomes it handed back (answers, NXDOMAIN, failures, timeouts)
    uint64_t resolve_failures = 0;     // of those: failed or timed out at the resolver thread
    uint64_t resolve_pending_full = 0; // a name not asked: [dns] resolve_pending names already waited for
    uint64_t resolve_ring_full = 0;    // a name not asked: the request ring was full
    uint64_t resolve_failure_allowed = 0; // flows allowed by [dns] on_resolve_failure = "allow"

    // The exception path (lib/gateway/exception_path.hpp, dataplane/exception_tap).
    uint64_t exception_to_kernel = 0;   // frames handed to a side's exception interface (copies included)
    uint64_t exception_from_kernel = 0; // frames the kernel sent from it, passed to the port's TX queue
    uint64_t exception_handed_to_worker0 = 0; // frames for it another worker received, handed to worker 0

    // no_drop is not a reason: not counted.
    void count_drop(drop_reason r) noexcept {
        if (r < drop_reason::count_) ++drops[static_cast<std::size_t>(r)];
    }
    port_counters& port(side s) noexcept { return ports[static_cast<std::size_t>(s)]; }
    const port_counters& port(side s) const noexcept { return ports[static_cast<std::size_t>(s)]; }

    worker_counters& operator+=(const worker_counters& o) noexcept {
        for (std::size_t i = 0; i < side_count; ++i) {
            ports[i].rx_packets += o.ports[i].rx_packets;
            ports[i].rx_bytes += o.ports[i].rx_bytes;
            ports[i].tx_packets += o.ports[i].tx_packets;
            ports[i].tx_bytes += o.ports[i].tx_bytes;
        }
        for (std::size_t i = 0; i < drop_reason_count; ++i) drops[i] += o.drops[i];
        for (std::size_t i = 0; i < flow_proto_count; ++i) {
            flows_created[i] += o.flows_created[i];
            flows_expired[i] += o.flows_expired[i];
        }
        tcp_reopened += o.tcp_reopened;
        events_queued += o.events_queued;
        events_lost += o.events_lost;
        policy_would_deny += o.policy_would_deny;
        policy_flows_cut += o.policy_flows_cut;
        security_events_queued += o.security_events_queued;
        security_events_lost += o.security_events_lost;
        inspect_unchecked += o.inspect_unchecked;
        dlp_blocked += o.dlp_blocked;
        icmp_errors_relayed_in += o.icmp_errors_relayed_in;
        icmp_errors_relayed_out += o.icmp_errors_relayed_out;
        icmp_errors_sent += o.icmp_errors_sent;
        icmp_errors_rate_limited += o.icmp_errors_rate_limited;
        icmp_errors_no_source += o.icmp_errors_no_source;
        mss_clamped += o.mss_clamped;
        mss_options_malformed += o.mss_options_malformed;
        fragments_forwarded += o.fragments_forwarded;
        fragments_held += o.fragments_held;
        fragments_released += o.fragments_released;
        fragment_datagrams += o.fragment_datagrams;
        fragment_datagrams_completed += o.fragment_datagrams_completed;
        fragment_datagrams_expired += o.fragment_datagrams_expired;
        neighbor_requests_sent += o.neighbor_requests_sent;
        neighbor_replies_sent += o.neighbor_replies_sent;
        neighbor_announcements_sent += o.neighbor_announcements_sent;
        neighbor_resolved += o.neighbor_resolved;
        neighbor_learned += o.neighbor_learned;
        neighbor_frames_queued += o.neighbor_frames_queued;
        neighbor_frames_released += o.neighbor_frames_released;
        echo_replies_sent += o.echo_replies_sent;
        source_untracked += o.source_untracked;
        source_limit_reports += o.source_limit_reports;
        hairpinned += o.hairpinned;
        hold_segments += o.hold_segments;
        hold_bytes += o.hold_bytes;
        hold_released_bytes += o.hold_released_bytes;
        hold_overflows += o.hold_overflows;
        for (std::size_t i = 0; i < drop_reason_count; ++i) setting_denials[i] += o.setting_denials[i];
        dns_responses += o.dns_responses;
        dns_not_from_server += o.dns_not_from_server;
        dns_tcp_unread += o.dns_tcp_unread;
        dns_copies_learned += o.dns_copies_learned;
        sni_verified += o.sni_verified;
        sni_unverified += o.sni_unverified;
        resolve_lookups += o.resolve_lookups;
        resolve_answers += o.resolve_answers;
        resolve_failures += o.resolve_failures;
        resolve_pending_full += o.resolve_pending_full;
        resolve_ring_full += o.resolve_ring_full;
        resolve_failure_allowed += o.resolve_failure_allowed;
        exception_to_kernel += o.exception_to_kernel;
        exception_from_kernel += o.exception_from_kernel;
        exception_handed_to_worker0 += o.exception_handed_to_worker0;
        return *this;
    }
};

} // namespace egress::stats
