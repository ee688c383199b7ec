#!/usr/bin/python3
"""egressd next to the Linux kernel doing the same job: SNAT of established
outbound UDP flows between two veths.

Topology (three network namespaces, names prefixed "bench-kc"):

  [bench-kc-src] src0 ==veth== gwin [bench-kc-gw] gwout ==veth== dst0 [bench-kc-dst]

kc-send (bench/kc_send.cpp, pinned to CPU 0) writes 64-byte UDP frames of N flows
(every packet the next flow in turn, the frames of egress-bench's established
scenario) into src0 with an AF_PACKET socket. The gateway namespace forwards them
out of gwout with the source translated to 203.0.113.10/.11; the far side counts
what arrives (dst0's rx_packets; nothing listens, the frames are dropped after
the count). The gateways, the same traffic:

  kernel     ip_forward + conntrack + nftables masquerade (postrouting, oif gwout)
  af_xdp     the real egressd on net_af_xdp vdevs bound to gwin and gwout (XDP
             program and AF_XDP socket per port; the default way to run egressd
             on a Linux interface), worker lcore 1 (CPU 1), no IP configuration
  af_packet  the same egressd on net_af_packet vdevs: the slow fallback (a copy
             into a packet socket ring per frame)
For both egressd modes "ring drops" is what gwin received (its rx_packets)
that never reached egressd (the summary's inside rx_packets): what the kernel
dropped on the way to egressd's receive ring (the packet socket ring or the
XSK ring full; the veth counts the XDP redirects that failed as rx drops).

In both, receive processing for gwin is steered to CPU 1 (RPS), so the gateway's
work runs on CPU 1 and the sender on CPU 0. Each run: one paced pass that creates
every flow, then a timed window at full sender speed; the forwarded rate is
(dst0 rx_packets after - before) / window. With --runs N every gateway is
measured N times at each flow count (interleaved) and the medians printed;
"sender" is what kc-send put on the wire in the window: where a gateway forwards
nearly all of it (the "limit" column says "sender"), the sender, not the
gateway, was the limit. egressd uses hugepages when they are reserved
(tools/hugepages reserve) and 4 KiB pages otherwise; the first line says which.

Usage (root): bench/kernel_compare.py [--flows 1000,100000,1000000] [--seconds 5] [--runs 3]
              [--gateways kernel,af_xdp,af_packet] [--nice -20 | --realtime 50] [--af-xdp-args busy_budget=0]
              [--egressd build/dataplane/egressd] [--kc-send build/bench/kc-send] [--json]
--nice only orders tasks within this session's autogroup: with
sched_autogroup_enabled = 1 other sessions' tasks still share CPU 1 with the
worker (bench/README.md).
"""
import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.join(HERE, "..", "build")
NS_SRC, NS_GW, NS_DST = "bench-kc-src", "bench-kc-gw", "bench-kc-dst"
MAC = {"src0": "02:00:00:00:0a:01", "gwin": "02:00:00:00:0a:fe", "gwout": "02:00:00:00:0b:fe",
       "dst0": "02:00:00:00:0b:01"}


def sh(*cmd, ns=None, check=True):
    full = (["ip", "netns", "exec", ns] if ns else []) + list(cmd)
    return subprocess.run(full, check=check, capture_output=True, text=True)


def setup():
    teardown()
    for ns in (NS_SRC, NS_GW, NS_DST):
        sh("ip", "netns", "add", ns)
        sh("ip", "-n", ns, "link", "set", "lo", "up")
    sh("ip", "link", "add", "src0", "netns", NS_SRC, "type", "veth", "peer", "name", "gwin", "netns", NS_GW)
    sh("ip", "link", "add", "gwout", "netns", NS_GW, "type", "veth", "peer", "name", "dst0", "netns", NS_DST)
    for ns, dev in ((NS_SRC, "src0"), (NS_GW, "gwin"), (NS_GW, "gwout"), (NS_DST, "dst0")):
        sh("ip", "-n", ns, "link", "set", dev, "address", MAC[dev])
        sh("ethtool", "-K", dev, "tx", "off", "rx", "off", "tso", "off", "gso", "off", "gro", "off", ns=ns,
           check=False)
        sh("ip", "-n", ns, "link", "set", dev, "up")
    # Receive processing of gwin on CPU 1 (the gateway's core) in both modes.
    sh("sh", "-c", "echo 2 > /sys/class/net/gwin/queues/rx-0/rps_cpus", ns=NS_GW)


def teardown():
    for ns in (NS_SRC, NS_GW, NS_DST):
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def rx_packets():
    return int(sh("cat", "/sys/class/net/dst0/statistics/rx_packets", ns=NS_DST).stdout)


