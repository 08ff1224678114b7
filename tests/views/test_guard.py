"""The last line of defence: an unforeseen error is said plainly, with a reference in the log,
and the rest of the page, the conversation and the typed text stay."""

from __future__ import annotations

import logging
import re

import pytest

from chatpage import session
from chatpage.views import sidebar
from liaobots_core.emulator import Behavior, Emulator
from testkit.apptest import bubbles, fresh_session, page_text, send

pytestmark = pytest.mark.usefixtures("own_database", "configured")


def reference_in(at) -> str:
    (error,) = [e.value for e in at.error if "reference" in e.value]
    found = re.search(r"reference ([0-9a-f]{8})", error)
    assert found is not None, error
    return found.group(1)


def test_a_failing_sidebar_leaves_the_conversation_and_the_input(
    configured: Emulator, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    configured.default = Behavior(reply="still here")
    at = send(fresh_session(), "question")

    def broken(*_args: object) -> frozenset[str]:
        raise RuntimeError("a bug nobody foresaw: secret detail")

    monkeypatch.setattr(sidebar, "conversation_list", broken)
    with caplog.at_level(logging.ERROR):
        at.run()
    assert not at.exception
    reference = reference_in(at)
    assert bubbles(at) == [("user", "question"), ("assistant", "still here")]
    assert len(at.chat_input) == 1
    assert reference in caplog.text
    assert "secret detail" in caplog.text  # the details go to the log...
    assert "secret detail" not in page_text(at)  # ...never to the page
    assert "Traceback" not in page_text(at)

    monkeypatch.undo()
    at.run()  # the next run works
    assert not [e for e in at.error if "reference" in e.value]
    assert len(at.sidebar.button) > 0


def test_a_failing_button_action_is_said_on_the_next_run(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    at = send(fresh_session(), "question")

    def broken(*_args: object) -> None:
        raise KeyError("unforeseen")

    monkeypatch.setattr(session, "Intent", broken)  # what Regenerate's action builds
    with caplog.at_level(logging.ERROR):
        at.button(key="action_regenerate").click().run()
    assert not at.exception
    assert reference_in(at) in caplog.text
    assert bubbles(at)[0] == ("user", "question")
