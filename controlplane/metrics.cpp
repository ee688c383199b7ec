#include "metrics.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>
#include <initializer_list>
#include <stdexcept>
#include <utility>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include "stats/policy_denial.hpp"

namespace egress::controlplane {

namespace {

// ---------------------------------------------------------------- exposition

using label = std::pair<std::string_view, std::string_view>;

void family(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
    // HELP text is fixed here (no backslash or newline), so it needs no escaping.
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

void sample(std::string& out, std::string_view name, std::initializer_list<label> labels, uint64_t value) {
    out += name;
    if (labels.size() != 0) {
        out += '{';
        bool first = true;
        for (const auto& [key, val] : labels) {
            if (!first) out += ',';
            first = false;
            out += key;
            out += "=\"";
            out += escape_label_value(val);
            out += '"';
        }
        out += '}';
    }
    out += fmt::format(" {}\n", value);
}

// A family with a single, unlabelled sample.
void one_sample(std::string& out, std::string_view name, std::string_view type, std::string_view help, uint64_t value) {
    family(out, name, type, help);
    sample(out, name, {}, value);
}

constexpr std::string_view side_names[stats::side_count] = {"inside", "outside"};

// Worker liveness (live reports only): a healthy worker begins a loop every few
// microseconds, busy or idle, so an age of seconds means it is stuck.
void worker_metrics(std::string& out, const run_report& r) {
    if (r.worker_loop_age_ms.empty()) return;
    family(out, "egress_worker_loop_age_seconds", "gauge",
           "Time since each worker last began a loop of its run (grows while a worker is stalled).");
    for (std::size_t w = 0; w < r.worker_loop_age_ms.size(); ++w)
        out += fmt::format("egress_worker_loop_age_seconds{{worker=\"{}\"}} {:.3f}\n", w,
                           static_cast<double>(r.worker_loop_age_ms[w]) / 1000.0);
}

} // namespace

std::string escape_label_value(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (char c : value) {
        switch (c) {
        case '\\': out += "\\\\"; break;
        case '"': out += "\\\""; break;
        case '\n': out += "\\n"; break;
        default: out += c;
        }
    }
    return out;
}

namespace {

// The families of the ports' packets and bytes, drops by reason.
void port_and_drop_metrics(std::string& out, const stats::worker_counters& c) {
    family(out, "egress_port_packets_total", "counter", "Packets received (rx) and sent (tx) per port.");
    for (std::size_t i = 0; i < stats::side_count; ++i) {
        sample(out, "egress_port_packets_total", {{"port", side_names[i]}, {"direction", "rx"}}, c.ports[i].rx_packets);
        sample(out, "egress_port_packets_total", {{"port", side_names[i]}, {"direction", "tx"}}, c.ports[i].tx_packets);
    }
    family(out, "egress_port_bytes_total", "counter", "Bytes received (rx) and sent (tx) per port.");
    for (std::size_t i = 0; i < stats::side_count; ++i) {
        sample(out, "egress_port_bytes_total", {{"port", side_names[i]}, {"direction", "rx"}}, c.ports[i].rx_bytes);
        sample(out, "egress_port_bytes_total", {{"port", side_names[i]}, {"direction", "tx"}}, c.ports[i].tx_bytes);
    }

    family(out, "egress_drops_total", "counter", "Packets dropped, by reason.");
    for (std::size_t i = 0; i < stats::drop_reason_count; ++i)
        sample(out, "egress_drops_total", {{"reason", stats::drop_reason_names[i]}}, c.drops[i]);
}

// The devices' receive-side losses (before egressd saw the frames).
void device_loss_metrics(std::string& out, const run_report& r) {
    family(out, "egress_port_rx_missed_total", "counter",
           "Frames the device dropped because its receive ring was full (imissed), per port.");
    for (std::size_t i = 0; i < stats::side_count; ++i)
        sample(out, "egress_port_rx_missed_total", {{"port", side_names[i]}}, r.rx_losses[i].missed);
    family(out, "egress_port_rx_nombuf_total", "counter",
           "Frames the device could not receive for want of an mbuf (rx_nombuf), per port.");
    for (std::size_t i = 0; i < stats::side_count; ++i)
        sample(out, "egress_port_rx_nombuf_total", {{"port", side_names[i]}}, r.rx_losses[i].nombuf);
    family(out, "egress_port_rx_errors_total", "counter", "Erroneous frames the device received (ierrors), per port.");
    for (std::size_t i = 0; i < stats::side_count; ++i)
        sample(out, "egress_port_rx_errors_total", {{"port", side_names[i]}}, r.rx_losses[i].errors);
}

// The families of the flow table.
void flow_metrics(std::string& out, const run_report& r) {
    const auto& c = r.counters;
    // Active per protocol = created - expired (every flow that leaves the table
    // is counted as expired); their sum is the table's size.
    family(out, "egress_flows_active", "gauge", "Flows in the flow table, by protocol.");
    for (std::size_t i = 0; i < stats::flow_proto_count; ++i)
        sample(out, "egress_flows_active", {{"protocol", stats::flow_proto_names[i]}},
               c.flows_created[i] >= c.flows_expired[i] ? c.flows_created[i] - c.flows_expired[i] : 0);
    one_sample(out, "egress_flow_capacity", "gauge", "Capacity of the flow table, in flows.", r.flow_capacity);

    family(out, "egress_flows_created_total", "counter", "Flows created, by protocol.");
    for (std::size_t i = 0; i < stats::flow_proto_count; ++i)
        sample(out, "egress_flows_created_total", {{"protocol", stats::flow_proto_names[i]}}, c.flows_created[i]);
    family(out, "egress_flows_expired_total", "counter", "Flows expired or ended, by protocol.");
    for (std::size_t i = 0; i < stats::flow_proto_count; ++i)
        sample(out, "egress_flows_expired_total", {{"protocol", stats::flow_proto_names[i]}}, c.flows_expired[i]);
    one_sample(out, "egress_tcp_reopened_total", "counter", "TCP SYNs that reused the tuple of a flow in TIME_WAIT or closed.", c.tcp_reopened);
}

// The families of the NAT pool, per public address.
void nat_metrics(std::string& out, const run_report& r) {
    std::vector<std::string> addresses;
    addresses.reserve(r.pool.size());
    for (const auto& a : r.pool) addresses.push_back(a.address.to_string());
    family(out, "egress_nat_mappings_active", "gauge", "NAT mappings in use, per public address.");
    for (std::size_t i = 0; i < r.pool.size(); ++i)
        sample(out, "egress_nat_mappings_active", {{"address", addresses[i]}}, r.pool[i].mappings_active);
    family(out, "egress_nat_mappings_created_total", "counter", "NAT mappings created, per public address.");
    for (std::size_t i = 0; i < r.pool.size(); ++i)
        sample(out, "egress_nat_mappings_created_total", {{"address", addresses[i]}}, r.pool[i].mappings_created);
    family(out, "egress_nat_port_exhaustion_total", "counter",
           "Mappings refused because no public port was free, per public address.");
    for (std::size_t i = 0; i < r.pool.size(); ++i)
        sample(out, "egress_nat_port_exhaustion_total", {{"address", addresses[i]}}, r.pool[i].exhausted);
}

// The families of flow export.
void export_metrics(std::string& out, const run_report& r) {
    const auto& c = r.counters;
    one_sample(out, "egress_export_records_total", "counter", "Flow records exported (IPFIX records or JSON lines).", r.export_records);
    one_sample(out, "egress_export_messages_total", "counter", "IPFIX messages sent.", r.export_messages);
    one_sample(out, "egress_export_send_errors_total", "counter", "IPFIX messages that could not be sent.", r.export_send_errors);
    family(out, "egress_export_events_lost_total", "counter",
           "Flow events lost because the flow-event ring was full.");
    // The worker's count and the exporter's reading of the ring count the same
    // overflow; a live report may carry only the first, a final one both.
    sample(out, "egress_export_events_lost_total", {}, std::max(r.export_events_lost, c.events_lost));
    one_sample(out, "egress_export_events_queued_total", "counter", "Flow events handed to the exporter.", c.events_queued);
}

// The families of the policy in force and its events.
void policy_metrics(std::string& out, const run_report& r, const policy_status& p) {
    const auto& c = r.counters;
    family(out, "egress_policy_decisions_total", "counter",
           "New flows decided, per rule and action (report: a report-mode rule matched; rule \"default\" is the "
           "default action, \"emergency_block\" the blocks, \"inspection.*\" and \"inspect.hold_timeout\" the "
           "[policy.inspection] / [inspect] settings that deny a flow whose name cannot be matched).");
    for (const auto& rule : p.rules)
        sample(out, "egress_policy_decisions_total",
               {{"rule", rule.name},
                {"action", rule.mode == policy::rule_mode::report ? "report" : policy::to_string(rule.action)}},
               rule.hits);
    if (p.present) {
        sample(out, "egress_policy_decisions_total", {{"rule", "default"}, {"action", policy::to_string(p.default_action)}},
               p.default_hits);
        // Denials a policy setting decided (the flow's name could not be matched
        // or never came): worker counters, so they too survive reloads.
        for (const stats::setting_denial& d : stats::setting_denials)
            sample(out, "egress_policy_decisions_total", {{"rule", d.rule}, {"action", "deny"}},
                   c.setting_denials[static_cast<std::size_t>(d.reason)]);
    }
    sample(out, "egress_policy_decisions_total", {{"rule", "emergency_block"}, {"action", "deny"}}, p.block_hits);
    one_sample(out, "egress_policy_would_deny_total", "counter", "New flows a report-mode deny rule let through.", c.policy_would_deny);
    one_sample(out, "egress_policy_flows_cut_total", "counter", "Existing flows cut because a newer policy or an emergency block denies them.", c.policy_flows_cut);
    one_sample(out, "egress_policy_version", "gauge", "Version of the policy in force (1 at start, +1 per successful reload).", p.version);
    family(out, "egress_policy_reloads_total", "counter", "Policy reloads, by result.");
    sample(out, "egress_policy_reloads_total", {{"result", "success"}}, p.reloads_ok);
    sample(out, "egress_policy_reloads_total", {{"result", "failure"}}, p.reloads_failed);
    one_sample(out, "egress_policy_last_reload_success_timestamp_seconds", "gauge", "When the policy in force was loaded, since the Unix epoch, in seconds.", p.last_reload_success_unix_ms / 1000);
    one_sample(out, "egress_policy_blocks_active", "gauge", "Emergency blocks in force.", p.blocks_active);
    one_sample(out, "egress_security_events_total", "counter", "Security events handed to the event log.", c.security_events_queued);
    one_sample(out, "egress_security_events_lost_total", "counter", "Security events lost because the event ring was full.", c.security_events_lost);
}

// The families of DLP, ICMP, MSS clamping, uninspected flows.
void inspection_metrics(std::string& out, const run_report& r, const policy_status& p) {
    const auto& c = r.counters;
    one_sample(out, "egress_dlp_patterns", "gauge", "DLP patterns in the policy in force.", p.dlp_patterns);
    one_sample(out, "egress_dlp_scanned_bytes_total", "counter", "Payload bytes scanned by DLP.", p.dlp_bytes);
    one_sample(out, "egress_dlp_matches_total", "counter", "DLP matches reported (validated).", p.dlp_matches);
    one_sample(out, "egress_dlp_validator_rejected_total", "counter", "DLP matches a validator (Luhn) rejected.", p.dlp_validator_rejected);
    one_sample(out, "egress_dlp_flows_blocked_total", "counter", "Flows cut by a DLP pattern with action block.", c.dlp_blocked);
    one_sample(out, "egress_dlp_stream_exhausted_total", "counter", "Flow directions not scanned because every DLP stream was in use.", p.dlp_pool_exhausted);
    one_sample(out, "egress_dlp_depth_reached_total", "counter", "Flow directions that reached the DLP inspection depth.", p.dlp_depth_reached);
    one_sample(out, "egress_dlp_rescans_total", "counter", "Retransmitted TCP segments DLP scanned again (their first copy could no longer be compared).", p.dlp_rescans);
    one_sample(out, "egress_dlp_streams_held", "gauge", "DLP streams held by flows now.", p.dlp_streams_held);
    family(out, "egress_icmp_errors_relayed_total", "counter", "ICMP errors quoting a tracked flow passed on, by direction.");
    sample(out, "egress_icmp_errors_relayed_total", {{"direction", "inbound"}}, c.icmp_errors_relayed_in);
    sample(out, "egress_icmp_errors_relayed_total", {{"direction", "outbound"}}, c.icmp_errors_relayed_out);
    one_sample(out, "egress_icmp_errors_sent_total", "counter", "ICMP errors egressd sent itself (time exceeded, fragmentation needed, packet too big).", c.icmp_errors_sent);
    family(out, "egress_icmp_errors_unsent_total", "counter", "ICMP errors egressd did not send, by reason.");
    sample(out, "egress_icmp_errors_unsent_total", {{"reason", "rate_limited"}}, c.icmp_errors_rate_limited);
    sample(out, "egress_icmp_errors_unsent_total", {{"reason", "no_source"}}, c.icmp_errors_no_source);
    one_sample(out, "egress_tcp_mss_clamped_total", "counter", "SYN and SYN-ACK segments whose MSS option was lowered to tcp.mss_clamp.", c.mss_clamped);
    one_sample(out, "egress_tcp_mss_options_malformed_total", "counter", "SYN segments whose options could not be walked for MSS clamping (passed untouched).", c.mss_options_malformed);
    one_sample(out, "egress_inspect_unchecked_total", "counter", "Flows let through uninspected (hostname or DLP) because no inspection slot was free (fail open).", c.inspect_unchecked);
    one_sample(out, "egress_hold_segments_total", "counter", "Client segments with payload held (consumed) while their flow waited for its hostname.", c.hold_segments);
    family(out, "egress_hold_bytes_total", "counter", "Client payload bytes held before the hostname verdict, and held bytes released once the flow was allowed.");
    sample(out, "egress_hold_bytes_total", {{"result", "held"}}, c.hold_bytes);
    sample(out, "egress_hold_bytes_total", {{"result", "released"}}, c.hold_released_bytes);
    one_sample(out, "egress_hold_overflows_total", "counter", "Holds whose bytes reached inspect.max_bytes (the flow takes the oversize action).", c.hold_overflows);
}

// The families of fragments, neighbours, echo replies.
void fragment_and_neighbor_metrics(std::string& out, const run_report& r) {
    const auto& c = r.counters;
    family(out, "egress_fragments_total", "counter",
           "Fragments of tracked flows: forwarded at once, held for their first fragment, released after it.");
    sample(out, "egress_fragments_total", {{"result", "forwarded"}}, c.fragments_forwarded);
    sample(out, "egress_fragments_total", {{"result", "held"}}, c.fragments_held);
    sample(out, "egress_fragments_total", {{"result", "released"}}, c.fragments_released);
    family(out, "egress_fragment_datagrams_total", "counter",
           "Fragmented datagrams tracked, by how their entry ended (tracked: all of them).");
    sample(out, "egress_fragment_datagrams_total", {{"result", "tracked"}}, c.fragment_datagrams);
    sample(out, "egress_fragment_datagrams_total", {{"result", "completed"}}, c.fragment_datagrams_completed);
    sample(out, "egress_fragment_datagrams_total", {{"result", "expired"}}, c.fragment_datagrams_expired);
    one_sample(out, "egress_fragment_datagrams_active", "gauge", "Fragmented datagrams tracked now.", r.fragment_datagrams_active);
    one_sample(out, "egress_fragments_held", "gauge", "Fragments waiting for their datagram's first fragment now.", r.fragments_held_now);
    one_sample(out, "egress_neighbor_requests_sent_total", "counter", "ARP requests and neighbour solicitations sent (retries and probes included).", c.neighbor_requests_sent);
    one_sample(out, "egress_neighbor_replies_sent_total", "counter", "ARP replies and solicited neighbour advertisements sent for the gateway's addresses.", c.neighbor_replies_sent);
    one_sample(out, "egress_neighbor_announcements_sent_total", "counter", "Gratuitous ARP and unsolicited neighbour advertisements sent at start.", c.neighbor_announcements_sent);
    one_sample(out, "egress_neighbor_resolved_total", "counter", "Next hops resolved.", c.neighbor_resolved);
    one_sample(out, "egress_neighbor_learned_total", "counter", "Neighbour entries created from requests addressed to the gateway.", c.neighbor_learned);
    one_sample(out, "egress_neighbor_frames_queued_total", "counter", "Frames held while their next hop was resolved.", c.neighbor_frames_queued);
    one_sample(out, "egress_neighbor_frames_released_total", "counter", "Held frames sent once their next hop was resolved.", c.neighbor_frames_released);
    one_sample(out, "egress_echo_replies_sent_total", "counter", "ICMP and ICMPv6 echo replies sent from the gateway's own addresses.", c.echo_replies_sent);
    one_sample(out, "egress_nat_hairpinned_total", "counter", "Packets from inside to a pool address:port turned back inside (hairpinning).", c.hairpinned);
    // verify = "observed" (gateway/dns_observer.hpp).
    family(out, "egress_dns_responses_total", "counter",
           "DNS responses seen on flows' replies while the policy verifies names: recorded (by the worker that saw them; copy: by the others), or not (not_from_server, tcp_unread).");
    sample(out, "egress_dns_responses_total", {{"result", "recorded"}}, c.dns_responses);
    sample(out, "egress_dns_responses_total", {{"result", "copy"}}, c.dns_copies_learned);
    sample(out, "egress_dns_responses_total", {{"result", "not_from_server"}}, c.dns_not_from_server);
    sample(out, "egress_dns_responses_total", {{"result", "tcp_unread"}}, c.dns_tcp_unread);
    family(out, "egress_sni_verifications_total", "counter",
           "Names (TLS SNI, HTTP Host) allowed by a verify = \"observed\" or \"resolve\" rule, checked against DNS's answers.");
    sample(out, "egress_sni_verifications_total", {{"result", "verified"}}, c.sni_verified);
    sample(out, "egress_sni_verifications_total", {{"result", "unverified"}}, c.sni_unverified);
    // verify = "resolve" (gateway/dns_observer.hpp, controlplane/dns_resolver.hpp).
    family(out, "egress_resolve_lookups_total", "counter",
           "Lookups for verify = \"resolve\": asked of egressd's resolvers (asked), outcomes handed back (answered), of those failed or timed out (failed), names not asked because the worker's pending table (pending_full) or request ring (ring_full) was full.");
    sample(out, "egress_resolve_lookups_total", {{"result", "asked"}}, c.resolve_lookups);
    sample(out, "egress_resolve_lookups_total", {{"result", "answered"}}, c.resolve_answers);
    sample(out, "egress_resolve_lookups_total", {{"result", "failed"}}, c.resolve_failures);
    sample(out, "egress_resolve_lookups_total", {{"result", "pending_full"}}, c.resolve_pending_full);
    sample(out, "egress_resolve_lookups_total", {{"result", "ring_full"}}, c.resolve_ring_full);
    one_sample(out, "egress_resolve_failure_allowed_total", "counter", "Flows allowed without a verdict from egressd's resolvers ([dns] on_resolve_failure = \"allow\").", c.resolve_failure_allowed);
    one_sample(out, "egress_exception_to_kernel_total", "counter", "Frames handed to an exception interface (BGP, BFD, listed ports, neighbour answers).", c.exception_to_kernel);
    one_sample(out, "egress_exception_from_kernel_total", "counter", "Frames the kernel sent from an exception interface, passed to the port.", c.exception_from_kernel);
    one_sample(out, "egress_exception_handed_to_worker0_total", "counter", "Frames for an exception interface another worker received, handed to worker 0 (which owns the interfaces).", c.exception_handed_to_worker0);
}

// [limits]: refusals are drops (egress_drops_total, reason source_*); no
// per-host label (unbounded cardinality): hosts are listed by the event log.
void source_limit_metrics(std::string& out, const run_report& r) {
    const auto& c = r.counters;
    one_sample(out, "egress_sources_tracked", "gauge", "Inside hosts the [limits] tables count now (entries summed over workers).", r.sources_tracked);
    one_sample(out, "egress_source_untracked_total", "counter", "New flows admitted without a [limits] count because the source tables were full.", c.source_untracked);
    one_sample(out, "egress_source_limit_reports_total", "counter", "source_limit security events built (at most one per host per report interval).", c.source_limit_reports);
}

} // namespace

std::string format_prometheus(const run_report& r, const metrics_extra& x) {
    std::string out;
    out.reserve(8192);
    port_and_drop_metrics(out, r.counters);
    device_loss_metrics(out, r);
    flow_metrics(out, r);
    nat_metrics(out, r);
    export_metrics(out, r);
    policy_metrics(out, r, x.policy);
    inspection_metrics(out, r, x.policy);
    fragment_and_neighbor_metrics(out, r);
    source_limit_metrics(out, r);
    worker_metrics(out, r);

    one_sample(out, "egress_start_time_seconds", "gauge", "Start time of the process since the Unix epoch, in seconds.", x.start_time_seconds);
    family(out, "egress_build_info", "gauge", "Build information; the value is always 1.");
    sample(out, "egress_build_info", {{"version", x.version}}, 1);
    if (x.health)
        one_sample(out, "egress_health_state", "gauge",
                   "Health of the instance: 0 ready, 1 draining (no new flows wanted), 2 failed.",
                   static_cast<uint64_t>(*x.health));
    if (x.idle_sleeps)
        one_sample(out, "egress_idle_sleeps_total", "counter",
                   "Sleeps of idle workers ([run] idle = \"adaptive\").", *x.idle_sleeps);
    if (x.resolver) {
        family(out, "egress_resolver_requests_total", "counter",
               "Lookup requests the resolver thread took from the workers (verify = \"resolve\"): asked of the [dns] resolvers (asked), or failed at once because [dns] resolve_outstanding lookups were running (busy).");
        sample(out, "egress_resolver_requests_total", {{"result", "asked"}}, x.resolver->asked);
        sample(out, "egress_resolver_requests_total", {{"result", "busy"}}, x.resolver->busy);
        one_sample(out, "egress_resolver_answers_lost_total", "counter",
                   "Lookup outcomes a worker's full answer ring did not take (its name waits for [dns] resolve_timeout_ms).",
                   x.resolver->answers_lost);
    }
    return out;
}

// ---------------------------------------------------------------- HTTP server

namespace {

using clock_type = std::chrono::steady_clock;

constexpr std::size_t max_head_bytes = 8192;
constexpr auto read_timeout = std::chrono::seconds(2);
constexpr auto write_timeout = std::chrono::seconds(2);
constexpr auto linger_timeout = std::chrono::milliseconds(200);
constexpr int poll_slice_ms = 100;

struct fd_guard {
    int fd;
    ~fd_guard() {
        if (fd >= 0) ::close(fd);
    }
};

std::string endpoint_text(const net::endpoint& e) {
    return e.address.is_v4() ? fmt::format("{}:{}", e.address, e.port) : fmt::format("[{}]:{}", e.address, e.port);
}

int remaining_ms(clock_type::time_point deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now()).count();
    if (left <= 0) return 0;
    return static_cast<int>(std::min<long long>(left, poll_slice_ms));
}

// Waits for `events` on fd in slices of 100 ms until the deadline or until the
// server stops. True when the fd is ready (or has an error to report).
bool wait_for(int fd, short events, clock_type::time_point deadline, const std::atomic<bool>& stopping) {
    for (;;) {
        if (stopping.load(std::memory_order_relaxed)) return false;
        const int ms = remaining_ms(deadline);
        if (ms == 0) return false;
        pollfd p{fd, events, 0};
        const int n = ::poll(&p, 1, ms);
        if (n > 0) return true;
        if (n < 0 && errno != EINTR) return false;
    }
}

bool send_all(int fd, std::string_view data, const std::atomic<bool>& stopping) {
    const auto deadline = clock_type::now() + write_timeout;
    while (!data.empty()) {
        const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (n > 0) {
            data.remove_prefix(static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!wait_for(fd, POLLOUT, deadline, stopping)) return false;
            continue;
        }
        return false; // peer gone (EPIPE, ECONNRESET, ...)
    }
    return true;
}

// After the response: end our side, then read (and discard) what the client
// still sends for a moment, so closing with unread data does not turn into a
// reset that destroys the response before the client reads it.
void lingering_close(int fd, const std::atomic<bool>& stopping) {
    ::shutdown(fd, SHUT_WR);
    const auto deadline = clock_type::now() + linger_timeout;
    char buf[4096];
    std::size_t drained = 0;
    while (drained < 256 * 1024 && wait_for(fd, POLLIN, deadline, stopping)) {
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n > 0) {
            drained += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
        break; // EOF or error
    }
}

std::string response(std::string_view status, std::string_view content_type, std::string_view body,
                     std::string_view extra_headers = {}) {
    return fmt::format("HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n{}Connection: close\r\n\r\n{}", status,
                       content_type, body.size(), extra_headers, body);
}

std::string error_response(std::string_view status, std::string_view extra_headers = {}) {
    return response(status, "text/plain; charset=utf-8", fmt::format("{}\n", status), extra_headers);
}

bool is_tchar(char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    return std::string_view{"!#$%&'*+-.^_`|~"}.find(c) != std::string_view::npos;
}

// The answer to one complete request head (request line first).
std::string answer(std::string_view head, const std::function<std::string()>& render) {
    auto line = head.substr(0, head.find('\n'));
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);

