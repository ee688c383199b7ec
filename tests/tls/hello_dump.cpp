// hello_dump: runs egress::tls::parse_client_hello on a file of raw client-stream
// bytes and prints one JSON line:
//   {"status":"complete","consumed":517,"has_sni":true,"sni":"example.com",
//    "alpn":"h2,http/1.1","alpn_truncated":false,"ech":false,"ech_outer":false,
//    "legacy_version":771}
// Options:
//   --max N      the max_bytes limit (default 16384)
//   --prefixes   also parse every prefix of the file and add "prefixes" (how many
//                were parsed) and "prefix_violations": prefixes that are not
//                need_more while shorter than the hello, or differ from the full
//                result once at least `consumed` long, or (for a result other
//                than complete) are neither need_more nor the same status.
// Exit status: 0 when the file was parsed (whatever the status), 2 on usage or I/O errors.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tls/client_hello.hpp"

namespace {

using egress::tls::client_hello_info;
using egress::tls::hello_status;

// A JSON string; bytes outside printable ASCII as \u00XX (each byte one code point).
std::string json_string(std::string_view s) {
    std::string out = "\"";
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += ch;
        } else if (c < 0x20 || c >= 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
        } else {
            out += ch;
        }
    }
    return out + "\"";
}

bool same(const client_hello_info& a, const client_hello_info& b) {
    return a.status == b.status && a.consumed == b.consumed && a.has_sni == b.has_sni &&
           a.server_name() == b.server_name() && a.alpn_list() == b.alpn_list() &&
           a.alpn_truncated == b.alpn_truncated && a.ech == b.ech && a.ech_outer == b.ech_outer &&
           a.legacy_version == b.legacy_version;
}

int usage() {
    std::fputs("usage: hello_dump [--max N] [--prefixes] FILE\n", stderr);
    return 2;
}

} // namespace

int main(int argc, char** argv) {
    uint32_t max_bytes = 16384;
    bool prefixes = false;
    const char* path = nullptr;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--prefixes") {
            prefixes = true;
        } else if (arg == "--max" && i + 1 < argc) {
            max_bytes = static_cast<uint32_t>(std::strtoul(argv[++i], nullptr, 10));
        } else if (!arg.starts_with("--") && path == nullptr) {
            path = argv[i];
        } else {
            return usage();
        }
    }
    if (path == nullptr) return usage();
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        std::fprintf(stderr, "hello_dump: cannot read %s\n", path);
        return 2;
    }
    const std::vector<uint8_t> data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::span<const uint8_t> stream(data);

    const auto info = egress::tls::parse_client_hello(stream, max_bytes);
    std::string line = "{\"status\":" + json_string(egress::tls::to_string(info.status)) +
                       ",\"consumed\":" + std::to_string(info.consumed) +
                       ",\"has_sni\":" + (info.has_sni ? "true" : "false") + ",\"sni\":" + json_string(info.server_name()) +
                       ",\"alpn\":" + json_string(info.alpn_list()) +
                       ",\"alpn_truncated\":" + (info.alpn_truncated ? "true" : "false") +
                       ",\"ech\":" + (info.ech ? "true" : "false") + ",\"ech_outer\":" + (info.ech_outer ? "true" : "false") +
                       ",\"legacy_version\":" + std::to_string(info.legacy_version);
    if (prefixes) {
        std::size_t violations = 0;
        for (std::size_t n = 0; n < data.size(); ++n) {
            const auto p = egress::tls::parse_client_hello(stream.first(n), max_bytes);
            bool ok = true;
            if (info.status == hello_status::complete)
                ok = n < info.consumed ? p.status == hello_status::need_more : same(p, info);
            else
                ok = p.status == hello_status::need_more || p.status == info.status;
            violations += ok ? 0 : 1;
        }
        line += ",\"prefixes\":" + std::to_string(data.size()) + ",\"prefix_violations\":" + std::to_string(violations);
    }
    std::puts((line + "}").c_str());
    return 0;
}
