#!/usr/bin/python3
"""The egressd lab: real clients and servers in network namespaces, egressd
between them on AF_XDP vdevs (net_af_xdp). `tools/lab up|down|status|demo` is the command
line; tests/system/test_lab.py drives the same functions.

    egl-cli                egl-gw                 egl-net ("the internet")
    client                 egressd                router + servers on 198.51.100.7,
    10.0.0.5               inside | outside       2001:db8:5::7: nginx (TLS :443 and
    2001:db8:100::5 eth0 ─ inside   outside ─ to-gw   HTTP :80, several names), UDP
    (web server :8080,                                echo :7
     must stay unreachable)                        to-rtr
                                                     │ MTU 1280 (the small link)
                                                   egl-rtr (router) ── egl-far
                                                   to-net   to-far     198.51.100.66,
                                                                       2001:db8:7::66
                                                                       HTTP :8080 (20 MB
                                                                       download, upload)

egressd (conf/lab.toml) translates 10.0.0.5 to the pool 203.0.113.10/.11 and
forwards 2001:db8:100::/64 untranslated; egl-net routes both back to egressd's
outside address. The far host sits behind a 1280-byte link: a 1500-byte packet
towards it makes egl-net send "fragmentation needed" to its source (for the
client: to its public address, which egressd must translate back inside), the
other way egl-rtr tells the far host. Every veth has its offloads off, so
segments on the wire are the size the stacks chose.

All files live in the run directory (/tmp/egressd-lab or $EGRESSD_LAB_DIR);
`down` stops every process started in the lab's namespaces, deletes the
namespaces, /etc/netns/egl-* (the per-namespace hosts files) and the run
directory.
"""
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import egress_scaleout

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUN = os.environ.get("EGRESSD_LAB_DIR", "/tmp/egressd-lab")
EGRESSD = os.environ.get("EGRESSD", os.path.join(REPO, "build", "dataplane", "egressd"))
CONFIG = os.path.join(REPO, "conf", "lab.toml")
EGRESSCTL = os.path.join(REPO, "tools", "egressctl")
PYTHON = "/usr/bin/python3"

CLI, GW, NET, RTR, FAR = "egl-cli", "egl-gw", "egl-net", "egl-rtr", "egl-far"
NAMESPACES = (CLI, GW, NET, RTR, FAR)

# Addresses (conf/lab.toml holds egressd's side of them).
CLIENT4, CLIENT6 = "10.0.0.5", "2001:db8:100::5"
GW_INSIDE4, GW_INSIDE6 = "10.0.0.1", "2001:db8:100::1"
GW_OUTSIDE4, GW_OUTSIDE6 = "192.0.2.1", "2001:db8::1"
ROUTER4, ROUTER6 = "192.0.2.254", "2001:db8::fe"
POOL = ("203.0.113.10", "203.0.113.11")
INSIDE_PREFIX6 = "2001:db8:100::/64"
SERVER4, SERVER6 = "198.51.100.7", "2001:db8:5::7"
FAR4, FAR6 = "198.51.100.66", "2001:db8:7::66"
SMALL_MTU = 1280

# Fixed MACs: egressd's two ports (its config names them) and, only so that
# captures read easily, the client's and the router's. Nobody pins a neighbour:
# egressd and the kernels resolve each other with ARP and neighbour discovery.
GW_INSIDE_MAC, GW_OUTSIDE_MAC = "02:00:00:00:01:fe", "02:00:00:00:02:fe"
CLIENT_MAC, ROUTER_MAC = "02:00:00:00:01:01", "02:00:00:00:02:01"

ALLOWED_NAMES = ("api.example.com", "img.cdn.example.com")
DENIED_NAMES = ("evil.example.net", "tracker.example.org")
BULK_NAME = "bulk.example.com"
BULK_BYTES = 20 * 1024 * 1024
UDP_ECHO_PORT = 7
FAR_PORT = 8080
CLIENT_WEB_PORT = 8080
COLLECTOR_PORT = 4739

# veth pairs: (namespace, device, MAC or None) on each end, and the link MTU.
LINKS = (
    ((CLI, "eth0", CLIENT_MAC), (GW, "inside", GW_INSIDE_MAC), 1500),
    ((GW, "outside", GW_OUTSIDE_MAC), (NET, "to-gw", ROUTER_MAC), 1500),
    ((NET, "to-rtr", None), (RTR, "to-net", None), SMALL_MTU),
    ((RTR, "to-far", None), (FAR, "eth0", None), 1500),
)

