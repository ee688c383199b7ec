// libFuzzer target: parse_http_request on arbitrary bytes, checking what
// http_request.hpp promises: the host within bounds and of the allowed bytes, a
// prefix is need_more or already the final decision, and complete headers give
// the same result on exactly their bytes and too_large with a limit one byte short.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "tls/http_request.hpp"

namespace {

using namespace egress::tls;

constexpr uint32_t max_bytes = 8192;

bool same(const http_request_info& a, const http_request_info& b) {
    return a.status == b.status && a.consumed == b.consumed && a.host_name() == b.host_name();
}

void check(bool ok) {
    if (!ok) std::abort();
}

bool finished(http_status s) { return s == http_status::complete || s == http_status::host_missing; }

void check_prefix(std::span<const uint8_t> stream, std::size_t n, const http_request_info& full) {
    const auto p = parse_http_request(stream.first(n), max_bytes);
    if (finished(full.status))
        check(n < full.consumed ? p.status == http_status::need_more : same(p, full));
    else
        check(p.status == http_status::need_more || p.status == full.status);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    const std::span<const uint8_t> stream(data, size);
    const auto info = parse_http_request(stream, max_bytes);
    if (size > 0) {
        check_prefix(stream, size - 1, info);
        check_prefix(stream, size / 2, info);
        (void)parse_http_request(stream, uint32_t{data[0]} * 4);
    }
    if (!finished(info.status)) return 0;

    check(info.consumed <= size && info.consumed <= max_bytes);
    check(info.host_length <= info.host.size());
    check((info.status == http_status::complete) == (info.host_length > 0));
    check(std::all_of(info.host.begin(), info.host.begin() + info.host_length, [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
               c == '_' || c == ':';
    }));
    check(same(parse_http_request(stream.first(info.consumed), max_bytes), info));
    check(same(parse_http_request(stream, info.consumed), info));
    check(parse_http_request(stream, info.consumed - 1).status == http_status::too_large);
    return 0;
}
