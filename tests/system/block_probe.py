#!/usr/bin/python3
"""Runs inside a network namespace prepared by test_control.emergency_block:
egressd on af_packet vdevs over veth pairs. A TCP connection is opened and a
numbered UDP stream flows to 198.51.100.0/24 when `egressctl block` blocks that
network; then the stream keeps sending, the TCP client sends data, a new UDP
flow tries the same network, the block is removed and a third flow tries again.
Prints JSON on the last line: what was sent when, and what came out where."""
import json
import signal
import struct
import subprocess
import sys
import threading
import time

from scapy.all import AsyncSniffer, Ether, IP, TCP, UDP, conf, rdpcap, sendp  # noqa: E402

egressd, egressctl, config, ctl_socket = sys.argv[1:5]
GW_IN, GW_OUT = "02:00:00:00:01:fe", "02:00:00:00:02:fe"
HOP_IN, HOP_OUT = "02:00:00:00:01:01", "02:00:00:00:02:01"
POOL = "203.0.113.10"


def ctl(*args):
    return subprocess.run([egressctl, "-s", ctl_socket, *args], capture_output=True, text=True, timeout=30)


proc = subprocess.Popen([egressd, "-c", config], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
deadline = time.time() + 30
while ctl("status").returncode != 0 and time.time() < deadline:
    time.sleep(0.1)
capture = config + ".out.pcap"
tcpdump = subprocess.Popen(["tcpdump", "-i", "vout0", "-B", "16384", "--immediate-mode", "-U", "-Z", "root", "-w",
                            capture, "udp"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
time.sleep(1.0)
result = {}

# An established TCP connection to the network about to be blocked.
rst_sniffer = AsyncSniffer(iface="vin0", lfilter=lambda p: p.haslayer(TCP) and p[TCP].flags.R, count=1, timeout=15)
rst_sniffer.start()
sendp(Ether(src=HOP_IN, dst=GW_IN) / IP(src="10.0.0.5", dst="198.51.100.7") /
      TCP(sport=41000, dport=443, flags="S", seq=1000), iface="vin0", verbose=False)
time.sleep(0.2)
sendp(Ether(src=HOP_OUT, dst=GW_OUT) / IP(src="198.51.100.7", dst=POOL) /
      TCP(sport=443, dport=41000, flags="SA", seq=5000, ack=1001), iface="vout0", verbose=False)
time.sleep(0.2)
sendp(Ether(src=HOP_IN, dst=GW_IN) / IP(src="10.0.0.5", dst="198.51.100.7") /
      TCP(sport=41000, dport=443, flags="A", seq=1001, ack=5001), iface="vin0", verbose=False)
time.sleep(0.2)
result["tcp_before"] = [f["state"] for f in json.loads(ctl("--json", "flows", "--dst", "198.51.100.7/32").stdout)["flows"]]

# The numbered stream.
sent = 0
stop = threading.Event()


def stream():
    global sent
    sock = conf.L2socket(iface="vin0")
    base = Ether(src=HOP_IN, dst=GW_IN) / IP(src="10.0.0.5", dst="198.51.100.53") / UDP(sport=40000, dport=5353)
    while not stop.is_set():
        sock.send(base / struct.pack("!I", sent))
        sent += 1
        if sent % 20 == 0:
            time.sleep(0.002)
    sock.close()


t = threading.Thread(target=stream)
t.start()
time.sleep(1.0)
result["seq_block_requested"] = sent
block = ctl("block", "198.51.100.0/24", "--ttl", "300")
result["seq_block_done"] = sent
result["block"] = [block.returncode, block.stdout, block.stderr]
time.sleep(1.0)
stop.set()
t.join()
result["sent"] = sent

# The inside host keeps talking on the TCP connection: it gets a reset.
sendp(Ether(src=HOP_IN, dst=GW_IN) / IP(src="10.0.0.5", dst="198.51.100.7") /
      TCP(sport=41000, dport=443, flags="PA", seq=1001, ack=5001) / b"hello", iface="vin0", verbose=False)
rst_sniffer.join()
result["rst"] = [(p[IP].src, p[TCP].sport, p[IP].dst, p[TCP].dport, str(p[TCP].flags)) for p in rst_sniffer.results]

# A new flow to the blocked network, then one after the block is gone.
for port in (40001,):
    sendp(Ether(src=HOP_IN, dst=GW_IN) / IP(src="10.0.0.5", dst="198.51.100.54") / UDP(sport=port, dport=5353) /
          b"new", iface="vin0", verbose=False)
time.sleep(0.3)
result["unblock"] = ctl("unblock", "198.51.100.0/24").returncode
sendp(Ether(src=HOP_IN, dst=GW_IN) / IP(src="10.0.0.5", dst="198.51.100.54") / UDP(sport=40002, dport=5353) /
      b"after", iface="vin0", verbose=False)
time.sleep(1.0)
result["stats"] = json.loads(ctl("--json", "stats").stdout)["stats"]
tcpdump.send_signal(signal.SIGINT)
tcpdump.communicate(timeout=30)
proc.send_signal(signal.SIGTERM)
out, err = proc.communicate(timeout=60)
seqs, ports = [], []
for p in rdpcap(capture):
    if p.haslayer(UDP) and p[UDP].dport == 5353:
        ports.append(p[UDP].sport)
        if p[UDP].sport == 40000:
            seqs.append(struct.unpack("!I", bytes(p[UDP].payload)[:4])[0])
result["received_seqs"] = seqs
result["received_ports"] = sorted(set(ports))
result["returncode"] = proc.returncode
result["stderr"] = err[-2000:]
print(json.dumps(result))
