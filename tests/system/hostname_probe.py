#!/usr/bin/python3
"""Real clients through egressd's hostname policy. Builds three network
namespaces — a client (10.0.0.5), the gateway (egressd on af_packet vdevs over
the two veth pairs) and a server (198.51.100.7: openssl s_server on 443, a
Python HTTP server on 80) — runs curl and openssl s_client through egressd, and
prints JSON on the last line: each client's result, what the server saw
(tshark over a capture on the server's link), egressd's summary.

Usage: hostname_probe.py EGRESSD CONFIG_TEMPLATE WORKDIR
(the template's {dir} is replaced by WORKDIR)."""
import json
import os
import signal
import subprocess
import sys
import time

import netns  # noqa: E402 (tests/system, beside this script)

egressd, template, work = sys.argv[1:4]
tag = str(os.getpid())
CLI, GW, SRV = f"hcli{tag}", f"hgw{tag}", f"hsrv{tag}"
GW_IN, GW_OUT = "02:00:00:00:01:fe", "02:00:00:00:02:fe"
HOP_IN, HOP_OUT = "02:00:00:00:01:01", "02:00:00:00:02:01"


sh = netns.sh


def setup():
    netns.create(CLI, GW, SRV)
    # client c0 <-> vin1 (gateway inside), server s0 <-> vout1 (gateway outside)
    netns.link(CLI, "c0", GW, "vin1", mac_a=HOP_IN)
    netns.link(SRV, "s0", GW, "vout1", mac_a=HOP_OUT)
    sh("ip", "link", "set", "c0", "mtu", "400", ns=CLI)  # curl's ~520-byte ClientHello spans two segments
    sh("ip", "addr", "add", "10.0.0.5/24", "dev", "c0", ns=CLI)
    sh("ip", "route", "add", "default", "via", "10.0.0.1", ns=CLI)
    sh("ip", "neigh", "add", "10.0.0.1", "lladdr", GW_IN, "dev", "c0", ns=CLI)
    sh("ip", "addr", "add", "198.51.100.7/24", "dev", "s0", ns=SRV)
    sh("ip", "route", "add", "203.0.113.0/24", "via", "198.51.100.1", ns=SRV)
    sh("ip", "neigh", "add", "198.51.100.1", "lladdr", GW_OUT, "dev", "s0", ns=SRV)


def teardown():
    netns.destroy(CLI, GW, SRV)


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
    capture = f"{work}/server.pcap"
    procs.append(subprocess.Popen(["ip", "netns", "exec", SRV, "tcpdump", "-i", "s0", "-w", capture,
                                   "--immediate-mode", "-U", "-Z", "root", "tcp"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    procs.append(subprocess.Popen(["ip", "netns", "exec", SRV, "openssl", "s_server", "-accept", "443", "-www",
                                   "-cert", f"{work}/cert.pem", "-key", f"{work}/key.pem"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.PIPE))
    procs.append(subprocess.Popen(["ip", "netns", "exec", SRV, "/usr/bin/python3", "-m", "http.server", "80",
                                   "--bind", "198.51.100.7", "--directory", work],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    gw = subprocess.Popen(["ip", "netns", "exec", GW, egressd, "-c", f"{work}/egressd.toml"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(3)

    def curl(url, *extra):
        r = sh("curl", "-sS", "-k", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5", *extra, url,
               ns=CLI, check=False)
        return {"rc": r.returncode, "code": r.stdout, "err": r.stderr.strip()[:200]}

    result["allowed_tls"] = curl("https://api.stripe.com/", "--resolve", "api.stripe.com:443:198.51.100.7",
                                 "--local-port", "41001")
    result["wildcard_tls"] = curl("https://a.b.github.com/", "--resolve", "a.b.github.com:443:198.51.100.7",
                                  "--local-port", "41002")
    result["denied_tls"] = curl("https://github.com.evil.net/", "--resolve", "github.com.evil.net:443:198.51.100.7",
                                "--local-port", "41003")
    result["no_sni"] = curl("https://198.51.100.7/", "--local-port", "41004")
    result["allowed_http"] = curl("http://198.51.100.7/", "-H", "Host: api.stripe.com", "--local-port", "41005")
    result["denied_http"] = curl("http://198.51.100.7/", "-H", "Host: evil.example", "--local-port", "41006")
    # DLP: a body whose AWS key straddles two segments (client MTU 400), and a clean one.
    key = "AKIAIOSFODNN7EXAMPLE"
    result["dlp_leak"] = curl("http://198.51.100.7/", "-H", "Host: api.stripe.com", "--local-port", "41007",
                              "--data-binary", "x" * 300 + "&key=" + key)
    result["dlp_clean"] = curl("http://198.51.100.7/", "-H", "Host: api.stripe.com", "--local-port", "41008",
                               "--data-binary", "x" * 300 + "&key=none")
    time.sleep(0.5)
    gw.send_signal(signal.SIGTERM)
    out, err = gw.communicate(timeout=60)
    result["returncode"], result["summary"], result["stderr"] = gw.returncode, out[-3000:], err[-2000:]
    time.sleep(0.5)
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        p.wait(timeout=10)
    # What the server saw, per client port: complete ClientHellos (tshark
    # reassembles them, out of order too, as the server's TCP does: on a busy
    # machine a client retransmission during the hold was seen to put the
    # hello's second segment on the server's link before its first),
    # ServerHellos sent, RSTs received.
    fields = subprocess.run(["tshark", "-r", capture, "-o", "tcp.desegment_tcp_streams:TRUE",
                             "-o", "tcp.reassemble_out_of_order:TRUE", "-T", "fields",
                             "-e", "tcp.srcport", "-e", "tcp.dstport", "-e", "tls.handshake.type",
                             "-e", "tls.handshake.extensions_server_name", "-e", "tcp.flags.reset"],
                            capture_output=True, text=True).stdout
    seen = {}
    for line in fields.splitlines():
        sport, dport, hs, sni, rst = (line.split("\t") + [""] * 5)[:5]
        client = sport if sport.startswith("410") else dport
        s = seen.setdefault(client, {"client_hello": [], "server_hello": 0, "rst_from_client": 0})
        types = hs.split(",") if hs else []
        if "1" in types:
            s["client_hello"].append(sni)
        if "2" in types:
            s["server_hello"] += 1
        if rst == "1" and sport == client:
            s["rst_from_client"] += 1
    result["server_saw"] = seen
    payload = subprocess.run(["tshark", "-r", capture, "-Y", "tcp.srcport == 41007", "-T", "fields",
                              "-e", "tcp.payload"], capture_output=True, text=True).stdout
    received = bytes.fromhex("".join(payload.split()))
    result["leak_bytes_at_server"] = len(received)
    result["key_at_server"] = key.encode() in received
finally:
    for p in procs:
        if p.poll() is None:
            p.kill()
    teardown()
print(json.dumps(result))
