// Helpers of the lib/quic tests: hex, fixture files under tests/unit/quic/data.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

namespace egress::quic::test {

using bytes = std::vector<uint8_t>;

inline bytes from_hex(std::string_view hex) {
    bytes out;
    int hi = -1;
    for (char ch : hex) {
        int v = -1;
        if (ch >= '0' && ch <= '9') v = ch - '0';
        else if (ch >= 'a' && ch <= 'f') v = ch - 'a' + 10;
        else if (ch >= 'A' && ch <= 'F') v = ch - 'A' + 10;
        if (v < 0) continue; // spaces, newlines
        if (hi < 0) {
            hi = v;
        } else {
            out.push_back(static_cast<uint8_t>(hi << 4 | v));
            hi = -1;
        }
    }
    return out;
}

template <class Range> std::string to_hex(const Range& r) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string s;
    for (uint8_t b : r) {
        s += digits[b >> 4];
        s += digits[b & 15];
    }
    return s;
}

inline std::string data_path(std::string_view name) {
    const char* root = std::getenv("EGRESS_SOURCE_ROOT");
    return std::string(root != nullptr ? root : ".") + "/tests/unit/quic/data/" + std::string(name);
}

inline bytes read_file(std::string_view name) {
    std::ifstream in(data_path(name), std::ios::binary);
    EXPECT_TRUE(in.good()) << data_path(name);
    return bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline bytes read_hex_file(std::string_view name) {
    std::ifstream in(data_path(name));
    EXPECT_TRUE(in.good()) << data_path(name);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return from_hex(text);
}

} // namespace egress::quic::test
