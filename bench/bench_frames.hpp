// Frames shared by egress-bench (the pipeline harness) and kc-send (the sender
// of bench/kernel_compare.py): the same flows, the same 64-byte shape.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <span>

#include "net/checksum.hpp"
#include "net/ip_address.hpp"
#include "net/packet_view.hpp"

namespace egress_bench {



inline const egress::net::mac_address inside_host_mac{{0x02, 0, 0, 0, 0x01, 0x01}};
inline const egress::net::mac_address outside_router_mac{{0x02, 0, 0, 0, 0x02, 0x01}};
inline constexpr uint32_t pool_first = 0xCB00710A; // 203.0.113.10 and .11
inline constexpr uint32_t client_base = 0x0A800000; // 10.128.0.0 + slot (connection scenarios)
inline constexpr uint32_t server_base = 0xC6120000; // 198.18.0.0 + slot (198.18.0.0/15)
inline constexpr uint16_t min_frame = 64;           // 60 bytes of frame + 4 of trailer (FCS room), like the micro benchmarks

inline void put16(uint8_t* p, uint16_t v) {
    p[0] = static_cast<uint8_t>(v >> 8);
    p[1] = static_cast<uint8_t>(v);
}
inline void put32(uint8_t* p, uint32_t v) {
    put16(p, static_cast<uint16_t>(v >> 16));
    put16(p + 2, static_cast<uint16_t>(v));
}
inline uint16_t get16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline uint32_t get32(const uint8_t* p) { return static_cast<uint32_t>(get16(p)) << 16 | get16(p + 2); }

namespace tcp_flag {
inline constexpr uint8_t fin = 0x01, syn = 0x02, rst = 0x04, psh = 0x08, ack = 0x10;
}

// Writes an Ethernet/IPv4/TCP-or-UDP frame into out (room for it assumed) with
// correct checksums and returns its length (at least min_frame; the IP datagram
// may be followed by trailer bytes, as on a wire with minimum-size frames).
inline uint16_t build_frame(uint8_t* out, const egress::net::mac_address& dst_mac, const egress::net::mac_address& src_mac, uint8_t proto,
                     uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport, uint32_t seq, uint32_t ack,
                     uint8_t flags, const uint8_t* payload, uint16_t payload_len) {
    const uint16_t l4_header = proto == 6 ? 20 : 8;
    const uint16_t ip_len = static_cast<uint16_t>(20 + l4_header + payload_len);
    const uint16_t frame_len = std::max<uint16_t>(static_cast<uint16_t>(14 + ip_len), min_frame);
    std::memset(out, 0, std::min<uint16_t>(frame_len, 14 + 20 + 20));
    std::memcpy(out, dst_mac.bytes.data(), 6);
    std::memcpy(out + 6, src_mac.bytes.data(), 6);
    put16(out + 12, 0x0800);
    uint8_t* ip = out + 14;
    ip[0] = 0x45;
    put16(ip + 2, ip_len);
    ip[6] = 0x40; // DF
    ip[8] = 64;
    ip[9] = proto;
    put32(ip + 12, src);
    put32(ip + 16, dst);
    uint8_t* l4 = ip + 20;
    put16(l4, sport);
    put16(l4 + 2, dport);
    if (proto == 6) {
        put32(l4 + 4, seq);
        put32(l4 + 8, ack);
        l4[12] = 0x50;
        l4[13] = flags;
        put16(l4 + 14, 65535);
    } else {
        put16(l4 + 4, static_cast<uint16_t>(8 + payload_len));
    }
    if (payload_len != 0) std::memcpy(l4 + l4_header, payload, payload_len);
    if (14 + ip_len < frame_len) std::memset(out + 14 + ip_len, 0, frame_len - 14 - ip_len);
    egress::net::packet_view v;
    v.l3_offset = 14;
    v.l4_offset = 34;
    v.l3_length = ip_len;
    v.l4_length = static_cast<uint16_t>(ip_len - 20);
    v.family = egress::net::ip_family::v4;
    v.proto = proto;
    egress::net::recompute_checksums(std::span<uint8_t>(out, frame_len), v);
    return frame_len;
}

// Established-flow traffic: flow i is inside host 10.0.0.0 + i/64, source port
// 1024 + i%64, to 198.51.100.(i%251) port 53 (UDP) or 443 (TCP), like the micro
// benchmarks: every packet of a round a different flow in turn.
inline uint32_t flow_src(uint32_t i) { return 0x0A000000u + (i >> 6); }
inline uint16_t flow_sport(uint32_t i) { return static_cast<uint16_t>(1024 + (i & 63)); }
inline uint32_t flow_dst(uint32_t i) { return 0xC6336400u + (i % 251); }

} // namespace egress_bench
