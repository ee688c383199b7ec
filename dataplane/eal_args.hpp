// Turns the [eal] settings of the config into an EAL argument vector. Keeping the
// mapping in one place means switching pcap vdevs for af_packet, AF_XDP or a PCI
// NIC is a config change only. Also where hugepages are chosen or not.
#pragma once

#include <string>
#include <vector>

#include "base/page_memory.hpp"
#include "config.hpp"

namespace egress::dataplane {

// Hugepages or --no-huge for this run, and why (said at start-up).
struct memory_choice {
    bool hugepages = false;
    std::string reason; // "eal.hugepages = \"off\"", "no hugepages reserved", ...
};

// eal.hugepages "on" / "off" decide; "auto" takes hugepages when hugetlbfs is
// mounted and at least memory_mb of them are free (EAL reserves -m at start and
// fails when it cannot), else --no-huge.
memory_choice choose_memory(const config::eal_settings& eal, const base::hugepage_status& machine);

std::vector<std::string> make_eal_args(const config::eal_settings& eal, bool hugepages);

} // namespace egress::dataplane
