#!/usr/bin/python3
"""Runs inside a network namespace prepared by test_gateway.af_packet: starts the
real egressd on two net_af_packet vdevs bound to veth ends, sends an outbound
SYN and the SYN-ACK with scapy on the peer ends, and prints what came out as
JSON on the last line."""
import json
import os
import signal
import subprocess
import sys
import time

from scapy.all import AsyncSniffer, Ether, IP, TCP, sendp  # noqa: E402

egressd, config = sys.argv[1], sys.argv[2]
GW_IN, GW_OUT = "02:00:00:00:01:fe", "02:00:00:00:02:fe"
HOP_IN, HOP_OUT = "02:00:00:00:01:01", "02:00:00:00:02:01"

proc = subprocess.Popen([egressd, "-c", config], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
time.sleep(3)  # EAL start-up
result = {}
try:
    def exchange(send_if, frame, sniff_if, match):
        for _ in range(5):
            sniffer = AsyncSniffer(iface=sniff_if, lfilter=match, count=1, timeout=2)
            sniffer.start()
            time.sleep(0.3)
            sendp(frame, iface=send_if, verbose=False)
            sniffer.join()
            if sniffer.results:
                return sniffer.results[0]
        return None

    syn = Ether(src=HOP_IN, dst=GW_IN) / IP(src="10.0.0.5", dst="198.51.100.7", ttl=64) / TCP(sport=40000, dport=443, flags="S", seq=1000)
    out = exchange("vin0", syn, "vout0", lambda p: p.haslayer(TCP) and p[TCP].dport == 443)
    result["out"] = None if out is None else {"src": out[IP].src, "sport": out[TCP].sport, "ttl": out[IP].ttl,
                                               "dst_mac": out[Ether].dst, "src_mac": out[Ether].src}
    if out is not None:
        synack = Ether(src=HOP_OUT, dst=GW_OUT) / IP(src="198.51.100.7", dst=out[IP].src) / TCP(
            sport=443, dport=out[TCP].sport, flags="SA", seq=5000, ack=1001)
        back = exchange("vout0", synack, "vin0", lambda p: p.haslayer(TCP) and p[TCP].sport == 443)
        result["back"] = None if back is None else {"dst": back[IP].dst, "dport": back[TCP].dport}
finally:
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=30)
result["returncode"] = proc.returncode
result["summary"] = stdout
result["stderr"] = stderr[-2000:]
print(json.dumps(result))