ADDRESSES = (
    (CLI, "eth0", f"{CLIENT4}/24"), (CLI, "eth0", f"{CLIENT6}/64"),
    (NET, "to-gw", f"{ROUTER4}/24"), (NET, "to-gw", f"{ROUTER6}/64"),
    (NET, "lo", f"{SERVER4}/32"), (NET, "lo", f"{SERVER6}/128"),
    (NET, "to-rtr", "198.51.100.129/30"), (NET, "to-rtr", "2001:db8:6::1/64"),
    (RTR, "to-net", "198.51.100.130/30"), (RTR, "to-net", "2001:db8:6::2/64"),
    (RTR, "to-far", "198.51.100.65/28"), (RTR, "to-far", "2001:db8:7::1/64"),
    (FAR, "eth0", f"{FAR4}/28"), (FAR, "eth0", f"{FAR6}/64"),
)

ROUTES = (
    (CLI, "default", GW_INSIDE4), (CLI, "default", GW_INSIDE6),
    *((NET, f"{a}/32", GW_OUTSIDE4) for a in POOL),
    (NET, INSIDE_PREFIX6, GW_OUTSIDE6),
    (NET, "198.51.100.64/28", "198.51.100.130"), (NET, "2001:db8:7::/64", "2001:db8:6::2"),
    (RTR, "default", "198.51.100.129"), (RTR, "default", "2001:db8:6::1"),
    (FAR, "default", "198.51.100.65"), (FAR, "default", "2001:db8:7::1"),
)

HOSTS = "".join(f"{SERVER4} {n}\n{SERVER6} {n}\n" for n in ALLOWED_NAMES + DENIED_NAMES) + \
    f"{FAR4} {BULK_NAME}\n{FAR6} {BULK_NAME}\n"


def path(*parts):
    return os.path.join(RUN, *parts)


def sh(*cmd, ns=None, check=True, timeout=60, **kw):
    """Runs cmd (in namespace ns), returns the CompletedProcess (text)."""
    full = (["ip", "netns", "exec", ns] if ns else []) + [str(c) for c in cmd]
    r = subprocess.run(full, capture_output=True, text=True, timeout=timeout, **kw)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(full)} exited {r.returncode}: {r.stderr.strip()}")
    return r


def say(*args):
    print(*args, flush=True)


def namespaces_present():
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    names = {line.split()[0] for line in out.splitlines() if line.strip()}
    return [ns for ns in NAMESPACES if ns in names]


def is_up():
    return bool(namespaces_present()) or os.path.isdir(RUN)


# --------------------------------------------------------------------------
# Network
# --------------------------------------------------------------------------
def build_network():
    for ns in NAMESPACES:
        sh("ip", "netns", "add", ns)
        sh("ip", "link", "set", "lo", "up", ns=ns)
        for key in ("net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0"):
            sh("sysctl", "-qw", key, ns=ns)
    for (ns_a, dev_a, mac_a), (ns_b, dev_b, mac_b), mtu in LINKS:
        sh("ip", "link", "add", dev_a, "netns", ns_a, "type", "veth", "peer", "name", dev_b, "netns", ns_b)
        for ns, dev, mac in ((ns_a, dev_a, mac_a), (ns_b, dev_b, mac_b)):
            if mac:
                sh("ip", "link", "set", dev, "address", mac, ns=ns)
            sh("ip", "link", "set", dev, "mtu", mtu, ns=ns)
            # No segmentation or checksum offloads: frames are wire-sized.
            sh("ethtool", "-K", dev, "tx", "off", "rx", "off", "tso", "off", "gso", "off", "gro", "off", ns=ns,
               check=False)
    # The gateway's kernel stays off its links: egressd owns them.
    for dev in ("inside", "outside"):
        sh("sysctl", "-qw", f"net.ipv6.conf.{dev}.disable_ipv6=1", ns=GW)
    for ns in (NET, RTR):
        sh("sysctl", "-qw", "net.ipv4.ip_forward=1", ns=ns)
        sh("sysctl", "-qw", "net.ipv6.conf.all.forwarding=1", ns=ns)
    for ns, dev, addr in ADDRESSES:
        sh("ip", "addr", "add", addr, "dev", dev, *(["nodad"] if ":" in addr else []), ns=ns)
    for (ns_a, dev_a, _), (ns_b, dev_b, _), _ in LINKS:
        sh("ip", "link", "set", dev_a, "up", ns=ns_a)
        sh("ip", "link", "set", dev_b, "up", ns=ns_b)
    for ns, dst, via in ROUTES:
        sh("ip", "-6" if ":" in via else "-4", "route", "add", dst, "via", via, ns=ns)
    # Names for the clients: `ip netns exec` mounts /etc/netns/NS/hosts on /etc/hosts.
    for ns in (CLI, NET):
        os.makedirs(f"/etc/netns/{ns}", exist_ok=True)
        with open(f"/etc/netns/{ns}/hosts", "w") as f:
            f.write("127.0.0.1 localhost\n::1 localhost\n" + HOSTS)
        with open(f"/etc/netns/{ns}/resolv.conf", "w") as f:
            f.write("# the lab has no DNS: its names are in /etc/netns/NS/hosts\nnameserver 127.0.0.1\n")