def nice(args):
    """On a machine shared with other work: the sender and egressd's worker at a
    higher priority than it (the kernel gateway's receive processing runs in
    softirq context, ahead of every task, already). --realtime PRIO: SCHED_FIFO
    instead (every thread of the process; the other sessions' tasks get only
    what the kernel's real-time throttling leaves them)."""
    if args.realtime:
        return ["chrt", "-f", str(args.realtime)]
    return ["nice", "-n", str(args.nice)] if args.nice else []


def ksoftirqd_pids():
    """The per-CPU softirq threads: where receive processing goes once it runs
    long (on a busy machine, most of it)."""
    out = subprocess.run(["pgrep", "-x", "ksoftirqd/[0-9]+"], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


class softirq_priority:
    """With --realtime PRIO: the ksoftirqd threads at SCHED_FIFO PRIO + 1 for
    the measurement (they preempt the sender and the worker, as softirq work
    does on a quiet machine), back to SCHED_OTHER after. Without it: nothing."""

    def __init__(self, args):
        self.prio = args.realtime + 1 if args.realtime else 0

    def __enter__(self):
        for pid in ksoftirqd_pids() if self.prio else []:
            subprocess.run(["chrt", "-f", "-p", str(self.prio), str(pid)], check=True)
        return self

    def __exit__(self, *exc):
        for pid in ksoftirqd_pids() if self.prio else []:
            subprocess.run(["chrt", "-o", "-p", "0", str(pid)], check=False)


def send(args, flows, once=False, pps=0, seconds=0):
    cmd = nice(args) + ["taskset", "-c", "0", args.kc_send, "--iface", "src0", "--dst-mac", MAC["gwin"], "--src-mac",
           MAC["src0"], "--flows", str(flows)]
    cmd += ["--once"] if once else ["--seconds", str(seconds)]
    if pps:
        cmd += ["--pps", str(pps)]
    return json.loads(sh(*cmd, ns=NS_SRC).stdout)


def cpu_times():
    """Per CPU: (softirq, busy, total) jiffies from /proc/stat."""
    out = {}
    for line in open("/proc/stat"):
        f = line.split()
        if f[0].startswith("cpu") and f[0] != "cpu":
            v = [int(x) for x in f[1:]]
            out[int(f[0][3:])] = (v[6], sum(v) - v[3] - v[4], sum(v))
    return out


def cpu_shares(before, after):
    """Per CPU, the window's share (%) of softirq work and of all work."""
    shares = {}
    for cpu, (soft, busy, total) in after.items():
        t = max(1, total - before[cpu][2])
        shares[cpu] = {"softirq": round(100 * (soft - before[cpu][0]) / t), "busy": round(100 * (busy - before[cpu][1]) / t)}
    return shares


def measure(args, flows):
    """Creates the flows (a paced pass), then a full-speed window."""
    before = rx_packets()
    send(args, flows, once=True, pps=100000)
    time.sleep(0.5)
    created = rx_packets() - before
    before = rx_packets()
    cpu_before = cpu_times()
    s = send(args, flows, seconds=args.seconds)
    cpu = cpu_shares(cpu_before, cpu_times())
    time.sleep(0.3)
    forwarded = rx_packets() - before
    return {"sent": s["sent"], "seconds": s["seconds"], "forwarded": forwarded,
            "mpps": forwarded / s["seconds"] / 1e6, "sender_mpps": s["sent"] / s["seconds"] / 1e6,
            "first_pass_forwarded": created, "gateway_cpu_softirq": cpu.get(1, {}).get("softirq", 0)}


def kernel_gateway(flows):
    """ip_forward + nftables masquerade; returns a cleanup function."""
    for cmd in (["ip", "addr", "add", "10.0.0.1/8", "dev", "gwin"],
                ["ip", "addr", "add", "203.0.113.10/24", "dev", "gwout"],
                ["ip", "addr", "add", "203.0.113.11/24", "dev", "gwout"],
                ["ip", "route", "add", "198.51.100.0/24", "via", "203.0.113.2"],
                ["ip", "neigh", "replace", "203.0.113.2", "lladdr", MAC["dst0"], "dev", "gwout", "nud", "permanent"],
                ["sysctl", "-qw", "net.ipv4.ip_forward=1"],
                ["sysctl", "-qw", "net.ipv4.conf.all.rp_filter=0"],
                ["sysctl", "-qw", "net.ipv4.conf.gwin.rp_filter=0"]):
        sh(*cmd, ns=NS_GW)
    nft = ("table ip bench_nat {\n chain post {\n  type nat hook postrouting priority srcnat; policy accept;\n"
           "  oifname \"gwout\" masquerade\n }\n}\n")
    subprocess.run(["ip", "netns", "exec", NS_GW, "nft", "-f", "-"], input=nft, text=True, check=True)
    # The conntrack table is global: make room for the flows, put it back after.
    saved = open("/proc/sys/net/netfilter/nf_conntrack_max").read().strip()
    if int(saved) < 2 * flows:
        with open("/proc/sys/net/netfilter/nf_conntrack_max", "w") as f:
            f.write(str(2 * flows))

    def undo():
        with open("/proc/sys/net/netfilter/nf_conntrack_max", "w") as f:
            f.write(saved)
        sh("nft", "delete", "table", "ip", "bench_nat", ns=NS_GW, check=False)
        for cmd in (["ip", "addr", "flush", "dev", "gwin"], ["ip", "addr", "flush", "dev", "gwout"],
                    ["sysctl", "-qw", "net.ipv4.ip_forward=0"]):
            sh(*cmd, ns=NS_GW, check=False)
    return undo


EGRESSD_CONFIG = """
[eal]
lcores = "0-1"
hugepages = "auto"
memory_mb = 512
in_memory = true
log_level = "error"
vdevs = ["{vdev0}", "{vdev1}"]

[inside]
device = "{dev0}"
next_hop_mac = "{src0}"
addresses = ["10.0.0.1"]

[outside]
device = "{dev1}"
next_hop_mac = "{dst0}"
addresses = ["192.0.2.1"]

[nat]
pool = ["203.0.113.10", "203.0.113.11"]

[flows]
max_flows = {max_flows}

[run]
stop_when_drained = false
"""


VDEVS = {
    # One queue per port, the XDP program in the veth's native mode (veth has
    # no zero-copy: frames are copied once into the UMEM).
    "af_xdp": ("net_af_xdp{i},iface={iface},start_queue=0,queue_count=1", "net_af_xdp{i}"),
    "af_packet": ("net_af_packet{i},iface={iface},framecnt=4096", "net_af_packet{i}"),
}


def egressd_gateway(args, driver, flows, directory):
    vdev, dev = VDEVS[driver]
    if driver == "af_xdp" and args.af_xdp_args:
        vdev += "," + args.af_xdp_args
    config = os.path.join(directory, "egressd.toml")
    with open(config, "w") as f:
        f.write(EGRESSD_CONFIG.format(src0=MAC["src0"], dst0=MAC["dst0"], max_flows=max(2 * flows, 4096),
                                      vdev0=vdev.format(i=0, iface="gwin"), vdev1=vdev.format(i=1, iface="gwout"),
                                      dev0=dev.format(i=0), dev1=dev.format(i=1)))
    summary = os.path.join(directory, "summary.json")
    proc = subprocess.Popen(["ip", "netns", "exec", NS_GW] + nice(args) + [args.egressd, "-c", config,
                                                                            "--stats-json", summary],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    memory = ""
    for line in proc.stdout:
        if line.startswith("egressd: memory:"):
            memory = line.strip()
        if line.startswith("egressd: inside"):
            break
    else:
        raise RuntimeError("egressd did not start: " + proc.stderr.read())

    def stop():
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
        with open(summary) as f:
            return json.load(f)
    return stop, memory


def gwin_rx_packets():
    return int(sh("cat", "/sys/class/net/gwin/statistics/rx_packets", ns=NS_GW).stdout)


def run_egressd(args, driver, flows):
    with tempfile.TemporaryDirectory(prefix="bench-kc-") as d:
        stop, memory = egressd_gateway(args, driver, flows, d)
        try:
            arrived = gwin_rx_packets()
            e = measure(args, flows)
            arrived = gwin_rx_packets() - arrived
        finally:
            summary = stop()
    e["memory"] = memory
    e["flows_created"] = summary["flows"]["udp"]["created"]
    e["drops"] = {n: v for n, v in summary.get("drops", {}).items() if v}
    # Frames gwin received that never reached egressd: dropped by the kernel
    # between the interface and egressd's receive ring (ring full, backlog).
    e["ring_drops"] = arrived - summary["ports"]["inside"]["rx_packets"]
    return e


def run_kernel(args, flows):
    undo = kernel_gateway(flows)
    try:
        k = measure(args, flows)
        k["conntrack_entries"] = int(sh("cat", "/proc/sys/net/netfilter/nf_conntrack_count", ns=NS_GW).stdout)
    finally:
        undo()
    return k


def conditions():
    """CPU, page size, hugepages and load: the line every result is printed under."""
    model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    info = {l.split(":")[0]: l.split(":")[1].strip() for l in open("/proc/meminfo") if ":" in l}
    return {"cpu": model, "cpus": os.cpu_count(), "page_bytes": os.sysconf("SC_PAGE_SIZE"),
            "hugepages_total": int(info.get("HugePages_Total", "0")), "hugepage_size": info.get("Hugepagesize", "?"),
            "loadavg": open("/proc/loadavg").read().split()[:3], "kernel": os.uname().release}


def median_of(runs, key):
    values = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(values) if values else None


def summarize(flows, per_gateway):
    """Medians over the runs of each gateway at one flow count."""
    row = {"flows": flows}
    for g, runs in per_gateway.items():
        row[g] = {"mpps": median_of(runs, "mpps"), "sender_mpps": median_of(runs, "sender_mpps"),
                  "runs": runs}
        if g != "kernel":
            row[g]["ring_drops"] = median_of(runs, "ring_drops")
        else:
            row[g]["cpu1_softirq"] = median_of(runs, "gateway_cpu_softirq")
    k = row.get("kernel", {}).get("mpps")
    for g in ("af_xdp", "af_packet"):
        if g in row and k:
            row[g]["ratio"] = row[g]["mpps"] / k
    return row


def print_row(row):
    parts = [f"{row['flows']:>9} flows"]
    for g in ("kernel", "af_xdp", "af_packet"):
        if g not in row:
            continue
        r = row[g]
        # The sender limits a gateway that forwarded >= 95 % of what was sent,
        # unless that gateway's CPU was saturated: the kernel gateway slows the
        # sender down instead of dropping (the sender's socket waits for its
        # buffers until they are forwarded), so all sent is forwarded while
        # CPU 1 is all softirq.
        saturated = r.get("cpu1_softirq", 0) >= 90
        limit = "sender" if r["sender_mpps"] and r["mpps"] >= 0.95 * r["sender_mpps"] and not saturated else "gateway"
        text = f"{g} {r['mpps']:.3f} Mpps (sender {r['sender_mpps']:.3f}, limit {limit})"
        if "cpu1_softirq" in r:
            text += f" CPU 1 softirq {r['cpu1_softirq']:.0f} %"
        if "ratio" in r:
            text += f" {r['ratio']:.2f}x kernel"
        if r.get("ring_drops") is not None:
            text += f" ring drops {r['ring_drops']:.0f}"
        parts.append(text)
    print("  ".join(parts), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--flows", default="1000,100000,1000000")
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--gateways", default="kernel,af_xdp")
    ap.add_argument("--af-xdp-args", dest="af_xdp_args", default="",
                    help="more net_af_xdp devargs, e.g. busy_budget=0 (no preferred busy polling)")
    ap.add_argument("--egressd", default=os.path.join(BUILD, "dataplane", "egressd"))
    ap.add_argument("--kc-send", dest="kc_send", default=os.path.join(BUILD, "bench", "kc-send"))
    ap.add_argument("--nice", type=int, default=0, help="run kc-send and egressd at this nice value (e.g. -10)")
    ap.add_argument("--realtime", type=int, default=0, metavar="PRIO",
                    help="run kc-send, egressd and the ksoftirqd threads at SCHED_FIFO PRIO (1-98): a core each, "
                         "as on a machine without other work (the kernel's real-time throttling stays on)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("kernel_compare.py: needs root (network namespaces, nftables)")
    gateways = args.gateways.split(",")
    unknown = [g for g in gateways if g not in ("kernel", "af_xdp", "af_packet")]
    if unknown:
        sys.exit(f"kernel_compare.py: unknown gateway(s) {unknown}: kernel, af_xdp, af_packet")
    env = conditions()
    if not args.json:
        print(f"# {env['cpu']} ({env['cpus']} CPUs), kernel {env['kernel']}, {env['page_bytes']} B pages, "
              f"{env['hugepages_total']} hugepages of {env['hugepage_size']} reserved, load {' '.join(env['loadavg'])}; "
              f"median of {args.runs} run(s), {args.seconds:g} s windows, "
              + (f"SCHED_FIFO {args.realtime} (ksoftirqd {args.realtime + 1})" if args.realtime else f"nice {args.nice}"),
              flush=True)
    results = []
    setup()
    try:
        for flows in [int(x) for x in args.flows.split(",")]:
            per_gateway = {g: [] for g in gateways}
            for _ in range(args.runs):
                for g in gateways:
                    with softirq_priority(args):
                        per_gateway[g].append(run_kernel(args, flows) if g == "kernel" else run_egressd(args, g, flows))
            results.append(summarize(flows, per_gateway))
            if not args.json:
                print_row(results[-1])
    finally:
        teardown()
    if not args.json:
        memory = {r[g]["runs"][0]["memory"] for r in results for g in gateways if g != "kernel"}
        for m in sorted(memory):
            print(f"# {m}")
    else:
        print(json.dumps({"conditions": env, "results": results}, indent=1))


if __name__ == "__main__":
    main()
