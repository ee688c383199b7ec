#!/usr/bin/python3
"""The scale-out scene of the egressd lab: two egressd instances side by side
behind a router that spreads flows over them with ECMP, and what happens when
one dies. `tools/lab scaleout` (demo), `tools/lab scaleout-up`, `tools/lab
down`; tests/system/test_scaleout.py drives the same functions.

    scale-cli           scale-in (inside router)      scale-gw1 / scale-gw2     scale-out (outside router)
    client              FRR: default route, ECMP      egressd, af_packet,       BIRD: each NAT pool to its
    10.1.0.5 ── eth0 ── to-cli  to-gw1 ─ 10.1.1.1 ─── inside | outside ─ 192.0.2.1 ─ to-gw1  instance; the
                                to-gw2 ─ 10.1.2.1 ─── inside | outside ─ 192.0.2.5 ─ to-gw2  server on lo:
                        over the gateways (5-tuple)   BIRD on its taps          198.51.100.7 TCP :8080, UDP :7

Each instance has its own NAT pool (gw1 203.0.113.1-2, gw2 203.0.113.129-130):
a flow's replies come back to the instance that translated it, whichever way
the outside router would otherwise send them. The inside router hashes every
flow's 5-tuple (net.ipv4.fib_multipath_hash_policy = 1) onto one next hop, so
each flow has one owner.

Routing is BGP with BFD between real routing daemons, with the files in
conf/scaleout as they are: FRR (zebra, bgpd, bfdd) on the inside router, BIRD
on the outside router, BIRD on each gateway host talking through egressd's
exception path (a net_tap per side: exc-in, exc-out). Each gateway announces
its pool prefix outside, and inside the default route the outside router gives
it, while its egressd is `ready` (announce-by-health.sh toggles a BIRD pipe
from the [health] file); FRR installs the ECMP default route over the gateways that announce
it (maximum-paths), BIRD each pool via its instance. A killed instance takes
its sessions with it (they run through its ports): BFD on the routers drops
it after 5 x 200 ms. A route monitor in the inside router (`ip monitor`) logs
each change of the default route's next hops (routes.log): the measured
times come from it.

All files live in the run directory (/tmp/egressd-scaleout or
$EGRESSD_SCALEOUT_DIR). `down` stops every process started in the scene's
namespaces, deletes them and the run directory.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUN = os.environ.get("EGRESSD_SCALEOUT_DIR", "/tmp/egressd-scaleout")
EGRESSD = os.environ.get("EGRESSD", os.path.join(REPO, "build", "dataplane", "egressd"))
PYTHON = "/usr/bin/python3"
ME = os.path.abspath(__file__)

CLI, INR, OUTR = "scale-cli", "scale-in", "scale-out"
GWS = {1: "scale-gw1", 2: "scale-gw2"}
NAMESPACES = (CLI, INR, GWS[1], GWS[2], OUTR)

CLIENT = "10.1.0.5"
SERVER = "198.51.100.7"
TCP_PORT, UDP_PORT = 8080, 7
POOLS = {1: ("203.0.113.1", "203.0.113.2"), 2: ("203.0.113.129", "203.0.113.130")}
POOL_PREFIXES = {1: "203.0.113.0/30", 2: "203.0.113.128/30"}
INSIDE = {i: f"10.1.{i}.1" for i in GWS}          # egressd's inside address (the ECMP next hop)
INSIDE_ROUTER = {i: f"10.1.{i}.2" for i in GWS}   # the inside router's end
OUTSIDE = {1: "192.0.2.1", 2: "192.0.2.5"}        # egressd's outside address
OUTSIDE_ROUTER = {1: "192.0.2.2", 2: "192.0.2.6"}
METRICS_PORT = 9469
CONF = os.path.join(REPO, "conf", "scaleout")  # the routing daemons' configurations
FRR_DAEMONS = ("zebra", "bfdd", "bgpd")
TAPS = {"inside": "exc-in", "outside": "exc-out"}  # each instance's exception interfaces (in its namespace)
BFD_DETECTION_S = 1.0  # conf/scaleout: 5 x 200 ms, on every session
STALL_MS = 300

LINKS = (
    ((CLI, "eth0"), (INR, "to-cli")),
    *(((INR, f"to-gw{i}"), (GWS[i], "inside")) for i in GWS),
    *(((GWS[i], "outside"), (OUTR, f"to-gw{i}")) for i in GWS),
)
ADDRESSES = (
    (CLI, "eth0", f"{CLIENT}/24"), (INR, "to-cli", "10.1.0.1/24"),
    *((INR, f"to-gw{i}", f"{INSIDE_ROUTER[i]}/30") for i in GWS),
    *((OUTR, f"to-gw{i}", f"{OUTSIDE_ROUTER[i]}/30") for i in GWS),
    (OUTR, "lo", f"{SERVER}/32"),
)

CONFIG = """# Written by tools/lab scaleout for instance {i} (tools/egress_scaleout.py).
[eal]
lcores = "{lcore}"      # one lcore: the main lcore runs the worker; each instance on its own CPU
hugepages = "off"
memory_mb = 128
in_memory = true
log_level = "notice"
vdevs = ["net_af_packet0,iface=inside", "net_af_packet1,iface=outside"]

