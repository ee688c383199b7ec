#!/usr/bin/python3
"""System tests: the real egressd on pcap vdevs, captures generated here,
assertions on the output captures and the JSON summary."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import traffic  # noqa: E402
from scapy.all import IP, IPv6, TCP, UDP, ICMP, Ether, Raw, ICMPv6EchoRequest  # noqa: E402

POOL = "203.0.113.10"
CLIENT, SERVER = "10.0.0.5", "198.51.100.7"


def tcp_flags(p):
    return str(p[TCP].flags)


class outbound_tcp(unittest.TestCase):
    def test_handshake_data_and_fin_are_translated_both_ways(self):
        c = traffic.conversation()
        traffic.tcp_session(c, CLIENT, 40000, SERVER, 443, public=POOL, pport=40000)
        r = harness.run(c)
        self.assertEqual(r.drops(), {})
        self.assertEqual([tcp_flags(p) for p in r.to_outside], ["S", "A", "PA", "FA", "A"])
        for p in r.to_outside:
            self.assertEqual((p[IP].src, p[TCP].sport, p[IP].dst, p[TCP].dport), (POOL, 40000, SERVER, 443))
            self.assertEqual(p[IP].ttl, 63)
            self.assertEqual((p[Ether].src, p[Ether].dst), (traffic.GW_OUTSIDE_MAC, traffic.OUTSIDE_NEXT_HOP_MAC))
            self.assertTrue(harness.checksums_valid(p), p.show(dump=True))
        self.assertEqual(bytes(r.to_outside[2][TCP].payload), b"GET / HTTP/1.1\r\n\r\n")
        self.assertEqual([tcp_flags(p) for p in r.to_inside], ["SA", "PA", "FA"])
        for p in r.to_inside:
            self.assertEqual((p[IP].src, p[TCP].sport, p[IP].dst, p[TCP].dport), (SERVER, 443, CLIENT, 40000))
            self.assertEqual((p[Ether].src, p[Ether].dst), (traffic.GW_INSIDE_MAC, traffic.INSIDE_NEXT_HOP_MAC))
            self.assertTrue(harness.checksums_valid(p), p.show(dump=True))
        s = r.summary
        self.assertEqual(s["flows"]["tcp"], {"created": 1, "expired": 0})
        self.assertEqual(s["ports"]["inside"]["rx_packets"], 5)
        self.assertEqual(s["ports"]["outside"]["tx_packets"], 5)
        self.assertEqual(s["ports"]["outside"]["rx_packets"], 3)
        self.assertEqual(s["ports"]["inside"]["tx_packets"], 3)
        # The devices' receive losses (pcap: none), read from the ports before they stop.
        for port in ("inside", "outside"):
            self.assertEqual([s["ports"][port][k] for k in ("rx_missed", "rx_nombuf", "rx_errors")], [0, 0, 0])
        self.assertEqual(s["nat"], [{"address": POOL, "mappings_active": 1, "mappings_created": 1, "exhausted": 0}])

    def test_time_wait_expires_and_the_tuple_can_be_reused(self):
        c = traffic.conversation()
        traffic.tcp_session(c, CLIENT, 40000, SERVER, 443, public=POOL, pport=40000)
        c.advance(241)  # tcp_time_wait defaults to 240 s (RFC 7857 section 2.1)
        traffic.tcp_session(c, CLIENT, 40000, SERVER, 443, public=POOL, pport=40000)
        r = harness.run(c)
        self.assertEqual(r.drops(), {})
        self.assertEqual(r.summary["flows"]["tcp"], {"created": 2, "expired": 1})
        self.assertEqual(len(r.to_outside), 10)
        self.assertEqual(len(r.to_inside), 6)


class inbound_unsolicited(unittest.TestCase):
    def test_unsolicited_syn_udp_and_ping_are_dropped_and_counted(self):
        c = traffic.conversation()
        c.from_outside(IP(src=SERVER, dst=POOL) / TCP(sport=443, dport=40000, flags="S"))
        c.from_outside(IP(src=SERVER, dst=POOL) / UDP(sport=53, dport=5353) / b"x")
        c.from_outside(IP(src=SERVER, dst=POOL) / ICMP(type=8, id=9))
        r = harness.run(c)
        self.assertEqual(r.to_inside, [])
        self.assertEqual(r.drops(), {"inbound_unsolicited": 3})
        self.assertEqual(r.summary["flows"]["active"], 0)

    def test_a_reply_to_a_port_nobody_opened_is_dropped(self):
        c = traffic.conversation()
        c.from_inside(IP(src=CLIENT, dst=SERVER) / UDP(sport=5000, dport=53) / b"q")
        c.from_outside(IP(src=SERVER, dst=POOL) / UDP(sport=53, dport=5001) / b"a")  # wrong port
        c.from_outside(IP(src="198.51.100.8", dst=POOL) / UDP(sport=53, dport=5000) / b"a")  # wrong peer
        c.from_outside(IP(src=SERVER, dst=POOL) / UDP(sport=53, dport=5000) / b"a")  # the real reply
        r = harness.run(c)
        self.assertEqual(r.drops(), {"inbound_unsolicited": 2})
        self.assertEqual(len(r.to_inside), 1)
        self.assertEqual((r.to_inside[0][IP].dst, r.to_inside[0][UDP].dport), (CLIENT, 5000))


class mappings(unittest.TestCase):
    def test_two_inside_hosts_to_one_destination_get_distinct_mappings(self):
        c = traffic.conversation()
        c.from_inside(IP(src="10.0.0.5", dst=SERVER) / TCP(sport=40000, dport=443, flags="S"))
        c.from_inside(IP(src="10.0.0.6", dst=SERVER) / TCP(sport=40000, dport=443, flags="S"))
        r = harness.run(c)
        self.assertEqual(len(r.to_outside), 2)
        a, b = [(p[IP].src, p[TCP].sport) for p in r.to_outside]
        self.assertEqual(a, (POOL, 40000))
        self.assertEqual(b[0], POOL)
        self.assertNotEqual(a, b)
        self.assertTrue(1024 <= b[1] <= 65535)
        self.assertEqual(r.summary["nat"][0]["mappings_active"], 2)

    def test_paired_pooling_keeps_each_host_on_one_public_address(self):
        pool = ("203.0.113.10", "203.0.113.11", "203.0.113.12")
        c = traffic.conversation()
        hosts = [f"10.0.0.{i}" for i in range(5, 15)]
        for h in hosts:
            for port in (41000, 41001, 41002):
                c.from_inside(IP(src=h, dst=SERVER) / UDP(sport=port, dport=53) / b"q")
        r = harness.run(c, pool=pool)
        seen = {}
        for p, (h, _) in zip(r.to_outside, [(h, port) for h in hosts for port in (41000, 41001, 41002)]):
            seen.setdefault(h, set()).add(p[IP].src)
        for h in hosts:
            self.assertEqual(seen[h], {traffic.paired_pool_address(h, list(pool))}, h)
        self.assertGreater(len({a for s in seen.values() for a in s}), 1)

    def test_exhausted_ports_drop_new_flows_per_public_address(self):
        c = traffic.conversation()
        for port in (2000, 2001, 2002):
            c.from_inside(IP(src=CLIENT, dst=SERVER) / UDP(sport=port, dport=53) / b"q")
        c.from_inside(IP(src=CLIENT, dst="198.51.100.8") / UDP(sport=2002, dport=53) / b"q")  # other destination
        r = harness.run(c, port_min=1000, port_max=1001)
        self.assertEqual(r.drops(), {"nat_ports_exhausted": 1})
        self.assertEqual(sorted(p[UDP].sport for p in r.to_outside[:2]), [1000, 1001])
        self.assertEqual(len(r.to_outside), 3)
        self.assertEqual(r.summary["nat"], [{"address": POOL, "mappings_active": 3, "mappings_created": 3,
                                             "exhausted": 1}])

    def test_udp_and_icmp_echo_are_translated_and_restored(self):
        c = traffic.conversation()
        traffic.udp_exchange(c, CLIENT, 5353, SERVER, 53, public=POOL, pport=5353)
        c.from_inside(IP(src=CLIENT, dst=SERVER) / ICMP(type=8, id=77, seq=1))
        r0 = harness.run(c)  # learn the identifier egressd chose (77 is below port_min)
        echo_id = r0.to_outside[1][ICMP].id
        self.assertNotEqual(echo_id, 77)
        c.from_outside(IP(src=SERVER, dst=POOL) / ICMP(type=0, id=echo_id, seq=1))
        r = harness.run(c)
        self.assertEqual(r.drops(), {})
        self.assertEqual(r.to_outside[1][ICMP].id, echo_id)
        self.assertEqual((r.to_inside[0][IP].dst, r.to_inside[0][UDP].dport), (CLIENT, 5353))
        self.assertEqual(r.to_inside[1][IP].dst, CLIENT)
        self.assertEqual(r.to_inside[1][ICMP].id, 77)
        for p in r.to_outside + r.to_inside:
            self.assertTrue(harness.checksums_valid(p))
        self.assertEqual(r.summary["flows"]["udp"]["created"], 1)
        self.assertEqual(r.summary["flows"]["icmp"]["created"], 1)


class ipv6(unittest.TestCase):
    def test_outbound_ipv6_passes_untranslated_and_inbound_is_refused(self):
        c = traffic.conversation()
        traffic.tcp_session(c, "fd00:0:0:1::5", 41000, "2001:db8:5::7", 443)
        c.from_outside(IPv6(src="2001:db8:5::66", dst="fd00:0:0:1::5") / TCP(sport=5555, dport=22, flags="S"))
        c.from_outside(IPv6(src="2001:db8:5::66", dst="fd00:0:0:1::5") / ICMPv6EchoRequest(id=5))
        r = harness.run(c)
        self.assertEqual(r.drops(), {"inbound_unsolicited": 2})
        self.assertEqual(len(r.to_outside), 5)
        for p in r.to_outside:
            self.assertEqual((p[IPv6].src, p[TCP].sport), ("fd00:0:0:1::5", 41000))
            self.assertEqual(p[IPv6].hlim, 63)
            self.assertTrue(harness.checksums_valid(p))
        self.assertEqual([tcp_flags(p) for p in r.to_inside], ["SA", "PA", "FA"])
        self.assertEqual(r.summary["nat"][0]["mappings_created"], 0)


class malformed(unittest.TestCase):
    def test_every_malformed_frame_is_dropped_under_its_reason(self):
        c = traffic.conversation()
        eth = Ether(src=traffic.INSIDE_NEXT_HOP_MAC, dst=traffic.GW_INSIDE_MAC)
        good = bytes(eth / IP(src=CLIENT, dst=SERVER) / TCP(sport=1, dport=2, flags="S"))
        cases = {
            "l2_truncated": good[:13],
            "ipv4_truncated": good[:14 + 19],
            "ethertype_unsupported": bytes(Ether(src=traffic.INSIDE_NEXT_HOP_MAC, dst=traffic.GW_INSIDE_MAC,
                                                 type=0x88cc)) + bytes(28),  # LLDP
            "arp_unsupported": bytes(Ether(src=traffic.INSIDE_NEXT_HOP_MAC, dst=traffic.GW_INSIDE_MAC,
                                           type=0x0806)) + bytes(28),  # hardware type 0
            "tcp_truncated": bytes(eth / IP(src=CLIENT, dst=SERVER, proto=6) / Raw(bytes(TCP(sport=1, dport=2))[:10])),
            "ipv4_bad_length": good[:14 + 20 + 10],  # the IP header claims 40 bytes, 30 arrive
            "ipv4_bad_fragment": bytes(eth / IP(src=CLIENT, dst=SERVER, flags="MF") / UDP(sport=1, dport=2) / b"x"),
            "ipv6_bad_fragment": bytes(eth / IPv6(src="fd00::5", dst="2001:db8::9", nh=44) / Raw(bytes(4))),
            "fragment_tiny_first": bytes(eth / IP(src=CLIENT, dst=SERVER, flags="MF", proto=6) / Raw(bytes(8))),
            "udp_bad_length": bytes(eth / IP(src=CLIENT, dst=SERVER) / UDP(sport=1, dport=2, len=200) / b"x"),
            "ttl_expired": bytes(eth / IP(src=CLIENT, dst=SERVER, ttl=1) / UDP(sport=1, dport=2)),
            "l4_proto_unsupported": bytes(eth / IP(src=CLIENT, dst=SERVER, proto=47) / Raw(bytes(8))),
            "icmp_type_unsupported": bytes(eth / IP(src=CLIENT, dst=SERVER) / ICMP(type=13)),
            "tcp_new_not_syn": bytes(eth / IP(src=CLIENT, dst=SERVER) / TCP(sport=1, dport=2, flags="A")),
            "l2_dst_not_local": bytes(Ether(src=traffic.INSIDE_NEXT_HOP_MAC, dst="02:00:00:00:09:09") /
                                      IP(src=CLIENT, dst=SERVER) / UDP(sport=1, dport=2)),
        }
        bad_csum = bytearray(good)
        bad_csum[24] ^= 0xFF
        cases["ipv4_bad_checksum"] = bytes(bad_csum)
        bad_ihl = bytearray(good)
        bad_ihl[14] = 0x44
        cases["ipv4_bad_header"] = bytes(bad_ihl)
        for frame in cases.values():
            c.raw_inside(frame)
        # After all that, a good packet still goes through.
        c.from_inside(IP(src=CLIENT, dst=SERVER) / UDP(sport=9, dport=53) / b"ok")
        r = harness.run(c)
        self.assertEqual(r.drops(), {reason: 1 for reason in cases})
        self.assertEqual(len(r.to_outside), 1)
        self.assertEqual(r.summary["ports"]["inside"]["rx_packets"], len(cases) + 1)

    def test_random_garbage_is_survived_and_every_frame_accounted_for(self):
        import random
        rnd = random.Random(7)
        c = traffic.conversation()
        eth = bytes(Ether(src=traffic.INSIDE_NEXT_HOP_MAC, dst=traffic.GW_INSIDE_MAC, type=0x0800))
        template = bytes(Ether(src=traffic.INSIDE_NEXT_HOP_MAC, dst=traffic.GW_INSIDE_MAC) /
                         IP(src=CLIENT, dst=SERVER) / TCP(sport=1, dport=2, flags="S") / b"payload")
        for i in range(500):
            if i % 2:
                frame = eth + bytes(rnd.randrange(256) for _ in range(rnd.randrange(0, 80)))
            else:
                frame = bytearray(template)
                for _ in range(3):
                    frame[rnd.randrange(14, len(frame))] = rnd.randrange(256)
                frame = bytes(frame[:rnd.randrange(14, len(frame) + 1)])
            c.raw_inside(frame)
        r = harness.run(c, replay=False)
        s = r.summary
        self.assertEqual(s["ports"]["inside"]["rx_packets"], 500)
        self.assertEqual(s["drops_total"] + s["ports"]["outside"]["tx_packets"], 500)


class configuration(unittest.TestCase):
    def test_a_bad_config_is_refused_with_file_line_col_and_key(self):
        d = tempfile.mkdtemp(prefix="egressd-system-")
        path = os.path.join(d, "bad.toml")
        with open(path, "w") as f:
            f.write(harness.config_text(d, port_max=70000, max_flows=16))
        proc = subprocess.run([harness.EGRESSD, "-c", path], capture_output=True, text=True, timeout=30)
        self.assertEqual(proc.returncode, 1)
        line = next(i for i, l in enumerate(open(path).read().splitlines(), 1) if l.startswith("port_max"))
        self.assertEqual(proc.stderr.splitlines(), [
            f"{path}:{line}:12: nat.port_max: expected an integer in 1..65535, got 70000",
            f"egressd: configuration {path} has 1 error(s)",
        ])

    def test_check_config_accepts_the_reference_config(self):
        root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
        proc = subprocess.run([harness.EGRESSD, "--check-config", os.path.join(root, "conf", "egressd.toml")],
                              capture_output=True, text=True, timeout=30)
        self.assertEqual(proc.returncode, 0, proc.stderr)


POLICY = """
[policy]
default = "deny"

