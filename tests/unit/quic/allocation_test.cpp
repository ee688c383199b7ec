// What lib/quic allocates on the packet path: malloc, calloc and realloc are
// counted for the whole process (this test binary replaces them and forwards to
// glibc), so allocations inside libcrypto are seen too.
#include <cstddef>
#include <cstdlib>
#include <vector>

#include <gtest/gtest.h>

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

} // namespace