[inside]
device = "net_af_packet0"
mac = "02:00:00:0{i}:01:fe"
addresses = ["{inside}/30"]
next_hop = ["{inside_router}"]
exception_interface = "exc-in"   # BIRD's BGP and BFD with the inside router

[outside]
device = "net_af_packet1"
mac = "02:00:00:0{i}:02:fe"
addresses = ["{outside}/30"]
next_hop = ["{outside_router}"]
exception_interface = "exc-out"  # BIRD's BGP and BFD with the outside router

[nat]
pool = [{pool}]
port_min = 1024
port_max = 65535

[timeouts]
allow_below_rfc = true
tcp_time_wait = 2
tcp_closed = 2
udp = 10
icmp = 2

[run]
stop_when_drained = false
mbufs = 4095
idle = "{idle}"
idle_max_sleep_us = 200

[control]
socket = "gw{i}.sock"

[health]
file = "gw{i}.health"
stall_ms = {stall_ms}

[metrics]
listen = "127.0.0.1:{metrics_port}"   # in the instance's namespace
"""


def path(*parts):
    return os.path.join(RUN, *parts)


def sh(*cmd, ns=None, check=True, timeout=60):
    full = (["ip", "netns", "exec", ns] if ns else []) + [str(c) for c in cmd]
    r = subprocess.run(full, capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(full)} exited {r.returncode}: {r.stderr.strip()}")
    return r


def say(*args):
    print(*args, flush=True)


def read(p):
    try:
        with open(p) as f:
            return f.read()
    except OSError:
        return ""


def namespaces_present():
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    names = {line.split()[0] for line in out.splitlines() if line.strip()}
    return [ns for ns in NAMESPACES if ns in names]


def is_up():
    return bool(namespaces_present()) or os.path.isdir(RUN)


def owner_of(address):
    """The instance whose pool holds a public address (None: neither)."""
    return next((i for i, pool in POOLS.items() if address in pool), None)


# --------------------------------------------------------------------------
# Network
# --------------------------------------------------------------------------
def build_network():
    for ns in NAMESPACES:
        sh("ip", "netns", "add", ns)
        sh("ip", "link", "set", "lo", "up", ns=ns)
        for key in ("net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0"):
            sh("sysctl", "-qw", key, ns=ns)
    for (ns_a, dev_a), (ns_b, dev_b) in LINKS:
        sh("ip", "link", "add", dev_a, "netns", ns_a, "type", "veth", "peer", "name", dev_b, "netns", ns_b)
        for ns, dev in ((ns_a, dev_a), (ns_b, dev_b)):
            sh("ethtool", "-K", dev, "tx", "off", "rx", "off", "tso", "off", "gso", "off", "gro", "off", ns=ns,
               check=False)
    for i, ns in GWS.items():
        for dev in ("inside", "outside"):
            keep_kernel_off(ns, dev)
    for ns in (INR, OUTR):
        sh("sysctl", "-qw", "net.ipv4.ip_forward=1", ns=ns)
    # ECMP by 5-tuple (the default, 0, hashes addresses only: one client would
    # land on one instance).
    sh("sysctl", "-qw", "net.ipv4.fib_multipath_hash_policy=1", ns=INR)
    for ns, dev, addr in ADDRESSES:
        sh("ip", "addr", "add", addr, "dev", dev, ns=ns)
    for (ns_a, dev_a), (ns_b, dev_b) in LINKS:
        sh("ip", "link", "set", dev_a, "up", ns=ns_a)
        sh("ip", "link", "set", dev_b, "up", ns=ns_b)
    sh("ip", "route", "add", "default", "via", "10.1.0.1", ns=CLI)


def keep_kernel_off(ns, dev):
    """The gateway host's kernel stays off egressd's af_packet interfaces: the
    taps hold the gateway's addresses, and Linux answers for a local address
    on any interface. An nftables netdev ingress hook dropping everything runs
    after the af_packet taps: egressd still gets every frame, the kernel none
    (docs/deployment.md, "Routing daemons through the exception path")."""
    sh("sysctl", "-qw", f"net.ipv6.conf.{dev}.disable_ipv6=1", ns=ns)
    sh("nft", "add", "table", "netdev", "egressd_ports", ns=ns)
    sh("nft", "add", "chain", "netdev", "egressd_ports", dev,
       f'{{ type filter hook ingress device "{dev}" priority 0; policy drop; }}', ns=ns)


# --------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------
_children = []


def spawn(name, ns, cmd):
    """A long-running process, detached, output in <name>.log, pid in <name>.pid."""
    full = (["ip", "netns", "exec", ns] if ns else []) + [str(c) for c in cmd]
    with open(path(f"{name}.log"), "a") as log:
        p = subprocess.Popen(full, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=RUN,
                             start_new_session=True)
    with open(path(f"{name}.pid"), "w") as f:
        f.write(f"{p.pid}\n")
    _children.append(p)
    return p


def pid_of(name):
    try:
        return int(read(path(f"{name}.pid")).strip())
    except ValueError:
        return None


def alive(pid):
    if not pid:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[-1][0] != "Z"
    except OSError:
        return False


def ask(i, cmd, timeout=0.5):
    """One control-socket request to instance i; None when it does not answer."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(path(f"gw{i}.sock"))
            s.sendall(json.dumps({"cmd": cmd}).encode() + b"\n")
            buf = b""
            while b"\n" not in buf:
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
        return json.loads(buf.split(b"\n", 1)[0])
    except (OSError, ValueError):
        return None


