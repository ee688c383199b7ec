"""Runs the real egressd binary on pcap vdevs over captures a test generates, and
returns what it wrote to each port plus its JSON summary.

Each run gets its own directory and its own EAL instance (--in-memory), so runs
never share state."""
import json
import os
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools"))
import egress_traffic as traffic  # noqa: E402,F401
from scapy.utils import rdpcap  # noqa: E402

EGRESSD = os.environ.get("EGRESSD", os.path.join(HERE, "..", "..", "build", "dataplane", "egressd"))

CONFIG = """
[eal]
lcores = "{lcores}"
no_huge = true
memory_mb = 256
in_memory = true
log_level = "error"
vdevs = [
  "net_pcap0,rx_pcap={dir}/inside.pcap,tx_pcap={dir}/inside-out.pcap",
  "net_pcap1,rx_pcap={dir}/outside.pcap,tx_pcap={dir}/outside-out.pcap",
]

[inside]
device = "net_pcap0"
mac = "02:00:00:00:01:fe"
next_hop_mac = "02:00:00:00:01:01"
addresses = ["10.0.0.1", "fd00:0:0:1::1"]

[outside]
device = "net_pcap1"
mac = "02:00:00:00:02:fe"
next_hop_mac = "02:00:00:00:02:01"
addresses = ["192.0.2.1", "2001:db8::1"]

[nat]
pool = [{pool}]
port_min = {port_min}
port_max = {port_max}

[flows]
max_flows = {max_flows}

[run]
stop_when_drained = true
replay_in_timestamp_order = {replay}
"""


def config_text(directory, pool=("203.0.113.10",), port_min=1024, port_max=65535, max_flows=4096, replay=True,
                lcores="0", live=False):
    """The test config for pcap vdevs reading and writing in directory. live: run
    until SIGTERM instead of stopping when the input is drained."""
    text = CONFIG.format(dir=directory, pool=", ".join(f'"{a}"' for a in pool), port_min=port_min,
                         port_max=port_max, max_flows=max_flows, replay="true" if replay else "false", lcores=lcores)
    return text.replace("stop_when_drained = true", "stop_when_drained = false") if live else text


def af_packet_config(directory, lcores="0-1"):
    """The live test config on af_packet vdevs bound to vin1 (inside) and vout1 (outside)."""
    config = config_text(directory, max_flows=64, replay=False, lcores=lcores, live=True)
    config = config.replace(f'"net_pcap0,rx_pcap={directory}/inside.pcap,tx_pcap={directory}/inside-out.pcap"',
                            '"net_af_packet0,iface=vin1"')
    config = config.replace(f'"net_pcap1,rx_pcap={directory}/outside.pcap,tx_pcap={directory}/outside-out.pcap"',
                            '"net_af_packet1,iface=vout1"')
    config = config.replace('device = "net_pcap0"', 'device = "net_af_packet0"')
    return config.replace('device = "net_pcap1"', 'device = "net_af_packet1"')


def veth_namespace(name):
    """A network namespace with veth pairs vin0-vin1 and vout0-vout1, all up;
    returns a cleanup function."""
    run = lambda *cmd: subprocess.run(cmd, check=True, capture_output=True)  # noqa: E731
    run("ip", "netns", "add", name)
    for a, b in (("vin0", "vin1"), ("vout0", "vout1")):
        run("ip", "-n", name, "link", "add", a, "type", "veth", "peer", "name", b)
    for dev in ("vin0", "vin1", "vout0", "vout1", "lo"):
        run("ip", "-n", name, "link", "set", dev, "up")
    return lambda: subprocess.run(["ip", "netns", "del", name], capture_output=True)


def free_tcp_port():
    """A loopback TCP port nobody listens on right now (for the metrics endpoint)."""
    import socket
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class result:
    def __init__(self, directory, proc):
        self.dir = directory
        self.returncode = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        with open(os.path.join(directory, "summary.json")) as f:
            self.summary = json.load(f)
        self.to_outside = list(rdpcap(os.path.join(directory, "outside-out.pcap")))
        self.to_inside = list(rdpcap(os.path.join(directory, "inside-out.pcap")))

    def drops(self):
        """The non-zero drop counters."""
        return {k: v for k, v in self.summary["drops"].items() if v}


def run(conv, pool=("203.0.113.10",), port_min=1024, port_max=65535, max_flows=4096, replay=True, lcores="0",
        extra="", edit=None):
    """extra: more TOML appended to the config (e.g. an [export] table); edit: a
    function given the base config text, returning it changed."""
    directory = tempfile.mkdtemp(prefix="egressd-system-")
    conv.write(os.path.join(directory, "inside.pcap"), os.path.join(directory, "outside.pcap"))
    config = os.path.join(directory, "egressd.toml")
    with open(config, "w") as f:
        base = config_text(directory, pool, port_min, port_max, max_flows, replay, lcores)
        f.write(edit(base) if edit else base)
        f.write(extra.replace("{dir}", directory))
    proc = subprocess.run([EGRESSD, "-c", config, "--stats-json", os.path.join(directory, "summary.json")],
                          capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise AssertionError(f"egressd exited {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return result(directory, proc)


def tls_records(message):
    """A TLS handshake message in handshake records of at most 16384 bytes."""
    out = b""
    for i in range(0, len(message), 16384):
        chunk = message[i:i + 16384]
        out += b"\x16\x03\x01" + struct.pack("!H", len(chunk)) + chunk
    return out


def tls_client_hello(sni, padding=None):
    """A TLS 1.3 ClientHello naming sni; padding: a padding extension of that many bytes."""
    name = sni.encode()
    exts = struct.pack("!HHHBH", 0, len(name) + 5, len(name) + 3, 0, len(name)) + name
    exts += struct.pack("!HHB", 43, 3, 2) + b"\x03\x04"
    if padding is not None:
        exts += struct.pack("!HH", 21, padding) + bytes(padding)
    body = b"\x03\x03" + bytes(range(32)) + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00"
    body += struct.pack("!H", len(exts)) + exts
    return tls_records(b"\x01" + len(body).to_bytes(3, "big") + body)


def checksums_valid(pkt):
    """True when every IP/TCP/UDP/ICMP checksum in pkt equals a full recomputation."""
    from scapy.all import Ether
    original = bytes(pkt)
    clone = Ether(original)
    for layer in ("IP", "TCP", "UDP", "ICMP"):
        if clone.haslayer(layer) and hasattr(clone[layer], "chksum"):
            clone[layer].chksum = None
    if clone.haslayer("ICMPv6EchoRequest"):
        clone["ICMPv6EchoRequest"].cksum = None
    if clone.haslayer("ICMPv6EchoReply"):
        clone["ICMPv6EchoReply"].cksum = None
    return bytes(Ether(bytes(clone))) == original
