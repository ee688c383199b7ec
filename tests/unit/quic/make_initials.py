#!/usr/bin/python3
"""Builds QUIC client first flights for the lib/quic tests, independently of the
C++ code: TLS ClientHellos by hand, Initial packet protection with
python3-cryptography (RFC 9001 §5, RFC 9369). Writes data/<flight>.<i>.bin, one
file per UDP payload (datagram), in the order a client sends them, and
../../fuzz/corpus/quic_initial/<flight>.bin in the fuzz target's input format
(a mode byte 0: raw datagrams; then each datagram as a 2-byte big-endian length
and its bytes).

    /usr/bin/python3 tests/unit/quic/make_initials.py

Deterministic (seeded): rerunning it rewrites the same bytes. The keys of RFC
9001 A.1 and RFC 9369 A.1 are checked first, so the fixtures rest on the RFCs.
"""
import os
import random
import struct

from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")
CORPUS = os.path.join(HERE, "..", "..", "fuzz", "corpus", "quic_initial")

V1, V2 = 0x00000001, 0x6B3343CF
SALT = {V1: bytes.fromhex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a"),
        V2: bytes.fromhex("0dede3def700a6db819381be6e269dcbf9bd2ed9")}
LABEL = {V1: "quic", V2: "quicv2"}
INITIAL_TYPE = {V1: 0, V2: 1}
ZERO_RTT_TYPE = {V1: 1, V2: 2}


def u8(n): return struct.pack(">B", n)
def u16(n): return struct.pack(">H", n)
def u24(n): return struct.pack(">I", n)[1:]


def varint(n, size=None):
    size = size or (1 if n < 64 else 2 if n < 16384 else 4 if n < 2**30 else 8)
    prefix = {1: 0, 2: 1, 4: 2, 8: 3}[size]
    return (n | (prefix << (8 * size - 2))).to_bytes(size, "big")


# ---- keys (RFC 9001 §5.2) ----
def hkdf_extract(salt, ikm):
    h = hmac.HMAC(salt, hashes.SHA256())
    h.update(ikm)
    return h.finalize()


def expand_label(secret, label, length):
    full = b"tls13 " + label.encode()
    info = u16(length) + u8(len(full)) + full + u8(0)
    return HKDFExpand(hashes.SHA256(), length, info).derive(secret)


def client_keys(version, dcid):
    secret = expand_label(hkdf_extract(SALT[version], dcid), "client in", 32)
    p = LABEL[version]
    return (expand_label(secret, p + " key", 16), expand_label(secret, p + " iv", 12),
            expand_label(secret, p + " hp", 16))


def check_rfc_keys():
    dcid = bytes.fromhex("8394c8f03e515708")
    assert [k.hex() for k in client_keys(V1, dcid)] == [
        "1f369613dd76d5467730efcbe3b1a22d", "fa044b2f42a3fd3b46fb255c", "9f50449e04a0e810283a1e9933adedd2"]
    assert [k.hex() for k in client_keys(V2, dcid)] == [
        "8b1a0bc121284290a29e0971b5cd045d", "91f73e2351d8fa91660e909f", "45b95e15235d6f45a6b19cbcb0294ba9"]


# ---- TLS 1.3 ClientHello (RFC 8446 §4.1.2), as a QUIC client sends it ----
def ext(t, body): return u16(t) + u16(len(body)) + body


def sni_ext(host):
    entry = u8(0) + u16(len(host)) + host.encode()
    return ext(0, u16(len(entry)) + entry)


def alpn_ext(names):
    body = b"".join(u8(len(n)) + n.encode() for n in names)
    return ext(16, u16(len(body)) + body)


def key_share_ext(shares):
    body = b"".join(u16(g) + u16(len(k)) + k for g, k in shares)
    return ext(51, u16(len(body)) + body)


def ech_outer_ext(rng, payload_len):
    enc = rng.randbytes(32)
    payload = rng.randbytes(payload_len)
    body = u8(0) + u16(1) + u16(1) + u8(rng.randrange(256)) + u16(len(enc)) + enc + u16(len(payload)) + payload
    return ext(0xFE0D, body)


def transport_params(scid):
    params = [(0x01, varint(30000)), (0x04, varint(15728640)), (0x0F, scid), (0x03, varint(1472))]
    return ext(0x39, b"".join(varint(t) + varint(len(v)) + v for t, v in params))


