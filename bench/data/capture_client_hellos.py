#!/usr/bin/python3
# Regenerates client_hellos.inc: real ClientHellos sent by `openssl s_client`
# (OpenSSL 3.0, ALPN h2/http1.1) to a local listener, one per server name, as
# C++ initialisers for egress-bench. Run: /usr/bin/python3 capture_client_hellos.py

import socket, subprocess, sys
names = ["api.github.com", "objects.githubusercontent.com", "api.stripe.com", "exfil.example.net"]
out = []
for n in names:
    s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
    port = s.getsockname()[1]
    p = subprocess.Popen(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", n, "-alpn", "h2,http/1.1"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    c, _ = s.accept(); c.settimeout(5)
    data = b""
    while len(data) < 5 or len(data) < 5 + int.from_bytes(data[3:5], "big"):
        data += c.recv(65536)
    c.close(); p.kill(); s.close()
    out.append((n, data))
    print(n, len(data), file=sys.stderr)
with open("client_hellos.inc", "w") as f:
    for i, (n, d) in enumerate(out):
        f.write(f"// {n}: {len(d)} bytes\n")
        f.write("{\"%s\", {" % n)
        f.write(", ".join(str(b) for b in d))
        f.write("}},\n")