def write_config(i, idle):
    with open(path(f"gw{i}.toml"), "w") as f:
        f.write(CONFIG.format(i=i, lcore=i - 1, inside=INSIDE[i], inside_router=INSIDE_ROUTER[i],
                              outside=OUTSIDE[i], outside_router=OUTSIDE_ROUTER[i],
                              pool=", ".join(f'"{a}"' for a in POOLS[i]), idle=idle, stall_ms=STALL_MS,
                              metrics_port=METRICS_PORT))


def start_instance(i, timeout_s=30):
    """egressd i in its namespace; returns once its health answers."""
    spawn(f"egressd{i}", GWS[i], [EGRESSD, "-c", path(f"gw{i}.toml")])
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if not alive(pid_of(f"egressd{i}")):
            raise RuntimeError(f"egressd {i} exited at start:\n{read(path(f'egressd{i}.log'))}")
        r = ask(i, "health")
        if r and r.get("ok"):
            return
        time.sleep(0.1)
    raise RuntimeError(f"egressd {i} did not open its control socket:\n{read(path(f'egressd{i}.log'))}")


def kill_instance(i):
    """SIGKILL, as a crash would; returns the time it was sent."""
    pid = pid_of(f"egressd{i}")
    t = time.time()
    os.kill(pid, signal.SIGKILL)
    while alive(pid):
        time.sleep(0.01)
    return t


# --------------------------------------------------------------------------
# Routing: BGP and BFD from real routing daemons decide which instances the
# inside router spreads flows over
# --------------------------------------------------------------------------
def start_frr(ns, directory, config, spawn_fn, log_of, substitute=None):
    """FRR (zebra, bfdd, bgpd) in namespace ns, sockets and pid files in
    directory (made here, owned by user frr, to which the daemons drop), then
    config loaded with `vtysh -f` (its words replaced by substitute's values
    first, for frr-gateway.conf). spawn_fn(name, ns, cmd) starts a daemon
    whose output log_of(name) names. One after the other, each connected to
    zebra before the next starts and before the configuration: a BFD request
    bgpd sends while bfdd is not yet connected to zebra is lost (FRR 8.4.4:
    the session then has BGP but never BFD)."""
    os.makedirs(directory)
    shutil.chown(directory, "frr", "frr")
    with open(os.path.join(directory, "empty.conf"), "w"):
        pass
    for d, connected in zip(FRR_DAEMONS, ("", "announce only bfd routes", "announce only bgp routes")):
        spawn_fn(f"frr-{d}", ns, [f"/usr/lib/frr/{d}", "-u", "frr", "-g", "frr", "-f",
                                  os.path.join(directory, "empty.conf"), "-i", os.path.join(directory, f"{d}.pid"),
                                  "-z", os.path.join(directory, "zserv.api"), "--vty_socket", directory,
                                  "--log", "stdout"])
        wait_until(lambda: os.path.exists(os.path.join(directory, f"{d}.vty")) and
                   connected in read(log_of("frr-zebra")), 30, f"FRR's {d} did not start (or connect to zebra)")
    if substitute:
        text = read(config)
        for word, value in substitute.items():
            text = re.sub(rf"\b{word}\b", value, text)
        config = os.path.join(directory, "frr.conf")
        with open(config, "w") as f:
            f.write(text)
    sh("vtysh", "--vty_socket", directory, "-f", config, ns=ns)


def start_routers():
    """The routers' daemons, with the files in conf/scaleout as they are: with
    BIRD on the gateways FRR on the inside router and BIRD on the outside
    router; with FRR on the gateways BIRD inside and FRR outside. And the
    route monitor (routes.log)."""
    if gateway_daemon() == "bird":
        start_frr(INR, path("frr"), os.path.join(CONF, "frr-inside.conf"), spawn, lambda n: path(f"{n}.log"))
        spawn("bird-out", OUTR, ["bird", "-f", "-c", os.path.join(CONF, "bird-outside.conf"), "-s",
                                 path("bird-out.ctl")])
    else:
        spawn("bird-in", INR, ["bird", "-f", "-c", os.path.join(CONF, "bird-inside.conf"), "-s",
                               path("bird-in.ctl")])
        start_frr(OUTR, path("frr-out"), os.path.join(CONF, "frr-outside.conf"),
                  lambda name, ns, cmd: spawn(f"{name}-out", ns, cmd), lambda n: path(f"{n}-out.log"))
    spawn("routes", INR, [PYTHON, ME, "_routes"])


