#!/usr/bin/python3
"""Runs inside a network namespace prepared by test_gateway.reload_under_traffic:
egressd on af_packet vdevs over veth pairs; a steady UDP stream flows through it
while the policy file alternates between two versions and egressd gets SIGHUP
100 times. Prints JSON: packets sent, packets that came out, reload times."""
import json
import re
import signal
import subprocess
import sys
import threading
import time

from scapy.all import Ether, IP, UDP, conf  # noqa: E402

egressd, config, base, version_a, version_b = sys.argv[1:6]
GW_IN, HOP_IN = "02:00:00:00:01:fe", "02:00:00:00:01:01"
RELOADS, PACKETS = 100, 3000

proc = subprocess.Popen([egressd, "-c", config], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
time.sleep(3)
capture = config + ".out.pcap"
tcpdump = subprocess.Popen(["tcpdump", "-i", "vout0", "-B", "16384", "--immediate-mode", "-U", "-Z", "root", "-w",
                            capture, "udp and dst port 5353"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           text=True)
time.sleep(1.0)


def reloader():
    for i in range(RELOADS):
        with open(base) as b, open(version_a if i % 2 else version_b) as v:
            text = b.read() + v.read()
        with open(config, "w") as f:
            f.write(text)
        proc.send_signal(signal.SIGHUP)
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
sock.close()
time.sleep(1.5)
tcpdump.send_signal(signal.SIGINT)
_, tcpdump_err = tcpdump.communicate(timeout=30)
received = int(subprocess.run(["tcpdump", "-r", capture, "-nn", "-q"], capture_output=True, text=True).stdout.count("\n"))
proc.send_signal(signal.SIGTERM)
out, err = proc.communicate(timeout=60)
times = [int(x) for x in re.findall(r"policy version \d+ active \(\d+ rules\) after (\d+) us", out)]
print(json.dumps({"sent": sent, "received": received, "reload_us": times, "returncode": proc.returncode,
                  "stderr": err[-2000:], "summary": out[-3000:], "capture": tcpdump_err[-500:]}))
