"""Network namespaces and veth pairs for the system tests' probes (run as root).

Every probe builds its own small topology with names carrying its pid, so
parallel tests never share a namespace; these helpers are the parts they all
need."""
import os
import signal
import subprocess

OFFLOADS = ("tx", "off", "rx", "off", "tso", "off", "gso", "off", "gro", "off")


def sh(*cmd, ns=None, check=True, **kw):
    """Runs cmd (inside namespace ns); returns the CompletedProcess (text)."""
    full = (["ip", "netns", "exec", ns] if ns else []) + [str(c) for c in cmd]
    return subprocess.run(full, check=check, capture_output=True, text=True, **kw)


def create(*namespaces):
    for ns in namespaces:
        sh("ip", "netns", "add", ns)
        sh("ip", "link", "set", "lo", "up", ns=ns)


def link(ns_a, dev_a, ns_b, dev_b, mac_a=None, mac_b=None, up=True):
    """A veth pair dev_a (in ns_a) <-> dev_b (in ns_b), MACs set when given,
    offloads off on both ends (wire-sized segments with real checksums)."""
    sh("ip", "link", "add", dev_a, "netns", ns_a, "type", "veth", "peer", "name", dev_b, "netns", ns_b)
    for ns, dev, mac in ((ns_a, dev_a, mac_a), (ns_b, dev_b, mac_b)):
        if mac:
            sh("ip", "link", "set", dev, "address", mac, ns=ns)
        sh("ethtool", "-K", dev, *OFFLOADS, ns=ns, check=False)
        if up:
            sh("ip", "link", "set", dev, "up", ns=ns)


def destroy(*namespaces):
    """Kills what runs in the namespaces, then deletes them (never fails)."""
    for ns in namespaces:
        pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout.split()
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