# --------------------------------------------------------------------------
# Certificates, servers, collector, egressd
# --------------------------------------------------------------------------
def make_certificates():
    """A lab CA and one server certificate for every web name, signed by it."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    sh("openssl", "req", "-x509", *ec, "-days", "2", "-subj", "/CN=egressd lab CA",
       "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
       "-keyout", path("ca.key"), "-out", path("ca.pem"))
    sh("openssl", "req", *ec, "-subj", f"/CN={ALLOWED_NAMES[0]}", "-keyout", path("server.key"),
       "-out", path("server.csr"))
    with open(path("server.ext"), "w") as f:
        f.write("basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName="
                + ",".join(f"DNS:{n}" for n in ALLOWED_NAMES + DENIED_NAMES) + "\n")
    sh("openssl", "x509", "-req", "-in", path("server.csr"), "-CA", path("ca.pem"), "-CAkey", path("ca.key"),
       "-CAcreateserial", "-days", "2", "-extfile", path("server.ext"), "-out", path("server.pem"))


def nginx_config():
    listen = [f"{SERVER4}:80", f"[{SERVER6}]:80", f"{SERVER4}:443 ssl", f"[{SERVER6}]:443 ssl"]
    sites = ""
    for name in ALLOWED_NAMES + DENIED_NAMES:
        sites += ("    server {\n" + "".join(f"        listen {addr};\n" for addr in listen) +
                  f"        server_name {name};\n"
                  f"        location / {{ return 200 \"hello from {name} over $scheme\n\"; }}\n    }}\n")
    default = "".join(f"        listen {addr} default_server;\n" for addr in listen)
    return f"""# Written by tools/lab; nginx runs in {NET} with this file only.
worker_processes 1;
pid {path('nginx.pid')};
error_log {path('nginx-error.log')};
events {{ worker_connections 256; }}
http {{
    log_format lab '$remote_addr $remote_port $host $scheme $status';
    access_log {path('nginx-access.log')} lab;
    client_body_temp_path {path('nginx-body')};
    default_type text/plain;
    ssl_certificate {path('server.pem')};
    ssl_certificate_key {path('server.key')};
    server {{
{default}        server_name _;
        return 421 "no site by that name here
";
    }}
{sites}}}
"""


_children = []  # started processes (kept so Python does not warn about them)


def spawn(name, ns, cmd, cwd=None):
    """Starts a long-running process in ns, detached, output in <name>.log."""
    with open(path(f"{name}.log"), "w") as log:
        p = subprocess.Popen(["ip", "netns", "exec", ns] + [str(c) for c in cmd], stdout=log,
                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=cwd or RUN,
                             start_new_session=True)
    with open(path(f"{name}.pid"), "w") as f:
        f.write(f"{p.pid}\n")
    _children.append(p)
    return p


def start_servers():
    with open(path("blob.bin"), "wb") as f:
        f.write(os.urandom(BULK_BYTES))
    os.makedirs(path("client-www"), exist_ok=True)
    with open(path("client-www", "index.html"), "w") as f:
        f.write("a service on the inside client: nobody outside may reach it\n")
    with open(path("nginx.conf"), "w") as f:
        f.write(nginx_config())
    sh("nginx", "-c", path("nginx.conf"), "-p", RUN, "-e", path("nginx-error.log"), ns=NET)
    me = os.path.abspath(__file__)
    spawn("udp-echo", NET, [PYTHON, me, "_udp-echo", UDP_ECHO_PORT])
    spawn("far-server", FAR, [PYTHON, me, "_far-server", FAR_PORT, path("blob.bin")])
    spawn("client-web", CLI, [PYTHON, "-m", "http.server", CLIENT_WEB_PORT, "--bind", "::",
                              "--directory", path("client-www")])
    os.makedirs(path("nfcapd"), exist_ok=True)
    spawn("nfcapd", GW, ["nfcapd", "-w", path("nfcapd"), "-b", "127.0.0.1", "-p", COLLECTOR_PORT, "-t", "2"])


def start_egressd():
    """egressd in egl-gw, in the run directory (conf/lab.toml's relative paths
    land there). A shell waits for it and records its exit status."""
    wrapper = ('"$0" -c "$1" --stats-json summary.json >egressd.log 2>&1 & echo $! >egressd.pid; '
               'wait $!; echo $? >egressd.rc')
    _children.append(subprocess.Popen(["ip", "netns", "exec", GW, "/bin/sh", "-c", wrapper, EGRESSD, CONFIG],
                                      cwd=RUN, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, start_new_session=True))
    deadline = time.time() + 30
    while time.time() < deadline:
        if os.path.exists(path("egressd.rc")):
            raise RuntimeError(f"egressd exited at start:\n{read(path('egressd.log'))}")
        if egressctl("status", check=False).returncode == 0:
            return
        time.sleep(0.3)
    raise RuntimeError(f"egressd did not open its control socket:\n{read(path('egressd.log'))}")


def read(p):
    try:
        with open(p) as f:
            return f.read()
    except OSError:
        return ""


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


def egressctl(*args, check=True):
    return sh(PYTHON, EGRESSCTL, "-s", path("egressd.sock"), *args, check=check, timeout=20)


def counters():
    """egressd's live counters (egressctl --json stats)."""
    return json.loads(egressctl("--json", "stats").stdout)["stats"]


