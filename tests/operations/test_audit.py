"""The audit log: sign-ins, refusals, deletes and imports as JSON lines, never text or codes.

Page flows run through AppTest; the lines are read from the records the `liaobots_chat.audit`
logger hands to Python logging (pytest's caplog), as an operator's logging setup gets them.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from chatpage.data.conversation import Conversation, Message
from chatpage.data.export import to_json
from chatpage.operations.audit import LOGGER_NAME, audit
from liaobots_core.emulator import Emulator
from testkit import AUTH_CODE
from testkit.apptest import APP, TIMEOUT, fresh_session, send
from testkit.elsewhere import reply_elsewhere

pytestmark = pytest.mark.usefixtures("own_database", "configured")

AUTH_SECTION = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "not-a-real-secret",
    "client_id": "chat",
    "client_secret": "not-a-real-secret",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}


def lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    """Every audit line so far, parsed: each must be one JSON object with the common fields."""
    found = []
    for record in caplog.records:
        if record.name != LOGGER_NAME:
            continue
        line = json.loads(record.getMessage())
        assert isinstance(line, dict)
        assert {"time", "event", "who"} <= line.keys()
        assert datetime.fromisoformat(line["time"]).utcoffset().total_seconds() == 0
        found.append(line)
    return found


def events(caplog: pytest.LogCaptureFixture, event: str) -> list[dict[str, Any]]:
    return [line for line in lines(caplog) if line["event"] == event]


def signed_in_session(monkeypatch: pytest.MonkeyPatch, email: str) -> AppTest:
    """A browser session of `email`, signed in through the page's OpenID Connect mode."""
    monkeypatch.setenv("CHAT_ACCESS", "login")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.secrets["auth"] = AUTH_SECTION
    at.user = {"is_logged_in": True, "email": email, "email_verified": True, "name": "Alice"}
    at.run()
    assert not at.exception, at.exception
    return at


