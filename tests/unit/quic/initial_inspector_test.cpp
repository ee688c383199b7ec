// lib/quic/initial_inspector: whole first flights -> status and ClientHello.
// The RFC sample Initials, and flights built independently by make_initials.py
// with python3-cryptography (data/*.bin, one file per datagram).
#include <gtest/gtest.h>

#include "quic/initial_inspector.hpp"
#include "quic_test_util.hpp"

namespace {

using namespace egress::quic;
using namespace egress::quic::test;

constexpr uint32_t max16k = 16384;

struct flow_fixture {
    std::vector<uint8_t> storage = std::vector<uint8_t>(max16k);
    initial_flow flow{storage};
};

TEST(initial_inspector, rfc_sample_client_initials_give_example_com) {
    initial_inspector inspector(max16k);
    ASSERT_TRUE(inspector.ready());
    for (const char* file : {"rfc9001_client_initial.hex", "rfc9369_client_initial.hex"}) {
        flow_fixture f;
        const auto r = inspector.inspect(f.flow, read_hex_file(file));
        ASSERT_EQ(r.status, initial_status::complete) << file << ": " << to_string(r.status);
        EXPECT_EQ(r.kind(), hello_kind::sni);
        EXPECT_EQ(r.hello->server_name(), "example.com") << file;
        EXPECT_EQ(r.hello->alpn_list(), "alpn") << file;
        EXPECT_EQ(f.flow.initials, 1u);
        EXPECT_EQ(f.flow.largest_pn, 2);
    }
}

} // namespace
