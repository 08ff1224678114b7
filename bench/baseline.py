"""A benchmark's rounds on this checkout and on another (`--baseline DIR`), alternating.

Each round runs in a child process whose imports come from the checkout measured (a
`git worktree` of an older commit, say), so both meet the same machine, one round after the
other.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def checkouts(baseline: Path | None) -> dict[str, Path]:
    """This checkout, and the baseline if one was given, by the name the tables give them."""
    codes = {"this code": REPO}
    if baseline is not None:
        codes["baseline"] = baseline.resolve()
    return codes


def round_in(code: Path, module: str, call: str) -> dict[str, float]:
    """`module.call` (a bench module, a call returning a dict of figures) run on `code`."""
    script = (
        f"import sys, json; sys.path.insert(0, {str(code)!r}); "
        f"sys.path.insert(1, {str(REPO / 'bench')!r}); import {module}; "
        f"print(json.dumps({module}.{call}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=code, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def alternate(
    codes: dict[str, Path], rounds: int, module: str, call: str
) -> dict[str, list[dict[str, float]]]:
    """`rounds` rounds of each checkout, one after the other."""
    results: dict[str, list[dict[str, float]]] = {name: [] for name in codes}
    for _ in range(rounds):
        for name, code in codes.items():
            results[name].append(round_in(code, module, call))
    return results


def print_table(
    results: dict[str, list[dict[str, float]]], columns: dict[str, str], digits: int
) -> None:
    """A Markdown table: each checkout's rounds' median (range) of each figure."""
    print(f"| code | {' | '.join(columns.values())} |")
    print(f"|---|{'---|' * len(columns)}")
    for name, rounds in results.items():
        cells = []
        for figure in columns:
            values = [r[figure] for r in rounds]
            median, low, high = statistics.median(values), min(values), max(values)
            cells.append(f"{median:.{digits}f} ({low:.{digits}f}–{high:.{digits}f})")
        print(f"| {name} | {' | '.join(cells)} |")
