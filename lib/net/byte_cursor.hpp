// A bounds-checked reader over a byte span. Every read states how many bytes it
// needs; a read that would pass the end fails and leaves the cursor where it was.
// Parsers use this instead of pointer arithmetic, so nothing reads past a buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace egress::net {

class byte_cursor {
public:
    explicit byte_cursor(std::span<const uint8_t> bytes) noexcept : bytes_(bytes) {}

    std::size_t offset() const noexcept { return pos_; }
    std::size_t remaining() const noexcept { return bytes_.size() - pos_; }
    bool has(std::size_t n) const noexcept { return n <= remaining(); }

    // The next n bytes without consuming them; an empty span when fewer remain.
    std::span<const uint8_t> peek(std::size_t n) const noexcept {
        return has(n) ? bytes_.subspan(pos_, n) : std::span<const uint8_t>{};
    }
    bool skip(std::size_t n) noexcept {
        if (!has(n)) return false;
        pos_ += n;
        return true;
    }
    bool read_u8(uint8_t& out) noexcept {
        if (!has(1)) return false;
        out = bytes_[pos_++];
        return true;
    }
    bool read_be16(uint16_t& out) noexcept {
        if (!has(2)) return false;
        out = static_cast<uint16_t>((bytes_[pos_] << 8) | bytes_[pos_ + 1]);
        pos_ += 2;
        return true;
    }
    bool read_be32(uint32_t& out) noexcept {
        if (!has(4)) return false;
        out = (uint32_t{bytes_[pos_]} << 24) | (uint32_t{bytes_[pos_ + 1]} << 16) |
              (uint32_t{bytes_[pos_ + 2]} << 8) | uint32_t{bytes_[pos_ + 3]};
        pos_ += 4;
        return true;
    }
    // Consumes n bytes and returns them; an empty span (and no move) when fewer remain.
    std::span<const uint8_t> take(std::size_t n) noexcept {
        if (!has(n)) return {};
        auto s = bytes_.subspan(pos_, n);
        pos_ += n;
        return s;
    }
    // A cursor over the next n bytes only (for a header whose length field bounds it).
    bool sub(std::size_t n, byte_cursor& out) const noexcept {
        if (!has(n)) return false;
        out = byte_cursor(bytes_.subspan(pos_, n));
        return true;
    }

private:
    std::span<const uint8_t> bytes_;
    std::size_t pos_ = 0;
};

} // namespace egress::net
