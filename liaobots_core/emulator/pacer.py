"""One thread that writes every paced reply's pieces on time.

A model's reply comes as a small piece every few milliseconds. A handler thread that sleeps
between its pieces wakes and takes the interpreter lock once per piece: at 150 replies of a
4-byte piece every 20 ms that is 7,500 thread switches a second, a third of a core of the
machine a benchmark shares with the page it measures (0.10 here: `bench/emulator_cost.py`).
Here one thread keeps every paced reply's next due time in a heap and writes each piece when
it is due, without blocking: a full socket keeps its piece for the next turn, a closed one
ends its reply. The handler thread waits for its reply to be written, as it waited before.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import socket
import threading
import time
from collections.abc import Sequence

logger = logging.getLogger(__name__)

_SEND_FLAGS = getattr(socket, "MSG_DONTWAIT", 0) | getattr(socket, "MSG_NOSIGNAL", 0)


def can_pace(sock: object) -> bool:
    """Whether `sock` can be written here: a plain socket without a timeout (Python waits
    for room before a send on one with a timeout, which would hold every reply up), on a
    system with non-blocking sends per call (Linux). TLS sockets, sockets with a timeout and
    other systems write from their own thread."""
    return (
        type(sock) is socket.socket
        and sock.gettimeout() is None
        and bool(getattr(socket, "MSG_DONTWAIT", 0))
    )


class _Reply:
    """One reply's pieces, where it stands, and how it ended."""

    __slots__ = ("delay", "done", "failed", "index", "offset", "pieces", "sock")

    def __init__(self, sock: socket.socket, pieces: Sequence[bytes], delay: float) -> None:
        self.sock = sock
        self.pieces = pieces
        self.delay = delay
        self.index = 0  # the piece being written
        self.offset = 0  # how much of it has left
        self.done = threading.Event()
        self.failed = False

    def write(self) -> bool:
        """Write what is due without blocking; whether the current piece left whole."""
        piece = self.pieces[self.index]
        try:
            self.offset += self.sock.send(memoryview(piece)[self.offset :], _SEND_FLAGS)
        except BlockingIOError:  # the peer reads slower than we send: the rest waits
            return False
        except OSError:  # the peer went away, or stop() shut the connection
            self.finish(failed=True)
            return False
        if self.offset < len(piece):
            return False
        self.index += 1
        self.offset = 0
        if self.index == len(self.pieces):
            self.finish(failed=False)
        return True

    def finish(self, *, failed: bool) -> None:
        self.failed = failed
        self.done.set()


class Pacer:
    """Writes the pieces of many replies, each `delay` seconds after the one before it."""

    def __init__(self, stopping: threading.Event, name: str = "liaobots-emulator-pacer") -> None:
        self._stopping = stopping
        self._name = name
        self._due: list[tuple[float, int, _Reply]] = []
        self._order = itertools.count()  # ties keep arrival order; replies never compare
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    def send(
        self, sock: socket.socket, pieces: Sequence[bytes], delay: float, *, wait_first: bool
    ) -> bool:
        """Write `pieces` with `delay` seconds before each (the first too, if `wait_first`);
        True once all have left, False if the peer went away or the emulator stopped."""
        if not pieces:
            return True
        reply = _Reply(sock, pieces, delay)
        first = time.monotonic() + (delay if wait_first else 0.0)
        with self._changed:
            if self._stopping.is_set():
                return False
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            heapq.heappush(self._due, (first, next(self._order), reply))
            self._changed.notify()
        reply.done.wait()  # `stop` ends it too
        return not reply.failed

    def stop(self) -> None:
        """After `stopping` is set: end every reply still being written, as failed, and the
        thread."""
        with self._changed:
            for _, _, reply in self._due:
                reply.finish(failed=True)
            self._due.clear()
            self._changed.notify()

    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._due or self._due[0][0] > time.monotonic():
                    if self._stopping.is_set():
                        return
                    timeout = self._due[0][0] - time.monotonic() if self._due else None
                    self._changed.wait(timeout)
                _, _, reply = heapq.heappop(self._due)
            try:
                whole = reply.write()
            except Exception:  # a bug here must not leave its handler, or the others, waiting
                logger.exception("the emulator could not write a paced reply")
                reply.finish(failed=True)
                continue
            if reply.done.is_set():
                continue
            # The next piece `delay` after this one left; a piece that did not fit tries
            # again then too.
            again = time.monotonic() + (reply.delay if whole else max(reply.delay, 0.001))
            with self._changed:
                if self._stopping.is_set():  # `stop` has emptied the heap already
                    reply.finish(failed=True)
                else:
                    heapq.heappush(self._due, (again, next(self._order), reply))
