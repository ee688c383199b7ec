#!/usr/bin/python3
"""System tests of QUIC Initial SNI ([policy] quic = "inspect") through the real
egressd binary on pcap vdevs: first flights of real Chromium 156 (captured) and
flights built by tests/unit/quic/make_initials.py with python3-cryptography
(CRYPTO frames chopped, shuffled, duplicated over three datagrams), interleaved
across flows. Allowed names leave byte for byte in arrival order; denied ones
and unreadable first datagrams leave nothing, each counted under its reason."""
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import traffic  # noqa: E402
from scapy.all import IP, UDP, Raw  # noqa: E402

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "unit", "quic", "data")
CLIENT, SERVER, POOL = "10.0.0.5", "198.51.100.7", "203.0.113.10"

POLICY = """
[policy]
default = "deny"
quic = "inspect"

[[policy.rule]]
name = "named"
destinations = ["198.51.100.0/24"]
protocol = "any"
hostnames = ["api.stripe.com", "quic.example.test"]
action = "allow"
"""


def flight(name, count):
    out = []
    for i in range(count):
        with open(os.path.join(DATA, f"{name}.{i}.bin"), "rb") as f:
            out.append(f.read())
    return out


def long_header(first, version):
    """A long header (8-byte DCID and SCID) padded to 1200 bytes."""
    b = bytes([first]) + version.to_bytes(4, "big") + b"\x08" + bytes(range(16, 24)) + b"\x08" + bytes(range(32, 40))
    return b + b"\x5a" * (1200 - len(b))


class quic_inspection(unittest.TestCase):
    def test_names_from_initials_decide_quic_flows(self):
        chromium = flight("chromium-156-a", 6)  # first flight (2), probes (3), CONNECTION_CLOSE
        allowed = flight("gw-allowed", 3)
        denied = flight("gw-denied", 3)
        c = traffic.conversation()
        send = lambda sport, payload: c.from_inside(IP(src=CLIENT, dst=SERVER) / UDP(sport=sport, dport=443) /  # noqa: E731
                                                    Raw(payload))
        # Three flows interleaved: Chromium (allowed), python (allowed, sent
        # out of order), python (denied).
        send(50001, chromium[0])
        send(50003, allowed[2])
        send(50002, denied[0])
        send(50003, allowed[0])
        send(50002, denied[1])
        send(50001, chromium[1])  # completes the hello: both datagrams leave
        send(50002, denied[2])    # completes the hello: refused
        send(50003, allowed[1])
        for d in chromium[2:]:
            send(50001, d)        # decided: these pass as they come
        send(50002, denied[0])    # the denied flow is cut
        send(50004, long_header(0x80, 0))            # version negotiation
        send(50005, long_header(0xF0, 1))            # Retry
        send(50006, long_header(0xC0, 0x1A2A3A4A))   # unknown version
        send(50007, flight("wrong-keys", 1)[0])      # undecryptable
        send(50008, allowed[0])                      # never completes ...
        c.advance(11)
        send(50008, allowed[1])                      # ... [inspect] hold_timeout_ms (10 s) later
        r = harness.run(c, extra=POLICY)
        self.assertEqual(r.drops(), {
            "hostname_denied": 1, "policy_cut": 1, "inspect_quic_version_negotiation": 1, "inspect_quic_retry": 1,
            "inspect_quic_unknown_version": 1, "inspect_quic_undecryptable": 1, "hold_timeout": 1})
        out = [(p[UDP].sport, bytes(p[UDP].payload)) for p in r.to_outside]
        ports = {p[UDP].sport for p in r.to_outside}
        self.assertEqual(len(ports), 2, out)
        for p in r.to_outside:
            self.assertEqual((p[IP].src, p[IP].dst, p[UDP].dport), (POOL, SERVER, 443))
            self.assertTrue(harness.checksums_valid(p))
        by_flow = {}
        for sport, payload in out:
            by_flow.setdefault(sport, []).append(payload)
        self.assertEqual(sorted(by_flow.values(), key=len), [[allowed[2], allowed[0], allowed[1]], chromium])
        self.assertEqual(r.to_inside, [])


class quic_chromium(unittest.TestCase):
    """Headless Chromium (Debian's `chromium`, QUIC forced on) in a namespace,
    egressd on af_packet: its real Initials to an allowed name reach the server
    (no QUIC server answers: the first flight and its probes are what is sent);
    to a denied name not one datagram does."""

    def test_real_chromium_initials_are_decided_by_name(self):
        d = tempfile.mkdtemp(prefix="egressd-system-")
        template = os.path.join(d, "template.toml")
        with open(template, "w") as f:
            f.write(harness.af_packet_config("{dir}") + POLICY)
        probe = os.path.join(os.path.dirname(os.path.abspath(__file__)), "quic_chromium_probe.py")
        proc = subprocess.run(["/usr/bin/python3", probe, harness.EGRESSD, template, d], capture_output=True,
                              text=True, timeout=90)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        self.assertEqual(r["returncode"], 0, r["stderr"])
        self.assertEqual(r["denied"]["datagrams"], 0, r)
        allowed = r["allowed"]
        self.assertGreaterEqual(allowed["datagrams"], 2, r)
        self.assertEqual(allowed["sources"], [POOL])
        # The first datagram is a QUIC v1 Initial (long header, type 0), as sent.
        self.assertEqual(allowed["heads"][0][0], "c", allowed)
        self.assertEqual(allowed["heads"][0][2:10], "00000001", allowed)
        self.assertGreaterEqual(allowed["lengths"][0], 1200)
        denied = re.search(r"\n +hostname_denied +([0-9]+)\n", r["summary"])
        self.assertIsNotNone(denied, r["summary"])
        self.assertGreaterEqual(int(denied.group(1)), 1)


if __name__ == "__main__":
    unittest.main()
