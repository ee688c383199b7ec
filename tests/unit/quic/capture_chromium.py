#!/usr/bin/python3
"""Captures real QUIC first flights of the installed Chromium (Debian package
`chromium`) for the lib/quic tests: a UDP socket on 127.0.0.1:443 (root) keeps
every datagram; Chromium, headless, is told to use QUIC for quic.example.test
and to resolve it to 127.0.0.1. No server answers, so Chromium sends its first
flight, probes and a CONNECTION_CLOSE, then retries on new connections.

    /usr/bin/python3 tests/unit/quic/capture_chromium.py OUT_DIR

Writes OUT_DIR/dgram.N.bin in arrival order (datagrams of several connections:
group them by source port). chromium-156-{a,b}.*.bin in data/ came from this.
"""
import os
import socket
import subprocess
import sys
import tempfile
import time


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 443))
    sock.settimeout(0.5)
    with tempfile.TemporaryDirectory() as profile:
        browser = subprocess.Popen(
            ["chromium", "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--enable-quic",
             "--origin-to-force-quic-on=quic.example.test:443",
             "--host-resolver-rules=MAP quic.example.test 127.0.0.1", f"--user-data-dir={profile}",
             "https://quic.example.test/"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        n = 0
        end = time.time() + 15
        while time.time() < end:
            try:
                data, peer = sock.recvfrom(65535)
            except socket.timeout:
                continue
            with open(os.path.join(out, f"dgram.{n}.bin"), "wb") as f:
                f.write(data)
            print(n, peer[1], len(data))
            n += 1
        browser.kill()
        browser.wait()


if __name__ == "__main__":
    main()
