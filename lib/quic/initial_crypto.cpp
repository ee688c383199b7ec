// QUIC Initial protection with libcrypto: see initial_crypto.hpp.
#include "quic/initial_crypto.hpp"

#include <cstring>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

namespace egress::quic {

namespace {

// RFC 9001 §5.2 and RFC 9369 §3.3.1.
constexpr std::array<uint8_t, 20> salt_v1 = {0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
                                             0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a};
constexpr std::array<uint8_t, 20> salt_v2 = {0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93,
                                             0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9};

struct version_labels {
    const char* key;
    const char* iv;
    const char* hp;
};
// RFC 9001 §5.1 and RFC 9369 §3.3.2.
constexpr version_labels labels_v1{"quic key", "quic iv", "quic hp"};
constexpr version_labels labels_v2{"quicv2 key", "quicv2 iv", "quicv2 hp"};

constexpr std::size_t max_label = 32; // "tls13 " + the longest label above, with room

} // namespace

initial_crypto::initial_crypto() {
    mac_ = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    ecb_ = EVP_CIPHER_fetch(nullptr, "AES-128-ECB", nullptr);
    gcm_ = EVP_CIPHER_fetch(nullptr, "AES-128-GCM", nullptr);
    if (mac_ == nullptr || ecb_ == nullptr || gcm_ == nullptr) return;
    mac_ctx_ = EVP_MAC_CTX_new(mac_);
    ecb_ctx_ = EVP_CIPHER_CTX_new();
    gcm_ctx_ = EVP_CIPHER_CTX_new();
    if (mac_ctx_ == nullptr || ecb_ctx_ == nullptr || gcm_ctx_ == nullptr) return;
    char digest[] = "SHA256";
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                                 OSSL_PARAM_construct_end()};
    if (EVP_MAC_CTX_set_params(mac_ctx_, params) != 1) return;
    // The algorithms are bound once; later inits pass only the key (and IV).
    if (EVP_EncryptInit_ex(ecb_ctx_, ecb_, nullptr, nullptr, nullptr) != 1) return;
    if (EVP_CIPHER_CTX_set_padding(ecb_ctx_, 0) != 1) return;
    if (EVP_DecryptInit_ex(gcm_ctx_, gcm_, nullptr, nullptr, nullptr) != 1) return;
    ready_ = true;
}

initial_crypto::~initial_crypto() {
    EVP_CIPHER_CTX_free(gcm_ctx_);
    EVP_CIPHER_CTX_free(ecb_ctx_);
    EVP_MAC_CTX_free(mac_ctx_);
    EVP_CIPHER_free(gcm_);
    EVP_CIPHER_free(ecb_);
    EVP_MAC_free(mac_);
}

bool initial_crypto::hmac(std::span<const uint8_t> key, std::span<const uint8_t> a, std::span<const uint8_t> b,
                          std::span<uint8_t, 32> out) noexcept {
    if (!ready_) return false;
    std::size_t written = 0;
    return EVP_MAC_init(mac_ctx_, key.data(), key.size(), nullptr) == 1 &&
           EVP_MAC_update(mac_ctx_, a.data(), a.size()) == 1 && EVP_MAC_update(mac_ctx_, b.data(), b.size()) == 1 &&
           EVP_MAC_final(mac_ctx_, out.data(), &written, out.size()) == 1 && written == out.size();
}

bool initial_crypto::extract(std::span<const uint8_t> salt, std::span<const uint8_t> ikm,
                             std::span<uint8_t, 32> prk) noexcept {
    return hmac(salt, ikm, {}, prk);
}

bool initial_crypto::expand_label(std::span<const uint8_t, 32> secret, const char* label,
                                  std::span<uint8_t> out) noexcept {
    constexpr char prefix[] = "tls13 ";
    const std::size_t label_len = std::strlen(label);
    if (out.size() > 32 || label_len + sizeof(prefix) - 1 > max_label) return false;
    // HkdfLabel {uint16 length; opaque label<7..255>; opaque context<0..255>}, then
    // the HKDF-Expand block counter 0x01 (one block: length <= the hash size).
    std::array<uint8_t, 4 + max_label + 2> info{};
    std::size_t n = 0;
    info[n++] = static_cast<uint8_t>(out.size() >> 8);
    info[n++] = static_cast<uint8_t>(out.size());
    info[n++] = static_cast<uint8_t>(sizeof(prefix) - 1 + label_len);
    std::memcpy(&info[n], prefix, sizeof(prefix) - 1);
    n += sizeof(prefix) - 1;
    std::memcpy(&info[n], label, label_len);
    n += label_len;
    info[n++] = 0; // empty context
    info[n++] = 1; // T(1)
    std::array<uint8_t, 32> block{};
    if (!hmac(secret, std::span<const uint8_t>(info.data(), n), {}, block)) return false;
    std::memcpy(out.data(), block.data(), out.size());
    return true;
}

