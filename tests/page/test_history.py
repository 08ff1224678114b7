"""Saved conversations through the page: listed, reopened by URL, renamed, deleted, imported."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import streamlit
from sqlalchemy import text
from streamlit.testing.v1 import AppTest

from chatpage.access.identity import LOCAL_OWNER
from chatpage.data.conversation import Conversation, Message, Status
from chatpage.data.export import from_json, to_json
from chatpage.database.conversations import ConversationStore
from chatpage.i18n import t
from chatpage.journal import Journal
from chatpage.views.conversation_list.library import date_group
from liaobots_core.emulator import Behavior, Emulator
from testkit.apptest import bubbles, fresh_session, listed, open_menu, open_settings, send

pytestmark = pytest.mark.usefixtures("own_database", "configured")


def stored(own_database: str) -> ConversationStore:
    return ConversationStore(own_database)


def test_a_conversation_from_one_session_is_listed_in_the_next(configured: Emulator) -> None:
    configured.default = Behavior(reply="Ответ")
    send(fresh_session(), "Как сварить борщ на двоих? 🍲")
    assert listed(fresh_session()) == ["Как сварить борщ на двоих? 🍲"]


def test_the_url_names_the_open_conversation_and_reopens_it(configured: Emulator) -> None:
    configured.default = Behavior(reply="Первый ответ")
    first = send(fresh_session(), "Вопрос")
    conversation_id = first.query_params["c"]
    assert len(conversation_id) >= 20
    reopened = fresh_session(c=conversation_id)
    assert bubbles(reopened) == [("user", "Вопрос"), ("assistant", "Первый ответ")]


def test_clicking_a_title_in_the_list_opens_that_conversation(configured: Emulator) -> None:
    configured.default = Behavior(reply="about cats")
    send(fresh_session(), "cats")
    configured.default = Behavior(reply="about dogs")
    at = send(fresh_session(), "dogs")
    at.sidebar.button(key=next(b.key for b in at.sidebar.button if b.label == "cats")).click()
    at.run()
    assert bubbles(at) == [("user", "cats"), ("assistant", "about cats")]


# The browser sends its address with every rerun; one sent before it took in the `?c=` the
# page set last carries the old one (setting it below, as AppTest sends it, is that rerun).


def test_a_rerun_with_the_old_address_keeps_the_conversation_the_list_opened(
    configured: Emulator,
) -> None:
    configured.default = Behavior(reply="about cats")
    cats = send(fresh_session(), "cats").query_params["c"]
    configured.default = Behavior(reply="about dogs")
    at = send(fresh_session(), "dogs")
    dogs = at.query_params["c"]
    at.sidebar.button(key=next(b.key for b in at.sidebar.button if b.label == "cats")).click()
    at.run()
    assert at.query_params["c"] == cats
    at.query_params["c"] = dogs
    at.run()
    assert bubbles(at) == [("user", "cats"), ("assistant", "about cats")]
    assert at.query_params["c"] == cats


def test_a_rerun_with_the_old_address_keeps_a_new_chat_new(configured: Emulator) -> None:
    at = send(fresh_session(), "first")
    old = at.query_params["c"]
    next(b for b in at.sidebar.button if b.label == "New chat").click().run()
    assert "c" not in at.query_params
    at.query_params["c"] = old
    at.run()
    assert bubbles(at) == []
    assert "c" not in at.query_params


def test_an_import_holds_against_a_rerun_with_the_old_address(own_database: str) -> None:
    at = send(fresh_session(), "before the import")
    old = at.query_params["c"]
    chat = Conversation(model_id="gpt-4", title="Imported chat")
    chat.add_user("imported question")
    chat.append(Message("assistant", "imported answer"))
    at.sidebar.file_uploader[0].set_value(("chat.json", to_json(chat).encode(), "application/json"))
    at.run()
    imported = at.query_params["c"]
    at.query_params["c"] = old
    at.run()
    assert bubbles(at) == [("user", "imported question"), ("assistant", "imported answer")]
    assert at.query_params["c"] == imported != old


def test_a_switch_cut_short_by_a_click_is_made_by_the_next_run(
    configured: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Streamlit ends a run at its next use of session state once another click waits: one
    ended just after it loaded the conversation asked for still leaves it to be opened."""
    configured.default = Behavior(reply="about cats")
    send(fresh_session(), "cats")
    configured.default = Behavior(reply="about dogs")
    at = send(fresh_session(), "dogs")
    load, cut = Journal.load, []

    def load_then_cut_short(journal: Journal, conversation_id: str) -> Conversation | None:
        loaded = load(journal, conversation_id)
        if not cut:
            cut.append(conversation_id)
            streamlit.rerun()  # as Streamlit's check for a waiting click ends a run
        return loaded

    monkeypatch.setattr(Journal, "load", load_then_cut_short)
    at.sidebar.button(key=next(b.key for b in at.sidebar.button if b.label == "cats")).click()
    at.run()
    assert cut, "the run that opened it was cut short"
    assert bubbles(at) == [("user", "cats"), ("assistant", "about cats")]
    assert at.query_params["c"] == cut[0]


