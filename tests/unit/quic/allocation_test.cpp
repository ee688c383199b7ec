// What lib/quic allocates on the packet path: malloc, calloc and realloc are
// counted for the whole process (this test binary replaces them and forwards to
// glibc), so allocations inside libcrypto are seen too.
#include <cstddef>
#include <cstdlib>
#include <vector>

#include <gtest/gtest.h>

#include "../gateway/gateway_fixture.hpp"
#include "gateway/gateway_core.hpp"
#include "policy/active_policy.hpp"
#include "quic/initial_inspector.hpp"
#include "quic_test_util.hpp"

extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
}

namespace {
std::size_t allocations = 0;
}

extern "C" {
void* malloc(std::size_t n) {
    ++allocations;
    return __libc_malloc(n);
}
void* calloc(std::size_t n, std::size_t m) {
    ++allocations;
    return __libc_calloc(n, m);
}
void* realloc(void* p, std::size_t n) {
    ++allocations;
    return __libc_realloc(p, n);
}
}

namespace {

using namespace egress::quic;
using namespace egress::quic::test;

TEST(quic_allocation, opening_packets_of_a_keyed_flow_allocates_nothing) {
    initial_inspector inspector(16384);
    const auto d0 = read_file("chromium-156-a.0.bin");
    const auto d1 = read_file("chromium-156-a.1.bin");
    std::vector<uint8_t> storage(16384);
    {
        initial_flow warm(storage); // first use of each EVP context
        ASSERT_EQ(inspector.inspect(warm, d0).status, initial_status::need_more);
        ASSERT_EQ(inspector.inspect(warm, d1).status, initial_status::complete);
    }
    initial_flow flow(storage);
    const std::size_t before_first = allocations;
    ASSERT_EQ(inspector.inspect(flow, d0).status, initial_status::need_more);
    const std::size_t first_datagram = allocations - before_first;
    const std::size_t before_second = allocations;
    ASSERT_EQ(inspector.inspect(flow, d1).status, initial_status::complete);
    // The second datagram: header protection, AES-GCM, frames, reassembly, the
    // ClientHello parse, with the keys the first one derived: nothing allocated.
    EXPECT_EQ(allocations - before_second, 0u);
    // The first derives the flow's keys (once per flow): five HMAC-SHA256 runs,
    // and OpenSSL 3.0's HMAC duplicates its digest contexts on every (re)key,
    // inside libcrypto (5 allocations each on Debian 12's 3.0). Bounded so a
    // regression shows.
    EXPECT_LE(first_datagram, 25u) << first_datagram;
}

// The same through the gateway ([policy] quic = "inspect"): a new QUIC flow's
// first datagram (flow creation, NAT, the hold, key derivation) allocates only
// inside libcrypto's key derivation; the datagram that completes the hello
// (open, reassemble, parse, match the name, release both held datagrams
// through the flow stages) allocates nothing: the per-flow QUIC state is the
// preallocated inspection slot, buffer and Initial state.
TEST(quic_allocation, a_new_quic_flow_through_the_gateway_allocates_only_its_keys) {
    using namespace egress;
    policy::policy_spec spec;
    spec.inspection.quic = policy::quic_action::inspect;
    policy::rule_spec named;
    named.name = "named";
    named.destinations = {*policy::cidr::parse("0.0.0.0/0", nullptr)};
    named.proto = policy::protocol::any;
    named.hostnames = {"quic.example.test"};
    named.action = policy::verdict::allow;
    spec.rules = {named};
    auto compiled = policy::compiled_policy::compile(spec);
    ASSERT_TRUE(compiled.policy) << compiled.error;
    policy::active_policy active(std::move(compiled.policy));
    gateway::gateway_core core(gateway::testing_network::make_settings());
    core.use_policy(&active);
    const auto d0 = read_file("chromium-156-a.0.bin");
    const auto d1 = read_file("chromium-156-a.1.bin");
    std::vector<std::vector<uint8_t>> frames;
    for (uint16_t port : {50000, 50001})
        for (const auto* d : {&d0, &d1})
            frames.push_back(gateway::testing_network::from_inside()
                                 .ipv4("10.0.0.5", "198.51.100.7")
                                 .udp(port, 443)
                                 .payload(*d)
                                 .build());
    // The first flow warms every context up.
    ASSERT_EQ(core.process(stats::side::inside, frames[0], 1).kind, gateway::verdict::consumed);
    ASSERT_EQ(core.process(stats::side::inside, frames[1], 1).kind, gateway::verdict::consumed);
    ASSERT_EQ(core.built_frames().size(), 2u);
    const std::size_t before_first = allocations;
    ASSERT_EQ(core.process(stats::side::inside, frames[2], 2).kind, gateway::verdict::consumed);
    const std::size_t first_datagram = allocations - before_first;
    const std::size_t before_second = allocations;
    ASSERT_EQ(core.process(stats::side::inside, frames[3], 2).kind, gateway::verdict::consumed);
    EXPECT_EQ(allocations - before_second, 0u);
    ASSERT_EQ(core.built_frames().size(), 2u); // both held datagrams released
    EXPECT_LE(first_datagram, 25u) << first_datagram;
}
} // namespace
