#!/usr/bin/python3
"""System tests of hostname policy with real clients: curl and openssl s_server
/ a Python HTTP server in network namespaces, egressd between them on af_packet
vdevs (tests/system/hostname_probe.py builds the namespaces)."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

POLICY = """
[policy]
default = "deny"

[[policy.rule]]
name = "saas"
destinations = ["198.51.100.0/24"]
protocol = "tcp"
hostnames = ["api.stripe.com", "*.github.com"]
action = "allow"

[dlp]
[[dlp.pattern]]
name = "aws-access-key"
regex = 'AKIA[0-9A-Z]{16}'
severity = "critical"
action = "block"
"""


class hostname_policy(unittest.TestCase):
    def test_real_clients_reach_allowed_names_only(self):
        d = tempfile.mkdtemp(prefix="egressd-system-")
        template = os.path.join(d, "template.toml")
        with open(template, "w") as f:
            f.write(harness.af_packet_config("{dir}") + POLICY)
        probe = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hostname_probe.py")
        proc = subprocess.run(["/usr/bin/python3", probe, harness.EGRESSD, template, d], capture_output=True,
                              text=True, timeout=240)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        self.assertEqual(r["returncode"], 0, r["stderr"])
        ok = {"rc": 0, "code": "200", "err": ""}
        self.assertEqual(r["allowed_tls"], ok)
        self.assertEqual(r["wildcard_tls"], ok)
        self.assertEqual(r["allowed_http"], ok)
        for denied in ("denied_tls", "no_sni", "denied_http"):
            self.assertNotEqual(r[denied]["rc"], 0, denied)
            self.assertEqual(r[denied]["code"], "000", denied)
        saw = r["server_saw"]
        # Allowed: the server got the whole ClientHello and answered.
        self.assertEqual(saw["41001"]["client_hello"], ["api.stripe.com"])
        self.assertGreaterEqual(saw["41001"]["server_hello"], 1)
        self.assertEqual(saw["41002"]["client_hello"], ["a.b.github.com"])
        # Denied: the server never got a complete ClientHello, never answered
        # one, and got a reset.
        for port in ("41003", "41004"):
            self.assertEqual(saw[port]["client_hello"], [], port)
            self.assertEqual(saw[port]["server_hello"], 0, port)
            self.assertGreaterEqual(saw[port]["rst_from_client"], 1, port)
        self.assertGreaterEqual(saw["41006"]["rst_from_client"], 1)
        # DLP: the request with the key is cut where the key completes; the
        # server got the bytes before it but never the whole key.
        self.assertEqual(r["dlp_clean"]["code"], "501")  # http.server has no POST: it answered
        self.assertNotEqual(r["dlp_leak"]["rc"], 0)
        self.assertEqual(r["dlp_leak"]["code"], "000")
        self.assertGreater(r["leak_bytes_at_server"], 0)
        self.assertFalse(r["key_at_server"])
        self.assertGreaterEqual(saw["41007"]["rst_from_client"], 1)
        self.assertRegex(r["summary"], r"\n +dlp_blocked +1\n")
        self.assertRegex(r["summary"], r"\n +hostname_denied +2\n")  # the two names not allowed
        self.assertNotRegex(r["summary"], r"\n +policy_denied ")
        self.assertRegex(r["summary"], r"\n +inspect_no_sni +1\n")


if __name__ == "__main__":
    unittest.main()
