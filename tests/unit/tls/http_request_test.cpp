// lib/tls/http_request: the Host of many request shapes, every prefix need_more
// (or the same early decision), missing / duplicate / bad Host, port stripping,
// IPv6 literals, not_http for TLS, SSH and HTTP/2, the size limit.
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "tls/http_request.hpp"

namespace {

using namespace egress::tls;

constexpr uint32_t max8k = 8192;

http_request_info parse(std::string_view s, uint32_t max = max8k) {
    return parse_http_request(std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size()), max);
}

// Parses `s`, then every prefix: need_more or already the final status; prefixes
// at least `consumed` long give the same host.
http_request_info parse_all_prefixes(std::string_view s, uint32_t max = max8k) {
    const auto full = parse(s, max);
    const bool done = full.status == http_status::complete || full.status == http_status::host_missing;
    for (std::size_t n = 0; n < s.size(); ++n) {
        const auto p = parse(s.substr(0, n), max);
        if (done && n < full.consumed) {
            EXPECT_EQ(p.status, http_status::need_more) << "prefix " << n << " of " << s;
        } else if (p.status != http_status::need_more || done) {
            EXPECT_EQ(p.status, full.status) << "prefix " << n << " of " << s;
            EXPECT_EQ(p.host_name(), full.host_name());
        }
        if (::testing::Test::HasFailure()) break;
    }
    return full;
}

http_status status_of(std::string_view s) { return parse_all_prefixes(s).status; }

TEST(http_request, host_of_many_shapes) {
    struct row {
        std::string_view request;
        std::string_view host;
    };
    const row rows[] = {
        {"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n", "example.com"},
        {"GET / HTTP/1.1\r\nhost:example.com\r\n\r\n", "example.com"},
        {"GET / HTTP/1.1\r\nHOST: \t example.com \t \r\n\r\n", "example.com"},
        {"GET / HTTP/1.1\r\nHoSt: Example.COM\r\n\r\n", "Example.COM"},
        {"GET / HTTP/1.1\r\nHost: example.com:8080\r\n\r\n", "example.com"},
        {"GET / HTTP/1.1\r\nHost: example.com:\r\n\r\n", "example.com"},
        {"GET / HTTP/1.1\r\nHost: 192.0.2.7:80\r\n\r\n", "192.0.2.7"},
        {"GET / HTTP/1.1\r\nHost: [2001:db8::1]:80\r\n\r\n", "2001:db8::1"},
        {"GET / HTTP/1.1\r\nHost: [2001:DB8::1]\r\n\r\n", "2001:DB8::1"},
        {"GET / HTTP/1.1\r\nHost: [::ffff:192.0.2.1]:8443\r\n\r\n", "::ffff:192.0.2.1"},
        {"GET / HTTP/1.1\nHost: lf.example\n\n", "lf.example"},
        {"GET / HTTP/1.1\r\nHost: mixed.example\n\r\n", "mixed.example"},
        {"GET / HTTP/1.0\r\nHost: old.example\r\n\r\n", "old.example"},
        {"GET http://abs.example/x?y=1 HTTP/1.1\r\nHost: abs.example\r\n\r\n", "abs.example"},
        {"CONNECT tunnel.example:443 HTTP/1.1\r\nHost: tunnel.example:443\r\n\r\n", "tunnel.example"},
        {"OPTIONS * HTTP/1.1\r\nHost: star.example\r\n\r\n", "star.example"},
        {"POST /submit HTTP/1.1\r\nHost: post.example\r\nContent-Length: 5\r\n\r\nhello", "post.example"},
        {"GET / HTTP/1.1\r\nUser-Agent: curl/8.0\r\nAccept: */*\r\nHost: late.example\r\nX-Empty:\r\n\r\n",
         "late.example"},
        {"GET / HTTP/1.1\r\nHost: same.example\r\nHost: same.example\r\n\r\n", "same.example"},
        {"GET / HTTP/1.1\r\nHost: same.example\r\nHost:  same.example \r\n\r\n", "same.example"},
        {"GET / HTTP/1.1\r\nX-Note: caf\xc3\xa9\t!\r\nHost: a_b-c.example.\r\n\r\n", "a_b-c.example."},
        {"M-SEARCH * HTTP/1.1\r\nHost: 239.255.255.250:1900\r\n\r\n", "239.255.255.250"},
        {"GET / HTTP/1.1\r\nHostname: not-this\r\nHost: this.example\r\n\r\n", "this.example"},
    };
    for (const auto& r : rows) {
        const auto info = parse_all_prefixes(r.request);
        ASSERT_EQ(info.status, http_status::complete) << r.request;
        EXPECT_EQ(info.host_name(), r.host) << r.request;
        // The end of the headers: the first LF followed by LF or CRLF.
        const auto after = [&](std::string_view what) {
            const auto at = r.request.find(what);
            return at == std::string_view::npos ? r.request.size() : at + what.size();
        };
        const auto expected = std::min(after("\n\n"), after("\n\r\n"));
        EXPECT_EQ(info.consumed, expected) << r.request;
    }
}

