#!/usr/bin/python3
"""ICMP through egressd with real kernels. Four network namespaces:

  client 10.0.0.5 -- egressd (af_packet, outside mtu 1450) -- router -- server 198.18.0.7
                                                              r0 198.51.100.1   r1 mtu 1400

The router's link to the server has MTU 1400 on the router's side only, so the
server announces MSS 1460 and an upload from the client must discover the path
MTU: first egressd's own fragmentation needed (1450), then the router's (1400),
relayed through the NAT. Checks, each printed in the JSON on the last line:
 * own_ttl: a UDP probe with TTL 1 gets egressd's time exceeded (from 10.0.0.1);
 * router_ttl: a UDP probe with TTL 2 gets the router's time exceeded, which
   only reaches the socket (IP_RECVERR) if the quoted packet was translated back;
 * df_udp: DF UDP datagrams of 1472 and 1422 bytes of payload get EMSGSIZE
   errors announcing 1450 (egressd) and 1400 (the router);
 * upload: 2 MB of TCP to the server completes; the client's route cache then
   holds the path MTU;
 * egressd's JSON summary.

Usage: icmp_probe.py EGRESSD CONFIG_TEMPLATE WORKDIR  (the template's {dir} is
replaced by WORKDIR). Run with `--client MODE ...` inside the client namespace."""
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time

import netns  # noqa: E402 (tests/system, beside this script)

IP_MTU_DISCOVER, IP_PMTUDISC_DO, IP_RECVERR, MSG_ERRQUEUE = 10, 2, 11, 0x2000
SERVER = "198.18.0.7"


def client_probe(ttl, size, df, port):
    """Sends one UDP datagram and returns the ICMP error the kernel queued for
    the socket: origin, type, code, info (the MTU for EMSGSIZE), offender."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_IP, IP_RECVERR, 1)
    s.setsockopt(socket.SOL_IP, socket.IP_TTL, ttl)
    if df:
        s.setsockopt(socket.SOL_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO)
    s.bind(("10.0.0.5", port))
    s.sendto(b"p" * size, (SERVER, 33434))
    deadline = time.time() + 3
    while time.time() < deadline:
        try:
            _, ancdata, _, _ = s.recvmsg(2048, 512, MSG_ERRQUEUE | socket.MSG_DONTWAIT)
        except BlockingIOError:
            time.sleep(0.02)
            continue
        for level, kind, data in ancdata:
            if level == socket.SOL_IP and kind == IP_RECVERR:
                errno_, origin, type_, code, _, info, _ = struct.unpack("=IBBBBII", data[:16])
                offender = socket.inet_ntoa(data[16 + 4:16 + 8]) if len(data) >= 24 else ""
                return {"errno": errno_, "origin": origin, "type": type_, "code": code, "info": info,
                        "offender": offender}
    return {"errno": 0}


def client_upload(total):
    s = socket.create_connection((SERVER, 5001), timeout=20, source_address=("10.0.0.5", 42001))
    chunk = b"u" * 65536
    sent = 0
    while sent < total:
        s.sendall(chunk)
        sent += len(chunk)
    s.shutdown(socket.SHUT_WR)
    reply = b""
    while True:
        data = s.recv(64)
        if not data:
            break
        reply += data
    return {"sent": sent, "server_got": int(reply or b"0")}


SERVER_CODE = """
import socket
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("198.18.0.7", 5001)); l.listen(1)
c, _ = l.accept(); n = 0
while True:
    d = c.recv(65536)
    if not d: break
    n += len(d)
