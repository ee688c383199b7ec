#!/usr/bin/python3
"""The exception path with real routing daemons: BIRD (Debian's bird2) or FRR
(Debian's frr: zebra, bfdd, bgpd) on the gateway host peers with BIRD on the
outside router THROUGH egressd's port.

Three network namespaces: a client (10.0.0.5/24, default via egressd's
10.0.0.1), the gateway (egressd on af_packet vdevs; its outside side has
exception_interface = "exc-out0", a net_tap with egressd's outside MAC and
192.0.2.1/24, on which the gateway's BIRD runs) and the outside router
(192.0.2.254/24, BIRD, the "internet" address 198.51.100.7 on its loopback,
a route to the NAT pool through 192.0.2.1).

Sequence: egressd starts; tcpdump on the tap; the gateway's daemon and the
router's BIRD start (BGP with BFD, the gateway announcing the NAT pool
203.0.113.0/24); the probe waits for the session to be Established (birdc
show protocols, vtysh show bgp summary) and the BFD session Up, and
for the router to have learned the pool route. Then, at once: the router
floods TCP SYNs to 192.0.2.1:179 (scapy, FLOOD frames) and TCP SYNs to
192.0.2.1:23 (not an exception port, 50 frames), while the client sends 200
UDP datagrams through egressd to the router. Then the session state again,
egressd's JSON summary and the tap capture's count of port 23 frames.
Prints JSON on the last line.

With MODE "workers": two workers, both ports af_packet with two queue pairs
(the kernel fans frames out over the queues by its flow hash, so worker 1
receives its share of the frames for the kernel and hands them to worker 0,
which owns the tap). After BGP and BFD are up, the router opens CONNECTS TCP
connections from distinct source ports to 192.0.2.1:2222 (a listed port),
served by a kernel socket on the tap; each sends a line and reads the echo.
No flood.

Usage: exception_probe.py EGRESSD WORKDIR [flood|workers] [bird|frr]
       (MODE flood by default; the gateway's daemon, bird by default)"""
import json
import os
import re
import signal
import subprocess
import sys
import time

import netns  # noqa: E402 (tests/system, beside this script)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from egress_scaleout import start_frr  # noqa: E402 (FRR's daemons started as the scale-out lab does)

egressd, work, mode, daemon = (sys.argv[1:5] + ["", "", "flood", "bird"][len(sys.argv[1:5]):])[:4]
tag = str(os.getpid())
CLI, GW, RTR = f"exc-cli{tag}", f"exc-gw{tag}", f"exc-rtr{tag}"
GW_IN, GW_OUT = "02:00:00:00:01:fe", "02:00:00:00:02:fe"
RTR_MAC = "02:00:00:00:02:54"
TAP = "exc-out0"
FLOOD = 3000
RATE, BURST = 200, 20
CONNECTS = 40

CONFIG = f"""
[eal]
lcores = "0-1"
no_huge = true
memory_mb = 256
in_memory = true
log_level = "error"
vdevs = ["net_af_packet0,iface=xin1", "net_af_packet1,iface=xout1"]

[inside]
device = "net_af_packet0"
mac = "{GW_IN}"
addresses = ["10.0.0.1/24"]

[outside]
device = "net_af_packet1"
mac = "{GW_OUT}"
addresses = ["192.0.2.1/24"]
next_hop = ["192.0.2.254"]
exception_interface = "{TAP}"
exception_ports = ["tcp/2222"]
exception_rate = {RATE}
exception_burst = {BURST}

[nat]
pool = ["203.0.113.10"]

[flows]
max_flows = 1024
"""

if mode == "workers":
    CONFIG = CONFIG.replace('lcores = "0-1"', 'lcores = "(0-2)@(0,1)"')
    CONFIG = CONFIG.replace("iface=xin1", "iface=xin1,qpairs=2").replace("iface=xout1", "iface=xout1,qpairs=2")
    CONFIG += "\n[run]\nworkers = 2\n"

