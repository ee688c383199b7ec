#!/usr/bin/python3
"""Seeds for dns_fuzz (tests/fuzz/corpus/dns): DNS responses written by hand,
each exercising one part of lib/dns (compression, CNAME chains, AAAA, many
answers, TC, NXDOMAIN, other types).

    /usr/bin/python3 tests/fuzz/make_dns_seeds.py
"""
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "dns")


def name(text):
    return b"".join(bytes([len(l)]) + l.encode() for l in text.split(".") if l) + b"\x00"


def ptr(off):
    return struct.pack(">H", 0xC000 | off)


def rr(owner, rtype, ttl, rdata, klass=1):
    return owner + struct.pack(">HHIH", rtype, klass, ttl, len(rdata)) + rdata


def response(qname, answers, flags=0x8180, qtype=1):
    return struct.pack(">HHHHHH", 0x1234, flags, 1, len(answers), 0, 0) + name(qname) + struct.pack(">HH", qtype, 1) + b"".join(answers)


def seeds():
    yield "a-pointer", response("example.com", [rr(ptr(12), 1, 300, bytes([93, 184, 216, 34]))])
    yield "cname-chain", response("www.shop.example", [
        rr(ptr(12), 5, 60, name("cdn.shop.example")),
        rr(name("cdn.shop.example"), 5, 30, name("edge.cdn.example")),
        rr(name("edge.cdn.example"), 1, 20, bytes([198, 51, 100, 7])),
        rr(name("edge.cdn.example"), 28, 20, bytes.fromhex("20010db8000000000000000000000007"))])
    yield "aaaa", response("v6.example", [rr(ptr(12), 28, 60, bytes.fromhex("20010db8000000000000000000000001"))], qtype=28)
    yield "many", response("many.example", [rr(ptr(12), 1, 60, bytes([10, 0, i // 256, i % 256])) for i in range(120)])
    yield "tc", response("tc.example", [rr(ptr(12), 1, 60, bytes([1, 2, 3, 4]))], flags=0x8380)[:-2]
    yield "nxdomain", response("nx.example", [], flags=0x8183)
    yield "other-types", response("mx.example", [rr(ptr(12), 15, 60, b"\x00\x0a" + name("mail.example")),
                                                 rr(ptr(12), 16, 60, b"\x05hello"), rr(ptr(12), 1, 60, bytes([5, 6, 7, 8]), klass=3)])
    yield "pointer-loop", response("loop.example", [rr(ptr(29), 1, 60, bytes([1, 1, 1, 1]))])
    yield "off-chain", response("attacker.example", [rr(ptr(12), 1, 60, bytes([203, 0, 113, 1])),
                                                     rr(name("api.bank.example"), 1, 60, bytes([203, 0, 113, 1]))])


def main():
    os.makedirs(OUT, exist_ok=True)
    for n, data in seeds():
        with open(os.path.join(OUT, n + ".bin"), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
