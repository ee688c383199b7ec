"""tools/egressctl against a fake control socket: the request line it sends, its
exact output for each command, its exit codes. No egressd needed.

Run with /usr/bin/python3.
"""
import json
import os
import pathlib
import socket
import subprocess
import tempfile
import threading
import unittest

TOOL = pathlib.Path(__file__).resolve().parents[2] / "tools" / "egressctl"


class FakeServer:
    """Accepts connections one at a time; per connection reads one request line,
    records it and sends `reply` (a dict, raw bytes, or None to close without
    answering)."""

    def __init__(self, path):
        self.path = path
        self.requests = []
        self.reply = None
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(4)
        self.sock.settimeout(0.1)
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.done.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            with conn:
                conn.settimeout(5)
                buf = b""
                while b"\n" not in buf:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    buf += chunk
                self.requests.append(buf.decode())
                if isinstance(self.reply, dict):
                    conn.sendall(json.dumps(self.reply).encode() + b"\n")
                elif self.reply is not None:
                    conn.sendall(self.reply)

    def stop(self):
        self.done.set()
        self.thread.join()
        self.sock.close()


def ok(**fields):
    return {"ok": True, **fields}


STATUS = ok(version="0.1.0", pid=4242, uptime_s=3723, inside="net_pcap0", outside="net_pcap1",
            flows_active=12, flow_capacity=65536, policy_version=3, blocks_active=2, reloads_ok=3,
            reloads_failed=1)

STATS = ok(stats={
    "ports": {"inside": {"device": "net_pcap0", "rx_packets": 120, "rx_bytes": 15000, "tx_packets": 100,
                         "tx_bytes": 14000},
              "outside": {"device": "net_pcap1", "rx_packets": 95, "rx_bytes": 13000, "tx_packets": 110,
                          "tx_bytes": 14500}},
    "flows": {"tcp": {"created": 10, "expired": 4}, "udp": {"created": 5, "expired": 5},
              "icmp": {"created": 1, "expired": 0}, "active": 7, "capacity": 65536, "table_bytes": 4194304,
              "tcp_reopened": 0},
    "nat": [{"address": "198.51.100.1", "mappings_active": 6, "mappings_created": 15, "exhausted": 0}],
    "export": {"enabled": False, "records": 0, "messages": 0, "send_errors": 0, "events_queued": 0,
               "events_lost": 0},
    "drops": {"l2_truncated": 0, "policy_denied": 2, "ipv4_bad_checksum": 2, "inbound_unsolicited": 9},
    "drops_total": 13})

FLOWS = ok(flows=[
    {"proto": "tcp", "inside": "10.0.0.5", "inside_port": 40000, "remote": "203.0.113.10", "remote_port": 443,
     "public": "198.51.100.1", "public_port": 1024, "state": "established", "bytes_out": 5000,
     "bytes_in": 120000, "packets_out": 40, "packets_in": 90, "expires_in_ms": 7199500, "cut": False,
     "rule": "allow-web", "hostname": "api.stripe.com"},
    {"proto": "udp", "inside": "2001:db8:1::5", "inside_port": 5353, "remote": "2001:db8:ff::53",
     "remote_port": 53, "public": None, "public_port": None, "state": "active", "bytes_out": 80,
     "bytes_in": 200, "packets_out": 1, "packets_in": 1, "expires_in_ms": 29001, "cut": True, "rule": "no-dns",
     "hostname": None}],
    matched=5, scanned=40)

POLICY = ok(version=3, loaded_unix_ms=1795766412345, source="/etc/egressd/egressd.toml", default_action="deny",
            default_hits=17, block_hits=4, would_deny=2,
            rules=[{"name": "allow-web", "action": "allow", "mode": "enforce", "line": 42, "hits": 1200},
                   {"name": "smtp", "action": "deny", "mode": "report", "line": 50, "hits": 2}])

NO_POLICY = ok(version=0, loaded_unix_ms=None, source=None, default_action="allow", default_hits=0,
               block_hits=1, would_deny=0, rules=[])

RELOAD_FAILED = {"ok": False, "error": "reload failed: 2 errors, policy version 3 stays active",
                 "errors": ["/etc/egressd/egressd.toml:12:10: action: expected \"allow\" or \"deny\", got \"alow\"",
                            "/etc/egressd/egressd.toml:20:7: cidr: \"10.0.0.0/33\" is not a CIDR"]}

BLOCK = ok(block={"cidr": "203.0.113.0/24", "created_unix_ms": 1795766400000, "expires_unix_ms": 1795767000000,
                  "hits": 0})

