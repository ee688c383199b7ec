#!/usr/bin/python3
"""Real kernels resolve egressd and egressd resolves them. Three network
namespaces: a client (10.0.0.5/24, fd00:0:0:1::5/64; default routes via
egressd's 10.0.0.1 and fd00:0:0:1::1), the gateway (egressd on af_packet vdevs
with no next_hop_mac and no static neighbours) and a server that is also the
outside router (192.0.2.254/24, 2001:db8::fe/64; the "internet" addresses
198.51.100.7 and 2001:db8:9::7 on its loopback; the NAT pool 203.0.113.0/24
on-link, so its kernel ARPs for the pool address itself). No `ip neigh add`
anywhere.

With --vlan, egressd's inside has vlan = 100. This machine's kernel has neither
8021q nor bridge support, so the client there is scapy on c0 speaking tagged
frames (answering egressd's tagged ARP requests itself) while the server stays
a real kernel on an untagged link: tags are popped towards it and pushed
towards the client.

Sequence: tcpdump on the client link; egressd starts (gratuitous ARP and an
unsolicited NA come out); the server's ARP is off, so 12 UDP datagrams the
client sends wait in egressd for the router (8 held: queue_per_entry = 8, 4
dropped); ARP on again: egressd's next retry resolves the router and the 8
are delivered; then pings of egressd's own addresses, curl over IPv4 and IPv6,
`ip neigh` on both ends, and egressd's JSON summary. Prints JSON on the last line.

Usage: neighbor_probe.py EGRESSD WORKDIR [--vlan]"""
import json
import os
import signal
import socket  # noqa: F401 (the UDP listener below runs in the server namespace)
import subprocess
import sys
import time

import netns  # noqa: E402 (tests/system, beside this script)

egressd, work = (sys.argv[1:3] + ["", ""])[:2]
vlan = "--vlan" in sys.argv[3:]
tag = str(os.getpid())
CLI, GW, SRV = f"arp-cli{tag}", f"arp-gw{tag}", f"arp-srv{tag}"
GW_IN, GW_OUT = "02:00:00:00:01:fe", "02:00:00:00:02:fe"
CLIENT_DEV = "c0"
CLIENT_MAC = "02:00:00:00:01:05"

CONFIG = f"""
[eal]
lcores = "0-1"
no_huge = true
memory_mb = 256
in_memory = true
log_level = "error"
vdevs = ["net_af_packet0,iface=vin1", "net_af_packet1,iface=vout1"]

[inside]
device = "net_af_packet0"
mac = "{GW_IN}"
addresses = ["10.0.0.1/24", "fd00:0:0:1::1/64"]
{"vlan = 100" if vlan else ""}

[outside]
device = "net_af_packet1"
mac = "{GW_OUT}"
addresses = ["192.0.2.1/24", "2001:db8::1/64"]
next_hop = ["192.0.2.254", "2001:db8::fe"]

[nat]
pool = ["203.0.113.10"]

[flows]
max_flows = 256

[neighbors]
retries = 10
retry_ms = 500
queue_per_entry = 8
queue_total = 64
"""

UDP_LISTENER = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("198.51.100.7", 9999))
s.settimeout(8)
got = []
try:
    while True:
        got.append(s.recv(100).decode())
except socket.timeout:
    pass
