#!/usr/bin/python3
"""The attacker table of issue 14 through the real binary: one egressd run on
pcap vdevs per row, each row a client inside trying to get bytes out that the
policy did not allow (or other bytes than the ones inspected). Every row asserts
the exact TCP payload bytes that reach the outside port (per sequence offset:
in order, each byte once) and the exact non-zero drop counters of egressd's
summary."""
import os
import struct
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import traffic  # noqa: E402
from scapy.all import IP, IPv6, IPv6ExtHdrRouting, TCP, UDP  # noqa: E402

POOL = "203.0.113.10"
CLIENT, SERVER = "10.0.0.5", "198.51.100.7"
CLIENT6, SERVER6 = "fd00:0:0:1::5", "2001:db8:5::8"
C_ISN, S_ISN = 1000, 5000

POLICY = """
[policy]
default = "deny"

[[policy.rule]]
name = "googleapis"
destinations = ["198.51.100.0/24"]
protocol = "tcp"
ports = [443, 80]
hostnames = ["*.googleapis.com"]
action = "allow"

[[policy.rule]]
name = "plain"
destinations = ["198.51.100.0/24"]
protocol = "tcp"
ports = [8443]
action = "allow"

[[policy.rule]]
name = "udp"
destinations = ["0.0.0.0/0", "::/0"]
protocol = "udp"
action = "allow"

[dlp]
[[dlp.pattern]]
name = "aws-access-key"
regex = 'AKIA[0-9A-Z]{16}'
severity = "critical"
action = "block"
"""

AWS_KEY = b"AKIAIOSFODNN7EXAMPLE"


def pieces(data, size):
    """data as (offset, bytes) segments of `size` bytes."""
    return [(i, data[i:i + size]) for i in range(0, len(data), size)]


def tcp_flow(c, cport, dport, segments, dst=SERVER):
    """Handshake (the server's SYN-ACK included), then the client's segments:
    (offset in its stream, bytes), or ("wait", seconds), or ("ack",) for a pure ACK."""
    def out(flags, seq, data=b""):
        c.from_inside(IP(src=CLIENT, dst=dst) / TCP(sport=cport, dport=dport, flags=flags, seq=seq, ack=S_ISN + 1)
                      / data)
    out("S", C_ISN)
    c.from_outside(IP(src=dst, dst=POOL) / TCP(sport=dport, dport=cport, flags="SA", seq=S_ISN, ack=C_ISN + 1))
    out("A", C_ISN + 1)
    for s in segments:
        if s[0] == "wait":
            c.advance(s[1])
        elif s[0] == "ack":
            out("A", C_ISN + 1)
        else:
            out("PA", C_ISN + 1 + s[0], s[1])


def stream_out(r, cport):
    """The client's stream as the outside port got it, and how many of its bytes
    came more than once: each segment of the flow is placed at its offset; a
    byte sent again must be the same byte (else AssertionError), and the stream
    must have no hole."""
    stream, repeated = {}, 0
    for p in r.to_outside:
        if TCP not in p or p[TCP].sport != cport:
            continue
        tcp = bytes(p[TCP])
        payload = tcp[p[TCP].dataofs * 4:p[IP].len - p[IP].ihl * 4]
        offset = p[TCP].seq - C_ISN - 1
        for i, b in enumerate(payload):
            if offset + i in stream:
                assert stream[offset + i] == b, f"byte {offset + i} left twice with different content"
                repeated += 1
            stream[offset + i] = b
    assert sorted(stream) == list(range(len(stream))), "a hole in the stream that left"
    return bytes(stream[i] for i in range(len(stream))), repeated


def udp_from_inside(c, src, dst):
    L3 = IPv6 if ":" in dst else IP
    c.from_inside(L3(src=src, dst=dst) / UDP(sport=5000, dport=53) / b"query")


def on_link_prefixes(config):
    """The test config with the sides' on-link prefixes (the inside prefix's
    broadcast address is a special address only when the prefix is known)."""
    return config.replace('addresses = ["10.0.0.1", "fd00:0:0:1::1"]', 'addresses = ["10.0.0.1/24", "fd00:0:0:1::1/64"]')


HELLO = harness.tls_client_hello("storage.googleapis.com")
REQUEST = b"GET /v1/b HTTP/1.1\r\nHost: storage.googleapis.com\r\nUser-Agent: t\r\n\r\n"
DENIED_REQUEST = b"GET / HTTP/1.1\r\nHost: evil.example\r\n\r\n"
# A record of 16,000 bytes whose ClientHello announces 15,000 bytes of cipher
# suites: every byte after the first 46 is arbitrary, and 14,000 bytes never
# complete it (nor pass the 16,384-byte bound).
NEVER_ENDS = (b"\x16\x03\x01" + struct.pack("!H", 16000) + b"\x01" + (15996).to_bytes(3, "big") + b"\x03\x03" +
              bytes(32) + b"\x00" + struct.pack("!H", 15000))