bool initial_crypto::derive(uint32_t version, std::span<const uint8_t> dcid, endpoint_side side,
                            initial_keys& out) noexcept {
    if (!is_known_version(version) || dcid.size() > max_cid_length) return false;
    const auto& salt = version == version_2 ? salt_v2 : salt_v1;
    const auto& labels = version == version_2 ? labels_v2 : labels_v1;
    std::array<uint8_t, 32> initial_secret{};
    std::array<uint8_t, 32> secret{};
    return extract(salt, dcid, initial_secret) &&
           expand_label(initial_secret, side == endpoint_side::client ? "client in" : "server in", secret) &&
           expand_label(secret, labels.key, out.key) && expand_label(secret, labels.iv, out.iv) &&
           expand_label(secret, labels.hp, out.hp);
}

bool initial_crypto::header_mask(const initial_keys& keys, std::span<const uint8_t, hp_sample_length> sample,
                                 std::array<uint8_t, 5>& mask) noexcept {
    if (!ready_) return false;
    std::array<uint8_t, 32> block{}; // one AES block, with room EVP may ask for
    int len = 0;
    if (EVP_EncryptInit_ex(ecb_ctx_, nullptr, nullptr, keys.hp.data(), nullptr) != 1 ||
        EVP_EncryptUpdate(ecb_ctx_, block.data(), &len, sample.data(), static_cast<int>(sample.size())) != 1 ||
        len != 16)
        return false;
    std::memcpy(mask.data(), block.data(), mask.size());
    return true;
}

bool initial_crypto::open(const initial_keys& keys, uint64_t packet_number, std::span<const uint8_t> aad_first,
                          std::span<const uint8_t> aad_middle, std::span<const uint8_t> aad_last,
                          std::span<const uint8_t> sealed, std::span<uint8_t> out) noexcept {
    if (!ready_ || sealed.size() < aead_tag_length || out.size() < sealed.size() - aead_tag_length) return false;
    // RFC 9001 §5.3: the nonce is the IV XORed with the packet number, left-padded.
    std::array<uint8_t, 12> nonce = keys.iv;
    for (std::size_t i = 0; i < 8; ++i) nonce[11 - i] ^= static_cast<uint8_t>(packet_number >> (8 * i));
    const std::size_t body = sealed.size() - aead_tag_length;
    int len = 0;
    if (EVP_DecryptInit_ex(gcm_ctx_, nullptr, nullptr, keys.key.data(), nonce.data()) != 1) return false;
    for (auto piece : {aad_first, aad_middle, aad_last}) {
        if (!piece.empty() &&
            EVP_DecryptUpdate(gcm_ctx_, nullptr, &len, piece.data(), static_cast<int>(piece.size())) != 1)
            return false;
    }
    if (body > 0 && (EVP_DecryptUpdate(gcm_ctx_, out.data(), &len, sealed.data(), static_cast<int>(body)) != 1 ||
                     static_cast<std::size_t>(len) != body))
        return false;
    // The tag is only read by libcrypto, but the ctrl takes a non-const pointer.
    std::array<uint8_t, aead_tag_length> tag{};
    std::memcpy(tag.data(), sealed.data() + body, tag.size());
    if (EVP_CIPHER_CTX_ctrl(gcm_ctx_, EVP_CTRL_GCM_SET_TAG, static_cast<int>(tag.size()), tag.data()) != 1)
        return false;
    std::array<uint8_t, 16> final_block{};
    return EVP_DecryptFinal_ex(gcm_ctx_, final_block.data(), &len) == 1;
}

} // namespace egress::quic
