"""Keyboard shortcuts in real Chromium: they act with their modifier, never on typed letters."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from liaobots_core.emulator import Behavior, Emulator
from testkit.browser import INPUT, REPLY_TIMEOUT_MS, ChatPage

pytestmark = pytest.mark.browser


def test_ctrl_shift_o_opens_a_new_chat_and_typing_o_in_the_input_does_not(
    chat: ChatPage, page: Page, emulator: Emulator
) -> None:
    emulator.default = Behavior(reply="Первый ответ")
    chat.open()
    chat.wait_for_reply(chat.send("Привет"))
    expect(page).to_have_url(re.compile(r"[?&]c="))
    # The same letters without Ctrl, typed into the chat input (O with Shift too), then sent:
    # had they fired New chat, this message would open a conversation of its own.
    page.click(INPUT)
    page.keyboard.type("oO oo OO")
    page.keyboard.press("Enter")
    chat.wait_for_reply(3)
    assert chat.messages.count() == 4
    assert "oO oo OO" in chat.messages.nth(2).inner_text()

    page.click(INPUT)  # from the chat input, as a person would: the modifier makes it act
    page.keyboard.press("Control+Shift+O")
    expect(chat.messages).to_have_count(0, timeout=REPLY_TIMEOUT_MS)
    expect(page.get_by_text("Ask anything.")).to_be_visible()
    expect(page).not_to_have_url(re.compile(r"[?&]c="))


def test_ctrl_k_focuses_the_search_ctrl_shift_c_copies_and_ctrl_shift_e_regenerates(
    chat: ChatPage, page: Page, emulator: Emulator
) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    emulator.default = Behavior(reply="Ответ **для** копии")
    chat.open()
    index = chat.send("Скопируй")
    chat.wait_for_reply(index)
    page.keyboard.press("Control+K")
    expect(page.locator(".st-key-conversation_search input")).to_be_focused()
    page.keyboard.press("Control+Shift+C")
    page.wait_for_function(
        "async () => (await navigator.clipboard.readText()) === 'Ответ **для** копии'",
        timeout=REPLY_TIMEOUT_MS,
    )
    page.keyboard.press("Control+Shift+E")  # the focus in the search box: Ctrl makes it act
    expect(chat.messages.nth(index).get_by_text("2 / 2")).to_be_visible(timeout=REPLY_TIMEOUT_MS)
    assert len(emulator.chat_requests) == 2
