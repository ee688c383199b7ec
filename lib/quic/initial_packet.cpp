// QUIC long header parsing and Initial unprotection: see initial_packet.hpp.
#include "quic/initial_packet.hpp"

#include <array>

#include "net/byte_cursor.hpp"
#include "quic/varint.hpp"

namespace egress::quic {

namespace {

// The two type bits of the first byte, per version (RFC 9000 §17.2, RFC 9369 §3.2).
packet_kind kind_of(uint32_t version, uint8_t first) noexcept {
    const unsigned type = (first >> 4) & 0x3;
    if (version == version_2) {
        constexpr packet_kind v2[] = {packet_kind::retry, packet_kind::initial, packet_kind::zero_rtt,
                                      packet_kind::handshake};
        return v2[type];
    }
    constexpr packet_kind v1[] = {packet_kind::initial, packet_kind::zero_rtt, packet_kind::handshake,
                                  packet_kind::retry};
    return v1[type];
}

bool read_cid(net::byte_cursor& c, std::span<const uint8_t>& out) noexcept {
    uint8_t len = 0;
    if (!c.read_u8(len)) return false;
    out = c.take(len);
    return len == 0 || !out.empty();
}

} // namespace

header_error parse_long_header(std::span<const uint8_t> packet, long_header& out) noexcept {
    out = long_header{};
    net::byte_cursor c(packet);
    uint8_t first = 0;
    if (!c.read_u8(first)) return header_error::truncated;
    if ((first & 0x80) == 0) return header_error::none; // short header
    if (!c.read_be32(out.version)) return header_error::truncated;
    // RFC 8999: the connection IDs of any version are up to 255 bytes long.
    if (!read_cid(c, out.dcid) || !read_cid(c, out.scid)) return header_error::truncated;
    if (out.version == 0) {
        out.kind = packet_kind::version_negotiation;
        return header_error::none;
    }
    if (!is_known_version(out.version)) {
        out.kind = packet_kind::unknown_version;
        return header_error::none;
    }
    out.kind = kind_of(out.version, first);
    if (out.dcid.size() > max_cid_length || out.scid.size() > max_cid_length) return header_error::bad_cid_length;
    if (out.kind == packet_kind::retry) return header_error::none;
    if (out.kind == packet_kind::initial) {
        uint64_t token_length = 0;
        if (!read_varint(c, token_length) || token_length > c.remaining()) return header_error::truncated;
        out.token = c.take(token_length);
    }
    uint64_t length = 0;
    if (!read_varint(c, length)) return header_error::truncated;
    if (length > c.remaining()) return header_error::bad_length;
    out.pn_offset = c.offset();
    out.packet_length = c.offset() + length;
    return header_error::none;
}

uint64_t decode_packet_number(int64_t largest_pn, uint64_t truncated, unsigned bits) noexcept {
    const uint64_t expected = static_cast<uint64_t>(largest_pn + 1);
    const uint64_t win = uint64_t{1} << bits;
    const uint64_t hwin = win / 2;
    const uint64_t mask = win - 1;
    const uint64_t candidate = (expected & ~mask) | truncated;
    if (candidate + hwin <= expected && candidate < (uint64_t{1} << 62) - win) return candidate + win;
    if (candidate > expected + hwin && candidate >= win) return candidate - win;
    return candidate;
}

unprotect_error unprotect_initial(initial_crypto& crypto, const initial_keys& keys, std::span<const uint8_t> packet,
                                  const long_header& header, int64_t largest_pn, std::span<uint8_t> plaintext,
                                  unprotected_packet& out) noexcept {
    // RFC 9001 §5.4.2: the sample starts 4 bytes after the packet number's start,
    // whatever the packet number's length; the packet must hold it.
    const std::size_t sample_at = header.pn_offset + 4;
    if (header.packet_length > packet.size() || sample_at + hp_sample_length > header.packet_length)
        return unprotect_error::too_short;
    std::array<uint8_t, 5> mask{};
    if (!crypto.header_mask(keys, packet.subspan(sample_at).first<hp_sample_length>(), mask))
        return unprotect_error::bad_tag;
    // Long header: the low 4 bits of the first byte are protected.
    const std::array<uint8_t, 1> first{static_cast<uint8_t>(packet[0] ^ (mask[0] & 0x0f))};
    const unsigned pn_length = (first[0] & 0x3) + 1;
    std::array<uint8_t, 4> pn_bytes{};
    uint64_t truncated = 0;
    for (unsigned i = 0; i < pn_length; ++i) {
        pn_bytes[i] = static_cast<uint8_t>(packet[header.pn_offset + i] ^ mask[1 + i]);
        truncated = (truncated << 8) | pn_bytes[i];
    }
    const std::size_t payload_at = header.pn_offset + pn_length;
    const auto sealed = packet.subspan(payload_at, header.packet_length - payload_at);
    if (sealed.size() < aead_tag_length) return unprotect_error::too_short;
    if (plaintext.size() < sealed.size() - aead_tag_length) return unprotect_error::buffer_too_small;
    out.packet_number = decode_packet_number(largest_pn, truncated, 8 * pn_length);
    out.payload_length = sealed.size() - aead_tag_length;
    if (!crypto.open(keys, out.packet_number, first, packet.subspan(1, header.pn_offset - 1),
                     std::span<const uint8_t>(pn_bytes.data(), pn_length), sealed, plaintext))
        return unprotect_error::bad_tag;
    // RFC 9000 §17.2: reserved bits other than 0 after removing protection are a
    // protocol violation (checked only now: before, they are not authenticated).
    if ((first[0] & 0x0c) != 0) return unprotect_error::reserved_bits;
    return unprotect_error::none;
}

} // namespace egress::quic
