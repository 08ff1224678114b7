"""Streamlit's own runtime in the test's process, one session of a small page and a stand-in
for its browser's socket: for the page's fixes to Streamlit's session
(`runtime/runner_handoff.py`, `runtime/timer_ticks.py`), which no AppTest reaches (AppTest runs
scripts without a session)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.runtime.app_session import AppSession
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager
from streamlit.runtime.runtime import Runtime, RuntimeConfig

T = TypeVar("T")
DEADLINE = 60.0  # seconds; each wait ends as soon as what it waits for has happened
# A button outside a fragment, and the fragment (the page's conversation watch ticks so).
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
FRAGMENT_ENDED = ForwardMsg.ScriptFinishedStatus.FINISHED_FRAGMENT_RUN_SUCCESSFULLY


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
class OpenPage:
    session: AppSession
    browser: Browser
    button: str  # the button's widget id
    watch: str  # the fragment's id

    def click(self) -> BackMsg:
        """The message a click on the button sends: a run of the page, with its trigger."""
        msg = BackMsg()
        msg.rerun_script.widget_states.widgets.add(id=self.button, trigger_value=True)
        return msg

    def tick(self, *, carrying_the_click: bool = False) -> BackMsg:
        """The message the fragment's timer sends (`run_every`)."""
        msg = BackMsg()
        msg.rerun_script.fragment_id = self.watch
        msg.rerun_script.is_auto_rerun = True
        if carrying_the_click:
            msg.rerun_script.widget_states.widgets.add(id=self.button, trigger_value=True)
        return msg

    def clicks(self) -> int:
        return int(self.session.session_state["clicks"])

    async def ran(self, msg: BackMsg, ending: ForwardMsg.ScriptFinishedStatus.ValueType) -> None:
        """Send `msg` and wait until a run ends so and the session has no runner left."""
        since = len(self.browser.received)
        self.session.handle_backmsg(msg)
        await settled(
            lambda: self.session._scriptrunner is None and ending in self.browser.ends(since),
            f"a run ending {ForwardMsg.ScriptFinishedStatus.Name(ending)}",
        )


def run_apart(work: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run` on a thread of its own: the suite's browser tests leave Playwright's loop
    set as running on the test's thread, and `asyncio.run` refuses to start beside it."""
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(asyncio.run, work).result()


def as_streamlit_alone(monkeypatch: pytest.MonkeyPatch, method: str) -> None:
    """`AppSession.<method>` as Streamlit has it, without the page's fix that wraps it."""
    monkeypatch.setattr(AppSession, method, getattr(AppSession, method).__wrapped__)


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


@asynccontextmanager
async def opened(folder: Path) -> AsyncIterator[OpenPage]:
    """`PAGE` served by a runtime of its own, opened by one browser, after its first run."""
    page = folder / "page.py"
    page.write_text(PAGE)
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
        session = session_info.session
        first = BackMsg()
        first.rerun_script.SetInParent()
        session.handle_backmsg(first)
        await settled(lambda: session._scriptrunner is None and browser.ends(), "the first run")
        deltas = [m.delta for m in browser.received if m.WhichOneof("type") == "delta"]
        (button,) = [d.new_element.button.id for d in deltas if d.new_element.HasField("button")]
        (watch,) = {d.fragment_id for d in deltas if d.fragment_id}
        yield OpenPage(session, browser, button, watch)
    finally:
        runtime.close_session(session_id)
        runtime.stop()
        await asyncio.wait_for(runtime.stopped, DEADLINE)