TEST(http_request, longest_host) {
    const std::string host(255, 'h');
    const auto info = parse("GET / HTTP/1.1\r\nHost: " + host + ":443\r\n\r\n");
    ASSERT_EQ(info.status, http_status::complete);
    EXPECT_EQ(info.host_name(), host);
    EXPECT_EQ(parse("GET / HTTP/1.1\r\nHost: " + host + "h\r\n\r\n").status, http_status::malformed);
}

TEST(http_request, host_missing) {
    EXPECT_EQ(status_of("GET / HTTP/1.1\r\n\r\n"), http_status::host_missing);
    EXPECT_EQ(status_of("GET / HTTP/1.1\r\nAccept: */*\r\n\r\n"), http_status::host_missing);
    EXPECT_EQ(status_of("GET / HTTP/1.0\r\nUser-Agent: old\r\n\r\n"), http_status::host_missing);
    EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost:\r\n\r\n"), http_status::host_missing);
    EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost:   \r\n\r\n"), http_status::host_missing);
    const auto info = parse("GET / HTTP/1.0\n\nbody");
    EXPECT_EQ(info.status, http_status::host_missing);
    EXPECT_EQ(info.consumed, 16u);
}

TEST(http_request, duplicate_host_with_another_value) {
    EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n"), http_status::malformed);
    EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: a.example\r\nhost: a.example:80\r\n\r\n"), http_status::malformed);
    EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: a.example\r\nHOST: A.example\r\n\r\n"), http_status::malformed);
    EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost:\r\nHost: a.example\r\n\r\n"), http_status::malformed);
    EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: a.example\r\nHost:\r\n\r\n"), http_status::malformed);
}

TEST(http_request, bad_host_values) {
    for (const std::string_view host :
         {"exa mple.com", "user@example.com", "ex%41mple.com", "[2001:db8::1", "[2001:db8::1]x", "[2001:db8::1]:x",
          "[]", "[]:80", "[fe80::1%25eth0]", "[g::1]", "2001:db8::1", "example.com:http", "example.com:65536",
          "example.com:123456", ":80", "example.com/path", "caf\xc3\xa9.example", "a,b"}) {
        const std::string request = "GET / HTTP/1.1\r\nHost: " + std::string(host) + "\r\n\r\n";
        EXPECT_EQ(status_of(request), http_status::malformed) << host;
    }
    EXPECT_EQ(parse("GET / HTTP/1.1\r\nHost: a.example:65535\r\n\r\n").status, http_status::complete);
    EXPECT_EQ(parse("GET / HTTP/1.1\r\nHost: a.example:0\r\n\r\n").status, http_status::complete);
}

TEST(http_request, malformed_headers) {
    EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost : a.example\r\n\r\n"), http_status::malformed);
    EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: a.example\r\n folded\r\n\r\n"), http_status::malformed);
    EXPECT_EQ(status_of("GET / HTTP/1.1\r\n\tHost: a.example\r\n\r\n"), http_status::malformed);
    EXPECT_EQ(status_of("GET / HTTP/1.1\r\n: nameless\r\nHost: a.example\r\n\r\n"), http_status::malformed);
    EXPECT_EQ(status_of("GET / HTTP/1.1\r\nNo colon here\r\n\r\n"), http_status::malformed);
    EXPECT_EQ(status_of("GET / HTTP/1.1\r\nX: a\rb\r\nHost: a.example\r\n\r\n"), http_status::malformed);
    EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: a.example\r\n\rX"), http_status::malformed);
    constexpr char nul[] = "GET / HTTP/1.1\r\nX: a\0b\r\nHost: a\r\n\r\n";
    EXPECT_EQ(status_of(std::string_view(nul, sizeof nul - 1)), http_status::malformed);
    EXPECT_EQ(status_of("GET / HTTP/1.1\r\nX: \x7f\r\nHost: a\r\n\r\n"), http_status::malformed);
    EXPECT_EQ(status_of("GET / HTTP/1.1\r\nX(y): 1\r\nHost: a\r\n\r\n"), http_status::malformed);
}

