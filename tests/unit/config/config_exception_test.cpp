// [inside] / [outside] exception path keys (controlplane/config_exception.cpp):
// values read, defaults, and the exact error texts.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "config.hpp"
#include "net/packet_view.hpp"

namespace {

using egress::config::load_config_string;
using egress::config::load_result;

load_result load(const std::string& inside_extra, const std::string& outside_extra) {
    const std::string text = "[eal]\nvdevs = [\"net_pcap0,iface=a\", \"net_pcap1,iface=b\"]\n\n"
                             "[inside]\ndevice = \"net_pcap0\"\nnext_hop_mac = \"02:00:00:00:01:01\"\n"
                             "addresses = [\"10.0.0.1/24\"]\n" +
                             inside_extra +
                             "\n[outside]\ndevice = \"net_pcap1\"\nnext_hop_mac = \"02:00:00:00:02:01\"\n"
                             "addresses = [\"192.0.2.1/24\"]\n" +
                             outside_extra + "\n[nat]\npool = [\"203.0.113.10\"]\n";
    return load_config_string(text, "t.toml");
}

std::vector<std::string> errors_of(const std::string& inside_extra, const std::string& outside_extra) {
    const load_result r = load(inside_extra, outside_extra);
    std::vector<std::string> out;
    for (const auto& e : r.errors) out.push_back(e.to_string());
    return out;
}

TEST(config_exception, absent_by_default) {
    const load_result r = load("", "");
    ASSERT_TRUE(r.errors.empty()) << egress::config::format_errors(r.errors);
    EXPECT_EQ(r.config->outside_port.exception_interface, "");
    EXPECT_FALSE(r.config->gateway.outside.exception.enabled);
    EXPECT_FALSE(r.config->gateway.inside.exception.enabled);
    EXPECT_EQ(r.config->gateway.outside.exception.rate, 1000u);
    EXPECT_EQ(r.config->gateway.outside.exception.burst, 100u);
}

TEST(config_exception, keys_read) {
    const load_result r = load("exception_interface = \"egx-in0\"\n",
                               "exception_interface = \"egx-out0\"\n"
                               "exception_ports = [\"tcp/22\", \"udp/161\", \"tcp/22\"]\n"
                               "exception_rate = 50\nexception_burst = 10\n");
    ASSERT_TRUE(r.errors.empty()) << egress::config::format_errors(r.errors);
    const auto& c = *r.config;
    EXPECT_EQ(c.inside_port.exception_interface, "egx-in0");
    EXPECT_TRUE(c.gateway.inside.exception.enabled);
    EXPECT_TRUE(c.gateway.inside.exception.ports.empty());
    EXPECT_EQ(c.outside_port.exception_interface, "egx-out0");
    const auto& e = c.gateway.outside.exception;
    EXPECT_TRUE(e.enabled);
    using egress::gateway::exception_port;
    EXPECT_EQ(e.ports, (std::vector<exception_port>{{egress::net::proto_tcp, 22}, {egress::net::proto_udp, 161}}));
    EXPECT_EQ(e.rate, 50u);
    EXPECT_EQ(e.burst, 10u);
}

TEST(config_exception, errors) {
    EXPECT_EQ(errors_of("", "exception_interface = \"a very long name\"\nexception_ports = [\"tcp/0\", \"sctp/5\", "
                            "\"udp/65536\", \"tcp/22x\", 7]\nexception_rate = 0\nexception_burst = 100001\n"),
              (std::vector<std::string>{
                  "t.toml:13:23: outside.exception_interface: expected a kernel interface name of 1 to 15 letters, "
                  "digits, \"-\", \"_\" or \".\" like \"egx-out0\", got \"a very long name\"",
                  "t.toml:14:19: outside.exception_ports: expected outside.exception_interface to be set (the ports "
                  "go to that interface), got none",
                  "t.toml:14:20: outside.exception_ports[0]: expected \"tcp/PORT\" or \"udp/PORT\" with PORT "
                  "1..65535, like \"tcp/22\", got \"tcp/0\"",
                  "t.toml:14:29: outside.exception_ports[1]: expected \"tcp/PORT\" or \"udp/PORT\" with PORT "
                  "1..65535, like \"tcp/22\", got \"sctp/5\"",
                  "t.toml:14:39: outside.exception_ports[2]: expected \"tcp/PORT\" or \"udp/PORT\" with PORT "
                  "1..65535, like \"tcp/22\", got \"udp/65536\"",
                  "t.toml:14:52: outside.exception_ports[3]: expected \"tcp/PORT\" or \"udp/PORT\" with PORT "
                  "1..65535, like \"tcp/22\", got \"tcp/22x\"",
                  "t.toml:14:63: outside.exception_ports[4]: expected \"tcp/PORT\" or \"udp/PORT\" with PORT "
                  "1..65535, like \"tcp/22\", got an integer",
                  "t.toml:15:18: outside.exception_rate: expected an integer in 1..1000000, got 0",
                  "t.toml:16:19: outside.exception_burst: expected an integer in 1..100000, got 100001",
              }));
    EXPECT_EQ(errors_of("vlan = 100\nexception_interface = \"egx-in0\"\n", "exception_interface = \"egx-in0\"\n"),
              (std::vector<std::string>{
                  "t.toml:9:23: inside.exception_interface: expected a side without inside.vlan (the exception "
                  "path is untagged), got vlan 100",
                  "t.toml:15:23: outside.exception_interface: expected a name other than "
                  "inside.exception_interface, got \"egx-in0\"",
              }));
}

} // namespace
