#!/usr/bin/python3
"""Large UDP datagrams through egressd, fragmented by real kernels. Builds three
network namespaces — a client (10.0.0.5, fd00:0:0:1::5), the gateway (egressd
on the vdevs its config names, bound to the gateway's ends of the two veth
pairs) and a server (198.51.100.7,
2001:db8::9) running a UDP echo server — sends 4000-byte datagrams (the
client's kernel fragments them, the server's kernel reassembles what egressd
forwarded, echoes, and fragments the answer), plus one datagram whose
fragments scapy sends in reverse order (egressd holds the later fragments
until the first comes). Prints JSON on the last line: what came back,
egressd's summary.

Usage: fragment_probe.py EGRESSD CONFIG WORKDIR"""
import json
import os
import signal
import subprocess
import sys
import time

import netns  # noqa: E402 (tests/system, beside this script)

egressd, config, work = sys.argv[1:4]
tag = str(os.getpid())
CLI, GW, SRV = f"frag-cli{tag}", f"frag-gw{tag}", f"frag-srv{tag}"
GW_IN, GW_OUT = "02:00:00:00:01:fe", "02:00:00:00:02:fe"
HOP_IN, HOP_OUT = "02:00:00:00:01:01", "02:00:00:00:02:01"

ECHO = r"""
import socket, select, sys
socks = []
for family, addr in ((socket.AF_INET, "198.51.100.7"), (socket.AF_INET6, "2001:db8::9")):
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.bind((addr, 7007))
    if family == socket.AF_INET:
        s.setsockopt(socket.IPPROTO_IP, 10, 0)  # IP_MTU_DISCOVER = IP_PMTUDISC_DONT: fragment, no DF
    socks.append(s)
print("ready", flush=True)
while True:
    for s in select.select(socks, [], [])[0]:
        data, peer = s.recvfrom(65535)
        s.sendto(data, peer)
"""

CLIENT = r"""
import json, socket, sys
out = {}
for name, family, server in (("v4", socket.AF_INET, "198.51.100.7"), ("v6", socket.AF_INET6, "2001:db8::9")):
    s = socket.socket(family, socket.SOCK_DGRAM)
    if family == socket.AF_INET:
        s.setsockopt(socket.IPPROTO_IP, 10, 0)
    s.settimeout(2)
    results = []
    for k in range(5):
        data = bytes((k * 31 + i * 7) & 0xff for i in range(4000))
        got = None
        for attempt in range(3):
            s.sendto(data, (server, 7007))
            try:
                got, _ = s.recvfrom(65535)
                break
            except socket.timeout:
                continue
        results.append({"sent": len(data), "received": None if got is None else len(got), "same": got == data})
    out[name] = results
print(json.dumps(out))
"""

REVERSED = r"""
import json, socket, sys
from scapy.all import Ether, IP, UDP, fragment, sendp
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.0.0.5", 40123))
s.settimeout(3)
data = bytes((i * 13) & 0xff for i in range(3000))
pkt = IP(src="10.0.0.5", dst="198.51.100.7", id=0x4242, ttl=64) / UDP(sport=40123, dport=7007) / data
frames = [Ether(src="%s", dst="%s") / f for f in fragment(pkt, fragsize=1200)]
sendp(list(reversed(frames)), iface="c0", verbose=False)
try:
    got, _ = s.recvfrom(65535)
except socket.timeout:
    got = None
print(json.dumps({"fragments": len(frames), "received": None if got is None else len(got), "same": got == data}))
""" % (HOP_IN, GW_IN)


sh = netns.sh


