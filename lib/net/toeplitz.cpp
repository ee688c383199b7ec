#include "net/toeplitz.hpp"

namespace egress::net {

namespace {

// The 32 key bits starting at bit `bit` (bits past the end of the key are 0).
uint32_t key_window(std::span<const uint8_t> key, std::size_t bit) noexcept {
    uint64_t w = 0;
    const std::size_t first = bit / 8;
    for (std::size_t i = 0; i < 5; ++i) w = w << 8 | (first + i < key.size() ? key[first + i] : 0);
    return static_cast<uint32_t>(w >> (8 - bit % 8));
}

void put_be32(uint8_t* p, uint32_t v) noexcept {
    p[0] = static_cast<uint8_t>(v >> 24);
    p[1] = static_cast<uint8_t>(v >> 16);
    p[2] = static_cast<uint8_t>(v >> 8);
    p[3] = static_cast<uint8_t>(v);
}

} // namespace

uint32_t toeplitz_hash(std::span<const uint8_t> key, std::span<const uint8_t> input) noexcept {
    uint32_t h = 0;
    for (std::size_t i = 0; i < input.size(); ++i)
        for (unsigned b = 0; b < 8; ++b)
            if (input[i] & (0x80u >> b)) h ^= key_window(key, i * 8 + b);
    return h;
}

toeplitz_table::toeplitz_table(std::span<const uint8_t> key) {
    const std::size_t positions = key.size() >= 4 ? key.size() - 4 : 0;
    rows_.assign(positions * 256, 0);
    for (std::size_t pos = 0; pos < positions; ++pos)
        for (unsigned v = 0; v < 256; ++v) {
            uint32_t h = 0;
            for (unsigned b = 0; b < 8; ++b)
                if (v & (0x80u >> b)) h ^= key_window(key, pos * 8 + b);
            rows_[pos * 256 + v] = h;
        }
}

uint32_t toeplitz_table::hash_v4(uint32_t src, uint32_t dst) const noexcept {
    uint8_t in[8];
    put_be32(in, src);
    put_be32(in + 4, dst);
    return hash(in);
}

uint32_t toeplitz_table::hash_v4(uint32_t src, uint32_t dst, uint16_t src_port, uint16_t dst_port) const noexcept {
    uint8_t in[12];
    put_be32(in, src);
    put_be32(in + 4, dst);
    put_be32(in + 8, uint32_t{src_port} << 16 | dst_port);
    return hash(in);
}

} // namespace egress::net