def client_hello(rng, host=None, alpn=("h3",), kyber=False, ech=None, grease=True, scid=b""):
    exts = []
    if grease:
        exts.append(ext(0x2A2A, b""))
    if host is not None:
        exts.append(sni_ext(host))
    exts.append(ext(10, u16(6) + u16(0x11EC) + u16(0x001D) + u16(0x0017)))
    exts.append(ext(13, u16(8) + u16(0x0403) + u16(0x0804) + u16(0x0401) + u16(0x0503)))
    exts.append(alpn_ext(alpn))
    exts.append(ext(43, u8(2) + u16(0x0304)))
    exts.append(ext(45, u8(1) + u8(1)))
    shares = [(0x001D, rng.randbytes(32))]
    if kyber:  # X25519MLKEM768: 1184-byte ML-KEM key + 32-byte X25519 key
        shares.insert(0, (0x11EC, rng.randbytes(1216)))
    exts.append(key_share_ext(shares))
    exts.append(transport_params(scid))
    if ech == "grease":
        exts.append(ech_outer_ext(rng, 208))
    elif ech == "real":
        exts.append(ech_outer_ext(rng, 400))
    if grease:
        exts.append(ext(0x4A4A, u8(0)))
    rng.shuffle(exts)  # Chromium permutes its extensions
    ciphers = u16(0x1301) + u16(0x1302) + u16(0x1303)
    body = (u16(0x0303) + rng.randbytes(32) + u8(0) + u16(len(ciphers)) + ciphers + u8(1) + u8(0) +
            u16(sum(len(e) for e in exts)) + b"".join(exts))
    return u8(1) + u24(len(body)) + body


# ---- frames and packets ----
def crypto_frame(offset, data): return u8(0x06) + varint(offset) + varint(len(data)) + data


def protect(version, dcid, scid, token, pn, payload, keys, pn_len=2, reserved=0, ptype=None):
    key, iv, hp = keys
    ptype = INITIAL_TYPE[version] if ptype is None else ptype
    first = 0xC0 | (ptype << 4) | (reserved << 2) | (pn_len - 1)
    tok = varint(len(token)) + token if ptype == INITIAL_TYPE[version] else b""
    header = (u8(first) + struct.pack(">I", version) + u8(len(dcid)) + dcid + u8(len(scid)) + scid + tok +
              varint(pn_len + len(payload) + 16, 2) + pn.to_bytes(pn_len, "big"))
    nonce = (int.from_bytes(iv, "big") ^ pn).to_bytes(12, "big")
    sealed = AESGCM(key).encrypt(nonce, payload, header)
    sample = sealed[4 - pn_len:20 - pn_len]
    mask = Cipher(algorithms.AES(hp), modes.ECB()).encryptor().update(sample)[:5]
    protected = bytearray(header)
    protected[0] ^= mask[0] & 0x0F
    for i in range(pn_len):
        protected[len(header) - pn_len + i] ^= mask[1 + i]
    return bytes(protected) + sealed


def padded(payload, total, overhead):
    """Payload followed by PADDING frames so the packet is `total` bytes."""
    return payload + b"\x00" * max(0, total - overhead - len(payload))


def header_overhead(dcid, scid, token, pn_len=2):
    return 1 + 4 + 1 + len(dcid) + 1 + len(scid) + len(varint(len(token))) + len(token) + 2 + pn_len + 16


class flight:
    def __init__(self, version, dcid, scid=b"", token=b""):
        self.version, self.dcid, self.scid, self.token = version, dcid, scid, token
        self.keys = client_keys(version, dcid)
        self.pn = 0

    def initial(self, frames, size=1200, **kw):
        over = header_overhead(self.dcid, self.scid, self.token)
        pkt = protect(self.version, self.dcid, self.scid, self.token, self.pn, padded(frames, size, over), self.keys, **kw)
        self.pn += 1
        return pkt


def in_order(hello, f, size=1250, chunk=1100):
    return [f.initial(crypto_frame(o, hello[o:o + chunk]), size) for o in range(0, len(hello), chunk)]


def chaos_flight(rng, hello, f, datagrams=2, size=1250):
    """Chromium's chaos protection: the hello cut into pieces, shuffled, spread over
    the datagrams with PING frames and PADDING runs between them, one piece sent twice."""
    cuts = sorted(rng.sample(range(1, len(hello)), 14))
    pieces = [(a, hello[a:b]) for a, b in zip([0] + cuts, cuts + [len(hello)])]
    pieces.append(pieces[3])  # a duplicate
    rng.shuffle(pieces)
    budget = size - header_overhead(f.dcid, f.scid, f.token) - 40
    payloads = [b"" for _ in range(datagrams)]
    i = 0
    for off, data in pieces:
        frame = crypto_frame(off, data)
        while len(payloads[i]) + len(frame) > budget:
            i += 1
        payloads[i] += frame + rng.choice([b"", b"\x01", b"\x00" * rng.randrange(1, 9), b"\x01\x00\x01"])
    return [f.initial(p, size) for p in payloads]


def spread_flight(rng, hello, f, datagrams=3, size=1250):
    """For the gateway tests: the hello cut into pieces, shuffled, dealt round-robin
    over `datagrams` Initials with PING / PADDING between them, two pieces sent twice
    (in other datagrams than their first copy)."""
    cuts = sorted(rng.sample(range(1, len(hello)), 11))
    pieces = [(a, hello[a:b]) for a, b in zip([0] + cuts, cuts + [len(hello)])]
    rng.shuffle(pieces)
    pieces += [pieces[0], pieces[4]]  # duplicates, dealt to the next datagram over
    payloads = [b"" for _ in range(datagrams)]
    for i, (off, data) in enumerate(pieces):
        payloads[(i + (1 if i >= 12 else 0)) % datagrams] += crypto_frame(off, data) + rng.choice(
            [b"", b"\x01", b"\x00" * rng.randrange(1, 9), b"\x01\x00\x01"])
    return [f.initial(p, size) for p in payloads]