print(",".join(got), flush=True)
"""


sh = netns.sh


def setup():
    netns.create(CLI, GW, SRV)
    netns.link(CLI, "c0", GW, "vin1", up=False)
    netns.link(SRV, "s0", GW, "vout1", up=False)
    for ns, dev in ((CLI, "c0"), (SRV, "s0"), (GW, "vin1"), (GW, "vout1")):
        sh("ethtool", "-K", dev, "rxvlan", "off", "txvlan", "off", ns=ns, check=False)
        if ns == GW:  # the gateway namespace's own kernel stays silent on egressd's links
            sh("sysctl", "-w", f"net.ipv6.conf.{dev}.disable_ipv6=1", ns=ns)
        sh("ip", "link", "set", dev, "up", ns=ns)
    sh("ip", "link", "set", "c0", "address", CLIENT_MAC, ns=CLI)
    if vlan:
        sh("sysctl", "-w", "net.ipv6.conf.c0.disable_ipv6=1", ns=CLI)  # scapy alone speaks on c0
    else:
        client_addresses()
    server_addresses()


def client_addresses():
    sh("ip", "addr", "add", "10.0.0.5/24", "dev", CLIENT_DEV, ns=CLI)
    sh("ip", "-6", "addr", "add", "fd00:0:0:1::5/64", "dev", CLIENT_DEV, "nodad", ns=CLI)
    sh("ip", "route", "add", "default", "via", "10.0.0.1", ns=CLI)
    sh("ip", "-6", "route", "add", "default", "via", "fd00:0:0:1::1", ns=CLI)


def server_addresses():
    sh("ip", "addr", "add", "192.0.2.254/24", "dev", "s0", ns=SRV)
    sh("ip", "-6", "addr", "add", "2001:db8::fe/64", "dev", "s0", "nodad", ns=SRV)
    sh("ip", "addr", "add", "198.51.100.7/32", "dev", "lo", ns=SRV)
    sh("ip", "-6", "addr", "add", "2001:db8:9::7/128", "dev", "lo", "nodad", ns=SRV)
    sh("ip", "route", "add", "203.0.113.0/24", "dev", "s0", ns=SRV)  # the pool is on-link: ARP for it
    sh("ip", "-6", "route", "add", "fd00:0:0:1::/64", "via", "2001:db8::1", ns=SRV)
    # Silence the server's ARP until the client's datagrams wait in egressd.
    sh("ip", "link", "set", "s0", "arp", "off", ns=SRV)


def teardown():
    netns.destroy(CLI, GW, SRV)


def neigh(ns, *args):
    return sh("ip", *args, "neigh", "show", ns=ns, check=False).stdout


def tagged_client():
    """In the client namespace (--vlan): scapy as a host on VLAN 100 of c0.
    Answers egressd's tagged ARP requests for 10.0.0.5; asks for 10.0.0.1;
    pings egressd and the server through it; sends one untagged ping."""
    from scapy.all import ARP, AsyncSniffer, Dot1Q, Ether, ICMP, IP, sendp
    out = {"arp_replies": [], "echo_replies": [], "requests_answered": 0}

    def on_frame(pkt):
        if pkt.src != GW_IN:
            return
        tagged = pkt.haslayer(Dot1Q) and pkt[Dot1Q].vlan == 100
        if pkt.haslayer(ARP) and pkt[ARP].op == 1 and pkt[ARP].pdst == "10.0.0.5" and tagged:
            sendp(Ether(src=CLIENT_MAC, dst=pkt.src) / Dot1Q(vlan=100) /
                  ARP(op=2, hwsrc=CLIENT_MAC, psrc="10.0.0.5", hwdst=pkt[ARP].hwsrc, pdst=pkt[ARP].psrc),
                  iface="c0", verbose=False)
            out["requests_answered"] += 1
        elif pkt.haslayer(ARP) and pkt[ARP].op == 2:
            out["arp_replies"].append({"tagged": tagged, "hwsrc": pkt[ARP].hwsrc, "psrc": pkt[ARP].psrc})
        elif pkt.haslayer(ICMP) and pkt[ICMP].type == 0:
            out["echo_replies"].append({"tagged": tagged, "src": pkt[IP].src, "seq": pkt[ICMP].seq})

    sniffer = AsyncSniffer(iface="c0", prn=on_frame, store=False)
    sniffer.start()
    time.sleep(0.5)
    sendp(Ether(src=CLIENT_MAC, dst="ff:ff:ff:ff:ff:ff") / Dot1Q(vlan=100) /
          ARP(op=1, hwsrc=CLIENT_MAC, psrc="10.0.0.5", pdst="10.0.0.1"), iface="c0", verbose=False)
    time.sleep(0.5)
    ping = lambda dst, seq, tag=True: sendp(  # noqa: E731
        Ether(src=CLIENT_MAC, dst=GW_IN) / (Dot1Q(vlan=100) if tag else b"") /
        IP(src="10.0.0.5", dst=dst, ttl=64) / ICMP(id=7, seq=seq) / b"vlan", iface="c0", verbose=False) \
        if tag else sendp(Ether(src=CLIENT_MAC, dst=GW_IN) / IP(src="10.0.0.5", dst=dst, ttl=64) /
                          ICMP(id=7, seq=seq) / b"vlan", iface="c0", verbose=False)
    ping("10.0.0.1", 1)
    time.sleep(0.5)
    for seq in (2, 3):
        ping("198.51.100.7", seq)
        time.sleep(1.0)
    ping("198.51.100.7", 4, tag=False)  # untagged on a VLAN side: dropped
    time.sleep(1.0)
    sniffer.stop()
    print(json.dumps(out))


if "--tagged-client" in sys.argv:
    CLI = None
    tagged_client()
    sys.exit(0)

result = {"vlan": vlan}
procs = []
try:
    setup()
    config = os.path.join(work, "egressd.toml")
    with open(config, "w") as f:
        f.write(CONFIG)
    client_capture = os.path.join(work, "client.pcap")
    procs.append(subprocess.Popen(["ip", "netns", "exec", CLI, "tcpdump", "-i", "c0", "-w", client_capture,
                                   "--immediate-mode", "-U", "-Z", "root"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    server_capture = os.path.join(work, "server.pcap")
    procs.append(subprocess.Popen(["ip", "netns", "exec", SRV, "tcpdump", "-i", "s0", "-w", server_capture,
                                   "--immediate-mode", "-U", "-Z", "root"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    procs.append(subprocess.Popen(["ip", "netns", "exec", SRV, "/usr/bin/python3", "-m", "http.server", "80",
                                   "--bind", "::", "--directory", work],  # dual-stack: IPv4 and IPv6
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    listener = subprocess.Popen(["ip", "netns", "exec", SRV, "/usr/bin/python3", "-c", UDP_LISTENER],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1)
    summary_path = os.path.join(work, "summary.json")
    gw = subprocess.Popen(["ip", "netns", "exec", GW, egressd, "-c", config, "--stats-json", summary_path],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(3)

    def run(*cmd, ns=CLI):
        r = sh(*cmd, ns=ns, check=False, timeout=60)
        return {"rc": r.returncode, "out": r.stdout.strip()[-300:], "err": r.stderr.strip()[-300:]}

    if vlan:
        sh("ip", "link", "set", "s0", "arp", "on", ns=SRV)
        listener.kill()
        r = run("/usr/bin/python3", os.path.abspath(__file__), "--tagged-client")
        result["tagged_client"] = json.loads(r["out"].splitlines()[-1]) if r["rc"] == 0 else r
    else:
        # The client resolves egressd first (one ping of the gateway): a kernel
        # sending while it resolves its own next hop may reorder the first
        # datagrams (those it queued race the ones sent once resolved).
        sh("ping", "-c", "1", "-W", "2", "10.0.0.1", ns=CLI, check=False)
        # 12 datagrams while the router cannot be resolved: 8 wait, 4 are dropped.
        sender = "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n" \
                 "for i in range(12): s.sendto(str(i).encode(), ('198.51.100.7', 9999))\n"
        sh("/usr/bin/python3", "-c", sender, ns=CLI)
        time.sleep(1.2)
        sh("ip", "link", "set", "s0", "arp", "on", ns=SRV)
        out, _ = listener.communicate(timeout=30)
        result["udp_received"] = [x for x in out.strip().split(",") if x]
        result["ping_gateway_v4"] = run("ping", "-c", "2", "-W", "2", "10.0.0.1")
        result["ping_gateway_v6"] = run("ping", "-6", "-c", "2", "-W", "2", "fd00:0:0:1::1")
        result["curl_v4"] = run("curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5",
                                "http://198.51.100.7/")
        result["curl_v6"] = run("curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5",
                                "http://[2001:db8:9::7]/")
        result["client_neigh"] = neigh(CLI, "-4") + neigh(CLI, "-6")
    result["server_neigh"] = neigh(SRV, "-4") + neigh(SRV, "-6")
    time.sleep(0.5)
    gw.send_signal(signal.SIGTERM)
    _, err = gw.communicate(timeout=60)
    result["returncode"], result["stderr"] = gw.returncode, err[-2000:]
    with open(summary_path) as f:
        result["summary"] = json.load(f)
    time.sleep(0.5)
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        p.wait(timeout=10)

    # What the client's link saw from egressd: its announcements (first
    # frames, before any traffic) and the VLAN tags.
    from scapy.all import ARP, Dot1Q, ICMPv6ND_NA, rdpcap
    seen = []
    for pkt in rdpcap(client_capture):
        if pkt.src != GW_IN:
            continue
        entry = {"vlan": pkt[Dot1Q].vlan if pkt.haslayer(Dot1Q) else None}
        if pkt.haslayer(ARP):
            a = pkt[ARP]
            entry.update(kind="arp", op=a.op, psrc=a.psrc, pdst=a.pdst, dst=pkt.dst)
        elif pkt.haslayer(ICMPv6ND_NA):
            na = pkt[ICMPv6ND_NA]
            entry.update(kind="na", target=na.tgt, solicited=na.S, dst=pkt.dst)
        else:
            entry.update(kind="other")
        seen.append(entry)
    result["from_gateway_on_client_link"] = seen
    server_arp = []
    for pkt in rdpcap(server_capture):
        if pkt.src == GW_OUT and pkt.haslayer(ARP):
            server_arp.append({"op": pkt[ARP].op, "psrc": pkt[ARP].psrc, "pdst": pkt[ARP].pdst, "dst": pkt.dst})
    result["gateway_arp_on_server_link"] = server_arp
finally:
    for p in procs:
        if p.poll() is None:
            p.kill()
    teardown()
print(json.dumps(result))