TEST(http_request, not_http) {
    const std::string_view tls("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11);
    EXPECT_EQ(status_of(tls), http_status::not_http);
    EXPECT_EQ(parse(tls.substr(0, 1)).status, http_status::not_http); // decided on the first byte
    EXPECT_EQ(status_of("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"), http_status::not_http);
    EXPECT_EQ(status_of("SSH-2.0-OpenSSH_9.2p1\r\n"), http_status::not_http);
    EXPECT_EQ(status_of("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), http_status::not_http);
    EXPECT_EQ(parse("PRI * HTTP/2").status, http_status::not_http);
    EXPECT_EQ(status_of("GET / HTTP/2\r\nHost: a\r\n\r\n"), http_status::not_http);
    EXPECT_EQ(status_of("GET / HTTP/1.2\r\nHost: a\r\n\r\n"), http_status::not_http);
    EXPECT_EQ(status_of("GET / HTTP/1.10\r\nHost: a\r\n\r\n"), http_status::not_http);
    EXPECT_EQ(status_of("GET / http/1.1\r\nHost: a\r\n\r\n"), http_status::not_http);
    EXPECT_EQ(status_of("GET /\r\n"), http_status::not_http);              // HTTP/0.9
    EXPECT_EQ(status_of("GET  / HTTP/1.1\r\n\r\n"), http_status::not_http); // empty target
    EXPECT_EQ(status_of(" GET / HTTP/1.1\r\n\r\n"), http_status::not_http);
    EXPECT_EQ(status_of("GET\t/ HTTP/1.1\r\n\r\n"), http_status::not_http);
    EXPECT_EQ(status_of("GET /a\tb HTTP/1.1\r\n\r\n"), http_status::not_http);
    EXPECT_EQ(status_of("GET / HTTP/1.1 \r\n\r\n"), http_status::not_http);
    EXPECT_EQ(status_of("GET / HTTP/1.1\rX\r\n\r\n"), http_status::not_http);
    EXPECT_EQ(status_of("\r\nGET / HTTP/1.1\r\n\r\n"), http_status::not_http);
    EXPECT_EQ(status_of(std::string(20, 'A') + " / HTTP/1.1\r\nHost: a\r\n\r\n"), http_status::complete);
    EXPECT_EQ(parse(std::string(21, 'A')).status, http_status::not_http); // method too long
    EXPECT_EQ(parse("").status, http_status::need_more);
    EXPECT_EQ(parse("GET").status, http_status::need_more);
}

TEST(http_request, size_limit) {
    const std::string request = "GET / HTTP/1.1\r\nHost: a.example\r\nX-Pad: " + std::string(1000, 'p') + "\r\n\r\n";
    const auto exact = static_cast<uint32_t>(request.size());
    const auto info = parse_all_prefixes(request, exact);
    ASSERT_EQ(info.status, http_status::complete);
    EXPECT_EQ(info.consumed, exact);
    EXPECT_EQ(parse_all_prefixes(request, exact - 1).status, http_status::too_large);
    EXPECT_EQ(parse_all_prefixes(request, 500).status, http_status::too_large);
    EXPECT_EQ(parse(std::string_view(request).substr(0, 500), 500).status, http_status::too_large);
    EXPECT_EQ(parse(std::string_view(request).substr(0, 499), 500).status, http_status::need_more);
    EXPECT_EQ(parse("GET / HTTP/1.1\r\n", 0).status, http_status::too_large);
    // A decision made before the limit stands.
    EXPECT_EQ(parse("\x16\x03\x01", 2).status, http_status::not_http);
}

// The fuzz seeds (tests/fuzz/corpus/http_request).
TEST(http_request, seed_corpus) {
    const char* root = std::getenv("EGRESS_SOURCE_ROOT");
    if (root == nullptr) GTEST_SKIP() << "EGRESS_SOURCE_ROOT not set";
    struct row {
        std::string_view file;
        http_status status;
        std::string_view host;
    };
    const row rows[] = {
        {"connect.txt", http_status::complete, "tunnel.example"},
        {"duplicate-host.txt", http_status::complete, "a.example"},
        {"get.txt", http_status::complete, "example.com"},
        {"ipv6-port.txt", http_status::complete, "2001:db8::1"},
        {"no-host.txt", http_status::host_missing, ""},
        {"post-lf.txt", http_status::complete, "Example.ORG"},
    };
    for (const auto& r : rows) {
        std::ifstream in(std::string(root) + "/tests/fuzz/corpus/http_request/" + std::string(r.file), std::ios::binary);
        ASSERT_TRUE(in) << r.file;
        const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        const auto info = parse_all_prefixes(text);
        EXPECT_EQ(info.status, r.status) << r.file;
        EXPECT_EQ(info.host_name(), r.host) << r.file;
    }
}

TEST(http_request, status_names) {
    EXPECT_EQ(to_string(http_status::need_more), "need_more");
    EXPECT_EQ(to_string(http_status::complete), "complete");
    EXPECT_EQ(to_string(http_status::not_http), "not_http");
    EXPECT_EQ(to_string(http_status::host_missing), "host_missing");
    EXPECT_EQ(to_string(http_status::too_large), "too_large");
    EXPECT_EQ(to_string(http_status::malformed), "malformed");
}

} // namespace
