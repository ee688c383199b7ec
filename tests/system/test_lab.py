#!/usr/bin/python3
"""End to end through the lab (tools/egress_lab.py, what `tools/lab` runs): real
curl, nginx, a UDP responder, a host behind a 1280-byte link and nfcapd, with
egressd on AF_XDP vdevs (net_af_xdp) between them. The tests run in order (test_01 ...
test_10) against one lab: traffic first, then the collector's records, then
`down` with egressd still running."""
import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools"))
import egress_lab as lab  # noqa: E402

RESET_TLS = (35, "", "curl: (35) Recv failure: Connection reset by peer")
RESET_HTTP = (56, "", "curl: (56) Recv failure: Connection reset by peer")

# Client source ports, so each flow's IPFIX record can be found.
PORTS = {
    "tls_allowed4": 41001, "tls_allowed6": 41002, "tls_wildcard4": 41003, "tls_wildcard6": 41004,
    "tls_denied4": 41005, "tls_denied6": 41006, "tls_denied_b4": 41007, "tls_denied_b6": 41008,
    "http_allowed4": 41011, "http_allowed6": 41012, "http_denied4": 41013, "http_denied6": 41014,
    "udp4": 41021, "udp6": 41022, "download4": 41031, "upload4": 41032, "upload6": 41033,
}


def curl(name, url, *extra, max_time=5):
    family = "-6" if name.endswith("6") else "-4"
    return lab.curl(url, family, "--local-port", str(PORTS[name]), *extra, max_time=max_time)


def access_log():
    """nginx's access log: (client address, client port, host, scheme, status) per request."""
    return [tuple(line.split()) for line in lab.read(lab.path("nginx-access.log")).splitlines()]


