#!/usr/bin/python3
"""Real Chromium QUIC through egressd's QUIC Initial SNI inspection. Builds three
network namespaces — a client (10.0.0.5), the gateway (egressd on af_packet vdevs
over the two veth pairs) and a server (198.51.100.7, a UDP socket on port 443
that records what arrives; no QUIC server: Debian has none, and Chromium sends
its first flight whether or not one answers) — runs headless Chromium with QUIC
forced on, once for a name the policy allows and once for one it does not, and
prints JSON on the last line: the datagrams the server got in each run (count,
first byte, version), and egressd's exit status and summary.

Usage: quic_chromium_probe.py EGRESSD CONFIG_TEMPLATE WORKDIR
(the template's {dir} is replaced by WORKDIR)."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

import netns  # noqa: E402 (tests/system, beside this script)

egressd, template, work = sys.argv[1:4]
tag = str(os.getpid())
CLI, GW, SRV = f"qcli{tag}", f"qgw{tag}", f"qsrv{tag}"
GW_IN, GW_OUT = "02:00:00:00:01:fe", "02:00:00:00:02:fe"
HOP_IN, HOP_OUT = "02:00:00:00:01:01", "02:00:00:00:02:01"
sh = netns.sh

# The server: every UDP datagram to 443 as a JSON line (time, source, length,
# first five bytes), flushed at once so the probe can read between runs.
SERVER = r"""
import json, socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("198.51.100.7", 443))
with open(sys.argv[1], "w") as out:
    while True:
        data, peer = s.recvfrom(65535)
        out.write(json.dumps({"t": time.time(), "src": peer[0], "len": len(data), "head": data[:5].hex()}) + "\n")
        out.flush()
"""


def setup():
    netns.create(CLI, GW, SRV)
    netns.link(CLI, "c0", GW, "vin1", mac_a=HOP_IN)
    netns.link(SRV, "s0", GW, "vout1", mac_a=HOP_OUT)
    sh("ip", "addr", "add", "10.0.0.5/24", "dev", "c0", ns=CLI)
    sh("ip", "route", "add", "default", "via", "10.0.0.1", ns=CLI)
    sh("ip", "neigh", "add", "10.0.0.1", "lladdr", GW_IN, "dev", "c0", ns=CLI)
    sh("ip", "addr", "add", "198.51.100.7/24", "dev", "s0", ns=SRV)
    sh("ip", "route", "add", "203.0.113.0/24", "via", "198.51.100.1", ns=SRV)
    sh("ip", "neigh", "add", "198.51.100.1", "lladdr", GW_OUT, "dev", "s0", ns=SRV)


def chromium(name, seconds):
    """Headless Chromium opening https://name/ over QUIC (name -> the server)
    for `seconds`, then stopped."""
    with tempfile.TemporaryDirectory() as profile:
        p = subprocess.Popen(["ip", "netns", "exec", CLI, "chromium", "--headless=new", "--no-sandbox", "--disable-gpu",
                              "--no-first-run", "--enable-quic", f"--origin-to-force-quic-on={name}:443",
                              f"--host-resolver-rules=MAP {name} 198.51.100.7", f"--user-data-dir={profile}",
                              f"https://{name}/"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(seconds)
        os.killpg(p.pid, signal.SIGKILL)
        p.wait(timeout=10)


def received(path, since, until):
    with open(path) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return [r for r in rows if since <= r["t"] < until]


result = {}
procs = []
try:
    setup()
    with open(template) as f:
        config = f.read().replace("{dir}", work)
    with open(f"{work}/egressd.toml", "w") as f:
        f.write(config)
    log = f"{work}/server.jsonl"
    procs.append(subprocess.Popen(["ip", "netns", "exec", SRV, "/usr/bin/python3", "-c", SERVER, log],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    gw = subprocess.Popen(["ip", "netns", "exec", GW, egressd, "-c", f"{work}/egressd.toml"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(3)
    t0 = time.time()
    chromium("blocked.example.test", 5)
    t1 = time.time()
    chromium("quic.example.test", 5)
    t2 = time.time()
    time.sleep(0.5)
    for key, since, until in (("denied", t0, t1), ("allowed", t1, t2 + 0.5)):
        rows = received(log, since, until)
        result[key] = {"datagrams": len(rows), "sources": sorted({r["src"] for r in rows}),
                       "heads": [r["head"] for r in rows[:4]], "lengths": [r["len"] for r in rows[:4]]}
    gw.send_signal(signal.SIGTERM)
    out, err = gw.communicate(timeout=60)
    result["returncode"], result["summary"], result["stderr"] = gw.returncode, out[-4000:], err[-2000:]
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        p.wait(timeout=10)
finally:
    for p in procs:
        if p.poll() is None:
            p.kill()
    netns.destroy(CLI, GW, SRV)
print(json.dumps(result))