# --------------------------------------------------------------------------
# up / down / status
# --------------------------------------------------------------------------
def up(quiet=False):
    if is_up():
        if not quiet:
            say("lab: already up (tools/lab down to start over)")
        return
    if not os.access(EGRESSD, os.X_OK):
        subprocess.run([os.path.join(REPO, "tools", "setup")], check=True)
        subprocess.run([os.path.join(REPO, "tools", "build")], check=True)
    os.makedirs(RUN, mode=0o755)
    try:
        build_network()
        make_certificates()
        start_servers()
        start_egressd()
        wait_for_path()
    except BaseException:
        down(quiet=True)
        raise
    if not quiet:
        say(f"lab: up — namespaces {' '.join(NAMESPACES)}, files in {RUN}")


def wait_for_path():
    """The client reaches a server through egressd (ICMP echo, allowed by the
    lab policy); also waits for nginx and the far server to listen."""
    deadline = time.time() + 15
    while True:
        ok = all(sh("ping", "-c", "1", "-W", "1", addr, ns=CLI, check=False).returncode == 0
                 for addr in (SERVER4, SERVER6, FAR4))
        if ok:
            return
        if time.time() > deadline:
            raise RuntimeError("the client cannot reach the servers through egressd")
        time.sleep(0.3)


def down(quiet=False):
    """Tears everything down, in this order: the servers and every namespace but
    the gateway's (egressd's veths vanish with them), then a check that egressd
    is still running, then SIGTERM to egressd and its summary, then the rest.
    Returns what happened to egressd: {"running": bool, "links_gone": bool (its
    veths had vanished), "alive_after_links_gone": bool, "returncode": int or None,
    "summary": text, "summary_json": dict}."""
    report = {"running": False, "links_gone": None, "alive_after_links_gone": None, "returncode": None, "summary": "",
              "summary_json": None}
    egressd_pid = pid_of("egressd") if os.path.isdir(RUN) else None
    report["running"] = alive(egressd_pid)
    if os.path.exists(path("nginx.pid")):
        sh("nginx", "-c", path("nginx.conf"), "-p", RUN, "-e", path("nginx-error.log"), "-s", "quit", ns=NET,
           check=False)
    for ns in (CLI, NET, RTR, FAR):
        kill_namespace(ns)
    stop_by_pid_files(keep=egressd_pid)  # in case a namespace was deleted by hand
    if report["running"]:
        # The kernel destroys a deleted namespace's devices (and so the peers
        # of its veths) asynchronously: wait for egressd's links to vanish.
        deadline = time.time() + 15
        while gateway_links() and time.time() < deadline:
            time.sleep(0.2)
        report["links_gone"] = gateway_links() == []
        time.sleep(1.0)  # egressd polls ports that no longer exist
        report["alive_after_links_gone"] = alive(egressd_pid)
        if report["alive_after_links_gone"]:
            os.kill(egressd_pid, signal.SIGTERM)
        deadline = time.time() + 20
        while not os.path.exists(path("egressd.rc")) and time.time() < deadline:
            time.sleep(0.2)
        if not os.path.exists(path("egressd.rc")) and alive(egressd_pid):
            os.kill(egressd_pid, signal.SIGKILL)
            time.sleep(0.5)
        rc = read(path("egressd.rc")).strip()
        report["returncode"] = int(rc) if rc else None
        report["summary"] = read(path("egressd.log"))
        try:
            report["summary_json"] = json.loads(read(path("summary.json")))
        except ValueError:
            pass
    kill_namespace(GW)
    stop_by_pid_files()
    while _children:  # reap what this process started
        try:
            _children.pop().wait(timeout=2)
        except subprocess.TimeoutExpired:
            pass
    for ns in (CLI, NET):
        shutil.rmtree(f"/etc/netns/{ns}", ignore_errors=True)
    try:
        os.rmdir("/etc/netns")  # only when empty (nobody else keeps files there)
    except OSError:
        pass
    shutil.rmtree(RUN, ignore_errors=True)
    if not quiet:
        if report["running"]:
            say(f"lab: egressd {'kept running' if report['alive_after_links_gone'] else 'DIED'} when its links "
                f"went away; after SIGTERM it exited with status {report['returncode']}")
        say("lab: down (no namespaces, processes or files left)")
    return report


