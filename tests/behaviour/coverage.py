#!/usr/bin/env python3
"""Generates tests/COVERAGE.md from the behaviour table and the drivers' results.

    python3 tests/behaviour/coverage.py           # write tests/COVERAGE.md (make coverage)
    python3 tests/behaviour/coverage.py --check   # fail if it is out of date or a run failed

The catalogue is tests/behaviour/scenarios.json; each language's driver writes
target/behaviour/<language>.json (FERRIO_BEHAVIOUR_RESULTS overrides the directory) with
one result per scenario and transport: pass, fail or not-applicable (with the reason). The
table's cells list the transports that passed; a scenario that does not apply to a
language shows why. tests/behaviour/unconverted.md, the tests not yet in the catalogue
(listed by hand until they move into it), is appended below the generated table.

--check (in `make test`, after every language's tests) fails when a language has no
results, when its results are older than the catalogue or do not cover it exactly, when a
run failed, or when tests/COVERAGE.md differs from what this script generates. With
FERRIO_SKIP_SWIFT=1 (make test-swift skipped), missing Swift results are reported, not
failed, and the file is not compared (its Swift column cannot be proven).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CATALOGUE = HERE / "scenarios.json"
UNCONVERTED = HERE / "unconverted.md"
COVERAGE = REPO / "tests" / "COVERAGE.md"
LANGUAGES = [
    ("rust", "Rust"),
    ("cli", "CLI"),
    ("python", "Python"),
    ("kotlin", "Kotlin"),
    ("swift", "Swift"),
]
#: The make target whose tests run each language's driver.
TARGETS = {
    "rust": "test-rust",
    "cli": "test-rust",
    "python": "test-python",
    "kotlin": "test-kotlin",
    "swift": "test-swift",
}
OUTCOMES = ("pass", "fail", "not-applicable")


def results_dir() -> Path:
    return Path(os.environ.get("FERRIO_BEHAVIOUR_RESULTS", REPO / "target" / "behaviour"))


def load_results(problems: list[str]) -> dict[str, dict[tuple[str, str], dict[str, Any]]]:
    """Each language's results by (scenario, transport); a problem noted for each missing file."""
    found: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}
    for language, _ in LANGUAGES:
        path = results_dir() / f"{language}.json"
        if not path.exists():
            problems.append(
                f"{language}: no results ({path}): run its tests (make {TARGETS[language]})"
            )
            continue
        if path.stat().st_mtime < CATALOGUE.stat().st_mtime:
            problems.append(f"{language}: results older than the catalogue: run its tests again")
        data = json.loads(path.read_text(encoding="utf-8"))
        found[language] = {(r["scenario"], r["transport"]): r for r in data["results"]}
    return found


def check_results(
    catalogue: dict[str, Any],
    results: dict[str, dict[tuple[str, str], dict[str, Any]]],
    problems: list[str],
) -> None:
    expected = {(s["id"], t) for s in catalogue["scenarios"] for t in s["transports"]}
    for language, by_key in results.items():
        missing = sorted(expected - by_key.keys())
        extra = sorted(by_key.keys() - expected)
        if missing:
            problems.append(f"{language}: no result for {missing}: run its tests again")
        if extra:
            problems.append(f"{language}: results for runs not in the catalogue {extra}")
        for (scenario, transport), result in sorted(by_key.items()):
            if result["outcome"] not in OUTCOMES:
                problems.append(
                    f"{language}: {scenario} {transport}: bad outcome {result['outcome']!r}"
                )
            if result["outcome"] == "fail":
                problems.append(
                    f"{language}: {scenario} over {transport} FAILED: {result.get('detail', '')}"
                )


def cell(
    scenario: dict[str, Any],
    language: str,
    results: dict[str, dict[tuple[str, str], dict[str, Any]]],
    notes: list[str],
) -> str:
    if language not in results:
        return "not run"
    reason = scenario.get("not_applicable", {}).get(language)
    if reason is not None:
        notes.append(f"{scenario['id']}, {language}: {reason}")
        return f"n/a ({len(notes)})"
    passed, failed, absent = [], [], []
    for transport in scenario["transports"]:
        result = results[language].get((scenario["id"], transport))
        if result is None:
            absent.append(transport)
        elif result["outcome"] == "pass":
            passed.append(transport)
        else:
            failed.append(transport)
    parts = [" ".join(passed)] if passed else []
    if failed:
        parts.append("**FAILS: " + " ".join(failed) + "**")
    if absent:
        parts.append("not run: " + " ".join(absent))
    return ", ".join(parts)