# BGP over the tap, BFD on it (200 ms, multiplier 5: 1 s detection, slack for a
# busy CI machine), the pool announced.
GW_BIRD = """
log stderr all;
router id 192.0.2.1;
protocol device { scan time 1; }
protocol bfd { interface "*" { min rx interval 200 ms; min tx interval 200 ms; multiplier 5; }; }
protocol static pool { ipv4; route 203.0.113.0/24 blackhole; }
protocol bgp upstream {
  local 192.0.2.1 as 65001;
  neighbor 192.0.2.254 as 65000;
  connect delay time 1; connect retry time 1; hold time 9;
  bfd on;
  ipv4 { import none; export where net = 203.0.113.0/24; };
}
"""
# The same with FRR: the pool announced without a route to it on this host
# (import-check off), nothing learnt installed (no-rib), BFD 200 ms x 5.
GW_FRR = """
frr defaults traditional
no zebra nexthop kernel enable
bgp no-rib
bfd
 profile egressd
  detect-multiplier 5
  receive-interval 200
  transmit-interval 200
 exit
exit
ip prefix-list POOL seq 5 permit 203.0.113.0/24
route-map NOTHING deny 10
exit
route-map POOL_ONLY permit 10
 match ip address prefix-list POOL
exit
router bgp 65001
 bgp router-id 192.0.2.1
 no bgp ebgp-requires-policy
 no bgp network import-check
 neighbor 192.0.2.254 remote-as 65000
 neighbor 192.0.2.254 timers 3 9
 neighbor 192.0.2.254 timers connect 1
 neighbor 192.0.2.254 bfd profile egressd
 address-family ipv4 unicast
  network 203.0.113.0/24
  neighbor 192.0.2.254 route-map NOTHING in
  neighbor 192.0.2.254 route-map POOL_ONLY out
 exit-address-family
exit
"""
RTR_BIRD = """
log stderr all;
router id 192.0.2.254;
protocol device { scan time 1; }
protocol bfd { interface "*" { min rx interval 200 ms; min tx interval 200 ms; multiplier 5; }; }
protocol bgp gw1 {
  local 192.0.2.254 as 65000;
  neighbor 192.0.2.1 as 65001;
  connect delay time 1; connect retry time 1; hold time 9;
  error wait time 1, 8;  # a BFD down while the gateway's daemon starts: retry in 1 s, not 60 s
  bfd on;
  ipv4 { import all; export none; };
}
"""

UDP_LISTENER = r"""
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("198.51.100.7", 9999))
s.settimeout(6)
got = 0
try:
    while True:
        s.recv(100)
        got += 1
except socket.timeout:
    pass
print(got, flush=True)
"""

UDP_SENDER = r"""
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(200):
    s.sendto(str(i).encode(), ("198.51.100.7", 9999))
    time.sleep(0.005)
"""

# Raw frames (built by hand: scapy takes seconds for thousands), paced at
# about 2,000 a second so the af_packet ring takes them all: first 50 SYNs to
# port 23 (not an exception port), then FLOOD SYNs to 179.
FLOODER = rf"""
import socket, struct, time
def csum(b):
    if len(b) % 2: b += b"\\0"
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while t >> 16: t = (t & 0xffff) + (t >> 16)
    return ~t & 0xffff
src, dst = socket.inet_aton("192.0.2.254"), socket.inet_aton("192.0.2.1")
eth = bytes.fromhex("{GW_OUT.replace(':', '')}{RTR_MAC.replace(':', '')}0800")
def syn(sport, dport):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, sport, 0, 5 << 4, 0x02, 64240, 0, 0)
    tcp = tcp[:16] + struct.pack("!H", csum(src + dst + struct.pack("!BBH", 0, 6, 20) + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, sport, 0, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return eth + ip + tcp
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("r0", 0))
frames = [syn(30000 + i, 23) for i in range(50)] + [syn(20000 + i, 179) for i in range({FLOOD})]
for i, f in enumerate(frames):
    s.send(f)
    if i % 20 == 19:
        time.sleep(0.01)
s.close()
"""


# The gateway host's service on the listed port, bound to the tap's address:
# echoes one line per connection, CONNECTS connections.
ECHO_SERVER = rf"""
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("192.0.2.1", 2222))
s.listen(64)
s.settimeout(60)
for _ in range({CONNECTS}):
    c, _ = s.accept()
    c.settimeout(10)
    c.sendall(c.recv(100))
    c.close()
"""

# The router's clients: one connection per source port, a line each way.
ECHO_CLIENTS = rf"""
import socket, time
ok = 0
for i in range({CONNECTS}):
    time.sleep(0.05)  # ~100 frames a second to the kernel: within exception_rate
    c = socket.socket()
    c.settimeout(5)
    try:
        c.bind(("192.0.2.254", 41000 + i))
        c.connect(("192.0.2.1", 2222))
        line = b"hello %d" % i
        c.sendall(line)
        ok += c.recv(100) == line
    except OSError:
        pass
    c.close()
print(ok, flush=True)
"""

