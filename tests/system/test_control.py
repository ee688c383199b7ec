#!/usr/bin/python3
"""System tests of the control plane of a running egressd: the control socket
through tools/egressctl (and raw requests), the security event log, policy
metrics and DPDK telemetry. egressd runs live on pcap vdevs: it forwards the
capture once and then keeps running with its flows until SIGTERM."""
import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import traffic  # noqa: E402
from scapy.all import IP, IPv6, TCP, UDP  # noqa: E402

EGRESSCTL = os.path.join(harness.HERE, "..", "..", "tools", "egressctl")
POOL = "203.0.113.10"

POLICY = """
[policy]
default = "deny"

[[policy.rule]]
name = "dns"
destinations = ["198.51.100.0/24", "2001:db8:1::/48"]
protocol = "udp"
ports = [53]
action = "allow"

[[policy.rule]]
name = "web"
destinations = ["198.51.100.0/24"]
protocol = "tcp"
ports = [443]
action = "allow"
"""


def capture(directory):
    """Four flows the policy allows (sizes differ, so "most bytes" is an order)
    and one it denies."""
    c = traffic.conversation()
    c.from_inside(IP(src="10.0.0.5", dst="198.51.100.53") / UDP(sport=5000, dport=53) / b"query")       # 33 B
    c.from_inside(IP(src="10.0.0.7", dst="198.51.100.54") / UDP(sport=5002, dport=53) / (b"q" * 100))  # 128 B
    c.from_inside(IP(src="10.0.0.5", dst="198.51.100.7") / TCP(sport=40000, dport=443, flags="S"))      # 40 B
    c.from_inside(IPv6(src="fd00:0:0:1::5", dst="2001:db8:1::53") / UDP(sport=5003, dport=53) / b"query")  # 53 B
    c.from_inside(IP(src="10.0.0.6", dst="192.0.2.99") / UDP(sport=5001, dport=123) / b"ntp")           # denied
    c.write(os.path.join(directory, "inside.pcap"), os.path.join(directory, "outside.pcap"))


