"""Files attached in a real browser: their text reaches the service; one too big sends nothing."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from liaobots_core.emulator import Behavior, Emulator
from testkit.browser import INPUT, REPLY_TIMEOUT_MS, ChatPage

pytestmark = pytest.mark.browser

FILE_INPUT = '[data-testid="stChatInput"] input[type="file"]'
CHIP = '[data-testid="stChatMessage"] [data-testid="stMarkdown"] span'
CONTENT = "# Заметки\n\nprint('привет из файла')  # ✓ UTF-8 all the way\n"


def attach_and_type(page: Page, text: str, name: str, data: bytes) -> None:
    """Attach a file and type a message; returns once it is uploaded (Send is enabled then)."""
    file = {"name": name, "mimeType": "text/plain", "buffer": data}
    page.set_input_files(FILE_INPUT, files=[file])
    # Its chip first: Send is enabled until the upload has begun, and disabled while it runs.
    expect(page.get_by_role("button", name=f"Remove {name}")).to_be_visible()
    page.fill(INPUT, text)
    send = page.get_by_role("button", name="Send message")
    expect(send).to_be_enabled(timeout=REPLY_TIMEOUT_MS)


def test_an_attached_utf8_file_reaches_the_upstream_request(
    chat: ChatPage, page: Page, emulator: Emulator
) -> None:
    emulator.default = Behavior(reply="Got the notes.")
    chat.open()
    attach_and_type(page, "What is in this file?", "notes.py", CONTENT.encode())
    chat.send("What is in this file?")
    assert chat.wait_for_reply(1) == "Got the notes."
    question = emulator.chat_requests[-1].body["messages"][-1]["content"]
    assert question == f"What is in this file?\n\n```notes.py\n{CONTENT}\n```"
    # The bubble shows the question and the file as a chip, not the file's text.
    bubble = chat.messages.nth(0)
    expect(bubble.get_by_text("notes.py ·")).to_be_visible()
    assert "привет из файла" not in bubble.inner_text()


def test_a_20_mb_file_is_refused_with_a_message_and_nothing_goes_upstream(
    chat: ChatPage, page: Page, emulator: Emulator
) -> None:
    chat.open()
    before = len(emulator.chat_requests)
    attach_and_type(page, "Read this huge file", "huge.txt", b"x" * (20 * 1024 * 1024))
    page.press(INPUT, "Enter")
    refusal = page.get_by_text("A file is too big (20.0 MB; files up to 2.0 MB")
    expect(refusal).to_be_visible(timeout=REPLY_TIMEOUT_MS)
    chat.wait_until_idle()
    expect(page.locator(INPUT)).to_have_value("Read this huge file")  # given back
    assert len(emulator.chat_requests) == before
    assert chat.messages.count() == 0