sh = netns.sh


def quiet(dev):
    """The gateway host's kernel must not answer on an af_packet port's own
    interface: the tap holds the gateway's addresses, and Linux accepts (and
    answers ARP for) a local address on any interface. An nftables netdev
    ingress hook dropping everything runs after the af_packet taps, so egressd
    still receives every frame and the kernel none (docs/deployment.md)."""
    sh("sysctl", "-w", f"net.ipv6.conf.{dev}.disable_ipv6=1", ns=GW)
    sh("nft", "add", "table", "netdev", "egressd_ports", ns=GW, check=False)
    sh("nft", "add", "chain", "netdev", "egressd_ports", dev,
       f'{{ type filter hook ingress device "{dev}" priority 0; policy drop; }}', ns=GW)


def setup():
    netns.create(CLI, GW, RTR)
    netns.link(CLI, "c0", GW, "xin1", up=False)
    netns.link(RTR, "r0", GW, "xout1", up=False)
    for ns, dev in ((CLI, "c0"), (RTR, "r0"), (GW, "xin1"), (GW, "xout1")):
        if ns == GW:  # the gateway namespace's kernel stays off egressd's links
            quiet(dev)
        sh("ip", "link", "set", dev, "up", ns=ns)
    sh("ip", "link", "set", "r0", "address", RTR_MAC, ns=RTR)
    sh("ip", "addr", "add", "10.0.0.5/24", "dev", "c0", ns=CLI)
    sh("ip", "route", "add", "default", "via", "10.0.0.1", ns=CLI)
    sh("ip", "addr", "add", "192.0.2.254/24", "dev", "r0", ns=RTR)
    sh("ip", "addr", "add", "198.51.100.7/32", "dev", "lo", ns=RTR)
    sh("ip", "route", "add", "203.0.113.0/24", "via", "192.0.2.1", ns=RTR)


def birdc(ns, sock, *cmd):
    return sh("birdc", "-s", sock, *cmd, ns=ns, check=False, timeout=10).stdout


def protocol_line(ns, sock, name):
    for line in birdc(ns, sock, "show", "protocols").splitlines():
        if line.startswith(name + " "):
            return " ".join(line.split())
    return ""


def vtysh_json(cmd):
    r = sh("vtysh", "--vty_socket", os.path.join(work, "frr"), "-c", cmd, ns=GW, check=False, timeout=10)
    try:
        return json.loads(r.stdout)
    except ValueError:
        return {}


def gateway_session(socks):
    """The gateway's BGP session to the router: BIRD's protocol line, or FRR's state."""
    if daemon == "bird":
        return protocol_line(GW, socks[GW], "upstream")
    return "upstream " + str(vtysh_json("show bgp summary json").get("ipv4Unicast", {}).get("peers", {})
                             .get("192.0.2.254", {}).get("state"))


def gateway_bfd_up(socks):
    if daemon == "bird":
        return re.search(r"192\.0\.2\.254\s+\S+\s+Up", birdc(GW, socks[GW], "show", "bfd", "sessions"))
    peers = vtysh_json("show bfd peers json")
    return any(p.get("peer") == "192.0.2.254" and p.get("status") == "up" for p in peers or [])


def start_gateway_daemon(socks):
    """The gateway host's routing daemon, on the tap egressd made."""
    if daemon == "frr":
        os.chmod(work, 0o755)  # the daemons drop to user frr: their directory must be reachable
        conf_path = os.path.join(work, "frr-gw.conf")
        with open(conf_path, "w") as f:
            f.write(GW_FRR)

        def spawn(name, ns, cmd):
            procs.append(subprocess.Popen(["ip", "netns", "exec", ns, *cmd], stdout=open(log_of(name), "w"),
                                          stderr=subprocess.STDOUT))

        def log_of(name):
            return os.path.join(work, f"{name}.log")
        start_frr(GW, os.path.join(work, "frr"), conf_path, spawn, log_of)
        return
    start_bird(GW, "gw", GW_BIRD, socks)


