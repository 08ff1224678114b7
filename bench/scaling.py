"""First text against concurrent sessions, for 1 and 2 replicas behind nginx: a chart.

Runs `bench/load.py --replicas R --sessions S` for each pair (each run a new cluster, each
session a different user at a model's pace: load.py's default of a 4-character token every
20 ms), `--repeat` times with the pairs interleaved
(the machine is shared and noisy), prints a table of medians with each run's p95, and draws
`bench/scaling.png` (first text p95 against sessions, one line per replica count: the median,
with a bar from the lowest run to the highest). Needs matplotlib
(`pip install -r requirements-bench.txt`).

    python bench/scaling.py --replicas 1 2 --sessions 50 100 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import statistics
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


def p95s(runs: list[dict], figure: str) -> list[float]:
    return [run[figure]["p95"] for run in runs]


def chart(rows: list[tuple[int, int, list[dict]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6.4, 4.0), dpi=120)
    for replicas in sorted({r for r, _, _ in rows}):
        points = sorted((s, p95s(runs, "first_text")) for r, s, runs in rows if r == replicas)
        middle = [statistics.median(values) for _, values in points]
        axis.errorbar(
            [s for s, _ in points],
            middle,
            yerr=[
                [m - min(values) for m, (_, values) in zip(middle, points, strict=True)],
                [max(values) - m for m, (_, values) in zip(middle, points, strict=True)],
            ],
            marker="o",
            capsize=4,
            label=f"{replicas} replica{'s' if replicas > 1 else ''}",
        )
    axis.axhline(1.0, color="grey", linestyle=":", linewidth=1, label="bar (1 s)")
    axis.set_xlabel("concurrent sessions, each a different user, ~200 characters/s")
    axis.set_ylabel("first text p95 (s): median, lowest-highest run")
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
    parser.add_argument("--repeat", type=int, default=3, help="runs of each pair")
    args, extra = parser.parse_known_args(argv)
    pairs = [(r, s) for s in args.sessions for r in args.replicas]
    runs: dict[tuple[int, int], list[dict]] = {pair: [] for pair in pairs}
    for _ in range(args.repeat):
        for replicas, sessions in pairs:
            runs[replicas, sessions].append(run(replicas, sessions, extra))
    rows = [(r, s, runs[r, s]) for r, s in pairs]

    def spread(values: list[float], digits: int = 2) -> str:
        each = ", ".join(f"{v:.{digits}f}" for v in values)
        return f"**{statistics.median(values):.{digits}f}** ({each})"

    print()
    print(
        "| replicas | sessions | complete | page load p95 | first text p95 | update gap p95 "
        "| CPU s / s, all replicas | RSS peak, all |"
    )
    print("|---:|---:|---|---|---|---|---:|---:|")
    for replicas, sessions, done in rows:
        complete = ", ".join(f"{t['complete']}/{t['sessions']}" for t in done)
        cpu = statistics.median(t["cpu_seconds"] / t["wall_seconds"] for t in done)
        rss = statistics.median(t["rss_peak"] for t in done)
        print(
            f"| {replicas} | {sessions} | {complete} "
            f"| {spread(p95s(done, 'page_load'))} | {spread(p95s(done, 'first_text'))} "
            f"| {spread(p95s(done, 'gap'), 3)} | {cpu:.2f} | {rss / 1e6:.0f} MB |"
        )
    chart(rows, args.chart)
    print(f"\nchart: {args.chart.relative_to(REPO)}")
    print(f"`python bench/scaling.py {' '.join(argv if argv is not None else sys.argv[1:])}`")
    return 0


if __name__ == "__main__":
    sys.exit(main())