def gateway_constants(i):
    """What differs per instance in the gateway files (bird-gateway.conf's
    constants, frr-gateway.conf's words)."""
    return {"INSIDE_ADDR": INSIDE[i], "INSIDE_ROUTER": INSIDE_ROUTER[i], "OUTSIDE_ADDR": OUTSIDE[i],
            "OUTSIDE_ROUTER": OUTSIDE_ROUTER[i], "POOL": POOL_PREFIXES[i]}


def start_gateway_routing(i):
    """Instance i's host: BIRD (conf/scaleout/bird-gateway.conf with this
    instance's constants) or FRR (frr-gateway.conf, its words replaced), and
    the watcher that lets it announce the default route only while egressd
    says `ready` (conf/scaleout/announce-by-health.sh)."""
    watcher = os.path.join(CONF, "announce-by-health.sh")
    if gateway_daemon() == "frr":
        d = path(f"frr-gw{i}")
        start_frr(GWS[i], d, os.path.join(CONF, "frr-gateway.conf"),
                  lambda name, ns, cmd: spawn(f"{name}-gw{i}", ns, cmd), lambda n: path(f"{n}-gw{i}.log"),
                  substitute=gateway_constants(i))
        spawn(f"announce{i}", GWS[i], [watcher, path(f"gw{i}.health"), "--frr", d])
        return
    with open(path(f"bird-gw{i}.conf"), "w") as f:
        f.write(f"# Written by tools/lab scaleout for instance {i}: its constants, then the shared file.\n" +
                "".join(f"define {k} = {v};\n" for k, v in gateway_constants(i).items()) +
                f'include "{os.path.join(CONF, "bird-gateway.conf")}";\n')
    spawn(f"bird-gw{i}", GWS[i], ["bird", "-f", "-c", path(f"bird-gw{i}.conf"), "-s", path(f"bird-gw{i}.ctl")])
    wait_until(lambda: os.path.exists(path(f"bird-gw{i}.ctl")), 20, f"BIRD of instance {i} did not start")
    spawn(f"announce{i}", GWS[i], [watcher, path(f"gw{i}.health"), path(f"bird-gw{i}.ctl")])


def gateway_daemon():
    """The scene's routing daemon on the gateway hosts: "bird" or "frr"
    (chosen at up, kept in the run directory)."""
    return read(path("gateway-daemon")).strip() or "bird"


def wait_until(check, timeout_s, what):
    deadline = time.time() + timeout_s
    while not check():
        if time.time() > deadline:
            raise RuntimeError(what)
        time.sleep(0.05)


def default_route_instances():
    """The instances the inside router's default route leads to now."""
    routes = json.loads(sh("ip", "-j", "route", "show", "default", ns=INR).stdout or "[]")
    hops = [h for r in routes for h in (r.get("nexthops") or [r])]
    return tuple(sorted(i for i in GWS if any(h.get("gateway") == INSIDE[i] for h in hops)))


def monitor_routes():
    """The route monitor (runs in scale-in until killed): on every route or
    next-hop change the kernel reports (`ip monitor`), reads the default
    route; each change of its instances is logged as "<unix time> ready
    <instances>" (routes.log)."""
    mon = subprocess.Popen(["ip", "-o", "monitor", "route", "nexthop"], stdout=subprocess.PIPE, text=True)
    current = None
    while True:
        now = default_route_instances()
        if now != current:
            print(f"{time.time():.3f} ready {','.join(map(str, now)) or '-'}", flush=True)
            current = now
        if not mon.stdout.readline():
            return


def route_changes():
    """The route monitor's log: [(unix time, (instances in the default route))]."""
    out = []
    for line in read(path("routes.log")).splitlines():
        t, _, ready = line.split()
        out.append((float(t), tuple(int(x) for x in ready.split(",")) if ready != "-" else ()))
    return out


