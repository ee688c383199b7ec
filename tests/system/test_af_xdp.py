#!/usr/bin/python3
"""AF_XDP ports and the start-up memory line.

af_xdp: the real egressd on two net_af_xdp vdevs bound to veth ends in a network
namespace (a config change from af_packet only) passes an outbound SYN with its
source translated, and the SYN-ACK back (the same probe as test_gateway.af_packet).
Skipped only when the kernel has no XDP sockets (socket(AF_XDP) says
EAFNOSUPPORT).

memory_line: egressd says at start which memory it got: --no-huge or
hugepages for the mbufs, and where the flow tables are."""
import errno
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import harness  # noqa: E402
from harness import traffic  # noqa: E402

AF_XDP = 44  # linux/socket.h


def xdp_sockets_missing():
    """Why AF_XDP cannot be tested here, or None when the kernel has XDP sockets."""
    try:
        socket.socket(AF_XDP, socket.SOCK_RAW, 0).close()
    except OSError as e:
        if e.errno == errno.EAFNOSUPPORT:
            return "the kernel has no XDP sockets (CONFIG_XDP_SOCKETS): socket(AF_XDP) fails with EAFNOSUPPORT"
    return None


def af_xdp_config(directory):
    """harness.af_packet_config with net_af_xdp vdevs on the same veth ends."""
    config = harness.af_packet_config(directory)
    for i, iface in ((0, "vin1"), (1, "vout1")):
        config = config.replace(f'"net_af_packet{i},iface={iface}"', f'"net_af_xdp{i},iface={iface}"')
        config = config.replace(f'device = "net_af_packet{i}"', f'device = "net_af_xdp{i}"')
    return config


class af_xdp(unittest.TestCase):
    def test_outbound_syn_and_reply_cross_af_xdp_ports(self):
        missing = xdp_sockets_missing()
        if missing:
            self.skipTest(missing)
        ns = f"egressd-xdp-{os.getpid()}"
        cleanup = harness.veth_namespace(ns)
        try:
            d = tempfile.mkdtemp(prefix="egressd-system-")
            path = os.path.join(d, "xdp.toml")
            with open(path, "w") as f:
                f.write(af_xdp_config(d))
            probe = os.path.join(HERE, "af_packet_probe.py")
            proc = subprocess.run(["ip", "netns", "exec", ns, "/usr/bin/python3", probe, harness.EGRESSD, path],
                                  capture_output=True, text=True, timeout=120)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            result = json.loads(proc.stdout.strip().splitlines()[-1])
        finally:
            cleanup()
        self.assertEqual(result["returncode"], 0, result["stderr"])
        self.assertEqual(result["out"], {"src": "203.0.113.10", "sport": 40000, "ttl": 63,
                                         "dst_mac": traffic.OUTSIDE_NEXT_HOP_MAC, "src_mac": traffic.GW_OUTSIDE_MAC})
        self.assertEqual(result["back"], {"dst": "10.0.0.5", "dport": 40000})
        lines = result["summary"].splitlines()
        self.assertIn("egressd: inside net_af_xdp0 (02:00:00:00:01:fe), outside net_af_xdp1 (02:00:00:00:02:fe), "
                      "64 flows max, pool 1 address(es)", lines)
        # Sent: the SYN-ACK to the client, the SYN to the server (the kernels'
        # own IPv6 solicitations on the veths add to what was received).
        self.assertRegex(lines[3], r"^  port inside  net_af_xdp0  rx [1-9][0-9]* pkts [0-9]+ bytes, tx 1 pkts 54 bytes$")
        self.assertRegex(lines[4], r"^  port outside net_af_xdp1  rx [1-9][0-9]* pkts [0-9]+ bytes, tx 1 pkts 54 bytes$")
        self.assertIn("tcp created 1", result["summary"])


def meminfo(key):
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


class memory_line(unittest.TestCase):
    """The first line egressd prints. The table sizes are checked against the
    summary's table_bytes: each of the table's arrays is mapped in whole pages
    (4 KiB, or 2 MiB from 1 MiB up), so the line says at most 3 pages more."""

    def run_egressd(self, eal_line, max_flows):
        d = tempfile.mkdtemp(prefix="egressd-system-")
        c = traffic.conversation()
        traffic.udp_exchange(c, "10.0.0.5", 40000, "198.51.100.7", 53, public="203.0.113.10", pport=40000)
        c.write(os.path.join(d, "inside.pcap"), os.path.join(d, "outside.pcap"))
        config = os.path.join(d, "egressd.toml")
        with open(config, "w") as f:
            f.write(harness.config_text(d, max_flows=max_flows).replace("no_huge = true", eal_line))
        summary = os.path.join(d, "summary.json")
        proc = subprocess.run([harness.EGRESSD, "-c", config, "--stats-json", summary], capture_output=True,
                              text=True, timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        with open(summary) as f:
            table_bytes = json.load(f)["flows"]["table_bytes"]
        return proc.stdout.splitlines(), table_bytes

    def assert_line(self, line, pattern, table_bytes, unit, page):
        m = re.fullmatch(pattern, line)
        self.assertIsNotNone(m, line)
        said = int(m.group("n")) * unit
        self.assertGreaterEqual(said + unit // 2, table_bytes, line)
        self.assertLessEqual(said, table_bytes + 3 * page + unit // 2, line)

    def test_no_huge_small_table_in_small_pages(self):
        lines, table = self.run_egressd('hugepages = "off"', 4096)
        self.assert_line(lines[0], r'egressd: memory: --no-huge \(eal\.hugepages = "off"\): 4 KiB pages for mbufs; '
                                   r"flow tables: (?P<n>[0-9]+) KiB in 4 KiB pages", table, 1024, 4096)

    def test_no_huge_large_table_is_madvised(self):
        lines, table = self.run_egressd("no_huge = true", 1 << 20)
        self.assert_line(lines[0], r'egressd: memory: --no-huge \(eal\.hugepages = "off"\): 4 KiB pages for mbufs; '
                                   r"flow tables: (?P<n>[0-9]+) MiB in madvise\(MADV_HUGEPAGE\) memory", table,
                         1 << 20, 2 << 20)

    def test_auto_says_what_the_machine_has(self):
        lines, table = self.run_egressd('hugepages = "auto"', 1 << 20)
        free_mb = (meminfo("HugePages_Free") - meminfo("HugePages_Rsvd")) * meminfo("Hugepagesize") // 1024
        if meminfo("HugePages_Total") == 0:
            pattern = (r"egressd: memory: --no-huge \(no hugepages reserved\): 4 KiB pages for mbufs; "
                       r"flow tables: (?P<n>[0-9]+) MiB in madvise\(MADV_HUGEPAGE\) memory")
        elif free_mb < 256 + table // (1 << 20) + 6:
            pattern = r"egressd: memory: (--no-huge \(.*\): 4 KiB pages|hugepages \(.*\)) for mbufs; .*(?P<n>[0-9]+).*"
        else:  # reserved (tools/hugepages reserve): the mbufs and the tables in them
            pattern = (r"egressd: memory: hugepages \([0-9]+ [MG]iB of hugepages free\) for mbufs; "
                       r"flow tables: (?P<n>[0-9]+) MiB in hugepages")
        self.assert_line(lines[0], pattern, table, 1 << 20, 2 << 20)


if __name__ == "__main__":
    unittest.main()
