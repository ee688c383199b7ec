#!/usr/bin/python3
# Writes the seed corpora of steering_fuzz, fragments_fuzz, neighbors_fuzz and
# icmp_errors_fuzz (tests/fuzz/corpus/<target>) in each target's input format
# (see the header comment of each target), with scapy-built frames.
# Usage: /usr/bin/python3 tests/fuzz/make_packet_path_seeds.py [CORPUS_DIR]
import os
import struct
import sys

from scapy.all import (ARP, ICMP, IP, TCP, UDP, Dot1Q, Ether, ICMPv6DestUnreach, ICMPv6EchoRequest,
                       ICMPv6ND_NA, ICMPv6ND_NS, ICMPv6NDOptDstLLAddr, ICMPv6NDOptSrcLLAddr, IPerror,
                       IPv6, IPv6ExtHdrFragment, Raw, UDPerror, fragment)

HERE = os.path.dirname(os.path.abspath(__file__))
ETH = Ether(src="02:00:00:00:01:01", dst="02:00:00:00:01:fe")
HOST, HOST6 = "10.0.0.5", "fd00:0:0:1::5"
SERVER, SERVER6 = "198.51.100.7", "2001:db8:1::7"
POOL = "203.0.113.10"


def steering_seeds():
    """[config][choice][frame]: config bits 0..2 workers - 1, 3 RSS, 4..5 port range, 6 outside."""
    tcp = bytes(ETH / IP(src=HOST, dst=SERVER) / TCP(sport=40000, dport=443, flags="S"))
    udp = bytes(ETH / Dot1Q(vlan=100) / IP(src=HOST, dst=SERVER) / UDP(sport=5353, dport=53) / Raw(b"q"))
    echo = bytes(ETH / IP(src=HOST, dst=SERVER) / ICMP(type=8, id=77) / Raw(b"ping"))
    v6 = bytes(ETH / IPv6(src=HOST6, dst=SERVER6) / TCP(sport=40001, dport=443, flags="S"))
    echo6 = bytes(ETH / IPv6(src=HOST6, dst=SERVER6) / ICMPv6EchoRequest(id=9))
    big = IP(src=HOST, dst=SERVER, id=4242) / UDP(sport=6000, dport=53) / Raw(b"f" * 1200)
    frags = [bytes(ETH / f) for f in fragment(big, fragsize=600)]
    frag6 = bytes(ETH / IPv6(src=HOST6, dst=SERVER6) / IPv6ExtHdrFragment(id=99, m=1, offset=0)
                  / UDP(sport=6001, dport=53) / Raw(b"s" * 64))
    quoted = IP(src=POOL, dst=SERVER) / UDP(sport=1500, dport=53) / Raw(b"\x00" * 8)
    error = bytes(ETH / IP(src="198.51.100.1", dst=POOL) / ICMP(type=3, code=3) / bytes(quoted)[:28])
    error6 = bytes(ETH / IPv6(src="2001:db8:1::1", dst=HOST6) / ICMPv6DestUnreach()
                   / bytes(IPv6(src=HOST6, dst=SERVER6) / UDP(sport=6002, dport=53))[:48])
    reply = bytes(ETH / IP(src=SERVER, dst=POOL) / TCP(sport=443, dport=2000, flags="SA"))
    return {
        "tcp-4-workers": bytes([0x03, 7]) + tcp,
        "tcp-4-workers-rss": bytes([0x0b, 7]) + tcp,
        "udp-vlan-8-workers-rss-small-range": bytes([0x1f, 200]) + udp,
        "echo-3-workers": bytes([0x02, 1]) + echo,
        "echo-2-workers-rss": bytes([0x09, 33]) + echo,
        "tcp6-5-workers": bytes([0x04, 0]) + v6,
        "echo6-2-workers": bytes([0x01, 0]) + echo6,
        "first-fragment-4-workers": bytes([0x03, 9]) + frags[0],
        "later-fragment-4-workers": bytes([0x03, 9]) + frags[1],
        "first-fragment6-6-workers-rss": bytes([0x0d, 20]) + frag6,
        "error-from-outside-2-workers": bytes([0x41, 0]) + error,
        "error6-from-outside-3-workers": bytes([0x42, 0]) + error6,
        "reply-from-outside-4-workers-rss": bytes([0x4b, 0]) + reply,
        "one-worker": bytes([0x00, 0]) + tcp,
    }


def fragments_seeds():
    """[config] then 5-byte steps [op][datagram][offset_hi][offset_lo][length]."""
    def frag(d, units, length, more=True, deny=False, fail=False):
        op = (4 if more else 0) | (8 if deny else 0) | (16 if fail else 0)
        return bytes([op, d, units >> 8, units & 0xff, length])
    clock = lambda step: bytes([2, step, 0, 0, 0])
    sweep = lambda budget: bytes([3, budget, 0, 0, 0])
    in_order = frag(0, 0, 3) + frag(0, 4, 3) + frag(0, 8, 20, more=False)
    reversed_ = frag(1, 8, 20, more=False) + frag(1, 4, 3) + frag(1, 0, 3)
    overlap = frag(2, 0, 3) + frag(2, 2, 3) + frag(2, 4, 3)
    timeout = frag(3, 4, 3) + clock(6) + sweep(255) + frag(3, 0, 3)
    return {
        "in-order": bytes([0x3f]) + in_order,
        "reversed-held": bytes([0x3f]) + reversed_,
        "overlap": bytes([0x3f]) + overlap,
        "timeout": bytes([0x3f]) + timeout,
        "table-full": bytes([0x00]) + frag(0, 4, 3) + frag(5, 4, 3) + frag(0, 0, 3),
        "no-slots": bytes([0x0f]) + reversed_ + frag(4, 0, 1, deny=True),
        "duplicates-bad-end": bytes([0x3e]) + frag(6, 0, 3) + frag(6, 0, 3) + frag(6, 8, 5, more=False)
        + frag(6, 8, 9, more=False),
        "too-many": bytes([0x33]) + frag(7, 0, 0) + frag(7, 1, 0) + frag(7, 2, 0) + frag(7, 3, 0, fail=True),
    }