@pytest.mark.parametrize("garbage", ["nope", "x" * 500, "../../etc/passwd", "' OR 1=1 --"])
def test_an_unknown_or_garbage_id_in_the_url_says_not_found_and_changes_nothing(
    garbage: str, own_database: str
) -> None:
    send(fresh_session(), "kept")
    at = fresh_session(c=garbage)
    assert any("not found" in w.value for w in at.warning)
    assert bubbles(at) == []
    assert "c" not in at.query_params
    assert [s.title for s in stored(own_database).list(LOCAL_OWNER)] == ["kept"]


def test_search_narrows_the_list_by_title_and_text(configured: Emulator) -> None:
    configured.default = Behavior(reply="Use a big pot")
    send(fresh_session(), "Soup")
    configured.default = Behavior(reply="Bake it")
    at = send(fresh_session(), "Bread")
    at.sidebar.text_input(key="conversation_search").input("big POT").run()
    assert listed(at) == ["Soup"]
    at.sidebar.text_input(key="conversation_search").input("nothing at all").run()
    assert listed(at) == []
    assert any("Nothing matches" in c.value for c in at.sidebar.caption)


def test_rename_changes_the_listed_title(own_database: str) -> None:
    at = send(fresh_session(), "Original")
    conversation_id = at.query_params["c"]
    open_menu(at, conversation_id)
    at.sidebar.text_input(key=f"title_{conversation_id}").input("Новое имя").run()
    at.sidebar.button(key=f"rename_{conversation_id}").click().run()
    assert listed(at) == ["Новое имя"]
    assert stored(own_database).list(LOCAL_OWNER)[0].title == "Новое имя"


def test_delete_asks_first_then_removes_the_conversation(own_database: str) -> None:
    at = send(fresh_session(), "Doomed")
    conversation_id = at.query_params["c"]
    open_menu(at, conversation_id)
    at.sidebar.button(key=f"delete_{conversation_id}").click().run()
    assert listed(at) == ["Doomed"]  # only asked so far
    assert any("cannot be undone" in w.value for w in at.sidebar.warning)
    at.sidebar.button(key=f"really_delete_{conversation_id}").click().run()
    assert listed(at) == []
    assert bubbles(at) == []
    assert stored(own_database).list(LOCAL_OWNER) == []


def test_a_reply_cut_by_a_crash_reopens_interrupted_with_continue(own_database: str) -> None:
    chat = Conversation(model_id="gpt-4")
    chat.add_user("Tell me a long story")
    chat.append(Message("assistant", "Once upon a ti", Status.STREAMING))
    store = stored(own_database)
    store.create(chat, LOCAL_OWNER)
    with store.engine.begin() as db:  # its writer stopped renewing the lease: a crash
        db.execute(text("UPDATE messages SET lease_until = 0"))
    at = fresh_session(c=chat.id)
    assert bubbles(at)[-1] == ("assistant", "Once upon a ti")
    assert any("Interrupted" in c.value for c in at.caption)
    assert at.button(key="action_continue").label == "Continue"


def test_importing_an_export_opens_it_as_a_new_conversation(own_database: str) -> None:
    chat = Conversation(model_id="gpt-4", title="Imported chat")
    chat.add_user("<img src=x onerror=alert(1)> hi")
    chat.append(Message("assistant", "hello 👋"))
    at = fresh_session()
    at.sidebar.file_uploader[0].set_value(("chat.json", to_json(chat).encode(), "application/json"))
    at.run()
    assert bubbles(at) == [("user", "<img src=x onerror=alert(1)> hi"), ("assistant", "hello 👋")]
    assert listed(at) == ["Imported chat"]
    at.sidebar.file_uploader[0].set_value(("chat.json", to_json(chat).encode(), "application/json"))
    at.run()  # the same file again: a copy under new ids, the first import untouched
    first, second = stored(own_database).list(LOCAL_OWNER)
    assert {first.id, second.id} >= {chat.id}
    assert first.id != second.id


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"\xff\xfe not text", "not JSON"),
        (b'{"format": "something-else"}', "not a conversation export"),
        (
            json.dumps({"format": "liaobots-chat", "conversation": {"messages": []}}).encode(),
            "no messages",
        ),
        (
            json.dumps(
                {"format": "liaobots-chat", "conversation": {"messages": [{"role": "root"}]}}
            ).encode(),
            "damaged",
        ),
        # An object: this page's export, bounded at 2 MB (a list is ChatGPT's or Claude's).
        (b'{"format": "liaobots-chat", "pad": "' + b"x" * 3_000_000 + b'"}', "too large"),
    ],
    ids=["binary", "other-format", "empty", "bad-message", "oversized"],
)
def test_a_bad_import_is_refused_clearly_and_writes_nothing(
    content: bytes, words: str, own_database: str
) -> None:
    at = fresh_session()
    at.sidebar.file_uploader[0].set_value(("chat.json", content, "application/json"))
    at.run()
    assert not at.exception
    assert any(words in e.value for e in at.sidebar.error), [e.value for e in at.sidebar.error]
    assert stored(own_database).list(LOCAL_OWNER) == []


