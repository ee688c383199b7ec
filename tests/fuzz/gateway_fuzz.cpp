// libFuzzer target: the whole gateway_core, both sides, on arbitrary sequences
// of frame bursts, with a policy (hostname rules, DLP), hostname inspection
// (TLS, HTTP and, in the report-mode policy, QUIC Initials),
// fragments, ICMP, neighbour resolution and VLANs chosen by the input's first
// byte. After every burst it checks what must hold whatever arrives:
//   * every frame of the burst got exactly one result (forward, drop, consumed
//     or reply), and each drop was counted under its reason (the reason's
//     counter grew at least as much);
//   * every frame that leaves parses again, and none that leaves by the
//     outside port carries a special-purpose address (net/special_address.hpp);
//   * every frame the gateway built itself (outbox) is a whole Ethernet frame;
//   * the flow table is consistent: each live record is found by both of its
//     keys, and the number of live records is the table's size.
// Any violation aborts (a crash for libFuzzer), like a sanitizer finding.
//
// Input: byte 0 picks the configuration; then records of
//   [h][len_hi len_lo][len bytes] ... for (h >> 5) + 1 frames,
// where h bit 0 is the side the burst arrives on, bits 1..3 how far the
// clock moves before it, bit 4 whether expiry runs after it.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

#include "flow/flow_table.hpp"
#include "gateway/gateway_core.hpp"
#include "net/packet_parser.hpp"
#include "net/special_address.hpp"
#include "policy/active_policy.hpp"
#include "policy/compiled_policy.hpp"

