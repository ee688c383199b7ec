#include "nat/port_allocator.hpp"

#include <gtest/gtest.h>

#include <array>
#include <map>
#include <random>
#include <set>
#include <tuple>
#include <vector>

#include "flow/flow_table.hpp"
#include "net/packet_view.hpp"

namespace egress::nat {
namespace {

using net::ip_address;

ip_address v4(uint32_t a) { return ip_address::from_v4(a); }

std::vector<ip_address> pool_of(uint32_t first, uint32_t n) {
    std::vector<ip_address> p;
    for (uint32_t i = 0; i < n; ++i)
        p.push_back(v4(first + i));
    return p;
}

constexpr uint32_t pub1 = 0xc6336401; // 198.51.100.1

// The in-use inbound keys (proto, remote, remote_port, public, public_port), as a
// flow table would hold them.
struct inbound_book {
    using key = std::tuple<uint8_t, std::array<uint8_t, 16>, uint16_t, uint32_t, uint16_t>;
    std::set<key> used;

    auto taken_for(uint8_t proto, const ip_address& remote, uint16_t remote_port) const {
        return [this, proto, remote, remote_port](uint32_t addr, uint16_t port) {
            return used.count(key{proto, remote.bytes, remote_port, addr, port}) != 0;
        };
    }
    allocation take(port_allocator& pa, uint8_t proto, const ip_address& inside, uint16_t inside_port,
                    const ip_address& remote, uint16_t remote_port) {
        const allocation a = pa.allocate(proto, inside, inside_port, remote, remote_port,
                                         taken_for(proto, remote, remote_port));
        if (a.ok) {
            EXPECT_TRUE(used.insert(key{proto, remote.bytes, remote_port, a.public_addr, a.public_port}).second);
            pa.on_mapping_created(a.pool_index);
        }
        return a;
    }
};

TEST(port_allocator, an_inside_host_always_gets_the_same_address) {
    port_allocator pa(pool_of(pub1, 4), 1024, 65535);
    inbound_book book;
    std::map<uint32_t, uint32_t> per_index;
    for (uint32_t h = 0; h < 4000; ++h) {
        const ip_address inside = v4(0x0a000000 + h * 7919);
        const uint32_t idx = pa.pool_index_for(inside);
        ASSERT_LT(idx, 4u);
        EXPECT_EQ(pa.public_address_for(inside), pa.pool_address(idx));
        for (uint16_t d = 0; d < 5; ++d) {
            const allocation a = book.take(pa, net::proto_tcp, inside, static_cast<uint16_t>(30000 + d),
                                           v4(0x5db8d800 + d), 443);
            ASSERT_TRUE(a.ok);
            EXPECT_EQ(a.pool_index, idx);
            EXPECT_EQ(a.public_addr, pa.pool_address(idx));
        }
        ++per_index[idx];
    }
    ASSERT_EQ(per_index.size(), 4u);
    for (const auto& [idx, n] : per_index)
        EXPECT_GT(n, 800u) << "pool address " << idx;
    // A second allocator (another worker, or after a restart) agrees.
    port_allocator other(pool_of(pub1, 4), 1024, 65535);
    for (uint32_t h = 0; h < 100; ++h)
        EXPECT_EQ(other.pool_index_for(v4(0x0a000000 + h)), pa.pool_index_for(v4(0x0a000000 + h)));
}

TEST(port_allocator, preserves_the_inside_port_when_it_can) {
    port_allocator pa(pool_of(pub1, 1), 1024, 65535);
    inbound_book book;
    const ip_address x = v4(0x08080808);
    allocation a = book.take(pa, net::proto_udp, v4(0x0a000001), 40000, x, 53);
    ASSERT_TRUE(a.ok);
    EXPECT_EQ(a.public_port, 40000);
    // Same port from another host to the same destination: another port.
    a = book.take(pa, net::proto_udp, v4(0x0a000002), 40000, x, 53);
    ASSERT_TRUE(a.ok);
    EXPECT_NE(a.public_port, 40000);
    EXPECT_GE(a.public_port, 1024);
    // Inside port outside the range: a port from the range.
    a = book.take(pa, net::proto_udp, v4(0x0a000003), 80, x, 53);
    ASSERT_TRUE(a.ok);
    EXPECT_GE(a.public_port, 1024);
}

TEST(port_allocator, reuses_a_port_across_destinations_never_towards_one) {
    port_allocator pa(pool_of(pub1, 1), 1024, 65535);
    inbound_book book;
    const ip_address x = v4(0x08080808);
    const ip_address y = v4(0x01010101);
    const allocation a = book.take(pa, net::proto_tcp, v4(0x0a000001), 40000, x, 443);
    const allocation b = book.take(pa, net::proto_tcp, v4(0x0a000002), 40000, y, 443);
    ASSERT_TRUE(a.ok && b.ok);
    EXPECT_EQ(a.public_addr, b.public_addr);
    EXPECT_EQ(a.public_port, b.public_port); // one public endpoint, two destinations
    const allocation c = book.take(pa, net::proto_tcp, v4(0x0a000002), 40000, x, 443);
    ASSERT_TRUE(c.ok);
    EXPECT_NE(c.public_port, a.public_port);

    // Many flows towards one destination: all public ports distinct.
    std::mt19937 rng(1);
    std::set<uint16_t> ports{a.public_port, c.public_port};
    for (int i = 0; i < 3000; ++i) {
        const allocation d = book.take(pa, net::proto_tcp, v4(0x0a000000 + rng() % 200),
                                       static_cast<uint16_t>(1024 + rng() % 50), x, 443);
        ASSERT_TRUE(d.ok);
        EXPECT_TRUE(ports.insert(d.public_port).second) << d.public_port;
    }
}

TEST(port_allocator, a_small_range_exhausts_per_destination) {
    port_allocator pa(pool_of(pub1, 1), 1000, 1003);
    inbound_book book;
    const ip_address x = v4(0x08080808);
    std::set<uint16_t> ports;
    for (uint32_t h = 1; h <= 4; ++h) {
        const allocation a = book.take(pa, net::proto_udp, v4(0x0a000000 + h), 5000, x, 53);
        ASSERT_TRUE(a.ok) << h;
        ports.insert(a.public_port);
    }
    EXPECT_EQ(ports, (std::set<uint16_t>{1000, 1001, 1002, 1003}));
    const allocation fifth = book.take(pa, net::proto_udp, v4(0x0a000005), 5000, x, 53);
    EXPECT_FALSE(fifth.ok);
    EXPECT_EQ(fifth.pool_index, 0u);
    EXPECT_EQ(pa.exhausted(0), 1u);
    EXPECT_EQ(pa.mappings_in_use(0), 4u);
    // Another destination still has the whole range.
    EXPECT_TRUE(book.take(pa, net::proto_udp, v4(0x0a000005), 5000, v4(0x01010101), 53).ok);
    EXPECT_EQ(pa.stats(0).exhausted, 1u);
    EXPECT_EQ(pa.stats(0).mappings_in_use, 5u);
    EXPECT_EQ(pa.stats(0).address, v4(pub1));
    EXPECT_EQ(pa.total_exhausted(), 1u);
    EXPECT_EQ(pa.probe_limit(), 4u);
}

TEST(port_allocator, a_port_in_use_is_never_returned_until_released) {
    port_allocator pa(pool_of(pub1, 1), 1000, 1063);
    inbound_book book;
    const ip_address x = v4(0x08080808);
    std::vector<inbound_book::key> held;
    std::mt19937 rng(3);
    for (int op = 0; op < 20000; ++op) {
        if (!held.empty() && rng() % 3 == 0) {
            const size_t i = rng() % held.size();
            book.used.erase(held[i]);
            pa.on_mapping_released(0);
            held[i] = held.back();
            held.pop_back();
            continue;
        }
        const size_t before = book.used.size();
        const auto inside_port = static_cast<uint16_t>(990 + rng() % 80);
        const allocation a = book.take(pa, net::proto_udp, v4(0x0a000000 + rng() % 64), inside_port, x, 53);
        // The whole 64-port range is probed: a failure means every port is held.
        ASSERT_EQ(a.ok, before < 64) << op;
        if (a.ok) {
            ASSERT_GE(a.public_port, 1000);
            ASSERT_LE(a.public_port, 1063);
            held.push_back({net::proto_udp, x.bytes, 53, a.public_addr, a.public_port}); // take() checked it was free
        }
    }
    EXPECT_EQ(pa.mappings_in_use(0), held.size());

    // Released ports come back.
    port_allocator small(pool_of(pub1, 1), 1000, 1003);
    inbound_book b2;
    for (uint32_t h = 1; h <= 4; ++h)
        ASSERT_TRUE(b2.take(small, net::proto_tcp, v4(0x0a000000 + h), 7000, x, 80).ok);
    for (uint32_t h = 10; h < 20; ++h)
        EXPECT_FALSE(b2.take(small, net::proto_tcp, v4(0x0a000000 + h), 7000, x, 80).ok);
    b2.used.erase({net::proto_tcp, x.bytes, 80, pub1, 1002});
    small.on_mapping_released(0);
    const allocation again = b2.take(small, net::proto_tcp, v4(0x0a000063), 7000, x, 80);
    ASSERT_TRUE(again.ok);
    EXPECT_EQ(again.public_port, 1002);
}

TEST(port_allocator, icmp_echo_identifiers_come_from_the_same_range) {
    port_allocator pa(pool_of(pub1, 1), 1024, 2047);
    inbound_book book;
    const ip_address x = v4(0x08080808);
    std::set<uint16_t> ids;
    for (uint16_t id = 1; id <= 100; ++id) {
        // echo request: src_port = id, dst_port = 0, so the remote "port" is 0
        const allocation a = book.take(pa, net::proto_icmp, v4(0x0a000001), id, x, 0);
        ASSERT_TRUE(a.ok);
        EXPECT_GE(a.public_port, 1024);
        EXPECT_LE(a.public_port, 2047);
        EXPECT_TRUE(ids.insert(a.public_port).second);
    }
}

TEST(port_allocator, an_empty_pool_never_allocates) {
    port_allocator pa({}, 1024, 65535);
    EXPECT_EQ(pa.pool_size(), 0u);
    inbound_book book;
    EXPECT_FALSE(book.take(pa, net::proto_udp, v4(0x0a000001), 5000, v4(0x08080808), 53).ok);
    EXPECT_EQ(pa.total_exhausted(), 0u);
}

TEST(port_allocator, wired_to_a_flow_table) {
    flow::flow_table table(64);
    port_allocator pa(pool_of(pub1, 1), 2000, 2003);
    const ip_address remote = v4(0x5db8d822);
    std::vector<uint32_t> flows;

    auto open = [&](uint32_t inside, uint16_t inside_port) -> allocation {
        const allocation a = pa.allocate(
            net::proto_tcp, v4(inside), inside_port, remote, 443, [&](uint32_t addr, uint16_t port) {
                return table.contains_inbound(net::proto_tcp, remote, 443, addr, port);
            });
        if (!a.ok)
            return a;
        flow::flow_record r;
        r.inside = v4(inside);
        r.remote = remote;
        r.inside_port = inside_port;
        r.remote_port = 443;
        r.public_addr = a.public_addr;
        r.public_port = a.public_port;
        r.proto = net::proto_tcp;
        r.expires_at_ms = 1000 * static_cast<uint32_t>(flows.size() + 1);
        const uint32_t idx = table.insert(r);
        EXPECT_NE(idx, flow::flow_table::npos);
        pa.on_mapping_created(a.pool_index);
        flows.push_back(idx);
        return a;
    };

    std::set<uint16_t> ports;
    for (uint32_t h = 1; h <= 4; ++h) {
        const allocation a = open(0x0a000000 + h, 2001); // all want 2001
        ASSERT_TRUE(a.ok);
        ports.insert(a.public_port);
    }
    EXPECT_EQ(ports.size(), 4u);
    EXPECT_FALSE(open(0x0a000009, 2001).ok);
    EXPECT_EQ(pa.exhausted(0), 1u);

    // The replies find their flows.
    for (const uint32_t idx : flows) {
        const flow::flow_record& r = table.at(idx);
        EXPECT_EQ(table.lookup({remote, v4(pub1), 443, r.public_port, net::proto_tcp}, flow::direction::inbound), idx);
    }

    // The first flow expires (sweep releases its mapping); its port is free again.
    const uint16_t freed = table.at(flows[0]).public_port;
    const uint32_t expired = table.sweep(1500, 64, [&](uint32_t, const flow::flow_record&) {
        pa.on_mapping_released(0);
    });
    EXPECT_EQ(expired, 1u);
    EXPECT_EQ(pa.mappings_in_use(0), 3u);
    const allocation again = open(0x0a000009, 2001);
    ASSERT_TRUE(again.ok);
    EXPECT_EQ(again.public_port, freed);
}

// ---- endpoint-independent mapping (RFC 4787 REQ-1) ----

constexpr auto eim = mapping_mode::endpoint_independent;

// A flow as the gateway keeps it: the allocation, and the claim on its port.
struct eim_book : inbound_book {
    allocation open(port_allocator& pa, uint8_t proto, const ip_address& inside, uint16_t inside_port,
                    const ip_address& remote, uint16_t remote_port) {
        const allocation a = take(pa, proto, inside, inside_port, remote, remote_port);
        if (a.ok) pa.claim(a.pool_index, a.public_port, proto, inside, inside_port);
        return a;
    }
    void close(port_allocator& pa, const allocation& a, uint8_t proto, const ip_address& remote, uint16_t remote_port) {
        used.erase(key{proto, remote.bytes, remote_port, a.public_addr, a.public_port});
        pa.release(a.pool_index, a.public_port);
        pa.on_mapping_released(a.pool_index);
    }
};

TEST(port_allocator_eim, one_inside_socket_gets_one_public_endpoint_for_every_peer) {
    // STUN: the client asks a STUN server, then talks to two peers from the same socket.
    port_allocator pa(pool_of(pub1, 2), 1024, 65535, eim);
    eim_book book;
    const ip_address client = v4(0x0a000005);
    const allocation stun = book.open(pa, net::proto_udp, client, 40000, v4(0x4a7d8a7f), 3478);
    const allocation peer1 = book.open(pa, net::proto_udp, client, 40000, v4(0xcb007101), 50000);
    const allocation peer2 = book.open(pa, net::proto_udp, client, 40000, v4(0xc6336407), 61000);
    ASSERT_TRUE(stun.ok && peer1.ok && peer2.ok);
    EXPECT_EQ(stun.public_port, 40000); // preserved
    EXPECT_EQ(peer1.public_addr, stun.public_addr);
    EXPECT_EQ(peer1.public_port, stun.public_port);
    EXPECT_EQ(peer2.public_port, stun.public_port);
    EXPECT_EQ(pa.holders(stun.pool_index, stun.public_port), 3u);
}

TEST(port_allocator_eim, a_public_port_belongs_to_one_inside_endpoint_at_a_time) {
    port_allocator pa({v4(pub1)}, 1024, 65535, eim);
    eim_book book;
    const ip_address a = v4(0x0a000005), b = v4(0x0a000006);
    const allocation a1 = book.open(pa, net::proto_udp, a, 40000, v4(0xcb007101), 50000);
    // b's socket has the same port number, towards another peer: in
    // endpoint-dependent mode it could share 40000; here it may not.
    const allocation b1 = book.open(pa, net::proto_udp, b, 40000, v4(0xc6336407), 61000);
    ASSERT_TRUE(a1.ok && b1.ok);
    EXPECT_EQ(a1.public_port, 40000);
    EXPECT_NE(b1.public_port, 40000);
    EXPECT_EQ(b1.public_port % 2, 0); // parity of the inside port kept
    // b keeps its own port towards a second peer.
    const allocation b2 = book.open(pa, net::proto_udp, b, 40000, v4(0xcb007101), 50000);
    EXPECT_EQ(b2.public_port, b1.public_port);
    // Once a's only flow is gone, 40000 is free again: b keeps its own port while
    // it holds it, and a new inside endpoint may take 40000.
    book.close(pa, a1, net::proto_udp, v4(0xcb007101), 50000);
    EXPECT_EQ(pa.holders(a1.pool_index, 40000), 0u);
    const allocation b3 = book.open(pa, net::proto_udp, b, 40000, v4(0x08080808), 53);
    EXPECT_EQ(b3.public_port, b1.public_port); // an existing mapping is not moved while in use
    const allocation c1 = book.open(pa, net::proto_udp, v4(0x0a000007), 40000, v4(0x08080808), 53);
    EXPECT_EQ(c1.public_port, 40000);
}

TEST(port_allocator_eim, odd_ports_map_to_odd_ports) {
    port_allocator pa({v4(pub1)}, 1024, 65535, eim);
    eim_book book;
    ASSERT_TRUE(book.open(pa, net::proto_udp, v4(0x0a000005), 5001, v4(0xcb007101), 50000).ok);
    for (uint32_t h = 6; h < 40; ++h) {
        const allocation x = book.open(pa, net::proto_udp, v4(0x0a000000 + h), 5001, v4(0xcb007101), 50000);
        ASSERT_TRUE(x.ok);
        EXPECT_EQ(x.public_port % 2, 1) << x.public_port;
    }
}

TEST(port_allocator_eim, ports_refused_by_the_caller_are_skipped_and_the_slice_holds) {
    // A worker's slice of the range; the caller refuses every port whose reply
    // would hash to another worker (here: ports divisible by 3).
    port_allocator pa({v4(pub1)}, 20000, 20999, eim);
    const ip_address client = v4(0x0a000005);
    const auto rss = [](uint32_t, uint16_t port) { return port % 3 == 0; };
    std::set<uint16_t> seen;
    for (uint16_t s = 0; s < 200; ++s) {
        const allocation a = pa.allocate(net::proto_tcp, client, static_cast<uint16_t>(30000 + s), v4(0xcb007101), 443, rss);
        ASSERT_TRUE(a.ok);
        EXPECT_GE(a.public_port, 20000);
        EXPECT_LE(a.public_port, 20999);
        EXPECT_NE(a.public_port % 3, 0);
        pa.claim(a.pool_index, a.public_port, net::proto_tcp, client, static_cast<uint16_t>(30000 + s));
        EXPECT_TRUE(seen.insert(a.public_port).second) << "two inside endpoints on one public port";
    }
}

TEST(port_allocator_eim, a_full_range_is_exhausted_and_counted) {
    port_allocator pa({v4(pub1)}, 1024, 1031, eim); // 8 ports
    eim_book book;
    for (uint16_t s = 0; s < 8; ++s)
        ASSERT_TRUE(book.open(pa, net::proto_udp, v4(0x0a000005), static_cast<uint16_t>(7000 + s), v4(0x08080808), 53).ok);
    // A ninth inside endpoint finds no port, even towards another destination.
    const allocation a = book.open(pa, net::proto_udp, v4(0x0a000006), 7000, v4(0x01010101), 53);
    EXPECT_FALSE(a.ok);
    EXPECT_EQ(pa.exhausted(0), 1u);
    // The first eight still reach new destinations through their own port.
    const allocation again = book.open(pa, net::proto_udp, v4(0x0a000005), 7000, v4(0x01010101), 53);
    EXPECT_TRUE(again.ok);
}

TEST(port_allocator_eim, endpoint_dependent_mode_keeps_sharing_ports) {
    port_allocator pa({v4(pub1)}, 1024, 65535);
    inbound_book book;
    const allocation a = book.take(pa, net::proto_udp, v4(0x0a000005), 40000, v4(0xcb007101), 50000);
    const allocation b = book.take(pa, net::proto_udp, v4(0x0a000006), 40000, v4(0xc6336407), 61000);
    EXPECT_EQ(a.public_port, 40000);
    EXPECT_EQ(b.public_port, 40000); // another destination: the same port may serve both
    EXPECT_EQ(pa.mode(), mapping_mode::endpoint_dependent);
    pa.claim(0, 40000, net::proto_udp, v4(0x0a000005), 40000); // no-ops in this mode
    EXPECT_EQ(pa.holders(0, 40000), 0u);
}

} // namespace
} // namespace egress::nat
