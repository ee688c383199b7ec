#!/usr/bin/python3
"""System tests with several workers: the real egressd on pcap vdevs with one RX
queue and one TX queue per worker on each port (tx_pcap per worker), so the
output file a packet lands in says which worker sent it.

The expected owner of every flow is computed here independently of egressd
(a Toeplitz hash in Python, the RETA and port slices as documented in
lib/gateway/steering.hpp), and the flows are chosen so the gateway keeps the
inside port (it lies in the owner's slice of the NAT range), so the replies in
the outside capture can be addressed in advance."""
import ipaddress
import json
import os
import struct
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import traffic  # noqa: E402
from scapy.all import (IP, IPv6, TCP, UDP, ICMP, IPerror, TCPerror, Raw, Ether, ARP, ICMPv6ND_NA, ICMPv6ND_NS,  # noqa: E402
                       ICMPv6NDOptDstLLAddr, IPv6ExtHdrFragment, fragment, fragment6, defragment, defragment6)
from scapy.utils import rdpcap  # noqa: E402

POOL = "203.0.113.10"
SERVER, DNS = "198.51.100.7", "198.51.100.9"
CLIENTS = ["10.0.0.5", "10.0.0.6", "10.0.0.7", "10.0.0.8"]
PORT_MIN, PORT_MAX = 1024, 65535
LCORES = {1: "0", 2: "0-1", 3: "(0-2)@(0,1)", 4: "(0-4)@(0,1)"}
KEY = bytes.fromhex("6d5a56da255b0ec24167253d43a38fb0d0ca2bcbae7b30b477cb2da38030f20c6a42b73bbeac01fa")
M64 = (1 << 64) - 1


