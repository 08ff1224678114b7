"""A click's run that ends as the next request arrives still reaches the browser
(`runtime/runner_handoff.py`).

The event loop is held while the click's run ends, as on a busy machine; then the watch ticks.
The first test pins the Streamlit behaviour the fix works around: when it fails, a Streamlit
upgrade changed it, and the fix may go.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import pytest
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.runtime.scriptrunner_utils.script_requests import ScriptRequestType

from chatpage.runtime import runner_handoff
from tests.runtime.streamlit_session import (
    FRAGMENT_ENDED,
    PAGE_ENDED,
    as_streamlit_alone,
    held_until,
    opened,
    run_apart,
    settled,
)

pytestmark = pytest.mark.usefixtures("fresh_runtime")


@dataclass
class Outcome:
    clicks_counted: int
    texts: list[str]
    ends: list[ForwardMsg.ScriptFinishedStatus.ValueType]


async def click_as_the_watch_ticks(folder: Path) -> Outcome:
    async with opened(folder) as page:
        since = len(page.browser.received)
        page.session.handle_backmsg(page.click())
        runner = page.session._scriptrunner
        assert runner is not None
        held_until(lambda: runner._requests._state is ScriptRequestType.STOP, "the click's run")
        page.session.handle_backmsg(page.tick())
        await settled(
            lambda: (
                page.session._scriptrunner is None and FRAGMENT_ENDED in page.browser.ends(since)
            ),
            "the watch's run",
        )
        await asyncio.sleep(0)  # the runtime's loop sends what is queued
        return Outcome(page.clicks(), page.browser.texts(since), page.browser.ends(since))


def test_streamlit_alone_never_shows_a_click_whose_run_ended_as_the_watch_ticked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner_handoff.install()
    as_streamlit_alone(monkeypatch, "_create_scriptrunner")
    outcome = run_apart(click_as_the_watch_ticks(tmp_path))
    assert outcome.clicks_counted == 1  # the click's run ran...
    assert outcome.texts == ["watched"]  # ...and the browser heard none of it
    assert PAGE_ENDED not in outcome.ends


def test_a_click_whose_run_ended_as_the_watch_ticked_is_shown_then_the_tick(
    tmp_path: Path,
) -> None:
    runner_handoff.install()
    outcome = run_apart(click_as_the_watch_ticks(tmp_path))
    assert outcome.clicks_counted == 1
    # The page's run draws the watch too; whether that copy is sent or replaced in the queue
    # by the tick's depends on when the runtime's loop last sent: either shows the same.
    assert outcome.texts[0] == "clicked 1 times"
    assert outcome.texts[1:] in (["watched"], ["watched", "watched"])
    assert outcome.ends == [PAGE_ENDED, FRAGMENT_ENDED]
