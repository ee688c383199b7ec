// lib/quic/initial_inspector: whole first flights -> status and ClientHello.
// The RFC sample Initials, and flights built independently by make_initials.py
// with python3-cryptography (data/*.bin, one file per datagram).
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "quic/initial_inspector.hpp"
#include "quic_test_util.hpp"

namespace {

using namespace egress::quic;
using namespace egress::quic::test;

constexpr uint32_t max16k = 16384;

struct flow_fixture {
    std::vector<uint8_t> storage = std::vector<uint8_t>(max16k);
    initial_flow flow{storage};
};

TEST(initial_inspector, rfc_sample_client_initials_give_example_com) {
    initial_inspector inspector(max16k);
    ASSERT_TRUE(inspector.ready());
    for (const char* file : {"rfc9001_client_initial.hex", "rfc9369_client_initial.hex"}) {
        flow_fixture f;
        const auto r = inspector.inspect(f.flow, read_hex_file(file));
        ASSERT_EQ(r.status, initial_status::complete) << file << ": " << to_string(r.status);
        EXPECT_EQ(r.kind(), hello_kind::sni);
        EXPECT_EQ(r.hello->server_name(), "example.com") << file;
        EXPECT_EQ(r.hello->alpn_list(), "alpn") << file;
        EXPECT_EQ(f.flow.initials, 1u);
        EXPECT_EQ(f.flow.largest_pn, 2);
    }
}

} // namespace