def neighbors_seeds():
    """[config] then [op][a][b] records; op 0: a frame of (a << 8 | b) bytes follows."""
    def frame(data, outside=False, copy=False):
        return bytes([(8 if outside else 0) | (16 if copy else 0)]) + struct.pack(">H", len(data)) + data
    send = lambda kind, host, outside=False: bytes([1 | (8 if outside else 0), kind, host])
    clock = lambda step: bytes([2, step, 0])
    tick = lambda budget: bytes([3, budget, 0])
    in_mac, out_mac, peer = "02:00:00:00:01:fe", "02:00:00:00:02:fe", "02:00:00:00:02:77"
    who_has = bytes(Ether(src=peer, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=peer, psrc="192.0.2.254",
                                                                    pdst="192.0.2.1"))
    is_at = bytes(Ether(src=peer, dst=out_mac) / ARP(op=2, hwsrc=peer, psrc="192.0.2.254", hwdst=out_mac,
                                                     pdst="192.0.2.1"))
    host_arp = bytes(Ether(src="02:00:00:00:01:05", dst=in_mac) / ARP(op=2, hwsrc="02:00:00:00:01:05",
                                                                      psrc=HOST, pdst="10.0.0.1"))
    ns = bytes(Ether(src="02:00:00:00:01:05", dst="33:33:ff:00:00:01") / IPv6(src=HOST6, dst="ff02::1:ff00:1")
               / ICMPv6ND_NS(tgt="fd00:0:0:1::1") / ICMPv6NDOptSrcLLAddr(lladdr="02:00:00:00:01:05"))
    na = bytes(Ether(src=peer, dst=out_mac) / IPv6(src="2001:db8::fe", dst="2001:db8::1")
               / ICMPv6ND_NA(tgt="2001:db8::fe", R=1, S=1, O=1) / ICMPv6NDOptDstLLAddr(lladdr=peer))
    return {
        "resolve-router-arp": bytes([0x01]) + send(1, 7, outside=True) + frame(who_has, outside=True)
        + frame(is_at, outside=True) + tick(64),
        "resolve-host-nd": bytes([0x00]) + send(2, 5) + frame(ns) + clock(4) + tick(64),
        "unresolved": bytes([0x08]) + send(0, 5) + send(0, 5) + send(0, 6) + clock(4) + tick(255) + clock(4)
        + tick(255) + clock(4) + tick(255),
        "stale-probe": bytes([0x04]) + frame(host_arp) + send(0, 5) + clock(6) + tick(255) + send(0, 5)
        + clock(7) + tick(255),
        "copies-announce": bytes([0x03]) + bytes([4, 0, 0]) + frame(is_at, outside=True, copy=True)
        + send(3, 9, outside=True) + frame(na, outside=True),
        "table-full": bytes([0x00]) + b"".join(send(0, h) for h in range(2, 9)),
    }


def icmp_errors_seeds():
    """[config] then [op][a][b][c] records (icmp_errors_fuzz.cpp)."""
    rec = lambda op, a=0, b=0, c=0: bytes([op, a, b, c])
    udp, tcp, echo = 1 << 1, 0, 2 << 1
    flows = rec(0, udp, 0, 0) + rec(0, tcp, 4, 4) + rec(0, echo, 8, 1) + rec(0, 1 | udp, 0, 2)
    return {
        "errors-from-outside": bytes([0]) + flows + rec(2, 0, 0 << 2, 0) + rec(2 | 8, 0, 1, 5)
        + rec(2, 0, (3 << 2) | 2, 2) + rec(2, 0, (4 << 2) | 3, 40),
        "errors-from-inside": bytes([1]) + flows + rec(1, 0) + rec(1, 1) + rec(1, 2) + rec(1, 3)
        + rec(3, 0, 0, 0) + rec(3 | 8, 0, 1, 0) + rec(3, 0, 2, 9) + rec(3, 0, 3, 1),
        "mutated-quotes": bytes([0]) + flows + rec(2 | 32, 0, 5, 3) + rec(2 | 32 | 64, 0, 6, 12)
        + rec(2 | 16, 0, 0, 0),
        "own-errors": bytes([2]) + rec(0, (20 << 3) | udp, 0, 0) + rec(0 | 8, udp, 1, 1)
        + rec(0 | 8, 1 | udp, 1, 1) + rec(4, 5, 1, 0) + rec(2, 0, 0, 0),
        "expired-flow": bytes([0]) + flows + rec(4, 7, 1, 0) + rec(2, 0, 0, 0) + rec(3, 0, 0, 0),
    }


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "corpus")
    for target, seeds in (("steering", steering_seeds()), ("fragments", fragments_seeds()),
                          ("neighbors", neighbors_seeds()), ("icmp_errors", icmp_errors_seeds())):
        os.makedirs(os.path.join(out, target), exist_ok=True)
        for name, data in seeds.items():
            with open(os.path.join(out, target, name + ".bin"), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()