def wait_for_route(instances, timeout_s=30):
    """Waits until the inside router's default route leads to exactly these
    instances; returns when it did (the monitor's time)."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        changes = route_changes()
        if changes and changes[-1][1] == tuple(sorted(instances)):
            return changes[-1][0]
        time.sleep(0.05)
    raise RuntimeError(f"the inside router does not use instances {instances}: {route_changes()}")


def inside_router_sessions():
    """The inside router's view of each gateway, from FRR or BIRD (whichever
    runs there): {instance: (BGP state, BFD status)}, ("Established", "up")
    when both are up."""
    if gateway_daemon() == "frr":
        protocols = sh("birdc", "-s", path("bird-in.ctl"), "show", "protocols", ns=INR, check=False).stdout
        bfd = sh("birdc", "-s", path("bird-in.ctl"), "show", "bfd", "sessions", ns=INR, check=False).stdout
        state = {m[0]: m[1] for m in re.findall(r"^gw(\d) +BGP +\S+ +\S+ +\S+ +(\w+)", protocols, re.M)}
        up = {m[0]: m[1].lower() for m in re.findall(r"^(\S+) +to-gw\d +(\w+) ", bfd, re.M)}
        return {i: (state.get(str(i)), up.get(INSIDE[i])) for i in GWS}

    def vtysh_json(cmd):
        r = sh("vtysh", "--vty_socket", path("frr"), "-c", cmd, ns=INR, check=False)
        try:
            return json.loads(r.stdout)
        except ValueError:
            return None
    peers = ((vtysh_json("show bgp summary json") or {}).get("ipv4Unicast") or {}).get("peers", {})
    bfd = {p["peer"]: p["status"] for p in vtysh_json("show bfd peers json") or []}
    return {i: (peers.get(INSIDE[i], {}).get("state"), bfd.get(INSIDE[i])) for i in GWS}


def wait_for_sessions(instances, timeout_s=60):
    """Waits until FRR has BGP Established with BFD up to exactly these
    instances (and neither to the others)."""
    def settled():
        now = inside_router_sessions()
        return all((now[i] == ("Established", "up")) == (i in instances) for i in GWS)
    wait_until(settled, timeout_s, f"the inside router's sessions are not up for exactly {instances}: "
               f"{inside_router_sessions()}")


def wait_for_stable_route(instances, timeout_s=60):
    """Waits until the inside router uses exactly these instances, with BGP and
    BFD up to them, and the route has not changed for two BFD detection
    times; returns when the route took that form for the last time. (An
    instance coming back has been seen to drop out once, about 0.1 s after
    its session came up, and return 3 s later: see docs/deployment.md.)"""
    deadline = time.time() + timeout_s
    want = tuple(sorted(instances))
    while True:
        wait_for_route(instances, timeout_s=max(1.0, deadline - time.time()))
        wait_for_sessions(instances, timeout_s=max(1.0, deadline - time.time()))
        last_t, last = route_changes()[-1]
        if last == want and time.time() - last_t >= 2 * BFD_DETECTION_S:
            return last_t
        if time.time() > deadline:
            raise RuntimeError(f"the inside router's route did not settle on {instances}: {route_changes()}")
        time.sleep(0.1)


def vtysh(directory, ns, *commands):
    """What FRR (its vtysh socket in directory, in namespace ns) answers to commands."""
    return sh("vtysh", "--vty_socket", directory, *[a for c in commands for a in ("-c", c)], ns=ns,
              check=False).stdout.strip()


def routing_status():
    """What the daemons say: each session's state and BFD."""
    if gateway_daemon() == "frr":
        lines = ["bird-in:\n" + sh("birdc", "-s", path("bird-in.ctl"), "show", "protocols", ns=INR,
                                   check=False).stdout.strip()]
        for i in GWS:
            lines.append(f"frr-gw{i}:\n" + vtysh(path(f"frr-gw{i}"), GWS[i], "show bgp summary",
                                                  "show bfd peers brief"))
        lines.append("frr-out:\n" + vtysh(path("frr-out"), OUTR, "show ip route bgp"))
        return "\n".join(lines)
    lines = [vtysh(path("frr"), INR, "show bgp summary", "show bfd peers brief")]
    for name, ns in ((f"bird-gw{i}", GWS[i]) for i in GWS):
        lines.append(f"{name}:\n" + sh("birdc", "-s", path(f"{name}.ctl"), "show", "protocols", ns=ns,
                                        check=False).stdout.strip())
    lines.append("bird-out:\n" + sh("birdc", "-s", path("bird-out.ctl"), "show", "route", ns=OUTR,
                                     check=False).stdout.strip())
    return "\n".join(lines)


# --------------------------------------------------------------------------
# up / down
# --------------------------------------------------------------------------
def up(idle="adaptive", quiet=False, gateway_daemon="bird"):
    """The scene; gateway_daemon: "bird" (BIRD on the gateway hosts, FRR
    inside, BIRD outside) or "frr" (FRR on the gateway hosts, BIRD inside,
    FRR outside)."""
    if is_up():
        raise RuntimeError("the scale-out scene is already up (tools/lab down first)")
    if gateway_daemon not in ("bird", "frr"):
        raise RuntimeError(f"--gateway-daemon: bird or frr, not {gateway_daemon}")
    os.makedirs(RUN, mode=0o755)
    with open(path("gateway-daemon"), "w") as f:
        f.write(gateway_daemon + "\n")
    try:
        build_network()
        spawn("server", OUTR, [PYTHON, ME, "_serve"])
        start_routers()
        for i in GWS:
            write_config(i, idle)
            start_instance(i)
            start_gateway_routing(i)
        wait_for_stable_route(GWS, timeout_s=90)
        wait_for_path()
    except BaseException:
        print_log_tails()
        down(quiet=True)
        raise
    if not quiet:
        say(f"scaleout: up — namespaces {' '.join(NAMESPACES)}, files in {RUN}")


