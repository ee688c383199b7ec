// Small hashing primitives shared by the flow table and the NAT allocator.
#pragma once

#include <cstdint>
#include <cstring>

namespace egress::base {

__extension__ using u128 = unsigned __int128;

// 64x64 -> 128 multiply folded to 64 bits (the wyhash "mum" mixer): every
// output bit depends on every input bit of both operands.
inline uint64_t mum(uint64_t a, uint64_t b) noexcept {
    const u128 r = static_cast<u128>(a) * b;
    return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}

// Unaligned native-order loads.
inline uint64_t load64(const uint8_t* p) noexcept {
    uint64_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
}
inline uint32_t load32(const uint8_t* p) noexcept {
    uint32_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

// Lemire's multiply-shift range reduction of a 32-bit hash onto [0, n).
inline uint32_t reduce(uint32_t h, uint32_t n) noexcept {
    return static_cast<uint32_t>((static_cast<uint64_t>(h) * n) >> 32);
}

} // namespace egress::base
