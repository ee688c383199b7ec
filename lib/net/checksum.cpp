#include "net/checksum.hpp"

#include <array>

namespace egress::net {

namespace {

constexpr std::size_t ipv4_checksum_offset = 10; // within the IPv4 header
constexpr std::size_t ipv4_src_offset = 12;
constexpr std::size_t ipv6_src_offset = 8;
constexpr std::size_t udp_length_offset = 4;

// Where the checksum sits inside the L4 header, 0 when the protocol has none we know.
constexpr std::size_t l4_checksum_field(uint8_t proto) noexcept {
    switch (proto) {
    case proto_tcp: return 16;
    case proto_udp: return 6;
    case proto_icmp:
    case proto_icmpv6: return 2;
    default: return 0;
    }
}

// frame[offset, offset + length) or an empty span when it does not fit.
std::span<const uint8_t> region(std::span<const uint8_t> frame, std::size_t offset, std::size_t length) noexcept {
    if (offset > frame.size() || length > frame.size() - offset) return {};
    return frame.subspan(offset, length);
}

uint16_t load_be16(std::span<const uint8_t> bytes, std::size_t offset) noexcept {
    return static_cast<uint16_t>((bytes[offset] << 8) | bytes[offset + 1]);
}

void store_be16(std::span<uint8_t> bytes, std::size_t offset, uint16_t value) noexcept {
    bytes[offset] = static_cast<uint8_t>(value >> 8);
    bytes[offset + 1] = static_cast<uint8_t>(value);
}

// Sum of `bytes` with the 16-bit word at `skip` (even offset) left out.
uint32_t sum_without_field(std::span<const uint8_t> bytes, std::size_t skip, uint32_t initial = 0) noexcept {
    return ones_sum(bytes.subspan(skip + 2), ones_sum(bytes.first(skip), initial));
}

} // namespace

uint32_t ones_sum(std::span<const uint8_t> bytes, uint32_t initial) noexcept {
    uint64_t sum = initial;
    const std::size_t even = bytes.size() & ~std::size_t{1};
    for (std::size_t i = 0; i < even; i += 2) {
        sum += (uint32_t{bytes[i]} << 8) | bytes[i + 1];
    }
    if (even != bytes.size()) sum += uint32_t{bytes[even]} << 8;
    // 2^32 - 1 is a multiple of 0xffff, so end-around carry at 32 bits keeps the
    // value congruent to the 16-bit one's-complement sum.
    while (sum >> 32) sum = (sum & 0xffffffffu) + (sum >> 32);
    return static_cast<uint32_t>(sum);
}

uint16_t ipv4_header_checksum(std::span<const uint8_t> frame, const packet_view& view) noexcept {
    if (view.family != ip_family::v4 || view.l4_offset < view.l3_offset + 20) return 0;
    const auto header = region(frame, view.l3_offset, std::size_t{view.l4_offset} - view.l3_offset);
    if (header.empty()) return 0;
    return static_cast<uint16_t>(~fold(sum_without_field(header, ipv4_checksum_offset)));
}

uint16_t l4_checksum(std::span<const uint8_t> frame, const packet_view& view) noexcept {
    const std::size_t field = l4_checksum_field(view.proto);
    const auto segment_all = region(frame, view.l4_offset, view.l4_length);
    if (field == 0 || segment_all.size() < field + 2) return 0;

    std::size_t covered = view.l4_length;
    if (view.proto == proto_udp) {
        covered = load_be16(segment_all, udp_length_offset);
        if (covered < 8 || covered > segment_all.size()) return 0;
    }
    const auto segment = segment_all.first(covered);

    uint32_t sum = 0;
    if (view.proto != proto_icmp) {
        // Pseudo-header: addresses, then the upper-layer length and protocol.
        const bool v4 = view.family == ip_family::v4;
        const auto addresses = region(frame, view.l3_offset + (v4 ? ipv4_src_offset : ipv6_src_offset), v4 ? 8 : 32);
        if (addresses.empty()) return 0;
        sum = fold(ones_sum(addresses)) + static_cast<uint32_t>(covered) + view.proto;
    }
    sum = sum_without_field(segment, field, fold(sum));
    const auto checksum = static_cast<uint16_t>(~fold(sum));
    if (view.proto == proto_udp && checksum == 0) return 0xffff;
    return checksum;
}

void recompute_checksums(std::span<uint8_t> frame, const packet_view& view) noexcept {
    if (view.family == ip_family::v4 && view.l4_offset >= view.l3_offset) {
        const auto header = region(frame, view.l3_offset, std::size_t{view.l4_offset} - view.l3_offset);
        if (header.size() >= 20) store_be16(frame, view.l3_offset + ipv4_checksum_offset, ipv4_header_checksum(frame, view));
    }
    const std::size_t field = l4_checksum_field(view.proto);
    const auto segment = region(frame, view.l4_offset, view.l4_length);
    if (field == 0 || segment.size() < field + 2) return;
    const std::size_t at = std::size_t{view.l4_offset} + field;
    if (view.proto == proto_udp && view.family == ip_family::v4 && load_be16(frame, at) == 0) return;
    store_be16(frame, at, l4_checksum(frame, view));
}

} // namespace egress::net