def setup():
    netns.create(CLI, GW, SRV)
    netns.link(CLI, "c0", GW, "vin1", mac_a=HOP_IN)
    netns.link(SRV, "s0", GW, "vout1", mac_a=HOP_OUT)
    sh("ip", "addr", "add", "10.0.0.5/24", "dev", "c0", ns=CLI)
    sh("ip", "-6", "addr", "add", "fd00:0:0:1::5/64", "dev", "c0", "nodad", ns=CLI)
    sh("ip", "route", "add", "default", "via", "10.0.0.1", ns=CLI)
    sh("ip", "-6", "route", "add", "default", "via", "fd00:0:0:1::1", ns=CLI)
    sh("ip", "neigh", "add", "10.0.0.1", "lladdr", GW_IN, "dev", "c0", ns=CLI)
    sh("ip", "-6", "neigh", "add", "fd00:0:0:1::1", "lladdr", GW_IN, "dev", "c0", ns=CLI)
    sh("ip", "addr", "add", "198.51.100.7/24", "dev", "s0", ns=SRV)
    sh("ip", "-6", "addr", "add", "2001:db8::9/64", "dev", "s0", "nodad", ns=SRV)
    sh("ip", "route", "add", "203.0.113.0/24", "via", "198.51.100.1", ns=SRV)
    sh("ip", "neigh", "add", "198.51.100.1", "lladdr", GW_OUT, "dev", "s0", ns=SRV)
    sh("ip", "-6", "route", "add", "fd00:0:0:1::/64", "via", "2001:db8::1", ns=SRV)
    sh("ip", "-6", "neigh", "add", "2001:db8::1", "lladdr", GW_OUT, "dev", "s0", ns=SRV)


def teardown():
    netns.destroy(CLI, GW, SRV)


result = {}
procs = []
try:
    setup()
    echo = subprocess.Popen(["ip", "netns", "exec", SRV, "/usr/bin/python3", "-c", ECHO], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    procs.append(echo)
    echo.stdout.readline()
    capture = f"{work}/server.pcap"
    procs.append(subprocess.Popen(["ip", "netns", "exec", SRV, "tcpdump", "-i", "s0", "-w", capture,
                                   "--immediate-mode", "-U", "-Z", "root", "udp or ip6 or (ip[6:2] & 0x3fff != 0)"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    procs.append(subprocess.Popen(["ip", "netns", "exec", CLI, "tcpdump", "-i", "c0", "-w", f"{work}/client.pcap",
                                   "--immediate-mode", "-U", "-Z", "root"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    gw = subprocess.Popen(["ip", "netns", "exec", GW, egressd, "-c", config], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    time.sleep(3)
    r = sh("/usr/bin/python3", "-c", CLIENT, ns=CLI, check=False, timeout=120)
    result["client"] = json.loads(r.stdout) if r.returncode == 0 else {"error": r.stderr[-1000:]}
    r = sh("/usr/bin/python3", "-c", REVERSED, ns=CLI, check=False, timeout=60)
    result["reversed"] = json.loads(r.stdout.strip().splitlines()[-1]) if r.returncode == 0 else {
        "error": r.stderr[-1000:]}
    time.sleep(0.5)
    gw.send_signal(signal.SIGTERM)
    out, err = gw.communicate(timeout=60)
    result["returncode"], result["summary"], result["stderr"] = gw.returncode, out[-3000:], err[-2000:]
    time.sleep(0.5)
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        p.wait(timeout=10)
    # What the server's link carried: fragments from the public address.
    fields = subprocess.run(["tshark", "-r", capture, "-T", "fields", "-e", "ip.src", "-e", "ip.flags.mf",
                             "-e", "ip.frag_offset", "-e", "ipv6.src", "-e", "ipv6.fraghdr.offset",
                             "-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE"],
                            capture_output=True, text=True).stdout
    v4_sources, v4_fragments, v6_fragments = set(), 0, 0
    for line in fields.splitlines():
        src, mf, offset, src6, offset6 = (line.split("\t") + [""] * 5)[:5]
        if src:
            v4_sources.add(src)
            if mf in ("1", "True") or (offset not in ("", "0")):
                v4_fragments += 1
        if src6 and offset6 != "":
            v6_fragments += 1
    result["server_link"] = {"v4_sources": sorted(v4_sources), "v4_fragments": v4_fragments,
                             "v6_fragments": v6_fragments}
finally:
    for p in procs:
        if p.poll() is None:
            p.kill()
    teardown()
print(json.dumps(result))
