#!/usr/bin/python3
"""Flow export end to end: the real egressd on pcap vdevs exports IPFIX to a real
collector (nfcapd from Debian's nfdump) on loopback; the test reads the records
back with nfdump, decodes the captured messages with tshark, and checks the
JSON-lines flow log."""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import traffic  # noqa: E402
from scapy.all import IP, IPv6, TCP, UDP, ICMP  # noqa: E402

POOL = "203.0.113.10"
CLIENT, SERVER = "10.0.0.5", "198.51.100.7"


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_json_lines(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def ip_len(pkt):
    return len(pkt[IP]) if pkt.haslayer(IP) else len(pkt[IPv6])


class collector:
    """nfcapd on loopback, plus tcpdump capturing what reaches it."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="egressd-nfcapd-")
        self.port = free_udp_port()
        self.pcap = os.path.join(self.dir, "ipfix.pcap")
        self.nfcapd = subprocess.Popen(["nfcapd", "-w", self.dir, "-p", str(self.port), "-b", "127.0.0.1",
                                        "-t", "3600"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.tcpdump = subprocess.Popen(["tcpdump", "-i", "lo", "--immediate-mode", "-U", "-Z", "root", "-w", self.pcap, "udp", "port", str(self.port)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)

    def export_toml(self, json_log="", ring_size=65536, nat_session_events=False):
        return (f'\n[export]\ncollectors = ["127.0.0.1:{self.port}"]\njson_log = "{json_log}"\n'
                f'ring_size = {ring_size}\nnat_session_events = {"true" if nat_session_events else "false"}\n')

    def records(self):
        """Stops the collector and returns nfdump's records (JSON)."""
        time.sleep(0.5)
        self.tcpdump.send_signal(signal.SIGINT)
        self.tcpdump.wait(timeout=10)
        self.nfcapd.send_signal(signal.SIGTERM)
        self.nfcapd.wait(timeout=10)
        files = [f for f in os.listdir(self.dir) if f.startswith("nfcapd.")]
        if not files:
            return []
        out = subprocess.run(["nfdump", "-r", os.path.join(self.dir, files[0]), "-o", "json"], capture_output=True,
                             text=True, check=True).stdout
        return json.loads(out) if out.strip() else []

    def tshark(self):
        return subprocess.run(["tshark", "-r", self.pcap, "-d", f"udp.port=={self.port},cflow", "-V"],
                              capture_output=True, text=True, check=True).stdout


def conversation_with_known_flows():
    """TCP that closes, UDP that goes idle, an ICMP echo and an IPv6 TCP connection
    still open at the end, and three refused inbound SYNs from one scanner."""
    c = traffic.conversation()
    traffic.tcp_session(c, CLIENT, 40000, SERVER, 443, public=POOL, pport=40000)
    traffic.udp_exchange(c, "10.0.0.6", 5353, "198.51.100.53", 53, public=POOL, pport=5353)
    c.from_inside(IP(src="10.0.0.7", dst=SERVER) / ICMP(type=8, id=4242, seq=1))
    c.from_outside(IP(src=SERVER, dst=POOL) / ICMP(type=0, id=4242, seq=1))
    traffic.tcp_session(c, "fd00:0:0:1::5", 41000, "2001:db8:5::7", 443, close=False)
    for sport in (1111, 2222, 3333):
        c.from_outside(IP(src="198.51.100.66", dst=POOL) / TCP(sport=sport, dport=22, flags="S"))
    c.advance(250)  # TIME_WAIT (240 s), the UDP idle timeout (120 s) and ICMP (60 s) pass
    c.from_inside(IP(src="10.0.0.9", dst=SERVER) / UDP(sport=7000, dport=53) / b"late")  # open at shutdown
    return c


def volumes(conv):
    """Per flow key (src, sport, dst, dport, proto): packets and IP bytes each way."""
    v = {}
    for p in conv.inside:
        l3 = p[IP] if p.haslayer(IP) else p[IPv6]
        l4 = l3.payload
        key = (l3.src, getattr(l4, "sport", getattr(l4, "id", 0)), l3.dst, getattr(l4, "dport", 0))
        e = v.setdefault(key, [0, 0, 0, 0])
        e[0] += 1
        e[1] += ip_len(p)
    for p in conv.outside:
        l3 = p[IP] if p.haslayer(IP) else p[IPv6]
        l4 = l3.payload
        for key, e in v.items():
            if key[2] == l3.src and (key[3] == getattr(l4, "sport", 0) or l4.name == "ICMP"):
                e[2] += 1
                e[3] += ip_len(p)
    return v


class ipfix_to_nfcapd(unittest.TestCase):
    def test_every_flow_arrives_once_with_counts_translations_and_end_reasons(self):
        col = collector()
        conv = conversation_with_known_flows()
        log = tempfile.mktemp(prefix="egressd-flows-", suffix=".jsonl")
        r = harness.run(conv, extra=col.export_toml(json_log=log))
        records = col.records()
        flows = [x for x in records if x.get("first", "").startswith("2023")]
        by_src = {}
        for f in flows:
            key = f.get("src4_addr") or f.get("src6_addr")
            by_src.setdefault(key, []).append(f)
        # One record per flow, and the refused SYNs as one aggregated record.
        self.assertEqual(sorted(by_src), sorted([CLIENT, "10.0.0.6", "10.0.0.7", "10.0.0.9", "fd00:0:0:1::5",
                                                 "198.51.100.66"]))
        for key, recs in by_src.items():
            self.assertEqual(len(recs), 1, f"{key}: {recs}")
        tcp = by_src[CLIENT][0]
        self.assertEqual((tcp["src_port"], tcp["dst4_addr"], tcp["dst_port"], tcp["proto"]), (40000, SERVER, 443, 6))
        self.assertEqual((tcp["in_packets"], tcp["out_packets"]), (5, 3))
        sent_out = sum(ip_len(p) for p in conv.inside[:5])
        sent_back = sum(ip_len(p) for p in conv.outside[:3])
        self.assertEqual((tcp["in_bytes"], tcp["out_bytes"]), (sent_out, sent_back))
        self.assertEqual((tcp["src4_xlt_ip"], tcp["src_xlt_port"]), (POOL, "40000"))
        udp = by_src["10.0.0.6"][0]
        self.assertEqual((udp["in_packets"], udp["out_packets"], udp["src4_xlt_ip"]), (1, 1, POOL))
        v6 = by_src["fd00:0:0:1::5"][0]
        self.assertEqual((v6["dst6_addr"], v6["in_packets"], v6["out_packets"]), ("2001:db8:5::7", 3, 2))
        denied = by_src["198.51.100.66"][0]
        self.assertEqual((denied["dst4_addr"], denied["dst_port"], denied["in_packets"]), (POOL, 22, 3))
        # The same records in the JSON-lines log, with their end reasons.
        lines = read_json_lines(log)
        reasons = {(x["src"], x.get("src_port")): x.get("end_reason") for x in lines if x["event"] == "flow_end"}
        self.assertEqual(reasons, {(CLIENT, 40000): "end_of_flow", ("10.0.0.6", 5353): "idle_timeout",
                                   ("10.0.0.7", 4242): "idle_timeout", ("fd00:0:0:1::5", 41000): "forced_end",
                                   ("10.0.0.9", 7000): "forced_end"})
        self.assertEqual(r.summary["export"]["events_lost"], 0)
        self.assertEqual(r.summary["export"]["records"], 6)
        # tshark decodes every message without complaint.
        decoded = col.tshark()
        self.assertNotIn("Malformed", decoded)
        self.assertNotIn("[Expert Info (Error", decoded)
        self.assertIn("Template Id: 256", decoded)
        self.assertIn("End of Flow detected", decoded)

    def test_nat_session_events_and_port_exhaustion_are_exported(self):
        col = collector()
        c = traffic.conversation()
        for port in (2000, 2001, 2002):
            c.from_inside(IP(src=CLIENT, dst=SERVER) / UDP(sport=port, dport=53) / b"q")
        log = tempfile.mktemp(prefix="egressd-flows-", suffix=".jsonl")
        harness.run(c, port_min=1000, port_max=1001, extra=col.export_toml(json_log=log, nat_session_events=True))
        records = col.records()
        events = sorted((x.get("nat_event"), x.get("src4_addr"), x.get("src4_xlt_ip")) for x in records
                        if x.get("nat_event_id", "0") != "0")
        self.assertEqual(events, [("NAT ports exhausted", CLIENT, POOL)] + [("NAT44 session create", CLIENT, POOL)] * 2)
        lines = read_json_lines(log)
        exhausted = [x for x in lines if x.get("nat_event") == "ports_exhausted"]
        self.assertEqual(len(exhausted), 1)
        self.assertEqual((exhausted[0]["src"], exhausted[0]["dst"], exhausted[0]["dst_port"]), (CLIENT, SERVER, 53))


HOSTNAME_POLICY = """
[policy]
default = "deny"

[[policy.rule]]
name = "saas"
destinations = ["198.51.100.0/24"]
protocol = "tcp"
hostnames = ["api.stripe.com"]
action = "allow"
"""


class denied_flow_record(unittest.TestCase):
    def test_a_flow_denied_by_its_name_is_one_record_with_its_drops(self):
        """An HTTP request to a name the policy does not allow: the handshake passed,
        the request is held and denied, the client retransmits it once. The
        collector gets one record of the flow with all its packets, the dropped
        ones counted apart, the reason and the resets egressd sent; no
        refused-attempt record of its own."""
        col = collector()
        c = traffic.conversation()
        req = b"GET / HTTP/1.1\r\nHost: evil.example\r\n\r\n"
        out = lambda flags, seq, data=b"": c.from_inside(  # noqa: E731
            IP(src=CLIENT, dst=SERVER) / TCP(sport=40100, dport=80, flags=flags, seq=seq, ack=5001) / data)
        out("S", 1000)
        c.from_outside(IP(src=SERVER, dst=POOL) / TCP(sport=80, dport=40100, flags="SA", seq=5000, ack=1001))
        out("A", 1001)
        out("PA", 1001, req)
        out("PA", 1001, req)  # the retransmission: the flow is cut, a reset answers it
        log = tempfile.mktemp(prefix="egressd-flows-", suffix=".jsonl")
        r = harness.run(c, extra=col.export_toml(json_log=log) + HOSTNAME_POLICY)
        records = col.records()
        flows = [x for x in records if x.get("first", "").startswith("2023")]
        self.assertEqual(len(flows), 1, flows)  # no refused-attempt record beside it
        f = flows[0]
        self.assertEqual((f["src4_addr"], f["src_port"], f["dst4_addr"], f["dst_port"]), (CLIENT, 40100, SERVER, 80))
        self.assertEqual((f["in_packets"], f["out_packets"]), (4, 1))
        self.assertEqual((f["in_bytes"], f["out_bytes"]),
                         (sum(ip_len(p) for p in c.inside), sum(ip_len(p) for p in c.outside)))
        self.assertEqual(r.drops(), {"hostname_denied": 1, "policy_cut": 1})
        # The JSON flow log says the same, with what was dropped and why.
        lines = [x for x in read_json_lines(log) if x["event"] in ("flow_end", "flow_denied")]
        self.assertEqual(len(lines), 1, lines)
        x = lines[0]
        self.assertEqual((x["event"], x["firewall_event"], x["end_reason"], x["drop_reason"], x["rule"]),
                         ("flow_end", "flow_denied", "forced_end", "hostname_denied", "default"))
        self.assertEqual((x["dropped_packets"], x["dropped_bytes"], x["resets_sent"]),
                         (2, 2 * ip_len(c.inside[-1]), 3))
        self.assertEqual(x["http_host"], "evil.example")
        # tshark decodes the standard dropped counts and the firewall event.
        decoded = col.tshark()
        self.assertNotIn("Malformed", decoded)
        self.assertRegex(decoded, r"Dropped Packets: 2\n")
        self.assertRegex(decoded, rf"Dropped Octets: {2 * ip_len(c.inside[-1])}\n")
        self.assertIn("Firewall Event: Flow denied (3)\n", decoded)
        self.assertIn("Flow End Reason: Forced end (4)\n", decoded)


LONG_NAME = "a" * 63 + "." + "b" * 63 + "." + "c" * 63 + "." + "d" * 49 + ".example.org"  # 253: DNS's longest
LONG_RULE = "long-names-" + "r" * 53  # 64: the policy's longest

LONG_NAME_POLICY = f"""
[policy]
default = "deny"

[[policy.rule]]
name = "{LONG_RULE}"
destinations = ["198.51.100.0/24"]
protocol = "tcp"
hostnames = ["*.example.org"]
action = "allow"
"""


class long_names(unittest.TestCase):
    def test_the_whole_sni_and_rule_reach_the_collector_and_the_log(self):
        """An allowed TLS connection whose SNI is 253 characters: nfcapd reads
        the records, the IPFIX message carries the name whole (tlsServerName,
        one length octet 253) and the rule whole (policyRuleName, 64), and the
        JSON flow log says the same."""
        self.assertEqual((len(LONG_NAME), len(LONG_RULE)), (253, 64))
        col = collector()
        c = traffic.conversation()
        hello = harness.tls_client_hello(LONG_NAME)
        out = lambda flags, seq, data=b"": c.from_inside(  # noqa: E731
            IP(src=CLIENT, dst=SERVER) / TCP(sport=40200, dport=443, flags=flags, seq=seq, ack=5001) / data)
        out("S", 1000)
        c.from_outside(IP(src=SERVER, dst=POOL) / TCP(sport=443, dport=40200, flags="SA", seq=5000, ack=1001))
        out("A", 1001)
        out("PA", 1001, hello)
        log = tempfile.mktemp(prefix="egressd-flows-", suffix=".jsonl")
        r = harness.run(c, extra=col.export_toml(json_log=log) + LONG_NAME_POLICY)
        self.assertEqual(r.drops(), {})
        records = col.records()
        flows = [x for x in records if x.get("first", "").startswith("2023")]
        self.assertEqual([(f["src4_addr"], f["src_port"], f["dst_port"]) for f in flows], [(CLIENT, 40200, 443)])
        lines = [x for x in read_json_lines(log) if x["event"] == "flow_end"]
        self.assertEqual([(x["server_name"], x["http_host"], x["rule"]) for x in lines], [(LONG_NAME, "", LONG_RULE)])
        # The data record: httpRequestHost empty, then the name and the rule, whole.
        from scapy.utils import rdpcap
        messages = [bytes(p[UDP].payload) for p in rdpcap(col.pcap)]
        strings = b"\x00\xfd" + LONG_NAME.encode() + b"\x40" + LONG_RULE.encode()
        self.assertEqual(sum(m.count(strings) for m in messages), 1)
        self.assertNotIn("Malformed", col.tshark())


class ring_overflow(unittest.TestCase):
    def test_overflow_is_counted_and_reported_to_the_collector(self):
        col = collector()
        c = traffic.conversation()
        for i in range(600):  # 600 distinct scanners: 600 aggregated records in one flush
            c.from_outside(IP(src=f"198.51.{100 + i // 250}.{i % 250 + 1}", dst=POOL) /
                           TCP(sport=1000 + i, dport=22, flags="S"))
        c.advance(2)  # the next packet finds the aggregation interval over: the flush happens mid-run
        c.from_inside(IP(src=CLIENT, dst=SERVER) / UDP(sport=5000, dport=53) / b"q")
        log = tempfile.mktemp(prefix="egressd-flows-", suffix=".jsonl")
        r = harness.run(c, extra=col.export_toml(json_log=log, ring_size=64))
        col.records()
        lost = r.summary["export"]["events_lost"]
        self.assertGreater(lost, 0)
        self.assertEqual(r.summary["export"]["events_queued"] + lost, 601)  # + the UDP flow's forced end
        self.assertEqual(r.summary["export"]["records"], 601 - lost)
        lines = read_json_lines(log)
        loss = [x for x in lines if x["event"] == "events_lost"]
        self.assertEqual(loss[-1]["lost_total"], lost)
        decoded = col.tshark()
        self.assertNotIn("Malformed", decoded)
        self.assertIn(f"Not Sent Flows: {lost}\n", decoded)  # notSentFlowTotalCount (166)


class two_collectors(unittest.TestCase):
    def test_ipv4_and_ipv6_collectors_receive_the_same_messages(self):
        v4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        v4.bind(("127.0.0.1", 0))
        v6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        v6.bind(("::1", 0))
        c = traffic.conversation()
        traffic.udp_exchange(c, CLIENT, 5353, SERVER, 53, public=POOL, pport=5353)
        extra = (f'\n[export]\ncollectors = ["127.0.0.1:{v4.getsockname()[1]}", "[::1]:{v6.getsockname()[1]}"]\n'
                 f'observation_domain_id = 77\n')
        harness.run(c, extra=extra)
        got = []
        for s in (v4, v6):
            s.settimeout(2)
            msgs = []
            try:
                while True:
                    msgs.append(s.recv(65535))
                    s.settimeout(0.2)
            except socket.timeout:
                pass
            s.close()
            got.append(msgs)
        self.assertGreaterEqual(len(got[0]), 1)
        self.assertEqual(got[0], got[1])
        first = got[0][0]
        self.assertEqual(int.from_bytes(first[0:2], "big"), 10)           # IPFIX version
        self.assertEqual(int.from_bytes(first[2:4], "big"), len(first))   # message length
        self.assertEqual(int.from_bytes(first[12:16], "big"), 77)         # observation domain
        self.assertEqual(int.from_bytes(first[16:18], "big"), 2)          # first set: templates


if __name__ == "__main__":
    unittest.main()
