"""Bad input in a real browser: the two cases that once took the whole page down now get a
refusal or are skipped, and the chat goes on (issue 15's bars)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from liaobots_core.emulator import Behavior, Emulator
from testkit.browser import APP, AUTH_CODE, INPUT, ChatPage, StreamlitServer, page_env, squash

pytestmark = pytest.mark.browser

SIDEBAR = '[data-testid="stSidebar"]'
EXCEPTION = '[data-testid="stException"]'
BROKEN_MODELS = (
    b'[{"id": "gpt-4o", "name": "GPT-4o", "maxLength": 1e999},'
    b' {"name": "an entry with no id", "maxLength": 1000},'
    b' {"id": "good-model", "name": "Good model", "maxLength": 5000, "tokenLimit": 1000},'
    b" 42]"
)


def test_a_file_of_nested_brackets_is_refused_and_the_chat_goes_on(
    chat: ChatPage, page: Page, emulator: Emulator, tmp_path: Path
) -> None:
    brackets = tmp_path / "brackets.json"
    brackets.write_bytes(b"[" * 100_000 + b"]" * 100_000)  # 200 KB, under the import limit
    errors: list[object] = []
    page.on("pageerror", lambda error: errors.append(error))
    chat.open()

    page.locator(SIDEBAR).locator('input[type="file"]').set_input_files(str(brackets))

    # A file starting with a list is read as a ChatGPT or Claude export, whose bound differs.
    refusal = page.locator(SIDEBAR).get_by_text(re.compile(r"nests brackets more than \d+ levels"))
    expect(refusal).to_be_visible()
    chat.wait_until_idle()
    assert page.locator(EXCEPTION).count() == 0
    expect(page.locator(INPUT)).to_be_visible()
    emulator.enqueue(Behavior(reply="Ответ после отказа: всё работает."))
    index = chat.send("Страница ещё работает?")
    assert squash(chat.wait_for_reply(index)) == "Ответ после отказа: всё работает."
    assert page.locator(EXCEPTION).count() == 0
    assert errors == []


@pytest.fixture
def own_server(page_emulator: Emulator, tmp_path: Path) -> Iterator[StreamlitServer]:
    """A page process of this test's own: a page shares the service's answer about its models
    with its sessions for a minute, so the shared server may still hold an earlier test's."""
    env = page_env(page_emulator.base_url, AUTH_CODE, tmp_path)
    with StreamlitServer(APP, env, tmp_path / "page.log") as server:
        yield server


def test_a_model_list_with_broken_entries_keeps_the_good_ones_and_replies(
    page: Page, emulator: Emulator, own_server: StreamlitServer
) -> None:
    emulator.models_body = BROKEN_MODELS
    try:
        chat = ChatPage(page, own_server.url).open()
        picker = page.locator(".st-key-model_bar").get_by_role("combobox", name="Model")
        expect(picker).to_match_aria_snapshot('- combobox "Model": Good model')
        emulator.enqueue(Behavior(reply="The good model answers."))
        index = chat.send("Which model is this?")
        assert squash(chat.wait_for_reply(index)) == "The good model answers."
    finally:
        emulator.models_body = None
    assert emulator.chat_requests[-1].body["model"]["id"] == "good-model"
    assert page.locator(EXCEPTION).count() == 0
    log = own_server.log_text()
    assert log.count("skipped 3 of 4 entries of the model list") == 1  # said once
    assert AUTH_CODE not in log
