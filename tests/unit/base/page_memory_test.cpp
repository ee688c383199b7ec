// lib/base/page_memory: what /proc says about hugepages, and the page resource
// the flow tables are allocated from (no hugepages need be reserved: the
// hugetlb attempt falls back to madvise memory, which the counters show).
#include <gtest/gtest.h>

#include <cstring>

#include "base/page_memory.hpp"
#include "flow/flow_table.hpp"

namespace egress::base {
namespace {

constexpr std::string_view meminfo = "MemTotal:       24000000 kB\n"
                                     "AnonHugePages:         0 kB\n"
                                     "HugePages_Total:     512\n"
                                     "HugePages_Free:      500\n"
                                     "HugePages_Rsvd:       10\n"
                                     "HugePages_Surp:        0\n"
                                     "Hugepagesize:       2048 kB\n";

TEST(hugepage_status, parses_meminfo_mounts_and_thp_mode) {
    const auto s = parse_hugepage_status(meminfo, "proc /proc proc rw 0 0\nhugetlbfs /dev/hugepages hugetlbfs rw 0 0\n",
                                         "always [madvise] never\n");
    EXPECT_EQ(s.page_bytes, 2048u * 1024);
    EXPECT_EQ(s.total_pages, 512u);
    EXPECT_EQ(s.free_pages, 490u); // free less reserved-but-untouched
    EXPECT_EQ(s.free_bytes(), 490u * 2048 * 1024);
    EXPECT_TRUE(s.mounted);
    EXPECT_EQ(s.thp_mode, "madvise");
}

TEST(hugepage_status, nothing_reserved_nothing_mounted) {
    const auto s = parse_hugepage_status("HugePages_Total:       0\nHugePages_Free:        0\nHugepagesize:       2048 kB\n",
                                         "proc /proc proc rw 0 0\n", "");
    EXPECT_EQ(s.total_pages, 0u);
    EXPECT_EQ(s.free_pages, 0u);
    EXPECT_FALSE(s.mounted);
    EXPECT_EQ(s.thp_mode, "");
}

TEST(page_resource, large_allocations_are_2mib_aligned_and_counted) {
    page_resource r(false);
    const std::size_t n = (std::size_t{5} << 20) + 100;
    void* p = r.allocate(n, 64);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % page_resource::huge_page, 0u);
    std::memset(p, 0xab, n); // the whole length is mapped, writable
    EXPECT_EQ(r.advised_bytes(), std::size_t{6} << 20);
    EXPECT_EQ(r.hugetlb_bytes(), 0u);
    EXPECT_EQ(r.small_bytes(), 0u);
    r.deallocate(p, n, 64);
}

TEST(page_resource, small_allocations_are_plain_pages) {
    page_resource r(true);
    void* p = r.allocate(100, 8);
    std::memset(p, 1, 100);
    EXPECT_EQ(r.small_bytes(), 4096u);
    EXPECT_EQ(r.hugetlb_bytes() + r.advised_bytes(), 0u);
    r.deallocate(p, 100, 8);
}

TEST(page_resource, hugetlb_first_then_madvise_every_byte_accounted) {
    // Whatever this machine has reserved, each large allocation lands in one of
    // the two kinds, in whole 2 MiB pages.
    page_resource r(true);
    void* p = r.allocate(std::size_t{3} << 20, 64);
    std::memset(p, 0, std::size_t{3} << 20);
    EXPECT_EQ(r.hugetlb_bytes() + r.advised_bytes(), std::size_t{4} << 20);
    r.deallocate(p, std::size_t{3} << 20, 64);
}

TEST(page_resource, a_flow_table_lives_in_it) {
    page_resource r(false);
    {
        flow::flow_table t(1u << 16, &r);
        EXPECT_EQ(t.capacity(), 1u << 16);
    }
    EXPECT_GT(r.advised_bytes(), 0u);
}

TEST(describe_bytes, mib_gib_kib) {
    EXPECT_EQ(describe_bytes(std::size_t{1} << 30), "1 GiB");
    EXPECT_EQ(describe_bytes(std::size_t{36} << 20), "36 MiB");
    EXPECT_EQ(describe_bytes(4096), "4 KiB");
}

} // namespace
} // namespace egress::base
