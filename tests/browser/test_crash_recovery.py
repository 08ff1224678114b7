"""A page process killed mid-reply loses at most about a second of the text it had received."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from liaobots_core.emulator import Behavior, Emulator
from testkit.browser import APP, AUTH_CODE, ChatPage, StreamlitServer, page_env, squash

pytestmark = pytest.mark.browser

CHARS_PER_SECOND = 400  # 20 ASCII characters every 50 ms
KILL_AFTER_CHARS = 4 * CHARS_PER_SECOND  # about 4 s into the reply
QUESTION = "Tell me a very long story about a lighthouse"


def long_reply() -> str:
    sentences = (
        f"Sentence {i} of the story goes on about the lighthouse keeper. " for i in range(400)
    )
    return "".join(sentences)


def test_reply_cut_by_kill_9_is_found_again_after_restart(
    chromium: Browser, page_emulator: Emulator, tmp_path: Path
) -> None:
    full = long_reply()
    page_emulator.clear()
    page_emulator.default = Behavior(reply=full, chunk_bytes=20, delay=0.05)
    env = page_env(page_emulator.base_url, AUTH_CODE, tmp_path)

    first = StreamlitServer(APP, env, tmp_path / "first.log").start()
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    try:
        chat = ChatPage(context.new_page(), first.url).open()
        index = chat.send(QUESTION)
        chat.page.wait_for_function(
            "([i, n]) => window.__chatTest.text(i).length >= n",
            arg=[index, KILL_AFTER_CHARS],
            timeout=30_000,
        )
        shown_at_kill = squash(chat.text(index))
        assert first.process is not None
        os.kill(first.process.pid, signal.SIGKILL)
        first.process.wait(timeout=30)
    finally:
        context.close()
        first.stop()

    with StreamlitServer(APP, env, tmp_path / "second.log") as second:
        context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
        try:
            chat = ChatPage(context.new_page(), second.url).open()
            sidebar = chat.page.locator('[data-testid="stSidebar"]')
            sidebar.get_by_role("button", name=QUESTION).click()
            reply = chat.messages.nth(1)
            # The lease of the killed writer runs out within seconds; the page then says so.
            expect(reply.get_by_text("Interrupted", exact=False)).to_be_visible(timeout=15_000)
            expect(reply.get_by_role("button", name="Continue", exact=True)).to_be_visible()
            recovered = squash(chat.text(1))
        finally:
            context.close()

    lost = len(shown_at_kill) - len(recovered)
    print(f"shown at kill: {len(shown_at_kill)} chars; recovered: {len(recovered)}; lost: {lost}")
    assert squash(full).startswith(recovered)
    assert len(recovered) >= len(shown_at_kill) - int(1.25 * CHARS_PER_SECOND)
    assert len(recovered) >= KILL_AFTER_CHARS - int(1.25 * CHARS_PER_SECOND)