    const auto sp1 = line.find(' ');
    const auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp1 == std::string_view::npos || sp2 == std::string_view::npos ||
        line.find(' ', sp2 + 1) != std::string_view::npos)
        return error_response("400 Bad Request");
    const auto method = line.substr(0, sp1);
    auto target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    const auto version = line.substr(sp2 + 1);
    if (method.empty() || !std::all_of(method.begin(), method.end(), is_tchar)) return error_response("400 Bad Request");
    if (version != "HTTP/1.0" && version != "HTTP/1.1") return error_response("400 Bad Request");
    if (target.empty() || std::any_of(target.begin(), target.end(), [](char c) {
            return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f;
        }))
        return error_response("400 Bad Request");
    // absolute-form ("http://host:port/metrics"): keep the path
    for (std::string_view scheme : {"http://", "https://"}) {
        if (target.size() >= scheme.size() && std::equal(scheme.begin(), scheme.end(), target.begin(), [](char a, char b) {
                return a == (b >= 'A' && b <= 'Z' ? static_cast<char>(b - 'A' + 'a') : b);
            })) {
            const auto slash = target.find('/', scheme.size());
            target = slash == std::string_view::npos ? std::string_view{"/"} : target.substr(slash);
        }
    }
    if (target.front() != '/') return error_response("400 Bad Request");

