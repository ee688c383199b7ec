// controlplane/config: TOML -> egressd_config, and the exact error texts users see.
#include <cstdlib>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "config.hpp"
#include "minimal_config.hpp"

namespace {

using egress::config::config_error;
using egress::config::egressd_config;
using egress::config::load_config_file;
using egress::config::hugepages_mode;
using egress::config::load_config_string;
using egress::config::load_result;
using egress::net::ip_address;
using egress::net::mac_address;

std::vector<std::string> errors_of(std::string_view text) {
    const load_result r = load_config_string(text, "t.toml");
    std::vector<std::string> out;
    for (const auto& e : r.errors) out.push_back(e.to_string());
    EXPECT_EQ(r.config.has_value(), r.errors.empty());
    return out;
}

egressd_config valid(std::string_view text) {
    load_result r = load_config_string(text, "t.toml");
    EXPECT_TRUE(r.errors.empty()) << egress::config::format_errors(r.errors);
    EXPECT_TRUE(r.config.has_value());
    return r.config.value_or(egressd_config{});
}

ip_address ip(std::string_view s) { return ip_address::parse(s).value(); }
mac_address mac(std::string_view s) { return mac_address::parse(s).value(); }

constexpr std::string_view minimal = egress::config::test::minimal_config;

// ---------------------------------------------------------------------------
// Valid documents

TEST(config, minimal_document_takes_the_defaults) {
    const egressd_config c = valid(minimal);
    EXPECT_EQ(c.source_path, "t.toml");

    EXPECT_EQ(c.eal.lcores, "0");
    EXPECT_EQ(c.eal.hugepages, hugepages_mode::automatic);
    EXPECT_EQ(c.eal.memory_mb, 512u);
    EXPECT_EQ(c.eal.vdevs, (std::vector<std::string>{"net_pcap0,iface=a", "net_pcap1,iface=b"}));
    EXPECT_TRUE(c.eal.allow_pci.empty());
    EXPECT_EQ(c.eal.file_prefix, "egressd");
    EXPECT_FALSE(c.eal.in_memory);
    EXPECT_EQ(c.eal.log_level, "notice");
    EXPECT_TRUE(c.eal.extra_args.empty());

    EXPECT_EQ(c.inside_port.device, "net_pcap0");
    EXPECT_FALSE(c.inside_port.mac.has_value());
    EXPECT_EQ(c.inside_port.rx_descriptors, 1024);
    EXPECT_EQ(c.inside_port.tx_descriptors, 1024);
    EXPECT_EQ(c.outside_port.device, "net_pcap1");
    EXPECT_EQ(c.gateway.inside.mac, mac_address{}); // filled from the NIC later
    EXPECT_EQ(c.gateway.inside.next_hop_mac, mac("02:00:00:00:01:01"));
    EXPECT_EQ(c.gateway.inside.addresses, (std::vector<ip_address>{ip("10.0.0.1"), ip("fd00:0:0:1::1")}));
    EXPECT_EQ(c.gateway.outside.next_hop_mac, mac("02:00:00:00:02:01"));
    EXPECT_EQ(c.gateway.outside.addresses, (std::vector<ip_address>{ip("192.0.2.1")}));

    EXPECT_EQ(c.gateway.pool.addresses, (std::vector<ip_address>{ip("203.0.113.10")}));
    EXPECT_EQ(c.gateway.pool.port_min, 1024);
    EXPECT_EQ(c.gateway.pool.port_max, 65535);
    EXPECT_EQ(c.gateway.max_flows, 1048576u);
    EXPECT_FALSE(c.gateway.accept_any_dst_mac);

    const egress::flow::timeouts defaults;
    EXPECT_EQ(c.gateway.timeouts.tcp_syn_sent_ms, defaults.tcp_syn_sent_ms);
    EXPECT_EQ(c.gateway.timeouts.tcp_syn_received_ms, defaults.tcp_syn_received_ms);
    EXPECT_EQ(c.gateway.timeouts.tcp_established_ms, defaults.tcp_established_ms);
    EXPECT_EQ(c.gateway.timeouts.tcp_closing_ms, defaults.tcp_closing_ms);
    EXPECT_EQ(c.gateway.timeouts.tcp_time_wait_ms, defaults.tcp_time_wait_ms);
    EXPECT_EQ(c.gateway.timeouts.tcp_closed_ms, defaults.tcp_closed_ms);
    EXPECT_EQ(c.gateway.timeouts.udp_ms, defaults.udp_ms);
    EXPECT_EQ(c.gateway.timeouts.icmp_ms, defaults.icmp_ms);

    EXPECT_FALSE(c.run.stop_when_drained);
    EXPECT_EQ(c.run.drain_idle_ms, 200u);
    EXPECT_FALSE(c.run.replay_in_timestamp_order);
    EXPECT_EQ(c.run.burst_size, 32u);
    EXPECT_EQ(c.run.mbufs, 8191u);
}

TEST(config, full_document_maps_every_key) {
    const egressd_config c = valid(R"(
[eal]
lcores = "0-1"
no_huge = false
memory_mb = 2048
vdevs = []
allow_pci = ["0000:03:00.0", "03:00.1,txq_inline=128"]
file_prefix = "gw1"
in_memory = false
log_level = "pmd.net.pcap:debug"
extra_args = ["--log-level", "lib.eal:debug"]

[inside]
device = "0000:03:00.0"
mac = "02:00:00:00:01:FE"
next_hop_mac = "02:00:00:00:01:01"
addresses = ["10.0.0.1", "fd00:0:0:1::1"]
rx_descriptors = 2048
tx_descriptors = 512

[outside]
device = "0000:03:00.1"
mac = "02:00:00:00:02:fe"
next_hop_mac = "02:00:00:00:02:01"
addresses = ["192.0.2.1", "2001:db8::1"]
rx_descriptors = 4096
tx_descriptors = 256

[nat]
pool = ["203.0.113.10", "203.0.113.11"]
port_min = 2000
port_max = 3000

[flows]
max_flows = 5000

[timeouts]
tcp_syn_sent = 1
tcp_syn_received = 2
tcp_established = 3
tcp_closing = 4
tcp_time_wait = 5
tcp_closed = 6
udp = 7
icmp = 4294967
allow_below_rfc = true

[run]
stop_when_drained = true
drain_idle_ms = 50
replay_in_timestamp_order = true
burst_size = 512
mbufs = 65535
accept_any_dst_mac = true
)");
    EXPECT_EQ(c.eal.lcores, "0-1");
    EXPECT_EQ(c.eal.hugepages, hugepages_mode::on);
    EXPECT_EQ(c.eal.memory_mb, 2048u);
    EXPECT_TRUE(c.eal.vdevs.empty());
    EXPECT_EQ(c.eal.allow_pci, (std::vector<std::string>{"0000:03:00.0", "03:00.1,txq_inline=128"}));
    EXPECT_EQ(c.eal.file_prefix, "gw1");
    EXPECT_FALSE(c.eal.in_memory);
    EXPECT_EQ(c.eal.log_level, "pmd.net.pcap:debug");
    EXPECT_EQ(c.eal.extra_args, (std::vector<std::string>{"--log-level", "lib.eal:debug"}));

    EXPECT_EQ(c.inside_port.device, "0000:03:00.0");
    EXPECT_EQ(c.inside_port.mac, mac("02:00:00:00:01:fe"));
    EXPECT_EQ(c.inside_port.rx_descriptors, 2048);
    EXPECT_EQ(c.inside_port.tx_descriptors, 512);
    EXPECT_EQ(c.outside_port.device, "0000:03:00.1");
    EXPECT_EQ(c.outside_port.mac, mac("02:00:00:00:02:fe"));
    EXPECT_EQ(c.outside_port.rx_descriptors, 4096);
    EXPECT_EQ(c.outside_port.tx_descriptors, 256);

    EXPECT_EQ(c.gateway.inside.mac, mac("02:00:00:00:01:fe"));
    EXPECT_EQ(c.gateway.inside.next_hop_mac, mac("02:00:00:00:01:01"));
    EXPECT_EQ(c.gateway.outside.mac, mac("02:00:00:00:02:fe"));
    EXPECT_EQ(c.gateway.outside.next_hop_mac, mac("02:00:00:00:02:01"));
    EXPECT_EQ(c.gateway.outside.addresses, (std::vector<ip_address>{ip("192.0.2.1"), ip("2001:db8::1")}));
    EXPECT_EQ(c.gateway.pool.addresses, (std::vector<ip_address>{ip("203.0.113.10"), ip("203.0.113.11")}));
    EXPECT_EQ(c.gateway.pool.port_min, 2000);
    EXPECT_EQ(c.gateway.pool.port_max, 3000);
    EXPECT_EQ(c.gateway.max_flows, 5000u);
    EXPECT_TRUE(c.gateway.accept_any_dst_mac);

    EXPECT_EQ(c.gateway.timeouts.tcp_syn_sent_ms, 1000u);
    EXPECT_EQ(c.gateway.timeouts.tcp_syn_received_ms, 2000u);
    EXPECT_EQ(c.gateway.timeouts.tcp_established_ms, 3000u);
    EXPECT_EQ(c.gateway.timeouts.tcp_closing_ms, 4000u);
    EXPECT_EQ(c.gateway.timeouts.tcp_time_wait_ms, 5000u);
    EXPECT_EQ(c.gateway.timeouts.tcp_closed_ms, 6000u);
    EXPECT_EQ(c.gateway.timeouts.udp_ms, 7000u);
    EXPECT_EQ(c.gateway.timeouts.icmp_ms, 4294967000u);

    EXPECT_TRUE(c.run.stop_when_drained);
    EXPECT_EQ(c.run.drain_idle_ms, 50u);
    EXPECT_TRUE(c.run.replay_in_timestamp_order);
    EXPECT_EQ(c.run.burst_size, 512u);
    EXPECT_EQ(c.run.mbufs, 65535u);
}

TEST(config, empty_file_prefix_means_in_memory) {
    std::string text(minimal);
    text.insert(text.find("vdevs"), "file_prefix = \"\"\n");
    const egressd_config c = valid(text);
    EXPECT_EQ(c.eal.file_prefix, "");
    EXPECT_TRUE(c.eal.in_memory);
}

// Hugepages by default where they are reserved; no_huge is the older spelling of
// "off" / "on"; hugepages, when both are given, decides.
TEST(config, hugepages_modes) {
    const auto mode_of = [](std::string_view keys) {
        std::string text(minimal);
        text.insert(text.find("vdevs"), keys);
        return valid(text).eal.hugepages;
    };
    EXPECT_EQ(mode_of(""), hugepages_mode::automatic);
    EXPECT_EQ(mode_of("hugepages = \"auto\"\n"), hugepages_mode::automatic);
    EXPECT_EQ(mode_of("hugepages = \"on\"\n"), hugepages_mode::on);
    EXPECT_EQ(mode_of("hugepages = \"off\"\n"), hugepages_mode::off);
    EXPECT_EQ(mode_of("no_huge = true\n"), hugepages_mode::off);
    EXPECT_EQ(mode_of("no_huge = false\n"), hugepages_mode::on);
    EXPECT_EQ(mode_of("no_huge = true\nhugepages = \"auto\"\n"), hugepages_mode::automatic);
}

TEST(config_errors, hugepages_mode_is_one_of_three) {
    std::string text(minimal);
    text.insert(text.find("vdevs"), "hugepages = \"yes\"\n");
    EXPECT_EQ(errors_of(text), (std::vector<std::string>{
                                   "t.toml:2:13: eal.hugepages: expected \"auto\", \"on\" or \"off\", got \"yes\"",
                               }));
}

TEST(config, reference_config_loads) {
    const char* root = std::getenv("EGRESS_SOURCE_ROOT");
    ASSERT_NE(root, nullptr) << "run through meson test (EGRESS_SOURCE_ROOT)";
    const std::string path = std::string(root) + "/conf/egressd.toml";
    const load_result r = load_config_file(path);
    ASSERT_TRUE(r.errors.empty()) << egress::config::format_errors(r.errors);
    ASSERT_TRUE(r.config.has_value());
    const egressd_config& c = *r.config;
    EXPECT_EQ(c.source_path, path);
    EXPECT_EQ(c.eal.vdevs.size(), 2u);
    EXPECT_EQ(c.eal.vdevs[0], "net_pcap0,rx_pcap=conf/demo/inside.pcap,tx_pcap=build/demo/inside-out.pcap");
    EXPECT_EQ(c.inside_port.device, "net_pcap0");
    EXPECT_EQ(c.outside_port.device, "net_pcap1");
    EXPECT_EQ(c.inside_port.mac, mac("02:00:00:00:01:fe"));
    EXPECT_EQ(c.outside_port.mac, mac("02:00:00:00:02:fe"));
    EXPECT_EQ(c.gateway.inside.next_hop_mac, mac("02:00:00:00:01:01"));
    EXPECT_EQ(c.gateway.outside.next_hop_mac, mac("02:00:00:00:02:01"));
    EXPECT_EQ(c.gateway.inside.addresses, (std::vector<ip_address>{ip("10.0.0.1"), ip("fd00:0:0:1::1")}));
    EXPECT_EQ(c.gateway.outside.addresses, (std::vector<ip_address>{ip("192.0.2.1"), ip("2001:db8::1")}));
    EXPECT_EQ(c.gateway.pool.addresses, (std::vector<ip_address>{ip("203.0.113.10"), ip("203.0.113.11")}));
    EXPECT_EQ(c.gateway.timeouts.tcp_established_ms, 7'440'000u);
    EXPECT_EQ(c.gateway.timeouts.udp_ms, 120'000u);
}

// ---------------------------------------------------------------------------
// Errors, whole text

TEST(config_errors, missing_file) {
    const load_result r = load_config_file("/nonexistent/egressd.toml");
    EXPECT_FALSE(r.config.has_value());
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(r.errors[0].line, 0u);
    EXPECT_EQ(r.errors[0].to_string(), "/nonexistent/egressd.toml: cannot open: No such file or directory");
}

TEST(config_errors, syntax_error_has_tomls_position_and_description) {
    EXPECT_EQ(errors_of("[inside]\ndevice = \"net_pcap0\"\nnext_hop_mac = \n"),
              (std::vector<std::string>{
                  "t.toml:3:16: syntax: Error while parsing key-value pair: expected value, saw '\\n'"}));
    EXPECT_EQ(errors_of("[nat]\nport_min = 1\nport_min = 2\n"),
              (std::vector<std::string>{
                  "t.toml:3:12: syntax: Error while parsing key-value pair: cannot redefine existing integer "
                  "'port_min'"}));
}

TEST(config_errors, unknown_key_with_suggestion) {
    std::string text(minimal);
    text.replace(text.find("next_hop_mac = \"02:00:00:00:01:01\""), 12, "nexthop_mac");
    EXPECT_EQ(errors_of(text), (std::vector<std::string>{
                                   "t.toml:6:1: inside.nexthop_mac: unknown key (did you mean next_hop_mac?)",
                               }));
}

TEST(config_errors, unknown_key_without_suggestion) {
    std::string text(minimal);
    text += "colour = \"blue\"\n";
    EXPECT_EQ(errors_of(text), (std::vector<std::string>{"t.toml:16:1: nat.colour: unknown key"}));
}

TEST(config_errors, suggestions_need_a_close_match) {
    std::string text(minimal);
    text += "pol = []\nmtu = 1500\n\n[timeouts]\nupd = 30\n";
    EXPECT_EQ(errors_of(text), (std::vector<std::string>{
                                   "t.toml:16:1: nat.pol: unknown key (did you mean pool?)",
                                   "t.toml:17:1: nat.mtu: unknown key",
                                   "t.toml:20:1: timeouts.upd: unknown key (did you mean udp?)",
                               }));
}

TEST(config_errors, unknown_table) {
    std::string text(minimal);
    text += "\n[timeout]\nudp = 30\n\n[logging]\nlevel = 1\n";
    EXPECT_EQ(errors_of(text), (std::vector<std::string>{
                                   "t.toml:17:1: timeout: unknown table (did you mean timeouts?)",
                                   "t.toml:20:1: logging: unknown table",
                               }));
}

TEST(config_errors, wrong_type) {
    std::string text(minimal);
    text += "\n[timeouts]\nudp = \"120\"\n\n[run]\nstop_when_drained = 1\nburst_size = 1.5\n";
    EXPECT_EQ(errors_of(text), (std::vector<std::string>{
                                   "t.toml:18:7: timeouts.udp: expected an integer number of seconds >= 1, got a string",
                                   "t.toml:21:21: run.stop_when_drained: expected a boolean (true or false), got an "
                                   "integer",
                                   "t.toml:22:14: run.burst_size: expected an integer in 1..512, got a float",
                               }));
}

TEST(config_errors, table_given_as_a_value) {
    std::string text(minimal);
    text.insert(0, "run = 5\n");
    EXPECT_EQ(errors_of(text), (std::vector<std::string>{"t.toml:1:7: run: expected a table, got an integer"}));
}

TEST(config_errors, out_of_range_integers) {
    std::string text(minimal);
    text += "port_min = 70000\n\n[timeouts]\ntcp_closed = 0\nicmp = 4294968\n\n[flows]\nmax_flows = -1\n";
    EXPECT_EQ(errors_of(text), (std::vector<std::string>{
                                   "t.toml:16:12: nat.port_min: expected an integer in 1..65535, got 70000",
                                   "t.toml:19:14: timeouts.tcp_closed: expected an integer number of seconds >= 1, "
                                   "got 0",
                                   "t.toml:20:8: timeouts.icmp: expected an integer number of seconds <= 4294967, "
                                   "got 4294968",
                                   "t.toml:23:13: flows.max_flows: expected an integer in 1..100000000, got -1",
                               }));
}

TEST(config_errors, bad_mac) {
    std::string text(minimal);
    text.replace(text.find("\"02:00:00:00:01:01\""), 19, "\"zz\"");
    text.insert(text.find("next_hop_mac = \"02:00:00:00:02:01\""), "mac = \"01:00:5e:00:00:01\"\n");
    EXPECT_EQ(errors_of(text),
              (std::vector<std::string>{
                  "t.toml:6:16: inside.next_hop_mac: expected a MAC address like 02:00:00:00:00:01, got \"zz\"",
                  "t.toml:11:7: outside.mac: expected a unicast, non-zero MAC address, got \"01:00:5e:00:00:01\"",
              }));
}

TEST(config_errors, bad_ip_address) {
    std::string text(minimal);
    text.replace(text.find("\"10.0.0.1\""), 10, "\"10.0.0.256\"");
    text.replace(text.find("[\"192.0.2.1\"]"), 13, "[\"192.0.2.1\", 7]");
    EXPECT_EQ(errors_of(text),
              (std::vector<std::string>{
                  "t.toml:7:14: inside.addresses[0]: expected an IPv4 or IPv6 address with an optional prefix "
                  "length like \"10.0.0.1/24\", got \"10.0.0.256\"",
                  "t.toml:12:27: outside.addresses[1]: expected an IPv4 or IPv6 address with an optional prefix "
                  "length like \"10.0.0.1/24\", got an integer",
              }));
}

TEST(config_errors, ipv6_address_in_pool) {
    std::string text(minimal);
    text.replace(text.find("pool = [\"203.0.113.10\"]"), 23, "pool = [\"203.0.113.10\", \"fd00::5\"]");
    EXPECT_EQ(errors_of(text), (std::vector<std::string>{
                                   "t.toml:15:25: nat.pool[1]: expected an IPv4 address, got \"fd00::5\"",
                               }));
}

TEST(config_errors, duplicate_pool_address) {
    std::string text(minimal);
    text.replace(text.find("pool = [\"203.0.113.10\"]"), 23,
                 "pool = [\"203.0.113.10\", \"203.0.113.11\", \"203.0.113.10\"]");
    EXPECT_EQ(errors_of(text), (std::vector<std::string>{
                                   "t.toml:15:41: nat.pool[2]: expected a distinct address, got \"203.0.113.10\" "
                                   "again (first at nat.pool[0])",
                               }));
}

TEST(config_errors, pool_size) {
    std::string text(minimal);
    std::string many = "pool = [";
    for (int i = 0; i < 65; ++i) many += fmt::format("{}\"203.0.113.{}\"", i ? ", " : "", i + 1);
    many += "]";
    text.replace(text.find("pool = [\"203.0.113.10\"]"), 23, many);
    EXPECT_EQ(errors_of(text), (std::vector<std::string>{
                                   "t.toml:15:8: nat.pool: expected 0..64 IPv4 addresses, got 65 addresses",
                               }));
}

TEST(config_values, an_empty_pool_makes_an_ipv6_only_gateway) {
    std::string text(minimal);
    text.replace(text.find("pool = [\"203.0.113.10\"]"), 23, "pool = []");
    const auto r = load_config_string(text, "t.toml");
    ASSERT_TRUE(r.errors.empty()) << r.errors.front().to_string();
    EXPECT_TRUE(r.config->gateway.pool.addresses.empty());
}

TEST(config_errors, missing_required_keys_and_tables) {
    std::string text(minimal);
    text.erase(text.find("device = \"net_pcap1\"\n"), 21);
    text.erase(text.find("[nat]"));
    EXPECT_EQ(errors_of(text), (std::vector<std::string>{
                                   "t.toml:1:1: nat: required table missing",
                                   "t.toml:9:1: outside.device: required key missing",
                               }));
}

TEST(config_errors, port_min_above_port_max) {
    std::string text(minimal);
    text += "port_min = 5000\nport_max = 4000\n";
    EXPECT_EQ(errors_of(text), (std::vector<std::string>{
                                   "t.toml:16:12: nat.port_min: expected a port <= nat.port_max (4000), got 5000",
                               }));
    std::string defaulted_min(minimal);
    defaulted_min += "port_max = 1000\n";
    EXPECT_EQ(errors_of(defaulted_min),
              (std::vector<std::string>{
                  "t.toml:16:12: nat.port_max: expected a port >= nat.port_min (1024), got 1000",
              }));
}

TEST(config_errors, cross_field_checks) {
    std::string text(minimal);
    text.replace(text.find("device = \"net_pcap1\""), 20, "device = \"net_pcap0\"");
    text.replace(text.find("pool = [\"203.0.113.10\"]"), 23, "pool = [\"203.0.113.10\", \"10.0.0.1\"]");
    EXPECT_EQ(errors_of(text), (std::vector<std::string>{
                                   "t.toml:10:10: outside.device: expected a device other than inside.device, got "
                                   "\"net_pcap0\"",
                                   "t.toml:15:25: nat.pool[1]: expected an address that is not one of "
                                   "inside.addresses, got \"10.0.0.1\" (also inside.addresses[0])",
                               }));
}

TEST(config_errors, device_must_exist) {
    std::string text(minimal);
    text.replace(text.find("device = \"net_pcap1\""), 20, "device = \"net_pcap2\"");
    text.replace(text.find("device = \"net_pcap0\""), 20, "device = \"0000:03:00.0\"");
    EXPECT_EQ(errors_of(text), (std::vector<std::string>{
                                   "t.toml:5:10: inside.device: expected a PCI address listed in eal.allow_pci, got "
                                   "\"0000:03:00.0\"",
                                   "t.toml:10:10: outside.device: expected the name of a device in eal.vdevs "
                                   "(net_pcap0, net_pcap1), got \"net_pcap2\"",
                               }));
    std::string short_pci(minimal);
    short_pci.replace(short_pci.find("device = \"net_pcap0\""), 20, "device = \"03:00.0\"");
    EXPECT_EQ(errors_of(short_pci), (std::vector<std::string>{
                                        "t.toml:5:10: inside.device: expected a DPDK device name like \"net_pcap0\" "
                                        "or \"0000:03:00.0\", got \"03:00.0\"",
                                    }));
}

TEST(config_errors, eal_strings) {
    std::string text(minimal);
    text.insert(text.find("vdevs"), "lcores = \"0-\"\nlog_level = \"loud\"\nallow_pci = [\"3:0.0\"]\n");
    EXPECT_EQ(errors_of(text), (std::vector<std::string>{
                                   "t.toml:2:10: eal.lcores: expected a core list like \"0\", \"0-1\" or \"0,2\", "
                                   "got \"0-\"",
                                   "t.toml:3:13: eal.log_level: expected a log level like \"notice\" or "
                                   "\"pmd.net.pcap:debug\", got \"loud\"",
                                   "t.toml:4:14: eal.allow_pci[0]: expected a PCI address like 0000:03:00.0, got "
                                   "\"3:0.0\"",
                               }));
}

TEST(config_errors, several_errors_reported_in_source_order) {
    const std::string text = R"([eal]
vdevs = ["net_pcap0", "net_pcap1"]
lcores = 1

[inside]
device = "net_pcap0"
next_hop_mac = "02:00:00:00:01:01"
addresses = ["10.0.0.1"]
speed = 1500

[outside]
device = "net_pcap1"
next_hop_mac = "ff:ff:ff:ff:ff:ff"
addresses = ["192.0.2.1"]

[nat]
pool = ["203.0.113.10", "2001:db8::10"]
port_min = 0

[timeouts]
tcp_establshed = 100
udp = -5
)";
    EXPECT_EQ(errors_of(text),
              (std::vector<std::string>{
                  "t.toml:3:10: eal.lcores: expected a core list like \"0\", \"0-1\" or \"0,2\", got an integer",
                  "t.toml:9:1: inside.speed: unknown key",
                  "t.toml:13:16: outside.next_hop_mac: expected a unicast, non-zero MAC address, got "
                  "\"ff:ff:ff:ff:ff:ff\"",
                  "t.toml:17:25: nat.pool[1]: expected an IPv4 address, got \"2001:db8::10\"",
                  "t.toml:18:12: nat.port_min: expected an integer in 1..65535, got 0",
                  "t.toml:21:1: timeouts.tcp_establshed: unknown key (did you mean tcp_established?)",
                  "t.toml:22:7: timeouts.udp: expected an integer number of seconds >= 1, got -5",
              }));
}

TEST(config_errors, error_fields_and_to_string) {
    const config_error e{"conf/x.toml", 7, 13, "nat.port_min", "expected an integer in 1..65535, got 70000"};
    EXPECT_EQ(e.to_string(), "conf/x.toml:7:13: nat.port_min: expected an integer in 1..65535, got 70000");
    const config_error file_level{"conf/x.toml", 0, 0, "", "cannot open: Permission denied"};
    EXPECT_EQ(file_level.to_string(), "conf/x.toml: cannot open: Permission denied");

    std::string text(minimal);
    text += "port_min = 70000\n";
    const load_result r = load_config_string(text, "conf/x.toml");
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(r.errors[0].file, "conf/x.toml");
    EXPECT_EQ(r.errors[0].line, 16u);
    EXPECT_EQ(r.errors[0].column, 12u);
    EXPECT_EQ(r.errors[0].key, "nat.port_min");
    EXPECT_EQ(egress::config::format_errors(r.errors),
              "conf/x.toml:16:12: nat.port_min: expected an integer in 1..65535, got 70000\n");
}

} // namespace