def test_a_question_left_without_an_answer_can_be_sent_again(
    configured: Emulator, own_database: str
) -> None:
    chat = Conversation(model_id="gpt-4")
    chat.add_user("Answer me, please")
    stored(own_database).create(chat, LOCAL_OWNER)
    configured.default = Behavior(reply="Here you are")
    at = fresh_session(c=chat.id)
    at.button(key="action_regenerate").click().run()
    assert bubbles(at) == [("user", "Answer me, please"), ("assistant", "Here you are")]


def test_the_list_shows_the_newest_25_and_more_on_request(own_database: str) -> None:
    store = stored(own_database)
    for number in range(30):
        conversation = Conversation(model_id="gpt-4")
        conversation.add_user(f"Question {number:02}")
        store.create(conversation, LOCAL_OWNER)
    at = fresh_session()
    assert listed(at) == [f"Question {n:02}" for n in range(29, 4, -1)]  # newest first
    at.sidebar.button(key="show_more_conversations").click().run()
    assert listed(at) == [f"Question {n:02}" for n in range(29, -1, -1)]
    assert "show_more_conversations" not in [b.key for b in at.sidebar.button]
    searching = fresh_session()
    searching.sidebar.text_input(key="conversation_search").input("Question 02").run()
    assert listed(searching) == ["Question 02"]  # search reaches past the first page


def test_pin_keeps_a_conversation_on_top_under_its_own_heading(own_database: str) -> None:
    first = send(fresh_session(), "First question")
    first_id = first.query_params["c"]
    at = send(fresh_session(), "Second question")
    assert listed(at) == ["Second question", "First question"]
    open_menu(at, first_id)
    at.sidebar.button(key=f"pin_{first_id}").click().run()
    assert listed(at) == ["First question", "Second question"]
    headings = [c.value for c in at.sidebar.caption]
    assert headings.index("Pinned") < headings.index("Today")


def test_archive_hides_a_conversation_that_search_and_the_archive_still_find(
    own_database: str,
) -> None:
    at = send(fresh_session(), "Old plans for Zanzibar")
    old_id = at.query_params["c"]
    at = send(fresh_session(), "New plans")
    open_menu(at, old_id)
    at.sidebar.button(key=f"archive_{old_id}").click().run()
    assert listed(at) == ["New plans"]
    at.sidebar.button(key="show_archive").click().run()
    assert listed(at) == ["Old plans for Zanzibar"]
    open_menu(at, old_id)
    at.sidebar.button(key=f"archive_{old_id}").click().run()  # now labelled Restore
    at.sidebar.button(key="leave_archive").click().run()
    assert listed(at) == ["New plans", "Old plans for Zanzibar"]
    stored(own_database).archive(old_id, LOCAL_OWNER, True)
    searching = fresh_session()
    searching.sidebar.text_input(key="conversation_search").input("zanzibar").run()
    assert listed(searching) == ["Old plans for Zanzibar"]


def test_the_list_is_headed_by_day_in_the_persons_time_zone() -> None:
    moscow = ZoneInfo("Europe/Moscow")
    now = datetime(2026, 11, 26, 1, 30, tzinfo=moscow).timestamp()  # 22:30 UTC the day before
    an_hour_ago = now - 3600  # 00:30 in Moscow: today there, though yesterday in UTC
    assert date_group(an_hour_ago, now, moscow) == "group_today"
    assert date_group(now - 2 * 3600, now, moscow) == "group_yesterday"
    assert date_group(now - 5 * 86_400, now, moscow) == "group_week"
    assert date_group(now - 30 * 86_400, now, moscow) == "group_older"


