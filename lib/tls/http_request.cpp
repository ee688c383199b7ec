// The HTTP/1.x request parser; the rules are in http_request.hpp.
#include "tls/http_request.hpp"

#include <algorithm>
#include <cstring>
#include <optional>

namespace egress::tls {

std::string_view to_string(http_status s) noexcept {
    switch (s) {
    case http_status::need_more: return "need_more";
    case http_status::complete: return "complete";
    case http_status::not_http: return "not_http";
    case http_status::host_missing: return "host_missing";
    case http_status::too_large: return "too_large";
    case http_status::malformed: return "malformed";
    }
    return "unknown";
}

namespace {

// RFC 9110 tchar.
constexpr bool token_char(uint8_t c) noexcept {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~': return true;
    default: return false;
    }
}
constexpr bool control(uint8_t c) noexcept { return c < 0x20 || c == 0x7f; }
constexpr bool host_char(uint8_t c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
           c == '_';
}
constexpr bool ipv6_char(uint8_t c) noexcept {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.';
}

bool valid_port(std::string_view p) noexcept {
    if (p.size() > 5) return false;
    uint32_t v = 0;
    for (const char c : p) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + static_cast<uint32_t>(c - '0');
    }
    return v <= 65535;
}

enum class host_parse : uint8_t { ok, empty, bad };

// `value` trimmed; splits off the port and checks the host (see the header).
host_parse parse_host(std::string_view value, http_request_info& info) noexcept {
    if (value.empty()) return host_parse::empty;
    std::string_view host;
    std::string_view rest;
    if (value.front() == '[') {
        const auto close = value.find(']');
        if (close == std::string_view::npos) return host_parse::bad;
        host = value.substr(1, close - 1);
        rest = value.substr(close + 1);
        if (!std::all_of(host.begin(), host.end(), [](char c) { return ipv6_char(static_cast<uint8_t>(c)); }))
            return host_parse::bad;
        if (!rest.empty() && rest.front() != ':') return host_parse::bad;
    } else {
        const auto colon = value.find(':');
        host = value.substr(0, colon);
        rest = colon == std::string_view::npos ? std::string_view{} : value.substr(colon);
        if (!std::all_of(host.begin(), host.end(), [](char c) { return host_char(static_cast<uint8_t>(c)); }))
            return host_parse::bad;
    }
    if (!rest.empty() && !valid_port(rest.substr(1))) return host_parse::bad;
    if (host.empty() || host.size() > info.host.size()) return host_parse::bad;
    std::memcpy(info.host.data(), host.data(), host.size());
    info.host_length = static_cast<uint16_t>(host.size());
    return host_parse::ok;
}

// Walks the request one step at a time; each step either moves `at` past what
// it read (nullopt) or says how the request ends.
struct request_reader {
    std::span<const uint8_t> stream;
    uint32_t max_bytes;
    std::size_t limit;
    std::size_t at = 0;

    // Out of bytes before a decision: too_large when the limit is what stopped us.
    http_status out_of_bytes() const noexcept {
        return stream.size() >= max_bytes ? http_status::too_large : http_status::need_more;
    }
    std::optional<http_status> request_line() noexcept;
    // One header line: `end` set on the empty line that ends the headers;
    // otherwise the name and the value (not trimmed) are where it says.
    std::optional<http_status> header_line(bool& end, std::size_t& name, std::size_t& name_len, std::size_t& value,
                                           std::size_t& value_end) noexcept;
    bool is_host(std::size_t name, std::size_t name_len) const noexcept {
        constexpr std::string_view host_name = "host";
        return name_len == host_name.size() &&
               std::equal(host_name.begin(), host_name.end(), stream.begin() + static_cast<std::ptrdiff_t>(name),
                          [](char h, uint8_t c) { return h == (c | 0x20); });
    }
};

