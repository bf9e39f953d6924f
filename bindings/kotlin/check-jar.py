#!/usr/bin/env python3
"""Checks the installed dev.ferrio:ferrio artifacts, as a user's build would resolve them.

    python3 bindings/kotlin/check-jar.py [--repository DIR] [--host-only]

After `mvn -f bindings/kotlin/pom.xml install` (`make examples-bindings` runs it), in the
local repository (default ~/.m2/repository), for the version in Cargo.toml:
- the jar carries the cdylib of every platform in JNA's resource layout, each an ELF shared
  object for its architecture (--host-only: this machine's platform only), and the classes;
- the sources jar carries the Kotlin sources and the generated bindings, no cdylib;
- the javadoc jar carries an HTML index and a page of the public API.
Prints each artifact's size; exits 1 listing every problem found.
"""

from __future__ import annotations

import argparse
import struct
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
LIBRARY = "libferrio_ffi.so"
# JNA resource directory -> ELF e_machine of its architecture.
PLATFORMS = {"linux-x86-64": (62, "x86-64"), "linux-aarch64": (183, "AArch64")}
HOST = {"x86_64": "linux-x86-64", "aarch64": "linux-aarch64"}


def elf_machine(data: bytes) -> int | None:
    """The e_machine of a 64-bit little-endian ELF shared object, else None."""
    if len(data) < 20 or data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        return None
    e_type, e_machine = struct.unpack_from("<HH", data, 16)
    return e_machine if e_type == 3 else None


def check_jar(path: Path, platforms: list[str]) -> list[str]:
    """The jar's problems: a platform's cdylib missing or for another architecture, no classes."""
    problems = []
    with zipfile.ZipFile(path) as jar:
        names = set(jar.namelist())
        for platform in platforms:
            entry = f"{platform}/{LIBRARY}"
            if entry not in names:
                problems.append(f"{path.name}: no {entry}")
                continue
            machine, arch = PLATFORMS[platform]
            found = elf_machine(jar.read(entry))
            if found != machine:
                problems.append(f"{path.name}: {entry} is not an {arch} ELF shared object")
            else:
                size = jar.getinfo(entry).file_size
                print(f"check-jar: {entry}: {arch} ELF shared object, {size:,} bytes")
        for entry in ["dev/ferrio/Manager.class", "dev/ferrio/ffi/Manager.class"]:
            if entry not in names:
                problems.append(f"{path.name}: no {entry}")
    return problems


def check_sources(path: Path) -> list[str]:
    """The sources jar's problems: the Kotlin or generated sources missing, a cdylib packed."""
    with zipfile.ZipFile(path) as jar:
        names = set(jar.namelist())
    problems = [
        f"{path.name}: no {entry}"
        for entry in ["dev/ferrio/Manager.kt", "dev/ferrio/ffi/ferrio_ffi.kt"]
        if entry not in names
    ]
    problems += [f"{path.name}: carries {name}" for name in names if name.endswith(".so")]
    return problems


def check_javadoc(path: Path) -> list[str]:
    """The javadoc jar's problems: no index, no page of the public API."""
    with zipfile.ZipFile(path) as jar:
        names = jar.namelist()
    problems = []
    if "index.html" not in names:
        problems.append(f"{path.name}: no index.html")
    if not any(name.startswith("dev/ferrio/") and name.endswith("Manager.html") for name in names):
        problems.append(f"{path.name}: no page for dev.ferrio.Manager")
    return problems


def main() -> int:
    """Checks every artifact of the installed version; 1 when any has a problem."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repository", type=Path, default=Path.home() / ".m2" / "repository")
    parser.add_argument("--host-only", action="store_true")
    args = parser.parse_args()
    version = subprocess.run(
        [sys.executable, str(ROOT / "packaging" / "version.py")],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    directory = args.repository / "dev" / "ferrio" / "ferrio" / version
    machine = subprocess.run(["uname", "-m"], check=True, capture_output=True, text=True)
    platforms = [HOST[machine.stdout.strip()]] if args.host_only else list(PLATFORMS)
    checks: dict[str, Callable[[Path], list[str]]] = {
        f"ferrio-{version}.jar": lambda path: check_jar(path, platforms),
        f"ferrio-{version}-sources.jar": check_sources,
        f"ferrio-{version}-javadoc.jar": check_javadoc,
        f"ferrio-{version}.pom": lambda path: [],
    }
    problems = []
    for name, check in checks.items():
        path = directory / name
        if not path.is_file():
            problems.append(f"{path}: missing")
            continue
        print(f"check-jar: {path}: {path.stat().st_size:,} bytes")
        problems += check(path)
    for problem in problems:
        print(f"check-jar: {problem}", file=sys.stderr)
    if not problems:
        print(f"check-jar: dev.ferrio:ferrio:{version} is complete ({', '.join(platforms)})")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
