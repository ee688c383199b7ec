// libFuzzer target: the whole gateway_core, both sides, on arbitrary sequences
// of frame bursts, with a policy (hostname rules, DLP), hostname inspection
// (TLS, HTTP and, in the report-mode policy, QUIC Initials),
// fragments, ICMP, neighbour resolution and VLANs chosen by the input's first
// byte. After every burst it checks what must hold whatever arrives
// (gateway_checks.hpp): every frame accounted once and each drop counted,
// every frame that leaves parses again and carries no special-purpose address
// out, every built frame whole, the flow table consistent. Any violation
// aborts (a crash for libFuzzer), like a sanitizer finding.
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

#include "gateway_checks.hpp"
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
    // Small tables elsewhere too: each input builds a gateway_core, and the
    // default DNS and neighbour tables were most of an input's time.
    s.neighbors.max_entries = 8;
    s.neighbors.queue_per_entry = 2;
    s.neighbors.queue_total = 8;
    s.dns.observed = {64, 16, 16, 30, 86'400, 8};
    return s;
}

struct frame_slot {
    uint8_t bytes[headroom + max_frame];
};

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
        if (!frames.empty())
            fuzz::run_burst(core, from, frames, now, [](stats::side, std::span<const uint8_t>, const net::packet_view&) {});
        if (h & 0x10) core.expire(now, 64);
        flow::flow_event e[16];
        while (events.pop_burst(e, 16) != 0) {}
        policy::security_event s[16];
        while (security.pop_burst(s, 16) != 0) {}
    }
    core.report_remaining(now);
    return 0;
}