def toeplitz(data, key=KEY):
    k, bits, h = int.from_bytes(key, "big"), len(key) * 8, 0
    for i in range(len(data) * 8):
        if data[i // 8] & (0x80 >> (i % 8)):
            h ^= (k >> (bits - 32 - i)) & 0xFFFFFFFF
    return h


def reta(h, n):
    return (h & 127) % n


def v4(a):
    return ipaddress.IPv4Address(a).packed


def owner_out(src, dst, sport, dport, n):
    """Owner of an outbound IPv4 TCP/UDP flow."""
    return reta(toeplitz(v4(src) + v4(dst) + struct.pack(">HH", sport, dport)), n)


def owner_ping(src, dst, n):
    return reta(toeplitz(v4(src) + v4(dst)), n)


def owner_v6(proto, a, ap, b, bp, n):
    def mum(x, y):
        r = (x & M64) * (y & M64)
        return (r & M64) ^ (r >> 64)

    def end(addr, port):
        raw = ipaddress.IPv6Address(addr).packed
        lo, hi = int.from_bytes(raw[:8], "little"), int.from_bytes(raw[8:], "little")
        return mum(lo ^ 0x9E3779B97F4A7C15, hi ^ 0xC2B2AE3D27D4EB4F ^ port)

    h = mum(((end(a, ap) ^ end(b, bp)) + proto) & M64, 0x165667B19E3779F9)
    return reta((h >> 32) & 0xFFFFFFFF, n)


def slice_of(w, n, lo=PORT_MIN, hi=PORT_MAX):
    count = hi - lo + 1
    return lo + count * w // n, lo + count * (w + 1) // n - 1


def preserved(port, w, n):
    a, b = slice_of(w, n)
    return a <= port <= b


def config(directory, n, replay):
    text = harness.config_text(directory, lcores=LCORES[n], replay=replay)
    for side in ("inside", "outside"):
        outs = ",".join(f"tx_pcap={directory}/{side}-out-{w}.pcap" for w in range(n))
        text = text.replace(f"tx_pcap={directory}/{side}-out.pcap", outs)
    return text.replace("[run]\n", f"[run]\nworkers = {n}\n")


class result:
    def __init__(self, directory, proc, n):
        self.stdout, self.stderr = proc.stdout, proc.stderr
        with open(os.path.join(directory, "summary.json")) as f:
            self.summary = json.load(f)
        self.to_outside = [list(rdpcap(os.path.join(directory, f"outside-out-{w}.pcap"))) for w in range(n)]
        self.to_inside = [list(rdpcap(os.path.join(directory, f"inside-out-{w}.pcap"))) for w in range(n)]

    def drops(self):
        return {k: v for k, v in self.summary["drops"].items() if v}


def run(conv, n, replay=True, edit=lambda text: text):
    directory = tempfile.mkdtemp(prefix="egressd-mc-")
    conv.write(os.path.join(directory, "inside.pcap"), os.path.join(directory, "outside.pcap"))
    path = os.path.join(directory, "egressd.toml")
    with open(path, "w") as f:
        f.write(edit(config(directory, n, replay)))
    proc = subprocess.run([harness.EGRESSD, "-c", path, "--stats-json", os.path.join(directory, "summary.json")],
                          capture_output=True, text=True, timeout=240)
    if proc.returncode != 0:
        raise AssertionError(f"egressd exited {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return result(directory, proc, n)


def pick_flows(n, per_worker, proto_port, offset):
    """(client, port, owner) for per_worker flows per worker whose port is kept:
    ports from the owner's own slice whose 4-tuple hashes to that owner."""
    chosen = []
    for w in range(n):
        port, count = slice_of(w, n)[0] + offset, 0
        while count < per_worker:
            client = CLIENTS[port % len(CLIENTS)]
            if owner_out(client, SERVER if proto_port == 443 else DNS, port, proto_port, n) == w:
                chosen.append((client, port, w))
                count += 1
            port += 1
    # Interleave the workers' flows.
    return sorted(chosen, key=lambda f: (f[1] - slice_of(f[2], n)[0], f[2]))


def seq_of(pkt):
    return int(bytes(pkt[UDP].payload).split(b"#")[1])


class mixed_traffic:
    """The same conversation for n workers: TCP sessions with ICMP errors about
    them from outside, UDP streams of numbered datagrams both ways, pings and
    IPv6 sessions, interleaved so every worker has flows in flight at once."""
    datagrams = 12

    def check(self, n):
        c = traffic.conversation()
        tcp = pick_flows(n, 3, 443, 1000)
        udp = pick_flows(n, 2, 53, 5000)
        pings = []  # one ICMP echo flow per worker (owner: the address pair), its identifier kept
        for w in range(n):
            host = next(f"10.0.1.{i}" for i in range(2, 250) if owner_ping(f"10.0.1.{i}", SERVER, n) == w)
            pings.append((host, slice_of(w, n)[0] + 7, w))
        v6 = [(f"fd00:0:0:1::{i + 5:x}", 50000 + i) for i in range(8)]
        expected_out = [0] * n
        expected_in = [0] * n
        # TCP: handshake, ICMP error (frag needed) quoting the translated SYN, data, close.
        for client, port, w in tcp:
            traffic.tcp_session(c, client, port, SERVER, 443, public=POOL, pport=port)
            quoted = bytes(IP(src=POOL, dst=SERVER) / TCP(sport=port, dport=443, flags="S", seq=1000))[:28]
            c.from_outside(IP(src="198.51.100.254", dst=POOL) / ICMP(type=3, code=4, nexthopmtu=1400) / Raw(quoted))
            expected_out[w] += 5
            expected_in[w] += 4  # the error too, translated back to the client by the flow's owner
        # UDP: numbered datagrams both ways, interleaved across flows.
        for i in range(self.datagrams):
            for client, port, w in udp:
                c.from_inside(IP(src=client, dst=DNS) / UDP(sport=port, dport=53) / Raw(b"q#%d#" % i))
                c.from_outside(IP(src=DNS, dst=POOL) / UDP(sport=53, dport=port) / Raw(b"a#%d#" % i))
                expected_out[w] += 1
                expected_in[w] += 1
        for client, ident, w in pings:
            traffic.ping(c, client, SERVER, ident, public=POOL, pid=ident)
            expected_out[w] += 1
            expected_in[w] += 1
        for client, port in v6:
            traffic.tcp_session(c, client, port, "2001:db8:5::7", 443)
            w = owner_v6(6, client, port, "2001:db8:5::7", 443, n)
            expected_out[w] += 5
            expected_in[w] += 3
        r = run(c, n)
        self.assertEqual(r.drops(), {}, r.stderr)
        # Every packet left through its flow's owner's TX queue, and nowhere else:
        # no flow was tracked by two workers.
        self.assertEqual([len(p) for p in r.to_outside], expected_out)
        self.assertEqual([len(p) for p in r.to_inside], expected_in)
        for w in range(n):
            for p in r.to_outside[w]:
                if p.haslayer(IP) and p.haslayer(TCP):
                    self.assertEqual(p[IP].src, POOL)
                    self.assertEqual([f[2] for f in tcp if f[1] == p[TCP].sport], [w])
            # Replies always de-translated, to the client and port that opened the flow.
            for p in r.to_inside[w]:
                if p.haslayer(IP) and p.haslayer(TCP):
                    self.assertIn((p[IP].dst, p[TCP].dport, w), tcp)
                if p.haslayer(IP) and p.haslayer(UDP):
                    self.assertIn((p[IP].dst, p[UDP].dport, w), udp)
        # Order within each flow, both directions.
        for client, port, w in udp:
            out = [seq_of(p) for p in r.to_outside[w] if p.haslayer(UDP) and p[UDP].sport == port]
            back = [seq_of(p) for p in r.to_inside[w] if p.haslayer(UDP) and p[UDP].dport == port]
            self.assertEqual(out, list(range(self.datagrams)))
            self.assertEqual(back, list(range(self.datagrams)))
        for client, port, w in tcp:
            flags = [str(p[TCP].flags) for p in r.to_outside[w] if p.haslayer(TCP) and p[TCP].sport == port]
            self.assertEqual(flags, ["S", "A", "PA", "FA", "A"])
        # Each ICMP error reached the owner of the flow it quotes and went to that
        # flow's client, its quote translated back to the client's address and port.
        for client, port, w in tcp:
            errors = [p for p in r.to_inside[w] if p.haslayer(ICMP) and p[ICMP].type == 3 and p[IP].dst == client
                      and p[IPerror].src == client and p[TCPerror].sport == port]
            self.assertEqual(len(errors), 1, (client, port, w))
        # Per worker: what it processed and the flows it created.
        workers = r.summary["workers"]
        self.assertEqual(len(workers), n)
        tcp_n = [sum(1 for f in tcp if f[2] == w) for w in range(n)]
        udp_n = [sum(1 for f in udp if f[2] == w) for w in range(n)]
        ping_n = [sum(1 for f in pings if f[2] == w) for w in range(n)]
        v6_n = [sum(1 for cl, pt in v6 if owner_v6(6, cl, pt, "2001:db8:5::7", 443, n) == w) for w in range(n)]
        for w in range(n):
            self.assertEqual(workers[w]["flows_created"], tcp_n[w] + udp_n[w] + ping_n[w] + v6_n[w], w)
            self.assertEqual(workers[w]["drops"], 0, w)
            self.assertEqual(workers[w]["rx_outside"], expected_in[w], w)
            self.assertEqual(workers[w]["tx_outside"], expected_out[w], w)
            self.assertGreater(workers[w]["flows_created"], 0, w)
        self.assertEqual(r.summary["flows"]["tcp"]["created"], len(tcp) + len(v6))
        self.assertEqual(r.summary["flows"]["udp"]["created"], len(udp))
        self.assertEqual(r.summary["flows"]["icmp"]["created"], len(pings))
        self.assertEqual(r.summary["nat"][0]["mappings_created"], len(tcp) + len(udp) + len(pings))


class two_workers(unittest.TestCase, mixed_traffic):
    def test_flows_stay_on_their_owner_in_order(self):
        self.check(2)


class three_workers(unittest.TestCase, mixed_traffic):
    def test_flows_stay_on_their_owner_in_order(self):
        self.check(3)


class four_workers(unittest.TestCase, mixed_traffic):
    def test_flows_stay_on_their_owner_in_order(self):
        self.check(4)


ROUTER_MAC = "02:00:00:00:02:01"
GW_OUT_MAC = "02:00:00:00:02:fe"


def resolving_outside(text):
    """The outside without a static next hop: the router (192.0.2.254,
    2001:db8::fe) is resolved by ARP / neighbour discovery."""
    text = text.replace('next_hop_mac = "02:00:00:00:02:01"\naddresses = ["192.0.2.1", "2001:db8::1"]',
                        'addresses = ["192.0.2.1/24", "2001:db8::1/64"]\nnext_hop = ["192.0.2.254", "2001:db8::fe"]')
    assert "next_hop = " in text
    return text


class next_hop_resolution:
    """Several workers, the outside router resolved, not configured: every
    worker with a flow asks for the router itself (its own cache), the answers
    all arrive at worker 0 (one RX queue), and worker 0 hands each worker a copy
    to learn from. Every worker's held datagrams leave, in order, to the
    router's MAC; nothing is dropped; only worker 0 announces the gateway."""
    later = 3

    def check(self, n):
        c = traffic.conversation()
        udp = pick_flows(n, 2, 53, 5000)
        v6 = []  # one IPv6 UDP flow per worker
        for w in range(n):
            port = next(p for p in range(40000, 41000) if owner_v6(17, "fd00:0:0:1::5", p, "2001:db8:5::9", 53, n) == w)
            v6.append(("fd00:0:0:1::5", port, w))
        # Before the router is known: the first datagram of every flow.
        for client, port, w in udp:
            c.from_inside(IP(src=client, dst=DNS) / UDP(sport=port, dport=53) / Raw(b"q#0#"))
        for client, port, w in v6:
            c.from_inside(IPv6(src=client, dst="2001:db8:5::9") / UDP(sport=port, dport=53) / Raw(b"q#0#"))
        # The router answers (the requests are in the output; only the answers matter here).
        c.outside.append(c._stamp(Ether(src=ROUTER_MAC, dst=GW_OUT_MAC) / ARP(
            op=2, hwsrc=ROUTER_MAC, psrc="192.0.2.254", hwdst=GW_OUT_MAC, pdst="192.0.2.1")))
        c.outside.append(c._stamp(Ether(src=ROUTER_MAC, dst=GW_OUT_MAC) /
                                  IPv6(src="2001:db8::fe", dst="2001:db8::1", hlim=255) /
                                  ICMPv6ND_NA(tgt="2001:db8::fe", R=1, S=1, O=1) /
                                  ICMPv6NDOptDstLLAddr(lladdr=ROUTER_MAC)))
        for i in range(1, self.later + 1):
            for client, port, w in udp:
                c.from_inside(IP(src=client, dst=DNS) / UDP(sport=port, dport=53) / Raw(b"q#%d#" % i))
                c.from_outside(IP(src=DNS, dst=POOL) / UDP(sport=53, dport=port) / Raw(b"a#%d#" % i))
            for client, port, w in v6:
                c.from_inside(IPv6(src=client, dst="2001:db8:5::9") / UDP(sport=port, dport=53) / Raw(b"q#%d#" % i))
                c.from_outside(IPv6(src="2001:db8:5::9", dst=client) / UDP(sport=53, dport=port) / Raw(b"a#%d#" % i))
        r = run(c, n, edit=resolving_outside)
        self.assertEqual(r.drops(), {}, r.stderr)
        flows = udp + v6
        for w in range(n):
            out = r.to_outside[w]
            arps = [p for p in out if p.haslayer(ARP)]
            ns = [p for p in out if p.haslayer(ICMPv6ND_NS)]
            nas = [p for p in out if p.haslayer(ICMPv6ND_NA)]
            # Its own request for each router, broadcast / to the solicited-node group.
            requests = [(p[Ether].dst, p[ARP].op, p[ARP].psrc, p[ARP].pdst) for p in arps if p[ARP].psrc != p[ARP].pdst]
            self.assertEqual(requests, [("ff:ff:ff:ff:ff:ff", 1, "192.0.2.1", "192.0.2.254")], w)
            self.assertEqual([(p[Ether].dst, p[ICMPv6ND_NS].tgt) for p in ns], [("33:33:ff:00:00:fe", "2001:db8::fe")], w)
            # Announcements (gratuitous ARP for 192.0.2.1 and the pool, an
            # unsolicited NA for 2001:db8::1): worker 0 only.
            gratuitous = [p[ARP].psrc for p in arps if p[ARP].psrc == p[ARP].pdst]
            self.assertEqual(gratuitous, ["192.0.2.1", POOL] if w == 0 else [], w)
            self.assertEqual([p[ICMPv6ND_NA].tgt for p in nas], ["2001:db8::1"] if w == 0 else [], w)
            # Every datagram of the worker's flows, to the router, in order; none of the others'.
            data = [p for p in out if p.haslayer(UDP)]
            self.assertEqual({p[Ether].dst for p in data}, {ROUTER_MAC} if data else set(), w)
            back = [p for p in r.to_inside[w] if p.haslayer(UDP)]
            for client, port, owner in flows:
                family = IPv6 if ":" in client else IP
                seqs = [seq_of(p) for p in data if p.haslayer(family) and p[UDP].sport == port]
                self.assertEqual(seqs, list(range(self.later + 1)) if owner == w else [], (client, port, w))
                seqs = [seq_of(p) for p in back if p.haslayer(family) and p[family].dst == client and
                        p[UDP].dport == port]
                self.assertEqual(seqs, list(range(1, self.later + 1)) if owner == w else [], (client, port, w))
        nb = r.summary["neighbors"]
        self.assertEqual(nb["requests_sent"], 2 * n)  # one ARP request and one NS per worker
        self.assertEqual(nb["resolved"], 2 * n)
        self.assertEqual(nb["announcements_sent"], 3)
        self.assertEqual(nb["replies_sent"], 0)
        self.assertEqual(nb["frames_queued"], len(flows))
        self.assertEqual(nb["frames_released"], len(flows))
        # Worker 0 received the ARP reply and the NA (and its own flows' replies);
        # the copies it handed over count as received nowhere.
        rx = [self.later * sum(1 for f in flows if f[2] == w) for w in range(n)]
        rx[0] += 2
        self.assertEqual([wk["rx_outside"] for wk in r.summary["workers"]], rx)


class two_workers_resolve(unittest.TestCase, next_hop_resolution):
    def test_every_worker_resolves_its_next_hop(self):
        self.check(2)


class four_workers_resolve(unittest.TestCase, next_hop_resolution):
    def test_every_worker_resolves_its_next_hop(self):
        self.check(4)


class fragmented_datagrams:
    """Fragmented UDP datagrams (IPv4 and IPv6, both ways) of flows owned by
    every worker, all received by worker 0 (one RX queue per port): the first
    fragment is steered by its ports, the later ones follow it to the same
    owner (worker 0's fragment_steering), including fragments that arrive
    before their first (held by worker 0, then sent behind it). Each owner
    sends every fragment of its flows, in order, translated; nobody else sends
    any."""

    def check(self, n):
        c = traffic.conversation()
        v4 = pick_flows(n, 1, 53, 7000)
        v6 = []
        for w in range(n):
            port = next(p for p in range(42000, 43000) if owner_v6(17, "fd00:0:0:1::7", p, "2001:db8:5::9", 53, n) == w)
            v6.append(("fd00:0:0:1::7", port, w))
        expected_out = {}  # (family, id) -> [offsets in the order the owner sends them]
        expected_in = {}
        datagrams = 3
        ident = lambda k, d, back=0: 0x1000 + k * 16 + d + 8 * back  # noqa: E731

        def send(frags, inside, key, expect):
            # Datagram 1: the later fragments first (reversed), then the first.
            arrival = frags if key[1] % 16 != 1 else frags[1:][::-1] + frags[:1]
            for f in arrival:
                (c.from_inside if inside else c.from_outside)(f)
            offsets = [f.frag if key[0] == 4 else f[IPv6ExtHdrFragment].offset for f in arrival]
            expect[key] = sorted(offsets[-1:]) + offsets[:-1] if key[1] % 16 == 1 else offsets

        for d in range(datagrams):
            for k, (client, port, w) in enumerate(v4):
                pkt = IP(src=client, dst=DNS, id=ident(k, d)) / UDP(sport=port, dport=53) / Raw(b"q#%d#" % d + b"x" * 3000)
                send(fragment(pkt, fragsize=1200), True, (4, ident(k, d)), expected_out)
            for k, (client, port, w) in enumerate(v6):
                pkt = (IPv6(src=client, dst="2001:db8:5::9") / IPv6ExtHdrFragment(id=ident(k, d)) /
                       UDP(sport=port, dport=53) / Raw(b"q#%d#" % d + b"x" * 3000))
                send(fragment6(pkt, 1280), True, (6, ident(k, d)), expected_out)
            for k, (client, port, w) in enumerate(v4):
                pkt = IP(src=DNS, dst=POOL, id=ident(k, d, 1)) / UDP(sport=53, dport=port) / Raw(b"a#%d#" % d + b"y" * 3000)
                send(fragment(pkt, fragsize=1200), False, (4, ident(k, d, 1)), expected_in)
            for k, (client, port, w) in enumerate(v6):
                pkt = (IPv6(src="2001:db8:5::9", dst=client) / IPv6ExtHdrFragment(id=ident(k, d, 1)) /
                       UDP(sport=53, dport=port) / Raw(b"a#%d#" % d + b"y" * 3000))
                send(fragment6(pkt, 1280), False, (6, ident(k, d, 1)), expected_in)
        r = run(c, n)
        self.assertEqual(r.drops(), {}, r.stderr)

        def fragments_of(pkts, family, ident_, port=None, d=None):
            if family == 4 and port is not None:
                # Outbound IPv4 datagrams leave with their public address's next
                # identification (RFC 6864 / 7857 section 10), not the inside
                # one: found by the first fragment's port and numbered payload.
                firsts = [p for p in pkts if p.haslayer(IP) and p.haslayer(UDP) and p[IP].frag == 0 and
                          p[UDP].sport == port and bytes(p[UDP].payload).startswith(b"q#%d#" % d)]
                return [p for p in pkts if p.haslayer(IP) and firsts and p[IP].id == firsts[0][IP].id]
            if family == 4:
                return [p for p in pkts if p.haslayer(IP) and p[IP].id == ident_]
            return [p for p in pkts if p.haslayer(IPv6ExtHdrFragment) and p[IPv6ExtHdrFragment].id == ident_]

        total = 0
        for flows, family in ((v4, 4), (v6, 6)):
            for k, (client, port, w) in enumerate(flows):
                for d in range(datagrams):
                    for back, pcaps, expected in ((0, r.to_outside, expected_out), (1, r.to_inside, expected_in)):
                        key = (family, ident(k, d, back))
                        for o in range(n):
                            got = fragments_of(pcaps[o], family, key[1], port if not back else None, d)
                            if o != w:
                                self.assertEqual(got, [], (key, o))
                                continue
                            offsets = [f.frag if family == 4 else f[IPv6ExtHdrFragment].offset for f in got]
                            self.assertEqual(offsets, expected[key], (key, w))
                            total += len(got)
                            # Translated, and whole again once reassembled.
                            whole = (defragment if family == 4 else defragment6)(got)
                            whole = list(whole)[0] if family == 4 else whole
                            if family == 4:
                                self.assertEqual(whole[IP].src if not back else whole[IP].dst, POOL if not back else client)
                                whole = IP(bytes(whole[IP]))
                                checked = whole[UDP].chksum
                                del whole[UDP].chksum
                                self.assertEqual(IP(bytes(whole))[UDP].chksum, checked, key)
                            self.assertEqual(seq_of(whole), d, key)
                            self.assertEqual(whole[UDP].dport if not back else whole[UDP].sport, 53)
        frag = r.summary["fragments"]
        self.assertEqual(frag["forwarded"], total)
        self.assertEqual(frag["held"], 0)  # the owner saw every first fragment first
        self.assertEqual(frag["completed"], 2 * datagrams * (len(v4) + len(v6)))
        self.assertEqual([wk["flows_created"] for wk in r.summary["workers"]], [2] * n)


class workers_fragments(unittest.TestCase, fragmented_datagrams):
    def test_two_workers(self):
        self.check(2)

    def test_four_workers(self):
        self.check(4)


class workers_live(unittest.TestCase):
    def test_live_mode_hands_off_in_order(self):
        """Live mode (no timestamp merge): worker 0 polls the single RX queues and
        hands packets to the others while they run; outbound UDP streams only
        (a live replay cannot order replies after their requests)."""
        n = 3
        c = traffic.conversation()
        udp = pick_flows(n, 3, 53, 5000)
        for i in range(40):
            for client, port, w in udp:
                c.from_inside(IP(src=client, dst=DNS) / UDP(sport=port, dport=53) / Raw(b"q#%d#" % i))
        r = run(c, n, replay=False)
        self.assertEqual(r.drops(), {})
        for client, port, w in udp:
            for o in range(n):
                got = [seq_of(p) for p in r.to_outside[o] if p[UDP].sport == port]
                self.assertEqual(got, list(range(40)) if o == w else [], (port, o))
        self.assertEqual([wk["flows_created"] for wk in r.summary["workers"]], [3, 3, 3])


class workers_control(unittest.TestCase):
    def test_stats_and_flow_queries_cover_every_worker(self):
        """A running gateway with 3 workers: egressctl stats sums them, flows and
        nat see every worker's flows, each once."""
        import signal
        import time
        n = 3
        directory = tempfile.mkdtemp(prefix="egressd-mc-")
        c = traffic.conversation()
        udp = pick_flows(n, 2, 53, 5000)
        for client, port, w in udp:
            c.from_inside(IP(src=client, dst=DNS) / UDP(sport=port, dport=53) / Raw(b"q#0#"))
        c.write(os.path.join(directory, "inside.pcap"), os.path.join(directory, "outside.pcap"))
        sock = os.path.join(directory, "ctl.sock")
        path = os.path.join(directory, "egressd.toml")
        with open(path, "w") as f:
            f.write(config(directory, n, replay=False).replace("stop_when_drained = true", "stop_when_drained = false")
                    + f'\n[control]\nsocket = "{sock}"\n')
        proc = subprocess.Popen([harness.EGRESSD, "-c", path, "--stats-json", os.path.join(directory, "summary.json")],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        ctl = os.path.join(harness.HERE, "..", "..", "tools", "egressctl")

        def query(*args):
            r = subprocess.run([ctl, "-s", sock, "--json", *args], capture_output=True, text=True, timeout=30)
            return json.loads(r.stdout) if r.returncode == 0 else None

        try:
            stats = None
            for _ in range(200):
                stats = os.path.exists(sock) and query("stats")
                if stats and stats["stats"]["flows"]["active"] == len(udp):
                    break
                time.sleep(0.05)
            self.assertEqual(stats["stats"]["flows"]["active"], len(udp))
            self.assertEqual(stats["stats"]["flows"]["udp"]["created"], len(udp))
            self.assertEqual(stats["stats"]["ports"]["inside"]["rx_packets"], len(udp))
            self.assertEqual(stats["stats"]["ports"]["outside"]["tx_packets"], len(udp))
            flows = query("flows")
            self.assertEqual((flows["matched"], flows["scanned"]), (len(udp), len(udp)))
            self.assertEqual(sorted((f["inside"], f["inside_port"]) for f in flows["flows"]),
                             sorted((cl, pt) for cl, pt, _ in udp))
            nat = query("nat")
            self.assertEqual(sum(h["mappings"] for h in nat["hosts"]), len(udp))
        finally:
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, 0, err)
        with open(os.path.join(directory, "summary.json")) as f:
            summary = json.load(f)
        self.assertEqual([w["flows_created"] for w in summary["workers"]], [2, 2, 2])


class workers_af_packet(unittest.TestCase):
    def test_two_pollers_hand_off_both_ways_in_order(self):
        """af_packet with two queue pairs: the kernel spreads packets over both
        queues by its own hash, so each worker receives packets the other owns;
        every datagram still arrives, translated both ways, in order per flow."""
        ns = f"mc-afp-{os.getpid()}"
        cleanup = harness.veth_namespace(ns)
        try:
            d = tempfile.mkdtemp(prefix="egressd-mc-")
            path = os.path.join(d, "afp.toml")
            text = harness.af_packet_config(d, lcores="(0-2)@(0,1)")
            text = text.replace("iface=vin1", "iface=vin1,qpairs=2").replace("iface=vout1", "iface=vout1,qpairs=2")
            with open(path, "w") as f:
                f.write(text.replace("[run]\n", "[run]\nworkers = 2\n"))
            probe = os.path.join(os.path.dirname(os.path.abspath(__file__)), "workers_probe.py")
            summary = os.path.join(d, "summary.json")
            proc = subprocess.run(["ip", "netns", "exec", ns, "/usr/bin/python3", probe, harness.EGRESSD, path, summary],
                                  capture_output=True, text=True, timeout=180)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            result = json.loads(proc.stdout.strip().splitlines()[-1])
            with open(summary) as f:
                stats = json.load(f)
        finally:
            cleanup()
        self.assertEqual(result["returncode"], 0, result["stderr"])
        flows = [(f"10.0.0.{5 + i % 4}", 6000 + i) for i in range(8)]
        self.assertEqual(len(result["out"]), 8 * 30, result["stdout"])
        public = {}
        for src, sport, payload in result["out"]:
            self.assertEqual(src, POOL)
            public.setdefault(sport, []).append(int(payload.split("#")[1]))
        self.assertEqual(len(public), 8)
        for sport, seqs in public.items():
            self.assertEqual(seqs, list(range(30)), sport)
        back = {}
        for dst, dport, payload in result["back"]:
            back.setdefault((dst, dport), []).append(int(payload.split("#")[1]))
        self.assertEqual(sorted(back), sorted(flows))  # de-translated to the inside host and port
        for flow, seqs in back.items():
            self.assertEqual(seqs, list(range(30)), flow)
        drops = {k: v for k, v in stats["drops"].items() if v}
        # Only the kernel's own IPv6 chatter on the veths: router solicitations and
        # MLD (icmp_type_unsupported), duplicate address detection probes from the
        # unspecified address (bad_address).
        self.assertEqual(set(drops) - {"icmp_type_unsupported", "bad_address"}, set(), drops)
        self.assertEqual(sum(w["flows_created"] for w in stats["workers"]), 8)
        self.assertEqual([w["rx_inside"] + w["rx_outside"] > 0 for w in stats["workers"]], [True, True])


class workers_config(unittest.TestCase):
    def test_more_workers_than_lcores_is_refused(self):
        directory = tempfile.mkdtemp(prefix="egressd-mc-")
        c = traffic.conversation()
        c.write(os.path.join(directory, "inside.pcap"), os.path.join(directory, "outside.pcap"))
        path = os.path.join(directory, "egressd.toml")
        with open(path, "w") as f:
            f.write(config(directory, 2, True).replace('lcores = "0-1"', 'lcores = "0"'))
        proc = subprocess.run([harness.EGRESSD, "-c", path], capture_output=True, text=True, timeout=60)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("egressd: run.workers = 2 needs at least 2 lcores in eal.lcores, EAL has 1", proc.stderr)

    def test_a_port_without_a_tx_queue_per_worker_is_refused(self):
        directory = tempfile.mkdtemp(prefix="egressd-mc-")
        c = traffic.conversation()
        c.write(os.path.join(directory, "inside.pcap"), os.path.join(directory, "outside.pcap"))
        path = os.path.join(directory, "egressd.toml")
        text = harness.config_text(directory, lcores="0-1").replace("[run]\n", "[run]\nworkers = 2\n")
        with open(path, "w") as f:
            f.write(text)
        proc = subprocess.run([harness.EGRESSD, "-c", path], capture_output=True, text=True, timeout=60)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("egressd: port net_pcap0: 2 workers need 2 TX queues, the device has 1 (pcap vdev: one "
                      "tx_pcap per worker; af_packet: qpairs=2)", proc.stderr)


if __name__ == "__main__":
    unittest.main()
