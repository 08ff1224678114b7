"""The garbage collector of a long-lived page process: the start kept out, every pause measured."""

from __future__ import annotations

import gc
import subprocess
import sys
from pathlib import Path

from prometheus_client import REGISTRY

from chatpage.operations import collector

REPO = Path(__file__).resolve().parents[2]


def _collections(generation: str) -> float:
    value = REGISTRY.get_sample_value(
        "liaobots_chat_gc_pause_seconds_count", {"generation": generation}
    )
    return value or 0.0


def test_settling_keeps_the_start_out_of_collections_and_measures_each_pause() -> None:
    collector.settle()
    collector.settle()  # again: nothing more
    assert gc.get_freeze_count() > 10_000  # the modules and objects of the start
    assert gc.callbacks.count(collector._timed) == 1
    before = _collections("2")
    gc.collect()
    assert _collections("2") == before + 1


_SESSIONS_LET_GO = """
import gc, weakref
from chatpage.operations import collector

start = [[n] for n in range(600_000)]  # what a server holds once it has started
collector.settle()


class Part:
    pass


alive, let_go = [], []
for _ in range(1_500):  # sessions: objects in reference cycles, kept a while, then let go
    session = []
    for _ in range(500):
        a, b = Part(), Part()
        a.other, b.other = b, a
        session.append(a)
    alive.append(session)
    if len(alive) > 5:
        let_go.append(weakref.ref(alive.pop(0)[0]))
    for _ in range(200):
        [{} for _ in range(5)]  # the rest of a busy process's allocations
print(sum(ref() is not None for ref in let_go[:-10]), len(let_go) - 10)
"""


def test_sessions_let_go_after_settling_are_freed_without_waiting_for_the_start() -> None:
    """CPython starts a full collection once what reached the oldest generation outnumbers a
    quarter of what the last one found there; that must not count the frozen start, or the
    sessions Streamlit lets go pile up (2.8 MB a hundred replies in bench/load.py --rounds)."""
    done = subprocess.run(
        [sys.executable, "-c", _SESSIONS_LET_GO],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        check=True,
    )
    still_alive, let_go = map(int, done.stdout.split())
    assert let_go > 1_000
    assert still_alive <= 12, f"{still_alive} of {let_go} sessions let go still held"
