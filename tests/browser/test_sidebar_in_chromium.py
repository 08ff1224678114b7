"""The sidebar is the conversations, in real Chromium at a laptop's 1280×900: the list is on
screen without scrolling, each entry's ⋮ menu on its line, the model and the chat's settings
on one row at the top of the chat."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from chatpage.access.identity import LOCAL_OWNER
from chatpage.data.conversation import Conversation, Message
from chatpage.database.conversations import ConversationStore
from liaobots_core import DEFAULT_MODEL_ID
from testkit.browser import REPLY_TIMEOUT_MS, ChatPage, StreamlitServer

pytestmark = pytest.mark.browser

TITLES = ("Sidebar: first saved", "Sidebar: second saved", "Sidebar: third saved")
VIEWPORT_HEIGHT = 900  # the `page` fixture's window: 1280×900


def entry(page: Page, title: str) -> Locator:
    """A listed conversation's title button, by its title."""
    return page.locator('[class*="st-key-open_"]').filter(has_text=title)


def conversation_id(listed: Locator) -> str:
    found = re.search(r"st-key-open_(\S+)", listed.get_attribute("class") or "")
    assert found, "a listed conversation's button names its conversation"
    return found.group(1)


def vertical_centre(box: dict[str, float]) -> float:
    return box["y"] + box["height"] / 2


@pytest.fixture(scope="module")
def stored(page_server: StreamlitServer) -> None:
    """Three saved conversations, the last the newest, in the page's own database (made once
    per module: the list is what is checked here, not how a conversation gets into it)."""
    store = ConversationStore(page_server.env["DATABASE_URL"])
    for title in TITLES:
        conversation = Conversation(model_id=DEFAULT_MODEL_ID)
        conversation.add_user(title)
        conversation.append(Message("assistant", "Сохранённый ответ"))
        assert store.create(conversation, LOCAL_OWNER)
    store.close()


@pytest.fixture
def saved(stored: None, chat: ChatPage) -> ChatPage:
    """The page opened anew, as a person comes back to it."""
    return chat.open()


def test_the_first_listed_conversation_is_on_screen_without_scrolling_with_a_code(
    saved: ChatPage, page: Page
) -> None:
    first = page.locator('[class*="st-key-open_"]').first
    expect(first).to_have_text(TITLES[-1])  # the newest first
    box = first.bounding_box()
    assert box is not None, "the first listed conversation is drawn"
    spans = f"the first listed conversation spans y={box['y']:.0f}..{box['y'] + box['height']:.0f}"
    assert box["y"] >= 0, spans
    assert box["y"] + box["height"] <= VIEWPORT_HEIGHT, f"{spans} in a 1280×900 window"
    sidebar = page.get_by_test_id("stSidebarContent")
    assert sidebar.evaluate("e => e.scrollTop") == 0, "seen without scrolling the sidebar"

    # Its ⋮ menu is on the title's own line, not under it.
    menu = page.locator(f".st-key-menu_{conversation_id(first)}").get_by_role("button")
    menu_box = menu.bounding_box()
    assert menu_box is not None
    assert box["y"] <= vertical_centre(menu_box) <= box["y"] + box["height"]


def test_the_model_and_the_chats_settings_share_one_row_at_the_top_of_the_chat(
    saved: ChatPage, page: Page
) -> None:
    model = page.locator(".st-key-model_bar").get_by_role("combobox", name="Model")
    settings = page.locator(".st-key-chat_bar").get_by_role("button", name="Chat settings")
    model_box, settings_box = model.bounding_box(), settings.bounding_box()
    assert model_box is not None
    assert settings_box is not None
    assert abs(vertical_centre(model_box) - vertical_centre(settings_box)) < 12
    assert settings_box["x"] > model_box["x"] + model_box["width"]  # the settings at the right
    first_bubble_or_input = page.locator('[data-testid="stChatInput"]').bounding_box()
    assert first_bubble_or_input is not None
    assert model_box["y"] < first_bubble_or_input["y"]


def test_a_listed_conversations_menu_downloads_it_without_opening_it(
    saved: ChatPage, page: Page
) -> None:
    listed = entry(page, TITLES[0])
    page.locator(f".st-key-menu_{conversation_id(listed)}").get_by_role("button").click()
    with page.expect_download(timeout=REPLY_TIMEOUT_MS) as download:
        page.get_by_role("button", name="Markdown", exact=True).click()
    assert download.value.suggested_filename == "sidebar-first-saved.md"
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert TITLES[0] in text
    assert "Сохранённый ответ" in text
    expect(saved.messages).to_have_count(0)  # the chat on show is still the empty one


def test_back_and_forward_step_through_the_conversations_opened_from_the_list(
    saved: ChatPage, page: Page
) -> None:
    opened = []
    for title in TITLES[:2]:
        listed = entry(page, title)
        opened.append(conversation_id(listed))
        listed.click()
        expect(saved.messages.first).to_contain_text(title, timeout=REPLY_TIMEOUT_MS)
        expect(page).to_have_url(re.compile(rf"\?c={opened[-1]}$"))

    page.go_back()  # to the first one opened
    expect(saved.messages.first).to_contain_text(TITLES[0], timeout=REPLY_TIMEOUT_MS)
    expect(page).to_have_url(re.compile(rf"\?c={opened[0]}$"))
    page.go_back()  # to the page as it was opened: a new chat
    expect(saved.messages).to_have_count(0, timeout=REPLY_TIMEOUT_MS)
    expect(page).not_to_have_url(re.compile(r"\?c="))
    page.go_forward()
    expect(saved.messages.first).to_contain_text(TITLES[0], timeout=REPLY_TIMEOUT_MS)
    expect(page).to_have_url(re.compile(rf"\?c={opened[0]}$"))
