#include "net/tcp_mss.hpp"

#include "net/byte_cursor.hpp"
#include "net/checksum.hpp"
#include "net/wire.hpp"

namespace egress::net {

namespace {

using namespace wire;

constexpr std::size_t tcp_min_header = 20;
constexpr uint8_t option_eol = 0;
constexpr uint8_t option_nop = 1;
constexpr uint8_t option_mss = 2;
constexpr uint8_t mss_length = 4;

// The checksum after the byte at `offset` (from the start of the segment) changed:
// a byte at an even offset is the high half of its 16-bit word.
uint16_t update_byte(uint16_t checksum, std::size_t offset, uint8_t old_value, uint8_t new_value) noexcept {
    const bool high = offset % 2 == 0;
    return checksum_update16(checksum, static_cast<uint16_t>(high ? old_value << 8 : old_value),
                             static_cast<uint16_t>(high ? new_value << 8 : new_value));
}

} // namespace

mss_clamp_result clamp_tcp_mss(std::span<uint8_t> frame, const packet_view& view, uint16_t max_mss) noexcept {
    const std::size_t l4 = view.l4_offset;
    if (view.proto != proto_tcp || l4 + tcp_min_header > frame.size()) return mss_clamp_result::malformed;
    const std::size_t header = static_cast<std::size_t>(frame[l4 + 12] >> 4) * 4;
    if (header < tcp_min_header || header > view.l4_length || l4 + header > frame.size())
        return mss_clamp_result::malformed;

    byte_cursor options(std::span<const uint8_t>(frame.data() + l4 + tcp_min_header, header - tcp_min_header));
    std::size_t mss_at = 0; // offset of the MSS value in the segment, 0: none
    uint8_t kind = 0;
    while (options.read_u8(kind)) {
        if (kind == option_eol) break;
        if (kind == option_nop) continue;
        const std::size_t at = tcp_min_header + options.offset() - 1;
        uint8_t length = 0;
        if (!options.read_u8(length) || length < 2 || !options.skip(length - 2u)) return mss_clamp_result::malformed;
        if (kind == option_mss) {
            if (length != mss_length || mss_at != 0) return mss_clamp_result::malformed;
            mss_at = at + 2;
        }
    }
    if (mss_at == 0) return mss_clamp_result::untouched;
    const std::size_t value_at = l4 + mss_at;
    const auto mss = static_cast<uint16_t>((frame[value_at] << 8) | frame[value_at + 1]);
    if (mss <= max_mss) return mss_clamp_result::untouched;

    const std::size_t checksum_at = l4 + tcp_checksum_offset;
    auto checksum = static_cast<uint16_t>((frame[checksum_at] << 8) | frame[checksum_at + 1]);
    const auto high = static_cast<uint8_t>(max_mss >> 8);
    const auto low = static_cast<uint8_t>(max_mss);
    checksum = update_byte(checksum, mss_at, frame[value_at], high);
    checksum = update_byte(checksum, mss_at + 1, frame[value_at + 1], low);
    frame[value_at] = high;
    frame[value_at + 1] = low;
    frame[checksum_at] = static_cast<uint8_t>(checksum >> 8);
    frame[checksum_at + 1] = static_cast<uint8_t>(checksum);
    return mss_clamp_result::clamped;
}

} // namespace egress::net
