// The Toeplitz hash NICs use for receive-side scaling (RSS), in software, so the
// gateway can predict on which queue (and so which worker) a packet will land:
// for each input bit that is set (most significant bit of the first byte first),
// the 32 key bits starting at that bit position are XORed into the result.
//
// Inputs as NICs build them (all fields in network byte order, concatenated):
//   IPv4 TCP/UDP: source address, destination address, source port, destination port (12 bytes)
//   IPv4 other:   source address, destination address (8 bytes)
//   IPv6 TCP/UDP: the same with 16-byte addresses (36 bytes); other: 32 bytes.
//
// toeplitz_hash() is the bit-at-a-time definition; toeplitz_table precomputes,
// for each input byte position and value, the XOR of the key windows of its set
// bits, so hashing costs one table load per input byte (start-up allocates
// 1 KiB per byte position; the packet path does not allocate).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

namespace egress::net {

inline constexpr std::size_t rss_key_bytes = 40; // the usual NIC key size (an input of up to 36 bytes)

// The key of Microsoft's RSS verification suite, which many NICs also use as their default.
inline constexpr std::array<uint8_t, rss_key_bytes> default_rss_key{
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
    0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
    0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa};

// The hash of input under key; input.size() + 4 must not exceed key.size()
// (the bits beyond the key count as zero).
uint32_t toeplitz_hash(std::span<const uint8_t> key, std::span<const uint8_t> input) noexcept;

class toeplitz_table {
public:
    // Rows for inputs of up to key.size() - 4 bytes (allocates).
    explicit toeplitz_table(std::span<const uint8_t> key);

    std::size_t max_input() const noexcept { return rows_.size() / 256; }
    // input.size() <= max_input().
    uint32_t hash(std::span<const uint8_t> input) const noexcept {
        uint32_t h = 0;
        const uint32_t* row = rows_.data();
        for (const uint8_t b : input) {
            h ^= row[b];
            row += 256;
        }
        return h;
    }
    // IPv4 helpers; addresses and ports in host order.
    uint32_t hash_v4(uint32_t src, uint32_t dst) const noexcept;
    uint32_t hash_v4(uint32_t src, uint32_t dst, uint16_t src_port, uint16_t dst_port) const noexcept;

private:
    std::vector<uint32_t> rows_; // [position][byte value]
};

} // namespace egress::net
