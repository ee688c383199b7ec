// What the fuzz targets that drive a whole gateway_core check after every
// burst, whatever arrived (gateway_fuzz, icmp_errors_fuzz):
//   * every frame of the burst got exactly one result (forward, drop, consumed
//     or reply), and each drop was counted under its reason (the reason's
//     counter grew at least as much);
//   * every frame that leaves (forwarded, a reply, or built by the gateway in
//     its outbox) is a whole Ethernet frame that parses again, and none that
//     leaves by the outside port carries a special-purpose address
//     (net/special_address.hpp); the target may check more on each;
//   * the flow table is consistent: each live record is found by both of its
//     keys, and the number of live records is the table's size.
// Any violation aborts (a crash for libFuzzer), like a sanitizer finding.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <vector>

#include "flow/flow_table.hpp"
#include "gateway/gateway_core.hpp"
#include "net/packet_parser.hpp"
#include "net/special_address.hpp"

namespace egress::fuzz {

[[noreturn]] inline void violated(const char* what) {
    std::fprintf(stderr, "fuzz invariant violated: %s\n", what);
    std::abort();
}

inline void check_table(const flow::flow_table& t) {
    uint32_t live = 0;
    t.for_each_live([&](uint32_t idx, const flow::flow_record& rec) {
        ++live;
        if (t.lookup(flow::outbound_key_of(rec), flow::direction::outbound) != idx) violated("outbound key lost");
        if (t.lookup(flow::inbound_key_of(rec), flow::direction::inbound) != idx) violated("inbound key lost");
    });
    if (live != t.size()) violated("live records differ from the table's size");
}

// A frame leaving by `to`: parsed again (the view is returned for more checks).
inline net::packet_view check_leaving(stats::side to, std::span<const uint8_t> frame) {
    net::packet_view view;
    if (net::parse_frame(frame, view) != stats::no_drop) violated("a frame that leaves does not parse");
    if (to != stats::side::outside) return view;
    if (net::classify_special(view.src, view.family) != net::special_address::none ||
        net::classify_special(view.dst, view.family) != net::special_address::none)
        violated("a special-purpose address leaves by the outside port");
    return view;
}

// One burst through the gateway, the checks above, and leaving(to, frame,
// view) for every frame that leaves.
template <class F>
void run_burst(gateway::gateway_core& core, stats::side from, std::vector<std::span<uint8_t>>& frames, uint32_t now,
               F&& leaving) {
    const auto n = static_cast<uint16_t>(frames.size());
    const stats::worker_counters before = core.counters();
    gateway::packet_result results[gateway::max_burst];
    std::vector<std::span<uint8_t>> arrived = frames;
    core.process_burst(from, frames.data(), n, now, results);
    uint64_t dropped[stats::drop_reason_count] = {};
    const stats::side other = from == stats::side::inside ? stats::side::outside : stats::side::inside;
    for (uint16_t i = 0; i < n; ++i) {
        const gateway::packet_result& r = results[i];
        switch (r.kind) {
        case gateway::verdict::forward: {
            const int front = r.front_adjust;
            const std::span<const uint8_t> out(arrived[i].data() - front,
                                               arrived[i].size() + static_cast<std::size_t>(front));
            leaving(other, out, check_leaving(other, out));
            break;
        }
        case gateway::verdict::reply: {
            const std::span<const uint8_t> out(arrived[i].data(), r.reply_len);
            leaving(from, out, check_leaving(from, out));
        }
            [[fallthrough]];
        case gateway::verdict::drop:
            if (static_cast<std::size_t>(r.reason) >= stats::drop_reason_count) violated("a drop without a reason");
            ++dropped[static_cast<std::size_t>(r.reason)];
            break;
        case gateway::verdict::consumed: break;
        case gateway::verdict::to_kernel: // needs an exception interface, which the fuzz settings have not
        default: violated("a result that is no verdict");
        }
    }
    for (std::size_t r = 0; r < stats::drop_reason_count; ++r)
        if (core.counters().drops[r] - before.drops[r] < dropped[r]) violated("a drop was not counted");
    const gateway::outbox& box = core.built_frames();
    for (uint32_t k = 0; k < box.size(); ++k) {
        if (box[k].bytes.size() < 14) violated("a built frame shorter than an Ethernet header");
        net::packet_view view;
        if (net::parse_frame(box[k].bytes, view) == stats::no_drop) leaving(box[k].to, box[k].bytes, view);
    }
    check_table(core.flows());
}

} // namespace egress::fuzz