def generate(
    catalogue: dict[str, Any], results: dict[str, dict[tuple[str, str], dict[str, Any]]]
) -> str:
    notes: list[str] = []
    header = "| Behaviour (scenario) | " + " | ".join(name for _, name in LANGUAGES) + " |"
    rows = [header, "|---" * (len(LANGUAGES) + 1) + "|"]
    for scenario in catalogue["scenarios"]:
        cells = [cell(scenario, language, results, notes) for language, _ in LANGUAGES]
        rows.append(f"| {scenario['title']} (`{scenario['id']}`) | " + " | ".join(cells) + " |")
    counts = {outcome: 0 for outcome in OUTCOMES}
    for by_key in results.values():
        for result in by_key.values():
            counts[result["outcome"]] = counts.get(result["outcome"], 0) + 1
    runs = sum(len(s["transports"]) for s in catalogue["scenarios"])
    lines = [
        "# Which behaviour is tested in which language",
        "",
        "<!-- Generated by tests/behaviour/coverage.py (make coverage) from",
        "     tests/behaviour/scenarios.json and the drivers' results; do not edit: change the",
        "     catalogue or tests/behaviour/unconverted.md instead. -->",
        "",
        "Every scenario of the behaviour table (`tests/behaviour/scenarios.json`, format in",
        "`tests/behaviour/README.md`) is run by a driver in each language against the",
        "reference server (`tests/server`, Node `socket.io` from the lockfile) on an",
        "ephemeral loopback port. Transports: P = polling only, W = WebSocket only, U = polling",
        "upgraded to WebSocket; a cell lists the transports over which the scenario passed.",
        "",
        *rows,
        "",
        f"Totals: {len(catalogue['scenarios'])} scenarios, {runs} scenario-transport runs per"
        f" language, {len(results)} languages: {counts['pass']} passed, {counts['fail']} failed,"
        f" {counts['not-applicable']} not applicable.",
    ]
    if notes:
        lines += ["", "Not applicable:", ""]
        lines += [f"{n}. {note}" for n, note in enumerate(notes, start=1)]
    if UNCONVERTED.exists():
        lines += ["", UNCONVERTED.read_text(encoding="utf-8").rstrip()]
    return "\n".join(lines) + "\n"


def main() -> int:
    check = "--check" in sys.argv[1:]
    catalogue = json.loads(CATALOGUE.read_text(encoding="utf-8"))
    problems: list[str] = []
    results = load_results(problems)
    check_results(catalogue, results, problems)
    text = generate(catalogue, results)
    if not check:
        COVERAGE.write_text(text, encoding="utf-8")
        print(f"coverage: wrote {COVERAGE.relative_to(REPO)}")
        for problem in problems:
            print(f"coverage: {problem}", file=sys.stderr)
        return 0
    skipped = os.environ.get("FERRIO_SKIP_SWIFT") == "1" and "swift" not in results
    if skipped:
        problems = [p for p in problems if not p.startswith("swift: no results")]
        print("coverage: !!! Swift SKIPPED (FERRIO_SKIP_SWIFT=1): tests/COVERAGE.md not compared")
    current = COVERAGE.read_text(encoding="utf-8") if COVERAGE.exists() else ""
    if current != text and not skipped:
        problems.append(
            "tests/COVERAGE.md is out of date with the catalogue and the results (or was edited"
            " by hand): run `make coverage` and commit it (hand-kept rows go in"
            " tests/behaviour/unconverted.md)"
        )
    for problem in problems:
        print(f"coverage: {problem}", file=sys.stderr)
    if problems:
        return 1
    if skipped:
        print("coverage: every scenario passed where it applies (Swift not run)")
    else:
        print("coverage: tests/COVERAGE.md is up to date; every scenario passed where it applies")
    return 0


if __name__ == "__main__":
    sys.exit(main())
