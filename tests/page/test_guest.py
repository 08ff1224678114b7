"""The page's guest sessions through AppTest, against the emulator over real sockets.

With no code set by the operator or pasted, one click on "Continue as guest" signs this
browser session in; each session signs in on its own; a public demo can run on guests.
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from chatpage.settings import load_settings
from liaobots_core.emulator import Behavior, Emulator, Guests
from testkit import AUTH_CODE
from testkit.apptest import (
    APP,
    TIMEOUT,
    bubbles,
    open_settings_dialog,
    page_text,
    paste_code,
    send,
)

REPLY = "Ответ гостю: привет, 世界 👋"
pytestmark = pytest.mark.usefixtures("own_database")


@pytest.fixture
def no_code(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """The page pointed at the emulator with no code of the operator's."""
    for name in ("LIAOBOTS_AUTH_CODE", "LIAOBOTS_OFFLINE_DEMO", "LIAOBOTS_GUEST", "CHAT_DEMO"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LIAOBOTS_BASE_URL", emulator.base_url)
    emulator.default = Behavior(reply=REPLY, chunk_bytes=5, split_multibyte=True)
    return emulator


def open_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    return at


def as_guest() -> AppTest:
    at = open_page()
    at.button(key="continue_as_guest").click().run()
    assert not at.exception, at.exception
    return at


def captions(at: AppTest) -> list[str]:
    return [c.value for c in at.sidebar.caption]


def test_no_code_offers_continue_as_guest_and_one_click_then_chat(no_code: Emulator) -> None:
    at = open_page()
    assert at.button(key="continue_as_guest").label == "Continue as guest"
    assert any("continue as a guest" in i.value for i in at.info)  # in the chat, not hidden
    assert no_code.guest_sign_ins == 0  # nothing is signed in before the click

    at.button(key="continue_as_guest").click().run()
    assert any("Guest session · balance 10" in c for c in captions(at))
    send(at, "Привет")
    assert bubbles(at) == [("user", "Привет"), ("assistant", REPLY)]
    (chat,) = no_code.chat_requests
    code = chat.headers["x-auth-code"]
    assert code != AUTH_CODE
    assert "gkp2=" in chat.headers["cookie"]
    assert no_code.guest_sign_ins == 1
    assert code not in page_text(at)
    assert chat.headers["cookie"].split("=", 1)[1] not in page_text(at)


def test_each_browser_session_signs_in_as_its_own_guest(no_code: Emulator) -> None:
    first, second = as_guest(), as_guest()
    send(first, "one")
    send(second, "two")
    one, two = no_code.chat_requests
    assert one.headers["x-auth-code"] != two.headers["x-auth-code"]
    assert one.headers["cookie"] != two.headers["cookie"]
    assert no_code.guest_sign_ins == 2


def test_an_expired_guest_code_is_renewed_and_the_reply_comes(no_code: Emulator) -> None:
    no_code.guests = Guests(replies=1)
    at = as_guest()
    send(at, "first")
    send(at, "second")
    assert [text for _, text in bubbles(at)] == ["first", REPLY, "second", REPLY]
    assert not at.error
    assert no_code.guest_sign_ins == 2


def test_a_service_refusing_guests_is_explained_and_the_message_kept(no_code: Emulator) -> None:
    no_code.guests = Guests(login_status=403)
    at = as_guest()
    assert any("does not let guests in" in c for c in captions(at))
    send(at, "Мой вопрос")
    assert bubbles(at)[0] == ("user", "Мой вопрос")
    assert any("does not let guests in" in e.value for e in at.error)
    assert no_code.chat_requests == []


def test_ending_the_guest_session_offers_it_again_and_signs_in_anew(no_code: Emulator) -> None:
    at = as_guest()
    send(at, "one")
    open_settings_dialog(at).button(key="end_guest").click().run()
    assert any("continue as a guest" in c for c in captions(at))
    at.button(key="continue_as_guest_settings").click().run()  # offered again in the dialog
    send(at, "two")
    one, two = no_code.chat_requests
    assert one.headers["x-auth-code"] != two.headers["x-auth-code"]


def test_a_pasted_code_wins_over_a_guest_session(no_code: Emulator) -> None:
    at = as_guest()
    paste_code(at, AUTH_CODE)
    send(at, "hello")
    assert no_code.chat_requests[-1].headers["x-auth-code"] == AUTH_CODE
    assert all(not (b.key or "").startswith("continue_as_guest") for b in at.button)


def test_an_operators_code_means_no_guest_offer(configured: Emulator) -> None:
    at = open_settings_dialog(open_page())
    assert all(not (b.key or "").startswith("continue_as_guest") for b in at.button)
    send(at, "hello")
    assert configured.guest_sign_ins == 0


def test_public_demo_on_guests_signs_each_visitor_in_and_keeps_its_limits(
    no_code: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHAT_DEMO", "1")
    monkeypatch.setenv("LIAOBOTS_GUEST", "1")
    monkeypatch.setenv("CHAT_DEMO_PER_MINUTE", "1")
    visitor = open_settings_dialog(open_page())
    offers = ("continue_as_guest", "continue_as_guest_settings", "end_guest")
    assert all(b.key not in offers for b in visitor.button)
    assert any("Guest session" in c for c in captions(visitor))
    send(visitor, "first")
    assert bubbles(visitor)[-1] == ("assistant", REPLY)
    send(visitor, "second")  # over the demo's limit: refused before anything is sent
    assert any("at most 1 message a minute" in w.value for w in visitor.warning)
    assert len(no_code.chat_requests) == 1

    other = open_page()
    send(other, "mine")
    first, mine = no_code.chat_requests
    assert first.headers["x-auth-code"] != mine.headers["x-auth-code"]
    assert no_code.guest_sign_ins == 2


def test_public_demo_visitors_who_only_open_the_page_cause_no_guest_sign_in(
    no_code: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHAT_DEMO", "1")
    monkeypatch.setenv("LIAOBOTS_GUEST", "1")
    visitors = [open_page() for _ in range(3)]
    for visitor in visitors:
        visitor.run()  # a second run of the page (a widget touched) signs in nobody either
        assert any("when you send your first message" in c for c in captions(visitor))
    assert no_code.guest_sign_ins == 0

    send(visitors[0], "Привет")  # the first message signs this visitor in, and only them
    assert bubbles(visitors[0]) == [("user", "Привет"), ("assistant", REPLY)]
    assert no_code.guest_sign_ins == 1
    send(visitors[0], "ещё")
    assert no_code.guest_sign_ins == 1
    assert any("Guest session · balance" in c for c in captions(visitors[0]))


def test_a_demo_cannot_be_set_to_run_on_guests_and_a_code_at_once() -> None:
    settings = load_settings(
        [{"CHAT_DEMO": "1", "LIAOBOTS_GUEST": "1", "LIAOBOTS_AUTH_CODE": "operator-code-9f"}]
    )
    (problem,) = settings.problems
    assert "LIAOBOTS_GUEST" in problem
    assert "operator-code-9f" not in problem
    assert load_settings([{"LIAOBOTS_GUEST": "1"}]).guest
