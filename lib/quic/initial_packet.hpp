// One QUIC long-header packet inside a UDP datagram (RFC 9000 §17.2, RFC 8999
// for the version-independent part): its kind, connection IDs, token and the
// extent of its protected part; then, for an Initial, header protection removal
// and payload decryption into a caller buffer (RFC 9001 §5.3-5.4).
#pragma once

#include <cstdint>
#include <span>

#include "quic/initial_crypto.hpp"

namespace egress::quic {

enum class packet_kind : uint8_t {
    short_header,        // first bit 0: a 1-RTT packet (or not QUIC at all)
    version_negotiation, // version 0 (RFC 9000 §17.2.1)
    unknown_version,     // a long header of a version egressd cannot unprotect
    initial,
    zero_rtt,
    handshake,
    retry,
};

enum class header_error : uint8_t { none, truncated, bad_cid_length, bad_length };

struct long_header {
    packet_kind kind = packet_kind::short_header;
    uint32_t version = 0;
    std::span<const uint8_t> dcid;
    std::span<const uint8_t> scid;
    std::span<const uint8_t> token;  // Initial only
    std::size_t pn_offset = 0;       // Initial, 0-RTT, Handshake: where the packet number starts
    std::size_t packet_length = 0;   // bytes of the datagram this packet occupies (Initial, 0-RTT, Handshake)
};

// Reads the header at the start of `packet` (the rest of a datagram). For
// version negotiation, unknown versions and short headers only `kind` (and
// `version`, ids for long headers) is meaningful: their length is unknowable.
header_error parse_long_header(std::span<const uint8_t> packet, long_header& out) noexcept;

enum class unprotect_error : uint8_t { none, too_short, bad_tag, reserved_bits, buffer_too_small };

struct unprotected_packet {
    uint64_t packet_number = 0;
    std::size_t payload_length = 0; // plaintext bytes written to the caller's buffer
};

// Removes header protection and decrypts the Initial `header` describes, which
// starts at `packet`. `largest_pn` is the largest packet number decoded so far
// in this direction (-1 before the first), to expand the truncated number (RFC
// 9000 §A.3). The datagram is not modified.
unprotect_error unprotect_initial(initial_crypto& crypto, const initial_keys& keys, std::span<const uint8_t> packet,
                                  const long_header& header, int64_t largest_pn, std::span<uint8_t> plaintext,
                                  unprotected_packet& out) noexcept;

// RFC 9000 §A.3: the packet number closest to largest_pn + 1 with these low bits.
uint64_t decode_packet_number(int64_t largest_pn, uint64_t truncated, unsigned bits) noexcept;

} // namespace egress::quic
