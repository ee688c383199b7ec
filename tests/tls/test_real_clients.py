#!/usr/bin/python3
"""Real TLS ClientHellos against egressd's parser (lib/tls/client_hello).

Hellos come from Python's ssl module (memory BIOs, nothing on the network) and
from `openssl s_client` talking to `openssl s_server` on 127.0.0.1, captured with
tcpdump. Each hello goes through tests/tls/hello_dump (path in $HELLO_DUMP),
which parses it and every prefix of it; the server name and ALPN list must equal
what the client was given and what tshark decodes from a capture of the same
bytes (a real one for s_client, a fake TCP stream written with scapy for ssl).
"""
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import unittest
import warnings

from scapy.all import IP, TCP, Ether, Raw, rdpcap, wrpcap

HELLO_DUMP = os.environ.get("HELLO_DUMP", "")
ALPN_CAPACITY = 64  # client_hello_info::alpn


def hello_dump(data, *options):
    """hello_dump's JSON for `data` (always with the prefix check)."""
    with tempfile.NamedTemporaryFile(prefix="egressd-hello-", suffix=".bin") as f:
        f.write(data)
        f.flush()
        out = subprocess.run([HELLO_DUMP, "--prefixes", *options, f.name], capture_output=True, text=True,
                             check=True, timeout=60).stdout
    return json.loads(out)


def expected_alpn(protocols):
    """The ALPN list as the parser keeps it: whole names while they fit, in order."""
    kept = ""
    for p in protocols:
        joined = p if not kept else kept + "," + p
        if len(joined) > ALPN_CAPACITY:
            return kept, True
        kept = joined
    return kept, False


def record_count(stream, end):
    """How many TLS records the first `end` bytes of `stream` hold."""
    count = at = 0
    while at < end:
        at += 5 + int.from_bytes(stream[at + 3:at + 5], "big")
        count += 1
    assert at == end, (at, end)
    return count


