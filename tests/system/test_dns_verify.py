#!/usr/bin/python3
"""System test of DNS-verified SNI (verify = "observed") with Debian's dnsmasq
serving a test zone and curl through egressd on af_packet
(tests/system/dns_probe.py builds the namespaces)."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

CONFIG = """
[events]
log = "{dir}/events.jsonl"

[dns]
grace_seconds = 1

[policy]
default = "deny"

[[policy.rule]]
name = "dns"
destinations = ["198.51.100.53/32"]
protocol = "udp"
ports = [53]
action = "allow"

[[policy.rule]]
name = "saas"
destinations = ["198.51.100.0/24"]
protocol = "tcp"
hostnames = ["api.stripe.com"]
action = "allow"
verify = "observed"
"""


class verified_sni:
    """The scenario, on `workers` workers: with two, the kernel's af_packet
    fan-out spreads frames over both workers' queues, which hand them to their
    flows' owners; the DNS answer and the TLS flows it vouches for are owned by
    different workers about half the time (the answer's owner hands the other a
    copy)."""
    workers = 1

    def test_spoofed_sni_denied_matching_passes_ttl_expiry_flips(self):
        d = tempfile.mkdtemp(prefix="egressd-system-dns-")
        template = os.path.join(d, "template.toml")
        text = harness.af_packet_config("{dir}", lcores="0-1" if self.workers == 1 else "(0-2)@(0,1)")
        if self.workers > 1:
            q = f"qpairs={self.workers}"
            text = text.replace("iface=vin1", f"iface=vin1,{q}").replace("iface=vout1", f"iface=vout1,{q}")
        with open(template, "w") as f:
            f.write(text.replace("[run]\n", f"[run]\nworkers = {self.workers}\n") + CONFIG)
        probe = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dns_probe.py")
        proc = subprocess.run(["/usr/bin/python3", probe, harness.EGRESSD, template, d], capture_output=True,
                              text=True, timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        self.assertEqual(r["returncode"], 0, r["stderr"])
        ok = {"rc": 0, "code": "200", "err": ""}
        self.assertTrue(r["within_ttl"], f"the first three connections took {r['first_three_s']} s, more than the TTL")
        self.assertEqual(r["resolved"], ok)
        self.assertEqual(r["pinned_matching"], ok)
        self.assertEqual(r["resolved_again"], ok)
        for denied in ("spoofed", "expired"):
            self.assertNotEqual(r[denied]["rc"], 0, denied)
            self.assertEqual(r[denied]["code"], "000", denied)
        self.assertRegex(r["summary"], r"\n +sni_unverified +2\n")
        unverified = [e for e in r["events"] if e.get("reason") == "sni_unverified"]
        self.assertEqual(len(unverified), 2, r["events"])
        spoofed, expired = unverified
        self.assertEqual((spoofed["event"], spoofed["rule"], spoofed["hostname"], spoofed["dst"]),
                         ("deny", "saas", "api.stripe.com", "198.51.100.8"))
        self.assertEqual(spoofed["dns_said"], ["198.51.100.7"])
        self.assertEqual((expired["dst"], expired["dns_said"]), ("198.51.100.7", []))


class dns_verified_sni(unittest.TestCase, verified_sni):
    workers = 1


class dns_verified_sni_two_workers(unittest.TestCase, verified_sni):
    workers = 2


if __name__ == "__main__":
    unittest.main()
