#!/usr/bin/env python3
"""Strips the shared libraries inside a wheel, in place, and rewrites the wheel's RECORD.

`make wheels` (packaging/wheels.sh) builds the library unstripped, because uniffi-bindgen
reads the bindings' metadata from its symbol table; once maturin has generated the
bindings, the symbol table and the debug info of the precompiled std are dead weight: the
Python layer finds the library's functions through its dynamic symbols (ctypes), which
stripping keeps. Uses `llvm-strip` (Debian's `llvm` package), which strips ELF files of
every architecture; LLVM_STRIP names another one.

    python3 packaging/strip_wheel.py target/dist/ferrio-...whl
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path


def record_hash(data: bytes) -> str:
    """The `sha256=...` form of a RECORD line (PEP 376: urlsafe base64, no padding)."""
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "sha256=" + digest.decode()


def strip(data: bytes, workdir: Path) -> bytes:
    """The library `data` without its symbol table and debug sections."""
    source = workdir / "lib.so"
    stripped = workdir / "lib.stripped.so"
    source.write_bytes(data)
    tool = os.environ.get("LLVM_STRIP", "llvm-strip")
    if shutil.which(tool) is None:
        sys.exit(f"strip_wheel: {tool} is missing: apt-get install llvm")
    subprocess.run([tool, "--strip-all", "-o", str(stripped), str(source)], check=True)
    return stripped.read_bytes()


def strip_wheel(wheel: Path) -> None:
    """Rewrites `wheel` with every `.so` stripped and RECORD updated to match."""
    with zipfile.ZipFile(wheel) as archive:
        entries = [(info, archive.read(info)) for info in archive.infolist()]
    replaced: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory() as workdir:
        for info, data in entries:
            if info.filename.endswith(".so"):
                replaced[info.filename] = strip(data, Path(workdir))
    if not replaced:
        sys.exit(f"strip_wheel: no shared library in {wheel}")

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
        print(f"strip_wheel: {name}: {len(data)} bytes after stripping")


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


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: strip_wheel.py WHEEL")
    strip_wheel(Path(sys.argv[1]))
