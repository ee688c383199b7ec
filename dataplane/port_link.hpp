// Whether a port's link is up, for [health] (controlplane/health.hpp). DPDK's
// af_packet and af_xdp PMDs report their link up from the start whatever
// happens to the kernel interface they read (a veth whose peer went down, a
// cable pulled): for a vdev bound to a kernel interface (iface=NAME) the
// kernel's view decides (IFF_RUNNING: up and carrier), asked in egressd's own
// network namespace; for the other devices, DPDK's link status.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace egress::dataplane {

// The iface= argument of the vdev named device in vdevs ("" when it has none).
std::string kernel_interface(const std::vector<std::string>& vdevs, std::string_view device);

// The kernel interface's IFF_RUNNING when there is one (down when it no
// longer exists), else rte_eth_link_get_nowait's status.
bool link_up(uint16_t port_id, const std::string& kernel_iface);

} // namespace egress::dataplane