def print_log_tails(lines=12):
    """The end of every log of the scene, on stderr (before down() removes them)."""
    for name in sorted(os.listdir(RUN)) if os.path.isdir(RUN) else []:
        if name.endswith(".log"):
            tail = read(path(name)).splitlines()[-lines:]
            print(f"--- {name}\n" + "\n".join(tail), file=sys.stderr)


def wait_for_path(timeout_s=15):
    deadline = time.time() + timeout_s
    while sh("ping", "-c", "1", "-W", "1", SERVER, ns=CLI, check=False).returncode != 0:
        if time.time() > deadline:
            raise RuntimeError("the client cannot reach the server through the instances")
        time.sleep(0.2)


def down(quiet=False):
    """Stops every process of the scene (routing daemons, egressd, server), deletes the namespaces and the
    run directory."""
    if os.path.isdir(RUN):
        for name in os.listdir(RUN):
            if name.endswith(".pid"):
                pid = pid_of(name[:-4])
                if alive(pid):
                    os.kill(pid, signal.SIGKILL)
    for ns in namespaces_present():
        for pid in subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout.split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass
    for ns in namespaces_present():
        sh("ss", "-K", "-a", ns=ns, check=False)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    while _children:
        try:
            _children.pop().wait(timeout=2)
        except subprocess.TimeoutExpired:
            pass
    shutil.rmtree(RUN, ignore_errors=True)
    if not quiet:
        say("scaleout: down (no namespaces, processes or files left)")


# --------------------------------------------------------------------------
# Traffic
# --------------------------------------------------------------------------
def metric(i, name):
    """One sample of instance i's Prometheus metrics (a family without labels)."""
    r = sh("curl", "-sS", "--max-time", "5", f"http://127.0.0.1:{METRICS_PORT}/metrics", ns=GWS[i])
    for line in r.stdout.splitlines():
        if line.startswith(name + " "):
            return int(line.split()[1])
    raise RuntimeError(f"egressd {i}: no {name} in its metrics")


def tcp_flows_created(i):
    """TCP flows instance i created so far (None when it does not answer)."""
    r = ask(i, "stats")
    return None if r is None else r["stats"]["flows"]["tcp"]["created"]


def connections(count):
    """count TCP connections from the client, one after another: the owning
    instance of each (from the public address the server saw), None for one
    that failed."""
    r = sh(PYTHON, ME, "_connect", count, ns=CLI, timeout=120)
    return json.loads(r.stdout)


def serve():
    """The server in scale-out: TCP :8080 and UDP :7 both answer with the
    client's address as seen (a public address: which instance translated)."""
    import socketserver
    import threading

    class tcp_handler(socketserver.StreamRequestHandler):
        def handle(self):
            for line in self.rfile:
                self.wfile.write(f"{self.client_address[0]} {line.decode().strip()}\n".encode())

    class tcp_server(socketserver.ThreadingTCPServer):
        allow_reuse_address = True
        daemon_threads = True

    tcp = tcp_server((SERVER, TCP_PORT), tcp_handler)
    threading.Thread(target=tcp.serve_forever, daemon=True).start()
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind((SERVER, UDP_PORT))
    while True:
        data, peer = udp.recvfrom(2048)
        udp.sendto(f"{peer[0]} ".encode() + data, peer)


def one_connection(timeout=1.0):
    """One TCP exchange with the server; the public address it saw, or None."""
    try:
        with socket.create_connection((SERVER, TCP_PORT), timeout=timeout) as s:
            s.sendall(b"hello\n")
            reply = s.makefile().readline().split()
            return reply[0] if len(reply) == 2 and reply[1] == "hello" else None
    except OSError:
        return None


def connect_main(count):
    print(json.dumps([owner_of(one_connection() or "") for _ in range(int(count))]))


