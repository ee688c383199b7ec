// libFuzzer target: the steering owner function (gateway/steering.hpp) and the
// dispatcher's fragment placement (gateway/fragment_steering.hpp) on any frame,
// from either side, under a configuration picked by the input's first byte.
// What it checks, aborting on a violation:
//   * the owner is a worker (< workers) or `any`; one worker owns everything;
//   * the owner is deterministic: the frame overload and the parsed-view
//     overload agree, and asking again gives the same answer;
//   * both directions of a flow (after NAT) have one owner: for an inside IPv4
//     TCP/UDP frame, the reply from outside to the public port the owner's NAT
//     would pick (a port accepts() with RSS, one of its slice without), an
//     ICMP error from outside quoting the translated packet and one from
//     inside quoting the reply all map to the same worker; an inside echo
//     request's reply, with an identifier of the owner's slice, too; an IPv6
//     frame and its mirror (addresses and ports swapped) too;
//   * fragments follow their first fragment: a later fragment of the same
//     datagram has owner `any`, the same datagram key, and fragment_steering
//     places it on the first fragment's owner, whether it comes after the
//     first (remembered) or before it (held, then released with it).
//
// Input: byte 0 = configuration (bits 0..2: workers - 1, bit 3: RSS, bits
// 4..5: NAT port range, bit 6: side the frame arrives on); byte 1 = a choice
// (public port / identifier / later fragment offset); the rest is the frame.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "fuzz_frames.hpp"
#include "gateway/fragment_steering.hpp"
#include "gateway/steering.hpp"
#include "net/packet_parser.hpp"

