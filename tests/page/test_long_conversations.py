"""A long conversation through the page: the latest turns drawn, earlier ones on request,
and search, version switching and imports still reaching every message."""

from __future__ import annotations

import pytest

from chatpage.access.identity import LOCAL_OWNER
from chatpage.data.conversation import Conversation, Message
from chatpage.data.export import to_json
from chatpage.database.conversations import ConversationStore
from chatpage.views.window import STEP, WINDOW
from liaobots_core.emulator import Behavior, Emulator
from testkit.apptest import bubbles, conversation, fresh_session, listed, send

pytestmark = pytest.mark.usefixtures("own_database", "configured")

TURNS = 100  # 200 messages: several windows long


def long_chat(turns: int = TURNS, title: str = "Long chat") -> Conversation:
    """Questions "q0".."q{n-1}", each answered "a0".."a{n-1}"."""
    chat = Conversation(model_id="gpt-4", title=title)
    for n in range(turns):
        chat.add_user(f"q{n}")
        chat.append(Message("assistant", f"a{n}"))
    return chat


def stored_long_chat(own_database: str, chat: Conversation | None = None) -> Conversation:
    chat = chat or long_chat()
    ConversationStore(own_database).create(chat, LOCAL_OWNER)
    return chat


def texts(at) -> list[str]:
    return [text for _, text in bubbles(at)]


def test_a_long_conversation_opens_at_its_latest_turns(own_database: str) -> None:
    chat = stored_long_chat(own_database)
    at = fresh_session(c=chat.id)
    shown = texts(at)
    assert len(shown) == WINDOW
    assert shown[0] == f"q{TURNS - WINDOW // 2}"  # a whole turn: its question first
    assert shown[-1] == f"a{TURNS - 1}"
    earlier = at.button(key="show_earlier")
    assert str(2 * TURNS - WINDOW) in earlier.label  # how many are not shown


def test_show_earlier_adds_earlier_turns_and_keeps_those_shown(own_database: str) -> None:
    chat = stored_long_chat(own_database)
    at = fresh_session(c=chat.id)
    before = texts(at)
    at.button(key="show_earlier").click().run()
    after = texts(at)
    assert len(after) == WINDOW + STEP
    assert after[-WINDOW:] == before
    assert after[0] == f"q{TURNS - (WINDOW + STEP) // 2}"
    while any(b.key == "show_earlier" for b in at.button):  # to the very first message
        at.button(key="show_earlier").click().run()
    assert texts(at)[0] == "q0"
    assert len(texts(at)) == 2 * TURNS


def test_a_message_sent_in_a_long_conversation_goes_after_its_latest_turn(
    configured: Emulator, own_database: str
) -> None:
    chat = stored_long_chat(own_database)
    configured.default = Behavior(reply="a new answer")
    at = send(fresh_session(c=chat.id), "a new question")
    assert texts(at)[-3:] == [f"a{TURNS - 1}", "a new question", "a new answer"]
    sent = [m["content"] for m in configured.chat_requests[-1].body["messages"]]
    assert sent[0] == "q0"  # the model still reads every turn, drawn or not
    assert sent[-1] == "a new question"
    stored = ConversationStore(own_database).load(chat.id, LOCAL_OWNER)
    assert stored is not None
    assert len(stored.messages) == 2 * TURNS + 2


