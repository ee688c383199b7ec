// libFuzzer target: parse_client_hello on arbitrary bytes, checking what
// client_hello.hpp promises: fields within their bounds, a prefix is need_more
// or already the final decision, and a complete hello gives the same fields on
// exactly its bytes and too_large with a limit one byte short of it.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "tls/client_hello.hpp"

namespace {

using namespace egress::tls;

constexpr uint32_t max_bytes = 16384;

bool same(const client_hello_info& a, const client_hello_info& b) {
    return a.status == b.status && a.consumed == b.consumed && a.has_sni == b.has_sni &&
           a.server_name() == b.server_name() && a.alpn_list() == b.alpn_list() &&
           a.alpn_truncated == b.alpn_truncated && a.ech == b.ech && a.ech_outer == b.ech_outer &&
           a.legacy_version == b.legacy_version;
}

void check(bool ok) {
    if (!ok) std::abort();
}

void check_prefix(std::span<const uint8_t> stream, std::size_t n, const client_hello_info& full) {
    const auto p = parse_client_hello(stream.first(n), max_bytes);
    if (full.status == hello_status::complete)
        check(n < full.consumed ? p.status == hello_status::need_more : same(p, full));
    else
        check(p.status == hello_status::need_more || p.status == full.status);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    const std::span<const uint8_t> stream(data, size);
    const auto info = parse_client_hello(stream, max_bytes);
    if (size > 0) {
        check_prefix(stream, size - 1, info);
        check_prefix(stream, size / 2, info);
    }
    // A small limit taken from the input: any status, but no crash.
    if (size > 0) (void)parse_client_hello(stream, uint32_t{data[0]} * 16);
    if (info.status != hello_status::complete) return 0;

    check(info.consumed <= size && info.consumed <= max_bytes);
    check(info.sni_length <= info.sni.size() && info.alpn_length <= info.alpn.size());
    check(info.has_sni == (info.sni_length > 0));
    check(std::all_of(info.sni.begin(), info.sni.begin() + info.sni_length, [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
               c == '_';
    }));
    check(!info.ech_outer || info.ech);
    check(same(parse_client_hello(stream.first(info.consumed), max_bytes), info));
    check(same(parse_client_hello(stream, info.consumed), info));
    check(parse_client_hello(stream, info.consumed - 1).status == hello_status::too_large);
    return 0;
}
