"""First text against concurrent sessions, for 1 and 2 replicas behind nginx: a chart.

Runs `bench/load.py --replicas R --sessions S` for each pair (each run a new cluster, each
session a different user at a real model's pace), keeps the figures, prints a table and draws
`bench/scaling.png` (first text p95 against sessions, one line per replica count). Needs
matplotlib (`pip install -r requirements-bench.txt`).

    python bench/scaling.py --replicas 1 2 --sessions 50 100
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHART = REPO / "bench" / "scaling.png"


def run(replicas: int, sessions: int, extra: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "figures.json"
        command = [
            sys.executable,
            str(REPO / "bench" / "load.py"),
            "--replicas",
            str(replicas),
            "--sessions",
            str(sessions),
            "--json",
            str(out),
            *extra,
        ]
        print("$", " ".join(command[1:]), flush=True)
        finished = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
        if not out.exists():
            raise SystemExit(f"load.py failed:\n{finished.stdout}\n{finished.stderr}")
        figures = json.loads(out.read_text())
    (target,) = figures["targets"].values()
    return target


def chart(rows: list[tuple[int, int, dict]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6.4, 4.0), dpi=120)
    for replicas in sorted({r for r, _, _ in rows}):
        points = sorted((s, t["first_text"]["p95"]) for r, s, t in rows if r == replicas)
        axis.plot(
            [s for s, _ in points],
            [p for _, p in points],
            marker="o",
            label=f"{replicas} replica{'s' if replicas > 1 else ''}",
        )
    axis.axhline(1.0, color="grey", linestyle=":", linewidth=1, label="bar (1 s)")
    axis.set_xlabel("concurrent sessions, each a different user, ~200 characters/s")
    axis.set_ylabel("first text p95 (s)")
    axis.set_title("Liaobots Chat behind nginx on a 2-core machine")
    axis.set_ylim(bottom=0)
    axis.grid(alpha=0.3)
    axis.legend()
    figure.tight_layout()
    figure.savefig(path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--sessions", type=int, nargs="+", default=[50, 100])
    parser.add_argument("--chart", type=Path, default=CHART)
    args, extra = parser.parse_known_args(argv)
    rows = [
        (replicas, sessions, run(replicas, sessions, extra))
        for sessions in args.sessions
        for replicas in args.replicas
    ]
    print()
    print(
        "| replicas | sessions | complete | page load p50 / p95 | first text p50 / p95 "
        "| update gap p50 / p95 | completion p50 | CPU s / s, all replicas | RSS peak, all |"
    )
    print("|---:|---:|---:|---|---|---|---:|---:|---:|")
    for replicas, sessions, t in rows:
        print(
            f"| {replicas} | {sessions} | {t['complete']}/{t['sessions']} "
            f"| {t['page_load']['p50']:.3f} / {t['page_load']['p95']:.3f} "
            f"| {t['first_text']['p50']:.3f} / {t['first_text']['p95']:.3f} "
            f"| {t['gap']['p50']:.3f} / {t['gap']['p95']:.3f} "
            f"| {t['completion']['p50']:.2f} "
            f"| {t['cpu_seconds'] / t['wall_seconds']:.2f} "
            f"| {t['rss_peak'] / 1e6:.0f} MB |"
        )
    chart(rows, args.chart)
    print(f"\nchart: {args.chart.relative_to(REPO)}")
    print(f"`python bench/scaling.py {' '.join(argv if argv is not None else sys.argv[1:])}`")
    return 0


if __name__ == "__main__":
    sys.exit(main())
