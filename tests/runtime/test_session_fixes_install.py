"""The page's fixes to Streamlit's session are installed at every import of app.py (each page
run imports it): installing again must not wrap a wrapper."""

from __future__ import annotations

from types import ModuleType

import pytest
from streamlit.runtime.app_session import AppSession

from chatpage.runtime import runner_handoff, timer_ticks


@pytest.mark.parametrize(
    ("fix", "method"),
    [(runner_handoff, "_create_scriptrunner"), (timer_ticks, "request_rerun")],
)
def test_installing_twice_wraps_the_session_once(fix: ModuleType, method: str) -> None:
    fix.install()
    wrapped = getattr(AppSession, method)
    fix.install()
    assert getattr(AppSession, method) is wrapped
    assert not hasattr(wrapped.__wrapped__, "__wrapped__")
