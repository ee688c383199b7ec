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
the count). Two gateways, the same traffic:

  kernel   ip_forward + conntrack + nftables masquerade (postrouting, oif gwout)
  egressd  the real binary on af_packet vdevs bound to gwin and gwout, worker
           lcore 1 (CPU 1), no IP configuration in the namespace

In both, receive processing for gwin is steered to CPU 1 (RPS), so the gateway's
work runs on CPU 1 and the sender on CPU 0. Each run: one paced pass that creates
every flow, then a timed window at full sender speed; the forwarded rate is
(dst0 rx_packets after - before) / window.

Usage (root): bench/kernel_compare.py [--flows 1000,100000] [--seconds 5]
              [--egressd build/dataplane/egressd] [--kc-send build/bench/kc-send] [--json]
"""
import argparse
import json
import os
import signal
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


def send(args, flows, once=False, pps=0, seconds=0):
    cmd = ["taskset", "-c", "0", args.kc_send, "--iface", "src0", "--dst-mac", MAC["gwin"], "--src-mac",
           MAC["src0"], "--flows", str(flows)]
    cmd += ["--once"] if once else ["--seconds", str(seconds)]
    if pps:
        cmd += ["--pps", str(pps)]
    return json.loads(sh(*cmd, ns=NS_SRC).stdout)


def measure(args, flows):
    """Creates the flows (a paced pass), then a full-speed window."""
    before = rx_packets()
    send(args, flows, once=True, pps=100000)
    time.sleep(0.5)
    created = rx_packets() - before
    before = rx_packets()
    s = send(args, flows, seconds=args.seconds)
    time.sleep(0.3)
    forwarded = rx_packets() - before
    return {"sent": s["sent"], "seconds": s["seconds"], "forwarded": forwarded,
            "mpps": forwarded / s["seconds"] / 1e6, "sender_mpps": s["sent"] / s["seconds"] / 1e6,
            "first_pass_forwarded": created}


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
no_huge = true
memory_mb = 512
in_memory = true
log_level = "error"
vdevs = ["net_af_packet0,iface=gwin,framecnt=4096", "net_af_packet1,iface=gwout,framecnt=4096"]

[inside]
device = "net_af_packet0"
next_hop_mac = "{src0}"
addresses = ["10.0.0.1"]

[outside]
device = "net_af_packet1"
next_hop_mac = "{dst0}"
addresses = ["192.0.2.1"]

[nat]
pool = ["203.0.113.10", "203.0.113.11"]

[flows]
max_flows = {max_flows}

[run]
stop_when_drained = false
"""


def egressd_gateway(args, flows, directory):
    config = os.path.join(directory, "egressd.toml")
    with open(config, "w") as f:
        f.write(EGRESSD_CONFIG.format(src0=MAC["src0"], dst0=MAC["dst0"], max_flows=max(2 * flows, 4096)))
    summary = os.path.join(directory, "summary.json")
    proc = subprocess.Popen(["ip", "netns", "exec", NS_GW, args.egressd, "-c", config, "--stats-json", summary],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in proc.stdout:
        if line.startswith("egressd: inside"):
            break
    else:
        raise RuntimeError("egressd did not start: " + proc.stderr.read())

    def stop():
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
        with open(summary) as f:
            return json.load(f)
    return stop


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--flows", default="1000,100000")
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--egressd", default=os.path.join(BUILD, "dataplane", "egressd"))
    ap.add_argument("--kc-send", dest="kc_send", default=os.path.join(BUILD, "bench", "kc-send"))
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("kernel_compare.py: needs root (network namespaces, nftables)")
    results = []
    setup()
    try:
        for flows in [int(x) for x in args.flows.split(",")]:
            undo = kernel_gateway(flows)
            try:
                k = measure(args, flows)
                k["conntrack_entries"] = int(sh("cat", "/proc/sys/net/netfilter/nf_conntrack_count", ns=NS_GW).stdout)
            finally:
                undo()
            with tempfile.TemporaryDirectory(prefix="bench-kc-") as d:
                stop = egressd_gateway(args, flows, d)
                try:
                    e = measure(args, flows)
                finally:
                    summary = stop()
                e["flows_created"] = summary["flows"]["udp"]["created"]
                e["drops"] = {n: v for n, v in summary.get("drops", {}).items() if v}
            results.append({"flows": flows, "kernel": k, "egressd": e,
                            "ratio": e["mpps"] / k["mpps"] if k["mpps"] else None})
            if not args.json:
                print(f"{flows:>9} flows  kernel {k['mpps']:.3f} Mpps (sender {k['sender_mpps']:.3f})  "
                      f"egressd {e['mpps']:.3f} Mpps (sender {e['sender_mpps']:.3f})  "
                      f"egressd/kernel {results[-1]['ratio']:.2f}", flush=True)
    finally:
        teardown()
    if args.json:
        print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
