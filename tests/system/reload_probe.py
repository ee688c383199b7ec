#!/usr/bin/python3
"""Runs inside a network namespace prepared by test_gateway.reload_under_traffic:
egressd on af_packet vdevs over veth pairs; a steady UDP stream flows through it
while the policy file alternates between two versions and egressd is told to
reload 100 times over its control socket (each request returns once that
reload is published; SIGHUPs sent faster than the control thread wakes would
be merged into one). Prints JSON: packets sent, packets that came out, reload
times."""
import json
import signal
import socket
import subprocess
import sys
import threading
import time

from scapy.all import Ether, IP, UDP, conf  # noqa: E402

egressd, config, base, version_a, version_b, version_c, control = sys.argv[1:8]
GW_IN, HOP_IN = "02:00:00:00:01:fe", "02:00:00:00:01:01"
RELOADS, PACKETS = 100, 3000

proc = subprocess.Popen([egressd, "-c", config], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
time.sleep(3)
capture = config + ".out.pcap"
tcpdump = subprocess.Popen(["tcpdump", "-i", "vout0", "-B", "16384", "--immediate-mode", "-U", "-Z", "root", "-w",
                            capture, "udp and (dst port 5353 or dst port 5354)"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           text=True)
time.sleep(1.0)


times = []


def reload_with(version):
    """Writes base + version as the config and reloads; records the reload's duration."""
    with open(base) as b, open(version) as v:
        text = b.read() + v.read()
    with open(config, "w") as f:
        f.write(text)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(control)
        s.sendall(b'{"cmd":"reload"}\n')
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(4096)
            if not chunk:
                break
            buf += chunk
    reply = json.loads(buf)
    if reply.get("ok"):
        times.append(reply["duration_us"])


def reloader():
    for i in range(RELOADS):
        reload_with(version_a if i % 2 else version_b)
        time.sleep(0.04)


t = threading.Thread(target=reloader)
t.start()
frame = Ether(src=HOP_IN, dst=GW_IN) / IP(src="10.0.0.5", dst="198.51.100.53") / UDP(sport=40000, dport=5353) / b"x"
sock = conf.L2socket(iface="vin0")
sent = 0
start = time.time()
while t.is_alive() or sent < PACKETS:
    sock.send(frame)
    sent += 1
    if sent % 50 == 0:
        time.sleep(0.005)
t.join()
time.sleep(0.5)
# Version c no longer allows the stream (port 5353) but allows port 5354: the
# stream's existing flow is cut, a new flow to 5354 passes.
reload_with(version_c)
time.sleep(0.5)
CUT_PROBES, NEW_FLOW = 100, 10
for _ in range(CUT_PROBES):
    sock.send(frame)
new_flow = Ether(src=HOP_IN, dst=GW_IN) / IP(src="10.0.0.5", dst="198.51.100.53") / UDP(sport=40001, dport=5354) / b"y"
for _ in range(NEW_FLOW):
    sock.send(new_flow)
sock.close()
time.sleep(1.5)
tcpdump.send_signal(signal.SIGINT)
_, tcpdump_err = tcpdump.communicate(timeout=30)
lines = subprocess.run(["tcpdump", "-r", capture, "-nn", "-q"], capture_output=True, text=True).stdout.splitlines()
received = sum(1 for l in lines if l.split()[4].endswith(".5353:"))
received_new = sum(1 for l in lines if l.split()[4].endswith(".5354:"))
proc.send_signal(signal.SIGTERM)
out, err = proc.communicate(timeout=60)
print(json.dumps({"sent": sent, "received": received, "cut_probes": CUT_PROBES, "new_flow_sent": NEW_FLOW,
                  "new_flow_received": received_new, "reload_us": times, "returncode": proc.returncode,
                  "stderr": err[-2000:], "summary": out[-3000:], "capture": tcpdump_err[-500:]}))
