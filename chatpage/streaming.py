"""Moving reply text from the network to the page without blocking the page's own thread.

The page's script thread must stay responsive while a reply streams: Streamlit delivers a
Stop or a new message by raising inside the script thread at its next Streamlit call, which
never comes while that thread sits in a blocking socket read. So a worker thread reads the
`ChatStream`, and the script thread polls a queue, waking at least every `poll` seconds.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator

from liaobots_core import ChatStream

TICK = None  # what `ReplyPump.events` yields when nothing new arrived within `poll`
_END = object()


class ReplyPump:
    """Reads one reply on a worker thread; `events()` hands it to the caller's thread."""

    def __init__(self, stream: ChatStream, poll: float = 0.1) -> None:
        self.stream = stream
        self.poll = poll
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="liaobots-reply", daemon=True)

    def __enter__(self) -> ReplyPump:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Cancel the reply at once; the worker ends by itself as soon as its socket is shut."""
        self.stream.close()

    def _run(self) -> None:
        try:
            for text in self.stream:
                self._queue.put(text)
        except BaseException as exc:  # handed to the page's thread, which decides
            self._queue.put(exc)
        else:
            self._queue.put(_END)

    def events(self) -> Iterator[str | None]:
        """Text as it arrives (all that is waiting, joined), or TICK after `poll` of silence.

        A failure in the worker is raised here, in the caller's thread.
        """
        while True:
            try:
                item = self._queue.get(timeout=self.poll)
            except queue.Empty:
                yield TICK
                continue
            parts: list[str] = []
            while True:
                if item is _END:
                    if parts:
                        yield "".join(parts)
                    return
                if isinstance(item, BaseException):
                    if parts:
                        yield "".join(parts)
                    raise item
                parts.append(item)  # type: ignore[arg-type]
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            yield "".join(parts)


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
