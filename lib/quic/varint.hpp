// QUIC variable-length integers (RFC 9000 §16) read through the bounds-checked
// byte cursor: the two top bits of the first byte give the length (1, 2, 4 or 8
// bytes), the rest is the value, big-endian.
#pragma once

#include <cstdint>

#include "net/byte_cursor.hpp"

namespace egress::quic {

inline constexpr uint64_t max_varint = (uint64_t{1} << 62) - 1;

// False (cursor unmoved) when the input ends inside the integer.
inline bool read_varint(net::byte_cursor& c, uint64_t& out) noexcept {
    const auto first = c.peek(1);
    if (first.empty()) return false;
    const std::size_t n = std::size_t{1} << (first[0] >> 6);
    const auto bytes = c.take(n);
    if (bytes.empty()) return false;
    uint64_t v = bytes[0] & 0x3f;
    for (std::size_t i = 1; i < n; ++i) v = (v << 8) | bytes[i];
    out = v;
    return true;
}

} // namespace egress::quic
