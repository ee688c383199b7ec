"""Builds the two input captures egressd replays: what arrives on the inside port
and what arrives on the outside port, stamped in conversation order.

egressd's replay mode (run.replay_in_timestamp_order) merges both files by
timestamp and uses capture time as its clock, so a conversation written here is
processed exactly in the order written, and `advance()` moves the gateway's
clock (to let flows time out).

Used by tools/gen-demo-capture and tests/system. Run with /usr/bin/python3.
"""
import struct

from scapy.all import Ether, IP, IPv6, TCP, UDP, ICMP, ICMPv6EchoRequest, ICMPv6EchoReply, Raw  # noqa: F401
from scapy.utils import PcapWriter, rdpcap  # noqa: F401

# The addresses of the reference and test configs (RFC 5737 / RFC 3849 ranges).
GW_INSIDE_MAC = "02:00:00:00:01:fe"
GW_OUTSIDE_MAC = "02:00:00:00:02:fe"
INSIDE_NEXT_HOP_MAC = "02:00:00:00:01:01"
OUTSIDE_NEXT_HOP_MAC = "02:00:00:00:02:01"


def write_pcap(path, packets):
    """Writes packets (possibly none) as a classic Ethernet pcap file."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for p in packets:
            raw = bytes(p)
            t = float(p.time)
            sec = int(t)
            usec = int(round((t - sec) * 1_000_000))
            f.write(struct.pack("<IIII", sec, usec, len(raw), len(raw)))
            f.write(raw)


class conversation:
    """Packets for both ports, each stamped 1 ms after the previous one."""

    def __init__(self, start=1_700_000_000.0):
        self.t = start
        self.inside = []
        self.outside = []

    def advance(self, seconds):
        self.t += seconds

    def _stamp(self, pkt):
        self.t += 0.001
        pkt.time = self.t
        return pkt

    def from_inside(self, l3):
        """A packet an inside host sends to the gateway (L3 and up given)."""
        self.inside.append(self._stamp(Ether(src=INSIDE_NEXT_HOP_MAC, dst=GW_INSIDE_MAC) / l3))

    def from_outside(self, l3):
        """A packet the outside router delivers to the gateway."""
        self.outside.append(self._stamp(Ether(src=OUTSIDE_NEXT_HOP_MAC, dst=GW_OUTSIDE_MAC) / l3))

    def raw_inside(self, frame_bytes):
        """A frame given as bytes, possibly malformed, arriving on the inside port."""
        p = Raw(frame_bytes)
        self.inside.append(self._stamp(p))

    def write(self, inside_path, outside_path):
        write_pcap(inside_path, self.inside)
        write_pcap(outside_path, self.outside)


def ip_of(host):
    return IPv6 if ":" in host else IP


def tcp_session(conv, client, cport, server, sport, public=None, pport=None, request=b"GET / HTTP/1.1\r\n\r\n",
                response=b"HTTP/1.1 200 OK\r\n\r\n", close=True):
    """A whole TCP connection: handshake, one request and response, FIN both ways.

    public/pport: where the gateway maps the client (replies are addressed there);
    for IPv6 (no translation) they default to the client itself."""
    L3 = ip_of(client)
    public = public or client
    pport = pport or cport
    c_isn, s_isn = 1000, 5000
    out = lambda flags, seq, ack, data=b"": conv.from_inside(  # noqa: E731
        L3(src=client, dst=server) / TCP(sport=cport, dport=sport, flags=flags, seq=seq, ack=ack) / data)
    back = lambda flags, seq, ack, data=b"": conv.from_outside(  # noqa: E731
        L3(src=server, dst=public) / TCP(sport=sport, dport=pport, flags=flags, seq=seq, ack=ack) / data)
    out("S", c_isn, 0)
    back("SA", s_isn, c_isn + 1)
    out("A", c_isn + 1, s_isn + 1)
    out("PA", c_isn + 1, s_isn + 1, request)
    back("PA", s_isn + 1, c_isn + 1 + len(request), response)
    if close:
        out("FA", c_isn + 1 + len(request), s_isn + 1 + len(response))
        back("FA", s_isn + 1 + len(response), c_isn + 2 + len(request))
        out("A", c_isn + 2 + len(request), s_isn + 2 + len(response))


def udp_exchange(conv, client, cport, server, sport, public=None, pport=None, query=b"query", answer=b"answer"):
    L3 = ip_of(client)
    conv.from_inside(L3(src=client, dst=server) / UDP(sport=cport, dport=sport) / query)
    conv.from_outside(L3(src=server, dst=public or client) / UDP(sport=sport, dport=pport or cport) / answer)


def ping(conv, client, server, ident, public=None, pid=None, seq=1):
    if ":" in client:
        conv.from_inside(IPv6(src=client, dst=server) / ICMPv6EchoRequest(id=ident, seq=seq))
        conv.from_outside(IPv6(src=server, dst=public or client) / ICMPv6EchoReply(id=pid or ident, seq=seq))
    else:
        conv.from_inside(IP(src=client, dst=server) / ICMP(type=8, id=ident, seq=seq))
        conv.from_outside(IP(src=server, dst=public or client) / ICMP(type=0, id=pid or ident, seq=seq))


def paired_pool_address(inside, pool):
    """The pool address egressd pairs with an inside IPv4 host.

    Mirrors nat::port_allocator::pool_index_for (a fixed, unseeded hash, so
    captures can address replies to the right public address)."""
    import ipaddress
    m64 = (1 << 64) - 1

    def mum(a, b):
        r = (a & m64) * (b & m64)
        return (r & m64) ^ (r >> 64)

    raw = ipaddress.IPv6Address("::ffff:" + inside).packed
    lo = int.from_bytes(raw[:8], "little")
    hi = int.from_bytes(raw[8:], "little")
    h_addr = mum(lo ^ 0x243F6A8885A308D3, hi ^ 0x13198A2E03707344)
    h = mum(h_addr, 0xA4093822299F31D0)
    index = ((h >> 32) * len(pool)) >> 32
    return pool[index]
