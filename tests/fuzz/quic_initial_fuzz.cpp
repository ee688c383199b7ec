// libFuzzer target: a QUIC client's first flight through initial_inspector.
// Input: a mode byte, then chunks (2-byte big-endian length, bytes).
//  * mode bit 0 clear: each chunk is a UDP datagram as received (the committed
//    corpus holds real Chromium flights and python-built ones).
//  * mode bit 0 set: each chunk is the plaintext payload (frames) of an Initial
//    the harness protects itself with libcrypto under a fixed DCID, so the
//    fuzzer reaches the frame parser, CRYPTO reassembly and the ClientHello
//    parser instead of stopping at the AEAD tag.
// Checks what initial_inspector.hpp promises: a final status stays; complete
// has a hello whose fields are in bounds; reassembly stays within its storage.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include <openssl/evp.h>

#include "quic/initial_inspector.hpp"

namespace {

using namespace egress::quic;

constexpr uint32_t max_bytes = 4096; // small, so too_large is reachable
constexpr std::array<uint8_t, 8> dcid = {0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08};

void check(bool ok) {
    if (!ok) std::abort();
}

// Seals `payload` as a version 1 client Initial with packet number `pn` (2 bytes).
std::vector<uint8_t> seal(initial_crypto& crypto, const initial_keys& keys, std::span<const uint8_t> payload,
                          uint16_t pn) {
    std::vector<uint8_t> plain(payload.begin(), payload.end());
    if (plain.size() < 20) plain.resize(20, 0); // room for the header protection sample
    std::vector<uint8_t> p = {0xc1, 0, 0, 0, 1, static_cast<uint8_t>(dcid.size())};
    p.insert(p.end(), dcid.begin(), dcid.end());
    const std::size_t length = 2 + plain.size() + 16;
    p.insert(p.end(), {0, 0, static_cast<uint8_t>(0x40 | (length >> 8)), static_cast<uint8_t>(length),
                       static_cast<uint8_t>(pn >> 8), static_cast<uint8_t>(pn)});
    const std::size_t pn_at = p.size() - 2;
    std::array<uint8_t, 12> nonce = keys.iv;
    nonce[10] ^= static_cast<uint8_t>(pn >> 8);
    nonce[11] ^= static_cast<uint8_t>(pn);
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    int len = 0;
    p.resize(pn_at + 2 + plain.size() + 16);
    check(EVP_EncryptInit_ex(ctx, EVP_aes_128_gcm(), nullptr, keys.key.data(), nonce.data()) == 1);
    check(EVP_EncryptUpdate(ctx, nullptr, &len, p.data(), static_cast<int>(pn_at + 2)) == 1);
    check(EVP_EncryptUpdate(ctx, p.data() + pn_at + 2, &len, plain.data(), static_cast<int>(plain.size())) == 1);
    check(EVP_EncryptFinal_ex(ctx, p.data() + pn_at + 2 + plain.size(), &len) == 1);
    check(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, p.data() + pn_at + 2 + plain.size()) == 1);
    EVP_CIPHER_CTX_free(ctx);
    std::array<uint8_t, 5> mask{};
    check(crypto.header_mask(keys, std::span<const uint8_t, 16>(p.data() + pn_at + 4, 16), mask));
    p[0] ^= mask[0] & 0x0f;
    p[pn_at] ^= mask[1];
    p[pn_at + 1] ^= mask[2];
    return p;
}

void check_result(const initial_result& r, const initial_flow& flow) {
    check(flow.stream.high_water() <= max_bytes);
    if (r.status != initial_status::complete) {
        check(r.hello == nullptr);
        return;
    }
    check(r.hello != nullptr && r.hello->status == egress::tls::hello_status::complete);
    check(r.hello->sni_length <= r.hello->sni.size() && r.hello->has_sni == (r.hello->sni_length > 0));
    check(r.kind() != hello_kind::sni || !r.hello->ech);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    static initial_inspector inspector(max_bytes);
    static initial_keys keys = [] {
        initial_keys k;
        check(inspector.crypto().derive(version_1, dcid, endpoint_side::client, k));
        return k;
    }();
    if (size < 1) return 0;
    const bool plaintext_mode = (data[0] & 1) != 0;
    std::vector<uint8_t> storage(max_bytes);
    initial_flow flow(storage);
    initial_status final_status = initial_status::need_more;
    uint16_t pn = 0;
    for (std::size_t at = 1; at + 2 <= size;) {
        const std::size_t n = std::min<std::size_t>((std::size_t{data[at]} << 8) | data[at + 1], size - at - 2);
        const std::span<const uint8_t> chunk(data + at + 2, n);
        at += 2 + n;
        const auto datagram = plaintext_mode ? seal(inspector.crypto(), keys, chunk, pn++)
                                             : std::vector<uint8_t>(chunk.begin(), chunk.end());
        const auto r = inspector.inspect(flow, datagram);
        check_result(r, flow);
        if (final_status != initial_status::need_more) check(r.status == final_status);
        final_status = r.status;
    }
    return 0;
}
