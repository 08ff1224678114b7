"""Who may use the page and what a public demo visitor can spend, through AppTest."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from chatpage.access.quota import DAY, MINUTE, Gate
from chatpage.database.conversations import ConversationStore
from chatpage.settings import DemoLimits, Settings
from liaobots_core.emulator import Behavior, Emulator
from testkit import AUTH_CODE
from testkit.apptest import (
    APP,
    TIMEOUT,
    bubbles,
    conversation,
    edit_key,
    fresh_session,
    listed,
    open_settings_dialog,
    page_text,
    send,
)

pytestmark = pytest.mark.usefixtures("own_database", "configured")


@pytest.fixture
def public_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAT_DEMO", "1")
    monkeypatch.setenv("CHAT_DEMO_PER_MINUTE", "2")


@pytest.mark.usefixtures("public_demo")
def test_demo_refuses_the_third_message_in_a_minute_without_asking_upstream(
    configured: Emulator,
) -> None:
    at = fresh_session()
    send(at, "один")
    send(at, "два")
    send(at, "три")
    assert len(configured.chat_requests) == 2
    assert any("at most 2 messages a minute" in w.value for w in at.warning)
    assert bubbles(at)[-2] == ("user", "три")  # the message stays, ready to retry
    assert at.button(key="action_regenerate").label == "Retry"
    assert AUTH_CODE not in page_text(at)


@pytest.mark.usefixtures("public_demo")
def test_demo_hides_the_code_field_and_says_what_the_limits_are() -> None:
    at = open_settings_dialog(fresh_session())
    assert [w.label for w in at.text_input] == ["Search conversations"]  # none in the dialog
    assert any("up to 2 messages a minute" in c.value for c in at.caption)


@pytest.mark.usefixtures("public_demo")
def test_demo_visitors_never_see_each_others_conversations(configured: Emulator) -> None:
    first = send(fresh_session(), "Мой секретный вопрос")
    secret_id = first.query_params["c"]
    other = fresh_session()
    assert listed(other) == []
    other.sidebar.text_input(key="conversation_search").input("секретный").run()
    assert listed(other) == []
    peeking = fresh_session(c=secret_id)
    assert any("not found" in w.value for w in peeking.warning)
    assert "секретный" not in page_text(peeking)


def test_demo_refuses_a_message_over_its_length_limit(
    configured: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHAT_DEMO", "1")
    monkeypatch.setenv("CHAT_DEMO_MAX_CHARS", "100")
    at = fresh_session()
    send(at, "x" * 101)
    assert any("too long (101 characters; the limit is 100)" in w.value for w in at.warning)
    assert bubbles(at) == []
    assert configured.chat_requests == []
    assert at.chat_input[0].value == "x" * 101  # given back to shorten, not lost


def test_demo_conversation_stops_at_its_turn_limit(
    configured: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHAT_DEMO", "1")
    monkeypatch.setenv("CHAT_DEMO_MAX_TURNS", "2")
    at = fresh_session()
    send(at, "1")
    send(at, "2")
    send(at, "3")
    assert len(configured.chat_requests) == 2
    assert any("limit of 2 messages. Start a new chat" in w.value for w in at.warning)


def test_demo_limits_reset_as_the_window_passes(tmp_path) -> None:
    store = ConversationStore(f"sqlite:///{tmp_path / 'usage.sqlite3'}")
    now = [1_000_000.0]
    limits = DemoLimits(per_minute=2, per_day=3)
    gate = Gate(Settings(public_demo=True, demo=limits), store, "visitor", clock=lambda: now[0])
    ask = [{"role": "user", "content": "hi"}]
    assert gate(ask) is None
    assert gate(ask) is None
    refused = gate(ask)
    assert refused is not None
    assert refused.kind == "demo_per_minute"
    assert 0 < refused.retry_after <= MINUTE
    now[0] += MINUTE + 1
    assert gate(ask) is None  # a new minute
    now[0] += MINUTE + 1
    refused = gate(ask)
    assert refused is not None
    assert refused.kind == "demo_per_day"
    now[0] += DAY
    assert gate(ask) is None  # a new day
    store.close()


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "empty"),
        ("   \n\t ", "empty"),
        ("x" * 1_000_001, "too long (1000001 characters; the limit is 100000)"),
        ("hello\x00world\x07", "2 control characters"),
    ],
    ids=["empty", "whitespace", "1MB", "control"],
)
def test_bad_input_gets_a_clear_message_and_stores_nothing(
    text: str, words: str, configured: Emulator, own_database: str
) -> None:
    at = fresh_session()
    send(at, text)
    assert any(words in w.value for w in at.warning), [w.value for w in at.warning]
    assert bubbles(at) == []
    assert configured.chat_requests == []
    assert ConversationStore(own_database).list("local") == []


def test_control_characters_are_given_back_without_them() -> None:
    at = fresh_session()
    send(at, "hello\x00world")
    assert at.chat_input[0].value == "helloworld"


def test_header_mode_without_the_header_shows_no_page(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAT_ACCESS", "header")
    monkeypatch.setenv("CHAT_USER_HEADER", "X-Forwarded-Email")
    at = fresh_session()
    assert any("only available through your team's sign-in" in e.value for e in at.error)
    assert len(at.chat_input) == 0
    assert len(at.sidebar.button) == 0


def test_login_mode_without_auth_settings_says_what_to_configure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CHAT_ACCESS", "login")
    at = fresh_session()
    assert "needs an [auth] section" in page_text(at)
    assert len(at.chat_input) == 0


def test_login_mode_shows_only_the_sign_in_button_before_sign_in(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CHAT_ACCESS", "login")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.secrets["auth"] = {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "not-a-real-secret",
        "client_id": "chat",
        "client_secret": "not-a-real-secret",
        "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
    }
    at.run()
    assert [b.label for b in at.button] == ["Sign in"]
    assert len(at.chat_input) == 0
    assert len(at.sidebar.button) == 0


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("CHAT_ACCESS", "everyone", "CHAT_ACCESS must be one of open, login, header"),
        ("CHAT_DEMO_PER_MINUTE", "lots", "CHAT_DEMO_PER_MINUTE must be a positive number"),
        ("CHAT_DEMO", "maybe", "CHAT_DEMO must be 1 or 0"),
        ("LIAOBOTS_BASE_URL", "liaobots.com", "is not an http(s) address"),
        ("CHAT_USER_PER_DAY", "2", "need CHAT_ACCESS=login or header"),
        ("CHAT_USER_CHARS_PER_MONTH", "-5", "must be a positive number"),
        ("LIAOBOTS_LOW_BALANCE", "cheap", "must be a positive number"),
    ],
)
def test_a_bad_setting_is_named_instead_of_a_half_working_page(
    name: str, value: str, words: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(name, value)
    at = fresh_session()
    assert words in page_text(at)
    assert len(at.chat_input) == 0


def test_the_default_mode_keeps_every_conversation_for_the_local_user(
    configured: Emulator,
) -> None:
    send(fresh_session(), "shared with myself")
    at = fresh_session()
    assert listed(at) == ["shared with myself"]
    assert conversation(at).messages == []
    assert "shares these conversations" not in page_text(at)


def test_explicit_open_mode_says_everyone_shares_the_conversations(
    configured: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHAT_ACCESS", "open")
    send(fresh_session(), "seen by all")
    at = fresh_session()
    assert listed(at) == ["seen by all"]
    assert any(
        "Everyone who can open this page shares these conversations" in c.value
        for c in at.sidebar.caption
    )


def test_regenerate_in_the_demo_counts_against_the_limit(
    configured: Emulator, public_demo: None
) -> None:
    configured.default = Behavior(reply="ok")
    at = send(fresh_session(), "q")
    at.button(key="action_regenerate").click().run()
    at.button(key="action_regenerate").click().run()
    assert len(configured.chat_requests) == 2
    assert any("messages a minute" in w.value for w in at.warning)


def test_an_unreachable_database_is_said_plainly_not_as_a_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://chat@127.0.0.1:9/chat")  # nothing listens
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception
    assert any("database cannot be reached" in e.value for e in at.error)
    assert len(at.chat_input) == 0


def test_an_edit_passes_the_same_checks_as_a_new_message(configured: Emulator) -> None:
    at = send(fresh_session(), "first version")
    at.button(key=edit_key(at)).click().run()
    at.text_area(key="edit_text").set_value("bad\x00edit").run()
    at.button[[b.label for b in at.button].index("Save and send")].click().run()
    assert any("1 control character (" in w.value for w in at.warning)
    assert at.text_area(key="edit_text").value == "bad\x00edit"  # still open to fix
    assert conversation(at).messages[0].text == "first version"  # nothing replaced
    assert len(configured.chat_requests) == 1
