// dataplane::choose_memory and make_eal_args: hugepages where the machine has
// them reserved and mounted, --no-huge otherwise, exactly the EAL flags each way.
#include <gtest/gtest.h>

#include "eal_args.hpp"

namespace {

using egress::base::hugepage_status;
using egress::config::eal_settings;
using egress::config::hugepages_mode;
using egress::dataplane::choose_memory;
using egress::dataplane::make_eal_args;

hugepage_status machine(uint64_t total, uint64_t free, bool mounted) {
    hugepage_status m;
    m.page_bytes = 2 << 20;
    m.total_pages = total;
    m.free_pages = free;
    m.mounted = mounted;
    return m;
}

eal_settings eal(hugepages_mode mode, uint32_t memory_mb = 512) {
    eal_settings e;
    e.hugepages = mode;
    e.memory_mb = memory_mb;
    e.file_prefix = "t";
    e.vdevs = {"net_af_xdp0,iface=a"};
    return e;
}

TEST(choose_memory, auto_takes_hugepages_when_enough_are_free_and_mounted) {
    const auto c = choose_memory(eal(hugepages_mode::automatic), machine(512, 512, true));
    EXPECT_TRUE(c.hugepages);
    EXPECT_EQ(c.reason, "1 GiB of hugepages free");
}

TEST(choose_memory, auto_falls_back_to_no_huge_and_says_why) {
    const auto none = choose_memory(eal(hugepages_mode::automatic), machine(0, 0, true));
    EXPECT_FALSE(none.hugepages);
    EXPECT_EQ(none.reason, "no hugepages reserved");
    const auto unmounted = choose_memory(eal(hugepages_mode::automatic), machine(512, 512, false));
    EXPECT_FALSE(unmounted.hugepages);
    EXPECT_EQ(unmounted.reason, "no hugetlbfs mounted");
    const auto few = choose_memory(eal(hugepages_mode::automatic), machine(512, 100, true));
    EXPECT_FALSE(few.hugepages);
    EXPECT_EQ(few.reason, "200 MiB of hugepages free, eal.memory_mb wants 512 MiB");
}

TEST(choose_memory, on_and_off_do_not_look_at_the_machine) {
    EXPECT_TRUE(choose_memory(eal(hugepages_mode::on), machine(0, 0, false)).hugepages);
    EXPECT_EQ(choose_memory(eal(hugepages_mode::on), machine(0, 0, false)).reason, "eal.hugepages = \"on\"");
    EXPECT_FALSE(choose_memory(eal(hugepages_mode::off), machine(512, 512, true)).hugepages);
    EXPECT_EQ(choose_memory(eal(hugepages_mode::off), machine(512, 512, true)).reason, "eal.hugepages = \"off\"");
}

TEST(make_eal_args, hugepages_or_no_huge) {
    const auto e = eal(hugepages_mode::automatic, 256);
    EXPECT_EQ(make_eal_args(e, true), (std::vector<std::string>{"egressd", "-l", "0", "--log-level", "notice", "-m",
                                                                "256", "--file-prefix", "t", "--vdev",
                                                                "net_af_xdp0,iface=a", "--no-pci"}));
    EXPECT_EQ(make_eal_args(e, false), (std::vector<std::string>{"egressd", "-l", "0", "--log-level", "notice",
                                                                 "--no-huge", "-m", "256", "--file-prefix", "t",
                                                                 "--vdev", "net_af_xdp0,iface=a", "--no-pci"}));
}

TEST(make_eal_args, in_memory_with_hugepages_is_in_memory) {
    auto e = eal(hugepages_mode::automatic, 256);
    e.in_memory = true;
    const auto args = make_eal_args(e, true);
    EXPECT_NE(std::find(args.begin(), args.end(), "--in-memory"), args.end());
    EXPECT_EQ(std::find(args.begin(), args.end(), "--no-huge"), args.end());
}

} // namespace