    if (method != "GET") return error_response("405 Method Not Allowed", "Allow: GET\r\n");

    const auto path = target.substr(0, target.find_first_of("?#"));
    if (path == "/metrics") {
        std::string body;
        try {
            body = render();
        } catch (...) {
            return error_response("500 Internal Server Error");
        }
        return response("200 OK", "text/plain; version=0.0.4; charset=utf-8", body);
    }
    if (path == "/") {
        return response("200 OK", "text/html; charset=utf-8",
                        "<html><head><title>egressd</title></head><body><h1>egressd</h1>"
                        "<p><a href=\"/metrics\">Metrics</a></p></body></html>\n");
    }
    return error_response("404 Not Found");
}

// The end of the request head: the offset just past the blank line, or npos.
std::size_t head_end(std::string_view buf) {
    for (std::size_t i = 0; i < buf.size(); ++i) {
        if (buf[i] != '\n') continue;
        if (i + 1 < buf.size() && buf[i + 1] == '\n') return i + 2;
        if (i + 2 < buf.size() && buf[i + 1] == '\r' && buf[i + 2] == '\n') return i + 3;
    }
    return std::string_view::npos;
}

} // namespace

metrics_server::metrics_server(net::endpoint listen, std::function<std::string()> render)
    : render_(std::move(render)) {
    sockaddr_storage ss{};
    socklen_t len = 0;
    if (listen.address.is_v4()) {
        auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
        sin->sin_family = AF_INET;
        sin->sin_port = htons(listen.port);
        std::memcpy(&sin->sin_addr, listen.address.v4_bytes(), 4);
        len = sizeof(sockaddr_in);
    } else {
        auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(listen.port);
        std::memcpy(&sin6->sin6_addr, listen.address.bytes.data(), 16);
        len = sizeof(sockaddr_in6);
    }
    const auto fail = [&](int err) {
        if (listen_fd_ >= 0) ::close(listen_fd_);
        listen_fd_ = -1;
        throw std::runtime_error(
            fmt::format("metrics: cannot listen on {}: {}", endpoint_text(listen), std::strerror(err)));
    };
    listen_fd_ = ::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0) fail(errno);
    const int one = 1;
    if (::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) fail(errno);
    if (::bind(listen_fd_, reinterpret_cast<const sockaddr*>(&ss), len) != 0) fail(errno);
    if (::listen(listen_fd_, 16) != 0) fail(errno);
    sockaddr_storage bound{};
    socklen_t bound_len = sizeof bound;
    if (::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&bound), &bound_len) != 0) fail(errno);
    port_ = ntohs(bound.ss_family == AF_INET ? reinterpret_cast<const sockaddr_in*>(&bound)->sin_port
                                             : reinterpret_cast<const sockaddr_in6*>(&bound)->sin6_port);
}

