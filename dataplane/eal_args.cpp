#include "eal_args.hpp"

#include <unistd.h>

namespace egress::dataplane {

std::vector<std::string> make_eal_args(const config::eal_settings& eal) {
    // A list with lcore-to-CPU mappings ("(0-4)@(0,1)") is EAL's --lcores form.
    const bool mapped = eal.lcores.find_first_of("@(") != std::string::npos;
    std::vector<std::string> args{"egressd", mapped ? "--lcores" : "-l", eal.lcores, "--log-level", eal.log_level};
    if (eal.no_huge) args.emplace_back("--no-huge");
    args.emplace_back("-m");
    args.emplace_back(std::to_string(eal.memory_mb));
    if ((eal.in_memory || eal.file_prefix.empty()) && eal.no_huge) {
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
