#include "summary.hpp"

#include <fmt/format.h>

namespace egress::controlplane {

namespace {
uint64_t total_drops(const stats::worker_counters& c) {
    uint64_t t = 0;
    for (auto d : c.drops) t += d;
    return t;
}
} // namespace

run_report make_run_report(const report_frame& frame, const stats::live_stats& live) {
    run_report r;
    r.inside_device = frame.inside_device;
    r.outside_device = frame.outside_device;
    r.counters = live.counters;
    r.flows_active = live.flows_active;
    r.fragment_datagrams_active = live.fragment_datagrams_active;
    r.fragments_held_now = live.fragments_held_now;
    r.sources_tracked = live.sources_tracked;
    r.flow_capacity = frame.flow_capacity;
    r.flow_table_bytes = frame.flow_table_bytes;
    for (std::size_t i = 0; i < frame.pool.size() && i < live.pool.size(); ++i)
        r.pool.push_back({frame.pool[i], live.pool[i].mappings_active, live.pool[i].mappings_created,
                          live.pool[i].exhausted});
    return r;
}

std::string format_summary(const run_report& r) {
    const auto& c = r.counters;
    std::string out = "egressd summary\n";
    const std::pair<const char*, const std::string*> ports[2] = {{"inside", &r.inside_device},
                                                                  {"outside", &r.outside_device}};
    for (std::size_t i = 0; i < 2; ++i) {
        const auto& p = c.ports[i];
        out += fmt::format("  port {:<7} {:<12} rx {} pkts {} bytes, tx {} pkts {} bytes\n", ports[i].first,
                           *ports[i].second, p.rx_packets, p.rx_bytes, p.tx_packets, p.tx_bytes);
        // Only when there were any: losses before egressd, so in no drop reason.
        if (const auto& l = r.rx_losses[i]; l.any())
            out += fmt::format("  port {:<7} lost on receive by the device: missed (RX ring full) {}, no mbuf {}, "
                               "errors {}\n", ports[i].first, l.missed, l.nombuf, l.errors);
    }
    out += "  flows     ";
    for (std::size_t i = 0; i < stats::flow_proto_count; ++i)
        out += fmt::format(" {} created {} expired {};", stats::flow_proto_names[i], c.flows_created[i],
                           c.flows_expired[i]);
    out += fmt::format(" active {} of {} ({} bytes of table)\n", r.flows_active, r.flow_capacity,
                       r.flow_table_bytes);
    for (const auto& a : r.pool)
        out += fmt::format("  nat {:<15} mappings active {} created {}, exhausted {}\n", a.address,
                           a.mappings_active, a.mappings_created, a.exhausted);
    if (c.fragment_datagrams != 0)
        out += fmt::format("  fragments forwarded {}, held {}, released {}; datagrams {} ({} completed, {} expired, "
                           "{} active, {} fragments held now)\n",
                           c.fragments_forwarded, c.fragments_held, c.fragments_released, c.fragment_datagrams,
                           c.fragment_datagrams_completed, c.fragment_datagrams_expired, r.fragment_datagrams_active,
                           r.fragments_held_now);
    if (r.export_enabled)
        out += fmt::format("  export    records {}, ipfix messages {}, send errors {}, events lost {}\n",
                           r.export_records, r.export_messages, r.export_send_errors, r.export_events_lost);
    if (c.icmp_errors_relayed_in | c.icmp_errors_relayed_out | c.icmp_errors_sent | c.icmp_errors_rate_limited |
        c.icmp_errors_no_source | c.mss_clamped | c.mss_options_malformed)
        out += fmt::format("  icmp      errors relayed in {} out {}, sent {}, rate-limited {}, no source {}; "
                           "mss clamped {}, malformed {}\n",
                           c.icmp_errors_relayed_in, c.icmp_errors_relayed_out, c.icmp_errors_sent,
                           c.icmp_errors_rate_limited, c.icmp_errors_no_source, c.mss_clamped,
                           c.mss_options_malformed);
    if (c.neighbor_requests_sent + c.neighbor_replies_sent + c.neighbor_announcements_sent + c.echo_replies_sent != 0)
        out += fmt::format("  neighbors requests {} replies {} announcements {} resolved {} learned {}, frames "
                           "held {} released {}; echo replies {}\n",
                           c.neighbor_requests_sent, c.neighbor_replies_sent, c.neighbor_announcements_sent,
                           c.neighbor_resolved, c.neighbor_learned, c.neighbor_frames_queued,
                           c.neighbor_frames_released, c.echo_replies_sent);
    if (c.exception_to_kernel + c.exception_from_kernel + c.exception_handed_to_worker0 != 0)
        out += fmt::format("  exception to kernel {}, from kernel {}, handed to worker 0 {}\n", c.exception_to_kernel,
                           c.exception_from_kernel, c.exception_handed_to_worker0);
    out += fmt::format("  drops total {}\n", total_drops(c));
    for (std::size_t i = 0; i < stats::drop_reason_count; ++i)
        if (c.drops[i] != 0) out += fmt::format("    {:<28} {}\n", stats::drop_reason_names[i], c.drops[i]);
    return out;
}

worker_report make_worker_report(const stats::worker_counters& c) {
    worker_report w;
    for (std::size_t i = 0; i < 2; ++i) {
        w.rx_packets[i] = c.ports[i].rx_packets;
        w.tx_packets[i] = c.ports[i].tx_packets;
    }
    for (const uint64_t n : c.flows_created) w.flows_created += n;
    w.drops = total_drops(c);
    return w;
}

std::string format_summary_json(const run_report& r) {
    const auto& c = r.counters;
    std::string out = "{\"ports\":{";
    const char* names[2] = {"inside", "outside"};
    const std::string* devices[2] = {&r.inside_device, &r.outside_device};
    for (std::size_t i = 0; i < 2; ++i) {
        const auto& p = c.ports[i];
        out += fmt::format(
            "{}\"{}\":{{\"device\":\"{}\",\"rx_packets\":{},\"rx_bytes\":{},\"tx_packets\":{},\"tx_bytes\":{},"
            "\"rx_missed\":{},\"rx_nombuf\":{},\"rx_errors\":{}}}",
            i ? "," : "", names[i], *devices[i], p.rx_packets, p.rx_bytes, p.tx_packets, p.tx_bytes,
            r.rx_losses[i].missed, r.rx_losses[i].nombuf, r.rx_losses[i].errors);
    }
    out += "},\"flows\":{";
    for (std::size_t i = 0; i < stats::flow_proto_count; ++i)
        out += fmt::format("\"{}\":{{\"created\":{},\"expired\":{}}},", stats::flow_proto_names[i],
                           c.flows_created[i], c.flows_expired[i]);
    out += fmt::format("\"active\":{},\"capacity\":{},\"table_bytes\":{},\"tcp_reopened\":{}}},\"nat\":[",
                       r.flows_active, r.flow_capacity, r.flow_table_bytes, c.tcp_reopened);
    for (std::size_t i = 0; i < r.pool.size(); ++i) {
        const auto& a = r.pool[i];
        out += fmt::format("{}{{\"address\":\"{}\",\"mappings_active\":{},\"mappings_created\":{},\"exhausted\":{}}}",
                           i ? "," : "", a.address, a.mappings_active, a.mappings_created, a.exhausted);
    }
    out += fmt::format("],\"export\":{{\"enabled\":{},\"records\":{},\"messages\":{},\"send_errors\":{},"
                       "\"events_queued\":{},\"events_lost\":{}}}",
                       r.export_enabled, r.export_records, r.export_messages, r.export_send_errors, c.events_queued,
                       r.export_events_lost);
    out += fmt::format(",\"icmp\":{{\"relayed_in\":{},\"relayed_out\":{},\"sent\":{},\"rate_limited\":{},"
                       "\"no_source\":{},\"mss_clamped\":{},\"mss_options_malformed\":{}}}",
                       c.icmp_errors_relayed_in, c.icmp_errors_relayed_out, c.icmp_errors_sent,
                       c.icmp_errors_rate_limited, c.icmp_errors_no_source, c.mss_clamped, c.mss_options_malformed);
    out += fmt::format(",\"fragments\":{{\"forwarded\":{},\"held\":{},\"released\":{},\"datagrams\":{},"
                       "\"completed\":{},\"expired\":{},\"active\":{},\"held_now\":{}}}",
                       c.fragments_forwarded, c.fragments_held, c.fragments_released, c.fragment_datagrams,
                       c.fragment_datagrams_completed, c.fragment_datagrams_expired, r.fragment_datagrams_active,
                       r.fragments_held_now);
    out += fmt::format(",\"neighbors\":{{\"requests_sent\":{},\"replies_sent\":{},\"announcements_sent\":{},"
                       "\"resolved\":{},\"learned\":{},\"frames_queued\":{},\"frames_released\":{},"
                       "\"echo_replies_sent\":{}}}",
                       c.neighbor_requests_sent, c.neighbor_replies_sent, c.neighbor_announcements_sent,
                       c.neighbor_resolved, c.neighbor_learned, c.neighbor_frames_queued, c.neighbor_frames_released,
                       c.echo_replies_sent);
    out += fmt::format(",\"exception\":{{\"to_kernel\":{},\"from_kernel\":{},\"handed_to_worker0\":{}}}",
                       c.exception_to_kernel, c.exception_from_kernel, c.exception_handed_to_worker0);
    out += ",\"drops\":{";
    for (std::size_t i = 0; i < stats::drop_reason_count; ++i)
        out += fmt::format("{}\"{}\":{}", i ? "," : "", stats::drop_reason_names[i], c.drops[i]);
    out += fmt::format("}},\"drops_total\":{}", total_drops(c));
    if (!r.workers.empty()) {
        out += ",\"workers\":[";
        for (std::size_t i = 0; i < r.workers.size(); ++i) {
            const worker_report& w = r.workers[i];
            out += fmt::format("{}{{\"rx_inside\":{},\"rx_outside\":{},\"tx_inside\":{},\"tx_outside\":{},"
                               "\"flows_created\":{},\"drops\":{}}}",
                               i ? "," : "", w.rx_packets[0], w.rx_packets[1], w.tx_packets[0], w.tx_packets[1],
                               w.flows_created, w.drops);
        }
        out += "]";
    }
    out += "}\n";
    return out;
}

} // namespace egress::controlplane
