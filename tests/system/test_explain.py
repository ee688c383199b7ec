"""egressd --explain against a table of connections, and the same table sent
through the real binary (pcap replay): the verdicts must agree on every row.

Run with /usr/bin/python3; EGRESSD names the binary.
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import traffic  # noqa: E402
from scapy.all import IP, TCP, UDP  # noqa: E402

POLICY = """
[policy]
default = "deny"

[[policy.group]]
name = "web"
cidrs = ["10.0.0.0/29"]

[[policy.rule]]
name = "https-from-web"
sources = ["web"]
destinations = ["198.51.100.0/24"]
protocol = "tcp"
ports = [443]
action = "allow"

[[policy.rule]]
name = "dns"
destinations = ["192.0.2.53/32"]
protocol = "udp"
ports = [53]
action = "allow"

[[policy.rule]]
name = "trial"
destinations = ["192.0.2.0/24"]
protocol = "tcp"
ports = [8080]
action = "deny"
mode = "report"
"""

# (src, dst, proto, port); each row gets its own source port (41000 + index).
ROWS = [
    ("10.0.0.5", "198.51.100.7", "tcp", 443),
    ("10.0.0.9", "198.51.100.7", "tcp", 443),
    ("10.0.0.5", "198.51.100.7", "tcp", 22),
    ("10.0.0.5", "192.0.2.53", "udp", 53),
    ("10.0.0.5", "192.0.2.54", "udp", 53),
    ("10.0.0.5", "192.0.2.9", "tcp", 8080),
    ("10.0.0.5", "203.0.113.99", "udp", 443),
]


class explain_offline(unittest.TestCase):
    def test_the_table_agrees_with_the_gateway(self):
        d = tempfile.mkdtemp(prefix="egressd-system-")
        path = os.path.join(d, "policy.toml")
        with open(path, "w") as f:
            f.write(POLICY)
        explained = []
        for src, dst, proto, port in ROWS:
            proc = subprocess.run([harness.EGRESSD, "--explain", path, "--src", src, "--dst", dst, "--proto", proto,
                                   "--port", str(port), "--json"], capture_output=True, text=True, timeout=30)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            explained.append(json.loads(proc.stdout)["action"])
        self.assertEqual(explained, ["allow", "deny", "deny", "allow", "deny", "allow", "deny"])

        c = traffic.conversation()
        for i, (src, dst, proto, port) in enumerate(ROWS):
            l4 = TCP(sport=41000 + i, dport=port, flags="S") if proto == "tcp" else UDP(sport=41000 + i, dport=port) / b"q"
            c.from_inside(IP(src=src, dst=dst) / l4)
        r = harness.run(c, extra=POLICY)
        passed = {(p[TCP].sport if TCP in p else p[UDP].sport) for p in r.to_outside}
        gateway = ["allow" if 41000 + i in passed else "deny" for i in range(len(ROWS))]
        self.assertEqual(gateway, explained)
        self.assertEqual(r.drops(), {"policy_denied": 4})

    def test_the_text_answer_and_a_bad_file(self):
        d = tempfile.mkdtemp(prefix="egressd-system-")
        path = os.path.join(d, "policy.toml")
        with open(path, "w") as f:
            f.write(POLICY)
        proc = subprocess.run([harness.EGRESSD, "--explain", path, "--src", "10.0.0.9", "--dst", "198.51.100.7",
                               "--port", "443"], capture_output=True, text=True, timeout=30)
        self.assertEqual((proc.returncode, proc.stderr), (0, ""))
        self.assertEqual(proc.stdout.splitlines(), [
            "10.0.0.9 -> 198.51.100.7 tcp/443 (policy version 1)",
            "decision: deny by the default action",
            "rules:",
            f'  1 "https-from-web" {path}:9 (enforce allow): source not in its source groups',
            f'  2 "dns" {path}:17 (enforce allow): destination not in its destinations',
            f'  3 "trial" {path}:24 (report deny): destination not in its destinations',
        ])
        with open(path, "w") as f:
            f.write(POLICY.replace('action = "allow"', 'action = "alow"', 1))
        proc = subprocess.run([harness.EGRESSD, "--explain", path, "--src", "10.0.0.9", "--dst", "198.51.100.7",
                               "--port", "443"], capture_output=True, text=True, timeout=30)
        self.assertEqual(proc.returncode, 1)
        self.assertEqual(proc.stderr.splitlines()[-1], f"egressd: configuration {path} has 1 error(s)")


if __name__ == "__main__":
    unittest.main()