def gateway_links():
    """The veths left in the gateway namespace (none once the others are gone)."""
    r = sh("ip", "-o", "link", "show", "type", "veth", ns=GW, check=False)
    return [line.split(":")[1].strip().split("@")[0] for line in r.stdout.splitlines()]


def stop_by_pid_files(keep=None):
    """Kills the processes named by the lab's pid files (all started by the lab)."""
    if not os.path.isdir(RUN):
        return
    for name in os.listdir(RUN):
        if not name.endswith(".pid"):
            continue
        try:
            pid = int(read(path(name)).strip())
        except ValueError:
            continue
        if pid != keep and alive(pid):
            os.kill(pid, signal.SIGKILL)


def kill_namespace(ns):
    """Stops every process in ns (all of them started by the lab), closes its
    sockets, deletes its links, then the namespace. (An orphaned TCP socket
    still retransmitting, e.g. after a stalled upload, keeps a namespace and
    its devices alive for minutes after `ip netns del`; so the sockets are
    destroyed and the links deleted explicitly.)"""
    if ns not in namespaces_present():
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout.split()
        for pid in pids:
            if sig == signal.SIGTERM and int(pid) == pid_of("egressd"):
                continue  # egressd is stopped separately, after its links are gone
            try:
                os.kill(int(pid), sig)
            except ProcessLookupError:
                pass
        deadline = time.time() + 3
        while time.time() < deadline and any(alive(int(p)) for p in pids):
            time.sleep(0.1)
    sh("ss", "-K", "-a", ns=ns, check=False)
    r = sh("ip", "-o", "link", "show", ns=ns, check=False)
    for line in r.stdout.splitlines():
        dev = line.split(":")[1].strip().split("@")[0]
        if dev != "lo":
            sh("ip", "link", "del", dev, ns=ns, check=False)
    subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def status():
    present = namespaces_present()
    if not present and not os.path.isdir(RUN):
        say("lab: down")
        return 1
    say(f"namespaces: {' '.join(present)}")
    for name in ("egressd", "udp-echo", "far-server", "client-web", "nfcapd"):
        pid = pid_of(name)
        say(f"  {name:<11} {'running, pid ' + str(pid) if alive(pid) else 'not running'}")
    nginx = read(path("nginx.pid")).strip()
    say(f"  {'nginx':<11} {'running, pid ' + nginx if nginx and alive(int(nginx)) else 'not running'}")
    r = egressctl("status", check=False)
    say(r.stdout.rstrip() or r.stderr.rstrip())
    return 0