[[policy.group]]
name = "web"
cidrs = ["10.0.0.0/29"]

[[policy.rule]]
name = "https"
sources = ["web"]
destinations = ["198.51.100.0/24"]
protocol = "tcp"
ports = [443]
action = "allow"
"""


class policy(unittest.TestCase):
    def test_denied_destinations_never_leave_and_are_counted(self):
        c = traffic.conversation()
        traffic.tcp_session(c, CLIENT, 40000, SERVER, 443, public=POOL, pport=40000)
        c.from_inside(IP(src=CLIENT, dst=SERVER) / TCP(sport=40001, dport=22, flags="S"))       # port not allowed
        c.from_inside(IP(src="10.0.0.9", dst=SERVER) / TCP(sport=40002, dport=443, flags="S"))  # not in "web"
        c.from_inside(IP(src=CLIENT, dst=SERVER) / UDP(sport=5000, dport=53) / b"q")            # default deny
        r = harness.run(c, extra=POLICY)
        self.assertEqual(r.drops(), {"policy_denied": 3})
        self.assertEqual([(p[IP].src, p[TCP].dport) for p in r.to_outside], [(POOL, 443)] * 5)
        self.assertIn("policy    version 1, reloads failed 0; new flows per rule: https 1; default deny 3; "
                      "would deny (report mode) 0", r.stdout)

    def test_sighup_reloads_the_policy_and_a_failed_reload_keeps_the_running_one(self):
        import signal
        import time
        d = tempfile.mkdtemp(prefix="egressd-system-")
        c = traffic.conversation()
        c.write(os.path.join(d, "inside.pcap"), os.path.join(d, "outside.pcap"))
        base = harness.config_text(d, max_flows=16, replay=False, lcores="0-1", live=True)
        path = os.path.join(d, "reload.toml")
        with open(path, "w") as f:
            f.write(base + POLICY)
        proc = subprocess.Popen([harness.EGRESSD, "-c", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        time.sleep(2)
        with open(path, "w") as f:  # version 2: one more rule
            f.write(base + POLICY + '\n[[policy.rule]]\nname = "dns"\nprotocol = "udp"\nports = [53]\n'
                    'destinations = ["0.0.0.0/0"]\naction = "allow"\n')
        proc.send_signal(signal.SIGHUP)
        time.sleep(1)
        with open(path, "w") as f:  # broken: must not replace version 2
            f.write(base + POLICY.replace('action = "allow"', 'action = "alow"'))
        proc.send_signal(signal.SIGHUP)
        time.sleep(1)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 0, err)
        self.assertRegex(out, r"egressd: policy version 2 active \(2 rules\) after [0-9]+ us\n")
        line = next(i for i, l in enumerate((base + POLICY).splitlines(), 1) if l.startswith('action = "allow"'))
        self.assertEqual(err.splitlines()[-2:], [
            f'{path}:{line}:10: policy.rule[0].action: expected "allow" or "deny", got "alow"',
            "egressd: policy reload failed (1 error(s)); keeping policy version 2",
        ])
        self.assertIn("policy    version 2, reloads failed 1; new flows per rule: https 0; dns 0; default deny 0",
                      out)

    def test_a_policy_error_refuses_the_whole_config_with_its_position(self):
        d = tempfile.mkdtemp(prefix="egressd-system-")
        path = os.path.join(d, "bad-policy.toml")
        text = harness.config_text(d, max_flows=16) + POLICY.replace('sources = ["web"]',
                                                                                'sources = ["wbe"]')
        with open(path, "w") as f:
            f.write(text)
        proc = subprocess.run([harness.EGRESSD, "--check-config", path], capture_output=True, text=True, timeout=30)
        self.assertEqual(proc.returncode, 1)
        line = next(i for i, l in enumerate(text.splitlines(), 1) if l.startswith('sources = ["wbe"]'))
        self.assertEqual(proc.stderr.splitlines(), [
            f'{path}:{line}:12: policy.rule[0].sources[0]: unknown group "wbe" (did you mean "web"?)',
            f"egressd: configuration {path} has 1 error(s)",
        ])


class signals(unittest.TestCase):
    def test_sigterm_stops_a_live_gateway_and_prints_the_summary(self):
        import signal
        import time
        d = tempfile.mkdtemp(prefix="egressd-system-")
        c = traffic.conversation()
        c.from_inside(IP(src=CLIENT, dst=SERVER) / UDP(sport=5000, dport=53) / b"q")
        c.write(os.path.join(d, "inside.pcap"), os.path.join(d, "outside.pcap"))
        path = os.path.join(d, "live.toml")
        health = os.path.join(d, "health")
        with open(path, "w") as f:
            f.write(harness.config_text(d, max_flows=16, replay=False, lcores="0-1", live=True)
                    + f'\n[health]\nfile = "{health}"\n')
        proc = subprocess.Popen([harness.EGRESSD, "-c", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        # Started (the health file says so) however long start-up takes on a busy machine; then a
        # moment for the one queued frame, and egressd must still be running.
        deadline = time.monotonic() + 60
        while not os.path.exists(health) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1)
        self.assertIsNone(proc.poll(), "egressd must keep running without a signal")
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 0, err)
        self.assertIn("egressd summary", out)
        self.assertIn("udp created 1 expired 0", out)


class metrics(unittest.TestCase):
    def test_a_scrape_of_a_running_gateway_matches_the_traffic(self):
        import signal
        import time
        import urllib.request
        port = harness.free_tcp_port()
        d = tempfile.mkdtemp(prefix="egressd-system-")
        c = traffic.conversation()
        traffic.udp_exchange(c, CLIENT, 5000, SERVER, 53, public=POOL, pport=5000)
        c.from_outside(IP(src="198.51.100.66", dst=POOL) / TCP(sport=1, dport=22, flags="S"))
        c.write(os.path.join(d, "inside.pcap"), os.path.join(d, "outside.pcap"))
        path = os.path.join(d, "live.toml")
        with open(path, "w") as f:
            f.write(harness.config_text(d, max_flows=16, replay=False, lcores="0-1", live=True)
                    + f'\n[metrics]\nlisten = "127.0.0.1:{port}"\n')
        proc = subprocess.Popen([harness.EGRESSD, "-c", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        try:
            body = None
            for _ in range(50):
                time.sleep(0.2)
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as resp:
                        self.assertEqual(resp.status, 200)
                        self.assertTrue(resp.headers["Content-Type"].startswith("text/plain; version=0.0.4"))
                        body = resp.read().decode()
                    if 'egress_flows_created_total{protocol="udp"} 1' in body:
                        break
                except OSError:
                    continue
            self.assertIsNotNone(body, "no answer from the metrics endpoint")
        finally:
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 0, err)
        samples = {}
        for line in body.splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                samples[name] = float(value)
        self.assertEqual(samples['egress_port_packets_total{port="inside",direction="rx"}'], 1)
        self.assertEqual(samples['egress_port_packets_total{port="outside",direction="rx"}'], 2)
        self.assertEqual(samples['egress_port_packets_total{port="outside",direction="tx"}'], 1)
        self.assertEqual(samples['egress_port_packets_total{port="inside",direction="tx"}'], 1)
        self.assertEqual(samples['egress_flows_created_total{protocol="udp"}'], 1)
        self.assertEqual(samples['egress_flows_active{protocol="udp"}'], 1)
        self.assertEqual(samples['egress_flows_active{protocol="tcp"}'], 0)
        self.assertEqual(samples['egress_drops_total{reason="inbound_unsolicited"}'], 1)
        self.assertEqual(samples['egress_drops_total{reason="tcp_new_not_syn"}'], 0)
        self.assertEqual(samples['egress_nat_mappings_active{address="203.0.113.10"}'], 1)
        self.assertEqual(samples['egress_nat_port_exhaustion_total{address="203.0.113.10"}'], 0)


class af_packet(unittest.TestCase):
    """The same binary on af_packet vdevs over veth pairs (a config change only)."""

    def test_outbound_syn_and_reply_cross_veth_links(self):
        ns = f"egressd-test-{os.getpid()}"
        cleanup = harness.veth_namespace(ns)
        try:
            d = tempfile.mkdtemp(prefix="egressd-system-")
            path = os.path.join(d, "afp.toml")
            config = harness.af_packet_config(d)
            with open(path, "w") as f:
                f.write(config)
            probe = os.path.join(os.path.dirname(os.path.abspath(__file__)), "af_packet_probe.py")
            proc = subprocess.run(["ip", "netns", "exec", ns, "/usr/bin/python3", probe, harness.EGRESSD, path],
                                  capture_output=True, text=True, timeout=120)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            result = json.loads(proc.stdout.strip().splitlines()[-1])
        finally:
            cleanup()
        self.assertEqual(result["returncode"], 0, result["stderr"])
        self.assertEqual(result["out"], {"src": POOL, "sport": 40000, "ttl": 63,
                                         "dst_mac": traffic.OUTSIDE_NEXT_HOP_MAC, "src_mac": traffic.GW_OUTSIDE_MAC})
        self.assertEqual(result["back"], {"dst": CLIENT, "dport": 40000})
        self.assertIn("tcp created 1", result["summary"])


class af_packet_ring_losses(unittest.TestCase):
    """Frames the af_packet kernel ring had no room for (PACKET_STATISTICS, which
    the PMD does not report) are counted as the port's rx_missed."""

    def test_every_frame_sent_is_received_or_counted_missed(self):
        import re
        ns = f"egressd-ring-{os.getpid()}"
        cleanup = harness.veth_namespace(ns)
        try:
            d = tempfile.mkdtemp(prefix="egressd-system-")
            path = os.path.join(d, "afp.toml")
            with open(path, "w") as f:
                f.write(harness.af_packet_config(d).replace(
                    '"net_af_packet0,iface=vin1"', '"net_af_packet0,iface=vin1,framecnt=16,blocksz=4096,framesz=2048"'))
            probe = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ring_loss_probe.py")
            proc = subprocess.run(["ip", "netns", "exec", ns, "/usr/bin/python3", probe, harness.EGRESSD, path],
                                  capture_output=True, text=True, timeout=120)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            result = json.loads(proc.stdout.strip().splitlines()[-1])
        finally:
            cleanup()
        self.assertEqual(result["returncode"], 0, result["stderr"])
        summary = result["summary"]
        rx = int(re.search(r"port inside +\S+ +rx ([0-9]+) pkts", summary).group(1))
        lost = re.search(r"port inside +lost on receive by the device: missed \(RX ring full\) ([0-9]+)", summary)
        self.assertIsNotNone(lost, summary)  # 16 frames of ring cannot take a burst of this size
        missed = int(lost.group(1))
        # The kernel adds a few frames of its own (IPv6 neighbour discovery on the veth).
        self.assertGreaterEqual(rx + missed, result["sent"], summary)
        self.assertLessEqual(rx + missed, result["sent"] + 100, summary)


