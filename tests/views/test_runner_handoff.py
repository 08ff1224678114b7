"""A click's run that ends as the next request arrives still reaches the browser
(`views/runner_handoff.py`).

These run Streamlit's own runtime in this process, with a stand-in for the browser's socket,
and hold its event loop while the click's run ends, as a busy machine does. The first test
pins the Streamlit behaviour the fix works around: when it fails, a Streamlit upgrade changed
it, and the fix may go.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from streamlit import config
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.runtime.app_session import AppSession
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager
from streamlit.runtime.runtime import Runtime, RuntimeConfig
from streamlit.runtime.scriptrunner_utils.script_requests import ScriptRequestType

from chatpage.views import runner_handoff

DEADLINE = 60.0  # seconds; each wait ends as soon as what it waits for has happened
PAGE = """
import streamlit as st

st.session_state.setdefault("clicks", 0)

def count() -> None:
    st.session_state.clicks += 1

st.button("Press", on_click=count)
st.write(f"clicked {st.session_state.clicks} times")

@st.fragment
def watch() -> None:
    st.write("watched")

watch()
"""
PAGE_ENDED = ForwardMsg.ScriptFinishedStatus.FINISHED_SUCCESSFULLY


@dataclass
class Browser:
    """What the session sends its browser (Streamlit's `SessionClient`)."""

    received: list[ForwardMsg] = field(default_factory=list)
    client_context = None

    def write_forward_msg(self, msg: ForwardMsg) -> None:
        self.received.append(msg)

    def texts(self, since: int = 0) -> list[str]:
        return [
            m.delta.new_element.markdown.body
            for m in self.received[since:]
            if m.WhichOneof("type") == "delta"
            and m.delta.new_element.WhichOneof("type") == "markdown"
        ]

    def ends(self, since: int = 0) -> list[ForwardMsg.ScriptFinishedStatus.ValueType]:
        messages = self.received[since:]
        return [m.script_finished for m in messages if m.WhichOneof("type") == "script_finished"]


@dataclass
class Outcome:
    clicks_counted: int
    texts: list[str]
    ends: list[ForwardMsg.ScriptFinishedStatus.ValueType]


@pytest.fixture
def fresh_runtime(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Streamlit's runtime is one per process: each test starts its own."""
    monkeypatch.setattr(Runtime, "_instance", None)
    fast_reruns = config.get_option("runner.fastReruns")
    config.set_option("runner.fastReruns", False)  # as .streamlit/config.toml has it
    yield
    config.set_option("runner.fastReruns", fast_reruns)


def held_until(done: Callable[[], bool], what: str) -> None:
    """Wait without letting the event loop run: what a thread queues for it waits too."""
    ends = time.monotonic() + DEADLINE
    while not done():
        assert time.monotonic() < ends, f"waited {DEADLINE:.0f} s for {what}"
        time.sleep(0.001)


async def settled(done: Callable[[], bool], what: str) -> None:
    ends = time.monotonic() + DEADLINE
    while not done():
        assert time.monotonic() < ends, f"waited {DEADLINE:.0f} s for {what}"
        await asyncio.sleep(0.005)


async def click_as_the_watch_ticks(page: Path) -> Outcome:
    """Click, let the click's run end while the event loop is held, then the watch ticks."""
    runtime = Runtime(
        RuntimeConfig(
            script_path=str(page),
            media_file_storage=MemoryMediaFileStorage("/media"),
            uploaded_file_manager=MemoryUploadedFileManager("/upload"),
        )
    )
    await runtime.start()
    browser = Browser()
    session_id = runtime.connect_session(browser, user_info={})
    try:
        session_info = runtime._session_mgr.get_active_session_info(session_id)
        assert session_info is not None
        session: AppSession = session_info.session
        opened = BackMsg()
        opened.rerun_script.SetInParent()
        session.handle_backmsg(opened)
        await settled(lambda: session._scriptrunner is None and browser.ends(), "the first run")
        deltas = [m.delta for m in browser.received if m.WhichOneof("type") == "delta"]
        (button,) = [d.new_element.button.id for d in deltas if d.new_element.HasField("button")]
        (watch,) = {d.fragment_id for d in deltas if d.fragment_id}

        since = len(browser.received)
        click = BackMsg()
        click.rerun_script.widget_states.widgets.add(id=button, trigger_value=True)
        session.handle_backmsg(click)
        runner = session._scriptrunner
        assert runner is not None
        held_until(lambda: runner._requests._state is ScriptRequestType.STOP, "the click's run")
        tick = BackMsg()
        tick.rerun_script.fragment_id = watch
        session.handle_backmsg(tick)
        await settled(
            lambda: (
                session._scriptrunner is None
                and ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY in browser.ends(since)
            ),
            "the watch's run",
        )
        await asyncio.sleep(0)  # the runtime's loop sends what is queued
        return Outcome(session.session_state["clicks"], browser.texts(since), browser.ends(since))
    finally:
        runtime.close_session(session_id)
        runtime.stop()
        await asyncio.wait_for(runtime.stopped, DEADLINE)


@pytest.mark.usefixtures("fresh_runtime")
def test_streamlit_alone_never_shows_a_click_whose_run_ended_as_the_watch_ticked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner_handoff.install()
    streamlit_alone = AppSession._create_scriptrunner.__wrapped__  # type: ignore[attr-defined]
    monkeypatch.setattr(AppSession, "_create_scriptrunner", streamlit_alone)
    page = tmp_path / "page.py"
    page.write_text(PAGE)
    outcome = asyncio.run(click_as_the_watch_ticks(page))
    assert outcome.clicks_counted == 1  # the click's run ran...
    assert outcome.texts == ["watched"]  # ...and the browser heard none of it
    assert PAGE_ENDED not in outcome.ends


@pytest.mark.usefixtures("fresh_runtime")
def test_a_click_whose_run_ended_as_the_watch_ticked_is_shown_then_the_tick(
    tmp_path: Path,
) -> None:
    runner_handoff.install()
    page = tmp_path / "page.py"
    page.write_text(PAGE)
    outcome = asyncio.run(click_as_the_watch_ticks(page))
    assert outcome.clicks_counted == 1
    # The page's run draws the watch too; whether that copy is sent or replaced in the queue
    # by the tick's depends on when the runtime's loop last sent: either shows the same.
    assert outcome.texts[0] == "clicked 1 times"
    assert outcome.texts[1:] in (["watched"], ["watched", "watched"])
    assert outcome.ends == [PAGE_ENDED, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY]


def test_installing_twice_wraps_the_session_once() -> None:
    runner_handoff.install()
    wrapped = AppSession._create_scriptrunner
    runner_handoff.install()
    assert AppSession._create_scriptrunner is wrapped
    assert not hasattr(wrapped.__wrapped__, "__wrapped__")  # type: ignore[attr-defined]
