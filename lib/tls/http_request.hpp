// The HTTP/1.x request parser: the first bytes a client sent on a TCP connection
// -> the Host header's host name, so the packet path can decide a plain-HTTP flow
// by hostname. Bounds-checked, no allocation, no exceptions.
//
// Input: `stream` is the client's byte stream from its first byte, in order,
// possibly incomplete; the parser keeps no state, call again with more bytes.
// Bytes are examined in order and the first failing check decides, so the result
// of a prefix is either need_more or final (any longer stream gives the same).
//
// Accepted: the request line `METHOD SP target SP HTTP/1.0|HTTP/1.1 CRLF`, then
// header lines `name ":" OWS value OWS CRLF` up to an empty line. A bare LF is
// accepted wherever CRLF is.
//  * not_http:    the request line is not one: the method is not 1..20 token
//                 characters (RFC 9110 tchar) followed by SP; the target is empty
//                 or holds a control byte; the version is not exactly HTTP/1.0 or
//                 HTTP/1.1 followed by the line end. Decided per byte (a TLS
//                 record after its first byte, "PRI * HTTP/2.0" at the '2').
//  * malformed:   a header line whose name is not a token directly followed by ':'
//                 (so no space before the colon); a line starting with SP or HT
//                 (obsolete line folding); a control byte other than HT in a value;
//                 a CR not followed by LF; a bad Host value (below); two Host
//                 headers whose trimmed values differ (byte for byte).
//  * host_missing: headers complete but no Host header, or only empty ones (the
//                 value HTTP allows when the target has no authority). HTTP/1.0
//                 requests without Host get this too.
//  * too_large:   the empty line ending the headers does not lie within the first
//                 `max_bytes` bytes of the stream (decided when max_bytes bytes
//                 are present without it).
//  * complete:    `host` holds the Host name; `consumed` counts the bytes up to
//                 and including the empty line (also set for host_missing).
//
// The Host value, trimmed of SP and HT, is `host [":" port]` where port is 0..5
// digits (value <= 65535, may be empty) and host is either a name of 1..255
// bytes of [A-Za-z0-9._-] or an IPv6 literal in brackets holding [0-9A-Fa-f:.]
// (returned without the brackets; zone ids are refused). Anything else (percent
// encoding, userinfo, a second colon) is malformed. The host is copied as sent:
// no lowercasing.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

namespace egress::tls {

enum class http_status : uint8_t { need_more, complete, not_http, host_missing, too_large, malformed };

std::string_view to_string(http_status s) noexcept;

inline constexpr std::size_t max_http_method = 20;

struct http_request_info {
    http_status status = http_status::need_more;
    std::array<char, 255> host{};   // complete: the Host name, not NUL-terminated
    uint16_t host_length = 0;
    uint32_t consumed = 0;          // complete / host_missing: bytes up to and including the empty line

    std::string_view host_name() const noexcept { return {host.data(), host_length}; }
};

http_request_info parse_http_request(std::span<const uint8_t> stream, uint32_t max_bytes) noexcept;

} // namespace egress::tls
