#!/usr/bin/python3
"""[limits] through the real egressd on pcap vdevs (issue 15 item 4): one
inside host floods random-port SYNs while another opens connections and both
carry on established ones. The flood is capped at its limit, the other host's
connections all open, no established flow is lost."""
import os
import random
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import traffic  # noqa: E402
from scapy.all import IP, TCP  # noqa: E402

POOL = "203.0.113.10"
SERVER = "198.51.100.7"
FLOODER, OTHER = "10.0.0.5", "10.0.0.6"
REQUEST, RESPONSE = b"GET / HTTP/1.1\r\n\r\n", b"HTTP/1.1 200 OK\r\n\r\n"


def more_data(conv, client, cport):
    """One more exchange on an established traffic.tcp_session(close=False)."""
    c_seq, s_seq = 1000 + 1 + len(REQUEST), 5000 + 1 + len(RESPONSE)
    conv.from_inside(IP(src=client, dst=SERVER) / TCP(sport=cport, dport=80, flags="PA", seq=c_seq, ack=s_seq) / b"more")
    conv.from_outside(IP(src=SERVER, dst=POOL) / TCP(sport=80, dport=cport, flags="PA", seq=s_seq, ack=c_seq + 4) / b"ok")


class source_limits(unittest.TestCase):
    def test_a_syn_flood_is_capped_and_other_hosts_and_established_flows_are_untouched(self):
        c = traffic.conversation()
        traffic.tcp_session(c, FLOODER, 40000, SERVER, 80, public=POOL, close=False)
        traffic.tcp_session(c, OTHER, 40001, SERVER, 80, public=POOL, close=False)
        ports = random.Random(15).sample([p for p in range(1024, 65536) if p not in (40000, 40001)], 500)
        for i, port in enumerate(ports):
            c.from_inside(IP(src=FLOODER, dst=SERVER) / TCP(sport=port, dport=443, flags="S", seq=i))
            if i % 16 == 0:  # the other host's connections open during the flood
                traffic.tcp_session(c, OTHER, 50000 + i // 16, SERVER, 80, public=POOL)
        more_data(c, FLOODER, 40000)
        more_data(c, OTHER, 40001)
        r = harness.run(c, extra="\n[limits]\nmax_flows_per_source = 50\n")
        # 49 flood SYNs join the flooder's established flow; the rest are refused.
        self.assertEqual(r.drops(), {"source_flow_limit": 451})
        sessions = 32  # i = 0, 16, ..., 496
        # Outbound: the two established sessions (3 + 1 each), 49 SYNs, 5 per closed session.
        self.assertEqual(len(r.to_outside), 2 * 4 + 49 + 5 * sessions)
        # Inbound: every reply of every admitted connection (2 + 1 each, 3 per closed session).
        self.assertEqual(len(r.to_inside), 2 * 3 + 3 * sessions)
        delivered = [p for p in r.to_inside if p[IP].dst == OTHER]
        self.assertEqual(len(delivered), 3 + 3 * sessions)
        self.assertEqual(sum(1 for p in r.to_inside if p[IP].dst == FLOODER), 3)


if __name__ == "__main__":
    unittest.main()
