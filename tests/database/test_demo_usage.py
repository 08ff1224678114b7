"""A public demo bounds each visitor's imports a day, in number and bytes (AppTest and store)."""

from __future__ import annotations

import json
import logging

import pytest

from chatpage.data.conversation import Conversation, Message
from chatpage.data.export import to_json
from chatpage.database.conversations import ConversationStore
from chatpage.database.demo_usage import DAY
from chatpage.operations.audit import LOGGER_NAME
from testkit.apptest import bubbles, choose_language, fresh_session, listed

pytestmark = pytest.mark.usefixtures("own_database", "configured")


def export(title: str, padding: int = 0) -> bytes:
    chat = Conversation(model_id="gpt-4", title=title)
    chat.add_user("Question " + "x" * padding)
    chat.append(Message("assistant", "Answer"))
    return to_json(chat).encode()


def refusals(caplog: pytest.LogCaptureFixture) -> list[tuple[str, int]]:
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == LOGGER_NAME]
    return [(e["kind"], e["size"]) for e in lines if e["event"] == "refused"]


@pytest.fixture
def demo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAT_DEMO", "1")
    monkeypatch.setenv("CHAT_DEMO_IMPORTS_PER_DAY", "2")
    monkeypatch.setenv("CHAT_DEMO_IMPORT_BYTES_PER_DAY", "20000")


@pytest.mark.usefixtures("demo")
def test_a_demo_visitor_imports_so_many_a_day_and_the_next_is_refused_in_their_language(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    at = fresh_session()
    for title in ("First import", "Second import"):
        at.sidebar.file_uploader[0].set_value(("chat.json", export(title), "application/json"))
        at.run()
    assert sorted(listed(at)) == ["First import", "Second import"]
    third = export("Third import")
    at.sidebar.file_uploader[0].set_value(("chat.json", third, "application/json"))
    at.run()
    assert not at.exception
    errors = [e.value for e in at.sidebar.error]
    assert any("at most 2 conversations a day" in e for e in errors), errors
    assert sorted(listed(at)) == ["First import", "Second import"]  # kept; nothing added
    assert bubbles(at)[0] == ("user", "Question")  # the last import still on show
    assert refusals(caplog) == [("import_demo_count", len(third))]

    choose_language(at, "ru")
    at.sidebar.file_uploader[0].set_value(("chat.json", third, "application/json"))
    at.run()
    assert any("не больше 2 разговоров в день" in e.value for e in at.sidebar.error)


@pytest.mark.usefixtures("demo")
def test_a_demo_visitor_imports_so_many_bytes_a_day(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    at = fresh_session()
    big = export("Big import", padding=15_000)
    at.sidebar.file_uploader[0].set_value(("chat.json", big, "application/json"))
    at.run()
    assert listed(at) == ["Big import"]
    again = export("Too much", padding=6_000)
    at.sidebar.file_uploader[0].set_value(("chat.json", again, "application/json"))
    at.run()
    errors = [e.value for e in at.sidebar.error]
    assert any("at most 19.5 KB of files a day" in e for e in errors), errors
    assert listed(at) == ["Big import"]
    assert refusals(caplog) == [("import_demo_bytes", len(again))]


def test_outside_a_demo_imports_are_not_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAT_DEMO_IMPORTS_PER_DAY", "1")
    at = fresh_session()
    for title in ("One", "Two"):
        at.sidebar.file_uploader[0].set_value(("chat.json", export(title), "application/json"))
        at.run()
    assert sorted(listed(at)) == ["One", "Two"]


def test_imports_count_for_a_day_and_then_no_more(own_database: str) -> None:
    store = ConversationStore(own_database)
    try:
        bounds = {"per_day": 1, "bytes_per_day": 100}
        assert store.demo_imports.take("ip:203.0.113.9", 10, 1000.0, **bounds) is None
        over = store.demo_imports.take("ip:203.0.113.9", 10, 1001.0, **bounds)
        assert over is not None
        assert over.key == "import_demo_count"
        assert store.demo_imports.take("ip:203.0.113.10", 10, 1001.0, **bounds) is None
        assert store.demo_imports.take("ip:203.0.113.9", 10, 1000.0 + DAY + 1, **bounds) is None
    finally:
        store.close()