class gateway:
    """egressd running live with a control socket, an event log and metrics."""

    def __init__(self, policy=POLICY):
        self.dir = tempfile.mkdtemp(prefix="egressd-control-")
        capture(self.dir)
        self.socket = os.path.join(self.dir, "ctl.sock")
        self.events = os.path.join(self.dir, "events.jsonl")
        self.metrics_port = harness.free_tcp_port()
        self.config = os.path.join(self.dir, "egressd.toml")
        self.base = harness.config_text(self.dir, replay=False, lcores="0-1", live=True) + f"""
[control]
socket = "{self.socket}"

[events]
log = "{self.events}"

[metrics]
listen = "127.0.0.1:{self.metrics_port}"
"""
        self.write_policy(policy)
        self.proc = subprocess.Popen([harness.EGRESSD, "-c", self.config], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 30
        while not os.path.exists(self.socket) or self.ctl("status").returncode != 0:
            if time.time() > deadline or self.proc.poll() is not None:
                raise AssertionError(f"egressd did not come up: {self.stop()}")
            time.sleep(0.1)
        # The capture is forwarded once at start: wait until all five packets are in.
        while json.loads(self.ctl("--json", "stats").stdout)["stats"]["ports"]["inside"]["rx_packets"] < 5:
            time.sleep(0.1)

    def write_policy(self, policy):
        with open(self.config, "w") as f:
            f.write(self.base + policy)

    def ctl(self, *args):
        return subprocess.run([EGRESSCTL, "-s", self.socket, *args], capture_output=True, text=True, timeout=30)

    def ctl_json(self, *args):
        r = self.ctl("--json", *args)
        return json.loads(r.stdout)

    def raw(self, *lines):
        """Sends request lines on one connection; returns the response lines."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(self.socket)
        s.sendall(b"".join(lines))
        data = b""
        while data.count(b"\n") < len(lines):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        s.close()
        return [json.loads(x) for x in data.decode().splitlines()]

    def event_lines(self):
        with open(self.events) as f:
            return [json.loads(x) for x in f]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        out, err = self.proc.communicate(timeout=60)
        return self.proc.returncode, out, err


def without(d, *keys):
    return {k: v for k, v in d.items() if k not in keys}


class control_socket(unittest.TestCase):
    def setUp(self):
        self.gw = gateway()

    def tearDown(self):
        rc, out, err = self.gw.stop()
        self.assertEqual(rc, 0, err)
        self.assertFalse(os.path.exists(self.gw.socket), "the socket file is removed at exit")

    def test_status_and_socket_mode(self):
        r = self.gw.ctl("status")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(lines[0], "version: 0.1.0")
        self.assertEqual(lines[1], f"pid: {self.gw.proc.pid}")
        self.assertRegex(lines[2], r"^uptime: [0-9]+s$")
        self.assertEqual(lines[3:], ["inside: net_pcap0", "outside: net_pcap1", "flows: 4 active of 4096",
                                     "policy version: 1", "blocks: 0", "reloads: 0 ok, 0 failed"])
        self.assertEqual(stat.S_IMODE(os.stat(self.gw.socket).st_mode), 0o600)
        # A second gateway on the same socket path refuses to start.
        second = subprocess.run([harness.EGRESSD, "-c", self.gw.config], capture_output=True, text=True, timeout=60)
        self.assertEqual(second.returncode, 1)
        self.assertIn(f"egressd: control.socket: {self.gw.socket}: in use by another process\n", second.stderr)

    def test_flows_top_and_filters(self):
        r = self.gw.ctl_json("flows")
        self.assertTrue(r["ok"])
        self.assertEqual((r["matched"], r["scanned"]), (4, 4))
        for f in r["flows"]:
            self.assertGreater(f["expires_in_ms"], 0)
        flows = [without(f, "expires_in_ms") for f in r["flows"]]
        udp = dict(proto="udp", state="active", bytes_in=0, packets_out=1, packets_in=0, cut=False, hostname=None,
                   rule="dns")
        self.assertEqual(flows, [
            dict(udp, inside="10.0.0.7", inside_port=5002, remote="198.51.100.54", remote_port=53, public=POOL,
                 public_port=5002, bytes_out=128),
            dict(udp, inside="fd00:0:0:1::5", inside_port=5003, remote="2001:db8:1::53", remote_port=53, public=None,
                 public_port=None, bytes_out=53),
            dict(proto="tcp", inside="10.0.0.5", inside_port=40000, remote="198.51.100.7", remote_port=443,
                 public=POOL, public_port=40000, state="syn_sent", bytes_out=40, bytes_in=0, packets_out=1,
                 packets_in=0, cut=False, hostname=None, rule="web"),
            dict(udp, inside="10.0.0.5", inside_port=5000, remote="198.51.100.53", remote_port=53, public=POOL,
                 public_port=5000, bytes_out=33),
        ])
        top = self.gw.ctl_json("flows", "--top", "2")
        self.assertEqual([f["inside_port"] for f in top["flows"]], [5002, 5003])
        self.assertEqual(top["matched"], 4)
        dst = self.gw.ctl_json("flows", "--dst", "198.51.100.0/25")
        self.assertEqual([f["remote"] for f in dst["flows"]], ["198.51.100.54", "198.51.100.7", "198.51.100.53"])
        src = self.gw.ctl_json("flows", "--src", "fd00::/16")
        self.assertEqual([f["inside"] for f in src["flows"]], ["fd00:0:0:1::5"])
        both = self.gw.ctl_json("flows", "--src", "10.0.0.5/32", "--dst", "198.51.100.7/32")
        self.assertEqual(([f["inside_port"] for f in both["flows"]], both["matched"]), ([40000], 1))
        human = self.gw.ctl("flows", "--top", "1")
        self.assertEqual(human.stdout.splitlines()[0].split(), ["PROTO", "INSIDE", "REMOTE", "PUBLIC", "STATE",
                                                                "BYTES-OUT", "BYTES-IN", "PKTS-OUT", "PKTS-IN",
                                                                "EXPIRES", "RULE", "HOSTNAME"])
        self.assertEqual(human.stdout.splitlines()[1].split()[:9],
                         ["udp", "10.0.0.7:5002", "198.51.100.54:53", f"{POOL}:5002", "active", "128", "0", "1", "0"])
        self.assertEqual(human.stdout.splitlines()[-1], "1 of 4 matching flows shown (4 scanned)")

    def test_policy_and_nat(self):
        r = self.gw.ctl("policy")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertRegex(lines[0], r"^policy version 1, loaded 20[0-9-]+T[0-9:]+Z, from " + re.escape(self.gw.config))
        rule_lines = [str(i) for i, l in enumerate((self.gw.base + POLICY).splitlines(), 1) if l == "[[policy.rule]]"]
        self.assertEqual([l.split() for l in lines[1:4]], [["RULE", "ACTION", "MODE", "LINE", "HITS"],
                                                          ["dns", "allow", "enforce", rule_lines[0], "3"],
                                                          ["web", "allow", "enforce", rule_lines[1], "1"]])
        self.assertEqual(lines[4:], ["default (deny): 1", "emergency blocks: 0", "would deny (report mode): 0"])
        nat = self.gw.ctl("nat")
        self.assertEqual([l.split() for l in nat.stdout.splitlines()], [
            ["ADDRESS", "IN-USE", "CREATED", "EXHAUSTED"],
            [POOL, "3", "3", "0"],
            ["top", "inside", "hosts", "by", "NAT", "mappings", "held", "(2", "hosts", "hold", "mappings):"],
            ["INSIDE", "MAPPINGS"],
            ["10.0.0.5", "2"],
            ["10.0.0.7", "1"],
        ])

    def test_blocks_cut_existing_flows_expire_and_are_logged(self):
        r = self.gw.ctl("block", "198.51.100.53/32")
        self.assertEqual((r.returncode, r.stdout), (0, "blocked 198.51.100.53/32 (no expiry)\n"))
        r = self.gw.ctl("block", "192.0.2.0/24", "--ttl", "1")
        self.assertRegex(r.stdout, r"^blocked 192\.0\.2\.0/24 until 20[0-9-]+T[0-9:]+Z\n$")
        blocks = self.gw.ctl_json("blocks")["blocks"]
        self.assertEqual([(b["cidr"], b["expires_unix_ms"] is None) for b in blocks],
                         [("192.0.2.0/24", False), ("198.51.100.53/32", True)])
        # The idle flow to the blocked destination is cut by the expiry sweep,
        # without any packet of its own.
        deadline = time.time() + 1.0
        while True:
            flows = self.gw.ctl_json("flows", "--dst", "198.51.100.53/32")["flows"]
            if flows[0]["cut"] or time.time() > deadline:
                break
            time.sleep(0.05)
        self.assertTrue(flows[0]["cut"], "cut within one second")
        self.assertEqual(self.gw.ctl_json("flows", "--dst", "198.51.100.54/32")["flows"][0]["cut"], False)
        time.sleep(1.5)  # the TTL of 192.0.2.0/24 runs out
        blocks = self.gw.ctl_json("blocks")["blocks"]
        self.assertEqual([(b["cidr"], b["hits"]) for b in blocks], [("198.51.100.53/32", 1)])
        r = self.gw.ctl("unblock", "198.51.100.53/32")
        self.assertEqual((r.returncode, r.stdout), (0, "unblocked 198.51.100.53/32\n"))
        r = self.gw.ctl("unblock", "198.51.100.53/32")
        self.assertEqual((r.returncode, r.stderr), (1, "egressctl: no block for 198.51.100.53/32\n"))
        self.assertEqual(self.gw.ctl("blocks").stdout, "no blocks\n")
        r = self.gw.ctl("block", "10.0.0.1/8")
        self.assertEqual((r.returncode, r.stderr), (1, 'egressctl: block: cidr: expected a network address (host bits '
                                                       'zero), got "10.0.0.1/8" (did you mean "10.0.0.0/8"?)\n'))
        r = self.gw.ctl("block", "10.0.0.0/8", "--ttl", "0")
        self.assertEqual((r.returncode, r.stderr),
                         (1, "egressctl: block: ttl: expected an integer from 1 to 31536000, got 0\n"))
        # The packet path's events reach the log through a ring, so their place
        # among the control plane's own events may vary.
        events = [without(e, "time_ms", "expires_unix_ms") for e in self.gw.event_lines()]
        self.assertCountEqual(events, [
            {"event": "deny", "policy_version": 1, "rule": "default", "reason": "policy_denied", "proto": 17,
             "src": "10.0.0.6",
             "src_port": 5001, "dst": "192.0.2.99", "dst_port": 123},
            {"event": "block_added", "block": "198.51.100.53/32"},
            {"event": "block", "policy_version": 1, "block": "198.51.100.53/32", "flow": "existing",
             "reason": "policy_blocked", "proto": 17,
             "src": "10.0.0.5", "src_port": 5000, "dst": "198.51.100.53", "dst_port": 53},
            {"event": "block_added", "block": "192.0.2.0/24"},
            {"event": "block_expired", "block": "192.0.2.0/24", "hits": 0},
            {"event": "block_removed", "block": "198.51.100.53/32", "hits": 1},
        ])

    def test_check_config_against_the_running_gateway_applies_nothing(self):
        new = os.path.join(os.path.dirname(self.gw.config), "new.toml")
        text = self.gw.base + POLICY.replace('name = "web"', 'name = "web2"', 1) + (
            '\n[[policy.rule]]\nname = "ntp"\nprotocol = "udp"\nports = [123]\n'
            'destinations = ["0.0.0.0/0"]\naction = "allow"\n')
        with open(new, "w") as f:
            f.write(text)
        r = subprocess.run([harness.EGRESSD, "--check-config", new, "--against", self.gw.socket],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        ntp = next(i for i, l in enumerate(text.splitlines(), 1) if l == 'name = "ntp"') - 1
        lines = r.stdout.splitlines()
        self.assertEqual(lines[:2], [f"egressd: configuration {new} is valid",
                                     f"reload of {new} against the running policy (version 1):"])
        self.assertIn(f'added: "ntp" (line {ntp})', lines)
        self.assertRegex(lines[-1], r"^live flows it would cut: [0-9]+ of [0-9]+$")
        self.assertEqual(self.gw.ctl_json("status")["policy_version"], 1)

    def test_reload_from_egressctl_keeps_the_running_policy_on_errors(self):
        self.gw.write_policy(POLICY.replace('action = "allow"', 'action = "alow"', 1))
        r = self.gw.ctl("reload")
        line = next(i for i, l in enumerate((self.gw.base + POLICY).splitlines(), 1) if l.startswith('action = "allow"'))
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr.splitlines(), [
            "egressctl: policy reload failed (1 error(s)); keeping policy version 1",
            f'{self.gw.config}:{line}:10: policy.rule[0].action: expected "allow" or "deny", got "alow"',
        ])
        self.gw.write_policy(POLICY + '\n[[policy.rule]]\nname = "ntp"\nprotocol = "udp"\nports = [123]\n'
                             'destinations = ["0.0.0.0/0"]\naction = "allow"\n')
        r = self.gw.ctl("reload")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"^policy version 2 active \(3 rules\) after [0-9]+ us\n"
                                   r"added: \"ntp\" \(line [0-9]+\)\n"
                                   r"rules: 1 added, 0 removed, 0 changed, 2 unchanged\n"
                                   r"live flows it would cut: 0 of [0-9]+\n$")
        p = self.gw.ctl_json("policy")
        self.assertEqual((p["version"], [(x["name"], x["hits"]) for x in p["rules"]]),
                         (2, [("dns", 3), ("web", 1), ("ntp", 0)]))  # counts continue across reloads
        s = self.gw.ctl_json("status")
        self.assertEqual((s["reloads_ok"], s["reloads_failed"], s["policy_version"]), (1, 1, 2))
        reloads = [without(e, "time_ms", "duration_us") for e in self.gw.event_lines() if e["event"] == "reload"]
        self.assertEqual(reloads, [
            {"event": "reload", "result": "failed", "trigger": "egressctl", "policy_version": 1, "errors": [
                f'{self.gw.config}:{line}:10: policy.rule[0].action: expected "allow" or "deny", got "alow"']},
            {"event": "reload", "result": "ok", "trigger": "egressctl", "policy_version": 2, "rules": 3},
        ])
        metrics = self.metrics()
        for sample in ['egress_policy_version 2', 'egress_policy_reloads_total{result="success"} 1',
                       'egress_policy_reloads_total{result="failure"} 1',
                       'egress_policy_decisions_total{rule="ntp",action="allow"} 0',
                       'egress_policy_decisions_total{rule="dns",action="allow"} 3',
                       'egress_policy_decisions_total{rule="default",action="deny"} 1']:
            self.assertIn(sample + "\n", metrics)

    def metrics(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.gw.metrics_port}/metrics", timeout=10) as r:
            return r.read().decode()

    def test_policy_metrics_and_dpdk_telemetry(self):
        metrics = self.metrics()
        for sample in ['egress_policy_decisions_total{rule="dns",action="allow"} 3',
                       'egress_policy_decisions_total{rule="web",action="allow"} 1',
                       'egress_policy_decisions_total{rule="default",action="deny"} 1',
                       'egress_policy_decisions_total{rule="emergency_block",action="deny"} 0',
                       'egress_policy_version 1', 'egress_policy_blocks_active 0',
                       'egress_security_events_total 1', 'egress_security_events_lost_total 0',
                       'egress_policy_decisions_total{rule="inspection.no_sni",action="deny"} 0',
                       'egress_policy_decisions_total{rule="inspect.hold_timeout",action="deny"} 0']:
            self.assertIn(sample + "\n", metrics)
        # The live worker loops every few microseconds: its age is far below a second.
        ages = re.findall(r'^egress_worker_loop_age_seconds\{worker="(\d+)"\} ([0-9.]+)$', metrics, re.M)
        self.assertEqual([w for w, _ in ages], ["0"])
        self.assertLess(float(ages[0][1]), 1.0)
        # DPDK's telemetry socket (the EAL runtime directory of this process).
        path = f"/var/run/dpdk/egressd-{self.gw.proc.pid}/dpdk_telemetry.v2"
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.connect(path)
        json.loads(s.recv(1024))
        answers = {}
        for cmd in ("/egressd/stats", "/egressd/policy", "/egressd/drops"):
            s.send(cmd.encode())
            answers.update(json.loads(s.recv(65536)))
        s.close()
        self.assertEqual((answers["/egressd/stats"]["flows_active"], answers["/egressd/stats"]["inside_rx_packets"],
                          answers["/egressd/stats"]["flows_created_udp"]), (4, 5, 3))
        self.assertEqual(without(answers["/egressd/policy"], "last_reload_success_unix_ms"),
                         {"version": 1, "reloads_ok": 0, "reloads_failed": 0, "blocks_active": 0, "block_hits": 0,
                          "default_hits": 1, "rule_dns": 3, "rule_web": 1})
        self.assertEqual(answers["/egressd/drops"]["policy_denied"], 1)

    def test_malformed_requests_get_clear_errors_and_harm_nothing(self):
        commands = ("block, blocks, drain, explain, flows, health, nat, policy, reload, sources, stats, status, unblock "
                    "or undrain")
        answers = self.gw.raw(b"garbage\n", b"[1, 2]\n", b'{"cmd": "nope"}\n', b'{"top": 3}\n',
                              b'{"cmd": "flows", "top": "x"}\n', b'{"cmd": "flows", "top": -1}\n',
                              b'{"cmd": "status", "verbose": true}\n', b'{"cmd": "flows", "sort": 1}\n',
                              b'{"cmd": "block", "cidr": "300.0.0.0/8"}\n', b'{"cmd": "block"}\n',
                              b'{"cmd": "nat", "top": 1.5}\n', b'\xff\xfe{}\n')
        self.assertEqual(answers, [
            {"ok": False, "error": "malformed request: not JSON (error at byte 1)"},
            {"ok": False, "error": 'expected a JSON object like {"cmd":"status"}, got [1,2]'},
            {"ok": False, "error": f'cmd: expected one of {commands}, got "nope"'},
            {"ok": False, "error": f"cmd: expected one of {commands}, got nothing"},
            {"ok": False, "error": 'flows: top: expected an integer from 1 to 10000, got "x"'},
            {"ok": False, "error": "flows: top: expected an integer from 1 to 10000, got -1"},
            {"ok": False, "error": 'status: unknown argument "verbose" (it takes none)'},
            {"ok": False, "error": 'flows: unknown argument "sort" (expected top, src or dst)'},
            {"ok": False, "error": 'block: cidr: expected a CIDR like "10.0.0.0/8" or "2001:db8::/32", '
                                   'got "300.0.0.0/8"'},
            {"ok": False, "error": 'block: cidr: expected a CIDR like "10.0.0.0/8" or "2001:db8::/32", got nothing'},
            {"ok": False, "error": "nat: top: expected an integer from 1 to 10000, got 1.5"},
            {"ok": False, "error": "malformed request: not JSON (error at byte 1)"},
        ])
        # A line over 64 KiB: an error, then the connection is closed.
        self.assertEqual(self.gw.raw(b"x" * 70000), [{"ok": False, "error": "request line longer than 65536 bytes"}])
        # A client that connects and goes away, and one that sends half a line.
        socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).connect(self.gw.socket)
        half = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        half.connect(self.gw.socket)
        half.sendall(b'{"cmd": "sta')
        half.close()
        self.assertEqual(self.gw.raw(b'{"cmd": "status"}\n')[0]["flows_active"], 4)
        self.assertEqual(self.gw.proc.poll(), None)


class emergency_block(unittest.TestCase):
    """egressctl block on live af_packet ports: a UDP stream and a TCP connection
    to the blocked network stop at once, a new flow is refused, unblock restores."""

    def test_block_stops_new_and_existing_flows(self):
        ns = f"egressd-block-{os.getpid()}"
        cleanup = harness.veth_namespace(ns)
        try:
            d = tempfile.mkdtemp(prefix="egressd-system-")
            path = os.path.join(d, "block.toml")
            ctl_socket = os.path.join(d, "ctl.sock")
            with open(path, "w") as f:
                f.write(harness.af_packet_config(d) + f'\n[control]\nsocket = "{ctl_socket}"\n')
            probe = os.path.join(os.path.dirname(os.path.abspath(__file__)), "block_probe.py")
            proc = subprocess.run(["ip", "netns", "exec", ns, "/usr/bin/python3", probe, harness.EGRESSD, EGRESSCTL,
                                   path, ctl_socket], capture_output=True, text=True, timeout=180)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            r = json.loads(proc.stdout.strip().splitlines()[-1])
        finally:
            cleanup()
        self.assertEqual(r["returncode"], 0, r["stderr"])
        self.assertEqual(r["tcp_before"], ["established"])
        self.assertEqual(r["block"][0], 0, r["block"])
        self.assertRegex(r["block"][1], r"^blocked 198\.51\.100\.0/24 until ")
        seqs = r["received_seqs"]
        # Everything sent before the block was asked for came out, in order...
        self.assertEqual(seqs[:r["seq_block_requested"]], list(range(r["seq_block_requested"])))
        # ...and nothing sent after `egressctl block` returned did.
        self.assertLess(max(seqs), r["seq_block_done"])
        self.assertGreater(r["sent"], r["seq_block_done"] + 100)
        # The TCP connection's next segment from inside is answered with a reset.
        self.assertEqual(r["rst"], [["198.51.100.7", 443, "10.0.0.5", 41000, "RA"]])
        # A new flow during the block never left; one after the unblock did.
        self.assertEqual(r["unblock"], 0)
        self.assertEqual(r["received_ports"], [40000, 40002])
        drops = r["stats"]["drops"]
        self.assertEqual(drops["policy_blocked"], 1)
        self.assertEqual(drops["policy_cut"], r["sent"] - len(seqs) + 1)  # the stream's rest and the TCP segment


if __name__ == "__main__":
    unittest.main()