# --------------------------------------------------------------------------
# Clients (used by the demo and the tests)
# --------------------------------------------------------------------------
def curl(url, *extra, ns=CLI, max_time=5):
    """curl in ns, verifying TLS with the lab CA. Returns (exit code, body, error)."""
    r = sh("curl", "-sS", "--cacert", path("ca.pem"), "--max-time", max_time, *extra, url, ns=ns, check=False,
           timeout=max_time + 30)
    return r.returncode, r.stdout, r.stderr.strip()


def udp_ask(addr, message, port=UDP_ECHO_PORT, source_port=0):
    """One UDP request from the client, the answer (or "" after 2 s)."""
    r = sh(PYTHON, os.path.abspath(__file__), "_udp-ask", addr, port, message, source_port, ns=CLI, check=False)
    return r.stdout


def connect_from_outside(addr, port):
    """One TCP SYN from the internet router to addr:port (no retransmission):
    "connected", "refused" or "timed out"."""
    r = sh(PYTHON, os.path.abspath(__file__), "_connect", addr, port, ns=NET, check=False)
    return r.stdout.strip()


def flow_records(wait_s=0.0):
    """The collector's records so far (nfdump -o json over the closed files)."""
    time.sleep(wait_s)
    r = sh("nfdump", "-q", "-R", path("nfcapd"), "-o", "json", check=False)
    records, text, at = [], r.stdout, 0
    if text.strip() == "No matching flows":  # what nfdump prints, even with -q, before the first closed file
        return records
    decoder = json.JSONDecoder()
    while True:  # with -q, nfdump writes the record objects one after another
        while at < len(text) and text[at] in " \t\r\n,[]":
            at += 1
        if at == len(text):
            return records
        record, at = decoder.raw_decode(text, at)
        records.append(record)


def forget_path_mtus():
    """Clears the learnt path MTUs of the client and the far host, so the next
    transfer starts from 1500 bytes (a host that knows a smaller path MTU also
    advertises a smaller MSS, which would hide a PMTUD failure the other way)."""
    for ns in (CLI, FAR):
        for family in ("-4", "-6"):
            sh("ip", family, "route", "flush", "cache", ns=ns)


def sha256_file(p):
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# --------------------------------------------------------------------------
# The demo
# --------------------------------------------------------------------------
def step(n, title, text=""):
    say(f"\n\033[1m{n}. {title}\033[0m" if sys.stdout.isatty() else f"\n{n}. {title}")
    for line in text.strip("\n").splitlines():
        say(f"   {line}")


def show(cmd, rc, out, err):
    say(f"   $ {cmd}")
    for line in (out.rstrip().splitlines() if out.strip() else []):
        say(f"     {line}")
    if rc:
        say(f"     (failed: exit {rc}{': ' + err.splitlines()[-1] if err else ''})")


