#!/usr/bin/python3
"""The two programs bench/soak runs inside the lab's namespaces:

  soak_traffic.py serve OUT.json        in the internet namespace: UDP echo on
      7007 (allowed), a UDP sink on 7009 (denied by the policy: must stay empty),
      TCP echo on 7008; on SIGTERM writes what it received, per peer as it saw
      it (the 5-tuple after NAT), to OUT.json.
  soak_traffic.py client SECONDS OUT.json SERVER4 SERVER6 BLOCK4
      in the client namespace: the mixed traffic (UDP request/replies over
      rotating source ports, TCP connections, ICMP echo, a denied UDP stream,
      a UDP stream to the address the soak blocks and unblocks), then writes
      every flow it opened with what it sent and got back to OUT.json.

Every flow is written down by its 5-tuple so bench/soak can find it again at
the server and in the collector's records."""
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time

UDP_ECHO, TCP_ECHO, UDP_DENIED = 7007, 7008, 7009
TCP_BYTES = 1000
UDP_INTERVAL_S = 0.05   # 20 requests a second per stream
UDP_ROTATE_S = 3.0      # a new source port (a new flow) every 3 s
TCP_INTERVAL_S = 0.3
DENIED_INTERVAL_S = 0.2


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


# --------------------------------------------------------------------------
# Server
# --------------------------------------------------------------------------
def serve(out, addresses):
    lock = threading.Lock()
    udp = {}   # "proto src sport dst dport" -> datagrams received
    tcp = {}   # same key -> bytes echoed (TCP_BYTES when complete)

    def note(table, peer, local, proto, n):
        key = f"{proto} {peer[0]} {peer[1]} {local[0]} {local[1]}"
        with lock:
            table[key] = table.get(key, 0) + n

    def dump(*_):
        with lock, open(out + ".tmp", "w") as f:
            json.dump({"udp": udp, "tcp": tcp}, f)
        os.replace(out + ".tmp", out)
        os._exit(0)

    signal.signal(signal.SIGTERM, dump)
    socks = []
    for addr in addresses:
        for port in (UDP_ECHO, UDP_DENIED):
            s = socket.socket(family(addr), socket.SOCK_DGRAM)
            s.bind((addr, port))
            socks.append(s)

    def echo_tcp(conn, peer, local):
        conn.settimeout(10)
        got = b""
        try:
            while len(got) < TCP_BYTES:
                chunk = conn.recv(TCP_BYTES - len(got))
                if not chunk:
                    break
                got += chunk
            conn.sendall(got)
            note(tcp, peer, local, 6, len(got))
        except OSError:
            note(tcp, peer, local, 6, 0)
        finally:
            conn.close()

    def accept_loop(listener):
        while True:
            conn, peer = listener.accept()
            local = conn.getsockname()
            threading.Thread(target=echo_tcp, args=(conn, peer[:2], local[:2]), daemon=True).start()

    for addr in addresses:
        if addr.startswith("198.51.100.8"):
            continue  # the blocked address only has UDP
        listener = socket.socket(family(addr), socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((addr, TCP_ECHO))
        listener.listen(64)
        threading.Thread(target=accept_loop, args=(listener,), daemon=True).start()
    while True:
        for s in select.select(socks, [], [])[0]:
            data, peer = s.recvfrom(2048)
            local = s.getsockname()
            note(udp, peer[:2], local[:2], 17, 1)
            if local[1] == UDP_ECHO:
                s.sendto(data, peer)


# --------------------------------------------------------------------------
# Client
# --------------------------------------------------------------------------
class recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.flows = []

    def add(self, **flow):
        with self.lock:
            self.flows.append(flow)


def udp_stream(rec, kind, dst, port, end, interval, expect_reply=True):
    """Requests every interval from one source port for UDP_ROTATE_S, then a new
    port; each request carries its sequence number, each answer is matched."""
    while time.time() < end:
        s = socket.socket(family(dst), socket.SOCK_DGRAM)
        s.connect((dst, port))
        src = s.getsockname()[:2]
        s.setblocking(False)
        sent, answered = 0, set()
        stop = min(end, time.time() + UDP_ROTATE_S)
        next_send = time.time()
        # Sending stops at `stop`; answers are collected for one more second.
        while time.time() < stop + (1.0 if expect_reply else 0.0):
            now = time.time()
            if now >= next_send and now < stop:
                try:
                    s.send(f"{kind} {sent}".encode())
                    sent += 1
                except OSError:
                    pass  # ECONNREFUSED from an earlier ICMP error: the request was still sent
                next_send += interval
            wait = max(0.0, min(next_send, stop + 1.0) - time.time())
            if select.select([s], [], [], wait)[0]:
                try:
                    data = s.recv(2048)
                    answered.add(int(data.split()[1]))
                except (OSError, ValueError, IndexError):
                    pass
        s.close()
        rec.add(kind=kind, proto=17, src=src[0], sport=src[1], dst=dst, dport=port, sent=sent,
                answered=len(answered))


def tcp_stream(rec, kind, dst, end):
    payload = b"s" * TCP_BYTES
    while time.time() < end:
        s = socket.socket(family(dst), socket.SOCK_STREAM)
        s.settimeout(5)
        src, error = None, ""
        got = b""
        try:
            s.connect((dst, TCP_ECHO))
            src = s.getsockname()[:2]
            s.sendall(payload)
            while len(got) < TCP_BYTES:
                chunk = s.recv(TCP_BYTES - len(got))
                if not chunk:
                    break
                got += chunk
        except OSError as e:
            error = str(e)
            if src is None:
                try:
                    src = s.getsockname()[:2]
                except OSError:
                    src = ("", 0)
        finally:
            s.close()
        rec.add(kind=kind, proto=6, src=src[0], sport=src[1], dst=dst, dport=TCP_ECHO, sent=1,
                answered=1 if got == payload else 0, error=error)
        time.sleep(TCP_INTERVAL_S)


def ping(rec, dst, seconds):
    # A count, not a deadline (-w): with a deadline the last request's answer
    # may arrive after ping stopped listening and would count as lost.
    r = subprocess.run(["ping", "-q", "-n", "-i", "0.2", "-W", "2", "-c", str(max(1, int(seconds / 0.2))), dst],
                       capture_output=True, text=True)
    sent = received = 0
    for line in r.stdout.splitlines():
        if "packets transmitted" in line:
            parts = line.split(",")
            sent = int(parts[0].split()[0])
            received = int(parts[1].split()[0])
    rec.add(kind="icmp4", proto=1, src="", sport=0, dst=dst, dport=0, sent=sent, answered=received)


def client(seconds, out, server4, server6, block4):
    seconds = float(seconds)
    end = time.time() + seconds
    rec = recorder()
    jobs = [
        (udp_stream, (rec, "udp4", server4, UDP_ECHO, end, UDP_INTERVAL_S)),
        (udp_stream, (rec, "udp6", server6, UDP_ECHO, end, UDP_INTERVAL_S)),
        (udp_stream, (rec, "blockable4", block4, UDP_ECHO, end, UDP_INTERVAL_S)),
        (udp_stream, (rec, "denied4", server4, UDP_DENIED, end, DENIED_INTERVAL_S, False)),
        (tcp_stream, (rec, "tcp4", server4, end)),
        (tcp_stream, (rec, "tcp6", server6, end)),
        (ping, (rec, server4, seconds)),
    ]
    threads = [threading.Thread(target=f, args=a) for f, a in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with open(out, "w") as f:
        json.dump(rec.flows, f)


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2], sys.argv[3:])
    elif sys.argv[1] == "client":
        client(*sys.argv[2:])
    else:
        sys.exit("usage: soak_traffic.py serve OUT ADDR... | client SECONDS OUT SERVER4 SERVER6 BLOCK4")
