// Turns the [eal] settings of the config into an EAL argument vector. Keeping the
// mapping in one place means switching pcap vdevs for af_packet or a PCI NIC is a
// config change only.
#pragma once

#include <string>
#include <vector>

#include "config.hpp"

namespace egress::dataplane {

std::vector<std::string> make_eal_args(const config::eal_settings& eal);

} // namespace egress::dataplane