c.sendall(str(n).encode()); c.close()
"""

if len(sys.argv) > 1 and sys.argv[1] == "--client":
    mode = sys.argv[2]
    if mode == "probe":
        ttl, size, df, port = (int(a) for a in sys.argv[3:7])
        print(json.dumps(client_probe(ttl, size, bool(df), port)))
    else:
        print(json.dumps(client_upload(int(sys.argv[3]))))
    sys.exit(0)

egressd, template, work = sys.argv[1:4]
tag = str(os.getpid())
CLI, GW, RTR, SRV = f"icmp-cli{tag}", f"icmp-gw{tag}", f"icmp-rtr{tag}", f"icmp-srv{tag}"
GW_IN, GW_OUT = "02:00:00:00:01:fe", "02:00:00:00:02:fe"
HOP_IN, HOP_OUT = "02:00:00:00:01:01", "02:00:00:00:02:01"


sh = netns.sh


def setup():
    netns.create(CLI, GW, RTR, SRV)
    netns.link(CLI, "c0", GW, "vin1", mac_a=HOP_IN)
    netns.link(RTR, "r0", GW, "vout1", mac_a=HOP_OUT)
    netns.link(RTR, "r1", SRV, "s0")
    sh("ip", "addr", "add", "10.0.0.5/24", "dev", "c0", ns=CLI)
    sh("ip", "route", "add", "default", "via", "10.0.0.1", ns=CLI)
    sh("ip", "neigh", "add", "10.0.0.1", "lladdr", GW_IN, "dev", "c0", ns=CLI)
    sh("sysctl", "-qw", "net.ipv4.ip_forward=1", ns=RTR)
    sh("sysctl", "-qw", "net.ipv4.icmp_ratelimit=0", ns=RTR)
    sh("ip", "addr", "add", "198.51.100.1/24", "dev", "r0", ns=RTR)
    sh("ip", "addr", "add", "198.18.0.1/24", "dev", "r1", ns=RTR)
    sh("ip", "link", "set", "r1", "mtu", "1400", ns=RTR)  # the small link (the server's end stays at 1500)
    sh("ip", "route", "add", "203.0.113.0/24", "via", "198.51.100.254", ns=RTR)
    sh("ip", "neigh", "add", "198.51.100.254", "lladdr", GW_OUT, "dev", "r0", ns=RTR)
    sh("ip", "addr", "add", "198.18.0.7/24", "dev", "s0", ns=SRV)
    sh("ip", "route", "add", "default", "via", "198.18.0.1", ns=SRV)


def teardown():
    netns.destroy(CLI, GW, RTR, SRV)


def client(*args):
    r = sh("/usr/bin/python3", os.path.abspath(__file__), "--client", *[str(a) for a in args], ns=CLI, check=False,
           timeout=60)
    if r.returncode != 0:
        return {"error": r.stderr.strip()[-500:]}
    return json.loads(r.stdout.strip().splitlines()[-1])


result = {}
gw = None
try:
    setup()
    with open(template) as f:
        config = f.read().replace("{dir}", work)
    with open(f"{work}/egressd.toml", "w") as f:
        f.write(config)
    server = subprocess.Popen(["ip", "netns", "exec", SRV, "/usr/bin/python3", "-c", SERVER_CODE],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    gw = subprocess.Popen(["ip", "netns", "exec", GW, egressd, "-c", f"{work}/egressd.toml", "--stats-json",
                           f"{work}/summary.json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(3)
    result["own_ttl"] = client("probe", 1, 20, 0, 43001)
    result["router_ttl"] = client("probe", 2, 20, 0, 43002)
    result["df_udp_1500"] = client("probe", 64, 1472, 1, 43003)
    result["df_udp_1450"] = client("probe", 64, 1422, 1, 43004)
    result["route_after_udp"] = sh("ip", "route", "get", SERVER, ns=CLI).stdout.strip()
    sh("ip", "route", "flush", "cache", ns=CLI)  # the upload discovers the path MTU again by itself
    result["upload"] = client("upload", 2 * 1024 * 1024)
    result["route_after_upload"] = sh("ip", "route", "get", SERVER, ns=CLI).stdout.strip()
    time.sleep(0.5)
    gw.send_signal(signal.SIGTERM)
    out, err = gw.communicate(timeout=60)
    result["returncode"], result["stderr"] = gw.returncode, err[-2000:]
    with open(f"{work}/summary.json") as f:
        result["summary"] = json.load(f)
    server.wait(timeout=10)
finally:
    if gw is not None and gw.poll() is None:
        gw.kill()
    teardown()
print(json.dumps(result))