def test_a_sign_in_is_logged_once_per_browser_session_not_on_every_rerun(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = signed_in_session(monkeypatch, "alice@example.com")
    at.run()
    send(at, "a message reruns the page")
    signed_in_session(monkeypatch, "alice@example.com")  # another browser: another sign-in
    assert [(e["who"], e["access"]) for e in events(caplog, "sign_in")] == [
        ("user:alice@example.com", "login"),
        ("user:alice@example.com", "login"),
    ]


@pytest.mark.parametrize(
    ("access", "kind"), [("header", "header_missing"), ("login", "sign_in_needed")]
)
def test_a_visitor_the_gate_turns_away_is_logged_with_the_reason_once(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, access: str, kind: str
) -> None:
    monkeypatch.setenv("CHAT_ACCESS", access)
    monkeypatch.setenv("CHAT_USER_HEADER", "X-Forwarded-Email")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.secrets["auth"] = AUTH_SECTION
    at.user = {}
    at.run()
    at.run()
    assert len(at.chat_input) == 0
    refused = events(caplog, "refused")
    assert [(e["who"], e["kind"], e["access"]) for e in refused] == [(None, kind, access)]
    assert events(caplog, "sign_in") == []


@pytest.mark.parametrize(
    ("text", "kind"),
    [("   ", "empty"), ("x" * 100_001, "too_long"), ("bad\x00input", "control_chars")],
)
def test_bad_input_is_logged_as_refused_with_its_kind_and_size_never_its_text(
    caplog: pytest.LogCaptureFixture, text: str, kind: str
) -> None:
    send(fresh_session(), text)
    (refused,) = events(caplog, "refused")
    assert (refused["who"], refused["kind"]) == ("local", kind)
    if kind == "too_long":
        assert (refused["size"], refused["limit"]) == (100_001, 100_000)
    if text.strip():
        assert text.strip() not in json.dumps(lines(caplog))


def test_demo_limits_are_logged_as_refusals_for_the_visitors_own_key(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, configured: Emulator
) -> None:
    monkeypatch.setenv("CHAT_DEMO", "1")
    monkeypatch.setenv("CHAT_DEMO_PER_MINUTE", "1")
    at = send(fresh_session(), "one")
    send(at, "two")
    assert len(configured.chat_requests) == 1
    (refused,) = events(caplog, "refused")
    assert refused["kind"] == "demo_per_minute"
    assert refused["limit"] == 1
    assert refused["who"].startswith("demo:")
    assert refused["conversation"] == at.query_params["c"]


def test_a_send_past_the_persons_reply_bound_is_logged_as_busy(
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    configured: Emulator,
    own_database: str,
) -> None:
    monkeypatch.setenv("CHAT_MAX_BACKGROUND_REPLIES", "1")
    with reply_elsewhere(configured, own_database):
        at = fresh_session()
        at.chat_input[0].set_value("no room for this one").run()
    kinds = [(e["who"], e["kind"], e["limit"]) for e in events(caplog, "refused")]
    assert kinds == [("local", "busy_person", 1)]


def test_deletes_and_imports_are_logged_with_ids_and_counts(
    caplog: pytest.LogCaptureFixture,
) -> None:
    at = send(fresh_session(), "Doomed conversation")
    doomed = at.query_params["c"]
    at.session_state[f"menu_{doomed}"] = True  # its ⋮ menu open (AppTest has no popover)
    at.run()
    at.sidebar.button(key=f"delete_{doomed}").click().run()
    at.sidebar.button(key=f"really_delete_{doomed}").click().run()

    chat = Conversation(model_id="gpt-4", title="A private title")
    chat.add_user("A private question")
    chat.append(Message("assistant", "A private answer"))
    at.sidebar.file_uploader[0].set_value(("chat.json", to_json(chat).encode(), "application/json"))
    at.run()
    at.sidebar.file_uploader[0].set_value(("bad.json", b"{not json", "application/json"))
    at.run()

    assert [(e["who"], e["conversation"]) for e in events(caplog, "conversation_deleted")] == [
        ("local", doomed)
    ]
    (imported,) = events(caplog, "conversation_imported")
    assert (imported["who"], imported["conversation"], imported["messages"]) == (
        "local",
        at.query_params["c"],
        2,
    )
    assert [(e["kind"], e["size"]) for e in events(caplog, "refused")] == [
        ("import_not_json", len(b"{not json"))
    ]


def test_no_message_text_title_search_or_auth_code_ever_reaches_the_audit_log(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, configured: Emulator
) -> None:
    secret_text = "Мой секретный вопрос 7c1e"
    at = signed_in_session(monkeypatch, "alice@example.com")
    send(at, secret_text)  # answered: the reply quotes it
    send(at, "Too long and secret 9d2a " * 5_000)  # refused
    at.sidebar.text_input(key="conversation_search").input("secret search 4b8f").run()
    at.sidebar.text_input(key="conversation_search").input("").run()
    chat = Conversation(model_id="gpt-4", title="Imported secret title 3e5c")
    chat.add_user("Imported secret question 8a0d")
    at.sidebar.file_uploader[0].set_value(("chat.json", to_json(chat).encode(), "application/json"))
    at.run()
    opened = at.query_params["c"]
    at.session_state[f"menu_{opened}"] = True
    at.run()
    at.sidebar.button(key=f"delete_{opened}").click().run()
    at.sidebar.button(key=f"really_delete_{opened}").click().run()

    logged = [record.getMessage() for record in caplog.records if record.name == LOGGER_NAME]
    assert {json.loads(line)["event"] for line in logged} >= {
        "sign_in",
        "refused",
        "conversation_imported",
        "conversation_deleted",
    }
    everything = "\n".join(logged)
    for secret in (
        secret_text,
        "Too long and secret",
        "secret search",
        "Imported secret",
        AUTH_CODE,
        AUTH_SECTION["client_secret"],
    ):
        assert secret not in everything, secret
    assert len(configured.chat_requests) == 1


def test_without_a_logging_setup_each_line_goes_to_stderr_as_pure_json(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logging.getLogger(), "handlers", [])  # nobody configured logging
    audit("refused", "header:bob@example.com", kind="too_long", size=12, limit=10)
    err = capsys.readouterr().err
    (line,) = err.splitlines()
    record = json.loads(line)
    assert record["event"] == "refused"
    assert record["who"] == "header:bob@example.com"
    assert (record["kind"], record["size"], record["limit"]) == ("too_long", 12, 10)
    assert record["time"].endswith("Z")


def test_with_a_logging_setup_each_line_is_written_once_there(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    audit("conversation_deleted", "local", conversation="abc12345")
    assert capsys.readouterr().err == ""
    assert [e["conversation"] for e in events(caplog, "conversation_deleted")] == ["abc12345"]