namespace {

using namespace egress;
using gateway::steering;
using stats::side;

constexpr uint16_t port_ranges[4][2] = {{1024, 65535}, {1024, 1100}, {60000, 60003}, {1, 65535}};
constexpr uint32_t public_v4 = 0xcb00710a; // 203.0.113.10
constexpr uint32_t router_v4 = 0xc6336401; // 198.51.100.1

[[noreturn]] void violated(const char* what) {
    std::fprintf(stderr, "steering_fuzz: %s\n", what);
    std::abort();
}

const steering& steering_for(uint8_t config) {
    static std::unique_ptr<steering> made[64];
    const unsigned index = config & 0x3f;
    if (!made[index]) {
        gateway::steering_settings s;
        s.workers = (index & 7u) + 1;
        s.rss = (index & 8u) != 0;
        s.port_min = port_ranges[(index >> 4) & 3][0];
        s.port_max = port_ranges[(index >> 4) & 3][1];
        made[index] = std::make_unique<steering>(s);
    }
    return *made[index];
}

// The owner of `frame`, checked for range and determinism.
uint16_t checked_owner(const steering& st, side from, std::span<const uint8_t> frame, gateway::fragment_info* f) {
    const uint16_t o = st.owner(from, frame, f);
    if (o != steering::any && o >= st.workers()) violated("owner out of range");
    if (st.workers() == 1 && o != 0) violated("one worker does not own everything");
    if (st.owner(from, frame) != o) violated("owner not deterministic");
    net::packet_view v;
    const stats::drop_reason parsed = net::parse_frame(frame, v);
    if (st.owner(from, v, parsed, nullptr) != o) violated("the view overload disagrees");
    if (st.workers() > 1 && parsed != stats::no_drop && o != steering::any) violated("a refused frame has an owner");
    return o;
}

// The public port the NAT of worker `o` could give the flow, or 0 when none.
uint16_t public_port_for(const steering& st, uint16_t o, uint8_t proto, uint32_t remote, uint16_t remote_port,
                         uint8_t choice) {
    const gateway::port_slice s = st.slice(o);
    if (!st.rss() || proto == net::proto_icmp) {
        if (s.max < s.min) return 0;
        return static_cast<uint16_t>(s.min + choice % (uint32_t{s.max} - s.min + 1));
    }
    for (uint32_t p = st.slice(0).min, tries = 0; p <= st.slice(st.workers() - 1).max && tries < 4096; ++p, ++tries)
        if (p != 0 && st.accepts(o, proto, remote, remote_port, public_v4, static_cast<uint16_t>(p)))
            return static_cast<uint16_t>(p);
    return 0;
}

void expect_owner(const steering& st, side from, std::span<const uint8_t> frame, uint16_t o, const char* what) {
    if (frame.empty()) return; // the derived frame is no valid input (fuzz_frames.hpp)
    if (checked_owner(st, from, frame, nullptr) != o) violated(what);
}

// An inside IPv4 TCP / UDP / echo frame owned by o: its reply and the errors about it.
void check_v4_flow(const steering& st, std::span<const uint8_t> frame, const net::packet_view& v, uint16_t o,
                   uint8_t choice) {
    const uint32_t host = v.src.v4(), remote = v.dst.v4();
    if (v.proto == net::proto_icmp) {
        if (v.icmp_type != net::icmp_echo_request) return;
        const uint16_t id = public_port_for(st, o, v.proto, remote, 0, choice);
        if (id == 0) return;
        expect_owner(st, side::outside, fuzz::echo_v4(remote, public_v4, net::icmp_echo_reply, id), o,
                     "an echo reply has another owner than its request");
        return;
    }
    const uint16_t port = public_port_for(st, o, v.proto, remote, v.dst_port, choice);
    if (port == 0) return;
    expect_owner(st, side::outside, fuzz::transport_v4(frame, v, remote, public_v4, v.dst_port, port), o,
                 "a reply has another owner than its flow");
    expect_owner(st, side::outside,
                 fuzz::error_v4(router_v4, public_v4, v.proto, public_v4, remote, port, v.dst_port), o,
                 "an error from outside has another owner than the flow it quotes");
    expect_owner(st, side::inside, fuzz::error_v4(host, remote, v.proto, remote, host, v.dst_port, v.src_port), o,
                 "an error from inside has another owner than the flow it quotes");
}

// A first fragment owned by o: a later one of its datagram follows it.
void check_fragments(const steering& st, side from, std::span<const uint8_t> frame, const net::packet_view& v,
                     const gateway::fragment_info& first, uint16_t o, uint8_t choice) {
    const std::vector<uint8_t> later = fuzz::later_fragment(frame, v, static_cast<uint16_t>(choice | 1));
    if (later.empty()) return;
    gateway::fragment_info f;
    if (checked_owner(st, from, later, &f) != steering::any) violated("a later fragment has an owner of its own");
    if (!f.fragment || f.first || !(f.key == first.key)) violated("a later fragment describes another datagram");
    const uint16_t self = static_cast<uint16_t>(choice % st.workers());
    const uint16_t expected = o == steering::any ? self : o;
    gateway::fragment_steering after({self, 64, 2000, 4, 2});
    if (after.place(first, o, nullptr, 1000).owner != expected) violated("a first fragment is not placed on its owner");
    if (after.place(f, steering::any, nullptr, 1000).owner != expected) violated("a later fragment left its first");
    gateway::fragment_steering before({self, 64, 2000, 4, 2});
    int marker = 0;
    const auto held = before.place(f, steering::any, &marker, 1000);
    if (held.owner != steering::any || before.held() != 1) violated("a later fragment before its first is not held");
    const auto placed = before.place(first, o, nullptr, 1000);
    if (placed.owner != expected || placed.release == gateway::fragment_steering::npos)
        violated("a first fragment does not release what waited for it");
    int released = 0;
    before.release(placed.release, [&](void* h) { released += h == &marker ? 1 : 100; });
    if (released != 1 || before.held() != 0) violated("the held fragment did not come back exactly once");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const steering& st = steering_for(data[0]);
    const side from = (data[0] & 0x40) ? side::outside : side::inside;
    const uint8_t choice = data[1];
    const std::span<const uint8_t> frame(data + 2, size - 2);
    gateway::fragment_info f;
    const uint16_t o = checked_owner(st, from, frame, &f);
    // One worker owns everything (checked above) and dispatches nothing: the
    // owner function does not look at the frame, fragment_info included.
    if (st.workers() == 1) return 0;
    net::packet_view v;
    if (net::parse_frame(frame, v) != stats::no_drop) {
        if (f.fragment) violated("a refused frame described as a fragment");
        return 0;
    }
    if (f.fragment != v.is_fragment() || (f.fragment && f.first == v.is_later_fragment()))
        violated("fragment_info disagrees with the parse");
    if (v.is_later_fragment()) {
        if (o != steering::any) violated("a later fragment has an owner of its own");
        return 0;
    }
    if (v.is_fragment()) check_fragments(st, from, frame, v, f, o, choice);
    if (o == steering::any || v.icmp_error) return 0;
    if (v.family == net::ip_family::v6) {
        if (v.proto == net::proto_icmpv6 && v.icmp_type != net::icmpv6_echo_request) return 0;
        expect_owner(st, from == side::inside ? side::outside : side::inside, fuzz::mirror_v6(frame, v), o,
                     "the two directions of an IPv6 flow have different owners");
        return 0;
    }
    if (from == side::inside && !v.is_fragment()) check_v4_flow(st, frame, v, o, choice);
    return 0;
}
