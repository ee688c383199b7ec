// Memory for the big tables (the flow table above all) in the largest pages the
// machine gives: reserved hugepages (MAP_HUGETLB) when there are enough free,
// else ordinary anonymous memory marked madvise(MADV_HUGEPAGE), which transparent
// hugepages in "madvise" mode back with 2 MiB pages when they can. A table of a
// million flows spans ~100 MiB: in 4 KiB pages every lookup misses the TLB.
// Also what the machine has reserved (/proc/meminfo, /proc/mounts), for
// choosing between hugepages and --no-huge at start-up. DPDK-free.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory_resource>
#include <string>
#include <string_view>

namespace egress::base {

// The hugepages of the default size and transparent hugepages, as the kernel
// reports them.
struct hugepage_status {
    uint64_t page_bytes = 0;  // Hugepagesize (0: the kernel has no hugetlb)
    uint64_t total_pages = 0; // HugePages_Total
    uint64_t free_pages = 0;  // HugePages_Free less HugePages_Rsvd (taken by mappings not yet touched)
    bool mounted = false;     // a hugetlbfs is mounted (what DPDK's file-backed mode needs)
    std::string thp_mode;     // transparent hugepages: "always", "madvise", "never" or "" (unknown)

    uint64_t free_bytes() const noexcept { return free_pages * page_bytes; }
};

// From the text of /proc/meminfo, /proc/mounts and
// /sys/kernel/mm/transparent_hugepage/enabled ("always [madvise] never").
hugepage_status parse_hugepage_status(std::string_view meminfo, std::string_view mounts, std::string_view thp_enabled);
// The same, read from this machine (files that cannot be read count as empty).
hugepage_status read_hugepage_status();

// A std::pmr::memory_resource of whole pages, each allocation its own mapping
// (for a few big arrays, allocated once: not a general-purpose allocator). An
// allocation of at least `large` bytes is rounded up to whole 2 MiB pages and,
// with use_hugetlb, first tried in reserved hugepages (reserved at mmap time, so
// no fault later); what does not fit there, or every one without use_hugetlb,
// is anonymous memory aligned to 2 MiB with madvise(MADV_HUGEPAGE). Smaller ones
// are plain 4 KiB pages (a 2 MiB page for a table of 64 flows would be waste).
// Throws std::bad_alloc when mmap fails. The counters say what was got.
class page_resource final : public std::pmr::memory_resource {
public:
    static constexpr std::size_t huge_page = std::size_t{2} << 20;
    static constexpr std::size_t large = std::size_t{1} << 20;

    explicit page_resource(bool use_hugetlb) noexcept : use_hugetlb_(use_hugetlb) {}

    uint64_t hugetlb_bytes() const noexcept { return hugetlb_bytes_; }   // in reserved hugepages
    uint64_t advised_bytes() const noexcept { return advised_bytes_; }   // madvise(MADV_HUGEPAGE) memory
    uint64_t small_bytes() const noexcept { return small_bytes_; }       // allocations under `large`
    bool tried_hugetlb() const noexcept { return use_hugetlb_; }

private:
    void* do_allocate(std::size_t bytes, std::size_t alignment) override;
    void do_deallocate(void* p, std::size_t bytes, std::size_t alignment) override;
    bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override { return this == &other; }

    bool use_hugetlb_;
    uint64_t hugetlb_bytes_ = 0;
    uint64_t advised_bytes_ = 0;
    uint64_t small_bytes_ = 0;
};

// "36 MiB" / "512 KiB": a byte count for the start-up line.
std::string describe_bytes(uint64_t bytes);

} // namespace egress::base
