#include "base/page_memory.hpp"

#include <sys/mman.h>

#include <charconv>
#include <fstream>
#include <new>
#include <sstream>

#include <fmt/format.h>

namespace egress::base {

namespace {

// The number after "key:" in /proc/meminfo (0 when absent).
uint64_t meminfo_value(std::string_view meminfo, std::string_view key) {
    for (std::size_t at = meminfo.find(key); at != std::string_view::npos; at = meminfo.find(key, at + 1)) {
        if (at != 0 && meminfo[at - 1] != '\n') continue;
        std::size_t p = at + key.size();
        if (p >= meminfo.size() || meminfo[p] != ':') continue;
        ++p;
        while (p < meminfo.size() && meminfo[p] == ' ') ++p;
        uint64_t v = 0;
        std::from_chars(meminfo.data() + p, meminfo.data() + meminfo.size(), v);
        return v;
    }
    return 0;
}

std::string read_text(const char* path) {
    std::ifstream f(path);
    std::ostringstream s;
    s << f.rdbuf();
    return s.str();
}

std::size_t round_up(std::size_t n, std::size_t to) { return (n + to - 1) / to * to; }

constexpr std::size_t small_page = 4096;

std::size_t mapped_length(std::size_t bytes) {
    return bytes >= page_resource::large ? round_up(bytes, page_resource::huge_page) : round_up(bytes, small_page);
}

void* map_anonymous(std::size_t length, int extra_flags) {
    void* p = ::mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | extra_flags, -1, 0);
    return p == MAP_FAILED ? nullptr : p;
}

// Anonymous memory starting on a 2 MiB boundary (so that every 2 MiB of it can
// be one transparent hugepage): map one page more and trim both ends.
void* map_aligned(std::size_t length) {
    auto* raw = static_cast<char*>(map_anonymous(length + page_resource::huge_page, 0));
    if (raw == nullptr) return nullptr;
    const auto addr = reinterpret_cast<uintptr_t>(raw);
    char* start = raw + (round_up(addr, page_resource::huge_page) - addr);
    if (start != raw) ::munmap(raw, static_cast<std::size_t>(start - raw));
    char* end = start + length;
    char* raw_end = raw + length + page_resource::huge_page;
    if (raw_end != end) ::munmap(end, static_cast<std::size_t>(raw_end - end));
    return start;
}

} // namespace

hugepage_status parse_hugepage_status(std::string_view meminfo, std::string_view mounts, std::string_view thp_enabled) {
    hugepage_status s;
    s.page_bytes = meminfo_value(meminfo, "Hugepagesize") * 1024;
    s.total_pages = meminfo_value(meminfo, "HugePages_Total");
    const uint64_t free = meminfo_value(meminfo, "HugePages_Free");
    const uint64_t reserved = meminfo_value(meminfo, "HugePages_Rsvd");
    s.free_pages = free > reserved ? free - reserved : 0;
    // /proc/mounts: "<source> <mount point> <type> ...": a field " hugetlbfs ".
    s.mounted = mounts.find(" hugetlbfs ") != std::string_view::npos;
    // The mode in force is the one in brackets.
    const std::size_t open = thp_enabled.find('[');
    const std::size_t close = thp_enabled.find(']', open == std::string_view::npos ? 0 : open);
    if (open != std::string_view::npos && close != std::string_view::npos)
        s.thp_mode = std::string(thp_enabled.substr(open + 1, close - open - 1));
    return s;
}

hugepage_status read_hugepage_status() {
    return parse_hugepage_status(read_text("/proc/meminfo"), read_text("/proc/mounts"),
                                 read_text("/sys/kernel/mm/transparent_hugepage/enabled"));
}

void* page_resource::do_allocate(std::size_t bytes, std::size_t alignment) {
    if (alignment > huge_page) throw std::bad_alloc();
    const std::size_t length = mapped_length(bytes == 0 ? 1 : bytes);
    if (bytes < large) {
        void* p = map_anonymous(length, 0);
        if (p == nullptr) throw std::bad_alloc();
        small_bytes_ += length;
        return p;
    }
    if (use_hugetlb_) {
        // MAP_HUGE_2MB: 2 MiB pages whatever the default hugepage size, so the
        // length (whole 2 MiB pages) is what munmap takes back.
        if (void* p = map_anonymous(length, MAP_HUGETLB | (21 << MAP_HUGE_SHIFT))) {
            hugetlb_bytes_ += length;
            return p;
        }
    }
    void* p = map_aligned(length);
    if (p == nullptr) throw std::bad_alloc();
    ::madvise(p, length, MADV_HUGEPAGE); // advice only: no THP support is not an error
    advised_bytes_ += length;
    return p;
}

void page_resource::do_deallocate(void* p, std::size_t bytes, std::size_t) {
    ::munmap(p, mapped_length(bytes == 0 ? 1 : bytes));
}

std::string describe_bytes(uint64_t bytes) {
    if (bytes >= (uint64_t{1} << 30) && bytes % (uint64_t{1} << 30) == 0) return fmt::format("{} GiB", bytes >> 30);
    if (bytes >= (uint64_t{1} << 20)) return fmt::format("{} MiB", (bytes + (uint64_t{1} << 19)) >> 20);
    return fmt::format("{} KiB", (bytes + 512) >> 10);
}

} // namespace egress::base