namespace {

using namespace egress;

constexpr std::size_t headroom = 8;
constexpr std::size_t max_frame = 1522;
constexpr uint32_t clock_steps[8] = {0, 1, 10, 100, 1'000, 5'000, 30'000, 300'000};

net::ip_address ip(const char* text) { return *net::ip_address::parse(text); }
net::mac_address mac(const char* text) { return *net::mac_address::parse(text); }
policy::cidr cidr(const char* text) { return *policy::cidr::parse(text, nullptr); }

[[noreturn]] void violated(const char* what) {
    std::fprintf(stderr, "gateway_fuzz: %s\n", what);
    std::abort();
}

// Policies are compiled once (Hyperscan compilation is slow); each input gets
// a fresh snapshot of one, with its own DLP scanner.
std::shared_ptr<const policy::compiled_policy> compiled(unsigned which) {
    static std::shared_ptr<const policy::compiled_policy> made[2];
    if (made[which]) return made[which];
    policy::policy_spec spec;
    spec.version = which + 1;
    policy::rule_spec web;
    web.name = "web";
    web.destinations = {cidr("0.0.0.0/0"), cidr("::/0")};
    web.proto = policy::protocol::tcp;
    web.hostnames = {"api.example.com", "*.example.org"};
    web.action = policy::verdict::allow;
    policy::rule_spec dns;
    dns.name = "dns";
    dns.destinations = {cidr("0.0.0.0/0"), cidr("::/0")};
    dns.proto = policy::protocol::udp;
    dns.ports = {{53, 53}};
    dns.action = policy::verdict::allow;
    policy::rule_spec icmp;
    icmp.name = "icmp";
    icmp.destinations = {cidr("0.0.0.0/0"), cidr("::/0")};
    icmp.proto = policy::protocol::icmp;
    icmp.action = policy::verdict::allow;
    spec.rules = {web, dns, icmp};
    dlp::dlp_pattern key;
    key.name = "key";
    key.regex = "AKIA[0-9A-Z]{16}";
    key.action = which == 0 ? dlp::dlp_action::block : dlp::dlp_action::alert;
    spec.dlp.patterns = {key};
    if (which == 1) {
        spec.default_action = policy::verdict::allow;
        spec.rules[0].action = policy::verdict::deny;
        spec.rules[0].mode = policy::rule_mode::report;
        // QUIC read by name too (quic_stage): UDP to 443 reaches the rule and is held.
        spec.rules[0].proto = policy::protocol::any;
        spec.inspection.quic = policy::quic_action::inspect;
    }
    auto result = policy::compiled_policy::compile(spec);
    if (!result.policy) std::abort();
    made[which] = std::move(result.policy);
    return made[which];
}

gateway::settings settings_for(uint8_t config) {
    gateway::settings s;
    s.inside.mac = mac("02:00:00:00:01:fe");
    s.inside.addresses = {ip("10.0.0.1"), ip("fd00:0:0:1::1")};
    s.outside.mac = mac("02:00:00:00:02:fe");
    s.outside.addresses = {ip("192.0.2.1"), ip("2001:db8::1")};
    if (config & 0x01) { // resolve next hops (ARP / ND) instead of static MACs
        s.inside.on_link = {{ip("10.0.0.0"), 24}, {ip("fd00:0:0:1::"), 64}};
        s.outside.on_link = {{ip("192.0.2.0"), 24}, {ip("2001:db8::"), 64}};
        s.outside.next_hop_v4 = ip("192.0.2.254");
        s.outside.next_hop_v6 = ip("2001:db8::fe");
        s.neighbors.queue_per_entry = 2;
        s.neighbors.queue_total = 8;
    } else {
        s.inside.next_hop_mac = mac("02:00:00:00:01:01");
        s.outside.next_hop_mac = mac("02:00:00:00:02:01");
    }
    if (config & 0x02) s.inside.vlan = 100;
    if (config & 0x04) s.mss_clamp = 1360;
    if (config & 0x08) s.outside.mtu = 1280;
    s.pool = {{ip("203.0.113.10"), ip("203.0.113.11")}, 1024, 1100}; // few ports: exhaustion is reachable
    s.max_flows = 64;
    s.inspect = {16, 4, 4096, (config & 0x40) != 0};
    s.fragments = {8, 2'000, 8, 4 * gateway::fragment_tracker::hold_slot_bytes};
    s.flow_export.enabled = true;
    return s;
}

void check_table(const flow::flow_table& t) {
    uint32_t live = 0;
    t.for_each_live([&](uint32_t idx, const flow::flow_record& rec) {
        ++live;
        if (t.lookup(flow::outbound_key_of(rec), flow::direction::outbound) != idx) violated("outbound key lost");
        if (t.lookup(flow::inbound_key_of(rec), flow::direction::inbound) != idx) violated("inbound key lost");
    });
    if (live != t.size()) violated("live records differ from the table's size");
}

void check_leaving(stats::side to, std::span<const uint8_t> frame) {
    net::packet_view view;
    if (net::parse_frame(frame, view) != stats::no_drop) violated("a frame that leaves does not parse");
    if (to != stats::side::outside) return;
    if (net::classify_special(view.src, view.family) != net::special_address::none ||
        net::classify_special(view.dst, view.family) != net::special_address::none)
        violated("a special-purpose address leaves by the outside port");
}

struct frame_slot {
    uint8_t bytes[headroom + max_frame];
};

// One burst through the gateway and the checks on its results.
void run_burst(gateway::gateway_core& core, stats::side from, std::vector<std::span<uint8_t>>& frames,
               uint32_t now) {
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
            check_leaving(other, std::span<const uint8_t>(arrived[i].data() - front,
                                                          arrived[i].size() + static_cast<std::size_t>(front)));
            break;
        }
        case gateway::verdict::reply:
            check_leaving(from, std::span<const uint8_t>(arrived[i].data(), r.reply_len));
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
    for (uint32_t k = 0; k < box.size(); ++k)
        if (box[k].bytes.size() < 14) violated("a built frame shorter than an Ethernet header");
    check_table(core.flows());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const uint8_t config = data[0];
    std::unique_ptr<policy::active_policy> active;
    if (config & 0x30) active = std::make_unique<policy::active_policy>(compiled(((config >> 4) & 3) == 2 ? 1 : 0));
    gateway::gateway_core core(settings_for(config));
    core.set_frame_headroom(headroom);
    core.use_policy(active.get());
    gateway::event_ring events(64);
    policy::security_ring security(64);
    core.attach_events(&events);
    core.attach_security_events(&security);

    std::vector<frame_slot> slots(8);
    std::vector<std::span<uint8_t>> frames;
    uint32_t now = 1'000;
    std::size_t at = 1;
    while (at < size) {
        const uint8_t h = data[at++];
        const auto from = (h & 1) ? stats::side::outside : stats::side::inside;
        now += clock_steps[(h >> 1) & 7];
        frames.clear();
        for (unsigned k = 0; k < static_cast<unsigned>(h >> 5) + 1u && at + 2 <= size; ++k) {
            std::size_t len = ((std::size_t{data[at]} << 8) | data[at + 1]) % (max_frame + 1);
            at += 2;
            if (len > size - at) len = size - at;
            uint8_t* start = slots[k].bytes + headroom;
            std::copy(data + at, data + at + len, start);
            at += len;
            frames.emplace_back(start, len);
        }
        if (!frames.empty()) run_burst(core, from, frames, now);
        if (h & 0x10) core.expire(now, 64);
        flow::flow_event e[16];
        while (events.pop_burst(e, 16) != 0) {}
        policy::security_event s[16];
        while (security.pop_burst(s, 16) != 0) {}
    }
    core.report_remaining(now);
    return 0;
}