NEVER_ENDS += bytes((i * 7 + 3) % 256 for i in range(14000 - len(NEVER_ENDS)))
A200 = b"a" * 200

# (what, the client's segments to the server on the port, port, bytes the
# outside gets, how many of them left twice, non-zero drop counters)
HELLO_7 = pieces(HELLO, 7)
DENIED_7 = pieces(harness.tls_client_hello("evil.example"), 7)
TCP_ROWS = [
    ("never-completing hello with arbitrary data: nothing out, reset at the hold timeout",
     pieces(NEVER_ENDS, 1400) + [("wait", 11), ("ack",)], 443, b"", 0, {"hold_timeout": 1}),
    ("oversize hello (17 KB of padding)",
     pieces(harness.tls_client_hello("storage.googleapis.com", padding=17000), 1400), 443, b"", 0,
     {"inspect_oversize": 1, "policy_cut": 12}),
    ("junk on 443", [(0, b"\x00\x01\x02junk that is no TLS record at all\r\n")], 443, b"", 0,
     {"inspect_not_tls": 1}),
    ("HTTP request to a denied Host trickled one byte per segment", pieces(DENIED_REQUEST, 1), 80, b"", 0,
     {"hostname_denied": 1}),
    ("HTTP request to an allowed Host trickled one byte per segment: out whole", pieces(REQUEST, 1), 80, REQUEST, 0,
     {}),
    ("allowed hello in 7-byte segments: out once, in order, byte-identical", HELLO_7, 443, HELLO, 0, {}),
    ("allowed hello in 7-byte segments sent in reverse order", list(reversed(HELLO_7)), 443, HELLO, 0, {}),
    ("allowed hello in 7-byte segments, each held one sent twice",
     [s for s in HELLO_7[:-1] for _ in (0, 1)] + HELLO_7[-1:], 443, HELLO, 0, {}),
    ("denied hello in 7-byte segments, each held one sent twice",
     [s for s in DENIED_7[:-1] for _ in (0, 1)] + DENIED_7[-1:], 443, b"", 0, {"hostname_denied": 1}),
    ("DLP: first copy innocent, retransmission with the key further back than 64 bytes: caught",
     [(0, A200), (0, b"a" * 20 + AWS_KEY + b"a" * 160)], 8443, A200, 0, {"dlp_blocked": 1}),
    ("DLP: first copy innocent, retransmission with the key in its last 64 bytes: dropped",
     [(0, A200), (150, b"a" * 10 + AWS_KEY + b"a" * 20), (200, b"tail")], 8443, A200 + b"tail", 0,
     {"stream_overlap_mismatch": 1}),
    ("DLP: a faithful retransmission passes (the server discards the copy)",
     [(0, A200), (0, A200), (200, b"tail")], 8443, A200 + b"tail", 200, {}),
]

MARTIANS_V4 = [
    (CLIENT, "255.255.255.255"), (CLIENT, "10.0.0.255"), (CLIENT, "224.0.0.251"), (CLIENT, "127.0.0.1"),
    (CLIENT, "240.0.0.1"), (CLIENT, "0.1.2.3"), (CLIENT, "169.254.169.254"), ("127.0.0.1", SERVER),
]
MARTIANS_V6 = [
    (CLIENT6, "ff02::1"), (CLIENT6, "ff0e::1"), (CLIENT6, "::1"), (CLIENT6, "fe80::1"), ("fe80::5", SERVER6),
    ("::1", SERVER6),
]


class attacker_table(unittest.TestCase):
    def test_tcp_rows(self):
        for i, (what, segments, port, out, repeated, drops) in enumerate(TCP_ROWS):
            with self.subTest(what):
                c = traffic.conversation()
                cport = 41000 + i
                tcp_flow(c, cport, port, segments)
                r = harness.run(c, extra=POLICY)
                self.assertEqual(stream_out(r, cport), (out, repeated))
                self.assertEqual(r.drops(), drops)

    def test_special_addresses_and_type0_routing_headers_never_cross(self):
        c = traffic.conversation()
        for src, dst in MARTIANS_V4 + MARTIANS_V6:
            udp_from_inside(c, src, dst)
        # RH0: the first hop looks ordinary; the final destination is not checked
        # against policy, the header is refused.
        c.from_inside(IPv6(src=CLIENT6, dst=SERVER6) / IPv6ExtHdrRouting(type=0, addresses=["2001:db8:6::9"])
                      / UDP(sport=5000, dport=53) / b"query")
        udp_from_inside(c, CLIENT, SERVER)  # an ordinary datagram still crosses
        r = harness.run(c, extra=POLICY, edit=on_link_prefixes)
        self.assertEqual([(p[IP].src, p[IP].dst) for p in r.to_outside], [(POOL, SERVER)])
        self.assertEqual(r.drops(), {
            "special_broadcast": 2, "special_multicast": 3, "special_loopback": 4, "special_reserved": 1,
            "special_unspecified": 1, "special_link_local": 3, "ipv6_routing_type0": 1,
        })


if __name__ == "__main__":
    unittest.main()