def failover_main(duration_s, udp_flows):
    """In scale-cli, while an instance is killed: udp_flows UDP flows (fixed
    source ports) each send a numbered datagram every 20 ms and note which
    come back, and through which instance; a new TCP connection is attempted
    every 25 ms. Prints "ready" once every UDP flow has its owner, then, at
    the end, one JSON object."""
    import threading
    duration_s, udp_flows = float(duration_s), int(udp_flows)
    socks = []
    for k in range(udp_flows):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("0.0.0.0", 42000 + k))
        s.connect((SERVER, UDP_PORT))
        s.settimeout(0.05)
        socks.append(s)
    flows = [{"port": 42000 + k, "sent": [], "back": {}} for k in range(udp_flows)]

    def receive(k):
        while not done.is_set():
            try:
                addr, seq = socks[k].recv(2048).decode().split()
            except (socket.timeout, ValueError):
                continue
            except OSError:
                continue
            flows[k]["back"][int(seq)] = [time.time(), owner_of(addr)]

    attempts = []

    def attempt():
        t = time.time()
        public = one_connection(timeout=2.0)
        attempts.append([t, time.time(), owner_of(public or "")])

    done = threading.Event()
    for k in range(udp_flows):
        threading.Thread(target=receive, args=(k,), daemon=True).start()
    seq, start, said_ready, next_attempt = 0, time.time(), False, time.time()
    workers = []
    while time.time() - start < duration_s:
        for k, s in enumerate(socks):
            flows[k]["sent"].append([seq, time.time()])
            try:
                s.send(str(seq).encode())
            except OSError:
                pass
        seq += 1
        if not said_ready and all(f["back"] for f in flows):
            print("ready", flush=True)
            said_ready = True
        if said_ready and time.time() >= next_attempt:
            th = threading.Thread(target=attempt, daemon=True)
            th.start()
            workers.append(th)
            next_attempt += 0.025
        time.sleep(0.02)
    time.sleep(0.3)  # the last replies
    done.set()
    for th in workers:
        th.join(timeout=3)
    print(json.dumps({"flows": flows, "attempts": attempts}), flush=True)


# --------------------------------------------------------------------------
# The demo
# --------------------------------------------------------------------------
def counts(owners):
    return {i: owners.count(i) for i in GWS} | {"failed": owners.count(None)}


def demo(daemon="bird"):
    if not is_up():
        say(f"scaleout: bringing the scene up (two egressd instances, {daemon} on their hosts)")
        up(quiet=True, gateway_daemon=daemon)
    gw, router = ("FRR", "BIRD") if gateway_daemon() == "frr" else ("BIRD", "FRR")
    say(f"\n== the inside router ({router}) learnt the default route from both gateways' {gw}, through egressd")
    say(indent(f"BGP, BFD: {inside_router_sessions()}"))
    say(indent(sh("ip", "route", "show", "default", ns=INR).stdout))
    say("== 200 TCP connections from one client, spread by the inside router's ECMP (5-tuple hash)")
    before = {i: tcp_flows_created(i) for i in GWS}
    owners = connections(200)
    after = {i: tcp_flows_created(i) for i in GWS}
    say(f"   owners seen by the server: {counts(owners)}")
    say(f"   TCP flows created per instance (egressctl stats): "
        f"{ {i: after[i] - before[i] for i in GWS} }")
    say(f"\n== egressctl drain on instance 2: its {gw} withdraws the default route")
    t = time.time()
    say(indent(egressctl(2, "drain").stdout))
    say(f"   out of the route {wait_for_route([1]) - t:.2f} s later; 40 new connections: {counts(connections(40))}")
    egressctl(2, "undrain")
    say(f"   egressctl undrain: back in the route {wait_for_route(GWS) - t:.2f} s after the drain")
    say("\n== kill -9 egressd 2 while UDP flows run and new connections are attempted")
    p = subprocess.Popen(["ip", "netns", "exec", CLI, PYTHON, ME, "_failover", "5", "16"], stdout=subprocess.PIPE,
                         text=True)
    assert p.stdout.readline().strip() == "ready"
    time.sleep(1.0)
    t_kill = kill_instance(2)
    result = json.loads(p.stdout.read())
    p.stdout.close()
    p.wait()
    report = failover_report(result, t_kill)
    for line in report["lines"]:
        say("   " + line)
    say("\n== restart egressd 2")
    t = time.time()
    start_instance(2)
    t_back = wait_for_stable_route(GWS)
    say(f"   in the route again {t_back - t:.2f} s after the restart began (BGP and BFD up again through it)")
    say(f"   200 new connections: {counts(connections(200))}")


def indent(text):
    return "\n".join("   " + line for line in text.rstrip().splitlines())


def egressctl(i, *args):
    """tools/egressctl against instance i (its control socket)."""
    return subprocess.run([PYTHON, os.path.join(REPO, "tools", "egressctl"), "-s", path(f"gw{i}.sock"), *args],
                          capture_output=True, text=True, timeout=30)


