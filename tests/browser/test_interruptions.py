"""Only our Stop stops a reply; sending the next message mid-reply stops it, text kept."""

from __future__ import annotations

import pytest

from liaobots_core.emulator import Behavior, Emulator
from testkit.browser import ChatPage, squash

from .test_page_in_chromium import plain_reply

pytestmark = pytest.mark.browser


def test_sending_the_next_message_mid_reply_keeps_the_partial_reply(
    chat: ChatPage, emulator: Emulator
) -> None:
    full = plain_reply()
    emulator.enqueue(Behavior(reply=full, chunk_bytes=20, delay=0.03))
    chat.open()
    index = chat.send("Начни длинный ответ")
    chat.wait_for_text(index)

    emulator.enqueue(Behavior(reply="Second answer."))
    chat.send("А теперь другое")  # while the first reply is still streaming
    chat.wait_for_reply(index + 2)

    sent = emulator.chat_requests[-1].body["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]
    partial = sent[1]["content"]
    assert partial
    assert full.startswith(partial)
    assert len(partial) < len(full)
    assert squash(chat.text(index)) == squash(partial)


def test_streamlits_own_stop_leaves_the_reply_to_finish(chat: ChatPage, emulator: Emulator) -> None:
    full = plain_reply()
    emulator.enqueue(Behavior(reply=full, chunk_bytes=40, delay=0.03))
    chat.open()
    index = chat.send("Начни длинный ответ")
    chat.wait_for_text(index)

    # Streamlit's own Stop ends this page run only: the reply is the app's, and goes on.
    chat.page.locator('[data-testid="stStatusWidget"]').get_by_role("button", name="Stop").click()
    chat.wait_until_idle()
    chat.page.reload()
    chat.wait_for_reply(index)
    assert squash(chat.text(index)) == squash(full)
