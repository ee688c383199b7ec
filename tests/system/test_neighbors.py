#!/usr/bin/python3
"""System tests of ARP, neighbour discovery and VLANs with real kernels:
network namespaces and veths, egressd on af_packet vdevs with no next_hop_mac
and no static neighbours anywhere (tests/system/neighbor_probe.py builds them)."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

PROBE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "neighbor_probe.py")
GW_IN, GW_OUT = "02:00:00:00:01:fe", "02:00:00:00:02:fe"


def probe(*extra):
    d = tempfile.mkdtemp(prefix="egressd-arp-")
    proc = subprocess.run(["/usr/bin/python3", PROBE, harness.EGRESSD, d, *extra], capture_output=True, text=True,
                          timeout=240)
    if proc.returncode != 0:
        raise AssertionError(proc.stderr[-3000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


class neighbor_resolution(unittest.TestCase):
    def test_kernels_and_egressd_resolve_each_other(self):
        r = probe()
        self.assertEqual(r["returncode"], 0, r["stderr"])
        # Announcements first: gratuitous ARP and an unsolicited NA on the client's link.
        seen = r["from_gateway_on_client_link"]
        self.assertEqual(seen[0], {"vlan": None, "kind": "arp", "op": 1, "psrc": "10.0.0.1", "pdst": "10.0.0.1",
                                   "dst": "ff:ff:ff:ff:ff:ff"})
        self.assertEqual(seen[1], {"vlan": None, "kind": "na", "target": "fd00:0:0:1::1", "solicited": 0,
                                   "dst": "33:33:00:00:00:01"})
        # ... and on the server's link, for the outside address and the NAT pool.
        arp_out = r["gateway_arp_on_server_link"]
        self.assertEqual(arp_out[0], {"op": 1, "psrc": "192.0.2.1", "pdst": "192.0.2.1", "dst": "ff:ff:ff:ff:ff:ff"})
        self.assertEqual(arp_out[1], {"op": 1, "psrc": "203.0.113.10", "pdst": "203.0.113.10",
                                      "dst": "ff:ff:ff:ff:ff:ff"})
        # While the router was silent egressd kept asking (every 500 ms), held
        # 8 datagrams and dropped 4; all 8 arrived, in order, once it answered.
        asks = [a for a in arp_out if a["op"] == 1 and a["pdst"] == "192.0.2.254"]
        self.assertGreaterEqual(len(asks), 2)
        self.assertEqual(r["udp_received"], [str(i) for i in range(8)])
        s = r["summary"]
        self.assertEqual(s["drops"]["neighbor_queue_full"], 4)
        self.assertEqual(s["drops"]["neighbor_unresolved"], 0)
        self.assertGreaterEqual(s["neighbors"]["frames_queued"], 8)
        self.assertEqual(s["neighbors"]["frames_queued"], s["neighbors"]["frames_released"])
        self.assertGreaterEqual(s["neighbors"]["resolved"], 2)  # the IPv4 and IPv6 routers
        # Health checks and real clients through it.
        for name in ("ping_gateway_v4", "ping_gateway_v6"):
            self.assertEqual(r[name]["rc"], 0, r[name])
            self.assertIn("2 received", r[name]["out"])
        self.assertEqual(s["neighbors"]["echo_replies_sent"], 5)  # one ping before the datagrams, 2 + 2 after
        self.assertEqual(r["curl_v4"], {"rc": 0, "out": "200", "err": ""})
        self.assertEqual(r["curl_v6"], {"rc": 0, "out": "200", "err": ""})
        # The kernels learned egressd's MACs by themselves.
        self.assertRegex(r["client_neigh"], rf"10\.0\.0\.1 dev c0 lladdr {GW_IN} (REACHABLE|STALE|DELAY)")
        self.assertRegex(r["client_neigh"], rf"fd00:0:0:1::1 dev c0 lladdr {GW_IN} router")
        self.assertRegex(r["server_neigh"], rf"203\.0\.113\.10 dev s0 lladdr {GW_OUT} ")
        self.assertRegex(r["server_neigh"], rf"2001:db8::1 dev s0 lladdr {GW_OUT} ")
        for reason in ("arp_truncated", "arp_unsupported", "arp_bad_sender", "ndp_bad_checksum", "ndp_malformed",
                       "vlan_mismatch", "outbox_full"):
            self.assertEqual(s["drops"][reason], 0, reason)

    def test_vlan_on_the_inside(self):
        r = probe("--vlan")
        self.assertEqual(r["returncode"], 0, r["stderr"])
        seen = r["from_gateway_on_client_link"]
        self.assertEqual(seen[0], {"vlan": 100, "kind": "arp", "op": 1, "psrc": "10.0.0.1", "pdst": "10.0.0.1",
                                   "dst": "ff:ff:ff:ff:ff:ff"})
        self.assertEqual(seen[1]["vlan"], 100)
        self.assertTrue(all(e["vlan"] == 100 for e in seen), seen)  # every frame egressd sent there is tagged
        c = r["tagged_client"]
        self.assertEqual(c["arp_replies"], [{"tagged": True, "hwsrc": GW_IN, "psrc": "10.0.0.1"}])
        # Echo of the gateway itself, then two through it to the (untagged)
        # server kernel and back: tag popped outwards, pushed inwards. The
        # untagged ping (seq 4) got nothing.
        self.assertEqual(c["echo_replies"], [{"tagged": True, "src": "10.0.0.1", "seq": 1},
                                             {"tagged": True, "src": "198.51.100.7", "seq": 2},
                                             {"tagged": True, "src": "198.51.100.7", "seq": 3}])
        self.assertGreaterEqual(r["summary"]["drops"]["vlan_mismatch"], 1)
        self.assertRegex(r["server_neigh"], rf"203\.0\.113\.10 dev s0 lladdr {GW_OUT} ")


if __name__ == "__main__":
    unittest.main()
