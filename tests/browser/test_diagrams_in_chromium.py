"""A reply's Mermaid diagram in real Chromium: drawn as an image, and a hostile one runs
nothing and fetches nothing (Streamlit's Mermaid set-up; docs/safety.md)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from liaobots_core.emulator import Behavior, Emulator
from testkit.browser import REPLY_TIMEOUT_MS, ChatPage

pytestmark = pytest.mark.browser

HOSTILE = """%%{init: {"securityLevel": "loose", "htmlLabels": true}}%%
flowchart TD
    A["<img src='http://elsewhere.test/a.png' onerror='window.__pwned=1'>"] --> B[Ответ]
    click A "javascript:window.__pwned=2"
    click B call alert()"""
BROKEN = "flowchart TD\n    A --> [[[ не закрыто"


def test_a_replys_diagram_is_drawn_as_an_image_and_a_hostile_one_runs_and_fetches_nothing(
    chat: ChatPage, page: Page, emulator: Emulator
) -> None:
    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.url))
    emulator.default = Behavior(
        reply=f"Схема:\n\n```mermaid\n{HOSTILE}\n```\n\nИ сломанная:\n\n```mermaid\n{BROKEN}\n```\n"
    )
    chat.open()
    index = chat.send("Нарисуй")
    bubble = chat.messages.nth(index)
    drawn = bubble.locator('[data-testid="stMermaidChart"] img')
    expect(drawn.first).to_be_visible(timeout=REPLY_TIMEOUT_MS)
    assert drawn.first.get_attribute("src").startswith("blob:")  # an SVG, as an image
    # One Mermaid cannot parse says so in its place; its Source holds the block.
    expect(bubble.locator('[data-testid="stMermaidError"]')).to_contain_text("Parse error")
    drawn.first.click()
    bubble.get_by_text("Source", exact=True).first.click()  # the expander under the diagram
    expect(bubble.get_by_text("click A", exact=False).first).to_be_visible()
    assert page.evaluate("() => window.__pwned") is None
    assert not [url for url in fetched if "elsewhere.test" in url]
