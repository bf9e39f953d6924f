#!/usr/bin/env python3
"""Ferrio's one version number, and every place that must agree with it.

The version is set in one place: `version` under `[workspace.package]` in the top-level
Cargo.toml. The Rust crates inherit it (`version.workspace = true`) and the Python package
reads it through maturin (`dynamic = ["version"]`). Maven cannot read Cargo.toml, so the
Kotlin package's POM and every POM that depends on `dev.ferrio:ferrio` carry a copy, and
CHANGELOG.md names the version it describes; this script keeps those copies in step.

    python3 packaging/version.py            # print the version
    python3 packaging/version.py check      # exit 1, listing each copy that disagrees
    python3 packaging/version.py check --tag v0.2.0   # also: a release tag must match
    python3 packaging/version.py set 0.2.0  # write the version everywhere (then update
                                            # CHANGELOG.md by hand; `check` says so)

The Swift package has no version of its own: SwiftPM takes it from the release's git tag.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CARGO_TOML = ROOT / "Cargo.toml"
CHANGELOG = ROOT / "CHANGELOG.md"
# The POM of the package itself: its own <version> is the package's version.
PACKAGE_POM = ROOT / "bindings/kotlin/pom.xml"
# POMs that depend on dev.ferrio:ferrio: the dependency's <version> must match.
DEPENDENT_POMS = [ROOT / "examples/kotlin/pom.xml", ROOT / "benches/kotlin/client/pom.xml"]

SEMVER = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$")
WORKSPACE_VERSION = re.compile(
    r'(\[workspace\.package\][^\[]*?\nversion\s*=\s*")([^"]+)(")', re.DOTALL
)
# The first <version> after the POM's own <artifactId>ferrio</artifactId> (not the parent's).
PACKAGE_VERSION = re.compile(
    r"(<groupId>dev\.ferrio</groupId>\s*<artifactId>ferrio</artifactId>\s*<version>)"
    r"([^<]+)(</version>)"
)
CHANGELOG_HEADING = re.compile(r"^## \[?(\d+\.\d+\.\d+[^\]\s]*)\]?", re.MULTILINE)


class VersionError(Exception):
    """A file that should carry the version does not have the expected shape."""


def read_version() -> str:
    """The version from the top-level Cargo.toml's [workspace.package]."""
    match = WORKSPACE_VERSION.search(CARGO_TOML.read_text())
    if match is None:
        raise VersionError(f"{CARGO_TOML}: no version under [workspace.package]")
    return match.group(2)


def pom_versions(path: Path) -> list[str]:
    """Every version the POM gives dev.ferrio:ferrio (as itself or as a dependency)."""
    found = PACKAGE_VERSION.findall(path.read_text())
    if not found:
        raise VersionError(f"{path}: no <version> for dev.ferrio:ferrio")
    return [version for _, version, _ in found]


def changelog_version() -> str | None:
    """The version of the newest release heading in CHANGELOG.md, if any."""
    match = CHANGELOG_HEADING.search(CHANGELOG.read_text())
    return match.group(1) if match else None


def mismatches(version: str, tag: str | None) -> list[str]:
    """One line per copy of the version that differs from `version`."""
    problems = []
    for pom in [PACKAGE_POM, *DEPENDENT_POMS]:
        for found in pom_versions(pom):
            if found != version:
                problems.append(f"{pom.relative_to(ROOT)}: dev.ferrio:ferrio {found}")
    newest = changelog_version()
    if newest != version:
        problems.append(f"CHANGELOG.md: newest release heading is {newest}, not {version}")
    if tag is not None and tag.removeprefix("v") != version:
        problems.append(f"release tag {tag} does not name version {version}")
    return problems


def set_version(version: str) -> None:
    """Writes `version` into Cargo.toml and every POM copy."""
    if not SEMVER.match(version):
        raise VersionError(f"{version!r} is not a semantic version (1.2.3 or 1.2.3-rc.1)")
    text = CARGO_TOML.read_text()
    CARGO_TOML.write_text(WORKSPACE_VERSION.sub(rf"\g<1>{version}\g<3>", text, count=1))
    for pom in [PACKAGE_POM, *DEPENDENT_POMS]:
        pom.write_text(PACKAGE_VERSION.sub(rf"\g<1>{version}\g<3>", pom.read_text()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command")
    check = commands.add_parser("check", help="exit 1 when a copy of the version disagrees")
    check.add_argument("--tag", help="a release tag (v1.2.3) that must name the version")
    setter = commands.add_parser("set", help="write a new version everywhere")
    setter.add_argument("version")
    args = parser.parse_args()
    try:
        if args.command == "set":
            set_version(args.version)
            print(f"version {args.version} written; now add its section to CHANGELOG.md")
            return 0
        version = read_version()
        if args.command == "check":
            problems = mismatches(version, args.tag)
            for problem in problems:
                print(f"version {version} (Cargo.toml) disagrees with {problem}", file=sys.stderr)
            if problems:
                print("fix with: python3 packaging/version.py set VERSION", file=sys.stderr)
                return 1
            print(f"version {version}: Cargo.toml, POMs and CHANGELOG.md agree")
            return 0
        print(version)
        return 0
    except (OSError, VersionError) as error:
        print(f"version.py: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
