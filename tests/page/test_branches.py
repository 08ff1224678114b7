"""Branches and more than one window, through the page: edits and regenerated replies are kept
as versions, and a stale tab never drops another tab's messages."""

from __future__ import annotations

import json

import pytest

from chatpage.access.identity import LOCAL_OWNER
from chatpage.data.export import from_json, to_json
from chatpage.database.conversations import ConversationStore
from liaobots_core.emulator import Behavior, Emulator
from testkit.apptest import bubbles, conversation, edit_key, fresh_session, send

pytestmark = pytest.mark.usefixtures("own_database", "configured")


def test_editing_an_earlier_question_starts_a_branch_and_keeps_the_old_one(
    configured: Emulator, own_database: str
) -> None:
    configured.default = Behavior(reply="answer one")
    at = send(fresh_session(), "first question")
    configured.default = Behavior(reply="answer two")
    send(at, "second question")
    configured.default = Behavior(reply="answer to the edit")
    at.button(key=edit_key(at, 0)).click().run()
    at.text_area(key="edit_text").set_value("first question, edited").run()
    at.button[[b.label for b in at.button].index("Save and send")].click().run()
    assert bubbles(at) == [
        ("user", "first question, edited"),
        ("assistant", "answer to the edit"),
    ]
    assert configured.chat_requests[-1].body["messages"] == [
        {"role": "user", "content": "first question, edited"}
    ]
    assert "2 / 2" in [c.value for c in at.caption]
    at.button(key=f"previous_{conversation(at).messages[0].id}").click().run()
    assert [text for _, text in bubbles(at)] == [
        "first question",
        "answer one",
        "second question",
        "answer two",
    ]
    stored = ConversationStore(own_database).load(conversation(at).id, LOCAL_OWNER)
    assert stored is not None
    assert len(stored.tree) == 6  # nothing was replaced


def test_the_branch_on_show_survives_a_new_session(configured: Emulator) -> None:
    configured.default = Behavior(reply="old answer")
    at = send(fresh_session(), "question")
    configured.default = Behavior(reply="new answer")
    at.button(key="action_regenerate").click().run()
    at.button(key=f"previous_{conversation(at).last.id}").click().run()
    assert bubbles(at)[-1] == ("assistant", "old answer")
    reopened = fresh_session(c=conversation(at).id)
    assert bubbles(reopened) == [("user", "question"), ("assistant", "old answer")]
    assert "1 / 2" in [c.value for c in reopened.caption]
    reopened.button(key=f"next_{conversation(reopened).last.id}").click().run()
    assert bubbles(fresh_session(c=conversation(at).id))[-1] == ("assistant", "new answer")


def test_a_send_from_a_stale_tab_keeps_both_tabs_messages_and_says_so_until_the_next(
    configured: Emulator, own_database: str
) -> None:
    configured.default = Behavior(reply="first answer")
    tab_a = send(fresh_session(), "opening question")
    conversation_id = conversation(tab_a).id
    tab_b = fresh_session(c=conversation_id)
    configured.default = Behavior(reply="answer for A")
    send(tab_a, "from tab A")
    configured.default = Behavior(reply="answer for B")
    send(tab_b, "from tab B")  # B still showed only the first exchange
    assert any("changed in another window" in i.value for i in tab_b.info)
    assert bubbles(tab_b)[-2:] == [("user", "from tab B"), ("assistant", "answer for B")]
    assert "2 / 2" in [c.value for c in tab_b.caption]
    # B asked the model about what B saw, not about A's exchange it had not seen.
    assert configured.chat_requests[-1].body["messages"][-1]["content"] == "from tab B"
    assert "from tab A" not in json.dumps(configured.chat_requests[-1].body["messages"])
    tab_b.run()  # a re-run (the watcher's, a reply ending) does not hide it before it is read
    assert any("changed in another window" in i.value for i in tab_b.info)
    send(tab_b, "next question")  # the person's next action: said, and over
    assert not any("changed in another window" in i.value for i in tab_b.info)
    stored = ConversationStore(own_database).load(conversation_id, LOCAL_OWNER)
    assert stored is not None
    texts = {m.text for m in stored.tree.values()}
    assert {"from tab A", "answer for A", "from tab B", "answer for B"} <= texts


def test_a_tab_takes_in_what_another_tab_added_on_its_next_run(configured: Emulator) -> None:
    configured.default = Behavior(reply="first answer")
    tab_a = send(fresh_session(), "opening question")
    tab_b = fresh_session(c=conversation(tab_a).id)
    configured.default = Behavior(reply="second answer")
    send(tab_a, "follow-up from A")
    tab_b.run()  # what the watcher does every two seconds in a browser
    assert bubbles(tab_b) == bubbles(tab_a)
    assert not tab_b.info


def test_a_send_into_a_conversation_deleted_elsewhere_is_refused_and_given_back(
    configured: Emulator, own_database: str
) -> None:
    tab_a = send(fresh_session(), "soon deleted")
    conversation_id = conversation(tab_a).id
    tab_b = fresh_session(c=conversation_id)
    assert ConversationStore(own_database).delete(conversation_id, LOCAL_OWNER)
    requests = len(configured.chat_requests)
    tab_b.chat_input[0].set_value("a message worth keeping").run()
    assert any("deleted in another window" in w.value for w in tab_b.warning)
    assert tab_b.chat_input[0].value == "a message worth keeping"
    assert len(configured.chat_requests) == requests  # nothing went upstream
    assert ConversationStore(own_database).load(conversation_id, LOCAL_OWNER) is None


def test_exporting_an_imported_tree_gives_the_same_file(configured: Emulator) -> None:
    configured.default = Behavior(reply="one")
    at = send(fresh_session(), "question")
    configured.default = Behavior(reply="two")
    at.button(key="action_regenerate").click().run()
    exported = to_json(conversation(at))
    assert len(json.loads(exported)["conversation"]["messages"]) == 3
    assert to_json(from_json(exported.encode())) == exported


def test_a_rename_in_one_tab_survives_a_send_from_another(
    configured: Emulator, own_database: str
) -> None:
    tab_a = send(fresh_session(), "question")
    tab_b = fresh_session(c=conversation(tab_a).id)
    store = ConversationStore(own_database)
    assert store.rename(conversation(tab_a).id, "Renamed in tab A", LOCAL_OWNER)
    send(tab_b, "a send from tab B")
    assert [s.title for s in store.list(LOCAL_OWNER)] == ["Renamed in tab A"]


def test_a_flat_export_from_before_branches_still_imports(own_database: str) -> None:
    flat = {
        "format": "liaobots-chat",
        "version": 1,
        "conversation": {
            "title": "Old export",
            "model_id": "gpt-4",
            "messages": [
                {"role": "user", "text": "Старый вопрос", "status": "complete"},
                {"role": "assistant", "text": "Старый ответ", "status": "complete"},
                {"role": "user", "text": "Ещё", "status": "complete"},
            ],
        },
    }
    at = fresh_session()
    at.sidebar.file_uploader[0].set_value(
        ("old.json", json.dumps(flat).encode(), "application/json")
    )
    at.run()
    assert [text for _, text in bubbles(at)] == ["Старый вопрос", "Старый ответ", "Ещё"]
    (summary,) = ConversationStore(own_database).list(LOCAL_OWNER)
    assert summary.title == "Old export"
