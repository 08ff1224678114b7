"""Keyboard shortcuts on the page (AppTest): which buttons carry which, and the sidebar's list.

That they act in a browser, and never on letters typed in a text field, is checked in real
Chromium: tests/browser/test_shortcuts_in_chromium.py.
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from testkit.apptest import choose_language, connect, fresh_session, send

pytestmark = pytest.mark.usefixtures("own_database", "configured")


def shortcut_of(at: AppTest, label: str) -> str:
    return next(b.proto.shortcut for b in at.button if b.label == label)


def shortcut_list(at: AppTest) -> str:
    expander = next(
        e for e in at.sidebar.expander if e.label in ("Keyboard shortcuts", "Сочетания клавиш")
    )
    return "\n".join(md.value for md in expander.markdown)


def test_new_chat_and_regenerate_carry_their_shortcuts_and_the_sidebar_lists_all_five() -> None:
    at = send(fresh_session(), "Привет")
    assert shortcut_of(at, "New chat") == "ctrl+shift+o"
    assert shortcut_of(at, "Regenerate") == "ctrl+shift+e"
    listed = shortcut_list(at)
    for line in (
        "New chat: `Ctrl + Shift + O`",
        "Stop the reply being written: `Ctrl + Shift + X`",
        "Regenerate the last reply: `Ctrl + Shift + E`",
        "Search conversations: `Ctrl + K`",
        "Copy the last reply: `Ctrl + Shift + C`",
    ):
        assert line in listed


def test_the_list_is_in_russian_and_shows_cmd_on_a_mac(monkeypatch: pytest.MonkeyPatch) -> None:
    connect(
        monkeypatch,
        {"Host": "localhost:8501", "User-Agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5)"},
    )
    at = fresh_session()
    choose_language(at, "ru")
    listed = shortcut_list(at)
    assert "Новый чат: `⌘ + Shift + O`" in listed
    assert "Искать в разговорах: `⌘ + K`" in listed
