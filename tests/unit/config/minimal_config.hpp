// The smallest valid egressd document (only required tables and keys), shared
// by the config tests: each adds the table it is about.
#pragma once

#include <string_view>

namespace egress::config::test {

inline constexpr std::string_view minimal_config = R"([eal]
vdevs = ["net_pcap0,iface=a", "net_pcap1,iface=b"]

[inside]
device = "net_pcap0"
next_hop_mac = "02:00:00:00:01:01"
addresses = ["10.0.0.1", "fd00:0:0:1::1"]

[outside]
device = "net_pcap1"
next_hop_mac = "02:00:00:00:02:01"
addresses = ["192.0.2.1"]

[nat]
pool = ["203.0.113.10"]
)";

} // namespace egress::config::test
