"""The server sends what every session has queued in one turn of its event loop, not a turn
per message.

Streamlit (1.67) sends the sessions' queued messages from its runtime loop
(`Runtime._loop_coroutine`) and yields to the event loop after each one
(`await asyncio.sleep(0)`). Each yield is a turn of the loop: a system call to poll the sockets,
after which the loop's thread must win the interpreter back from the page runs and reply
threads. At 100 sessions streaming (about 500 updates a second) the loop spent its time so,
and every session's updates stopped at once for one to three seconds while the sessions
arrived (docs/benchmarks.md, "The pauses at 100 sessions").

`install` gives Streamlit's runtime module an `asyncio` whose `sleep(0)` goes on at once,
unless the loop has worked `YIELD_EVERY` seconds or sent `SENDS_PER_TURN` messages to one
session since it last waited, so that one long send still lets the other tasks in. The count
matters as much as the time: each browser's sender (another task on the loop) takes what was
queued for it only in a turn of the loop, and Streamlit closes a session whose sender holds 500
messages (`WEBSOCKET_MAX_SEND_QUEUE_SIZE`); a long run's burst (a search hit opening 200
messages back, some 1,500 deltas queued while the loop waited for the interpreter) fits in
5 ms of sending. The work is counted in the loop thread's own CPU time: time spent waiting for
the interpreter is no reason to wait again. Every other name is asyncio's own.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import time
import types
from typing import Any, TypeVar

from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.runtime import runtime
from streamlit.runtime.session_manager import ActiveSessionInfo

log = logging.getLogger(__name__)

T = TypeVar("T")
# CPU seconds the runtime loop may send without yielding: other tasks on the event loop (a
# websocket's sender, a new connection) wait at most about this long for their turn.
YIELD_EVERY = 0.005
# Messages the runtime loop may send one session without yielding: well below the 500 its
# browser's sender may hold (Streamlit's `WEBSOCKET_MAX_SEND_QUEUE_SIZE`), which it empties
# in each turn. Many sessions' few messages each still go out in one turn.
SENDS_PER_TURN = 100


class _AsyncioForTheRuntimeLoop(types.ModuleType):
    """asyncio, with a `sleep(0)` that yields only when the loop has worked `YIELD_EVERY` or
    sent one session `SENDS_PER_TURN` messages."""

    def __init__(self) -> None:
        super().__init__("asyncio", asyncio.__doc__)
        self.resumed = time.thread_time()  # the loop thread's CPU time after its last wait
        self.session: str | None = None  # the session the loop sends to
        self.in_a_row = 0  # messages sent it since the loop's last wait

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)

    async def sleep(self, delay: float, result: T = None) -> T:  # type: ignore[assignment]
        if (
            delay <= 0  # after each message sent
            and self.in_a_row < SENDS_PER_TURN
            and time.thread_time() - self.resumed < YIELD_EVERY
        ):
            return result
        try:
            return await asyncio.sleep(delay, result)
        finally:
            self._waited()

    async def wait(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await asyncio.wait(*args, **kwargs)
        finally:
            self._waited()

    def sending_to(self, session: str) -> None:
        """Count a message the runtime loop is about to send `session`."""
        if session != self.session:
            self.session, self.in_a_row = session, 0
        self.in_a_row += 1

    def _waited(self) -> None:
        self.resumed = time.thread_time()
        self.in_a_row = 0


def install() -> None:
    """Once per process, before the server starts; a Streamlit whose runtime loop no longer
    yields so is left alone."""
    global _checked
    if _checked:
        return
    _checked = True
    if "await asyncio.sleep(0)" not in inspect.getsource(runtime.Runtime._loop_coroutine):
        log.warning("Streamlit's runtime loop changed; its sends are left as they are")
        return
    flush = _AsyncioForTheRuntimeLoop()
    send = runtime.Runtime._send_message

    @functools.wraps(send)
    def counted(self: runtime.Runtime, session_info: ActiveSessionInfo, msg: ForwardMsg) -> None:
        flush.sending_to(session_info.session.id)
        send(self, session_info, msg)

    runtime.Runtime._send_message = counted  # type: ignore[method-assign]
    runtime.asyncio = flush  # type: ignore[attr-defined]


_checked = False  # each page run imports app.py, which installs: the source is read once
