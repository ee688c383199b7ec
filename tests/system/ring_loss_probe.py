"""Run inside a namespace made by harness.veth_namespace: egressd on af_packet
with a 16-frame receive ring on vin1, a one-second burst of frames into vin0
(more than a worker drains through such a ring), then SIGTERM. Prints JSON:
frames sent, egressd's summary.

Usage: ring_loss_probe.py EGRESSD CONFIG
"""
import json
import signal
import socket
import subprocess
import sys
import time

egressd, config = sys.argv[1], sys.argv[2]
proc = subprocess.Popen([egressd, "-c", config], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
time.sleep(3)
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("vin0", 0))
# To the gateway's inside MAC, an IPv4 ethertype and a zero header (dropped as
# ipv4_bad_header: cheap for egressd, so the losses are the ring's).
frame = bytes.fromhex("0200000001fe" "020000000005" "0800") + bytes(46)
sent = 0
start = time.time()
while time.time() - start < 1.0:
    for _ in range(200):
        s.send(frame)
        sent += 1
time.sleep(1)
proc.send_signal(signal.SIGTERM)
out, err = proc.communicate(timeout=60)
print(json.dumps({"sent": sent, "returncode": proc.returncode, "summary": out[-3000:], "stderr": err[-2000:]}))
