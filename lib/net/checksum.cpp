#include "net/checksum.hpp"

#include <bit>
#include <array>
#include <cstring>

#include "net/wire.hpp"

namespace egress::net {

namespace {

using namespace wire;

// Where the checksum sits inside the L4 header, 0 when the protocol has none we know.
constexpr std::size_t l4_checksum_field(uint8_t proto) noexcept {
    switch (proto) {
    case proto_tcp: return tcp_checksum_offset;
    case proto_udp: return udp_checksum_offset;
    case proto_icmp:
    case proto_icmpv6: return icmp_checksum_offset;
    default: return 0;
    }
}

// frame[offset, offset + length) or an empty span when it does not fit.
std::span<const uint8_t> region(std::span<const uint8_t> frame, std::size_t offset, std::size_t length) noexcept {
    if (offset > frame.size() || length > frame.size() - offset) return {};
    return frame.subspan(offset, length);
}

// Sum of `bytes` with the 16-bit word at `skip` (even offset) left out.
uint32_t sum_without_field(std::span<const uint8_t> bytes, std::size_t skip, uint32_t initial = 0) noexcept {
    return ones_sum(bytes.subspan(skip + 2), ones_sum(bytes.first(skip), initial));
}

} // namespace

uint32_t ones_sum(std::span<const uint8_t> bytes, uint32_t initial) noexcept {
    // The one's-complement sum does not depend on byte order (RFC 1071 2(B)):
    // add native 32-bit words into 64 bits, fold to 16 bits, then swap the two
    // bytes of the result on a little-endian machine to get the network-order sum.
    uint64_t sum = 0;
    std::size_t i = 0;
    const std::size_t n = bytes.size();
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        std::memcpy(&w, bytes.data() + i, 8);
        sum += (w & 0xffffffffu) + (w >> 32);
    }
    if (i + 4 <= n) {
        uint32_t w;
        std::memcpy(&w, bytes.data() + i, 4);
        sum += w;
        i += 4;
    }
    if (i + 2 <= n) {
        uint16_t w;
        std::memcpy(&w, bytes.data() + i, 2);
        sum += w;
        i += 2;
    }
    if (i < n) {
        // A trailing odd byte is the high byte of a network-order word, i.e. the
        // low-address byte of a native word.
        const uint16_t w = bytes[i];
        sum += (std::endian::native == std::endian::little) ? w : static_cast<uint16_t>(w << 8);
    }
    while (sum >> 16) sum = (sum & 0xffffu) + (sum >> 16);
    uint32_t folded = static_cast<uint32_t>(sum);
    if constexpr (std::endian::native == std::endian::little)
        folded = ((folded & 0xffu) << 8) | (folded >> 8);
    uint64_t total = uint64_t{folded} + initial;
    while (total >> 32) total = (total & 0xffffffffu) + (total >> 32);
    return static_cast<uint32_t>(total);
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