namespace {

using namespace egress::quic;
using namespace egress::quic::test;

std::vector<bytes> flight_of(const std::string& name) {
    std::vector<bytes> out;
    for (int i = 0;; ++i) {
        const std::string file = data_path(name + "." + std::to_string(i) + ".bin");
        if (!std::ifstream(file).good()) break;
        out.push_back(read_file(name + "." + std::to_string(i) + ".bin"));
    }
    EXPECT_FALSE(out.empty()) << name;
    return out;
}

struct flight_row {
    const char* flight;
    initial_status status;      // after the last datagram
    const char* sni;            // complete only
    hello_kind kind;
    const char* alpn;
};

// Fed in the order sent: every datagram but the last leaves need_more.
TEST(initial_inspector, python_built_flights) {
    const flight_row rows[] = {
        {"chromium-chaos", initial_status::complete, "www.example.org", hello_kind::ech, "h3"},
        {"pq-in-order", initial_status::complete, "pq.example.com", hello_kind::sni, "h3,h3-29"},
        {"v2-token", initial_status::complete, "v2.example.net", hello_kind::sni, "h3"},
        {"no-sni", initial_status::complete, "", hello_kind::no_sni, "h3"},
        {"ech-real", initial_status::complete, "public.example.com", hello_kind::ech, "h3"},
        {"coalesced-0rtt", initial_status::complete, "coalesced.example.com", hello_kind::sni, "h3"},
        {"crypto-conflict", initial_status::malformed, "", hello_kind::no_sni, ""},
        {"stream-frame", initial_status::malformed, "", hello_kind::no_sni, ""},
        {"hello-over-16k", initial_status::too_large, "", hello_kind::no_sni, ""},
        {"reserved-bits", initial_status::malformed, "", hello_kind::no_sni, ""},
        {"wrong-keys", initial_status::undecryptable, "", hello_kind::no_sni, ""},
        {"bytes-after-hello", initial_status::malformed, "", hello_kind::no_sni, ""},
        {"short-dcid", initial_status::malformed, "", hello_kind::no_sni, ""},
    };
    initial_inspector inspector(max16k);
    for (const auto& row : rows) {
        const auto datagrams = flight_of(row.flight);
        flow_fixture f;
        initial_result r;
        for (std::size_t i = 0; i < datagrams.size(); ++i) {
            r = inspector.inspect(f.flow, datagrams[i]);
            if (i + 1 < datagrams.size()) {
                EXPECT_EQ(r.status, initial_status::need_more) << row.flight << " datagram " << i;
            }
        }
        ASSERT_EQ(r.status, row.status) << row.flight << ": " << to_string(r.status);
        if (row.status != initial_status::complete) {
            EXPECT_EQ(r.hello, nullptr);
            continue;
        }
        EXPECT_EQ(r.hello->server_name(), row.sni) << row.flight;
        EXPECT_EQ(r.kind(), row.kind) << row.flight << ": " << to_string(r.kind());
        EXPECT_EQ(r.hello->alpn_list(), row.alpn) << row.flight;
        // Decided: later datagrams, even garbage, give the same result.
        const auto again = inspector.inspect(f.flow, bytes{0x40, 0x00});
        EXPECT_EQ(again.status, initial_status::complete);
        EXPECT_EQ(again.hello->server_name(), row.sni);
    }
}

TEST(initial_inspector, multi_datagram_flights_in_every_order_and_duplicated) {
    initial_inspector inspector(max16k);
    for (const char* name : {"chromium-chaos", "pq-in-order"}) {
        const auto d = flight_of(name);
        ASSERT_EQ(d.size(), 2u);
        const std::vector<std::vector<std::size_t>> orders = {{1, 0}, {0, 0, 1}, {1, 1, 0}, {0, 1, 1}};
        for (const auto& order : orders) {
            flow_fixture f;
            initial_result r;
            bool seen[2] = {false, false};
            for (std::size_t i : order) {
                r = inspector.inspect(f.flow, d[i]);
                seen[i] = true;
                // Complete exactly when both datagrams were seen (a duplicate adds nothing).
                EXPECT_EQ(r.status, seen[0] && seen[1] ? initial_status::complete : initial_status::need_more)
                    << name << " after datagram " << i;
            }
            ASSERT_EQ(r.status, initial_status::complete) << name;
            EXPECT_EQ(r.hello->server_name(), name == std::string("pq-in-order") ? "pq.example.com" : "www.example.org");
            // A datagram repeated before the decision is read again; after it, not.
            EXPECT_EQ(f.flow.initials, (order == std::vector<std::size_t>{0, 1, 1}) ? 2u : order.size()) << name;
        }
    }
}

TEST(initial_inspector, a_second_initial_with_another_dcid_is_malformed) {
    initial_inspector inspector(max16k);
    flow_fixture f;
    EXPECT_EQ(inspector.inspect(f.flow, flight_of("pq-in-order")[0]).status, initial_status::need_more);
    EXPECT_EQ(inspector.inspect(f.flow, flight_of("chromium-chaos")[1]).status, initial_status::malformed);
}

TEST(initial_inspector, zero_rtt_alone_waits_after_an_initial_and_is_not_initial_first) {
    initial_inspector inspector(max16k);
    const auto coalesced = flight_of("coalesced-0rtt")[0];
    const bytes zero_rtt(coalesced.begin() + 1000, coalesced.end());
    const auto pq = flight_of("pq-in-order");
    {
        flow_fixture f;
        EXPECT_EQ(inspector.inspect(f.flow, zero_rtt).status, initial_status::not_initial);
    }
    flow_fixture f;
    EXPECT_EQ(inspector.inspect(f.flow, pq[0]).status, initial_status::need_more);
    EXPECT_EQ(inspector.inspect(f.flow, zero_rtt).status, initial_status::need_more);
    EXPECT_EQ(inspector.inspect(f.flow, pq[1]).status, initial_status::complete);
}

TEST(initial_inspector, a_smaller_maximum_makes_the_pq_hello_too_large) {
    initial_inspector inspector(1024);
    std::vector<uint8_t> storage(1024);
    initial_flow flow(storage);
    const auto d = flight_of("pq-in-order");
    // The first datagram's CRYPTO piece already ends past 1024 bytes.
    EXPECT_EQ(inspector.inspect(flow, d[0]).status, initial_status::too_large);
    EXPECT_EQ(inspector.inspect(flow, d[1]).status, initial_status::too_large);
}

TEST(initial_inspector, first_packet_kinds_decide_at_once) {
    const auto rfc = read_hex_file("rfc9001_client_initial.hex");
    struct row {
        const char* description;
        bytes datagram;
        initial_status status;
    };
    auto with = [&rfc](std::size_t at, uint8_t value) {
        auto b = rfc;
        b[at] = value;
        return b;
    };
    const row rows[] = {
        {"short header", with(0, 0x40), initial_status::not_initial},
        {"handshake type bits", with(0, 0xe0), initial_status::not_initial},
        {"0-RTT before any Initial", with(0, 0xd0), initial_status::not_initial},
        {"retry type bits", with(0, 0xf0), initial_status::retry},
        {"unknown version", with(4, 0x1d), initial_status::unknown_version},
        {"version 0", with(4, 0x00), initial_status::version_negotiation},
        {"one byte short", bytes(rfc.begin(), rfc.end() - 1), initial_status::malformed},
        {"header only", bytes(rfc.begin(), rfc.begin() + 20), initial_status::malformed},
        {"one byte", bytes{0xc0}, initial_status::malformed},
        {"ciphertext bit flipped", with(500, rfc[500] ^ 0x80), initial_status::undecryptable},
        {"protected packet number changed", with(21, rfc[21] ^ 0x01), initial_status::undecryptable},
        {"empty datagram", bytes{}, initial_status::need_more},
    };
    initial_inspector inspector(max16k);
    for (const auto& r : rows) {
        flow_fixture f;
        EXPECT_EQ(to_string(inspector.inspect(f.flow, r.datagram).status), to_string(r.status)) << r.description;
    }
}

TEST(initial_inspector, trailing_bytes_after_the_packet_are_ignored) {
    auto d = read_hex_file("rfc9001_client_initial.hex");
    d.resize(d.size() + 100, 0x00); // zero padding after the packet, as some clients send
    initial_inspector inspector(max16k);
    flow_fixture f;
    const auto r = inspector.inspect(f.flow, d);
    ASSERT_EQ(r.status, initial_status::complete);
    EXPECT_EQ(r.hello->server_name(), "example.com");
}

TEST(initial_inspector, two_initials_coalesced_in_one_datagram) {
    const auto d = flight_of("pq-in-order");
    bytes both = d[0];
    both.insert(both.end(), d[1].begin(), d[1].end());
    initial_inspector inspector(max16k);
    flow_fixture f;
    const auto r = inspector.inspect(f.flow, both);
    ASSERT_EQ(r.status, initial_status::complete) << to_string(r.status);
    EXPECT_EQ(r.hello->server_name(), "pq.example.com");
    EXPECT_EQ(f.flow.initials, 2u);
    EXPECT_EQ(f.flow.largest_pn, 1);
}

TEST(initial_inspector, status_names) {
    EXPECT_EQ(to_string(initial_status::need_more), "need_more");
    EXPECT_EQ(to_string(initial_status::version_negotiation), "version_negotiation");
    EXPECT_EQ(to_string(initial_status::too_large), "too_large");
    EXPECT_EQ(to_string(hello_kind::no_sni), "no_sni");
    EXPECT_EQ(to_string(hello_kind::ech), "ech");
}

// Real first flights of Chromium 156 (Debian 12, headless, QUIC forced on for
// quic.example.test mapped to 127.0.0.1; captured by a UDP socket on port 443,
// no server answering): per connection, the two datagrams of the first flight
// (packet numbers 1, 2: the ClientHello chopped into ~20 shuffled CRYPTO frames
// with PING and PADDING between them), three probe retransmissions (4, 6, 8:
// the same hello chopped differently) and a CONNECTION_CLOSE (9).
TEST(initial_inspector, real_chromium_first_flights) {
    initial_inspector inspector(max16k);
    for (const char* name : {"chromium-156-a", "chromium-156-b"}) {
        const auto d = flight_of(name);
        ASSERT_EQ(d.size(), 6u);
        flow_fixture f;
        EXPECT_EQ(inspector.inspect(f.flow, d[0]).status, initial_status::need_more) << name;
        const auto r = inspector.inspect(f.flow, d[1]);
        ASSERT_EQ(r.status, initial_status::complete) << name << ": " << to_string(r.status);
        EXPECT_EQ(r.hello->server_name(), "quic.example.test");
        EXPECT_EQ(r.hello->alpn_list(), "h3");
        EXPECT_EQ(r.kind(), hello_kind::ech) << "Chromium sends a GREASE ECH extension";
        EXPECT_TRUE(r.hello->ech_outer);
        EXPECT_EQ(f.flow.largest_pn, 2);

        // Only the retransmissions (the first two datagrams lost), then all in reverse.
        flow_fixture g;
        EXPECT_EQ(inspector.inspect(g.flow, d[2]).status, initial_status::need_more) << name;
        EXPECT_EQ(inspector.inspect(g.flow, d[3]).status, initial_status::complete) << name;
        EXPECT_EQ(g.flow.hello.server_name(), "quic.example.test");
        flow_fixture h;
        initial_result last;
        for (std::size_t i = d.size(); i-- > 0;) last = inspector.inspect(h.flow, d[i]);
        ASSERT_EQ(last.status, initial_status::complete) << name;
        EXPECT_EQ(last.hello->server_name(), "quic.example.test");
        // The close alone is a valid Initial without CRYPTO data.
        flow_fixture k;
        EXPECT_EQ(inspector.inspect(k.flow, d[5]).status, initial_status::need_more) << name;
    }
}

} // namespace