def demo():
    up(quiet=True)
    say(__doc__.split("\n\n")[1])
    ca = path("ca.pem")
    step(1, "An allowed name over TLS: the request goes through", f"""
The client's curl trusts the lab CA ({ca}). egressd reads the server name
from the TLS ClientHello (SNI), finds api.example.com in the rule
"web-allowed" of conf/lab.toml, and lets the handshake finish.""")
    for flag in ("-4", "-6"):
        show(f"ip netns exec {CLI} curl {flag} --cacert {ca} https://api.example.com/",
             *curl("https://api.example.com/", flag))
    step(2, "A denied name over TLS: the handshake is cut", """
The same nginx serves evil.example.net, but no rule allows that name. egressd
drops the ClientHello and sends a TCP reset to both ends: curl sees the
connection reset during the handshake, nginx never answers.""")
    for flag in ("-4", "-6"):
        show(f"ip netns exec {CLI} curl {flag} --cacert {ca} https://evil.example.net/",
             *curl("https://evil.example.net/", flag))
    step(3, "Cleartext HTTP is decided by its Host header", "")
    show(f"ip netns exec {CLI} curl -4 http://img.cdn.example.com/   (matches *.cdn.example.com)",
         *curl("http://img.cdn.example.com/", "-4"))
    show(f"ip netns exec {CLI} curl -4 http://tracker.example.org/", *curl("http://tracker.example.org/", "-4"))
    step(4, "UDP: a request and its answer through the NAT", "")
    say(f"   client -> {SERVER4}:{UDP_ECHO_PORT} \"hello\"   answer: {udp_ask(SERVER4, 'hello')!r}")
    say(f"   client -> [{SERVER6}]:{UDP_ECHO_PORT} \"hello\"   answer: {udp_ask(SERVER6, 'hello')!r}")
    before = counters()["drops"]["inbound_unsolicited"]
    step(5, "Nobody outside can open a connection inward", f"""
The client runs a web server on port {CLIENT_WEB_PORT}. From the internet side
(egl-net), a SYN to the client's IPv6 address or to its public IPv4 address
gets no answer: egressd has no flow for it and drops it.""")
    say(f"   from egl-net to [{CLIENT6}]:{CLIENT_WEB_PORT}: {connect_from_outside(CLIENT6, CLIENT_WEB_PORT)}")
    say(f"   from egl-net to {POOL[0]}:{CLIENT_WEB_PORT}: {connect_from_outside(POOL[0], CLIENT_WEB_PORT)}")
    after = counters()["drops"]["inbound_unsolicited"]
    say(f"   egressd's drop counter inbound_unsolicited: {before} -> {after}")
    step(6, "20 MB each way with the host behind the 1280-byte link (path MTU discovery)", f"""
Download: the far host's 1500-byte packets make egl-rtr send it "fragmentation
needed"; it lowers its packet size. Upload: the client's 1500-byte packets make
egl-net send "fragmentation needed" to the client's public address
({POOL[0]} or {POOL[1]}); egressd must translate that ICMP error back to
10.0.0.5, or the upload stalls.""")
    expected = sha256_file(path("blob.bin"))
    forget_path_mtus()
    t0 = time.time()
    rc, out, err = curl(f"http://{BULK_NAME}:{FAR_PORT}/blob.bin", "-4", "-o", path("download.bin"), max_time=60)
    got = sha256_file(path("download.bin")) if rc == 0 else "-"
    say(f"   $ ip netns exec {CLI} curl -4 -o download.bin http://{BULK_NAME}:{FAR_PORT}/blob.bin")
    say(f"     exit {rc} in {time.time() - t0:.1f} s; SHA-256 {'matches' if got == expected else 'differs'}"
        + (f" ({err})" if rc else ""))
    forget_path_mtus()
    t0 = time.time()
    rc, out, err = curl(f"http://{BULK_NAME}:{FAR_PORT}/upload", "-4", "-T", path("blob.bin"), max_time=15)
    say(f"   $ ip netns exec {CLI} curl -4 -T blob.bin http://{BULK_NAME}:{FAR_PORT}/upload"
        "   (the server answers the SHA-256 it got)")
    verdict = "matches" if out.strip() == expected else "not received"
    say(f"     exit {rc} in {time.time() - t0:.1f} s; SHA-256 {verdict}" + (f" ({err})" if rc else ""))
    step(7, "What egressd sees: tools/egressctl flows", f"""
Two slow downloads (curl --limit-rate 2M, IPv4 and IPv6) run while we ask
egressd over its control socket ({path('egressd.sock')}) for its flows:
the IPv4 one is translated to a pool address, the IPv6 one is not.""")
    slow = [subprocess.Popen(["ip", "netns", "exec", CLI, "curl", "-s", flag, "--limit-rate", "2M", "-o", "/dev/null",
                              f"http://{BULK_NAME}:{FAR_PORT}/blob.bin"]) for flag in ("-4", "-6")]
    time.sleep(1.5)
    say(f"   $ tools/egressctl -s {path('egressd.sock')} flows --dst {FAR4}/32")
    for line in egressctl("flows", "--dst", f"{FAR4}/32").stdout.rstrip().splitlines():
        say(f"     {line}")
    say(f"   $ tools/egressctl -s {path('egressd.sock')} flows --dst {FAR6}/128")
    for line in egressctl("flows", "--dst", f"{FAR6}/128").stdout.rstrip().splitlines():
        say(f"     {line}")
    for p in slow:
        p.terminate()
        p.wait()
    step(8, "Security events (conf/lab.toml [events] log)", "")
    for line in read(path("events.jsonl")).splitlines()[-4:]:
        say(f"     {line}")
    step(9, "Flow records at the collector: nfdump reads what nfcapd received over IPFIX", f"""
Records are sent when a flow ends (lab timeouts are a few seconds); waiting 8 s.
One line per flow, bytes sent/received; lines with port 0 and no bytes are
refused attempts (denied names, the inbound SYNs), aggregated by destination.""")
    time.sleep(8)
    fmt = "fmt:%pr %sap -> %dap  xlt %nsap  %ibyt/%obyt bytes"
    r = sh("nfdump", "-q", "-R", path("nfcapd"), "-o", fmt, check=False)
    say(f"   $ nfdump -R {path('nfcapd')} -o '{fmt}'")
    for line in r.stdout.rstrip().splitlines():
        say(f"     {line}")
    step(10, "Done", f"""
The lab keeps running: try the commands above, or
  ip netns exec {GW} curl -s 127.0.0.1:9469/metrics | grep egressd_drops
  tools/lab status
and tools/lab down to remove everything.""")