def build():
    check_rfc_keys()
    rng = random.Random(16)
    flights = {}

    f = flight(V1, rng.randbytes(8))
    flights["chromium-chaos"] = chaos_flight(rng, client_hello(rng, "www.example.org", kyber=True, ech="grease"), f)

    f = flight(V1, rng.randbytes(20), rng.randbytes(8))
    flights["pq-in-order"] = in_order(client_hello(rng, "pq.example.com", ("h3", "h3-29"), kyber=True), f)

    f = flight(V2, rng.randbytes(12), rng.randbytes(4), token=rng.randbytes(40))
    flights["v2-token"] = [f.initial(crypto_frame(0, client_hello(rng, "v2.example.net")), 1300)]

    f = flight(V1, rng.randbytes(8))
    flights["no-sni"] = [f.initial(crypto_frame(0, client_hello(rng, None)))]

    f = flight(V1, rng.randbytes(8))
    flights["ech-real"] = [f.initial(crypto_frame(0, client_hello(rng, "public.example.com", ech="real")), 1300)]

    # An Initial with PING and ACK frames, then a coalesced 0-RTT packet.
    f = flight(V1, rng.randbytes(8), rng.randbytes(8))
    hello = client_hello(rng, "coalesced.example.com")
    ack = u8(0x02) + varint(0) + varint(0) + varint(0) + varint(0)
    first = f.initial(u8(1) + ack + crypto_frame(0, hello) + bytes([0x1c]) + varint(0) + varint(0) + varint(0), 1000)
    zero_rtt = protect(V1, f.dcid, f.scid, b"", 7, padded(b"\x01", 200, 40), f.keys, ptype=ZERO_RTT_TYPE[V1])
    flights["coalesced-0rtt"] = [first + zero_rtt]

    # Failures.
    f = flight(V1, rng.randbytes(8))
    hello = client_hello(rng, "conflict.example.com")
    changed = bytearray(hello[100:300])
    changed[50] ^= 0xFF
    flights["crypto-conflict"] = [f.initial(crypto_frame(0, hello[:200])), f.initial(crypto_frame(100, bytes(changed)))]

    f = flight(V1, rng.randbytes(8))
    stream_frame = u8(0x08) + varint(0) + b"GET /"
    flights["stream-frame"] = [f.initial(crypto_frame(0, client_hello(rng, "a.example")) + stream_frame)]

    f = flight(V1, rng.randbytes(8))
    huge = u8(1) + u24(20000) + rng.randbytes(900)
    flights["hello-over-16k"] = [f.initial(crypto_frame(0, huge))]

    f = flight(V1, rng.randbytes(8))
    flights["reserved-bits"] = [f.initial(crypto_frame(0, client_hello(rng, "r.example")), reserved=1)]

    f = flight(V1, rng.randbytes(8))
    f.keys = client_keys(V1, rng.randbytes(8))  # sealed with another DCID's keys
    flights["wrong-keys"] = [f.initial(crypto_frame(0, client_hello(rng, "w.example")))]

    f = flight(V1, rng.randbytes(8))
    hello = client_hello(rng, "after.example")
    flights["bytes-after-hello"] = [f.initial(crypto_frame(0, hello + b"\x14\x00\x00\x00"))]

    f = flight(V1, rng.randbytes(4))  # a client DCID must be at least 8 bytes
    flights["short-dcid"] = [f.initial(crypto_frame(0, client_hello(rng, "s.example")))]

    # Gateway tests (tests/unit/gateway/quic_inspection_test.cpp): one name to
    # allow, one to deny, each over three datagrams; a v2 flight too.
    f = flight(V1, rng.randbytes(8), rng.randbytes(8))
    flights["gw-allowed"] = spread_flight(rng, client_hello(rng, "api.stripe.com", kyber=True, ech="grease"), f)
    f = flight(V1, rng.randbytes(16))
    flights["gw-denied"] = spread_flight(rng, client_hello(rng, "exfil.example.net", kyber=True), f)
    f = flight(V2, rng.randbytes(8))
    flights["gw-v2"] = spread_flight(rng, client_hello(rng, "v2.github.com", kyber=True), f)
    return flights


def main():
    os.makedirs(DATA, exist_ok=True)
    os.makedirs(CORPUS, exist_ok=True)
    for name, datagrams in build().items():
        for i, d in enumerate(datagrams):
            with open(os.path.join(DATA, f"{name}.{i}.bin"), "wb") as out:
                out.write(d)
        with open(os.path.join(CORPUS, f"{name}.bin"), "wb") as out:
            out.write(b"\x00" + b"".join(u16(len(d)) + d for d in datagrams))
        print(name, [len(d) for d in datagrams])


if __name__ == "__main__":
    main()
