#include "eal_args.hpp"

#include <unistd.h>

#include <fmt/format.h>

namespace egress::dataplane {

memory_choice choose_memory(const config::eal_settings& eal, const base::hugepage_status& machine) {
    using config::hugepages_mode;
    if (eal.hugepages == hugepages_mode::on) return {true, "eal.hugepages = \"on\""};
    if (eal.hugepages == hugepages_mode::off) return {false, "eal.hugepages = \"off\""};
    if (machine.total_pages == 0) return {false, "no hugepages reserved"};
    if (!machine.mounted) return {false, "no hugetlbfs mounted"};
    const uint64_t wanted = uint64_t{eal.memory_mb} << 20;
    if (machine.free_bytes() < wanted)
        return {false, fmt::format("{} of hugepages free, eal.memory_mb wants {}",
                                   base::describe_bytes(machine.free_bytes()), base::describe_bytes(wanted))};
    return {true, fmt::format("{} of hugepages free", base::describe_bytes(machine.free_bytes()))};
}

std::vector<std::string> make_eal_args(const config::eal_settings& eal, bool hugepages) {
    const bool no_huge = !hugepages;
    // A list with lcore-to-CPU mappings ("(0-4)@(0,1)") is EAL's --lcores form.
    const bool mapped = eal.lcores.find_first_of("@(") != std::string::npos;
    std::vector<std::string> args{"egressd", mapped ? "--lcores" : "-l", eal.lcores, "--log-level", eal.log_level};
    if (no_huge) args.emplace_back("--no-huge");
    args.emplace_back("-m");
    args.emplace_back(std::to_string(eal.memory_mb));
    if ((eal.in_memory || eal.file_prefix.empty()) && no_huge) {
        // EAL refuses --in-memory with --no-huge (which implies legacy memory);
        // no shared config files and a per-process prefix give the same isolation.
        args.emplace_back("--no-shconf");
        args.emplace_back("--file-prefix");
        args.emplace_back("egressd-" + std::to_string(::getpid()));
    } else if (eal.in_memory || eal.file_prefix.empty()) {
        args.emplace_back("--in-memory");
    } else {
        args.emplace_back("--file-prefix");
        args.emplace_back(eal.file_prefix);
    }
    for (const auto& v : eal.vdevs) {
        args.emplace_back("--vdev");
        args.emplace_back(v);
    }
    if (eal.allow_pci.empty()) {
        args.emplace_back("--no-pci");
    } else {
        for (const auto& a : eal.allow_pci) {
            args.emplace_back("-a");
            args.emplace_back(a);
        }
    }
    for (const auto& e : eal.extra_args) args.push_back(e);
    return args;
}

} // namespace egress::dataplane
