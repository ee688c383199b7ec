// Text in fixed-size, NUL-padded char arrays (fields of the events handed from
// the packet path to the control plane through rings: no allocation).
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <string_view>

namespace egress::base {

// The field's text, without the padding.
template <std::size_t N>
constexpr std::string_view field_text(const std::array<char, N>& a) noexcept {
    std::size_t n = 0;
    while (n < N && a[n] != '\0') ++n;
    return std::string_view(a.data(), n);
}

// Writes text into a zero-initialised field, truncated to N bytes.
template <std::size_t N>
constexpr void set_field_text(std::array<char, N>& a, std::string_view text) noexcept {
    std::copy_n(text.data(), std::min(text.size(), N), a.data());
}

} // namespace egress::base
