"""Python's garbage collector in a long-lived process that serves many people at once.

A full collection walks every object the process holds and stops all its threads meanwhile:
Streamlit, SQLAlchemy, protobuf and the page's own modules are hundreds of thousands of
objects that live as long as the process. Once the server has started, `settle` moves them
out of the collector's sight (`gc.freeze`), so a collection walks only what sessions and
replies made since. Each collection's pause is measured (`liaobots_chat_gc_pause_seconds`),
and a long one is logged, so a pause an operator sees in the page can be told from others.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from typing import Any

from chatpage.operations import metrics

log = logging.getLogger(__name__)

LONG_PAUSE = 0.2  # seconds: a collection this long is logged (a page shows 5 updates a second)

_started: dict[int, float] = {}  # a collection's start, by the thread that runs it
_settled = threading.Event()


def settle() -> None:
    """Collect, keep everything alive now out of later collections, collect again; measure each.

    Called when the server has started, before anyone's session; again, it does nothing.
    """
    if _settled.is_set():
        return
    _settled.set()
    gc.collect()
    gc.freeze()
    # CPython starts a full collection only once the objects that reached the oldest
    # generation since the last one outnumber a quarter of those it found there; the
    # collection above found the frozen ones. Left so, the sessions Streamlit lets go (their
    # state in reference cycles) waited for a quarter of the start's objects before they were
    # freed: 2.8 MB more a hundred replies. One more collection counts only what is not frozen.
    gc.collect()
    gc.callbacks.append(_timed)
    kept = gc.get_freeze_count()
    log.info("garbage collection: %d objects of the start kept out of it", kept)


def _timed(phase: str, info: dict[str, Any]) -> None:
    """A `gc.callbacks` hook: the time from a collection's start to its stop."""
    thread = threading.get_ident()
    if phase == "start":
        _started[thread] = time.perf_counter()
        return
    began = _started.pop(thread, None)
    if began is None:
        return
    seconds = time.perf_counter() - began
    generation = str(info.get("generation", 2))
    metrics.GC_PAUSE.labels(generation=generation).observe(seconds)
    if seconds >= LONG_PAUSE:
        log.warning(
            "a garbage collection (generation %s) held the process for %.2f s", generation, seconds
        )
