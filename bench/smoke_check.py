#!/usr/bin/python3
"""The egress-bench smoke test (meson test egress-bench-smoke): runs every
scenario of the whole-pipeline harness at tiny sizes and checks that each one
completed with zero loss and sane figures. It asserts behaviour, not speed."""
import json
import subprocess
import sys


STREAMS = {("floor", "macswap"), ("established", "udp 1000"), ("established", "udp 5000"),
           ("established", "tcp 1000"), ("established", "tcp 5000"), ("new-udp", "20000 flows"),
           ("reload", "udp 2000 /10ms")}
CONVERSATIONS = {("connect", "syn..fin"), ("imix-sni", "13 pkt/conn"), ("dlp", "8x1460 up 16 pat")}


def run(binary, extra):
    proc = subprocess.run([binary, "--smoke", "--json"] + extra, capture_output=True, text=True, timeout=240)
    sys.stderr.write(proc.stderr)
    if proc.returncode != 0:
        sys.exit(f"egress-bench {' '.join(extra)} exited {proc.returncode}")
    return json.loads(proc.stdout)["results"]


def main():
    binary = sys.argv[1]
    # Every scenario with the traffic on the main lcore, then the stream
    # scenarios with it generated on the worker's own lcore (--same-core), the
    # frames flagged as a NIC flags a verified IPv4 checksum (the worker's
    # path that trusts the flag: every frame must still come out).
    problems = check(run(binary, []), STREAMS | CONVERSATIONS, "")
    problems += check(run(binary, ["--same-core", "--device-checksum", "--scenarios",
                                   "floor,established,new-udp,reload"]), STREAMS, "same-core ")
    if problems:
        sys.exit("egress-bench smoke: " + "; ".join(problems))
    print("egress-bench smoke: both traffic modes, zero loss")


def check(results, expected, mode):
    seen = {(r["scenario"], r["variant"]) for r in results}
    problems = []
    if seen != expected:
        problems.append(f"scenarios: got {sorted(seen)}, expected {sorted(expected)}")
    for r in results:
        name = f'{mode}{r["scenario"]} {r["variant"]}'
        if r["lost"] != 0:
            problems.append(f"{name}: lost {r['lost']}")
        if r["unexpected"] != 0:
            problems.append(f"{name}: {r['unexpected']} unexpected frames")
        if r["packets"] <= 0 or r["mpps"] <= 0 or r["seconds"] <= 0:
            problems.append(f"{name}: nothing forwarded in the window")
        if not 0 < r["clocks_per_packet"] < 1e7:
            problems.append(f"{name}: clocks per packet {r['clocks_per_packet']}")
        # Every frame handed to the gateway came out; a denied connection adds
        # the reset the gateway builds towards the server.
        extra = r["resets"] if r["scenario"] == "imix-sni" else 0
        if r["delivered"] != r["injected"] + extra:
            problems.append(f"{name}: delivered {r['delivered']}, injected {r['injected']} (+{extra} resets)")
        if r["scenario"] == "imix-sni":
            # 1 in 4 connections names a host outside the policy: its ClientHello
            # is dropped (hostname_denied) and the client gets a reset, exactly once.
            if r["resets"] == 0 or r["drop_detail"] != f"hostname_denied={r['resets']}":
                problems.append(f"{name}: resets {r['resets']}, drops [{r['drop_detail']}]")
        elif r["drops"] != 0:
            problems.append(f"{name}: drops [{r['drop_detail']}]")
        if r["scenario"] in ("established", "new-udp"):
            if not 64 <= r["table_bytes_per_flow"] <= 256:
                problems.append(f"{name}: {r['table_bytes_per_flow']} table bytes per flow")
        if r["scenario"] in ("new-udp", "connect", "imix-sni", "dlp") and r["units"] <= 0:
            problems.append(f"{name}: no {r['unit']} completed")
        if r["scenario"] == "dlp" and r.get("payload_gbps", 0) <= 0:
            problems.append(f"{name}: no payload")
        if r["scenario"] == "reload" and r["reloads"] < 2:
            problems.append(f"{name}: only {r['reloads']} reloads")
    return problems


if __name__ == "__main__":
    main()
