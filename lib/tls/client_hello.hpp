// The TLS ClientHello parser: the first bytes a client sent on a TCP connection
// -> the server name (SNI), ALPN protocols and ECH presence, so the packet path
// can decide a flow by hostname. Bounds-checked, no allocation, no exceptions.
//
// Input: `stream` is the client's byte stream from its first byte, in order,
// possibly incomplete (call again with more bytes; the parser keeps no state).
//
// Records and reassembly. The ClientHello handshake message (type 1, 24-bit
// length) may be split over several TLS records (content type 22, header
// type(1) version(2) length(2)). The parser never copies the message together:
// it reads the handshake bytes through a cursor that holds the stream position
// and the end of the current record's payload; when a read reaches that end it
// reads and checks the next record header in place and continues after it. A
// read may so span any number of record boundaries (a length field, a host name
// or an extension may be cut anywhere). Lengths inside the hello are checked
// against the handshake byte count (the "logical" offset), never the stream.
//
// Statuses. Bytes are examined in stream order and the first check that fails
// decides, so the result of a prefix is either need_more or final: any longer
// stream gives the same status (and, for complete, the same fields).
//  * need_more: the bytes so far are a valid prefix of a ClientHello.
//  * not_tls:   they cannot be one: a record type other than 22 (handshake) or a
//               record version major byte other than 3, at any record of the
//               hello (so also a change_cipher_spec or alert record before the
//               hello is complete); a first handshake message type other than 1.
//               Decided per byte, e.g. after one byte for an HTTP request.
//  * too_large: a record header whose payload would end past `max_bytes` of the
//               stream, or a handshake length whose smallest possible encoding
//               (4 + length bytes plus a 5-byte header per 16 KiB) exceeds it.
//               Decided at that header, before its bytes arrive.
//  * malformed: lengths that do not add up; a record of length 0 or > 16384; a
//               session id > 32 bytes; empty or odd cipher suites; no
//               compression method; an extension block that does not end exactly
//               at the end of the hello; the same extension type twice, or more
//               than 64 distinct (non-GREASE) extension types; bytes after the
//               hello in its last record (a client sends nothing else before the
//               ServerHello, so the hello must end its record); and, per
//               extension, the checks listed below.
//  * complete:  all fields filled in; `consumed` = end of the hello's last record.
//
// Extensions read (all others are skipped by length; GREASE types, RFC 8701
// 0x0a0a, 0x1a1a, ... 0xfafa, are skipped entirely, duplicates included):
//  * server_name (0): list length == extension length - 2, list not empty,
//    entries type(1) length(2) name; at most one host_name (type 0) entry, other
//    name types skipped. The host name must be 1..255 bytes of [A-Za-z0-9._-]
//    (a trailing dot is kept) else malformed. Copied as sent: no lowercasing.
//  * ALPN (16): list length == extension length - 2, >= 2; every name 1..255
//    bytes. GREASE names (RFC 8701: two equal bytes 0x?A) are left out. Names
//    are joined with ',' in order while they fit into the 64-byte `alpn`; the
//    first name that does not fit, and all after it, are dropped whole (never
//    cut mid-name) and `alpn_truncated` is set, so `alpn` is always a prefix of
//    the offered list. Names are opaque bytes and copied as sent.
//  * encrypted_client_hello (0xfe0d): the ECHClientHello type byte: 0 (outer)
//    must be followed by cipher_suite(4) config_id(1) enc<0..2^16-1>
//    payload<1..2^16-1> filling the extension exactly; 1 (inner) must be the
//    whole extension; any other type is malformed. With ECH outer the SNI is
//    the ECH public name, not the real destination.
//
// Fields of client_hello_info other than status and consumed are meaningful only
// for complete (they hold whatever was read before the decision otherwise).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

namespace egress::tls {

enum class hello_status : uint8_t { need_more, complete, not_tls, too_large, malformed };

std::string_view to_string(hello_status s) noexcept;

inline constexpr uint32_t max_record_payload = 16384;   // 2^14, RFC 8446 5.1
inline constexpr std::size_t max_hello_extensions = 64; // distinct non-GREASE types

struct client_hello_info {
    hello_status status = hello_status::need_more;
    uint32_t consumed = 0;          // complete: bytes of the stream the hello's records occupy
    bool has_sni = false;           // a server_name extension with a host_name entry
    std::array<char, 255> sni{};    // the host name as sent, not NUL-terminated
    uint16_t sni_length = 0;
    bool ech = false;               // encrypted_client_hello (0xfe0d) present
    bool ech_outer = false;         // its ECHClientHello type is 0 (outer)
    bool alpn_truncated = false;    // names that did not fit into alpn were dropped
    std::array<char, 64> alpn{};    // ALPN protocol names joined with ','
    uint16_t alpn_length = 0;
    uint16_t legacy_version = 0;    // the ClientHello's legacy_version (client_version)

    std::string_view server_name() const noexcept { return {sni.data(), sni_length}; }
    std::string_view alpn_list() const noexcept { return {alpn.data(), alpn_length}; }
};

// Parses the ClientHello at the start of `stream`; the hello's records may not
// extend past `max_bytes` bytes of the stream (too_large).
client_hello_info parse_client_hello(std::span<const uint8_t> stream, uint32_t max_bytes) noexcept;

// RFC 8701 GREASE: 0x0a0a, 0x1a1a, ..., 0xfafa.
constexpr bool is_grease(uint16_t v) noexcept { return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff); }

} // namespace egress::tls
