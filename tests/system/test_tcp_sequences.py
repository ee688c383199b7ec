#!/usr/bin/python3
"""The RFC 5382 / 5961 / 7857 TCP sequences through the real egressd on pcap
vdevs (issue 20): simultaneous open, half-close, challenge ACK, RST in / out of
window / exact, SYN on a live 4-tuple, TCP Fast Open, window scaling,
retransmissions, keep-alives and zero-window probes. The same scenarios as
tests/unit/flow/tcp_track_test.cpp, each on its own connection, in one run;
and a connection met mid-stream, picked up with [tcp] pickup and refused
without it.

Every segment that passes must leave byte-exact as the translated segment
(built here from scratch by scapy, so the gateway's incremental checksum
updates are checked too); every other one is dropped under its named reason,
and the summary's drop counters are exactly the sum."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import traffic  # noqa: E402
from scapy.all import Ether, IP, TCP, Raw  # noqa: E402

POOL, SERVER, CLIENT = "203.0.113.10", "198.51.100.7", "10.0.0.5"
OUT, IN = "out", "in"
S, SA, A, PA, FA, R, RA, SF = "S", "SA", "A", "PA", "FA", "R", "RA", "SF"
OK, OOW, RST_OOW, BAD = None, "tcp_out_of_window", "tcp_rst_out_of_window", "tcp_invalid_transition"
C, V = 1000, 500_000  # client and server ISNs


def handshake(c=C, v=V):
    return [(OUT, S, c, 0, 64240, 0, OK), (IN, SA, v, c + 1, 65535, 0, OK), (OUT, A, c + 1, v + 1, 64240, 0, OK)]


def some_data():
    """After handshake(): the client sent 100 bytes, the server 1000."""
    return [(OUT, PA, C + 1, V + 1, 64240, 100, OK), (IN, PA, V + 1, C + 101, 65535, 1000, OK),
            (OUT, A, C + 101, V + 1001, 64240, 0, OK)]


# (description, steps); a step: (direction, flags, seq, ack, window, payload bytes, drop reason or OK[, wscale]).
SCENARIOS = [
    ("half-close: the server keeps sending after the client's FIN", handshake() + some_data() + [
        (OUT, FA, C + 101, V + 1001, 64240, 0, OK), (IN, PA, V + 1001, C + 102, 65535, 1400, OK),
        (OUT, A, C + 102, V + 2401, 64240, 0, OK), (IN, FA, V + 2401, C + 102, 65535, 0, OK),
        (OUT, A, C + 102, V + 2402, 64240, 0, OK)]),
    ("simultaneous open (RFC 5382 REQ-2a)", [
        (OUT, S, C, 0, 64240, 0, OK), (IN, S, V, 0, 65535, 0, OK), (OUT, SA, C, V + 1, 64240, 0, OK),
        (IN, SA, V, C + 1, 65535, 0, OK), (IN, S, V + 9, 0, 65535, 0, OOW), (OUT, A, C + 1, V + 1, 64240, 0, OK),
        (IN, PA, V + 1, C + 1, 65535, 500, OK)]),
    ("challenge ACK to a SYN on a reused mapping (RFC 5961 section 4), client resets, retries", [
        (OUT, S, C, 0, 64240, 0, OK), (IN, A, 777_777, 123_456, 65535, 0, OK), (OUT, R, 123_456, 0, 0, 0, OK),
        (OUT, S, C + 5, 0, 64240, 0, OK), (IN, SA, V, C + 6, 65535, 0, OK), (OUT, A, C + 6, V + 1, 64240, 0, OK)]),
    ("RST exact (RFC 5961 section 3.2) closes; later traffic restores the flow (RFC 7857 section 2.2)",
     handshake() + some_data() + [
         (IN, R, V + 1001, 0, 0, 0, OK), (IN, PA, V + 1001 + 9_000_000, C + 101, 65535, 10, OOW),
         (OUT, PA, C + 101, V + 1001, 64240, 50, OK), (IN, PA, V + 1001, C + 151, 65535, 10, OK)]),
    ("RST in window but not exact: forwarded (the client challenges it), the flow goes on",
     handshake() + some_data() + [
         (IN, R, V + 1001 + 30_000, 0, 0, 0, OK), (OUT, A, C + 101, V + 1001, 64240, 0, OK),
         (IN, PA, V + 1001, C + 101, 65535, 10, OK)]),
    ("RST out of window: dropped, the flow goes on", handshake() + some_data() + [
        (IN, R, V + 1001 + 10_000_000, 0, 0, 0, RST_OOW), (IN, RA, V + 1000, C + 101, 0, 0, RST_OOW),
        (IN, R, (V - 2_000_000_000) % 2**32, 0, 0, 0, RST_OOW), (OUT, R, C + 101 + 70_000, 0, 0, 0, RST_OOW),
        (IN, PA, V + 1001, C + 101, 65535, 10, OK)]),
    ("RST in syn_sent must ack the SYN (RFC 9293)", [
        (OUT, S, C, 0, 64240, 0, OK), (IN, RA, 0, C + 7, 0, 0, RST_OOW), (IN, RA, 0, C + 1, 0, 0, OK),
        (IN, A, V + 1, C + 1, 65535, 0, BAD), (OUT, S, C + 100, 0, 64240, 0, OK)]),
    ("SYN on a live 4-tuple (half-open recovery): challenge ACK, client RST, new handshake",
     handshake() + some_data() + [
         (OUT, S, 9_000_000, 0, 64240, 0, OK), (IN, A, V + 1001, C + 101, 65535, 0, OK),
         (OUT, R, C + 101, 0, 0, 0, OK), (OUT, S, 9_000_000, 0, 64240, 0, OK),
         (IN, SA, 7_000_000, 9_000_001, 65535, 0, OK), (OUT, A, 9_000_001, 7_000_001, 64240, 0, OK)]),
    ("TCP Fast Open: data on the SYN, server data before the client's ACK", [
        (OUT, S, C, 0, 64240, 200, OK), (IN, SA, V, C + 201, 65535, 0, OK), (IN, PA, V + 1, C + 201, 65535, 1000, OK),
        (IN, FA, V + 1001, C + 201, 65535, 0, OK), (OUT, A, C + 201, V + 1002, 64240, 0, OK)]),
    ("window scaling: data a scaled window ahead passes, a RST beyond it does not", [
        (OUT, S, C, 0, 64240, 0, OK, 7), (IN, SA, V, C + 1, 65535, 0, OK, 8), (OUT, A, C + 1, V + 1, 4000, 0, OK),
        (IN, PA, V + 1 + 300_000, C + 1, 256, 1000, OK), (IN, R, V + 1 + 600_000, 0, 0, 0, RST_OOW)]),
    ("window scaling only when both SYNs offer it (RFC 7323)", [
        (OUT, S, C, 0, 64240, 0, OK, 7), (IN, SA, V, C + 1, 65535, 0, OK), (OUT, A, C + 1, V + 1, 4000, 0, OK),
        (IN, PA, V + 1 + 300_000, C + 1, 256, 1000, OOW), (IN, PA, V + 1 + 60_000, C + 1, 256, 1000, OK)]),
    ("retransmissions, keep-alives and zero-window probes", handshake() + some_data() + [
        (OUT, PA, C + 1, V + 1001, 64240, 100, OK), (OUT, A, C + 100, V + 1001, 64240, 0, OK),
        (OUT, A, C + 100, V + 1001, 64240, 1, OK), (IN, A, V + 1001, C + 101, 0, 0, OK),
        (OUT, PA, C + 101, V + 1001, 64240, 1, OK), (IN, A, V + 1001, C + 101, 0, 0, OK),
        (IN, PA, V + 1, C + 101, 65535, 1000, OK)]),
    ("data or ACKs far outside the window are dropped", handshake() + some_data() + [
        (IN, PA, V + 1001 + 5_000_000, C + 101, 65535, 100, OOW), (OUT, A, C + 101, V + 1001 + 5_000_000, 64240, 0, OOW),
        (IN, SF, V + 1001, 0, 65535, 0, BAD), (IN, PA, V + 1001, C + 101, 65535, 100, OK)]),
]


def segment(src, dst, sport, dport, step, ttl):
    flags, seq, ack, win, length = step[1:6]
    options = [("WScale", step[7])] if len(step) > 7 else []
    payload = bytes((i * 7) & 0xFF for i in range(length))
    tcp = TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack, window=win, options=options)
    return IP(src=src, dst=dst, ttl=ttl, id=0x4000 + length, flags="DF") / tcp / Raw(payload)


class rfc5382_sequences(unittest.TestCase):
    def check(self, scenarios, extra=""):
        conv = traffic.conversation()
        to_outside, to_inside, drops = [], [], {}
        for n, (_, steps) in enumerate(scenarios):
            port = 41000 + n  # free, so the NAT keeps it as the public port
            for step in steps:
                if step[0] == OUT:
                    conv.from_inside(segment(CLIENT, SERVER, port, 443, step, 64))
                    left = Ether(src=traffic.GW_OUTSIDE_MAC, dst=traffic.OUTSIDE_NEXT_HOP_MAC) / segment(
                        POOL, SERVER, port, 443, step, 63)
                    expected = to_outside
                else:
                    conv.from_outside(segment(SERVER, POOL, 443, port, step, 64))
                    left = Ether(src=traffic.GW_INSIDE_MAC, dst=traffic.INSIDE_NEXT_HOP_MAC) / segment(
                        SERVER, CLIENT, 443, port, step, 63)
                    expected = to_inside
                if step[6] is OK:
                    expected.append((n, bytes(left)))
                else:
                    drops[step[6]] = drops.get(step[6], 0) + 1
        r = harness.run(conv, extra=extra)
        self.assertEqual(r.drops(), drops)
        for name, got, want in (("outside", r.to_outside, to_outside), ("inside", r.to_inside, to_inside)):
            self.assertEqual(len(got), len(want), name)
            for k, (pkt, (n, frame)) in enumerate(zip(got, want)):
                self.assertEqual(bytes(pkt), frame, f"{name} frame {k}: {scenarios[n][0]}")

    def test_every_sequence_leaves_exactly_translated_or_is_dropped_by_name(self):
        self.check(SCENARIOS)

    def test_a_connection_met_mid_stream_is_picked_up_only_when_switched_on(self):
        # As after a restart: the client's next segment is the first the gateway sees.
        mid_stream = [(OUT, PA, 70_000, 90_000, 1000, 100, OK), (IN, PA, 90_000, 70_100, 2000, 100, OK),
                      (OUT, PA, 70_100 + 3_000_000, 90_100, 1000, 100, OK),  # scale unknown: up to 2^14
                      (IN, R, 90_100 + 2_000_000_000, 0, 0, 0, RST_OOW), (IN, R, 90_100, 0, 0, 0, OK)]
        self.check([("[tcp] pickup: loose pickup from inside", mid_stream)], extra="\n[tcp]\npickup = true\n")
        refused = [(OUT, PA, 70_000, 90_000, 1000, 100, "tcp_new_not_syn"),
                   (IN, PA, 90_000, 70_100, 2000, 100, "inbound_unsolicited")]
        self.check([("default: no pickup", refused)])


if __name__ == "__main__":
    unittest.main()
