#!/usr/bin/python3
"""System test of fragments: real kernels fragment 4000-byte UDP datagrams
(IPv4 and IPv6) through egressd on live pcap vdevs over veths, a server namespace echoes
them (fragmented again), the client compares bytes; one datagram's fragments
arrive in reverse order (tests/system/fragment_probe.py builds the namespaces)."""
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def live_pcap_config(directory):
    """The live af_packet test config, with the ports on pcap vdevs bound to the
    same veth ends instead. DPDK 22.11's af_packet PMD joins a PACKET_FANOUT
    group with PACKET_FANOUT_FLAG_DEFRAG, so the kernel reassembles IPv4
    fragments before the PMD sees them (and cuts the result to the ring's
    frame size): egressd would never see an IPv4 fragment there. libpcap on
    the interface delivers the frames as they are on the wire."""
    config = harness.af_packet_config(directory)
    config = config.replace('"net_af_packet0,iface=vin1"', '"net_pcap0,rx_iface_in=vin1,tx_iface=vin1"')
    config = config.replace('"net_af_packet1,iface=vout1"', '"net_pcap1,rx_iface_in=vout1,tx_iface=vout1"')
    config = config.replace('device = "net_af_packet0"', 'device = "net_pcap0"')
    return config.replace('device = "net_af_packet1"', 'device = "net_pcap1"')


class fragments(unittest.TestCase):
    def test_large_udp_datagrams_round_trip_fragmented(self):
        d = tempfile.mkdtemp(prefix="egressd-system-")
        config = os.path.join(d, "egressd.toml")
        with open(config, "w") as f:
            f.write(live_pcap_config(d))
        probe = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fragment_probe.py")
        proc = subprocess.run(["/usr/bin/python3", probe, harness.EGRESSD, config, d], capture_output=True,
                              text=True, timeout=280)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        self.assertEqual(r["returncode"], 0, r["stderr"])
        for family in ("v4", "v6"):
            self.assertEqual(r["client"][family], [{"sent": 4000, "received": 4000, "same": True}] * 5,
                             (family, r["summary"]))
        self.assertEqual(r["reversed"], {"fragments": 3, "received": 3000, "same": True}, r["summary"])
        # The server's link carried fragments; the inside address never appeared there.
        self.assertEqual(r["server_link"]["v4_sources"], ["198.51.100.7", "203.0.113.10"])
        self.assertGreaterEqual(r["server_link"]["v4_fragments"], 5 * 3 + 3)
        self.assertGreaterEqual(r["server_link"]["v6_fragments"], 5 * 3)
        summary = r["summary"]
        m = re.search(r"fragments forwarded (\d+), held (\d+), released (\d+); datagrams (\d+) \((\d+) completed",
                      summary)
        self.assertIsNotNone(m, summary)
        forwarded, held, released, datagrams, completed = map(int, m.groups())
        # 10 datagrams each way of 3 fragments, plus the reversed one and its echo.
        self.assertGreaterEqual(forwarded + released, 2 * 10 * 3 + 2 * 3)
        self.assertEqual(held, 2)
        self.assertEqual(released, 2)
        self.assertEqual(datagrams, completed)
        self.assertNotRegex(summary, r"\n +(fragment_|ipv4_bad_fragment|ipv6_bad_fragment)")


if __name__ == "__main__":
    unittest.main()
