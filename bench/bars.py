"""The page's bars at a model's pace, over several runs: each run, then medians and spreads.

One run of `bench/load.py` says little on a shared machine: the same code's first text p95
moved from 0.2 s to 2.2 s between runs an hour apart (docs/benchmarks.md). This runs it
`--runs` times, each with a fresh page process, prints every run against the bars (first
text p95 ≤ 1 s, update gap p95 ≤ 0.5 s, page load p95 ≤ 2 s, every reply complete; and the
longest gap under 1 s), then each figure's median and range and in how many runs every bar
held. With `--baseline DIR` (a `git worktree` of another commit) the runs alternate between
the two checkouts, so both meet the same machine. Arguments after `--` go to `bench/load.py`
(default: `--sessions 100 --idle 2`); the page alone is measured.

    python bench/bars.py --runs 5
    python bench/bars.py --runs 3 -- --replicas 2 --sessions 150 --idle 2
    git worktree add /tmp/before HEAD~1 && python bench/bars.py --runs 6 --baseline /tmp/before
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import baseline

DEFAULT_LOAD_ARGS = ("--sessions", "100", "--idle", "2")
# The p95 bars, by the figure `bench/load.py --json` gives them under.
P95_BARS = {"page_load": 2.0, "first_text": 1.0, "gap": 0.5}
LONGEST_GAP_BAR = 1.0


@dataclass(frozen=True)
class Run:
    """One run of `bench/load.py`'s page, as its `--json` figures give it."""

    code: str
    complete: int
    sessions: int
    page_load: float
    first_text: float
    gap: float
    longest_gap: float
    cpu_per_reply: float
    others_cores: float

    @classmethod
    def from_figures(cls, code: str, figures: dict) -> Run:
        (page,) = figures["targets"].values()
        complete = int(page["complete"])
        return cls(
            code=code,
            complete=complete,
            sessions=int(page["sessions"]),
            page_load=page["page_load"].get("p95", math.nan),
            first_text=page["first_text"].get("p95", math.nan),
            gap=page["gap"].get("p95", math.nan),
            longest_gap=page["gap"].get("max", math.nan),
            cpu_per_reply=page["cpu_seconds"] / complete if complete else math.nan,
            # Older checkouts' figures lack it.
            others_cores=page.get("others_cores", math.nan),
        )

    @property
    def missed(self) -> list[str]:
        """The bars this run missed (the longest gap's is not among them: see `held`)."""
        missed = [name for name, bar in P95_BARS.items() if not getattr(self, name) <= bar]
        if self.complete < self.sessions:
            missed.append("complete")
        return missed

    @property
    def held(self) -> bool:
        return not self.missed

    @property
    def held_without_pause(self) -> bool:
        """Every bar, and no session's update gap a second or longer."""
        return self.held and self.longest_gap < LONGEST_GAP_BAR


def measure(code: Path, name: str, load_args: Sequence[str], log: Path) -> Run:
    """One run of `code`'s `bench/load.py` (its own page and emulator), its output to `log`."""
    figures = log.with_suffix(".json")
    command = [
        sys.executable,
        str(code / "bench" / "load.py"),
        *load_args,
        "--target",
        "page",
        "--json",
        str(figures),
    ]
    with log.open("w") as out:
        # A run with a failed session exits 1 and still writes its figures: counted, not lost.
        subprocess.run(command, cwd=code, stdout=out, stderr=subprocess.STDOUT, check=False)
    if not figures.exists():
        raise RuntimeError(f"bench/load.py wrote no figures; its output is in {log}")
    return Run.from_figures(name, json.loads(figures.read_text()))


def _seconds(value: float, digits: int = 3) -> str:
    return "–" if math.isnan(value) else f"{value:.{digits}f}"


def run_row(number: int, run: Run) -> str:
    verdict = "held" if run.held else "missed: " + ", ".join(run.missed)
    return (
        f"| {number} | {run.code} | {run.complete}/{run.sessions} | {_seconds(run.page_load)} "
        f"| {_seconds(run.first_text)} | {_seconds(run.gap)} | {_seconds(run.longest_gap, 2)} "
        f"| {_seconds(run.cpu_per_reply)} | {_seconds(run.others_cores, 2)} | {verdict} |"
    )


RUN_HEADER = (
    "| run | code | complete | page load | first text | update gap | longest gap "
    "| CPU s per reply | others' cores | bars |\n"
    "|---:|---|---:|---:|---:|---:|---:|---:|---:|---|"
)
SUMMARY_FIGURES = {
    "page_load": "page load",
    "first_text": "first text",
    "gap": "update gap",
    "longest_gap": "longest gap",
    "cpu_per_reply": "CPU s per reply",
}


def summary(runs: list[Run]) -> str:
    """Per checkout: each figure's median (range), and the runs in which the bars held."""
    names = list(dict.fromkeys(run.code for run in runs))
    lines = [
        f"| code | {' | '.join(SUMMARY_FIGURES.values())} | every bar | and longest gap < 1 s |",
        f"|---|{'---:|' * (len(SUMMARY_FIGURES) + 2)}",
    ]
    for name in names:
        mine = [run for run in runs if run.code == name]
        cells = []
        for figure in SUMMARY_FIGURES:
            values = [getattr(run, figure) for run in mine]
            values = [v for v in values if not math.isnan(v)]
            if not values:
                cells.append("–")
                continue
            cells.append(f"{statistics.median(values):.3f} ({min(values):.3f}–{max(values):.3f})")
        held = sum(run.held for run in mine)
        calm = sum(run.held_without_pause for run in mine)
        lines.append(
            f"| {name} | {' | '.join(cells)} | {held} of {len(mine)} | {calm} of {len(mine)} |"
        )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each checkout")
    parser.add_argument("--baseline", type=Path, help="another checkout, run in alternation")
    parser.add_argument("--logs", type=Path, help="keep each run's output here")
    parser.add_argument("load_args", nargs="*", help="after --: arguments for bench/load.py")
    args = parser.parse_args(argv)
    if not args.load_args:
        args.load_args = list(DEFAULT_LOAD_ARGS)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    codes = baseline.checkouts(args.baseline)
    with tempfile.TemporaryDirectory(prefix="bars-") as scratch:
        logs = args.logs or Path(scratch)
        logs.mkdir(parents=True, exist_ok=True)
        runs: list[Run] = []
        print(RUN_HEADER, flush=True)
        for _ in range(args.runs):
            for name, code in codes.items():
                log = logs / f"run-{len(runs) + 1}.log"
                runs.append(measure(code, name, args.load_args, log))
                print(run_row(len(runs), runs[-1]), flush=True)
        print()
        print(summary(runs))
    command = " ".join(["python bench/bars.py", *(argv or sys.argv[1:])])
    print(f"\n`{command}`; seconds as p95 (longest gap: the longest of any session)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
