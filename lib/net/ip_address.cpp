#include "net/ip_address.hpp"

#include <arpa/inet.h>

namespace egress::net {

std::optional<ip_address> ip_address::parse(std::string_view text) {
    if (text.empty() || text.size() > 45) return std::nullopt;
    char buf[46];
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\0';
    uint8_t raw[16];
    if (text.find(':') == std::string_view::npos) {
        if (inet_pton(AF_INET, buf, raw) != 1) return std::nullopt;
        return from_v4_bytes(raw);
    }
    if (inet_pton(AF_INET6, buf, raw) != 1) return std::nullopt;
    return from_v6_bytes(raw);
}

std::string ip_address::to_string() const {
    char buf[INET6_ADDRSTRLEN];
    if (is_v4()) {
        inet_ntop(AF_INET, v4_bytes(), buf, sizeof buf);
    } else {
        inet_ntop(AF_INET6, bytes.data(), buf, sizeof buf);
    }
    return buf;
}

std::optional<endpoint> endpoint::parse(std::string_view text) {
    std::string_view host;
    std::string_view port;
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') return std::nullopt;
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
        if (host.find(':') == std::string_view::npos) return std::nullopt; // brackets are for IPv6 only
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string_view::npos) return std::nullopt;
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (host.find(':') != std::string_view::npos) return std::nullopt; // IPv6 needs brackets
    }
    if (port.empty() || port.size() > 5) return std::nullopt;
    unsigned value = 0;
    for (char c : port) {
        if (c < '0' || c > '9') return std::nullopt;
        value = value * 10 + unsigned(c - '0');
    }
    if (value == 0 || value > 65535) return std::nullopt;
    const auto addr = ip_address::parse(host);
    if (!addr) return std::nullopt;
    return endpoint{*addr, static_cast<uint16_t>(value)};
}

std::optional<mac_address> mac_address::parse(std::string_view text) {
    if (text.size() != 17) return std::nullopt;
    mac_address m;
    for (std::size_t i = 0; i < 6; ++i) {
        if (i > 0 && text[i * 3 - 1] != ':') return std::nullopt;
        unsigned v = 0;
        for (std::size_t j = 0; j < 2; ++j) {
            const char c = text[i * 3 + j];
            v <<= 4;
            if (c >= '0' && c <= '9') v |= unsigned(c - '0');
            else if (c >= 'a' && c <= 'f') v |= unsigned(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F') v |= unsigned(c - 'A' + 10);
            else return std::nullopt;
        }
        m.bytes[i] = static_cast<uint8_t>(v);
    }
    return m;
}

std::string mac_address::to_string() const {
    return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", bytes[0], bytes[1], bytes[2], bytes[3], bytes[4],
                       bytes[5]);
}

} // namespace egress::net