// Request line: method SP target SP version line-end.
std::optional<http_status> request_reader::request_line() noexcept {
    std::size_t& i = at;
    for (; i < limit && token_char(stream[i]); ++i)
        if (i >= max_http_method) return http_status::not_http;
    if (i == limit) return out_of_bytes();
    if (i == 0 || stream[i] != ' ') return http_status::not_http;
    const std::size_t target = ++i;
    for (; i < limit && stream[i] != ' '; ++i)
        if (control(stream[i])) return http_status::not_http;
    if (i == limit) return out_of_bytes();
    if (i == target) return http_status::not_http;
    ++i;
    constexpr std::string_view version = "HTTP/1.";
    for (const char c : version) {
        if (i == limit) return out_of_bytes();
        if (stream[i++] != static_cast<uint8_t>(c)) return http_status::not_http;
    }
    if (i == limit) return out_of_bytes();
    if (stream[i] != '0' && stream[i] != '1') return http_status::not_http;
    ++i;
    if (i == limit) return out_of_bytes();
    if (stream[i] == '\r') {
        ++i;
        if (i == limit) return out_of_bytes();
    }
    if (stream[i] != '\n') return http_status::not_http;
    ++i;
    return std::nullopt;
}

std::optional<http_status> request_reader::header_line(bool& end, std::size_t& name, std::size_t& name_len,
                                                       std::size_t& value, std::size_t& value_end) noexcept {
    std::size_t& i = at;
    if (i == limit) return out_of_bytes();
    if (stream[i] == '\r') {
        if (i + 1 == limit) return out_of_bytes();
        if (stream[i + 1] != '\n') return http_status::malformed;
        i += 2;
        end = true;
        return std::nullopt;
    }
    if (stream[i] == '\n') {
        ++i;
        end = true;
        return std::nullopt;
    }
    name = i;
    for (; i < limit && token_char(stream[i]); ++i) {}
    if (i == limit) return out_of_bytes();
    if (i == name || stream[i] != ':') return http_status::malformed;
    name_len = i - name;
    value = ++i;
    for (;; ++i) {
        if (i == limit) return out_of_bytes();
        const uint8_t c = stream[i];
        if (c == '\n') {
            value_end = i++;
            return std::nullopt;
        }
        if (c == '\r') {
            if (i + 1 == limit) return out_of_bytes();
            if (stream[i + 1] != '\n') return http_status::malformed;
            value_end = i;
            i += 2;
            return std::nullopt;
        }
        if (control(c) && c != '\t') return http_status::malformed;
    }
}

// The Host lines seen so far: the first is parsed, later ones must repeat it.
struct host_lines {
    bool seen = false;
    bool empty = true;
    std::size_t at = 0;
    std::size_t len = 0;

    std::optional<http_status> add(std::span<const uint8_t> stream, std::size_t value, std::size_t value_end,
                                   http_request_info& info) noexcept {
        while (value < value_end && (stream[value] == ' ' || stream[value] == '\t')) ++value;
        while (value_end > value && (stream[value_end - 1] == ' ' || stream[value_end - 1] == '\t')) --value_end;
        const std::size_t n = value_end - value;
        if (seen) {
            if (n != len || std::memcmp(stream.data() + value, stream.data() + at, n) != 0) return http_status::malformed;
            return std::nullopt;
        }
        seen = true;
        at = value;
        len = n;
        const std::string_view text(reinterpret_cast<const char*>(stream.data() + value), n);
        switch (parse_host(text, info)) {
        case host_parse::ok: empty = false; break;
        case host_parse::empty: break;
        case host_parse::bad: return http_status::malformed;
        }
        return std::nullopt;
    }
};

} // namespace

http_request_info parse_http_request(std::span<const uint8_t> stream, uint32_t max_bytes) noexcept {
    http_request_info info;
    request_reader r{stream, max_bytes, std::min<std::size_t>(stream.size(), max_bytes)};
    const auto done = [&info](http_status s) {
        info.status = s;
        return info;
    };
    if (const auto s = r.request_line()) return done(*s);
    host_lines host;
    for (;;) {
        bool end = false;
        std::size_t name = 0, name_len = 0, value = 0, value_end = 0;
        if (const auto s = r.header_line(end, name, name_len, value, value_end)) return done(*s);
        if (end) break;
        if (!r.is_host(name, name_len)) continue;
        if (const auto s = host.add(stream, value, value_end, info)) return done(*s);
    }
    info.consumed = static_cast<uint32_t>(r.at);
    return done(host.empty ? http_status::host_missing : http_status::complete);
}

} // namespace egress::tls