def start_bird(ns, name, text, socks):
    conf_path = os.path.join(work, f"bird-{name}.conf")
    with open(conf_path, "w") as f:
        f.write(text)
    socks[ns] = os.path.join(work, f"bird-{name}.ctl")
    procs.append(subprocess.Popen(["ip", "netns", "exec", ns, "bird", "-f", "-c", conf_path, "-s", socks[ns],
                                   "-P", os.path.join(work, f"bird-{name}.pid")],
                                  stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, f"bird-{name}.log"), "w")))


def wait_for(what, timeout_s):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if what():
            return round(timeout_s - (deadline - time.monotonic()), 1)
        time.sleep(0.2)
    return None


result = {}
procs = []
try:
    setup()
    config = os.path.join(work, "egressd.toml")
    with open(config, "w") as f:
        f.write(CONFIG)
    summary_path = os.path.join(work, "summary.json")
    gw = subprocess.Popen(["ip", "netns", "exec", GW, egressd, "-c", config, "--stats-json", summary_path],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    tap_up = wait_for(lambda: "192.0.2.1/24" in sh("ip", "-4", "addr", "show", "dev", TAP, ns=GW, check=False).stdout,
                      20)
    result["tap"] = sh("ip", "-o", "link", "show", "dev", TAP, ns=GW, check=False).stdout.strip()
    result["tap_addresses"] = sh("ip", "-o", "-4", "addr", "show", "dev", TAP, ns=GW, check=False).stdout.strip()
    capture = os.path.join(work, "tap.pcap")
    procs.append(subprocess.Popen(["ip", "netns", "exec", GW, "tcpdump", "-i", TAP, "-w", capture, "-n",
                                   "--immediate-mode", "-U", "-Z", "root"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    socks = {}
    start_bird(RTR, "rtr", RTR_BIRD, socks)
    start_gateway_daemon(socks)
    result["established_after_s"] = wait_for(
        lambda: "Established" in gateway_session(socks) and
        "Established" in protocol_line(RTR, socks[RTR], "gw1"), 30)
    result["bfd_up_after_s"] = wait_for(lambda: gateway_bfd_up(socks), 15)
    result["router_bfd"] = birdc(RTR, socks[RTR], "show", "bfd", "sessions")
    result["router_route"] = wait_for(lambda: "203.0.113.0/24" in birdc(RTR, socks[RTR], "show", "route"), 10)
    result["router_routes"] = birdc(RTR, socks[RTR], "show", "route")
    if mode == "workers":
        server = subprocess.Popen(["ip", "netns", "exec", GW, "/usr/bin/python3", "-c", ECHO_SERVER],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs.append(server)
        time.sleep(0.5)
        result["connects_ok"] = int(sh("/usr/bin/python3", "-c", ECHO_CLIENTS, ns=RTR, timeout=240).stdout.strip())
    else:
        # The flood and the forwarding, at the same time.
        listener = subprocess.Popen(["ip", "netns", "exec", RTR, "/usr/bin/python3", "-c", UDP_LISTENER],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(0.5)
        flooder = subprocess.Popen(["ip", "netns", "exec", RTR, "/usr/bin/python3", "-c", FLOODER],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        started = time.monotonic()
        sh("/usr/bin/python3", "-c", UDP_SENDER, ns=CLI, timeout=60)
        _, flood_err = flooder.communicate(timeout=120)
        result["flood_s"] = round(time.monotonic() - started, 2)
        result["flood_rc"] = flooder.returncode
        out, _ = listener.communicate(timeout=30)
        result["udp_received"] = int(out.strip() or 0)
    time.sleep(1.0)
    result["after_flood_gw"] = gateway_session(socks)
    result["after_flood_rtr"] = protocol_line(RTR, socks[RTR], "gw1")
    gw.send_signal(signal.SIGTERM)
    _, err = gw.communicate(timeout=60)
    result["returncode"], result["stderr"] = gw.returncode, err[-2000:]
    with open(summary_path) as f:
        result["summary"] = json.load(f)
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        p.wait(timeout=10)
    count = sh("tcpdump", "-r", capture, "-n", "tcp port 23", check=False).stdout
    result["tap_port23_frames"] = len([line for line in count.splitlines() if line.strip()])
    count = sh("tcpdump", "-r", capture, "-n", "tcp dst port 179 and tcp[tcpflags] == tcp-syn", check=False).stdout
    result["tap_bgp_syns"] = len([line for line in count.splitlines() if line.strip()])
finally:
    for p in procs:
        if p.poll() is None:
            p.kill()
    netns.destroy(CLI, GW, RTR)
print(json.dumps(result))
