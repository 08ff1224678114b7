"""Pacing a reply's text for the page: updates joined in time, and a tick for silence.

The page's script thread must stay responsive while a reply streams: Streamlit delivers a
rerun by raising inside the script thread at its next Streamlit call, which never comes
while that thread waits for text. So the text source yields TICK after a moment of silence,
and the page answers it with a cheap Streamlit call.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator

TICK = None  # what `ReplyPump.events` yields when nothing new arrived within `poll`
_END = object()


def coalesce(
    events: Iterable[str | None],
    interval: float,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[str | None]:
    """Join text that arrives within `interval` of the last update into one update.

    The first text passes at once (no added wait before the reply appears); after that at
    most one update per `interval`. TICKs pass through so the caller keeps control.
    """
    pending: list[str] = []
    last_update = float("-inf")
    for event in events:
        if event:
            pending.append(event)
        now = clock()
        if pending and now - last_update >= interval:
            yield "".join(pending)
            pending = []
            last_update = now
        elif event is TICK:
            yield TICK
    if pending:
        yield "".join(pending)
