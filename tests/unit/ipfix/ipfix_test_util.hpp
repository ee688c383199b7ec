// Shared fixtures of the lib/ipfix tests: the events every test encodes, and a
// structural walker over produced messages (no decoder of values).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

#include "flow/flow_event.hpp"
#include "ipfix/encoder.hpp"

namespace egress::ipfix::test {

inline net::ip_address addr(std::string_view text) { return *net::ip_address::parse(text); }

template <std::size_t N>
void set_text(std::array<char, N>& a, std::string_view s) {
    a.fill('\0');
    std::memcpy(a.data(), s.data(), std::min(N, s.size()));
}

constexpr uint64_t t0_ms = 1'700'000'000'000; // 00 00 01 8b cf e5 68 00
constexpr uint64_t t1_ms = 1'700'000'002'500; // 00 00 01 8b cf e5 71 c4

// A finished IPv4 NAT44 TCP flow.
inline flow::flow_event v4_flow() {
    flow::flow_event e;
    e.kind = flow::event_kind::flow_end;
    e.reason = flow::end_reason::end_of_flow;
    e.firewall = flow::firewall_event::flow_deleted;
    e.proto = 6;
    e.tcp_flags = 0x1b; // FIN SYN PSH ACK
    e.ingress_port = 0;
    e.egress_port = 1;
    e.start_ms = t0_ms;
    e.end_ms = t1_ms;
    e.src = addr("10.0.0.2");
    e.dst = addr("192.0.2.7");
    e.post_nat_src = addr("198.51.100.1");
    e.src_port = 40000;
    e.dst_port = 443;
    e.post_nat_src_port = 1024;
    e.bytes_out = 1500;
    e.packets_out = 10;
    e.bytes_in = 0x0000000100000002; // 4294967298: both words of a u64
    e.packets_in = 7;
    return e;
}

// An IPv6 UDP flow reported by the active timeout.
inline flow::flow_event v6_flow() {
    flow::flow_event e;
    e.kind = flow::event_kind::flow_update;
    e.reason = flow::end_reason::active_timeout;
    e.firewall = flow::firewall_event::flow_update;
    e.proto = 17;
    e.ingress_port = 0;
    e.egress_port = 1;
    e.start_ms = t0_ms;
    e.end_ms = t1_ms;
    e.src = addr("2001:db8::2");
    e.dst = addr("2001:db8:1::7");
    e.src_port = 50000;
    e.dst_port = 53;
    e.bytes_out = 100;
    e.packets_out = 1;
    e.bytes_in = 200;
    e.packets_in = 2;
    return e;
}

inline flow::flow_event nat_create() {
    flow::flow_event e;
    e.kind = flow::event_kind::nat_event;
    e.nat = flow::nat_event_type::nat44_session_create;
    e.proto = 6;
    e.start_ms = e.end_ms = t0_ms;
    e.src = addr("10.0.0.2");
    e.dst = addr("192.0.2.7");
    e.post_nat_src = addr("198.51.100.1");
    e.src_port = 40000;
    e.dst_port = 443;
    e.post_nat_src_port = 1024;
    return e;
}

inline flow::flow_event denied(std::string_view src, std::string_view dst) {
    flow::flow_event e;
    e.kind = flow::event_kind::flow_denied;
    e.firewall = flow::firewall_event::flow_denied;
    e.proto = 6;
    e.start_ms = t0_ms;
    e.end_ms = t1_ms;
    e.src = addr(src);
    e.dst = addr(dst);
    e.dst_port = 22;
    e.packets_out = 42;
    e.drop_reason = 26; // stats::drop_reason::inbound_unsolicited
    return e;
}

inline uint16_t rd16(std::span<const uint8_t> b, std::size_t at) {
    return static_cast<uint16_t>((b[at] << 8) | b[at + 1]);
}
inline uint32_t rd32(std::span<const uint8_t> b, std::size_t at) {
    return (uint32_t{rd16(b, at)} << 16) | rd16(b, at + 2);
}

struct walk_result {
    uint32_t data_records = 0;
    std::vector<uint16_t> set_ids;
};

// Walks one message: header length = message size, set lengths add up to the
// message length, every data set holds whole records of its template (fixed
// lengths from template_fields, variable lengths from their prefixes).
inline walk_result walk(std::span<const uint8_t> m) {
    walk_result r;
    EXPECT_GE(m.size(), message_header_bytes);
    if (m.size() < message_header_bytes) return r;
    EXPECT_EQ(rd16(m, 0), 10);
    EXPECT_EQ(rd16(m, 2), m.size());
    std::size_t at = message_header_bytes;
    while (at < m.size()) {
        EXPECT_LE(at + set_header_bytes, m.size());
        if (at + set_header_bytes > m.size()) return r;
        const uint16_t id = rd16(m, at);
        const uint16_t len = rd16(m, at + 2);
        EXPECT_GE(len, set_header_bytes);
        EXPECT_LE(at + len, m.size());
        if (len < set_header_bytes || at + len > m.size()) return r;
        r.set_ids.push_back(id);
        if (id >= 256) {
            const auto fields = template_fields(static_cast<template_id>(id));
            EXPECT_FALSE(fields.empty()) << "unknown template " << id;
            std::size_t p = at + set_header_bytes;
            while (p < at + len && !fields.empty()) {
                for (const field_spec& f : fields) {
                    if (f.length != variable_length) {
                        p += f.length;
                    } else if (m[p] < 255) {
                        p += 1 + m[p];
                    } else {
                        p += 3 + rd16(m, p + 1);
                    }
                }
                ++r.data_records;
            }
            EXPECT_EQ(p, at + len) << "set " << id << " does not end on a record boundary";
        }
        at += len;
    }
    EXPECT_EQ(at, m.size());
    return r;
}

} // namespace egress::ipfix::test