class reload_under_traffic(unittest.TestCase):
    def test_a_hundred_reloads_lose_no_allowed_packet(self):
        cleanup = harness.veth_namespace(f"egressd-reload-{os.getpid()}")
        try:
            d = tempfile.mkdtemp(prefix="egressd-system-")
            base = os.path.join(d, "base.toml")
            control = os.path.join(d, "control.sock")
            with open(base, "w") as f:
                f.write(harness.af_packet_config(d) + f'\n[control]\nsocket = "{control}"\n')
            rules = ('\n[policy]\ndefault = "deny"\n[[policy.rule]]\nname = "stream"\ndestinations = '
                     '["198.51.100.0/24"]\nprotocol = "udp"\nports = [5353]\naction = "allow"\n')
            va, vb = os.path.join(d, "a.toml"), os.path.join(d, "b.toml")
            with open(va, "w") as f:
                f.write(rules)
            with open(vb, "w") as f:  # version b: one more rule, the stream still allowed
                f.write(rules + '[[policy.rule]]\nname = "dns"\ndestinations = ["0.0.0.0/0"]\nprotocol = "udp"\n'
                        'ports = [53]\naction = "allow"\n')
            vc = os.path.join(d, "c.toml")
            with open(vc, "w") as f:  # version c: the stream's port no longer allowed, another one is
                f.write(rules.replace("ports = [5353]", "ports = [5354]"))
            config = os.path.join(d, "egressd.toml")
            with open(config, "w") as f, open(base) as b:
                f.write(b.read() + rules)
            probe = os.path.join(os.path.dirname(os.path.abspath(__file__)), "reload_probe.py")
            proc = subprocess.run(["ip", "netns", "exec", f"egressd-reload-{os.getpid()}", "/usr/bin/python3",
                                   probe, harness.EGRESSD, config, base, va, vb, vc, control],
                                  capture_output=True, text=True, timeout=300)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            result = json.loads(proc.stdout.strip().splitlines()[-1])
        finally:
            cleanup()
        self.assertEqual(result["returncode"], 0, result["stderr"])
        self.assertEqual(len(result["reload_us"]), 101, result["summary"])
        self.assertGreaterEqual(result["sent"], 3000)
        # Every frame sent reached egressd or is counted as lost in the device (the
        # af_packet kernel ring's drops, PACKET_STATISTICS, as rx_missed).
        import re
        rx = int(re.search(r"port inside +\S+ +rx ([0-9]+) pkts", result["summary"]).group(1))
        lost = re.search(r"port inside +lost on receive by the device: missed \(RX ring full\) ([0-9]+)", result["summary"])
        self.assertGreaterEqual(rx + (int(lost.group(1)) if lost else 0),
                                result["sent"] + result["new_flow_sent"] + result["cut_probes"], result["summary"])
        # Through 100 reloads that keep the stream allowed, not one packet is lost.
        self.assertEqual(result["received"], result["sent"], result["summary"] + result["capture"])
        # The 101st reload denies the stream: its flow is cut (every later packet
        # dropped and counted); a new flow the new version allows passes.
        self.assertEqual(result["new_flow_received"], result["new_flow_sent"], result["summary"])
        self.assertRegex(result["summary"], rf"\n +policy_cut +{result['cut_probes']}\n")
        # The kernel's own IPv6 neighbour/multicast traffic on the veths is dropped
        # and counted; nothing of the stream is.
        self.assertNotIn("policy_denied", result["summary"])
        times = sorted(result["reload_us"])
        print(f"\nreload (parse + compile + publish + grace period), 100 reloads: median {times[50]} us, "
              f"max {times[-1]} us", file=sys.stderr)


class two_lcores(unittest.TestCase):
    def test_the_worker_on_its_own_lcore_gives_the_same_result(self):
        c = traffic.conversation()
        traffic.tcp_session(c, CLIENT, 40000, SERVER, 443, public=POOL, pport=40000)
        r = harness.run(c, lcores="0-1")
        self.assertEqual(r.drops(), {})
        self.assertEqual(len(r.to_outside), 5)
        self.assertEqual(len(r.to_inside), 3)


if __name__ == "__main__":
    unittest.main()