def failover_report(result, t_kill):
    """What the failover run shows: detection time, UDP losses per owner, when
    new connections all succeed again. Returns a dict (the test asserts on it)
    with "lines" to print."""
    changes = [t for t, ready in route_changes() if t >= t_kill and 2 not in ready]
    t_route = changes[0] if changes else None
    out = {"detection_s": None if t_route is None else t_route - t_kill, "survivor_lost": 0, "survivor_flows": 0,
           "dead_flows": 0, "dead_lost": 0, "attempts_after": [], "lines": []}
    for f in result["flows"]:
        first_owner = f["back"][min(f["back"], key=int)][1]
        lost = [seq for seq, t in f["sent"] if str(seq) not in f["back"]]
        if first_owner == 1:
            out["survivor_flows"] += 1
            out["survivor_lost"] += len(lost)
        else:
            out["dead_flows"] += 1
            out["dead_lost"] += len(lost)
    if t_route is not None:
        out["attempts_after"] = [a for a in result["attempts"] if a[0] >= t_route]
    between = [a for a in result["attempts"] if t_kill <= a[0] < (t_route or 0)]
    slowest = max((a[1] - a[0] for a in between if a[2] is not None), default=0.0)
    ok_after = [a for a in out["attempts_after"] if a[2] == 1]
    out["lines"] = [
        f"detection: the inside router dropped instance 2 {out['detection_s'] * 1000:.0f} ms after the kill "
        f"(BFD detection time {BFD_DETECTION_S * 1000:.0f} ms)"
        if t_route else "detection: instance 2 was never removed",
        f"UDP flows on the survivor: {out['survivor_flows']}, datagrams lost {out['survivor_lost']}",
        f"UDP flows on the dead instance: {out['dead_flows']}, datagrams lost {out['dead_lost']} "
        "(then through the survivor, with a new public address)",
        f"new connections started between the kill and the route change: {len(between)}, completed "
        f"{sum(a[2] is not None for a in between)} (slowest {slowest * 1000:.0f} ms: a SYN lost at the dead "
        "instance is retransmitted after 1 s)",
        f"new connections started after the route change: {len(out['attempts_after'])}, "
        f"through the survivor {len(ok_after)}",
    ]
    return out


def cpu_share(pid, seconds):
    """The share of one CPU process pid used over seconds (utime + stime, /proc/PID/stat)."""
    def ticks():
        fields = read(f"/proc/{pid}/stat").rsplit(") ", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    before = ticks()
    time.sleep(seconds)
    return (ticks() - before) / os.sysconf("SC_CLK_TCK") / seconds


def ping_times(count, interval):
    """Round-trip times (ms) of count pings from the client to the server, interval s apart."""
    r = sh("ping", "-n", "-c", count, "-i", interval, SERVER, ns=CLI, timeout=count * interval + 10)
    return sorted(float(w.split("=")[1]) for w in r.stdout.split() if w.startswith("time="))


def measure():
    """CPU of each idle instance over 5 s, then the round trip of pings 0.3 s
    apart (each one finds the instance idle: its first packet after a quiet
    spell) — with the scene's idle mode (scaleout-up poll|adaptive)."""
    for i in GWS:
        say(f"egressd {i}: {cpu_share(pid_of(f'egressd{i}'), 5.0) * 100:.1f}% of a CPU over 5 s, idle")
    t = ping_times(40, 0.3)
    say(f"ping through an idle instance, 40 x 0.3 s: median {t[len(t) // 2]:.3f} ms, "
        f"p90 {t[len(t) * 9 // 10]:.3f} ms, min {t[0]:.3f} ms")


USAGE = """usage: tools/lab scaleout|scaleout-up [poll|adaptive] [--gateway-daemon bird|frr]|scaleout-status|
                 scaleout-measure   (tools/lab down removes the scene)
  scaleout     bring the scene up if needed, spread connections over two instances, drain one, kill it,
               restart it (--gateway-daemon too)
  scaleout-up  build the scene (two egressd instances behind an ECMP router, BGP + BFD from BIRD and FRR)
               and leave it running; --gateway-daemon bird (the default: BIRD on the gateway hosts, FRR
               on the inside router, BIRD outside) or frr (FRR on the gateways, BIRD inside, FRR outside)
  scaleout-status   each instance's health, the routing daemons' sessions and routes
  scaleout-measure  CPU of the idle instances and the round trip through an idle one"""


def main(cmd, args):
    internal = {"_routes": monitor_routes, "_serve": serve, "_connect": connect_main, "_failover": failover_main}
    if cmd in internal:
        internal[cmd](*args)
        return 0
    daemon = "bird"
    if "--gateway-daemon" in args:
        at = args.index("--gateway-daemon")
        daemon = (args[at + 1:] or [""])[0]
        args = args[:at] + args[at + 2:]
    if cmd == "scaleout":
        demo(daemon)
    elif cmd == "scaleout-up":
        up(idle=args[0] if args else "adaptive", gateway_daemon=daemon)
    elif cmd == "scaleout-measure":
        measure()
    elif cmd == "scaleout-status":
        for i in GWS:
            r = ask(i, "health")
            say(f"egressd {i}: {r['state'] + ' (' + r['reason'] + ')' if r else 'not answering'}")
        say(f"inside router's default route: {route_changes()[-1] if route_changes() else 'none'}")
        say(routing_status())
    else:
        print(USAGE, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