namespace egress::config {
namespace {

TEST(config, export_and_metrics_sections) {
    std::string text(minimal);
    text += "\n[export]\ncollectors = [\"127.0.0.1:4739\", \"[2001:db8::9]:2055\"]\nactive_timeout = 30\n"
            "json_log = \"-\"\nnat_session_events = true\n\n[metrics]\nlisten = \"[::1]:9469\"\n";
    const egressd_config c = valid(text);
    ASSERT_EQ(c.flow_export.collectors.size(), 2u);
    EXPECT_EQ(c.flow_export.collectors[1].address, net::ip_address::parse("2001:db8::9"));
    EXPECT_EQ(c.flow_export.collectors[1].port, 2055);
    EXPECT_EQ(c.flow_export.json_log, "-");
    EXPECT_TRUE(c.gateway.flow_export.enabled);
    EXPECT_TRUE(c.gateway.flow_export.nat_session_events);
    EXPECT_EQ(c.gateway.flow_export.active_timeout_ms, 30'000u);
    ASSERT_TRUE(c.metrics.listen.has_value());
    EXPECT_EQ(c.metrics.listen->port, 9469);
}

TEST(config, metrics_listen_port_0_picks_a_free_port) {
    for (const auto& [listen, address] : {std::pair{"127.0.0.1:0", "127.0.0.1"}, std::pair{"[::1]:0", "::1"}}) {
        const egressd_config c = valid(std::string(minimal) + "\n[metrics]\nlisten = \"" + listen + "\"\n");
        ASSERT_TRUE(c.metrics.listen.has_value()) << listen;
        EXPECT_EQ(c.metrics.listen->address, net::ip_address::parse(address)) << listen;
        EXPECT_EQ(c.metrics.listen->port, 0) << listen;
    }
    // Only a single 0 is port 0; a collector still needs a real port.
    for (const char* listen : {"127.0.0.1:00", "127.0.0.1:", "[::1:0", "::1:0", "localhost:0"})
        EXPECT_EQ(errors_of(std::string(minimal) + "\n[metrics]\nlisten = \"" + listen + "\"\n").size(), 1u) << listen;
    EXPECT_EQ(errors_of(std::string(minimal) + "\n[export]\ncollectors = [\"127.0.0.1:0\"]\n").size(), 1u);
}

TEST(config, export_and_metrics_are_off_by_default) {
    const egressd_config c = valid(minimal);
    EXPECT_FALSE(c.flow_export.enabled());
    EXPECT_FALSE(c.gateway.flow_export.enabled);
    EXPECT_FALSE(c.metrics.listen.has_value());
}

TEST(config_errors, export_and_metrics_values) {
    std::string text(minimal);
    text += "\n[export]\ncollectors = [\"2001:db8::9:4739\"]\nactive_timeout = 0\ncolector = 1\n\n[metrics]\n"
            "listen = \"localhost:80\"\n";
    EXPECT_EQ(errors_of(text),
              (std::vector<std::string>{
                  "t.toml:18:15: export.collectors[0]: expected a collector address like \"192.0.2.9:4739\" or "
                  "\"[2001:db8::9]:4739\", got \"2001:db8::9:4739\"",
                  "t.toml:19:18: export.active_timeout: expected an integer in 1..86400, got 0",
                  "t.toml:20:1: export.colector: unknown key (did you mean collectors?)",
                  "t.toml:23:10: metrics.listen: expected an address and port like \"127.0.0.1:9469\" or "
                  "\"[::1]:9469\", or \"\" for off, got \"localhost:80\"",
              }));
}

// [outside] allow_special: prefixes of special-purpose addresses that cross;
// each must be refused without it and of a class a router may forward.
TEST(config, allow_special_takes_refused_forwardable_prefixes_only) {
    std::string text(minimal);
    const std::size_t at = text.find("[outside]\n") + std::string_view("[outside]\n").size();
    std::string ok = text;
    ok.insert(at, "allow_special = [\"240.0.0.0/4\", \"169.254.169.254\", \"ff0e::/16\"]\n");
    const egressd_config c = valid(ok);
    ASSERT_EQ(c.gateway.allow_special.size(), 3u);
    EXPECT_EQ(c.gateway.allow_special[0].address, ip("240.0.0.0"));
    EXPECT_EQ(c.gateway.allow_special[0].length, 4u);
    EXPECT_EQ(c.gateway.allow_special[1].length, 32u);
    EXPECT_EQ(c.gateway.allow_special[2].address, ip("ff0e::"));
    EXPECT_TRUE(valid(minimal).gateway.allow_special.empty());
    std::string bad = text;
    bad.insert(at, "allow_special = [\"100.64.0.0/10\", \"127.0.0.0/8\", \"255.255.255.255\"]\n");
    const std::vector<std::string> errors = errors_of(bad);
    ASSERT_EQ(errors.size(), 3u);
    EXPECT_NE(errors[0].find("this one is not refused, nothing to allow, got \"100.64.0.0/10\""), std::string::npos)
        << errors[0];
    EXPECT_NE(errors[1].find("a prefix of a class a router may forward, not loopback, got \"127.0.0.0/8\""),
              std::string::npos) << errors[1];
    EXPECT_NE(errors[2].find("not broadcast, got \"255.255.255.255\""), std::string::npos) << errors[2];
    std::string inside = text;
    inside.insert(text.find("[inside]\n") + 9, "allow_special = [\"240.0.0.0/4\"]\n");
    EXPECT_EQ(errors_of(inside).size(), 1u); // an [outside] key only
}

TEST(config, control_events_and_inspect_sections) {
    std::string text(minimal);
    text += "\n[control]\nsocket = \"/run/egressd.sock\"\n\n[events]\nlog = \"-\"\nring_size = 128\n"
            "\n[inspect]\nslots = 10\nbuffers = 2\nmax_bytes = 4096\non_exhaustion = \"fail_closed\"\n"
            "hold_timeout_ms = 2500\nunverified_overlap = \"pass\"\n";
    const egressd_config c = valid(text);
    EXPECT_EQ(c.control.socket, "/run/egressd.sock");
    EXPECT_EQ(c.events.log, "-");
    EXPECT_EQ(c.events.ring_size, 128u);
    EXPECT_EQ(c.gateway.inspect.slots, 10u);
    EXPECT_EQ(c.gateway.inspect.buffers, 2u);
    EXPECT_EQ(c.gateway.inspect.max_bytes, 4096u);
    EXPECT_TRUE(c.gateway.inspect.fail_closed);
    EXPECT_EQ(c.gateway.inspect.hold_timeout_ms, 2500u);
    EXPECT_TRUE(c.gateway.inspect.unverified_overlap_passes);
    const egressd_config d = valid(minimal);
    EXPECT_EQ(d.control.socket, "");
    EXPECT_EQ(d.events.log, "");
    EXPECT_EQ(d.gateway.inspect.slots, 65536u);
    EXPECT_FALSE(d.gateway.inspect.fail_closed);
    EXPECT_EQ(d.gateway.inspect.hold_timeout_ms, 10000u);
    EXPECT_FALSE(d.gateway.inspect.unverified_overlap_passes);
}

TEST(config, fragments_section) {
    std::string text(minimal);
    text += "\n[fragments]\nmax_datagrams = 100\ntimeout_ms = 500\nmax_fragments_per_datagram = 8\n"
            "max_held_bytes = 65536\n";
    const egressd_config c = valid(text);
    EXPECT_EQ(c.gateway.fragments.max_datagrams, 100u);
    EXPECT_EQ(c.gateway.fragments.timeout_ms, 500u);
    EXPECT_EQ(c.gateway.fragments.max_fragments_per_datagram, 8u);
    EXPECT_EQ(c.gateway.fragments.max_held_bytes, 65536u);
    const egressd_config d = valid(minimal);
    EXPECT_EQ(d.gateway.fragments.max_datagrams, 4096u);
    EXPECT_EQ(d.gateway.fragments.timeout_ms, 2000u);
    EXPECT_EQ(d.gateway.fragments.max_fragments_per_datagram, 64u);
    EXPECT_EQ(d.gateway.fragments.max_held_bytes, 4194304u);
    std::string off(minimal);
    off += "\n[fragments]\nmax_datagrams = 0\n";
    EXPECT_EQ(valid(off).gateway.fragments.max_datagrams, 0u);
}

TEST(config_errors, fragments_values) {
    std::string text(minimal);
    text += "\n[fragments]\nmax_datagrams = -1\ntimeout_ms = 5\nmax_fragments_per_datagram = 1\n"
            "max_held_bytes = \"4M\"\nmax_held = 1\n";
    EXPECT_EQ(errors_of(text),
              (std::vector<std::string>{
                  "t.toml:18:17: fragments.max_datagrams: expected an integer in 0..16777216, got -1",
                  "t.toml:19:14: fragments.timeout_ms: expected an integer in 10..60000, got 5",
                  "t.toml:20:30: fragments.max_fragments_per_datagram: expected an integer in 2..1024, got 1",
                  "t.toml:21:18: fragments.max_held_bytes: expected an integer in 0..17179869184, got a string",
                  "t.toml:22:1: fragments.max_held: unknown key",
              }));
}

TEST(config_errors, control_events_and_inspect_values) {
    std::string text(minimal);
    text += "\n[control]\nsocket = \"/" + std::string(120, 'x') + "\"\n[events]\nring_size = 1\n"
            "[inspect]\nmax_bytes = 100\non_exhaustion = \"open\"\n";
    EXPECT_EQ(errors_of(text),
              (std::vector<std::string>{
                  "t.toml:18:10: control.socket: expected a socket path of at most 107 bytes, or \"\" for off, got \"/" +
                      std::string(120, 'x') + "\"",
                  "t.toml:20:13: events.ring_size: expected an integer in 64..16777216, got 1",
                  "t.toml:22:13: inspect.max_bytes: expected an integer in 1024..65536, got 100",
                  "t.toml:23:17: inspect.on_exhaustion: expected \"fail_open\" or \"fail_closed\", got \"open\"",
              }));
}

// Inserts `line` after the first line of `text` that starts with `after`.
std::string with_line_after(std::string text, std::string_view after, std::string_view line) {
    const std::size_t at = text.find(std::string(after));
    const std::size_t end = text.find('\n', at) + 1;
    text.insert(end, std::string(line) + "\n");
    return text;
}

TEST(config, mtu_icmp_and_tcp_sections) {
    std::string text = with_line_after(std::string(minimal), "addresses = [\"10.0.0.1\"", "mtu = 9000");
    text = with_line_after(text, "addresses = [\"192.0.2.1\"", "mtu = 1280");
    text += "\n[icmp]\nerrors_per_second = 0\nburst = 7\n\n[tcp]\nmss_clamp = 1360\n";
    const egressd_config c = valid(text);
    EXPECT_EQ(c.gateway.inside.mtu, 9000u);
    EXPECT_EQ(c.gateway.outside.mtu, 1280u);
    EXPECT_EQ(c.gateway.icmp.errors_per_second, 0u);
    EXPECT_EQ(c.gateway.icmp.burst, 7u);
    EXPECT_EQ(c.gateway.mss_clamp, 1360u);
    const egressd_config d = valid(minimal);
    EXPECT_EQ(d.gateway.inside.mtu, 1500u);
    EXPECT_EQ(d.gateway.outside.mtu, 1500u);
    EXPECT_EQ(d.gateway.icmp.errors_per_second, 100u);
    EXPECT_EQ(d.gateway.icmp.burst, 50u);
    EXPECT_EQ(d.gateway.mss_clamp, 0u);
}

TEST(config_errors, mtu_icmp_and_tcp_values) {
    std::string text = with_line_after(std::string(minimal), "addresses = [\"10.0.0.1\"", "mtu = 1000");
    text = with_line_after(text, "addresses = [\"192.0.2.1\"", "mtu = 9001");
    text += "\n[icmp]\nerrors_per_second = -1\nburst = 0\n[tcp]\nmss_clamp = 100\n";
    EXPECT_EQ(errors_of(text), (std::vector<std::string>{
                                   "t.toml:8:7: inside.mtu: expected an integer in 1280..9000, got 1000",
                                   "t.toml:14:7: outside.mtu: expected an integer in 1280..9000, got 9001",
                                   "t.toml:20:21: icmp.errors_per_second: expected an integer in 0..1000000, got -1",
                                   "t.toml:21:9: icmp.burst: expected an integer in 1..1000000, got 0",
                                   "t.toml:23:13: tcp.mss_clamp: expected 0 (off) or an integer in 536..8960, got 100",
                               }));
    EXPECT_EQ(errors_of(std::string(minimal) + "[tcp]\nmss_clamp = 9000\n"),
              (std::vector<std::string>{"t.toml:17:13: tcp.mss_clamp: expected an integer in 0..8960, got 9000"}));
}

} // namespace
} // namespace egress::config

// ---------------------------------------------------------------------------
// Neighbour resolution, on-link prefixes, next hops, VLANs

namespace {

// Both sides resolve their next hops: no next_hop_mac.
constexpr std::string_view resolving = R"([eal]
vdevs = ["net_pcap0,iface=a", "net_pcap1,iface=b"]

[inside]
device = "net_pcap0"
addresses = ["10.0.0.1/24", "fd00:0:0:1::1/64"]
vlan = 100

[[inside.neighbor]]
address = "10.0.0.7"
mac = "02:00:00:00:01:07"

[[inside.neighbor]]
address = "fd00:0:0:1::7"
mac = "02:00:00:00:01:08"

[outside]
device = "net_pcap1"
addresses = ["192.0.2.1/24", "2001:db8::1/64"]
next_hop = ["192.0.2.254", "2001:db8::fe"]

[nat]
pool = ["203.0.113.10"]

[neighbors]
max_entries = 64
reachable_s = 10
stale_s = 120
retries = 5
retry_ms = 250
queue_per_entry = 4
queue_total = 32
echo_replies_per_s = 7
)";

} // namespace

