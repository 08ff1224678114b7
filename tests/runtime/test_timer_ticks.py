"""A fragment's timer tick carrying a click does not do the click a second time
(`runtime/timer_ticks.py`).

The browser sent the fragment's tick with the click's trigger, then the click's own run. The
first test pins the Streamlit behaviour the fix works around: when it fails, a Streamlit
upgrade changed it, and the fix may go.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.proto.ClientState_pb2 import ClientState

from chatpage.runtime import timer_ticks
from tests.runtime.streamlit_session import (
    FRAGMENT_ENDED,
    PAGE_ENDED,
    as_streamlit_alone,
    opened,
    run_apart,
)


async def clicks_after_a_tick_carrying_the_click(folder: Path) -> tuple[int, list[str]]:
    async with opened(folder) as page:
        since = len(page.browser.received)
        await page.ran(page.tick(carrying_the_click=True), FRAGMENT_ENDED)
        await page.ran(page.click(), PAGE_ENDED)
        return page.clicks(), page.browser.texts(since)


@pytest.mark.usefixtures("fresh_runtime")
def test_streamlit_alone_does_a_click_twice_when_a_tick_carries_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    timer_ticks.install()
    as_streamlit_alone(monkeypatch, "request_rerun")
    clicks, _ = run_apart(clicks_after_a_tick_carrying_the_click(tmp_path))
    assert clicks == 2


@pytest.mark.usefixtures("fresh_runtime")
def test_a_click_a_tick_carried_too_is_done_once_by_its_own_run(tmp_path: Path) -> None:
    timer_ticks.install()
    clicks, texts = run_apart(clicks_after_a_tick_carrying_the_click(tmp_path))
    assert clicks == 1
    assert texts[-2:] == ["clicked 1 times", "watched"]


def test_a_tick_keeps_every_other_widgets_value_and_the_browser_its_message() -> None:
    sent = ClientState(fragment_id="watch", is_auto_rerun=True)
    sent.widget_states.widgets.add(id="press", trigger_value=True)
    sent.widget_states.widgets.add(id="unpressed", trigger_value=False)
    sent.widget_states.widgets.add(id="search", string_value="tides")
    sent.widget_states.widgets.add(id="input").chat_input_value.data = "hello"
    kept = timer_ticks.without_triggers(sent)
    assert [w.id for w in kept.widget_states.widgets] == ["unpressed", "search"]
    assert (kept.fragment_id, kept.is_auto_rerun) == ("watch", True)
    assert len(sent.widget_states.widgets) == 4  # the message as it came is left alone
