#include "flow/flow_table.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <set>
#include <vector>

#include "net/packet_view.hpp"

namespace egress::flow {
namespace {

net::ip_address v4(const char* text) { return *net::ip_address::parse(text); }

flow_record v4_flow(uint32_t inside, uint16_t inside_port, uint32_t remote, uint16_t remote_port,
                    uint32_t public_addr, uint16_t public_port, uint8_t proto = net::proto_tcp) {
    flow_record r;
    r.inside = net::ip_address::from_v4(inside);
    r.remote = net::ip_address::from_v4(remote);
    r.inside_port = inside_port;
    r.remote_port = remote_port;
    r.public_addr = public_addr;
    r.public_port = public_port;
    r.proto = proto;
    r.family = static_cast<uint8_t>(net::ip_family::v4);
    return r;
}

// Distinct random flows: v4 with SNAT and v6 mixed, unique in both directions.
std::vector<flow_record> random_flows(size_t n, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<flow_record> out;
    out.reserve(n);
    for (size_t i = 0; i < n; ++i) {
        const uint64_t x = rng();
        const auto port = static_cast<uint16_t>(1024 + i % 60000);
        if (i % 3 == 2) {
            flow_record r;
            r.inside = *net::ip_address::parse("fd00::");
            r.remote = *net::ip_address::parse("2001:db8::");
            for (int b = 0; b < 8; ++b) {
                r.inside.bytes[8 + b] = static_cast<uint8_t>(x >> (8 * b));
                r.remote.bytes[8 + b] = static_cast<uint8_t>(i >> (8 * b));
            }
            r.inside_port = port;
            r.remote_port = 443;
            r.proto = net::proto_tcp;
            r.family = static_cast<uint8_t>(net::ip_family::v6);
            out.push_back(r);
        } else {
            // inbound key unique by (remote = index-derived, public port)
            out.push_back(v4_flow(0x0a000000u | static_cast<uint32_t>(x & 0xffffff), port,
                                  0xc6120000u + static_cast<uint32_t>(i / 60000), 53, 0xcb007101u, port,
                                  net::proto_udp));
        }
    }
    return out;
}

TEST(flow_record, is_one_cache_line) {
    EXPECT_EQ(sizeof(flow_record), 64u);
    EXPECT_EQ(alignof(flow_record), 64u);
}

TEST(flow_table, memory_per_flow_within_budget) {
    for (const uint32_t cap : {4096u, 100'000u, 1u << 20}) {
        flow_table t(cap);
        const double per_flow = static_cast<double>(t.memory_bytes()) / t.capacity();
        std::printf("capacity %u: %zu bytes, %.2f bytes per flow, %u buckets\n", cap, t.memory_bytes(), per_flow,
                    t.bucket_count());
        // 64 B record + 20 B index + 32 B side entry (byte counts and TCP window,
        // flow_table.hpp): 116 B, under the 128 B cap window tracking allows.
        EXPECT_LE(per_flow, 117.0) << cap;
        EXPECT_EQ(t.bucket_count(), (uint64_t{cap} * 2 * 5 / 4 + 7) / 8);
    }
}

TEST(flow_table, v4_snat_found_from_both_directions) {
    flow_table t(128);
    const flow_record r = v4_flow(0x0a000005, 40000, 0x5db8d822, 443, 0xc6336407, 50000);
    const uint32_t idx = t.insert(r);
    ASSERT_NE(idx, flow_table::npos);
    EXPECT_EQ(t.size(), 1u);
    EXPECT_TRUE(t.at(idx).is_live());

    const flow_key out{v4("10.0.0.5"), v4("93.184.216.34"), 40000, 443, net::proto_tcp};
    const flow_key in{v4("93.184.216.34"), v4("198.51.100.7"), 443, 50000, net::proto_tcp};
    EXPECT_EQ(t.lookup(out, direction::outbound), idx);
    EXPECT_EQ(t.lookup(in, direction::inbound), idx);
    EXPECT_EQ(outbound_key_of(t.at(idx)), out);
    EXPECT_EQ(inbound_key_of(t.at(idx)), in);

    // Wrong direction, untranslated reply, other protocol or port: no match.
    EXPECT_EQ(t.lookup(out, direction::inbound), flow_table::npos);
    EXPECT_EQ(t.lookup(in, direction::outbound), flow_table::npos);
    EXPECT_EQ(t.lookup({v4("93.184.216.34"), v4("10.0.0.5"), 443, 40000, net::proto_tcp}, direction::inbound),
              flow_table::npos);
    EXPECT_EQ(t.lookup({v4("93.184.216.34"), v4("198.51.100.7"), 443, 50000, net::proto_udp}, direction::inbound),
              flow_table::npos);
    EXPECT_EQ(t.lookup({v4("93.184.216.34"), v4("198.51.100.7"), 443, 50001, net::proto_tcp}, direction::inbound),
              flow_table::npos);

    EXPECT_TRUE(t.contains_inbound(net::proto_tcp, v4("93.184.216.34"), 443, 0xc6336407, 50000));
    EXPECT_FALSE(t.contains_inbound(net::proto_tcp, v4("93.184.216.35"), 443, 0xc6336407, 50000));
}

TEST(flow_table, v6_found_from_both_directions_without_translation) {
    flow_table t(128);
    flow_record r;
    r.inside = *net::ip_address::parse("2001:db8:1::5");
    r.remote = *net::ip_address::parse("2606:2800:220:1::1");
    r.inside_port = 40000;
    r.remote_port = 443;
    r.proto = net::proto_tcp;
    r.family = static_cast<uint8_t>(net::ip_family::v6);
    const uint32_t idx = t.insert(r);
    ASSERT_NE(idx, flow_table::npos);
    EXPECT_EQ(t.lookup({r.inside, r.remote, 40000, 443, net::proto_tcp}, direction::outbound), idx);
    EXPECT_EQ(t.lookup({r.remote, r.inside, 443, 40000, net::proto_tcp}, direction::inbound), idx);
    EXPECT_EQ(t.lookup({r.remote, r.inside, 443, 40001, net::proto_tcp}, direction::inbound), flow_table::npos);
}

TEST(flow_table, icmp_echo_request_and_reply) {
    flow_table t(16);
    const uint32_t idx = t.insert(v4_flow(0x0a000005, 0x1234, 0x08080808, 0, 0xc6336407, 0x4321, net::proto_icmp));
    ASSERT_NE(idx, flow_table::npos);
    // request: src_port = id, dst_port = 0; reply mirrors with the public id
    EXPECT_EQ(t.lookup({v4("10.0.0.5"), v4("8.8.8.8"), 0x1234, 0, net::proto_icmp}, direction::outbound), idx);
    EXPECT_EQ(t.lookup({v4("8.8.8.8"), v4("198.51.100.7"), 0, 0x4321, net::proto_icmp}, direction::inbound), idx);
}

TEST(flow_table, erase_removes_both_keys_and_frees_the_record) {
    flow_table t(4);
    const flow_record r = v4_flow(0x0a000005, 40000, 0x5db8d822, 443, 0xc6336407, 50000);
    const uint32_t idx = t.insert(r);
    ASSERT_NE(idx, flow_table::npos);
    t.erase(idx);
    EXPECT_EQ(t.size(), 0u);
    EXPECT_FALSE(t.at(idx).is_live());
    EXPECT_EQ(t.lookup(outbound_key_of(r), direction::outbound), flow_table::npos);
    EXPECT_EQ(t.lookup(inbound_key_of(r), direction::inbound), flow_table::npos);
    EXPECT_EQ(t.insert(r), idx); // the freed record is reused first
}

TEST(flow_table, full_table_refuses_and_never_evicts) {
    for (const uint32_t cap : {1u, 7u, 1000u, 65536u}) {
        flow_table t(cap);
        const std::vector<flow_record> flows = random_flows(cap + 1, cap);
        std::vector<uint32_t> idx(cap);
        for (uint32_t i = 0; i < cap; ++i) {
            idx[i] = t.insert(flows[i]);
            ASSERT_NE(idx[i], flow_table::npos) << "capacity " << cap << " flow " << i;
        }
        EXPECT_EQ(t.size(), cap);
        EXPECT_EQ(t.insert(flows[cap]), flow_table::npos);
        EXPECT_EQ(t.size(), cap);
        EXPECT_EQ(t.lookup(outbound_key_of(flows[cap]), direction::outbound), flow_table::npos);
        for (uint32_t i = 0; i < cap; ++i) {
            ASSERT_EQ(t.lookup(outbound_key_of(flows[i]), direction::outbound), idx[i]) << i;
            ASSERT_EQ(t.lookup(inbound_key_of(flows[i]), direction::inbound), idx[i]) << i;
        }
    }
}

TEST(flow_table, churn_at_full_capacity_keeps_accepting) {
    constexpr uint32_t cap = 65536;
    flow_table t(cap);
    const std::vector<flow_record> flows = random_flows(4 * cap, 99);
    std::vector<uint32_t> by_idx(cap); // flow number held by each record index
    for (uint32_t i = 0; i < cap; ++i) {
        const uint32_t idx = t.insert(flows[i]);
        ASSERT_NE(idx, flow_table::npos);
        by_idx[idx] = i;
    }
    std::mt19937 rng(5);
    for (uint32_t next = cap; next < flows.size(); ++next) {
        const uint32_t victim = rng() % cap;
        t.erase(victim);
        const uint32_t idx = t.insert(flows[next]);
        ASSERT_EQ(idx, victim) << next;
        by_idx[idx] = next;
    }
    for (uint32_t idx = 0; idx < cap; ++idx) {
        ASSERT_EQ(t.lookup(outbound_key_of(flows[by_idx[idx]]), direction::outbound), idx);
        ASSERT_EQ(t.lookup(inbound_key_of(flows[by_idx[idx]]), direction::inbound), idx);
    }
}

TEST(flow_table, burst_lookup_equals_single_lookup) {
    constexpr uint32_t cap = 50'000;
    flow_table t(cap);
    const std::vector<flow_record> flows = random_flows(45'000, 7);
    for (const flow_record& r : flows)
        ASSERT_NE(t.insert(r), flow_table::npos);

    std::mt19937_64 rng(11);
    constexpr size_t n = 100'000;
    std::vector<flow_key> keys(n);
    std::vector<direction> dirs(n);
    for (size_t i = 0; i < n; ++i) {
        const flow_record& r = flows[rng() % flows.size()];
        dirs[i] = (rng() & 1) ? direction::inbound : direction::outbound;
        keys[i] = key_of(r, dirs[i]);
        switch (rng() % 4) {
        case 0: // a near miss: one field off
            keys[i].dst_port = static_cast<uint16_t>(keys[i].dst_port + 1);
            break;
        case 1: // the right key in the wrong direction
            dirs[i] = reverse(dirs[i]);
            break;
        case 2: { // random garbage
            for (auto& b : keys[i].src.bytes)
                b = static_cast<uint8_t>(rng());
            break;
        }
        default:
            break;
        }
    }
    std::vector<uint32_t> single(n);
    size_t hits = 0;
    for (size_t i = 0; i < n; ++i) {
        single[i] = t.lookup(keys[i], dirs[i]);
        hits += single[i] != flow_table::npos;
    }
    EXPECT_GT(hits, n / 5);
    EXPECT_LT(hits, n / 2);

    std::vector<uint32_t> burst(n, 0xdeadbeef);
    t.lookup_burst(keys.data(), dirs.data(), n, burst.data());
    EXPECT_EQ(burst, single);

    // Irregular burst sizes, including ones that are not multiples of the chunk.
    std::fill(burst.begin(), burst.end(), 0xdeadbeef);
    for (size_t pos = 0; pos < n;) {
        const auto m = static_cast<uint32_t>(std::min<size_t>(n - pos, 1 + rng() % 70));
        t.lookup_burst(keys.data() + pos, dirs.data() + pos, m, burst.data() + pos);
        pos += m;
    }
    EXPECT_EQ(burst, single);
}

TEST(flow_table, sweep_expires_only_expired_records) {
    flow_table t(100);
    std::vector<flow_record> flows = random_flows(60, 3);
    std::set<uint32_t> should_expire;
    for (size_t i = 0; i < flows.size(); ++i) {
        flows[i].expires_at_ms = (i % 2) ? 1000 : 5000;
        const uint32_t idx = t.insert(flows[i]);
        ASSERT_NE(idx, flow_table::npos);
        if (i % 2)
            should_expire.insert(idx);
    }
    std::set<uint32_t> seen;
    const uint32_t n = t.sweep(2000, 100, [&](uint32_t idx, const flow_record& r) {
        EXPECT_TRUE(r.is_live());
        EXPECT_TRUE(is_expired(r, 2000));
        seen.insert(idx);
    });
    EXPECT_EQ(n, 30u);
    EXPECT_EQ(seen, should_expire);
    EXPECT_EQ(t.size(), 30u);
    for (size_t i = 0; i < flows.size(); ++i) {
        const bool expect_found = (i % 2) == 0;
        EXPECT_EQ(t.lookup(outbound_key_of(flows[i]), direction::outbound) != flow_table::npos, expect_found);
        EXPECT_EQ(t.lookup(inbound_key_of(flows[i]), direction::inbound) != flow_table::npos, expect_found);
    }
    // At exactly expires_at the record is expired.
    EXPECT_EQ(t.sweep(4999, 100, [](uint32_t, const flow_record&) {}), 0u);
    EXPECT_EQ(t.sweep(5000, 100, [](uint32_t, const flow_record&) {}), 30u);
    EXPECT_EQ(t.size(), 0u);
}

TEST(flow_table, sweep_respects_budget_and_cursor_wraps) {
    constexpr uint32_t cap = 16;
    flow_table t(cap);
    const std::vector<flow_record> flows = random_flows(cap, 4);
    for (const flow_record& r : flows) {
        flow_record e = r;
        e.expires_at_ms = 10;
        ASSERT_EQ(t.insert(e), static_cast<uint32_t>(&r - flows.data())); // dense from index 0
    }
    std::vector<uint32_t> order;
    auto record = [&](uint32_t idx, const flow_record&) { order.push_back(idx); };
    EXPECT_EQ(t.sweep(100, 5, record), 5u);
    EXPECT_EQ(t.sweep_cursor(), 5u);
    EXPECT_EQ(t.size(), cap - 5);
    EXPECT_EQ(t.sweep(100, 10, record), 10u);
    EXPECT_EQ(t.sweep_cursor(), 15u);
    EXPECT_EQ(t.sweep(100, 4, record), 1u); // visits 15, 0, 1, 2: only 15 is still live
    EXPECT_EQ(t.sweep_cursor(), 3u);
    std::vector<uint32_t> expected(cap);
    for (uint32_t i = 0; i < cap; ++i)
        expected[i] = i;
    EXPECT_EQ(order, expected);
    // A budget above the capacity visits each slot once, not more.
    EXPECT_EQ(t.sweep(100, 1000, record), 0u);
    EXPECT_EQ(t.sweep_cursor(), 3u);
}

TEST(flow_table, serial_time_wraps_around) {
    flow_record r;
    r.expires_at_ms = 0x00000100; // set at 0xffffff00 with a 0x200 ms timeout
    EXPECT_FALSE(is_expired(r, 0xffffff00u));
    EXPECT_FALSE(is_expired(r, 0xfffffff0u));
    EXPECT_FALSE(is_expired(r, 0x000000ffu));
    EXPECT_TRUE(is_expired(r, 0x00000100u));
    EXPECT_TRUE(is_expired(r, 0x00001000u));
    EXPECT_TRUE(time_reached(5, 0xfffffffbu));
    EXPECT_FALSE(time_reached(0xfffffffbu, 5));

    flow_table t(8);
    flow_record f = v4_flow(0x0a000001, 1, 0x01010101, 2, 0xc6336401, 3);
    f.expires_at_ms = 0x00000100;
    ASSERT_NE(t.insert(f), flow_table::npos);
    EXPECT_EQ(t.sweep(0xfffffff0u, 8, [](uint32_t, const flow_record&) {}), 0u);
    EXPECT_EQ(t.sweep(0x00000200u, 8, [](uint32_t, const flow_record&) {}), 1u);
}

} // namespace
} // namespace egress::flow
