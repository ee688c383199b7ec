// dataplane/port_link: which kernel interface a vdev reads (no EAL).
#include "port_link.hpp"

#include <gtest/gtest.h>

namespace egress::dataplane {
namespace {

TEST(port_link, the_iface_argument_of_the_named_vdev) {
    const std::vector<std::string> vdevs{"net_af_packet0,iface=inside,qpairs=2",
                                         "net_af_xdp1,start_queue=0,iface=eth2,queue_count=1",
                                         "net_pcap2,rx_pcap=in.pcap,tx_pcap=out.pcap", "net_tap3"};
    EXPECT_EQ(kernel_interface(vdevs, "net_af_packet0"), "inside");
    EXPECT_EQ(kernel_interface(vdevs, "net_af_xdp1"), "eth2");
    EXPECT_EQ(kernel_interface(vdevs, "net_pcap2"), "");
    EXPECT_EQ(kernel_interface(vdevs, "net_tap3"), "");
    EXPECT_EQ(kernel_interface(vdevs, "net_af_packet"), "");   // a prefix is not the name
    EXPECT_EQ(kernel_interface(vdevs, "0000:03:00.0"), "");    // a PCI device
}

} // namespace
} // namespace egress::dataplane