class lab_end_to_end(unittest.TestCase):
    outcomes = {}

    @classmethod
    def setUpClass(cls):
        if lab.is_up():
            raise AssertionError("the lab is already up: run tools/lab down first")
        lab.up(quiet=True)

    @classmethod
    def tearDownClass(cls):
        if lab.is_up():
            lab.down(quiet=True)

    def test_01_tls_allowed_names_return_the_page(self):
        for name, host in (("tls_allowed4", "api.example.com"), ("tls_allowed6", "api.example.com"),
                           ("tls_wildcard4", "img.cdn.example.com"), ("tls_wildcard6", "img.cdn.example.com")):
            self.assertEqual(curl(name, f"https://{host}/"), (0, f"hello from {host} over https\n", ""), name)
        log = access_log()
        self.assertIn((lab.CLIENT6, str(PORTS["tls_allowed6"]), "api.example.com", "https", "200"), log)
        # IPv4 arrives from a pool address (NAT44), the client's own port kept.
        v4 = [e for e in log if e[1] == str(PORTS["tls_allowed4"])]
        self.assertEqual(len(v4), 1)
        self.assertIn(v4[0][0], lab.POOL)

    def test_02_tls_denied_names_are_reset_in_the_handshake(self):
        for name, host in (("tls_denied4", "evil.example.net"), ("tls_denied6", "evil.example.net"),
                           ("tls_denied_b4", "tracker.example.org"), ("tls_denied_b6", "tracker.example.org")):
            self.assertEqual(curl(name, f"https://{host}/"), RESET_TLS, name)
        # nginx never completed a handshake for them (it logs every request).
        hosts = {e[2] for e in access_log()}
        self.assertNotIn("evil.example.net", hosts)
        self.assertNotIn("tracker.example.org", hosts)

    def test_03_cleartext_http_by_host(self):
        for name in ("http_allowed4", "http_allowed6"):
            self.assertEqual(curl(name, "http://api.example.com/"), (0, "hello from api.example.com over http\n", ""))
        for name in ("http_denied4", "http_denied6"):
            self.assertEqual(curl(name, "http://tracker.example.org/"), RESET_HTTP, name)
        self.assertEqual([e for e in access_log() if e[3] == "http" and e[2] == "tracker.example.org"], [])

    def test_04_neighbours_are_resolved_not_pinned(self):
        # Nobody configured a neighbour: the client and the internet router
        # learnt egressd's MACs with ARP / neighbour discovery (entries the
        # kernel made, not permanent ones), and egressd resolved them.
        for ns, dev, mac, addrs in ((lab.CLI, "eth0", lab.GW_INSIDE_MAC, (lab.GW_INSIDE4, lab.GW_INSIDE6)),
                                    (lab.NET, "to-gw", lab.GW_OUTSIDE_MAC, (lab.GW_OUTSIDE4, lab.GW_OUTSIDE6))):
            for addr in addrs:
                entry = lab.sh("ip", "neigh", "show", addr, "dev", dev, ns=ns).stdout.split()
                self.assertIn("lladdr", entry, (ns, addr))
                self.assertEqual(entry[entry.index("lladdr") + 1], mac, (ns, addr))
                self.assertNotIn("PERMANENT", entry, (ns, addr))
        # The client and the router, IPv4 and IPv6: each resolved by egressd's own
        # request, or learnt from the request the kernel sent it first.
        n = lab.counters()["neighbors"]
        self.assertGreaterEqual(n["resolved"] + n["learned"], 4, n)

    def test_04_udp_request_and_response(self):
        self.assertEqual(lab.udp_ask(lab.SERVER4, "ping4", source_port=PORTS["udp4"]), "echo ping4")
        self.assertEqual(lab.udp_ask(lab.SERVER6, "ping6", source_port=PORTS["udp6"]), "echo ping6")

    def test_05_inbound_connection_attempts_fail(self):
        # A real service listens on the client: reachable from the client itself...
        self.assertEqual(lab.curl(f"http://[{lab.CLIENT6}]:{lab.CLIENT_WEB_PORT}/", ns=lab.CLI)[0], 0)
        before = lab.counters()["drops"]["inbound_unsolicited"]
        # ...but a SYN from outside (one each, no retransmission) gets nothing back.
        for addr in (lab.CLIENT6, lab.POOL[0], lab.POOL[1]):
            self.assertEqual(lab.connect_from_outside(addr, lab.CLIENT_WEB_PORT), "timed out", addr)
        self.assertEqual(lab.counters()["drops"]["inbound_unsolicited"] - before, 3)

    def test_06_download_20mb_through_the_small_mtu_path(self):
        out = lab.path("download.bin")
        lab.forget_path_mtus()
        rc, _, err = curl("download4", f"http://{lab.BULK_NAME}:{lab.FAR_PORT}/blob.bin", "-o", out, max_time=60)
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(os.path.getsize(out), lab.BULK_BYTES)
        self.assertEqual(lab.sha256_file(out), lab.sha256_file(lab.path("blob.bin")))
        # The far host learnt the 1280-byte path MTU towards the client's public address.
        route = lab.sh("ip", "route", "get", lab.POOL[0], ns=lab.FAR).stdout + \
            lab.sh("ip", "route", "get", lab.POOL[1], ns=lab.FAR).stdout
        self.assertIn(f"mtu {lab.SMALL_MTU}", route, route)

    def upload(self, name):
        expected = lab.sha256_file(lab.path("blob.bin"))
        lab.forget_path_mtus()
        t0 = time.time()
        result = curl(name, f"http://{lab.BULK_NAME}:{lab.FAR_PORT}/upload", "-T", lab.path("blob.bin"), max_time=30)
        lab_end_to_end.outcomes[name] = result[0] == 0
        drops = {k: v for k, v in lab.counters()["drops"].items() if v}
        self.assertEqual(result, (0, expected + "\n", ""), f"after {time.time() - t0:.1f} s; egressd drops: {drops}")

    def test_07_upload_20mb_ipv4_needs_frag_needed_translated_through_the_nat(self):
        self.upload("upload4")

    def test_08_upload_20mb_ipv6_needs_packet_too_big_forwarded_inside(self):
        self.upload("upload6")

    def test_09_ipfix_records_reach_nfcapd(self):
        wanted = set(PORTS.values())
        deadline = time.time() + 20
        while True:
            records = lab.flow_records()
            by_port = {}
            for r in records:
                if r.get("src_port") in wanted and r.get("proto") in (6, 17):
                    by_port.setdefault(r["src_port"], []).append(r)
            if set(by_port) == wanted or time.time() > deadline:
                break
            time.sleep(1)
        self.assertEqual(sorted(wanted - set(by_port)), [])

        def one(name):
            """The flow's record; a flow longer than active_timeout (30 s) has
            several, whose counts add up."""
            recs = by_port[PORTS[name]]
            r = dict(recs[0])
            for other in recs[1:]:
                for key in ("src4_addr", "src6_addr", "dst4_addr", "dst6_addr", "dst_port", "proto", "src4_xlt_ip"):
                    self.assertEqual(other.get(key), r.get(key), (name, key))
                for key in ("in_bytes", "out_bytes", "in_packets", "out_packets"):
                    r[key] += other[key]
            v6 = name.endswith("6")
            self.assertEqual(r.get("src6_addr" if v6 else "src4_addr"), lab.CLIENT6 if v6 else lab.CLIENT4, name)
            if not v6:
                self.assertIn(r["src4_xlt_ip"], lab.POOL, name)
                self.assertEqual(r["src_xlt_port"], str(PORTS[name]), name)
            return r

        for name in ("tls_allowed4", "tls_allowed6", "tls_wildcard4", "tls_wildcard6"):
            r = one(name)
            self.assertEqual((r.get("dst4_addr") or r.get("dst6_addr"), r["dst_port"], r["proto"]),
                             (lab.SERVER6 if name.endswith("6") else lab.SERVER4, 443, 6), name)
            # A ClientHello went out, a certificate came back.
            self.assertGreater(r["in_bytes"], 600, name)
            self.assertGreater(r["out_bytes"], 1000, name)
        for name in ("tls_denied4", "tls_denied6", "tls_denied_b4", "tls_denied_b6"):
            r = one(name)
            self.assertEqual((r["dst_port"], r["proto"]), (443, 6), name)
            self.assertLess(r["out_bytes"], 300, name)  # no certificate ever came back
        for name in ("http_allowed4", "http_allowed6", "http_denied4", "http_denied6"):
            self.assertEqual(one(name)["dst_port"], 80, name)
        for name, ip_header in (("udp4", 20), ("udp6", 40)):
            r = one(name)
            self.assertEqual((r["dst_port"], r["proto"], r["in_packets"], r["out_packets"]), (7, 17, 1, 1), name)
            self.assertEqual((r["in_bytes"], r["out_bytes"]), (ip_header + 8 + 5, ip_header + 8 + 10), name)
        r = one("download4")
        self.assertEqual((r["dst4_addr"], r["dst_port"]), (lab.FAR4, lab.FAR_PORT))
        self.assertGreater(r["out_bytes"], lab.BULK_BYTES)
        self.assertLess(r["in_bytes"], lab.BULK_BYTES // 10)
        for name in ("upload4", "upload6"):
            r = one(name)
            if lab_end_to_end.outcomes.get(name):  # the transfer itself is test_07 / test_08
                self.assertGreater(r["in_bytes"], lab.BULK_BYTES, name)
        # The refused attempts from outside: aggregated records per destination.
        refused = {(r.get("dst4_addr") or r.get("dst6_addr"), r["dst_port"]) for r in records
                   if r.get("src4_addr") == lab.ROUTER4 or r.get("src6_addr") == lab.ROUTER6}
        self.assertEqual(refused, {(lab.CLIENT6, 8080), (lab.POOL[0], 8080), (lab.POOL[1], 8080)})

    def test_10_egressd_survives_down_and_exits_cleanly(self):
        pids = {name: lab.pid_of(name) for name in ("egressd", "nfcapd", "udp-echo", "far-server", "client-web")}
        report = lab.down(quiet=True)
        self.assertTrue(report["running"])
        self.assertTrue(report["links_gone"])
        self.assertTrue(report["alive_after_links_gone"], report["summary"])
        self.assertEqual(report["returncode"], 0, report["summary"])
        self.assertRegex(report["summary"], r"\n +inbound_unsolicited +\d+\n")
        self.assertGreaterEqual(report["summary_json"]["drops"]["inbound_unsolicited"], 3)
        # Nothing left behind.
        self.assertEqual(lab.namespaces_present(), [])
        self.assertFalse(os.path.exists(lab.RUN))
        for ns in lab.NAMESPACES:
            self.assertFalse(os.path.exists(f"/etc/netns/{ns}"))
        for name, pid in pids.items():
            self.assertFalse(lab.alive(pid), name)
        self.assertEqual(lab.down(quiet=True)["running"], False)  # again: nothing to do, no error


if __name__ == "__main__":
    unittest.main()
