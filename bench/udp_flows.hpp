// The established-flow traffic of the gateway_core benchmarks: 64-byte
// Ethernet/IPv4/UDP frames from inside hosts, one flow per frame in turn, and
// the settings they run under (bench_network.hpp: the MACs). Shared by
// egress_bench and path-instructions.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "bench_network.hpp"
#include "gateway/settings.hpp"
#include "net/checksum.hpp"
#include "net/packet_view.hpp"

namespace egress::bench {

inline constexpr std::size_t frame_size = 64;
using frame = std::array<uint8_t, frame_size>;

inline void put16(uint8_t* p, uint16_t v) {
    p[0] = static_cast<uint8_t>(v >> 8);
    p[1] = static_cast<uint8_t>(v);
}

// The Ethernet and IPv4 headers of a minimum frame arriving on the inside
// (or the outside) port; returns where the L4 header goes.
inline uint8_t* eth_ipv4(frame& f, bool from_inside, uint8_t proto, uint32_t src, uint32_t dst) {
    std::memcpy(&f[0], (from_inside ? inside_mac : outside_mac).bytes.data(), 6);
    std::memcpy(&f[6], (from_inside ? inside_hop : outside_hop).bytes.data(), 6);
    put16(&f[12], 0x0800);
    uint8_t* ip = &f[14];
    ip[0] = 0x45;
    put16(ip + 2, frame_size - 14 - 4); // leave 4 bytes as trailer, like an FCS-less minimum frame
    ip[8] = 64;
    ip[9] = proto;
    for (int i = 0; i < 4; ++i) {
        ip[12 + i] = static_cast<uint8_t>(src >> (24 - 8 * i));
        ip[16 + i] = static_cast<uint8_t>(dst >> (24 - 8 * i));
    }
    return ip + 20;
}

// Every checksum of a minimum frame built by eth_ipv4 carrying `proto`.
inline void seal_checksums(frame& f, uint8_t proto) {
    net::packet_view v;
    v.l3_offset = 14;
    v.l4_offset = 34;
    v.l3_length = frame_size - 14 - 4;
    v.l4_length = v.l3_length - 20;
    v.family = net::ip_family::v4;
    v.proto = proto;
    net::recompute_checksums(std::span<uint8_t>(f.data(), f.size()), v);
}

// A 64-byte Ethernet/IPv4/UDP frame from an inside host, checksums correct.
inline frame udp_frame(uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport) {
    frame f{};
    uint8_t* udp = eth_ipv4(f, true, 17, src, dst);
    put16(udp, sport);
    put16(udp + 2, dport);
    put16(udp + 4, frame_size - 14 - 4 - 20);
    seal_checksums(f, 17);
    return f;
}

inline gateway::settings bench_settings(uint32_t max_flows) {
    gateway::settings s;
    s.inside.mac = inside_mac;
    s.inside.next_hop_mac = inside_hop;
    s.outside.mac = outside_mac;
    s.outside.next_hop_mac = outside_hop;
    s.pool = {{net::ip_address::from_v4(0xCB00710A), net::ip_address::from_v4(0xCB00710B)}, 1024, 65535};
    s.max_flows = max_flows;
    return s;
}

// Flow i: inside host 10.x.y.z (one per 64 flows), port 1024 + i % 64 ... to one of
// many servers, so every packet of a round hits a different flow.
inline frame flow_frame(uint32_t i) {
    return udp_frame(0x0A000000u + (i >> 6), static_cast<uint16_t>(1024 + (i & 63)), 0xC6336400u + (i % 251), 53);
}

inline std::vector<frame> make_flows(uint32_t n) {
    std::vector<frame> frames(n);
    for (uint32_t i = 0; i < n; ++i) frames[i] = flow_frame(i);
    return frames;
}

} // namespace egress::bench
