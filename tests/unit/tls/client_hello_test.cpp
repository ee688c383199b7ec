// lib/tls/client_hello: hand-built hellos (hello_builder.hpp) in one or many
// records; exact fields; every prefix need_more (or the same early decision);
// GREASE, ECH, ALPN truncation, size limits, every malformed / not_tls rule.
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "tls/client_hello.hpp"
#include "hello_builder.hpp"

namespace {

using namespace egress::tls;
using namespace egress::tls::test;

constexpr uint32_t max16k = 16384;

client_hello_info parse(const bytes& b, uint32_t max = max16k) { return parse_client_hello(b, max); }

client_hello_info parse_prefix(const bytes& b, std::size_t n, uint32_t max) {
    return parse_client_hello(std::span<const uint8_t>(b.data(), n), max);
}

// Parses `stream`, then checks every prefix: a prefix is need_more or already has
// the final status; for complete, every prefix shorter than the hello is need_more
// and every longer one gives the same fields.
client_hello_info parse_all_prefixes(const bytes& stream, uint32_t max = max16k) {
    const auto full = parse(stream, max);
    for (std::size_t n = 0; n < stream.size(); ++n) {
        const auto p = parse_prefix(stream, n, max);
        if (full.status == hello_status::complete && n < full.consumed) {
            EXPECT_EQ(p.status, hello_status::need_more) << "prefix " << n << " of " << stream.size();
        } else if (full.status == hello_status::complete) {
            EXPECT_EQ(p.status, hello_status::complete) << "prefix " << n;
            EXPECT_EQ(p.consumed, full.consumed);
            EXPECT_EQ(p.server_name(), full.server_name());
        } else if (p.status != hello_status::need_more) {
            EXPECT_EQ(p.status, full.status) << "prefix " << n << " of " << stream.size();
        }
        if (::testing::Test::HasFailure()) break; // one report, not thousands
    }
    return full;
}

hello_builder typical(std::string_view host = "example.com") {
    hello_builder h;
    h.extensions = {sni_ext(host), opaque_ext(23, 0), opaque_ext(10, 8), supported_versions_ext(),
                    key_share_ext({{0x001d, 32}}), alpn_ext({"h2", "http/1.1"})};
    return h;
}

hello_status status_of(const hello_builder& h) { return parse_all_prefixes(records(h.message())).status; }

TEST(client_hello, typical_hello_in_one_record) {
    const auto stream = records(typical().message());
    const auto info = parse_all_prefixes(stream);
    ASSERT_EQ(info.status, hello_status::complete);
    EXPECT_EQ(info.consumed, stream.size());
    EXPECT_TRUE(info.has_sni);
    EXPECT_EQ(info.server_name(), "example.com");
    EXPECT_EQ(info.alpn_list(), "h2,http/1.1");
    EXPECT_FALSE(info.alpn_truncated);
    EXPECT_FALSE(info.ech);
    EXPECT_FALSE(info.ech_outer);
    EXPECT_EQ(info.legacy_version, 0x0303);
}

TEST(client_hello, bytes_after_the_hello_are_not_consumed) {
    const auto hello = records(typical().message());
    auto stream = hello;
    append(stream, after_hello());
    const auto info = parse_all_prefixes(stream);
    ASSERT_EQ(info.status, hello_status::complete);
    EXPECT_EQ(info.consumed, hello.size());
    EXPECT_EQ(info.server_name(), "example.com");
}

TEST(client_hello, host_name_kept_as_sent) {
    for (const std::string_view host : {"WWW.Example.ORG", "a", "host_with-under.score.", "10.1.2.3"}) {
        const auto info = parse_all_prefixes(records(typical(host).message()));
        ASSERT_EQ(info.status, hello_status::complete) << host;
        EXPECT_EQ(info.server_name(), host);
    }
    const std::string longest(255, 'a');
    const auto info = parse(records(typical(longest).message()));
    ASSERT_EQ(info.status, hello_status::complete);
    EXPECT_EQ(info.server_name(), longest);
}

TEST(client_hello, no_sni) {
    hello_builder h;
    h.extensions = {supported_versions_ext(), alpn_ext({"http/1.1"})};
    const auto info = parse_all_prefixes(records(h.message()));
    ASSERT_EQ(info.status, hello_status::complete);
    EXPECT_FALSE(info.has_sni);
    EXPECT_EQ(info.sni_length, 0);
    EXPECT_EQ(info.alpn_list(), "http/1.1");
}

TEST(client_hello, no_extensions_at_all) {
    hello_builder h;
    h.legacy_version = 0x0301;
    h.session_id.clear();
    h.omit_extensions = true;
    const auto info = parse_all_prefixes(records(h.message()));
    ASSERT_EQ(info.status, hello_status::complete);
    EXPECT_FALSE(info.has_sni);
    EXPECT_EQ(info.alpn_length, 0);
    EXPECT_EQ(info.legacy_version, 0x0301);
}

TEST(client_hello, empty_extensions_block) {
    hello_builder h;
    const auto info = parse_all_prefixes(records(h.message()));
    ASSERT_EQ(info.status, hello_status::complete);
    EXPECT_FALSE(info.has_sni);
}

TEST(client_hello, sni_entry_of_other_name_type_is_skipped) {
    hello_builder h;
    h.extensions = {sni_entries_ext({{7, "ignored stuff"}, {0, "example.net"}, {9, ""}})};
    const auto info = parse_all_prefixes(records(h.message()));
    ASSERT_EQ(info.status, hello_status::complete);
    EXPECT_EQ(info.server_name(), "example.net");
}

TEST(client_hello, grease_is_skipped) {
    hello_builder h;
    h.cipher_suites = {0x0a, 0x0a, 0x13, 0x01};
    // The same GREASE type twice, GREASE with a body, a GREASE ALPN name.
    h.extensions = {grease_ext(0x0a0a), sni_ext("grease.example"), grease_ext(0x3a3a, 1),
                    alpn_ext({"\x1a\x1a", "h2", "\xfa\xfa"}), grease_ext(0x0a0a, 5), grease_ext(0xfafa)};
    const auto info = parse_all_prefixes(records(h.message()));
    ASSERT_EQ(info.status, hello_status::complete);
    EXPECT_EQ(info.server_name(), "grease.example");
    EXPECT_EQ(info.alpn_list(), "h2");
    for (int k = 0; k < 16; ++k) EXPECT_TRUE(is_grease(static_cast<uint16_t>(0x0a0a + k * 0x1010))) << k;
    EXPECT_FALSE(is_grease(0x0a1a));
    EXPECT_FALSE(is_grease(0x0b0b));
    EXPECT_FALSE(is_grease(0xfe0d));
}

TEST(client_hello, ech_outer) {
    auto h = typical("public.example");
    h.extensions.push_back(ech_outer_ext());
    const auto info = parse_all_prefixes(records(h.message()));
    ASSERT_EQ(info.status, hello_status::complete);
    EXPECT_TRUE(info.ech);
    EXPECT_TRUE(info.ech_outer);
    EXPECT_EQ(info.server_name(), "public.example");
}

TEST(client_hello, ech_outer_with_empty_enc) {
    hello_builder h;
    h.extensions = {ech_outer_ext(0, 1)};
    const auto info = parse_all_prefixes(records(h.message()));
    ASSERT_EQ(info.status, hello_status::complete);
    EXPECT_TRUE(info.ech_outer);
}

TEST(client_hello, ech_inner) {
    auto h = typical("secret.example");
    h.extensions.insert(h.extensions.begin(), ech_inner_ext());
    const auto info = parse_all_prefixes(records(h.message()));
    ASSERT_EQ(info.status, hello_status::complete);
    EXPECT_TRUE(info.ech);
    EXPECT_FALSE(info.ech_outer);
    EXPECT_EQ(info.server_name(), "secret.example");
}

TEST(client_hello, alpn_truncation_keeps_whole_names) {
    hello_builder h;
    const std::string n30(30, 'x');
    const std::string n31(31, 'y');
    h.extensions = {alpn_ext({n30, n31, "h2"})}; // 30 + 1 + 31 = 62; ",h2" would make 65
    auto info = parse_all_prefixes(records(h.message()));
    ASSERT_EQ(info.status, hello_status::complete);
    EXPECT_EQ(info.alpn_list(), n30 + "," + n31);
    EXPECT_TRUE(info.alpn_truncated);

    h.extensions = {alpn_ext({n30, n31, "a"})}; // exactly 64
    info = parse(records(h.message()));
    EXPECT_EQ(info.alpn_list(), n30 + "," + n31 + ",a");
    EXPECT_EQ(info.alpn_length, 64);
    EXPECT_FALSE(info.alpn_truncated);

    // Once a name is dropped, later (shorter) names are dropped too: always a prefix.
    const std::string n70(70, 'z');
    h.extensions = {alpn_ext({"h2", n70, "h3"})};
    info = parse(records(h.message()));
    EXPECT_EQ(info.alpn_list(), "h2");
    EXPECT_TRUE(info.alpn_truncated);
}

TEST(client_hello, many_records_of_every_size) {
    const auto msg = typical("split.example").message();
    for (std::size_t fragment = 1; fragment <= msg.size(); ++fragment) {
        const auto stream = records(msg, fragment);
        const auto info = fragment % 16 == 1 ? parse_all_prefixes(stream) : parse(stream);
        ASSERT_EQ(info.status, hello_status::complete) << fragment;
        EXPECT_EQ(info.consumed, stream.size());
        EXPECT_EQ(info.server_name(), "split.example");
        EXPECT_EQ(info.alpn_list(), "h2,http/1.1");
    }
}

TEST(client_hello, record_boundaries_inside_fields) {
    const auto h = typical("boundary.example");
    const auto msg = h.message();
    const std::size_t sni = h.extension_offset(0);
    const std::size_t alpn = h.extension_offset(5);
    const std::vector<std::vector<std::size_t>> cuts = {
        {2},                       // inside the handshake header
        {sni + 1},                 // inside the SNI extension type
        {sni + 3, sni + 6},        // extension length, list length
        {sni + 9 + 4},             // inside the host name
        {sni + 9 + 4, sni + 9 + 5, sni + 9 + 6}, // one-byte records in the host name
        {alpn + 8},                // inside "h2"
        {h.extensions_offset() - 1}, // inside the extensions block length
    };
    for (const auto& c : cuts) {
        const auto stream = records_cut(msg, c);
        const auto info = parse_all_prefixes(stream);
        ASSERT_EQ(info.status, hello_status::complete) << c.front();
        EXPECT_EQ(info.consumed, stream.size());
        EXPECT_EQ(info.server_name(), "boundary.example");
        EXPECT_EQ(info.alpn_list(), "h2,http/1.1");
    }
}

TEST(client_hello, record_versions) {
    const auto msg = typical().message();
    for (const uint16_t v : {0x0300, 0x0301, 0x0303, 0x0304}) {
        const auto info = parse(records(msg, 16384, v));
        EXPECT_EQ(info.status, hello_status::complete) << v;
    }
}

// A post-quantum hello: X25519Kyber768 (1,216-byte share) plus more shares, 20 KiB.
hello_builder big_hello() {
    hello_builder h;
    h.extensions = {sni_ext("pq.example"), supported_versions_ext(),
                    key_share_ext({{0x6399, 1216}, {0x001d, 32}, {0x0100, 8192}, {0x0101, 9000}}),
                    alpn_ext({"h2"}), opaque_ext(21, 2000)};
    return h;
}

TEST(client_hello, twenty_kib_hello) {
    const auto msg = big_hello().message();
    ASSERT_GT(msg.size(), 20u * 1024);
    const auto stream = records(msg); // two records: 16384 + the rest
    auto info = parse_all_prefixes(stream, max16k);
    EXPECT_EQ(info.status, hello_status::too_large);
    // The first record header already ends past 16 KiB (5 + 16384).
    EXPECT_EQ(parse_prefix(stream, 4, max16k).status, hello_status::need_more);
    EXPECT_EQ(parse_prefix(stream, 5, max16k).status, hello_status::too_large);

    info = parse_all_prefixes(stream, 32768);
    ASSERT_EQ(info.status, hello_status::complete);
    EXPECT_EQ(info.consumed, stream.size());
    EXPECT_EQ(info.server_name(), "pq.example");
    EXPECT_EQ(info.alpn_list(), "h2");
}

TEST(client_hello, twenty_kib_hello_in_small_records) {
    const auto msg = big_hello().message();
    const auto stream = records(msg, 1000);
    // Every record fits, but the handshake length alone says > 16 KiB.
    EXPECT_EQ(parse_prefix(stream, 8, max16k).status, hello_status::need_more);
    EXPECT_EQ(parse_prefix(stream, 9, max16k).status, hello_status::too_large);
    EXPECT_EQ(parse(stream, 32768).status, hello_status::complete);
    EXPECT_EQ(parse(stream, 32768).consumed, stream.size());
}

TEST(client_hello, limit_reached_by_record_headers) {
    const auto msg = typical().message();
    const auto stream = records(msg, 10);
    const uint32_t exact = static_cast<uint32_t>(stream.size());
    // The handshake length fits the limit, the 5-byte headers of many small records do not.
    ASSERT_LT(msg.size() + 5, exact - 1);
    EXPECT_EQ(parse_all_prefixes(stream, exact - 1).status, hello_status::too_large);
    EXPECT_EQ(parse(stream, exact).status, hello_status::complete);
    EXPECT_EQ(parse(records(msg), static_cast<uint32_t>(msg.size() + 4)).status, hello_status::too_large);
    EXPECT_EQ(parse(records(msg), static_cast<uint32_t>(msg.size() + 5)).status, hello_status::complete);
    EXPECT_EQ(parse(records(msg), 0).status, hello_status::too_large);
}

TEST(client_hello, not_tls) {
    const auto hello = records(typical().message());
    const auto first_bytes = [](std::string_view s) { return parse(to_bytes(s)).status; };
    EXPECT_EQ(first_bytes("G"), hello_status::not_tls);
    EXPECT_EQ(first_bytes("GET / HTTP/1.1\r\n"), hello_status::not_tls);
    EXPECT_EQ(first_bytes("SSH-2.0-OpenSSH_9.2\r\n"), hello_status::not_tls);
    EXPECT_EQ(parse(bytes{0x80, 0x2e, 0x01, 0x03, 0x01}).status, hello_status::not_tls); // SSLv2 hello
    EXPECT_EQ(parse(bytes{22}).status, hello_status::need_more);
    EXPECT_EQ(parse(bytes{22, 2}).status, hello_status::not_tls);                        // version major 2
    EXPECT_EQ(parse(bytes{23, 3, 3, 0, 5}).status, hello_status::not_tls);               // application data
    auto server_hello = hello;
    server_hello[5] = 2;
    EXPECT_EQ(parse_all_prefixes(server_hello).status, hello_status::not_tls);
    // A change_cipher_spec or alert record in the middle of the hello.
    const auto msg = typical().message();
    for (const uint8_t type : {20, 21, 23}) {
        auto stream = records_cut(msg, {50});
        stream[5 + 50] = type;
        EXPECT_EQ(parse_all_prefixes(stream).status, hello_status::not_tls) << int{type};
    }
    auto bad_version = records_cut(msg, {50});
    bad_version[5 + 50 + 1] = 0x04;
    EXPECT_EQ(parse_all_prefixes(bad_version).status, hello_status::not_tls);
}

TEST(client_hello, malformed_records) {
    const auto msg = typical().message();
    auto zero = records(msg);
    zero.insert(zero.begin(), {22, 3, 1, 0, 0}); // a zero-length handshake record
    EXPECT_EQ(parse_all_prefixes(zero).status, hello_status::malformed);
    bytes overlong = {22, 3, 1, 0x40, 0x01}; // 16385
    EXPECT_EQ(parse(overlong).status, hello_status::malformed);
    // The hello ends before its record does.
    auto trailing = msg;
    trailing.push_back(0);
    EXPECT_EQ(parse_all_prefixes(records(trailing)).status, hello_status::malformed);
}

TEST(client_hello, malformed_lengths) {
    {
        auto h = typical();
        h.handshake_length_delta = -1;
        EXPECT_EQ(status_of(h), hello_status::malformed);
        h.handshake_length_delta = 1; // the extensions block no longer ends with the hello
        EXPECT_EQ(status_of(h), hello_status::malformed);
    }
    for (const int d : {-1, 1, 100}) {
        auto h = typical();
        h.extensions_length_delta = d;
        EXPECT_EQ(status_of(h), hello_status::malformed) << d;
    }
    {
        auto h = typical();
        h.extensions[2].length = 200; // runs past the block
        EXPECT_EQ(status_of(h), hello_status::malformed);
    }
    {
        auto h = typical();
        h.session_id = bytes(33, 1);
        EXPECT_EQ(status_of(h), hello_status::malformed);
    }
    {
        auto h = typical();
        h.cipher_suites = {0x13, 0x01, 0x13};
        EXPECT_EQ(status_of(h), hello_status::malformed);
        h.cipher_suites.clear();
        EXPECT_EQ(status_of(h), hello_status::malformed);
        h.cipher_suites = bytes(4, 0);
        h.cipher_suites_length = 0x7000; // beyond the hello
        EXPECT_EQ(status_of(h), hello_status::malformed);
    }
    {
        auto h = typical();
        h.compression.clear();
        EXPECT_EQ(status_of(h), hello_status::malformed);
    }
    {
        bytes msg = {1, 0, 0, 10}; // a hello that ends inside the random
        append(msg, bytes(10, 3));
        EXPECT_EQ(parse_all_prefixes(records(msg)).status, hello_status::malformed);
    }
}

TEST(client_hello, malformed_sni) {
    const auto sni_status = [](extension e) {
        hello_builder h;
        h.extensions = {std::move(e), alpn_ext({"h2"})};
        return status_of(h);
    };
    EXPECT_EQ(sni_status(sni_ext("")), hello_status::malformed);
    EXPECT_EQ(sni_status(sni_ext(std::string(256, 'a'))), hello_status::malformed);
    for (const std::string_view bad : {std::string_view("exa mple.com"), std::string_view("a\0b", 3),
                                       std::string_view("example.com/"), std::string_view("ex*.com"),
                                       std::string_view("caf\xc3\xa9.example"), std::string_view("example.com:443"),
                                       std::string_view("user@host")})
        EXPECT_EQ(sni_status(sni_ext(bad)), hello_status::malformed) << bad;
    EXPECT_EQ(sni_status(sni_entries_ext({{0, "a.example"}}, 1)), hello_status::malformed);
    EXPECT_EQ(sni_status(sni_entries_ext({{0, "a.example"}}, -1)), hello_status::malformed);
    EXPECT_EQ(sni_status(sni_entries_ext({})), hello_status::malformed); // empty list
    EXPECT_EQ(sni_status(extension{0, {}, {}}), hello_status::malformed); // empty extension
    EXPECT_EQ(sni_status(sni_entries_ext({{0, "a.example"}, {0, "b.example"}})), hello_status::malformed);
    // An entry whose length runs past the list.
    auto e = sni_ext("a.example");
    e.body[4] = 50;
    EXPECT_EQ(sni_status(e), hello_status::malformed);
}

TEST(client_hello, duplicate_extensions) {
    hello_builder h;
    h.extensions = {sni_ext("a.example"), sni_ext("a.example")};
    EXPECT_EQ(status_of(h), hello_status::malformed);
    h.extensions = {alpn_ext({"h2"}), sni_ext("a.example"), alpn_ext({"h2"})};
    EXPECT_EQ(status_of(h), hello_status::malformed);
    h.extensions = {opaque_ext(13, 4), opaque_ext(13, 4)};
    EXPECT_EQ(status_of(h), hello_status::malformed);
    h.extensions = {ech_outer_ext(), ech_inner_ext()};
    EXPECT_EQ(status_of(h), hello_status::malformed);
}

TEST(client_hello, at_most_64_extension_types) {
    hello_builder h;
    for (uint16_t t = 100; t < 100 + max_hello_extensions; ++t) h.extensions.push_back(opaque_ext(t, 1));
    h.extensions.push_back(grease_ext(0x2a2a)); // GREASE does not count
    h.extensions.push_back(sni_ext("many.example"));
    EXPECT_EQ(status_of(h), hello_status::malformed);
    h.extensions.erase(h.extensions.begin());
    const auto info = parse(records(h.message()));
    ASSERT_EQ(info.status, hello_status::complete);
    EXPECT_EQ(info.server_name(), "many.example");
}

TEST(client_hello, malformed_alpn) {
    hello_builder h;
    h.extensions = {alpn_ext({"h2", ""})};
    EXPECT_EQ(status_of(h), hello_status::malformed);
    h.extensions = {alpn_ext({})}; // empty list
    EXPECT_EQ(status_of(h), hello_status::malformed);
    h.extensions = {extension{16, {0}, {}}}; // one byte
    EXPECT_EQ(status_of(h), hello_status::malformed);
    auto e = alpn_ext({"h2", "http/1.1"});
    e.body[1] += 1; // list length past the extension
    h.extensions = {e};
    EXPECT_EQ(status_of(h), hello_status::malformed);
    e = alpn_ext({"h2", "http/1.1"});
    e.body[2] = 20; // first name runs past the list
    h.extensions = {e};
    EXPECT_EQ(status_of(h), hello_status::malformed);
}

TEST(client_hello, malformed_ech) {
    hello_builder h;
    h.extensions = {extension{0xfe0d, {}, {}}};
    EXPECT_EQ(status_of(h), hello_status::malformed);
    h.extensions = {extension{0xfe0d, {2}, {}}};
    EXPECT_EQ(status_of(h), hello_status::malformed);
    h.extensions = {extension{0xfe0d, {1, 0}, {}}}; // inner carries nothing
    EXPECT_EQ(status_of(h), hello_status::malformed);
    h.extensions = {ech_outer_ext(32, 0)}; // empty payload
    EXPECT_EQ(status_of(h), hello_status::malformed);
    auto e = ech_outer_ext(32, 10);
    e.body.push_back(0); // a byte after the payload
    h.extensions = {e};
    EXPECT_EQ(status_of(h), hello_status::malformed);
    e = ech_outer_ext(32, 10);
    e.body.resize(6); // cut inside the fixed part
    h.extensions = {e};
    EXPECT_EQ(status_of(h), hello_status::malformed);
}

// The fuzz seeds (tests/fuzz/corpus/client_hello): real hellos from Python ssl and
// openssl s_client (whole client streams for s_client), and hand-built ones.
TEST(client_hello, seed_corpus) {
    const char* root = std::getenv("EGRESS_SOURCE_ROOT");
    if (root == nullptr) GTEST_SKIP() << "EGRESS_SOURCE_ROOT not set";
    struct row {
        std::string_view file;
        std::string_view sni;
        std::string_view alpn;
        bool ech;
        bool ech_outer;
    };
    const row rows[] = {
        {"built-ech-inner.bin", "inner.example", "", true, false},
        {"built-ech-outer.bin", "public.example", "h2", true, true},
        {"built-grease-alpn.bin", "grease.example", "h2,http/1.1", false, false},
        {"built-no-extensions.bin", "", "", false, false},
        {"built-one-byte-records.bin", "grease.example", "h2,http/1.1", false, false},
        {"built-pq-keyshare-records.bin", "pq.example", "h2", false, false},
        {"built-split-in-sni.bin", "grease.example", "h2,http/1.1", false, false},
        {"python-ssl-no-sni.bin", "", "", false, false},
        {"python-ssl-sni-alpn.bin", "www.example.com", "h2,http/1.1", false, false},
        {"python-ssl-tls12.bin", "tls12.example", "", false, false},
        {"s-client-records.bin", "records.example", "", false, false},
        {"s-client-tls13-alpn.bin", "s-client.example", "h2,http/1.1", false, false},
    };
    for (const auto& r : rows) {
        std::ifstream in(std::string(root) + "/tests/fuzz/corpus/client_hello/" + std::string(r.file), std::ios::binary);
        ASSERT_TRUE(in) << r.file;
        const bytes stream((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        const auto info = parse_all_prefixes(stream);
        ASSERT_EQ(info.status, hello_status::complete) << r.file;
        EXPECT_EQ(info.has_sni, !r.sni.empty()) << r.file;
        EXPECT_EQ(info.server_name(), r.sni) << r.file;
        EXPECT_EQ(info.alpn_list(), r.alpn) << r.file;
        EXPECT_EQ(info.ech, r.ech) << r.file;
        EXPECT_EQ(info.ech_outer, r.ech_outer) << r.file;
    }
}

TEST(client_hello, status_names) {
    EXPECT_EQ(to_string(hello_status::need_more), "need_more");
    EXPECT_EQ(to_string(hello_status::complete), "complete");
    EXPECT_EQ(to_string(hello_status::not_tls), "not_tls");
    EXPECT_EQ(to_string(hello_status::too_large), "too_large");
    EXPECT_EQ(to_string(hello_status::malformed), "malformed");
}

} // namespace