TEST(config_neighbors, resolving_sides_prefixes_next_hops_static_neighbors_vlan) {
    const egressd_config c = valid(resolving);
    const auto& in = c.gateway.inside;
    const auto& out = c.gateway.outside;
    EXPECT_FALSE(in.next_hop_mac.has_value());
    EXPECT_FALSE(out.next_hop_mac.has_value());
    EXPECT_EQ(in.addresses, (std::vector<ip_address>{ip("10.0.0.1"), ip("fd00:0:0:1::1")}));
    ASSERT_EQ(in.on_link.size(), 2u);
    EXPECT_EQ(in.on_link[0].address, ip("10.0.0.1"));
    EXPECT_EQ(in.on_link[0].length, 24);
    EXPECT_EQ(in.on_link[1].length, 64);
    EXPECT_TRUE(in.on_link[0].contains(ip("10.0.0.200")));
    EXPECT_FALSE(in.on_link[0].contains(ip("10.0.1.1")));
    EXPECT_FALSE(in.on_link[0].contains(ip("fd00:0:0:1::5")));
    EXPECT_TRUE(in.on_link[1].contains(ip("fd00:0:0:1:ffff::5")));
    EXPECT_FALSE(in.on_link[1].contains(ip("fd00:0:0:2::5")));
    EXPECT_EQ(in.vlan, 100);
    EXPECT_EQ(out.vlan, 0);
    EXPECT_FALSE(in.next_hop_v4.has_value());
    EXPECT_FALSE(in.next_hop_v6.has_value());
    EXPECT_EQ(out.next_hop_v4, ip("192.0.2.254"));
    EXPECT_EQ(out.next_hop_v6, ip("2001:db8::fe"));
    ASSERT_EQ(in.neighbors.size(), 2u);
    EXPECT_EQ(in.neighbors[0].address, ip("10.0.0.7"));
    EXPECT_EQ(in.neighbors[0].mac, mac("02:00:00:00:01:07"));
    EXPECT_EQ(in.neighbors[1].address, ip("fd00:0:0:1::7"));
    EXPECT_TRUE(out.neighbors.empty());
    const auto& nb = c.gateway.neighbors;
    EXPECT_EQ(nb.max_entries, 64u);
    EXPECT_EQ(nb.reachable_ms, 10'000u);
    EXPECT_EQ(nb.stale_ms, 120'000u);
    EXPECT_EQ(nb.retries, 5);
    EXPECT_EQ(nb.retry_ms, 250u);
    EXPECT_EQ(nb.queue_per_entry, 4);
    EXPECT_EQ(nb.queue_total, 32u);
    EXPECT_EQ(c.gateway.echo_replies_per_s, 7u);
}

TEST(config_neighbors, defaults_and_bare_addresses_cover_only_themselves) {
    const egressd_config c = valid(minimal);
    EXPECT_EQ(c.gateway.inside.next_hop_mac, mac("02:00:00:00:01:01"));
    ASSERT_EQ(c.gateway.inside.on_link.size(), 2u);
    EXPECT_EQ(c.gateway.inside.on_link[0].length, 32);
    EXPECT_EQ(c.gateway.inside.on_link[1].length, 128);
    EXPECT_TRUE(c.gateway.inside.on_link[0].contains(ip("10.0.0.1")));
    EXPECT_FALSE(c.gateway.inside.on_link[0].contains(ip("10.0.0.2")));
    EXPECT_EQ(c.gateway.inside.vlan, 0);
    const auto& nb = c.gateway.neighbors;
    EXPECT_EQ(nb.max_entries, 1024u);
    EXPECT_EQ(nb.reachable_ms, 30'000u);
    EXPECT_EQ(nb.stale_ms, 600'000u);
    EXPECT_EQ(nb.retries, 3);
    EXPECT_EQ(nb.retry_ms, 1000u);
    EXPECT_EQ(nb.queue_per_entry, 8);
    EXPECT_EQ(nb.queue_total, 256u);
    EXPECT_EQ(c.gateway.echo_replies_per_s, 100u);
}

TEST(config_neighbors, bad_prefixes_next_hops_vlans) {
    std::string text(resolving);
    text.replace(text.find("\"10.0.0.1/24\""), 13, "\"10.0.0.1/33\"");
    text.replace(text.find("\"fd00:0:0:1::1/64\""), 18, "\"fd00:0:0:1::1/\"");
    text.replace(text.find("vlan = 100"), 10, "vlan = 4095");
    text.replace(text.find("next_hop = [\"192.0.2.254\", \"2001:db8::fe\"]"), 42,
                 "next_hop = [\"198.51.100.1\", \"2001:db8::1\", \"192.0.2.9\"]");
    EXPECT_EQ(errors_of(text),
              (std::vector<std::string>{
                  "t.toml:6:14: inside.addresses[0]: expected an IPv4 or IPv6 address with an optional prefix "
                  "length like \"10.0.0.1/24\", got \"10.0.0.1/33\"",
                  "t.toml:6:29: inside.addresses[1]: expected an IPv4 or IPv6 address with an optional prefix "
                  "length like \"10.0.0.1/24\", got \"fd00:0:0:1::1/\"",
                  "t.toml:7:8: inside.vlan: expected an integer in 1..4094, got 4095",
                  "t.toml:20:12: outside.next_hop: expected 1..2 IP addresses, got 3 addresses",
              }));
    std::string hops(resolving);
    hops.replace(hops.find("next_hop = [\"192.0.2.254\", \"2001:db8::fe\"]"), 42,
                 "next_hop = [\"198.51.100.1\", \"2001:db8::1\"]");
    EXPECT_EQ(errors_of(hops),
              (std::vector<std::string>{
                  "t.toml:20:13: outside.next_hop[0]: expected an address on the prefix of one of "
                  "outside.addresses (e.g. \"10.0.0.1/24\"), got \"198.51.100.1\"",
                  "t.toml:20:29: outside.next_hop[1]: expected a router, not one of outside.addresses, got "
                  "\"2001:db8::1\"",
              }));
    std::string twice(resolving);
    twice.replace(twice.find("next_hop = [\"192.0.2.254\", \"2001:db8::fe\"]"), 42,
                  "next_hop = [\"192.0.2.254\", \"192.0.2.253\"]");
    EXPECT_EQ(errors_of(twice), (std::vector<std::string>{
                                    "t.toml:20:28: outside.next_hop[1]: expected at most one next hop per family, "
                                    "got \"192.0.2.253\" (also outside.next_hop[0] is IPv4)",
                                }));
}

TEST(config_neighbors, bad_static_neighbors) {
    std::string text(resolving);
    text.replace(text.find("address = \"fd00:0:0:1::7\""), 25, "address = \"10.0.0.7\"");
    text.replace(text.find("mac = \"02:00:00:00:01:08\""), 25, "mac = \"ff:ff:ff:ff:ff:ff\"\ncolor = 1");
    text.insert(text.find("[outside]"), "[[inside.neighbor]]\naddress = \"10.0.0.1\"\nmac = \"02:00:00:00:01:09\"\n\n"
                                        "[[inside.neighbor]]\nmac = \"02:00:00:00:01:0a\"\n\n");
    EXPECT_EQ(errors_of(text),
              (std::vector<std::string>{
                  "t.toml:15:7: inside.neighbor[1].mac: expected a unicast, non-zero MAC address, got "
                  "\"ff:ff:ff:ff:ff:ff\"",
                  "t.toml:16:1: inside.neighbor[1].color: unknown key",
                  "t.toml:19:11: inside.neighbor[2].address: expected a neighbour, not one of inside.addresses, got "
                  "\"10.0.0.1\"",
                  "t.toml:22:1: inside.neighbor[3].address: required key missing",
              }));
    std::string dup(resolving);
    dup.replace(dup.find("address = \"fd00:0:0:1::7\""), 25, "address = \"10.0.0.7\"");
    EXPECT_EQ(errors_of(dup), (std::vector<std::string>{
                                  "t.toml:14:11: inside.neighbor[1].address: expected a distinct address, got "
                                  "\"10.0.0.7\" again (first at inside.neighbor[0].address)",
                              }));
    std::string inline_table(minimal);
    inline_table.insert(inline_table.find("[outside]"), "neighbor = 5\n");
    EXPECT_EQ(errors_of(inline_table), (std::vector<std::string>{
                                           "t.toml:9:12: inside.neighbor: expected an array of tables "
                                           "([[inside.neighbor]]), got an integer",
                                       }));
}

TEST(config_neighbors, bad_neighbor_bounds) {
    std::string text(resolving);
    text.replace(text.find("max_entries = 64"), 16, "max_entries = 0");
    text.replace(text.find("retries = 5"), 11, "retries = 11");
    text.replace(text.find("retry_ms = 250"), 14, "retry_ms = 5");
    text.replace(text.find("queue_per_entry = 4"), 19, "queue_per_entry = 65");
    text.replace(text.find("reachable_s = 10"), 16, "reachable_s = 0");
    text += "stal_s = 3\n";
    EXPECT_EQ(errors_of(text),
              (std::vector<std::string>{
                  "t.toml:26:15: neighbors.max_entries: expected an integer in 1..1048576, got 0",
                  "t.toml:27:15: neighbors.reachable_s: expected an integer number of seconds >= 1, got 0",
                  "t.toml:29:11: neighbors.retries: expected an integer in 1..10, got 11",
                  "t.toml:30:12: neighbors.retry_ms: expected an integer in 10..60000, got 5",
                  "t.toml:31:19: neighbors.queue_per_entry: expected an integer in 0..64, got 65",
                  "t.toml:34:1: neighbors.stal_s: unknown key (did you mean stale_s?)",
              }));
}

// Several workers ([run] workers, steering, rss_key, handoff_ring_size)

TEST(config_workers, defaults_and_values) {
    const egressd_config d = valid(minimal);
    EXPECT_EQ(d.run.workers, 1u);
    EXPECT_TRUE(d.run.rss);
    EXPECT_TRUE(d.run.rss_key.empty());
    EXPECT_EQ(d.run.handoff_ring_size, 1024u);
    std::string text(minimal);
    text.insert(text.find("vdevs"), "lcores = \"(0-4)@(0,1)\"\n");
    text += "\n[run]\nworkers = 4\nsteering = \"software\"\nhandoff_ring_size = 64\n"
            "rss_key = \"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f2021222324252627\"\n";
    const egressd_config c = valid(text);
    EXPECT_EQ(c.eal.lcores, "(0-4)@(0,1)");
    EXPECT_EQ(c.run.workers, 4u);
    EXPECT_FALSE(c.run.rss);
    EXPECT_EQ(c.run.handoff_ring_size, 64u);
    ASSERT_EQ(c.run.rss_key.size(), 40u);
    EXPECT_EQ(c.run.rss_key[0], 0x00);
    EXPECT_EQ(c.run.rss_key[10], 0x0a);
    EXPECT_EQ(c.run.rss_key[39], 0x27);
}

TEST(config_workers, lcore_mappings_are_core_lists) {
    for (const char* ok : {"0@0,1@0,2@1", "(0-2)@0", "0,(1-3)@(0,1)", "1@(0-1)"}) {
        std::string text(minimal);
        text.insert(text.find("vdevs"), fmt::format("lcores = \"{}\"\n", ok));
        EXPECT_EQ(errors_of(text), std::vector<std::string>{}) << ok;
    }
    for (const char* bad : {"(0-4", "0@", "@1", "(0,)@1", "0@@1"}) {
        std::string text(minimal);
        text.insert(text.find("vdevs"), fmt::format("lcores = \"{}\"\n", bad));
        EXPECT_EQ(errors_of(text).size(), 1u) << bad;
    }
}

TEST(config_workers, bad_values) {
    std::string text(minimal);
    text += "\n[run]\nworkers = 65\nsteering = \"rss\"\nhandoff_ring_size = 1000\nrss_key = \"6d5a\"\n";
    EXPECT_EQ(errors_of(text), (std::vector<std::string>{
                                   "t.toml:18:11: run.workers: expected an integer in 1..64, got 65",
                                   "t.toml:19:12: run.steering: expected \"auto\" or \"software\", got \"rss\"",
                                   "t.toml:20:21: run.handoff_ring_size: expected a power of two from 64 to 65536, "
                                   "got 1000",
                                   "t.toml:21:11: run.rss_key: expected 80 hexadecimal digits (a 40-byte key), got "
                                   "\"6d5a\"",
                               }));
}

TEST(config_workers, each_worker_needs_64_nat_ports) {
    std::string text(minimal);
    text.insert(text.find("pool ="), "port_min = 2000\nport_max = 2191\n");
    text += "\n[run]\nworkers = 3\n";
    EXPECT_EQ(errors_of(text), std::vector<std::string>{});
    text.replace(text.find("workers = 3"), 11, "workers = 4");
    EXPECT_EQ(errors_of(text),
              (std::vector<std::string>{"t.toml:20:11: run.workers: expected at most 3 (64 NAT ports per worker: "
                                        "nat.port_min..port_max has 192), got 4"}));
}

TEST(config, limits_section) {
    std::string text(minimal);
    text += "\n[limits]\nmax_flows_per_source = 1000\nnew_flows_per_second = 50\nnew_flow_burst = 200\n"
            "max_flows_per_destination = 100\nipv6_prefix = 56\nmax_sources = 4096\nreport_interval_ms = 5000\n";
    const egress::flow::source_limit_settings l = valid(text).gateway.limits;
    EXPECT_EQ(l.max_flows, 1000u);
    EXPECT_EQ(l.new_flows_per_s, 50u);
    EXPECT_EQ(l.new_flow_burst, 200u);
    EXPECT_EQ(l.max_per_destination, 100u);
    EXPECT_EQ(l.v6_prefix, 56);
    EXPECT_EQ(l.max_sources, 4096u);
    EXPECT_EQ(l.report_interval_ms, 5000u);
    // Off unless configured.
    const egress::flow::source_limit_settings d = valid(minimal).gateway.limits;
    EXPECT_FALSE(d.any());
    EXPECT_EQ(d.v6_prefix, 64);
    EXPECT_EQ(d.max_sources, 65536u);
    EXPECT_EQ(d.report_interval_ms, 10000u);
}

TEST(config_errors, limits_values) {
    std::string text(minimal);
    text += "\n[limits]\nmax_flows_per_source = -1\nnew_flows_per_second = 1000001\nipv6_prefix = 0\n"
            "max_sources = 0\nreport_interval_ms = 10\nmax_flows = 5\n";
    EXPECT_EQ(errors_of(text),
              (std::vector<std::string>{
                  "t.toml:18:24: limits.max_flows_per_source: expected an integer in 0..16777216, got -1",
                  "t.toml:19:24: limits.new_flows_per_second: expected an integer in 0..1000000, got 1000001",
                  "t.toml:20:15: limits.ipv6_prefix: expected an integer in 1..128, got 0",
                  "t.toml:21:15: limits.max_sources: expected an integer in 1..16777216, got 0",
                  "t.toml:22:22: limits.report_interval_ms: expected an integer in 100..3600000, got 10",
                  "t.toml:23:1: limits.max_flows: unknown key",
              }));
}
// ---------------------------------------------------------------------------
// Issue 20: [nat] mapping and hairpin, [timeouts] allow_below_rfc, [tcp] liberal

TEST(config_nat_behaviour, defaults_are_endpoint_dependent_with_hairpinning_and_strict_tcp) {
    const egressd_config c = valid(minimal);
    EXPECT_EQ(c.gateway.pool.mapping, egress::nat::mapping_mode::endpoint_dependent);
    EXPECT_TRUE(c.gateway.pool.hairpin);
    EXPECT_FALSE(c.gateway.tcp.liberal);
}

TEST(config_nat_behaviour, mapping_hairpin_and_liberal) {
    const egressd_config c = valid(std::string(minimal) +
                                   "mapping = \"endpoint-independent\"\nhairpin = false\n\n[tcp]\nliberal = true\n");
    EXPECT_EQ(c.gateway.pool.mapping, egress::nat::mapping_mode::endpoint_independent);
    EXPECT_FALSE(c.gateway.pool.hairpin);
    EXPECT_TRUE(c.gateway.tcp.liberal);
    const egressd_config d = valid(std::string(minimal) + "mapping = \"endpoint-dependent\"\n");
    EXPECT_EQ(d.gateway.pool.mapping, egress::nat::mapping_mode::endpoint_dependent);
}

TEST(config_nat_behaviour, bad_mapping_hairpin_and_liberal) {
    EXPECT_EQ(errors_of(std::string(minimal) + "mapping = \"full-cone\"\nhairpin = 1\n\n[tcp]\nliberal = \"yes\"\n"),
              (std::vector<std::string>{
                  "t.toml:16:11: nat.mapping: expected \"endpoint-dependent\" or \"endpoint-independent\", got "
                  "\"full-cone\"",
                  "t.toml:17:11: nat.hairpin: expected a boolean (true or false), got an integer",
                  "t.toml:20:11: tcp.liberal: expected a boolean (true or false), got a string",
              }));
}

TEST(config_nat_behaviour, timeouts_below_a_must_are_refused) {
    EXPECT_EQ(errors_of(std::string(minimal) +
                        "\n[timeouts]\ntcp_closing = 30\ntcp_closed = 2\nudp = 119\nicmp = 5\ntcp_established = 7439\n"),
              (std::vector<std::string>{
                  "t.toml:18:15: timeouts.tcp_closing: expected at least 240 (RFC 5382 REQ-5 MUST), or "
                  "timeouts.allow_below_rfc = true, got 30",
                  "t.toml:20:7: timeouts.udp: expected at least 120 (RFC 4787 REQ-5 MUST), or "
                  "timeouts.allow_below_rfc = true, got 119",
                  "t.toml:21:8: timeouts.icmp: expected at least 60 (RFC 5508 REQ-2 MUST), or "
                  "timeouts.allow_below_rfc = true, got 5",
                  "t.toml:22:19: timeouts.tcp_established: expected at least 7440 (RFC 5382 REQ-5 MUST), or "
                  "timeouts.allow_below_rfc = true, got 7439",
              }));
}

TEST(config_nat_behaviour, allow_below_rfc_accepts_short_timeouts) {
    const egressd_config c =
        valid(std::string(minimal) + "\n[timeouts]\nallow_below_rfc = true\ntcp_closing = 30\nudp = 5\n");
    EXPECT_EQ(c.gateway.timeouts.tcp_closing_ms, 30'000u);
    EXPECT_EQ(c.gateway.timeouts.udp_ms, 5'000u);
    // A SHOULD (RFC 7857) alone is not refused; explicit false refuses MUSTs.
    EXPECT_EQ(valid(std::string(minimal) + "\n[timeouts]\ntcp_time_wait = 2\n").gateway.timeouts.tcp_time_wait_ms,
              2'000u);
    EXPECT_EQ(errors_of(std::string(minimal) + "\n[timeouts]\nallow_below_rfc = false\nudp = 60\n"),
              (std::vector<std::string>{"t.toml:19:7: timeouts.udp: expected at least 120 (RFC 4787 REQ-5 MUST), or "
                                        "timeouts.allow_below_rfc = true, got 60"}));
}

TEST(config_nat_behaviour, icmp_prohibited_is_off_by_default_and_switchable) {
    EXPECT_FALSE(valid(minimal).gateway.icmp.prohibited);
    EXPECT_TRUE(valid(std::string(minimal) + "\n[icmp]\nprohibited = true\n").gateway.icmp.prohibited);
    EXPECT_EQ(errors_of(std::string(minimal) + "\n[icmp]\nprohibited = 1\n"),
              (std::vector<std::string>{"t.toml:18:14: icmp.prohibited: expected a boolean (true or false), got an "
                                        "integer"}));
}

TEST(config_nat_behaviour, tcp_pickup_is_off_by_default_and_switchable) {
    EXPECT_FALSE(valid(minimal).gateway.tcp.pickup);
    EXPECT_TRUE(valid(std::string(minimal) + "\n[tcp]\npickup = true\n").gateway.tcp.pickup);
    EXPECT_EQ(errors_of(std::string(minimal) + "\n[tcp]\npickup = \"loose\"\n"),
              (std::vector<std::string>{"t.toml:18:10: tcp.pickup: expected a boolean (true or false), got a string"}));
}

TEST(config_nat_behaviour, the_shipped_configs_load) {
    const char* root = std::getenv("EGRESS_SOURCE_ROOT");
    ASSERT_NE(root, nullptr);
    for (const char* name : {"/conf/egressd.toml", "/conf/lab.toml"}) {
        const load_result r = load_config_file(std::string(root) + name);
        EXPECT_TRUE(r.errors.empty()) << name << ": " << egress::config::format_errors(r.errors);
    }
}
