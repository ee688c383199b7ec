// QUIC Initial packet protection (RFC 9001 §5, RFC 9369 §3.3) with OpenSSL
// libcrypto: the client's Initial keys from its Destination Connection ID, the
// header protection mask (AES-128-ECB over a 16-byte sample) and AES-128-GCM
// opening of the payload. No cipher is written here; libcrypto does the math.
//
// One `initial_crypto` per worker: it owns the EVP contexts (HMAC-SHA256, AES
// ECB, AES GCM) and the fetched algorithms, created once and re-keyed per use,
// so deriving keys and opening a packet allocate nothing on the packet path
// (OpenSSL re-initialises an existing context in place when the algorithm is
// unchanged). Not thread-safe: one instance per thread.
#pragma once

#include <array>
#include <cstdint>
#include <span>

// OpenSSL types, declared here so the header does not pull libcrypto in.
struct evp_mac_st;
struct evp_mac_ctx_st;
struct evp_cipher_st;
struct evp_cipher_ctx_st;

namespace egress::quic {

// The versions whose Initial protection egressd knows.
inline constexpr uint32_t version_1 = 0x00000001; // RFC 9000
inline constexpr uint32_t version_2 = 0x6b3343cf; // RFC 9369

constexpr bool is_known_version(uint32_t v) noexcept { return v == version_1 || v == version_2; }

// Packet protection keys of one direction (AEAD_AES_128_GCM, RFC 9001 §5.3).
struct initial_keys {
    std::array<uint8_t, 16> key{};
    std::array<uint8_t, 12> iv{};
    std::array<uint8_t, 16> hp{};
};

inline constexpr std::size_t max_cid_length = 20; // RFC 9000 §17.2
inline constexpr std::size_t aead_tag_length = 16;
inline constexpr std::size_t hp_sample_length = 16;

enum class endpoint_side : uint8_t { client, server };

class initial_crypto {
public:
    initial_crypto();
    ~initial_crypto();
    initial_crypto(const initial_crypto&) = delete;
    initial_crypto& operator=(const initial_crypto&) = delete;

    // False when libcrypto could not provide the algorithms (then nothing else works).
    bool ready() const noexcept { return ready_; }

    // The Initial keys of `side` for a connection whose client chose `dcid`
    // (RFC 9001 §5.2; RFC 9369 §3.3.1-2 for version 2). False for an unknown
    // version, a DCID over 20 bytes, or a libcrypto failure.
    bool derive(uint32_t version, std::span<const uint8_t> dcid, endpoint_side side, initial_keys& out) noexcept;

    // The 5-byte header protection mask AES-ECB(hp, sample) (RFC 9001 §5.4.3).
    bool header_mask(const initial_keys& keys, std::span<const uint8_t, hp_sample_length> sample,
                     std::array<uint8_t, 5>& mask) noexcept;

    // Opens an AES-128-GCM payload: the nonce is iv XOR packet number; the
    // associated data is the unprotected header, passed in up to three pieces so
    // the caller need not copy it (the unmasked first byte, the bytes up to the
    // packet number as received, the unmasked packet number). `sealed` ends with
    // the 16-byte tag; the plaintext (sealed.size() - 16 bytes) goes to `out`,
    // which must be that large. False when the tag does not verify.
    bool open(const initial_keys& keys, uint64_t packet_number, std::span<const uint8_t> aad_first,
              std::span<const uint8_t> aad_middle, std::span<const uint8_t> aad_last,
              std::span<const uint8_t> sealed, std::span<uint8_t> out) noexcept;

    // HKDF-Expand-Label(secret, label, "", length) for length <= 32 (RFC 8446 §7.1):
    // one HMAC block. Public for the RFC vector tests.
    bool expand_label(std::span<const uint8_t, 32> secret, const char* label, std::span<uint8_t> out) noexcept;
    // HKDF-Extract(salt, ikm) = HMAC-SHA256(salt, ikm).
    bool extract(std::span<const uint8_t> salt, std::span<const uint8_t> ikm, std::span<uint8_t, 32> prk) noexcept;

private:
    bool hmac(std::span<const uint8_t> key, std::span<const uint8_t> a, std::span<const uint8_t> b,
              std::span<uint8_t, 32> out) noexcept;

    evp_mac_st* mac_ = nullptr;
    evp_mac_ctx_st* mac_ctx_ = nullptr;
    evp_cipher_st* ecb_ = nullptr;
    evp_cipher_st* gcm_ = nullptr;
    evp_cipher_ctx_st* ecb_ctx_ = nullptr;
    evp_cipher_ctx_st* gcm_ctx_ = nullptr;
    bool ready_ = false;
};

} // namespace egress::quic
