// lib/quic/initial_crypto and initial_packet against the test vectors of RFC 9001
// Appendix A (version 1) and RFC 9369 Appendix A (version 2): secrets, keys, IVs,
// header protection keys, masks, and the sample client Initial decrypted byte-exactly.
#include <array>

#include <gtest/gtest.h>

#include "quic/initial_crypto.hpp"
#include "quic/initial_packet.hpp"
#include "quic_test_util.hpp"

namespace {

using namespace egress::quic;
using namespace egress::quic::test;

const bytes rfc_dcid = from_hex("8394c8f03e515708");

struct key_vector {
    const char* name;
    uint32_t version;
    endpoint_side side;
    const char* key;
    const char* iv;
    const char* hp;
};

// RFC 9001 A.1 and RFC 9369 A.1.
const key_vector key_vectors[] = {
    {"v1 client", version_1, endpoint_side::client, "1f369613dd76d5467730efcbe3b1a22d", "fa044b2f42a3fd3b46fb255c",
     "9f50449e04a0e810283a1e9933adedd2"},
    {"v1 server", version_1, endpoint_side::server, "cf3a5331653c364c88f0f379b6067e37", "0ac1493ca1905853b0bba03e",
     "c206b8d9b9f0f37644430b490eeaa314"},
    {"v2 client", version_2, endpoint_side::client, "8b1a0bc121284290a29e0971b5cd045d", "91f73e2351d8fa91660e909f",
     "45b95e15235d6f45a6b19cbcb0294ba9"},
    {"v2 server", version_2, endpoint_side::server, "82db637861d55e1d011f19ea71d5d2a7", "dd13c276499c0249d3310652",
     "edf6d05c83121201b436e16877593c3a"},
};

TEST(initial_crypto, rfc_keys_ivs_and_hp_keys) {
    initial_crypto crypto;
    ASSERT_TRUE(crypto.ready());
    for (const auto& v : key_vectors) {
        initial_keys keys;
        ASSERT_TRUE(crypto.derive(v.version, rfc_dcid, v.side, keys)) << v.name;
        EXPECT_EQ(to_hex(keys.key), v.key) << v.name;
        EXPECT_EQ(to_hex(keys.iv), v.iv) << v.name;
        EXPECT_EQ(to_hex(keys.hp), v.hp) << v.name;
    }
}

TEST(initial_crypto, rfc_initial_and_client_secrets) {
    initial_crypto crypto;
    const auto salt_v1 = from_hex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a");
    std::array<uint8_t, 32> initial{};
    ASSERT_TRUE(crypto.extract(salt_v1, rfc_dcid, initial));
    EXPECT_EQ(to_hex(initial), "7db5df06e7a69e432496adedb00851923595221596ae2ae9fb8115c1e9ed0a44");
    std::array<uint8_t, 32> client{};
    ASSERT_TRUE(crypto.expand_label(initial, "client in", client));
    EXPECT_EQ(to_hex(client), "c00cf151ca5be075ed0ebfb5c80323c42d6b7db67881289af4008f1f6c357aea");

    const auto salt_v2 = from_hex("0dede3def700a6db819381be6e269dcbf9bd2ed9");
    ASSERT_TRUE(crypto.extract(salt_v2, rfc_dcid, initial));
    EXPECT_EQ(to_hex(initial), "2062e8b3cd8d52092614b8071d0aa1fb7c2e3ac193f78b280e72d8f5751f6aba");
    ASSERT_TRUE(crypto.expand_label(initial, "client in", client));
    EXPECT_EQ(to_hex(client), "14ec9d6eb9fd7af83bf5a668bc17a7e283766aade7ecd0891f70f9ff7f4bf47b");
}

TEST(initial_crypto, unknown_version_and_long_dcid_derive_nothing) {
    initial_crypto crypto;
    initial_keys keys;
    EXPECT_FALSE(crypto.derive(0xff00001d, rfc_dcid, endpoint_side::client, keys));
    const bytes long_dcid(21, 0xab);
    EXPECT_FALSE(crypto.derive(version_1, long_dcid, endpoint_side::client, keys));
}

TEST(initial_crypto, rfc_header_protection_masks) {
    initial_crypto crypto;
    struct {
        uint32_t version;
        const char* sample;
        const char* mask;
    } rows[] = {
        {version_1, "d1b1c98dd7689fb8ec11d242b123dc9b", "437b9aec36"}, // RFC 9001 A.2
        {version_2, "ffe67b6abcdb4298b485dd04de806071", "94a0c95e80"}, // RFC 9369 A.2
    };
    for (const auto& row : rows) {
        initial_keys keys;
        ASSERT_TRUE(crypto.derive(row.version, rfc_dcid, endpoint_side::client, keys));
        const auto sample = from_hex(row.sample);
        std::array<uint8_t, 5> mask{};
        ASSERT_TRUE(crypto.header_mask(keys, std::span<const uint8_t, 16>(sample.data(), 16), mask));
        EXPECT_EQ(to_hex(mask), row.mask);
    }
}

struct sample_packet {
    const char* file;
    uint32_t version;
    const char* protected_header;
};

// The 1200-byte client Initial of each appendix: unprotected, packet number 2,
// a payload of the CRYPTO frame printed there followed by PADDING to 1162 bytes.
void check_rfc_client_initial(const sample_packet& s) {
    initial_crypto crypto;
    const auto packet = read_hex_file(s.file);
    ASSERT_EQ(packet.size(), 1200u);
    EXPECT_EQ(to_hex(std::span(packet).first(22)), s.protected_header);
    long_header h;
    ASSERT_EQ(parse_long_header(packet, h), header_error::none);
    EXPECT_EQ(h.kind, packet_kind::initial);
    EXPECT_EQ(h.version, s.version);
    EXPECT_EQ(to_hex(h.dcid), "8394c8f03e515708");
    EXPECT_TRUE(h.scid.empty());
    EXPECT_TRUE(h.token.empty());
    EXPECT_EQ(h.pn_offset, 18u);
    EXPECT_EQ(h.packet_length, 1200u);

    initial_keys keys;
    ASSERT_TRUE(crypto.derive(s.version, h.dcid, endpoint_side::client, keys));
    bytes plaintext(2000);
    unprotected_packet up;
    ASSERT_EQ(unprotect_initial(crypto, keys, packet, h, -1, plaintext, up), unprotect_error::none);
    EXPECT_EQ(up.packet_number, 2u);
    ASSERT_EQ(up.payload_length, 1162u);
    auto expected = read_hex_file("rfc9001_client_crypto_frame.hex"); // the same frame in both RFCs
    expected.resize(1162, 0x00);
    EXPECT_EQ(to_hex(std::span(plaintext).first(1162)), to_hex(expected));

    // One flipped ciphertext bit, or the keys of another DCID: the tag fails.
    auto tampered = packet;
    tampered[600] ^= 0x01;
    EXPECT_EQ(unprotect_initial(crypto, keys, tampered, h, -1, plaintext, up), unprotect_error::bad_tag);
    initial_keys other;
    ASSERT_TRUE(crypto.derive(s.version, from_hex("8394c8f03e515709"), endpoint_side::client, other));
    EXPECT_EQ(unprotect_initial(crypto, other, packet, h, -1, plaintext, up), unprotect_error::bad_tag);
    bytes small(1000);
    EXPECT_EQ(unprotect_initial(crypto, keys, packet, h, -1, small, up), unprotect_error::buffer_too_small);
}

TEST(initial_packet, rfc9001_client_initial_decrypts_byte_exactly) {
    check_rfc_client_initial({"rfc9001_client_initial.hex", version_1, "c000000001088394c8f03e5157080000449e7b9aec34"});
}

TEST(initial_packet, rfc9369_client_initial_decrypts_byte_exactly) {
    check_rfc_client_initial({"rfc9369_client_initial.hex", version_2, "d76b3343cf088394c8f03e5157080000449ea0c95e82"});
}

TEST(initial_packet, packet_number_decoding_rfc9000_a3) {
    // RFC 9000 A.3 example: largest 0xa82f30ea, truncated 0x9b32 in 16 bits.
    EXPECT_EQ(decode_packet_number(0xa82f30ea, 0x9b32, 16), 0xa82f9b32u);
    EXPECT_EQ(decode_packet_number(-1, 2, 32), 2u);
    EXPECT_EQ(decode_packet_number(-1, 0, 8), 0u);
    EXPECT_EQ(decode_packet_number(300, 0x2d, 8), 301u);  // 0x12d
    EXPECT_EQ(decode_packet_number(255, 0x05, 8), 261u);  // wraps forward
}

TEST(initial_packet, header_kinds) {
    struct {
        const char* description;
        const char* hex;
        header_error error;
        packet_kind kind;
    } rows[] = {
        {"short header", "40aabbccdd", header_error::none, packet_kind::short_header},
        {"version negotiation", "8000000000080102030405060708000000000100000002", header_error::none,
         packet_kind::version_negotiation},
        {"unknown version", "c0ff00001d0801020304050607080000", header_error::none, packet_kind::unknown_version},
        {"v1 retry", "f0000000010008f067a5502a4262b5746f6b656e", header_error::none, packet_kind::retry},
        {"v2 retry", "c06b3343cf0008f067a5502a4262b5746f6b656e", header_error::none, packet_kind::retry},
        {"v1 0-RTT", "d0000000010801020304050607080001ff", header_error::none, packet_kind::zero_rtt},
        {"v1 handshake", "e0000000010801020304050607080001ff", header_error::none, packet_kind::handshake},
        {"v2 initial type bits 01", "d06b3343cf080102030405060708000001ff", header_error::none, packet_kind::initial},
        {"truncated version", "c00000", header_error::truncated, packet_kind::short_header},
        {"dcid past the end", "c0000000010801020304", header_error::truncated, packet_kind::short_header},
        {"dcid of 21 bytes", "c00000000115010203040506070809101112131415161718192021000000", header_error::bad_cid_length,
         packet_kind::initial},
        {"token past the end", "c000000001080102030405060708000501", header_error::truncated, packet_kind::initial},
        {"length past the end", "c0000000010801020304050607080000050102", header_error::bad_length,
         packet_kind::initial},
        {"no length", "c00000000108010203040506070800", header_error::truncated, packet_kind::initial},
    };
    for (const auto& row : rows) {
        const auto b = from_hex(row.hex);
        long_header h;
        EXPECT_EQ(parse_long_header(b, h), row.error) << row.description;
        EXPECT_EQ(h.kind, row.kind) << row.description;
    }
}

} // namespace