def tshark_hellos(pcap, port):
    """(server name, ALPN list) of every ClientHello tshark decodes in `pcap`."""
    out = subprocess.run(["tshark", "-r", pcap, "-d", f"tcp.port=={port},tls", "-Y", "tls.handshake.type == 1",
                          "-T", "fields", "-e", "tls.handshake.extensions_server_name",
                          "-e", "tls.handshake.extensions_alpn_str"],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    return [tuple(line.split("\t")) for line in out.splitlines()]


def client_payload(pcap, port):
    """The client->server TCP payload to `port`, in sequence order, without repeats."""
    packets = [p for p in rdpcap(pcap) if p.haslayer(TCP) and p[TCP].dport == port]
    syn = next(p for p in packets if p[TCP].flags & 0x02)
    isn = syn[TCP].seq
    segments = {}
    for p in packets:
        if p.haslayer(Raw):
            segments.setdefault((p[TCP].seq - isn - 1) % 2**32, p[Raw].load)
    stream = b""
    for offset in sorted(segments):
        data = segments[offset]
        if offset > len(stream):
            raise AssertionError(f"capture misses client bytes {len(stream)}..{offset}")
        stream += data[len(stream) - offset:]
    return stream


def write_tcp_stream(pcap, data, port=443, segment=200):
    """A fake capture: handshake, then `data` from client to server in segments."""
    cli, srv = ("192.0.2.10", 40000), ("198.51.100.20", port)
    cli_mac, srv_mac = "02:00:00:00:00:01", "02:00:00:00:00:02"
    c_isn, s_isn = 1000, 5000

    def c2s(flags, seq, ack, payload=b""):
        return (Ether(src=cli_mac, dst=srv_mac) / IP(src=cli[0], dst=srv[0]) /
                TCP(sport=cli[1], dport=srv[1], flags=flags, seq=seq, ack=ack) / payload)

    packets = [c2s("S", c_isn, 0),
               Ether(src=srv_mac, dst=cli_mac) / IP(src=srv[0], dst=cli[0]) /
               TCP(sport=srv[1], dport=cli[1], flags="SA", seq=s_isn, ack=c_isn + 1),
               c2s("A", c_isn + 1, s_isn + 1)]
    for at in range(0, len(data), segment):
        packets.append(c2s("PA", c_isn + 1 + at, s_isn + 1, data[at:at + segment]))
    for i, p in enumerate(packets):
        p.time = 1700000000 + i / 1000
    wrpcap(pcap, packets)


def ssl_hello(server_hostname, alpn=None, minimum=None, maximum=None, ciphers=None):
    """The bytes a Python ssl client sends first (its ClientHello)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TLS 1.0
        if ciphers:
            ctx.set_ciphers(ciphers)
        if minimum:
            ctx.minimum_version = minimum
        if maximum:
            ctx.maximum_version = maximum
    if alpn:
        ctx.set_alpn_protocols(alpn)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    conn = ctx.wrap_bio(incoming, outgoing, server_hostname=server_hostname)
    try:
        conn.do_handshake()
    except ssl.SSLWantReadError:  # waiting for the ServerHello: the hello is in `outgoing`
        return outgoing.read()
    raise AssertionError("handshake finished without a server")


LONG_NAME = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 61])  # 253 bytes
MANY_PROTOCOLS = [f"protocol-{i:02d}-x" for i in range(12)]  # 14 bytes each: four fit into 64

# (label, ssl_hello arguments, expected server name or None, expected legacy_version)
SSL_CASES = [
    ("plain", dict(server_hostname="example.com"), "example.com", 0x0303),
    ("mixed_case_alpn", dict(server_hostname="WWW.Example.ORG", alpn=["h2", "http/1.1"]), "WWW.Example.ORG",
     0x0303),
    ("no_server_hostname", dict(server_hostname=None, alpn=["http/1.1"]), None, 0x0303),
    ("ipv4_literal_sends_no_sni", dict(server_hostname="127.0.0.1"), None, 0x0303),
    ("ipv6_literal_sends_no_sni", dict(server_hostname="::1"), None, 0x0303),
    ("idna", dict(server_hostname="bücher.example"), "xn--bcher-kva.example", 0x0303),
    ("longest_name", dict(server_hostname=LONG_NAME, alpn=["h2"]), LONG_NAME, 0x0303),
    ("tls12_max", dict(server_hostname="tls12.example", maximum=ssl.TLSVersion.TLSv1_2), "tls12.example", 0x0303),
    ("tls13_only", dict(server_hostname="tls13.example", minimum=ssl.TLSVersion.TLSv1_3, alpn=["h2"]),
     "tls13.example", 0x0303),
    ("tls10", dict(server_hostname="tls10.example", minimum=ssl.TLSVersion.TLSv1, maximum=ssl.TLSVersion.TLSv1,
                   ciphers="DEFAULT@SECLEVEL=0"), "tls10.example", 0x0301),
    ("alpn_truncated", dict(server_hostname="alpn.example", alpn=MANY_PROTOCOLS), "alpn.example", 0x0303),
]


class checks(unittest.TestCase):
    def check_dump(self, dump, name, alpn, legacy=None):
        self.assertEqual(dump["status"], "complete", dump)
        self.assertEqual(dump["prefix_violations"], 0, dump)
        self.assertEqual(dump["has_sni"], name is not None, dump)
        self.assertEqual(dump["sni"], name or "", dump)
        want, truncated = expected_alpn(alpn or [])
        self.assertEqual(dump["alpn"], want, dump)
        self.assertEqual(dump["alpn_truncated"], truncated, dump)
        self.assertFalse(dump["ech"])
        if legacy is not None:
            self.assertEqual(dump["legacy_version"], legacy, dump)

    def check_tshark(self, pcap, port, dump):
        """tshark sees one ClientHello with the same server name and (a longer or equal) ALPN list."""
        hellos = tshark_hellos(pcap, port)
        self.assertEqual(len(hellos), 1, hellos)
        sni, alpn = (hellos[0] + ("", ""))[:2]
        self.assertEqual(sni, dump["sni"])
        if dump["alpn_truncated"]:
            self.assertTrue(alpn.startswith(dump["alpn"] + ","), (alpn, dump["alpn"]))
        else:
            self.assertEqual(alpn, dump["alpn"])


class python_ssl(checks):
    """Hellos from Python's ssl module, read from its outgoing memory BIO."""

    def test_hellos(self):
        for label, args, name, legacy in SSL_CASES:
            with self.subTest(label):
                hello = ssl_hello(**args)
                dump = hello_dump(hello)
                self.check_dump(dump, name, args.get("alpn"), legacy)
                self.assertEqual(dump["consumed"], len(hello))
                self.assertEqual(dump["prefixes"], len(hello))
                with tempfile.TemporaryDirectory(prefix="egressd-tls-") as d:
                    pcap = os.path.join(d, "hello.pcap")
                    write_tcp_stream(pcap, hello)
                    self.assertEqual(client_payload(pcap, 443), hello)
                    self.check_tshark(pcap, 443, dump)

    def test_limits(self):
        hello = ssl_hello("limit.example")
        self.assertEqual(hello_dump(hello, "--max", str(len(hello)))["status"], "complete")
        self.assertEqual(hello_dump(hello, "--max", str(len(hello) - 1))["status"], "too_large")

    def test_hello_in_one_byte_records(self):
        """The same hello re-cut into records of 1..7 bytes parses to the same fields."""
        hello = ssl_hello("recut.example", alpn=["h2", "http/1.1"])
        message = hello[5:]
        for size in range(1, 8):
            stream = b"".join(bytes([22, 3, 1, 0, len(message[at:at + size])]) + message[at:at + size]
                              for at in range(0, len(message), size))
            dump = hello_dump(stream, "--max", "65536")
            self.check_dump(dump, "recut.example", ["h2", "http/1.1"])
            self.assertEqual(dump["consumed"], len(stream))


@unittest.skipUnless(os.geteuid() == 0, "tcpdump on lo needs root")
class openssl_cli(checks):
    """openssl s_client -> s_server on 127.0.0.1, captured with tcpdump."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory(prefix="egressd-tls-")
        cls.cert = os.path.join(cls.dir.name, "cert.pem")
        cls.key = os.path.join(cls.dir.name, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-keyout", cls.key, "-out", cls.cert, "-days", "1", "-subj", "/CN=localhost"],
                       check=True, capture_output=True, timeout=60)

    @classmethod
    def tearDownClass(cls):
        cls.dir.cleanup()

    def capture(self, label, client_args):
        """Runs one s_client connection under tcpdump; returns (pcap, client payload, port)."""
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        pcap = os.path.join(self.dir.name, f"{label}.pcap")
        tcpdump = subprocess.Popen(["tcpdump", "-i", "lo", "-w", pcap, "--immediate-mode", "-U", "-Z", "root",
                                    "tcp", "port", str(port)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        server = None
        try:
            line = tcpdump.stderr.readline()
            self.assertIn("listening on", line)
            server = subprocess.Popen(["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-cert", self.cert,
                                       "-key", self.key, "-naccept", "1", "-alpn", "h2,http/1.1"],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                      text=True)
            for line in server.stdout:
                if line.startswith("ACCEPT"):
                    break
            else:
                self.fail("s_server did not start")
            client = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", *client_args],
                                    stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
            self.assertIn("CONNECTED", client.stdout, client.stderr)
        finally:
            if server is not None:
                server.stdin.close()
                try:
                    server.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    server.kill()
                    server.wait()
                server.stdout.close()
            tcpdump.send_signal(signal.SIGINT)
            try:
                tcpdump.wait(timeout=10)
            except subprocess.TimeoutExpired:
                tcpdump.kill()
                tcpdump.wait()
            tcpdump.stderr.close()
        return pcap, client_payload(pcap, port), port

    def run_case(self, label, client_args, name, alpn=None):
        pcap, stream, port = self.capture(label, client_args)
        dump = hello_dump(stream)
        self.check_dump(dump, name, alpn, 0x0303)
        # The client sent more after its hello (change_cipher_spec, Finished, ...).
        self.assertLess(dump["consumed"], len(stream))
        self.check_tshark(pcap, port, dump)
        return stream, dump

    def test_sni(self):
        self.run_case("sni", ["-servername", "s-client.example"], "s-client.example")

    def test_sni_and_alpn(self):
        self.run_case("alpn", ["-servername", "Alpn.Example", "-alpn", "h2,http/1.1"], "Alpn.Example",
                      ["h2", "http/1.1"])

    def test_no_sni(self):
        self.run_case("nosni", ["-noservername", "-alpn", "http/1.1"], None, ["http/1.1"])

    def test_tls12(self):
        self.run_case("tls12", ["-servername", "tls12.example", "-tls1_2"], "tls12.example")

    def test_tls13(self):
        self.run_case("tls13", ["-servername", "tls13.example", "-tls1_3", "-alpn", "h2"], "tls13.example", ["h2"])

    def test_hello_over_several_records(self):
        """A 1 KiB ffdhe8192 key share and 512-byte records: the hello spans three records."""
        stream, dump = self.run_case("records", ["-servername", "records.example", "-groups", "ffdhe8192:X25519",
                                                 "-max_send_frag", "512", "-alpn", "h2"], "records.example", ["h2"])
        self.assertGreaterEqual(record_count(stream, dump["consumed"]), 3)
        self.assertEqual(hello_dump(stream, "--max", "1000")["status"], "too_large")


if __name__ == "__main__":
    if not HELLO_DUMP:
        sys.exit("set HELLO_DUMP to the hello_dump binary")
    unittest.main()
