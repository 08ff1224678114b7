"""Importing ChatGPT's and Claude's data exports through the sidebar's import button:
every branch kept, the branch ChatGPT showed on show, a summary, and no duplicates."""

from __future__ import annotations

import io
import zipfile

import pytest
from streamlit.testing.v1 import AppTest

from chatpage.access.identity import LOCAL_OWNER
from chatpage.database.conversations import ConversationStore
from testkit import foreign_exports as exports
from testkit.apptest import bubbles, conversation, fresh_session, listed

pytestmark = pytest.mark.usefixtures("own_database")


def upload(at: AppTest, name: str, data: bytes, mime: str = "application/zip") -> AppTest:
    at.sidebar.file_uploader[0].set_value((name, data, mime))
    at.run()
    assert not at.exception, at.exception
    return at


def summary(at: AppTest) -> str:
    return "\n".join(box.value for box in [*at.sidebar.success, *at.sidebar.info])


def test_a_chatgpt_export_with_a_branched_conversation_imports_with_both_branches(
    own_database: str,
) -> None:
    at = upload(fresh_session(), "chatgpt-export.zip", exports.chatgpt_zip())
    # The newest conversation opens, named in the URL; both are listed.
    assert sorted(listed(at)) == ["Lisbon day trip", "Sales chart"]
    store = ConversationStore(own_database)
    found = {s.title: s.id for s in store.list(LOCAL_OWNER)}
    lisbon = store.load(found["Lisbon day trip"], LOCAL_OWNER)
    assert lisbon is not None
    texts = {m.text for m in lisbon.tree.values()}
    assert {"Make it cheaper", "Walk, and eat bifanas."} <= texts  # the first branch
    assert {"Make it for a rainy day", "The Oceanarium, then fado."} <= texts  # the second
    # The branch ChatGPT showed (current_node) is the one on show.
    assert [m.text for m in lisbon.messages] == [
        "Plan a day in Lisbon",
        "Morning: Alfama.",
        "Make it for a rainy day",
        "Museums: the Gulbenkian.",
    ]
    reopened = fresh_session(c=lisbon.id)
    assert [text for _, text in bubbles(reopened)] == [m.text for m in lisbon.messages]
    question = conversation(reopened).messages[2]
    assert reopened.button(key=f"previous_{question.id}")  # ‹ 2 / 2 ›: the edit is a version
    reopened.button(key=f"previous_{question.id}").click().run()
    assert [text for _, text in bubbles(reopened)][2:] == [
        "Make it cheaper",
        "Walk, and eat bifanas.",
    ]
    words = summary(at)
    assert "Conversations imported from ChatGPT: 2" in words
    assert "System and hidden messages left out: 1" in words
    assert "Images, kept as “[image]”" in words


def test_importing_the_same_export_twice_does_not_duplicate_and_says_so(
    own_database: str,
) -> None:
    at = upload(fresh_session(), "claude.zip", exports.claude_zip())
    assert "Conversations imported from Claude: 2" in summary(at)
    first = ConversationStore(own_database).list(LOCAL_OWNER)
    again = upload(fresh_session(), "claude.zip", exports.claude_zip())
    words = summary(again)
    assert "Conversations imported from Claude: 0" in words
    assert "Already imported before, skipped: 2" in words
    assert ConversationStore(own_database).list(LOCAL_OWNER) == first


def test_an_imported_conversation_opens_in_the_url_and_the_summary_speaks_russian(
    own_database: str,
) -> None:
    at = fresh_session()
    at.session_state["lang"] = "ru"
    at.run()
    alone = exports.as_json([exports.claude_branched()])
    at = upload(at, "conversations.json", alone, "application/json")
    opened = at.query_params["c"]
    assert conversation(at).id == opened
    assert [text for _, text in bubbles(at)][-1] == "Return to your opening image."
    assert "Импортировано разговоров из Claude: 1" in summary(at)
    reloaded = fresh_session(c=opened)
    assert conversation(reloaded).title == "Essay feedback"


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"PK\x03\x04 not really a zip", "damaged or protected by a password"),
        (exports.as_zip(b"[]")[:-30], "damaged"),
        (
            (
                lambda: (buffer := io.BytesIO(), zipfile.ZipFile(buffer, "w").close(), buffer)[2]
            )().getvalue(),
            "no conversations.json",
        ),
        (b'[{"something": "else"}]', "not a conversation export from this page, ChatGPT or Claude"),
        (b"[" * 100 + b"]" * 100, "more than 64 levels deep"),
    ],
    ids=["not-a-zip", "cut-zip", "empty-zip", "other-list", "deep"],
)
def test_a_bad_export_is_refused_clearly_and_writes_nothing(
    own_database: str, data: bytes, words: str
) -> None:
    at = upload(fresh_session(), "export.zip", data)
    assert any(words in e.value for e in at.sidebar.error), [e.value for e in at.sidebar.error]
    assert ConversationStore(own_database).list(LOCAL_OWNER) == []


def test_another_tab_of_the_same_person_lists_the_imported_conversations() -> None:
    other_tab = fresh_session()
    assert listed(other_tab) == []
    upload(fresh_session(), "claude.zip", exports.claude_zip())
    other_tab.run()
    assert sorted(listed(other_tab)) == ["Essay feedback", "Translate 'hello' to French"]


def test_a_demo_visitor_imports_as_many_conversations_a_day_as_the_demo_allows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CHAT_DEMO", "1")
    monkeypatch.setenv("CHAT_DEMO_IMPORTS_PER_DAY", "3")
    at = upload(fresh_session(), "claude.zip", exports.claude_zip())
    assert "Conversations imported from Claude: 2" in summary(at)
    at = upload(at, "chatgpt.zip", exports.chatgpt_zip())
    words = summary(at)
    assert "Conversations imported from ChatGPT: 1" in words
    assert "Past this demo's daily import limit, skipped: 1" in words
    assert len(listed(at)) == 3
    at = upload(at, "chatgpt.json", exports.as_json([exports.chatgpt_with_tools()]))
    assert any("at most 3 conversations a day" in e.value for e in at.sidebar.error)
    assert len(listed(at)) == 3
