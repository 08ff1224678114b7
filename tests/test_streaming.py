"""The reply pump and the coalescer: text moves promptly, in order, and failures are raised."""

from __future__ import annotations

import pytest

from chatpage.streaming import TICK, ReplyPump, coalesce
from liaobots_core import ConnectionFailedError, LiaobotsClient
from liaobots_core.emulator import Behavior, Emulator

QUESTION = [{"role": "user", "content": "hi"}]


class FakeClock:
    """Time that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_coalesce_passes_the_first_text_at_once_then_joins_within_the_interval() -> None:
    clock = FakeClock()

    def events():
        yield "a"
        clock.now = 0.05
        yield "b"
        clock.now = 0.10
        yield "c"
        clock.now = 0.20
        yield TICK
        yield "d"

    assert list(coalesce(events(), interval=0.15, clock=clock)) == ["a", "bc", "d"]


def test_coalesce_passes_ticks_when_nothing_is_pending() -> None:
    assert list(coalesce([TICK, TICK], interval=0.15, clock=FakeClock())) == [TICK, TICK]


def test_pump_delivers_the_whole_reply_in_order(client: LiaobotsClient, emulator: Emulator) -> None:
    text = "Привет, 世界! " * 200
    emulator.default = Behavior(reply=text, chunk_bytes=7, split_multibyte=True)
    with ReplyPump(client.stream_chat(QUESTION)) as pump:
        received = "".join(e for e in pump.events() if e)
    assert received == text


def test_pump_ticks_while_the_service_is_silent(client: LiaobotsClient, emulator: Emulator) -> None:
    emulator.default = Behavior(reply="late", first_byte_delay=0.5)
    with ReplyPump(client.stream_chat(QUESTION), poll=0.05) as pump:
        events = list(pump.events())
    assert TICK in events
    assert "".join(e for e in events if e) == "late"


def test_pump_hands_text_over_then_raises_the_failure(
    client: LiaobotsClient, emulator: Emulator
) -> None:
    text = "abcdefghij" * 100
    emulator.default = Behavior(reply=text, chunk_bytes=50, disconnect_after_bytes=200)
    received: list[str] = []
    with pytest.raises(ConnectionFailedError), ReplyPump(client.stream_chat(QUESTION)) as pump:
        received.extend(e for e in pump.events() if e)
    assert text.startswith("".join(received))
    assert len("".join(received)) >= 150


def test_closing_the_pump_cancels_a_stalled_reply(
    client: LiaobotsClient, emulator: Emulator
) -> None:
    emulator.default = Behavior(reply="x" * 1000, chunk_bytes=10, stall_after_bytes=10)
    pump = ReplyPump(client.stream_chat(QUESTION), poll=0.05)
    with pump:
        events = pump.events()
        assert next(e for e in events if e) == "x" * 10
    assert pump.stream.closed
    assert all(e is TICK for e in events)  # no more text, and the events end
