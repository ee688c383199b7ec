// Builds TLS ClientHellos byte by byte for the parser tests, independently of the
// parser: extensions (SNI, ALPN, GREASE, ECH outer/inner, key_share, opaque), the
// handshake message, and its TLS records cut at any points.
//
//   hello_builder h;
//   h.extensions = {grease_ext(0x0a0a), sni_ext("example.com"), alpn_ext({"h2"})};
//   bytes stream = records(h.message());            // one record
//   bytes split = records_cut(h.message(), {3, 50}); // three records
//
// Every length field is computed; the *_delta / length members let a test break
// one of them while keeping the rest consistent.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace egress::tls::test {

using bytes = std::vector<uint8_t>;

inline void put8(bytes& b, std::size_t v) { b.push_back(static_cast<uint8_t>(v)); }
inline void put16(bytes& b, std::size_t v) {
    put8(b, v >> 8);
    put8(b, v);
}
inline void put24(bytes& b, std::size_t v) {
    put8(b, v >> 16);
    put16(b, v);
}
inline void append(bytes& b, const bytes& more) { b.insert(b.end(), more.begin(), more.end()); }
inline void append(bytes& b, std::string_view s) { b.insert(b.end(), s.begin(), s.end()); }
inline bytes to_bytes(std::string_view s) { return bytes(s.begin(), s.end()); }

// One extension: type, body, and the length field (the body's size unless set).
struct extension {
    uint16_t type = 0;
    bytes body;
    std::optional<std::size_t> length;
};

// server_name with the given (name_type, name) entries; list_delta breaks the list length.
inline extension sni_entries_ext(std::initializer_list<std::pair<uint8_t, std::string_view>> entries,
                                 int list_delta = 0) {
    bytes list;
    for (const auto& [type, name] : entries) {
        put8(list, type);
        put16(list, name.size());
        append(list, name);
    }
    extension e{0, {}, {}};
    put16(e.body, static_cast<std::size_t>(static_cast<int>(list.size()) + list_delta));
    append(e.body, list);
    return e;
}
inline extension sni_ext(std::string_view host) { return sni_entries_ext({{0, host}}); }

inline extension alpn_ext(std::initializer_list<std::string_view> names) {
    bytes list;
    for (const auto n : names) {
        put8(list, n.size());
        append(list, n);
    }
    extension e{16, {}, {}};
    put16(e.body, list.size());
    append(e.body, list);
    return e;
}

inline extension opaque_ext(uint16_t type, std::size_t n, uint8_t fill = 0x33) { return {type, bytes(n, fill), {}}; }
inline extension grease_ext(uint16_t type, std::size_t n = 0) { return opaque_ext(type, n, 0); }

// encrypted_client_hello, outer: type 0, cipher suite, config id, enc, payload.
inline extension ech_outer_ext(std::size_t enc = 32, std::size_t payload = 144) {
    extension e{0xfe0d, {}, {}};
    put8(e.body, 0);
    put16(e.body, 0x0020); // HKDF-SHA256
    put16(e.body, 0x0001); // AES-128-GCM
    put8(e.body, 0x42);    // config id
    put16(e.body, enc);
    append(e.body, bytes(enc, 0xee));
    put16(e.body, payload);
    append(e.body, bytes(payload, 0xdd));
    return e;
}
inline extension ech_inner_ext() { return {0xfe0d, {1}, {}}; }

// key_share (51) with (group, key length) entries.
inline extension key_share_ext(std::initializer_list<std::pair<uint16_t, std::size_t>> shares) {
    bytes list;
    for (const auto& [group, n] : shares) {
        put16(list, group);
        put16(list, n);
        append(list, bytes(n, static_cast<uint8_t>(group)));
    }
    extension e{51, {}, {}};
    put16(e.body, list.size());
    append(e.body, list);
    return e;
}

// supported_versions (43) offering TLS 1.3 and 1.2.
inline extension supported_versions_ext() { return {43, {4, 0x03, 0x04, 0x03, 0x03}, {}}; }

struct hello_builder {
    uint16_t legacy_version = 0x0303;
    bytes session_id = bytes(32, 0x5a);
    bytes cipher_suites = {0x13, 0x01, 0x13, 0x02, 0xc0, 0x2f};
    std::optional<std::size_t> cipher_suites_length;
    bytes compression = {0};
    std::vector<extension> extensions;
    bool omit_extensions = false;  // a hello without the extensions block (TLS 1.0 style)
    int extensions_length_delta = 0;
    int handshake_length_delta = 0;

    // Offset of the first extension's type field in message().
    std::size_t extensions_offset() const {
        return 4 + 2 + 32 + 1 + session_id.size() + 2 + cipher_suites.size() + 1 + compression.size() + 2;
    }
    // Offset of extension i's type field in message().
    std::size_t extension_offset(std::size_t i) const {
        std::size_t at = extensions_offset();
        for (std::size_t k = 0; k < i; ++k) at += 4 + extensions[k].body.size();
        return at;
    }

    // The handshake message: type 1, 24-bit length, body.
    bytes message() const {
        bytes body;
        put16(body, legacy_version);
        for (int k = 0; k < 32; ++k) put8(body, k);
        put8(body, session_id.size());
        append(body, session_id);
        put16(body, cipher_suites_length.value_or(cipher_suites.size()));
        append(body, cipher_suites);
        put8(body, compression.size());
        append(body, compression);
        if (!omit_extensions) {
            bytes exts;
            for (const auto& e : extensions) {
                put16(exts, e.type);
                put16(exts, e.length.value_or(e.body.size()));
                append(exts, e.body);
            }
            put16(body, static_cast<std::size_t>(static_cast<int>(exts.size()) + extensions_length_delta));
            append(body, exts);
        }
        bytes msg;
        put8(msg, 1);
        put24(msg, static_cast<std::size_t>(static_cast<int>(body.size()) + handshake_length_delta));
        append(msg, body);
        return msg;
    }
};

// One TLS record header.
inline void record_header(bytes& out, std::size_t length, uint8_t type = 22, uint16_t version = 0x0301) {
    put8(out, type);
    put16(out, version);
    put16(out, length);
}

// The message in handshake records of at most `fragment` bytes each.
inline bytes records(const bytes& msg, std::size_t fragment = 16384, uint16_t version = 0x0301) {
    bytes out;
    for (std::size_t at = 0; at < msg.size(); at += fragment) {
        const std::size_t n = std::min(fragment, msg.size() - at);
        record_header(out, n, 22, version);
        out.insert(out.end(), msg.begin() + static_cast<std::ptrdiff_t>(at),
                   msg.begin() + static_cast<std::ptrdiff_t>(at + n));
    }
    return out;
}

// The message in handshake records that start at the given message offsets (and at 0).
inline bytes records_cut(const bytes& msg, std::vector<std::size_t> cuts) {
    cuts.push_back(msg.size());
    bytes out;
    std::size_t at = 0;
    for (const std::size_t cut : cuts) {
        record_header(out, cut - at);
        out.insert(out.end(), msg.begin() + static_cast<std::ptrdiff_t>(at),
                   msg.begin() + static_cast<std::ptrdiff_t>(cut));
        at = cut;
    }
    return out;
}

// What a TLS 1.3 client sends after its hello: change_cipher_spec, then encrypted data.
inline bytes after_hello() {
    bytes out;
    record_header(out, 1, 20, 0x0303);
    put8(out, 1);
    record_header(out, 5, 23, 0x0303);
    append(out, bytes(5, 0xab));
    return out;
}

} // namespace egress::tls::test
