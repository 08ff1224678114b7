"""The server sends what the sessions queued without a turn of its event loop per message
(`runtime/message_flush.py`).

A session's run queues forty messages at once; the first message written schedules a mark on
the event loop. The mark runs at the next turn of the loop: after the first message when the
runtime loop yields after each (Streamlit alone), after all forty with the fix. The first test
pins Streamlit's behaviour: when it fails, a Streamlit upgrade changed it, and the fix may go.
A long run's burst to one session still lets that browser's sender in every `SENDS_PER_TURN`
messages, or Streamlit closes the session.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.runtime import runtime
from streamlit.runtime.session_manager import SessionClientDisconnectedError
from streamlit.web.server.starlette.starlette_server_config import WEBSOCKET_MAX_SEND_QUEUE_SIZE

from chatpage.runtime import message_flush
from tests.runtime.streamlit_session import opened, run_apart, settled

pytestmark = pytest.mark.usefixtures("fresh_runtime")

QUEUED = 40


def queued(n: int) -> ForwardMsg:
    """A message of a run: a text of its own, at its own place on the page."""
    msg = ForwardMsg()
    msg.metadata.delta_path[:] = [0, 1000 + n]
    msg.delta.new_element.markdown.body = f"queued {n}"
    return msg


async def written_before_the_next_turn(folder: Path) -> int:
    """How many of the queued messages were written to the browser before the event loop's
    next turn after the first of them."""
    async with opened(folder) as page:
        loop = asyncio.get_running_loop()
        written: list[str] = []
        at_the_next_turn: list[int] = []
        keep = page.browser.write_forward_msg

        def write(msg: ForwardMsg) -> None:
            keep(msg)
            body = msg.delta.new_element.markdown.body
            if body.startswith("queued"):
                written.append(body)
                if len(written) == 1:
                    loop.call_soon(lambda: at_the_next_turn.append(len(written)))

        page.browser.write_forward_msg = write  # type: ignore[method-assign]
        for n in range(QUEUED):
            page.session._enqueue_forward_msg(queued(n))
        await settled(lambda: len(written) == QUEUED and bool(at_the_next_turn), "the sends")
        assert written == [f"queued {n}" for n in range(QUEUED)]  # all of them, in order
        return at_the_next_turn[0]


async def sent_of_a_burst(folder: Path, burst: int) -> tuple[int, bool]:
    """A run's `burst` of messages queued at once, to a browser whose socket is Streamlit's
    (`StarletteClientWebSocket`): each message waits in a queue of
    `WEBSOCKET_MAX_SEND_QUEUE_SIZE` for the socket's sender, a task on the event loop, and a
    message that finds the queue full closes the session. How many were sent, and whether the
    session was closed."""
    async with opened(folder) as page:
        waiting: asyncio.Queue[str] = asyncio.Queue(maxsize=WEBSOCKET_MAX_SEND_QUEUE_SIZE)
        sent: list[str] = []
        closed: list[bool] = []

        def write(msg: ForwardMsg) -> None:
            body = msg.delta.new_element.markdown.body
            if not body.startswith("queued"):
                return
            if closed:
                raise SessionClientDisconnectedError
            try:
                waiting.put_nowait(body)
            except asyncio.QueueFull:
                closed.append(True)
                raise SessionClientDisconnectedError from None

        async def sender() -> None:
            while True:
                sent.append(await waiting.get())

        page.browser.write_forward_msg = write  # type: ignore[method-assign]
        sending = asyncio.create_task(sender())
        try:
            for n in range(burst):
                page.session._enqueue_forward_msg(queued(n))
            await settled(lambda: bool(closed) or len(sent) == burst, "the burst")
        finally:
            sending.cancel()
        assert sent == [f"queued {n}" for n in range(len(sent))]  # in order, whatever came
        return len(sent), bool(closed)


def test_streamlit_alone_turns_the_event_loop_after_every_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runtime, "asyncio", asyncio)
    assert run_apart(written_before_the_next_turn(tmp_path)) == 1


def test_the_queued_messages_are_sent_in_one_turn_of_the_event_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    message_flush.install()
    monkeypatch.setattr(message_flush, "YIELD_EVERY", 60.0)  # however slow the machine
    assert isinstance(runtime.asyncio, message_flush._AsyncioForTheRuntimeLoop)
    assert run_apart(written_before_the_next_turn(tmp_path)) == QUEUED


def test_a_send_past_its_time_lets_the_event_loop_turn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    message_flush.install()
    monkeypatch.setattr(message_flush, "YIELD_EVERY", 0.0)  # every send is past it
    assert run_apart(written_before_the_next_turn(tmp_path)) == 1


def test_a_long_runs_burst_reaches_its_browser_without_closing_the_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    message_flush.install()
    monkeypatch.setattr(message_flush, "YIELD_EVERY", 60.0)  # only the count lets the loop turn
    burst = 3 * WEBSOCKET_MAX_SEND_QUEUE_SIZE  # as a search hit 200 messages back queues
    assert run_apart(sent_of_a_burst(tmp_path, burst)) == (burst, False)


def test_a_burst_sent_without_a_turn_of_the_loop_closes_the_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Why the count: with the time alone, a fast loop sent more than the sender may hold."""
    message_flush.install()
    monkeypatch.setattr(message_flush, "YIELD_EVERY", 60.0)
    monkeypatch.setattr(message_flush, "SENDS_PER_TURN", 10**9)
    sent, closed = run_apart(sent_of_a_burst(tmp_path, 3 * WEBSOCKET_MAX_SEND_QUEUE_SIZE))
    assert closed
    assert sent <= WEBSOCKET_MAX_SEND_QUEUE_SIZE


def test_many_sessions_few_messages_each_still_go_out_in_one_turn(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The count is one session's: a flush of a hundred streaming sessions is not cut up."""
    monkeypatch.setattr(message_flush, "YIELD_EVERY", 60.0)

    async def turned_while_sending(sessions: int, each: int) -> bool:
        flush = message_flush._AsyncioForTheRuntimeLoop()
        turned: list[bool] = []
        asyncio.get_running_loop().call_soon(lambda: turned.append(True))
        for session in range(sessions):
            for _ in range(each):
                flush.sending_to(f"session {session}")
                await flush.sleep(0)
        return bool(turned)

    assert not run_apart(turned_while_sending(sessions=20, each=message_flush.SENDS_PER_TURN - 1))
    assert run_apart(turned_while_sending(sessions=1, each=message_flush.SENDS_PER_TURN))


def test_a_streamlit_whose_loop_changed_is_left_alone(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def loop_without_yields(self: runtime.Runtime) -> None:
        """A runtime loop that does not yield after each message."""

    monkeypatch.setattr(runtime, "asyncio", asyncio)
    monkeypatch.setattr(runtime.Runtime, "_loop_coroutine", loop_without_yields)
    monkeypatch.setattr(message_flush, "_checked", False)
    with caplog.at_level(logging.WARNING, logger=message_flush.__name__):
        message_flush.install()
    assert runtime.asyncio is asyncio
    assert "runtime loop changed" in caplog.text
