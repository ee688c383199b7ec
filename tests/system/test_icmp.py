#!/usr/bin/python3
"""System test of ICMP through egressd with real kernels (tests/system/icmp_probe.py
builds client, gateway, router and server namespaces): egressd's own time
exceeded and fragmentation needed, the router's time exceeded and
fragmentation needed relayed back through the NAT, and a TCP upload that only
completes because path MTU discovery works through egressd."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

EMSGSIZE, EHOSTUNREACH, ORIGIN_ICMP = 90, 113, 2


class icmp_errors(unittest.TestCase):
    def test_time_exceeded_and_path_mtu_discovery_through_the_nat(self):
        d = tempfile.mkdtemp(prefix="egressd-icmp-")
        template = os.path.join(d, "template.toml")
        config = harness.af_packet_config("{dir}").replace(
            'addresses = ["192.0.2.1", "2001:db8::1"]', 'addresses = ["192.0.2.1", "2001:db8::1"]\nmtu = 1450')
        with open(template, "w") as f:
            f.write(config)
        probe = os.path.join(os.path.dirname(os.path.abspath(__file__)), "icmp_probe.py")
        proc = subprocess.run(["/usr/bin/python3", probe, harness.EGRESSD, template, d], capture_output=True,
                              text=True, timeout=240)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        self.assertEqual(r["returncode"], 0, r["stderr"])
        # TTL 1: egressd's own time exceeded, from its inside address.
        self.assertEqual(r["own_ttl"], {"errno": EHOSTUNREACH, "origin": ORIGIN_ICMP, "type": 11, "code": 0,
                                        "info": 0, "offender": "10.0.0.1"})
        # TTL 2: the router's, relayed (the kernel matched the quote to the socket).
        self.assertEqual(r["router_ttl"], {"errno": EHOSTUNREACH, "origin": ORIGIN_ICMP, "type": 11, "code": 0,
                                           "info": 0, "offender": "198.51.100.1"})
        # DF UDP: egressd's outside MTU first, then the router's small link.
        self.assertEqual(r["df_udp_1500"], {"errno": EMSGSIZE, "origin": ORIGIN_ICMP, "type": 3, "code": 4,
                                            "info": 1450, "offender": "10.0.0.1"})
        self.assertEqual(r["df_udp_1450"], {"errno": EMSGSIZE, "origin": ORIGIN_ICMP, "type": 3, "code": 4,
                                            "info": 1400, "offender": "198.51.100.1"})
        self.assertIn("mtu 1400", r["route_after_udp"])
        # TCP upload: completes, the client learnt the path MTU on the way.
        self.assertEqual(r["upload"], {"sent": 2 * 1024 * 1024, "server_got": 2 * 1024 * 1024})
        self.assertIn("mtu 1400", r["route_after_upload"])
        s = r["summary"]
        self.assertGreaterEqual(s["icmp"]["relayed_in"], 3)  # time exceeded, frag needed (UDP, TCP)
        self.assertGreaterEqual(s["icmp"]["sent"], 3)        # time exceeded, frag needed (UDP, TCP)
        self.assertEqual(s["icmp"]["rate_limited"], 0)
        self.assertEqual(s["drops"]["icmp_error_no_flow"], 0)
        self.assertGreaterEqual(s["drops"]["mtu_exceeded"], 2)
        self.assertEqual(s["drops"]["ttl_expired"], 1)


if __name__ == "__main__":
    unittest.main()
