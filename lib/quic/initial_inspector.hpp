// The client's first QUIC flight -> its ClientHello, so a UDP flow to port 443
// can be decided by hostname like TLS over TCP.
//
// Per flow, `initial_flow` holds what the datagrams seen so far established:
// the version and Destination Connection ID of the first Initial (they fix the
// keys, derived once per flow), the largest packet number, and the CRYPTO stream
// (crypto_stream.hpp) in storage the caller hands in. Per worker, one
// `initial_inspector` holds the libcrypto contexts and the scratch buffers.
//
// `inspect(flow, datagram)` reads every packet coalesced in the datagram
// (RFC 9000 §12.2): Initials are unprotected and their frames read; a 0-RTT or
// Handshake packet after an Initial is skipped by its length; anything after
// a short header or unknown bytes (padding) ends the datagram. Then the
// contiguous CRYPTO prefix is given to the TLS ClientHello parser
// (lib/tls/client_hello.hpp) inside synthetic TLS record headers, which the
// parser expects and QUIC does not send (RFC 9001 §4: no record layer).
//
// Statuses (the first packet of the datagram decides the kind; see to_string):
//  * need_more:           a valid prefix of a first flight; feed the next datagram
//  * complete:            the ClientHello was read; see `kind()` (sni, no_sni, ech)
//  * not_initial:         a short header, or a 0-RTT / Handshake packet first
//  * unknown_version:     a long header of a version other than 1 and 2
//  * version_negotiation: version 0 (a client does not send one)
//  * retry:               a Retry packet (servers send those, not clients)
//  * undecryptable:       the AEAD tag did not verify with the keys of the DCID
//  * malformed:           a header, frame or hello that breaks RFC 9000 / 9001 /
//                         8446: a frame type not allowed in an Initial (only
//                         PADDING, PING, ACK, CRYPTO, CONNECTION_CLOSE are), a
//                         packet without frames, non-zero reserved bits, a DCID
//                         under 8 bytes, a second Initial with another DCID or
//                         version, CRYPTO bytes conflicting with earlier ones or
//                         past the end of the ClientHello, a handshake message
//                         other than a ClientHello
//  * too_large:           the CRYPTO stream would pass the configured maximum,
//                         or arrives in more pieces than crypto_stream keeps
// Once a flow has a final status other than need_more, later datagrams return
// the same result (the flow is decided; held datagrams follow the verdict).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "quic/crypto_stream.hpp"
#include "quic/initial_crypto.hpp"
#include "quic/initial_packet.hpp"
#include "tls/client_hello.hpp"

namespace egress::quic {

enum class initial_status : uint8_t {
    need_more,
    complete,
    not_initial,
    unknown_version,
    version_negotiation,
    retry,
    undecryptable,
    malformed,
    too_large,
};
std::string_view to_string(initial_status s) noexcept;

// How a complete hello is decided: on its SNI, without one, or on the ECH outer
// (public) name, which the SNI then holds (RFC 9849 §6.1).
enum class hello_kind : uint8_t { sni, no_sni, ech };
std::string_view to_string(hello_kind k) noexcept;

inline constexpr std::size_t min_client_dcid_length = 8; // RFC 9000 §7.2

struct initial_flow {
    initial_flow() = default;
    // `crypto_storage`: the CRYPTO stream's maximum length (e.g. 16 KiB).
    explicit initial_flow(std::span<uint8_t> crypto_storage) noexcept : stream(crypto_storage) {}

    initial_status status = initial_status::need_more; // sticky once final
    bool keyed = false;
    uint32_t version = 0;
    uint8_t dcid_length = 0;
    std::array<uint8_t, max_cid_length> dcid{};
    initial_keys keys{};
    int64_t largest_pn = -1;
    uint32_t initials = 0; // Initial packets read (decrypted) so far
    crypto_stream stream;
    tls::client_hello_info hello{};
};

struct initial_result {
    initial_status status = initial_status::need_more;
    const tls::client_hello_info* hello = nullptr; // complete: the flow's hello

    // A hello without a host name is no_sni even with ECH: there is no name to decide on.
    hello_kind kind() const noexcept {
        if (hello == nullptr || !hello->has_sni) return hello_kind::no_sni;
        return hello->ech ? hello_kind::ech : hello_kind::sni;
    }
};

class initial_inspector {
public:
    // `max_crypto_bytes` bounds the TLS view (it is the flows' storage size).
    explicit initial_inspector(uint32_t max_crypto_bytes);

    bool ready() const noexcept { return crypto_.ready(); }
    initial_crypto& crypto() noexcept { return crypto_; }

    initial_result inspect(initial_flow& flow, std::span<const uint8_t> datagram) noexcept;

private:
    initial_status read_packet(initial_flow& flow, std::span<const uint8_t> packet, const long_header& h) noexcept;
    initial_status read_frames(initial_flow& flow, std::span<const uint8_t> payload) noexcept;
    initial_status parse_hello(initial_flow& flow) noexcept;
    initial_status first_packet_status(const initial_flow& flow, const long_header& h) const noexcept;

    initial_crypto crypto_;
    uint32_t max_crypto_bytes_;
    std::vector<uint8_t> plaintext_; // one packet's payload (a UDP datagram's worth)
    std::vector<uint8_t> tls_view_;  // the CRYPTO prefix inside TLS record headers
};

} // namespace egress::quic
