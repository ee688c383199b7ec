#!/usr/bin/python3
# Writes the seed corpus of gateway_fuzz (tests/fuzz/corpus/gateway): whole
# conversations through the gateway in the fuzz target's input format, with the
# MACs and addresses of its configurations (gateway_fuzz.cpp, settings_for).
# Usage: /usr/bin/python3 tests/fuzz/make_gateway_seeds.py [OUT_DIR]
import os
import struct
import sys

from scapy.all import (ARP, DNS, DNSQR, ICMP, IP, TCP, UDP, Dot1Q, Ether, ICMPv6EchoRequest,
                       ICMPv6ND_NS, ICMPv6NDOptSrcLLAddr, IPv6, Raw, fragment)

IN_GW, IN_HOP = "02:00:00:00:01:fe", "02:00:00:00:01:01"
OUT_GW, OUT_HOP = "02:00:00:00:02:fe", "02:00:00:00:02:01"
HOST, HOST6 = "10.0.0.5", "fd00:0:0:1::5"
SERVER, SERVER6 = "198.51.100.7", "2001:db8:1::7"
POOL = "203.0.113.10"
HERE = os.path.dirname(os.path.abspath(__file__))


def inside(pkt, vlan=False):
    eth = Ether(src=IN_HOP, dst=IN_GW)
    return bytes(eth / Dot1Q(vlan=100) / pkt if vlan else eth / pkt)


def outside(pkt, src=OUT_HOP):
    return bytes(Ether(src=src, dst=OUT_GW) / pkt)


def record(side, frames, step=1, expire=False):
    """One burst: side 0 inside, 1 outside; step indexes the clock table."""
    assert 1 <= len(frames) <= 8
    h = side | (step << 1) | (0x10 if expire else 0) | ((len(frames) - 1) << 5)
    out = bytes([h])
    for f in frames:
        out += struct.pack(">H", len(f)) + f
    return out


def client_hello():
    with open(os.path.join(HERE, "corpus", "client_hello", "built-grease-alpn.bin"), "rb") as f:
        return f.read()


def tcp_conversation(payload, vlan=False, dport=443):
    c, s = 1000, 5000
    syn = inside(IP(src=HOST, dst=SERVER) / TCP(sport=40000, dport=dport, flags="S", seq=c,
                                                options=[("MSS", 1460), ("WScale", 7), ("SAckOK", b"")]), vlan)
    synack = outside(IP(src=SERVER, dst=POOL) / TCP(sport=dport, dport=40000, flags="SA", seq=s, ack=c + 1))
    ack = inside(IP(src=HOST, dst=SERVER) / TCP(sport=40000, dport=dport, flags="A", seq=c + 1, ack=s + 1), vlan)
    half = len(payload) // 2
    d1 = inside(IP(src=HOST, dst=SERVER) / TCP(sport=40000, dport=dport, flags="PA", seq=c + 1, ack=s + 1)
                / Raw(payload[:half]), vlan)
    d2 = inside(IP(src=HOST, dst=SERVER) / TCP(sport=40000, dport=dport, flags="PA", seq=c + 1 + half,
                                               ack=s + 1) / Raw(payload[half:]), vlan)
    reply = outside(IP(src=SERVER, dst=POOL) / TCP(sport=dport, dport=40000, flags="A", seq=s + 1,
                                                   ack=c + 1 + len(payload)))
    rst = outside(IP(src=SERVER, dst=POOL) / TCP(sport=dport, dport=40000, flags="R", seq=12345))
    fin = inside(IP(src=HOST, dst=SERVER) / TCP(sport=40000, dport=dport, flags="FA", seq=c + 1 + len(payload),
                                                ack=s + 1), vlan)
    return (record(0, [syn]) + record(1, [synack]) + record(0, [ack, d1]) + record(0, [d2]) +
            record(1, [reply, rst]) + record(0, [fin], step=5, expire=True))


def udp_and_icmp():
    q = inside(IP(src=HOST, dst=SERVER) / UDP(sport=5353, dport=53) / DNS(qd=DNSQR(qname="api.example.com")))
    a = outside(IP(src=SERVER, dst=POOL) / UDP(sport=53, dport=5353) / Raw(b"\x00" * 40))
    echo = inside(IP(src=HOST, dst=SERVER) / ICMP(type=8, id=77, seq=1) / Raw(b"ping"))
    echo_reply = outside(IP(src=SERVER, dst=POOL) / ICMP(type=0, id=77, seq=1) / Raw(b"ping"))
    quoted = IP(src=POOL, dst=SERVER) / UDP(sport=5353, dport=53) / Raw(b"\x00" * 8)
    unreachable = outside(IP(src="192.0.2.200", dst=POOL) / ICMP(type=3, code=4, nexthopmtu=1280) / bytes(quoted)[:28])
    ping_gw = inside(IP(src=HOST, dst="10.0.0.1") / ICMP(type=8, id=5, seq=1))
    ttl1 = inside(IP(src=HOST, dst=SERVER, ttl=1) / UDP(sport=5000, dport=33434))
    return (record(0, [q, echo]) + record(1, [a, echo_reply, unreachable]) + record(0, [ping_gw, ttl1], step=3)
            + record(0, [q], step=7, expire=True))


