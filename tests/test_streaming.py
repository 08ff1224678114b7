"""The coalescer: the first text passes at once, later text is joined in time."""

from __future__ import annotations

from chatpage.streaming import TICK, coalesce


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