# --------------------------------------------------------------------------
# Small programs the lab runs inside its namespaces
# --------------------------------------------------------------------------
def serve_udp_echo(port):
    """Answers "echo " + the datagram, from the address it was sent to (one
    socket per server address, so the answer's source is that address)."""
    import select
    import socket
    socks = []
    for family, addr in ((socket.AF_INET, SERVER4), (socket.AF_INET6, SERVER6)):
        s = socket.socket(family, socket.SOCK_DGRAM)
        s.bind((addr, int(port)))
        socks.append(s)
    while True:
        for s in select.select(socks, [], [])[0]:
            data, peer = s.recvfrom(65535)
            s.sendto(b"echo " + data, peer)


def serve_far(port, blob):
    """GET /blob.bin sends the 20 MB file; PUT /anything answers the SHA-256 of
    the body it received."""
    import http.server
    import socket

    class handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            if self.path != "/blob.bin":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(os.path.getsize(blob)))
            self.end_headers()
            with open(blob, "rb") as f:
                shutil.copyfileobj(f, self.wfile, 1 << 16)

        def do_PUT(self):
            left = int(self.headers.get("Content-Length", "0"))
            h = hashlib.sha256()
            while left:
                chunk = self.rfile.read(min(left, 1 << 16))
                if not chunk:
                    break
                h.update(chunk)
                left -= len(chunk)
            body = (h.hexdigest() + "\n").encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, fmt, *args):
            sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))

    class server(http.server.ThreadingHTTPServer):
        address_family = socket.AF_INET6

        def server_bind(self):
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            super().server_bind()

    server(("::", int(port)), handler).serve_forever()


def udp_ask_main(addr, port, message, source_port="0"):
    import socket
    s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("::" if ":" in addr else "0.0.0.0", int(source_port)))
    s.settimeout(2)
    s.sendto(message.encode(), (addr, int(port)))
    try:
        sys.stdout.write(s.recv(65535).decode())
    except socket.timeout:
        pass


def connect_main(addr, port):
    """Exactly one SYN (the kernel retransmits after 1 s; we stop at 0.8 s)."""
    import socket
    s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(0.8)
    try:
        s.connect((addr, int(port)))
        print("connected")
    except socket.timeout:
        print("timed out")
    except ConnectionRefusedError:
        print("refused")
    except OSError as e:
        print(f"error: {e.strerror}")


USAGE = """usage: tools/lab up|down|status|demo|scaleout|scaleout-up|scaleout-status|scaleout-measure
  up      build the namespaces, start the servers, the collector and egressd
  down    stop everything and remove namespaces and files (safe to repeat)
  status  what is running
  demo    bring the lab up if needed and show, step by step, what egressd does
  scaleout, scaleout-up [poll|adaptive], scaleout-status, scaleout-measure
          two egressd instances behind an ECMP router, routes from BGP + BFD (BIRD
          on the gateways through egressd, FRR and BIRD on the routers,
          conf/scaleout; --gateway-daemon frr: FRR on the gateways, BIRD inside,
          FRR outside), one drained, killed and restarted
          (tools/egress_scaleout.py); `down` removes that scene too"""


def main(argv):
    if not argv:
        print(USAGE, file=sys.stderr)
        return 2
    cmd, args = argv[0], argv[1:]
    internal = {"_udp-echo": serve_udp_echo, "_far-server": serve_far, "_udp-ask": udp_ask_main,
                "_connect": connect_main}
    if cmd in internal:
        internal[cmd](*args)
        return 0
    if os.geteuid() != 0:
        print("tools/lab: needs root (network namespaces)", file=sys.stderr)
        return 1
    if cmd == "up":
        up()
    elif cmd == "down":
        scene = egress_scaleout.is_up()
        if scene:
            egress_scaleout.down()
        if is_up() or not scene:
            down()
    elif cmd == "status":
        return status()
    elif cmd == "demo":
        demo()
    elif cmd.startswith("scaleout"):
        return egress_scaleout.main(cmd, args)
    else:
        print(USAGE, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