BLOCKS = ok(blocks=[
    {"cidr": "203.0.113.0/24", "created_unix_ms": 1795766400000, "expires_unix_ms": 1795767000000, "hits": 31},
    {"cidr": "2001:db8:bad::/48", "created_unix_ms": 1795766412345, "expires_unix_ms": None, "hits": 0}])

NAT = ok(addresses=[
    {"address": "198.51.100.1", "mappings_active": 6, "mappings_created": 15, "exhausted": 0},
    {"address": "198.51.100.2", "mappings_active": 64512, "mappings_created": 70000, "exhausted": 3}],
    hosts=[{"inside": "10.0.0.5", "mappings": 64000}, {"inside": "10.0.0.17", "mappings": 518}],
    hosts_total=9)


class EgressctlTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.dir.name, "egressd.sock")
        self.server = FakeServer(self.path)

    def tearDown(self):
        self.server.stop()
        self.dir.cleanup()

    def run_tool(self, *args, env=None):
        env = {**{k: v for k, v in os.environ.items() if k != "EGRESSD_SOCKET"}, **(env or {})}
        if "EGRESSD_SOCKET" not in env:
            args = ("-s", self.path) + args
        return subprocess.run([str(TOOL), *args], capture_output=True, text=True, timeout=30, env=env)

    def check(self, reply, args, request, stdout, stderr="", rc=0):
        """Run one command: exact request line sent, exact output and exit code."""
        self.server.reply = reply
        p = self.run_tool(*args)
        self.assertEqual((p.returncode, p.stdout, p.stderr), (rc, stdout, stderr))
        self.assertEqual(self.server.requests, [request + "\n"] if request is not None else [])

    def test_status(self):
        self.check(STATUS, ["status"], '{"cmd":"status"}',
                   "version: 0.1.0\n"
                   "pid: 4242\n"
                   "uptime: 1h 02m 03s\n"
                   "inside: net_pcap0\n"
                   "outside: net_pcap1\n"
                   "flows: 12 active of 65536\n"
                   "policy version: 3\n"
                   "blocks: 2\n"
                   "reloads: 3 ok, 1 failed\n")

    def test_status_short_uptimes(self):
        for uptime, shown in ((42, "42s"), (123, "2m 03s"), (0, "0s"), (90061, "25h 01m 01s")):
            self.server.requests.clear()
            self.server.reply = {**STATUS, "uptime_s": uptime}
            p = self.run_tool("status")
            self.assertEqual(p.returncode, 0)
            self.assertEqual(p.stdout.splitlines()[2], "uptime: " + shown)

    def test_status_json(self):
        self.check(STATUS, ["--json", "status"], '{"cmd":"status"}',
                   '{"blocks_active": 2, "flow_capacity": 65536, "flows_active": 12, "inside": "net_pcap0", '
                   '"ok": true, "outside": "net_pcap1", "pid": 4242, "policy_version": 3, "reloads_failed": 1, '
                   '"reloads_ok": 3, "uptime_s": 3723, "version": "0.1.0"}\n')

    def test_socket_from_environment(self):
        self.server.reply = STATUS
        p = self.run_tool("--json", "status", env={"EGRESSD_SOCKET": self.path})
        self.assertEqual((p.returncode, p.stderr), (0, ""))
        self.assertEqual(json.loads(p.stdout), STATUS)

    def test_stats(self):
        self.check(STATS, ["stats"], '{"cmd":"stats"}',
                   "PORT     DEVICE     RX-PACKETS  RX-BYTES  TX-PACKETS  TX-BYTES\n"
                   "inside   net_pcap0  120         15000     100         14000\n"
                   "outside  net_pcap1  95          13000     110         14500\n"
                   "drop inbound_unsolicited 9\n"
                   "drop ipv4_bad_checksum 2\n"
                   "drop policy_denied 2\n"
                   "flows tcp: 10 created, 4 expired\n"
                   "flows udp: 5 created, 5 expired\n"
                   "flows icmp: 1 created, 0 expired\n"
                   "flows: 7 active of 65536\n")

    def test_stats_missing_keys(self):
        self.check(ok(stats={}), ["stats"], '{"cmd":"stats"}', "flows: 0 active of 0\n")

    def test_flows(self):
        self.check(FLOWS, ["flows", "--top", "2"], '{"cmd":"flows","top":2}',
                   "PROTO  INSIDE                REMOTE                PUBLIC             STATE         "
                   "BYTES-OUT  BYTES-IN  PKTS-OUT  PKTS-IN  EXPIRES     RULE       HOSTNAME\n"
                   "tcp    10.0.0.5:40000        203.0.113.10:443      198.51.100.1:1024  established   "
                   "5000       120000    40        90       2h 00m 00s  allow-web  api.stripe.com\n"
                   "udp    [2001:db8:1::5]:5353  [2001:db8:ff::53]:53  -                  active (cut)  "
                   "80         200       1         1        30s         no-dns     -\n"
                   "2 of 5 matching flows shown (40 scanned)\n")

    def test_flows_filters_none_matching(self):
        self.check(ok(flows=[], matched=0, scanned=40),
                   ["flows", "--src", "10.0.0.0/8", "--dst", "2001:db8::/32"],
                   '{"cmd":"flows","src":"10.0.0.0/8","dst":"2001:db8::/32"}',
                   "0 of 0 matching flows shown (40 scanned)\n")

    def test_flows_server_rejects_argument(self):
        # Ranges and CIDRs are the server's to check; its error is printed.
        self.check({"ok": False, "error": "flows: top: expected an integer from 1 to 10000, got 0"},
                   ["flows", "--top", "0"], '{"cmd":"flows","top":0}',
                   "", "egressctl: flows: top: expected an integer from 1 to 10000, got 0\n", 1)

    def test_usage_error_sends_nothing(self):
        for args in (["flows", "--top", "x"], [], ["frobnicate"], ["block"], ["block", "1.2.3.4", "--ttl", "y"]):
            p = self.run_tool(*args)
            self.assertEqual(p.returncode, 2, args)
            self.assertEqual(p.stdout, "")
            self.assertIn("usage: egressctl", p.stderr)
        self.assertEqual(self.server.requests, [])

    def test_policy(self):
        self.check(POLICY, ["policy"], '{"cmd":"policy"}',
                   "policy version 3, loaded 2026-11-27T08:00:12Z, from /etc/egressd/egressd.toml\n"
                   "RULE       ACTION  MODE     LINE  HITS\n"
                   "allow-web  allow   enforce  42    1200\n"
                   "smtp       deny    report   50    2\n"
                   "default (deny): 17\n"
                   "emergency blocks: 4\n"
                   "would deny (report mode): 2\n")

    def test_no_policy(self):
        self.check(NO_POLICY, ["policy"], '{"cmd":"policy"}',
                   "no [policy] configured: all outbound flows are allowed\n"
                   "emergency blocks: 1\n")

    def test_reload(self):
        self.check(ok(version=4, rules=12, duration_us=850), ["reload"], '{"cmd":"reload"}',
                   "policy version 4 active (12 rules) after 850 us\n")

    def test_reload_dry_run(self):
        lines = ["added: \"ntp\" (line 11)", "rules: 1 added, 0 removed, 0 changed, 2 unchanged",
                 "live flows it would cut: 0 of 7"]
        self.check(ok(dry_run=True, version=5, rules=3, lines=lines), ["reload", "--dry-run"],
                   '{"cmd":"reload","dry_run":true}',
                   "dry run: policy version 5 would be active (3 rules); nothing applied\n" +
                   "".join(line + "\n" for line in lines))

    def test_reload_dry_run_of_another_file(self):
        self.check(ok(dry_run=True, version=5, rules=0, lines=[]), ["reload", "--dry-run", "--file", "/etc/new.toml"],
                   '{"cmd":"reload","dry_run":true,"file":"/etc/new.toml"}',
                   "dry run: policy version 5 would be active (0 rules); nothing applied\n")
        self.server.requests.clear()
        self.check(None, ["reload", "--file", "/etc/new.toml"], None, "",
                   "egressctl: reload: --file needs --dry-run\n", 2)

    def test_reload_applied_shows_the_changes(self):
        self.check(ok(version=4, rules=12, duration_us=850, lines=["live flows it would cut: 2 of 9"]), ["reload"],
                   '{"cmd":"reload"}', "policy version 4 active (12 rules) after 850 us\nlive flows it would cut: 2 of 9\n")

    def test_reload_failed(self):
        self.check(RELOAD_FAILED, ["reload"], '{"cmd":"reload"}', "",
                   "egressctl: reload failed: 2 errors, policy version 3 stays active\n"
                   "/etc/egressd/egressd.toml:12:10: action: expected \"allow\" or \"deny\", got \"alow\"\n"
                   "/etc/egressd/egressd.toml:20:7: cidr: \"10.0.0.0/33\" is not a CIDR\n", 1)

    def test_reload_failed_json(self):
        self.check(RELOAD_FAILED, ["--json", "reload"], '{"cmd":"reload"}',
                   json.dumps(RELOAD_FAILED, sort_keys=True) + "\n",
                   "egressctl: reload failed: 2 errors, policy version 3 stays active\n"
                   "/etc/egressd/egressd.toml:12:10: action: expected \"allow\" or \"deny\", got \"alow\"\n"
                   "/etc/egressd/egressd.toml:20:7: cidr: \"10.0.0.0/33\" is not a CIDR\n", 1)

    def test_explain(self):
        lines = ["10.0.0.5 -> 203.0.113.80 tcp/443 name \"api.stripe.com\" (policy version 2)",
                 "decision: allow by rule \"stripe\" (/etc/egressd.toml:16)"]
        self.check(ok(action="allow", lines=lines),
                   ["explain", "--src", "10.0.0.5", "--dst", "203.0.113.80", "--port", "443", "--sni",
                    "api.stripe.com"],
                   '{"cmd":"explain","src":"10.0.0.5","dst":"203.0.113.80","port":443,"sni":"api.stripe.com"}',
                   "".join(line + "\n" for line in lines))

    def test_explain_udp_with_host_and_error(self):
        self.check({"ok": False, "error": "explain: src and dst: one address family"},
                   ["explain", "--src", "10.0.0.5", "--dst", "2001:db8::1", "--proto", "udp", "--port", "53",
                    "--host", ""],
                   '{"cmd":"explain","src":"10.0.0.5","dst":"2001:db8::1","proto":"udp","port":53,"host":""}',
                   "", "egressctl: explain: src and dst: one address family\n", 1)

    def test_explain_needs_src_and_dst_and_one_name(self):
        for args in (["explain", "--dst", "192.0.2.1"], ["explain", "--src", "10.0.0.5", "--dst", "192.0.2.1",
                                                          "--sni", "a", "--host", "b"]):
            p = self.run_tool(*args)
            self.assertEqual(p.returncode, 2, args)
            self.assertEqual(p.stdout, "")
        self.assertEqual(self.server.requests, [])

    def test_block_with_ttl(self):
        self.check(BLOCK, ["block", "203.0.113.0/24", "--ttl", "600"],
                   '{"cmd":"block","cidr":"203.0.113.0/24","ttl":600}',
                   "blocked 203.0.113.0/24 until 2026-11-27T08:10:00Z\n")

    def test_block_without_expiry(self):
        entry = {**BLOCK["block"], "expires_unix_ms": None}
        self.check(ok(block=entry), ["block", "203.0.113.0/24"], '{"cmd":"block","cidr":"203.0.113.0/24"}',
                   "blocked 203.0.113.0/24 (no expiry)\n")

    def test_unblock(self):
        entry = {"cidr": "198.51.100.0/24", "created_unix_ms": 1795766400000, "expires_unix_ms": None, "hits": 3}
        self.check(ok(removed=entry), ["unblock", "198.51.100.0/24"], '{"cmd":"unblock","cidr":"198.51.100.0/24"}',
                   "unblocked 198.51.100.0/24\n")

    def test_unblock_unknown(self):
        self.check({"ok": False, "error": "no block for 198.51.100.0/24"}, ["unblock", "198.51.100.0/24"],
                   '{"cmd":"unblock","cidr":"198.51.100.0/24"}', "", "egressctl: no block for 198.51.100.0/24\n", 1)

    def test_blocks(self):
        self.check(BLOCKS, ["blocks"], '{"cmd":"blocks"}',
                   "CIDR               CREATED               EXPIRES               HITS\n"
                   "203.0.113.0/24     2026-11-27T08:00:00Z  2026-11-27T08:10:00Z  31\n"
                   "2001:db8:bad::/48  2026-11-27T08:00:12Z  never                 0\n")

    def test_no_blocks(self):
        self.check(ok(blocks=[]), ["blocks"], '{"cmd":"blocks"}', "no blocks\n")

    def test_nat(self):
        self.check(NAT, ["nat", "--top", "2"], '{"cmd":"nat","top":2}',
                   "ADDRESS       IN-USE  CREATED  EXHAUSTED\n"
                   "198.51.100.1  6       15       0\n"
                   "198.51.100.2  64512   70000    3\n"
                   "top inside hosts by NAT mappings held (9 hosts hold mappings):\n"
                   "INSIDE     MAPPINGS\n"
                   "10.0.0.5   64000\n"
                   "10.0.0.17  518\n")

    def test_sources(self):
        reply = ok(sources=[{"source": "10.0.0.7", "flows": 100, "refused": 901},
                            {"source": "fd00:0:0:1::", "flows": 3, "refused": 1}], sources_total=5)
        self.check(reply, ["sources", "--top", "2"], '{"cmd":"sources","top":2}',
                   "inside hosts under [limits], most refused first (5 tracked):\n"
                   "SOURCE        FLOWS  REFUSED\n"
                   "10.0.0.7      100    901\n"
                   "fd00:0:0:1::  3      1\n")

    def test_json_every_command(self):
        cases = [(STATUS, ["status"]), (STATS, ["stats"]), (FLOWS, ["flows"]), (POLICY, ["policy"]),
                 (ok(version=4, rules=12, duration_us=850), ["reload"]), (BLOCK, ["block", "203.0.113.0/24"]),
                 (ok(removed=BLOCK["block"]), ["unblock", "203.0.113.0/24"]), (BLOCKS, ["blocks"]), (NAT, ["nat"])]
        for reply, args in cases:
            self.server.requests.clear()
            self.check(reply, ["--json", *args], json.dumps({"cmd": args[0], **(
                {"cidr": args[1]} if len(args) > 1 else {})}, separators=(",", ":")),
                json.dumps(reply, sort_keys=True) + "\n")

    def test_health_exit_code_is_the_state(self):
        for state, reason, rc in (("ready", "ok", 0), ("draining", "drained by egressctl", 1),
                                  ("failed", "worker 0 stalled (its loop did not advance for 1000 ms)", 2)):
            self.server.requests.clear()
            self.check(ok(state=state, reason=reason, since_unix_ms=1795766412345, drained=state == "draining",
                          flows_active=7),
                       ["health"], '{"cmd":"health"}',
                       f"state: {state}\nreason: {reason}\nsince: 2026-11-27T08:00:12Z\nflows: 7 active\n", rc=rc)

    def test_health_json_keeps_the_exit_code(self):
        reply = ok(state="draining", reason="drained by egressctl", since_unix_ms=1, drained=True, flows_active=0)
        self.check(reply, ["--json", "health"], '{"cmd":"health"}', json.dumps(reply, sort_keys=True) + "\n", rc=1)

    def test_drain_and_undrain(self):
        self.check(ok(state="draining", reason="drained by egressctl", since_unix_ms=1, drained=True,
                      flows_active=12), ["drain"], '{"cmd":"drain"}', "draining: 12 flows active\n")
        self.server.requests.clear()
        self.check(ok(state="ready", reason="ok", since_unix_ms=2, drained=False, flows_active=12), ["undrain"],
                   '{"cmd":"undrain"}', "ready: 12 flows active\n")

    def test_drain_wait_with_no_flows_left(self):
        self.check(ok(state="draining", reason="drained by egressctl", since_unix_ms=1, drained=True,
                      flows_active=0), ["drain", "--wait", "5"], '{"cmd":"drain"}',
                   "draining: 0 flows active\nno flows left after 0.0 s\n")

    def test_drain_wait_times_out_while_flows_remain(self):
        self.server.reply = ok(state="draining", reason="drained by egressctl", since_unix_ms=1, drained=True,
                               flows_active=2)
        p = self.run_tool("drain", "--wait", "0.5")
        self.assertEqual((p.returncode, p.stdout, p.stderr),
                         (1, "draining: 2 flows active\n2 flows still active after 0.5 s\n", ""))
        self.assertEqual(self.server.requests[0], '{"cmd":"drain"}\n')
        self.assertGreaterEqual(len(self.server.requests), 3)  # health asked while waiting
        self.assertEqual(set(self.server.requests[1:]), {'{"cmd":"health"}\n'})

    def test_missing_socket(self):
        path = os.path.join(self.dir.name, "absent.sock")
        p = subprocess.run([str(TOOL), "-s", path, "status"], capture_output=True, text=True, timeout=30)
        self.assertEqual((p.returncode, p.stdout, p.stderr),
                         (3, "", f"egressctl: cannot connect to {path}: No such file or directory\n"))

    def test_connection_refused(self):
        path = os.path.join(self.dir.name, "dead.sock")
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.bind(path)  # bound, never listening
            p = subprocess.run([str(TOOL), "-s", path, "status"], capture_output=True, text=True, timeout=30)
        self.assertEqual((p.returncode, p.stdout, p.stderr),
                         (3, "", f"egressctl: cannot connect to {path}: Connection refused\n"))

    def test_server_closes_without_reply(self):
        self.check(None, ["status"], '{"cmd":"status"}', "", f"egressctl: no response from {self.path}\n", 3)

    def test_bad_response(self):
        self.check(b"not json\n", ["status"], '{"cmd":"status"}', "", f"egressctl: bad response from {self.path}\n", 3)


if __name__ == "__main__":
    unittest.main()
