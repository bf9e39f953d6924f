#!/usr/bin/env python3
# Writes the hand-made seed inputs of the fuzz targets that no capture of the reference
# server yields (see ../README.md): `engineio_payload_v3` (Engine.IO v3 polling bodies as a
# Socket.IO 2.x server answers, from the core's unit tests) and `websocket_deflate`
# (server streams with permessage-deflate, in that target's input layout).
#
# Run from the repository root: python3 fuzz/seeds/handmade.py
# It rewrites fuzz/seeds/<target>/hand-* for those two targets and nothing else.
import hashlib
import os
import zlib

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)))


def write(target, seeds):
    folder = os.path.join(ROOT, target)
    os.makedirs(folder, exist_ok=True)
    for name in os.listdir(folder):
        if name.startswith("hand-"):
            os.remove(os.path.join(folder, name))
    for seed in seeds:
        name = "hand-" + hashlib.sha1(seed).hexdigest()[:16]
        with open(os.path.join(folder, name), "wb") as out:
            out.write(seed)


def v3(*packets):
    """A v3 body: each packet as <length in UTF-16 code units>:<packet>."""
    return "".join(f"{len(p.encode('utf-16-le')) // 2}:{p}" for p in packets).encode()


HANDSHAKE = '0{"sid":"s","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000}'
write(
    "engineio_payload_v3",
    [
        v3(HANDSHAKE, "40"),
        v3("4😀é", "4ab", "6"),
        v3('451-["x"]', "b4AQIDBA=="),
        v3('42["hello","héllo 😀"]', "2", "3probe"),
        v3("1"),
        b"2:4\xf0\x9f\x98\x80",  # a length that cuts a surrogate pair
    ],
)


def frame(first, payload):
    """An unmasked server frame."""
    n = len(payload)
    if n < 126:
        head = bytes([first, n])
    elif n < 65536:
        head = bytes([first, 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([first, 127]) + n.to_bytes(8, "big")
    return head + payload


def deflate(compressor, data, final=False):
    """Compressed as permessage-deflate sends it: flushed, the sync tail removed."""
    out = compressor.compress(data)
    if final:
        return out + compressor.flush(zlib.Z_FINISH)
    out += compressor.flush(zlib.Z_SYNC_FLUSH)
    assert out.endswith(b"\x00\x00\xff\xff")
    return out[:-4]


def raw(no_context, stream):
    """The target's raw mode: the limit 1 MiB, reads of 4096 bytes, the connection's reads
    not cut, the extension offered, a 101 head accepting it, the stream once."""
    return bytes([0x00, 0x04, 0x0F, 0xFF, 0x00, 0x00, 0x02 if no_context else 0x01, 0x00, 0x00]) + stream


shared = zlib.compressobj(wbits=-15)
chat = b'42["chat","hello everyone, is the build green again?"]' * 20
first = deflate(shared, chat)
second = deflate(shared, chat)
fresh = zlib.compressobj(wbits=-15)
write(
    "websocket_deflate",
    [
        raw(False, frame(0xC1, first) + frame(0x89, b"ping") + frame(0x82, b"plain")),
        raw(False, frame(0x41, first[:10]) + frame(0x8A, b"") + frame(0x80, first[10:]) + frame(0xC1, second)),
        raw(True, frame(0xC1, deflate(fresh, b"Hello", final=True)) + frame(0xC2, deflate(zlib.compressobj(wbits=-15), bytes(range(256)) * 4))),
        raw(False, frame(0xC1, b"\xff\xff\xff") + frame(0x88, b"\x03\xe8")),
        bytes([0x01]) + b"hello everyone " * 8,
        bytes([0x01, 0x04, 0x10, 0x00, 0x02]) + bytes(range(64)) * 3,
    ],
)
