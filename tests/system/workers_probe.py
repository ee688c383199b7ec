#!/usr/bin/python3
"""Runs inside a network namespace prepared by test_workers.workers_af_packet:
egressd with two workers on af_packet vdevs with two queue pairs each (the
kernel fans packets out over the queues by its own flow hash, so both workers
poll and hand packets to each other), numbered UDP datagrams out and back for
several flows; prints what arrived on each side as JSON on the last line."""
import json
import signal
import subprocess
import sys
import time

from scapy.all import AsyncSniffer, Ether, IP, UDP, Raw, sendp  # noqa: E402

egressd, config, summary = sys.argv[1], sys.argv[2], sys.argv[3]
GW_IN, GW_OUT = "02:00:00:00:01:fe", "02:00:00:00:02:fe"
HOP_IN, HOP_OUT = "02:00:00:00:01:01", "02:00:00:00:02:01"
FLOWS = [(f"10.0.0.{5 + i % 4}", 6000 + i) for i in range(8)]
COUNT = 30

proc = subprocess.Popen([egressd, "-c", config, "--stats-json", summary], stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE, text=True)
time.sleep(3)  # EAL start-up
result = {}
try:
    def udp_of(p):
        return p.haslayer(UDP) and p.haslayer(IP)

    out_sniff = AsyncSniffer(iface="vout0", lfilter=lambda p: udp_of(p) and p[UDP].dport == 53)
    out_sniff.start()
    time.sleep(0.5)
    frames = [Ether(src=HOP_IN, dst=GW_IN) / IP(src=c, dst="198.51.100.9") / UDP(sport=p, dport=53) / Raw(b"q#%d#" % i)
              for i in range(COUNT) for c, p in FLOWS]
    sendp(frames, iface="vin0", verbose=False)
    time.sleep(1.5)
    out_sniff.stop()
    out = [(p[IP].src, p[UDP].sport, bytes(p[UDP].payload).decode()) for p in out_sniff.results]
    result["out"] = out
    # Replies to the public address and port each flow got.
    first = {}
    for src, sport, payload in out:
        first.setdefault(sport, src)
    in_sniff = AsyncSniffer(iface="vin0", lfilter=lambda p: udp_of(p) and p[UDP].sport == 53)
    in_sniff.start()
    time.sleep(0.5)
    replies = [Ether(src=HOP_OUT, dst=GW_OUT) / IP(src="198.51.100.9", dst=src) / UDP(sport=53, dport=sport) /
               Raw(b"a#%d#" % i) for i in range(COUNT) for sport, src in sorted(first.items())]
    sendp(replies, iface="vout0", verbose=False)
    time.sleep(1.5)
    in_sniff.stop()
    result["back"] = [(p[IP].dst, p[UDP].dport, bytes(p[UDP].payload).decode()) for p in in_sniff.results]
finally:
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=60)
result["returncode"] = proc.returncode
result["stderr"] = stderr
result["stdout"] = stdout
print(json.dumps(result))
