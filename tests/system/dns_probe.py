#!/usr/bin/python3
"""DNS-verified SNI with real clients (issue 16, verify = "observed"). Builds
three network namespaces — a client (10.0.0.5, its resolv.conf naming the DNS
server), the gateway (egressd on af_packet vdevs over the two veth pairs) and a
server side (198.51.100.7 and .8: openssl s_server on 443; 198.51.100.53:
Debian's dnsmasq serving api.stripe.com -> 198.51.100.7 with a 5-second TTL) —
runs curl through egressd, and prints JSON on the last line: each client's
result, egressd's summary, the security events.

Usage: dns_probe.py EGRESSD CONFIG_TEMPLATE WORKDIR
(the template's {dir} is replaced by WORKDIR)."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import netns  # noqa: E402 (tests/system, beside this script)

egressd, template, work = sys.argv[1:4]
tag = str(os.getpid())
CLI, GW, SRV = f"dnscli{tag}", f"dnsgw{tag}", f"dnssrv{tag}"
GW_IN, GW_OUT = "02:00:00:00:01:fe", "02:00:00:00:02:fe"
HOP_IN, HOP_OUT = "02:00:00:00:01:01", "02:00:00:00:02:01"
TTL = 5  # dnsmasq --local-ttl; the config's [dns] grace_seconds is 1

sh = netns.sh


def setup():
    netns.create(CLI, GW, SRV)
    netns.link(CLI, "c0", GW, "vin1", mac_a=HOP_IN)
    netns.link(SRV, "s0", GW, "vout1", mac_a=HOP_OUT)
    sh("ip", "addr", "add", "10.0.0.5/24", "dev", "c0", ns=CLI)
    sh("ip", "route", "add", "default", "via", "10.0.0.1", ns=CLI)
    sh("ip", "neigh", "add", "10.0.0.1", "lladdr", GW_IN, "dev", "c0", ns=CLI)
    for a in ("198.51.100.7/24", "198.51.100.8/24", "198.51.100.53/24"):
        sh("ip", "addr", "add", a, "dev", "s0", ns=SRV)
    sh("ip", "route", "add", "203.0.113.0/24", "via", "198.51.100.1", ns=SRV)
    sh("ip", "neigh", "add", "198.51.100.1", "lladdr", GW_OUT, "dev", "s0", ns=SRV)
    # `ip netns exec` bind-mounts /etc/netns/NAME/resolv.conf over /etc/resolv.conf.
    os.makedirs(f"/etc/netns/{CLI}", exist_ok=True)
    with open(f"/etc/netns/{CLI}/resolv.conf", "w") as f:
        f.write("nameserver 198.51.100.53\noptions timeout:2 attempts:1\n")


def teardown():
    netns.destroy(CLI, GW, SRV)
    shutil.rmtree(f"/etc/netns/{CLI}", ignore_errors=True)


result = {}
procs = []
try:
    setup()
    sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
       "-subj", "/CN=lab", "-keyout", f"{work}/key.pem", "-out", f"{work}/cert.pem")
    with open(template) as f:
        config = f.read().replace("{dir}", work)
    with open(f"{work}/egressd.toml", "w") as f:
        f.write(config)
    procs.append(subprocess.Popen(["ip", "netns", "exec", SRV, "openssl", "s_server", "-accept", "443", "-www",
                                   "-cert", f"{work}/cert.pem", "-key", f"{work}/key.pem"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.PIPE))
    procs.append(subprocess.Popen(["ip", "netns", "exec", SRV, "dnsmasq", "--keep-in-foreground", "--no-resolv",
                                   "--no-hosts", "--bind-interfaces", "--listen-address=198.51.100.53",
                                   "--except-interface=lo", "--user=root", f"--pid-file={work}/dnsmasq.pid",
                                   f"--local-ttl={TTL}", "--host-record=api.stripe.com,198.51.100.7",
                                   "--log-queries", f"--log-facility={work}/dnsmasq.log"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    gw = subprocess.Popen(["ip", "netns", "exec", GW, egressd, "-c", f"{work}/egressd.toml"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(3)

    def curl(*extra):
        r = sh("curl", "-sS", "-k", "-4", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5", *extra,
               "https://api.stripe.com/", ns=CLI, check=False)
        return {"rc": r.returncode, "code": r.stdout, "err": r.stderr.strip()[:200]}

    def pinned(address, port):
        return curl("--resolve", f"api.stripe.com:443:{address}", "--local-port", str(port))

    # Resolved through egressd: the answer is seen, the name verified.
    t0 = time.monotonic()
    result["resolved"] = curl("--local-port", "42001")
    # No lookup of its own: the answer above still vouches for .7, not for .8.
    result["pinned_matching"] = pinned("198.51.100.7", 42002)
    result["spoofed"] = pinned("198.51.100.8", 42003)
    result["first_three_s"] = round(time.monotonic() - t0, 2)
    result["within_ttl"] = result["first_three_s"] < TTL
    # TTL plus grace (1 s) after the answer (which came after t0; the binding's
    # clock counts whole seconds from it): then the same connection is
    # refused, and a fresh lookup makes it pass again.
    time.sleep(max(0.0, TTL + 1 + 1.5 - (time.monotonic() - t0)))
    result["expired"] = pinned("198.51.100.7", 42004)
    result["resolved_again"] = curl("--local-port", "42005")
    time.sleep(0.5)
    gw.send_signal(signal.SIGTERM)
    out, err = gw.communicate(timeout=60)
    result["returncode"], result["summary"], result["stderr"] = gw.returncode, out[-4000:], err[-2000:]
    try:
        with open(f"{work}/events.jsonl") as f:
            result["events"] = [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        result["events"] = []
finally:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
    teardown()
print(json.dumps(result))