def fragments():
    big = IP(src=HOST, dst=SERVER, id=4242) / UDP(sport=6000, dport=53) / Raw(b"f" * 2400)
    frags = [inside(f) for f in fragment(big, fragsize=1000)]
    v6 = inside(IPv6(src=HOST6, dst=SERVER6) / UDP(sport=6001, dport=53) / Raw(b"six"))
    return record(0, list(reversed(frags))) + record(0, frags) + record(0, [v6], step=2)


def neighbours():
    who_has_pool = outside(ARP(op=1, hwsrc="02:00:00:00:02:77", psrc="192.0.2.254", pdst=POOL),
                           src="02:00:00:00:02:77")
    router_reply = outside(ARP(op=2, hwsrc="02:00:00:00:02:77", psrc="192.0.2.254", hwdst=OUT_GW,
                               pdst="192.0.2.1"), src="02:00:00:00:02:77")
    ns = inside(IPv6(src=HOST6, dst="ff02::1:ff00:1") / ICMPv6ND_NS(tgt="fd00:0:0:1::1")
                / ICMPv6NDOptSrcLLAddr(lladdr=IN_HOP))
    out = inside(IP(src=HOST, dst=SERVER) / UDP(sport=7000, dport=53) / Raw(b"q"))
    echo6 = inside(IPv6(src=HOST6, dst=SERVER6) / ICMPv6EchoRequest(id=9, seq=1))
    return record(0, [out, echo6]) + record(1, [who_has_pool, router_reply]) + record(0, [ns, out], step=4)


def special_addresses():
    frames = [inside(IP(src=HOST, dst=d) / UDP(sport=9000, dport=53) / Raw(b"x"))
              for d in ("127.0.0.1", "224.0.0.251", "255.255.255.255", "240.0.0.1", "0.1.2.3",
                        "169.254.169.254", "10.0.0.255")]
    frames.append(inside(IPv6(src=HOST6, dst="ff0e::1") / UDP(sport=9000, dport=53) / Raw(b"x")))
    v6 = [inside(IPv6(src=HOST6, dst=d) / UDP(sport=9001, dport=53) / Raw(b"x")) for d in ("::1", "fe80::1")]
    v6.append(inside(IPv6(src="fe80::5", dst=SERVER6) / UDP(sport=9002, dport=53) / Raw(b"x")))
    v6.append(inside(IP(src="127.0.0.1", dst=SERVER) / UDP(sport=9003, dport=53) / Raw(b"x")))
    return record(0, frames) + record(0, v6)


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "corpus", "gateway")
    os.makedirs(out_dir, exist_ok=True)
    hello = client_hello()
    http = b"GET / HTTP/1.1\r\nHost: api.example.com\r\n\r\n"
    secret = b"POST /upload HTTP/1.1\r\nHost: api.example.com\r\n\r\nkey=AKIAIOSFODNN7EXAMPLE"
    seeds = {
        "tls-allowed-static": bytes([0x10]) + tcp_conversation(hello),
        "tls-report-resolve": bytes([0x21]) + tcp_conversation(hello),
        "tls-vlan-closed": bytes([0x52]) + tcp_conversation(hello, vlan=True),
        "http-no-policy": bytes([0x00]) + tcp_conversation(http, dport=80),
        "http-dlp-block": bytes([0x14]) + tcp_conversation(secret, dport=80),
        "udp-icmp-policy": bytes([0x18]) + udp_and_icmp(),
        "udp-icmp-no-policy": bytes([0x08]) + udp_and_icmp(),
        "fragments": bytes([0x10]) + fragments(),
        "fragments-resolve": bytes([0x01]) + fragments(),
        "neighbours": bytes([0x01]) + neighbours(),
        "special-addresses": bytes([0x00]) + special_addresses(),
        "special-addresses-policy": bytes([0x11]) + special_addresses(),
    }
    for name, data in seeds.items():
        with open(os.path.join(out_dir, name + ".bin"), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
