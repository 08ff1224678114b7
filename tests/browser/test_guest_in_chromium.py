"""A person with no code, in real Chromium: one click on the guest control, then chat.

The page process runs with no `LIAOBOTS_AUTH_CODE`, against an emulator here whose own code
nobody gives the page, so a reply can only come through a guest sign-in.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from liaobots_core.emulator import Behavior, Emulator

from .conftest import (
    APP,
    REPLY_TIMEOUT_MS,
    ChatPage,
    ResponseLog,
    StreamlitServer,
    WebSocketLog,
    _browser_allowed,
    page_env,
    page_for,
)

pytestmark = pytest.mark.browser

UNKNOWN_CODE = "code-the-page-never-has-51be"
REPLY = "Гостевой ответ: привет, 世界 👋 — конец."


@pytest.fixture(scope="module")
def guest_emulator() -> Iterator[Emulator]:
    _browser_allowed()
    with Emulator(auth_code=UNKNOWN_CODE) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def no_code_server(
    guest_emulator: Emulator, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StreamlitServer]:
    data_dir = tmp_path_factory.mktemp("guest-page")
    with page_for(guest_emulator.base_url, None, data_dir, log_level="debug") as server:
        yield server


@pytest.fixture
def guest_chat(page: Page, no_code_server: StreamlitServer, guest_emulator: Emulator) -> ChatPage:
    guest_emulator.clear()
    guest_emulator.default = Behavior(reply=REPLY, chunk_bytes=9, delay=0.01)
    return ChatPage(page, no_code_server.url)


def start_as_guest(chat: ChatPage) -> None:
    chat.open()
    # The way in, in the empty chat itself (the sidebar's line points at it too).
    way_in = chat.page.get_by_role("button", name="Continue as guest")
    expect(way_in).to_be_visible()
    way_in.click()
    expect(chat.page.get_by_text("Guest session · balance")).to_be_visible(timeout=REPLY_TIMEOUT_MS)
    chat.wait_until_idle()


def test_a_guest_control_starts_a_session_and_a_message_gets_its_reply(
    guest_chat: ChatPage, guest_emulator: Emulator
) -> None:
    start_as_guest(guest_chat)

    index = guest_chat.send("Привет, я без кода")
    assert guest_chat.wait_for_reply(index) == REPLY
    (request,) = guest_emulator.chat_requests
    assert request.headers["x-auth-code"] not in ("", UNKNOWN_CODE)
    assert "gkp2=" in request.headers["cookie"]
    assert guest_emulator.guest_sign_ins >= 1


def test_the_guest_code_and_cookie_reach_no_frame_page_response_or_log(
    guest_chat: ChatPage, guest_emulator: Emulator, page: Page, no_code_server: StreamlitServer
) -> None:
    frames, responses = WebSocketLog(page), ResponseLog(page)
    start_as_guest(guest_chat)
    index = guest_chat.send("Какой у гостя код?")
    assert guest_chat.wait_for_reply(index) == REPLY

    (request,) = guest_emulator.chat_requests
    secrets = [request.headers["x-auth-code"], request.headers["cookie"].split("=", 1)[1]]
    assert any(REPLY.encode() in f.data for f in frames.received())  # the search finds text
    log = no_code_server.log_bytes()
    assert log, "the page's log is empty: is it being captured?"
    for secret in secrets:
        for frame in frames.frames:
            assert secret.encode() not in frame.data, f"guest secret in a frame {frame.direction}"
        assert secret not in page.content()
        for url, body in responses.bodies():
            assert secret.encode() not in body, f"guest secret in the response body of {url}"
        assert secret.encode() not in log


def test_demo_visitors_who_only_open_the_page_cause_no_guest_sign_in(
    chromium: Browser, guest_emulator: Emulator, tmp_path: Path
) -> None:
    guest_emulator.clear()
    guest_emulator.default = Behavior(reply=REPLY)
    before = guest_emulator.guest_sign_ins  # (the module's emulator keeps earlier tests' codes)
    env = page_env(guest_emulator.base_url, None, tmp_path) | {
        "LIAOBOTS_GUEST": "1",
        "CHAT_DEMO": "1",
    }
    with StreamlitServer(APP, env, tmp_path / "streamlit.log") as server:
        visitors = [chromium.new_context(locale="en-US") for _ in range(3)]
        try:
            chats = [ChatPage(context.new_page(), server.url).open() for context in visitors]
            for chat in chats:
                chat.page.reload()  # a second visit of the same browser
                chat.page.wait_for_selector('[data-testid="stChatInput"] textarea')
                chat.wait_until_idle()
                expect(chat.page.get_by_text("when you send your first message")).to_be_visible()
            assert guest_emulator.guest_sign_ins == before

            index = chats[0].send("Первое сообщение")
            assert chats[0].wait_for_reply(index) == REPLY
            assert guest_emulator.guest_sign_ins == before + 1  # the one who wrote, now
        finally:
            for context in visitors:
                context.close()