def test_a_message_sent_in_a_long_conversation_does_not_read_it_whole_again(
    configured: Emulator, own_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    chat = stored_long_chat(own_database)
    configured.default = Behavior(reply="a new answer")
    at = fresh_session(c=chat.id)
    loaded: list[str] = []
    load = ConversationStore.load

    def counted(self: ConversationStore, conversation_id: str, *args, **kwargs):  # type: ignore[no-untyped-def]
        loaded.append(conversation_id)
        return load(self, conversation_id, *args, **kwargs)

    monkeypatch.setattr(ConversationStore, "load", counted)
    send(at, "a new question")
    assert texts(at)[-2:] == ["a new question", "a new answer"]
    assert loaded == []  # the reply's end is in the page's copy already: nothing read again


def test_a_short_conversation_has_no_show_earlier(own_database: str) -> None:
    chat = stored_long_chat(own_database, long_chat(turns=3))
    at = fresh_session(c=chat.id)
    assert texts(at) == ["q0", "a0", "q1", "a1", "q2", "a2"]
    assert not any(b.key == "show_earlier" for b in at.button)


def test_search_opens_a_long_conversation_at_a_deep_message(own_database: str) -> None:
    chat = long_chat()
    chat.tree[chat.messages[6].id].text = "the zanzibar recipe"  # q3, far above the window
    stored_long_chat(own_database, chat)
    stored_long_chat(own_database, long_chat(turns=2, title="Other"))
    at = fresh_session()
    at.sidebar.text_input(key="conversation_search").input("ZANZIBAR").run()
    assert listed(at) == ["Long chat"]
    at.sidebar.button(key=f"open_{chat.id}").click().run()
    shown = texts(at)
    assert "the zanzibar recipe" in shown
    assert shown[-1] == f"a{TURNS - 1}"  # from there down to the latest turn
    assert at.query_params["c"] == chat.id


def test_search_opens_the_branch_holding_a_message_off_the_one_on_show(
    own_database: str,
) -> None:
    chat = long_chat()
    hidden_leaf = chat.leaf_id
    chat.rewind_to(chat.messages[10].id)  # q5: a second answer to it holds the words
    chat.append(Message("assistant", "an older branch with the zanzibar recipe"))
    chat.rewind_to(hidden_leaf)
    stored_long_chat(own_database, chat)
    at = fresh_session()
    at.sidebar.text_input(key="conversation_search").input("zanzibar").run()
    at.sidebar.button(key=f"open_{chat.id}").click().run()
    assert texts(at)[-1] == "an older branch with the zanzibar recipe"
    assert texts(at)[-2] == "q5"


def test_a_version_switch_on_an_early_message_keeps_it_on_show(own_database: str) -> None:
    chat = long_chat()
    q2 = chat.messages[4]
    newest = chat.leaf_id
    chat.rewind_to(q2.parent_id)  # a second version of q2, older than the long branch
    old_version = chat.add_user("q2, put another way")
    old_version.created_at = q2.created_at - 1
    chat.append(Message("assistant", "the other answer")).created_at = q2.created_at - 1
    chat.rewind_to(newest)
    stored_long_chat(own_database, chat)
    at = fresh_session(c=chat.id)
    assert not any(b.key == f"previous_{q2.id}" for b in at.button)  # q2 is far above
    while not any(b.key == f"previous_{q2.id}" for b in at.button):
        at.button(key="show_earlier").click().run()
    at.button(key=f"previous_{q2.id}").click().run()
    assert texts(at)[-2:] == ["q2, put another way", "the other answer"]
    at.button(key=f"next_{old_version.id}").click().run()  # back: q2 is still drawn
    shown = texts(at)
    assert "q2" in shown
    assert shown[-1] == f"a{TURNS - 1}"
    assert any(b.key == f"previous_{q2.id}" for b in at.button)


def test_an_import_names_its_conversation_in_the_url_and_a_reload_keeps_it(
    own_database: str,
) -> None:
    chat = long_chat(title="Imported long chat")
    at = fresh_session()
    at.sidebar.file_uploader[0].set_value(("chat.json", to_json(chat).encode(), "application/json"))
    at.run()
    opened = conversation(at).id
    assert at.query_params["c"] == opened
    assert texts(at)[-1] == f"a{TURNS - 1}"
    reloaded = fresh_session(c=at.query_params["c"])
    assert conversation(reloaded).id == opened
    assert texts(reloaded) == texts(at)


def test_the_open_conversation_goes_back_into_a_url_that_lost_it(own_database: str) -> None:
    chat = stored_long_chat(own_database, long_chat(turns=2))
    at = fresh_session(c=chat.id)
    del at.query_params["c"]  # as after coming back from another page of the app
    at.run()
    assert at.query_params["c"] == chat.id
    assert texts(at) == ["q0", "a0", "q1", "a1"]
