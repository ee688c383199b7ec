#include "policy/cidr.hpp"

namespace egress::policy {

namespace {

std::string quoted(std::string_view s) {
    std::string out = "\"";
    for (const char c : s) {
        if (c == '"' || c == '\\') out.push_back('\\');
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
            out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
        } else {
            out.push_back(c);
        }
    }
    out.push_back('"');
    return out;
}

net::ip_address masked(net::ip_address a, unsigned bits) noexcept {
    for (unsigned i = 0; i < 16; ++i) {
        const unsigned keep = bits >= 8 * (i + 1) ? 8 : (bits > 8 * i ? bits - 8 * i : 0);
        a.bytes[i] = static_cast<uint8_t>(a.bytes[i] & (keep == 0 ? 0 : 0xff << (8 - keep)));
    }
    return a;
}

} // namespace

bool same_prefix(const net::ip_address& a, const net::ip_address& b, unsigned bits) noexcept {
    unsigned i = 0;
    for (; bits >= 8; bits -= 8, ++i) {
        if (a.bytes[i] != b.bytes[i]) return false;
    }
    if (bits == 0) return true;
    const uint8_t mask = static_cast<uint8_t>(0xff << (8 - bits));
    return ((a.bytes[i] ^ b.bytes[i]) & mask) == 0;
}

std::optional<cidr> cidr::parse(std::string_view text, std::string* why) {
    auto fail = [&]() -> std::optional<cidr> {
        if (why != nullptr) {
            *why = fmt::format(R"(expected a CIDR like "10.0.0.0/8" or "2001:db8::/32", got {})", quoted(text));
        }
        return std::nullopt;
    };
    const std::size_t slash = text.find('/');
    if (slash == std::string_view::npos) return fail();
    const std::string_view address_text = text.substr(0, slash);
    const std::string_view length_text = text.substr(slash + 1);
    if (length_text.empty() || length_text.size() > 3) return fail();
    unsigned length = 0;
    for (const char c : length_text) {
        if (c < '0' || c > '9') return fail();
        length = length * 10 + static_cast<unsigned>(c - '0');
    }
    const auto address = net::ip_address::parse(address_text);
    if (!address) return fail();
    const bool v6_text = address_text.find(':') != std::string_view::npos;
    if (length > (v6_text ? 128u : 32u)) return fail();
    const unsigned bits = v6_text ? length : 96 + length;
    cidr c{masked(*address, bits), static_cast<uint8_t>(bits)};
    if (v6_text && c.is_v4()) {
        // ::ffff:a.b.c.d/n with n >= 96 would be an IPv4 prefix in disguise.
        if (why != nullptr) {
            *why = fmt::format(R"(expected an IPv6 CIDR outside ::ffff:0:0/96 (write IPv4 prefixes like "10.0.0.0/8"), got {})",
                               quoted(text));
        }
        return std::nullopt;
    }
    if (!(c.base == *address)) {
        if (why != nullptr) {
            *why = fmt::format("expected a network address (host bits zero), got {} (did you mean {}?)", quoted(text),
                               quoted(c.to_string()));
        }
        return std::nullopt;
    }
    return c;
}

bool cidr::contains(const net::ip_address& a) const noexcept {
    if (a.is_v4() != is_v4()) return false;
    return same_prefix(base, a, prefix_len);
}

bool cidr::covers(const cidr& inner) const noexcept {
    return inner.is_v4() == is_v4() && inner.prefix_len >= prefix_len && same_prefix(base, inner.base, prefix_len);
}

std::string cidr::to_string() const { return fmt::format("{}/{}", base, family_prefix_len()); }

} // namespace egress::policy
