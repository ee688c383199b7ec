#!/usr/bin/python3
"""DNS-verified SNI probe: builds three network namespaces — a client
(10.0.0.5, its resolv.conf naming the DNS server), the gateway (egressd on
af_packet vdevs over the two veth pairs) and a server side (198.51.100.7 and
.8: openssl s_server on 443) — runs curl through egressd, and prints JSON on
the last line: each client's result, egressd's summary, the security events.

observed (verify = "observed"): 198.51.100.53 on the server side runs Debian's
dnsmasq serving api.stripe.com -> 198.51.100.7 with a 5-second TTL; the client
resolves through egressd.
resolve (verify = "resolve"): dnsmasq runs in the gateway's namespace on
127.0.0.1:5353 (egressd's own resolver, through the host's stack), serving a
hosts file (re-read on SIGHUP) with the same TTL; the client pins addresses.

Usage: dns_probe.py EGRESSD CONFIG_TEMPLATE WORKDIR [observed|resolve]
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
mode = sys.argv[4] if len(sys.argv) > 4 else "observed"
tag = ("dns" if mode == "observed" else "resolve") + str(os.getpid())
CLI, GW, SRV = f"{tag}cli", f"{tag}gw", f"{tag}srv"
GW_IN, GW_OUT = "02:00:00:00:01:fe", "02:00:00:00:02:fe"
HOP_IN, HOP_OUT = "02:00:00:00:01:01", "02:00:00:00:02:01"
# dnsmasq --local-ttl; the config's [dns] grace_seconds is 1. resolve: longer,
# so that three connections fit in it on a loaded machine.
TTL = 5 if mode == "observed" else 10

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


def curl(*extra, url="https://api.stripe.com/"):
    r = sh("curl", "-sS", "-k", "-4", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5", *extra, url,
           ns=CLI, check=False)
    return {"rc": r.returncode, "code": r.stdout, "err": r.stderr.strip()[:200]}


def pinned(address, port, name="api.stripe.com"):
    return curl("--resolve", f"{name}:443:{address}", "--local-port", str(port), url=f"https://{name}/")


def hosts(work, address):
    """The resolve zone: api.stripe.com -> address (dnsmasq re-reads it on SIGHUP)."""
    with open(f"{work}/zone.hosts", "w") as f:
        f.write(f"{address} api.stripe.com\n")


def observed(_dns):
    # Resolved through egressd: the answer is seen, the name verified. The
    # first connection also waits for egressd to come up (slow on a loaded
    # machine): retried on a new port until it passes.
    for attempt in range(5):
        t0 = time.monotonic()
        result["resolved"] = curl("--local-port", str(42010 + attempt))
        if result["resolved"]["rc"] == 0:
            break
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


def resolve(dns):
    # egressd asks its resolver; the verdict waits for the answer.
    # The first connection also waits for egressd to come up (slow on a
    # loaded machine): retried on a new port until it passes.
    for attempt in range(5):
        t0 = time.monotonic()
        result["matching"] = pinned("198.51.100.7", 42010 + attempt)
        if result["matching"]["rc"] == 0:
            break
    t1 = time.monotonic()  # the answer came between t0 and t1
    result["spoofed"] = pinned("198.51.100.8", 42002)
    # The zone moves to .8: the cached answer (.7) holds for TTL + grace.
    hosts(work, "198.51.100.8")
    dns.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    result["cached"] = pinned("198.51.100.7", 42003)
    result["cached_within_ttl"] = time.monotonic() - t0 < TTL
    time.sleep(max(0.0, TTL + 1 + 1.5 - (time.monotonic() - t1)))
    result["expired"] = pinned("198.51.100.7", 42004)
    result["moved"] = pinned("198.51.100.8", 42005)
    # The resolver down: a name not cached gets no verdict (on_resolve_failure).
    dns.send_signal(signal.SIGTERM)
    dns.wait(timeout=5)
    result["resolver_down"] = pinned("198.51.100.8", 42006, "files.stripe.com")
    time.sleep(0.1)  # > the 10 ms in which the worker publishes its counters
    result["metrics"] = metrics_lines("egress_resolve")


def metrics_lines(prefix):
    """The samples of /metrics (the config's [metrics] listen, 127.0.0.1:9469 in
    the gateway's namespace) whose names start with prefix."""
    r = sh("curl", "-sS", "--max-time", "10", "http://127.0.0.1:9469/metrics", ns=GW, check=False)
    return sorted(line for line in r.stdout.splitlines() if line.startswith(prefix))


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
    dnsmasq = ["dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts", "--bind-interfaces", "--user=root",
               f"--pid-file={work}/dnsmasq.pid", f"--local-ttl={TTL}", "--log-queries",
               f"--log-facility={work}/dnsmasq.log"]
    if mode == "observed":
        dnsmasq += ["--listen-address=198.51.100.53", "--except-interface=lo",
                    "--host-record=api.stripe.com,198.51.100.7"]
        dns_ns = SRV
    else:
        hosts(work, "198.51.100.7")
        dnsmasq += ["--listen-address=127.0.0.1", "--port=5353", f"--addn-hosts={work}/zone.hosts"]
        dns_ns = GW
    procs.append(subprocess.Popen(["ip", "netns", "exec", dns_ns, *dnsmasq],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    gw = subprocess.Popen(["ip", "netns", "exec", GW, egressd, "-c", f"{work}/egressd.toml"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(3)
    (observed if mode == "observed" else resolve)(procs[-1])
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