metrics_server::~metrics_server() {
    stop();
    if (listen_fd_ >= 0) ::close(listen_fd_);
}

void metrics_server::start() {
    if (thread_.joinable()) return;
    stopping_.store(false);
    thread_ = std::thread([this] { run(); });
}

void metrics_server::stop() {
    stopping_.store(true);
    if (thread_.joinable()) thread_.join();
}

void metrics_server::run() noexcept {
    while (!stopping_.load(std::memory_order_relaxed)) {
        pollfd p{listen_fd_, POLLIN, 0};
        const int n = ::poll(&p, 1, poll_slice_ms);
        if (n <= 0) continue; // timeout, EINTR
        const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            // EAGAIN (the client left), ECONNABORTED, or out of descriptors:
            // do not spin while the condition lasts.
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) ::poll(nullptr, 0, 10);
            continue;
        }
        fd_guard guard{fd};
        try {
            serve(fd);
        } catch (...) {
            // allocation failure or the like: drop this connection, keep serving
        }
    }
}

void metrics_server::serve(int fd) {
    std::string buf;
    buf.reserve(max_head_bytes);
    const auto deadline = clock_type::now() + read_timeout;
    char chunk[2048];
    std::size_t end = std::string_view::npos;
    while (end == std::string_view::npos) {
        if (buf.size() >= max_head_bytes) {
            if (send_all(fd, error_response("431 Request Header Fields Too Large"), stopping_))
                lingering_close(fd, stopping_);
            return;
        }
        if (!wait_for(fd, POLLIN, deadline, stopping_)) {
            // too slow (or stopping): say so if it sent anything, then close
            if (!buf.empty() && !stopping_.load()) send_all(fd, error_response("408 Request Timeout"), stopping_);
            return;
        }
        const ssize_t n = ::recv(fd, chunk, std::min(sizeof chunk, max_head_bytes - buf.size()), 0);
        if (n == 0) return; // the client left before finishing its request
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
            return;
        }
        const std::size_t old = buf.size();
        buf.append(chunk, static_cast<std::size_t>(n));
        // only look again where a new terminator can be
        const std::size_t from = old >= 3 ? old - 3 : 0;
        const auto e = head_end(std::string_view{buf}.substr(from));
        if (e != std::string_view::npos) end = from + e;
    }
    const std::string reply = answer(std::string_view{buf}.substr(0, end), render_);
    if (send_all(fd, reply, stopping_)) lingering_close(fd, stopping_);
}

} // namespace egress::controlplane