def test_a_conversations_temperature_is_sent_kept_and_restored(
    configured: Emulator, own_database: str
) -> None:
    at = fresh_session()
    default = send(at, "with the service's default")
    assert "temperature" not in configured.chat_requests[-1].body  # nothing sent: its default
    next(b for b in default.sidebar.button if b.label == "New chat").click().run()
    fresh = default
    open_settings(fresh)
    key = next(s.key for s in fresh.main.select_slider if s.key.startswith("temperature_"))
    fresh.main.select_slider(key=key).set_value(0.3).run()
    send(fresh, "a focused answer, please")
    assert configured.chat_requests[-1].body["temperature"] == 0.3
    conversation_id = fresh.query_params["c"]
    reopened = fresh_session(c=conversation_id)
    open_settings(reopened)
    slider = reopened.main.select_slider(key=f"temperature_{conversation_id}")
    assert slider.value == 0.3
    stored_copy = stored(own_database).load(conversation_id, LOCAL_OWNER)
    assert stored_copy is not None
    assert stored_copy.temperature == 0.3
    assert from_json(to_json(stored_copy)).temperature == 0.3  # exports keep it


class Downloads:
    """The files the page's download buttons would give when clicked, by file name.

    AppTest has no browser to click them: this keeps each callable the page hands Streamlit
    for a deferred download, as Streamlit's own media file manager receives it.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from streamlit.runtime.media_file_manager import MediaFileManager

        self.made: dict[str, object] = {}
        register = MediaFileManager.add_deferred

        def keep(manager, data_callable, mimetype, coordinates, file_name=None, **kwargs):
            self.made[file_name] = data_callable
            return register(manager, data_callable, mimetype, coordinates, file_name, **kwargs)

        monkeypatch.setattr(MediaFileManager, "add_deferred", keep)

    def click(self, file_name: str) -> str:
        return self.made[file_name]()  # type: ignore[operator]


def test_a_listed_conversations_menu_downloads_it_as_markdown_and_json_without_opening_it(
    configured: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    configured.default = Behavior(reply="Щи да каша — пища наша")
    first = send(fresh_session(), "Что едят на Руси?")
    first_id = first.query_params["c"]
    configured.default = Behavior(reply="about dogs")
    at = send(fresh_session(), "dogs")
    downloads = Downloads(monkeypatch)
    open_menu(at, first_id)
    labels = [b.label for b in at.sidebar.download_button if b.key.endswith(f"_menu_{first_id}")]
    assert labels == ["Markdown", "JSON"]
    assert bubbles(at) == [("user", "dogs"), ("assistant", "about dogs")]  # still open

    markdown = downloads.click("что-едят-на-руси.md")
    assert "Что едят на Руси?" in markdown
    assert "Щи да каша — пища наша" in markdown
    again = from_json(downloads.click("что-едят-на-руси.json").encode())
    assert [m.text for m in again.messages] == ["Что едят на Руси?", "Щи да каша — пища наша"]


def test_a_download_of_a_conversation_deleted_meanwhile_fails_instead_of_giving_an_empty_file(
    own_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = send(fresh_session(), "Soon gone")
    first_id = first.query_params["c"]
    at = send(fresh_session(), "Kept")
    downloads = Downloads(monkeypatch)
    open_menu(at, first_id)
    stored(own_database).delete(first_id, LOCAL_OWNER)  # from another tab
    with pytest.raises(LookupError):
        downloads.click("soon-gone.md")
    assert "Kept" in downloads.click("kept.md")  # the open one, under the list, still works


def sidebar_list(at: AppTest) -> list[str]:
    """The list's headings ("# Today") and titles, top to bottom, as drawn."""
    drawn: list[str] = []

    def walk(node: Any) -> None:
        if node.type == "caption":
            drawn.append(f"# {node.value}")
        elif node.type == "button" and (node.key or "").startswith("open_"):
            drawn.append(node.label)
        for _, child in sorted(getattr(node, "children", {}).items()):
            walk(child)

    walk(at.sidebar)
    return [line for line in drawn if not line.startswith("# ") or line[2:] in HEADINGS]


HEADINGS = {t("en", name) for name in ("group_today", "group_week", "group_pinned")} | {
    t("en", "no_conversations")
}


@pytest.mark.parametrize(
    ("earlier", "days_ago", "drawn"),
    [
        (None, 0, ["# Today", "New question"]),
        ("Earlier today", 0, ["# Today", "New question", "Earlier today"]),
        ("Three days ago", 3, ["# Today", "New question", "# Previous 7 days", "Three days ago"]),
    ],
)
def test_a_new_conversation_is_listed_at_the_top_of_today_from_its_first_message(
    own_database: str, earlier: str | None, days_ago: int, drawn: list[str]
) -> None:
    if earlier is not None:
        store = stored(own_database)
        conversation = Conversation(model_id="gpt-4")
        conversation.add_user(earlier)
        store.create(conversation, LOCAL_OWNER)
        with store.engine.begin() as db:
            back = text("UPDATE conversations SET updated_at = updated_at - :seconds")
            db.execute(back, {"seconds": days_ago * 86400})
    at = fresh_session()
    at.chat_input[0].set_value("New question").run()  # the list was drawn before it was stored
    assert not at.exception
    assert sidebar_list(at) == drawn
