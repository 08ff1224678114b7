"""Connections the page refuses before asking who it is, through AppTest: a foreign host name,
a user header from a peer that is no trusted proxy, a request without the proxy's secret.

AppTest has no websocket; `connect` gives the page the headers and peer address a session's
websocket request would (what `st.context` reads in a served page)."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from chatpage.operations.audit import LOGGER_NAME
from testkit.apptest import APP, TIMEOUT, connect, fresh_session, page_text

pytestmark = pytest.mark.usefixtures("own_database", "configured")

HEADER = "X-Forwarded-Email"
SECRET = "the-proxys-own-secret-5b9d2e7a"


def refusals(caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == LOGGER_NAME]
    return [line for line in lines if line["event"] == "refused"]


@pytest.fixture
def header_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAT_ACCESS", "header")
    monkeypatch.setenv("CHAT_USER_HEADER", HEADER)


def test_the_default_page_opened_under_a_foreign_host_name_shows_no_chat(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    connect(monkeypatch, {"Host": "rebind.test:8501", "Origin": "http://rebind.test:8501"})
    at = fresh_session()
    at.run()
    assert [t.value for t in at.title] == ["This page does not answer to this address"]
    assert "CHAT_ALLOWED_HOSTS" in page_text(at)
    assert len(at.chat_input) == 0
    assert len(at.sidebar.button) == 0
    assert [(r["kind"], r["host"], r["who"]) for r in refusals(caplog)] == [
        ("foreign_host", "rebind.test", None)
    ]  # once per browser session


def test_the_host_refusal_speaks_russian_to_a_russian_browser(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    connect(monkeypatch, {"Host": "rebind.test"})
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.context = {"locale": "ru-RU"}
    at.run()
    assert [t.value for t in at.title] == ["Эта страница не отвечает по этому адресу"]
    assert len(at.chat_input) == 0


@pytest.mark.parametrize("host", ["localhost:8501", "127.0.0.1:8501", "[::1]:8501", "a.localhost"])
def test_the_default_page_under_a_loopback_name_is_the_chat(
    monkeypatch: pytest.MonkeyPatch, host: str
) -> None:
    connect(monkeypatch, {"Host": host})
    assert len(fresh_session().chat_input) == 1


@pytest.mark.usefixtures("header_mode")
def test_a_user_header_from_a_peer_that_is_no_trusted_proxy_gets_no_chat(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("CHAT_ADMINS", "boss@example.com")
    connect(monkeypatch, {"Host": "chat.example.com", HEADER: "BOSS@Example.com"}, "192.0.2.4")
    at = fresh_session()
    assert any("only from your team's sign-in proxy" in e.value for e in at.error)
    assert len(at.chat_input) == 0
    assert "boss" not in page_text(at).lower()
    assert [(r["kind"], r["address"]) for r in refusals(caplog)] == [
        ("untrusted_proxy", "ip:192.0.2.4")
    ]


@pytest.mark.usefixtures("header_mode")
def test_with_trusted_proxies_naming_another_address_a_loopback_request_gets_no_chat(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    connect(monkeypatch, {HEADER: "alice@example.com"}, "127.0.0.1")
    assert len(fresh_session().chat_input) == 1  # the default: loopback is the proxy
    monkeypatch.setenv("CHAT_TRUSTED_PROXIES", "192.0.2.1")
    assert len(fresh_session().chat_input) == 0
    connect(monkeypatch, {HEADER: "alice@example.com"}, "192.0.2.1")
    assert len(fresh_session().chat_input) == 1


@pytest.mark.usefixtures("header_mode")
def test_with_a_proxy_secret_only_requests_carrying_it_get_the_chat(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("CHAT_PROXY_SECRET", SECRET)
    connect(monkeypatch, {HEADER: "alice@example.com"})  # another local user, no secret
    at = fresh_session()
    assert len(at.chat_input) == 0
    assert any("only from your team's sign-in proxy" in e.value for e in at.error)
    connect(monkeypatch, {HEADER: "alice@example.com", "X-Chat-Proxy-Secret": "guess" * 6})
    assert len(fresh_session().chat_input) == 0
    connect(monkeypatch, {HEADER: "alice@example.com", "X-Chat-Proxy-Secret": SECRET})
    at = fresh_session()
    assert len(at.chat_input) == 1
    assert SECRET not in page_text(at)
    assert [r["kind"] for r in refusals(caplog)] == ["proxy_secret", "proxy_secret"]
    assert SECRET not in caplog.text
