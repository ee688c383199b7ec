#!/usr/bin/python3
"""System test of DNS-verified SNI (verify = "observed" and "resolve") with
Debian's dnsmasq serving a test zone and curl through egressd on af_packet
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


RESOLVE_CONFIG = """
[events]
log = "{dir}/events.jsonl"

[metrics]
listen = "127.0.0.1:9469"

[dns]
grace_seconds = 1
resolvers = ["127.0.0.1:5353"]
resolve_timeout_ms = 1000
on_resolve_failure = "deny"

[policy]
default = "deny"

[[policy.rule]]
name = "saas"
destinations = ["198.51.100.0/24"]
protocol = "tcp"
hostnames = ["api.stripe.com", "*.stripe.com"]
action = "allow"
verify = "resolve"
"""


def run_probe(test, workers, config, mode):
    d = tempfile.mkdtemp(prefix="egressd-system-dns-")
    template = os.path.join(d, "template.toml")
    text = harness.af_packet_config("{dir}", lcores="0-1" if workers == 1 else "(0-2)@(0,1)")
    if workers > 1:
        q = f"qpairs={workers}"
        text = text.replace("iface=vin1", f"iface=vin1,{q}").replace("iface=vout1", f"iface=vout1,{q}")
    with open(template, "w") as f:
        f.write(text.replace("[run]\n", f"[run]\nworkers = {workers}\n") + config)
    probe = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dns_probe.py")
    proc = subprocess.run(["/usr/bin/python3", probe, harness.EGRESSD, template, d, mode], capture_output=True,
                          text=True, timeout=120)
    test.assertEqual(proc.returncode, 0, proc.stderr)
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    test.assertEqual(r["returncode"], 0, r["stderr"])
    return r


def assert_refused(test, r, *names):
    for denied in names:
        test.assertNotEqual(r[denied]["rc"], 0, denied)
        test.assertEqual(r[denied]["code"], "000", denied)


OK = {"rc": 0, "code": "200", "err": ""}


class verified_sni:
    """The scenario, on `workers` workers: with two, the kernel's af_packet
    fan-out spreads frames over both workers' queues, which hand them to their
    flows' owners; the DNS answer and the TLS flows it vouches for are owned by
    different workers about half the time (the answer's owner hands the other a
    copy)."""
    workers = 1

    def test_spoofed_sni_denied_matching_passes_ttl_expiry_flips(self):
        r = run_probe(self, self.workers, CONFIG, "observed")
        self.assertTrue(r["within_ttl"], f"the first three connections took {r['first_three_s']} s, more than the TTL")
        self.assertEqual(r["resolved"], OK)
        self.assertEqual(r["pinned_matching"], OK)
        self.assertEqual(r["resolved_again"], OK)
        assert_refused(self, r, "spoofed", "expired")
        self.assertRegex(r["summary"], r"\n +sni_unverified +2\n")
        unverified = [e for e in r["events"] if e.get("reason") == "sni_unverified"]
        self.assertEqual(len(unverified), 2, r["events"])
        spoofed, expired = unverified
        self.assertEqual((spoofed["event"], spoofed["rule"], spoofed["hostname"], spoofed["dst"]),
                         ("deny", "saas", "api.stripe.com", "198.51.100.8"))
        self.assertEqual(spoofed["dns_said"], ["198.51.100.7"])
        self.assertEqual((expired["dst"], expired["dns_said"]), ("198.51.100.7", []))


class resolved_sni(unittest.TestCase):
    """verify = "resolve": egressd asks dnsmasq on 127.0.0.1:5353 in its own
    namespace; the client pins addresses (it asks no DNS)."""

    def test_spoofed_denied_matching_passes_ttl_expiry_and_resolver_down(self):
        r = run_probe(self, 1, RESOLVE_CONFIG, "resolve")
        self.assertEqual(r["matching"], OK)
        self.assertEqual(r["cached"], OK)  # the zone moved, the answer is cached for TTL + grace
        self.assertTrue(r["cached_within_ttl"])
        self.assertEqual(r["moved"], OK)
        assert_refused(self, r, "spoofed", "expired", "resolver_down")
        self.assertRegex(r["summary"], r"\n +sni_unverified +2\n")
        self.assertRegex(r["summary"], r"\n +resolve_failed +1\n")
        refused = [e for e in r["events"] if e.get("reason") in ("sni_unverified", "resolve_failed")]
        self.assertEqual([(e["event"], e["reason"], e["rule"], e["hostname"], e["dst"]) for e in refused],
                         [("deny", "sni_unverified", "saas", "api.stripe.com", "198.51.100.8"),
                          ("deny", "sni_unverified", "saas", "api.stripe.com", "198.51.100.7"),
                          ("deny", "resolve_failed", "saas", "files.stripe.com", "198.51.100.8")], r["events"])
        self.assertEqual(refused[0]["dns_said"], ["198.51.100.7"])
        self.assertEqual(refused[1]["dns_said"], ["198.51.100.8"])
        # Three lookups (api.stripe.com, again once its answer expired, and
        # files.stripe.com), each asked by the worker and by the resolver
        # thread, none refused for want of room; the last one failed.
        self.assertEqual(r["metrics"], [
            'egress_resolve_failure_allowed_total 0',
            'egress_resolve_lookups_total{result="answered"} 3',
            'egress_resolve_lookups_total{result="asked"} 3',
            'egress_resolve_lookups_total{result="failed"} 1',
            'egress_resolve_lookups_total{result="pending_full"} 0',
            'egress_resolve_lookups_total{result="ring_full"} 0',
            'egress_resolver_answers_lost_total 0',
            'egress_resolver_requests_total{result="asked"} 3',
            'egress_resolver_requests_total{result="busy"} 0',
        ])


class dns_verified_sni(unittest.TestCase, verified_sni):
    workers = 1


class dns_verified_sni_two_workers(unittest.TestCase, verified_sni):
    workers = 2


if __name__ == "__main__":
    unittest.main()
